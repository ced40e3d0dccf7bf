<?php

// The merchant side of DOKU SNAP, complete: DOKU asks the merchant for a token, then calls with
// it: a VA inquiry (the bill of a VA number), a VA payment notification, a Direct Debit
// notification. A router script for PHP's built-in server, configured by the environment:
//
//   DOKU_PUBLIC_KEY_FILE=doku-public.pem MERCHANT_CLIENT_ID=MCH-1 MERCHANT_CLIENT_SECRET=... \
//   MERCHANT_PRIVATE_KEY_FILE=merchant.pem MERCHANT_PUBLIC_KEY_FILE=merchant-public.pem \
//   php -d ffi.enable=1 -S 127.0.0.1:8000 examples/merchant.php
//
// (MERCHANT_TOKEN_TTL_S: the lifetime of the tokens it issues, default 900 seconds.) doku-sandbox
// plays DOKU; it writes DOKU's key pair to DIR. --notify-probe then sends what the merchant must
// refuse: a replay, a stale timestamp, a wrong signature, an expired token (this one only when
// tokens last at most 10 s: MERCHANT_TOKEN_TTL_S=2):
//
//   doku-sandbox --doku-key-dir DIR --secret MCH-1=... --notify-client MCH-1 \
//       --notify http://127.0.0.1:8000 --inquire --notify-debit --notify-probe --notify-exit
//
// The library refuses a replayed request with a record kept per process: `php -S` is one
// process, so it refuses every replay. PHP-FPM workers each keep their own, and across them the
// freshness window (max_skew_s, 300 s) bounds a replay: record payments idempotently.

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use DokuSnap\Snap;

$env = static fn (string $name): string => (string) getenv($name) ?: throw new RuntimeException("set {$name}");

$send = static function (int $httpStatus, string $body): void {
    http_response_code($httpStatus);
    header('Content-Type: application/json');
    echo $body;
};

$method = $_SERVER['REQUEST_METHOD'];
$path = $_SERVER['REQUEST_URI']; // as received, query included: the signature covers it
$body = (string) file_get_contents('php://input');

if ($method === 'POST' && parse_url($path, PHP_URL_PATH) === '/authorization/v1/access-token/b2b') {
    // DOKU's token request, signed with DOKU's key: checked as DOKU checks merchants; the
    // answer is a JWT signed with our key, or the refusal. Either way, sent as it is.
    $token = Snap::issueToken([
        'client_id' => $env('MERCHANT_CLIENT_ID'),
        'doku_public_key_file' => $env('DOKU_PUBLIC_KEY_FILE'),
        'merchant_private_key_file' => $env('MERCHANT_PRIVATE_KEY_FILE'),
        'ttl_s' => (int) (getenv('MERCHANT_TOKEN_TTL_S') ?: 900),
    ], getallheaders(), $body);
    $send($token->httpStatus, $token->body);
    return;
}

// Every other request: one of DOKU's calls with that token, or a refusal (a wrong signature,
// a stale or replayed call, an expired token, an unknown path: 404).
$verdict = Snap::merchantVerify([
    'client_id' => $env('MERCHANT_CLIENT_ID'),
    'client_secret' => $env('MERCHANT_CLIENT_SECRET'),
    'merchant_public_key_file' => $env('MERCHANT_PUBLIC_KEY_FILE'),
], $method, $path, getallheaders(), $body);
if (!$verdict->accepted) {
    $send($verdict->httpStatus, $verdict->body);
    return;
}

$request = $verdict->request; // DOKU's body, decoded
$result = []; // a notification's answer needs nothing more
if ($verdict->operation === 'inquiry') {
    // The bill of this VA. A demo: every VA is a bill of 10000.00 IDR, but customer numbers
    // ending in 99, which have none.
    $result = str_ends_with((string) $request['customerNo'], '99')
        ? ['refuse' => 'bill_not_found']
        : ['virtualAccountName' => 'Budi Śantoso', 'totalAmount' => ['value' => '10000.00', 'currency' => 'IDR']];
} elseif ($verdict->operation === 'payment_notification') {
    // Here: mark the bill paid, once per paymentRequestId (DOKU may notify again).
    error_log("paid: VA {$request['virtualAccountNo']}, paymentRequestId {$request['paymentRequestId']}");
} else { // debit_notification
    // Here: record the order's new status, once per originalPartnerReferenceNo.
    error_log("debit: order {$request['originalPartnerReferenceNo']}, status {$request['latestTransactionStatus']}");
}
$answer = Snap::merchantAnswer($verdict->operation, $request, $result);
$send($answer->httpStatus, $answer->body);
