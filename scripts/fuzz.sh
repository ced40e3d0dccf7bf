#!/usr/bin/env bash
# `make fuzz` / `make fuzz-smoke`: libFuzzer through cargo-fuzz, on stable Rust
# (RUSTC_BOOTSTRAP=1 allows the -Z flags it uses). Usage: scripts/fuzz.sh SECONDS TARGET...
# Each target runs for SECONDS from the committed seed corpus (tests/fuzz/corpus/TARGET); new
# inputs go to target/fuzz-corpus/TARGET, the full output to target/fuzz-logs/TARGET.log.
# Fails when a target finds a crash (tests/fuzz/artifacts/TARGET) or cargo fuzz fails otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
seconds=$1
shift
command -v cargo-fuzz >/dev/null || "$cargo" install cargo-fuzz --locked
mkdir -p target/fuzz-logs
for t in "$@"; do
    mkdir -p "tests/fuzz/corpus/$t" "target/fuzz-corpus/$t"
    log=target/fuzz-logs/$t.log
    echo "fuzzing $t for $seconds s"
    status=0
    RUSTC_BOOTSTRAP=1 "$cargo" fuzz run --fuzz-dir tests/fuzz -O "$t" "target/fuzz-corpus/$t" "tests/fuzz/corpus/$t" \
        -- -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^Done|stat::number_of_executed_units|ERROR|panicked' "$log" || true
    if [ -n "$(ls -A "tests/fuzz/artifacts/$t" 2>/dev/null)" ]; then
        echo "fuzz target $t found a crash: tests/fuzz/artifacts/$t" >&2
        exit 1
    fi
    if [ "$status" -ne 0 ]; then
        tail -20 "$log" >&2
        echo "cargo fuzz run $t failed (exit status $status); the full output is in $log" >&2
        exit 1
    fi
done
