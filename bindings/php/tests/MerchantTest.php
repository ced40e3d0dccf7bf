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

    /** The token options with both keys as text (DOKU's public key, the merchant's pkcs8.pem), then $change. */
    private static function options(array $change = []): array
    {
        return $change + [
            'client_id' => self::CLIENT_ID,
            'doku_public_key' => Keys::dokuText('doku-public.pem'),
            'merchant_private_key' => Keys::text('pkcs8.pem'),
        ];
    }

    /** The same keys as files. */
    private static function fileOptions(array $change = []): array
    {
        return $change + [
            'client_id' => self::CLIENT_ID,
            'doku_public_key_file' => Keys::dokuDir() . '/doku-public.pem',
            'merchant_private_key_file' => Keys::path('pkcs8.pem'),
        ];
    }

    private static function issue(array $headers, string $body = self::BODY, array $options = []): IssuedToken
    {
        return Snap::issueToken(self::options($options), $headers, $body);
    }

    /** The success answer's expiresIn and its JWT's exp - iat, which must agree; the JWT is checked with the merchant's public key. */
    private function lifetimes(IssuedToken $answer): array
    {
        $this->assertSame(200, $answer->httpStatus, $answer->body);
        $json = $answer->json();
        $this->assertSame('2007300', $json['responseCode']);
        $claims = Snap::validateToken($json['accessToken'], Keys::text('public.pem'));
        $this->assertSame(self::CLIENT_ID, $claims['clientId']);
        return [$json['expiresIn'], $claims['exp'] - $claims['iat']];
    }

    public function testIssuedTokenValidatesWithTheMerchantKey(): void
    {
        $answer = self::issue(self::dokuHeaders(), options: ['ttl_s' => 600]);
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

    /** The options as files (the binding passes the paths, the library reads them), as text, or one of each. */
    public static function keySources(): array
    {
        return [
            'both as files' => [static fn () => self::fileOptions()],
            'both as text' => [static fn () => self::options()],
            'DOKU key as a file, merchant key as text' => [static fn () => self::options(['doku_public_key' => null, 'doku_public_key_file' => Keys::dokuDir() . '/doku-public.pem'])],
            'DOKU key as bare base64, merchant key as PKCS#1' => [static fn () => self::options([
                'doku_public_key' => implode('', array_filter(explode("\n", Keys::dokuText('doku-public.pem')), static fn ($l) => !str_starts_with($l, '-----'))),
                'merchant_private_key' => Keys::text('pkcs1.pem'),
            ])],
            'an encrypted merchant key file with its passphrase' => [static fn () => self::fileOptions([
                'merchant_private_key_file' => Keys::path('encrypted.pem'),
                'merchant_private_key_passphrase' => Keys::PASSPHRASE,
            ])],
            'an encrypted merchant key as text with its passphrase' => [static fn () => self::options([
                'merchant_private_key' => Keys::text('encrypted.pem'),
                'merchant_private_key_passphrase' => Keys::PASSPHRASE,
            ])],
            'null is the default' => [static fn () => self::fileOptions(['ttl_s' => null, 'max_skew_s' => null, 'merchant_private_key_passphrase' => null])],
        ];
    }

    /** @dataProvider keySources */
    public function testKeysAsFilesOrText(\Closure $options): void
    {
        $this->assertSame([900, 900], $this->lifetimes(Snap::issueToken($options(), self::dokuHeaders(), self::BODY)));
        // The same request signed with another key is refused with either source of DOKU's key.
        $refused = Snap::issueToken($options(), self::dokuHeaders(signingKey: Keys::text('pkcs8.pem')), self::BODY);
        $this->assertSame([401, '4017300'], [$refused->httpStatus, $refused->json()['responseCode']]);
    }

    /** @return array<string, array{?int, int}> */
    public static function ttls(): array
    {
        return ['default' => [null, 900], 'one second' => [1, 1], 'ten minutes' => [600, 600], 'a day, the most' => [86400, 86400]];
    }

    /** @dataProvider ttls */
    public function testTtlSetsExpiresInAndTheJwtLifetime(?int $ttl, int $seconds): void
    {
        $change = $ttl === null ? [] : ['ttl_s' => $ttl];
        $this->assertSame([$seconds, $seconds], $this->lifetimes(self::issue(self::dokuHeaders(), options: $change)));
        $this->assertSame([$seconds, $seconds], $this->lifetimes(Snap::issueToken(self::fileOptions($change), self::dokuHeaders(), self::BODY)));
    }

    public function testMaxSkewWidensTheWindow(): void
    {
        $hourOld = self::dokuHeaders(gmdate('Y-m-d\TH:i:s\Z', time() - 3600));
        $refused = self::issue($hourOld);
        $this->assertSame([401, '4017300'], [$refused->httpStatus, $refused->json()['responseCode']]);
        $this->assertStringContainsString('300 s', $refused->json()['responseMessage']);
        $this->assertSame(200, self::issue($hourOld, options: ['max_skew_s' => 7200])->httpStatus);
        $this->assertSame(200, self::issue($hourOld, options: ['max_skew_s' => 86400])->httpStatus);
        // Narrower than the default: a timestamp two minutes old is refused with 60 s.
        $twoMinutesOld = self::dokuHeaders(gmdate('Y-m-d\TH:i:s\Z', time() - 120));
        $this->assertSame(200, self::issue($twoMinutesOld)->httpStatus);
        $narrow = self::issue($twoMinutesOld, options: ['max_skew_s' => 60]);
        $this->assertSame([401, '4017300'], [$narrow->httpStatus, $narrow->json()['responseCode']]);
        $this->assertStringContainsString('60 s', $narrow->json()['responseMessage']);
    }

    public function testAnEmptyOptionsArrayIsAnObjectWithoutClientId(): void
    {
        // [] goes out as {}, not [] ("expected a JSON object"): the library names the missing key.
        $this->assertIssueThrows(static fn () => Snap::issueToken([], self::dokuHeaders(), self::BODY),
            InvalidArgumentException::class, Status::INVALID_ARGUMENT, 'options: client_id is required');
    }

    private const PASSPHRASE_WRONG = 'not-the-passphrase-7431';

    /**
     * Every way issueToken() throws: [the options' changes (a closure, for the key paths),
     * headers' changes, body, class, status, the message's start].
     *
     * @return array<string, array{\Closure(): array, array, string, class-string, int, string}>
     */
    public static function badInputs(): array
    {
        $text = static fn (array $change): \Closure => static fn (): array => self::options($change);
        $files = static fn (array $change): \Closure => static fn (): array => self::fileOptions($change);
        $known = '(known keys: client_id, doku_public_key, doku_public_key_file, merchant_private_key, '
            . 'merchant_private_key_file, merchant_private_key_passphrase, ttl_s, max_skew_s)';
        $invalid = static fn (\Closure $options, string $message, array $headers = [], string $body = self::BODY): array
            => [$options, $headers, $body, InvalidArgumentException::class, Status::INVALID_ARGUMENT, $message];
        $key = static fn (\Closure $options, string $message): array
            => [$options, [], self::BODY, KeyException::class, Status::KEY, $message];
        return [
            // Options the library refuses, naming the key.
            'the old name ttl' => $invalid($text(['ttl' => 600]), "options: unknown key \"ttl\" {$known}"),
            'the old name maxSkew' => $invalid($text(['maxSkew' => 600]), "options: unknown key \"maxSkew\" {$known}"),
            'a camelCase key with a secret value' => $invalid($text(['merchantPrivateKey' => Keys::text('pkcs8.pem')]), "options: unknown key \"merchantPrivateKey\" {$known}"),
            'a list, not a map' => $invalid(static fn () => [self::CLIENT_ID], "options: unknown key \"0\" {$known}"),
            'ttl_s as a string' => $invalid($text(['ttl_s' => '900']), 'options: ttl_s must be a number'),
            'ttl_s as a bool' => $invalid($text(['ttl_s' => true]), 'options: ttl_s must be a number'),
            'ttl_s 0' => $invalid($text(['ttl_s' => 0]), 'options: ttl_s must be an integer ≥ 1'),
            'ttl_s 1.5' => $invalid($text(['ttl_s' => 1.5]), 'options: ttl_s must be an integer ≥ 1'),
            'ttl_s over a day' => $invalid($text(['ttl_s' => 86401]), 'options: ttl_s must be at most 86400'),
            'ttl_s PHP_INT_MAX' => $invalid($text(['ttl_s' => PHP_INT_MAX]), 'options: ttl_s must be at most 86400'),
            'max_skew_s negative' => $invalid($text(['max_skew_s' => -1]), 'options: max_skew_s must be an integer ≥ 1'),
            'max_skew_s over a day' => $invalid($text(['max_skew_s' => 86401]), 'options: max_skew_s must be at most 86400'),
            'max_skew_s as a string' => $invalid($text(['max_skew_s' => '300']), 'options: max_skew_s must be a number'),
            'no client_id' => $invalid($text(['client_id' => null]), 'options: client_id is required'),
            'an empty client_id' => $invalid($text(['client_id' => '']), 'options: client_id is empty'),
            'client_id as a number' => $invalid($text(['client_id' => 7]), 'options: client_id must be a string'),
            'the passphrase as a number' => $invalid($text(['merchant_private_key_passphrase' => 12345678]), 'options: merchant_private_key_passphrase must be a string'),
            'DOKU key as text and file' => $invalid($text(['doku_public_key_file' => Keys::dokuDir() . '/doku-public.pem']), 'options: set doku_public_key or doku_public_key_file, not both'),
            'merchant key as text and file' => $invalid($text(['merchant_private_key_file' => Keys::path('pkcs8.pem')]), 'options: set merchant_private_key or merchant_private_key_file, not both'),
            'no DOKU key' => $invalid($text(['doku_public_key' => null]), 'options: doku_public_key or doku_public_key_file is required'),
            'no merchant key' => $invalid($files(['merchant_private_key_file' => null]), 'options: merchant_private_key or merchant_private_key_file is required'),
            // Options the binding refuses before the call.
            'the passphrase not UTF-8' => $invalid($text(['merchant_private_key_passphrase' => "secret-\xff-phrase"]), 'options cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded'),
            'ttl_s NAN' => $invalid($text(['ttl_s' => NAN]), 'options cannot be encoded as JSON: Inf and NaN cannot be JSON encoded'),
            'NUL in the passphrase' => $invalid($text(['merchant_private_key_passphrase' => "secret\0phrase"]), 'options: merchant_private_key_passphrase contains a NUL byte'),
            'NUL in a key file path' => $invalid($files(['doku_public_key_file' => Keys::dokuDir() . "/doku-public.pem\0.txt"]), 'options: doku_public_key_file contains a NUL byte'),
            // Headers and body.
            'a header value that is not a string' => $invalid($text([]), 'headers_json must be a JSON object of header names to string values', ['X-Client-Key' => 7]),
            'headers not UTF-8' => $invalid($text([]), 'headers cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded', ['X-Client-Key' => "\xff"]),
            'NUL in the body' => $invalid($text([]), 'body contains a NUL byte', [], "{}\0"),
            // Keys.
            'an unreadable DOKU key file' => $key($files(['doku_public_key_file' => '/nonexistent/doku-public.pem']), 'options: doku_public_key_file "/nonexistent/doku-public.pem" cannot be read: No such file or directory'),
            'an unreadable merchant key file' => $key($files(['merchant_private_key_file' => '/nonexistent/merchant.pem']), 'options: merchant_private_key_file "/nonexistent/merchant.pem" cannot be read: No such file or directory'),
            'a directory as the DOKU key file' => $key(static fn () => self::fileOptions(['doku_public_key_file' => Keys::dokuDir()]), 'options: doku_public_key_file "' . Keys::dokuDir() . '" cannot be read: not a regular file'),
            'an unusable DOKU key' => $key($text(['doku_public_key' => 'not a key']), 'options: doku_public_key: the public key is neither PEM'),
            'the merchant key file as DOKU key' => $key($files(['doku_public_key_file' => Keys::path('pkcs8.pem')]), 'options: doku_public_key_file: expected a public key but got a private key'),
            'an EC merchant key file' => $key($files(['merchant_private_key_file' => Keys::path('ec.pem')]), 'options: merchant_private_key_file: not an RSA private key (EC); DOKU needs RSA'),
            'an RSA-1024 DOKU key' => $key($text(['doku_public_key' => Keys::sh('openssl pkey -pubout -in ' . escapeshellarg(Keys::path('rsa1024.pem')))]), 'options: doku_public_key: RSA key of 1024 bits is too short: DOKU requires at least 2048'),
            'an encrypted merchant key without passphrase' => $key($files(['merchant_private_key_file' => Keys::path('encrypted.pem')]), 'options: merchant_private_key_file: the private key is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given'),
            'an encrypted merchant key with a wrong passphrase' => $key(
                $files(['merchant_private_key_file' => Keys::path('encrypted.pem'), 'merchant_private_key_passphrase' => self::PASSPHRASE_WRONG]),
                'options: merchant_private_key_file: cannot decrypt the private key: wrong passphrase or corrupt key',
            ),
            'an encrypted merchant key as text with a wrong passphrase' => $key(
                $text(['merchant_private_key' => Keys::text('encrypted.pem'), 'merchant_private_key_passphrase' => self::PASSPHRASE_WRONG]),
                'options: merchant_private_key: cannot decrypt the private key: wrong passphrase or corrupt key',
            ),
        ];
    }

    /**
     * Exceptions are for bad inputs, whatever the request: each by class, status and message,
     * which never quotes a key or a passphrase.
     *
     * @dataProvider badInputs
     */
    public function testBadInputThrows(\Closure $options, array $headers, string $body, string $class, int $status, string $start): void
    {
        $options = $options();
        $message = $this->assertIssueThrows(
            static fn () => Snap::issueToken($options, $headers + self::dokuHeaders(), $body),
            $class,
            $status,
            $start,
        );
        $secrets = [Keys::PASSPHRASE, self::PASSPHRASE_WRONG, 'secret', Keys::dokuText('doku-public.pem'), Keys::text('pkcs8.pem'), Keys::text('encrypted.pem')];
        foreach ($options as $name => $value) {
            if (is_string($value) && !str_ends_with((string) $name, '_file') && $name !== 'client_id') {
                $secrets[] = $value;
            }
        }
        foreach ($secrets as $secret) {
            // Every line of a PEM, and the whole value: no part of a key may show.
            foreach (array_merge([$secret], explode("\n", $secret)) as $part) {
                if (strlen($part) >= 6) {
                    $this->assertStringNotContainsString($part, $message, 'messages never quote a key or a passphrase');
                }
            }
        }
    }

    /** Asserts that $call throws exactly $class with $status and a message starting with $start; returns the message. */
    private function assertIssueThrows(\Closure $call, string $class, int $status, string $start): string
    {
        try {
            $call();
        } catch (\Throwable $e) {
            $this->assertSame($class, $e::class, $e->getMessage());
            $this->assertSame($status, $e->getCode());
            $this->assertStringStartsWith($start, $e->getMessage());
            return $e->getMessage();
        }
        $this->fail("no {$class}");
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
