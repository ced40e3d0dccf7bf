<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\ApiException;
use DokuSnap\Client;
use DokuSnap\NetworkException;
use DokuSnap\ProtocolException;
use DokuSnap\Status;
use DokuSnap\TimeoutException;
use DokuSnap\TlsException;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/** Every transport and API failure, through a real socket to the sandbox. */
final class ErrorsTest extends TestCase
{
    public function testClosedPortIsANetworkError(): void
    {
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($server, false);
        fclose($server);

        $this->expectException(NetworkException::class);
        $this->expectExceptionCode(Status::NETWORK);
        $this->expectExceptionMessage('refused');
        (new Client(['base_url' => "http://{$address}"] + Sandbox::shared()->config('ok')))->getToken();
    }

    public function testResetIsANetworkError(): void
    {
        $this->expectException(NetworkException::class);
        $this->expectExceptionCode(Status::NETWORK);
        (new Client(Sandbox::shared()->config('reset')))->getToken();
    }

    public function testSlowAnswerIsATimeout(): void
    {
        $start = microtime(true);
        try {
            (new Client(Sandbox::shared()->config('slow', ['timeout_ms' => 500])))->getToken();
            $this->fail('no timeout');
        } catch (TimeoutException $e) {
            $this->assertSame(Status::TIMEOUT, $e->getCode());
            $this->assertStringContainsString('timeout_ms 500', $e->getMessage());
        }
        $this->assertLessThan(2.0, microtime(true) - $start);
    }

    public function testUntrustedCertificateIsATlsErrorUntilCaFileIsGiven(): void
    {
        $sandbox = new Sandbox(['tls'], tls: true);
        $config = $sandbox->config('tls');
        try {
            (new Client(array_diff_key($config, ['ca_file' => 0])))->getToken();
            $this->fail('an untrusted certificate was accepted');
        } catch (TlsException $e) {
            $this->assertSame(Status::TLS, $e->getCode());
            $this->assertStringContainsString('certificate', $e->getMessage());
        }
        $this->assertStringStartsWith('https://', $sandbox->url);
        $this->assertNotSame('', (new Client($config))->getToken());
        $this->assertSame(1, $sandbox->tokenRequests('tls'));
    }

    /** @return array<string, array{string, string, string}> */
    public static function refusals(): array
    {
        return [
            'unknown client' => ['unknown-merchant', '4017300', 'Unknown Client'],
            'error responseCode with HTTP 200' => ['error200', '5007300', 'General Error'],
        ];
    }

    /** @dataProvider refusals */
    public function testRefusalIsAnApiErrorWithTheResponseCode(string $clientId, string $code, string $fragment): void
    {
        try {
            (new Client(Sandbox::shared()->config($clientId)))->getToken();
            $this->fail('no ApiException');
        } catch (ApiException $e) {
            $this->assertSame(Status::API, $e->getCode());
            $this->assertSame($code, $e->getResponseCode());
            $this->assertStringContainsString($fragment, $e->getMessage());
        }
    }

    /** @return array<string, array{string, string}> */
    public static function unusableAnswers(): array
    {
        return [
            'HTTP 500 with HTML' => ['http500', '500'],
            'truncated JSON' => ['badjson', 'JSON'],
            'no accessToken' => ['notoken', 'accessToken'],
            'a 4 MiB body' => ['huge', 'MiB'],
        ];
    }

    /** @dataProvider unusableAnswers */
    public function testUnusableAnswerIsAProtocolError(string $clientId, string $fragment): void
    {
        $this->expectException(ProtocolException::class);
        $this->expectExceptionCode(Status::PROTOCOL);
        $this->expectExceptionMessage($fragment);
        (new Client(Sandbox::shared()->config($clientId)))->getToken();
    }
}
