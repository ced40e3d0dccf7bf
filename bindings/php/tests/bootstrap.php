<?php

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'DokuSnap\\Tests\\')) {
        require __DIR__ . '/' . str_replace('\\', '/', substr($class, 15)) . '.php';
    }
});
