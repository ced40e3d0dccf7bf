<?php

declare(strict_types=1);

namespace DokuSnap;

/** libdoku cannot be loaded: not found, or FFI unavailable or restricted. getCode() is 0. */
final class LibraryException extends DokuException
{
}
