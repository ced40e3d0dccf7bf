#!/usr/bin/env bash
# The functions libdoku.so exports are exactly the functions include/doku.h declares, and the
# shipped library holds nothing of the sandbox or the test hook. Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${1:-target/release/libdoku.so}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort >"$tmp/exported"
# Prototypes: "enum DokuStatus doku_x(" or "const char *doku_x(" at the start of a line.
grep -oE '^[A-Za-z_][A-Za-z_ *]*[ *]doku_[a-z0-9_]+\(' include/doku.h | grep -oE 'doku_[a-z0-9_]+' | sort -u >"$tmp/declared"
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
    comm -23 "$tmp/declared" "$tmp/exported" | sed 's/^/declared, not exported: /' >&2
    comm -13 "$tmp/declared" "$tmp/exported" | sed 's/^/exported, not declared: /' >&2
    echo "$lib exports other functions than include/doku.h declares" >&2
    exit 1
fi
# grep reads all of nm's output (no -q): with pipefail, nm killed by SIGPIPE would hide a match.
if nm -D "$lib" | grep -iE 'sandbox|test_hook' >&2; then
    echo "$lib holds sandbox or test-hook symbols" >&2
    exit 1
fi
echo "$lib exports the $(wc -l <"$tmp/exported") functions doku.h declares, and no sandbox or test-hook symbol"
