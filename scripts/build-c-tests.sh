#!/usr/bin/env bash
# Builds the C and C++ test programs into OUT (default target/c-tests), for tests/c_api.rs to
# run (it finds them through DOKU_C_TESTS). They link libdoku_test.so, the shipped library plus
# doku_test_hook (tests/testlib); the merchant and operations examples link the shipped libdoku.so,
# as users' programs do. Each test program is built twice: plain (run under valgrind) and with
# AddressSanitizer, LeakSanitizer and UBSan. Also checks that the headers compile standalone.
# Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/c-tests}
lib=target/release
cc=${CC:-cc}
cxx=${CXX:-c++}
mkdir -p "$out"

# libdoku's build script hands its SONAME to every cdylib built on it (Cargo passes a
# dependency's cdylib link arguments on), so libdoku_test.so says it is libdoku.so.0.N too:
# the test programs find it under that name in a directory of their own, never the shipped one.
testlib=$out/lib
mkdir -p "$testlib"
soname=$(readelf -d "$lib/libdoku_test.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
ln -sf "$PWD/$lib/libdoku_test.so" "$testlib/libdoku_test.so"
ln -sf "$PWD/$lib/libdoku_test.so" "$testlib/${soname:-libdoku_test.so}"
flags=(-O0 -g -Wall -Wextra -Werror -pthread -Iinclude -Ibindings/cpp)
# DT_RPATH, not RUNPATH: it wins over LD_LIBRARY_PATH (which `cargo test` sets), so each program
# loads the library it was built for.
test_lib=("-L$testlib" "-Wl,-rpath,$PWD/$testlib" "-Wl,--disable-new-dtags" -ldoku_test)
shipped_lib=("-L$lib" "-Wl,-rpath,$PWD/$lib" "-Wl,--disable-new-dtags" -ldoku)
sanitizers=("-fsanitize=address,undefined" -fno-omit-frame-pointer -fno-sanitize-recover=all)

for source in tests/c/test_doku.c tests/c/test_transactions.c tests/c/test_operations.c tests/c/test_hostile.c \
    tests/c/test_reliability.c tests/c/test_suspend.c tests/c/test_log.c tests/c/test_merchant.c tests/cpp/test_doku.cpp; do
    name=$(basename "${source%.*}")
    case "$source" in
        *.cpp) compile=("$cxx" -std=c++17) && name="$name-cpp" ;;
        *) compile=("$cc" -std=gnu11) ;;
    esac
    "${compile[@]}" "${flags[@]}" "$source" "${test_lib[@]}" -o "$out/$name-plain"
    "${compile[@]}" "${sanitizers[@]}" "${flags[@]}" "$source" "${test_lib[@]}" -o "$out/$name-asan"
done
# Reads freed memory on purpose: neither valgrind nor the sanitizers.
"$cc" -std=gnu11 "${flags[@]}" tests/c/test_heap.c "${test_lib[@]}" -o "$out/test_heap-plain"
"$cc" -std=gnu11 "${flags[@]}" bindings/c/merchant_server.c "${shipped_lib[@]}" -o "$out/merchant_server"
"$cxx" -std=c++17 "${flags[@]}" bindings/cpp/merchant_server.cpp "${shipped_lib[@]}" -o "$out/merchant_server-cpp"
"$cc" -std=c99 "${flags[@]}" bindings/c/operations.c "${shipped_lib[@]}" -o "$out/operations"
"$cxx" -std=c++17 "${flags[@]}" bindings/cpp/operations.cpp "${shipped_lib[@]}" -o "$out/operations-cpp"

# The headers on their own: C99 and C++11 for doku.h, C++17 for doku.hpp, all pedantic.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "doku.h"\nint main(void) { return doku_version() == 0; }\n' >"$tmp/h.c"
printf '#include "doku.h"\nint main() { DokuStatus s = DOKU_OK; return static_cast<int>(s); }\n' >"$tmp/h.cpp"
printf '#include "doku.hpp"\nint main() { return doku::version().empty(); }\n' >"$tmp/raii.cpp"
"$cc" -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.c" -o "$tmp/h.o"
"$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.cpp" -o "$tmp/hpp.o"
"$cxx" -std=c++17 -pedantic -Wall -Wextra -Werror -Iinclude -Ibindings/cpp -c "$tmp/raii.cpp" -o "$tmp/raii.o"
echo "C and C++ test programs in $out; doku.h and doku.hpp compile standalone"
