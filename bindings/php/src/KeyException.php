<?php

declare(strict_types=1);

namespace DokuSnap;

/** The private key cannot be used: unreadable, malformed, wrong passphrase, not RSA, under 2048 bits (DOKU_ERR_KEY). */
final class KeyException extends DokuException
{
}
