<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\Snap;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/** Owned strings and client handles are freed: resident memory stays flat over many calls. */
final class LeakTest extends TestCase
{
    public function testResidentMemoryStaysFlat(): void
    {
        $config = Sandbox::shared()->config('leak');
        $key = Keys::text('pkcs8.pem');
        $warm = new Client($config);
        $round = static function (int $calls) use ($config, $key, $warm): void {
            for ($i = 0; $i < $calls; $i++) {
                // Half of them clients: a leaked handle is ~0.5 KB, 10,000 of them cross the bound.
                match ($i % 4) {
                    0 => Snap::sign('MCH-1', '2024-01-01T00:00:00Z', $key),
                    1 => $warm->getToken(),
                    default => (new Client($config))->__destruct(),
                };
            }
        };
        $round(2_000); // warm-up: caches, allocator arenas
        $before = self::rss();
        $round(20_000);
        $growth = self::rss() - $before;
        $this->assertLessThan(4 << 20, $growth, sprintf('RSS grew by %.1f MB', $growth / (1 << 20)));
    }

    private static function rss(): int
    {
        gc_collect_cycles();
        static $page = null;
        $page ??= (int) shell_exec('getconf PAGESIZE');
        return (int) explode(' ', (string) file_get_contents('/proc/self/statm'))[1] * $page;
    }
}
