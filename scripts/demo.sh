#!/usr/bin/env bash
# `make demo`: the sandbox with TLS on a free loopback port and a throwaway key pair; then the C,
# C++, Python and PHP examples each get a token from it, and each language's operations example
# runs a virtual account's flow and a Direct Debit flow. Needs `make deps build python` first.
set -euo pipefail
cd "$(dirname "$0")/.."
release=target/release
demo=target/demo
venv=.venv
rm -rf "$demo" && mkdir -p "$demo"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$demo/private.pem" 2>/dev/null
openssl pkey -in "$demo/private.pem" -pubout -out "$demo/public.pem"

"$release/doku-sandbox" --listen 127.0.0.1:0 --tls-dir "$demo/tls" \
    --client demo-merchant="$demo/public.pem" --secret demo-merchant=demo-secret >"$demo/sandbox.out" 2>"$demo/sandbox.log" &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true' EXIT
# It prints "listening on URL" once it accepts connections; give up after 10 s or when it exits.
for _ in $(seq 100); do
    grep -q '^listening on ' "$demo/sandbox.out" && break
    kill -0 "$sandbox" 2>/dev/null || break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$demo/sandbox.out" | head -1)
if [ -z "$url" ]; then
    cat "$demo/sandbox.log" >&2
    echo "the sandbox did not start" >&2
    exit 1
fi
echo "sandbox: $url"

link=("-L$release" "-Wl,-rpath,$PWD/$release" -ldoku)
cc -std=c99 -Wall -Wextra -Werror -Iinclude bindings/c/example.c "${link[@]}" -o "$demo/example-c"
c++ -std=c++17 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp bindings/cpp/example.cpp "${link[@]}" -o "$demo/example-cpp"
cc -std=c99 -Wall -Wextra -Werror -Iinclude bindings/c/operations.c "${link[@]}" -o "$demo/operations-c"
c++ -std=c++17 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp bindings/cpp/operations.cpp "${link[@]}" -o "$demo/operations-cpp"
export DOKU_BASE_URL=$url DOKU_CLIENT_ID=demo-merchant DOKU_PRIVATE_KEY_FILE=$demo/private.pem DOKU_CA_FILE=$demo/tls/ca.pem
"$demo/example-c"
"$demo/example-cpp"
"$venv/bin/python" bindings/python/examples/demo.py
php -d ffi.enable=1 bindings/php/examples/demo.php
export DOKU_CLIENT_SECRET=demo-secret
"$demo/operations-c"
"$demo/operations-cpp"
"$venv/bin/python" bindings/python/examples/operations.py
php -d ffi.enable=1 bindings/php/examples/operations.php
# The sandbox logs each request (its first line says where it keeps DOKU's key pair).
echo "sandbox log: $(grep -m1 '^client=' "$demo/sandbox.log")"
