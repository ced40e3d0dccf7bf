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
    public static function sign(string $clientId, string $timestamp, string $privateKey): string
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
    public static function minify(string $json): string
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
        string $clientSecret,
        string $method,
        string $path,
        string $accessToken,
        ?string $body,
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
        string $clientSecret,
        string $method,
        string $path,
        string $accessToken,
        ?string $body,
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
    public static function issueToken(array $options, array $headers, string $body): IssuedToken
    {
        // JSON would carry a NUL intact, but the rule stays the same for every string sent to C.
        foreach ($options as $key => $value) {
            if (is_string($value)) {
                Library::text("options: {$key}", $value);
            }
        }
        // object: an empty array must still encode as a JSON object, so that the library
        // reports the missing keys. The encoding error names "options", never a value.
        $optionsJson = Library::encode('options', $options, object: true);
        $headersJson = Library::encode('headers', array_map(
            static fn (mixed $value): mixed => is_array($value) ? implode(', ', $value) : $value,
            $headers,
        ), object: true);
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
