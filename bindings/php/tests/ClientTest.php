<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

final class ClientTest extends TestCase
{
    public function testGetTokenIsCachedAcrossClients(): void
    {
        $sandbox = Sandbox::shared();
        $token = (new Client($sandbox->config('ok')))->getToken();
        $this->assertMatchesRegularExpression('/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/', $token);
        $this->assertSame($token, (new Client($sandbox->config('ok')))->getToken());
        $this->assertSame(1, $sandbox->tokenRequests('ok'));
    }

    public function testTokenInfo(): void
    {
        $client = new Client(Sandbox::shared()->config('info'));
        $info = $client->tokenInfo();
        $this->assertEqualsCanonicalizing(['accessToken', 'tokenType', 'expiresIn', 'expiresAt'], array_keys($info));
        $this->assertSame($client->getToken(), $info['accessToken']);
        $this->assertSame('Bearer', $info['tokenType']);
        $this->assertIsInt($info['expiresIn']);
        $this->assertEqualsWithDelta(900, $info['expiresIn'], 2);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $info['expiresAt']);
        $this->assertEqualsWithDelta(time() + 900, strtotime($info['expiresAt']), 2);
    }

    public function testInvalidateTokenFetchesANewOne(): void
    {
        $sandbox = Sandbox::shared();
        $client = new Client($sandbox->config('invalidate'));
        $first = $client->getToken();
        $this->assertSame($first, $client->getToken());
        $this->assertSame(1, $sandbox->tokenRequests('invalidate'));

        $client->invalidateToken();
        $second = $client->getToken();
        $this->assertNotSame($first, $second);
        $this->assertSame(2, $sandbox->tokenRequests('invalidate'));
    }

    public function testKeyAsTextAndEncryptedKeyWithPassphrase(): void
    {
        $sandbox = Sandbox::shared();
        $config = ['private_key' => Keys::text('encrypted.pem'), 'private_key_passphrase' => Keys::PASSPHRASE];
        $config += $sandbox->config('ok');
        unset($config['private_key_file']);
        $this->assertNotSame('', (new Client($config))->getToken());
    }

    public function testDestructIsIdempotentAndAFreedClientIsANullArgument(): void
    {
        $client = new Client(Sandbox::shared()->config('ok'));
        $client->__destruct();
        $client->__destruct(); // no double free

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(Status::NULL_ARGUMENT);
        $client->getToken();
    }

    public function testCloneIsRefused(): void
    {
        $this->expectException(\Error::class);
        $this->expectExceptionMessage('__clone');
        $client = new Client(Sandbox::shared()->config('ok'));
        $copy = clone $client;
    }

    /** @return array<string, array{array<string, mixed>, string}> */
    public static function invalidConfigs(): array
    {
        return [
            'unknown key' => [['clientId' => 'ok'], 'unknown key "clientId"'],
            'missing client_id' => [['client_id' => null], 'client_id'],
            'wrong type' => [['timeout_ms' => 'soon'], 'timeout_ms'],
            'plain http to a remote host' => [['base_url' => 'http://example.com'], 'base_url'],
            'not UTF-8' => [['client_id' => "\xff"], 'config cannot be encoded as JSON'],
            'NUL byte' => [['private_key_file' => "/etc/key.pem\0.txt"], 'config: private_key_file contains a NUL byte'],
        ];
    }

    /** @dataProvider invalidConfigs */
    public function testInvalidConfig(array $config, string $fragment): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(Status::INVALID_ARGUMENT);
        $this->expectExceptionMessage($fragment);
        new Client(array_filter($config + ['client_id' => 'ok', 'private_key_file' => Keys::path('pkcs8.pem')], 'is_string'));
    }

    public function testEmptyConfigIsAnObject(): void
    {
        $this->expectExceptionObject(new InvalidArgumentException('config: client_id is required', Status::INVALID_ARGUMENT));
        new Client([]);
    }

    /** @return array<string, array{array<string, string>, string}> */
    public static function unusableKeys(): array
    {
        return [
            'EC key' => [['private_key_file' => 'ec.pem'], 'RSA'],
            'RSA-1024' => [['private_key_file' => 'rsa1024.pem'], '2048'],
            'wrong passphrase' => [['private_key_file' => 'encrypted.pem', 'private_key_passphrase' => 'wrong'], 'passphrase'],
            'missing file' => [['private_key_file' => 'missing.pem'], 'missing.pem'],
        ];
    }

    /** @dataProvider unusableKeys */
    public function testUnusableKey(array $config, string $fragment): void
    {
        $config['private_key_file'] = Keys::path($config['private_key_file']);
        $this->expectException(KeyException::class);
        $this->expectExceptionCode(Status::KEY);
        $this->expectExceptionMessage($fragment);
        new Client($config + ['client_id' => 'ok']);
    }
}
