#!/usr/bin/env bash
# `make install PREFIX=…` into a temporary prefix, then the C example built only with what
# pkg-config says, linked against the installed shared library and, separately, the static one;
# both get a token from a sandbox. Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
sandbox=
cleanup() {
    [ -z "$sandbox" ] || kill "$sandbox" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test-install: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
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

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/public.pem"
target/release/doku-sandbox --listen 127.0.0.1:0 --quiet --client installed="$tmp/public.pem" >"$tmp/sandbox.out" &
sandbox=$!
for _ in $(seq 100); do grep -q '^listening on ' "$tmp/sandbox.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$tmp/sandbox.out" | head -1)
[ -n "$url" ] || fail "the sandbox did not start"
for exe in example-dynamic example-static; do
    out=$(env -u DOKU_CA_FILE DOKU_BASE_URL="$url" DOKU_CLIENT_ID=installed DOKU_PRIVATE_KEY_FILE="$tmp/key.pem" "$tmp/$exe")
    case "$out" in
        "c: got token eyJ"*"(expires in 9"*) ;;
        *) fail "$exe: $out" ;;
    esac
done
echo "make install: $soname with its symlinks, libdoku.a, doku.h, doku.pc; the example links both ways and gets a token"
