<?php

declare(strict_types=1);

namespace DokuSnap;

/** OpenSSL failed while signing or verifying (DOKU_ERR_CRYPTO). */
final class CryptoException extends \RuntimeException implements DokuException
{
}
