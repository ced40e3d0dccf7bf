# shellcheck shell=bash
# Sourced by the scripts that install a build or a package and use it against a sandbox
# (test-install, test-deb, test-wheel, test-composer), from the repository root:
# - $repo, the repository root (the working directory when sourced);
# - $tmp, a private temporary directory, removed at exit with every process listed in $pids
#   (the sandbox's among them) after the caller's own on_exit, if it defines one;
# - fail MESSAGE, which names the calling script;
# - $version, the crate's;
# - throwaway_key: $tmp/key.pem and $tmp/public.pem, a new RSA key pair;
# - start_sandbox ARGS...: target/release/doku-sandbox on a free loopback port with ARGS, its URL
#   in $url.
repo=$PWD
tmp=$(mktemp -d)
pids=()
cleanup() {
    if declare -F on_exit >/dev/null; then on_exit || true; fi
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE # so that EXIT's cleanup runs on these too
fail() {
    echo "$(basename "$0" .sh): $*" >&2
    exit 1
}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || fail "no version in Cargo.toml"

throwaway_key() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null
    openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/public.pem"
}

start_sandbox() {
    [ -x "$repo/target/release/doku-sandbox" ] || fail "no target/release/doku-sandbox: run make build"
    "$repo/target/release/doku-sandbox" --listen 127.0.0.1:0 --quiet "$@" >"$tmp/sandbox.out" 2>"$tmp/sandbox.log" &
    pids+=("$!")
    for _ in $(seq 100); do grep -q '^listening on ' "$tmp/sandbox.out" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$tmp/sandbox.out" | head -1)
    [ -n "$url" ] || fail "the sandbox did not start: $(cat "$tmp/sandbox.log")"
}
