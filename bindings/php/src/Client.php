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

    /**
     * @param array<string, mixed> $config the core's config keys: client_id, private_key or
     *     private_key_file, private_key_passphrase, environment, base_url, timeout_ms,
     *     connect_timeout_ms, ca_file, refresh_margin_s, timestamp_offset, proxy
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
        try {
            // (object): an empty array must still encode as a JSON object.
            $json = json_encode((object) $config, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
        } catch (\JsonException $e) {
            throw new InvalidArgumentException("config cannot be encoded as JSON: {$e->getMessage()}", Status::INVALID_ARGUMENT, $e);
        }
        $ffi = Library::ffi();
        $out = $ffi->new('DokuClient *');
        Library::check($ffi->doku_client_new($json, \FFI::addr($out)));
        $this->handle = $out;
    }

    /** Frees the handle; the process-wide cache keeps the token for the next Client. */
    public function __destruct()
    {
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
        $json = Library::takeString(fn ($out) => $ffi->doku_token_info($this->handle, $out));
        return json_decode($json, true, 4, JSON_THROW_ON_ERROR);
    }

    /** Drops the cached token (for every Client sharing it): call it after DOKU answers 401xx01. */
    public function invalidateToken(): void
    {
        Library::check(Library::ffi()->doku_client_invalidate_token($this->handle));
    }
}
