#!/usr/bin/env bash
# The composer package of `make dist`, as a PHP user gets it: `composer install` in a new project,
# from a path repository holding the unzipped archive, packagist off (and composer's network off).
# From that project, outside this tree, with DOKU_LIBRARY unset: a token from a TLS sandbox and a
# signature that openssl agrees with, without preloading and with it as bindings/php/README.md
# says (as root: opcache.preload_user and ffi.preload from vendor/bin/doku-ffi-header; and as an
# unprivileged user: preload.php alone); the library loaded is the package's lib/libdoku.so (with no
# NEEDED libssl/libcrypto); a missing DOKU_LIBRARY is
# an error; the shipped examples run; composer validate --strict finds nothing but the version field.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022 # an unprivileged user must read the installed package
# shellcheck source=scripts/sandbox.sh
. scripts/sandbox.sh
name=doku-snap-doku-snap-$version.zip
archive=$repo/dist/$name
[ -f "$archive" ] || fail "no dist/$name: run make dist"
for tool in composer php unzip openssl readelf; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs it)"
done
size=$(stat -c %s "$archive")
chmod 0755 "$tmp" # mktemp's 0700 would hide everything from the unprivileged run

# Composer, kept away from this machine's composer home and cache, as root without asking, offline.
export COMPOSER_HOME=$tmp/composer-home COMPOSER_CACHE_DIR=$tmp/composer-cache COMPOSER_ALLOW_SUPERUSER=1
export COMPOSER_NO_INTERACTION=1 COMPOSER_DISABLE_NETWORK=1
unzip -q "$archive" -d "$tmp/package"
# --strict: a warning fails too. --no-check-version: its one warning is the version field, which a
# path or artifact repository needs (it is no warning for a package not published on packagist).
out=$(composer validate --strict --no-check-version "$tmp/package/composer.json" 2>&1) ||
    fail "composer validate of the packaged composer.json: $out"

project=$tmp/project
mkdir "$project"
cat >"$project/composer.json" <<EOF
{
    "name": "doku-snap-test/project",
    "require": {"doku-snap/doku-snap": "$version"},
    "repositories": [
        {"type": "path", "url": "$tmp/package", "options": {"symlink": false}},
        {"packagist.org": false}
    ]
}
EOF
cd "$project"
out=$(composer install --no-interaction --no-progress 2>&1) || fail "composer install: $out"
if grep -i warning <<<"$out" >/dev/null; then fail "composer install warns: $out"; fi
package=$project/vendor/doku-snap/doku-snap
if [ ! -d "$package" ] || [ -L "$package" ]; then fail "composer did not copy the package to $package: $out"; fi
for unwanted in tests phpunit.xml; do
    [ ! -e "$package/$unwanted" ] || fail "the package ships $unwanted"
done
if grep -q autoload-dev "$package/composer.json"; then fail "the package's composer.json has autoload-dev"; fi
lib=$(realpath "$package/lib/libdoku.so" 2>/dev/null) || lib=$package/lib/libdoku.so

# The sandbox, with TLS, a throwaway key (readable by the unprivileged run) and a client secret.
throwaway_key
chmod 0644 "$tmp/key.pem"
start_sandbox --tls-dir "$tmp/tls" --client packaged="$tmp/public.pem" --secret packaged=packaged-secret
export DOKU_BASE_URL=$url DOKU_CA_FILE=$tmp/tls/ca.pem DOKU_CLIENT_ID=packaged DOKU_PRIVATE_KEY_FILE=$tmp/key.pem
export DOKU_PUBLIC_KEY_FILE=$tmp/public.pem DOKU_CLIENT_SECRET=packaged-secret
unset DOKU_LIBRARY LD_LIBRARY_PATH

# What a user's script does, plus what it cannot see for itself: the libdoku files mapped into it.
cat >"$project/check.php" <<'EOF'
<?php
declare(strict_types=1);
require __DIR__ . '/vendor/autoload.php';
use DokuSnap\{Client, Library, Snap};

$env = static fn (string $name): string => (string) getenv($name) ?: throw new RuntimeException("set {$name}");
$client = new Client([
    'client_id' => $env('DOKU_CLIENT_ID'),
    'private_key_file' => $env('DOKU_PRIVATE_KEY_FILE'),
    'base_url' => $env('DOKU_BASE_URL'),
    'ca_file' => $env('DOKU_CA_FILE'),
]);
$token = $client->getToken();
$ts = Snap::timestamp();
$sig = Snap::sign($env('DOKU_CLIENT_ID'), $ts, file_get_contents($env('DOKU_PRIVATE_KEY_FILE')));
$public = file_get_contents($env('DOKU_PUBLIC_KEY_FILE'));
$body = '{"a":1}';
$hmac = Snap::signRequest('secret', 'POST', '/v1/x', 'token', $body, $ts);
preg_match_all('#\S*libdoku\S*#', file_get_contents('/proc/self/maps'), $mapped);
$yes = static fn (bool $b): string => $b ? 'yes' : 'no';
echo implode("\n", [
    'installed version: ' . Composer\InstalledVersions::getPrettyVersion('doku-snap/doku-snap'),
    'library version: ' . Snap::version(),
    'preloaded: ' . $yes(Library::isPreloaded()),
    'path: ' . Library::path(),
    'mapped: ' . implode(' ', array_unique($mapped[0])),
    'token: ' . substr($token, 0, 3) . ', ' . count(explode('.', $token)) . ' parts',
    "timestamp: {$ts}",
    "signature: {$sig}",
    'verifies: ' . $yes(Snap::verify($env('DOKU_CLIENT_ID'), $ts, $sig, $public)),
    'verifies another timestamp: ' . $yes(Snap::verify($env('DOKU_CLIENT_ID'), $ts . ' ', $sig, $public)),
    "request signature: {$hmac}",
    'request verifies: ' . $yes(Snap::verifyRequest('secret', 'POST', '/v1/x', 'token', $body, $ts, $hmac)),
    'request verifies another body: ' . $yes(Snap::verifyRequest('secret', 'POST', '/v1/x', 'token', '{"a":2}', $ts, $hmac)),
]), "\n";
EOF

# check RUN_NAME COMMAND...: runs check.php and compares every line with what it must be. The
# signatures are openssl's: SHA256withRSA (PKCS#1 v1.5, deterministic) over "client|timestamp",
# and HMAC-SHA512 over "POST:/v1/x:token:<sha256 hex of the body>:timestamp".
check() {
    local run=$1 preloaded=$2 out ts expected
    shift 2
    out=$("$@" "$project/check.php" 2>&1) || fail "$run: check.php failed: $out"
    ts=$(sed -n 's/^timestamp: //p' <<<"$out")
    [ -n "$ts" ] || fail "$run: no timestamp in: $out"
    expected="installed version: $version
library version: $version
preloaded: $preloaded
path: $lib
mapped: $lib
token: eyJ, 3 parts
timestamp: $ts
signature: $(printf '%s' "packaged|$ts" | openssl dgst -sha256 -sign "$tmp/key.pem" | base64 -w0)
verifies: yes
verifies another timestamp: no
request signature: $(printf '%s' "POST:/v1/x:token:$(printf '%s' '{"a":1}' | sha256sum | cut -d' ' -f1):$ts" |
        openssl dgst -sha512 -hmac secret -binary | base64 -w0)
request verifies: yes
request verifies another body: no"
    [ "$out" = "$expected" ] || fail "$run: check.php printed (< got, > expected):
$(diff <(echo "$out") <(echo "$expected") || true)"
}

# a. FFI without preloading.
check "ffi.enable=1" no php -d ffi.enable=1
runs="a token over TLS without preloading"
# b. Preloading, as README.md's "PHP-FPM and preloading" says. Root: PHP needs opcache.preload_user,
# under which FFI::load() is refused, so the header comes from ffi.preload, written by the
# package's bin/doku-ffi-header (composer's vendor/bin proxy) with the absolute library path.
preload=(-d opcache.enable=1 -d opcache.enable_cli=1 -d "opcache.preload=$package/preload.php" -d ffi.enable=preload)
if [ "$(id -u)" = 0 ]; then
    id -u www-data >/dev/null 2>&1 || fail "no user www-data to preload as"
    php vendor/bin/doku-ffi-header >"$tmp/doku-ffi.h" || fail "vendor/bin/doku-ffi-header failed"
    grep -qxF "#define FFI_LIB \"$lib\"" "$tmp/doku-ffi.h" || fail "doku-ffi-header's FFI_LIB is not $lib: $(head -3 "$tmp/doku-ffi.h")"
    check "preloaded as root" yes php "${preload[@]}" -d opcache.preload_user=www-data -d "ffi.preload=$tmp/doku-ffi.h"
    # The unprivileged master's setup: preload.php alone (FFI::load()), here as www-data.
    check "preloaded as www-data" yes runuser -u www-data -- php "${preload[@]}"
    runs="$runs, with preloading as root (ffi.preload) and as www-data (preload.php)"
else
    check "preloaded" yes php "${preload[@]}"
    runs="$runs, with preloading (preload.php; not root, so not the root setup)"
fi

# c. The packaged library: self-contained, or this is not the archive make dist ships.
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ')
case "$needed" in
    *libssl* | *libcrypto*) fail "lib/libdoku.so is not self-contained: NEEDED $needed" ;;
esac
# The wheel's library, byte for byte: scripts/test-wheel.sh checks how its OpenSSL finds the
# system's CA certificates, and ignores /usr/local/ssl and configuration files.
wheel=$(ls "$repo"/dist/doku_snap-"$version"-py3-none-manylinux*.whl)
unzip -q -o "$wheel" doku_snap/libdoku.so -d "$tmp/wheel"
cmp -s "$lib" "$tmp/wheel/doku_snap/libdoku.so" || fail "lib/libdoku.so is not the wheel's doku_snap/libdoku.so"

# d. DOKU_LIBRARY still wins, and a wrong one is an error, not a fallback to the packaged library.
missing=$tmp/missing/libdoku.so
if out=$(DOKU_LIBRARY=$missing php -d ffi.enable=1 "$project/check.php" 2>&1); then
    fail "DOKU_LIBRARY=$missing: check.php succeeded: $out"
fi
grep -qF "DOKU_LIBRARY is set to $missing, which is not a file" <<<"$out" || fail "DOKU_LIBRARY=$missing: not the binding's message: $out"

# The shipped examples, from the installed package: demo.php, operations.php, and merchant.php
# under php -S with the sandbox playing DOKU (a token request, an inquiry, two notifications).
examples=$package/examples
out=$(php -d ffi.enable=1 "$examples/demo.php" 2>&1) || fail "examples/demo.php: $out"
case "$out" in "php: got token eyJ"*"(expires in 9"*) ;; *) fail "examples/demo.php: $out" ;; esac
out=$(php -d ffi.enable=1 "$examples/operations.php" 2>&1) || fail "examples/operations.php: $out"
[ "$(tail -1 <<<"$out")" = "php: operations: ok" ] || fail "examples/operations.php: $out"
port=$(php -r 'echo explode(":", stream_socket_get_name(stream_socket_server("tcp://127.0.0.1:0"), false))[1];')
DOKU_PUBLIC_KEY_FILE=$tmp/doku/doku-public.pem MERCHANT_CLIENT_ID=notified MERCHANT_CLIENT_SECRET=notified-secret \
    MERCHANT_PRIVATE_KEY_FILE=$tmp/key.pem MERCHANT_PUBLIC_KEY_FILE=$tmp/public.pem \
    php -d ffi.enable=1 -S "127.0.0.1:$port" "$examples/merchant.php" >"$tmp/merchant.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
out=$(timeout 60 "$repo/target/release/doku-sandbox" --listen 127.0.0.1:0 --quiet --doku-key-dir "$tmp/doku" \
    --secret notified=notified-secret --notify-client notified --notify "http://127.0.0.1:$port" \
    --inquire --notify-debit --notify-exit 2>&1) || fail "examples/merchant.php: $out
php -S log: $(cat "$tmp/merchant.log")"
grep -q '^notify: ok ' <<<"$out" || fail "examples/merchant.php: $out"

echo "dist: $name ($size bytes): composer install from a path repository (packagist off), composer validate --strict --no-check-version clean; $runs; the package's lib/libdoku.so loaded, self-contained (NEEDED $needed) and the wheel's; a wrong DOKU_LIBRARY refused; signatures as openssl's; examples demo, operations and merchant run from vendor/"
