<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\InvalidArgumentException;
use DokuSnap\IssuedToken;
use DokuSnap\KeyException;
use DokuSnap\SignatureInvalidException;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

/**
 * The merchant side: issueToken() answers DOKU's token request, validateToken() checks the token
 * DOKU then presents. DOKU's key pair is Keys::dokuDir()'s, the merchant's is pkcs8.pem/public.pem.
 */
final class MerchantTest extends TestCase
{
    private const CLIENT_ID = 'MCH-0008-1296507211683';
    private const BODY = '{"grantType":"client_credentials"}';

    /** DOKU's token request as getallheaders() gives it, signed with $signingKey (default DOKU's). */
    private static function dokuHeaders(?string $timestamp = null, ?string $signingKey = null, string $clientId = self::CLIENT_ID): array
    {
        $timestamp ??= Snap::timestamp();
        return [
            'Host' => '127.0.0.1:8000',
            'Content-Type' => 'application/json',
            'X-Client-Key' => $clientId,
            'X-Timestamp' => $timestamp,
            'X-Signature' => Snap::sign($clientId, $timestamp, $signingKey ?? Keys::dokuText('doku-private.pem')),
        ];
    }

    private static function issue(array $headers, string $body = self::BODY, int $ttl = 0, int $maxSkew = 0): IssuedToken
    {
        return Snap::issueToken($headers, $body, Keys::dokuText('doku-public.pem'), Keys::text('pkcs8.pem'), self::CLIENT_ID, $ttl, $maxSkew);
    }

    public function testIssuedTokenValidatesWithTheMerchantKey(): void
    {
        $answer = self::issue(self::dokuHeaders(), ttl: 600);
        $this->assertSame(200, $answer->httpStatus);
        $json = $answer->json();
        $this->assertSame('2007300', $json['responseCode']);
        $this->assertSame('Bearer', $json['tokenType']);
        $this->assertSame(600, $json['expiresIn']);
        $this->assertMatchesRegularExpression('/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/', $json['accessToken']);

        $claims = Snap::validateToken('Bearer ' . $json['accessToken'], Keys::text('public.pem'));
        $this->assertSame(self::CLIENT_ID, $claims['clientId']);
        $this->assertSame(600, $claims['exp'] - $claims['iat']);
        $this->assertEqualsWithDelta(time(), $claims['iat'], 2);
        $this->assertArrayHasKey('jti', $claims);
        $this->assertSame($claims, Snap::validateToken($json['accessToken'], Keys::text('public.pem')));
        // Another key (DOKU's) does not validate it.
        $this->expectException(SignatureInvalidException::class);
        Snap::validateToken($json['accessToken'], Keys::dokuText('doku-public.pem'));
    }

    public function testHeaderNamesInAnyCaseAndArrayValues(): void
    {
        $headers = array_change_key_case(self::dokuHeaders(), CASE_LOWER);
        $headers['x-client-key'] = [self::CLIENT_ID];
        $headers['accept'] = ['application/json', 'text/plain'];
        $this->assertSame(200, self::issue($headers)->httpStatus);
        // Several values are joined with ", ": no longer the client id.
        $headers['x-client-key'] = [self::CLIENT_ID, self::CLIENT_ID];
        $refused = self::issue($headers);
        $this->assertSame([401, '4017300'], [$refused->httpStatus, $refused->json()['responseCode']]);
    }

    /** @return array<string, array{\Closure(): array{array, string}, int, string, string}> */
    public static function refusals(): array
    {
        $without = static fn (string $name): \Closure => static fn (): array => [array_diff_key(self::dokuHeaders(), [$name => 0]), self::BODY];
        return [
            'no X-SIGNATURE' => [$without('X-Signature'), 400, '4007302', 'Invalid Mandatory Field X-SIGNATURE'],
            'no X-CLIENT-KEY' => [$without('X-Client-Key'), 400, '4007302', 'X-CLIENT-KEY'],
            'malformed X-TIMESTAMP' => [static fn () => [self::dokuHeaders('yesterday'), self::BODY], 400, '4007301', 'X-TIMESTAMP'],
            'wrong grantType' => [static fn () => [self::dokuHeaders(), '{"grantType":"password"}'], 400, '4007300', 'grantType'],
            'empty body' => [static fn () => [self::dokuHeaders(), ''], 400, '4007300', 'empty'],
            'another client id' => [static fn () => [self::dokuHeaders(clientId: 'MCH-OTHER'), self::BODY], 401, '4017300', 'Unknown Client'],
            'signed with another key' => [static fn () => [self::dokuHeaders(signingKey: Keys::text('pkcs8.pem')), self::BODY], 401, '4017300', 'Invalid Signature'],
            'an hour old' => [static fn () => [self::dokuHeaders(gmdate('Y-m-d\TH:i:s\Z', time() - 3600)), self::BODY], 401, '4017300', '300 s'],
        ];
    }

    /**
     * A refusal is an answer to send, not an exception.
     *
     * @dataProvider refusals
     */
    public function testRefusalIsTheAnswerToSend(\Closure $request, int $status, string $code, string $fragment): void
    {
        [$headers, $body] = $request();
        $answer = self::issue($headers, $body);
        $this->assertSame($status, $answer->httpStatus);
        $this->assertSame(['responseCode', 'responseMessage'], array_keys($answer->json()));
        $this->assertSame($code, $answer->json()['responseCode']);
        $this->assertStringContainsString($fragment, $answer->json()['responseMessage']);
        if (isset($headers['X-Signature'])) {
            $this->assertStringNotContainsString($headers['X-Signature'], $answer->body, 'refusals never quote the signature');
        }
    }

    public function testMaxSkewWidensTheWindow(): void
    {
        $headers = self::dokuHeaders(gmdate('Y-m-d\TH:i:s\Z', time() - 3600));
        $this->assertSame(401, self::issue($headers)->httpStatus);
        $this->assertSame(200, self::issue($headers, maxSkew: 7200)->httpStatus);
    }

    /** @return array<string, array{\Closure(): mixed, class-string, string}> */
    public static function badInputs(): array
    {
        $issue = static fn (array $change): \Closure => static function () use ($change) {
            $args = ['headers' => self::dokuHeaders(), 'body' => self::BODY, 'dokuPublicKey' => Keys::dokuText('doku-public.pem'),
                'merchantPrivateKey' => Keys::text('pkcs8.pem'), 'clientId' => self::CLIENT_ID];
            return Snap::issueToken(...($change + $args));
        };
        return [
            'a header value that is not a string' => [$issue(['headers' => ['X-Client-Key' => 7]]), InvalidArgumentException::class, 'headers_json'],
            'headers not UTF-8' => [$issue(['headers' => ['X-Client-Key' => "\xff"]]), InvalidArgumentException::class, 'headers cannot be encoded as JSON'],
            'NUL in the body' => [$issue(['body' => "{}\0"]), InvalidArgumentException::class, 'body contains a NUL byte'],
            'negative ttl' => [$issue(['ttl' => -1]), InvalidArgumentException::class, 'ttl'],
            'maxSkew over 32 bits' => [$issue(['maxSkew' => 1 << 32]), InvalidArgumentException::class, 'maxSkew'],
            'empty client id' => [$issue(['clientId' => '']), InvalidArgumentException::class, 'client_id'],
            'unusable DOKU key' => [$issue(['dokuPublicKey' => 'not a key']), KeyException::class, 'public key'],
            'EC merchant key' => [$issue(['merchantPrivateKey' => Keys::text('ec.pem')]), KeyException::class, 'RSA'],
            'RSA-1024 DOKU key' => [$issue(['dokuPublicKey' => Keys::sh('openssl pkey -pubout -in ' . escapeshellarg(Keys::path('rsa1024.pem')))]), KeyException::class, '2048'],
        ];
    }

    /**
     * Exceptions are for bad inputs, whatever the request.
     *
     * @dataProvider badInputs
     */
    public function testBadInputThrows(\Closure $call, string $class, string $fragment): void
    {
        $this->expectException($class);
        $this->expectExceptionMessage($fragment);
        $call();
    }

    /** A JWT made here, signed with PHP's openssl extension and the merchant key, so that every part can be chosen. */
    private static function jwt(array $header, array $claims): string
    {
        $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $input = $b64(json_encode($header)) . '.' . $b64(json_encode($claims));
        if (($header['alg'] ?? '') === 'HS256') {
            return $input . '.' . $b64(hash_hmac('sha256', $input, Keys::text('public.pem'), true));
        }
        if (($header['alg'] ?? '') === 'none') {
            return $input . '.';
        }
        openssl_sign($input, $signature, Keys::text('pkcs8.pem'), OPENSSL_ALGO_SHA256);
        return $input . '.' . $b64($signature);
    }

    public function testValidateTokenAcceptsAnyRs256JwtOfTheMerchantKey(): void
    {
        $claims = ['iss' => 'merchant', 'clientId' => self::CLIENT_ID, 'iat' => time(), 'exp' => time() + 60];
        $validated = Snap::validateToken(self::jwt(['alg' => 'RS256', 'typ' => 'JWT'], $claims), Keys::text('public.pem'));
        ksort($claims);
        ksort($validated);
        $this->assertSame($claims, $validated);
    }

    /** @return array<string, array{string, string}> */
    public static function rejectedTokens(): array
    {
        $live = ['clientId' => self::CLIENT_ID, 'iat' => time(), 'exp' => time() + 600];
        [$h, , $s] = explode('.', self::jwt(['alg' => 'RS256'], $live));
        $forged = rtrim(strtr(base64_encode(json_encode(['clientId' => 'MCH-EVIL'] + $live)), '+/', '-_'), '=');
        return [
            'alg none' => [self::jwt(['alg' => 'none'], $live), 'alg "none"'],
            'alg none, signature kept' => [self::jwt(['alg' => 'none'], $live) . $s, 'alg "none"'],
            'HS256 keyed with the public key' => [self::jwt(['alg' => 'HS256'], $live), 'alg "HS256"'],
            'no alg' => [self::jwt(['typ' => 'JWT'], $live), 'no alg'],
            'payload changed' => ["{$h}.{$forged}.{$s}", 'JWT rejected'],
            'signed with another key' => [self::signedByDoku($live), 'JWT rejected'],
            'expired' => [self::jwt(['alg' => 'RS256'], ['exp' => time() - 10] + $live), 'expired'],
            'no exp' => [self::jwt(['alg' => 'RS256'], ['clientId' => self::CLIENT_ID]), 'exp'],
        ];
    }

    private static function signedByDoku(array $claims): string
    {
        $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $input = $b64('{"alg":"RS256"}') . '.' . $b64(json_encode($claims));
        openssl_sign($input, $signature, Keys::dokuText('doku-private.pem'), OPENSSL_ALGO_SHA256);
        return $input . '.' . $b64($signature);
    }

    /** @dataProvider rejectedTokens */
    public function testValidateTokenRejects(string $token, string $fragment): void
    {
        try {
            Snap::validateToken("Bearer {$token}", Keys::text('public.pem'));
            $this->fail('the token was accepted');
        } catch (SignatureInvalidException $e) {
            $this->assertSame(Status::SIGNATURE_INVALID, $e->getCode());
            $this->assertStringContainsString($fragment, $e->getMessage());
            $this->assertStringNotContainsString($token, $e->getMessage(), 'messages never quote the token');
        }
    }

    /** @return array<string, array{string, class-string, string}> */
    public static function invalidTokens(): array
    {
        return [
            'not a JWT' => ['not-a-jwt', InvalidArgumentException::class, 'malformed JWT'],
            'empty' => ['', InvalidArgumentException::class, 'malformed JWT'],
            'NUL byte' => ["eyJ.eyJ.\0", InvalidArgumentException::class, 'bearerOrJwt contains a NUL byte'],
        ];
    }

    /** @dataProvider invalidTokens */
    public function testValidateTokenOfSomethingElseThrows(string $token, string $class, string $fragment): void
    {
        $this->expectException($class);
        $this->expectExceptionMessage($fragment);
        Snap::validateToken($token, Keys::text('public.pem'));
    }

    public function testValidateTokenWithAnUnusableKeyThrows(): void
    {
        $this->expectException(KeyException::class);
        Snap::validateToken(self::jwt(['alg' => 'RS256'], ['exp' => time() + 60]), 'not a key');
    }

    public function testJsonOfIssuedToken(): void
    {
        $this->assertSame(['a' => 1], (new IssuedToken(200, '{"a":1}'))->json());
    }
}
