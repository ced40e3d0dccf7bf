<?php

// One PHP-FPM request as a merchant's page would make it: a Client of its own, one token, and
// a signed request's headers.

declare(strict_types=1);

require dirname(__DIR__, 2) . '/autoload.php';

$client = new DokuSnap\Client([
    'client_id' => $_SERVER['DOKU_CLIENT_ID'],
    'private_key' => $_SERVER['DOKU_PRIVATE_KEY'],
    'base_url' => $_SERVER['DOKU_BASE_URL'],
    'proxy' => '',
    'client_secret' => 'SK-fpm',
    'channel_id' => 'H2H',
]);
echo json_encode([
    'token' => $client->getToken(),
    'minified' => DokuSnap\Snap::minify('{ "a" : [ 1, "b c" ] }'),
    'signed' => $client->requestHeaders('POST', '/p', '{}')['X-SIGNATURE'] !== '',
    'preloaded' => DokuSnap\Library::isPreloaded(),
    'user' => posix_getpwuid(posix_geteuid())['name'],
]);
