<?php

// Get a DOKU B2B access token from PHP. Used by `make demo`.
// Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and (optionally) DOKU_CA_FILE.

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use DokuSnap\ApiException;
use DokuSnap\Client;
use DokuSnap\DokuException;

$env = static fn (string $name): ?string => ($value = getenv($name)) === false || $value === '' ? null : $value;
if ($env('DOKU_BASE_URL') === null || $env('DOKU_CLIENT_ID') === null || $env('DOKU_PRIVATE_KEY_FILE') === null) {
    fwrite(STDERR, "set DOKU_BASE_URL, DOKU_CLIENT_ID and DOKU_PRIVATE_KEY_FILE\n");
    exit(2);
}

try {
    $client = new Client(array_filter([
        'client_id' => $env('DOKU_CLIENT_ID'),
        'private_key_file' => $env('DOKU_PRIVATE_KEY_FILE'),
        'base_url' => $env('DOKU_BASE_URL'),
        'ca_file' => $env('DOKU_CA_FILE'),
    ], 'is_string'));
    $info = $client->tokenInfo();
} catch (DokuException $e) {
    $code = $e instanceof ApiException ? " {$e->getResponseCode()}" : '';
    fwrite(STDERR, sprintf("php: %s (status %d%s): %s\n", $e::class, $e->getCode(), $code, $e->getMessage()));
    exit(1);
}
printf("php: got token %.10s... (expires in %d s)\n", $info['accessToken'], $info['expiresIn']);
