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
