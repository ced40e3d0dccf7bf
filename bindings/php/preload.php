<?php

// opcache.preload script for PHP-FPM (see README.md, "PHP-FPM and preloading"):
//   opcache.preload=/path/to/doku-snap/preload.php
//   ffi.enable=preload
// It compiles the DokuSnap classes into shared memory (with ffi.enable=preload only preloaded
// code may call the FFI API) and defines the FFI scope "DOKU" once, in the master process:
// every request then gets it from FFI::scope("DOKU"), without parsing the header or dlopen().

declare(strict_types=1);

require __DIR__ . '/autoload.php';

foreach (glob(__DIR__ . '/src/*.php') as $file) {
    class_exists('DokuSnap\\' . basename($file, '.php'));
}

DokuSnap\Library::preload();
