<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * Base of every exception the binding throws. getCode() is the DokuStatus of the failed call
 * (see Status); 0 only for LibraryException, which no C call produced.
 */
class DokuException extends \RuntimeException
{
}
