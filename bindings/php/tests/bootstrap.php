<?php

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'DokuSnap\\Tests\\')) {
        require __DIR__ . '/' . str_replace('\\', '/', substr($class, 15)) . '.php';
    }
});

// psr/log for Client::setLogger()'s tests: Debian's php-psr-log (make deps installs it). The
// package itself requires none.
if (!interface_exists(\Psr\Log\LoggerInterface::class) && is_file('/usr/share/php/Psr/Log/autoload.php')) {
    require '/usr/share/php/Psr/Log/autoload.php';
}
