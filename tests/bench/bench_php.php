<?php
// PHP side of `make bench`: per-call overhead of the binding, and its sign rate against the way
// the official PHP SDK signs (openssl_sign with the PEM text on every call).
// Prints "name value" lines. Usage: php -d ffi.enable=1 bench_php.php KEYFILE URL SECONDS
declare(strict_types=1);
require __DIR__ . '/../../bindings/php/autoload.php';

[, $keyFile, $url, $seconds] = $argv;
$pem = file_get_contents($keyFile);
$seconds = (float) $seconds;

function rate(callable $fn, float $budget): float
{
    $n = 0;
    $start = hrtime(true);
    while ((hrtime(true) - $start) / 1e9 < $budget) {
        for ($i = 0; $i < 16; $i++) {
            $fn();
        }
        $n += 16;
    }
    return $n / ((hrtime(true) - $start) / 1e9);
}

$client = new DokuSnap\Client(['client_id' => 'bench', 'private_key' => $pem, 'base_url' => $url, 'proxy' => '']);
$client->getToken();
printf("php_get_token_per_s %.1f\n", rate(fn () => $client->getToken(), $seconds));
printf("php_sign_per_s %.1f\n", rate(fn () => DokuSnap\Snap::sign('MCH-BENCH', '2026-01-01T00:00:00Z', $pem), $seconds));
printf("php_official_sign_per_s %.1f\n", rate(function () use ($pem) {
    openssl_sign('MCH-BENCH|2026-01-01T00:00:00Z', $signature, $pem, OPENSSL_ALGO_SHA256);
}, $seconds));
