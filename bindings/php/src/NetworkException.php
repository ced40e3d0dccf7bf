<?php

declare(strict_types=1);

namespace DokuSnap;

/** DNS failure, connection refused or reset, proxy failure (DOKU_ERR_NETWORK). */
final class NetworkException extends \RuntimeException implements DokuException
{
}
