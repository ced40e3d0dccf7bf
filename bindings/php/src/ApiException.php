<?php

declare(strict_types=1);

namespace DokuSnap;

/** DOKU refused the request with an error responseCode (DOKU_ERR_API). */
final class ApiException extends \RuntimeException implements DokuException
{
    public function __construct(string $message, private readonly string $responseCode)
    {
        parent::__construct($message, Status::API);
    }

    /** DOKU's responseCode, e.g. "4017300" (HTTP status, service code, case code). */
    public function getResponseCode(): string
    {
        return $this->responseCode;
    }
}
