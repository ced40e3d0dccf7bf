<?php

declare(strict_types=1);

namespace DokuSnap;

/** A status this binding does not know (a libdoku newer than the binding); getCode() is the status. */
final class UnknownStatusException extends \RuntimeException implements DokuException
{
}
