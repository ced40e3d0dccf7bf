<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * Implemented by every exception the binding throws: `catch (DokuException $e)` catches them all.
 * getCode() is the DokuStatus of the failed call (see Status); 0 only for LibraryException,
 * which no C call produced.
 *
 * Each exception also extends PHP's own: InvalidArgumentException is an \InvalidArgumentException,
 * the others are \RuntimeExceptions (see each class for why).
 */
interface DokuException extends \Throwable
{
}
