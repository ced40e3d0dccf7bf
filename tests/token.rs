//! The token client through the Rust API, against real servers on loopback: the sandbox, a
//! request-recording server, and an HTTP CONNECT proxy. The C tests (tests/c_api.rs) cover the
//! same paths through the C ABI; these cover what only Rust can observe.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Barrier, Mutex};

use common::{openssl, openssl_sign, TestDir};
use doku::client::Client;
use doku::key::{PrivateKey, PublicKey};
use doku::signature::{b2b_string_to_sign, sign_rsa_sha256};
use doku::ErrorKind;
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig};

struct Keys {
    _dir: TestDir,
    pkcs8: String,
    public: PublicKey,
    public_pem: std::path::PathBuf,
}

fn keys() -> Keys {
    let dir = TestDir::new("token-keys");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("k.pem"));
    openssl(&["pkey", "-in", dir.path("k.pem").to_str().unwrap(), "-pubout", "-out"], &dir.path("pub.pem"));
    Keys {
        pkcs8: std::fs::read_to_string(dir.path("k.pem")).unwrap(),
        public: PublicKey::parse(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap(),
        public_pem: dir.path("pub.pem"),
        _dir: dir,
    }
}

fn config(url: &str, id: &str, key: &str, extra: &str) -> String {
    format!(r#"{{"client_id":"{id}","private_key":{},"base_url":"{url}","proxy":""{extra}}}"#, serde_json::to_string(key).unwrap())
}

#[test]
fn signatures_match_the_openssl_cli_for_every_key_format() {
    let dir = TestDir::new("cli-formats");
    let k = |n: &str| dir.path(n);
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &k("pkcs8.pem"));
    let p = k("pkcs8.pem").to_str().unwrap().to_owned();
    openssl(&["rsa", "-in", &p, "-traditional", "-out"], &k("pkcs1.pem"));
    openssl(&["pkcs8", "-topk8", "-in", &p, "-v2", "aes-256-cbc", "-passout", "pass:pässwörd", "-out"], &k("enc.pem"));
    openssl(&["pkey", "-in", &p, "-outform", "DER", "-out"], &k("key.der"));
    let bare = common::base64_one_line(&std::fs::read(k("key.der")).unwrap());
    let read = |n: &str| std::fs::read_to_string(k(n)).unwrap();
    let formats: [(&str, String, Option<&[u8]>); 4] = [
        ("PKCS#8", read("pkcs8.pem"), None),
        ("PKCS#1", read("pkcs1.pem"), None),
        ("bare base64", bare, None),
        ("encrypted PKCS#8", read("enc.pem"), Some("pässwörd".as_bytes())),
    ];
    for (id, ts) in [("MCH-0008-1296507211683", "2022-10-07T14:18:39+07:00"), ("A", "2020-09-22T01:51:00Z"), ("商户-1", "2026-11-28T00:00:00Z")] {
        let message = b2b_string_to_sign(id, ts);
        let want = openssl_sign(&k("pkcs8.pem"), &message);
        for (name, text, pass) in &formats {
            let key = PrivateKey::cached(text, *pass).unwrap();
            assert_eq!(sign_rsa_sha256(&key, message.as_bytes()).unwrap(), want, "{name}, {message}");
        }
    }
}

#[test]
fn separate_clients_on_many_threads_share_one_fetch() {
    let keys = keys();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: vec![("shared".into(), keys.public.clone())],
        faults: vec![("shared".into(), Fault::Delay(300))],
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let json = config(&sandbox.url(), "shared", &keys.pkcs8, "");
    let barrier = Arc::new(Barrier::new(8));
    let tokens: Vec<String> = (0..8)
        .map(|_| {
            let (json, barrier) = (json.clone(), barrier.clone());
            std::thread::spawn(move || {
                // A client per thread, as PHP-FPM builds one per request.
                let client = Client::from_json(&json).unwrap();
                barrier.wait();
                client.with_token(|t| t.access_token.to_string()).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(sandbox.token_requests("shared"), 1);
    assert_eq!(sandbox.check_token(&tokens[0]).unwrap(), "shared", "the token is one the sandbox issued");
    // A client built after all the others were dropped still finds the token.
    let later = Client::from_json(&json).unwrap();
    assert_eq!(later.with_token(|t| t.access_token.to_string()).unwrap(), tokens[0]);
    assert_eq!(sandbox.token_requests("shared"), 1);
}

#[test]
fn a_different_key_or_url_is_a_different_cache_entry() {
    let (a, b) = (keys(), keys());
    let sandbox = Sandbox::start(SandboxConfig { clients: vec![("k".into(), a.public.clone())], log: Log::Off, ..SandboxConfig::default() }).unwrap();
    Client::from_json(&config(&sandbox.url(), "k", &a.pkcs8, "")).unwrap().token_info().unwrap();
    // Same client id, other key: not served from a's cache, so the sandbox sees (and refuses) it.
    let e = Client::from_json(&config(&sandbox.url(), "k", &b.pkcs8, "")).unwrap().token_info().unwrap_err();
    assert_eq!((e.kind(), e.response_code()), (ErrorKind::Api, Some("4017300")));
    assert!(e.message().contains("Invalid Signature"), "{e}");
    assert_eq!(sandbox.token_requests("k"), 2);
}

/// Accepts one connection, records the request, answers 401 with `body`.
fn recording_server(body: &'static str) -> (String, Arc<Mutex<Vec<u8>>>) {
    let reply =
        format!("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let mut all = head.into_bytes();
        all.extend(body);
        *record.lock().unwrap() = all;
        s.write_all(reply.as_bytes()).unwrap();
    });
    (url, seen)
}

#[test]
fn the_request_is_exactly_what_doku_expects() {
    let keys = keys();
    let (url, seen) = recording_server(r#"{"responseCode":"4017300","responseMessage":"Unauthorized. Unknown Client"}"#);
    let client = Client::from_json(&config(&url, "MCH-0008-1296507211683", &keys.pkcs8, r#","timestamp_offset":"+07:00""#)).unwrap();
    let e = client.token_info().unwrap_err();
    assert_eq!(e.response_code(), Some("4017300"));
    let request = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    let header = |name: &str| {
        request
            .lines()
            .find_map(|l| l.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {request}"))
    };
    assert!(request.starts_with("POST /authorization/v1/access-token/b2b HTTP/1.1\r\n"), "{request}");
    assert!(request.ends_with("\r\n\r\n{\"grantType\":\"client_credentials\"}"), "{request}");
    assert_eq!(header("X-CLIENT-KEY"), "MCH-0008-1296507211683");
    assert_eq!(header("Content-Type"), "application/json");
    assert_eq!(header("User-Agent"), format!("doku-snap/{}", env!("CARGO_PKG_VERSION")));
    let ts = header("X-TIMESTAMP");
    assert!(ts.ends_with("+07:00") && doku::timestamp::parse(&ts).is_some(), "{ts}");
    // The signature covers exactly the header's timestamp: check it with the openssl CLI.
    let dir = TestDir::new("verify");
    std::fs::write(dir.path("msg"), format!("MCH-0008-1296507211683|{ts}")).unwrap();
    let sig = openssl::base64::decode_block(&header("X-SIGNATURE")).unwrap();
    std::fs::write(dir.path("sig"), sig).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&keys.public_pem)
        .arg("-signature")
        .arg(dir.path("sig"))
        .arg(dir.path("msg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl dgst -verify: {}", String::from_utf8_lossy(&out.stdout));
}

/// A minimal HTTP CONNECT proxy; records each CONNECT target. `refuse` answers 407 instead.
fn connect_proxy(refuse: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let targets = Arc::new(Mutex::new(Vec::new()));
    let record = targets.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { return };
            let mut reader = BufReader::new(client.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let target = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            record.lock().unwrap().push(target.clone());
            let mut client = client;
            if refuse {
                let _ = client.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
                continue;
            }
            let upstream = TcpStream::connect(target.replace("localhost", "127.0.0.1")).unwrap();
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
            let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let mut upstream = upstream;
            std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
            std::thread::spawn(move || std::io::copy(&mut reader, &mut upstream));
        }
    });
    (url, targets)
}

#[test]
fn https_goes_through_the_configured_proxy() {
    let keys = keys();
    let tls_dir = TestDir::new("proxy-tls");
    let sandbox = Sandbox::start(SandboxConfig {
        clients: vec![("via-proxy".into(), keys.public.clone())],
        tls_dir: Some(tls_dir.path("tls")),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let ca = sandbox.ca_file().unwrap();
    let (proxy, targets) = connect_proxy(false);
    let extra = format!(r#","ca_file":{},"proxy":"{proxy}""#, serde_json::to_string(&ca).unwrap());
    // `proxy` appears twice in the JSON; the last value wins.
    let client = Client::from_json(&config(&sandbox.url(), "via-proxy", &keys.pkcs8, &extra)).unwrap();
    assert!(client.config().http.uses_proxy());
    client.token_info().unwrap();
    assert_eq!(*targets.lock().unwrap(), vec![format!("localhost:{}", sandbox.addr().port())]);

    let (refusing, _) = connect_proxy(true);
    let extra = format!(r#","ca_file":{},"proxy":"{refusing}""#, serde_json::to_string(&ca).unwrap());
    let e = Client::from_json(&config(&sandbox.url(), "via-proxy-2", &keys.pkcs8, &extra)).unwrap().token_info().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(e.message().contains("proxy"), "{e}");
}

/// 8 threads × 2,000 forced refreshes against one sandbox: zero errors, every one a request.
/// (Throughput is measured by `make bench` on release builds, not here.)
#[test]
fn load_eight_threads_of_forced_refreshes() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 2000;
    let keys = keys();
    let ids: Vec<String> = (0..THREADS).map(|i| format!("load-{i}")).collect();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: ids.iter().map(|id| (id.clone(), keys.public.clone())).collect(),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            // Its own client id per thread, so single-flight cannot merge the threads' refreshes.
            let client = Client::from_json(&config(&sandbox.url(), id, &keys.pkcs8, "")).unwrap();
            std::thread::spawn(move || {
                let mut previous = String::new();
                let mut errors = Vec::new();
                for _ in 0..PER_THREAD {
                    client.invalidate_token();
                    match client.with_token(|t| t.access_token.to_string()) {
                        Ok(token) => {
                            assert_ne!(token, previous, "a forced refresh must bring a new token");
                            previous = token;
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                errors
            })
        })
        .collect();
    let errors: Vec<String> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(errors.is_empty(), "{} errors, first: {}", errors.len(), errors[0]);
    for id in &ids {
        assert_eq!(sandbox.token_requests(id), PER_THREAD as u64, "{id}");
    }
}

/// Regression (issue 9, item 7): clients of one merchant with different transport settings
/// shared the token refresh, its wait and its error. A 1000 ms client waited for a 10 s
/// client's slow fetch (5.9 s), and a client without a proxy got another's proxy error. The
/// token is still shared; the wait and the error are not.
#[test]
fn waiters_keep_their_own_timeout_and_take_no_error_from_another_route() {
    let keys = keys();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: vec![("slow".into(), keys.public.clone()), ("routes".into(), keys.public.clone())],
        faults: vec![("slow".into(), Fault::Delay(3000))],
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    let patient = Client::from_json(&config(&sandbox.url(), "slow", &keys.pkcs8, r#","timeout_ms":10000"#)).unwrap();
    let hurried = Client::from_json(&config(&sandbox.url(), "slow", &keys.pkcs8, r#","timeout_ms":1000"#)).unwrap();
    std::thread::scope(|s| {
        let first = s.spawn(|| patient.with_token(|t| t.access_token.to_string()));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let start = std::time::Instant::now();
        let e = hurried.with_token(|_| ()).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.message().contains("timeout_ms 1000 ms"), "{e}");
        assert!(waited < std::time::Duration::from_millis(1800), "waited {waited:?}");
        let token = first.join().unwrap().unwrap();
        // Once there, the token serves both.
        assert_eq!(hurried.with_token(|t| t.access_token.to_string()).unwrap(), token);
    });
    assert_eq!(sandbox.token_requests("slow"), 1);

    // A proxy that holds the CONNECT for 1 s, then drops it.
    let stalling = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", stalling.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in stalling.incoming().flatten() {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(1000));
                drop(conn);
            });
        }
    });
    let proxied = Client::from_json(&config(&sandbox.url(), "routes", &keys.pkcs8, &format!(r#","proxy":"{proxy}""#))).unwrap();
    let direct = Client::from_json(&config(&sandbox.url(), "routes", &keys.pkcs8, "")).unwrap();
    std::thread::scope(|s| {
        let first = s.spawn(|| proxied.with_token(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let token = direct.with_token(|t| t.access_token.to_string()).expect("its own fetch, not the proxy's error");
        assert!(token.starts_with("eyJ"));
        assert_eq!(first.join().unwrap().unwrap_err().kind(), ErrorKind::Network, "the proxied client's own error");
    });
    assert_eq!(sandbox.token_requests("routes"), 1, "only the direct client reached the sandbox");
}

/// Regression (issue 9, item 8): the registry held 64 slots and evicted the unused slot expiring
/// first, which in a round-robin is always the next one needed: 65 merchants × 5 rounds made
/// 325 token requests. 200 merchants × 3 rounds, a new client per call, now make 200.
#[test]
fn two_hundred_merchants_round_robin_fetch_once_each() {
    let keys = keys();
    let ids: Vec<String> = (0..200).map(|i| format!("merchant-{i:03}")).collect();
    let sandbox = Sandbox::start(SandboxConfig {
        clients: ids.iter().map(|id| (id.clone(), keys.public.clone())).collect(),
        log: Log::Off,
        ..SandboxConfig::default()
    })
    .unwrap();
    for _round in 0..3 {
        for id in &ids {
            let client = Client::from_json(&config(&sandbox.url(), id, &keys.pkcs8, "")).unwrap();
            assert!(client.with_token(|t| t.access_token.starts_with("eyJ")).unwrap());
        }
    }
    let total: u64 = ids.iter().map(|id| sandbox.token_requests(id)).sum();
    assert_eq!(total, 200);
}
