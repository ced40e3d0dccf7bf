#!/usr/bin/env bash
# `make dist`, the composer part: dist/doku-snap-doku-snap-<VERSION>.zip, the composer package
# doku-snap/doku-snap (bindings/php without its tests) with lib/libdoku.so, a stripped copy of LIB,
# where DokuSnap\Library::path() finds it with no configuration. LIB must be self-contained
# (OpenSSL built in): the package cannot depend on a system libssl. The archive has composer.json at
# its root, as `composer archive` makes it. Reproducible:
# sorted entries, fixed modes and mtimes (SOURCE_DATE_EPOCH, else the last commit's date), UTC.
# scripts/test-composer.sh installs and checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "dist-composer: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: $0 path/to/libdoku.so (self-contained: OpenSSL built in)"
lib=$1
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[[ $version =~ ^([0-9]+)\.([0-9]+)\. ]] || fail "no version in Cargo.toml's [package]"
abi=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
[ -f "$lib" ] || fail "$lib: no such file (make dist builds it: cargo build --release --lib --features vendored-openssl --target-dir target/vendored)"
soname=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p') || true
[ "$soname" = "libdoku.so.$abi" ] || fail "$lib is not libdoku of this ABI: its SONAME is '${soname:-none}', not libdoku.so.$abi"
command -v php >/dev/null || fail "php is needed to rewrite composer.json"

work=target/dist/composer
archive=dist/doku-snap-doku-snap-$version.zip
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}
[ -n "$epoch" ] || fail "not a git checkout: set SOURCE_DATE_EPOCH for the archive's mtimes"
rm -rf "$work" && mkdir -p "$work/pkg/lib" "$work/pkg/bin" "$work/pkg/src" "$work/pkg/examples" dist
pkg=$work/pkg
php=bindings/php

# The package's composer.json: a version, since a path or artifact repository has no tag to take
# it from, and no autoload-dev, since tests/ is not shipped.
# shellcheck disable=SC2016 # PHP code: its $ are PHP's
php -r '
    $c = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
    unset($c["autoload-dev"]);
    $c = array_slice($c, 0, 2, true) + ["version" => $argv[2]] + $c;
    echo json_encode($c, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
' "$php/composer.json" "$version" >"$pkg/composer.json"

install -m 0644 "$php"/src/*.php "$pkg/src/"
install -m 0644 "$php/doku.h" "$php/autoload.php" "$php/preload.php" "$php/README.md" LICENSE-MIT LICENSE-APACHE "$pkg/"
install -m 0755 "$php/bin/doku-ffi-header" "$pkg/bin/"
# The examples need only ../autoload.php, so they run from the package (test-composer.sh runs each).
install -m 0644 "$php"/examples/*.php "$pkg/examples/"
install -m 0644 "$lib" "$pkg/lib/libdoku.so"
strip --strip-unneeded "$pkg/lib/libdoku.so"

# Files 0644, bin/ 0755, directories 0755, whatever the umask; one mtime for every entry.
find "$pkg" -type f -exec chmod 0644 {} +
find "$pkg/bin" -type f -exec chmod 0755 {} +
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -exec touch -h -d "@$epoch" {} +
rm -f "$archive"
# -X: no uid/gid or extended-time fields; -D: no directory entries. zip stores local time: TZ=UTC.
(cd "$pkg" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | TZ=UTC zip -q -X -D -9 "$OLDPWD/$archive" -@)
echo "$archive"
