<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\InvalidArgumentException;
use DokuSnap\Logging;
use DokuSnap\ProtocolException;
use DokuSnap\Status;
use DokuSnap\Tests\Support\MemoryLogger;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/**
 * Client::setLogger() (PSR-3, through Debian's php-psr-log) and Client::stats(), against a
 * sandbox of this test's own: its client ids' token cache entries and counters are this test's.
 */
final class LogTest extends TestCase
{
    private const FETCHED = '/^token fetched from DOKU by this process in \d+\.\d{3} ms, expiresIn 900 s$/';
    private const SECRET = 'SK-php-log-secret';

    private static ?Sandbox $sandbox = null;

    public static function setUpBeforeClass(): void
    {
        self::assertTrue(interface_exists(\Psr\Log\LoggerInterface::class), 'psr/log is missing: apt-get install php-psr-log (make deps)');
        self::$sandbox = new Sandbox(['log', 'log-latest', 'log-throws', 'log-retry'], ['log-fail' => 'http500'], secrets: ['log-retry' => self::SECRET]);
    }

    public static function tearDownAfterClass(): void
    {
        self::$sandbox = null;
    }

    protected function tearDown(): void
    {
        Logging::uninstall();
    }

    public function testAFetchIsLoggedAtInfoAndCountedExactly(): void
    {
        $client = new Client(self::$sandbox->config('log'));
        $this->assertSame(
            ['inProcessHits' => 0, 'storeHits' => 0, 'fetches' => 0, 'fetchFailures' => 0, 'storeErrors' => 0, 'lastFetchMs' => null, 'lastStoreError' => null],
            $client->stats(),
        );
        $logger = new MemoryLogger();
        $client->setLogger($logger);
        $token = $client->getToken();
        $this->assertSame($token, $client->getToken());
        $this->assertSame(['token_fetched'], $logger->events());
        $this->assertSame('info', $logger->records[0]['level']);
        $this->assertMatchesRegularExpression(self::FETCHED, $logger->records[0]['message']);
        $this->assertStringNotContainsString($token, $logger->records[0]['message']);
        $stats = $client->stats();
        $this->assertIsFloat($stats['lastFetchMs']);
        $this->assertGreaterThan(0, $stats['lastFetchMs']);
        unset($stats['lastFetchMs']);
        $this->assertSame(['inProcessHits' => 1, 'storeHits' => 0, 'fetches' => 1, 'fetchFailures' => 0, 'storeErrors' => 0, 'lastStoreError' => null], $stats);
        $this->assertSame(1, self::$sandbox->tokenRequests('log'));
    }

    public function testAFailedFetchIsLoggedAtErrorAndCounted(): void
    {
        $client = new Client(self::$sandbox->config('log-fail'));
        $logger = new MemoryLogger();
        $client->setLogger($logger);
        try {
            $client->getToken();
            $this->fail('no exception');
        } catch (ProtocolException $e) {
            $this->assertStringStartsWith('DOKU answered HTTP 500', $e->getMessage());
        }
        $this->assertSame(['token_fetch_failed'], $logger->events());
        $this->assertSame('error', $logger->records[0]['level']);
        $this->assertMatchesRegularExpression('/^token request failed after \d+\.\d{3} ms: ' . preg_quote($e->getMessage(), '/') . '$/', $logger->records[0]['message']);
        $stats = $client->stats();
        $this->assertSame([0, 0, 1, 0, null], [$stats['inProcessHits'], $stats['fetches'], $stats['fetchFailures'], $stats['storeErrors'], $stats['lastStoreError']]);
    }

    public function testAnInvalidTokenRetryIsLoggedAtWarning(): void
    {
        $client = new Client(self::$sandbox->config('log-retry', ['client_secret' => self::SECRET, 'channel_id' => 'H2H']));
        $client->getToken();
        $this->assertGreaterThanOrEqual(1, self::$sandbox->revoke('log-retry'));
        $logger = new MemoryLogger();
        $client->setLogger($logger);
        $client->request('POST', '/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va', ['trxId' => 'LOG-1']);
        $this->assertSame(['invalid_token_retry', 'token_fetched'], $logger->events());
        $this->assertSame(['warning', 'info'], array_column($logger->records, 'level'));
        $this->assertSame(
            'DOKU refused the token of a POST request (HTTP 401, responseCode 4012701): dropping it and retrying once with a new one',
            $logger->records[0]['message'],
        );
        $this->assertSame(2, $client->stats()['fetches']);
        foreach ($logger->records as $record) {
            $this->assertStringNotContainsString(self::SECRET, $record['message']);
        }
    }

    /** The callback is process-wide: the latest logger of a living Client gets every event. */
    public function testTheLatestLoggerOfALivingClientWins(): void
    {
        $config = self::$sandbox->config('log-latest');
        [$first, $second] = [new MemoryLogger(), new MemoryLogger()];
        $a = new Client($config);
        $b = new Client($config);
        $a->setLogger($first);
        $b->setLogger($second);
        $a->getToken(); // a's call, b's logger: latest wins
        $this->assertSame([[], ['token_fetched']], [$first->events(), $second->events()]);
        unset($b); // b's logger goes with it; a's takes over
        $a->invalidateToken();
        $a->getToken();
        $this->assertSame([['token_fetched'], ['token_fetched']], [$first->events(), $second->events()]);
        $this->assertTrue(Logging::installed());
        $a->setLogger(null); // the last logger: the C callback is removed
        $this->assertFalse(Logging::installed());
        $a->invalidateToken();
        $a->getToken();
        $this->assertSame([['token_fetched'], ['token_fetched']], [$first->events(), $second->events()]);
        // Set again, then the client goes: removed with it.
        $a->setLogger($first);
        $this->assertTrue(Logging::installed());
        unset($a);
        $this->assertFalse(Logging::installed());
        $this->assertSame(3, self::$sandbox->tokenRequests('log-latest'));
    }

    public function testALoggerThatThrowsLosesTheEventNotTheCall(): void
    {
        $client = new Client(self::$sandbox->config('log-throws'));
        $logger = new MemoryLogger(throws: true);
        $client->setLogger($logger);
        $this->assertMatchesRegularExpression('/^eyJ/', $client->getToken());
        $this->assertSame(['token_fetched'], $logger->events());
    }

    public function testAFreedClientTakesNoLogger(): void
    {
        $client = new Client(self::$sandbox->config('log'));
        $client->__destruct();
        try {
            $client->setLogger(new MemoryLogger());
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertSame([Status::NULL_ARGUMENT, 'the client is freed'], [$e->getCode(), $e->getMessage()]);
        }
        $this->assertFalse(Logging::installed());
    }

    /** The levels are the header's DokuLogLevel values, mapped to PSR-3's. */
    public function testLevelsMapTheHeadersEnum(): void
    {
        $header = (string) file_get_contents(__DIR__ . '/../../../include/doku.h');
        $code = preg_replace(['~/\*.*?\*/~s', '~//[^\n]*~'], ' ', $header);
        $this->assertSame(1, preg_match('/typedef\s+enum\s+DokuLogLevel\s*\{(.*?)\}/s', $code, $m));
        preg_match_all('/(DOKU_LOG_\w+)\s*=\s*(\d+)/', $m[1], $entries, PREG_SET_ORDER);
        $levels = [];
        foreach ($entries as [, $name, $value]) {
            $levels[(int) $value] = ['DOKU_LOG_ERROR' => 'error', 'DOKU_LOG_WARN' => 'warning', 'DOKU_LOG_INFO' => 'info', 'DOKU_LOG_DEBUG' => 'debug'][$name] ?? $name;
            $this->assertSame((int) $value, \DokuSnap\Library::ffi()->{$name});
        }
        $this->assertSame($levels, Logging::LEVELS);
    }
}
