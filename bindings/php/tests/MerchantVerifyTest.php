<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Library;
use DokuSnap\MerchantAnswer;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Verdict;
use PHPUnit\Framework\TestCase;

/**
 * DOKU's calls after the token request, against the real library: merchantVerify() judges each
 * one (the token from issueToken(), a signature made with signRequest()), merchantAnswer() and
 * Verdict::answer() build the answer. The library's ledger of X-EXTERNAL-IDs lives as long as
 * the process: every request here has an id of its own.
 */
final class MerchantVerifyTest extends TestCase
{
    private const CLIENT_ID = 'MCH-0008-1296507211683';
    private const SECRET = 'SK-verify-test-secret-5f0c2e';
    private const PAYMENT = '/v1.1/transfer-va/payment';
    private const INQUIRY = '/v1.1/transfer-va/inquiry';
    private const DEBIT = '/v1.0/debit/notify';

    /** A payment notification as DOKU sends it: pretty-printed, non-ASCII, '/' in ids. */
    private const PAYMENT_BODY = <<<'JSON'
        {
          "partnerServiceId": "  888994",
          "customerNo": "00000000000000000001",
          "virtualAccountNo": "  88899400000000000000000001",
          "virtualAccountName": "Budi Śantoso / Toko Kue Ñam",
          "trxId": "INV/2026/0001",
          "paymentRequestId": "PR/0001",
          "paidAmount": {"value": "10000.00", "currency": "IDR"},
          "trxDateTime": "2026-11-28T10:00:00+07:00",
          "additionalInfo": {"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"}
        }
        JSON;
    private const INQUIRY_BODY = <<<'JSON'
        {
          "partnerServiceId": "  888994",
          "customerNo": "00000000000000000001",
          "virtualAccountNo": "  88899400000000000000000001",
          "channelCode": 6011,
          "language": "ID",
          "inquiryRequestId": "IR/0001",
          "additionalInfo": {"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"}
        }
        JSON;
    private const DEBIT_BODY = <<<'JSON'
        {
          "originalPartnerReferenceNo": "ORDER/0001",
          "originalReferenceNo": "DD0001",
          "latestTransactionStatus": "00",
          "transactionStatusDesc": "Success",
          "amount": {"value": "25000.00", "currency": "IDR"},
          "additionalInfo": {"channelId": "DIRECT_DEBIT_BRI"}
        }
        JSON;
    private const BILL = ['virtualAccountName' => 'Budi Śantoso', 'totalAmount' => ['value' => '10000.00', 'currency' => 'IDR']];

    /** The merchant's verify options (its public key as text), then $change. */
    private static function options(array $change = []): array
    {
        return $change + [
            'client_id' => self::CLIENT_ID,
            'client_secret' => self::SECRET,
            'merchant_public_key' => Keys::text('public.pem'),
        ];
    }

    /** A token the merchant issued to DOKU (issueToken(), as the merchant's endpoint does). */
    private static function token(): string
    {
        static $token = null;
        if ($token === null) {
            $ts = Snap::timestamp();
            $headers = ['X-CLIENT-KEY' => self::CLIENT_ID, 'X-TIMESTAMP' => $ts, 'X-SIGNATURE' => Snap::sign(self::CLIENT_ID, $ts, Keys::dokuText('doku-private.pem'))];
            $options = ['client_id' => self::CLIENT_ID, 'doku_public_key' => Keys::dokuText('doku-public.pem'), 'merchant_private_key' => Keys::text('pkcs8.pem')];
            $token = Snap::issueToken($options, $headers, '{"grantType":"client_credentials"}')->json()['accessToken'];
        }
        return $token;
    }

    /** A JWT signed here with the merchant's key, with the claims chosen. */
    private static function jwt(array $claims): string
    {
        $b64 = static fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        $input = $b64('{"alg":"RS256","typ":"JWT"}') . '.' . $b64(json_encode($claims));
        openssl_sign($input, $signature, Keys::text('pkcs8.pem'), OPENSSL_ALGO_SHA256);
        return $input . '.' . $b64($signature);
    }

    /** An X-EXTERNAL-ID not used before in this process: 36 digits. */
    private static function externalId(): string
    {
        static $n = 0;
        static $run = null;
        $run ??= (string) random_int(100_000_000, 999_999_999);
        return $run . str_pad((string) ++$n, 27, '0', STR_PAD_LEFT);
    }

    /**
     * A timestamp of its own for each call (now, with a counter as the fraction of a second), so
     * a signature of its own: the library knows a replay by its signature.
     */
    private static function uniqueTimestamp(): string
    {
        static $n = 0;
        return gmdate('Y-m-d\TH:i:s') . sprintf('.%06dZ', ++$n % 1_000_000);
    }

    /**
     * DOKU's headers for $body at $path, as getallheaders() gives them: signed with $secret over
     * the token and the body, at $timestamp (default: uniqueTimestamp()).
     */
    private static function headers(string $path, string $body, ?string $timestamp = null, string $secret = self::SECRET, ?string $token = null): array
    {
        $timestamp ??= self::uniqueTimestamp();
        $token ??= self::token();
        return [
            'Host' => '127.0.0.1:8000',
            'Content-Type' => 'application/json',
            'Authorization' => "Bearer {$token}",
            'X-Timestamp' => $timestamp,
            'X-Signature' => Snap::signRequest($secret, 'POST', $path, $token, $body, $timestamp),
            'X-Partner-Id' => self::CLIENT_ID,
            'X-External-Id' => self::externalId(),
            'Channel-Id' => '95221',
        ];
    }

    private static function verify(string $path, string $body, ?array $headers = null, array $options = [], string $method = 'POST'): Verdict
    {
        return Snap::merchantVerify(self::options($options), $method, $path, $headers ?? self::headers($path, $body), $body);
    }

    /** @return array<string, array{string, string, string, ?array, string}> */
    public static function calls(): array
    {
        return [
            'VA inquiry' => ['inquiry', self::INQUIRY, self::INQUIRY_BODY, self::BILL, '2002400'],
            'VA payment notification' => ['payment_notification', self::PAYMENT, self::PAYMENT_BODY, null, '2002500'],
            'Direct Debit notification' => ['debit_notification', self::DEBIT, self::DEBIT_BODY, ['approvalCode' => 'AP/01'], '2005600'],
        ];
    }

    /**
     * A genuine call is accepted once, with its body decoded, and answered; the same call again
     * is a replay (409xx00).
     *
     * @dataProvider calls
     */
    public function testAGenuineCallIsAcceptedOnceAndAnswered(string $operation, string $path, string $body, ?array $result, string $success): void
    {
        $headers = self::headers($path, $body);
        $verdict = self::verify($path, $body, $headers);
        $this->assertTrue($verdict->accepted, (string) $verdict->body);
        $this->assertSame($operation, $verdict->operation);
        // The library's copy of the body: the same values, keys in its (alphabetical) order.
        $this->assertEquals(json_decode($body, true), $verdict->request);
        $this->assertSame($headers['X-External-Id'], $verdict->externalId);
        $this->assertSame($headers['X-Timestamp'], $verdict->timestamp);
        $this->assertSame([null, null, null], [$verdict->httpStatus, $verdict->body, $verdict->json()]);

        $answer = Snap::merchantAnswer($operation, $verdict->request, $result);
        $this->assertSame(200, $answer->httpStatus);
        $json = $answer->json();
        $this->assertSame([$success, 'Successful'], [$json['responseCode'], $json['responseMessage']]);
        $this->assertEquals($answer, $verdict->answer($result), 'the same answer from the verdict');
        $data = $json['virtualAccountData'] ?? [];
        if ($operation === 'inquiry') {
            $ids = array_intersect_key($verdict->request, array_flip(['partnerServiceId', 'customerNo', 'virtualAccountNo', 'inquiryRequestId']));
            $this->assertEquals($ids + self::BILL + [
                'virtualAccountTrxType' => 'C',
                'additionalInfo' => $verdict->request['additionalInfo'],
                'inquiryStatus' => '00',
                'inquiryReason' => ['english' => 'Success', 'indonesia' => 'Sukses'],
            ], $data);
        } elseif ($operation === 'payment_notification') {
            $echoed = ['partnerServiceId', 'customerNo', 'virtualAccountNo', 'virtualAccountName', 'paymentRequestId', 'trxId', 'paidAmount', 'additionalInfo'];
            $this->assertEquals(array_intersect_key($verdict->request, array_flip($echoed)), $data);
            // Non-ASCII and '/' as they are, in the body to send.
            $this->assertStringContainsString('"virtualAccountName":"Budi Śantoso / Toko Kue Ñam"', $answer->body);
        } else {
            $this->assertSame('AP/01', $json['approvalCode']);
            $this->assertStringContainsString('"approvalCode":"AP/01"', $answer->body);
        }

        $replay = self::verify($path, $body, $headers);
        $code = '409' . substr($success, 3, 2) . '00';
        $this->assertRefused($replay, 409, $code, 'Conflict. This request was received before (a replay)', $operation);
    }

    public function testThePathMayHaveABasePathAndAQuery(): void
    {
        $path = '/doku/notify' . self::PAYMENT . '?source=doku';
        $verdict = self::verify($path, self::PAYMENT_BODY);
        $this->assertTrue($verdict->accepted, (string) $verdict->body);
        $this->assertSame('payment_notification', $verdict->operation);
        // Signed for another path: refused.
        $headers = self::headers(self::PAYMENT, self::PAYMENT_BODY);
        $this->assertSame('4012500', self::verify($path, self::PAYMENT_BODY, $headers)->json()['responseCode']);
    }

    public function testKeysAndSecretsAsFiles(): void
    {
        $dir = Keys::tempDir('doku-php-verify-');
        file_put_contents("{$dir}/secret", self::SECRET . "\n");
        $options = ['client_secret' => null, 'client_secret_file' => "{$dir}/secret", 'merchant_public_key' => null, 'merchant_public_key_file' => Keys::path('public.pem')];
        $verdict = self::verify(self::PAYMENT, self::PAYMENT_BODY, options: $options);
        $this->assertTrue($verdict->accepted, (string) $verdict->body);
    }

    /**
     * Each way a call can be wrong: [the headers, path, body and method to send (a closure),
     * the options' changes, HTTP status, responseCode, the message (exact, or its start when it
     * ends with "...")].
     *
     * @return array<string, array{\Closure(): array, array, int, string, string}>
     */
    public static function refusals(): array
    {
        $payment = static fn (array $change = [], ?array $headers = null): \Closure => static function () use ($change, $headers): array {
            $headers ??= self::headers(self::PAYMENT, self::PAYMENT_BODY);
            foreach ($change as $name => $value) {
                if ($value === null) {
                    unset($headers[$name]);
                } else {
                    $headers[$name] = $value;
                }
            }
            return [$headers, self::PAYMENT, self::PAYMENT_BODY, 'POST'];
        };
        $signedBody = static fn (string $signed, string $sent, string $path = self::PAYMENT): \Closure
            => static fn (): array => [self::headers($path, $signed), $path, $sent, 'POST'];
        $cases = [];
        $mandatory = ['Authorization', 'X-TIMESTAMP', 'X-SIGNATURE', 'X-PARTNER-ID', 'X-EXTERNAL-ID', 'CHANNEL-ID'];
        foreach (['Authorization', 'X-Timestamp', 'X-Signature', 'X-Partner-Id', 'X-External-Id', 'Channel-Id'] as $i => $name) {
            $cases["no {$name}"] = [$payment([$name => null]), [], 400, '4002502', "Invalid Mandatory Field {$mandatory[$i]}"];
        }
        $hourOld = static fn (): string => gmdate('Y-m-d\TH:i:s\Z', time() - 3600);
        $twoMinutesOld = static fn (): string => gmdate('Y-m-d\TH:i:s\Z', time() - 120);
        return $cases + [
            'a token without Bearer' => [static fn () => $payment(['Authorization' => self::token()])(), [], 400, '4002502', 'Invalid Mandatory Field Authorization'],
            'a malformed X-TIMESTAMP' => [$payment(['X-Timestamp' => 'yesterday']), [], 400, '4002501', 'Invalid Field Format X-TIMESTAMP'],
            'a malformed X-EXTERNAL-ID' => [$payment(['X-External-Id' => '6 6']), [], 400, '4002501', 'Invalid Field Format X-EXTERNAL-ID'],
            'not a JWT' => [$payment(['Authorization' => 'Bearer not-a-jwt']), [], 401, '4012501', 'Invalid Token (B2B): ...'],
            'an expired token' => [
                static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, token: self::jwt(['clientId' => self::CLIENT_ID, 'iat' => time() - 100, 'exp' => time() - 10])), self::PAYMENT, self::PAYMENT_BODY, 'POST'],
                [], 401, '4012501', 'Invalid Token (B2B): JWT rejected: ...',
            ],
            "a token of another issuer's key" => [
                static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, token: self::token()), self::PAYMENT, self::PAYMENT_BODY, 'POST'],
                ['merchant_public_key' => Keys::dokuText('doku-public.pem')], 401, '4012501',
                'Invalid Token (B2B): JWT rejected: signature is invalid: it does not match the message and public key',
            ],
            "a token of another client" => [
                static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, token: self::jwt(['clientId' => 'MCH-OTHER', 'exp' => time() + 60])), self::PAYMENT, self::PAYMENT_BODY, 'POST'],
                [], 401, '4012500', "Unauthorized. X-PARTNER-ID does not match the token's client",
            ],
            'another partner' => [
                static fn () => $payment(['X-Partner-Id' => 'MCH-OTHER'], self::headers(self::PAYMENT, self::PAYMENT_BODY, token: self::jwt(['exp' => time() + 60])))(),
                [], 401, '4012500', "Unauthorized. X-PARTNER-ID is not this merchant's client id",
            ],
            'an hour old' => [static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, $hourOld()), self::PAYMENT, self::PAYMENT_BODY, 'POST'], [], 401, '4012500', 'Unauthorized. ...'],
            'two minutes old, max_skew_s 60' => [
                static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, $twoMinutesOld()), self::PAYMENT, self::PAYMENT_BODY, 'POST'],
                ['max_skew_s' => 60], 401, '4012500', 'Unauthorized. ...',
            ],
            'signed with another secret' => [
                static fn () => [self::headers(self::PAYMENT, self::PAYMENT_BODY, secret: 'SK-not-the-merchants'), self::PAYMENT, self::PAYMENT_BODY, 'POST'],
                [], 401, '4012500', 'Unauthorized. Invalid Signature (expected HMAC-SHA512 over "POST:/v1.1/transfer-va/payment:<access token>:...',
            ],
            'the body changed after signing' => [
                $signedBody(self::PAYMENT_BODY, str_replace('10000.00', '99999.00', self::PAYMENT_BODY)), [], 401, '4012500', 'Unauthorized. Invalid Signature ...',
            ],
            'a body that is not JSON' => [$signedBody(self::PAYMENT_BODY, 'paid=1'), [], 400, '4002500', 'Bad Request. body is not valid JSON ...'],
            'a body that is not UTF-8' => [$signedBody(self::PAYMENT_BODY, "{\"a\":\"\xff\"}"), [], 400, '4002500', 'Bad Request. The body is not UTF-8'],
            'a JSON array' => [$signedBody('[]', '[]'), [], 400, '4002500', 'Bad Request. The body must be a JSON object'],
            'a mandatory field missing' => [$signedBody('{"partnerServiceId":"  888994"}', '{"partnerServiceId":"  888994"}'), [], 400, '4002502', 'Invalid Mandatory Field customerNo'],
            'an inquiry without inquiryRequestId' => [
                $signedBody($b = str_replace('"inquiryRequestId": "IR/0001",', '', self::INQUIRY_BODY), $b, self::INQUIRY), [], 400, '4002402', 'Invalid Mandatory Field inquiryRequestId',
            ],
            'a debit notification signed with another secret' => [
                static fn () => [self::headers(self::DEBIT, self::DEBIT_BODY, secret: 'SK-not-the-merchants'), self::DEBIT, self::DEBIT_BODY, 'POST'],
                [], 401, '4015600', 'Unauthorized. Invalid Signature (expected HMAC-SHA512 over "POST:/v1.0/debit/notify:<access token>:...',
            ],
            'GET' => [static fn () => [self::headers(self::PAYMENT, ''), self::PAYMENT, '', 'GET'], [], 400, '4002500', 'Bad Request. DOKU sends /v1.1/transfer-va/payment with POST'],
            'another path' => [
                static fn () => [self::headers('/v1.0/refund', self::PAYMENT_BODY), '/v1.0/refund', self::PAYMENT_BODY, 'POST'],
                [], 404, '4040000', "Not Found. DOKU's calls to a merchant end /transfer-va/inquiry, /transfer-va/payment, /debit/notify",
            ],
        ];
    }

    /**
     * A refusal is the answer to send, not an exception; it never quotes the token or the secret.
     *
     * @dataProvider refusals
     */
    public function testEachRefusalIsTheAnswerToSend(\Closure $request, array $options, int $status, string $code, string $message): void
    {
        [$headers, $path, $body, $method] = $request();
        $verdict = self::verify($path, $body, $headers, $options, $method);
        $operation = ['24' => 'inquiry', '25' => 'payment_notification', '56' => 'debit_notification', '00' => null][substr($code, 3, 2)];
        $this->assertRefused($verdict, $status, $code, $message, $operation);
        $token = substr((string) ($headers['Authorization'] ?? ''), 7);
        foreach (array_filter([self::SECRET, 'SK-not-the-merchants', $token, ...explode('.', $token)], static fn ($s) => strlen($s) >= 8) as $secret) {
            $this->assertStringNotContainsString($secret, $verdict->body, 'refusals never quote the token or the secret');
        }
    }

    /** Asserts a refusal: status, the body's exact keys, code and message (or its start, for "..."), and no request. */
    private function assertRefused(Verdict $verdict, int $status, string $code, string $message, ?string $operation): void
    {
        $this->assertFalse($verdict->accepted, 'accepted: ' . json_encode($verdict->request));
        $this->assertSame($operation, $verdict->operation);
        $this->assertSame($status, $verdict->httpStatus, (string) $verdict->body);
        $json = $verdict->json();
        $this->assertSame(['responseCode', 'responseMessage'], array_keys($json));
        $this->assertSame($code, $json['responseCode'], $json['responseMessage']);
        if (str_ends_with($message, '...')) {
            $this->assertStringStartsWith(substr($message, 0, -3), $json['responseMessage']);
        } else {
            $this->assertSame($message, $json['responseMessage']);
        }
        $this->assertSame([[], null, null], [$verdict->request, $verdict->externalId, $verdict->timestamp]);
    }

    public function testTheBodyIsPassedWithItsLengthNulBytesIncluded(): void
    {
        // Signed without the NUL, sent with it: read up to the NUL, it would be accepted.
        $verdict = self::verify(self::PAYMENT, self::PAYMENT_BODY . "\0", self::headers(self::PAYMENT, self::PAYMENT_BODY));
        $this->assertRefused($verdict, 400, '4002500', 'Bad Request. body is not valid JSON (trailing characters at line 11 column 2)', 'payment_notification');
        $inside = str_replace('Toko Kue', "Toko\0Kue", self::PAYMENT_BODY);
        $verdict = self::verify(self::PAYMENT, $inside, self::headers(self::PAYMENT, self::PAYMENT_BODY));
        $this->assertRefused($verdict, 400, '4002500', 'Bad Request. body is not valid JSON (control character (\u0000-\u001F) found while parsing a string at line 5 column 45)', 'payment_notification');
    }

    public function testNonAsciiAndEscapesComeAndGoAsTheyAre(): void
    {
        // A NUL as JSON's escape, U+2028, an empty object, 1.0: decoded, then answered as sent.
        $body = str_replace(
            ['"Budi Śantoso / Toko Kue Ñam"', '"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"'],
            ['"Budi\u0000Śantoso\u2028/ Ñam"', '"channel": "VA", "note": {}, "rate": 1.0, "tags": []'],
            self::PAYMENT_BODY,
        );
        $verdict = self::verify(self::PAYMENT, $body);
        $this->assertTrue($verdict->accepted, (string) $verdict->body);
        $this->assertSame("Budi\0Śantoso\u{2028}/ Ñam", $verdict->request['virtualAccountName']);
        $this->assertSame(['channel' => 'VA', 'note' => [], 'rate' => 1.0, 'tags' => []], $verdict->request['additionalInfo']);
        $answer = $verdict->answer();
        $this->assertStringContainsString("\"virtualAccountName\":\"Budi\\u0000Śantoso\u{2028}/ Ñam\"", $answer->body);
        $this->assertStringContainsString('"additionalInfo":{"channel":"VA","note":{},"rate":1.0,"tags":[]}', $answer->body);
        // From the decoded array, PHP's encoding: the empty object went back as [] and 1.0 as 1
        // (see merchantAnswer()).
        $fromArray = Snap::merchantAnswer($verdict->operation, $verdict->request);
        $this->assertStringContainsString('"additionalInfo":{"channel":"VA","note":[],"rate":1,"tags":[]}', $fromArray->body);
    }

    /** The bodies are the library's own bytes, not a re-encoding that differs. */
    public function testTheBodiesAreTheLibrarysBytes(): void
    {
        $request = json_encode(json_decode(str_replace('"trxId"', '"extra": {"e": {}, "f": 2.50, "s": "a\u2029b\u0001"}, "trxId"', self::PAYMENT_BODY)), JSON_UNESCAPED_UNICODE);
        $ffi = Library::ffi();
        foreach (['{}', '{"refuse":"bill_paid"}', '{"refuse":"general_error"}'] as $result) {
            $raw = Library::takeString(static fn ($out) => $ffi->doku_merchant_answer('payment_notification', $request, $result, $out));
            $answer = Snap::answerRequest('payment_notification', $request, json_decode($result, true));
            // The library writes the keys in order: body, httpStatus.
            $this->assertSame($raw, '{"body":' . $answer->body . ',"httpStatus":' . $answer->httpStatus . '}');
        }
        $headers = self::headers(self::PAYMENT, self::PAYMENT_BODY, secret: 'SK-not-the-merchants');
        $raw = Library::takeString(static fn ($out) => $ffi->doku_merchant_verify(
            json_encode(self::options()),
            'POST',
            self::PAYMENT,
            json_encode($headers),
            self::PAYMENT_BODY,
            strlen(self::PAYMENT_BODY),
            $out,
        ));
        $verdict = self::verify(self::PAYMENT, self::PAYMENT_BODY, $headers);
        $this->assertSame($raw, '{"accepted":false,"body":' . $verdict->body . ',"httpStatus":401,"operation":"payment_notification"}');
    }

    /** @return array<string, array{string, string, array, int, string, bool}> */
    public static function chosenRefusals(): array
    {
        $va = [
            'bill_not_found' => [404, '12', 'Invalid Bill/Virtual Account'],
            'invalid_amount' => [404, '13', 'Invalid Amount'],
            'bill_paid' => [404, '14', 'Paid Bill'],
            'bill_expired' => [404, '19', 'Invalid Bill/Virtual Account Expired'],
            'general_error' => [500, '00', 'General Error'],
        ];
        $cases = [];
        foreach (['inquiry' => [self::INQUIRY_BODY, '24'], 'payment_notification' => [self::PAYMENT_BODY, '25']] as $operation => [$body, $service]) {
            foreach ($va as $reason => [$status, $case, $message]) {
                $cases["{$operation}: {$reason}"] = [$operation, $body, ['refuse' => $reason], $status, "{$status}{$service}{$case}", $message];
            }
        }
        $cases['debit_notification: general_error'] = ['debit_notification', self::DEBIT_BODY, ['refuse' => 'general_error'], 500, '5005600', 'General Error'];
        return $cases;
    }

    /**
     * The merchant's own refusals: the status, code and message, and for the VA calls the
     * request's ids echoed.
     *
     * @dataProvider chosenRefusals
     */
    public function testTheMerchantsRefusals(string $operation, string $body, array $result, int $status, string $code, string $message): void
    {
        $request = json_decode($body, true);
        $answer = Snap::merchantAnswer($operation, $request, $result);
        $this->assertSame($status, $answer->httpStatus);
        $json = $answer->json();
        $this->assertSame([$code, $message], [$json['responseCode'], $json['responseMessage']]);
        if ($operation === 'debit_notification') {
            $this->assertSame(['responseCode', 'responseMessage'], array_keys($json));
        } else {
            $this->assertSame($request['virtualAccountNo'], $json['virtualAccountData']['virtualAccountNo']);
            $this->assertSame($request['partnerServiceId'], $json['virtualAccountData']['partnerServiceId']);
        }
    }

    public function testAnEmptyResultIsAnObject(): void
    {
        $request = json_decode(self::PAYMENT_BODY, true);
        $this->assertEquals(Snap::merchantAnswer('payment_notification', $request), Snap::merchantAnswer('payment_notification', $request, []));
        // [] goes out as {}: for an inquiry the library then names what the bill lacks.
        $this->assertThrowsExactly(
            static fn () => Snap::merchantAnswer('inquiry', json_decode(self::INQUIRY_BODY, true), []),
            InvalidArgumentException::class,
            Status::INVALID_ARGUMENT,
            "result_json: virtualAccountName is required (the bill's name)",
        );
    }

    public function testARefusedVerdictHasNoAnswer(): void
    {
        $verdict = self::verify('/v1.0/refund', '{}');
        $this->assertThrowsExactly(
            static fn () => $verdict->answer(),
            InvalidArgumentException::class,
            Status::INVALID_ARGUMENT,
            "a refused call has no answer to build: send the verdict's httpStatus and body",
        );
    }

    /**
     * Every way merchantVerify() throws: [options' changes (a closure), method, path, headers,
     * class, status, the exact message (or its start, for "...")].
     *
     * @return array<string, array{\Closure(): array, string, string, array, class-string, int, string}>
     */
    public static function badVerifyArguments(): array
    {
        $known = '(known keys: client_id, client_secret, client_secret_file, merchant_public_key, merchant_public_key_file, max_skew_s, operation)';
        $invalid = static fn (array|\Closure $change, string $message, string $method = 'POST', string $path = self::PAYMENT, array $headers = []): array
            => [is_array($change) ? static fn () => self::options($change) : $change, $method, $path, $headers, InvalidArgumentException::class, Status::INVALID_ARGUMENT, $message];
        $key = static fn (\Closure $change, string $message): array
            => [$change, 'POST', self::PAYMENT, [], KeyException::class, Status::KEY, $message];
        return [
            'no options' => $invalid(static fn () => [], 'options: client_id is required'),
            'an unknown key' => $invalid(['secret' => self::SECRET], "options: unknown key \"secret\" {$known}"),
            'a list' => $invalid(static fn () => [self::SECRET], "options: unknown key \"0\" {$known}"),
            'an empty client_id' => $invalid(['client_id' => ''], 'options: client_id is empty'),
            'no secret' => $invalid(['client_secret' => null], 'options: client_secret or client_secret_file is required'),
            'an empty secret' => $invalid(['client_secret' => ''], 'options: client_secret is empty'),
            'the secret as a number' => $invalid(['client_secret' => 12345678], 'options: client_secret must be a string'),
            'the secret and its file' => $invalid(['client_secret_file' => '/etc/hostname'], 'options: set client_secret or client_secret_file, not both'),
            // The merchant's own trouble (a secret file being rotated): KeyException, like a key
            // file, so that the merchant answers 500 and DOKU retries.
            'an unreadable secret file' => $key(static fn () => self::options(['client_secret' => null, 'client_secret_file' => '/nonexistent/secret']), 'options: client_secret_file cannot be read: No such file or directory (os error 2)'),
            'a directory as the secret file' => $key(static fn () => self::options(['client_secret' => null, 'client_secret_file' => '/tmp']), 'options: client_secret_file cannot be read: not a regular file'),
            'no public key' => $invalid(['merchant_public_key' => null], 'options: merchant_public_key or merchant_public_key_file is required'),
            'the public key and its file' => $invalid(static fn () => self::options(['merchant_public_key_file' => Keys::path('public.pem')]), 'options: set merchant_public_key or merchant_public_key_file, not both'),
            'max_skew_s 0' => $invalid(['max_skew_s' => 0], 'options: max_skew_s must be an integer ≥ 1'),
            'max_skew_s over an hour' => $invalid(['max_skew_s' => 3601], 'options: max_skew_s must be at most 3600'),
            'an unknown operation' => $invalid(['operation' => 'refund'], 'options: operation must be one of inquiry, payment_notification, debit_notification'),
            'max_skew_s as a string' => $invalid(['max_skew_s' => '300'], 'options: max_skew_s must be a number'),
            'NUL in the secret' => $invalid(['client_secret' => "SK-verify\0secret"], 'options: client_secret contains a NUL byte'),
            'the secret not UTF-8' => $invalid(['client_secret' => "SK-verify-\xff-secret"], 'options cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded'),
            'a header value that is not a string' => $invalid([], 'headers_json must be a JSON object of header names to string values', headers: ['X-Partner-Id' => 7]),
            'headers not UTF-8' => $invalid([], 'headers cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded', headers: ['X-Partner-Id' => "\xff"]),
            'NUL in the path' => $invalid([], 'path contains a NUL byte', path: self::PAYMENT . "\0.php"),
            'NUL in the method' => $invalid([], 'method contains a NUL byte', method: "POST\0"),
            'the path not UTF-8' => $invalid([], 'path is not valid UTF-8', path: self::PAYMENT . "\xff"),
            'the method not UTF-8' => $invalid([], 'method is not valid UTF-8', method: "P\xffOST"),
            'an unusable public key' => $key(static fn () => self::options(['merchant_public_key' => 'not a key']), 'options: merchant_public_key: the public key is neither PEM (-----BEGIN ...) nor base64 of a DER key'),
            'the private key as public key' => $key(static fn () => self::options(['merchant_public_key' => Keys::text('pkcs8.pem')]), 'options: merchant_public_key: expected a public key but got a private key (BEGIN PRIVATE KEY)'),
            'an unreadable public key file' => $key(
                static fn () => self::options(['merchant_public_key' => null, 'merchant_public_key_file' => '/nonexistent/merchant-public.pem']),
                'options: merchant_public_key_file "/nonexistent/merchant-public.pem" cannot be read: No such file or directory (os error 2)',
            ),
        ];
    }

    /**
     * Exceptions are for bad arguments only, whatever the request; they never quote the secret
     * or a key.
     *
     * @dataProvider badVerifyArguments
     */
    public function testBadVerifyArgumentsThrow(\Closure $options, string $method, string $path, array $headers, string $class, int $status, string $message): void
    {
        $options = $options();
        $headers += self::headers(self::PAYMENT, self::PAYMENT_BODY);
        $thrown = $this->assertThrowsExactly(
            static fn () => Snap::merchantVerify($options, $method, $path, $headers, self::PAYMENT_BODY),
            $class,
            $status,
            $message,
        );
        $secrets = [self::SECRET, 'SK-verify', self::token(), ...explode("\n", Keys::text('pkcs8.pem')), ...explode("\n", Keys::text('public.pem'))];
        foreach ($secrets as $secret) {
            if (strlen($secret) >= 8 && !str_starts_with($secret, '-----')) {
                $this->assertStringNotContainsString($secret, $thrown, 'messages never quote the secret, a key or the token');
            }
        }
    }

    /** @return array<string, array{string, array, ?array, string}> */
    public static function badAnswerArguments(): array
    {
        $inquiry = json_decode(self::INQUIRY_BODY, true);
        $payment = json_decode(self::PAYMENT_BODY, true);
        $debit = json_decode(self::DEBIT_BODY, true);
        $bill = static fn (array $change): array => $change + self::BILL;
        $resultKeys = '(known keys: refuse, virtualAccountName, totalAmount, trxId, virtualAccountEmail, virtualAccountPhone, virtualAccountTrxType, expiredDate, additionalInfo)';
        return [
            'an unknown operation' => ['refund', $payment, null, 'operation must be one of inquiry, payment_notification, debit_notification'],
            'an empty operation' => ['', $payment, null, 'operation must be one of inquiry, payment_notification, debit_notification'],
            'NUL in the operation' => ["inquiry\0", $inquiry, self::BILL, 'operation contains a NUL byte'],
            'an empty request' => ['inquiry', [], self::BILL, 'request_json: partnerServiceId is missing (pass the verdict\'s "request" as it is)'],
            "another call's request" => ['debit_notification', $payment, null, 'request_json: originalPartnerReferenceNo is missing (pass the verdict\'s "request" as it is)'],
            'a request not UTF-8' => ['payment_notification', ['customerNo' => "\xff"] + $payment, null, 'request cannot be encoded as JSON: Malformed UTF-8 characters, possibly incorrectly encoded'],
            'an inquiry without a bill' => ['inquiry', $inquiry, null, "result_json: virtualAccountName is required (the bill's name)"],
            'no totalAmount' => ['inquiry', $inquiry, ['virtualAccountName' => 'Budi'], 'result_json: totalAmount is required, e.g. {"value":"10000.00","currency":"IDR"}'],
            'an amount without decimals' => ['inquiry', $inquiry, $bill(['totalAmount' => ['value' => '10000', 'currency' => 'IDR']]), 'result_json: totalAmount: value must be a string of digits with two decimals, e.g. "10000.00"'],
            'an amount as a number' => ['inquiry', $inquiry, $bill(['totalAmount' => ['value' => 10000.0, 'currency' => 'IDR']]), 'result_json: totalAmount: value must be a string of digits with two decimals, e.g. "10000.00"'],
            'a lower-case currency' => ['inquiry', $inquiry, $bill(['totalAmount' => ['value' => '1.00', 'currency' => 'idr']]), 'result_json: totalAmount: currency must be an ISO 4217 code such as "IDR"'],
            'an empty name' => ['inquiry', $inquiry, $bill(['virtualAccountName' => '']), 'result_json: virtualAccountName is empty'],
            'a malformed expiredDate' => ['inquiry', $inquiry, $bill(['expiredDate' => 'tomorrow']), 'result_json: expiredDate must be ISO-8601 with an offset, e.g. 2026-12-31T23:59:59+07:00'],
            'additionalInfo as an empty array' => ['inquiry', $inquiry, $bill(['additionalInfo' => []]), 'result_json: additionalInfo must be an object'],
            'an unknown result key' => ['inquiry', $inquiry, $bill(['surprise' => 1]), "result_json: unknown key \"surprise\" {$resultKeys}"],
            'a result list' => ['inquiry', $inquiry, ['Budi'], "result_json: unknown key \"0\" {$resultKeys}"],
            'a bill in a payment answer' => ['payment_notification', $payment, ['trxId' => 'INV/1'], 'result_json: unknown key "trxId" (known keys: refuse)'],
            'an unknown refusal' => ['inquiry', $inquiry, ['refuse' => 'nope'], 'result_json: refuse must be one of bill_not_found, invalid_amount, bill_paid, bill_expired, general_error for inquiry'],
            'a bill refusal of a debit' => ['debit_notification', $debit, ['refuse' => 'bill_paid'], 'result_json: refuse must be one of general_error for debit_notification'],
            'a refusal with a bill' => ['inquiry', $inquiry, ['refuse' => 'bill_paid', 'trxId' => 'INV/1'], 'result_json: trxId has no place in a refusal'],
            'a result with NAN' => ['inquiry', $inquiry, $bill(['totalAmount' => NAN]), 'result cannot be encoded as JSON: Inf and NaN cannot be JSON encoded'],
        ];
    }

    /** @dataProvider badAnswerArguments */
    public function testBadAnswerArgumentsThrow(string $operation, array $request, ?array $result, string $message): void
    {
        $this->assertThrowsExactly(
            static fn () => Snap::merchantAnswer($operation, $request, $result),
            InvalidArgumentException::class,
            Status::INVALID_ARGUMENT,
            $message,
        );
    }

    public function testJsonOfMerchantAnswer(): void
    {
        $this->assertSame(['a' => 1], (new MerchantAnswer(200, '{"a":1}'))->json());
    }

    /** Asserts that $call throws exactly $class with $status and $message (or its start, for "..."); returns the message. */
    private function assertThrowsExactly(\Closure $call, string $class, int $status, string $message): string
    {
        try {
            $call();
        } catch (\Throwable $e) {
            $this->assertSame($class, $e::class, $e->getMessage());
            $this->assertSame($status, $e->getCode(), $e->getMessage());
            if (str_ends_with($message, '...')) {
                $this->assertStringStartsWith(substr($message, 0, -3), $e->getMessage());
            } else {
                $this->assertSame($message, $e->getMessage());
            }
            return $e->getMessage();
        }
        $this->fail("no {$class}");
    }
}
