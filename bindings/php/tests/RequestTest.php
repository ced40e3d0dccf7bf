<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\ApiException;
use DokuSnap\Client;
use DokuSnap\InvalidArgumentException;
use DokuSnap\ProtocolException;
use DokuSnap\Response;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/** Signed transaction requests and B2B2C tokens against the sandbox. */
final class RequestTest extends TestCase
{
    private const CREATE_VA = '/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va';

    /** @return array<string, mixed> */
    private static function createVa(string $trxId): array
    {
        return [
            'partnerServiceId' => '  888994',
            'customerNo' => '00000000000000000001',
            'virtualAccountNo' => '  88899400000000000000000001',
            'virtualAccountName' => 'Budi Śantoso / Toko Kue',
            'trxId' => $trxId,
            'totalAmount' => ['value' => '10000.00', 'currency' => 'IDR'],
        ];
    }

    public function testCreateVaWithAnArrayOrAJsonBody(): void
    {
        $client = new Client(Sandbox::shared()->transactionConfig('va'));
        $response = $client->request('POST', self::CREATE_VA, self::createVa('INV/2026/0001'));
        $this->assertSame([200, '2002700'], [$response->httpStatus, $response->responseCode], $response->body);
        $data = $response->json()['virtualAccountData'];
        $this->assertSame('Budi Śantoso / Toko Kue', $data['virtualAccountName']);
        $this->assertSame('INV/2026/0001', $data['trxId']);

        // Pretty-printed text, escaped slashes and all: minified, signed and sent.
        $pretty = json_encode(self::createVa('INV/2026/0002'), JSON_PRETTY_PRINT);
        $response = $client->request('post', self::CREATE_VA, $pretty);
        $this->assertSame([200, '2002700'], [$response->httpStatus, $response->responseCode], $response->body);
        $this->assertSame('INV/2026/0002', $response->json()['virtualAccountData']['trxId']);
    }

    public function testARefusalIsAResponseNotAnException(): void
    {
        $client = new Client(Sandbox::shared()->transactionConfig('va'));
        $body = self::createVa('INV/2026/0003');
        unset($body['trxId']);
        $response = $client->request('POST', self::CREATE_VA, $body);
        $this->assertSame([400, '4002702'], [$response->httpStatus, $response->responseCode]);
        $this->assertSame('Invalid Mandatory Field trxId', $response->json()['responseMessage']);

        $response = $client->request('POST', '/no/such/endpoint');
        $this->assertSame([404, '4040000'], [$response->httpStatus, $response->responseCode]);
    }

    public function testInvalidTokenIsRetriedOnceWithANewToken(): void
    {
        $sandbox = Sandbox::shared();
        $client = new Client($sandbox->transactionConfig('revoke'));
        $this->assertSame('2002700', $client->request('POST', self::CREATE_VA, self::createVa('INV/R/1'))->responseCode);
        $this->assertSame(1, $sandbox->tokenRequests('revoke'));

        $this->assertSame(1, $sandbox->revoke('revoke')); // the sandbox now answers 4012701 to that token
        $response = $client->request('POST', self::CREATE_VA, self::createVa('INV/R/2'));
        $this->assertSame([200, '2002700'], [$response->httpStatus, $response->responseCode], $response->body);
        $this->assertSame(2, $sandbox->tokenRequests('revoke'));
    }

    public function testRequestHeadersSignTheRequest(): void
    {
        $client = new Client(Sandbox::shared()->transactionConfig('headers', ['partner_id' => 'PARTNER-9']));
        $body = json_encode(self::createVa('INV/H/1'), JSON_PRETTY_PRINT);
        $headers = $client->requestHeaders('POST', self::CREATE_VA, $body);
        $this->assertEqualsCanonicalizing(
            ['Authorization', 'X-TIMESTAMP', 'X-SIGNATURE', 'X-PARTNER-ID', 'X-EXTERNAL-ID', 'CHANNEL-ID', 'Content-Type'],
            array_keys($headers),
        );
        $this->assertSame('Bearer ' . $client->getToken(), $headers['Authorization']);
        $this->assertSame('PARTNER-9', $headers['X-PARTNER-ID']);
        $this->assertSame('H2H', $headers['CHANNEL-ID']);
        $this->assertSame('application/json', $headers['Content-Type']);
        $this->assertMatchesRegularExpression('/^\d{36}$/', $headers['X-EXTERNAL-ID']);
        $this->assertLessThanOrEqual(2, abs(strtotime($headers['X-TIMESTAMP']) - time()));
        $this->assertTrue(Snap::verifyRequest(
            Sandbox::SECRET, 'POST', self::CREATE_VA, $headers['Authorization'], Snap::minify($body), $headers['X-TIMESTAMP'], $headers['X-SIGNATURE'],
        ));

        $bodyless = $client->requestHeaders('GET', '/status');
        $this->assertNotSame($headers['X-EXTERNAL-ID'], $bodyless['X-EXTERNAL-ID']);
        $this->assertSame(
            Snap::signRequest(Sandbox::SECRET, 'GET', '/status', $client->getToken(), null, $bodyless['X-TIMESTAMP']),
            $bodyless['X-SIGNATURE'],
        );
    }

    /** @return array<string, array{array<string, string>, string, ?string, string}> */
    public static function invalidRequests(): array
    {
        return [
            'no client_secret' => [['client_secret' => null], '/p', null, 'client_secret'],
            'no channel_id' => [['channel_id' => null], '/p', null, 'channel_id'],
            'body not JSON' => [[], '/p', '{"a":', 'JSON'],
            'NUL in the path' => [[], "/p\0/q", null, 'path contains a NUL byte'],
        ];
    }

    /** @dataProvider invalidRequests */
    public function testInvalidRequestThrows(array $change, string $path, ?string $body, string $fragment): void
    {
        $config = array_filter($change + Sandbox::shared()->transactionConfig('headers'), 'is_string');
        $client = new Client($config);
        foreach ([fn () => $client->requestHeaders('POST', $path, $body), fn () => $client->request('POST', $path, $body)] as $call) {
            try {
                $call();
                $this->fail('no exception');
            } catch (InvalidArgumentException $e) {
                $this->assertSame(Status::INVALID_ARGUMENT, $e->getCode());
                $this->assertStringContainsString($fragment, $e->getMessage());
            }
        }
    }

    public function testAnArrayBodyThatCannotBeEncodedThrows(): void
    {
        $this->expectExceptionObject(new InvalidArgumentException('body cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded', Status::INVALID_ARGUMENT));
        (new Client(Sandbox::shared()->transactionConfig('headers')))->request('POST', self::CREATE_VA, ['name' => "\xff"]);
    }

    public function testB2b2cTokenAndRefresh(): void
    {
        $client = new Client(Sandbox::shared()->config('b2b2c'));
        $token = $client->getTokenB2b2c('auth-code-1234');
        $this->assertEqualsCanonicalizing(['accessToken', 'tokenType', 'accessTokenExpiryTime', 'refreshToken', 'refreshTokenExpiryTime'], array_keys($token));
        $this->assertSame('Bearer', $token['tokenType']);
        $this->assertGreaterThan(time() + 20 * 86400, strtotime($token['refreshTokenExpiryTime']));

        $refreshed = $client->refreshTokenB2b2c($token['refreshToken']);
        $this->assertNotSame($token['accessToken'], $refreshed['accessToken']);
        $this->assertNotSame($client->getTokenB2b2c('auth-code-1234')['accessToken'], $token['accessToken'], 'not cached');
    }

    /** @return array<string, array{string, string}> */
    public static function refusedB2b2c(): array
    {
        return [
            'auth code' => ['getTokenB2b2c', 'invalid-auth-code'],
            'refresh token' => ['refreshTokenB2b2c', 'rt-not-issued-here'],
        ];
    }

    /** @dataProvider refusedB2b2c */
    public function testRefusedB2b2cIsAnApiException(string $method, string $code): void
    {
        try {
            (new Client(Sandbox::shared()->config('b2b2c')))->$method($code);
            $this->fail('no ApiException');
        } catch (ApiException $e) {
            $this->assertSame(Status::API, $e->getCode());
            $this->assertSame('4017401', $e->getResponseCode());
            $this->assertStringNotContainsString($code, $e->getMessage());
        }
    }

    public function testEmptyAuthCodeIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(Status::INVALID_ARGUMENT);
        (new Client(Sandbox::shared()->config('b2b2c')))->getTokenB2b2c('');
    }

    public function testJsonOfAResponseThatIsNotJson(): void
    {
        $response = new Response(500, null, '<html>Internal Server Error</html>');
        $this->expectException(ProtocolException::class);
        $this->expectExceptionCode(Status::PROTOCOL);
        $response->json();
    }
}
