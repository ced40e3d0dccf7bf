//! The sandbox over real sockets: every refusal of the token endpoint, every fault mode as seen
//! on the wire, the HTTP limits, concurrency, shutdown, TLS, and the binary; verified partly with
//! the `openssl` and `curl` command-line tools, independently of this crate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use doku::key::{PrivateKey, PublicKey};
use doku::sandbox::{Fault, Log, Sandbox, SandboxConfig, STATS_PATH, TOKEN_PATH};
use doku::{jwt, signature, timestamp};
use serde_json::{json, Value};

// ---------------------------------------------------------------- keys, dirs, the shared sandbox

struct Merchant {
    key: Arc<PrivateKey>,
    public: PublicKey,
}

fn merchant() -> &'static Merchant {
    static M: OnceLock<Merchant> = OnceLock::new();
    M.get_or_init(|| {
        let pkey = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let pem = String::from_utf8(pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let key = PrivateKey::cached(&pem, None).unwrap();
        let public = PublicKey::parse(&key.public_key_pem().unwrap()).unwrap();
        Merchant { key, public }
    })
}

/// A key the sandbox does not know, for signatures that must fail.
fn stranger() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    K.get_or_init(|| {
        let pkey = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        PrivateKey::parse(&String::from_utf8(pkey.private_key_to_pem_pkcs8().unwrap()).unwrap(), None).unwrap()
    })
}

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "doku-sandbox-test-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Client ids of the shared sandbox, each with its fault mode(s).
const FAULTY: &[(&str, &str)] = &[
    ("MCH-DELAY", "delay:400"),
    ("MCH-RESET", "reset"),
    ("MCH-HTTP500", "http500"),
    ("MCH-BADJSON", "badjson"),
    ("MCH-NOTOKEN", "notoken"),
    ("MCH-HUGE", "huge"),
    ("MCH-EXPSTR", "expires-string"),
    ("MCH-ERR200", "error200"),
    ("MCH-STALL", "stall-body"),
    ("MCH-AHEAD", "clock:+600"),
    ("MCH-TTL", "ttl:2"),
    ("MCH-COMBO", "delay:150"),
    ("MCH-COMBO", "error200"),
];

fn config_with_faults(faults: &[(&str, &str)]) -> SandboxConfig {
    let mut ids: Vec<&str> = faults.iter().map(|(id, _)| *id).collect();
    ids.extend(["MCH-OK", "MCH-OK2"]);
    SandboxConfig {
        clients: ids.iter().map(|id| (id.to_string(), merchant().public.clone())).collect(),
        faults: faults.iter().map(|(id, f)| (id.to_string(), f.parse::<Fault>().unwrap())).collect(),
        log: Log::Off,
        ..SandboxConfig::default()
    }
}

/// One sandbox for the tests that need no special configuration.
fn shared() -> &'static Sandbox {
    static S: OnceLock<Sandbox> = OnceLock::new();
    S.get_or_init(|| Sandbox::start(config_with_faults(FAULTY)).unwrap())
}

// ---------------------------------------------------------------- a raw HTTP client

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    (status, headers)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        assert_eq!(&data[size..size + 2], b"\r\n");
        data = &data[size + 2..];
    }
}

fn parse_response(bytes: &[u8]) -> Resp {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(bytes)));
    let (status, headers) = parse_head(std::str::from_utf8(&bytes[..end]).unwrap());
    let rest = &bytes[end + 4..];
    let mut resp = Resp { status, headers, body: Vec::new() };
    resp.body = if resp.header("transfer-encoding") == Some("chunked") { dechunk(rest) } else { rest.to_vec() };
    resp
}

/// Sends `request` and reads until the server closes.
fn raw_bytes(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("read: {e}"),
    }
    out
}

fn raw(addr: SocketAddr, request: &[u8]) -> Resp {
    parse_response(&raw_bytes(addr, request))
}

fn token_request(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut req = format!(
        "POST {TOKEN_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req.into_bytes()
}

const BODY: &str = r#"{"grantType":"client_credentials"}"#;

fn sign(key: &PrivateKey, id: &str, ts: &str) -> String {
    signature::sign_rsa_sha256(key, signature::b2b_string_to_sign(id, ts).as_bytes()).unwrap()
}

fn now_z() -> String {
    timestamp::now_utc()
}

fn shifted_z(secs: i64) -> String {
    timestamp::Offset::UTC.format(Utc::now() + TimeDelta::seconds(secs))
}

/// A correctly signed token request for `id` at `ts`.
fn post_signed(addr: SocketAddr, id: &str, ts: &str) -> Resp {
    let sig = sign(&merchant().key, id, ts);
    raw(addr, &token_request(&[("X-CLIENT-KEY", id), ("X-TIMESTAMP", ts), ("X-SIGNATURE", &sig)], BODY))
}

fn assert_refused(r: &Resp, status: u16, code: &str, message: &str) {
    let body = r.json();
    assert_eq!(r.status, status, "{body}");
    assert_eq!(body["responseCode"], code, "{body}");
    assert_eq!(body["responseMessage"], message, "{body}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-timestamp").and_then(timestamp::parse).is_some());
    assert!(r.header("date").and_then(timestamp::parse_http_date).is_some());
}

fn token_public_key(sb: &Sandbox) -> PublicKey {
    PublicKey::parse(&sb.token_public_key_pem()).unwrap()
}

fn b64url_decode(s: &str) -> Vec<u8> {
    let mut std: String = s.chars().map(|c| match c { '-' => '+', '_' => '/', c => c }).collect();
    while std.len() % 4 != 0 {
        std.push('=');
    }
    openssl::base64::decode_block(&std).unwrap()
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

// ---------------------------------------------------------------- the refusal table

#[test]
fn missing_mandatory_headers_in_order() {
    let sb = shared();
    let ts = now_z();
    let sig = sign(&merchant().key, "MCH-OK", &ts);
    let r = raw(sb.addr(), &token_request(&[], BODY));
    assert_refused(&r, 400, "4007302", "Invalid Mandatory Field X-CLIENT-KEY");
    assert_eq!(r.header("x-client-key"), None);
    // Order: the client key is reported first even when the timestamp is also malformed.
    let r = raw(sb.addr(), &token_request(&[("X-TIMESTAMP", "yesterday"), ("X-SIGNATURE", &sig)], BODY));
    assert_refused(&r, 400, "4007302", "Invalid Mandatory Field X-CLIENT-KEY");
    let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK")], "not json"));
    assert_refused(&r, 400, "4007302", "Invalid Mandatory Field X-TIMESTAMP");
    assert_eq!(r.header("x-client-key"), Some("MCH-OK"));
    let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", ""), ("X-SIGNATURE", &sig)], BODY));
    assert_refused(&r, 400, "4007302", "Invalid Mandatory Field X-TIMESTAMP");
    let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", &ts)], BODY));
    assert_refused(&r, 400, "4007302", "Invalid Mandatory Field X-SIGNATURE");
}

#[test]
fn malformed_timestamps() {
    let sb = shared();
    for ts in ["2020-09-22 01:51:00Z", "1600739460", "2020-09-22T01:51:00", "2020-09-22T01:51:00+0700", "2020-09-22T01:51:00-00:00"] {
        let sig = sign(&merchant().key, "MCH-OK", ts);
        // The body is bad too: the timestamp is checked first.
        let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", ts), ("X-SIGNATURE", &sig)], "{"));
        assert_refused(&r, 400, "4007301", "Invalid Field Format X-TIMESTAMP");
    }
}

#[test]
fn bad_bodies() {
    let sb = shared();
    let ts = now_z();
    // An unknown client with a bad body: the body is checked first.
    let sig = sign(&merchant().key, "MCH-NOBODY", &ts);
    let h = [("X-CLIENT-KEY", "MCH-NOBODY"), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", sig.as_str())];
    for (body, message) in [
        ("", r#"Bad Request. The body is empty; expected {"grantType":"client_credentials"}"#),
        ("{\"grantType\":", "Bad Request. The body is not valid JSON"),
        ("[\"client_credentials\"]", "Bad Request. The body must be a JSON object"),
        (r#"{"grantType":"password"}"#, r#"Bad Request. grantType must be "client_credentials", not "password""#),
        (r#"{"grant_type":"client_credentials"}"#, r#"Bad Request. grantType is missing; expected "client_credentials""#),
    ] {
        assert_refused(&raw(sb.addr(), &token_request(&h, body)), 400, "4007300", message);
    }
}

#[test]
fn unknown_client() {
    let sb = shared();
    let ts = now_z();
    // Far outside the skew window too: the client is checked first.
    let old = shifted_z(-3600);
    for ts in [ts.as_str(), old.as_str()] {
        let r = post_signed(sb.addr(), "MCH-NOBODY", ts);
        assert_refused(&r, 401, "4017300", "Unauthorized. Unknown Client");
    }
}

fn skew_of(message: &str) -> u64 {
    let rest = message.strip_prefix("Unauthorized. X-TIMESTAMP is ").unwrap_or_else(|| panic!("{message}"));
    let (n, tail) = rest.split_once(' ').unwrap();
    assert_eq!(tail, "s away from the server clock (allowed: 300 s)");
    n.parse().unwrap()
}

#[test]
fn clock_skew() {
    let sb = shared();
    let wib = timestamp::Offset::parse("+07:00").unwrap();
    for ts in [shifted_z(-600), wib.format(Utc::now() + TimeDelta::seconds(450))] {
        let r = post_signed(sb.addr(), "MCH-OK", &ts);
        let body = r.json();
        assert_eq!((r.status, body["responseCode"].as_str()), (401, Some("4017300")), "{body}");
        let skew = skew_of(body["responseMessage"].as_str().unwrap());
        assert!((449..=601).contains(&skew), "{skew}");
    }
    // Inside the window.
    assert_eq!(post_signed(sb.addr(), "MCH-OK", &shifted_z(-290)).status, 200);
}

#[test]
fn invalid_signatures_are_explained() {
    let sb = shared();
    let ts = now_z();
    let expected = |reason: &str| {
        format!("Unauthorized. Invalid Signature (expected SHA256withRSA over \"MCH-OK|{ts}\" with the registered public key: {reason})")
    };
    let wrong_key = sign(stranger(), "MCH-OK", &ts);
    let other_ts = sign(&merchant().key, "MCH-OK", &shifted_z(-5));
    let other_id = sign(&merchant().key, "MCH-OK2", &ts);
    for (sig, reason) in [
        (wrong_key.as_str(), "it does not match the message and public key"),
        (other_ts.as_str(), "it does not match the message and public key"),
        (other_id.as_str(), "it does not match the message and public key"),
        ("!!!not-base64!!!", "not base64"),
        ("AAAA", "wrong length for the key"),
    ] {
        let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", sig)], BODY));
        assert_refused(&r, 401, "4017300", &expected(reason));
        if sig.len() > 8 {
            assert!(!r.text().contains(sig), "the signature is echoed");
        }
    }
}

// ---------------------------------------------------------------- success

#[test]
fn valid_requests_with_z_and_offset_timestamps() {
    let sb = shared();
    let wib = timestamp::Offset::parse("+07:00").unwrap();
    let mut jtis = Vec::new();
    for ts in [now_z(), wib.now()] {
        let r = post_signed(sb.addr(), "MCH-OK", &ts);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().starts_with(r#"{"responseCode":"2007300","responseMessage":"Successful","accessToken":"ey"#), "{}", r.text());
        assert!(r.text().ends_with(r#","tokenType":"Bearer","expiresIn":900,"additionalInfo":{}}"#), "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-client-key"), Some("MCH-OK"));
        assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()));
        let xts = r.header("x-timestamp").unwrap();
        assert!(xts.ends_with('Z'), "{xts}");
        let xts = timestamp::parse(xts).unwrap();
        assert!((Utc::now() - xts.to_utc()).num_seconds().abs() <= 5);
        let date = timestamp::parse_http_date(r.header("date").unwrap()).unwrap();
        assert!((Utc::now() - date).num_seconds().abs() <= 5);

        let token = r.json()["accessToken"].as_str().unwrap().to_owned();
        let now = Utc::now().timestamp();
        let claims = jwt::verify_rs256(&token, &token_public_key(sb), now).unwrap();
        assert_eq!(claims["iss"], "doku-sandbox");
        assert_eq!(claims["clientId"], "MCH-OK");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
        assert!((claims["iat"].as_i64().unwrap() - now).abs() <= 5);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
        assert_eq!(sb.check_token(&format!("Bearer {token}")).unwrap(), "MCH-OK");
        // Another sandbox's key, or a tampered token, does not pass.
        let mid = token.len() - 100;
        let flipped = if &token[mid..mid + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &token[..mid], &token[mid + 1..]);
        assert_eq!(sb.check_token(&forged).unwrap_err().kind(), doku::ErrorKind::SignatureInvalid);
        assert!(jwt::verify_rs256(&token, &merchant().public, now).is_err());
    }
    assert_ne!(jtis[0], jtis[1]);
}

#[test]
fn tokens_verify_with_the_openssl_cli() {
    let sb = shared();
    let r = post_signed(sb.addr(), "MCH-OK", &now_z());
    let token = r.json()["accessToken"].as_str().unwrap().to_owned();
    let dir = temp_dir("jwt-cli");
    let (data, sig) = token.rsplit_once('.').unwrap();
    std::fs::write(dir.join("data.txt"), data).unwrap();
    std::fs::write(dir.join("sig.bin"), b64url_decode(sig)).unwrap();
    std::fs::write(dir.join("pub.pem"), sb.token_public_key_pem()).unwrap();
    let verify = |file: &str| {
        run(Command::new("openssl").current_dir(&dir).args(["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", file]))
    };
    let out = verify("data.txt");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Verified OK");
    // The header says RS256, and a changed payload fails.
    let header: Value = serde_json::from_slice(&b64url_decode(data.split('.').next().unwrap())).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    std::fs::write(dir.join("bad.txt"), format!("{data}x")).unwrap();
    assert!(!verify("bad.txt").status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- fault modes on the wire

#[test]
fn fault_delay_does_not_block_others() {
    let sb = shared();
    let addr = sb.addr();
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        let r = post_signed(addr, "MCH-DELAY", &now_z());
        (r.status, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(50));
    let quick = Instant::now();
    assert_eq!(post_signed(addr, "MCH-OK", &now_z()).status, 200);
    assert!(quick.elapsed() < Duration::from_millis(350), "blocked by the delayed client: {:?}", quick.elapsed());
    let (status, took) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    // Delays combine with a response fault.
    let t = Instant::now();
    let r = post_signed(addr, "MCH-COMBO", &now_z());
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_refused(&r, 200, "5007300", "General Error");
}

#[test]
fn fault_reset_closes_without_a_response() {
    let sb = shared();
    let ts = now_z();
    let sig = sign(&merchant().key, "MCH-RESET", &ts);
    let bytes = raw_bytes(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-RESET"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY));
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    let err = ureq::post(&format!("{}{TOKEN_PATH}", sb.url()))
        .set("X-CLIENT-KEY", "MCH-RESET")
        .set("X-TIMESTAMP", &ts)
        .set("X-SIGNATURE", &sig)
        .send_string(BODY)
        .unwrap_err();
    assert!(matches!(err, ureq::Error::Transport(_)), "{err}");
}

#[test]
fn fault_http500_is_html() {
    let r = post_signed(shared().addr(), "MCH-HTTP500", &now_z());
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.text().contains("<html>") && r.text().contains("Internal Server Error"));
    assert!(r.header("date").is_some());
}

#[test]
fn fault_badjson_is_not_json() {
    let r = post_signed(shared().addr(), "MCH-BADJSON", &now_z());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err(), "{}", r.text());
    assert!(r.text().starts_with("{\"responseCode\":\"2007300\""));
}

#[test]
fn fault_notoken() {
    let r = post_signed(shared().addr(), "MCH-NOTOKEN", &now_z());
    let body = r.json();
    assert_eq!((r.status, body["responseCode"].as_str()), (200, Some("2007300")));
    assert!(body.get("accessToken").is_none(), "{body}");
    assert_eq!(body["expiresIn"], 900);
}

#[test]
fn fault_huge_is_a_chunked_4_mib_body() {
    let sb = shared();
    let r = post_signed(sb.addr(), "MCH-HUGE", &now_z());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.body.len(), 4 * 1024 * 1024);
    let body = r.json();
    assert_eq!(body["responseCode"], "2007300");
    assert!(sb.check_token(body["accessToken"].as_str().unwrap()).is_ok());

    // A client that hangs up early does no harm.
    let ts = now_z();
    let sig = sign(&merchant().key, "MCH-HUGE", &ts);
    for _ in 0..3 {
        let mut s = TcpStream::connect(sb.addr()).unwrap();
        s.write_all(&token_request(&[("X-CLIENT-KEY", "MCH-HUGE"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY)).unwrap();
        let mut some = [0u8; 4096];
        s.read_exact(&mut some).unwrap();
        drop(s);
    }
    assert_eq!(post_signed(sb.addr(), "MCH-OK", &now_z()).status, 200);
}

#[test]
fn fault_expires_string() {
    let sb = shared();
    let r = post_signed(sb.addr(), "MCH-EXPSTR", &now_z());
    let body = r.json();
    assert_eq!((r.status, body["responseCode"].as_str()), (200, Some("2007300")));
    assert_eq!(body["expiresIn"], json!("900"));
    assert_eq!(sb.check_token(body["accessToken"].as_str().unwrap()).unwrap(), "MCH-EXPSTR");
}

#[test]
fn fault_error200() {
    let r = post_signed(shared().addr(), "MCH-ERR200", &now_z());
    assert_refused(&r, 200, "5007300", "General Error");
    assert_eq!(r.text(), r#"{"responseCode":"5007300","responseMessage":"General Error"}"#);
}

#[test]
fn fault_stall_body_trips_read_timeouts() {
    let sb = shared();
    let ts = now_z();
    let sig = sign(&merchant().key, "MCH-STALL", &ts);
    let mut s = TcpStream::connect(sb.addr()).unwrap();
    s.write_all(&token_request(&[("X-CLIENT-KEY", "MCH-STALL"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("closed instead of stalling"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let (status, headers) = parse_head(std::str::from_utf8(&got[..end]).unwrap());
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(n, v)| n == "Content-Length" && v == "1000"));
    assert_eq!(got.len() - end - 4, 10, "exactly 10 body bytes");

    let agent = ureq::AgentBuilder::new().timeout_read(Duration::from_millis(700)).build();
    let t = Instant::now();
    let result = agent
        .post(&format!("{}{TOKEN_PATH}", sb.url()))
        .set("X-CLIENT-KEY", "MCH-STALL")
        .set("X-TIMESTAMP", &ts)
        .set("X-SIGNATURE", &sig)
        .send_string(BODY);
    // The head arrives; reading the body times out.
    let body = result.unwrap().into_string();
    assert!(body.is_err());
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn fault_clock_shifts_the_server_clock() {
    let sb = shared();
    let r = post_signed(sb.addr(), "MCH-AHEAD", &now_z());
    let body = r.json();
    assert_eq!((r.status, body["responseCode"].as_str()), (401, Some("4017300")));
    let skew = skew_of(body["responseMessage"].as_str().unwrap());
    assert!((599..=601).contains(&skew), "{skew}");
    let date = timestamp::parse_http_date(r.header("date").unwrap()).unwrap();
    assert!(((date - Utc::now()).num_seconds() - 600).abs() <= 5, "{date}");
    let xts = timestamp::parse(r.header("x-timestamp").unwrap()).unwrap();
    assert!(((xts.to_utc() - Utc::now()).num_seconds() - 600).abs() <= 5);
    // Signing with the server's clock works.
    assert_eq!(post_signed(sb.addr(), "MCH-AHEAD", &shifted_z(600)).status, 200);
    // Other clients see the true time.
    let r = post_signed(sb.addr(), "MCH-OK", &now_z());
    let date = timestamp::parse_http_date(r.header("date").unwrap()).unwrap();
    assert!((date - Utc::now()).num_seconds().abs() <= 5);
}

#[test]
fn fault_ttl_shortens_tokens() {
    let sb = shared();
    let r = post_signed(sb.addr(), "MCH-TTL", &now_z());
    let body = r.json();
    assert_eq!(body["expiresIn"], 2);
    let token = body["accessToken"].as_str().unwrap();
    let claims = jwt::verify_rs256(token, &token_public_key(sb), Utc::now().timestamp()).unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 2);
    assert!(sb.check_token(token).is_ok());
    std::thread::sleep(Duration::from_millis(3100));
    let e = sb.check_token(token).unwrap_err();
    assert!(e.message().contains("expired"), "{e}");
}

// ---------------------------------------------------------------- HTTP behaviour

#[test]
fn routing_and_methods() {
    let sb = shared();
    let r = raw(sb.addr(), b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"responseCode":"4040000","responseMessage":"Not Found"}"#);
    assert!(r.header("date").is_some());
    let r = raw(sb.addr(), format!("GET {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.json()["responseCode"], "4050000");
    // A query string does not change the route; chunked bodies are accepted.
    let ts = now_z();
    let sig = sign(&merchant().key, "MCH-OK", &ts);
    let req = format!(
        "POST {TOKEN_PATH}?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nX-CLIENT-KEY: MCH-OK\r\n\
         X-TIMESTAMP: {ts}\r\nX-SIGNATURE: {sig}\r\n\r\n5\r\n{{\"gra\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        BODY.len() - 5,
        &BODY[5..]
    );
    assert_eq!(raw(sb.addr(), req.as_bytes()).status, 200);
}

#[test]
fn size_limits_and_malformed_requests() {
    let sb = shared();
    let mut big_head = format!("GET {STATS_PATH} HTTP/1.1\r\nHost: x\r\n");
    while big_head.len() < 17 * 1024 {
        big_head.push_str("X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    big_head.push_str("\r\n");
    assert_eq!(raw(sb.addr(), big_head.as_bytes()).status, 431);

    let body = format!("{{\"grantType\":\"client_credentials\",\"pad\":\"{}\"}}", "a".repeat(70 * 1024));
    let r = raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK")], &body));
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["responseCode"], "4130000");

    let r = raw(sb.addr(), format!("POST {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    assert_eq!(r.status, 411);
    for bad in [&b"HELLO\r\n\r\n"[..], b"GET / HTTP/1.1 x\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"] {
        assert_eq!(raw(sb.addr(), bad).status, 400, "{}", String::from_utf8_lossy(bad));
    }
    assert_eq!(raw(sb.addr(), b"GET / HTTP/2.0\r\n\r\n").status, 505);
    // Still serving.
    assert_eq!(post_signed(sb.addr(), "MCH-OK", &now_z()).status, 200);
}

#[test]
fn keep_alive_connections_carry_several_requests() {
    let sb = shared();
    let mut s = TcpStream::connect(sb.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    for i in 0..3 {
        let ts = now_z();
        let sig = sign(&merchant().key, "MCH-OK", &ts);
        let mut req = token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY);
        if i < 2 {
            req = String::from_utf8(req).unwrap().replace("Connection: close\r\n", "").into_bytes();
        }
        s.write_all(&req).unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let (status, headers) = parse_head(&head);
        assert_eq!(status, 200);
        let len: usize = headers.iter().find(|(n, _)| n == "Content-Length").unwrap().1.parse().unwrap();
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        let conn = &headers.iter().find(|(n, _)| n == "Connection").unwrap().1;
        assert_eq!(conn, if i < 2 { "keep-alive" } else { "close" });
    }
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after Connection: close");
}

#[test]
fn serves_32_concurrent_clients() {
    let sb = shared();
    let url = format!("{}{TOKEN_PATH}", sb.url());
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();
                for _ in 0..3 {
                    let ts = now_z();
                    let r = agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .set("X-CLIENT-KEY", "MCH-OK2")
                        .set("X-TIMESTAMP", &ts)
                        .set("X-SIGNATURE", &sign(&merchant().key, "MCH-OK2", &ts))
                        .send_string(BODY)
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let body: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
                    assert_eq!(body["responseCode"], "2007300");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(sb.token_requests("MCH-OK2") >= 96);
}

#[test]
fn stats_count_token_requests_of_any_outcome() {
    let sb = shared();
    let ts = now_z();
    post_signed(sb.addr(), "MCH-STATS", &ts); // unknown client
    raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-STATS")], BODY)); // missing headers
    raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-STATS"), ("X-TIMESTAMP", "bad"), ("X-SIGNATURE", "x")], "")); // bad ts
    raw(sb.addr(), format!("GET {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\nX-CLIENT-KEY: MCH-STATS\r\nConnection: close\r\n\r\n").as_bytes()); // not a POST
    assert_eq!(sb.token_requests("MCH-STATS"), 3);
    assert_eq!(sb.token_requests("MCH-NEVER"), 0);
    let r = raw(sb.addr(), format!("GET {STATS_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tokenRequests"]["MCH-STATS"], 3);
    let r: Value = serde_json::from_str(&ureq::get(&format!("{}{STATS_PATH}", sb.url())).call().unwrap().into_string().unwrap()).unwrap();
    assert_eq!(r["tokenRequests"]["MCH-STATS"], 3);
}

// ---------------------------------------------------------------- robustness with special configs

#[test]
fn slowloris_gets_408() {
    let sb = Sandbox::start(SandboxConfig { head_timeout: Duration::from_secs(1), ..config_with_faults(&[]) }).unwrap();
    let t = Instant::now();
    let slow = std::thread::spawn({
        let addr = sb.addr();
        move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut out = Vec::new();
            for piece in [&b"POST /authorization"[..], b"/v1/access-token/b2b HTTP/1.1\r\n", b"Host: x\r\n"] {
                if s.write_all(piece).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(400));
            }
            let _ = s.read_to_end(&mut out);
            out
        }
    });
    // Sending nothing at all is no better.
    let mut silent = TcpStream::connect(sb.addr()).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = silent.read_to_end(&mut out);
    let r = parse_response(&out);
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["responseCode"], "4080000");
    let r = parse_response(&slow.join().unwrap());
    assert_eq!(r.status, 408);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
    // A normal request on the same server is unaffected.
    assert_eq!(post_signed(sb.addr(), "MCH-OK", &now_z()).status, 200);
}

#[test]
fn connections_beyond_the_cap_get_503() {
    let sb = Sandbox::start(SandboxConfig { max_connections: 2, ..config_with_faults(&[]) }).unwrap();
    let a = TcpStream::connect(sb.addr()).unwrap();
    let b = TcpStream::connect(sb.addr()).unwrap();
    let r = raw(sb.addr(), b"");
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["responseCode"], "5030000");
    drop((a, b));
    let t = Instant::now();
    loop {
        let r = post_signed(sb.addr(), "MCH-OK", &now_z());
        if r.status == 200 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(3), "slots were not released");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn shutdown_does_not_hang_on_stalled_clients() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let config = SandboxConfig {
        log: Log::Capture(Arc::clone(&lines)),
        ..config_with_faults(&[("MCH-STALL", "stall-body"), ("MCH-SLEEPY", "delay:30000")])
    };
    let sb = Sandbox::start(config).unwrap();
    let addr = sb.addr();
    let ts = now_z();
    let mut stalled = TcpStream::connect(addr).unwrap();
    let sig = sign(&merchant().key, "MCH-STALL", &ts);
    stalled.write_all(&token_request(&[("X-CLIENT-KEY", "MCH-STALL"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY)).unwrap();
    let mut sleepy = TcpStream::connect(addr).unwrap();
    let sig = sign(&merchant().key, "MCH-SLEEPY", &ts);
    sleepy.write_all(&token_request(&[("X-CLIENT-KEY", "MCH-SLEEPY"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], BODY)).unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"POST / HTTP/1.1\r\n").unwrap();
    // Wait until the stalled response has started.
    stalled.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut first = [0u8; 12];
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let t = Instant::now();
    sb.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1), "shutdown took {:?}", t.elapsed());
    // Every connection is closed promptly, and nothing listens any more.
    for s in [&mut stalled, &mut sleepy, &mut idle, &mut half] {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut rest = Vec::new();
        let r = s.read_to_end(&mut rest);
        assert!(r.is_ok() || r.unwrap_err().kind() == std::io::ErrorKind::ConnectionReset);
    }
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn request_log_lines() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let config = SandboxConfig { log: Log::Capture(Arc::clone(&lines)), ..config_with_faults(&[("MCH-ERR200", "error200")]) };
    let sb = Sandbox::start(config).unwrap();
    let ts = now_z();
    let ok = post_signed(sb.addr(), "MCH-OK", &ts);
    let token = ok.json()["accessToken"].as_str().unwrap().to_owned();
    let bad_sig = sign(stranger(), "MCH-OK", &ts);
    raw(sb.addr(), &token_request(&[("X-CLIENT-KEY", "MCH-OK"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &bad_sig)], BODY));
    post_signed(sb.addr(), "MCH-ERR200", &ts);
    raw(sb.addr(), b"GET /nope HTTP/1.1\r\nHost: x\r\nX-CLIENT-KEY: evil id\r\nConnection: close\r\n\r\n");
    raw(sb.addr(), b"BROKEN\r\n\r\n");
    drop(sb);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(
        lines,
        [
            format!("client=MCH-OK outcome=ok code=2007300 http=200 path={TOKEN_PATH}"),
            format!("client=MCH-OK outcome=refused code=4017300 http=401 path={TOKEN_PATH}"),
            format!("client=MCH-ERR200 outcome=fault:error200 code=5007300 http=200 path={TOKEN_PATH}"),
            "client=evil?id outcome=refused code=4040000 http=404 path=/nope".to_owned(),
            "client=- outcome=refused code=4000000 http=400 path=-".to_owned(),
        ]
    );
    let all = lines.join("\n");
    assert!(!all.contains(&bad_sig[..20]) && !all.contains(&token[..40]));
}

// ---------------------------------------------------------------- outside tools: openssl, curl, the binary

fn cli_merchant(dir: &Path) -> PublicKey {
    let gen = run(Command::new("openssl").current_dir(dir).args([
        "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem",
    ]));
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    let public = run(Command::new("openssl").current_dir(dir).args(["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]));
    assert!(public.status.success());
    PublicKey::parse(&std::fs::read_to_string(dir.join("pub.pem")).unwrap()).unwrap()
}

/// Signs with `openssl dgst` and posts with `curl`: no code of this crate on the client side.
fn curl_token(dir: &Path, url: &str, id: &str, extra: &[&str]) -> (String, Value) {
    let script = format!(
        r#"TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SIG=$(printf '%s|%s' "{id}" "$TS" | openssl dgst -sha256 -sign key.pem | base64 -w0)
curl -sS --max-time 10 "$@" -w '\n%{{http_code}}' -X POST "{url}{TOKEN_PATH}" -H 'Content-Type: application/json' \
  -H "X-CLIENT-KEY: {id}" -H "X-TIMESTAMP: $TS" -H "X-SIGNATURE: $SIG" -d '{BODY}'"#
    );
    let out = run(Command::new("sh").current_dir(dir).arg("-c").arg(script).arg("sh").args(extra));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or_else(|| panic!("curl: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (status.to_owned(), serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn curl_and_openssl_cli_get_a_token() {
    let dir = temp_dir("cli");
    let public = cli_merchant(&dir);
    let sb = Sandbox::start(SandboxConfig {
        clients: vec![("MCH-CLI".into(), public)],
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let (status, body) = curl_token(&dir, &sb.url(), "MCH-CLI", &[]);
    assert_eq!(status, "200", "{body}");
    assert_eq!(body["responseCode"], "2007300");
    assert_eq!(sb.check_token(body["accessToken"].as_str().unwrap()).unwrap(), "MCH-CLI");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary() {
    let bin = env!("CARGO_BIN_EXE_doku-sandbox");
    let help = run(Command::new(bin).arg("--help"));
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--listen", "--client", "--tls-dir", "--token-ttl", "--max-skew", "--fault", "--quiet", "--version", "stall-body", "clock:+S"] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    let bad = run(Command::new(bin).arg("--fault").arg("X=explode"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown fault mode"));
    let missing = run(Command::new(bin).args(["--client", "X=/nonexistent.pem"]));
    assert_eq!(missing.status.code(), Some(2));

    let dir = temp_dir("bin");
    cli_merchant(&dir);
    let mut child = Command::new(bin)
        .current_dir(&dir)
        .args(["--listen", "127.0.0.1:0", "--client", "MCH-BIN=pub.pem", "--fault", "MCH-BIN=ttl:60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let url = first.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{first}")).to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body) = curl_token(&dir, &url, "MCH-BIN", &[]);
    assert_eq!(status, "200", "{body}");
    assert_eq!(body["expiresIn"], 60);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains(&format!("client=MCH-BIN outcome=fault:ttl:60 code=2007300 http=200 path={TOKEN_PATH}")), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_with_a_generated_ca() {
    let dir = temp_dir("tls");
    let public = cli_merchant(&dir);
    let tls_dir = dir.join("tls");
    let config = || SandboxConfig {
        clients: vec![("MCH-TLS".into(), public.clone())],
        tls_dir: Some(tls_dir.clone()),
        log: Log::Off,
        ..SandboxConfig::default()
    };
    let sb = Sandbox::start(config()).unwrap();
    let port = sb.addr().port();
    assert_eq!(sb.url(), format!("https://localhost:{port}"));
    let ca = sb.ca_file().unwrap();
    assert_eq!(ca, tls_dir.join("ca.pem"));
    let ca_pem = std::fs::read(&ca).unwrap();
    for f in ["ca-key.pem", "server.pem", "server-key.pem"] {
        assert!(tls_dir.join(f).exists(), "{f}");
    }

    // A client stuck before its handshake does not hold up others.
    let _stuck = TcpStream::connect(sb.addr()).unwrap();
    let cacert = ca.to_str().unwrap();
    let (status, body) = curl_token(&dir, &sb.url(), "MCH-TLS", &["--cacert", cacert]);
    assert_eq!(status, "200", "{body}");
    assert_eq!(body["responseCode"], "2007300");
    let stats = |url: &str, extra: &[&str]| {
        run(Command::new("curl").args(["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"]).args(extra).arg(format!("{url}{STATS_PATH}")))
    };
    let ip = stats(&format!("https://127.0.0.1:{port}"), &["--cacert", cacert]);
    assert_eq!(String::from_utf8_lossy(&ip.stdout), "200", "{}", String::from_utf8_lossy(&ip.stderr));
    let untrusted = stats(&sb.url(), &[]);
    assert!(!untrusted.status.success());
    assert_eq!(untrusted.status.code(), Some(60), "curl: certificate problem");
    let plain = stats(&format!("http://127.0.0.1:{port}"), &[]);
    assert!(!plain.status.success() || String::from_utf8_lossy(&plain.stdout) != "200");

    // A restart reuses the CA, so the same ca.pem keeps working.
    drop(sb);
    let sb = Sandbox::start(config()).unwrap();
    assert_eq!(std::fs::read(sb.ca_file().unwrap()).unwrap(), ca_pem);
    let again = stats(&sb.url(), &["--cacert", cacert]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), "200");
    drop(sb);
    std::fs::remove_dir_all(&dir).unwrap();
}
