"""Fixtures: throwaway keys made with the openssl CLI, and real doku-sandbox processes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Dict, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]

# Every client id the plain-HTTP sandbox knows, with its fault mode. The token cache is
# process-wide (keyed by base URL, client id and key), so each test that counts requests or
# needs a cold cache has an id of its own.
CLIENTS: Dict[str, Optional[str]] = {
    "py-ok": None,
    "py-enc": None,
    "py-threads": "delay:300",
    "py-invalidate": None,
    "py-rss": None,
    "py-close": "delay:300",
    "py-expires-string": "expires-string",
    "py-delay": "delay:3000",
    "py-stall": "stall-body",
    "py-reset": "reset",
    "py-http500": "http500",
    "py-badjson": "badjson",
    "py-notoken": "notoken",
    "py-huge": "huge",
    "py-error200": "error200",
    "py-clock": "clock:+600",
    # transaction requests (create-va) and B2B2C; those in SECRETS get --secret ID=SECRET
    "py-va": None,
    "py-va-threads": None,
    "py-revoke": None,
    "py-headers": None,
    "py-b2b2c": None,
    "py-nosecret": None,
    # logging and stats (test_log.py)
    "py-log": None,
    "py-log-thread": None,
    "py-log-fail": "http500",
    "py-log-retry": None,
    "py-log-level": None,
}

# Client secrets the sandbox knows (create-va checks X-SIGNATURE with them). Test-only values.
SECRETS: Dict[str, str] = {
    "py-va": "SK-py-va-secret",
    "py-va-threads": "SK-py-va-threads-secret",
    "py-revoke": "SK-py-revoke-secret",
    "py-headers": "SK-py-headers-secret",
    "py-rss": "SK-py-rss-secret",
    "py-log-retry": "SK-py-log-retry-secret",
}


def openssl(*args: str, stdin: Optional[bytes] = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True).stdout


class Keys:
    """key.pem (PKCS#8), key-pkcs1.pem, key.b64 (bare base64 DER), key-enc.pem (passphrase
    PASSPHRASE), pub.pem, and unusable ec.pem and rsa1024.pem."""

    PASSPHRASE = "correct horse"

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.pkcs8 = d / "key.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(self.pkcs8))
        self.public = d / "pub.pem"
        openssl("pkey", "-in", str(self.pkcs8), "-pubout", "-out", str(self.public))
        self.pkcs1 = d / "key-pkcs1.pem"
        openssl("rsa", "-in", str(self.pkcs8), "-traditional", "-out", str(self.pkcs1))
        self.bare = d / "key.b64"
        der = openssl("pkey", "-in", str(self.pkcs8), "-outform", "DER")
        self.bare.write_text(base64.b64encode(der).decode())
        self.encrypted = d / "key-enc.pem"
        openssl("pkcs8", "-topk8", "-in", str(self.pkcs8), "-v2", "aes-256-cbc",
                "-passout", "pass:" + self.PASSPHRASE, "-out", str(self.encrypted))
        self.ec = d / "ec.pem"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(self.ec))
        self.rsa1024 = d / "rsa1024.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(self.rsa1024))


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


class Sandbox:
    def __init__(self, binary: Path, workdir: Path, args: list) -> None:
        self.log = workdir / "sandbox.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(binary), "--listen", "127.0.0.1:0", *args],
                                         stdout=subprocess.PIPE, stderr=log)
        lines: list = []
        reader = threading.Thread(target=lambda: lines.extend(
            self.proc.stdout.readline().decode() for _ in range(2 if "--tls-dir" in args else 1)))
        reader.start()
        reader.join(30)
        if not lines or not lines[0].startswith("listening on "):
            self.stop()
            pytest.fail(f"doku-sandbox did not start: {self.log.read_text()}")
        self.url = lines[0].split(" ", 2)[2].strip()
        self.ca_file = lines[1].split(": ", 1)[1].strip() if len(lines) > 1 else None

    def _stats(self) -> Dict:
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        with opener.open(self.url + "/sandbox/v1/stats", timeout=10) as r:
            return json.load(r)

    def stats(self) -> Dict[str, int]:
        return self._stats()["tokenRequests"]

    def connections(self) -> int:
        """Connections the sandbox accepted, not counting the one this question opens."""
        return self._stats()["connections"] - 1

    def requests(self, client_id: str) -> int:
        return self.stats().get(client_id, 0)

    def post(self, path: str) -> Dict:
        """POST an empty body to a sandbox control endpoint, e.g. /sandbox/v1/revoke?client=ID."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(urllib.request.Request(self.url + path, data=b"", method="POST"), timeout=10) as r:
            return json.load(r)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _binary() -> Path:
    binary = Path(os.environ.get("DOKU_SANDBOX") or REPO / "target/release/doku-sandbox")
    if not binary.is_file():
        pytest.fail(f"{binary} not found: run `make build` or set DOKU_SANDBOX")
    return binary


class DokuKeys:
    """DOKU's key pair, as doku-sandbox --doku-key-dir DIR reuses it: DIR/doku-private.pem and
    DIR/doku-public.pem."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.private = d / "doku-private.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(self.private))
        self.public = d / "doku-public.pem"
        openssl("pkey", "-in", str(self.private), "-pubout", "-out", str(self.public))


@pytest.fixture(scope="session")
def doku_keys(tmp_path_factory: pytest.TempPathFactory) -> DokuKeys:
    return DokuKeys(tmp_path_factory.mktemp("doku-keys"))


def _client_args(keys: Keys, clients: Dict[str, Optional[str]], secrets: Dict[str, str]) -> list:
    """--client ID=KEY for each client (and --fault ID=MODE when it has one), --secret ID=SECRET."""
    args = []
    for cid, fault in clients.items():
        args += ["--client", f"{cid}={keys.public}"]
        if fault:
            args += ["--fault", f"{cid}={fault}"]
    for cid, secret in secrets.items():
        args += ["--secret", f"{cid}={secret}"]
    return args


@pytest.fixture(scope="session")
def sandbox(keys: Keys, tmp_path_factory: pytest.TempPathFactory):
    args = ["--quiet", *_client_args(keys, CLIENTS, SECRETS)]
    sb = Sandbox(_binary(), tmp_path_factory.mktemp("sandbox"), args)
    yield sb
    sb.stop()


# The TLS sandbox's clients, with their fault mode. It keeps books (virtual accounts, bindings,
# payments) per client, so each operations test has an id of its own; those in TLS_SECRETS get
# --secret ID=SECRET.
TLS_CLIENTS: Dict[str, Optional[str]] = {
    "py-tls": None,
    "py-demo": None,
    "py-ops-va": None,
    "py-ops-dd": None,
    "py-ops-check": None,
    "py-ops-example": None,
    "py-ops-slow": "delay:1500",
}
TLS_SECRETS: Dict[str, str] = {cid: f"SK-{cid}-secret" for cid in TLS_CLIENTS if cid.startswith("py-ops-")}


@pytest.fixture(scope="session")
def tls_sandbox(keys: Keys, tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("tls-sandbox")
    args = ["--quiet", "--tls-dir", str(d / "tls"), *_client_args(keys, TLS_CLIENTS, TLS_SECRETS)]
    sb = Sandbox(_binary(), d, args)
    yield sb
    sb.stop()


@pytest.fixture
def transport_sandbox(keys: Keys, tmp_path: Path):
    """A TLS sandbox of the test's own, whose connection count is the test's alone; client
    py-transport with secret SK-py-transport."""
    sb = Sandbox(_binary(), tmp_path, ["--quiet", "--tls-dir", str(tmp_path / "tls"),
                                       "--client", f"py-transport={keys.public}", "--secret", "py-transport=SK-py-transport"])
    yield sb
    sb.stop()


@pytest.fixture
def make_client(sandbox: Sandbox, keys: Keys):
    """Client(client_id, **overrides) on the plain-HTTP sandbox, closed after the test.
    proxy="" so that a proxy in the environment cannot intercept loopback traffic."""
    import doku_snap

    made = []

    def make(client_id: str, **overrides):
        config = dict(client_id=client_id, private_key_file=keys.pkcs8, base_url=sandbox.url,
                      proxy="", timeout_ms=10000)
        config.update(overrides)
        made.append(doku_snap.Client(**config))
        return made[-1]

    yield make
    for c in made:
        c.close()


class Redis:
    """A real redis-server on a free loopback port, with a password, started by the test (make deps
    installs it); kill() and restart() play an outage."""

    PASSWORD = "py-redis-pässword"

    def __init__(self, workdir: Path) -> None:
        import socket
        self.dir = workdir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: Optional[subprocess.Popen] = None
        self.restart()

    @property
    def url(self) -> str:
        from urllib.parse import quote
        return f"redis://:{quote(self.PASSWORD, safe='')}@127.0.0.1:{self.port}"

    def restart(self) -> None:
        import time
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--requirepass", self.PASSWORD, "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.cli("PING") != "PONG":
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start: {(self.dir / 'redis.log').read_text()}")
            time.sleep(0.02)

    def cli(self, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--no-auth-warning",
                              "-a", self.PASSWORD, *args], capture_output=True, timeout=10)
        return out.stdout.decode(errors="replace").strip()

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis(tmp_path: Path):
    r = Redis(tmp_path)
    yield r
    r.kill()
