import os
import re
import subprocess

import pytest

import doku_snap

ID = "MCH-0008-1296507211683"


def openssl_signature(key_path, client_id, ts):
    # The exact command from the SNAP reference; the CLI reads PKCS#8 and PKCS#1 PEM.
    return subprocess.run(
        ["bash", "-c", 'printf \'%s\' "$ID|$TS" | openssl dgst -sha256 -sign "$KEY" | base64 -w0'],
        env={**os.environ, "ID": client_id, "TS": ts, "KEY": str(key_path)},
        stdout=subprocess.PIPE, check=True, text=True).stdout


@pytest.mark.parametrize("form", ["pkcs8", "pkcs1", "bare"])
def test_signature_equals_openssl_cli(keys, form):
    ts = doku_snap.timestamp()
    expected = openssl_signature(keys.pkcs8, ID, ts)
    text = getattr(keys, form).read_text()
    assert doku_snap.sign(ID, ts, text) == expected
    assert doku_snap.sign(ID, ts, text.encode()) == expected  # bytes are accepted too


def test_signature_of_non_ascii_input(keys):
    cid, ts = "MCH-ü-€", "2024-01-02T03:04:05+07:00"
    assert doku_snap.sign(cid, ts, keys.pkcs1.read_text()) == openssl_signature(keys.pkcs8, cid, ts)


def test_timestamp_and_version():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doku_snap.timestamp())
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", doku_snap.version())
    assert doku_snap.__version__ == doku_snap.version()
