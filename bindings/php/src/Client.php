<?php

declare(strict_types=1);

namespace DokuSnap;

use FFI\CData;

/**
 * A DOKU client over a native DokuClient handle. Tokens live in a process-wide cache shared
 * by every client with the same base URL, client id and key, so creating a Client per request
 * (as PHP-FPM does) costs no token request once the worker has one.
 */
final class Client
{
    /** DokuClient *, or null once freed. */
    private ?CData $handle = null;
    /** This client has set a logger (see setLogger()). */
    private bool $logs = false;

    /**
     * @param array<string, mixed> $config the core's config keys: client_id, private_key or
     *     private_key_file, private_key_passphrase, environment, base_url, timeout_ms,
     *     connect_timeout_ms, ca_file, refresh_margin_s, timestamp_offset, proxy, and for signed
     *     transaction requests client_secret, channel_id, partner_id (default: client_id)
     * @throws InvalidArgumentException|KeyException|DokuException
     */
    public function __construct(array $config)
    {
        // JSON would carry a NUL intact, but the rule stays the same for every string sent to C.
        array_walk_recursive($config, static function (mixed $value, int|string $key): void {
            if (is_string($value)) {
                Library::text("config: {$key}", $value);
            }
        });
        // object: an empty array must still encode as a JSON object.
        $json = Library::encode('config', $config, object: true);
        $ffi = Library::ffi();
        $out = $ffi->new('DokuClient *');
        Library::check($ffi->doku_client_new($json, \FFI::addr($out)));
        $this->handle = $out;
    }

    /** Frees the handle; the process-wide cache keeps the token for the next Client. */
    public function __destruct()
    {
        if ($this->logs) {
            $this->logs = false;
            Logging::release($this);
        }
        if ($this->handle !== null) {
            $handle = $this->handle;
            $this->handle = null; // first, so that no path can free it twice
            Library::ffi()->doku_client_free($handle);
        }
    }

    /** Two objects owning one handle would free it twice. */
    private function __clone()
    {
    }

    /**
     * A valid B2B access token (without "Bearer "): cached, or fetched when missing or near expiry.
     *
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function getToken(): string
    {
        $ffi = Library::ffi();
        return Library::takeString(fn ($out) => $ffi->doku_get_token($this->handle, $out));
    }

    /**
     * The current token (fetched as getToken() does) and its expiry.
     *
     * @return array{accessToken: string, tokenType: string, expiresIn: int, expiresAt: string}
     * @throws DokuException
     */
    public function tokenInfo(): array
    {
        $ffi = Library::ffi();
        return Library::decode('the token info', Library::takeString(fn ($out) => $ffi->doku_token_info($this->handle, $out)));
    }

    /**
     * Sends the library's events to a PSR-3 logger (psr/log is not required by this package;
     * install it, or Debian's php-psr-log, to use this). Each event is logged at its level
     * (error, warning, info, debug) with its stable name as $context['event']: token_fetched
     * (info: the request's duration and expiresIn), token_fetch_failed (error: duration and the
     * error's message), token_from_store (info), store_unavailable (warning), store_recovered
     * (info), stale_token_served (warning: a refresh failed, the still-valid token is served),
     * invalid_token_retry (warning: DOKU refused a request's token with 401xx01) and clock_skew
     * (warning). Messages never contain a key, passphrase, secret, password or token. The cached
     * getToken() logs nothing.
     *
     * The library has one log callback per process, so a logger receives the events of every
     * Client, not only this one's: the latest logger set by a living Client wins. When this
     * Client is destroyed (or sets null), the logger set before it by a Client still alive takes
     * over; when no Client with a logger is left, the callback is removed. With PHP-FPM's Client
     * per request, set the logger on each request's Client: it ends with the request (and a
     * shutdown function removes it even after a fatal error), so no request calls a logger of an
     * earlier one. Events are logged on the calling thread, before the call returns.
     */
    public function setLogger(?\Psr\Log\LoggerInterface $logger): void
    {
        if ($this->handle === null) {
            throw new InvalidArgumentException('the client is freed', Status::NULL_ARGUMENT);
        }
        if ($logger === null) {
            if ($this->logs) {
                $this->logs = false;
                Logging::release($this);
            }
            return;
        }
        Logging::set($this, $logger);
        $this->logs = true;
    }

    /**
     * The counters of this client's token cache entry, shared by every Client of the same base
     * URL, client id and key in the process (a Client per request keeps counting), since it was
     * created: inProcessHits (calls answered from the process's cache: the cached token, one
     * another thread had just fetched, or a still-valid token served while its refresh failed),
     * storeHits (tokens read from the shared token store instead of fetched), fetches and
     * fetchFailures (token requests to DOKU that succeeded, failed), storeErrors (failed token
     * store operations, each passed by), lastFetchMs (the last token request's duration in
     * milliseconds, successful or not; null before the first) and lastStoreError (the last store
     * failure's message, or null). Makes no network call.
     *
     * @return array{inProcessHits: int, storeHits: int, fetches: int, fetchFailures: int, storeErrors: int, lastFetchMs: float|int|null, lastStoreError: ?string}
     * @throws DokuException
     */
    public function stats(): array
    {
        $ffi = Library::ffi();
        return Library::decode('the stats', Library::takeString(fn ($out) => $ffi->doku_client_stats($this->handle, $out)));
    }

    /** Drops the cached token (for every Client sharing it): call it after DOKU answers 401xx01. */
    public function invalidateToken(): void
    {
        Library::check(Library::ffi()->doku_client_invalidate_token($this->handle));
    }

    /**
     * Every header a signed transaction request needs, for your own HTTP stack: Authorization
     * (Bearer and the cached B2B token), X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID, X-EXTERNAL-ID,
     * CHANNEL-ID, Content-Type. The signature covers minify($body): send the body as given or
     * Snap::minify()'d. Needs client_secret and channel_id in the config.
     *
     * @param string $path the relative endpoint, e.g. "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
     * @return array<string, string> header name => value
     * @throws InvalidArgumentException for a missing client_secret/channel_id, a malformed method
     *     or path, a body that is not JSON
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException when a token must be fetched
     */
    public function requestHeaders(string $method, string $path, ?string $body = null): array
    {
        Library::texts(compact('method', 'path', 'body'));
        $ffi = Library::ffi();
        $json = Library::takeString(fn ($out) => $ffi->doku_client_request_headers($this->handle, $method, $path, $body, $out));
        return Library::decode('the headers', $json);
    }

    /**
     * Sends a signed transaction request with the library's HTTP client. Any HTTP status is an
     * answer: look at httpStatus and responseCode. On Invalid Token (HTTP 401, case code 01) the
     * library fetches a new token and retries once. Needs client_secret and channel_id in the config.
     *
     * @param string $path the relative endpoint, e.g. "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
     * @param string|array<mixed>|null $body JSON text (sent as given, signed minified), or an array
     *     to encode (slashes and non-ASCII unescaped), or null for none
     * @throws InvalidArgumentException for a missing client_secret/channel_id, a malformed method
     *     or path, a body that is not JSON (or an array that cannot be encoded)
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function request(string $method, string $path, string|array|null $body = null): Response
    {
        if (is_array($body)) {
            $body = Library::encode('body', $body);
        }
        Library::texts(compact('method', 'path', 'body'));
        $ffi = Library::ffi();
        $json = Library::takeString(fn ($out) => $ffi->doku_client_request($this->handle, $method, $path, $body, $out));
        $answer = Library::decode('the response', $json);
        return new Response($answer['httpStatus'], $answer['responseCode'], $answer['body']);
    }

    /**
     * Exchanges a customer's auth code for a B2B2C token (POST /authorization/v1/access-token/b2b2c,
     * 2007400). Not cached: customer tokens are per customer.
     *
     * @return array{accessToken: string, tokenType: string, accessTokenExpiryTime: string, refreshToken: string, refreshTokenExpiryTime: string}
     * @throws ApiException when DOKU refuses (e.g. 4017401 for an invalid code)
     * @throws InvalidArgumentException for an empty auth code
     * @throws NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function getTokenB2b2c(string $authCode): array
    {
        Library::text('authCode', $authCode);
        $ffi = Library::ffi();
        return Library::decode('the B2B2C token', Library::takeString(fn ($out) => $ffi->doku_get_token_b2b2c($this->handle, $authCode, $out)));
    }

    /**
     * A new B2B2C token for a refresh token (grantType refresh_token); otherwise as getTokenB2b2c().
     *
     * @return array{accessToken: string, tokenType: string, accessTokenExpiryTime: string, refreshToken: string, refreshTokenExpiryTime: string}
     * @throws ApiException|InvalidArgumentException|NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function refreshTokenB2b2c(string $refreshToken): array
    {
        Library::text('refreshToken', $refreshToken);
        $ffi = Library::ffi();
        return Library::decode('the B2B2C token', Library::takeString(fn ($out) => $ffi->doku_refresh_token_b2b2c($this->handle, $refreshToken, $out)));
    }
}
