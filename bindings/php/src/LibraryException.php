<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * libdoku cannot be loaded: not found, or FFI unavailable or restricted. getCode() is 0.
 *
 * A RuntimeException: libdoku.so, its version and the FFI settings are found only at run
 * time, and the fix is in the installation or php.ini, not in the calling code.
 */
final class LibraryException extends \RuntimeException implements DokuException
{
}
