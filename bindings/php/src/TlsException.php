<?php

declare(strict_types=1);

namespace DokuSnap;

/** TLS failed, e.g. the server's certificate is not trusted (DOKU_ERR_TLS). */
final class TlsException extends \RuntimeException implements DokuException
{
}
