"""DOKU's official Python SDK (doku-python-library, from PyPI) against doku-sandbox, as the SDK's
README uses it, only its base URL changed (tests/interop/python_sdk.py drives it). Installed in a
throwaway venv of its own under target/interop (pinned, kept between runs).

What it found about the SDK is asserted as such, so that a fixed SDK makes the test say so:
- its package does not declare three modules it imports (flask, xmltodict, pycryptodome's
  Crypto): `pip install doku-python-library` alone gives an SDK that cannot be imported;
- its token-expiry check is inverted (TokenService.is_token_expired answers "expired" for a fresh
  token), so it fetches a new token before every call.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Sandbox, _binary, openssl

SDK = "doku-python-library==1.1.72"
# Imported by the SDK but not in its requirements (found by importing it).
UNDECLARED = ["flask==3.1.3", "xmltodict==1.0.4", "pycryptodome==4.4.0"]
CLIENT, SECRET = "py-official-sdk", "SK-py-official-sdk"


def sdk_python() -> Path:
    """The SDK's own interpreter: a venv under target/interop, made on first use."""
    venv = REPO / "target" / "interop" / ("python-" + SDK.replace("==", "-"))
    python = venv / "bin" / "python"
    ready = venv / ".installed"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", SDK], check=True)
        # As installed from PyPI, the SDK cannot even be imported: checked before completing it.
        bare = subprocess.run([str(python), "-c", "import doku_python_library"], capture_output=True, text=True)
        assert "ModuleNotFoundError" in bare.stderr, "the SDK now declares what it imports: drop UNDECLARED"
        subprocess.run([str(python), "-m", "pip", "install", "-q", *UNDECLARED], check=True)
        ready.write_text(SDK + "\n")
    return python


@pytest.fixture
def sdk_sandbox(keys, tmp_path: Path):
    sb = Sandbox(_binary(), tmp_path, ["--quiet", "--tls-dir", str(tmp_path / "tls"), "--client", f"{CLIENT}={keys.public}",
                                       "--secret", f"{CLIENT}={SECRET}"])
    yield sb
    sb.stop()


def test_the_official_python_sdk_gets_tokens_and_creates_a_va(sdk_sandbox, keys, tmp_path):
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"))
    doku_public = Path(sdk_sandbox.ca_file).parent / "doku-public.pem"
    driver = REPO / "tests" / "interop" / "python_sdk.py"
    run = subprocess.run(
        [str(sdk_python()), str(driver), sdk_sandbox.url, CLIENT, str(keys.pkcs8), str(wrong), SECRET, str(doku_public)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "REQUESTS_CA_BUNDLE": sdk_sandbox.ca_file, "NO_PROXY": "127.0.0.1,localhost"})
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {"token": "2007300", "token_type": "str", "wrong_key_token": "4017300",
                    "create_va": ["2002700", "Successful"]}, seen
    # One token for the SDK, one refused for the wrong key, and one more before create_va although
    # the first was seconds old: the SDK's inverted expiry check.
    assert sdk_sandbox.requests(CLIENT) == 3
