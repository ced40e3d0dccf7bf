<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * The private key cannot be used: unreadable, malformed, wrong passphrase, not RSA, under 2048 bits (DOKU_ERR_KEY).
 *
 * A RuntimeException, not a LogicException: whether a key (a file or config text, with its
 * passphrase) is usable shows only when it is parsed, and the fix is in the configuration.
 */
final class KeyException extends \RuntimeException implements DokuException
{
}
