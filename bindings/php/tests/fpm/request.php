<?php

// One PHP-FPM request as a merchant's page would make it: a Client of its own, one token.

declare(strict_types=1);

require dirname(__DIR__, 2) . '/autoload.php';

$client = new DokuSnap\Client([
    'client_id' => $_SERVER['DOKU_CLIENT_ID'],
    'private_key' => $_SERVER['DOKU_PRIVATE_KEY'],
    'base_url' => $_SERVER['DOKU_BASE_URL'],
    'proxy' => '',
]);
echo json_encode([
    'token' => $client->getToken(),
    'preloaded' => DokuSnap\Library::isPreloaded(),
    'user' => posix_getpwuid(posix_geteuid())['name'],
]);
