#!/usr/bin/env bash
# The Debian packages of `make dist`, as a C user gets them (root, on a throwaway machine):
# lintian finds no error; `dpkg -i` installs both; the C example and the C++ one build with only
# what `pkg-config doku` says, link the installed library by its SONAME and get a token from a
# TLS sandbox, as does the PHP binding copied away from this tree (it loads the SONAME); `dpkg -r` then leaves none of the packages' files and no libdoku in the linker's
# cache. Refuses to run where libdoku is already installed from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/sandbox.sh
. scripts/sandbox.sh
installed=()
on_exit() { [ ${#installed[@]} -eq 0 ] || dpkg -r "${installed[@]}" >/dev/null 2>&1; }
arch=$(dpkg --print-architecture)
runtime_deb=$(ls dist/libdoku0.*_"${version}_$arch".deb)
dev_deb=dist/libdoku-dev_${version}_$arch.deb
runtime=$(dpkg-deb -f "$runtime_deb" Package)
[ -f "$dev_deb" ] || fail "no $dev_deb: run make dist"
[ "$(id -u)" = 0 ] || fail "installing packages needs root"
if dpkg -s "$runtime" libdoku-dev >/dev/null 2>&1 || ldconfig -p | grep -q libdoku; then
    fail "libdoku is installed already: this test installs and removes it"
fi

# lintian: no error (its warnings and notes are shown). It warns about running as root, as here.
lintian_ok=true
lintian --fail-on error "$runtime_deb" "$dev_deb" >"$tmp/lintian" 2>&1 || lintian_ok=false
grep -v 'running with root privileges' "$tmp/lintian" >&2 || true
$lintian_ok || fail "lintian reports errors"

files() { dpkg-deb -c "$1" | awk '{print substr($6, 2)}' | grep -v '/$'; }
{ files "$runtime_deb"; files "$dev_deb"; } >"$tmp/files"
installed=("$runtime" libdoku-dev)
dpkg -i "$runtime_deb" "$dev_deb" >/dev/null || fail "dpkg -i failed"
soname=$(dpkg-deb -f "$runtime_deb" Package | sed 's/^libdoku/libdoku.so./')
ldconfig -p | grep -F "$soname " >/dev/null || fail "ldconfig does not know $soname"
[ "$(pkg-config --modversion doku)" = "$version" ] || fail "pkg-config --modversion doku is not $version"

read -r -a cflags <<<"$(pkg-config --cflags doku)"
read -r -a libs <<<"$(pkg-config --libs doku)"
cc -std=c99 "${cflags[@]}" bindings/c/example.c -o "$tmp/example-c" "${libs[@]}"
c++ -std=c++17 "${cflags[@]}" bindings/cpp/example.cpp -o "$tmp/example-cpp" "${libs[@]}"
for exe in example-c example-cpp; do
    readelf -d "$tmp/$exe" | grep -F "[$soname]" >/dev/null || fail "$exe does not link $soname"
    if readelf -d "$tmp/$exe" | grep -i 'rpath\|runpath' >&2; then fail "$exe needs an rpath"; fi
done

throwaway_key
start_sandbox --tls-dir "$tmp/tls" --client packaged="$tmp/public.pem"
# The PHP binding, away from this source tree, finds the packaged library by its SONAME.
cp -r bindings/php "$tmp/php"
rm -rf "$tmp/php/lib"
export DOKU_BASE_URL=$url DOKU_CA_FILE=$tmp/tls/ca.pem DOKU_CLIENT_ID=packaged DOKU_PRIVATE_KEY_FILE=$tmp/key.pem
for run in "$tmp/example-c" "$tmp/example-cpp" "php -d ffi.enable=1 $tmp/php/examples/demo.php"; do
    read -r -a command <<<"$run"
    out=$(env -u DOKU_LIBRARY "${command[@]}")
    case "$out" in
        *": got token eyJ"*"(expires in 9"*) ;;
        *) fail "$run: $out" ;;
    esac
done

dpkg -r libdoku-dev "$runtime" >/dev/null || fail "dpkg -r failed"
installed=()
left=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done <"$tmp/files" || true)
[ -z "$left" ] || fail "left behind after dpkg -r: $left"
if ldconfig -p | grep libdoku >&2; then fail "the linker's cache still has libdoku"; fi
if dpkg -s "$runtime" >/dev/null 2>&1; then fail "$runtime is still installed"; fi
echo "dist: $(basename "$runtime_deb") and $(basename "$dev_deb"): no lintian error; installed, the C and C++ examples built with pkg-config and the PHP binding got a token over TLS; removed, nothing left"
