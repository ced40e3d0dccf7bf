<?php

// The merchant side of DOKU SNAP: DOKU asks the merchant for a token, then sends a VA payment
// notification with it. A router script for PHP's built-in server:
//
//   DOKU_PUBLIC_KEY_FILE=doku-public.pem MERCHANT_CLIENT_ID=MCH-1 MERCHANT_CLIENT_SECRET=... \
//   MERCHANT_PRIVATE_KEY_FILE=merchant.pem MERCHANT_PUBLIC_KEY_FILE=merchant-public.pem \
//   php -d ffi.enable=1 -S 127.0.0.1:8000 examples/merchant.php
//
// and doku-sandbox plays DOKU (it writes DOKU's key pair to DIR):
//
//   doku-sandbox --doku-key-dir DIR --secret MCH-1=... --notify-client MCH-1 \
//       --notify http://127.0.0.1:8000 --notify-exit

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use DokuSnap\InvalidArgumentException;
use DokuSnap\SignatureInvalidException;
use DokuSnap\Snap;

$env = static fn (string $name): string => (string) getenv($name) ?: throw new RuntimeException("set {$name}");
$file = static fn (string $name): string => (string) file_get_contents($env($name));

$answer = static function (int $status, string $code, string $message, array $more = []): void {
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode(['responseCode' => $code, 'responseMessage' => $message] + $more, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
};

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$body = (string) file_get_contents('php://input');

// A VA payment notification: [HTTP status, responseCode, responseMessage, more fields].
$notification = static function (string $path, string $body) use ($env, $file): array {
    $headers = array_change_key_case(getallheaders(), CASE_LOWER);
    $token = $headers['authorization'] ?? '';
    try {
        Snap::validateToken($token, $file('MERCHANT_PUBLIC_KEY_FILE')); // the JWT we issued, unexpired
    } catch (SignatureInvalidException | InvalidArgumentException) {
        return [401, '4012501', 'Invalid Token (B2B)'];
    }
    $timestamp = $headers['x-timestamp'] ?? '';
    try {
        // HMAC-SHA512 with our client secret over this path, the token and the raw body.
        $valid = Snap::verifyRequest($env('MERCHANT_CLIENT_SECRET'), 'POST', $path, $token, $body, $timestamp, $headers['x-signature'] ?? '');
    } catch (InvalidArgumentException) { // the body is not JSON, X-TIMESTAMP is missing, ...
        return [400, '4002500', 'Bad Request'];
    }
    if (!$valid || abs(time() - (int) strtotime($timestamp)) > 300) { // stale: a replay
        return [401, '4012500', 'Unauthorized. Invalid Signature'];
    }
    $payment = json_decode($body, true);
    // Here: mark invoice $payment['trxId'] paid, once (DOKU may notify again).
    $fields = ['partnerServiceId', 'customerNo', 'virtualAccountNo', 'virtualAccountName', 'paymentRequestId'];
    return [200, '2002500', 'Successful', ['virtualAccountData' => array_intersect_key($payment, array_flip($fields))]];
};

$post = $_SERVER['REQUEST_METHOD'] === 'POST';
if ($post && $path === '/authorization/v1/access-token/b2b') {
    // DOKU's token request, signed with DOKU's key: the library checks it as DOKU checks
    // merchants and writes the answer, a JWT signed with our key or the refusal. It reads the
    // key files itself (and parses each key once per process); ttl_s and max_skew_s default to
    // 900 and 300 seconds.
    $options = [
        'client_id' => $env('MERCHANT_CLIENT_ID'),
        'doku_public_key_file' => $env('DOKU_PUBLIC_KEY_FILE'),
        'merchant_private_key_file' => $env('MERCHANT_PRIVATE_KEY_FILE'),
    ];
    $t = Snap::issueToken($options, getallheaders(), $body);
    http_response_code($t->httpStatus);
    header('Content-Type: application/json');
    echo $t->body;
} elseif ($post && $path === '/v1.1/transfer-va/payment') {
    $answer(...$notification($path, $body));
} else {
    $answer(404, '4040000', 'Not Found');
}
