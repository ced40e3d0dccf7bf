<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * An internal error of the native library, caught at its boundary (DOKU_ERR_PANIC).
 *
 * A RuntimeException, not a LogicException: PHP's LogicException means the calling code
 * must change, and no calling code causes a panic; it is a bug in libdoku, which stays usable.
 */
final class PanicException extends \RuntimeException implements DokuException
{
}
