<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Snap;
use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

/**
 * End to end: examples/merchant.php under PHP's built-in server, and doku-sandbox acting as DOKU
 * (--notify): DOKU's token request, then, with that token, a VA inquiry, a VA payment notification
 * and a Direct Debit notification, each answer judged as DOKU judges it; then the probes the
 * merchant must refuse (a replay, a stale timestamp, a wrong signature, an expired token).
 */
final class NotifyTest extends TestCase
{
    private const PACKAGE = __DIR__ . '/..';
    private const CLIENT_ID = 'MCH-1';
    private const SECRET = 'SK-notify-test-secret';
    private const OTHER_SECRET = 'SK-the-merchant-has-another-secret';

    /** @var resource|null the php -S process */
    private $server = null;
    private string $log;

    public function testTheMerchantAnswersEveryCallAndRefusesEveryProbe(): void
    {
        // Tokens of 2 s: the sandbox waits them out to probe with an expired one.
        $url = $this->startMerchant(self::SECRET, ['MERCHANT_TOKEN_TTL_S' => '2']);
        [$exit, $summary, $steps] = $this->notify($url, self::SECRET, '--inquire', '--notify-debit', '--notify-probe');
        $this->assertSame(0, $exit, $summary . $steps . $this->serverLog());
        // The steps and the summary every merchant gives (one file for the four languages' tests).
        $expected = file(dirname(__DIR__, 3) . '/tests/fixtures/notify-full-run.txt', FILE_IGNORE_NEW_LINES);
        $this->assertSame($expected, [...self::lines($steps), ...self::lines($summary)]);
        // Each notification reached the merchant's code once: the probes, the replay among
        // them, were refused before it.
        $log = (string) file_get_contents($this->log);
        $this->assertSame(1, preg_match_all('/\] paid: VA   88899400000000000000000001, paymentRequestId \d+$/m', $log), $log);
        $this->assertSame(1, preg_match_all('/\] debit: order ORDER\/\d{12}, status 00$/m', $log), $log);
        $this->assertStringNotContainsString(self::SECRET, $summary . $steps . $log);
    }

    public function testTheMerchantRefusesANotificationSignedWithAnotherSecret(): void
    {
        $url = $this->startMerchant(self::OTHER_SECRET);
        [$exit, $summary, $steps] = $this->notify($url, self::SECRET);
        $this->assertSame(1, $exit, $summary . $steps . $this->serverLog());
        $this->assertSame(['notify: token request: HTTP 200, 2007300', 'notify: payment notification: HTTP 401, 4012500'], self::lines($steps));
        [$failure] = self::lines($summary);
        $this->assertStringStartsWith(
            'notify: failed: payment notification: the merchant answered HTTP 401 with 4012500: Unauthorized. Invalid Signature '
            . '(expected HMAC-SHA512 over "POST:/v1.1/transfer-va/payment:<access token>:',
            $failure,
        );
        $this->assertStringEndsWith('with the client secret of MCH-1: it does not match the request and client secret) (expected HTTP 2xx and 2002500)', $failure);
        foreach ([self::SECRET, self::OTHER_SECRET] as $secret) {
            $this->assertStringNotContainsString($secret, $summary . $steps . $this->serverLog());
        }
    }

    public function testTheMerchantRefusesATokenRequestSignedWithAnotherKey(): void
    {
        $url = $this->startMerchant(self::SECRET, ['DOKU_PUBLIC_KEY_FILE' => Keys::path('public.pem')]);
        [$exit, $summary, $steps] = $this->notify($url, self::SECRET, '--inquire');
        $this->assertSame(1, $exit, $summary . $steps . $this->serverLog());
        $this->assertSame(['notify: token request: HTTP 401, 4017300'], self::lines($steps));
        [$failure] = self::lines($summary);
        $this->assertStringStartsWith('notify: failed: token request: the merchant answered HTTP 401 with 4017300: Unauthorized. Invalid Signature', $failure);
    }

    public function testTheMerchantRefusesATokenItDidNotIssue(): void
    {
        // The merchant checks tokens with another public key than its issuer's: none is its own.
        $url = $this->startMerchant(self::SECRET, ['MERCHANT_PUBLIC_KEY_FILE' => Keys::dokuDir() . '/doku-public.pem']);
        [$exit, $summary, $steps] = $this->notify($url, self::SECRET, '--inquire');
        $this->assertSame(1, $exit, $summary . $steps . $this->serverLog());
        $this->assertSame(['notify: token request: HTTP 200, 2007300', 'notify: inquiry: HTTP 401, 4012401'], self::lines($steps));
        $this->assertSame(
            ['notify: failed: inquiry: the merchant answered HTTP 401 with 4012401: Invalid Token (B2B): JWT rejected: signature is invalid: it does not match the message and public key (expected HTTP 2xx and 2002400)'],
            self::lines($summary),
        );
    }

    public function testTokensTooLongLivedCannotBeProbedExpired(): void
    {
        // The default 900 s: every other probe is refused, the expired token cannot be tried.
        $url = $this->startMerchant(self::SECRET);
        [$exit, $summary, $steps] = $this->notify($url, self::SECRET, '--notify-probe');
        $this->assertSame(1, $exit, $summary . $steps . $this->serverLog());
        $this->assertSame([
            'notify: token request: HTTP 200, 2007300',
            'notify: payment notification: HTTP 200, 2002500',
            'notify: probe: replayed X-EXTERNAL-ID: HTTP 409, 4092500',
            'notify: probe: replayed under a new X-EXTERNAL-ID: HTTP 409, 4092500',
            'notify: probe: replayed with a space after X-SIGNATURE: HTTP 409, 4092500',
            'notify: probe: stale X-TIMESTAMP: HTTP 401, 4012500',
            'notify: probe: wrong X-SIGNATURE: HTTP 401, 4012500',
        ], self::lines($steps));
        $this->assertSame(
            ["notify: failed: probe: expired token: the merchant's tokens last 900 s; give it a token lifetime of at most 10 s to probe"],
            self::lines($summary),
        );
    }

    public function testTheMerchantHasNoBillForACustomerNumberEndingIn99(): void
    {
        // DOKU's part played here: a token from the merchant, then an inquiry signed with it.
        $url = $this->startMerchant(self::SECRET);
        $ts = Snap::timestamp();
        [$status, $token] = self::post($url, '/authorization/v1/access-token/b2b', [
            'X-CLIENT-KEY' => self::CLIENT_ID,
            'X-TIMESTAMP' => $ts,
            'X-SIGNATURE' => Snap::sign(self::CLIENT_ID, $ts, Keys::dokuText('doku-private.pem')),
        ], '{"grantType":"client_credentials"}');
        $this->assertSame(200, $status, $this->serverLog());
        $inquiry = ['partnerServiceId' => '  888994', 'customerNo' => '00000000000000000099', 'virtualAccountNo' => '  88899400000000000000000099', 'inquiryRequestId' => 'IR/99'];
        $answer = static function (array $inquiry) use ($url, $token): array {
            $body = json_encode($inquiry);
            $ts = Snap::timestamp();
            return self::post($url, '/v1.1/transfer-va/inquiry', [
                'Authorization' => "Bearer {$token['accessToken']}",
                'X-TIMESTAMP' => $ts,
                'X-SIGNATURE' => Snap::signRequest(self::SECRET, 'POST', '/v1.1/transfer-va/inquiry', $token['accessToken'], $body, $ts),
                'X-PARTNER-ID' => self::CLIENT_ID,
                'X-EXTERNAL-ID' => (string) random_int(1, PHP_INT_MAX),
                'CHANNEL-ID' => '95221',
            ], $body);
        };
        [$status, $json] = $answer($inquiry);
        $this->assertSame(404, $status, $this->serverLog());
        $this->assertSame(['4042412', 'Invalid Bill/Virtual Account'], [$json['responseCode'], $json['responseMessage']]);
        $this->assertEquals($inquiry, $json['virtualAccountData']);
        // Another customer number has its bill.
        [$status, $json] = $answer(['customerNo' => '00000000000000000098'] + $inquiry);
        $this->assertSame(200, $status, $this->serverLog());
        $this->assertEquals(['2002400', ['value' => '10000.00', 'currency' => 'IDR']], [$json['responseCode'], $json['virtualAccountData']['totalAmount']]);
    }

    /** POSTs $body to $url$path; returns the HTTP status and the JSON answer decoded. */
    private static function post(string $url, string $path, array $headers, string $body): array
    {
        $lines = array_map(static fn (string $name, string $value): string => "{$name}: {$value}", array_keys($headers), $headers);
        $context = stream_context_create(['http' => [
            'method' => 'POST',
            'header' => ['Content-Type: application/json', ...$lines],
            'content' => $body,
            'ignore_errors' => true,
        ]]);
        $answer = (string) file_get_contents($url . $path, false, $context);
        preg_match('{^HTTP/\S+ (\d+)}', $http_response_header[0] ?? '', $m);
        return [(int) ($m[1] ?? 0), json_decode($answer, true)];
    }

    /** The lines of the sandbox's $output that start with "notify: ". */
    private static function lines(string $output): array
    {
        return array_values(array_filter(explode("\n", $output), static fn (string $l): bool => str_starts_with($l, 'notify: ')));
    }

    /** Starts php -S with examples/merchant.php on a free port; returns its URL once it accepts connections. */
    private function startMerchant(string $secret, array $env = []): string
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($probe, false);
        fclose($probe);
        $this->log = Keys::tempDir('doku-php-merchant-') . '/server.log';
        $env += [
            'DOKU_PUBLIC_KEY_FILE' => Keys::dokuDir() . '/doku-public.pem',
            'MERCHANT_PRIVATE_KEY_FILE' => Keys::path('pkcs8.pem'),
            'MERCHANT_PUBLIC_KEY_FILE' => Keys::path('public.pem'),
            'MERCHANT_CLIENT_ID' => self::CLIENT_ID,
            'MERCHANT_CLIENT_SECRET' => $secret,
        ];
        $this->server = proc_open(
            [PHP_BINARY, '-d', 'ffi.enable=1', '-S', $address, 'examples/merchant.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->log, 'w'], 2 => ['file', $this->log, 'a']],
            $pipes,
            realpath(self::PACKAGE),
            $env + getenv(),
        );
        for ($i = 0; $i < 250; $i++) {
            if ($socket = @stream_socket_client("tcp://{$address}", $errno, $error, 1)) {
                fclose($socket);
                return "http://{$address}";
            }
            if (!proc_get_status($this->server)['running']) {
                break;
            }
            usleep(20_000);
        }
        $this->fail("php -S did not start on {$address}:\n" . $this->serverLog());
    }

    /**
     * Runs doku-sandbox --notify against $url with $flags; returns its exit status, its stdout
     * (the summary) and its stderr (a line per step).
     */
    private function notify(string $url, string $secret, string ...$flags): array
    {
        $binary = getenv('DOKU_SANDBOX') ?: dirname(__DIR__, 3) . '/target/release/doku-sandbox';
        $dir = Keys::tempDir('doku-php-notify-');
        $process = proc_open(
            [$binary, '--listen', '127.0.0.1:0', '--quiet', '--doku-key-dir', Keys::dokuDir(),
                '--secret', self::CLIENT_ID . "={$secret}", '--notify-client', self::CLIENT_ID, '--notify', $url, ...$flags, '--notify-exit'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "{$dir}/stdout", 'w'], 2 => ['file', "{$dir}/stderr", 'w']],
            $pipes,
        );
        $exit = proc_close($process);
        return [$exit, (string) file_get_contents("{$dir}/stdout"), (string) file_get_contents("{$dir}/stderr")];
    }

    private function serverLog(): string
    {
        return "\nphp -S log:\n" . @file_get_contents($this->log);
    }

    protected function tearDown(): void
    {
        if ($this->server !== null) {
            proc_terminate($this->server);
            proc_close($this->server);
            $this->server = null;
        }
    }
}
