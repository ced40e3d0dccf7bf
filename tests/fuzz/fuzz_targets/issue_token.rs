//! The merchant's answer to DOKU's token request, as doku_issue_token gives it: any headers
//! (names and values of any characters) and any body get an HTTP status and a JSON answer with
//! a 7-digit responseCode, never a panic.
//!
//! Input: header lines `Name: value` (or one JSON object), a blank line, then the body. An
//! X-SIGNATURE of `SIGNED` is replaced by DOKU's real signature over `X-CLIENT-KEY|X-TIMESTAMP`,
//! so that inputs reach the skew check and the issued token; the clock is fixed at `NOW`.
#![no_main]
use doku::key::{PrivateKey, PublicKey};
use doku::merchant::{JsonHeaders, TokenIssuer};
use libfuzzer_sys::fuzz_target;
use once_cell::sync::Lazy;
use serde_json::{Map, Value};
use std::sync::Arc;

const CLIENT_ID: &str = "MCH-FUZZ";
const NOW: &str = "2022-10-07T14:18:39+07:00";

fn key_pair() -> (PrivateKey, PublicKey) {
    let pkey = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let private = String::from_utf8(pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let public = String::from_utf8(pkey.public_key_to_pem().unwrap()).unwrap();
    (PrivateKey::parse(&private, None).unwrap(), PublicKey::parse(&public).unwrap())
}

static DOKU: Lazy<(PrivateKey, PublicKey)> = Lazy::new(key_pair);
static MERCHANT: Lazy<(PrivateKey, PublicKey)> = Lazy::new(key_pair);
static ISSUER: Lazy<TokenIssuer> = Lazy::new(|| {
    let pem = MERCHANT.0.pkey().private_key_to_pem_pkcs8().unwrap();
    TokenIssuer {
        client_id: CLIENT_ID.into(),
        doku_public_key: Arc::new(DOKU.1.clone()),
        merchant_key: Arc::new(PrivateKey::parse(std::str::from_utf8(&pem).unwrap(), None).unwrap()),
        ttl: 900,
        max_skew: 300,
    }
});

/// The headers as the JSON text a caller of doku_issue_token passes.
fn headers_json(head: &str) -> String {
    if head.starts_with('{') {
        return head.to_owned();
    }
    let mut map = Map::new();
    for line in head.lines() {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        map.insert(name.to_owned(), Value::from(value.trim_start()));
    }
    let signed = JsonHeaders::parse(&Value::Object(map.clone()).to_string()).ok().and_then(|h| {
        (h.get("X-SIGNATURE")? == "SIGNED").then(|| format!("{}|{}", h.get("X-CLIENT-KEY").unwrap_or(""), h.get("X-TIMESTAMP").unwrap_or("")))
    });
    if let Some(signed) = signed {
        let sig = doku::signature::sign_rsa_sha256(&DOKU.0, signed.as_bytes()).unwrap();
        for (name, value) in map.iter_mut() {
            if name.eq_ignore_ascii_case("X-SIGNATURE") {
                *value = Value::from(sig.as_str());
            }
        }
    }
    Value::Object(map).to_string()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let headers = match JsonHeaders::parse(&headers_json(head)) {
        Ok(h) => h,
        Err(e) => return assert_eq!(e.kind(), doku::ErrorKind::InvalidArgument, "{e}"),
    };
    let now = doku::timestamp::parse(NOW).unwrap().to_utc();
    let (status, answer) = ISSUER.answer(&|n| headers.get(n), body.as_bytes(), now).expect("an answer to send");
    let answer: Value = serde_json::from_str(&answer).expect("the answer is JSON");
    let code = answer["responseCode"].as_str().expect("a responseCode");
    assert!(code.len() == 7 && code.bytes().all(|b| b.is_ascii_digit()) && code.starts_with(&status.to_string()), "{status} {answer}");
    assert!(answer["responseMessage"].is_string(), "{answer}");
    if status == 200 {
        assert_eq!(code, "2007300");
        let claims = doku::jwt::verify_rs256(answer["accessToken"].as_str().unwrap(), &MERCHANT.1, now.timestamp()).unwrap();
        assert_eq!(claims["clientId"], CLIENT_ID);
    }
});
