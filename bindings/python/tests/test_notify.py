"""End to end: examples/merchant_server.py as a real process, called by doku-sandbox acting as
DOKU (--notify): its token request, the VA inquiry, the VA payment notification, the Direct
Debit notification, then the probes the merchant must refuse (a replay, a stale timestamp, a
wrong signature, an expired token)."""

import itertools
import json
import os
import re
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
FULL_RUN = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "notify-full-run.txt"
CLIENT_ID = "MCH-1"
SECRET = "SK-notify-test-secret"


@pytest.fixture
def merchant(keys, doku_keys, tmp_path):
    """start(secret=..., doku_public_key=..., private_key=..., args=[...], env=...) runs
    merchant_server.py and returns its URL; log(n) reads the n-th one's stderr."""
    procs = []

    def start(secret=SECRET, doku_public_key=None, private_key=None, args=(), env=None):
        log = open(tmp_path / f"merchant-{len(procs)}.log", "wb")
        env = {**os.environ, "DOKU_CLIENT_SECRET": secret, "DOKU_CLIENT_ID": CLIENT_ID, **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, str(MERCHANT), "--listen", "127.0.0.1:0",
             "--doku-public-key", str(doku_public_key or doku_keys.public),
             "--private-key", str(private_key or keys.pkcs8), "--public-key", str(keys.public), *args],
            env=env, stdout=subprocess.PIPE, stderr=log)
        procs.append((proc, log))
        first = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline().decode()))
        reader.start()
        reader.join(30)
        if not first or not first[0].startswith("listening on http://127.0.0.1:"):
            pytest.fail(f"merchant_server.py did not start: {first} {log.name}")
        return first[0].split(" ", 2)[2].strip()

    start.log = lambda n=0: (tmp_path / f"merchant-{n}.log").read_text()
    yield start
    for proc, log in procs:
        proc.terminate()
        proc.wait(10)
        log.close()


def notify(doku_keys, merchant_url, *flags, secret=SECRET):
    return subprocess.run(
        [str(_binary()), "--listen", "127.0.0.1:0", "--quiet", "--doku-key-dir", str(doku_keys.dir),
         "--secret", f"{CLIENT_ID}={secret}", "--notify-client", CLIENT_ID, "--notify", merchant_url,
         "--notify-exit", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def summary(r):
    """The sandbox's last line on stdout (the first is "listening on ...")."""
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("listening on "), r.stdout + r.stderr
    return lines[1]


def steps(r):
    return [line for line in r.stderr.splitlines() if line.startswith("notify: ")]


def test_every_call_and_probe(merchant, doku_keys):
    """DOKU's three calls, answered with merchant_answer(), and the four probes, refused by
    merchant_verify(): the expired-token probe needs a short token lifetime (--token-ttl)."""
    r = notify(doku_keys, merchant(args=["--token-ttl", "2"]), "--inquire", "--notify-debit", "--notify-probe")
    assert r.returncode == 0, r.stdout + r.stderr
    # The steps and the summary every merchant gives (one file for the four languages' tests).
    assert steps(r) + [summary(r)] == FULL_RUN.read_text().splitlines()
    assert f"doku public key: {doku_keys.public}" in r.stderr  # the sandbox reused our pair
    log = merchant.log()
    assert re.search(r"payment_notification \d{36}: paid, 10000.00 IDR \(recorded\)", log), log
    assert re.search(r"debit_notification ORDER/\d{12}: status 00, 25000.00 IDR \(recorded\)", log), log
    assert "Conflict. This request was received before (a replay)" in log and "Invalid Token (B2B): JWT rejected: it expired" in log
    assert SECRET not in log and "eyJ" not in log  # no secret, no token


def test_notification_accepted(merchant, doku_keys):
    r = notify(doku_keys, merchant())
    assert r.returncode == 0, r.stdout + r.stderr
    assert summary(r) == "notify: ok (token 2007300, payment 2002500)"


def test_encrypted_merchant_key(merchant, keys, doku_keys):
    url = merchant(private_key=keys.encrypted, env={"MERCHANT_PRIVATE_KEY_PASSPHRASE": keys.PASSPHRASE})
    r = notify(doku_keys, url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert summary(r) == "notify: ok (token 2007300, payment 2002500)"


def test_the_default_token_lifetime_is_too_long_to_probe(merchant, doku_keys):
    # 900 s by default: the sandbox's probes of a replay, a stale call and a forged one pass,
    # then it refuses to wait out the token
    r = notify(doku_keys, merchant(), "--notify-probe")
    assert r.returncode == 1, r.stdout + r.stderr
    assert summary(r) == ("notify: failed: probe: expired token: the merchant's tokens last 900 s; "
                          "give it a token lifetime of at most 10 s to probe")
    assert steps(r)[-1] == "notify: probe: wrong X-SIGNATURE: HTTP 401, 4012500"


def start_failure(keys, doku_keys, args=(), env=None):
    """merchant_server.py run with a bad setting: it must stop at once (exit 2)."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("MERCHANT_PRIVATE_KEY_PASSPHRASE", "DOKU_CLIENT_SECRET_FILE", "MERCHANT_TOKEN_TTL_S")}
    argv = {"--listen": "127.0.0.1:0", "--client-id": CLIENT_ID, "--doku-public-key": str(doku_keys.public),
            "--private-key": str(keys.pkcs8), "--public-key": str(keys.public)}
    for flag, value in zip(args[::2], args[1::2]):
        argv[flag] = str(value)
    try:
        r = subprocess.run([sys.executable, str(MERCHANT), *[x for kv in argv.items() for x in kv]],
                           env={**environ, "DOKU_CLIENT_SECRET": SECRET, **(env or {})},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:  # killed: it started serving
        pytest.fail(f"merchant_server.py started instead of stopping: {e.stdout!r}")
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert "hunter2" not in r.stderr and SECRET not in r.stderr
    return r.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("case", ["missing key file", "wrong passphrase", "no passphrase"])
def test_bad_token_options_stop_the_start(keys, doku_keys, tmp_path, case):
    """The example checks its options at start, not on DOKU's first call; the error names the
    option and shows no passphrase."""
    private_key, env = keys.encrypted, {"MERCHANT_PRIVATE_KEY_PASSPHRASE": "hunter2-wrong"}
    expected = ("merchant_server.py: error: options: merchant_private_key_file: cannot decrypt the "
                "private key: wrong passphrase or corrupt key")
    if case == "missing key file":
        private_key, env = tmp_path / "missing.pem", {}
        expected = (f'merchant_server.py: error: options: merchant_private_key_file "{private_key}" '
                    "cannot be read: No such file or directory (os error 2)")
    elif case == "no passphrase":
        env = {}
        expected = ("merchant_server.py: error: options: merchant_private_key_file: the private key "
                    "is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given")
    assert start_failure(keys, doku_keys, ["--private-key", private_key], env) == expected


@pytest.mark.parametrize("case", ["token ttl 0", "token ttl from env", "public key file", "private key as public",
                                  "secret file", "empty secret file", "no secret"])
def test_bad_verify_settings_stop_the_start(keys, doku_keys, tmp_path, case):
    args, env = [], {}
    if case == "token ttl 0":
        args, expected = ["--token-ttl", 0], "options: ttl_s must be an integer ≥ 1"
    elif case == "token ttl from env":
        env, expected = {"MERCHANT_TOKEN_TTL_S": "86401"}, "options: ttl_s must be at most 86400"
    elif case == "public key file":
        missing = tmp_path / "missing-pub.pem"
        args = ["--public-key", missing]
        expected = (f'options: merchant_public_key_file "{missing}" cannot be read: '
                    "No such file or directory (os error 2)")
    elif case == "private key as public":
        args = ["--public-key", keys.pkcs8]
        expected = ("options: merchant_public_key_file: expected a public key but got a private key "
                    "(BEGIN PRIVATE KEY)")
    elif case == "secret file":
        env = {"DOKU_CLIENT_SECRET_FILE": str(tmp_path / "missing-secret")}
        expected = "options: client_secret_file cannot be read: No such file or directory (os error 2)"
    elif case == "empty secret file":
        (tmp_path / "secret").write_text("\n")
        args, expected = ["--client-secret-file", tmp_path / "secret"], "options: client_secret_file is empty"
    else:
        env, expected = {"DOKU_CLIENT_SECRET": ""}, "missing DOKU_CLIENT_SECRET"
    assert start_failure(keys, doku_keys, args, env) == "merchant_server.py: error: " + expected


def test_the_secret_from_a_file(merchant, doku_keys, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")  # one line end is ignored
    url = merchant(secret="not-this-one", env={"DOKU_CLIENT_SECRET_FILE": str(secret_file)})
    r = notify(doku_keys, url)
    assert r.returncode == 0, r.stdout + r.stderr


def test_wrong_secret_is_refused(merchant, doku_keys):
    url = merchant(secret="SK-a-different-secret")
    r = notify(doku_keys, url)
    assert r.returncode == 1, r.stdout + r.stderr
    line = summary(r)
    assert line.startswith("notify: failed: payment notification: the merchant answered HTTP 401 with "
                           "4012500: Unauthorized. Invalid Signature (expected HMAC-SHA512 over "
                           '"POST:/v1.1/transfer-va/payment:<access token>:'), line
    assert line.endswith("with the client secret of MCH-1: it does not match the request and client "
                         "secret) (expected HTTP 2xx and 2002500)"), line
    assert steps(r) == ["notify: token request: HTTP 200, 2007300",
                        "notify: payment notification: HTTP 401, 4012500"]
    assert "SK-a-different-secret" not in merchant.log() and SECRET not in r.stdout + r.stderr


def test_wrong_doku_key_is_refused(merchant, keys, doku_keys):
    r = notify(doku_keys, merchant(doku_public_key=keys.public))  # not DOKU's public key
    assert r.returncode == 1, r.stdout + r.stderr
    line = summary(r)
    assert line.startswith("notify: failed: token request: the merchant answered HTTP 401 with "
                           "4017300: Unauthorized. Invalid Signature ("), line
    assert steps(r) == ["notify: token request: HTTP 401, 4017300"]


def post(url, headers, body):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_merchant_answers_directly(merchant, doku_keys):
    """Each answer of merchant_server.py, to hand-made requests."""
    url = merchant(env={"MERCHANT_TOKEN_TTL_S": "7"})
    ts = doku_snap.timestamp()
    sig = doku_snap.sign(CLIENT_ID, ts, doku_keys.private.read_text())
    token_headers = {"x-client-key": CLIENT_ID, "x-timestamp": ts, "x-signature": sig,
                     "Content-Type": "application/json"}
    status, answer = post(url + "/authorization/v1/access-token/b2b", token_headers,
                          '{"grantType":"client_credentials"}')
    assert (status, answer["responseCode"], answer["expiresIn"]) == (200, "2007300", 7)
    token = answer["accessToken"]
    status, answer = post(url + "/authorization/v1/access-token/b2b", {**token_headers, "x-timestamp": "now"},
                          '{"grantType":"client_credentials"}')
    assert (status, answer) == (400, {"responseCode": "4007301", "responseMessage": "Invalid Field Format X-TIMESTAMP"})

    stamps = itertools.count()

    def call(path, body, token=token, ts=None, secret=SECRET, xid=None, drop=None):
        # Its own timestamp (a counter as the fraction), so its own signature, unless given.
        ts = ts or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{next(stamps):06d}Z"
        headers = {"Authorization": "Bearer " + token, "X-TIMESTAMP": ts,
                   "X-SIGNATURE": doku_snap.sign_request(secret, "POST", path, token, body, ts),
                   "X-PARTNER-ID": CLIENT_ID, "X-EXTERNAL-ID": xid or str(time.time_ns()), "CHANNEL-ID": "95221"}
        headers.pop(drop, None)
        return post(url + path, headers, body)

    inquiry = "/v1.1/transfer-va/inquiry"
    ids = {"partnerServiceId": "  888994", "inquiryRequestId": "R/1"}
    status, answer = call(inquiry, json.dumps({**ids, "customerNo": "0001", "virtualAccountNo": "  8889940001"}))
    assert (status, answer["responseCode"]) == (200, "2002400")
    assert answer["virtualAccountData"]["totalAmount"] == {"value": "10000.00", "currency": "IDR"}
    status, answer = call(inquiry, json.dumps({**ids, "customerNo": "0099", "virtualAccountNo": "  8889940099"}))
    assert (status, answer["responseCode"], answer["responseMessage"]) == \
        (404, "4042412", "Invalid Bill/Virtual Account")
    assert answer["virtualAccountData"]["customerNo"] == "0099"

    payment = "/v1.1/transfer-va/payment"
    body = ('{\n  "partnerServiceId": "  888994", "customerNo": "01", "virtualAccountNo": "  88899401",\n'
            '  "paymentRequestId": "42", "paidAmount": {"value": "10000.00", "currency": "IDR"}\n}')
    first = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status, answer = call(payment, body, xid="1001", ts=first)
    assert (status, answer["responseCode"]) == (200, "2002500")
    assert answer["virtualAccountData"]["paymentRequestId"] == "42"
    # DOKU notifying the same payment again, re-signed (a retry, even under the same
    # X-EXTERNAL-ID): answered, recorded once
    assert call(payment, body, xid="1001")[1]["responseCode"] == "2002500"
    log = merchant.log()
    assert "payment_notification 42: paid, 10000.00 IDR (recorded)" in log
    assert "payment_notification 42: paid, 10000.00 IDR (already recorded)" in log
    # the same request again is a replay, under any X-EXTERNAL-ID (it is not signed)
    assert call(payment, body, xid="1002", ts=first) == (409, {"responseCode": "4092500",
                                                     "responseMessage": "Conflict. This request was received before (a replay)"})
    assert call(payment, body, token="eyJ.not.ours") == (401, {
        "responseCode": "4012501", "responseMessage": "Invalid Token (B2B): malformed JWT: header is not base64url"})
    status, answer = call(payment, body, secret="SK-other")
    assert (status, answer["responseCode"]) == (401, "4012500")
    assert answer["responseMessage"].startswith("Unauthorized. Invalid Signature (expected HMAC-SHA512"), answer
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    assert call(payment, body, ts=stale) == (401, {
        "responseCode": "4012500",
        "responseMessage": "Unauthorized. X-TIMESTAMP is 3600 s away from the server clock (allowed: 300 s)"})
    assert call(payment, body, drop="CHANNEL-ID") == (400, {"responseCode": "4002502",
                                                            "responseMessage": "Invalid Mandatory Field CHANNEL-ID"})
    status, answer = call("/v1.0/refund", body)
    assert (status, answer["responseCode"]) == (404, "4040000")
    assert SECRET not in merchant.log() and token not in merchant.log()
