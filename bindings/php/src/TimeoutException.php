<?php

declare(strict_types=1);

namespace DokuSnap;

/** No complete answer within timeout_ms, or no connection within connect_timeout_ms (DOKU_ERR_TIMEOUT). */
final class TimeoutException extends \RuntimeException implements DokuException
{
}
