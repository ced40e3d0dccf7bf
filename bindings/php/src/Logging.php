<?php

declare(strict_types=1);

namespace DokuSnap;

use FFI\CData;

/**
 * The library's log callback, which is process-wide, and the PSR-3 loggers that clients set on
 * it (Client::setLogger()). Not part of the API.
 *
 * - Latest wins: the events of every client go to the logger most recently set by a client that
 *   is still alive. When that client is destroyed (or sets null), the logger set before it by a
 *   living client takes over.
 * - The C callback points to a PHP closure, which PHP frees at the end of the request. So the
 *   callback is removed as soon as no living client has a logger (PHP-FPM builds a client per
 *   request: it goes with the request's client), and in any case by a shutdown function (which
 *   also runs after a fatal error, when destructors do not): a later request never reaches a
 *   freed closure.
 * - The library calls the callback only on the thread inside its own call, before that call
 *   returns: PHP code is never entered from elsewhere.
 *
 * @internal
 */
final class Logging
{
    /** DokuLogLevel => PSR-3 level (Psr\Log\LogLevel's values, written out: psr/log is optional). */
    public const LEVELS = [1 => 'error', 2 => 'warning', 3 => 'info', 4 => 'debug'];
    private const DEBUG = 4;

    /** @var array<int, object> client object id => its Psr\Log\LoggerInterface, oldest first */
    private static array $loggers = [];
    /** The closure the C callback points to while it is installed. */
    private static ?\Closure $callback = null;
    private static bool $shutdownRegistered = false;

    private function __construct()
    {
    }

    /** $owner's logger becomes the one that receives every event (latest wins). */
    public static function set(object $owner, object $logger): void
    {
        unset(self::$loggers[spl_object_id($owner)]);
        self::$loggers[spl_object_id($owner)] = $logger;
        if (self::$callback === null) {
            $callback = static function (?CData $userData, int $level, string $event, string $message): void {
                self::deliver($level, $event, $message);
            };
            Library::check(Library::ffi()->doku_set_log_callback($callback, null, self::DEBUG));
            self::$callback = $callback;
            if (!self::$shutdownRegistered) {
                self::$shutdownRegistered = true;
                register_shutdown_function(static fn () => self::uninstall());
            }
        }
    }

    /** $owner no longer has a logger; without any left, the callback is removed. */
    public static function release(object $owner): void
    {
        unset(self::$loggers[spl_object_id($owner)]);
        if (self::$loggers === []) {
            self::uninstall();
        }
    }

    /** Whether the C callback is set (to this request's closure). */
    public static function installed(): bool
    {
        return self::$callback !== null;
    }

    /** Removes the C callback; the library waits for calls of it in progress, then it is freed. */
    public static function uninstall(): void
    {
        self::$loggers = [];
        if (self::$callback !== null) {
            Library::ffi()->doku_set_log_callback(null, null, self::DEBUG);
            self::$callback = null;
        }
    }

    private static function deliver(int $level, string $event, string $message): void
    {
        // Nothing may be thrown back into C (PHP makes that a fatal error): a failing logger
        // loses the event, not the call.
        try {
            $logger = end(self::$loggers);
            if ($logger !== false) {
                $logger->log(self::LEVELS[$level] ?? 'warning', $message, ['event' => $event]);
            }
        } catch (\Throwable) {
        }
    }
}
