<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Client;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/** PHP-FPM's lifecycle in one process: every request builds its own Client and drops it. */
final class LifecycleTest extends TestCase
{
    public function testThousandRequestsCostOneTokenRequest(): void
    {
        $sandbox = Sandbox::shared();
        $tokens = [];
        for ($request = 0; $request < 1000; $request++) {
            $client = new Client($sandbox->config('lifecycle'));
            $tokens[$client->getToken()] = true;
            unset($client); // end of request: __destruct frees the handle, the cache stays
        }
        $this->assertCount(1, $tokens);
        $this->assertSame(1, $sandbox->tokenRequests('lifecycle'));
    }
}
