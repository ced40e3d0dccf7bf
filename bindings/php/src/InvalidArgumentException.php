<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * An invalid argument or config (DOKU_ERR_INVALID_ARGUMENT), or a NULL one (DOKU_ERR_NULL_ARGUMENT).
 * PHP's own \InvalidArgumentException: the calling code (or its configuration) must change.
 */
final class InvalidArgumentException extends \InvalidArgumentException implements DokuException
{
}
