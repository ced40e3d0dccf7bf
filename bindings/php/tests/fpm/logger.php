<?php

// A PHP-FPM request with a PSR-3 logger on its Client (DOKU_LOG_MODE "logger"), without one
// ("none"), or with one and a fatal error before the end ("fatal": memory exhausted, after which
// PHP runs no destructor), or in a shutdown function of the application registered before the
// binding's ("fatal-in-shutdown": PHP then runs neither the binding's nor any destructor).
// Each request fetches a token, so each raises an event: a callback left over from an earlier
// request would call that request's freed closure.

declare(strict_types=1);

require dirname(__DIR__, 2) . '/autoload.php';
require '/usr/share/php/Psr/Log/autoload.php';

$mode = $_SERVER['DOKU_LOG_MODE'];
if ($mode === 'fatal-in-shutdown') {
    register_shutdown_function(static function (): void {
        ini_set('memory_limit', '32M');
        $waste = str_repeat('x', 64 * 1024 * 1024);
    });
}

$client = new DokuSnap\Client(require __DIR__ . '/config.php');
$logger = new class extends Psr\Log\AbstractLogger {
    /** @var list<string> */
    public array $events = [];

    public function log($level, $message, array $context = []): void
    {
        $this->events[] = "{$level} {$context['event']}";
    }
};
if ($mode !== 'none') {
    $client->setLogger($logger);
}
$client->invalidateToken();
$client->getToken();
if ($mode === 'fatal') {
    // A real fatal error (an uncaught exception would still run destructors).
    ini_set('memory_limit', '32M');
    $waste = str_repeat('x', 64 * 1024 * 1024);
}
echo json_encode(['pid' => getmypid(), 'events' => $logger->events, 'installed' => DokuSnap\Logging::installed()]);
