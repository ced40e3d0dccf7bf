<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\ApiException;
use DokuSnap\CryptoException;
use DokuSnap\DokuException;
use DokuSnap\InvalidArgumentException;
use DokuSnap\KeyException;
use DokuSnap\Library;
use DokuSnap\LibraryException;
use DokuSnap\NetworkException;
use DokuSnap\OutcomeUnknownException;
use DokuSnap\PanicException;
use DokuSnap\ProtocolException;
use DokuSnap\SignatureInvalidException;
use DokuSnap\Snap;
use DokuSnap\Status;
use DokuSnap\TimeoutException;
use DokuSnap\TlsException;
use DokuSnap\UnknownStatusException;
use PHPUnit\Framework\TestCase;

/** The status → exception mapping of the one error check, including statuses no test can provoke. */
final class StatusTest extends TestCase
{
    /** @return array<string, array{int, class-string<DokuException>, string}> */
    public static function statuses(): array
    {
        return [
            'NULL_ARGUMENT' => [Status::NULL_ARGUMENT, InvalidArgumentException::class, 'DOKU_ERR_NULL_ARGUMENT'],
            'INVALID_ARGUMENT' => [Status::INVALID_ARGUMENT, InvalidArgumentException::class, 'DOKU_ERR_INVALID_ARGUMENT'],
            'KEY' => [Status::KEY, KeyException::class, 'DOKU_ERR_KEY'],
            'CRYPTO' => [Status::CRYPTO, CryptoException::class, 'DOKU_ERR_CRYPTO'],
            'NETWORK' => [Status::NETWORK, NetworkException::class, 'DOKU_ERR_NETWORK'],
            'TIMEOUT' => [Status::TIMEOUT, TimeoutException::class, 'DOKU_ERR_TIMEOUT'],
            'TLS' => [Status::TLS, TlsException::class, 'DOKU_ERR_TLS'],
            'API' => [Status::API, ApiException::class, 'DOKU_ERR_API'],
            'PROTOCOL' => [Status::PROTOCOL, ProtocolException::class, 'DOKU_ERR_PROTOCOL'],
            'SIGNATURE_INVALID' => [Status::SIGNATURE_INVALID, SignatureInvalidException::class, 'DOKU_ERR_SIGNATURE_INVALID'],
            'OUTCOME_UNKNOWN' => [Status::OUTCOME_UNKNOWN, OutcomeUnknownException::class, 'DOKU_ERR_OUTCOME_UNKNOWN'],
            'PANIC' => [Status::PANIC, PanicException::class, 'DOKU_ERR_PANIC'],
            'a status this binding does not know' => [42, UnknownStatusException::class, 'DOKU_UNKNOWN_STATUS'],
        ];
    }

    /**
     * After a successful fallible call doku_last_error() is "", so the message falls back to the
     * status name.
     *
     * @dataProvider statuses
     */
    public function testStatusMapsToItsException(int $status, string $class, string $message): void
    {
        Snap::timestamp();
        try {
            Library::check($status);
            $this->fail('no exception');
        } catch (DokuException $e) {
            $this->assertSame($class, $e::class);
            $this->assertSame($status, $e->getCode());
            $this->assertSame($message, $e->getMessage());
            if ($e instanceof ApiException) {
                $this->assertSame('', $e->getResponseCode());
            }
        }
    }

    /** statuses() covers every status of Status but OK: a status added there is mapped and tested here. */
    public function testEveryStatusIsListed(): void
    {
        $listed = array_column(self::statuses(), 0);
        $this->assertEqualsCanonicalizing(array_values(array_diff((new \ReflectionClass(Status::class))->getConstants(), [Status::OK])), array_diff($listed, [42]));
    }

    /**
     * OutcomeUnknownException is neither a TimeoutException nor a NetworkException, so that a
     * handler retrying those (the README's example) never resends a payment that may have
     * happened.
     */
    public function testOutcomeUnknownIsNoTransientError(): void
    {
        $e = new OutcomeUnknownException('m', Status::OUTCOME_UNKNOWN);
        $this->assertNotInstanceOf(TimeoutException::class, $e);
        $this->assertNotInstanceOf(NetworkException::class, $e);
    }

    public function testOkDoesNotThrow(): void
    {
        Library::check(Status::OK);
        $this->addToAssertionCount(1);
    }

    public function testMessageIsTheLastErrorOfTheFailedCall(): void
    {
        try {
            Snap::sign('MCH-1', '2024-01-01T00:00:00Z', 'not a key');
            $this->fail('no exception');
        } catch (KeyException $e) {
            $this->assertNotSame('DOKU_ERR_KEY', $e->getMessage());
            $this->assertStringNotContainsString('not a key', $e->getMessage(), 'messages never contain key text');
        }
    }

    public function testEveryExceptionIsADokuException(): void
    {
        foreach (glob(dirname(__DIR__) . '/src/*Exception.php') as $file) {
            $this->assertTrue(is_a('DokuSnap\\' . basename($file, '.php'), DokuException::class, true), $file);
        }
    }

    /** @return array<string, array{class-string<DokuException>, class-string<\Exception>}> */
    public static function phpBases(): array
    {
        return [
            'InvalidArgumentException' => [InvalidArgumentException::class, \InvalidArgumentException::class],
            'KeyException' => [KeyException::class, \RuntimeException::class],
            'CryptoException' => [CryptoException::class, \RuntimeException::class],
            'NetworkException' => [NetworkException::class, \RuntimeException::class],
            'TimeoutException' => [TimeoutException::class, \RuntimeException::class],
            'TlsException' => [TlsException::class, \RuntimeException::class],
            'ApiException' => [ApiException::class, \RuntimeException::class],
            'ProtocolException' => [ProtocolException::class, \RuntimeException::class],
            'SignatureInvalidException' => [SignatureInvalidException::class, \RuntimeException::class],
            'OutcomeUnknownException' => [OutcomeUnknownException::class, \RuntimeException::class],
            'PanicException' => [PanicException::class, \RuntimeException::class],
            'LibraryException' => [LibraryException::class, \RuntimeException::class],
            'UnknownStatusException' => [UnknownStatusException::class, \RuntimeException::class],
        ];
    }

    /**
     * Each exception extends PHP's own directly (catch (\InvalidArgumentException) or
     * catch (\RuntimeException) works as for any library), is final, and is a DokuException.
     *
     * @dataProvider phpBases
     */
    public function testEachExceptionExtendsPhpsOwn(string $class, string $base): void
    {
        $reflection = new \ReflectionClass($class);
        $this->assertSame($base, $reflection->getParentClass()->getName());
        $this->assertTrue($reflection->isFinal());
        $this->assertTrue($reflection->implementsInterface(DokuException::class));
        $this->assertTrue((new \ReflectionClass(DokuException::class))->isInterface());
    }

    public function testEveryExceptionClassIsListedWithItsBase(): void
    {
        $classes = array_map(static fn (string $f): string => basename($f, '.php'), glob(dirname(__DIR__) . '/src/*Exception.php'));
        $this->assertEqualsCanonicalizing(array_merge(array_keys(self::phpBases()), ['DokuException']), $classes);
    }
}
