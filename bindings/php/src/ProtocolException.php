<?php

declare(strict_types=1);

namespace DokuSnap;

/** DOKU's answer is unusable: not JSON, missing fields, over 1 MiB, not HTTP (DOKU_ERR_PROTOCOL). */
final class ProtocolException extends \RuntimeException implements DokuException
{
}
