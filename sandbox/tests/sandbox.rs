//! The sandbox over real sockets: every refusal of the token endpoints and of create-VA, every
//! fault mode as seen on the wire, token revocation and the client's retry, B2B2C tokens, DOKU's
//! notifications to a test merchant, the HTTP limits, concurrency, shutdown, TLS, and the binary;
//! verified partly with the `openssl` and `curl` command-line tools, independently of this crate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use doku::key::{PrivateKey, PublicKey};
use doku::merchant::answer;
use doku::merchant::notification::{Verifier, CALLS};
use doku::signature::symmetric;
use doku::{jwt, signature, timestamp};
use doku_sandbox::{notify, Fault, Log, Sandbox, SandboxConfig, B2B2C_TOKEN_PATH, CREATE_VA_PATH, PAY_VA_PATH, REVOKE_PATH, STATS_PATH, TOKEN_PATH};
use serde_json::{json, Value};

// ---------------------------------------------------------------- keys, dirs, the shared sandbox

struct Merchant {
    pem: String,
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
        Merchant { pem, key, public }
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
    let dir = std::env::temp_dir().join(format!("doku-sandbox-test-{}-{name}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
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

fn post_to(path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req.into_bytes()
}

fn token_request(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    post_to(TOKEN_PATH, headers, body)
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
    doku::jwt::b64url_decode(s).expect("a JWT segment is base64url")
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
    for ts in
        ["2020-09-22 01:51:00Z", "1600739460", "2020-09-22T01:51:00", "2020-09-22T01:51:00+0700", "2020-09-22T01:51:00-00:00", "2022-10-07T14:18:3é"]
    {
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
        ("!!!not-base64!!!", "not canonical base64"),
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
        assert!(r.text().ends_with(r#","tokenType":"Bearer","expiresIn":900,"additionalInfo":""}"#), "{}", r.text());
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
    let verify =
        |file: &str| run(Command::new("openssl").current_dir(&dir).args(["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", file]));
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
        .header("X-CLIENT-KEY", "MCH-RESET")
        .header("X-TIMESTAMP", &ts)
        .header("X-SIGNATURE", &sig)
        .send(BODY)
        .unwrap_err();
    assert!(matches!(err, ureq::Error::Io(_)), "{err}");
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

    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_recv_body(Some(Duration::from_millis(700))).build().into();
    let t = Instant::now();
    let result = agent
        .post(&format!("{}{TOKEN_PATH}", sb.url()))
        .header("X-CLIENT-KEY", "MCH-STALL")
        .header("X-TIMESTAMP", &ts)
        .header("X-SIGNATURE", &sig)
        .send(BODY);
    // The head arrives; reading the body times out.
    let body = result.unwrap().body_mut().read_to_string();
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

    // No Content-Length: an empty body (RFC 9112 §6.3), judged like any other request.
    let r = raw(sb.addr(), format!("POST {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!((r.status, r.json()["responseCode"].as_str()), (400, Some("4007302")));
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
                let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(20))).build().into();
                for _ in 0..3 {
                    let ts = now_z();
                    let mut r = agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .header("X-CLIENT-KEY", "MCH-OK2")
                        .header("X-TIMESTAMP", &ts)
                        .header("X-SIGNATURE", &sign(&merchant().key, "MCH-OK2", &ts))
                        .send(BODY)
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
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
    let r: Value =
        serde_json::from_str(&ureq::get(&format!("{}{STATS_PATH}", sb.url())).call().unwrap().body_mut().read_to_string().unwrap()).unwrap();
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
    let config =
        SandboxConfig { log: Log::Capture(Arc::clone(&lines)), ..config_with_faults(&[("MCH-STALL", "stall-body"), ("MCH-SLEEPY", "delay:30000")]) };
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
    let gen =
        run(Command::new("openssl").current_dir(dir).args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"]));
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
    let sb = Sandbox::start(SandboxConfig { clients: vec![("MCH-CLI".into(), public)], log: Log::Off, ..SandboxConfig::default() }).unwrap();
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
    for flag in [
        "--listen",
        "--client",
        "--tls-dir",
        "--token-ttl",
        "--max-skew",
        "--latest-token-only",
        "--fault",
        "--quiet",
        "--version",
        "stall-body",
        "clock:+S",
        "--secret <ID=SECRET>",
        "--secret-file",
        "--doku-key-dir",
        "--notify <URL>",
        "--notify-client",
        "--notify-ca",
        "--notify-exit",
        CREATE_VA_PATH,
        B2B2C_TOKEN_PATH,
        REVOKE_PATH,
    ] {
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
        run(Command::new("curl")
            .args(["-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(extra)
            .arg(format!("{url}{STATS_PATH}")))
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

// ---------------------------------------------------------------- create-va: the protected endpoint

const SECRET: &str = "s3cr3t/Śecret=value";

/// Clients of the create-VA sandbox; each test that revokes or counts uses its own.
const VA_CLIENTS: &[&str] = &[
    "MCH-VA",
    "MCH-VA2",
    "MCH-NOSECRET",
    "MCH-VA500",
    "MCH-VAERR",
    "MCH-VATTL",
    "MCH-REVOKE",
    "MCH-REVOKE2",
    "MCH-RETRY",
    "MCH-B2B2C",
    "MCH-B2B2C2",
    "MCH-B2B2C-BADEXP",
    "MCH-DUP",
];

fn va_config() -> SandboxConfig {
    SandboxConfig {
        clients: VA_CLIENTS.iter().map(|id| (id.to_string(), merchant().public.clone())).collect(),
        secrets: VA_CLIENTS.iter().filter(|id| **id != "MCH-NOSECRET").map(|id| (id.to_string(), SECRET.to_owned())).collect(),
        faults: vec![
            ("MCH-VA500".into(), Fault::Http500),
            ("MCH-VA500".into(), Fault::Delay(200)),
            ("MCH-VAERR".into(), Fault::Error200),
            ("MCH-VATTL".into(), Fault::Ttl(1)),
            ("MCH-B2B2C-BADEXP".into(), Fault::BadExpiry),
        ],
        log: Log::Off,
        ..SandboxConfig::default()
    }
}

fn va_sandbox() -> &'static Sandbox {
    static S: OnceLock<Sandbox> = OnceLock::new();
    S.get_or_init(|| Sandbox::start(va_config()).unwrap())
}

fn b2b_token(addr: SocketAddr, id: &str) -> String {
    let r = post_signed(addr, id, &now_z());
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["accessToken"].as_str().unwrap().to_owned()
}

/// The library's client for `id` on `sb`, with the merchant's key and the shared secret.
fn library_client(sb: &Sandbox, id: &str) -> doku::client::Client {
    let config = format!(
        r#"{{"client_id":"{id}","private_key":{},"base_url":"{}","proxy":"","client_secret":{},"channel_id":"H2H"}}"#,
        serde_json::to_string(&merchant().pem).unwrap(),
        sb.url(),
        serde_json::to_string(SECRET).unwrap()
    );
    doku::client::Client::from_json(&config).unwrap()
}

/// A create-VA body, pretty-printed, with a non-ASCII name and `/` in the trxId.
fn va_body(trx: &str) -> String {
    format!(
        "{{\n  \"partnerServiceId\": \"  888994\",\n  \"customerNo\": \"00000000000000000001\",\n  \"virtualAccountNo\": \"  88899400000000000000000001\",\n  \"virtualAccountName\": \"Śiti Nurhaliza / Toko\",\n  \"trxId\": \"{trx}\",\n  \"totalAmount\": {{ \"value\": \"11500.00\", \"currency\": \"IDR\" }},\n  \"virtualAccountTrxType\": \"C\",\n  \"expiredDate\": \"2026-12-31T23:59:59+07:00\",\n  \"additionalInfo\": {{ \"channel\": \"VIRTUAL_ACCOUNT_BANK_CIMB\" }}\n}}\n"
    )
}

/// Every header of a correctly signed create-VA request, as (name, value).
fn va_headers(token: &str, id: &str, body: &str, ts: &str, secret: &str) -> Vec<(String, String)> {
    let req = symmetric::Request { method: "POST", path: CREATE_VA_PATH, access_token: token, body: Some(body), timestamp: ts };
    let sig = symmetric::sign(secret.as_bytes(), &req).unwrap();
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("X-TIMESTAMP".into(), ts.to_owned()),
        ("X-SIGNATURE".into(), sig),
        ("X-PARTNER-ID".into(), id.to_owned()),
        ("X-EXTERNAL-ID".into(), doku::request::external_id()),
        ("CHANNEL-ID".into(), "H2H".into()),
    ]
}

fn post_va(addr: SocketAddr, headers: &[(String, String)], body: &str) -> Resp {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    raw(addr, &post_to(CREATE_VA_PATH, &pairs, body))
}

fn without(headers: &[(String, String)], name: &str) -> Vec<(String, String)> {
    headers.iter().filter(|(n, _)| n != name).cloned().collect()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut h = without(headers, name);
    h.push((name.to_owned(), value.to_owned()));
    h
}

fn assert_code(r: &Resp, status: u16, code: &str, fragment: &str) {
    let body = r.json();
    assert_eq!((r.status, body["responseCode"].as_str()), (status, Some(code)), "{body}");
    let message = body["responseMessage"].as_str().unwrap();
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-timestamp").and_then(timestamp::parse).is_some());
}

#[test]
fn create_va_succeeds_and_echoes_the_account() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-VA");
    let body = va_body("INV/2026/0001");
    let wib = timestamp::Offset::parse("+07:00").unwrap().now();
    for ts in [now_z(), wib] {
        let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", &body, &ts, SECRET), &body);
        assert_code(&r, 200, "2002700", "Successful");
        let data = &r.json()["virtualAccountData"];
        assert_eq!(data["virtualAccountName"], "Śiti Nurhaliza / Toko");
        assert_eq!(data["trxId"], "INV/2026/0001");
        assert_eq!(data["partnerServiceId"], "  888994");
        assert_eq!(data["totalAmount"], json!({"value": "11500.00", "currency": "IDR"}));
        assert_eq!(data["virtualAccountTrxType"], "C");
        assert_eq!(data["expiredDate"], "2026-12-31T23:59:59+07:00");
        // What DOKU's samples carry and its SDKs read (issue 13): the request's additionalInfo,
        // completed with where to pay.
        assert_eq!(
            data["additionalInfo"],
            json!({
                "channel": "VIRTUAL_ACCOUNT_BANK_CIMB",
                "howToPayPage": "https://sandbox.doku.com/how-to-pay/v2/virtual-account/88899400000000000000000001",
                "howToPayApi": "https://api-sandbox.doku.com/how-to-pay-api/v2/virtual-account/88899400000000000000000001"
            })
        );
    }
    // The minified body carries the same signature.
    let minified = doku::signature::minify::minify(&body).unwrap();
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), &minified);
    assert_code(&r, 200, "2002700", "Successful");
}

#[test]
fn create_va_through_the_library_client() {
    let sb = va_sandbox();
    let client = library_client(sb, "MCH-VA2");
    let r = client.request("POST", CREATE_VA_PATH, Some(&va_body("INV/lib/1")), &Default::default()).unwrap();
    assert_eq!((r.http_status, r.response_code.as_deref()), (200, Some("2002700")), "{}", r.body);
}

#[test]
fn create_va_refusals_in_order() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-VA");
    let body = va_body("INV/refused/1");
    let ts = now_z();
    let good = va_headers(&token, "MCH-VA", &body, &ts, SECRET);
    let refused = |headers: &[(String, String)], status: u16, code: &str, fragment: &str| {
        let r = post_va(sb.addr(), headers, &body);
        assert_code(&r, status, code, fragment);
        assert!(!r.text().contains(&token[token.len() - 40..]), "the token is echoed: {}", r.text());
        r
    };
    // Mandatory headers, in order: each missing one is reported while the later ones are missing too.
    let names = ["Authorization", "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"];
    for (i, name) in names.iter().enumerate() {
        let mut h = good.clone();
        for later in &names[i..] {
            h = without(&h, later);
        }
        let r = refused(&h, 400, "4002702", &format!("Invalid Mandatory Field {name}"));
        assert_eq!(r.json()["responseMessage"], format!("Invalid Mandatory Field {name}"));
    }
    refused(&with(&good, "Authorization", &format!("Basic {token}")), 400, "4002702", "Invalid Mandatory Field Authorization");
    refused(&with(&good, "Authorization", "Bearer "), 400, "4002702", "Invalid Mandatory Field Authorization");
    refused(&with(&good, "CHANNEL-ID", ""), 400, "4002702", "Invalid Mandatory Field CHANNEL-ID");
    // Formats.
    refused(&with(&good, "X-TIMESTAMP", "2026-11-28 10:00:00"), 400, "4002701", "Invalid Field Format X-TIMESTAMP");
    refused(&with(&good, "X-TIMESTAMP", "2022-10-07T14:18:3é"), 400, "4002701", "Invalid Field Format X-TIMESTAMP");
    // X-EXTERNAL-ID: what DOKU's SDKs send passes (create_va_accepts_the_external_ids_of_dokus_sdks_unless_strict),
    // not anything.
    refused(&with(&good, "X-EXTERNAL-ID", "12 ab"), 400, "4002701", "Invalid Field Format X-EXTERNAL-ID");
    refused(&with(&good, "X-EXTERNAL-ID", "12é"), 400, "4002701", "Invalid Field Format X-EXTERNAL-ID");
    refused(&with(&good, "X-EXTERNAL-ID", &"1".repeat(129)), 400, "4002701", "Invalid Field Format X-EXTERNAL-ID");
    // The token: garbage, tampered, or another sandbox's (checked before the timestamp's skew).
    let stale = with(&good, "X-TIMESTAMP", &shifted_z(-3600));
    refused(&with(&stale, "Authorization", "Bearer not-a-jwt"), 401, "4012701", "Invalid Token (B2B): malformed JWT");
    let other = Sandbox::start(config_with_faults(&[])).unwrap();
    let foreign = b2b_token(other.addr(), "MCH-OK");
    refused(&with(&good, "Authorization", &format!("Bearer {foreign}")), 401, "4012701", "Invalid Token (B2B): JWT rejected");
    // The token's client must be the partner.
    let token2 = b2b_token(sb.addr(), "MCH-VA2");
    let h = va_headers(&token2, "MCH-VA", &body, &ts, SECRET);
    refused(&h, 401, "4012700", "Unauthorized. X-PARTNER-ID does not match the token's client");
    // Skew, then the secret.
    let old = shifted_z(-400);
    let r = refused(&va_headers(&token, "MCH-VA", &body, &old, SECRET), 401, "4012700", "Unauthorized. X-TIMESTAMP is ");
    assert!(r.json()["responseMessage"].as_str().unwrap().ends_with("s away from the server clock (allowed: 300 s)"));
    let nosecret = b2b_token(sb.addr(), "MCH-NOSECRET");
    refused(&va_headers(&nosecret, "MCH-NOSECRET", &body, &ts, SECRET), 401, "4012700", "Unauthorized. No client secret registered for MCH-NOSECRET");
    // The signature: wrong secret, other body, other timestamp, not base64.
    let digest = doku::signature::symmetric::body_digest(Some(&body)).unwrap();
    let expected = format!(
        "Unauthorized. Invalid Signature (expected HMAC-SHA512 over \"POST:{CREATE_VA_PATH}:<access token>:{digest}:{ts}\" with the client secret of MCH-VA: "
    );
    let r = refused(&va_headers(&token, "MCH-VA", &body, &ts, "wrong-secret"), 401, "4012700", &expected);
    assert_eq!(r.json()["responseMessage"], format!("{expected}it does not match the request and client secret)"));
    let signed_other_body = va_headers(&token, "MCH-VA", &va_body("INV/other"), &ts, SECRET);
    refused(&signed_other_body, 401, "4012700", &expected);
    // The same instant written in WIB is another string to sign.
    let same_instant = timestamp::Offset::parse("+07:00").unwrap().format(timestamp::parse(&ts).unwrap().to_utc());
    let other_ts = va_headers(&token, "MCH-VA", &body, &same_instant, SECRET);
    refused(&with(&other_ts, "X-TIMESTAMP", &ts), 401, "4012700", &expected);
    refused(&with(&good, "X-SIGNATURE", "%%%"), 401, "4012700", "not canonical base64");
    // A body that cannot be digested.
    let r = post_va(sb.addr(), &good, "{not json");
    assert_code(&r, 400, "4002700", "Bad Request. body is not valid JSON");
}

#[test]
fn create_va_body_fields_are_mandatory() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-VA");
    let full: Value = serde_json::from_str(&va_body("INV/fields/1")).unwrap();
    for field in ["partnerServiceId", "customerNo", "virtualAccountNo", "virtualAccountName", "trxId", "totalAmount"] {
        let mut v = full.clone();
        v.as_object_mut().unwrap().remove(field);
        let body = serde_json::to_string_pretty(&v).unwrap();
        let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), &body);
        assert_code(&r, 400, "4002702", &format!("Invalid Mandatory Field {field}"));
    }
    let mut v = full.clone();
    v["totalAmount"].as_object_mut().unwrap().remove("currency");
    let body = v.to_string();
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), &body);
    assert_code(&r, 400, "4002702", "Invalid Mandatory Field totalAmount.currency");
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", "", &now_z(), SECRET), "");
    assert_code(&r, 400, "4002700", "The body is empty");
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA", "[1]", &now_z(), SECRET), "[1]");
    assert_code(&r, 400, "4002700", "must be a JSON object");
}

/// DOKU documents X-EXTERNAL-ID as a numeric string of at most 36 characters, but its own PHP and
/// Node SDKs send a UUID plus milliseconds (49 characters here): accepted with a warning naming
/// the documented rule, still unique per client per day, and refused under --strict (issue 13).
#[test]
fn create_va_accepts_the_external_ids_of_dokus_sdks_unless_strict() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sb = Sandbox::start(SandboxConfig { log: Log::Capture(Arc::clone(&lines)), ..va_config() }).unwrap();
    let token = b2b_token(sb.addr(), "MCH-VA");
    let body = va_body("INV/sdk-id/1");
    let sdk_id = format!("{}{}", "3f2b8c1e-9d4a-4e6b-8f0c-5a7d1e2b9c4f", 1_764_547_200_123u64);
    assert_eq!(sdk_id.len(), 49);
    let headers = with(&va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &sdk_id);
    let r = post_va(sb.addr(), &headers, &body);
    assert_code(&r, 200, "2002700", "Successful");
    let warning = format!(
        "warning: X-EXTERNAL-ID \"{sdk_id}\" is not what DOKU documents (a numeric string of at most 36 characters); accepted, as DOKU's own SDKs send such ids (--strict refuses it)"
    );
    assert!(lines.lock().unwrap().contains(&warning), "{:?}", lines.lock().unwrap());
    let again = with(&va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &sdk_id);
    assert_code(&post_va(sb.addr(), &again, &body), 409, "4092700", "Conflict. Duplicate X-EXTERNAL-ID");

    let strict = Sandbox::start(SandboxConfig { strict: true, ..va_config() }).unwrap();
    let token = b2b_token(strict.addr(), "MCH-VA");
    for id in [sdk_id.as_str(), "12ab", &"1".repeat(37)] {
        let headers = with(&va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), "X-EXTERNAL-ID", id);
        assert_code(&post_va(strict.addr(), &headers, &body), 400, "4002701", "Invalid Field Format X-EXTERNAL-ID");
    }
    let digits = with(&va_headers(&token, "MCH-VA", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &"7".repeat(36));
    assert_code(&post_va(strict.addr(), &digits, &body), 200, "2002700", "Successful");
}

#[test]
fn create_va_refuses_a_duplicate_external_id() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-DUP");
    let body = va_body("INV/dup/1");
    let first = va_headers(&token, "MCH-DUP", &body, &now_z(), SECRET);
    assert_code(&post_va(sb.addr(), &first, &body), 200, "2002700", "Successful");
    let external = first.iter().find(|(n, _)| n == "X-EXTERNAL-ID").unwrap().1.clone();
    // Signed afresh, same external id: refused.
    let again = with(&va_headers(&token, "MCH-DUP", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &external);
    let r = post_va(sb.addr(), &again, &body);
    assert_code(&r, 409, "4092700", "Conflict. Duplicate X-EXTERNAL-ID");
    assert_eq!(r.json()["responseMessage"], "Conflict. Duplicate X-EXTERNAL-ID");
    // Another client may use the same id.
    let token2 = b2b_token(sb.addr(), "MCH-VA2");
    let other = with(&va_headers(&token2, "MCH-VA2", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &external);
    assert_code(&post_va(sb.addr(), &other, &body), 200, "2002700", "Successful");
    // A refused request (bad signature) does not use the id up.
    let fresh = doku::request::external_id();
    let bad = with(&va_headers(&token, "MCH-DUP", &body, &now_z(), "wrong"), "X-EXTERNAL-ID", &fresh);
    assert_code(&post_va(sb.addr(), &bad, &body), 401, "4012700", "Invalid Signature");
    let good = with(&va_headers(&token, "MCH-DUP", &body, &now_z(), SECRET), "X-EXTERNAL-ID", &fresh);
    assert_code(&post_va(sb.addr(), &good, &body), 200, "2002700", "Successful");
}

#[test]
fn create_va_with_an_expired_token() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-VATTL");
    std::thread::sleep(Duration::from_millis(2100));
    let body = va_body("INV/ttl/1");
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VATTL", &body, &now_z(), SECRET), &body);
    assert_code(&r, 401, "4012701", "Invalid Token (B2B): JWT rejected: it expired");
}

#[test]
fn create_va_faults_apply() {
    let sb = va_sandbox();
    let body = va_body("INV/fault/1");
    // The faults break these clients' token answers too: mint tokens directly.
    let token = sb.issue_token("MCH-VAERR").unwrap();
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VAERR", &body, &now_z(), SECRET), &body);
    assert_code(&r, 200, "5002700", "General Error");
    // http500 with a delay: the token request and create-va alike.
    let t = Instant::now();
    let r = post_signed(sb.addr(), "MCH-VA500", &now_z());
    assert_eq!(r.status, 500);
    let token = sb.issue_token("MCH-VA500").unwrap();
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA500", &body, &now_z(), SECRET), &body);
    assert_eq!((r.status, r.header("content-type")), (500, Some("text/html")));
    assert!(t.elapsed() >= Duration::from_millis(400));
    // Refusals are not replaced.
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-VA500", &body, &now_z(), "wrong"), &body);
    assert_code(&r, 401, "4012700", "Invalid Signature");
}

// ---------------------------------------------------------------- revocation and the client's retry

/// `latest_token_only`: a client's new token revokes its earlier ones of the same kind (DOKU's
/// "the latest token is the one processed"); other clients and the other kind keep theirs; the
/// stats count the Invalid Token answers by X-PARTNER-ID.
#[test]
fn latest_token_only_supersedes_earlier_tokens() {
    let sb = Sandbox::start(SandboxConfig { latest_token_only: true, ..va_config() }).unwrap();
    let body = va_body("INV/latest/1");
    let call = |token: &str| post_va(sb.addr(), &va_headers(token, "MCH-VA", &body, &now_z(), SECRET), &body);
    let first = b2b_token(sb.addr(), "MCH-VA");
    let other = b2b_token(sb.addr(), "MCH-VA2");
    assert_code(&call(&first), 200, "2002700", "Successful");
    let second = b2b_token(sb.addr(), "MCH-VA");
    assert_code(&call(&first), 401, "4012701", "Invalid Token (B2B): a newer token was issued to this client (latest token only)");
    assert_code(&call(&second), 200, "2002700", "Successful");
    assert_eq!(sb.check_token(&other).unwrap(), "MCH-VA2", "another client keeps its token");
    // A customer (B2B2C) token is another kind: it does not supersede the B2B one.
    let r = raw(sb.addr(), &b2b2c_request("MCH-VA", &auth_code("code-1")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_code(&call(&second), 200, "2002700", "Successful");
    let stats = raw(sb.addr(), format!("GET {STATS_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).json();
    assert_eq!((stats["tokenRequests"]["MCH-VA"].as_u64(), stats["invalidTokenAnswers"]["MCH-VA"].as_u64()), (Some(2), Some(1)), "{stats}");
    assert!(stats["invalidTokenAnswers"].get("MCH-VA2").is_none(), "{stats}");

    // Off (the default): both tokens stay valid.
    let off = va_sandbox();
    let (a, b) = (b2b_token(off.addr(), "MCH-DUP"), b2b_token(off.addr(), "MCH-DUP"));
    assert_eq!((off.check_token(&a).unwrap(), off.check_token(&b).unwrap()), ("MCH-DUP".into(), "MCH-DUP".into()));
}

#[test]
fn revoked_tokens_are_invalid_tokens() {
    let sb = va_sandbox();
    let body = va_body("INV/revoke/1");
    let token = b2b_token(sb.addr(), "MCH-REVOKE");
    let other = b2b_token(sb.addr(), "MCH-REVOKE2");
    assert_code(&post_va(sb.addr(), &va_headers(&token, "MCH-REVOKE", &body, &now_z(), SECRET), &body), 200, "2002700", "Successful");
    assert_eq!(sb.revoke_tokens("MCH-REVOKE"), 1);
    assert_eq!(sb.revoke_tokens("MCH-REVOKE"), 0, "already revoked");
    let r = post_va(sb.addr(), &va_headers(&token, "MCH-REVOKE", &body, &now_z(), SECRET), &body);
    assert_code(&r, 401, "4012701", "Invalid Token (B2B): the token was revoked");
    assert!(sb.check_token(&token).unwrap_err().message().contains("revoked"));
    assert_eq!(sb.check_token(&other).unwrap(), "MCH-REVOKE2", "other clients keep theirs");
    // A new token works.
    let fresh = b2b_token(sb.addr(), "MCH-REVOKE");
    assert_code(&post_va(sb.addr(), &va_headers(&fresh, "MCH-REVOKE", &body, &now_z(), SECRET), &body), 200, "2002700", "Successful");

    // Out of process: POST /sandbox/v1/revoke?client=ID.
    let r = raw(sb.addr(), &post_to(&format!("{REVOKE_PATH}?client=MCH-REVOKE2"), &[], ""));
    assert_eq!((r.status, r.json()["responseCode"].as_str(), r.json()["revoked"].as_u64()), (200, Some("2000000"), Some(1)), "{}", r.text());
    assert!(sb.check_token(&other).unwrap_err().message().contains("revoked"));
    let r = raw(sb.addr(), &post_to(&format!("{REVOKE_PATH}?client=MCH-REVOKE"), &[], ""));
    assert_eq!(r.json()["revoked"], 1);
    let r = raw(sb.addr(), &post_to(REVOKE_PATH, &[], ""));
    assert_code(&r, 400, "4000000", "client=ID");
    let r = raw(sb.addr(), format!("GET {REVOKE_PATH}?client=X HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}

#[test]
fn the_client_refetches_and_retries_once_after_revocation() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sb = Sandbox::start(SandboxConfig { log: Log::Capture(Arc::clone(&lines)), ..va_config() }).unwrap();
    let client = library_client(&sb, "MCH-RETRY");
    let r = client.request("POST", CREATE_VA_PATH, Some(&va_body("INV/retry/1")), &Default::default()).unwrap();
    assert_eq!((r.http_status, r.response_code.as_deref()), (200, Some("2002700")), "{}", r.body);
    assert_eq!(sb.token_requests("MCH-RETRY"), 1);
    assert_eq!(sb.revoke_tokens("MCH-RETRY"), 1);
    let r = client.request("POST", CREATE_VA_PATH, Some(&va_body("INV/retry/2")), &Default::default()).unwrap();
    assert_eq!((r.http_status, r.response_code.as_deref()), (200, Some("2002700")), "{}", r.body);
    assert_eq!(sb.token_requests("MCH-RETRY"), 2, "one new token after the 4012701");
    drop(sb);
    let lines = lines.lock().unwrap().clone();
    let va = |outcome: &str, code: &str, http: u16| format!("client=MCH-RETRY outcome={outcome} code={code} http={http} path={CREATE_VA_PATH}");
    let token = format!("client=MCH-RETRY outcome=ok code=2007300 http=200 path={TOKEN_PATH}");
    assert_eq!(lines, [token.clone(), va("ok", "2002700", 200), va("refused", "4012701", 401), token, va("ok", "2002700", 200)]);
    assert!(!lines.join("\n").contains(SECRET));
}

// ---------------------------------------------------------------- B2B2C tokens

fn b2b2c_request(id: &str, body: &str) -> Vec<u8> {
    let ts = now_z();
    let sig = sign(&merchant().key, id, &ts);
    post_to(B2B2C_TOKEN_PATH, &[("X-CLIENT-KEY", id), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &sig)], body)
}

fn auth_code(code: &str) -> String {
    json!({"grantType": "authorization_code", "authCode": code}).to_string()
}

fn refresh(token: &str) -> String {
    json!({"grantType": "refresh_token", "refreshToken": token}).to_string()
}

fn assert_customer_token(r: &Resp, sb: &Sandbox, id: &str, ttl: i64) -> String {
    let body = r.json();
    assert_eq!((r.status, body["responseCode"].as_str(), body["tokenType"].as_str()), (200, Some("2007400"), Some("Bearer")), "{body}");
    assert_eq!(r.header("x-client-key"), Some(id));
    let now = Utc::now();
    for (field, secs) in [("accessTokenExpiryTime", ttl), ("refreshTokenExpiryTime", 30 * 24 * 3600)] {
        let text = body[field].as_str().unwrap();
        assert!(text.ends_with("+07:00"), "{field}: {text}");
        let at = timestamp::parse(text).unwrap().to_utc();
        assert!(((at - now).num_seconds() - secs).abs() <= 5, "{field}: {text}");
    }
    let claims = jwt::verify_rs256(body["accessToken"].as_str().unwrap(), &token_public_key(sb), now.timestamp()).unwrap();
    assert_eq!(claims["clientId"], id);
    // A customer token is not a B2B token.
    let e = sb.check_token(body["accessToken"].as_str().unwrap()).unwrap_err();
    assert!(e.message().contains("B2B2C"), "{e}");
    let refresh = body["refreshToken"].as_str().unwrap().to_owned();
    assert!(refresh.len() >= 32 && refresh.bytes().all(|b| b.is_ascii_graphic()));
    refresh
}

#[test]
fn b2b2c_tokens_from_auth_codes_and_refresh_tokens() {
    let sb = va_sandbox();
    let r = raw(sb.addr(), &b2b2c_request("MCH-B2B2C", &auth_code("auth-code-123")));
    let refresh1 = assert_customer_token(&r, sb, "MCH-B2B2C", 900);
    // The refresh token gets a new pair; it stays usable until it expires.
    let r = raw(sb.addr(), &b2b2c_request("MCH-B2B2C", &refresh(&refresh1)));
    let refresh2 = assert_customer_token(&r, sb, "MCH-B2B2C", 900);
    assert_ne!(refresh1, refresh2);
    assert_eq!(raw(sb.addr(), &b2b2c_request("MCH-B2B2C", &refresh(&refresh1))).status, 200);

    let refused = |id: &str, body: &str, status: u16, code: &str, message: &str| {
        let r = raw(sb.addr(), &b2b2c_request(id, body));
        assert_refused(&r, status, code, message);
    };
    refused("MCH-B2B2C", &auth_code("invalid-code"), 401, "4017401", "Invalid Auth Code");
    refused("MCH-B2B2C", &refresh("rt-unknown"), 401, "4017401", "Invalid Refresh Token: it was not issued by this sandbox, or was forgotten");
    refused("MCH-B2B2C2", &refresh(&refresh2), 401, "4017401", "Invalid Refresh Token: it was issued to another client");
    refused("MCH-B2B2C", r#"{"grantType":"authorization_code"}"#, 400, "4007402", "Invalid Mandatory Field authCode");
    refused("MCH-B2B2C", r#"{"grantType":"refresh_token","refreshToken":""}"#, 400, "4007402", "Invalid Mandatory Field refreshToken");
    refused("MCH-B2B2C", BODY, 400, "4007400", r#"Bad Request. grantType must be "authorization_code" or "refresh_token", not "client_credentials""#);
    refused("MCH-NOBODY", &auth_code("c"), 401, "4017400", "Unauthorized. Unknown Client");
    let r = raw(sb.addr(), &post_to(B2B2C_TOKEN_PATH, &[("X-CLIENT-KEY", "MCH-B2B2C")], &auth_code("c")));
    assert_refused(&r, 400, "4007402", "Invalid Mandatory Field X-TIMESTAMP");
    let ts = now_z();
    let bad = sign(stranger(), "MCH-B2B2C", &ts);
    let r =
        raw(sb.addr(), &post_to(B2B2C_TOKEN_PATH, &[("X-CLIENT-KEY", "MCH-B2B2C"), ("X-TIMESTAMP", &ts), ("X-SIGNATURE", &bad)], &auth_code("c")));
    assert_eq!((r.status, r.json()["responseCode"].as_str()), (401, Some("4017400")));
    assert!(r.json()["responseMessage"].as_str().unwrap().starts_with("Unauthorized. Invalid Signature (expected SHA256withRSA over"));
    // Revocation covers refresh tokens too.
    assert!(sb.revoke_tokens("MCH-B2B2C") >= 2);
    refused("MCH-B2B2C", &refresh(&refresh2), 401, "4017401", "Invalid Refresh Token: it was revoked");
}

#[test]
fn b2b2c_through_the_library_client() {
    let sb = va_sandbox();
    let config = format!(
        r#"{{"client_id":"MCH-B2B2C2","private_key":{},"base_url":"{}","proxy":""}}"#,
        serde_json::to_string(&merchant().pem).unwrap(),
        sb.url()
    );
    let client = doku::client::Client::from_json(&config).unwrap();
    let t = client.b2b2c_token(doku::token::b2b2c::Grant::AuthorizationCode("code-1")).unwrap();
    assert!(t.access_token_expiry_time.ends_with("+07:00"));
    let again = client.b2b2c_token(doku::token::b2b2c::Grant::RefreshToken(&t.refresh_token)).unwrap();
    assert_ne!(again.access_token.as_str(), t.access_token.as_str());
    let e = client.b2b2c_token(doku::token::b2b2c::Grant::AuthorizationCode("invalid-1")).unwrap_err();
    assert_eq!((e.kind(), e.response_code()), (doku::ErrorKind::Api, Some("4017401")));
    assert!(e.message().contains("Invalid Auth Code"), "{e}");
}

/// `bad-expiry` answers with an `accessTokenExpiryTime` that has a multi-byte character across
/// byte 19: the client refuses it as DOKU's protocol error, naming the field, and does not panic.
#[test]
fn b2b2c_expiry_time_with_a_multibyte_character_is_a_protocol_error() {
    let sb = va_sandbox();
    let r = raw(sb.addr(), &b2b2c_request("MCH-B2B2C-BADEXP", &auth_code("code-1")));
    assert_eq!((r.status, r.json()["accessTokenExpiryTime"].as_str()), (200, Some(doku_sandbox::fault::BAD_EXPIRY_TIME)));
    let config = format!(
        r#"{{"client_id":"MCH-B2B2C-BADEXP","private_key":{},"base_url":"{}","proxy":""}}"#,
        serde_json::to_string(&merchant().pem).unwrap(),
        sb.url()
    );
    let client = doku::client::Client::from_json(&config).unwrap();
    let e = client.b2b2c_token(doku::token::b2b2c::Grant::AuthorizationCode("code-2")).unwrap_err();
    assert_eq!(e.kind(), doku::ErrorKind::Protocol, "{e}");
    assert_eq!(e.message(), "DOKU answered HTTP 200 with 2007400 but no ISO-8601 accessTokenExpiryTime");
}

// ---------------------------------------------------------------- notifications to a test merchant

/// What the test merchant received.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

struct TestMerchant {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

/// A tiny merchant on a std `TcpListener`: it answers DOKU's token request with
/// `merchant::TokenIssuer` (DOKU's public key, the merchant's own JWT key), then judges each
/// call with `merchant::notification::Verifier` and answers with `merchant::answer`, as a
/// merchant using this library does. One request per connection.
fn test_merchant(client_id: &'static str, doku_public: PublicKey, secret: &'static str, prefix: &'static str) -> TestMerchant {
    answering_merchant(client_id, doku_public, secret, prefix, None, 900)
}

/// A test merchant that answers a (verified) payment notification with `payment_answer`, if given.
fn answering_merchant(
    client_id: &'static str,
    doku_public: PublicKey,
    secret: &'static str,
    prefix: &'static str,
    payment_answer: Option<&'static str>,
    ttl: u64,
) -> TestMerchant {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}{prefix}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end;
                }
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break usize::MAX,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            };
            if head_end == usize::MAX {
                continue;
            }
            let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let path = lines.next().unwrap().split(' ').nth(1).unwrap().to_owned();
            let headers: Vec<(String, String)> =
                lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
            let len: usize = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
            let mut body = data[head_end + 4..].to_vec();
            while body.len() < len {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&buf[..n]),
                }
            }
            let req = Received { path, headers, body: String::from_utf8(body).unwrap() };
            log.lock().unwrap().push(req.clone());
            let (status, answer) = match merchant_answer(&req, client_id, &doku_public, secret, ttl) {
                (200, _) if req.path.ends_with(PAYMENT_PATH) && payment_answer.is_some() => (200, payment_answer.unwrap_or_default().to_owned()),
                answer => answer,
            };
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    TestMerchant { url, received }
}

fn merchant_answer(req: &Received, client_id: &str, doku_public: &PublicKey, secret: &str, ttl: u64) -> (u16, String) {
    let header = |n: &str| req.header(n);
    if req.path.ends_with(TOKEN_PATH) {
        let issuer = doku::merchant::TokenIssuer {
            client_id: client_id.into(),
            doku_public_key: std::sync::Arc::new(doku_public.clone()),
            merchant_key: merchant().key.clone(),
            ttl,
            max_skew: 300,
        };
        return issuer.answer(&header, req.body.as_bytes(), Utc::now()).unwrap();
    }
    let options = json!({"client_id": client_id, "client_secret": secret, "merchant_public_key": merchant().key.public_key_pem().unwrap()});
    let verifier = Verifier::from_json(&options.to_string()).unwrap();
    let verdict: Value = serde_json::from_str(&verifier.verify("POST", &req.path, &header, req.body.as_bytes(), Utc::now()).to_json()).unwrap();
    if verdict["accepted"] != true {
        return (verdict["httpStatus"].as_u64().unwrap() as u16, verdict["body"].to_string());
    }
    let operation = verdict["operation"].as_str().unwrap();
    let bill = r#"{"virtualAccountName":"Budi Śantoso","totalAmount":{"value":"10000.00","currency":"IDR"},"trxId":"INV/1"}"#;
    let result = (operation == "inquiry").then_some(bill);
    let answer: Value = serde_json::from_str(&answer::answer(operation, &verdict["request"].to_string(), result).unwrap()).unwrap();
    (answer["httpStatus"].as_u64().unwrap() as u16, answer["body"].to_string())
}

const PAYMENT_PATH: &str = CALLS[1].path;

fn notify_sandbox(secret: &str) -> Sandbox {
    Sandbox::start(SandboxConfig { secrets: vec![("MCH-NOTIFY".into(), secret.to_owned())], log: Log::Off, ..SandboxConfig::default() }).unwrap()
}

#[test]
fn notify_flow_against_a_test_merchant() {
    let sb = notify_sandbox(SECRET);
    let doku_public = PublicKey::parse(&sb.doku_public_key_pem().unwrap()).unwrap();
    for prefix in ["", "/hooks/doku"] {
        let m = test_merchant("MCH-NOTIFY", doku_public.clone(), SECRET, prefix);
        let config = sb.notify_config(&m.url, "MCH-NOTIFY").unwrap();
        assert!(!format!("{config:?}").contains(SECRET), "Debug never prints the secret");
        let report = notify::run(&config).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.token, notify::Step { http_status: Some(200), response_code: Some("2007300".into()) });
        assert_eq!(report.payment(), Some(&notify::Step { http_status: Some(200), response_code: Some("2002500".into()) }));
        assert_eq!(report.summary(), "notify: ok (token 2007300, payment 2002500)");
        let received = m.received.lock().unwrap().clone();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].path, format!("{prefix}{TOKEN_PATH}"));
        assert_eq!(received[0].header("X-CLIENT-KEY"), Some("MCH-NOTIFY"));
        assert_eq!(received[0].body, BODY);
        let n = &received[1];
        assert_eq!(n.path, format!("{prefix}{}", PAYMENT_PATH));
        assert_eq!(n.body, report.notification);
        assert!(n.body.contains("\n  \"virtualAccountName\": \"Budi Śantoso / Toko Kue Ñam\""), "pretty, non-ASCII, /: {}", n.body);
        let v: Value = serde_json::from_str(&n.body).unwrap();
        assert_eq!(v["paidAmount"], json!({"value": "10000.00", "currency": "IDR"}));
        assert!(v["trxId"].as_str().unwrap().starts_with("INV/"));
        for field in ["partnerServiceId", "customerNo", "virtualAccountNo", "paymentRequestId", "trxDateTime"] {
            assert!(v[field].is_string(), "{field}");
        }
        assert_eq!(n.header("CHANNEL-ID"), Some("95221"));
        assert_eq!(n.header("X-PARTNER-ID"), Some("MCH-NOTIFY"));
        let external = n.header("X-EXTERNAL-ID").unwrap();
        assert!(external.len() == 36 && external.bytes().all(|b| b.is_ascii_digit()));
        assert!(n.header("X-TIMESTAMP").unwrap().ends_with("+07:00"));
        assert!(n.header("Authorization").unwrap().starts_with("Bearer ey"));
    }
}

/// The simulator's payment is notified to the merchant (`notifyUrl`): that account's number,
/// name, trxId, amount and paymentRequestId, signed as --notify signs, and the merchant's answer
/// judged; a merchant that is down does not undo the payment.
#[test]
fn a_simulated_payment_is_notified_to_the_merchant() {
    let sb = va_sandbox();
    let doku_public = PublicKey::parse(&sb.doku_public_key_pem().unwrap()).unwrap();
    let m = test_merchant("MCH-VA2", doku_public, SECRET, "");
    let client = library_client(sb, "MCH-VA2");
    let body = va_body("INV/notify/1").replace("00000000000000000001", "00000000000000000077");
    let r = client.call("create_va", Some(&body), &Default::default()).unwrap();
    assert_eq!(r.response_code.as_deref(), Some("2002700"), "{}", r.body);
    let pay = |va: &str| {
        let body = json!({"virtualAccountNo": va, "notifyUrl": m.url}).to_string();
        let r = client.request("POST", &format!("{PAY_VA_PATH}?client=MCH-VA2"), Some(&body), &Default::default()).unwrap();
        serde_json::from_str::<Value>(&r.body).unwrap()
    };
    let answer = pay("  88899400000000000000000077");
    assert_eq!(answer["responseCode"], "2000000", "{answer}");
    assert_eq!(answer["notification"], json!({"ok": true, "summary": "notify: ok (token 2007300, payment 2002500)"}));
    let received = m.received.lock().unwrap().clone();
    let notification: Value = serde_json::from_str(&received.last().unwrap().body).unwrap();
    assert_eq!(received.last().unwrap().path, PAYMENT_PATH);
    for (field, value) in [
        ("partnerServiceId", json!("  888994")),
        ("customerNo", json!("00000000000000000077")),
        ("virtualAccountNo", json!("  88899400000000000000000077")),
        ("virtualAccountName", json!("Śiti Nurhaliza / Toko")),
        ("trxId", json!("INV/notify/1")),
        ("paidAmount", json!({"value": "11500.00", "currency": "IDR"})),
        ("paymentRequestId", answer["paymentRequestId"].clone()),
    ] {
        assert_eq!(notification[field], value, "{field}: {notification}");
    }
    // Regression (review): a URL that cannot be notified used up the bill; it is refused first.
    let body = va_body("INV/notify/2").replace("00000000000000000001", "00000000000000000078");
    client.call("create_va", Some(&body), &Default::default()).unwrap();
    let body = json!({"virtualAccountNo": "  88899400000000000000000078", "notifyUrl": "http//127.0.0.1:9"}).to_string();
    let r = client.request("POST", &format!("{PAY_VA_PATH}?client=MCH-VA2"), Some(&body), &Default::default()).unwrap();
    assert_eq!((r.http_status, r.response_code.as_deref()), (400, Some("4000001")), "{}", r.body);
    assert!(r.body.contains("Invalid Field Format notifyUrl (notify: merchant URL: "), "{}", r.body);
    // A merchant that is not there: the payment stands, the failure is reported.
    let down = format!("http://127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let body = json!({"virtualAccountNo": "  88899400000000000000000078", "notifyUrl": down}).to_string();
    let r = client.request("POST", &format!("{PAY_VA_PATH}?client=MCH-VA2"), Some(&body), &Default::default()).unwrap();
    let answer: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((answer["responseCode"].as_str(), answer["notification"]["ok"].as_bool()), (Some("2000000"), Some(false)), "{answer}");
    assert!(
        answer["notification"]["summary"].as_str().unwrap().starts_with("notify: failed: token request: cannot connect to 127.0.0.1"),
        "{answer}"
    );
}

/// The merchant's answer is judged as DOKU would (issue 13): the string 2002500 with a
/// responseMessage and the request's ids echoed in virtualAccountData; a number, another
/// service's success, no message or no echo is a failure.
#[test]
fn notify_judges_the_merchants_answer_as_doku_does() {
    let sb = notify_sandbox(SECRET);
    let doku_public = PublicKey::parse(&sb.doku_public_key_pem().unwrap()).unwrap();
    for (answer, why) in [
        (r#"{"responseCode":2002500,"responseMessage":"Successful"}"#, "with responseCode 2002500 as a number (DOKU expects the string \"2002500\")"),
        (
            r#"{"responseCode":"2002700","responseMessage":"Successful"}"#,
            "with 2002700, a success of another service (DOKU expects 2002500: HTTP 200, service 25, case 00)",
        ),
        (r#"{"responseCode":"2007300","responseMessage":"Successful"}"#, "with 2007300, a success of another service"),
        (r#"{"responseCode":"2002500"}"#, "2002500 without a responseMessage string (DOKU documents it)"),
        (r#"{"responseCode":"2002500","responseMessage":7}"#, "2002500 without a responseMessage string"),
        (r#"{"responseCode":"4002501","responseMessage":"Bad Request"}"#, "with 4002501: Bad Request (expected HTTP 2xx and 2002500)"),
        (
            r#"{"responseCode":"2002500","responseMessage":"Successful"}"#,
            "2002500 without virtualAccountData (DOKU expects the request's partnerServiceId, customerNo, virtualAccountNo, virtualAccountName, paymentRequestId echoed)",
        ),
        (r#"{"responseCode":"2002500","responseMessage":"OK","virtualAccountData":{"paymentRequestId":"1"}}"#, "virtualAccountData.partnerServiceId is not the request's"),
    ] {
        let m = answering_merchant("MCH-NOTIFY", doku_public.clone(), SECRET, "", Some(answer), 900);
        let report = notify::run(&sb.notify_config(&m.url, "MCH-NOTIFY").unwrap()).unwrap();
        let failure = report.failure.clone().unwrap_or_default();
        assert!(failure.starts_with("payment notification: the merchant") && failure.contains(why), "{answer}: {failure}");
    }
}

/// `--inquire`, `--notify-debit` and `--notify-probe` against a merchant built on
/// `merchant::notification` and `merchant::answer`: every call answered as DOKU expects, every
/// probe refused with DOKU's code (the expired-token probe waits out the merchant's 2 s tokens).
#[test]
fn notify_inquires_notifies_debit_and_probes() {
    let sb = notify_sandbox(SECRET);
    let doku_public = PublicKey::parse(&sb.doku_public_key_pem().unwrap()).unwrap();
    let m = answering_merchant("MCH-NOTIFY", doku_public.clone(), SECRET, "/shop", None, 2);
    let mut config = sb.notify_config(&m.url, "MCH-NOTIFY").unwrap();
    (config.inquire, config.debit, config.probe) = (true, true, true);
    let report = notify::run(&config).unwrap();
    assert!(report.ok(), "{report:?}");
    // Every step's line, then the summary, as the C, C++, Python and PHP merchants give them too.
    let expected: Vec<&str> = include_str!("../../tests/fixtures/notify-full-run.txt").lines().collect();
    assert_eq!([report.step_lines(), vec![report.summary()]].concat(), expected);
    let received = m.received.lock().unwrap().clone();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        &paths[..4],
        ["/shop/authorization/v1/access-token/b2b", "/shop/v1.1/transfer-va/inquiry", "/shop/v1.1/transfer-va/payment", "/shop/v1.0/debit/notify"]
    );
    let replayed = &received[4];
    assert_eq!((replayed.body.as_str(), replayed.header("X-EXTERNAL-ID")), (received[2].body.as_str(), received[2].header("X-EXTERNAL-ID")));

    // The expired-token probe needs short-lived tokens.
    let m = answering_merchant("MCH-NOTIFY", doku_public, SECRET, "", None, 900);
    let mut config = sb.notify_config(&m.url, "MCH-NOTIFY").unwrap();
    config.probe = true;
    let report = notify::run(&config).unwrap();
    assert_eq!(
        report.failure.as_deref(),
        Some("probe: expired token: the merchant's tokens last 900 s; give it a token lifetime of at most 10 s to probe")
    );
}

#[test]
fn notify_failures_say_which_step() {
    let sb = notify_sandbox(SECRET);
    let doku_public = PublicKey::parse(&sb.doku_public_key_pem().unwrap()).unwrap();
    // The merchant has another DOKU key: it refuses the token request.
    let m = test_merchant("MCH-NOTIFY", stranger_public(), SECRET, "");
    let report = notify::run(&sb.notify_config(&m.url, "MCH-NOTIFY").unwrap()).unwrap();
    assert!(!report.ok());
    assert_eq!(report.token, notify::Step { http_status: Some(401), response_code: Some("4017300".into()) });
    assert_eq!(report.payment(), None);
    let why = report.failure.clone().unwrap();
    assert!(why.starts_with("token request: the merchant answered HTTP 401 with 4017300: Unauthorized. Invalid Signature"), "{why}");
    assert!(report.summary().starts_with("notify: failed: token request:"));
    assert_eq!(m.received.lock().unwrap().len(), 1);

    // The merchant knows another secret: it refuses the notification.
    let m = test_merchant("MCH-NOTIFY", doku_public.clone(), "another-secret", "");
    let report = notify::run(&sb.notify_config(&m.url, "MCH-NOTIFY").unwrap()).unwrap();
    assert_eq!(report.token.response_code.as_deref(), Some("2007300"));
    assert_eq!(report.payment(), Some(&notify::Step { http_status: Some(401), response_code: Some("4012500".into()) }));
    let why = report.failure.clone().unwrap();
    assert!(why.starts_with("payment notification: the merchant answered HTTP 401 with 4012500: Unauthorized. Invalid Signature"), "{why}");
    assert_eq!(report.step_lines().len(), 2);

    // The merchant knows another client id.
    let m = test_merchant("MCH-OTHER", doku_public, SECRET, "");
    let report = notify::run(&sb.notify_config(&m.url, "MCH-NOTIFY").unwrap()).unwrap();
    assert!(report.failure.unwrap().contains("4017300: Unauthorized. Unknown Client"));

    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let report = notify::run(&sb.notify_config(&format!("http://127.0.0.1:{port}"), "MCH-NOTIFY").unwrap()).unwrap();
    assert_eq!(report.token.http_status, None);
    assert!(report.failure.unwrap().contains("cannot connect to 127.0.0.1"));

    // Runs that cannot start are errors.
    let e = sb.notify_config("http://127.0.0.1:9", "MCH-UNKNOWN").unwrap_err();
    assert!(e.message().contains("no client secret registered for MCH-UNKNOWN"), "{e}");
    let e = notify::run(&sb.notify_config("http://merchant.example", "MCH-NOTIFY").unwrap()).unwrap_err();
    assert!(e.message().contains("plain http:// is allowed only for loopback"), "{e}");
    let mut config = sb.notify_config("https://localhost:9", "MCH-NOTIFY").unwrap();
    config.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
    assert!(notify::run(&config).unwrap_err().message().contains("cannot be read"));
    config.ca_file = None;
    config.client_secret = String::new().into();
    assert!(notify::run(&config).unwrap_err().message().contains("secret is empty"));
}

fn stranger_public() -> PublicKey {
    PublicKey::parse(&stranger().public_key_pem().unwrap()).unwrap()
}

#[test]
fn dokus_key_pair_is_persisted() {
    let dir = temp_dir("doku-key");
    let keys = dir.join("keys");
    let config = || SandboxConfig { doku_key_dir: Some(keys.clone()), log: Log::Off, ..SandboxConfig::default() };
    let sb = Sandbox::start(config()).unwrap();
    let public_file = sb.doku_public_key_file().unwrap();
    assert_eq!(public_file, keys.join("doku-public.pem"));
    let pem = sb.doku_public_key_pem().unwrap();
    assert_eq!(std::fs::read_to_string(&public_file).unwrap(), pem);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join("doku-private.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    drop(sb);
    // Reused across restarts, and the public file is restored if lost.
    std::fs::remove_file(&public_file).unwrap();
    let sb = Sandbox::start(config()).unwrap();
    assert_eq!(sb.doku_public_key_pem().unwrap(), pem);
    assert_eq!(std::fs::read_to_string(&public_file).unwrap(), pem);
    drop(sb);
    // The TLS directory serves when no key directory is given; without either, nothing is written.
    let tls = dir.join("tls");
    let sb = Sandbox::start(SandboxConfig { tls_dir: Some(tls.clone()), log: Log::Off, ..SandboxConfig::default() }).unwrap();
    assert_eq!(sb.doku_public_key_file(), Some(tls.join("doku-public.pem")));
    assert!(tls.join("doku-private.pem").exists());
    let plain = notify_sandbox(SECRET);
    assert_eq!(plain.doku_public_key_file(), None);
    assert_ne!(plain.doku_public_key_pem().unwrap(), pem);
    assert_eq!(plain.doku_public_key_pem().unwrap(), plain.doku_public_key_pem().unwrap(), "one pair per run");
    // A damaged private key is reported, not replaced.
    std::fs::write(keys.join("doku-private.pem"), "garbage").unwrap();
    let e = Sandbox::start(config()).err().unwrap();
    assert!(e.to_string().contains("doku-private.pem"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_binary_notifies_and_exits() {
    let bin = env!("CARGO_BIN_EXE_doku-sandbox");
    let dir = temp_dir("bin-notify");
    // The merchant is configured with DOKU's public key before the sandbox runs.
    let pkey = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    std::fs::write(dir.join("doku-private.pem"), pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let doku_public = PublicKey::parse(&String::from_utf8(pkey.public_key_to_pem().unwrap()).unwrap()).unwrap();
    std::fs::write(dir.join("secret.txt"), format!("  {SECRET}\n")).unwrap();
    let run_notify = |merchant_url: &str| {
        run(Command::new(bin).current_dir(&dir).args([
            "--listen",
            "127.0.0.1:0",
            "--quiet",
            "--doku-key-dir",
            ".",
            "--secret-file",
            "MCH-BN=secret.txt",
            "--notify",
            merchant_url,
            "--notify-client",
            "MCH-BN",
            "--notify-exit",
        ]))
    };
    let m = test_merchant("MCH-BN", doku_public, SECRET, "");
    let out = run_notify(&m.url);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("listening on http://127.0.0.1:"), "{stdout}");
    assert!(stdout.ends_with("notify: ok (token 2007300, payment 2002500)\n"), "{stdout}");
    assert!(stderr.contains("doku public key: ./doku-public.pem"), "{stderr}");
    assert!(stderr.contains("notify: token request: HTTP 200, 2007300\nnotify: payment notification: HTTP 200, 2002500"), "{stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    assert_eq!(std::fs::read(dir.join("doku-public.pem")).unwrap(), pkey.public_key_to_pem().unwrap(), "the public half of the given key");
    // A refusing merchant: exit 1 with the reason.
    let m = test_merchant("MCH-BN", stranger_public(), SECRET, "");
    let out = run_notify(&m.url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("notify: failed: token request: the merchant answered HTTP 401 with 4017300"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn create_va_with_curl_and_the_openssl_cli() {
    let sb = va_sandbox();
    let token = b2b_token(sb.addr(), "MCH-VA");
    // Already minified, so the shell hashes exactly the bytes it sends.
    let body = r#"{"partnerServiceId":"  888994","customerNo":"7","virtualAccountNo":"  8889947","virtualAccountName":"Ñoño / CLI","trxId":"INV/cli/1","totalAmount":{"value":"1.00","currency":"IDR"}}"#;
    let script = format!(
        r#"TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
HASH=$(printf '%s' "$BODY" | sha256sum | cut -d' ' -f1)
SIG=$(printf '%s' "POST:{CREATE_VA_PATH}:$TOKEN:$HASH:$TS" | openssl dgst -sha512 -hmac "$SECRET" -binary | base64 -w0)
curl -sS --max-time 10 -w '\n%{{http_code}}' -X POST "{url}{CREATE_VA_PATH}" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN" -H "X-TIMESTAMP: $TS" -H "X-SIGNATURE: $SIG" -H 'X-PARTNER-ID: MCH-VA' \
  -H "X-EXTERNAL-ID: $(date +%s%N)" -H 'CHANNEL-ID: H2H' --data-binary "$BODY""#,
        url = sb.url()
    );
    let out = run(Command::new("sh").arg("-c").arg(script).env("BODY", body).env("TOKEN", &token).env("SECRET", SECRET));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (answer, status) = text.rsplit_once('\n').unwrap_or_else(|| panic!("{text} {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(status, "200", "{answer}");
    let v: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(v["responseCode"], "2002700");
    assert_eq!(v["virtualAccountData"]["virtualAccountName"], "Ñoño / CLI");
}
