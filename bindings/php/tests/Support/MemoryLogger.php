<?php

declare(strict_types=1);

namespace DokuSnap\Tests\Support;

/** A PSR-3 logger that keeps what it is given, optionally throwing after each record. */
final class MemoryLogger extends \Psr\Log\AbstractLogger
{
    /** @var list<array{level: mixed, message: string, context: array<mixed>}> */
    public array $records = [];

    public function __construct(private readonly bool $throws = false)
    {
    }

    public function log($level, $message, array $context = []): void
    {
        $this->records[] = ['level' => $level, 'message' => (string) $message, 'context' => $context];
        if ($this->throws) {
            throw new \RuntimeException('a logger that throws');
        }
    }

    /** @return list<string> the events, in order */
    public function events(): array
    {
        return array_map(static fn (array $r): string => $r['context']['event'], $this->records);
    }
}
