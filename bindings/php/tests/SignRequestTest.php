<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

/** Transaction signatures (minify, signRequest, verifyRequest) and verify(), against references outside the library. */
final class SignRequestTest extends TestCase
{
    private const KAT_SCRIPT = __DIR__ . '/../../../tests/kat/snap_kat.py';

    /** The known answers of tests/kat/snap_kat.py: Python's hashlib and hmac, minified forms written by hand. */
    private static function kat(): array
    {
        static $kat = null;
        return $kat ??= json_decode(Keys::sh('python3 ' . escapeshellarg(self::KAT_SCRIPT)), true, 512, JSON_THROW_ON_ERROR);
    }

    /** @return array<string, array{array<string, string>}> */
    public static function knownAnswers(): array
    {
        $cases = [];
        foreach (self::kat()['cases'] as $case) {
            $cases[$case['name']] = [$case];
        }
        return $cases;
    }

    /** @dataProvider knownAnswers */
    public function testKnownAnswer(array $case): void
    {
        ['secret' => $secret, 'token' => $token, 'timestamp' => $ts, 'path' => $path] = self::kat();
        if ($case['body'] !== '') { // "" is not JSON to minify(); signRequest() hashes it as the empty body
            $this->assertSame($case['minified'], Snap::minify($case['body']));
            $this->assertSame($case['minified'], Snap::minify($case['minified']));
        }
        $this->assertSame($case['signature'], Snap::signRequest($secret, 'POST', $path, $token, $case['body'], $ts));
        // The method is upper-cased and "Bearer " dropped, as the C API documents.
        $this->assertSame($case['signature'], Snap::signRequest($secret, 'post', $path, "Bearer {$token}", $case['body'], $ts));
        $this->assertTrue(Snap::verifyRequest($secret, 'POST', $path, "Bearer {$token}", $case['body'], $ts, $case['signature']));
        if ($case['body'] === '') {
            $this->assertSame($case['signature'], Snap::signRequest($secret, 'POST', $path, $token, null, $ts));
            $this->assertTrue(Snap::verifyRequest($secret, 'POST', $path, $token, null, $ts, $case['signature']));
        }
    }

    /** @return array<string, array{int, string}> */
    public static function tamperings(): array
    {
        return [
            'secret' => [0, 'SK-other'],
            'method' => [1, 'PUT'],
            'path' => [2, '/virtual-accounts/bi-snap-va/v1.1/transfer-va/update-va'],
            'token' => [3, 'eyJother.token.x'],
            'body' => [4, '{"totalAmount":{"value":"99999.00","currency":"IDR"}}'],
            'timestamp' => [5, '2026-11-28T14:18:40+07:00'],
            'signature' => [6, 'n5AUUPzH+qcktoEpq0XzsvOSmD+2p/HaG5C3SVOHZrkBarDyMI8VCRTTf5qgk1l+j2tXiz1gPGid0OhATZGPSw=='],
            'signature not base64' => [6, '%%%'],
            'signature empty' => [6, ''],
        ];
    }

    /** @dataProvider tamperings */
    public function testVerifyRequestIsFalseForAnyChange(int $index, string $value): void
    {
        $kat = self::kat();
        $case = $kat['cases'][0];
        $args = [$kat['secret'], 'POST', $kat['path'], $kat['token'], $case['body'], $kat['timestamp'], $case['signature']];
        $this->assertTrue(Snap::verifyRequest(...$args));
        $args[$index] = $value;
        $this->assertFalse(Snap::verifyRequest(...$args));
    }

    /** @return array<string, array{list<?string>, string}> */
    public static function invalidRequests(): array
    {
        return [
            'empty secret' => [['', 'POST', '/p', 'tok', null, '2024-01-01T00:00:00Z'], 'secret'],
            'empty token' => [['s', 'POST', '/p', '', null, '2024-01-01T00:00:00Z'], 'token'],
            'body not JSON' => [['s', 'POST', '/p', 'tok', '{"a":', '2024-01-01T00:00:00Z'], 'JSON'],
            'NUL in the body' => [['s', 'POST', '/p', 'tok', "{}\0{}", '2024-01-01T00:00:00Z'], 'body contains a NUL byte'],
            'NUL in the secret' => [["s\0", 'POST', '/p', 'tok', null, '2024-01-01T00:00:00Z'], 'clientSecret contains a NUL byte'],
        ];
    }

    /**
     * Bad input is an exception in both directions; for verifyRequest() it is not a "false".
     *
     * @dataProvider invalidRequests
     */
    public function testInvalidRequestThrows(array $args, string $fragment): void
    {
        foreach ([fn () => Snap::signRequest(...$args), fn () => Snap::verifyRequest(...[...$args, 'c2ln'])] as $call) {
            try {
                $call();
                $this->fail('no exception');
            } catch (InvalidArgumentException $e) {
                $this->assertSame(Status::INVALID_ARGUMENT, $e->getCode());
                $this->assertStringContainsStringIgnoringCase($fragment, $e->getMessage());
            }
        }
    }

    public function testMinifyRefusesInvalidJson(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(Status::INVALID_ARGUMENT);
        Snap::minify('{"a": }');
    }

    public function testVerifyAcceptsTheOpensslCliSignature(): void
    {
        $id = 'MCH-0008-1296507211683';
        $ts = '2022-10-07T14:18:39+07:00';
        $signature = Keys::opensslSignature($id, $ts);
        $publicPem = Keys::text('public.pem');
        $publicBare = preg_replace('/-----[^-]+-----|\s/', '', $publicPem);
        $this->assertTrue(Snap::verify($id, $ts, $signature, $publicPem));
        $this->assertTrue(Snap::verify($id, $ts, $signature, $publicBare));
        $this->assertFalse(Snap::verify($id, '2022-10-07T14:18:40+07:00', $signature, $publicPem));
        $this->assertFalse(Snap::verify('MCH-0008-1296507211684', $ts, $signature, $publicPem));
        $this->assertFalse(Snap::verify($id, $ts, 'bm90IGEgc2lnbmF0dXJl', $publicPem));
        $this->assertFalse(Snap::verify($id, $ts, Keys::opensslSignature($id, $ts), Keys::dokuText('doku-public.pem')));
    }

    public function testVerifyWithAnUnusableKeyThrows(): void
    {
        $this->expectException(KeyException::class);
        $this->expectExceptionCode(Status::KEY);
        Snap::verify('MCH-1', '2024-01-01T00:00:00Z', 'c2ln', 'not a key');
    }
}
