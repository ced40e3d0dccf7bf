<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

final class SignTest extends TestCase
{
    private const CLIENT_ID = 'MCH-0008-1296507211683';

    /** @return array<string, array{string}> */
    public static function keyFormats(): array
    {
        return ['PKCS#8 PEM' => ['pkcs8.pem'], 'PKCS#1 PEM' => ['pkcs1.pem'], 'bare base64 DER' => ['bare.b64']];
    }

    /** @dataProvider keyFormats */
    public function testSignatureEqualsOpensslCli(string $keyFile): void
    {
        $timestamp = Snap::timestamp();
        $this->assertSame(
            Keys::opensslSignature(self::CLIENT_ID, $timestamp),
            Snap::sign(self::CLIENT_ID, $timestamp, Keys::text($keyFile)),
        );
    }

    public function testWibTimestampAndNonAsciiAreSignedAsGiven(): void
    {
        $id = 'MCH-ünïcode';
        $this->assertSame(
            Keys::opensslSignature($id, '2022-10-07T14:18:39+07:00'),
            Snap::sign($id, '2022-10-07T14:18:39+07:00', Keys::text('pkcs8.pem')),
        );
    }

    public function testTimestampAndVersion(): void
    {
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', Snap::timestamp());
        $this->assertLessThanOrEqual(2, abs(strtotime(Snap::timestamp()) - time()));
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', Snap::version());
    }

    /** @return array<string, array{string, string, string, string}> */
    public static function nulArguments(): array
    {
        return [
            'clientId' => ["MCH\0-1", '2024-01-01T00:00:00Z', '', 'clientId contains a NUL byte'],
            'timestamp' => ['MCH-1', "2024-01-01T00:00:00Z\0", '', 'timestamp contains a NUL byte'],
            'privateKey' => ['MCH-1', '2024-01-01T00:00:00Z', "\0", 'privateKey contains a NUL byte'],
        ];
    }

    /** @dataProvider nulArguments */
    public function testNulByteIsRefusedBeforeC(string $id, string $timestamp, string $key, string $message): void
    {
        $key = $key === '' ? Keys::text('pkcs8.pem') : Keys::text('pkcs8.pem') . $key;
        $this->expectExceptionObject(new InvalidArgumentException($message, Status::INVALID_ARGUMENT));
        Snap::sign($id, $timestamp, $key);
    }

    public function testEmptyClientIdIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(Status::INVALID_ARGUMENT);
        $this->expectExceptionMessageMatches('/client_id/i');
        Snap::sign('', '2024-01-01T00:00:00Z', Keys::text('pkcs8.pem'));
    }

    /** @return array<string, array{string, string}> */
    public static function unusableKeys(): array
    {
        return [
            'EC key' => ['ec.pem', 'RSA'],
            'RSA-1024' => ['rsa1024.pem', '2048'],
            'encrypted without passphrase' => ['encrypted.pem', 'passphrase'],
        ];
    }

    /** @dataProvider unusableKeys */
    public function testUnusableKeyThrowsKeyException(string $keyFile, string $fragment): void
    {
        $this->expectException(KeyException::class);
        $this->expectExceptionCode(Status::KEY);
        $this->expectExceptionMessage($fragment);
        Snap::sign('MCH-1', '2024-01-01T00:00:00Z', Keys::text($keyFile));
    }

    public function testGarbageKeyThrowsKeyException(): void
    {
        $this->expectException(KeyException::class);
        $this->expectExceptionCode(Status::KEY);
        Snap::sign('MCH-1', '2024-01-01T00:00:00Z', 'not a key');
    }
}
