<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * The library's verdict on one call DOKU made to the merchant, from Snap::merchantVerify().
 *
 * Accepted (a genuine, fresh, first-seen call): $operation says which call, $request is its body
 * decoded; answer it with answer() or Snap::merchantAnswer(). Refused: send the refusal as it is,
 * `http_response_code($v->httpStatus); echo $v->body;`.
 * (Readonly properties rather than a readonly class, which would need PHP 8.2.)
 */
final class Verdict
{
    private function __construct(
        /** Whether the call is DOKU's, fresh and not seen before, with every mandatory field. */
        public readonly bool $accepted,
        /**
         * "inquiry", "payment_notification" or "debit_notification"; null for a refusal of a
         * path that is none of DOKU's calls (404).
         */
        public readonly ?string $operation,
        /** Accepted: the request body decoded (JSON objects as arrays). Refused: []. */
        public readonly array $request,
        /** Accepted: the call's X-EXTERNAL-ID. Refused: null. */
        public readonly ?string $externalId,
        /** Accepted: the call's X-TIMESTAMP. Refused: null. */
        public readonly ?string $timestamp,
        /** Refused: the HTTP status to answer with (400, 401, 404, 409). Accepted: null. */
        public readonly ?int $httpStatus,
        /**
         * Refused: the JSON body to send, {"responseCode":"4012501","responseMessage":"Invalid
         * Token (B2B): ..."}, with DOKU's code for the service. Accepted: null.
         */
        public readonly ?string $body,
        /** The request as JSON text, written as the library wrote it (empty objects stay {}). */
        private readonly ?string $requestJson,
    ) {
    }

    /**
     * The verdict doku_merchant_verify() wrote.
     *
     * @internal
     * @throws ProtocolException if it is not the JSON the library writes
     */
    public static function fromJson(string $json): self
    {
        $v = Library::decodeObject('the verdict', $json);
        if (($v->accepted ?? null) === true && ($v->request ?? null) instanceof \stdClass) {
            $requestJson = Library::reencode($v->request);
            return new self(
                true,
                (string) $v->operation,
                Library::decode('the request', $requestJson),
                (string) $v->externalId,
                (string) $v->timestamp,
                null,
                null,
                $requestJson,
            );
        }
        if (($v->accepted ?? null) === false && is_int($v->httpStatus ?? null) && ($v->body ?? null) instanceof \stdClass) {
            return new self(false, $v->operation ?? null, [], null, null, $v->httpStatus, Library::reencode($v->body), null);
        }
        throw new ProtocolException('the verdict is not the JSON doku_merchant_verify writes', Status::PROTOCOL);
    }

    /**
     * The refusal's body decoded, ['responseCode' => '4012501', 'responseMessage' => '...'];
     * null when the call was accepted.
     *
     * @return array<string, mixed>|null
     */
    public function json(): ?array
    {
        return $this->body === null ? null : Library::decode('the refusal', $this->body);
    }

    /**
     * The answer to this accepted call: Snap::merchantAnswer($this->operation, $this->request,
     * $result), except that the request goes back to the library exactly as it came (an empty
     * JSON object in it stays {}, where the decoded array would send []).
     *
     * @param array<string, mixed>|null $result see Snap::merchantAnswer()
     * @throws InvalidArgumentException for a refused call (there is nothing to answer: send
     *     $body), and as Snap::merchantAnswer() for a result the library refuses
     */
    public function answer(?array $result = null): MerchantAnswer
    {
        if (!$this->accepted || $this->requestJson === null || $this->operation === null) {
            throw new InvalidArgumentException(
                'a refused call has no answer to build: send the verdict\'s httpStatus and body',
                Status::INVALID_ARGUMENT,
            );
        }
        return Snap::answerRequest($this->operation, $this->requestJson, $result);
    }
}
