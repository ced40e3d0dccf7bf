<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * The merchant's answer to a call DOKU made, from Snap::merchantAnswer() or Verdict::answer():
 * send it as it is, `http_response_code($a->httpStatus); echo $a->body;`.
 * (Readonly properties rather than a readonly class, which would need PHP 8.2.)
 */
final class MerchantAnswer
{
    public function __construct(
        /** The HTTP status: 200, or the chosen refusal's 404 (a bill) or 500 (general_error). */
        public readonly int $httpStatus,
        /**
         * The JSON body: the success DOKU expects (2002400 with the bill, 2002500, 2005600) or
         * the refusal, e.g. {"responseCode":"4042412","responseMessage":"Invalid Bill/Virtual Account",...}.
         */
        public readonly string $body,
    ) {
    }

    /**
     * The answer doku_merchant_answer() wrote.
     *
     * @internal
     * @throws ProtocolException if it is not the JSON the library writes
     */
    public static function fromJson(string $json): self
    {
        $a = Library::decodeObject('the answer', $json);
        if (!is_int($a->httpStatus ?? null) || !($a->body ?? null) instanceof \stdClass) {
            throw new ProtocolException('the answer is not the JSON doku_merchant_answer writes', Status::PROTOCOL);
        }
        return new self($a->httpStatus, Library::reencode($a->body));
    }

    /**
     * The body decoded, e.g. ['responseCode' => '2002500', 'responseMessage' => 'Successful', ...].
     *
     * @return array<string, mixed>
     * @throws ProtocolException if the body is not a JSON object
     */
    public function json(): array
    {
        return Library::decode('the answer', $this->body);
    }
}
