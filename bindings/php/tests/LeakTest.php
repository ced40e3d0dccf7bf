<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Snap;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/** Owned strings and client handles are freed: resident memory stays flat over many calls. */
final class LeakTest extends TestCase
{
    public function testResidentMemoryStaysFlat(): void
    {
        $config = Sandbox::shared()->transactionConfig('leak');
        $key = Keys::text('pkcs8.pem');
        $dokuPublic = Keys::dokuText('doku-public.pem');
        $publicKey = Keys::text('public.pem');
        $body = '{ "trxId": "INV/1", "totalAmount": { "value": "1.00", "currency": "IDR" } }';
        $warm = new Client($config);
        $ts = Snap::timestamp();
        $tokenRequest = ['X-CLIENT-KEY' => 'MCH-1', 'X-TIMESTAMP' => $ts, 'X-SIGNATURE' => Snap::sign('MCH-1', $ts, Keys::dokuText('doku-private.pem'))];
        $issuer = ['client_id' => 'MCH-1', 'doku_public_key' => $dokuPublic, 'merchant_private_key' => $key];
        $issuerFiles = ['client_id' => 'MCH-1', 'doku_public_key_file' => Keys::dokuDir() . '/doku-public.pem', 'merchant_private_key_file' => Keys::path('pkcs8.pem')];
        $jwt = Snap::issueToken($issuer, $tokenRequest, '{"grantType":"client_credentials"}')->json()['accessToken'];
        $signature = Snap::signRequest('secret', 'POST', '/p', 'token', $body, $ts);
        // DOKU's payment notification, accepted once here: in the loop it is a replay (409).
        $verifier = ['client_id' => 'MCH-1', 'client_secret' => 'secret', 'merchant_public_key' => $publicKey];
        $notification = '{"partnerServiceId":"  888994","customerNo":"01","virtualAccountNo":"  88899401","paymentRequestId":"P/1","paidAmount":{"value":"1.00","currency":"IDR"}}';
        $paymentPath = '/v1.1/transfer-va/payment';
        $notified = ['Authorization' => "Bearer {$jwt}", 'X-TIMESTAMP' => $ts, 'X-PARTNER-ID' => 'MCH-1', 'X-EXTERNAL-ID' => (string) random_int(1, PHP_INT_MAX), 'CHANNEL-ID' => '95221',
            'X-SIGNATURE' => Snap::signRequest('secret', 'POST', $paymentPath, $jwt, $notification, $ts)];
        $accepted = Snap::merchantVerify($verifier, 'POST', $paymentPath, $notified, $notification);
        $this->assertTrue($accepted->accepted, (string) $accepted->body);
        // Every function that returns an owned string, or takes a client; the RSA signing ones less often.
        $stateless = [
            static fn () => Snap::sign('MCH-1', '2024-01-01T00:00:00Z', $key),
            static fn () => Snap::minify($body),
            static fn () => Snap::signRequest('secret', 'POST', '/p', 'token', $body, $ts),
            static fn () => Snap::verifyRequest('secret', 'POST', '/p', 'token', $body, $ts, $signature),
            static fn () => Snap::validateToken($jwt, $publicKey),
            static fn () => Snap::verifyRequest('secret', 'POST', '/p', 'token', $body, $ts, 'wrong'), // false
            static fn () => Snap::issueToken($issuer, $tokenRequest, '{"grantType":"client_credentials"}'),
            static fn () => Snap::issueToken($issuerFiles, $tokenRequest, '{"grantType":"client_credentials"}'),
            static function () use ($issuerFiles, $tokenRequest): void { // the error path frees the message too
                try {
                    Snap::issueToken(['doku_public_key_file' => '/nonexistent/doku.pem'] + $issuerFiles, $tokenRequest, '');
                } catch (KeyException) {
                }
            },
            static fn () => Snap::timestamp(),
            static fn () => Snap::merchantVerify($verifier, 'POST', $paymentPath, $notified, $notification), // a replay
            static fn () => Snap::merchantVerify($verifier, 'POST', '/p', $notified, "{$notification}\0"), // 404
            static fn () => Snap::merchantVerify(['client_secret' => 'wrong'] + $verifier, 'POST', $paymentPath, $notified, $notification),
            static function () use ($verifier, $paymentPath, $notified, $notification): void { // the error path
                try {
                    Snap::merchantVerify(['merchant_public_key' => null, 'merchant_public_key_file' => '/nonexistent/merchant.pem'] + $verifier, 'POST', $paymentPath, $notified, $notification);
                } catch (KeyException) {
                }
            },
            static fn () => $accepted->answer(),
            static fn () => Snap::merchantAnswer('payment_notification', $accepted->request, ['refuse' => 'bill_paid']),
            static function () use ($accepted): void {
                try {
                    Snap::merchantAnswer('inquiry', $accepted->request);
                } catch (InvalidArgumentException) {
                }
            },
        ];
        $withClient = [
            static fn () => $warm->getToken(),
            static fn () => $warm->requestHeaders('POST', '/p', $body),
            static fn () => $warm->tokenInfo(),
            static fn () => $warm->requestHeaders('GET', '/p'),
        ];
        $round = static function (int $calls) use ($config, $stateless, $withClient): void {
            for ($i = 0; $i < $calls; $i++) {
                // Half of them clients: a leaked handle is ~0.5 KB, 10,000 of them cross the bound.
                match ($i % 4) {
                    0 => $stateless[($i >> 2) % count($stateless)](),
                    1 => $withClient[($i >> 2) % count($withClient)](),
                    default => (new Client($config))->__destruct(),
                };
            }
        };
        $round(2_000); // warm-up: caches, allocator arenas
        $before = self::rss();
        $round(20_000);
        $growth = self::rss() - $before;
        $this->assertLessThan(4 << 20, $growth, sprintf('RSS grew by %.1f MB', $growth / (1 << 20)));
    }

    private static function rss(): int
    {
        gc_collect_cycles();
        static $page = null;
        $page ??= (int) shell_exec('getconf PAGESIZE');
        return (int) explode(' ', (string) file_get_contents('/proc/self/statm'))[1] * $page;
    }
}
