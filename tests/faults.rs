//! The fault matrix: every way DOKU or the network can misbehave, through a real socket, each
//! with its status, a message that names the cause, and a bound on the time it takes:
//! at most timeout_ms + 1 s. README.md shows the same table.

mod common;

use std::time::{Duration, Instant};

use common::{openssl, servers, TestDir};
use doku::key::PublicKey;
use doku::sandbox::{Fault, Log, Sandbox, SandboxConfig};
use doku::token::Client;
use doku::ErrorKind;

const TIMEOUT_MS: u64 = 1500;

struct Row {
    case: &'static str,
    /// Base URL and extra config.
    target: (String, String),
    /// `None`: the token arrives.
    want: Option<(ErrorKind, &'static str)>,
}

#[test]
fn every_fault_gets_its_status_and_message_in_time() {
    let dir = TestDir::new("faults");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("k.pem"));
    openssl(&["pkey", "-in", dir.path("k.pem").to_str().unwrap(), "-pubout", "-out"], &dir.path("pub.pem"));
    let pem = std::fs::read_to_string(dir.path("k.pem")).unwrap();
    let public = PublicKey::parse(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap();
    let modes = ["delay:3000", "delay:300", "reset", "http500", "badjson", "notoken", "huge", "expires-string", "error200", "stall-body"];
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
    let fault = |mode: &str| (format!("{}#{mode}", sandbox.url()), String::new());

    let rows = [
        Row { case: "delay past the timeout", target: fault("delay:3000"), want: Some((ErrorKind::Timeout, "timed out")) },
        Row { case: "delay under the timeout", target: fault("delay:300"), want: None },
        Row { case: "connection reset", target: fault("reset"), want: Some((ErrorKind::Network, "closed or reset")) },
        Row { case: "HTTP 500 with HTML", target: fault("http500"), want: Some((ErrorKind::Protocol, "HTTP 500 with a body that is not JSON")) },
        Row { case: "invalid JSON", target: fault("badjson"), want: Some((ErrorKind::Protocol, "HTTP 200 with a body that is not JSON")) },
        Row { case: "success without a token", target: fault("notoken"), want: Some((ErrorKind::Protocol, "no accessToken")) },
        Row { case: "4 MiB answer", target: fault("huge"), want: Some((ErrorKind::Protocol, "over 1 MiB")) },
        Row { case: "expiresIn as a string", target: fault("expires-string"), want: None },
        Row { case: "error code with HTTP 200", target: fault("error200"), want: Some((ErrorKind::Api, "HTTP 200 with 5007300: General Error")) },
        Row { case: "headers, then a stalled body", target: fault("stall-body"), want: Some((ErrorKind::Timeout, "timed out")) },
        Row { case: "connection refused", target: (refused, String::new()), want: Some((ErrorKind::Network, "cannot connect to 127.0.0.1")) },
        Row { case: "untrusted certificate", target: (tls.url(), String::new()), want: Some((ErrorKind::Tls, "certificate verify failed")) },
        Row { case: "expired certificate", target: (expired, ca(&expired_ca)), want: Some((ErrorKind::Tls, "certificate has expired")) },
        Row { case: "TLS server hangs up mid-handshake", target: (servers::hangs_up_mid_handshake(), String::new()), want: Some((ErrorKind::Tls, "TLS handshake with 127.0.0.1 failed")) },
    ];
    for row in rows {
        // The sandbox picks the fault by client id: the URL's #fragment carries it here.
        let (url, extra) = row.target;
        let (url, id) = url.split_once('#').map(|(u, id)| (u.to_owned(), id.to_owned())).unwrap_or((url, "c".into()));
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
            }
            (Ok(_), Some(want)) => panic!("{}: succeeded, wanted {want:?}", row.case),
            (Err(e), None) => panic!("{}: {e}", row.case),
        }
    }
}
