<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

/**
 * End to end: examples/merchant.php under PHP's built-in server, and doku-sandbox acting as DOKU
 * (--notify): DOKU's token request, then a VA payment notification with that token.
 */
final class NotifyTest extends TestCase
{
    private const PACKAGE = __DIR__ . '/..';
    private const CLIENT_ID = 'MCH-1';
    private const SECRET = 'SK-notify-test-secret';

    /** @var resource|null the php -S process */
    private $server = null;
    private string $log;

    public function testTheMerchantAcceptsDokusNotification(): void
    {
        $url = $this->startMerchant(self::SECRET);
        [$exit, $output] = self::notify($url, self::SECRET);
        $this->assertSame(0, $exit, $output . $this->serverLog());
        $this->assertStringContainsString('notify: ok (token 2007300, payment 2002500)', $output);
        $this->assertStringContainsString('notify: token request: HTTP 200, 2007300', $output);
    }

    public function testTheMerchantRefusesANotificationSignedWithAnotherSecret(): void
    {
        $url = $this->startMerchant('SK-the-merchant-has-another-secret');
        [$exit, $output] = self::notify($url, self::SECRET);
        $this->assertSame(1, $exit, $output . $this->serverLog());
        $this->assertStringContainsString('notify: token request: HTTP 200, 2007300', $output);
        $this->assertStringContainsString('notify: payment notification: HTTP 401, 4012500', $output);
        $this->assertStringContainsString('notify: failed: payment notification: the merchant answered HTTP 401 with 4012500: Unauthorized. Invalid Signature', $output);
    }

    public function testTheMerchantRefusesATokenRequestSignedWithAnotherKey(): void
    {
        $url = $this->startMerchant(self::SECRET, ['DOKU_PUBLIC_KEY_FILE' => Keys::path('public.pem')]);
        [$exit, $output] = self::notify($url, self::SECRET);
        $this->assertSame(1, $exit, $output . $this->serverLog());
        $this->assertStringContainsString('notify: token request: HTTP 401, 4017300', $output);
        $this->assertStringContainsString('Invalid Signature', $output);
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

    /** Runs doku-sandbox --notify against $url; returns its exit status and its output (stdout, then stderr). */
    private static function notify(string $url, string $secret): array
    {
        $binary = getenv('DOKU_SANDBOX') ?: dirname(__DIR__, 3) . '/target/release/doku-sandbox';
        $dir = Keys::tempDir('doku-php-notify-');
        $process = proc_open(
            [$binary, '--listen', '127.0.0.1:0', '--quiet', '--doku-key-dir', Keys::dokuDir(),
                '--secret', self::CLIENT_ID . "={$secret}", '--notify-client', self::CLIENT_ID, '--notify', $url, '--notify-exit'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "{$dir}/stdout", 'w'], 2 => ['file', "{$dir}/stderr", 'w']],
            $pipes,
        );
        $exit = proc_close($process);
        return [$exit, file_get_contents("{$dir}/stdout") . file_get_contents("{$dir}/stderr")];
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
