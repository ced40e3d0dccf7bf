"""Builds libdoku with cargo and bundles it in the doku_snap package.

Why not setuptools-rust: its NoBinding mode runs `cargo rustc --crate-type cdylib`, which
fingerprints differently from the Makefile's `cargo build --release --lib`, so the two would
rebuild (full LTO) over each other in the shared target dir; it also names the file after the
CPython ABI although the library does not use it. Here we run the Makefile's exact command
(a no-op when `make build` already ran) and tag the wheel py3-none-<platform>.

Where the crate is: the sdist carries it in rust/ (made by `cargo package`, with its Cargo.lock,
so it is built --locked); in a checkout it is the repository root. DOKU_LIBDOKU=/path/to/libdoku.so
bundles that prebuilt library instead and runs no cargo: make dist's wheel carries the
self-contained build (OpenSSL built in) that scripts/dist-wheel.sh passes this way.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
from setuptools.command.build_py import build_py as _build_py

HERE = Path(__file__).resolve().parent
# The sdist's copy of the crate, else the repository root (a checkout).
IN_SDIST = (HERE / "rust" / "Cargo.toml").is_file()
CRATE = HERE / "rust" if IN_SDIST else HERE.parent.parent
MANIFEST = CRATE / "Cargo.toml"
SUFFIX = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")  # as _native.py loads it


def crate_version() -> str:
    text = MANIFEST.read_text(encoding="utf-8")
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', package, re.M).group(1)


def build_libdoku() -> Path:
    """Runs cargo and returns the cdylib it reports (this honours CARGO_TARGET_DIR and any
    cargo config target-dir without guessing paths)."""
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "build", "--release", "--lib", "--manifest-path", str(MANIFEST),
           "--message-format=json-render-diagnostics"]
    if IN_SDIST:  # the dependency versions this release was tested with, exactly
        cmd.append("--locked")
    print(" ".join(cmd), file=sys.stderr)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    except FileNotFoundError:
        sys.exit(f"doku-snap: `{cargo}` not found: building libdoku needs a Rust toolchain (https://rustup.rs)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"doku-snap: cargo failed to build libdoku (exit {e.returncode}); see its output above")
    for line in proc.stdout.splitlines():
        msg = json.loads(line) if line.startswith("{") else {}
        if msg.get("reason") == "compiler-artifact" and "cdylib" in msg["target"]["kind"]:
            for name in msg["filenames"]:
                if Path(name).suffix in (".so", ".dylib", ".dll"):
                    return Path(name)
    sys.exit("doku-snap: cargo built no cdylib for the doku crate")


class build_py(_build_py):
    def run(self):
        super().run()
        prebuilt = os.environ.get("DOKU_LIBDOKU")
        if prebuilt:
            lib = Path(prebuilt)
            if not lib.is_file():
                sys.exit(f"doku-snap: DOKU_LIBDOKU is {prebuilt}, which is not a file")
            print(f"doku-snap: bundling {lib} (DOKU_LIBDOKU), not building one", file=sys.stderr)
        elif not MANIFEST.is_file():
            sys.exit(f"doku-snap: the Rust crate is not at {MANIFEST}: build from a checkout "
                     "of the doku-snap repository (pip install ./bindings/python) or from the sdist")
        else:
            lib = build_libdoku()
        # Editable installs import from src/, regular builds from build_lib.
        base = HERE / "src" if getattr(self, "editable_mode", False) else Path(self.build_lib)
        dest = base / "doku_snap" / ("libdoku" + SUFFIX)
        # Copy the bytes rather than hard-link: cargo rewrites target/ in place on later builds.
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)


class BinaryDistribution(Distribution):
    """Carries a native library: a platform (non-pure) wheel, installed to platlib."""

    def has_ext_modules(self):
        return True


class bdist_wheel(_bdist_wheel):
    """For any Python 3 on this platform: the library is loaded with ctypes and does not
    depend on the CPython ABI, so py3-none-<platform> rather than cp311-cp311-<platform>."""

    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(version=crate_version(), distclass=BinaryDistribution,
      cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel})
