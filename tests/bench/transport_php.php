<?php
// PHP side of the transport benchmark in `make bench` (issue 15): signed create-VA calls against
// the TLS sandbox, one thread: one DokuSnap\Client reused (keep-alive); a new Client per call,
// as PHP-FPM builds one per web request; and DOKU's official PHP SDK's way, a new curl handle
// (a new connection) per call, with headers signed by DokuSnap so that only the transport
// differs. Also a new client's first-call latency with a warm agent (median, 99th percentile).
// Prints "name value" lines.
// Usage: php -d ffi.enable=1 transport_php.php URL CA_FILE KEYFILE CLIENT_ID SECRET SECONDS
declare(strict_types=1);
require __DIR__ . '/../../bindings/php/autoload.php';

[, $url, $ca, $keyFile, $clientId, $secret, $seconds] = $argv;
$seconds = (float) $seconds;
$config = ['client_id' => $clientId, 'private_key_file' => $keyFile, 'base_url' => $url, 'ca_file' => $ca, 'proxy' => '',
    'client_secret' => $secret, 'channel_id' => 'H2H', 'timeout_ms' => 10000];
const VA_PATH = '/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va';

function body(): string
{
    static $n = 0;
    $n++;
    return '{"partnerServiceId":"  888994","customerNo":"1","virtualAccountNo":"  8889941",'
        . '"virtualAccountName":"Bench","trxId":"PHP-' . $n . '","totalAmount":{"value":"10000.00","currency":"IDR"}}';
}

function check(int $status, string $text): void
{
    if ($status !== 200 || !str_contains($text, '"2002700"')) {
        fwrite(STDERR, "unexpected answer $status: " . substr($text, 0, 200) . "\n");
        exit(1);
    }
}

function rate(callable $call, float $budget): float
{
    $calls = 0;
    $start = hrtime(true);
    while ((hrtime(true) - $start) / 1e9 < $budget) {
        $call();
        $calls++;
    }
    return $calls / ((hrtime(true) - $start) / 1e9);
}

$reused = new DokuSnap\Client($config);
$reusedCall = function () use ($reused) {
    $r = $reused->request('POST', VA_PATH, body());
    check($r->httpStatus, $r->body);
};
$newClientCall = function () use ($config) {
    $c = new DokuSnap\Client($config);
    $r = $c->request('POST', VA_PATH, body());
    check($r->httpStatus, $r->body);
};
$sdkCall = function () use ($reused, $url, $ca) {
    $b = body();
    $headers = [];
    foreach ($reused->requestHeaders('POST', VA_PATH, $b) as $name => $value) {
        $headers[] = "$name: $value";
    }
    $h = curl_init($url . VA_PATH);
    curl_setopt_array($h, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $b, CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true, CURLOPT_CAINFO => $ca, CURLOPT_TIMEOUT_MS => 10000]);
    $text = curl_exec($h);
    check((int) curl_getinfo($h, CURLINFO_RESPONSE_CODE), (string) $text);
    curl_close($h);
};

$reusedCall(); // the token and the agent are warm for every pattern
printf("php_reused_per_s %.1f\n", rate($reusedCall, $seconds));
printf("php_new_client_per_s %.1f\n", rate($newClientCall, $seconds));
printf("php_sdk_way_per_s %.1f\n", rate($sdkCall, $seconds));
$first = [];
for ($i = 0; $i < 200; $i++) {
    $t0 = hrtime(true);
    $newClientCall();
    $first[] = (hrtime(true) - $t0) / 1e3;
}
sort($first);
printf("php_new_client_first_call_median_us %.0f\n", ($first[99] + $first[100]) / 2);
printf("php_new_client_first_call_p99_us %.0f\n", $first[197]);
