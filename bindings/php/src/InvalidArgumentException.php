<?php

declare(strict_types=1);

namespace DokuSnap;

/** An invalid argument or config (DOKU_ERR_INVALID_ARGUMENT), or a NULL one (DOKU_ERR_NULL_ARGUMENT). */
final class InvalidArgumentException extends DokuException
{
}
