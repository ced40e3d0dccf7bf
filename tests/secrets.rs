//! No secret in any message: drives every failure path the library has (config, keys,
//! passphrases, every sandbox fault, TLS, DOKU refusals, JWT and signature checks, the merchant
//! side, every line of a PEM broken in every way), collects every error message, every event the
//! library logs (`doku::log`) and every sandbox log line, and greps them for key material,
//! passphrases, client secrets, tokens and signatures.

mod common;

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::{Arc, Mutex};

use common::{openssl, TestDir};
use doku::client::Client;
use doku::ffi::DokuStatus;
use doku::key::{PrivateKey, PublicKey};
use doku::merchant::notification::Verifier;
use doku::merchant::TokenIssuer;
use doku::signature::symmetric;
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig};

const PASSPHRASE: &str = "correct-horse-battery-staple";
const SECRET: &str = "client-secret-9f8e7d6c5b4a";

/// Every 16-character window of the base64 bodies of `pems` (the lines that are not armour).
fn key_windows(pems: &[&str]) -> HashSet<Vec<u8>> {
    let mut windows = HashSet::new();
    for pem in pems {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----") && !l.contains(':')).collect();
        windows.extend(body.as_bytes().windows(16).map(<[u8]>::to_vec));
    }
    windows
}

/// Fails if `text`, with its whitespace removed (a key may be echoed across line breaks), holds
/// any of `windows`.
fn assert_no_key_text(text: &str, windows: &HashSet<Vec<u8>>) {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(!compact.windows(16).any(|w| windows.contains(w)), "key text leaked into: {text}");
}

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

    // Every event the library raises meanwhile, at every level (from this test's threads and
    // the others of this file: more lines to check).
    let events = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let sink = events.clone();
    doku::log::set_sink(
        Some(Box::new(move |level, event, message| sink.lock().unwrap().push((event.to_owned(), format!("{level:?} {event}: {message}"))))),
        doku::log::Level::Debug,
    );
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
    let windows = key_windows(&[&pem, &enc]);

    let config = |id: &str, extra: &str| {
        format!(
            r#"{{"client_id":"{id}","private_key":{},"base_url":"{}","proxy":"","timeout_ms":1000,"client_secret":"{SECRET}","channel_id":"H2H"{extra}}}"#,
            serde_json::to_string(&pem).unwrap(),
            sandbox.url()
        )
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
    let wrong_key = Client::from_json(
        &config("ok", "")
            .replace(&serde_json::to_string(&pem).unwrap(), &serde_json::to_string(&enc).unwrap())
            .replace(r#""proxy":"""#, &format!(r#""proxy":"","private_key_passphrase":"{PASSPHRASE}""#)),
    );
    if let Err(e) = wrong_key.and_then(|c| c.with_token(|_| ())) {
        messages.push(e.to_string());
    }

    // Signed requests: refusals and local failures; a revoked token (the Invalid-Token retry).
    for body in [Some("{\"bad\":"), Some("{}"), None] {
        match ok.request("POST", doku_sandbox::CREATE_VA_PATH, body, &Default::default()) {
            Ok(r) => messages.push(r.body),
            Err(e) => messages.push(e.to_string()),
        }
    }
    assert!(sandbox.revoke_tokens("ok") >= 1);
    let retried = ok.request("POST", doku_sandbox::CREATE_VA_PATH, Some("{}"), &Default::default()).unwrap();
    messages.push(retried.body);
    secrets.push(ok.with_token(|t| t.access_token.to_string()).unwrap());
    // The operations: a customer token in the options and in a body, refused, revoked, lost.
    let customer = ok.b2b2c_token(doku::token::b2b2c::Grant::AuthorizationCode("secrets-code")).unwrap();
    let customer_token = customer.access_token.to_string();
    secrets.push(customer_token.clone());
    secrets.push(customer.refresh_token.to_string());
    let channel = r#""additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}"#;
    let with_customer = |token: &str, extra: &str| {
        doku::operations::CallOptions::parse(Some(&format!(
            r#"{{"customerToken":{},"ipAddress":"203.0.113.7"{extra}}}"#,
            serde_json::to_string(token).unwrap()
        )))
    };
    let calls: Vec<(&str, String, doku::Result<doku::operations::CallOptions>)> = vec![
        ("balance_inquiry", format!("{{{channel}}}"), with_customer(&customer_token, "")),
        ("balance_inquiry", format!("{{{channel}}}"), with_customer(&format!("{customer_token}x"), "")),
        ("balance_inquiry", format!("{{{channel}}}"), with_customer(&format!("{customer_token} {customer_token}"), "")),
        ("balance_inquiry", format!("{{{channel}}}"), with_customer(&customer_token, r#","headers":{"X-SIGNATURE":"x"}"#)),
        ("create_va", "{}".into(), with_customer(&customer_token, "")),
        (
            "account_unbinding",
            format!(r#"{{"tokenId":"{}",{channel}}}"#, customer_token.repeat(40)),
            doku::operations::CallOptions::parse(Some(r#"{"ipAddress":"203.0.113.7"}"#)),
        ),
        (
            "account_unbinding",
            format!(r#"{{"tokenId":"{customer_token}",{channel}}}"#),
            doku::operations::CallOptions::parse(Some(r#"{"ipAddress":"203.0.113.7"}"#)),
        ),
        ("balance_inquiry", format!("{{{channel}}}"), with_customer(&customer_token, "")),
        (
            "payment",
            format!(r#"{{"partnerReferenceNo":"S-1","amount":{{"value":"1.00","currency":"IDR"}},{channel}}}"#),
            with_customer(&customer_token, ""),
        ),
    ];
    for (op, body, options) in calls {
        match options.and_then(|o| ok.call(op, Some(&body), &o)) {
            Ok(r) => messages.push(r.body),
            Err(e) => messages.push(e.to_string()),
        }
    }
    // A payment whose answer is lost: the outcome-unknown message, and its log line.
    // The patient client fetches the token the slow one then shares (one cache slot).
    let patient = Client::from_json(&config("delay:3000", r#","timeout_ms":6000"#)).unwrap();
    secrets.push(patient.with_token(|t| t.access_token.to_string()).unwrap());
    let slow = Client::from_json(&config("delay:3000", "")).unwrap();
    if let Err(e) = slow.call(
        "payment",
        Some(&format!(r#"{{"partnerReferenceNo":"S-2","amount":{{"value":"1.00","currency":"IDR"}},{channel}}}"#)),
        &with_customer(&customer_token, "").unwrap(),
    ) {
        messages.push(e.to_string());
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
    let key = std::sync::Arc::new(PrivateKey::parse(&pem, None).unwrap());
    let issuer = TokenIssuer {
        client_id: "MCH".into(),
        doku_public_key: std::sync::Arc::new(public.clone()),
        merchant_key: key.clone(),
        ttl: 900,
        max_skew: 300,
    };
    let ts = doku::timestamp::now_utc();
    let bad_sig = doku::signature::sign_rsa_sha256(&key, b"MCH|1999-01-01T00:00:00Z").unwrap();
    secrets.push(bad_sig.clone());
    let headers = [("X-CLIENT-KEY", "MCH"), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", bad_sig.as_str())];
    let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v);
    messages.push(issuer.answer(&header, br#"{"grantType":"client_credentials"}"#, chrono::Utc::now()).unwrap().1);

    // ... and its verdicts on DOKU's calls: every refusal the verifier can give, with the real
    // token and secret in play, and its option errors with the secret in the wrong places.
    let merchant_token = doku::jwt::sign_rs256(&key, &doku::merchant::token_claims("MCH", "MCH", 900, chrono::Utc::now()).unwrap()).unwrap();
    secrets.push(merchant_token.clone());
    let pub_pem = std::fs::read_to_string(dir.path("pub.pem")).unwrap();
    let verifier =
        Verifier::from_json(&serde_json::json!({"client_id": "MCH", "client_secret": SECRET, "merchant_public_key": pub_pem}).to_string()).unwrap();
    let path = "/v1.1/transfer-va/payment";
    let body = r#"{"partnerServiceId":"  1","customerNo":"1","virtualAccountNo":"  11","paymentRequestId":"P","paidAmount":{"value":"1.00","currency":"IDR"}}"#;
    // One timestamp: the last two requests are the same request, a replay.
    let now = doku::timestamp::now_utc();
    for (ts, secret, token, external_id, body) in [
        (now.clone(), "wrong", merchant_token.as_str(), "1", body),
        ("2020-01-01T00:00:00Z".to_owned(), SECRET, merchant_token.as_str(), "2", body),
        (now.clone(), SECRET, token.as_str(), "3", body),
        (now.clone(), SECRET, merchant_token.as_str(), "4", "{\"partnerServiceId\":1}"),
        (now.clone(), SECRET, merchant_token.as_str(), "5", body),
        (now.clone(), SECRET, merchant_token.as_str(), "5", body),
    ] {
        let request = symmetric::Request { method: "POST", path, access_token: token, body: Some(body), timestamp: &ts };
        let sig = symmetric::sign(secret.as_bytes(), &request).unwrap();
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("X-TIMESTAMP", &ts),
            ("X-SIGNATURE", &sig),
            ("X-PARTNER-ID", "MCH"),
            ("X-EXTERNAL-ID", external_id),
            ("CHANNEL-ID", "95221"),
        ];
        let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v);
        messages.push(verifier.verify("POST", path, &header, body.as_bytes(), chrono::Utc::now()).to_json());
    }
    let verdicts = messages[messages.len() - 6..].join("\n");
    for code in ["\"4012500\"", "\"4012501\"", "\"4002502\"", "\"accepted\":true", "\"4092500\""] {
        assert!(verdicts.contains(code), "no verdict with {code}: {verdicts}");
    }
    for json in [
        serde_json::json!({"client_id": "MCH", "client_secret": SECRET, "client_secret_file": "/x"}),
        serde_json::json!({"client_id": "MCH", "client_secret_file": format!("/nonexistent/{SECRET}")}),
        serde_json::json!({"client_id": "MCH", "client_secret": [SECRET]}),
        serde_json::json!({"client_id": "MCH", "client_secret": SECRET, "merchant_public_key": pem.clone()}),
        serde_json::json!({"client_id": "MCH", "client_secret": SECRET, "merchant_public_key_file": pem.clone()}),
    ] {
        messages.push(Verifier::from_json(&json.to_string()).unwrap_err().to_string());
    }

    drop(sandbox);
    doku::log::set_sink(None, doku::log::Level::Debug);
    let lines = log.lock().unwrap().clone();
    let events = events.lock().unwrap().clone();
    assert!(messages.len() >= 25 && lines.len() >= 12, "{} messages, {} log lines", messages.len(), lines.len());
    // Each event this test provokes was captured, so that its lines were checked.
    let seen: HashSet<&str> = events.iter().map(|(event, _)| event.as_str()).collect();
    for event in ["token_fetched", "token_fetch_failed", "clock_skew", "invalid_token_retry", "outcome_unknown"] {
        assert!(seen.contains(event), "no {event} among the logged events: {events:#?}");
    }
    let events: Vec<String> = events.into_iter().map(|(_, line)| line).collect();
    assert!(events.len() >= 12, "{} events logged", events.len());
    for text in messages.iter().chain(lines.iter()).chain(events.iter()) {
        assert_no_key_text(text, &windows);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret leaked into: {text}");
        }
    }
}

/// The C functions that take key text, on one PEM: doku_sign, doku_client_new with the key
/// inline and in a private_key_file, and doku_verify (the public-key parser). Returns the
/// status and message of each.
fn through_the_c_api(dir: &TestDir, pem: &str) -> [(DokuStatus, String); 4] {
    let c = |s: &str| CString::new(s).unwrap();
    let last_error = || unsafe { CStr::from_ptr(doku::ffi::doku_last_error()) }.to_string_lossy().into_owned();
    let key = c(pem);
    let mut sig: *mut c_char = std::ptr::null_mut();
    let signed = doku::ffi::doku_sign(c("MCH").as_ptr(), c("2020-09-22T01:51:00Z").as_ptr(), key.as_ptr(), &mut sig);
    let signed = (signed, last_error());
    doku::ffi::doku_free(sig);
    let file = dir.write("mutated.pem", pem);
    let client_new = |key: (&str, String)| {
        let json = format!(r#"{{"client_id":"MCH","{}":{},"proxy":""}}"#, key.0, serde_json::to_string(&key.1).unwrap());
        let mut client = std::ptr::null_mut();
        let status = doku::ffi::doku_client_new(c(&json).as_ptr(), &mut client);
        let outcome = (status, last_error());
        doku::ffi::doku_client_free(client);
        outcome
    };
    let inline = client_new(("private_key", pem.to_owned()));
    let from_file = client_new(("private_key_file", file.to_str().unwrap().to_owned()));
    let verified = doku::ffi::doku_verify(c("MCH").as_ptr(), c("t").as_ptr(), c("AAAA").as_ptr(), key.as_ptr());
    [signed, inline, from_file, (verified, last_error())]
}

/// Key text put where a path belongs (`private_key_file`, `merchant_private_key_file`,
/// `ca_file`), whole, as one line of base64 or cut short, or used as an option's name: the
/// message says what is wrong without quoting the text it was given.
#[test]
fn key_text_given_as_a_path_is_not_echoed() {
    let dir = TestDir::new("secrets-path");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("pkcs8.pem"));
    openssl(&["pkey", "-in", dir.path("pkcs8.pem").to_str().unwrap(), "-pubout", "-out"], &dir.path("public.pem"));
    let pem = std::fs::read_to_string(dir.path("pkcs8.pem")).unwrap();
    let windows = key_windows(&[&pem]);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let c = |s: &str| CString::new(s).unwrap();
    let last_error = || unsafe { CStr::from_ptr(doku::ffi::doku_last_error()) }.to_string_lossy().into_owned();
    for (what, text) in [("the PEM", pem.clone()), ("one line of base64", body.clone()), ("201 characters of it", body[..201].to_owned())] {
        let json = serde_json::json!({"client_id": "MCH", "private_key_file": text, "proxy": ""}).to_string();
        let mut client = std::ptr::null_mut();
        let status = doku::ffi::doku_client_new(c(&json).as_ptr(), &mut client);
        let message = last_error();
        assert_eq!(status, DokuStatus::DOKU_ERR_KEY, "{what}: {message}");
        assert!(message.starts_with("config: private_key_file (a value of ") && message.contains("not shown)"), "{what}: {message}");
        assert_no_key_text(&message, &windows);

        let options = serde_json::json!({
            "client_id": "MCH", "doku_public_key_file": dir.path("public.pem"), "merchant_private_key_file": text,
        })
        .to_string();
        let (mut http, mut out) = (-1, std::ptr::null_mut());
        let status = doku::ffi::doku_issue_token(c(&options).as_ptr(), c("{}").as_ptr(), std::ptr::null(), &mut http, &mut out);
        let message = last_error();
        assert_eq!((status, http, out.is_null()), (DokuStatus::DOKU_ERR_KEY, 0, true), "{what}: {message}");
        assert!(message.starts_with("options: merchant_private_key_file (a value of ") && message.contains("not shown)"), "{what}: {message}");
        assert_no_key_text(&message, &windows);
    }
    // The key as ca_file, and as the name of an unknown option: neither is shown.
    for json in [
        serde_json::json!({"client_id": "MCH", "private_key_file": dir.path("pkcs8.pem"), "ca_file": pem, "proxy": ""}),
        serde_json::json!({"client_id": "MCH", "private_key_file": dir.path("pkcs8.pem"), pem.clone(): 1}),
        serde_json::json!({"client_id": "MCH", "private_key_file": dir.path("pkcs8.pem"), body.clone(): 1}),
    ] {
        let mut client = std::ptr::null_mut();
        let status = doku::ffi::doku_client_new(c(&json.to_string()).as_ptr(), &mut client);
        let message = last_error();
        assert_eq!(status, DokuStatus::DOKU_ERR_INVALID_ARGUMENT, "{message}");
        assert!(message.contains("not shown"), "{message}");
        assert_no_key_text(&message, &windows);
    }
    // A path is still shown, so that a caller can see which file is missing.
    let json = r#"{"client_id":"MCH","private_key_file":"/nonexistent/keys/merchant.pem"}"#;
    let mut client = std::ptr::null_mut();
    assert_eq!(doku::ffi::doku_client_new(c(json).as_ptr(), &mut client), DokuStatus::DOKU_ERR_KEY);
    assert!(
        last_error().starts_with(r#"config: private_key_file "/nonexistent/keys/merchant.pem" cannot be read: No such file"#),
        "{}",
        last_error()
    );
}

/// Every line of a PKCS#8 and of a PKCS#1 PEM, broken in every way (armour short of dashes,
/// without a label, with another label, BEGIN and END swapped; every line truncated, removed,
/// ended with CRLF; the text cut after it), through every C function that parses key text: each
/// outcome is the expected status and message, and no message holds any 16 characters of the key.
#[test]
fn no_message_about_a_broken_pem_contains_key_text() {
    let dir = TestDir::new("secrets-pem");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("pkcs8.pem"));
    openssl(&["rsa", "-in", dir.path("pkcs8.pem").to_str().unwrap(), "-traditional", "-out"], &dir.path("pkcs1.pem"));
    let pems = ["pkcs8.pem", "pkcs1.pem"].map(|f| std::fs::read_to_string(dir.path(f)).unwrap());
    let windows = key_windows(&[&pems[0], &pems[1]]);
    let mut checked = 0;
    for pem in &pems {
        let lines: Vec<&str> = pem.lines().collect();
        let label = lines[0].trim_start_matches("-----BEGIN ").trim_end_matches('-');
        let other = if label == "PRIVATE KEY" { "RSA PRIVATE KEY" } else { "PRIVATE KEY" };
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let armour = i == 0 || i == last;
            let marker = if i == 0 { "BEGIN" } else { "END" };
            let mut variants: Vec<(&str, String)> =
                vec![("truncated", line[..line.len() / 2].to_owned()), ("removed", String::new()), ("CRLF", format!("{line}\r"))];
            if armour {
                variants.extend([
                    ("one dash short at the end", line[..line.len() - 1].to_owned()),
                    ("no dashes at the end", line.trim_end_matches('-').to_owned()),
                    ("one dash short at the start", line[1..].to_owned()),
                    ("no label", format!("-----{marker} -----")),
                    ("the other label", format!("-----{marker} {other}-----")),
                    ("an unknown label", format!("-----{marker} {}-----", label.replace("KEY", "KEX"))),
                    ("BEGIN and END swapped", format!("-----{} {label}-----", if i == 0 { "END" } else { "BEGIN" })),
                ]);
            }
            let mut texts: Vec<(&str, String)> = variants
                .into_iter()
                .map(|(what, new)| {
                    let mut mutated = lines.clone();
                    if what == "removed" {
                        mutated.remove(i);
                    } else {
                        mutated[i] = &new;
                    }
                    (what, mutated.join("\n") + "\n")
                })
                .collect();
            texts.push(("cut after this line", lines[..=i].join("\n")));
            for (what, text) in &texts {
                let outcomes = through_the_c_api(&dir, text);
                let [signed, inline, from_file, verified] = &outcomes;
                let context = format!("{label}, line {i}, {what}");
                for (status, message) in &outcomes {
                    assert_no_key_text(message, &windows);
                    assert!(status == &DokuStatus::DOKU_OK || !message.is_empty(), "{context}: {status:?} without a message");
                }
                // The same outcome three ways; the config's messages name the option the key came in.
                let named = |(status, message): &(DokuStatus, String), option: &str| match *status {
                    DokuStatus::DOKU_OK => (*status, message.clone()),
                    _ => (*status, message.strip_prefix(&format!("config: {option}: ")).unwrap_or("(the option is not named)").to_owned()),
                };
                assert!(*signed == named(inline, "private_key") && *signed == named(from_file, "private_key_file"), "{context}: {outcomes:?}");
                let (status, message) = signed;
                let want = expected(armour, i == 0, what);
                match want {
                    None => assert_eq!(*status, DokuStatus::DOKU_OK, "{context}: {message}"),
                    Some(fragment) => {
                        assert_eq!(*status, DokuStatus::DOKU_ERR_KEY, "{context}: {message}");
                        assert!(message.contains(fragment), "{context}: want {fragment:?}, got {message}");
                    }
                }
                // The public-key parser meets the same armour and base64, and refuses what passes
                // them as a private key.
                let public_want = match want {
                    Some(fragment) if !message.starts_with("malformed private key") => fragment,
                    _ => "expected a public key but got a private key",
                };
                assert_eq!(verified.0, DokuStatus::DOKU_ERR_KEY, "{context}: {}", verified.1);
                assert!(verified.1.contains(public_want), "{context}: want {public_want:?}, got {}", verified.1);
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} variants");
}

/// What breaking one line does: `None` for a key that still parses, else a fragment of the
/// message.
fn expected(armour: bool, begin: bool, what: &str) -> Option<&'static str> {
    match (armour, begin, what) {
        (_, _, "CRLF") => None,
        (true, false, "cut after this line") => None,
        (true, true, "removed" | "one dash short at the start" | "BEGIN and END swapped") => Some("neither PEM"),
        (true, true, "truncated" | "one dash short at the end" | "no dashes at the end") => Some("the BEGIN line does not end with"),
        (true, true, "no label" | "an unknown label") => Some("an unknown PEM label"),
        (true, true, _) => Some("missing \"-----END"),
        (true, false, _) => Some("missing \"-----END"),
        (false, _, "cut after this line") => Some("missing \"-----END"),
        // Whether the base64 is still well formed depends on the line's length: either way the
        // key is malformed.
        (false, _, _) => Some("malformed"),
    }
}
