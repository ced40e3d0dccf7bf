<?php

declare(strict_types=1);

namespace DokuSnap;

/** Stateless functions of libdoku. */
final class Snap
{
    private function __construct()
    {
    }

    /**
     * The X-SIGNATURE of a B2B token request: base64 SHA256withRSA over "clientId|timestamp",
     * equal to `openssl dgst -sha256 -sign`. $privateKey is key text (PKCS#8 PEM, PKCS#1 PEM or
     * bare base64 DER); the library parses each key once per process.
     *
     * @throws InvalidArgumentException|KeyException|DokuException
     */
    public static function sign(string $clientId, string $timestamp, #[\SensitiveParameter] string $privateKey): string
    {
        Library::text('clientId', $clientId);
        Library::text('timestamp', $timestamp);
        Library::text('privateKey', $privateKey);
        $ffi = Library::ffi();
        return Library::takeString(static fn ($out) => $ffi->doku_sign($clientId, $timestamp, $privateKey, $out));
    }

    /**
     * The body form that transaction signatures hash: $json without the whitespace outside its
     * strings, everything else (key order, escapes, non-ASCII, number spelling) byte for byte.
     *
     * @throws InvalidArgumentException for invalid JSON or UTF-8
     */
    public static function minify(#[\SensitiveParameter] string $json): string
    {
        Library::text('json', $json);
        $ffi = Library::ffi();
        return Library::takeString(static fn ($out) => $ffi->doku_minify($json, $out));
    }

    /**
     * The symmetric X-SIGNATURE of a transaction request: base64 HMAC-SHA512 with the client
     * secret over "METHOD:path:token:sha256hex(minify(body)):timestamp". $path is the relative
     * endpoint; a "Bearer " prefix on $accessToken is dropped; a null or "" body hashes "".
     *
     * @throws InvalidArgumentException for an empty secret or token, a malformed method or path,
     *     a body that is not JSON, invalid UTF-8
     */
    public static function signRequest(
        #[\SensitiveParameter] string $clientSecret,
        string $method,
        string $path,
        #[\SensitiveParameter] string $accessToken,
        #[\SensitiveParameter] ?string $body,
        string $timestamp,
    ): string {
        Library::texts(compact('clientSecret', 'method', 'path', 'accessToken', 'body', 'timestamp'));
        $ffi = Library::ffi();
        return Library::takeString(
            static fn ($out) => $ffi->doku_sign_request($clientSecret, $method, $path, $accessToken, $body, $timestamp, $out),
        );
    }

    /**
     * Whether $signature is SHA256withRSA over "clientId|timestamp" with $publicKey (PEM or bare
     * base64), e.g. the X-SIGNATURE of DOKU's token request checked with DOKU's public key.
     *
     * @return bool false when the signature does not verify (garbled base64 included)
     * @throws KeyException for an unusable public key
     * @throws InvalidArgumentException for invalid UTF-8 or a NUL byte
     */
    public static function verify(string $clientId, string $timestamp, string $signature, string $publicKey): bool
    {
        Library::texts(compact('clientId', 'timestamp', 'signature', 'publicKey'));
        return Library::verdict(Library::ffi()->doku_verify($clientId, $timestamp, $signature, $publicKey));
    }

    /**
     * Whether $signature is the symmetric X-SIGNATURE of this request (see signRequest()),
     * compared in constant time: e.g. a notification from DOKU, with the Authorization header
     * as $accessToken and the raw body.
     *
     * @return bool false when the signature does not match
     * @throws InvalidArgumentException for the inputs signRequest() refuses: an empty secret or
     *     token, a malformed method or path, a body that is not JSON, invalid UTF-8
     */
    public static function verifyRequest(
        #[\SensitiveParameter] string $clientSecret,
        string $method,
        string $path,
        #[\SensitiveParameter] string $accessToken,
        #[\SensitiveParameter] ?string $body,
        string $timestamp,
        string $signature,
    ): bool {
        Library::texts(compact('clientSecret', 'method', 'path', 'accessToken', 'body', 'timestamp', 'signature'));
        return Library::verdict(
            Library::ffi()->doku_verify_request($clientSecret, $method, $path, $accessToken, $body, $timestamp, $signature),
        );
    }

    /**
     * The merchant's answer to DOKU's B2B token request (POST /authorization/v1/access-token/b2b),
     * judged as DOKU judges a merchant's: headers, timestamp, body, client id, clock skew, then
     * the signature with DOKU's public key. On success HTTP 200 and 2007300 with an RS256 JWT
     * signed with the merchant's private key; otherwise the refusal to send (e.g. 401, 4017300).
     *
     * $options are the core's token options (the main README's "Token issuer options" table),
     * sent as a JSON object and checked by the library alone, as strictly as Client's config:
     *   client_id                        (required) the merchant's client id, DOKU's X-CLIENT-KEY
     *   doku_public_key                  DOKU's public key (PEM or bare base64), or
     *   doku_public_key_file             the same read from a file: exactly one of the two
     *   merchant_private_key             the merchant's RSA private key (PEM or base64), or
     *   merchant_private_key_file        the same read from a file: exactly one of the two
     *   merchant_private_key_passphrase  for an encrypted merchant key
     *   ttl_s                            token lifetime in seconds, 1 to 86400; default 900
     *   max_skew_s                       allowed X-TIMESTAMP drift in seconds, 1 to 86400; default 300
     * A null value is the same as leaving the key out. Keys are cached by content, so passing the
     * same options on every request costs a digest, not a parse. Exception messages name the
     * option, never its value: keys and passphrases stay out of logs.
     *
     * @param array<string, string|int|null> $options the token options above
     * @param array<string, string|list<string>> $headers as from getallheaders(), names in any
     *     case; array values are joined with ", "
     * @throws InvalidArgumentException (status INVALID_ARGUMENT) for options with an unknown key,
     *     a value of the wrong type or out of range, both or neither of a key and its _file, no
     *     or an empty client_id, options that cannot be encoded as JSON; a header value that is
     *     not a string, invalid UTF-8, a NUL byte
     * @throws KeyException (status KEY) if either key is unusable or its file cannot be read,
     *     or the passphrase is missing or wrong
     */
    public static function issueToken(#[\SensitiveParameter] array $options, #[\SensitiveParameter] array $headers, #[\SensitiveParameter] string $body): IssuedToken
    {
        $optionsJson = self::optionsJson($options);
        $headersJson = self::headersJson($headers);
        Library::text('body', $body);
        $ffi = Library::ffi();
        $httpStatus = $ffi->new('int');
        $answer = Library::takeString(static fn ($out) => $ffi->doku_issue_token(
            $optionsJson,
            $headersJson,
            $body,
            \FFI::addr($httpStatus),
            $out,
        ));
        return new IssuedToken($httpStatus->cdata, $answer);
    }

    /**
     * Judges one call DOKU makes to the merchant with the token it got from issueToken(): the VA
     * inquiry (path ending /v1.1/transfer-va/inquiry, operation "inquiry"), the VA payment
     * notification (/v1.1/transfer-va/payment, "payment_notification") or the Direct Debit
     * notification (/v1.0/debit/notify, "debit_notification"). In DOKU's order: the mandatory
     * headers, the formats of X-TIMESTAMP and X-EXTERNAL-ID, the token (an unexpired RS256 JWT of
     * the merchant's key), the timestamp's freshness, X-PARTNER-ID, the HMAC-SHA512 signature
     * over the method, path, token, the exact body and the timestamp, the request not received
     * before in this process (a replay), then the body's mandatory fields.
     *
     * A refusal is a Verdict, not an exception: $v->accepted false, with the HTTP status and the
     * body to send (400xx02 a missing header or field, 400xx01 a malformed X-TIMESTAMP or
     * X-EXTERNAL-ID, 400xx00 a body that is not JSON, 401xx01 an invalid or expired token,
     * 401xx00 a stale timestamp, a wrong signature or partner, 409xx00 a replay, 404 4040000 a
     * path that is none of the three). Messages never quote the token or the secret.
     *
     * $options are the core's verify options (the main README's "Notification verifier options"
     * table), sent as a JSON object and checked by the library as strictly as Client's config:
     *   client_id                 (required) the merchant's client id, DOKU's X-PARTNER-ID
     *   client_secret             the merchant's client secret, which keys the signature, or
     *   client_secret_file        the same read from a file: exactly one of the two
     *   merchant_public_key       the public key of the merchant's token issuer (the pair of
     *                             issueToken()'s merchant_private_key), or
     *   merchant_public_key_file  the same read from a file: exactly one of the two
     *   max_skew_s                allowed X-TIMESTAMP drift in seconds, 1 to 3600; default 300
     *   operation                 the call every request is (inquiry, payment_notification,
     *                             debit_notification), whatever its path
     * A null value is the same as leaving the key out.
     *
     * Replays: accepted requests are remembered per process by what they signed (not by
     * X-EXTERNAL-ID, which is not signed), for twice max_skew_s. PHP-FPM workers do not share
     * them: across workers, max_skew_s bounds a replay. Record payments idempotently all the same.
     *
     * @param array<string, string|int|null> $options the verify options above
     * @param string $method the request's method, $_SERVER['REQUEST_METHOD'] (DOKU sends POST)
     * @param string $path the path as received, query included: $_SERVER['REQUEST_URI']
     * @param array<string, string|list<string>> $headers as from getallheaders(), names in any
     *     case; array values are joined with ", "
     * @param string $body the raw body, file_get_contents('php://input'): every byte of it is
     *     judged, NUL bytes included
     * @throws InvalidArgumentException (status INVALID_ARGUMENT) for options with an unknown
     *     key, a value of the wrong type or out of range, both or neither of a secret or key and
     *     its _file, a missing client_id, an unreadable client_secret_file, options that cannot
     *     be encoded as JSON; a header value that is not a string; invalid UTF-8 in the options,
     *     headers, method or path; a NUL byte in an option, the method or the path
     * @throws KeyException (status KEY) if the public key is unusable or its file cannot be read
     */
    public static function merchantVerify(#[\SensitiveParameter] array $options, string $method, string $path, #[\SensitiveParameter] array $headers, #[\SensitiveParameter] string $body): Verdict
    {
        $optionsJson = self::optionsJson($options);
        $headersJson = self::headersJson($headers);
        Library::texts(compact('method', 'path'));
        $ffi = Library::ffi();
        // The body goes with its length: C reads all of it, past any NUL byte.
        $verdict = Library::takeString(static fn ($out) => $ffi->doku_merchant_verify(
            $optionsJson,
            $method,
            $path,
            $headersJson,
            $body,
            strlen($body),
            $out,
        ));
        return Verdict::fromJson($verdict);
    }

    /**
     * The answer to a call merchantVerify() accepted, built from its verdict's operation and
     * request and from what the merchant decided ($result):
     *   "inquiry": the bill, ['virtualAccountName' => 'Budi', 'totalAmount' => ['value' =>
     *     '10000.00', 'currency' => 'IDR']] (both required; optional: trxId,
     *     virtualAccountEmail, virtualAccountPhone, virtualAccountTrxType (default "C"),
     *     expiredDate (ISO-8601 with an offset), additionalInfo (merged into the request's));
     *     the answer is 2002400 with the request's ids and the bill.
     *   "payment_notification": null or [] (no keys); 2002500 with the request's ids echoed.
     *   "debit_notification": null, [] or ['approvalCode' => '...']; 2005600.
     * Or a refusal of the merchant's own: ['refuse' => 'bill_not_found'] (404xx12),
     * 'invalid_amount' (404xx13), 'bill_paid' (404xx14), 'bill_expired' (404xx19), for the VA
     * calls; 'general_error' (500xx00, DOKU retries) for any.
     *
     * $request is encoded with JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE, an empty array
     * (at the top) as {}. A nested empty object of DOKU's became [] when the verdict decoded it,
     * and goes back as []; Verdict::answer($result) sends the request exactly as it came.
     *
     * @param array<string, mixed> $request the verdict's request
     * @param array<string, mixed>|null $result null is the same as []
     * @throws InvalidArgumentException (status INVALID_ARGUMENT) for an unknown operation, a
     *     request without the call's mandatory fields, an unknown key or a malformed value in
     *     $result (each named), a request or result that cannot be encoded as JSON, a NUL byte
     *     in $operation
     */
    public static function merchantAnswer(string $operation, #[\SensitiveParameter] array $request, #[\SensitiveParameter] ?array $result = null): MerchantAnswer
    {
        return self::answerRequest($operation, Library::encode('request', $request, object: true), $result);
    }

    /**
     * merchantAnswer() with the request as JSON text, for Verdict::answer().
     *
     * @internal
     * @param array<string, mixed>|null $result
     */
    public static function answerRequest(string $operation, string $requestJson, #[\SensitiveParameter] ?array $result): MerchantAnswer
    {
        Library::text('operation', $operation);
        // object: [] is {}, the result of a payment notification.
        $resultJson = $result === null ? null : Library::encode('result', $result, object: true);
        $ffi = Library::ffi();
        $answer = Library::takeString(static fn ($out) => $ffi->doku_merchant_answer($operation, $requestJson, $resultJson, $out));
        return MerchantAnswer::fromJson($answer);
    }

    /**
     * issueToken()'s and merchantVerify()'s options as a JSON object.
     *
     * @param array<string, mixed> $options
     */
    private static function optionsJson(#[\SensitiveParameter] array $options): string
    {
        // JSON would carry a NUL intact, but the rule stays the same for every string sent to C.
        foreach ($options as $key => $value) {
            if (is_string($value)) {
                Library::text("options: {$key}", $value);
            }
        }
        // object: an empty array must still encode as a JSON object, so that the library
        // reports the missing keys. The encoding error names "options", never a value.
        return Library::encode('options', $options, object: true);
    }

    /**
     * Headers as getallheaders() gives them, as a JSON object of strings: array values joined
     * with ", ".
     *
     * @param array<string, mixed> $headers
     */
    private static function headersJson(#[\SensitiveParameter] array $headers): string
    {
        return Library::encode('headers', array_map(
            static fn (mixed $value): mixed => is_array($value) ? implode(', ', $value) : $value,
            $headers,
        ), object: true);
    }

    /**
     * The claims of a token DOKU presents on a notification (iss, iat, exp, clientId, jti): an
     * RS256 JWT, "Bearer " prefix accepted, signed with the merchant's key and checked with
     * $merchantPublicKey.
     *
     * @return array<string, mixed>
     * @throws SignatureInvalidException for a wrong signature, an expired token, an alg other
     *     than RS256 (none, HS256)
     * @throws InvalidArgumentException when it is not a JWT
     * @throws KeyException for an unusable key
     */
    public static function validateToken(string $bearerOrJwt, string $merchantPublicKey): array
    {
        Library::texts(compact('bearerOrJwt', 'merchantPublicKey'));
        $ffi = Library::ffi();
        $claims = Library::takeString(static fn ($out) => $ffi->doku_validate_token($bearerOrJwt, $merchantPublicKey, $out));
        return Library::decode('the claims', $claims);
    }

    /**
     * The catalog of DOKU's operations that Client::call() works by (doku_operations()), in the
     * library's order: each operation's name (Client's method is its camelCase: create_va is
     * createVa()), HTTP method and path, SNAP service code, success responseCodes, the options it
     * requires and the further ones it accepts (customerToken, ipAddress, deviceId), whether it
     * moves money (then an answer lost after sending is an OutcomeUnknownException), the
     * operation that tells its status (or null), and its body's fields by dotted name, with
     * whether each is mandatory and its rule in words.
     *
     * @return list<array{name: string, method: string, path: string, service: string, success: list<string>, required: list<string>, accepted: list<string>, movesMoney: bool, statusOperation: ?string, fields: list<array{name: string, mandatory: bool, rule: string}>}>
     * @throws DokuException
     */
    public static function operations(): array
    {
        $ffi = Library::ffi();
        return Library::decode('the operations', Library::takeString(static fn ($out) => $ffi->doku_operations($out)));
    }

    /** Now, UTC, as "YYYY-MM-DDTHH:MM:SSZ": the X-TIMESTAMP to sign and send. */
    public static function timestamp(): string
    {
        $ffi = Library::ffi();
        return Library::takeString(static fn ($out) => $ffi->doku_timestamp($out));
    }

    /** The version of the loaded libdoku, e.g. "0.1.0". */
    public static function version(): string
    {
        return Library::ffi()->doku_version();
    }
}
