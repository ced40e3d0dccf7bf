<?php

declare(strict_types=1);

namespace DokuSnap;

/** DokuStatus values of the C API (fixed by doku.h); DokuException::getCode() is one of them. */
final class Status
{
    public const OK = 0;
    public const NULL_ARGUMENT = 1;
    public const INVALID_ARGUMENT = 2;
    public const KEY = 3;
    public const CRYPTO = 4;
    public const NETWORK = 5;
    public const TIMEOUT = 6;
    public const TLS = 7;
    public const API = 8;
    public const PROTOCOL = 9;
    public const SIGNATURE_INVALID = 10;
    public const OUTCOME_UNKNOWN = 11;
    public const PANIC = 99;

    private function __construct()
    {
    }
}
