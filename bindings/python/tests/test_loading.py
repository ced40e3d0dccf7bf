"""Where the library comes from: DOKU_LIBRARY first, else the bundled copy, else ImportError."""

import os
import subprocess
import sys

import pytest

import doku_snap
from doku_snap import _native

PROBE = "import doku_snap, doku_snap._native as n; print(n.lib._name)"


def run(env_library):
    env = {k: v for k, v in os.environ.items() if k != "DOKU_LIBRARY"}
    if env_library is not None:
        env["DOKU_LIBRARY"] = env_library
    return subprocess.run([sys.executable, "-c", PROBE], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_doku_library_wins(tmp_path):
    import shutil
    copy = tmp_path / "libdoku-copy.so"
    shutil.copyfile(_native.lib._name, copy)
    r = run(str(copy))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(copy)


def test_bad_doku_library_is_an_import_error(tmp_path):
    r = run(str(tmp_path / "missing.so"))
    assert r.returncode != 0
    assert "ImportError: doku_snap: cannot load libdoku from" in r.stderr
    assert "DOKU_LIBRARY" in r.stderr


@pytest.mark.skipif(not _native.BUNDLED.is_file(), reason="running against DOKU_LIBRARY, nothing bundled")
def test_bundled_library_is_the_default():
    r = run(None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(_native.BUNDLED)


def test_every_function_is_declared():
    for name in _native._FUNCTIONS:
        fn = getattr(_native.lib, name)
        assert fn.argtypes is not None
    assert isinstance(doku_snap.version(), str)
