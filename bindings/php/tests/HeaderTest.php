<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\DokuException;
use DokuSnap\Library;
use DokuSnap\Status;
use DokuSnap\UnknownStatusException;
use PHPUnit\Framework\TestCase;

/**
 * The binding against the C header: DokuSnap\Status against include/doku.h's DokuStatus and the
 * FFI object's enum constants (from the binding's own doku.h), both ways; Library::ABI against
 * the header's version.
 */
final class HeaderTest extends TestCase
{
    private const HEADER = __DIR__ . '/../../../include/doku.h';

    /**
     * `typedef enum DokuStatus { NAME = value, ... }` of a header, as [NAME => value].
     *
     * @return array<string, int>
     */
    public static function headerStatuses(string $text): array
    {
        $code = preg_replace(['~/\*.*?\*/~s', '~//[^\n]*~'], ' ', $text);
        self::assertSame(1, preg_match('/typedef\s+enum\s+DokuStatus\s*\{(.*?)\}/s', $code, $m), 'no typedef enum DokuStatus');
        $statuses = [];
        foreach (array_filter(array_map('trim', explode(',', $m[1]))) as $entry) {
            self::assertSame(1, preg_match('/^(\w+)\s*=\s*(-?\d+)$/', $entry, $e), "DokuStatus entry without a value: {$entry}");
            $statuses[$e[1]] = (int) $e[2];
        }
        return $statuses;
    }

    /**
     * Status's constants under their C names: OK is DOKU_OK, KEY is DOKU_ERR_KEY.
     *
     * @return array<string, int>
     */
    public static function bindingStatuses(): array
    {
        $statuses = [];
        foreach ((new \ReflectionClass(Status::class))->getConstants() as $name => $value) {
            $statuses[$name === 'OK' ? 'DOKU_OK' : "DOKU_ERR_{$name}"] = $value;
        }
        return $statuses;
    }

    /**
     * What differs between the header's enum and Status, both ways, and the FFI object's value
     * of every name (null: no such constant).
     *
     * @param array<string, int> $header
     * @param array<string, int> $binding
     * @param \Closure(string): ?int $ffi
     * @return list<string>
     */
    public static function mismatches(array $header, array $binding, \Closure $ffi): array
    {
        $problems = [];
        foreach ($header as $name => $value) {
            if (!array_key_exists($name, $binding)) {
                $problems[] = "{$name} = {$value} is in doku.h but not in DokuSnap\\Status";
            } elseif ($binding[$name] !== $value) {
                $problems[] = "{$name} is {$value} in doku.h but {$binding[$name]} in DokuSnap\\Status";
            }
        }
        foreach ($binding as $name => $value) {
            if (!array_key_exists($name, $header)) {
                $problems[] = "DokuSnap\\Status has {$name} = {$value}, which doku.h does not have";
            }
        }
        foreach ($header + $binding as $name => $value) {
            $loaded = $ffi($name);
            if ($loaded !== $value) {
                $problems[] = "{$name} is " . ($loaded ?? 'missing') . " in the FFI object, {$value} in doku.h or Status";
            }
        }
        return $problems;
    }

    /** The FFI object's enum constant, or null when it has none of that name. */
    private static function ffiConstant(string $name): ?int
    {
        try {
            return Library::ffi()->{$name};
        } catch (\FFI\Exception) {
            return null;
        }
    }

    public function testStatusMatchesTheHeaderAndTheFfiObject(): void
    {
        $header = self::headerStatuses((string) file_get_contents(self::HEADER));
        $this->assertSame(0, $header['DOKU_OK'] ?? null);
        $this->assertGreaterThanOrEqual(10, count($header));
        $this->assertSame([], self::mismatches($header, self::bindingStatuses(), self::ffiConstant(...)));
    }

    /**
     * Each status of the header has an exception of its own in Library::check(): a status added
     * to Status but not to its match would fall through to UnknownStatusException.
     */
    public function testEveryStatusOfTheHeaderHasItsException(): void
    {
        foreach (self::headerStatuses((string) file_get_contents(self::HEADER)) as $name => $value) {
            if ($value === Status::OK) {
                continue;
            }
            try {
                Library::check($value);
                $this->fail("{$name}: no exception");
            } catch (DokuException $e) {
                $this->assertNotInstanceOf(UnknownStatusException::class, $e, $name);
                $this->assertSame($value, $e->getCode(), $name);
            }
        }
    }

    public function testTheBindingsHeaderHasTheSameEnum(): void
    {
        $this->assertSame(
            self::headerStatuses((string) file_get_contents(self::HEADER)),
            self::headerStatuses((string) file_get_contents(__DIR__ . '/../doku.h')),
        );
    }

    /** The checks themselves: each kind of drift is reported, naming the status. */
    public function testEachKindOfDriftIsReported(): void
    {
        $header = self::headerStatuses((string) file_get_contents(self::HEADER));
        $binding = self::bindingStatuses();
        $ffi = self::ffiConstant(...);
        $this->assertSame(
            ['DOKU_ERR_TLS is 70 in doku.h but 7 in DokuSnap\Status', 'DOKU_ERR_TLS is 7 in the FFI object, 70 in doku.h or Status'],
            self::mismatches(['DOKU_ERR_TLS' => 70] + $header, $binding, $ffi),
        );
        $this->assertSame(
            ['DOKU_ERR_RATE_LIMITED = 12 is in doku.h but not in DokuSnap\Status', 'DOKU_ERR_RATE_LIMITED is missing in the FFI object, 12 in doku.h or Status'],
            self::mismatches($header + ['DOKU_ERR_RATE_LIMITED' => 12], $binding, $ffi),
        );
        unset($header['DOKU_ERR_PANIC']);
        $this->assertSame(['DokuSnap\Status has DOKU_ERR_PANIC = 99, which doku.h does not have'], self::mismatches($header, $binding, $ffi));
        $this->assertSame(
            ['DOKU_ERR_KEY is 30 in the FFI object, 3 in doku.h or Status'],
            self::mismatches(self::headerStatuses((string) file_get_contents(self::HEADER)), $binding, static fn (string $name): ?int => $name === 'DOKU_ERR_KEY' ? 30 : self::ffiConstant($name)),
        );
    }

    /** Library::ABI is the header's major.minor: a new minor version makes someone look at the binding. */
    public function testAbiIsTheHeadersVersion(): void
    {
        $header = (string) file_get_contents(self::HEADER);
        $this->assertSame(1, preg_match('/^#define DOKU_VERSION_MAJOR (\d+)$/m', $header, $major));
        $this->assertSame(1, preg_match('/^#define DOKU_VERSION_MINOR (\d+)$/m', $header, $minor));
        $this->assertSame("{$major[1]}.{$minor[1]}", Library::ABI);
    }
}
