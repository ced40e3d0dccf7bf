<?php

// One PHP-FPM request as a merchant's page would make it: a Client of its own, one token, a
// signed request's headers, and a signed create-VA call.

declare(strict_types=1);

require dirname(__DIR__, 2) . '/autoload.php';

$client = new DokuSnap\Client((require __DIR__ . '/config.php') + [
    'client_secret' => 'SK-fpm',
    'channel_id' => 'H2H',
    'token_store' => $_SERVER['DOKU_TOKEN_STORE'] ?? null,
]);
$va = $client->request('POST', '/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va', [
    'partnerServiceId' => '  888994',
    'customerNo' => '1',
    'virtualAccountNo' => '  8889941',
    'virtualAccountName' => 'FPM',
    'trxId' => 'FPM-' . getmypid() . '-' . hrtime(true),
    'totalAmount' => ['value' => '10000.00', 'currency' => 'IDR'],
]);
echo json_encode([
    'created' => $va->responseCode,
    'token' => $client->getToken(),
    'minified' => DokuSnap\Snap::minify('{ "a" : [ 1, "b c" ] }'),
    'signed' => $client->requestHeaders('POST', '/p', '{}')['X-SIGNATURE'] !== '',
    'preloaded' => DokuSnap\Library::isPreloaded(),
    'user' => posix_getpwuid(posix_geteuid())['name'],
    'pid' => getmypid(),
]);
