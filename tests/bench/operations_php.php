<?php
// PHP side of the operations benchmark in `make bench` (issue 12, §7): catalog calls against the
// TLS sandbox, one thread, side by side with the official PHP SDK's way of making the same call:
// a new curl handle (a new TLS connection) per call and the SDK's own signing steps (json_encode
// to minify, hash('sha256'), hash_hmac('sha512') with the client secret, base64).
// Two calls: create_va (the B2B token only) and balance_inquiry (Direct Debit: the customer token
// as Authorization-Customer and X-IP-ADDRESS as well). Prints "name value" lines: calls per
// second and the 50th and 99th percentile latency in µs of each pattern.
// Usage: php -d ffi.enable=1 operations_php.php URL CA_FILE KEYFILE CLIENT_ID SECRET SECONDS
declare(strict_types=1);
require __DIR__ . '/../../bindings/php/autoload.php';

[, $url, $ca, $keyFile, $clientId, $secret, $seconds] = $argv;
$seconds = (float) $seconds;
$client = new DokuSnap\Client(['client_id' => $clientId, 'private_key_file' => $keyFile, 'base_url' => $url, 'ca_file' => $ca,
    'proxy' => '', 'client_secret' => $secret, 'channel_id' => 'H2H', 'timeout_ms' => 10000]);
$catalog = array_column(DokuSnap\Snap::operations(), null, 'name');
$customer = $client->getTokenB2b2c('bench-auth-code')['accessToken'];
const IP = '203.0.113.7';
const BALANCE = ['additionalInfo' => ['channel' => 'DIRECT_DEBIT_ALLO_SNAP']];

function va(): array
{
    static $n = 0;
    $n++;
    return ['partnerServiceId' => '  888994', 'customerNo' => '1', 'virtualAccountNo' => '  8889941', 'virtualAccountName' => 'Bench',
        'trxId' => "PHPOPS-$n", 'totalAmount' => ['value' => '10000.00', 'currency' => 'IDR']];
}

function check(array $row, int $status, string $text): void
{
    if ($status !== 200 || !str_contains($text, '"' . $row['success'][0] . '"')) {
        fwrite(STDERR, "{$row['name']}: unexpected answer $status: " . substr($text, 0, 200) . "\n");
        exit(1);
    }
}

/** As DOKU's PHP SDK sends a call: its signing steps, a new curl handle. */
function sdkWay(DokuSnap\Client $client, array $row, array $body, array $extra, string $url, string $ca, string $clientId, string $secret): void
{
    $minified = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    $token = $client->getToken();
    $ts = gmdate('Y-m-d\TH:i:s\Z');
    $toSign = "{$row['method']}:{$row['path']}:$token:" . strtolower(hash('sha256', $minified)) . ":$ts";
    $signature = base64_encode(hash_hmac('sha512', $toSign, $secret, true));
    $headers = array_merge(['Content-Type: application/json', "Authorization: Bearer $token", "X-TIMESTAMP: $ts",
        "X-SIGNATURE: $signature", "X-PARTNER-ID: $clientId", 'X-EXTERNAL-ID: ' . bin2hex(random_bytes(16)), 'CHANNEL-ID: H2H'], $extra);
    $h = curl_init($url . $row['path']);
    curl_setopt_array($h, [CURLOPT_CUSTOMREQUEST => $row['method'], CURLOPT_POSTFIELDS => $minified, CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true, CURLOPT_CAINFO => $ca, CURLOPT_TIMEOUT_MS => 10000]);
    $text = curl_exec($h);
    check($row, (int) curl_getinfo($h, CURLINFO_RESPONSE_CODE), (string) $text);
    curl_close($h);
}

/** @return array{float, float, float} calls per second, p50 and p99 in µs */
function measure(callable $call, float $budget): array
{
    $times = [];
    $start = hrtime(true);
    while ((hrtime(true) - $start) / 1e9 < $budget) {
        $t0 = hrtime(true);
        $call();
        $times[] = (hrtime(true) - $t0) / 1e3;
    }
    $rate = count($times) / ((hrtime(true) - $start) / 1e9);
    sort($times);
    return [$rate, $times[intdiv(count($times), 2)], $times[(int) (count($times) * 0.99)]];
}

$customerHeaders = ["Authorization-Customer: Bearer $customer", 'X-IP-ADDRESS: ' . IP];
$patterns = [
    'catalog_create_va' => function () use ($client, $catalog) {
        $r = $client->createVa(va());
        check($catalog['create_va'], $r->httpStatus, $r->body);
    },
    'sdk_create_va' => fn () => sdkWay($client, $catalog['create_va'], va(), [], $url, $ca, $clientId, $secret),
    'catalog_balance' => function () use ($client, $catalog, $customer) {
        $r = $client->balanceInquiry(BALANCE, ['customerToken' => $customer, 'ipAddress' => IP]);
        check($catalog['balance_inquiry'], $r->httpStatus, $r->body);
    },
    'sdk_balance' => fn () => sdkWay($client, $catalog['balance_inquiry'], BALANCE, $customerHeaders, $url, $ca, $clientId, $secret),
];
foreach ($patterns as $call) {
    $call(); // the token and the agent are warm for every pattern
}
foreach ($patterns as $name => $call) {
    [$rate, $p50, $p99] = measure($call, $seconds);
    printf("php_%s_per_s %.1f\nphp_%s_p50_us %.0f\nphp_%s_p99_us %.0f\n", $name, $rate, $name, $p50, $name, $p99);
}
