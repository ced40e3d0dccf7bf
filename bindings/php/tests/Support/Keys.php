<?php

declare(strict_types=1);

namespace DokuSnap\Tests\Support;

/** Throwaway keys made with the openssl CLI, once per test run, in a temp dir removed at exit. */
final class Keys
{
    private static ?string $dir = null;

    public const PASSPHRASE = 'correct horse';

    /** The directory holding pkcs8.pem, pkcs1.pem, bare.b64, public.pem, encrypted.pem, ec.pem, rsa1024.pem. */
    public static function dir(): string
    {
        if (self::$dir !== null) {
            return self::$dir;
        }
        $dir = self::tempDir('doku-php-keys-');
        $pass = escapeshellarg('pass:' . self::PASSPHRASE);
        self::sh(<<<SH
            cd $dir
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out pkcs8.pem
            openssl rsa -in pkcs8.pem -traditional -out pkcs1.pem
            openssl pkey -in pkcs8.pem -pubout -out public.pem
            grep -v -- ----- pkcs8.pem | tr -d '\\n' > bare.b64
            openssl pkcs8 -topk8 -v2 aes-256-cbc -in pkcs8.pem -passout $pass -out encrypted.pem
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem
            SH);
        return self::$dir = $dir;
    }

    /**
     * DOKU's key pair, as doku-sandbox keeps it with --doku-key-dir: doku-private.pem and
     * doku-public.pem in a directory of their own.
     */
    public static function dokuDir(): string
    {
        static $dir = null;
        if ($dir === null) {
            $dir = self::tempDir('doku-php-doku-keys-');
            self::sh(<<<SH
                cd $dir
                openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out doku-private.pem
                openssl pkey -in doku-private.pem -pubout -out doku-public.pem
                SH);
        }
        return $dir;
    }

    /** doku-private.pem or doku-public.pem of dokuDir(). */
    public static function dokuText(string $name): string
    {
        return (string) file_get_contents(self::dokuDir() . '/' . $name);
    }

    public static function path(string $name): string
    {
        return self::dir() . '/' . $name;
    }

    public static function text(string $name): string
    {
        return (string) file_get_contents(self::path($name));
    }

    /** The reference X-SIGNATURE: `openssl dgst -sha256 -sign`, base64 on one line. */
    public static function opensslSignature(string $clientId, string $timestamp): string
    {
        $data = escapeshellarg("{$clientId}|{$timestamp}");
        return trim(self::sh("printf %s $data | openssl dgst -sha256 -sign " . escapeshellarg(self::path('pkcs8.pem')) . ' | base64 -w0'));
    }

    /** A world-readable temp dir (php-fpm workers may run as another user), removed at exit. */
    public static function tempDir(string $prefix): string
    {
        $dir = sys_get_temp_dir() . '/' . $prefix . bin2hex(random_bytes(6));
        mkdir($dir, 0755);
        register_shutdown_function(static fn () => exec('rm -rf ' . escapeshellarg($dir)));
        return $dir;
    }

    public static function sh(string $script): string
    {
        exec('(set -e; ' . $script . ') 2>&1', $lines, $rc);
        if ($rc !== 0) {
            throw new \RuntimeException("shell failed ($rc): $script\n" . implode("\n", $lines));
        }
        return implode("\n", $lines);
    }
}
