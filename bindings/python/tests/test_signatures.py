"""minify, sign_request, verify_request and verify: known answers computed without doku-snap
(tests/kat/snap_kat.py, Python's hmac/hashlib) and signatures made by the openssl CLI."""

import json
import os
import subprocess
import sys

import pytest

import doku_snap
from conftest import REPO

ID = "MCH-0008-1296507211683"
TS = "2026-11-28T14:18:39+07:00"


@pytest.fixture(scope="module")
def kat():
    out = subprocess.run([sys.executable, str(REPO / "tests/kat/snap_kat.py")], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    return json.loads(out)


def test_kat_sign_request_and_minify(kat):
    assert len(kat["cases"]) >= 4
    for case in kat["cases"]:
        args = dict(client_secret=kat["secret"], method="POST", path=kat["path"],
                    access_token=kat["token"], timestamp=kat["timestamp"])
        expected = case["signature"]
        assert doku_snap.sign_request(body=case["body"], **args) == expected, case["name"]
        assert doku_snap.sign_request(body=case["body"].encode(), **args) == expected, case["name"]
        assert doku_snap.sign_request(body=case["minified"], **args) == expected, case["name"]
        # "Bearer " on the token and a lower-case method are normalised by the core.
        assert doku_snap.sign_request(**{**args, "method": "post", "access_token": "Bearer " + kat["token"]},
                                      body=case["body"]) == expected
        assert doku_snap.verify_request(body=case["body"], signature=expected, **args) is True
        if case["body"]:
            assert doku_snap.minify(case["body"]) == case["minified"], case["name"]
            assert doku_snap.minify(case["body"].encode()) == case["minified"]
        else:
            # No body: None and "" both hash the empty string. minify("") itself is an error,
            # since "" is not a JSON text.
            assert doku_snap.sign_request(body=None, **args) == expected
            with pytest.raises(doku_snap.InvalidArgumentError):
                doku_snap.minify("")


def test_sign_request_positional():
    sig = doku_snap.sign_request("secret", "GET", "/x", "tok", None, TS)
    assert sig == doku_snap.sign_request("secret", "GET", "/x", "tok", "", TS)
    assert len(sig) == 88  # base64 of 64 bytes


def test_verify_request_mismatches_are_false():
    body = '{"a": "b"}'
    sig = doku_snap.sign_request("secret", "POST", "/notify", "tok", body, TS)
    ok = dict(client_secret="secret", method="POST", path="/notify", access_token="tok", body=body,
              timestamp=TS, signature=sig)
    assert doku_snap.verify_request(**ok)
    assert doku_snap.verify_request(**{**ok, "body": '{"a":"b"}'})  # the same once minified
    for change in ({"body": '{"a": "c"}'}, {"client_secret": "other"}, {"path": "/other"},
                   {"timestamp": "2026-11-28T14:18:40+07:00"}, {"access_token": "tok2"},
                   {"method": "PUT"}, {"signature": sig[:-4] + "AAA="}, {"signature": "not base64!"}):
        assert doku_snap.verify_request(**{**ok, **change}) is False, change


@pytest.mark.parametrize("change, fragment", [
    ({"client_secret": ""}, "secret"),
    ({"access_token": ""}, "token"),
    ({"body": "{not json"}, "JSON"),
    ({"body": b"\xff"}, "UTF-8"),
    ({"path": "no-slash"}, "path"),
    ({"timestamp": None}, "timestamp must be str"),
    ({"body": "{}\0"}, "body contains a NUL"),
])
def test_bad_input_raises(change, fragment):
    args = dict(client_secret="secret", method="POST", path="/notify", access_token="tok", body="{}", timestamp=TS)
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.sign_request(**{**args, **change})
    assert fragment.lower() in str(info.value).lower(), str(info.value)
    with pytest.raises(doku_snap.InvalidArgumentError):
        doku_snap.verify_request(signature="AAAA", **{**args, **change})


def test_minify_keeps_strings_and_refuses_non_json():
    assert doku_snap.minify('{ "a / b" : "x  y ü\\u00e9", "n" : 1.50 }') == '{"a / b":"x  y ü\\u00e9","n":1.50}'
    with pytest.raises(doku_snap.InvalidArgumentError):
        doku_snap.minify("{")
    with pytest.raises(doku_snap.InvalidArgumentError):
        doku_snap.minify(None)


def openssl_signature(key_path, message: str) -> str:
    return subprocess.run(
        ["bash", "-c", 'printf \'%s\' "$MSG" | openssl dgst -sha256 -sign "$KEY" | base64 -w0'],
        env={**os.environ, "MSG": message, "KEY": str(key_path)},
        stdout=subprocess.PIPE, check=True, text=True).stdout


def test_verify_an_openssl_signature(doku_keys, keys):
    sig = openssl_signature(doku_keys.private, f"{ID}|{TS}")
    public = doku_keys.public.read_text()
    assert doku_snap.verify(ID, TS, sig, public) is True
    assert doku_snap.verify(client_id=ID, timestamp=TS, signature=sig, public_key=public.encode())
    # bare base64 of the DER, as pasted from dashboards
    bare = "".join(line for line in public.splitlines() if not line.startswith("-----"))
    assert doku_snap.verify(ID, TS, sig, bare)
    assert doku_snap.verify(ID, "2026-11-28T14:18:40+07:00", sig, public) is False
    assert doku_snap.verify("MCH-other", TS, sig, public) is False
    assert doku_snap.verify(ID, TS, sig, keys.public.read_text()) is False  # another key
    assert doku_snap.verify(ID, TS, "not base64!", public) is False


def test_verify_bad_key_raises():
    with pytest.raises(doku_snap.InvalidKeyError):
        doku_snap.verify(ID, TS, "AAAA", "not a key")
    with pytest.raises(doku_snap.InvalidArgumentError):
        doku_snap.verify(ID, TS, None, "not a key")
