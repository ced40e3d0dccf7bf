<?php

// DOKU's operations from PHP, against doku-sandbox: a virtual account (create, the customer
// paying through the sandbox's simulator, status) and a Direct Debit payment (binding, the
// customer's token, payment, refund). One line per step; exit 0 when every answer is the
// expected one. Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE, DOKU_CLIENT_SECRET
// and (optionally) DOKU_CA_FILE.

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use DokuSnap\ApiException;
use DokuSnap\Client;
use DokuSnap\DokuException;
use DokuSnap\OutcomeUnknownException;
use DokuSnap\Response;

$env = static fn (string $name): ?string => ($value = getenv($name)) === false || $value === '' ? null : $value;
foreach (['DOKU_BASE_URL', 'DOKU_CLIENT_ID', 'DOKU_PRIVATE_KEY_FILE', 'DOKU_CLIENT_SECRET'] as $name) {
    if ($env($name) === null) {
        fwrite(STDERR, "set DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and DOKU_CLIENT_SECRET\n");
        exit(2);
    }
}

/** Prints the step, or stops when DOKU's answer is not $code. */
$expect = static function (string $step, Response $response, string $code, string $detail = ''): array {
    $body = json_decode($response->body, true);
    if ($response->responseCode !== $code) {
        $message = is_array($body) ? ($body['responseMessage'] ?? '') : '';
        fwrite(STDERR, "php: {$step}: expected {$code}, got HTTP {$response->httpStatus}, {$response->responseCode}: {$message}\n");
        exit(1);
    }
    echo "php: {$step}: HTTP {$response->httpStatus}, {$code}" . ($detail === '' ? '' : " ({$detail})") . "\n";
    return $body;
};

// A run's own numbers: the sandbox keeps its books while it runs, and a trxId or a
// partnerReferenceNo is good once.
$run = date('His') . random_int(1000, 9999);
$ip = ['ipAddress' => '203.0.113.7'];
$channel = ['channel' => 'DIRECT_DEBIT_ALLO_SNAP'];

try {
    $client = new Client(array_filter([
        'client_id' => $env('DOKU_CLIENT_ID'),
        'private_key_file' => $env('DOKU_PRIVATE_KEY_FILE'),
        'client_secret' => $env('DOKU_CLIENT_SECRET'),
        'channel_id' => 'H2H',
        'base_url' => $env('DOKU_BASE_URL'),
        'ca_file' => $env('DOKU_CA_FILE'),
    ], 'is_string'));

    // Virtual account: partnerServiceId is 8 characters, digits left-padded with spaces.
    $va = ['partnerServiceId' => '  888994', 'customerNo' => $run, 'virtualAccountNo' => "  888994{$run}"];
    $expect('create_va', $client->createVa($va + [
        'virtualAccountName' => 'Budi Santoso',
        'trxId' => "INV-{$run}",
        'totalAmount' => ['value' => '11500.00', 'currency' => 'IDR'],
        'virtualAccountTrxType' => 'C',
    ]), '2002700', "virtual account \"{$va['virtualAccountNo']}\", 11500.00 IDR");
    // The customer pays at the bank: only the sandbox can play that part.
    $pay = $client->request('POST', '/sandbox/v1/pay-va?client=' . rawurlencode($env('DOKU_CLIENT_ID')), ['virtualAccountNo' => $va['virtualAccountNo']]);
    $expect('the customer pays (sandbox)', $pay, '2000000');
    $status = $expect('check_status_va', $client->checkStatusVa($va), '2002600');
    $paid = $status['virtualAccountData'];
    echo "php: virtual account: {$paid['paymentFlagReason']['english']}, {$paid['paidAmount']['value']} {$paid['paidAmount']['currency']}\n";

    // Direct Debit: the customer binds an account, which gives an auth code for their token.
    $bound = $expect('account_binding', $client->accountBinding([
        'phoneNo' => '62813941306101',
        'additionalInfo' => $channel + [
            'custIdMerchant' => "cust-{$run}",
            'successRegistrationUrl' => 'https://merchant.example/ok',
            'failedRegistrationUrl' => 'https://merchant.example/failed',
        ],
    ], $ip + ['deviceId' => 'device-1']), '2000700');
    $customer = $client->getTokenB2b2c($bound['additionalInfo']['authCode']);
    echo "php: customer token: received, expires {$customer['accessTokenExpiryTime']}\n"; // never print the token
    $withToken = ['customerToken' => $customer['accessToken']] + $ip;

    $order = "ORDER-{$run}";
    try {
        $payment = $client->payment([
            'partnerReferenceNo' => $order,
            'amount' => ['value' => '25000.00', 'currency' => 'IDR'],
            'additionalInfo' => $channel,
        ], $withToken);
    } catch (OutcomeUnknownException $e) {
        // Sent, answer lost: the money may have moved. Ask, never send it again blindly.
        fwrite(STDERR, "php: payment: {$e->getMessage()}\n");
        $status = $client->checkStatus(['originalPartnerReferenceNo' => $order, 'serviceCode' => '54'])->json();
        fwrite(STDERR, "php: check_status: latestTransactionStatus " . ($status['latestTransactionStatus'] ?? 'none') . "\n");
        exit(1);
    }
    $expect('payment', $payment, '2005400', "{$order}, 25000.00 IDR");
    $expect('refund', $client->refund([
        'originalPartnerReferenceNo' => $order,
        'partnerRefundNo' => "REFUND-{$run}",
        'refundAmount' => ['value' => '10000.00', 'currency' => 'IDR'],
        'additionalInfo' => $channel,
    ], $withToken), '2000700', '10000.00 IDR');
    $status = $expect('check_status', $client->checkStatus(['originalPartnerReferenceNo' => $order, 'serviceCode' => '54']), '2005500');
    echo "php: payment: latestTransactionStatus {$status['latestTransactionStatus']}, refunds " . count($status['refundHistory'] ?? []) . "\n";
} catch (DokuException $e) {
    $code = $e instanceof ApiException ? " {$e->getResponseCode()}" : '';
    fwrite(STDERR, sprintf("php: %s (status %d%s): %s\n", $e::class, $e->getCode(), $code, $e->getMessage()));
    exit(1);
}
echo "php: operations: ok\n";
