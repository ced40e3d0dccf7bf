"""End to end: examples/merchant_server.py as a real process, notified by doku-sandbox acting as
DOKU (--notify): its token request, then a VA payment notification."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import doku_snap
from conftest import _binary

MERCHANT = Path(__file__).resolve().parents[1] / "examples" / "merchant_server.py"
CLIENT_ID = "MCH-1"
SECRET = "SK-notify-test-secret"


@pytest.fixture
def merchant(keys, doku_keys, tmp_path):
    """start(secret=..., doku_public_key=..., private_key=..., env=...) runs merchant_server.py
    and returns its URL."""
    procs = []

    def start(secret=SECRET, doku_public_key=None, private_key=None, env=None):
        log = open(tmp_path / f"merchant-{len(procs)}.log", "wb")
        env = {**os.environ, "DOKU_CLIENT_SECRET": secret, "DOKU_CLIENT_ID": CLIENT_ID, **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, str(MERCHANT), "--listen", "127.0.0.1:0",
             "--doku-public-key", str(doku_public_key or doku_keys.public),
             "--private-key", str(private_key or keys.pkcs8), "--public-key", str(keys.public)],
            env=env, stdout=subprocess.PIPE, stderr=log)
        procs.append((proc, log))
        first = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline().decode()))
        reader.start()
        reader.join(30)
        if not first or not first[0].startswith("listening on http://127.0.0.1:"):
            pytest.fail(f"merchant_server.py did not start: {first} {log.name}")
        return first[0].split(" ", 2)[2].strip()

    yield start
    for proc, log in procs:
        proc.terminate()
        proc.wait(10)
        log.close()


def notify(doku_keys, merchant_url, secret=SECRET):
    return subprocess.run(
        [str(_binary()), "--listen", "127.0.0.1:0", "--quiet", "--doku-key-dir", str(doku_keys.dir),
         "--secret", f"{CLIENT_ID}={secret}", "--notify-client", CLIENT_ID, "--notify", merchant_url,
         "--notify-exit"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_notification_accepted(merchant, doku_keys):
    r = notify(doku_keys, merchant())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "notify: ok (token 2007300, payment 2002500)" in r.stdout
    assert f"doku public key: {doku_keys.public}" in r.stderr  # the sandbox reused our pair


def test_encrypted_merchant_key(merchant, keys, doku_keys):
    url = merchant(private_key=keys.encrypted, env={"MERCHANT_PRIVATE_KEY_PASSPHRASE": keys.PASSPHRASE})
    r = notify(doku_keys, url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "notify: ok (token 2007300, payment 2002500)" in r.stdout


@pytest.mark.parametrize("case", ["missing key file", "wrong passphrase", "no passphrase"])
def test_bad_token_options_stop_the_start(keys, doku_keys, tmp_path, case):
    """The example checks its token options at start, not on DOKU's first call; the error names
    the option and shows no passphrase."""
    private_key, env = keys.encrypted, {"MERCHANT_PRIVATE_KEY_PASSPHRASE": "hunter2-wrong"}
    expected = ("merchant_server.py: error: options: merchant_private_key_file: cannot decrypt the "
                "private key: wrong passphrase or corrupt key")
    if case == "missing key file":
        private_key, env = tmp_path / "missing.pem", {}
        expected = (f'merchant_server.py: error: options: merchant_private_key_file "{private_key}" '
                    "cannot be read: No such file or directory")
    elif case == "no passphrase":
        env = {}
        expected = ("merchant_server.py: error: options: merchant_private_key_file: the private key "
                    "is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given")
    environ = {k: v for k, v in os.environ.items() if k != "MERCHANT_PRIVATE_KEY_PASSPHRASE"}
    r = subprocess.run(
        [sys.executable, str(MERCHANT), "--listen", "127.0.0.1:0", "--client-id", CLIENT_ID,
         "--doku-public-key", str(doku_keys.public), "--private-key", str(private_key),
         "--public-key", str(keys.public)],
        env={**environ, "DOKU_CLIENT_SECRET": SECRET, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert expected in r.stderr, r.stderr
    assert "hunter2" not in r.stderr and SECRET not in r.stderr


def test_wrong_secret_is_refused(merchant, doku_keys):
    r = notify(doku_keys, merchant(secret="SK-a-different-secret"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "notify: failed: payment notification" in r.stdout
    assert "HTTP 401 with 4012500: Unauthorized. Invalid Signature" in r.stdout


def test_wrong_doku_key_is_refused(merchant, keys, doku_keys):
    r = notify(doku_keys, merchant(doku_public_key=keys.public))  # not DOKU's public key
    assert r.returncode == 1, r.stdout + r.stderr
    assert "notify: failed: token request" in r.stdout and "4017300" in r.stdout


def post(url, headers, body):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_merchant_answers_directly(merchant, doku_keys):
    """Each refusal of merchant_server.py, provoked with hand-made requests."""
    url = merchant()
    ts = doku_snap.timestamp()
    sig = doku_snap.sign(CLIENT_ID, ts, doku_keys.private.read_text())
    token_headers = {"x-client-key": CLIENT_ID, "x-timestamp": ts, "x-signature": sig,
                     "Content-Type": "application/json"}
    status, answer = post(url + "/authorization/v1/access-token/b2b", token_headers,
                          '{"grantType":"client_credentials"}')
    assert (status, answer["responseCode"]) == (200, "2007300")
    token = answer["accessToken"]
    status, answer = post(url + "/authorization/v1/access-token/b2b", {**token_headers, "x-timestamp": "now"},
                          '{"grantType":"client_credentials"}')
    assert (status, answer["responseCode"]) == (400, "4007301")

    path = "/v1.1/transfer-va/payment"
    body = '{\n  "virtualAccountNo": "  888994001",\n  "paymentRequestId": "42"\n}'

    def payment(token=token, ts=None, secret=SECRET):
        ts = ts or doku_snap.timestamp()
        headers = {"Authorization": "Bearer " + token, "X-TIMESTAMP": ts,
                   "X-SIGNATURE": doku_snap.sign_request(secret, "POST", path, token, body, ts)}
        return post(url + path, headers, body)

    status, answer = payment()
    assert (status, answer["responseCode"]) == (200, "2002500")
    assert answer["virtualAccountData"]["paymentRequestId"] == "42"
    assert payment(token="eyJ.not.ours") == (401, {"responseCode": "4012501",
                                                     "responseMessage": "Invalid Token (B2B)"})
    assert payment(secret="SK-other")[1]["responseCode"] == "4012500"
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    assert payment(ts=stale)[1]["responseCode"] == "4012500"  # a replay: signed right, too old
