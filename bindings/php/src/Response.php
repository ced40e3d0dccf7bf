<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * DOKU's answer to a signed transaction request (Client::request(), Client::call() and the
 * operations' methods), whatever its HTTP status.
 * (Readonly properties rather than a readonly class, which would need PHP 8.2.)
 */
final class Response
{
    public function __construct(
        /** The HTTP status, e.g. 200 or 409. */
        public readonly int $httpStatus,
        /** DOKU's responseCode, e.g. "2002700"; null when the body has none (or is not JSON). */
        public readonly ?string $responseCode,
        /** The body as DOKU sent it. */
        public readonly string $body,
        /** The catalog operation called, e.g. "create_va"; null for Client::request(). */
        public readonly ?string $operation = null,
        /** The X-EXTERNAL-ID of the request that got this answer (generated, or the externalId option). */
        public readonly string $externalId = '',
    ) {
    }

    /**
     * The body decoded.
     *
     * @return array<mixed>
     * @throws ProtocolException if the body is not a JSON object or array (e.g. an HTML error page)
     */
    public function json(): array
    {
        return Library::decode('the response body', $this->body);
    }
}
