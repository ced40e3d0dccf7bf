#!/usr/bin/env bash
# `make install PREFIX=…` into a temporary prefix, then the C example built only with what
# pkg-config says, linked against the installed shared library and, separately, the static one;
# both get a token from a sandbox. Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/sandbox.sh
. scripts/sandbox.sh
make -s install PREFIX="$tmp/prefix" >/dev/null
lib=$tmp/prefix/lib
soname=$(readelf -d "$lib/libdoku.so.$version" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || fail "libdoku.so.$version has no SONAME"
for link in libdoku.so "$soname"; do [ -L "$lib/$link" ] || fail "no $link symlink"; done
[ -f "$lib/libdoku.a" ] || fail "libdoku.a not installed"
[ -f "$tmp/prefix/include/doku.h" ] || fail "doku.h not installed"

export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion doku)" = "$version" ] || fail "pkg-config --modversion is not $version"
read -r -a cflags <<<"$(pkg-config --cflags doku)"
read -r -a libs <<<"$(pkg-config --libs doku)"
read -r -a static_libs <<<"$(pkg-config --static --libs doku | sed 's/-ldoku\b/-l:libdoku.a/')"
cc "${cflags[@]}" bindings/c/example.c -o "$tmp/example-dynamic" "${libs[@]}" "-Wl,-rpath,$lib"
cc "${cflags[@]}" bindings/c/example.c -o "$tmp/example-static" "${static_libs[@]}"
# grep without -q reads all of readelf's output: under pipefail, readelf killed by SIGPIPE after an
# early match would make the pipeline fail although grep matched.
if readelf -d "$tmp/example-static" | grep libdoku >&2; then fail "the static build needs libdoku.so"; fi
readelf -d "$tmp/example-dynamic" | grep -F "[$soname]" >/dev/null || fail "the dynamic build does not link $soname"

throwaway_key
start_sandbox --client installed="$tmp/public.pem"
for exe in example-dynamic example-static; do
    out=$(env -u DOKU_CA_FILE DOKU_BASE_URL="$url" DOKU_CLIENT_ID=installed DOKU_PRIVATE_KEY_FILE="$tmp/key.pem" "$tmp/$exe")
    case "$out" in
        "c: got token eyJ"*"(expires in 9"*) ;;
        *) fail "$exe: $out" ;;
    esac
done
echo "make install: $soname with its symlinks, libdoku.a, doku.h, doku.pc; the example links both ways and gets a token"
