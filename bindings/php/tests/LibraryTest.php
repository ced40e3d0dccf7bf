<?php

declare(strict_types=1);

namespace DokuSnap\Tests;

use DokuSnap\Library;
use DokuSnap\LibraryException;
use DokuSnap\Tests\Support\Keys;
use PHPUnit\Framework\TestCase;

/** Library lookup and loading, each case in a fresh PHP process. */
final class LibraryTest extends TestCase
{
    private const BUILT = __DIR__ . '/../../../target/release/libdoku.so';

    private string|false $saved;

    protected function setUp(): void
    {
        $this->saved = getenv('DOKU_LIBRARY', true);
        putenv('DOKU_LIBRARY');
    }

    protected function tearDown(): void
    {
        putenv($this->saved === false ? 'DOKU_LIBRARY' : "DOKU_LIBRARY={$this->saved}");
    }

    public function testDokuLibraryEnvironmentVariableComesFirst(): void
    {
        putenv('DOKU_LIBRARY=' . realpath(self::BUILT));
        $this->assertSame(realpath(self::BUILT), Library::path());
        putenv('DOKU_LIBRARY=/nonexistent/libdoku.so');
        $this->expectException(LibraryException::class);
        $this->expectExceptionMessage('DOKU_LIBRARY is set to /nonexistent/libdoku.so, which is not a file');
        Library::path();
    }

    public function testSourceTreeBuildIsFoundFromTheRepository(): void
    {
        $this->assertSame(realpath(self::BUILT), Library::path());
        $this->assertFalse(Library::isPreloaded());
    }

    public function testHeaderNamesTheAbsoluteLibraryPath(): void
    {
        $header = Library::header();
        $this->assertStringStartsWith("#define FFI_SCOPE \"DOKU\"\n#define FFI_LIB \"" . realpath(self::BUILT) . "\"\n", $header);
        $this->assertStringContainsString('doku_get_token', $header);
        $this->assertStringContainsString("#define FFI_LIB \"libdoku.so\"\n", Library::header('libdoku.so'));
    }

    /**
     * A copy of the package outside the source tree: the package's lib/ directory, then the
     * dynamic loader's search for the SONAME (LD_LIBRARY_PATH here, ld.so.cache after an
     * install), then a
     * LibraryException that says what to do.
     */
    public function testLookupOrderOfAnInstalledPackage(): void
    {
        $package = Keys::tempDir('doku-php-package-');
        foreach (['autoload.php', 'doku.h', 'src'] as $name) {
            Keys::sh('cp -r ' . escapeshellarg(dirname(__DIR__) . "/{$name}") . ' ' . escapeshellarg($package));
        }
        $script = 'require "autoload.php"; try { echo DokuSnap\Library::path(), " ", DokuSnap\Snap::version(); }'
            . ' catch (DokuSnap\LibraryException $e) { echo get_class($e), ": ", $e->getMessage(); }';
        $run = static fn (array $env): string => self::php($package, $script, $env);

        $this->assertStringContainsString(
            'DokuSnap\LibraryException: cannot load libdoku: Failed loading \'libdoku.so.' . Library::ABI . '\'',
            $out = $run(['LD_LIBRARY_PATH' => '']),
        );
        $this->assertStringContainsString('set DOKU_LIBRARY', $out);
        $this->assertStringContainsString("{$package}/lib/", $out);

        // By its SONAME, as the libdoku0.1 package and make install install it.
        $this->assertSame('libdoku.so.' . Library::ABI . ' 0.1.0', $run(['LD_LIBRARY_PATH' => dirname(realpath(self::BUILT))]));

        mkdir("{$package}/lib");
        // A library for another machine (e_machine, bytes 18-19 of the ELF header, says aarch64):
        // the message names what the composer package's library needs.
        $foreign = (string) file_get_contents(self::BUILT);
        file_put_contents("{$package}/lib/libdoku.so", substr_replace($foreign, "\xb7\x00", 18, 2));
        $this->assertStringContainsString(
            "cannot load libdoku: Failed loading '{$package}/lib/libdoku.so'; check that it is libdoku for this platform "
            . "(the composer package's lib/libdoku.so is for Linux x86_64 with glibc 2.34 or later, not musl)",
            $run(['LD_LIBRARY_PATH' => '']),
        );

        copy(self::BUILT, "{$package}/lib/libdoku.so");
        $this->assertSame("{$package}/lib/libdoku.so 0.1.0", $run(['LD_LIBRARY_PATH' => '']));
    }

    /** @return array<string, array{string, bool}> */
    public static function versions(): array
    {
        return [
            'this version' => ['0.1.0', true],
            'a later patch' => ['0.1.17', true],
            'no patch' => ['0.1', true],
            'the next 0.minor' => ['0.2.0', false],
            'an earlier 0.minor' => ['0.0.9', false],
            'a major version' => ['1.1.0', false],
            'a two-digit minor' => ['0.10.0', false],
            'not a version' => ['', false],
        ];
    }

    /**
     * As the Python binding: the same major.minor as Library::ABI, any patch.
     *
     * @dataProvider versions
     */
    public function testVersionCheckAcceptsTheSameMinorOnly(string $version, bool $accepted): void
    {
        try {
            Library::checkVersion($version, '/x/libdoku.so');
            $this->assertTrue($accepted, "{$version} was accepted");
        } catch (LibraryException $e) {
            $this->assertFalse($accepted, "{$version} was refused");
            $this->assertSame("/x/libdoku.so is libdoku {$version}; this binding needs 0.1.x", $e->getMessage());
        }
    }

    /**
     * A library whose doku_version() says 0.2.0 (a shim over the real one) is refused when it is
     * loaded, with a LibraryException naming it, before any other call.
     */
    public function testALibraryOfAnotherMinorVersionIsRefusedAtLoadTime(): void
    {
        $dir = Keys::tempDir('doku-php-version-');
        $release = dirname(realpath(self::BUILT));
        foreach (['0.2.0', '0.1.99'] as $version) {
            file_put_contents("{$dir}/shim.c", "const char *doku_version(void) { return \"{$version}\"; }\n");
            Keys::sh(sprintf(
                'cc -shared -fPIC -o %1$s/libdoku-%2$s.so %1$s/shim.c -L%3$s -Wl,--no-as-needed -ldoku -Wl,-rpath,%3$s',
                escapeshellarg($dir),
                $version,
                escapeshellarg($release),
            ));
        }
        $script = 'require "autoload.php"; try { echo DokuSnap\Snap::version(), " ", strlen(DokuSnap\Snap::timestamp()); }'
            . ' catch (DokuSnap\DokuException $e) { echo get_class($e), ": ", $e->getMessage(); }';
        $package = dirname(__DIR__);
        $this->assertSame(
            "DokuSnap\LibraryException: {$dir}/libdoku-0.2.0.so is libdoku 0.2.0; this binding needs 0.1.x",
            self::php($package, $script, ['DOKU_LIBRARY' => "{$dir}/libdoku-0.2.0.so"]),
        );
        // The shim works as a library: the other functions come from the real one.
        $this->assertSame('0.1.99 20', self::php($package, $script, ['DOKU_LIBRARY' => "{$dir}/libdoku-0.1.99.so"]));
    }

    /** @param array<string, string> $env */
    private static function php(string $cwd, string $code, array $env): string
    {
        $process = proc_open(
            [PHP_BINARY, '-d', 'ffi.enable=1', '-r', $code],
            [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            $cwd,
            $env + ['PATH' => (string) getenv('PATH')],
        );
        $out = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        proc_close($process);
        return $out;
    }
}
