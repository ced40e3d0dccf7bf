<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Tests\Support\FastCgi;
use DokuSnap\Tests\Support\Keys;
use DokuSnap\Tests\Support\Sandbox;
use PHPUnit\Framework\TestCase;

/**
 * A real php-fpm pool serving 1,000 requests through FastCGI, each with a new Client that makes a
 * signed call over TLS. One token and one TLS connection serve them all: what a worker shares
 * across requests is the library's process-wide token cache and HTTP agent. Skipped without
 * php-fpm, unless DOKU_REQUIRE_PHP_FPM=1 (as in `make test`).
 */
final class FpmTest extends TestCase
{
    private const PACKAGE = __DIR__ . '/..';
    private const REQUESTS = 1000;

    /** @var resource|null */
    private $fpm = null;
    private string $dir;

    /**
     * How php-fpm is started in production, and what the binding must do there:
     *  - as root (systemd, Debian): PHP refuses FFI::load() in preload.php because preloading
     *    runs as opcache.preload_user, so ffi.preload loads the header from bin/doku-ffi-header;
     *  - as an unprivileged user (containers): preload.php loads the header itself;
     *  - without preloading (ffi.enable=1): FFI::cdef() in every request.
     *
     * @return array<string, array{string, bool}>
     */
    public static function setups(): array
    {
        return [
            'master as root, ffi.preload' => ['fpm-root', true],
            'master unprivileged, preload.php' => ['fpm-user', true],
            'no preloading, ffi.enable=1' => ['fpm-cdef', false],
        ];
    }

    /** @dataProvider setups */
    public function testThousandRequestsThroughPhpFpm(string $setup, bool $preloaded): void
    {
        $root = posix_geteuid() === 0;
        if ($setup === 'fpm-root' && !$root) {
            $this->markTestSkipped('needs root');
        }
        // Its own TLS sandbox, so that its connection count is this pool's alone.
        $sandbox = new Sandbox([$setup], tls: true, secrets: [$setup => 'SK-fpm']);
        $fastcgi = new FastCgi($this->startFpm($setup, $root));
        $params = $this->params($sandbox, 'request.php', $setup);
        $tokens = [];
        for ($i = 0; $i < self::REQUESTS; $i++) {
            $body = $fastcgi->request($params);
            $answer = json_decode($body, true) ?? $this->fail("request {$i}: {$body}");
            $this->assertSame($preloaded, $answer['preloaded']);
            $this->assertSame('{"a":[1,"b c"]}', $answer['minified']);
            $this->assertTrue($answer['signed']);
            $this->assertSame('2002700', $answer['created'], "request {$i}");
            $this->assertSame($root ? 'nobody' : posix_getpwuid(posix_geteuid())['name'], $answer['user']);
            $tokens[$answer['token']] = true;
        }
        $this->assertCount(1, $tokens);
        // pm.max_children = 1: one worker, so one TLS connection for the token and 1,000 calls.
        $this->assertSame(1, $sandbox->connections());
        $this->assertSame(1, $sandbox->tokenRequests($setup));
        $this->assertDoesNotMatchRegularExpression('/WARNING|ERROR|Fatal|Deprecated/i', $this->logs());
    }

    /**
     * Issue 11: a pool of 8 workers, 1,000 requests, each with a new Client. With a shared token
     * store the whole pool makes one token request; without one, each worker that served a
     * request made its own.
     *
     * @return array<string, array{string}>
     */
    public static function stores(): array
    {
        return ['file store' => ['file'], 'Redis' => ['redis'], 'no store' => ['memory']];
    }

    /** @dataProvider stores */
    public function testAPoolOfEightSharesOneTokenThroughTheStore(string $store): void
    {
        $root = posix_geteuid() === 0;
        $id = "fpm-store-{$store}";
        $sandbox = new Sandbox([$id], tls: true, secrets: [$id => 'SK-fpm']);
        // One kept-alive connection per worker: a worker serves its connection's requests.
        $address = $this->startFpm('fpm-cdef', $root, workers: 8);
        $connections = array_map(fn () => new FastCgi($address), range(1, 8));
        $redis = null;
        if ($store === 'redis') {
            $redis = new Support\Redis($this->dir);
            $tokenStore = $redis->url();
        } elseif ($store === 'file') {
            // The workers' own directory (they run as nobody under a root master): 0700, theirs.
            chmod($this->dir, 01777);
            mkdir("{$this->dir}/tokens", 0700);
            if ($root) {
                chown("{$this->dir}/tokens", 'nobody');
            }
            $tokenStore = "file:{$this->dir}/tokens";
        } else {
            $tokenStore = 'memory';
        }
        $params = $this->params($sandbox, 'request.php', $id) + ['DOKU_TOKEN_STORE' => $tokenStore];
        $workers = [];
        for ($i = 0; $i < self::REQUESTS; $i++) {
            $body = $connections[$i % 8]->request($params);
            $answer = json_decode($body, true) ?? $this->fail("request {$i}: {$body}");
            $this->assertSame('2002700', $answer['created'], "request {$i}");
            $workers[$answer['pid']] = true;
        }
        // Every worker served requests: otherwise this would prove nothing about sharing.
        $this->assertCount(8, $workers);
        $this->assertSame($store === 'memory' ? 8 : 1, $sandbox->tokenRequests($id));
        $this->assertDoesNotMatchRegularExpression('/WARNING|ERROR|Fatal|Deprecated/i', $this->logs());
        $redis?->stop();
    }

    /**
     * A PSR-3 logger set in one request is never called from the next one, in the same worker:
     * PHP frees the request's closures at its end, so the library's callback must go first,
     * with the request's Client, or by the shutdown function after a fatal error (destructors do
     * not run then), or, when an earlier shutdown function died too, by the next request's first
     * use of the library (found by review: the worker crashed). A left-over callback would
     * crash the worker (a new pid, a closed connection) or log into a freed closure.
     *
     * @dataProvider setups
     */
    public function testALoggerNeverOutlivesItsRequest(string $setup, bool $preloaded): void
    {
        $root = posix_geteuid() === 0;
        if ($setup === 'fpm-root' && !$root) {
            $this->markTestSkipped('needs root');
        }
        $sandbox = new Sandbox([$setup], tls: true);
        $fastcgi = new FastCgi($this->startFpm($setup, $root));
        $params = $this->params($sandbox, 'logger.php', $setup);
        $pids = [];
        $modes = ['logger', 'none', 'fatal', 'none', 'logger', 'fatal', 'logger', 'none', 'fatal-in-shutdown', 'none', 'logger'];
        foreach ($modes as $i => $mode) {
            try {
                $body = $fastcgi->request($params + ['DOKU_LOG_MODE' => $mode]);
            } catch (\RuntimeException $e) {
                $body = $e->getMessage(); // the error on FastCGI's stderr
            }
            if ($mode === 'fatal' || $mode === 'fatal-in-shutdown') {
                $this->assertStringContainsString('Allowed memory size of 33554432 bytes exhausted', $body, "request {$i}");
                continue;
            }
            $answer = json_decode($body, true) ?? $this->fail("request {$i} ({$mode}): {$body}");
            $this->assertSame($mode === 'logger' ? ['info token_fetched'] : [], $answer['events'], "request {$i} ({$mode})");
            $this->assertSame($mode === 'logger', $answer['installed']);
            $pids[$answer['pid']] = true;
        }
        $this->assertCount(1, $pids, 'one worker served every request: none crashed');
        $this->assertSame(count($modes), $sandbox->tokenRequests($setup));
        $this->assertDoesNotMatchRegularExpression('/SIGSEGV|signal|exited/i', $this->logs());
    }

    /**
     * The FastCGI parameters of a request to tests/fpm/$script for $clientId. The workers may run
     * as nobody: they read the sandbox's CA from the staged directory.
     *
     * @return array<string, string>
     */
    private function params(Sandbox $sandbox, string $script, string $clientId): array
    {
        copy($sandbox->caFile, "{$this->dir}/ca.pem");
        chmod("{$this->dir}/ca.pem", 0644);
        return [
            'GATEWAY_INTERFACE' => 'CGI/1.1',
            'REQUEST_METHOD' => 'GET',
            'SCRIPT_FILENAME' => "{$this->dir}/package/tests/fpm/{$script}",
            'DOKU_CLIENT_ID' => $clientId,
            'DOKU_PRIVATE_KEY' => Keys::text('pkcs8.pem'),
            'DOKU_BASE_URL' => $sandbox->url,
            'DOKU_CA_FILE' => "{$this->dir}/ca.pem",
        ];
    }

    /**
     * Installs the package as a merchant would (with lib/libdoku.so) into $dir: the workers run
     * as nobody and must not depend on reaching the checkout, which may sit under a 0700 dir.
     */
    private static function stagePackage(string $dir): string
    {
        $package = "{$dir}/package";
        mkdir("{$package}/lib", 0755, true);
        mkdir("{$package}/tests", 0755, true);
        $from = escapeshellarg(realpath(self::PACKAGE));
        Keys::sh("cd {$from} && cp -R autoload.php preload.php doku.h src bin " . escapeshellarg($package)
            . ' && cp -R tests/fpm ' . escapeshellarg("{$package}/tests/")
            . ' && cp ' . escapeshellarg(\DokuSnap\Library::path()) . ' ' . escapeshellarg("{$package}/lib/libdoku.so")
            . ' && chmod -R a+rX ' . escapeshellarg($package));
        return $package;
    }

    private function startFpm(string $setup, bool $root, int $workers = 1): string
    {
        $binary = self::fpmBinary();
        $this->dir = $dir = Keys::tempDir('doku-php-fpm-');
        chmod($dir, 0777); // the unprivileged master writes its pid, log and socket here
        $package = self::stagePackage($dir);
        $ini = match ($setup) {
            'fpm-root' => ['ffi.enable=preload', "ffi.preload={$dir}/doku-ffi.h", "opcache.preload={$package}/preload.php", 'opcache.preload_user=nobody'],
            'fpm-user' => ['ffi.enable=preload', "opcache.preload={$package}/preload.php"],
            'fpm-cdef' => ['ffi.enable=1'],
        };
        if ($setup === 'fpm-root') {
            Keys::sh(escapeshellarg("{$package}/bin/doku-ffi-header") . " > {$dir}/doku-ffi.h");
        }
        file_put_contents("{$dir}/php.ini", implode("\n", ['opcache.enable=1', 'display_errors=stderr', 'log_errors=0', ...$ini]) . "\n");
        // Workers run as nobody when the master is root, as the master's user otherwise.
        $user = $root && $setup !== 'fpm-user' ? "user = nobody\n" : '';
        file_put_contents("{$dir}/php-fpm.conf", <<<CONF
            [global]
            pid = {$dir}/php-fpm.pid
            error_log = {$dir}/php-fpm.log
            daemonize = no
            [www]
            {$user}listen = {$dir}/php-fpm.sock
            listen.mode = 0666
            pm = static
            pm.max_children = {$workers}
            catch_workers_output = yes
            CONF);
        $command = [$binary, '--nodaemonize', '--fpm-config', "{$dir}/php-fpm.conf", '-c', "{$dir}/php.ini"];
        if ($setup === 'fpm-user' && $root) {
            $command = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...$command];
        }
        $this->fpm = proc_open($command, [1 => ['file', "{$dir}/stdout", 'w'], 2 => ['file', "{$dir}/stderr", 'w']], $pipes);
        // Up to 10 s: a master preloading the FFI on a busy 2-core machine took over 2 s once.
        for ($i = 0; $i < 500 && !file_exists("{$dir}/php-fpm.sock"); $i++) {
            if (!proc_get_status($this->fpm)['running']) {
                break;
            }
            usleep(20_000);
        }
        if (!file_exists("{$dir}/php-fpm.sock")) {
            $this->fail("php-fpm did not start:\n" . $this->logs());
        }
        return "unix://{$dir}/php-fpm.sock";
    }

    private static function fpmBinary(): string
    {
        $version = PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        foreach ([getenv('PHP_FPM') ?: '', "/usr/sbin/php-fpm{$version}", '/usr/sbin/php-fpm', '/usr/local/sbin/php-fpm'] as $candidate) {
            if ($candidate !== '' && is_executable($candidate)) {
                return $candidate;
            }
        }
        if (getenv('DOKU_REQUIRE_PHP_FPM') === '1') {
            self::fail("php-fpm not found (apt-get install php{$version}-fpm, or set PHP_FPM)");
        }
        self::markTestSkipped('php-fpm is not installed (set DOKU_REQUIRE_PHP_FPM=1 to fail instead)');
    }

    private function logs(): string
    {
        return implode("\n", array_map(fn ($f) => (string) @file_get_contents("{$this->dir}/{$f}"), ['stdout', 'stderr', 'php-fpm.log']));
    }

    protected function tearDown(): void
    {
        if ($this->fpm !== null) {
            proc_terminate($this->fpm); // SIGTERM: the master stops its workers
            proc_close($this->fpm);
            $this->fpm = null;
        }
    }

    protected function onNotSuccessfulTest(\Throwable $t): never
    {
        if (isset($this->dir) && !$t instanceof \PHPUnit\Framework\SkippedTest) {
            fwrite(STDERR, "php-fpm logs:\n" . $this->logs() . "\n");
        }
        throw $t;
    }
}
