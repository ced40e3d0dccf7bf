#!/usr/bin/env bash
# `make dist`, the Debian part: dist/libdoku<ABI>_<VERSION>_<ARCH>.deb (the shared library under
# its SONAME) and dist/libdoku-dev_<VERSION>_<ARCH>.deb (doku.h, doku.hpp, libdoku.a, the
# unversioned symlink, doku.pc), built with dpkg-deb from `make build`'s release artifacts, for
# the system's OpenSSL 3 (libssl3). scripts/test-deb.sh installs and checks them.
set -euo pipefail
cd "$(dirname "$0")/.."
release=target/release
work=target/dist/deb
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
soname=$(readelf -d "$release/libdoku.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
abi=${soname#libdoku.so.}
arch=$(dpkg --print-architecture)
multiarch=$(gcc -print-multiarch)
runtime=libdoku$abi
maintainer="doku-snap developers <doku-snap@users.noreply.github.com>"
if [ -z "$version" ] || [ -z "$soname" ]; then
    echo "dist-deb: no version or SONAME; run make build" >&2
    exit 1
fi
rm -rf "$work" && mkdir -p "$work" dist
# The newest glibc symbol version the library uses is the libc6 it needs.
glibc=$(objdump -T "$release/libdoku.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)

# DEP-5, from Cargo.toml's license (MIT OR Apache-2.0).
copyright() {
    cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: doku-snap
Source: https://github.com/doku-snap/doku-snap

Files: *
Copyright: 2026 doku-snap developers
License: MIT or Apache-2.0

License: Apache-2.0
 On Debian systems, the complete text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of
 this software and associated documentation files (the "Software"), to deal in
 the Software without restriction, including without limitation the rights to
 use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
 the Software, and to permit persons to whom the Software is furnished to do so,
 subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all
 copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
 FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
 COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
 IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF
}

# The documentation every package carries: its copyright and a changelog (native: changelog.gz).
docs() {
    local root=$1 package=$2
    install -d "$root/usr/share/doc/$package"
    copyright >"$root/usr/share/doc/$package/copyright"
    printf '%s (%s) unstable; urgency=medium\n\n  * Upstream release %s: see CHANGELOG.md.\n\n -- %s  %s\n' \
        "$package" "$version" "$version" "$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}")" |
        gzip -9n >"$root/usr/share/doc/$package/changelog.gz"
}

# DEBIAN/control and md5sums, then the package, owned by root.
build() {
    local root=$1 package=$2 section=$3 depends=$4 description=$5
    install -d "$root/DEBIAN"
    cat >"$root/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: $maintainer
Section: $section
Priority: optional
Multi-Arch: same
Depends: $depends
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Homepage: https://github.com/doku-snap/doku-snap
Description: $description
EOF
    (cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
    dpkg-deb --root-owner-group -Zxz --build "$root" "dist/${package}_${version}_${arch}.deb" >/dev/null
    echo "dist/${package}_${version}_${arch}.deb"
}

# The runtime package: the library under its SONAME; ldconfig runs when it comes and goes.
r=$work/$runtime
install -d "$r/usr/lib/$multiarch"
install -m 0644 "$release/libdoku.so" "$r/usr/lib/$multiarch/libdoku.so.$version"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$r/usr/lib/$multiarch/libdoku.so.$version"
ln -s "libdoku.so.$version" "$r/usr/lib/$multiarch/$soname"
docs "$r" "$runtime"
install -d "$r/DEBIAN"
echo "libdoku $abi $runtime (>= $version)" >"$r/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$r/DEBIAN/triggers"
build "$r" "$runtime" libs "libc6 (>= $glibc), libgcc-s1 (>= 4.2), libssl3 (>= 3.0.0)" \
    "DOKU SNAP payment API core (shared library)
 libdoku signs and caches DOKU's SNAP B2B tokens, signs and sends every SNAP
 operation (virtual accounts, Direct Debit) with its checks, and verifies what
 DOKU sends a merchant, over the system's OpenSSL 3.
 .
 This package holds the shared library ($soname)."

# The development package: headers, the static library, the link-time symlink and pkg-config.
d=$work/libdoku-dev
install -d "$d/usr/include" "$d/usr/lib/$multiarch/pkgconfig"
install -m 0644 include/doku.h bindings/cpp/doku.hpp "$d/usr/include/"
install -m 0644 "$release/libdoku.a" "$d/usr/lib/$multiarch/libdoku.a"
strip --strip-debug "$d/usr/lib/$multiarch/libdoku.a"
ln -s "$soname" "$d/usr/lib/$multiarch/libdoku.so"
sed -e "s|@PREFIX@|/usr|" -e "s|@LIBDIR@|\${prefix}/lib/$multiarch|" -e "s|@VERSION@|$version|" bindings/c/doku.pc.in \
    >"$d/usr/lib/$multiarch/pkgconfig/doku.pc"
docs "$d" libdoku-dev
build "$d" libdoku-dev libdevel "$runtime (= $version), libssl-dev" \
    "DOKU SNAP payment API core (development files)
 libdoku signs and caches DOKU's SNAP B2B tokens, signs and sends every SNAP
 operation (virtual accounts, Direct Debit) with its checks, and verifies what
 DOKU sends a merchant, over the system's OpenSSL 3.
 .
 This package holds doku.h, the C++ header doku.hpp, the static library and
 doku.pc for pkg-config."
