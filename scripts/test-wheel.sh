#!/usr/bin/env bash
# The Python packages of `make dist`, as a user gets them (root: the trust store check mounts):
# - the wheel installs with `pip install --no-index` into a fresh venv whose PATH has no cargo
#   nor rustc, and from there (the package's own libdoku.so, which needs no libssl/libcrypto and
#   exports none of OpenSSL's symbols) gets a token from a TLS sandbox, signs as openssl does and
#   verifies, in a process that imported Python's ssl (the system's OpenSSL) first and completes
#   a handshake with it too;
# - its built-in OpenSSL trusts the system's CA store by itself: in a private mount namespace
#   where /etc/ssl/certs/ca-certificates.crt holds only the sandbox's CA, a client without
#   ca_file gets a token; outside it the same client fails with TlsError (certificate
#   verification); SSL_CERT_FILE and SSL_CERT_DIR each replace their own source, as in OpenSSL,
#   but not in a setcap process; a missing store or SSL_CERT_FILE is a clear error; /usr/local/ssl (the built-in OpenSSL's own
#   prefix) and OPENSSL_CONF count for nothing, and a planted configuration loads no module;
# - the sdist installs with pip into another venv, building libdoku with cargo (into
#   target/sdist), and that library (the system's OpenSSL) gets a token too.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# shellcheck source=scripts/sandbox.sh
. scripts/sandbox.sh
wheels=(dist/doku_snap-"$version"-py3-none-manylinux*.whl)
sdist=dist/doku_snap-$version.tar.gz
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    fail "not one dist/doku_snap-$version-py3-none-manylinux*.whl: run make dist"
fi
wheel=${wheels[0]}
[ -f "$sdist" ] || fail "no $sdist: run make dist"
[ -x .venv/bin/auditwheel ] || fail "no .venv/bin/auditwheel: run make dist (scripts/dist-wheel.sh installs it)"
[ "$(id -u)" = 0 ] || fail "the trust store check mounts in a private namespace: run as root"
[ -f /etc/ssl/certs/ca-certificates.crt ] || fail "no /etc/ssl/certs/ca-certificates.crt (the ca-certificates package)"

throwaway_key
start_sandbox --tls-dir "$tmp/tls" --client wheel="$tmp/public.pem"
ca=$tmp/tls/ca.pem

# check.py MODE: `ca_file` (the client trusts the sandbox's CA file; `config`: that token alone,
# without Python's ssl; `recovers`: see there), `system` (no ca_file: the
# system store must trust the sandbox) or `untrusted` (no ca_file: must fail with TlsError, whose
# message holds $EXPECT, by default a failed certificate verification).
cat >"$tmp/check.py" <<'EOF'
import sys

mode, url, key_file, public_file, ca = sys.argv[1:]
client_id = "wheel"
if mode != "config":
    # First: Python's ssl loads the system's libssl into this process before libdoku. Not in the
    # `config` check, where OPENSSL_CONF would make the system's OpenSSL load a planted module.
    import ssl

import base64
import os
import socket
import subprocess
import urllib.parse
from pathlib import Path

import doku_snap
from doku_snap import _native

# The package's own file, in a site-packages (the setcap check runs a copy of Python outside the
# venv, with PYTHONPATH).
bundled = Path(doku_snap.__file__).resolve().parent / "libdoku.so"
if bundled.parent.parent.name != "site-packages":
    sys.exit(f"doku_snap imported from {bundled.parent}, not from a site-packages")
mapped = {line.split(None, 5)[5].strip() for line in open("/proc/self/maps") if "libdoku" in line}
if mapped != {str(bundled)} or Path(_native.lib._name).resolve() != bundled:
    sys.exit(f"loaded {mapped or _native.lib._name}, not the installed package's {bundled}")

config = {"client_id": client_id, "private_key_file": key_file, "base_url": url, "timeout_ms": 10000}
if mode == "recovers":
    # SSL_CERT_FILE names a file not there yet, and ca_file another CA: the first call goes on
    # with ca_file alone and fails; once the file is there, the next call trusts it.
    import shutil

    with doku_snap.Client(dict(config, ca_file=os.environ["OTHER_CA"])) as client:
        try:
            client.get_token()
            sys.exit("got a token before SSL_CERT_FILE's file existed")
        except doku_snap.TlsError as e:
            first = e
        shutil.copy(ca, os.environ["SSL_CERT_FILE"])
        token = client.get_token()
    print(f"recovers: TlsError: {first}; then, with the file there, token {token[:12]}...")
    sys.exit(0)
if mode in ("ca_file", "config"):
    config["ca_file"] = ca
with doku_snap.Client(config) as client:
    if mode == "untrusted":
        try:
            client.get_token()
        except doku_snap.TlsError as e:
            expect = os.environ.get("EXPECT", "certificate verify failed")
            if expect not in str(e):
                sys.exit(f"TlsError without {expect!r}: {e}")
            print(f"untrusted: TlsError: {e}")
            sys.exit(0)
        sys.exit("got a token from a server the system store does not trust")
    token = client.get_token()
    if not token.startswith("eyJ"):
        sys.exit(f"not a JWT: {token[:20]}")
if mode == "config":
    print(f"config: token {token[:12]}... with OPENSSL_CONF={os.environ.get('OPENSSL_CONF')}")
    sys.exit(0)

key = Path(key_file).read_text()
public = Path(public_file).read_text()
ts = doku_snap.timestamp()
signature = doku_snap.sign(client_id, ts, key)
# SHA256withRSA (PKCS#1 v1.5, deterministic) over "client_id|timestamp", base64: as openssl signs.
raw = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file], input=f"{client_id}|{ts}".encode(),
                     stdout=subprocess.PIPE, check=True).stdout
if signature != base64.b64encode(raw).decode():
    sys.exit("sign() differs from openssl dgst -sha256 -sign")
if not doku_snap.verify(client_id, ts, signature, public):
    sys.exit("verify() refuses sign()'s signature")
if doku_snap.verify(client_id + "x", ts, signature, public):
    sys.exit("verify() accepts the signature of another string")

# The system's OpenSSL (Python's ssl) still works beside the one in libdoku.
parts = urllib.parse.urlsplit(url)
context = ssl.create_default_context(cafile=ca)
with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
    with context.wrap_socket(sock, server_hostname=parts.hostname) as tls:
        python_tls = tls.version()
print(f"{mode}: token {token[:12]}..., sign() equals openssl's, verify() ok, "
      f"libdoku {doku_snap.version()} from {bundled}; Python's ssl ({ssl.OPENSSL_VERSION}) did {python_tls} too")
EOF

# A PATH without any Rust toolchain, and an environment without SSL_CERT_*, DOKU_*, LD_*.
bare=(env -i HOME="$tmp" LANG=C.UTF-8)
clean() {
    local venv=$1
    shift
    "${bare[@]}" PATH="$venv/bin:/usr/bin:/bin" "$@"
}
check() { # VENV MODE [ENV=VALUE...]
    local venv=$1 mode=$2
    shift 2
    clean "$venv" "$@" python "$tmp/check.py" "$mode" "$url" "$tmp/key.pem" "$tmp/public.pem" "$ca" ||
        fail "$venv: the $mode check failed"
}

# 1. The wheel, no toolchain, no index.
python3 -m venv "$tmp/wheel"
for tool in cargo rustc; do
    if clean "$tmp/wheel" sh -c "command -v $tool" >&2; then fail "$tool is on the clean PATH (/usr/bin:/bin)"; fi
done
clean "$tmp/wheel" pip install -q --no-index --only-binary :all: "$wheel" || fail "pip install --no-index $wheel failed"
installed=$(clean "$tmp/wheel" python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')/doku_snap/libdoku.so
[ -f "$installed" ] || fail "the wheel installed no $installed"
needed=$(readelf -d "$installed" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case " $needed" in
    *" libssl"* | *" libcrypto"*) fail "the wheel's libdoku.so links OpenSSL rather than carrying it: NEEDED $needed" ;;
esac
for lib in $needed; do
    case "$lib" in
        libc.so.6 | libm.so.6 | libgcc_s.so.1 | ld-linux-*.so.*) ;;
        *) fail "the wheel's libdoku.so needs $lib, which manylinux does not provide" ;;
    esac
done
if nm -D --defined-only "$installed" | grep -E ' [A-Za-z] (SSL|EVP|OPENSSL|CRYPTO|X509|BIO|ERR)_' >"$tmp/exported"; then
    head -5 "$tmp/exported" >&2
    fail "the wheel's libdoku.so exports OpenSSL's symbols"
fi
check "$tmp/wheel" ca_file

# 2. The system store, as the built-in OpenSSL finds it (SSL_CERT_FILE, then the distribution's),
# in private mount namespaces: isolated "SOURCE:TARGET ..." VENV MODE [ENV=VALUE...] bind-mounts
# each SOURCE over its TARGET for that one check, which must end within a minute.
isolated() {
    local mounts=$1 venv=$2 mode=$3
    shift 3
    # shellcheck disable=SC2016 # $m and $@ are the inner shell's
    timeout 60 unshare -m --propagation private -- sh -c 'for m in $1; do mount --bind "${m%%:*}" "${m#*:}" || exit 1; done; shift; exec "$@"' \
        sh "$mounts" "${bare[@]}" PATH="$venv/bin:/usr/bin:/bin" "$@" \
        python "$tmp/check.py" "$mode" "$url" "$tmp/key.pem" "$tmp/public.pem" "$ca" ||
        fail "the $mode check with $mounts mounted ($*) failed"
}
# /etc/ssl/certs as a store of the sandbox's CA alone: the distribution's file and a hash link;
# and stores with only one of the two.
hash=$(openssl x509 -hash -noout -in "$ca")
mkdir "$tmp/certs" "$tmp/certs-file" "$tmp/certs-hash" "$tmp/other-hash"
cp "$ca" "$tmp/certs/ca-certificates.crt"
ln -s ca-certificates.crt "$tmp/certs/$hash.0"
cp "$ca" "$tmp/certs-file/ca-certificates.crt"
cp "$ca" "$tmp/certs-hash/$hash.0"
only_sandbox=$tmp/certs:/etc/ssl/certs
isolated "$only_sandbox" "$tmp/wheel" system
check "$tmp/wheel" untrusted
check "$tmp/wheel" system SSL_CERT_FILE="$ca"
# Each variable replaces its own source, as in OpenSSL: SSL_CERT_FILE the distribution's file
# (its directory still counts), SSL_CERT_DIR its directories (its file still counts).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/other-key.pem" -subj /CN=other -days 1 -out "$tmp/other-ca.pem" 2>/dev/null
cp "$tmp/other-ca.pem" "$tmp/other-hash/$(openssl x509 -hash -noout -in "$tmp/other-ca.pem").0"
isolated "$tmp/certs-file:/etc/ssl/certs" "$tmp/wheel" untrusted SSL_CERT_FILE="$tmp/other-ca.pem"
isolated "$tmp/certs-hash:/etc/ssl/certs" "$tmp/wheel" system SSL_CERT_FILE="$tmp/other-ca.pem"
isolated "$tmp/certs-hash:/etc/ssl/certs" "$tmp/wheel" untrusted SSL_CERT_DIR="$tmp/other-hash"
isolated "$tmp/certs-file:/etc/ssl/certs" "$tmp/wheel" system SSL_CERT_DIR="$tmp/other-hash:"
# Not in a setuid or setcap process, whose environment is its unprivileged caller's: Python with
# a capability, as nobody, with SSL_CERT_FILE naming the sandbox's CA, is not fooled by it.
chmod 0755 "$tmp"
chmod 0644 "$tmp/key.pem"
cp "$(readlink -f "$tmp/wheel/bin/python")" "$tmp/python-cap"
setcap cap_net_bind_service+ep "$tmp/python-cap"
site=$(clean "$tmp/wheel" python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
# File capabilities count only where $tmp is not mounted nosuid: the copy must really have one.
caps=$(runuser -u nobody -- "$tmp/python-cap" -c 'print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")))')
[ "$caps" != 0000000000000000 ] ||
    fail "setcap has no effect under $tmp (mounted nosuid?): the setcap check cannot run here; set TMPDIR elsewhere"
runuser -u nobody -- "${bare[@]}" PATH=/usr/bin:/bin PYTHONPATH="$site" SSL_CERT_FILE="$ca" \
    "$tmp/python-cap" "$tmp/check.py" untrusted "$url" "$tmp/key.pem" "$tmp/public.pem" "$ca" ||
    fail "the setcap check failed (no TlsError: it trusted the CA its caller's SSL_CERT_FILE named?)"
# A setting that names nothing is an error naming it; a client with its own ca_file still works.
check "$tmp/wheel" untrusted SSL_CERT_FILE="$tmp/missing.pem" EXPECT="SSL_CERT_FILE names $tmp/missing.pem, which is not a file"
check "$tmp/wheel" ca_file SSL_CERT_FILE="$tmp/missing.pem"
# A path that is not UTF-8 (OpenSSL's crate would panic on it) is refused, naming the variable.
cp "$ca" "$tmp/ca-"$'\xff'".pem"
check "$tmp/wheel" untrusted SSL_CERT_FILE="$tmp/ca-"$'\xff'".pem" EXPECT="SSL_CERT_FILE is not UTF-8"
check "$tmp/wheel" recovers SSL_CERT_FILE="$tmp/later.pem" OTHER_CA="$tmp/other-ca.pem"
# No store at all: said so, rather than every handshake's "unable to get local issuer certificate".
mkdir "$tmp/empty"
isolated "$tmp/empty:/etc/ssl/certs" "$tmp/wheel" untrusted EXPECT="found no CA certificates on this system"
# The built-in OpenSSL's own prefix, /usr/local/ssl (writable by group staff on older Debian):
# neither its certificates nor its openssl.cnf count, nor OPENSSL_CONF. That configuration loads a
# provider module that leaves a mark when loaded, as the openssl command shows.
mkdir -p "$tmp/usr-local/ssl/certs"
cp "$ca" "$tmp/usr-local/ssl/cert.pem"
cp "$ca" "$tmp/usr-local/ssl/certs/$(openssl x509 -hash -noout -in "$ca").0"
printf '#include <stdio.h>\n__attribute__((constructor)) static void mark(void) { fclose(fopen("%s", "w")); }\n' \
    "$tmp/loaded" >"$tmp/provider.c"
cc -shared -fPIC "$tmp/provider.c" -o "$tmp/provider.so"
printf 'openssl_conf = init\n[init]\nproviders = providers\n[providers]\nplanted = planted\n[planted]\nmodule = %s\nactivate = 1\n' \
    "$tmp/provider.so" >"$tmp/usr-local/ssl/openssl.cnf"
OPENSSL_CONF=$tmp/usr-local/ssl/openssl.cnf openssl version >/dev/null 2>&1 || true
[ -e "$tmp/loaded" ] || fail "the planted openssl.cnf does not load its module even in the openssl command: no test"
rm "$tmp/loaded"
isolated "$tmp/usr-local:/usr/local" "$tmp/wheel" untrusted
check "$tmp/wheel" config OPENSSL_CONF="$tmp/usr-local/ssl/openssl.cnf"
[ ! -e "$tmp/loaded" ] || fail "libdoku's OpenSSL loaded the module a configuration file named"
# Nothing there is even opened: a FIFO as /usr/local/ssl/cert.pem would block a reader forever.
mkdir -p "$tmp/usr-local-fifo/ssl"
mkfifo "$tmp/usr-local-fifo/ssl/cert.pem"
isolated "$tmp/usr-local-fifo:/usr/local" "$tmp/wheel" ca_file

# 3. The sdist, built with cargo (the system's OpenSSL, as pip install ./bindings/python does).
command -v cargo >/dev/null || fail "building the sdist needs cargo on PATH"
python3 -m venv "$tmp/sdist"
mkdir -p target/sdist
if ! env -u DOKU_LIBDOKU -u DOKU_LIBRARY PATH="$tmp/sdist/bin:$PATH" CARGO_TARGET_DIR="$PWD/target/sdist" \
    pip install "$sdist" >"$tmp/sdist.log" 2>&1; then
    tail -n 40 "$tmp/sdist.log" >&2
    fail "pip install $sdist failed"
fi
built=$(clean "$tmp/sdist" python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')/doku_snap/libdoku.so
cmp -s "$built" target/sdist/release/libdoku.so || fail "the sdist's package does not hold the library cargo built in target/sdist"
readelf -d "$built" | grep -F '[libssl.so.3]' >/dev/null || fail "the sdist's libdoku.so does not link the system's libssl.so.3"
check "$tmp/sdist" ca_file

echo "auditwheel show $wheel:"
.venv/bin/auditwheel show "$wheel" 2>/dev/null | sed 's/^/  /'
echo "dist: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB) installed without a toolchain or an index:" \
    "its own OpenSSL (no libssl NEEDED, no OpenSSL symbol exported) got a token over TLS beside Python's ssl," \
    "signed as openssl does, verified, and trusted the system store by itself (SSL_CERT_FILE and SSL_CERT_DIR as OpenSSL takes them, not in a setcap process; nothing from /usr/local/ssl or a configuration file);" \
    "$(basename "$sdist") ($(du -k "$sdist" | cut -f1) KiB) built with cargo and got a token ($((SECONDS - started)) s)"
