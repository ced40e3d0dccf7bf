<?php

declare(strict_types=1);

namespace DokuSnap;

/** An internal error of the native library, caught at its boundary (DOKU_ERR_PANIC). */
final class PanicException extends DokuException
{
}
