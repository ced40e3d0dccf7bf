<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\InvalidArgumentException;
use DokuSnap\Logging;
use DokuSnap\NetworkException;
use DokuSnap\OutcomeUnknownException;
use DokuSnap\Response;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Tests\Support\MemoryLogger;
use DokuSnap\Tests\Support\Sandbox;
use DokuSnap\TimeoutException;
use PHPUnit\Framework\TestCase;

/**
 * The catalog's operations through Client::call() and their named methods, against a sandbox of
 * this test's own over TLS (as tests/operations.rs does for the core): a virtual account's life,
 * Direct Debit from binding to unbinding, the checks made before anything is sent, and a payment
 * whose answer is lost after sending (outcome unknown); then examples/operations.php.
 */
final class OperationsTest extends TestCase
{
    private const IP = ['ipAddress' => '203.0.113.7'];
    private const DEVICE = ['deviceId' => 'device-1'];
    private const CHANNEL = ['channel' => 'DIRECT_DEBIT_ALLO_SNAP'];
    /** Client's public methods that are not operations. */
    private const NOT_OPERATIONS = [
        '__construct', '__destruct', 'getToken', 'tokenInfo', 'setLogger', 'stats', 'invalidateToken',
        'requestHeaders', 'request', 'call', 'getTokenB2b2c', 'refreshTokenB2b2c',
    ];

    private static ?Sandbox $sandbox = null;

    public static function setUpBeforeClass(): void
    {
        $ids = ['ops-va', 'ops-dd', 'ops-check', 'ops-example'];
        // ops-slow: every answer 1.5 s late, token requests included.
        self::$sandbox = new Sandbox($ids, ['ops-slow' => 'delay:1500'], tls: true, secrets: array_fill_keys([...$ids, 'ops-slow'], Sandbox::SECRET));
    }

    public static function tearDownAfterClass(): void
    {
        self::$sandbox = null;
    }

    protected function tearDown(): void
    {
        Logging::uninstall();
    }

    private static function client(string $id, array $extra = []): Client
    {
        return new Client(self::$sandbox->transactionConfig($id, $extra));
    }

    /** A client whose base URL nothing listens on: anything sent would be a NetworkException. */
    private static function nowhere(): Client
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($socket, false);
        fclose($socket);
        return new Client([
            'client_id' => 'ops-nowhere',
            'private_key_file' => Keys::path('pkcs8.pem'),
            'base_url' => "http://{$address}",
            'proxy' => '',
            'client_secret' => Sandbox::SECRET,
            'channel_id' => 'H2H',
        ]);
    }

    /** The answer's body decoded, once its status and code are the expected ones. */
    private function expect(Response $response, int $httpStatus, string $code): array
    {
        $this->assertSame([$httpStatus, $code], [$response->httpStatus, $response->responseCode], $response->body);
        return $response->json();
    }

    private static function va(string $customer, string $trxId, string $value): array
    {
        return [
            'partnerServiceId' => '  888994',
            'customerNo' => $customer,
            'virtualAccountNo' => "  888994{$customer}",
            'virtualAccountName' => 'Śiti Nurhaliza / Toko',
            'trxId' => $trxId,
            'totalAmount' => ['value' => $value, 'currency' => 'IDR'],
            'virtualAccountTrxType' => 'C',
            'additionalInfo' => ['channel' => 'VIRTUAL_ACCOUNT_BANK_CIMB'],
        ];
    }

    private static function vaId(string $customer): array
    {
        return ['partnerServiceId' => '  888994', 'customerNo' => $customer, 'virtualAccountNo' => "  888994{$customer}"];
    }

    private static function binding(string $customer): array
    {
        return ['phoneNo' => '62813941306101', 'additionalInfo' => self::CHANNEL + [
            'custIdMerchant' => $customer,
            'successRegistrationUrl' => 'https://merchant.example/ok',
            'failedRegistrationUrl' => 'https://merchant.example/failed',
        ]];
    }

    private static function camel(string $name): string
    {
        return lcfirst(str_replace('_', '', ucwords($name, '_')));
    }

    public function testTheCatalog(): void
    {
        $operations = Snap::operations();
        $this->assertSame(
            ['create_va', 'update_va', 'delete_va', 'check_status_va', 'account_binding', 'account_unbinding', 'card_registration',
                'card_unbinding', 'payment', 'payment_jump_app', 'refund', 'balance_inquiry', 'check_status'],
            array_column($operations, 'name'),
        );
        $payment = $operations[8];
        unset($payment['fields']);
        $this->assertSame([
            'accepted' => ['deviceId'],
            'method' => 'POST',
            'movesMoney' => true,
            'name' => 'payment',
            'path' => '/direct-debit/core/v1/debit/payment-host-to-host',
            'required' => ['customerToken', 'ipAddress'],
            'service' => '54',
            'statusOperation' => 'check_status',
            'success' => ['2005400'],
        ], $payment);
        $this->assertSame(['mandatory' => true, 'name' => 'partnerServiceId', 'rule' => '8 characters: digits left-padded with spaces, e.g. "  888994"'], $operations[0]['fields'][0]);
        $this->assertSame(['payment', 'payment_jump_app', 'refund'], array_column(array_filter($operations, static fn (array $op): bool => $op['movesMoney']), 'name'));
    }

    /**
     * Every operation has its method (snake_case → camelCase) and every other public method is
     * one of Client's own; each method is documented with its operation's method, path and
     * success codes, and calls its operation: the library's refusal of an empty body (or of
     * missing options) names it, before anything is sent.
     */
    public function testEachOperationHasItsNamedMethodAndViceVersa(): void
    {
        $operations = array_column(Snap::operations(), null, 'name');
        $methods = array_map(
            static fn (\ReflectionMethod $m): string => $m->getName(),
            (new \ReflectionClass(Client::class))->getMethods(\ReflectionMethod::IS_PUBLIC),
        );
        $this->assertEqualsCanonicalizing(array_map(self::camel(...), array_keys($operations)), array_diff($methods, self::NOT_OPERATIONS));

        $client = self::nowhere();
        foreach ($operations as $name => $op) {
            $method = new \ReflectionMethod(Client::class, self::camel($name));
            $doc = preg_replace('/\s+/', ' ', preg_replace('/^\s*\*/m', '', (string) $method->getDocComment()));
            $this->assertMatchesRegularExpression('/^\/\*\* ' . $name . '[: ]/', $doc);
            $this->assertStringContainsString("{$op['method']} {$op['path']}, success " . implode(' or ', $op['success']) . '.', $doc, $name);
            foreach ([...$op['required'], ...$op['accepted']] as $option) {
                $this->assertStringContainsString($option, $doc, "{$name}: {$option}");
            }
            try {
                $client->{self::camel($name)}([]);
                $this->fail("{$name}: no exception");
            } catch (InvalidArgumentException $e) {
                $expected = $op['required'] === []
                    ? "{$name}: body: Invalid Mandatory Field {$op['fields'][0]['name']}"
                    : "{$name}: options: {$op['required'][0]} is required";
                $this->assertStringStartsWith($expected, $e->getMessage());
            }
        }
    }

    public function testAVirtualAccountsLife(): void
    {
        $client = self::client('ops-va');
        $created = $client->createVa(self::va('1001', 'INV/1001', '11500.00'));
        $data = $this->expect($created, 200, '2002700')['virtualAccountData'];
        $this->assertSame(['INV/1001', 'Śiti Nurhaliza / Toko'], [$data['trxId'], $data['virtualAccountName']]);
        $this->assertSame('create_va', $created->operation);
        $this->assertMatchesRegularExpression('/^\d{36}$/', $created->externalId);

        $updated = $client->updateVa(self::va('1001', 'INV/1001', '12000.00'));
        $this->expect($updated, 200, '2002800');
        $this->assertSame('update_va', $updated->operation);
        $this->assertNotSame($created->externalId, $updated->externalId);

        $unpaid = $this->expect($client->checkStatusVa(self::vaId('1001')), 200, '2002600')['virtualAccountData'];
        $this->assertSame(['currency' => 'IDR', 'value' => '0.00'], $unpaid['paidAmount']); // keys as the sandbox writes them
        $this->assertSame('Unpaid', $unpaid['paymentFlagReason']['english']);
        $this->assertSame('12000.00', $unpaid['billDetails'][0]['billAmount']['value']);

        // The customer pays through the sandbox's simulator, a signed request to a path of its own.
        $pay = static fn (array $body): Response => $client->request('POST', '/sandbox/v1/pay-va?client=ops-va', $body);
        $wrong = $this->expect($pay(['virtualAccountNo' => '  8889941001', 'paidAmount' => ['value' => '11500.00', 'currency' => 'IDR']]), 404, '4040013');
        $this->assertStringContainsString('takes exactly 12000.00', $wrong['responseMessage']);
        $paid = $pay(['virtualAccountNo' => '  8889941001']);
        $this->expect($paid, 200, '2000000');
        $this->assertNull($paid->operation, 'request() names no operation');
        $this->assertMatchesRegularExpression('/^\d{36}$/', $paid->externalId);
        $this->expect($pay(['virtualAccountNo' => '  8889941001']), 404, '4040014');

        $status = $this->expect($client->checkStatusVa(self::vaId('1001')), 200, '2002600')['virtualAccountData'];
        $this->assertSame(['currency' => 'IDR', 'value' => '12000.00'], $status['paidAmount']);
        $this->assertSame('Paid', $status['paymentFlagReason']['english']);
        $this->assertSame('Paid Bill', $this->expect($client->updateVa(self::va('1001', 'INV/1001', '1.00')), 404, '4042814')['responseMessage']);
        $this->expect($client->deleteVa(self::vaId('1001')), 404, '4043114');

        // An unpaid one is deleted, after which it is unknown.
        $this->expect($client->createVa(self::va('1002', 'INV/1002', '5000.00')), 200, '2002700');
        $this->assertSame('INV/1002', $this->expect($client->deleteVa(self::vaId('1002')), 200, '2003100')['virtualAccountData']['trxId']);
        $this->expect($client->checkStatusVa(self::vaId('1002')), 404, '4042612');
    }

    public function testOptionsAreSent(): void
    {
        $client = self::client('ops-va');
        // The caller's X-EXTERNAL-ID is sent: a second use the same day is DOKU's 409xx00.
        $id = '20261201000000000000000000000000000';
        $first = $client->checkStatusVa(self::vaId('2001'), ['externalId' => $id, 'headers' => []]);
        $this->assertSame($id, $first->externalId);
        $this->expect($first, 404, '4042612');
        $again = $client->call('check_status_va', self::vaId('2001'), ['externalId' => $id, 'headers' => ['X-LATITUDE' => '-6.2']]);
        $this->assertSame('Conflict. Duplicate X-EXTERNAL-ID', $this->expect($again, 409, '4092600')['responseMessage']);
        // request() sends every option given; null is left out.
        $generated = $client->request('POST', '/orders/v1.0/transfer-va/status', self::vaId('2001'), ['externalId' => null]);
        $this->expect($generated, 404, '4042612');
        $this->assertMatchesRegularExpression('/^\d{36}$/', $generated->externalId);
        $id = '20261201000000000000000000000000001';
        $given = $client->request('POST', '/orders/v1.0/transfer-va/status', self::vaId('2001'), ['externalId' => $id]);
        $this->expect($given, 404, '4042612');
        $this->assertSame($id, $given->externalId);
        $this->expect($client->checkStatusVa(self::vaId('2001'), ['externalId' => $id]), 409, '4092600');
    }

    public function testDirectDebitFromBindingToUnbinding(): void
    {
        $client = self::client('ops-dd');
        $bound = $this->expect($client->accountBinding(self::binding('cust-001'), self::IP + self::DEVICE), 200, '2000700');
        $this->assertStringStartsWith('https://', $bound['redirectUrl']);
        $token = $client->getTokenB2b2c($bound['additionalInfo']['authCode'])['accessToken'];
        $withToken = ['customerToken' => $token] + self::IP;

        $payment = ['partnerReferenceNo' => 'ORDER-1', 'amount' => ['value' => '25000.00', 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL];
        $paid = $client->payment($payment, $withToken);
        $this->assertSame('ORDER-1', $this->expect($paid, 200, '2005400')['partnerReferenceNo']);
        $this->assertSame('payment', $paid->operation);
        $this->expect($client->payment($payment, $withToken), 409, '4095401');
        $status = $this->expect($client->checkStatus(['originalPartnerReferenceNo' => 'ORDER-1', 'serviceCode' => '54']), 200, '2005500');
        $this->assertSame(['00', '25000.00'], [$status['latestTransactionStatus'], $status['transAmount']['value']]);

        $refund = fn (string $no, string $value): Response => $client->refund(
            ['originalPartnerReferenceNo' => 'ORDER-1', 'partnerRefundNo' => $no, 'refundAmount' => ['value' => $value, 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL],
            $withToken,
        );
        $partial = $this->expect($refund('REF-1', '10000.00'), 200, '2000700');
        $this->assertSame(['10000.00', 'REF-1'], [$partial['refundAmount']['value'], $partial['partnerRefundNo']]);
        $this->assertSame('Invalid Amount: 15000.00 is left to refund', $this->expect($refund('REF-2', '15000.01'), 404, '4040713')['responseMessage']);

        // 1,000,000.00 per binding, less the payment, plus the refund.
        $balance = $this->expect($client->balanceInquiry(['additionalInfo' => self::CHANNEL], $withToken), 200, '2001100');
        $this->assertSame('985000.00', $balance['accountInfos'][0]['amount']['value']);

        // Unbinding revokes the customer's token: DOKU refuses it (401xx02), the client does not retry.
        $this->expect($client->accountUnbinding(['tokenId' => $token, 'additionalInfo' => self::CHANNEL], self::IP), 200, '2000500');
        $again = ['partnerReferenceNo' => 'ORDER-2', 'amount' => ['value' => '1.00', 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL];
        $refused = $this->expect($client->payment($again, $withToken), 401, '4015402');
        $this->assertStringStartsWith('Invalid Customer Token: the token was revoked', $refused['responseMessage']);
        $this->assertSame(1, $client->stats()['fetches'], 'a refused customer token is not retried with a new B2B token');
    }

    /** @return array<string, array{string, array<mixed>, array<string, mixed>, string}> */
    public static function refusedBeforeSending(): array
    {
        $va = self::va('12', 'INV/CHECK', '10000.00');
        $payment = ['partnerReferenceNo' => 'P-1', 'amount' => ['value' => '1.00', 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL];
        return [
            'partnerServiceId of 7 characters' => ['create_va', ['partnerServiceId' => ' 888994'] + $va, [],
                'create_va: body: Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. "  888994"; 7 characters given)'],
            'amount without decimals' => ['create_va', ['totalAmount' => ['value' => '10000', 'currency' => 'IDR']] + $va, [],
                'create_va: body: Invalid Field Format totalAmount.value (digits with two decimals, e.g. "10000.00" (at most 16 before the point))'],
            'a mandatory field missing' => ['create_va', array_diff_key($va, ['trxId' => 0]), [], 'create_va: body: Invalid Mandatory Field trxId'],
            'an empty array is {}' => ['create_va', [], [], 'create_va: body: Invalid Mandatory Field partnerServiceId'],
            'payment without customerToken' => ['payment', $payment, self::IP, 'payment: options: customerToken is required (Authorization-Customer)'],
            'payment without ipAddress' => ['payment', $payment, ['customerToken' => 't'], 'payment: options: ipAddress is required (X-IP-ADDRESS)'],
            'an option the operation does not send' => ['create_va', $va, ['customerToken' => 't'], 'create_va: options: customerToken is not sent with this operation'],
            'an unknown option' => ['create_va', $va, ['ip' => '1.2.3.4'],
                'options: unknown key "ip" (known keys: customerToken, ipAddress, deviceId, channelId, externalId, headers)'],
            'headers as a list' => ['create_va', $va, ['headers' => ['X-A: 1']], 'options: headers: "0" is not an X-… header name (letters, digits and \'-\', at most 64 characters)'],
            'a signed header' => ['create_va', $va, ['headers' => ['X-SIGNATURE' => 'forged']],
                'options: headers: X-SIGNATURE may not be set here (the signed headers are the library\'s; use ipAddress, deviceId or externalId)'],
            'a NUL byte in an option' => ['create_va', $va, ['headers' => ['X-A' => "1\0"]], 'options: X-A contains a NUL byte'],
            'an unknown operation' => ['create_vaa', $va, [], 'unknown operation "create_vaa" (known: create_va, update_va, delete_va, check_status_va, '
                . 'account_binding, account_unbinding, card_registration, card_unbinding, payment, payment_jump_app, refund, balance_inquiry, check_status)'],
        ];
    }

    /**
     * Refused before anything is sent, not even a token request: the client's base URL has
     * nothing listening, so sending would be a NetworkException.
     *
     * @dataProvider refusedBeforeSending
     */
    public function testRefusedBeforeSending(string $operation, array $body, array $options, string $message): void
    {
        $this->expectExceptionObject(new InvalidArgumentException($message, Status::INVALID_ARGUMENT));
        self::nowhere()->call($operation, $body, $options);
    }

    /** What the tests above rely on: a call nowhere() lets through does try to send. */
    public function testNowhereFailsToSend(): void
    {
        $this->expectException(NetworkException::class);
        $this->expectExceptionCode(Status::NETWORK);
        self::nowhere()->checkStatus(['originalPartnerReferenceNo' => 'X', 'serviceCode' => '54']);
    }

    /** The sandbox checks bodies by the same rules: the body request() sends unchecked gets the same words. */
    public function testTheSandboxRefusesTheSameBodyInTheSameWords(): void
    {
        $body = ['partnerServiceId' => ' 888994'] + self::va('12', 'INV/CHECK', '10000.00');
        $response = self::client('ops-check')->request('POST', '/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va', $body);
        $this->assertSame(
            'Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. "  888994"; 7 characters given)',
            $this->expect($response, 400, '4002701')['responseMessage'],
        );
    }

    public function testTheCustomerTokenIsNeverInAMessage(): void
    {
        $token = 'customer token with spaces';
        try {
            self::nowhere()->payment(['partnerReferenceNo' => 'P-1'], ['customerToken' => $token] + self::IP);
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertSame("options: customerToken must be the customer's B2B2C access token (visible ASCII, not empty)", $e->getMessage());
        }
    }

    /**
     * A payment whose answer is lost after sending is "outcome unknown", and did happen; the same
     * timeout on an operation that moves no money is a timeout. The hasty client shares the
     * patient one's B2B token (same client id, key and base URL): only its own call is slow.
     */
    public function testALostAnswerToAPaymentIsOutcomeUnknown(): void
    {
        $patient = self::client('ops-slow');
        $hasty = self::client('ops-slow', ['timeout_ms' => 600]);
        $bound = $this->expect($patient->accountBinding(self::binding('cust-slow'), self::IP + self::DEVICE), 200, '2000700');
        $token = $patient->getTokenB2b2c($bound['additionalInfo']['authCode'])['accessToken'];
        $withToken = ['customerToken' => $token] + self::IP;
        $logger = new MemoryLogger();
        $hasty->setLogger($logger);

        $payment = ['partnerReferenceNo' => 'SLOW-1', 'amount' => ['value' => '700.00', 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL];
        try {
            $hasty->payment($payment, $withToken);
            $this->fail('no OutcomeUnknownException');
        } catch (OutcomeUnknownException $e) {
            $this->assertSame(Status::OUTCOME_UNKNOWN, $e->getCode());
            $this->assertStringStartsWith('payment: outcome unknown: timed out waiting for an answer from localhost', $e->getMessage());
            $this->assertStringEndsWith('Do not send it again: call check_status with originalPartnerReferenceNo "SLOW-1" to learn its result', $e->getMessage());
            $this->assertStringNotContainsString($token, $e->getMessage());
            $this->assertSame(['outcome_unknown'], $logger->events());
            $this->assertSame(['error', $e->getMessage()], [$logger->records[0]['level'], $logger->records[0]['message']]);
        }
        // DOKU did act: the status says so.
        $status = $this->expect($patient->checkStatus(['originalPartnerReferenceNo' => 'SLOW-1', 'serviceCode' => '54']), 200, '2005500');
        $this->assertSame('00', $status['latestTransactionStatus']);

        $refund = ['originalPartnerReferenceNo' => 'SLOW-1', 'partnerRefundNo' => 'SLOW-R1', 'refundAmount' => ['value' => '1.00', 'currency' => 'IDR'], 'additionalInfo' => self::CHANNEL];
        try {
            $hasty->refund($refund, $withToken);
            $this->fail('no OutcomeUnknownException');
        } catch (OutcomeUnknownException $e) {
            $this->assertStringContainsString('call check_status with originalPartnerReferenceNo "SLOW-1"', $e->getMessage());
        }
        try {
            $hasty->balanceInquiry(['additionalInfo' => self::CHANNEL], $withToken);
            $this->fail('no TimeoutException');
        } catch (TimeoutException $e) {
            $this->assertSame(Status::TIMEOUT, $e->getCode());
            $this->assertStringStartsWith('timed out waiting for an answer from localhost', $e->getMessage());
        }
        $this->assertSame(['outcome_unknown', 'outcome_unknown'], $logger->events(), 'a timeout moving no money is no outcome_unknown');
    }

    /** examples/operations.php against the sandbox: every step's line, then ok. */
    public function testTheExample(): void
    {
        $env = array_diff_key(getenv(), array_flip(['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy'])) + [
            'DOKU_BASE_URL' => self::$sandbox->url,
            'DOKU_CLIENT_ID' => 'ops-example',
            'DOKU_PRIVATE_KEY_FILE' => Keys::path('pkcs8.pem'),
            'DOKU_CLIENT_SECRET' => Sandbox::SECRET,
            'DOKU_CA_FILE' => self::$sandbox->caFile,
        ];
        $process = proc_open(
            [PHP_BINARY, '-d', 'ffi.enable=1', dirname(__DIR__) . '/examples/operations.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env,
        );
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        $this->assertSame(0, proc_close($process), $stdout . $stderr);
        $this->assertSame('', $stderr);
        $patterns = [
            '/^php: create_va: HTTP 200, 2002700 \(virtual account "  888994\d{10}", 11500\.00 IDR\)$/',
            '/^php: the customer pays \(sandbox\): HTTP 200, 2000000$/',
            '/^php: check_status_va: HTTP 200, 2002600$/',
            '/^php: virtual account: Paid, 11500\.00 IDR$/',
            '/^php: account_binding: HTTP 200, 2000700$/',
            '/^php: customer token: received, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/',
            '/^php: payment: HTTP 200, 2005400 \(ORDER-\d{10}, 25000\.00 IDR\)$/',
            '/^php: refund: HTTP 200, 2000700 \(10000\.00 IDR\)$/',
            '/^php: check_status: HTTP 200, 2005500$/',
            '/^php: payment: latestTransactionStatus 00, refunds 1$/',
            '/^php: operations: ok$/',
        ];
        $lines = explode("\n", rtrim($stdout, "\n"));
        $this->assertCount(count($patterns), $lines, $stdout);
        foreach ($patterns as $i => $pattern) {
            $this->assertMatchesRegularExpression($pattern, $lines[$i]);
        }
    }
    /**
     * tests/fixtures/every-operation.tsv: every operation of the catalog once, through the named
     * methods, as the Rust, C, C++ and Python tests run it through theirs.
     */
    public function testEveryOperationInTheSharedRun(): void
    {
        $lines = file(dirname(__DIR__, 3) . '/tests/fixtures/every-operation.tsv', FILE_IGNORE_NEW_LINES);
        $steps = array_map(static fn (string $line): array => explode("\t", $line), array_values(array_filter($lines, static fn (string $line): bool => !str_starts_with($line, '#'))));
        $named = array_values(array_filter(array_column($steps, 0), static fn (string $op): bool => $op !== 'customer_token'));
        $catalog = array_column(Snap::operations(), 'name');
        sort($named);
        sort($catalog);
        $this->assertSame($catalog, $named, 'each operation once');
        $client = self::client('ops-dd');
        [$n, $authCode, $customer] = [(string) getmypid(), '', ''];
        foreach ($steps as [$operation, $code, $body, $options]) {
            if ($operation === 'customer_token') {
                $customer = $client->getTokenB2b2c($authCode)['accessToken'];
                continue;
            }
            $fill = static fn (string $text): ?string => $text === '-' ? null : str_replace(['{n}', '{customerToken}'], [$n, $customer], $text);
            $method = lcfirst(str_replace('_', '', ucwords($operation, '_')));
            $answer = $this->expect($client->{$method}($fill($body), json_decode($fill($options) ?? '{}', true)), 200, $code);
            $authCode = $answer['additionalInfo']['authCode'] ?? $authCode;
        }
    }
    /**
     * Regression (review): with zend.exception_ignore_args off (PHP without a php.ini, or
     * php.ini-development), a dumped exception's trace held the arguments: the customer token,
     * an unbinding's tokenId, the client secret.
     */
    public function testDumpedExceptionsHoldNoSecret(): void
    {
        $previous = ini_set('zend.exception_ignore_args', '0');
        try {
            $token = 'eyJhbGciOiJSUzI1NiJ9.customer-token-in-a-trace.c2ln';
            // What print_r($e) shows of the binding's own frames (the test's frames hold the
            // secrets as the test wrote them).
            $dump = static function (\Throwable $e): string {
                $frames = array_filter($e->getTrace(), static fn (array $f): bool => str_starts_with($f['class'] ?? '', 'DokuSnap\\')
                    && !str_starts_with($f['class'], 'DokuSnap\\Tests'));
                return print_r(array_column($frames, 'args'), true);
            };
            $dumps = [];
            try {
                self::nowhere()->payment(['partnerReferenceNo' => 'P-1', 'amount' => ['value' => '1.00', 'currency' => 'IDR'],
                    'additionalInfo' => self::CHANNEL], ['customerToken' => $token] + self::IP);
            } catch (NetworkException $e) {
                $dumps['payment'] = $dump($e);
            }
            try {
                self::nowhere()->accountUnbinding(['tokenId' => $token, 'additionalInfo' => self::CHANNEL], self::IP);
            } catch (NetworkException $e) {
                $dumps['accountUnbinding'] = $dump($e);
            }
            try {
                new Client(['client_id' => 'x', 'private_key' => 'not a key', 'client_secret' => Sandbox::SECRET]);
            } catch (\DokuSnap\KeyException $e) {
                $dumps['new Client'] = $dump($e);
            }
            $this->assertSame(['payment', 'accountUnbinding', 'new Client'], array_keys($dumps));
            foreach ($dumps as $call => $text) {
                $this->assertStringContainsString('SensitiveParameterValue', $text, "$call: the trace keeps its arguments, secrets hidden");
                $this->assertFalse(str_contains($text, 'customer-token-in-a-trace'), "$call: the customer token is in the trace");
                $this->assertFalse(str_contains($text, Sandbox::SECRET), "$call: the client secret is in the trace");
            }
        } finally {
            ini_set('zend.exception_ignore_args', $previous === false ? '1' : $previous);
        }
    }
}
