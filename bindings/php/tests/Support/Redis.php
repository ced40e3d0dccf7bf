<?php

declare(strict_types=1);

namespace DokuSnap\Tests\Support;

/**
 * A real redis-server on a free loopback port, with a password, started by the test (make deps
 * installs it) and stopped by stop() or at exit.
 */
final class Redis
{
    public const PASSWORD = 'php-redis-pässword';

    /** @var resource */
    private $process;
    public readonly int $port;

    public function __construct(string $dir)
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $this->port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);
        $command = ['redis-server', '--port', (string) $this->port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
            '--requirepass', self::PASSWORD, '--dir', $dir, '--logfile', "{$dir}/redis.log"];
        $this->process = proc_open($command, [1 => ['file', '/dev/null', 'w']], $pipes);
        register_shutdown_function(fn () => $this->stop());
        for ($i = 0; $i < 500 && $this->cli('PING') !== 'PONG'; $i++) {
            usleep(20_000);
        }
        if ($this->cli('PING') !== 'PONG') {
            throw new \RuntimeException('redis-server did not start: ' . @file_get_contents("{$dir}/redis.log"));
        }
    }

    public function url(): string
    {
        return 'redis://:' . rawurlencode(self::PASSWORD) . "@127.0.0.1:{$this->port}";
    }

    public function cli(string ...$args): string
    {
        $command = ['redis-cli', '-h', '127.0.0.1', '-p', (string) $this->port, '--no-auth-warning', '-a', self::PASSWORD, ...$args];
        $p = proc_open($command, [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        $out = stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        proc_close($p);
        return trim((string) $out);
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process, 9);
            proc_close($this->process);
        }
    }
}
