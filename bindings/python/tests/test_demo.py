import os
import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def run_demo(**env):
    return subprocess.run([sys.executable, str(DEMO)], env={**os.environ, **env}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_demo_prints_one_line(tls_sandbox, keys):
    r = run_demo(DOKU_BASE_URL=tls_sandbox.url, DOKU_CLIENT_ID="py-demo",
                 DOKU_PRIVATE_KEY_FILE=str(keys.pkcs8), DOKU_CA_FILE=tls_sandbox.ca_file, NO_PROXY="*")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"python: got token eyJ[\w-]{7}\.\.\. \(expires in 9\d\d s\)\n", r.stdout), r.stdout


def test_demo_reports_errors(tls_sandbox, keys):
    r = run_demo(DOKU_BASE_URL=tls_sandbox.url, DOKU_CLIENT_ID="py-nobody",
                 DOKU_PRIVATE_KEY_FILE=str(keys.pkcs8), DOKU_CA_FILE=tls_sandbox.ca_file, NO_PROXY="*")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("python: ApiError (4017300): DOKU answered HTTP 401")
