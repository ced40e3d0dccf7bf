#!/usr/bin/env bash
# `make install`: libdoku.so.VERSION with its SONAME and libdoku.so symlinks, libdoku.a, doku.h
# and doku.pc into $DESTDIR$PREFIX (PREFIX defaults to /usr/local). Needs `make build` first;
# scripts/test-install.sh tests it.
set -euo pipefail
cd "$(dirname "$0")/.."
release=target/release
prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}$prefix
lib=$root/lib
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
soname=$(readelf -d "$release/libdoku.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
fail() { echo "install: $*" >&2; exit 1; }
[ -n "$version" ] || fail "no version in Cargo.toml"
[ -n "$soname" ] || fail "$release/libdoku.so has no SONAME"
install -d "$lib/pkgconfig" "$root/include"
install -m 0755 "$release/libdoku.so" "$lib/libdoku.so.$version"
ln -sf "libdoku.so.$version" "$lib/$soname"
ln -sf "$soname" "$lib/libdoku.so"
install -m 0644 "$release/libdoku.a" "$lib/libdoku.a"
install -m 0644 include/doku.h "$root/include/doku.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|\${exec_prefix}/lib|" -e "s|@VERSION@|$version|" bindings/c/doku.pc.in >"$lib/pkgconfig/doku.pc"
echo "installed libdoku $version ($soname) into $root"
