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
APT_PACKAGES := php-cli php-fpm php-curl phpunit valgrind
export CARGO_TERM_COLOR := never

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

FUZZ_TARGETS := config key token_response minify jwt sandbox_request timestamp issue_token
FUZZ_SECONDS ?= 20

.PHONY: all deps build python check-header c-tests test demo bench soak fuzz fuzz-smoke audit install clean

all: build

# apt: php-cli, php-fpm, php-curl (the official SDK's transport, in make bench), phpunit, valgrind
# (only when something is missing); a venv with pytest.
deps:
	@if ! command -v valgrind >/dev/null || ! command -v php >/dev/null || ! command -v phpunit >/dev/null \
			|| ! ls /usr/sbin/php-fpm* >/dev/null 2>&1 || ! php -m 2>/dev/null | grep -x curl >/dev/null; then
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PACKAGES)
	fi
	if [ ! -x $(VENV)/bin/pytest ]; then
		python3 -m venv $(VENV)
		$(VENV)/bin/pip install -q pytest
	fi

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
	@for pair in doku.h:include/doku.h doku-php.h:bindings/php/doku.h; do
		saved=target/$${pair%%:*}.committed; generated=$${pair#*:}
		if ! cmp -s $$saved $$generated; then
			diff -u $$saved $$generated || true
			echo "$$generated drifted from what cbindgen generates: commit the regenerated header" >&2
			exit 1
		fi
	done
	echo "include/doku.h and bindings/php/doku.h match cbindgen's output"

# The C and C++ test programs, for tests/c_api.rs (DOKU_C_TESTS).
c-tests: build
	@bash scripts/build-c-tests.sh $(C_TESTS)

test: deps check-header python c-tests
	@DOKU_C_TESTS=$(CURDIR)/$(C_TESTS) DOKU_REQUIRE_C_TESTS=1 DOKU_REQUIRE_VALGRIND=1 $(CARGO) test --workspace
	bash scripts/check-exports.sh
	bash scripts/test-install.sh
	$(VENV)/bin/pytest bindings/python/tests -q
	DOKU_REQUIRE_PHP_FPM=1 php -d ffi.enable=1 /usr/bin/phpunit -c bindings/php/phpunit.xml
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The sandbox with TLS on a free loopback port, a throwaway key pair, then the C example.
demo: deps build python
	@demo=target/demo
	rm -rf $$demo && mkdir -p $$demo
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $$demo/private.pem 2>/dev/null
	openssl pkey -in $$demo/private.pem -pubout -out $$demo/public.pem
	$(RELEASE)/doku-sandbox --listen 127.0.0.1:0 --tls-dir $$demo/tls \
		--client demo-merchant=$$demo/public.pem > $$demo/sandbox.out 2> $$demo/sandbox.log &
	sandbox=$$!
	trap 'kill $$sandbox 2>/dev/null || true' EXIT
	for _ in $$(seq 100); do grep -q '^listening on ' $$demo/sandbox.out && break; sleep 0.1; done
	url=$$(sed -n 's/^listening on //p' $$demo/sandbox.out | head -1)
	test -n "$$url" || { cat $$demo/sandbox.log; echo "the sandbox did not start" >&2; exit 1; }
	echo "sandbox: $$url"
	cc -std=c99 -Wall -Wextra -Werror -Iinclude bindings/c/example.c -L$(RELEASE) -Wl,-rpath,$(CURDIR)/$(RELEASE) -ldoku -o $$demo/example-c
	export DOKU_BASE_URL=$$url DOKU_CLIENT_ID=demo-merchant DOKU_PRIVATE_KEY_FILE=$$demo/private.pem DOKU_CA_FILE=$$demo/tls/ca.pem
	c++ -std=c++17 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp bindings/cpp/example.cpp -L$(RELEASE) -Wl,-rpath,$(CURDIR)/$(RELEASE) -ldoku -o $$demo/example-cpp
	$$demo/example-c
	$$demo/example-cpp
	$(VENV)/bin/python bindings/python/examples/demo.py
	php -d ffi.enable=1 bindings/php/examples/demo.php
	echo "sandbox log: $$(head -1 $$demo/sandbox.log)"

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

# libFuzzer through cargo-fuzz, on stable Rust (RUSTC_BOOTSTRAP=1 allows the -Z flags it uses).
# fuzz-smoke: each target for 20 s; `make fuzz FUZZ_SECONDS=600` for the long runs.
fuzz fuzz-smoke:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	for t in $(FUZZ_TARGETS); do
		mkdir -p tests/fuzz/corpus/$$t target/fuzz-corpus/$$t
		echo "fuzzing $$t for $(FUZZ_SECONDS) s"
		# New inputs go to target/; the committed seed corpus stays as it is.
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --fuzz-dir tests/fuzz -O $$t target/fuzz-corpus/$$t tests/fuzz/corpus/$$t \
			-- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -print_final_stats=1 2>&1 | grep -E '^Done|stat::number_of_executed_units|ERROR|panicked' || true
		test -z "$$(ls tests/fuzz/artifacts/$$t 2>/dev/null)" || { echo "fuzz target $$t found a crash: tests/fuzz/artifacts/$$t" >&2; exit 1; }
	done

# libdoku.so.VERSION with its SONAME and libdoku.so symlinks, libdoku.a, doku.h, doku.pc.
install: build
	@lib=$(DESTDIR)$(PREFIX)/lib
	soname=$$(readelf -d $(RELEASE)/libdoku.so | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	install -d $$lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(RELEASE)/libdoku.so $$lib/libdoku.so.$(VERSION)
	ln -sf libdoku.so.$(VERSION) $$lib/$$soname
	ln -sf $$soname $$lib/libdoku.so
	install -m 0644 $(RELEASE)/libdoku.a $$lib/libdoku.a
	install -m 0644 include/doku.h $(DESTDIR)$(PREFIX)/include/doku.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' bindings/c/doku.pc.in > $$lib/pkgconfig/doku.pc
	echo "installed libdoku $(VERSION) ($$soname) into $(DESTDIR)$(PREFIX)"

clean:
	@$(CARGO) clean
	rm -rf $(VENV)
