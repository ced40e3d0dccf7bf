#!/usr/bin/env bash
# `make bench`: measures side by side in one run and writes BENCHMARKS.md.
# Rates on this shared machine drift from minute to minute, so each ratio compares runs made
# back to back, alternating, and the table reports the median of the rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
release=target/release
work=target/bench
rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECONDS:-3}
rm -rf "$work" && mkdir -p "$work"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/public.pem"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Iinclude tests/bench/bench_doku.c \
    -L"$release" -Wl,-rpath,"$PWD/$release" -ldoku -o "$work/bench_doku"

load_clients=()
for i in $(seq 0 7); do load_clients+=(--client "load-$i=$work/public.pem"); done
"$release/doku-sandbox" --listen 127.0.0.1:0 --quiet --client bench="$work/public.pem" "${load_clients[@]}" >"$work/sandbox.out" &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/sandbox.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sandbox.out" | head -1)

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/sign.ratios"
: >"$work/openssl.rates"
: >"$work/doku.rates"
for r in $(seq "$rounds"); do
    o=$(openssl speed -seconds "$secs" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
    d=$("$work/bench_doku" sign "$work/key.pem" "$secs")
    echo "$o" >>"$work/openssl.rates"
    echo "$d" >>"$work/doku.rates"
    awk -v d="$d" -v o="$o" 'BEGIN {printf "%.3f\n", d / o}' >>"$work/sign.ratios"
    echo "round $r: openssl speed rsa2048 $o sign/s, doku_sign (PEM, stateless) $d sign/s" >&2
done
t1=$("$work/bench_doku" token "$url" bench "$work/key.pem" "$secs" 1)
t2=$("$work/bench_doku" token "$url" bench "$work/key.pem" "$secs" 2)
# Forced refreshes over keep-alive: each costs an RSA signature here, plus a verification and an
# RS256 JWT signature in the sandbox (which shares the cores): two RSA signatures per request.
r1=$("$work/bench_doku" refresh "$url" load "$work/key.pem" 1 2000)
r8=$("$work/bench_doku" refresh "$url" load "$work/key.pem" 8 2000)
s_now=$("$work/bench_doku" sign "$work/key.pem" "$secs")

sign_ratio=$(median <"$work/sign.ratios")
openssl_rate=$(median <"$work/openssl.rates")
doku_rate=$(median <"$work/doku.rates")
table=$(cat <<TABLE
| measure | result | goal |
|---|---|---|
| \`openssl speed rsa2048\` sign/s (median of $rounds) | $openssl_rate | reference |
| stateless \`doku_sign\` with a PEM string, sign/s (median of $rounds) | $doku_rate | |
| \`doku_sign\` / \`openssl speed\` (median of per-round ratios) | $sign_ratio | ≥ 0.95 |
| cached \`doku_get_token\` + \`doku_free\`, calls/s, 1 thread | $(printf '%.0f' "$t1") | ≥ 5,000,000 |
| cached \`doku_get_token\` + \`doku_free\`, calls/s, 2 threads | $(printf '%.0f' "$t2") | |
| 2 threads / 1 thread | $(awk -v a="$t2" -v b="$t1" 'BEGIN {printf "%.2f", a / b}') | |
| forced-refresh token fetches/s against the sandbox, 1 thread × 2,000, keep-alive | $r1 | |
| forced-refresh token fetches/s, 8 threads × 2,000 (16,000 requests, 0 errors) | $r8 | |
| 1-thread fetch rate / \`doku_sign\` rate measured right after ($s_now sign/s); two RSA signatures per fetch bound it at 0.5 | $(awk -v a="$r1" -v b="$s_now" 'BEGIN {printf "%.2f", a / b}') | |
TABLE
)
echo "$table"

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
    echo "# Benchmarks"
    echo
    echo "Written by \`make bench\` (tests/bench/run.sh); numbers from one real run."
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- machine: $cpu, $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -sr); shared and noisy, hence ratios measured back to back"
    echo "- OpenSSL: $(openssl version)"
    echo "- command: \`make bench\` (BENCH_ROUNDS=$rounds, BENCH_SECONDS=$secs)"
    echo
    echo "$table"
} >BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
