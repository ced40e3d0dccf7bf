<?php

declare(strict_types=1);

namespace DokuSnap\Tests\Support;

/** A minimal FastCGI client (responder role, one kept-alive connection), to talk to php-fpm. */
final class FastCgi
{
    private const BEGIN_REQUEST = 1;
    private const END_REQUEST = 3;
    private const PARAMS = 4;
    private const STDIN = 5;
    private const STDOUT = 6;
    private const STDERR = 7;

    /** @var resource */
    private $socket;

    public function __construct(string $address)
    {
        $this->socket = stream_socket_client($address, $errno, $error, 5)
            ?: throw new \RuntimeException("cannot connect to {$address}: {$error}");
        stream_set_timeout($this->socket, 10);
    }

    /**
     * Runs one request and returns its body (what the script printed, headers removed).
     *
     * @param array<string, string> $params CGI/1.1 variables, $_SERVER in the script
     */
    public function request(array $params): string
    {
        $this->write(self::BEGIN_REQUEST, pack('nCx5', 1, 1)); // role RESPONDER, flags KEEP_CONN
        $encoded = '';
        foreach ($params as $name => $value) {
            $encoded .= self::length(strlen($name)) . self::length(strlen($value)) . $name . $value;
        }
        $this->write(self::PARAMS, $encoded);
        $this->write(self::PARAMS, '');
        $this->write(self::STDIN, '');
        $stdout = $stderr = '';
        while (true) {
            ['type' => $type, 'length' => $length, 'padding' => $padding] = unpack('Cversion/Ctype/nid/nlength/Cpadding', $this->read(8));
            $content = substr($this->read($length + $padding), 0, $length);
            match ($type) {
                self::STDOUT => $stdout .= $content,
                self::STDERR => $stderr .= $content,
                self::END_REQUEST => null,
            };
            if ($type === self::END_REQUEST) {
                break;
            }
        }
        if ($stderr !== '') {
            throw new \RuntimeException("php-fpm: {$stderr}");
        }
        return explode("\r\n\r\n", $stdout, 2)[1] ?? $stdout;
    }

    private function write(int $type, string $content): void
    {
        fwrite($this->socket, pack('CCnnCx', 1, $type, 1, strlen($content), 0) . $content);
    }

    private function read(int $length): string
    {
        $data = '';
        while (strlen($data) < $length) {
            $chunk = fread($this->socket, $length - strlen($data));
            if ($chunk === false || $chunk === '') {
                throw new \RuntimeException('php-fpm closed the connection or timed out');
            }
            $data .= $chunk;
        }
        return $data;
    }

    private static function length(int $length): string
    {
        return $length < 128 ? chr($length) : pack('N', $length | 0x80000000);
    }
}
