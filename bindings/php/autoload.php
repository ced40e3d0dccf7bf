<?php

// Autoloader for use without Composer: `require 'path/to/doku-snap/autoload.php';`.
// A closure, not a named function: under opcache.preload this file may run again in every
// request, and redeclaring a preloaded function would be fatal.

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'DokuSnap\\')) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
