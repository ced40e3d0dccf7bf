# doku-snap. `make demo` and `make test` set up everything they need on a fresh Debian machine
# (as root): apt packages, a Python venv, the Rust build. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:

CARGO ?= cargo
PREFIX ?= /usr/local
RELEASE := target/release
C_TESTS := target/c-tests
VENV := .venv
APT_PACKAGES := php-cli php-fpm php-curl php-psr-log phpunit valgrind clang-format shellcheck redis-server nodejs npm lintian composer zip unzip libcap2-bin
export CARGO_TERM_COLOR := never

FUZZ_TARGETS := config key token_response minify jwt sandbox_request timestamp issue_token
FUZZ_SECONDS ?= 20

.PHONY: all deps lint build python check-header c-tests test demo bench soak fuzz fuzz-smoke audit install dist dist-test clean

all: build

# apt: php-cli, php-fpm, php-curl (the official SDK's transport, in make bench), php-psr-log (the
# PHP binding's setLogger() tests), phpunit, valgrind, clang-format and shellcheck (`make lint`),
# redis-server (the token store's tests start their own), nodejs and npm (DOKU's Node SDK, in the
# interop tests: installed from npm, as the Python SDK from PyPI), lintian (make dist's Debian packages),
# composer, zip and unzip (make dist's composer package: built, installed in its test), libcap2-bin
# (setcap: the wheel's test runs Python with a capability),
# only when something is missing; a venv with pytest.
deps:
	@if ! command -v valgrind >/dev/null || ! command -v php >/dev/null || ! command -v phpunit >/dev/null \
			|| ! ls /usr/sbin/php-fpm* >/dev/null 2>&1 || ! php -m 2>/dev/null | grep -x curl >/dev/null \
			|| [ ! -f /usr/share/php/Psr/Log/LoggerInterface.php ] \
			|| ! command -v clang-format >/dev/null || ! command -v shellcheck >/dev/null \
			|| ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null \
			|| ! command -v node >/dev/null || ! command -v npm >/dev/null || ! command -v lintian >/dev/null \
			|| ! command -v composer >/dev/null || ! command -v zip >/dev/null || ! command -v unzip >/dev/null \
			|| ! command -v setcap >/dev/null; then
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PACKAGES)
	fi
	if [ ! -x $(VENV)/bin/pytest ]; then
		python3 -m venv $(VENV)
		$(VENV)/bin/pip install -q pytest
	fi

# The Rust sources as rustfmt.toml says (the fuzz crate too), the C and C++ sources as
# .clang-format says; every shell script clean under shellcheck.
lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path tests/fuzz/Cargo.toml --check
	@bash scripts/check-format.sh
	bash scripts/check-shell.sh

# The workspace: libdoku (the root package, the shipped library and nothing else), the sandbox
# and libdoku_test (the C tests' library). No order, no features.
build:
	@mkdir -p target
	cp include/doku.h target/doku.h.committed
	cp bindings/php/doku.h target/doku-php.h.committed
	$(CARGO) build --release --workspace
	# Programs linked against target/release record the SONAME: let the loader find it there.
	soname=$$(readelf -d $(RELEASE)/libdoku.so | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	ln -sf libdoku.so $(RELEASE)/$$soname

# The Python binding, installed into the venv; it bundles the libdoku.so that `build` made.
python: deps build
	@$(VENV)/bin/pip install -q ./bindings/python

# build.rs regenerates include/doku.h and bindings/php/doku.h with the pinned cbindgen; the
# committed copies must match.
check-header: build
	@bash scripts/check-header.sh

# The C and C++ test programs, for tests/c_api.rs (DOKU_C_TESTS).
c-tests: build
	@bash scripts/build-c-tests.sh $(C_TESTS)

test: deps lint check-header python c-tests
	@DOKU_C_TESTS=$(CURDIR)/$(C_TESTS) DOKU_REQUIRE_C_TESTS=1 DOKU_REQUIRE_VALGRIND=1 $(CARGO) test --workspace
	bash scripts/check-exports.sh
	python3 scripts/abi.py check $(RELEASE)/libdoku.so
	$(MAKE) -s dist-test
	bash scripts/test-install.sh
	$(VENV)/bin/pytest bindings/python/tests -q
	DOKU_REQUIRE_PHP_FPM=1 php -d ffi.enable=1 /usr/bin/phpunit -c bindings/php/phpunit.xml
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# The code only the self-contained build compiles (make dist built its dependencies there).
	$(CARGO) clippy --release --lib --features vendored-openssl --target-dir target/vendored -- -D warnings
	# The fuzz targets compile (cargo-fuzz builds them with --cfg fuzzing); make fuzz-smoke runs them.
	RUSTFLAGS="--cfg fuzzing" $(CARGO) check --manifest-path tests/fuzz/Cargo.toml --bins --locked

# The sandbox with TLS on a free loopback port, a throwaway key pair, then the C, C++, Python and
# PHP examples.
demo: deps build python
	@bash scripts/demo.sh

bench: deps build python
	@bash tests/bench/run.sh

# 8 threads × 10 minutes against 2 s tokens; appends the run to BENCHMARKS.md. Not in CI.
soak: build
	@bash tests/bench/soak.sh

# cargo-deny: licenses, bans and sources always; advisories when the RustSec database (on
# GitHub) can be fetched, which this project's build machines cannot.
audit:
	@command -v cargo-deny >/dev/null || $(CARGO) install cargo-deny --locked
	$(CARGO) deny --config .ci/deny.toml check bans licenses sources
	$(CARGO) deny --config .ci/deny.toml check advisories || echo "advisories: not checked (the RustSec database could not be fetched)" >&2

# libFuzzer through cargo-fuzz, on stable Rust. fuzz-smoke: each target for 20 s;
# `make fuzz FUZZ_SECONDS=600` for the long runs.
fuzz fuzz-smoke:
	@CARGO='$(CARGO)' bash scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Packages that install without a toolchain, into dist/ with their SHA256SUMS: the Debian
# packages (libdoku<ABI>, libdoku-dev; the system's OpenSSL), and the Python wheel and the
# composer package, which carry SELF_CONTAINED (OpenSSL built in, its symbols private), and the
# Python sdist. dist-test installs and checks each one as a user would (as root).
SELF_CONTAINED := target/vendored/release/libdoku.so

$(SELF_CONTAINED): build
	$(CARGO) build --release --lib --features vendored-openssl --target-dir target/vendored

dist: deps build $(SELF_CONTAINED)
	@rm -rf dist
	bash scripts/dist-deb.sh
	bash scripts/dist-wheel.sh $(SELF_CONTAINED)
	bash scripts/dist-composer.sh $(SELF_CONTAINED)
	(cd dist && sha256sum -- * >SHA256SUMS)

dist-test: dist
	(cd dist && sha256sum --quiet -c SHA256SUMS)
	bash scripts/test-deb.sh
	bash scripts/test-wheel.sh
	bash scripts/test-composer.sh

# libdoku.so.VERSION with its SONAME and libdoku.so symlinks, libdoku.a, doku.h, doku.pc.
install: build
	@PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' bash scripts/install.sh

clean:
	@$(CARGO) clean
	rm -rf $(VENV)
