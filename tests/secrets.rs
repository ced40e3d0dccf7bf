//! No secret in any message: drives every failure path the library has (config, keys,
//! passphrases, every sandbox fault, TLS, DOKU refusals, JWT and signature checks, the merchant
//! side), collects every error message and every sandbox log line, and greps them for key
//! material, passphrases, client secrets, tokens and signatures.

mod common;

use std::sync::{Arc, Mutex};

use common::{openssl, TestDir};
use doku::key::{PrivateKey, PublicKey};
use doku::merchant::TokenIssuer;
use doku::sandbox::{Fault, Log, Sandbox, SandboxConfig};
use doku::signature::symmetric;
use doku::token::Client;

const PASSPHRASE: &str = "correct-horse-battery-staple";
const SECRET: &str = "client-secret-9f8e7d6c5b4a";

#[test]
fn no_message_or_log_line_contains_a_secret() {
    let dir = TestDir::new("secrets");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("k.pem"));
    let k = dir.path("k.pem");
    let p = k.to_str().unwrap();
    openssl(&["pkey", "-in", p, "-pubout", "-out"], &dir.path("pub.pem"));
    openssl(&["pkcs8", "-topk8", "-in", p, "-v2", "aes-256-cbc", "-passout", &format!("pass:{PASSPHRASE}"), "-out"], &dir.path("enc.pem"));
    let pem = std::fs::read_to_string(&k).unwrap();
    let enc = std::fs::read_to_string(dir.path("enc.pem")).unwrap();
    let public = PublicKey::parse(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap();

    let log = Arc::new(Mutex::new(Vec::new()));
    let faults = ["delay:3000", "reset", "http500", "badjson", "notoken", "huge", "expires-string", "error200", "stall-body", "clock:+900"];
    let sandbox = Sandbox::start(SandboxConfig {
        clients: std::iter::once("ok".to_owned()).chain(faults.iter().map(|f| f.to_string())).map(|id| (id, public.clone())).collect(),
        faults: faults.iter().map(|f| (f.to_string(), f.parse::<Fault>().unwrap())).collect(),
        secrets: vec![("ok".into(), SECRET.into())],
        tls_dir: None,
        log: Log::Capture(log.clone()),
        ..SandboxConfig::default()
    })
    .unwrap();

    let mut messages: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = vec![PASSPHRASE.into(), SECRET.into()];
    // Every 16-character window of the private key's base64 body (plain and encrypted).
    for text in [&pem, &enc] {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        secrets.extend(body.as_bytes().chunks(16).filter(|c| c.len() == 16).map(|c| String::from_utf8(c.to_vec()).unwrap()));
    }

    let config = |id: &str, extra: &str| {
        format!(r#"{{"client_id":"{id}","private_key":{},"base_url":"{}","proxy":"","timeout_ms":1000,"client_secret":"{SECRET}","channel_id":"H2H"{extra}}}"#, serde_json::to_string(&pem).unwrap(), sandbox.url())
    };
    // Config and key failures, with secrets in the wrong places.
    for json in [
        format!(r#"{{"client_id":"a","private_key":{},"private_key_passphrase":"{PASSPHRASE}x"}}"#, serde_json::to_string(&enc).unwrap()),
        format!(r#"{{"client_id":"a","private_key":{}}}"#, serde_json::to_string(&pem[..pem.len() / 2]).unwrap()),
        format!(r#"{{"client_id":"a","private_key":{}}}"#, serde_json::to_string(&pem.replace("PRIVATE KEY", "PRIVATE KEX")).unwrap()),
        format!(r#"{{"client_id":"a","private_key":"{}"}}"#, pem.lines().nth(3).unwrap()),
        format!(r#"{{"client_id":"a","private_key":["{}"]}}"#, pem.lines().nth(3).unwrap()),
        format!(r#"{{"client_id":"a","private_key":"x","private_key_passphrase":["{PASSPHRASE}"]}}"#),
        format!(r#"{{"client_id":"a","private_key":"x","client_secret":{{"s":"{SECRET}"}}}}"#),
        format!(r#"{{"client_id":"a","private_key":"x","{SECRET}":1}}"#).replace(SECRET, "unknown_key"),
        format!(r#"{{"client_id":"a","private_key":"x","proxy":"http://user:{SECRET}@::bad"}}"#),
    ] {
        messages.push(Client::from_json(&json).err().expect("a refused config").to_string());
    }

    // Every sandbox fault and refusal on the token path.
    let ok = Client::from_json(&config("ok", "")).unwrap();
    let token = ok.with_token(|t| t.access_token.to_string()).unwrap();
    secrets.push(token.clone());
    secrets.push(token.rsplit('.').next().unwrap().to_owned());
    for id in faults.iter().copied().chain(["unknown-client"]) {
        let client = Client::from_json(&config(id, "")).unwrap();
        if let Err(e) = client.with_token(|t| secrets.push(t.access_token.to_string())) {
            messages.push(e.to_string());
        }
    }
    let wrong_key = Client::from_json(&config("ok", "").replace(&serde_json::to_string(&pem).unwrap(), &serde_json::to_string(&enc).unwrap()).replace(r#""proxy":"""#, &format!(r#""proxy":"","private_key_passphrase":"{PASSPHRASE}""#)));
    if let Err(e) = wrong_key.and_then(|c| c.with_token(|_| ())) {
        messages.push(e.to_string());
    }

    // Signed requests: refusals and local failures.
    for body in [Some("{\"bad\":"), Some("{}"), None] {
        match ok.request("POST", doku::sandbox::CREATE_VA_PATH, body) {
            Ok(r) => messages.push(r.body),
            Err(e) => messages.push(e.to_string()),
        }
    }
    let request = symmetric::Request { method: "POST", path: "/p", access_token: &token, body: Some("{}"), timestamp: "2026-01-01T00:00:00Z" };
    let sig = symmetric::sign(SECRET.as_bytes(), &request).unwrap();
    secrets.push(sig.clone());
    messages.push(symmetric::verify(b"other", &request, &sig).unwrap_err().to_string());
    messages.push(symmetric::verify(SECRET.as_bytes(), &request, &sig[..40]).unwrap_err().to_string());

    // JWT checks with a real token: wrong key, tampered, expired.
    let other = PublicKey::parse(&PrivateKey::parse(&pem, None).unwrap().public_key_pem().unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp();
    messages.push(doku::jwt::verify_rs256(&token, &other, now).unwrap_err().to_string());
    messages.push(doku::jwt::verify_rs256(&format!("Bearer {token}x"), &other, now).unwrap_err().to_string());
    messages.push(doku::jwt::verify_rs256(&token.replacen('.', "!.", 1), &other, now).unwrap_err().to_string());

    // The merchant side: refusals answer DOKU without echoing the signature.
    let key = PrivateKey::parse(&pem, None).unwrap();
    let issuer = TokenIssuer { client_id: "MCH", doku_public_key: &public, merchant_key: &key, ttl: 900, max_skew: 300 };
    let ts = doku::timestamp::now_utc();
    let bad_sig = doku::signature::sign_rsa_sha256(&key, b"MCH|1999-01-01T00:00:00Z").unwrap();
    secrets.push(bad_sig.clone());
    let headers = [("X-CLIENT-KEY", "MCH"), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", bad_sig.as_str())];
    let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v);
    messages.push(issuer.answer(&header, br#"{"grantType":"client_credentials"}"#, chrono::Utc::now()).unwrap().1);

    drop(sandbox);
    let lines = log.lock().unwrap().clone();
    assert!(messages.len() >= 25 && lines.len() >= 12, "{} messages, {} log lines", messages.len(), lines.len());
    for text in messages.iter().chain(lines.iter()) {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret leaked into: {text}");
        }
    }
}
