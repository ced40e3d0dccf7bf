//! The C ABI from C and C++, against in-process sandboxes. The programs are built by the build
//! system (`make c-tests`, scripts/build-c-tests.sh), not here: this driver finds them in
//! DOKU_C_TESTS, runs them under valgrind memcheck (0 errors, nothing definitely lost) or as
//! built with the sanitizers, and then checks what the sandboxes saw on the wire (the 32-thread
//! stampede made exactly one request, the cache reuse made none). Without DOKU_C_TESTS the tests
//! are skipped, unless DOKU_REQUIRE_C_TESTS is set (`make test` sets both).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{openssl, TestDir};
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig};

/// A program built by scripts/build-c-tests.sh, or `None` (the test is then skipped) when the
/// build system did not build them for this run.
fn program(name: &str) -> Option<PathBuf> {
    match std::env::var_os("DOKU_C_TESTS") {
        Some(dir) => {
            let exe = Path::new(&dir).join(name);
            assert!(exe.is_file(), "{} is missing: run `make c-tests`", exe.display());
            Some(exe)
        }
        None => {
            assert!(std::env::var_os("DOKU_REQUIRE_C_TESTS").is_none(), "DOKU_C_TESTS is unset: run `make c-tests` (make test does)");
            eprintln!("skipped: {name} is built by `make c-tests` (set DOKU_C_TESTS to its directory)");
            None
        }
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn version_macros_match_cargo_toml() {
    // Read Cargo.toml itself rather than trusting env!: this is what a release bump edits.
    let toml = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let version = toml.lines().find_map(|l| l.strip_prefix("version = \"").and_then(|v| v.strip_suffix('"'))).expect("version in Cargo.toml");
    let header = std::fs::read_to_string(manifest_dir().join("include/doku.h")).unwrap();
    assert!(header.contains(&format!("#define DOKU_VERSION \"{version}\"")), "doku.h DOKU_VERSION != {version}");
    let parts: Vec<&str> = version.split('.').collect();
    for (name, value) in ["MAJOR", "MINOR", "PATCH"].iter().zip(parts) {
        assert!(header.contains(&format!("#define DOKU_VERSION_{name} {value}\n")), "DOKU_VERSION_{name}");
    }
    // And the library itself (the C test also compares doku_version() with DOKU_VERSION).
    let lib = unsafe { std::ffi::CStr::from_ptr(doku::ffi::doku_version()) };
    assert_eq!(lib.to_str().unwrap(), version);
}

/// Keys, an http sandbox with every fault client the C tests use, and an https one.
struct Fixture {
    dir: TestDir,
    keys: PathBuf,
    sandbox: Sandbox,
    tls: Sandbox,
    /// Accepts X-TIMESTAMPs up to an hour off: test_suspend.c moves its own wall clock.
    suspend: Sandbox,
    closed_url: String,
    expired_url: String,
    hangup_url: String,
    /// For the token store checks (redis-server with a password).
    redis: common::redis::Redis,
}

fn fixture(name: &str) -> Fixture {
    let dir = TestDir::new(name);
    let keys = prepare_keys(&dir);
    let public = doku::key::PublicKey::parse(&std::fs::read_to_string(keys.join("public.pem")).unwrap()).unwrap();
    let public_for_suspend = public.clone();
    let other = doku::key::PublicKey::parse(&std::fs::read_to_string(keys.join("other-public.pem")).unwrap()).unwrap();
    let plain: &[&str] = &[
        "c-ok",
        "c-format-0",
        "c-format-1",
        "c-format-2",
        "c-wib",
        "c-stampede",
        "c-va",
        "c-fork",
        "c-proxied",
        "c-log",
        "c-log-thread",
        "c-log-level",
        "c-log-slow",
        "c-log-fork",
        "c-log-slow-fork",
        "c-log-cpp",
        "c-store-0",
        "c-store-1",
        "c-ops",
    ];
    let faults: &[(&str, &str)] = &[
        ("c-expstr", "expires-string"),
        ("c-ttl", "ttl:20"),
        ("c-clock", "clock:+600"),
        ("c-error200", "error200"),
        ("c-http500", "http500"),
        ("c-badjson", "badjson"),
        ("c-notoken", "notoken"),
        ("c-huge", "huge"),
        ("c-reset", "reset"),
        ("c-delay", "delay:3000"),
        ("c-stall", "stall-body"),
        ("c-badexpiry", "bad-expiry"),
        ("c-quick", "delay:300"),
        // Long enough that all 32 threads pile up behind the one request.
        ("c-stampede", "delay:300"),
        ("c-liar", "overlong"),
        ("c-down", "ttl:8"),
        ("c-down", "down-after:1"),
        ("c-log-fail", "http500"),
        ("c-log-clock", "clock:+600"),
        ("c-log-down", "ttl:8"),
        ("c-log-down", "down-after:1"),
        // test_operations.c: a payment's answer later than a 600 ms client waits.
        ("c-slow", "delay:1500"),
    ];
    let mut clients: Vec<(String, doku::key::PublicKey)> = plain.iter().map(|id| (id.to_string(), public.clone())).collect();
    let mut faulted: Vec<&str> = faults.iter().map(|(id, _)| *id).filter(|id| !plain.contains(id)).collect();
    faulted.dedup();
    clients.extend(faulted.into_iter().map(|id| (id.to_string(), public.clone())));
    clients.push(("c-badsig".into(), other));
    let sandbox = Sandbox::start(SandboxConfig {
        clients,
        faults: faults.iter().map(|(id, f)| (id.to_string(), f.parse::<Fault>().unwrap())).collect(),
        secrets: vec![
            ("c-va".into(), "va-secret".into()),
            ("c-fork".into(), "va-secret".into()),
            ("c-ops".into(), "ops-secret".into()),
            ("c-slow".into(), "ops-secret".into()),
        ],
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    // c-ops: the shared run of every operation (DOKU_TEST_OPERATIONS), from C and from C++.
    let tls = Sandbox::start(SandboxConfig {
        clients: ["c-ok", "c-fork", "c-liar", "c-ops"].iter().map(|id| (id.to_string(), public.clone())).collect(),
        secrets: vec![("c-fork".into(), "va-secret".into()), ("c-ops".into(), "ops-secret".into())],
        faults: vec![("c-liar".into(), Fault::Overlong)],
        tls_dir: Some(dir.path("tls")),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let suspend = Sandbox::start(SandboxConfig {
        clients: vec![("c-suspend".into(), public_for_suspend)],
        max_skew: 3600,
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let closed_url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let expired_url = common::servers::expired_certificate(&dir.path("expired-ca.pem"));
    let hangup_url = common::servers::hangs_up_mid_handshake();
    let redis = common::redis::Redis::start(&dir.path(""), None);
    Fixture { dir, keys, sandbox, tls, suspend, closed_url, expired_url, hangup_url, redis }
}

/// How a test program is checked for memory errors and leaks.
#[derive(Clone, Copy, PartialEq)]
enum Checker {
    Valgrind,
    /// -fsanitize=address,undefined (LeakSanitizer included).
    Sanitizers,
}

/// Runs a test program under valgrind memcheck (required by `make test`), or as built with the
/// sanitizers, with the fixture's environment; returns its output.
fn run_checked(f: &Fixture, exe: &Path, checker: Checker) -> String {
    let valgrind = checker == Checker::Valgrind && Command::new("valgrind").arg("--version").output().is_ok();
    if checker == Checker::Valgrind && !valgrind {
        assert!(std::env::var_os("DOKU_REQUIRE_VALGRIND").is_none(), "valgrind is required (make test installs it)");
        eprintln!("valgrind not found: running {} without it", exe.display());
    }
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args(["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--quiet"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.env("DOKU_TEST_URL", f.sandbox.url())
        .env("DOKU_TEST_TLS_URL", f.tls.url())
        .env("DOKU_TEST_SUSPEND_URL", f.suspend.url())
        .env("DOKU_TEST_CA", f.tls.ca_file().unwrap())
        .env("DOKU_TEST_CLOSED_URL", &f.closed_url)
        .env("DOKU_TEST_EXPIRED_URL", &f.expired_url)
        .env("DOKU_TEST_EXPIRED_CA", f.dir.path("expired-ca.pem"))
        .env("DOKU_TEST_HANGUP_URL", &f.hangup_url)
        .env("DOKU_TEST_DIR", &f.keys)
        .env("DOKU_TEST_REDIS", f.redis.url())
        // Run by test_operations.c and test_doku.cpp against the https sandbox.
        .env("DOKU_TEST_OPERATIONS", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/every-operation.tsv"))
        .env("DOKU_TEST_SLACK_MS", if valgrind { "4000" } else { "300" })
        .env("DOKU_TEST_REVOKE_CMD", format!("curl -sf -X POST '{}{}?client=c-va' >/dev/null", f.sandbox.url(), doku_sandbox::REVOKE_PATH))
        // Leaks and undefined behaviour fail the run; Rust's own globals are reachable, not leaks.
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=98")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    let output = run(&mut cmd, &exe.display().to_string());
    eprintln!("{output}");
    output
}

#[test]
fn c_api_under_valgrind() {
    let f = fixture("c-api");
    let Some(exe) = program("test_doku-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("checks passed"), "{output}");

    // What the server saw: the cache and single-flight claims, measured on the wire.
    let count = |id: &str| f.sandbox.token_requests(id);
    assert_eq!(count("c-stampede"), 1, "32 threads on a cold client must make one request");
    assert_eq!(count("c-ok"), 2, "first fetch + one after invalidate; the second client reused the cache");
    assert_eq!(count("c-ttl"), 2, "a 20 s token is refreshed after half its life");
    assert_eq!(count("c-expstr"), 1);
    assert_eq!(count("c-unknown"), 1);
    assert_eq!(f.tls.token_requests("c-ok"), 1, "the untrusted attempt never reached HTTP");
}

#[test]
fn c_transactions_under_valgrind() {
    let f = fixture("c-transactions");
    let Some(exe) = program("test_transactions-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("transaction checks passed"), "{output}");
    assert_eq!(f.sandbox.token_requests("c-va"), 2, "one token, and one more after the revocation's 4012701");
}

/// The operations catalog (tests/c/test_operations.c): doku_operations, doku_client_call's flows
/// and checks before sending, and DOKU_ERR_OUTCOME_UNKNOWN, against the fixture's sandbox.
#[test]
fn c_operations_under_valgrind() {
    let f = fixture("c-operations");
    let Some(exe) = program("test_operations-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("operations checks passed"), "{output}");
    // The checks before sending fetched no token (their client points where nothing listens),
    // and the slow clients shared one.
    assert_eq!((f.sandbox.token_requests("c-ops"), f.sandbox.token_requests("c-slow")), (1, 1));
    assert_eq!(f.tls.token_requests("c-ops"), 1, "the shared run of every operation, on one B2B token");
}

#[test]
fn c_reliability_under_valgrind() {
    let f = fixture("c-reliability");
    let Some(exe) = program("test_reliability-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("reliability checks passed"), "{output}");
    // The token fetched by the first parent serves every later client and every child.
    assert_eq!((f.sandbox.token_requests("c-fork"), f.tls.token_requests("c-fork")), (1, 1));
    assert_eq!(f.sandbox.token_requests("c-proxied"), 0, "the configured (closed) proxy was used, not the sandbox");
    assert_eq!(f.sandbox.token_requests("c-liar") + f.tls.token_requests("c-liar"), 6);
    assert_eq!(f.sandbox.token_requests("c-down"), 3, "the first fetch, one failed refresh, one failed fetch");
}

#[test]
fn c_log_callback_and_stats_under_valgrind() {
    let f = fixture("c-log");
    let Some(exe) = program("test_log-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("log checks passed"), "{output}");
    let count = |id: &str| f.sandbox.token_requests(id);
    assert_eq!(count("c-log"), 1, "the callbacks' own doku_get_token calls were served from the cache");
    assert_eq!(count("c-log-fail"), 4, "one failed fetch per call, none from the callbacks");
    assert_eq!(count("c-log-down"), 2, "the first fetch and the failed refresh");
    assert_eq!((count("c-log-fork"), count("c-log-thread"), count("c-log-slow")), (1, 1, 1));
}

#[test]
fn c_suspend_under_valgrind() {
    let f = fixture("c-suspend");
    let Some(exe) = program("test_suspend-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("suspend checks passed"), "{output}");
    assert_eq!(f.suspend.token_requests("c-suspend"), 2, "one token before the suspend, one after");
}

#[test]
fn c_hostile_inputs_under_valgrind() {
    let f = fixture("c-hostile");
    let Some(exe) = program("test_hostile-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("hostile-input checks passed"), "{output}");
}

#[test]
fn cpp_raii_layer_under_valgrind() {
    let f = fixture("cpp");
    let Some(exe) = program("test_doku-cpp-plain") else { return };
    let output = run_checked(&f, &exe, Checker::Valgrind);
    assert!(output.contains("C++ checks passed"), "{output}");
    assert_eq!(f.sandbox.token_requests("c-ok"), 2, "one fetch, one after invalidate_token()");
    for store in ["c-store-0", "c-store-1"] {
        assert_eq!(f.sandbox.token_requests(store), 1, "{store}: the second process read the stored token");
    }
    assert_eq!((f.sandbox.token_requests("c-log-cpp"), f.sandbox.token_requests("c-log-fail")), (1, 2));
    assert_eq!((f.sandbox.token_requests("c-ops"), f.sandbox.token_requests("c-slow")), (1, 1), "the hasty client shared the token");
    assert_eq!(f.tls.token_requests("c-ops"), 1, "the shared run of every operation, on one B2B token");
}

/// Every C and C++ test program, built with AddressSanitizer, LeakSanitizer and UBSan.
#[test]
fn c_and_cpp_under_sanitizers() {
    for (source, done) in [
        ("test_doku-asan", "checks passed"),
        ("test_transactions-asan", "transaction checks passed"),
        ("test_operations-asan", "operations checks passed"),
        ("test_hostile-asan", "hostile-input checks passed"),
        ("test_reliability-asan", "reliability checks passed"),
        ("test_suspend-asan", "suspend checks passed"),
        ("test_log-asan", "log checks passed"),
        ("test_doku-cpp-asan", "C++ checks passed"),
    ] {
        let Some(exe) = program(source) else { return };
        let f = fixture("asan");
        let output = run_checked(&f, &exe, Checker::Sanitizers);
        assert!(output.contains(done), "{source}: {output}");
        assert!(!output.contains("Sanitizer"), "{source}: {output}");
    }
}

/// No secret lingers in freed memory after doku_client_new or doku_issue_token
/// (tests/c/test_heap.c, one process per way of passing the key): the key's base64, the
/// passphrase and the client secret are wiped wherever the library copied them. The control frees an unwiped copy, proving that the
/// scan finds what is there.
#[test]
fn no_secret_lingers_in_freed_memory() {
    const PASSPHRASE: &str = "heap-scan-passphrase-7c1f";
    const SECRET: &str = "heap-scan-client-secret-93ad";
    let dir = TestDir::new("heap");
    let key = dir.path("pkcs8.pem");
    let k = key.to_str().unwrap();
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &key);
    openssl(&["pkcs8", "-topk8", "-in", k, "-v2", "aes-256-cbc", "-passout", &format!("pass:{PASSPHRASE}"), "-out"], &dir.path("enc.pem"));
    openssl(&["pkey", "-in", k, "-outform", "DER", "-out"], &dir.path("key.der"));
    let bare = dir.write("bare.b64", &common::base64_one_line(&std::fs::read(dir.path("key.der")).unwrap()));
    openssl(&["pkey", "-in", k, "-pubout", "-out"], &dir.path("public.pem"));
    let public = dir.path("public.pem");
    let public = public.to_str().unwrap();
    let Some(exe) = program("test_heap-plain") else { return };
    let found = |args: &[&str]| -> (usize, usize) {
        // No lazy binding: its trampoline saves the caller's vector registers, which held this
        // program's own copies of the key, on the stack (test_heap.c, scrub_stack).
        let out = run(Command::new(&exe).args(args).env("LD_BIND_NOW", "1"), &format!("test_heap {args:?}"));
        let counts = out.trim().strip_prefix("windows found: ").unwrap_or_else(|| panic!("{args:?}: {out}"));
        let (n, m) = counts.split_once(" of ").unwrap();
        (n.parse().unwrap(), m.parse().unwrap())
    };
    let enc = dir.path("enc.pem");
    let (hits, windows) = found(&["control", k]);
    assert!(windows > 1500 && hits > windows / 2, "the control's freed copy must be found: {hits} of {windows}");
    for args in [
        ["inline", k].as_slice(),
        &["file", k],
        &["inline", bare.to_str().unwrap()],
        &["inline", enc.to_str().unwrap(), PASSPHRASE, SECRET],
        &["file", enc.to_str().unwrap(), PASSPHRASE, SECRET],
        &["issue-inline", k, public],
        &["issue-file", k, public],
        &["issue-inline", enc.to_str().unwrap(), public, PASSPHRASE],
        &["issue-file", enc.to_str().unwrap(), public, PASSPHRASE],
        &["issue-swapped", k, public],
        &["issue-as-path", k, public],
    ] {
        let (hits, windows) = found(args);
        assert!(windows > 1500, "{args:?}: {windows} windows");
        assert_eq!(hits, 0, "{args:?}: {hits} of {windows} windows of secrets are left in freed memory");
    }
}

/// doku_free wipes what it frees: tokens and signatures come back to the library through it.
/// test_heap.c's own free() sees the signature's buffer as libdoku frees it.
#[test]
fn doku_free_wipes_the_string_it_frees() {
    let dir = TestDir::new("doku-free");
    let key = dir.path("pkcs8.pem");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &key);
    let Some(exe) = program("test_heap-plain") else { return };
    let out = run(Command::new(&exe).args(["doku_free", key.to_str().unwrap()]), "test_heap doku_free");
    assert_eq!(out.trim(), "doku_free wiped: yes");
}

/// Keys in every format, made by the openssl CLI, and the CLI's own signature to compare with.
fn prepare_keys(dir: &TestDir) -> PathBuf {
    let keys = dir.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let k = |name: &str| keys.join(name);
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &k("pkcs8.pem"));
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &k("other.pem"));
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out"], &k("rsa1024.pem"));
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"], &k("ec.pem"));
    let pkcs8 = k("pkcs8.pem");
    let p = pkcs8.to_str().unwrap();
    openssl(&["rsa", "-in", p, "-traditional", "-out"], &k("pkcs1.pem"));
    openssl(&["pkcs8", "-topk8", "-in", p, "-v2", "aes-256-cbc", "-passout", "pass:test-pass", "-out"], &k("encrypted.pem"));
    openssl(&["pkey", "-in", p, "-pubout", "-out"], &k("public.pem"));
    openssl(&["pkey", "-in", k("other.pem").to_str().unwrap(), "-pubout", "-out"], &k("other-public.pem"));
    openssl(&["pkey", "-in", p, "-outform", "DER", "-out"], &k("key.der"));
    std::fs::write(k("bare.b64"), common::base64_one_line(&std::fs::read(k("key.der")).unwrap())).unwrap();
    let sig = common::openssl_sign(&pkcs8, "MCH-TEST|2020-09-22T01:51:00Z");
    std::fs::write(k("expected.sig"), sig).unwrap();
    // The first known-answer case of tests/kat/snap_kat.py (Python's hmac/hashlib), as files.
    let kat = Command::new("python3").arg(manifest_dir().join("tests/kat/snap_kat.py")).output().expect("python3");
    let kat: serde_json::Value = serde_json::from_slice(&kat.stdout).expect("KAT vectors");
    let case = &kat["cases"][0];
    for (file, value) in [
        ("kat-body.json", &case["body"]),
        ("kat-minified.json", &case["minified"]),
        ("kat-signature.txt", &case["signature"]),
        ("kat-secret.txt", &kat["secret"]),
        ("kat-token.txt", &kat["token"]),
        ("kat-timestamp.txt", &kat["timestamp"]),
    ] {
        std::fs::write(k(file), value.as_str().unwrap()).unwrap();
    }
    assert!(std::fs::read_to_string(k("pkcs1.pem")).unwrap().contains("BEGIN RSA PRIVATE KEY"));
    assert!(std::fs::read_to_string(k("encrypted.pem")).unwrap().contains("BEGIN ENCRYPTED PRIVATE KEY"));
    keys
}

/// The merchant examples (bindings/c/merchant_server.c, bindings/cpp/merchant_server.cpp), each
/// one long-running server process, answer the sandbox acting as DOKU: the token request
/// (doku_issue_token, tokens of MERCHANT_TOKEN_TTL_S=2 s), the VA inquiry, the payment and the
/// Direct Debit notifications (doku_merchant_verify, doku_merchant_answer), then refuse the
/// probes: the replayed payment notification (409, which only a process that saw the first call
/// can tell), a stale and a forged one, and one with the expired token. An inquiry for a
/// customer number ending in 99 is answered 404 4042412 (no bill). With the wrong client secret
/// the first notification is refused with 4012500, and the report says why.
#[test]
fn merchant_examples_answer_dokus_calls() {
    let dir = TestDir::new("merchant");
    for name in ["merchant", "doku"] {
        let private = dir.path(&format!("{name}-private.pem"));
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &private);
        openssl(&["pkey", "-in", private.to_str().unwrap(), "-pubout", "-out"], &dir.path(&format!("{name}-public.pem")));
    }
    let (Some(c_server), Some(cpp_server)) = (program("merchant_server"), program("merchant_server-cpp")) else { return };
    // The sandbox plays DOKU with the key pair in `dir` (doku-private.pem / doku-public.pem).
    let sandbox = Sandbox::start(SandboxConfig {
        secrets: vec![("MCH-1".into(), "right-secret".into()), ("MCH-WRONG".into(), "wrong-secret".into())],
        doku_key_dir: Some(dir.path("")),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    for (what, exe) in [("C", &c_server), ("C++", &cpp_server)] {
        for client in ["MCH-1", "MCH-WRONG"] {
            let stderr = dir.path(&format!("{}-{client}.stderr", exe.file_name().unwrap().to_str().unwrap()));
            let mut server = Server(
                Command::new(exe)
                    .env("DOKU_PUBLIC_KEY_FILE", dir.path("doku-public.pem"))
                    .env("MERCHANT_PRIVATE_KEY_FILE", dir.path("merchant-private.pem"))
                    .env("MERCHANT_PUBLIC_KEY_FILE", dir.path("merchant-public.pem"))
                    .env("MERCHANT_CLIENT_ID", client)
                    .env("MERCHANT_CLIENT_SECRET", "right-secret")
                    .env("MERCHANT_TOKEN_TTL_S", "2")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::fs::File::create(&stderr).unwrap())
                    .spawn()
                    .unwrap(),
            );
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(server.0.stdout.as_mut().unwrap()), &mut line).unwrap();
            let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{what}: {line:?}")).to_owned();
            let mut config = sandbox.notify_config(&url, client).unwrap();
            let right = client == "MCH-1";
            if right {
                (config.inquire, config.debit, config.probe) = (true, true, true);
            }
            let report = doku_sandbox::notify::run(&config).unwrap();
            let no_bill = right.then(|| inquire_for_no_bill(&url, &config));
            drop(server);
            let log = std::fs::read_to_string(&stderr).unwrap();
            if right {
                // The steps and the summary every merchant gives (tests/fixtures).
                let expected: Vec<&str> = include_str!("fixtures/notify-full-run.txt").lines().collect();
                assert_eq!([report.step_lines(), vec![report.summary()]].concat(), expected, "{what}: {report:?}\n{log}");
                // Each notification recorded once: the replay was refused before the merchant saw it.
                let recorded = |op: &str| log.lines().filter(|l| l.starts_with(&format!("{op}: {{"))).count();
                assert_eq!((recorded("payment_notification"), recorded("debit_notification")), (1, 1), "{what}: {log}");
                let (status, body) = no_bill.unwrap();
                assert_eq!(status, 404, "{what}: {body}");
                let body: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["responseCode"], "4042412", "{what}: {body}");
                assert_eq!(body["responseMessage"], "Invalid Bill/Virtual Account", "{what}: {body}");
                assert_eq!(body["virtualAccountData"]["customerNo"], "00000000000000000099", "{what}: {body}");
            } else {
                assert_eq!(report.token.response_code.as_deref(), Some("2007300"), "{what}: {}", report.summary());
                assert_eq!(
                    report.step_lines(),
                    ["notify: token request: HTTP 200, 2007300", "notify: payment notification: HTTP 401, 4012500"],
                    "{what}"
                );
                let why = report.failure.clone().unwrap();
                let expected = "payment notification: the merchant answered HTTP 401 with 4012500: Unauthorized. Invalid Signature \
                                (expected HMAC-SHA512 over \"POST:/v1.1/transfer-va/payment:<access token>:";
                assert!(why.starts_with(expected), "{what}: {why}");
                let tail = "\" with the client secret of MCH-WRONG: it does not match the request and client secret) (expected HTTP 2xx and 2002500)";
                assert!(why.ends_with(tail), "{what}: {why}");
                assert!(!why.contains("right-secret") && !why.contains("wrong-secret") && !log.contains("right-secret"), "{what}: {why}\n{log}");
            }
        }
    }
}

/// The operations examples (bindings/c/operations.c, bindings/cpp/operations.cpp), configured
/// through the environment as `make demo` configures example.c, against a TLS sandbox: a virtual
/// account created, paid by the sandbox's simulator and found paid; a Direct Debit account bound,
/// the customer's token, a payment refunded and found refunded. One line per step, exit 0. Each
/// runs twice against the same sandbox: every run makes its own bill and payment.
#[test]
fn operations_examples_run_their_flows() {
    const SECRET: &str = "example-secret-41c9";
    let dir = TestDir::new("operations-examples");
    let key = dir.path("private.pem");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &key);
    openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout", "-out"], &dir.path("public.pem"));
    let (Some(c), Some(cpp)) = (program("operations"), program("operations-cpp")) else { return };
    let public = doku::key::PublicKey::parse(&std::fs::read_to_string(dir.path("public.pem")).unwrap()).unwrap();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: vec![("MCH-EXAMPLE".into(), public)],
        secrets: vec![("MCH-EXAMPLE".into(), SECRET.into())],
        tls_dir: Some(dir.path("tls")),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let steps = [
        "create_va: HTTP 200, 2002700",
        "check_status_va: HTTP 200, 2002600, Unpaid",
        "customer pays (sandbox): HTTP 200, 2000000",
        "check_status_va: HTTP 200, 2002600, Paid",
        "account_binding: HTTP 200, 2000700",
        "customer token: received",
        "payment: HTTP 200, 2005400",
        "refund: HTTP 200, 2000700",
        "check_status: HTTP 200, 2005500, Refunded",
    ];
    for (prefix, exe) in [("c", &c), ("c++", &cpp)] {
        for run in 1..=2 {
            let out = Command::new(exe)
                .env("DOKU_BASE_URL", sandbox.url())
                .env("DOKU_CLIENT_ID", "MCH-EXAMPLE")
                .env("DOKU_PRIVATE_KEY_FILE", &key)
                .env("DOKU_CLIENT_SECRET", SECRET)
                .env("DOKU_CA_FILE", sandbox.ca_file().unwrap())
                .output()
                .unwrap();
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{prefix} run {run}: {}\n{stdout}{stderr}", out.status);
            let expected: Vec<String> = steps.iter().map(|step| format!("{prefix}: {step}")).collect();
            assert_eq!(stdout.lines().collect::<Vec<_>>(), expected, "{prefix} run {run}: {stderr}");
            assert_eq!(stderr, "", "{prefix} run {run}");
        }
    }
    // Each run is its own process, with its own B2B token.
    assert_eq!(sandbox.token_requests("MCH-EXAMPLE"), 4);
}

/// A child process, killed when dropped (also by a failing assertion).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// DOKU's inquiry for a VA whose customer number ends in 99, which the examples have no bill
/// for: a token from the merchant, then the signed inquiry, by hand. The HTTP status and body.
fn inquire_for_no_bill(url: &str, config: &doku_sandbox::notify::NotifyConfig) -> (u16, String) {
    use doku::signature::{b2b_string_to_sign, sign_rsa_sha256, symmetric};
    let ts = config.timestamp_offset.now();
    let sig = sign_rsa_sha256(&config.doku_key, b2b_string_to_sign(&config.client_id, &ts).as_bytes()).unwrap();
    let token_headers = [("X-CLIENT-KEY", config.client_id.as_str()), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)];
    let (status, grant) = post(url, "/authorization/v1/access-token/b2b", &token_headers, r#"{"grantType":"client_credentials"}"#);
    assert_eq!(status, 200, "{grant}");
    let grant: serde_json::Value = serde_json::from_str(&grant).unwrap();
    let token = grant["accessToken"].as_str().unwrap();
    let body = r#"{"partnerServiceId":"  888994","customerNo":"00000000000000000099","virtualAccountNo":"  88899400000000000000000099","inquiryRequestId":"IQ/99"}"#;
    let path = "/v1.1/transfer-va/inquiry";
    let signed = symmetric::Request { method: "POST", path, access_token: token, body: Some(body), timestamp: &ts };
    let sig = symmetric::sign(config.client_secret.as_bytes(), &signed).unwrap();
    let bearer = format!("Bearer {token}");
    let id = doku::request::external_id();
    let headers = [
        ("Authorization", bearer.as_str()),
        ("X-TIMESTAMP", &ts),
        ("X-SIGNATURE", &sig),
        ("X-PARTNER-ID", &config.client_id),
        ("X-EXTERNAL-ID", &id),
        ("CHANNEL-ID", "95221"),
    ];
    post(url, path, &headers, body)
}

/// One HTTP/1.1 POST over a plain socket: the status and the body of the answer.
fn post(url: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = url.strip_prefix("http://").unwrap();
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    request += body;
    let mut conn = std::net::TcpStream::connect(host).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{answer:?}"));
    (head[9..12].parse().unwrap(), body.to_owned())
}

/// doku_merchant_verify and doku_merchant_answer at the C boundary (tests/c/test_merchant.c):
/// every NULL argument, bad options and headers, each verdict and answer, a body with a NUL
/// byte; under valgrind, then as built with the sanitizers.
#[test]
fn c_merchant_verify_and_answer_under_valgrind_and_sanitizers() {
    let f = fixture("c-merchant");
    for (exe, checker) in [("test_merchant-plain", Checker::Valgrind), ("test_merchant-asan", Checker::Sanitizers)] {
        let Some(exe) = program(exe) else { return };
        let output = run_checked(&f, &exe, checker);
        assert!(output.contains("merchant checks passed"), "{output}");
        assert!(!output.contains("Sanitizer"), "{output}");
    }
}
