<?php

declare(strict_types=1);

namespace DokuSnap;

use FFI;
use FFI\CData;

/**
 * Loads libdoku and turns its statuses into exceptions: the only place that knows about FFI
 * loading, the thread-local error state and the ownership of returned strings.
 */
final class Library
{
    public const SCOPE = 'DOKU';

    /**
     * The libdoku version (major.minor) that doku.h and this binding's calls are written for.
     * 0.x releases may break the ABI at a minor version, and a mismatched ABI fails as a crash,
     * not an error: a library of any other major.minor is refused when it is loaded.
     */
    public const ABI = '0.1';

    private const PACKAGE = __DIR__ . '/..';

    private static ?FFI $ffi = null;
    private static bool $preloaded = false;

    private function __construct()
    {
    }

    /**
     * The FFI instance: the preloaded scope "DOKU" if preload.php (or ffi.preload) defined it,
     * else FFI::cdef() on the generated header and path(). Cached for the request.
     */
    public static function ffi(): FFI
    {
        if (self::$ffi === null) {
            $ffi = self::open();
            // A log callback left by an earlier request of this worker points to a closure PHP has
            // freed: that request's end did not remove it when a fatal error stopped its shutdown
            // functions before the binding's. Removed before this request makes any call.
            $ffi->doku_set_log_callback(null, null, 4);
            self::$ffi = $ffi;
        }
        return self::$ffi;
    }

    /** Whether ffi() comes from the preloaded scope rather than from FFI::cdef(). */
    public static function isPreloaded(): bool
    {
        self::ffi();
        return self::$preloaded;
    }

    /**
     * The library to load: $DOKU_LIBRARY, else the package's lib/libdoku.so, else the source
     * tree's target/release/libdoku.so, else the SONAME of ABI (libdoku.so.0.1) for the dynamic
     * loader: the library installed by a package (libdoku0.1) or by make install.
     */
    public static function path(): string
    {
        // local_only: the process environment, never a FastCGI param of the request.
        $env = getenv('DOKU_LIBRARY', true);
        if (is_string($env) && $env !== '') {
            // An explicit setting that is wrong must not silently fall back to another copy.
            if (!is_file($env)) {
                throw new LibraryException("DOKU_LIBRARY is set to {$env}, which is not a file");
            }
            return $env;
        }
        foreach (['/lib/libdoku.so', '/../../target/release/libdoku.so'] as $candidate) {
            if (is_file(self::PACKAGE . $candidate)) {
                return (string) realpath(self::PACKAGE . $candidate);
            }
        }
        return self::installedName();
    }

    /** The installed library's name: its SONAME, which names the ABI this binding needs. */
    private static function installedName(): string
    {
        return 'libdoku.so.' . self::ABI;
    }

    /**
     * The generated header with FFI_LIB set to $library (default: path(), made absolute), for
     * FFI::load() and ffi.preload: they pass FFI_LIB to dlopen() as it is, so a bare name is
     * searched only in the loader's paths, and a relative path is taken from the working directory.
     */
    public static function header(?string $library = null): string
    {
        $library ??= self::path();
        if (str_contains($library, '/')) {
            $library = realpath($library) ?: throw new LibraryException("{$library} does not exist");
        }
        if (preg_match('/["\\\\\r\n]/', $library)) {
            throw new LibraryException("cannot write the library path {$library} into a C header");
        }
        $line = "#define FFI_LIB \"{$library}\"";
        return preg_replace_callback('/^#define FFI_LIB .*$/m', static fn (): string => $line, self::headerText(), 1);
    }

    /**
     * Called by preload.php under opcache.preload: defines the FFI scope "DOKU" once for the
     * master process, so that every request (in forked workers) gets it from FFI::scope().
     */
    public static function preload(): void
    {
        if (self::scopeOrNull() !== null) {
            return; // ffi.preload already defined it.
        }
        // FFI::load() needs a file; a private, unique temp copy (tempnam: O_EXCL, 0600) so no
        // other user can plant a header with their own FFI_LIB, removed once it is parsed.
        $file = tempnam(sys_get_temp_dir(), 'doku-ffi-')
            ?: throw new LibraryException('preload.php cannot create a file in ' . sys_get_temp_dir());
        try {
            file_put_contents($file, self::header());
            $ffi = FFI::load($file);
        } catch (FFI\Exception $e) {
            throw new LibraryException(
                'FFI::load() failed in preload.php (' . rtrim($e->getMessage(), '.') . '); when php-fpm '
                . 'starts as root, write the header with `php ' . realpath(self::PACKAGE) . '/bin/doku-ffi-header'
                . ' > /etc/php/doku-ffi.h` and set ffi.preload=/etc/php/doku-ffi.h (see README.md)',
                0,
                $e,
            );
        } finally {
            unlink($file);
        }
        if ($ffi === null) { // While preloading, FFI::load() reports failures as warnings.
            throw new LibraryException('FFI::load() failed in preload.php for ' . self::path() . ': see the warning above');
        }
        // Fail when the pool starts, not in every request.
        self::checkVersion($ffi->doku_version(), self::path());
    }

    /**
     * Throws a LibraryException unless $version (doku_version() of the library at $path) has
     * the major.minor of ABI, as the Python binding does.
     *
     * @internal
     */
    public static function checkVersion(string $version, string $path): void
    {
        if (!preg_match('/^(\d+)\.(\d+)(\.|$)/', $version, $m) || (int) $m[1] . '.' . (int) $m[2] !== self::ABI) {
            throw new LibraryException("{$path} is libdoku {$version}; this binding needs " . self::ABI . '.x');
        }
    }

    /**
     * The one error check: throws the exception of a non-OK status, with doku_last_error()
     * (and doku_last_response_code() for API errors). Call it right after the failed call:
     * both are thread-local and only valid until the next doku_* call.
     *
     * @internal
     * @throws DokuException
     */
    public static function check(int $status): void
    {
        if ($status === Status::OK) {
            return;
        }
        $ffi = self::ffi();
        $message = $ffi->doku_last_error();
        $responseCode = $ffi->doku_last_response_code();
        if ($message === '') {
            $message = $ffi->doku_status_name($status);
        }
        throw match ($status) {
            Status::NULL_ARGUMENT, Status::INVALID_ARGUMENT => new InvalidArgumentException($message, $status),
            Status::KEY => new KeyException($message, $status),
            Status::CRYPTO => new CryptoException($message, $status),
            Status::NETWORK => new NetworkException($message, $status),
            Status::TIMEOUT => new TimeoutException($message, $status),
            Status::TLS => new TlsException($message, $status),
            Status::API => new ApiException($message, $responseCode),
            Status::PROTOCOL => new ProtocolException($message, $status),
            Status::SIGNATURE_INVALID => new SignatureInvalidException($message, $status),
            Status::OUTCOME_UNKNOWN => new OutcomeUnknownException($message, $status),
            Status::PANIC => new PanicException($message, $status),
            default => new UnknownStatusException($message, $status),
        };
    }

    /**
     * Runs $call with a char ** out-parameter and returns the string written there, which the
     * caller owns: it is freed with doku_free() whether the call succeeded or not.
     *
     * @internal
     * @param \Closure(CData): int $call
     */
    public static function takeString(#[\SensitiveParameter] \Closure $call): string
    {
        $ffi = self::ffi();
        $out = $ffi->new('char *');
        try {
            self::check($call(FFI::addr($out)));
            return FFI::string($out);
        } finally {
            $ffi->doku_free($out);
        }
    }

    /**
     * For the functions whose answer is a verdict (doku_verify, doku_verify_request): true for
     * DOKU_OK, false for DOKU_ERR_SIGNATURE_INVALID, and check()'s exception for any other status.
     *
     * @internal
     * @throws DokuException
     */
    public static function verdict(int $status): bool
    {
        if ($status === Status::SIGNATURE_INVALID) {
            return false;
        }
        self::check($status);
        return true;
    }

    /**
     * C sees a string only up to its first NUL: refuse it rather than sign a truncated value.
     * null passes (it becomes a NULL pointer, which optional arguments accept).
     *
     * @internal
     */
    public static function text(string $name, #[\SensitiveParameter] ?string $value): ?string
    {
        if ($value !== null && str_contains($value, "\0")) {
            throw new InvalidArgumentException("{$name} contains a NUL byte", Status::INVALID_ARGUMENT);
        }
        return $value;
    }

    /**
     * text() for several arguments, named by their keys: Library::texts(compact('path', 'body')).
     *
     * @internal
     * @param array<string, ?string> $arguments
     */
    public static function texts(#[\SensitiveParameter] array $arguments): void
    {
        foreach ($arguments as $name => $value) {
            self::text($name, $value);
        }
    }

    /**
     * $value as JSON for the library: slashes and non-ASCII as they are, arrays with string keys
     * (and empty ones, when $object) as objects.
     *
     * @internal
     * @throws InvalidArgumentException when it cannot be encoded (invalid UTF-8, NAN, ...)
     */
    public static function encode(string $name, #[\SensitiveParameter] mixed $value, bool $object = false): string
    {
        try {
            return json_encode($object ? (object) $value : $value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new InvalidArgumentException("{$name} cannot be encoded as JSON: {$e->getMessage()}", Status::INVALID_ARGUMENT, $e);
        }
    }

    /**
     * The library's JSON with JSON objects as \stdClass, so that an empty object re-encodes as
     * {} and not as [] (for reencode()).
     *
     * @internal
     * @throws ProtocolException when $json is not a JSON object
     */
    public static function decodeObject(string $name, string $json): \stdClass
    {
        try {
            $value = json_decode($json, false, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new ProtocolException("{$name} is not valid JSON: {$e->getMessage()}", Status::PROTOCOL, $e);
        }
        if (!$value instanceof \stdClass) {
            throw new ProtocolException("{$name} is JSON but not an object", Status::PROTOCOL);
        }
        return $value;
    }

    /**
     * A part of the library's JSON, from decodeObject(), as JSON text again, written as the
     * library writes it: '/', non-ASCII and U+2028/U+2029 as they are, {} as {}, 1.0 as 1.0.
     *
     * @internal
     */
    public static function reencode(#[\SensitiveParameter] mixed $value): string
    {
        return json_encode(
            $value,
            JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_LINE_TERMINATORS | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR,
        );
    }

    /**
     * A JSON object or array as a PHP array.
     *
     * @internal
     * @return array<mixed>
     * @throws ProtocolException when $json is not a JSON object or array
     */
    public static function decode(string $name, string $json): array
    {
        try {
            $value = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new ProtocolException("{$name} is not valid JSON: {$e->getMessage()}", Status::PROTOCOL, $e);
        }
        if (!is_array($value)) {
            throw new ProtocolException("{$name} is JSON but not an object or array", Status::PROTOCOL);
        }
        return $value;
    }

    private static function open(): FFI
    {
        if (!extension_loaded('ffi')) {
            throw new LibraryException('the PHP FFI extension is not loaded');
        }
        if ($ffi = self::scopeOrNull()) {
            self::checkVersion($ffi->doku_version(), 'the preloaded FFI scope ' . self::SCOPE);
            self::$preloaded = true;
            return $ffi;
        }
        $path = self::path();
        // FFI::cdef() takes declarations only: the FFI_SCOPE/FFI_LIB lines are for FFI::load().
        $declarations = preg_replace('/^#define FFI_\w+ .*$/m', '', self::headerText());
        try {
            $ffi = FFI::cdef($declarations, $path);
        } catch (FFI\Exception $e) {
            $hint = $path === self::installedName()
                ? 'set DOKU_LIBRARY to the path of libdoku.so, put it in ' . realpath(self::PACKAGE) . '/lib/, or install it (the libdoku' . self::ABI . ' package, or make install)'
                : 'check that it is libdoku for this platform (the composer package\'s lib/libdoku.so is for Linux x86_64 with glibc 2.34 or later, not musl)';
            if (str_contains($e->getMessage(), 'restricted')) {
                $hint = 'set ffi.enable=1, or ffi.enable=preload with preload.php in opcache.preload';
            }
            throw new LibraryException("cannot load libdoku: {$e->getMessage()}; {$hint}", 0, $e);
        }
        self::checkVersion($ffi->doku_version(), $path);
        return $ffi;
    }

    private static function scopeOrNull(): ?FFI
    {
        try {
            return FFI::scope(self::SCOPE);
        } catch (FFI\Exception) {
            return null; // not preloaded, or FFI restricted: open() reports the latter.
        }
    }

    private static function headerText(): string
    {
        $file = self::PACKAGE . '/doku.h';
        return @file_get_contents($file) ?: throw new LibraryException("cannot read {$file}");
    }
}
