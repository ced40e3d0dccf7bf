#!/usr/bin/env bash
# `make soak`: 8 threads × SOAK_SECONDS (default 600) of get_token against the sandbox with
# 2 s tokens. Passes with 0 errors, flat RSS (< 1 MiB growth after the first minute), and one
# token fetch per refresh window (tokens refresh at half their 2 s life: one fetch a second).
# Appends the run to BENCHMARKS.md. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
release=target/release
work=target/soak
seconds=${SOAK_SECONDS:-600}
rm -rf "$work" && mkdir -p "$work"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/public.pem"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -Iinclude tests/bench/soak.c \
    -L"$release" -Wl,-rpath,"$PWD/$release" -ldoku -o "$work/soak"
"$release/doku-sandbox" --listen 127.0.0.1:0 --quiet --token-ttl 2 --client soak="$work/public.pem" >"$work/sandbox.out" &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on ' "$work/sandbox.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/sandbox.out" | head -1)

"$work/soak" "$url" soak "$work/key.pem" "$seconds" 8 | tee "$work/soak.out"
fetches=$(curl -sf "$url/sandbox/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokenRequests"].get("soak", 0))')
read -r calls errors < <(sed -n 's/^done calls=\([0-9]*\) errors=\([0-9]*\).*/\1 \2/p' "$work/soak.out")
rss_first=$(awk -F'rss_kib=' '/^t=60s/ {print $2}' "$work/soak.out")
rss_first=${rss_first:-$(awk -F'rss_kib=' '/^t=/ {print $2; exit}' "$work/soak.out")}
rss_last=$(awk -F'rss_kib=' '/^done/ {print $2}' "$work/soak.out")
growth=$((rss_last - rss_first))
# One fetch per 1 s window, give or take the first and the last.
windows=$seconds
verdict=pass
[ "$errors" -eq 0 ] || verdict=fail
[ "$growth" -lt 1024 ] || verdict=fail
[ "$fetches" -ge $((windows - 2)) ] && [ "$fetches" -le $((windows + 2)) ] || verdict=fail
report="| $(date -u +%Y-%m-%dT%H:%M:%SZ) | 8 × ${seconds} s | $calls | $errors | $fetches (windows: $windows) | ${rss_first} → ${rss_last} KiB | $verdict |"
echo "$report"
sed -i '/^## Soak/,$d' BENCHMARKS.md
sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' BENCHMARKS.md
{
    echo
    echo "## Soak (\`make soak\`, SOAK_SECONDS=$seconds)"
    echo
    echo "8 threads calling \`doku_get_token\` against the sandbox with 2 s tokens on $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores."
    echo
    echo "| date | threads × time | calls | errors | token fetches | RSS (after 1 min → end) | verdict |"
    echo "|---|---|---|---|---|---|---|"
    echo "$report"
} >>BENCHMARKS.md
[ "$verdict" = pass ]
