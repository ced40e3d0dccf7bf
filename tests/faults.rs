//! The fault matrix: every way DOKU or the network can misbehave, through a real socket, each
//! with its status, a message that names the cause, and a bound on the time it takes:
//! at most timeout_ms + 1 s. README.md shows the same table, checked against `MATRIX` (and its
//! other rows against `ELSEWHERE`) by `the_readme_fault_table_is_the_tested_one`.

mod common;

use std::time::{Duration, Instant};

use common::{markdown, openssl, servers, TestDir};
use doku::client::Client;
use doku::key::PublicKey;
use doku::ErrorKind;
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig};

const TIMEOUT_MS: u64 = 1500;

const README: &str = include_str!("../README.md");
const README_TABLE: &str = "### When DOKU or the network misbehaves";

/// Where a row's request goes.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The sandbox, answering with this fault mode (the client id picks it).
    Fault(&'static str),
    /// A port where nothing listens.
    Refused,
    /// The TLS sandbox, whose CA the client does not trust.
    Untrusted,
    /// A server with an expired certificate from a CA the client trusts.
    Expired,
    /// A server that hangs up in the middle of the TLS handshake.
    HangsUp,
}

struct Row {
    /// README.md's "fault" cell, word for word.
    case: &'static str,
    target: Target,
    /// `None`: the token arrives.
    want: Option<(ErrorKind, &'static str)>,
}

const MATRIX: &[Row] = &[
    Row { case: "answer later than `timeout_ms`", target: Target::Fault("delay:3000"), want: Some((ErrorKind::Timeout, "timed out")) },
    Row { case: "answer within `timeout_ms`", target: Target::Fault("delay:300"), want: None },
    Row { case: "connection reset", target: Target::Fault("reset"), want: Some((ErrorKind::Network, "closed or reset")) },
    Row {
        case: "HTTP 500 with an HTML page",
        target: Target::Fault("http500"),
        want: Some((ErrorKind::Protocol, "HTTP 500 with a body that is not JSON")),
    },
    Row { case: "truncated JSON", target: Target::Fault("badjson"), want: Some((ErrorKind::Protocol, "HTTP 200 with a body that is not JSON")) },
    Row { case: "`2007300` without `accessToken`", target: Target::Fault("notoken"), want: Some((ErrorKind::Protocol, "no accessToken")) },
    Row { case: "4 MiB answer", target: Target::Fault("huge"), want: Some((ErrorKind::Protocol, "over 1 MiB")) },
    Row { case: "`expiresIn` as a string", target: Target::Fault("expires-string"), want: None },
    Row { case: "error code with HTTP 200", target: Target::Fault("error200"), want: Some((ErrorKind::Api, "HTTP 200 with 5007300: General Error")) },
    Row { case: "headers, then a stalled body", target: Target::Fault("stall-body"), want: Some((ErrorKind::Timeout, "timed out")) },
    Row { case: "connection refused", target: Target::Refused, want: Some((ErrorKind::Network, "cannot connect to 127.0.0.1")) },
    Row { case: "untrusted certificate", target: Target::Untrusted, want: Some((ErrorKind::Tls, "certificate verify failed")) },
    Row { case: "expired certificate", target: Target::Expired, want: Some((ErrorKind::Tls, "certificate has expired")) },
    Row { case: "TLS server hangs up mid-handshake", target: Target::HangsUp, want: Some((ErrorKind::Tls, "TLS handshake with 127.0.0.1 failed")) },
];

/// README.md's other rows, each tested on its own: (the "fault" cell, the status its "status"
/// cell starts with, the file, the test function).
const ELSEWHERE: &[(&str, &str, &str, &str)] = &[
    (
        "TLS handshake dripped, 100 bytes every 1.5 s",
        "DOKU_ERR_TIMEOUT",
        "tests/faults.rs",
        "a_dripping_server_cannot_stretch_a_request_past_its_deadline",
    ),
    ("proxy answering `CONNECT` a byte every 600 ms", "DOKU_ERR_TIMEOUT", "tests/faults.rs", "a_dripping_proxy_cannot_stretch_connecting"),
    (
        "answer head or body dripped, over TLS or plain HTTP",
        "DOKU_ERR_TIMEOUT",
        "tests/faults.rs",
        "a_dripping_server_cannot_stretch_a_request_past_its_deadline",
    ),
    (
        "bytes past the answer's `Content-Length` (a forged second answer sent with it, in the same or a further TLS record)",
        "DOKU_OK",
        "tests/faults.rs",
        "a_framing_lie_never_answers_the_next_request",
    ),
    ("`fork()` after the parent used the client; children call at once", "DOKU_OK", "tests/c/test_reliability.c", "test_fork"),
    ("machine suspended longer than the token's lifetime", "DOKU_OK", "tests/c/test_suspend.c", "main"),
    ("token endpoint down while the cached token is still valid", "DOKU_OK", "tests/c/test_reliability.c", "test_outage"),
    ("token endpoint still down past expiry (less a few seconds)", "DOKU_ERR_NETWORK", "tests/c/test_reliability.c", "test_outage"),
    ("`http_proxy` set, base URL on loopback", "DOKU_OK", "tests/c/test_reliability.c", "test_no_environment_proxy_for_loopback"),
];

/// The `DokuStatus` name of an error kind, e.g. `DOKU_ERR_SIGNATURE_INVALID` for
/// `SignatureInvalid`; `DOKU_OK` for none.
fn status_name(kind: Option<ErrorKind>) -> String {
    let Some(kind) = kind else { return "DOKU_OK".into() };
    let mut name = String::from("DOKU_ERR");
    for c in format!("{kind:?}").chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// README.md's fault table: (fault, status, message excerpt) rows.
fn readme_faults() -> Vec<(String, String, String)> {
    markdown::table(markdown::section(README, README_TABLE))
        .into_iter()
        .map(|row| {
            assert_eq!(row.len(), 3, "README fault row: {row:?}");
            (row[0].clone(), row[1].clone(), row[2].clone())
        })
        .collect()
}

/// The literal pieces of a README excerpt (`… with 2007300 but no accessToken`): what the
/// message must contain, in this order.
fn excerpt_pieces(excerpt: &str) -> Vec<String> {
    excerpt.trim_matches('`').split('…').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
}

/// Whether `message` contains each piece, in order.
fn contains_in_order(message: &str, pieces: &[String]) -> bool {
    let mut rest = message;
    pieces.iter().all(|p| match rest.find(p.as_str()) {
        Some(at) => {
            rest = &rest[at + p.len()..];
            true
        }
        None => false,
    })
}

/// A key pair made by the openssl CLI in `dir`: the private key's PEM and the public key.
fn key_pair(dir: &TestDir) -> (String, PublicKey) {
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("k.pem"));
    openssl(&["pkey", "-in", dir.path("k.pem").to_str().unwrap(), "-pubout", "-out"], &dir.path("pub.pem"));
    let pem = std::fs::read_to_string(dir.path("k.pem")).unwrap();
    (pem, PublicKey::parse(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap())
}

#[test]
fn every_fault_gets_its_status_and_message_in_time() {
    let dir = TestDir::new("faults");
    let (pem, public) = key_pair(&dir);
    let modes: Vec<&str> = MATRIX.iter().filter_map(|row| if let Target::Fault(mode) = row.target { Some(mode) } else { None }).collect();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: modes.iter().map(|m| (m.to_string(), public.clone())).collect(),
        faults: modes.iter().map(|m| (m.to_string(), m.parse::<Fault>().unwrap())).collect(),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let tls = Sandbox::start(SandboxConfig { tls_dir: Some(dir.path("tls")), log: Log::Off, ..SandboxConfig::default() }).unwrap();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let expired_ca = dir.path("expired-ca.pem");
    let expired = servers::expired_certificate(&expired_ca);
    let ca = |path: &std::path::Path| format!(r#","ca_file":{}"#, serde_json::to_string(path).unwrap());
    let hangs_up = servers::hangs_up_mid_handshake();
    let readme = readme_faults();

    for row in MATRIX {
        // The sandbox picks the fault by client id.
        let (url, id, extra) = match row.target {
            Target::Fault(mode) => (sandbox.url(), mode, String::new()),
            Target::Refused => (refused.clone(), "c", String::new()),
            Target::Untrusted => (tls.url(), "c", String::new()),
            Target::Expired => (expired.clone(), "c", ca(&expired_ca)),
            Target::HangsUp => (hangs_up.clone(), "c", String::new()),
        };
        let json = format!(
            r#"{{"client_id":"{id}","private_key":{},"base_url":"{url}","proxy":"","timeout_ms":{TIMEOUT_MS},"connect_timeout_ms":1000{extra}}}"#,
            serde_json::to_string(&pem).unwrap()
        );
        let client = Client::from_json(&json).unwrap();
        let start = Instant::now();
        let result = client.token_info();
        let took = start.elapsed();
        assert!(took <= Duration::from_millis(TIMEOUT_MS + 1000), "{}: took {took:?}", row.case);
        match (result, row.want) {
            (Ok(info), None) => assert!(info.access_token.starts_with("eyJ") && info.expires_in > 890, "{}", row.case),
            (Err(e), Some((kind, fragment))) => {
                assert_eq!(e.kind(), kind, "{}: {e}", row.case);
                assert!(e.message().contains(fragment), "{}: {e}", row.case);
                // README.md's excerpt of the message, too.
                let (_, _, excerpt) = readme.iter().find(|(fault, _, _)| fault == row.case).expect("every row is in README.md");
                assert!(contains_in_order(e.message(), &excerpt_pieces(excerpt)), "{}: README.md says {excerpt}, the message is {e}", row.case);
            }
            (Ok(_), Some(want)) => panic!("{}: succeeded, wanted {want:?}", row.case),
            (Err(e), None) => panic!("{}: {e}", row.case),
        }
    }
}

/// Regression (issue 9, item 3): over TLS, a server trickling 100 bytes every 1.5 s stretched a
/// request with `timeout_ms` 2000 to 21 s and more, during the handshake or the answer: every
/// `recv` inside OpenSSL was allowed the whole remaining time again. Now each phase ends within
/// `timeout_ms` + 1 s, and a dripped handshake within `connect_timeout_ms` + 1 s.
#[test]
fn a_dripping_server_cannot_stretch_a_request_past_its_deadline() {
    use servers::Drip;
    let dir = TestDir::new("drip");
    let (pem, public) = key_pair(&dir);
    let config = |tls_dir: Option<std::path::PathBuf>| SandboxConfig {
        clients: vec![("ok".into(), public.clone()), ("huge".into(), public.clone())],
        faults: vec![("huge".into(), Fault::Huge)],
        tls_dir,
        log: Log::Off,
        ..SandboxConfig::default()
    };
    let plain = Sandbox::start(config(None)).unwrap();
    let tls = Sandbox::start(config(Some(dir.path("tls")))).unwrap();
    let ca = serde_json::to_string(&tls.ca_file().unwrap()).unwrap();
    let cases = [
        ("TLS handshake", true, Drip::Handshake, "ok", 1000, "timed out connecting to localhost"),
        ("TLS answer head", true, Drip::Head, "ok", 2000, "timed out waiting for an answer from localhost"),
        ("TLS answer body", true, Drip::Body, "huge", 2000, "timed out"),
        ("plain answer head", false, Drip::Head, "ok", 2000, "timed out waiting for an answer from 127.0.0.1"),
        ("plain answer body", false, Drip::Body, "ok", 2000, "timed out"),
    ];
    std::thread::scope(|scope| {
        for (case, is_tls, drip, id, bound_ms, want) in cases {
            let (upstream, ca) = if is_tls { (tls.addr(), format!(r#","ca_file":{ca}"#)) } else { (plain.addr(), String::new()) };
            let relay = servers::dripping_relay(upstream, is_tls, drip);
            let url = if is_tls { format!("https://localhost:{}", relay.port()) } else { format!("http://{relay}") };
            let json = format!(
                r#"{{"client_id":"{id}","private_key":{},"base_url":"{url}","proxy":"","timeout_ms":2000,"connect_timeout_ms":1000{ca}}}"#,
                serde_json::to_string(&pem).unwrap()
            );
            scope.spawn(move || {
                let client = Client::from_json(&json).unwrap();
                let start = Instant::now();
                let e = client.token_info().expect_err(case);
                let took = start.elapsed();
                assert_eq!(e.kind(), ErrorKind::Timeout, "{case}: {e}");
                assert!(e.message().contains(want), "{case}: {e}");
                assert!(took <= Duration::from_millis(bound_ms + 1000), "{case}: took {took:?}");
            });
        }
    });
}

/// Regression (issue 9, item 4): the `overlong` sandbox writes a forged second answer after
/// each real one. The forged bytes stayed in the pooled connection and answered the next
/// request (a "token" the server never issued), over HTTP and over TLS.
#[test]
fn a_framing_lie_never_answers_the_next_request() {
    let dir = TestDir::new("overlong");
    let (pem, public) = key_pair(&dir);
    for tls_dir in [None, Some(dir.path("tls"))] {
        let sandbox = Sandbox::start(SandboxConfig {
            clients: vec![("liar".into(), public.clone())],
            faults: vec![("liar".into(), Fault::Overlong)],
            tls_dir: tls_dir.clone(),
            log: Log::Off,
            ..SandboxConfig::default()
        })
        .unwrap();
        let ca = sandbox.ca_file().map(|f| format!(r#","ca_file":{}"#, serde_json::to_string(&f).unwrap())).unwrap_or_default();
        let json =
            format!(r#"{{"client_id":"liar","private_key":{},"base_url":"{}","proxy":""{ca}}}"#, serde_json::to_string(&pem).unwrap(), sandbox.url());
        let client = Client::from_json(&json).unwrap();
        for round in 0..3 {
            client.invalidate_token();
            let token = client.with_token(|t| t.access_token.to_string()).unwrap();
            assert!(token.starts_with("eyJ"), "{}, round {round}: {token}", sandbox.url());
            assert!(sandbox.check_token(&token).is_ok());
        }
        assert_eq!(sandbox.token_requests("liar"), 3);
        assert_eq!(sandbox.accepted_connections(), 3, "{}: each lying connection was closed, none reused", sandbox.url());
    }
}

/// Regression (review): ureq's CONNECT connector read the proxy's answer with a timeout taken
/// once, so a proxy trickling its answer a byte every 600 ms held a request with `timeout_ms`
/// 2000 for 33 s. The tunnel is part of connecting: it ends within `connect_timeout_ms` + 1 s.
#[test]
fn a_dripping_proxy_cannot_stretch_connecting() {
    let dir = TestDir::new("drip-proxy");
    let (pem, _) = key_pair(&dir);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://user:s3cret@{}", proxy.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in proxy.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut conn = conn;
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                for byte in b"HTTP/1.1 200 Connection established\r\n\r\n" {
                    std::thread::sleep(Duration::from_millis(600));
                    if conn.write_all(&[*byte]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let json = format!(
        r#"{{"client_id":"c","private_key":{},"base_url":"https://api.doku.example","proxy":"{proxy_url}","timeout_ms":2000,"connect_timeout_ms":1000}}"#,
        serde_json::to_string(&pem).unwrap()
    );
    let start = Instant::now();
    let e = Client::from_json(&json).unwrap().token_info().unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("timed out connecting to api.doku.example"), "{e}");
    assert!(!e.message().contains("s3cret"), "{e}");
    assert!(took <= Duration::from_millis(2000), "took {took:?}");
}

/// README.md's fault table is the tested one: each row of `MATRIX` is there, with its status and
/// an excerpt that holds the fragment the matrix asserts (the matrix test checks the excerpt
/// against the real message); every other row is in `ELSEWHERE`, whose test exists, with its
/// status; and every test in this file has its rows.
#[test]
fn the_readme_fault_table_is_the_tested_one() {
    let problems = readme_problems(&readme_faults());
    assert!(problems.is_empty(), "README.md, {README_TABLE}:\n{}", problems.join("\n"));
}

fn readme_problems(readme: &[(String, String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let row = |case: &str| readme.iter().find(|(fault, _, _)| fault == case);
    for r in MATRIX {
        let Some((_, status, excerpt)) = row(r.case) else {
            problems.push(format!("no row \"{}\" (tests/faults.rs, MATRIX)", r.case));
            continue;
        };
        let want = format!("`{}`", status_name(r.want.map(|(kind, _)| kind)));
        if *status != want {
            problems.push(format!("\"{}\": status {status}, the test asserts {want}", r.case));
        }
        match r.want {
            None if !excerpt.is_empty() => problems.push(format!("\"{}\": a message excerpt ({excerpt}) for a success", r.case)),
            Some((_, fragment)) if !excerpt_pieces(excerpt).iter().any(|p| p.contains(fragment)) => {
                problems.push(format!("\"{}\": excerpt {excerpt} lacks \"{fragment}\", which the test asserts", r.case))
            }
            _ => {}
        }
    }
    for &(case, status, file, function) in ELSEWHERE {
        match row(case) {
            None => problems.push(format!("no row \"{case}\" (tests/faults.rs, ELSEWHERE)")),
            Some((_, cell, _)) if !cell.starts_with(&format!("`{status}`")) => {
                problems.push(format!("\"{case}\": status {cell}, {file} ({function}) asserts `{status}`"))
            }
            Some(_) => {}
        }
        let source = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap_or_default();
        // A definition: at the start of a line, `fn name(` or `static void name(` / `int main(`.
        if !source.lines().any(|l| !l.starts_with([' ', '\t', '*', '/']) && l.contains(&format!(" {function}("))) {
            problems.push(format!("\"{case}\": {file} has no test {function}"));
        }
    }
    for (fault, _, _) in readme {
        if !MATRIX.iter().any(|r| r.case == fault) && !ELSEWHERE.iter().any(|e| e.0 == fault) {
            problems.push(format!("row \"{fault}\" is in neither MATRIX nor ELSEWHERE (tests/faults.rs): which test asserts it?"));
        }
    }
    let first: Vec<&str> = readme.iter().take(MATRIX.len()).map(|(fault, _, _)| fault.as_str()).collect();
    if first != MATRIX.iter().map(|r| r.case).collect::<Vec<_>>() {
        problems.push(format!("the first {} rows are not MATRIX's, in its order", MATRIX.len()));
    }
    let source = include_str!("faults.rs");
    for test in source.split("#[test]\nfn ").skip(1).filter_map(|rest| rest.split('(').next()) {
        let covered =
            ["every_fault_gets_its_status_and_message_in_time", "the_readme_fault_table_is_the_tested_one", "the_readme_check_reports_drift"]
                .contains(&test)
                || ELSEWHERE.iter().any(|e| e.2 == "tests/faults.rs" && e.3 == test);
        if !covered {
            problems.push(format!("tests/faults.rs has the test {test}, but no row names it in ELSEWHERE"));
        }
    }
    problems
}

/// The check itself: each kind of drift is reported, naming the row.
#[test]
fn the_readme_check_reports_drift() {
    let readme = readme_faults();
    let changed = |case: &str, change: &dyn Fn(&mut (String, String, String))| {
        let mut rows = readme.clone();
        change(rows.iter_mut().find(|r| r.0 == case).unwrap());
        readme_problems(&rows)
    };
    assert_eq!(
        changed("connection reset", &|r| r.1 = "`DOKU_ERR_TIMEOUT`".into()),
        ["\"connection reset\": status `DOKU_ERR_TIMEOUT`, the test asserts `DOKU_ERR_NETWORK`"]
    );
    assert_eq!(
        changed("4 MiB answer", &|r| r.2 = "`… with a body over 4 MiB`".into()),
        ["\"4 MiB answer\": excerpt `… with a body over 4 MiB` lacks \"over 1 MiB\", which the test asserts"]
    );
    assert_eq!(changed("`expiresIn` as a string", &|r| r.2 = "`ok`".into()), ["\"`expiresIn` as a string\": a message excerpt (`ok`) for a success"]);
    assert_eq!(
        changed("truncated JSON", &|r| r.0 = "cut JSON".into()),
        [
            "no row \"truncated JSON\" (tests/faults.rs, MATRIX)",
            "row \"cut JSON\" is in neither MATRIX nor ELSEWHERE (tests/faults.rs): which test asserts it?",
            "the first 14 rows are not MATRIX's, in its order"
        ]
    );
    let mut swapped = readme.clone();
    swapped.swap(0, 1);
    assert_eq!(readme_problems(&swapped), ["the first 14 rows are not MATRIX's, in its order"]);
    assert_eq!(
        changed("`http_proxy` set, base URL on loopback", &|r| r.1 = "`DOKU_ERR_NETWORK`".into()),
        ["\"`http_proxy` set, base URL on loopback\": status `DOKU_ERR_NETWORK`, tests/c/test_reliability.c (test_no_environment_proxy_for_loopback) asserts `DOKU_OK`"]
    );
    assert_eq!(status_name(Some(ErrorKind::SignatureInvalid)), "DOKU_ERR_SIGNATURE_INVALID");
    assert!(contains_in_order(
        "TLS handshake with localhost failed: x certificate verify failed",
        &excerpt_pieces("`TLS handshake with localhost failed: … certificate verify failed`")
    ));
    assert!(!contains_in_order(
        "certificate verify failed; TLS handshake with localhost failed:",
        &excerpt_pieces("`TLS handshake with localhost failed: … certificate verify failed`")
    ));
}
