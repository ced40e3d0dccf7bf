<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * The answer to DOKU's token request, from Snap::issueToken(): send it as it is,
 * `http_response_code($t->httpStatus); echo $t->body;`. A refusal (4xx) is an answer too.
 * (Readonly properties rather than a readonly class, which would need PHP 8.2.)
 */
final class IssuedToken
{
    public function __construct(
        /** The HTTP status to answer with: 200, or the refusal's 400/401. */
        public readonly int $httpStatus,
        /** The exact JSON body: 2007300 with accessToken, or responseCode/responseMessage of the refusal. */
        public readonly string $body,
    ) {
    }

    /**
     * The body decoded, e.g. ['responseCode' => '2007300', 'accessToken' => 'eyJ...', ...].
     *
     * @return array<string, mixed>
     * @throws ProtocolException if the body is not a JSON object
     */
    public function json(): array
    {
        return Library::decode('the token answer', $this->body);
    }
}
