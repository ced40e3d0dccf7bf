<?php

declare(strict_types=1);

namespace DokuSnap\Tests\Support;

/** A doku-sandbox subprocess on a free loopback port, stopped when the object goes away. */
final class Sandbox
{
    /** Client ids registered with the test key; ids of FAULTS get that fault mode. */
    public const FAULTS = [
        'reset' => 'reset',
        'http500' => 'http500',
        'badjson' => 'badjson',
        'notoken' => 'notoken',
        'huge' => 'huge',
        'error200' => 'error200',
        'slow' => 'delay:3000',
    ];

    private static ?self $shared = null;

    /** @var resource */
    private $process;
    public readonly string $url;
    public readonly ?string $caFile;

    /** Client ids with a client secret (SECRET), for signed transaction requests. */
    public const WITH_SECRET = ['va', 'revoke', 'headers', 'leak', 'b2b2c'];
    public const SECRET = 'SK-php-binding-test-secret';

    /**
     * @param list<string> $clients
     * @param array<string, string> $faults client id => mode
     * @param array<string, string> $secrets client id => client secret
     */
    public function __construct(array $clients, array $faults = [], bool $tls = false, array $secrets = [])
    {
        $binary = getenv('DOKU_SANDBOX') ?: dirname(__DIR__, 4) . '/target/release/doku-sandbox';
        if (!is_executable($binary)) {
            throw new \RuntimeException("no sandbox at {$binary}: run `make build` or set DOKU_SANDBOX");
        }
        $dir = Keys::tempDir('doku-php-sandbox-');
        $command = [$binary, '--listen', '127.0.0.1:0', '--quiet'];
        foreach (array_unique([...$clients, ...array_keys($faults)]) as $id) {
            array_push($command, '--client', $id . '=' . Keys::path('public.pem'));
        }
        foreach ($faults as $id => $mode) {
            array_push($command, '--fault', "{$id}={$mode}");
        }
        foreach ($secrets as $id => $secret) {
            array_push($command, '--secret', "{$id}={$secret}");
        }
        if ($tls) {
            array_push($command, '--tls-dir', "{$dir}/tls");
        }
        $this->process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['file', "{$dir}/stderr", 'w']], $pipes);
        $read = [$pipes[1]];
        $none = [];
        $line = stream_select($read, $none, $none, 10) ? (string) fgets($pipes[1]) : '';
        if (!preg_match('/^listening on (\S+)/', $line, $m)) {
            $this->stop();
            throw new \RuntimeException("the sandbox did not start: {$line}" . file_get_contents("{$dir}/stderr"));
        }
        $this->url = $m[1];
        $this->caFile = $tls ? "{$dir}/tls/ca.pem" : null;
    }

    /** One plain-HTTP sandbox for the whole run, with every fault client registered. */
    public static function shared(): self
    {
        return self::$shared ??= new self(
            ['ok', 'lifecycle', 'invalidate', 'info', ...self::WITH_SECRET],
            self::FAULTS,
            secrets: array_fill_keys(self::WITH_SECRET, self::SECRET),
        );
    }

    /** The core's config for $clientId against this sandbox; the environment's proxies are off. */
    public function config(string $clientId, array $extra = []): array
    {
        return [
            'client_id' => $clientId,
            'private_key_file' => Keys::path('pkcs8.pem'),
            'base_url' => $this->url,
            'proxy' => '',
        ] + ($this->caFile !== null ? ['ca_file' => $this->caFile] : []) + $extra;
    }

    /** The config of a client with SECRET, for signed transaction requests. */
    public function transactionConfig(string $clientId, array $extra = []): array
    {
        return $this->config($clientId, ['client_secret' => self::SECRET, 'channel_id' => 'H2H'] + $extra);
    }

    /** Token requests the sandbox has seen for $clientId. */
    public function tokenRequests(string $clientId): int
    {
        $context = stream_context_create(['ssl' => ['cafile' => $this->caFile]]);
        $stats = json_decode((string) file_get_contents("{$this->url}/sandbox/v1/stats", false, $context), true);
        return $stats['tokenRequests'][$clientId] ?? 0;
    }

    /** Connections the sandbox has accepted, not counting the one this question itself opens. */
    public function connections(): int
    {
        $context = stream_context_create(['ssl' => ['cafile' => $this->caFile]]);
        $stats = json_decode((string) file_get_contents("{$this->url}/sandbox/v1/stats", false, $context), true);
        return $stats['connections'] - 1;
    }

    /** Revokes $clientId's tokens, as DOKU does with a token it no longer honours; returns how many. */
    public function revoke(string $clientId): int
    {
        $context = stream_context_create(['http' => ['method' => 'POST'], 'ssl' => ['cafile' => $this->caFile]]);
        $answer = json_decode((string) file_get_contents("{$this->url}/sandbox/v1/revoke?client=" . rawurlencode($clientId), false, $context), true);
        return $answer['revoked'];
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
    }

    public function __destruct()
    {
        $this->stop();
    }
}
