#!/usr/bin/env bash
# `make check-header`: build.rs regenerates include/doku.h and bindings/php/doku.h with the pinned
# cbindgen; the committed copies, which `make build` saved in target/ before building, must match.
set -euo pipefail
cd "$(dirname "$0")/.."
for pair in doku.h:include/doku.h doku-php.h:bindings/php/doku.h; do
    saved=target/${pair%%:*}.committed
    generated=${pair#*:}
    if ! cmp -s "$saved" "$generated"; then
        diff -u "$saved" "$generated" || true
        echo "$generated drifted from what cbindgen generates: commit the regenerated header" >&2
        exit 1
    fi
done
echo "include/doku.h and bindings/php/doku.h match cbindgen's output"
