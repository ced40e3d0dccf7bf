//! RS256 JSON Web Tokens (RFC 7519), the token format of SNAP access tokens: issued by the
//! sandbox, and by a merchant answering DOKU's own token requests.
//!
//! Only RS256 is accepted when verifying. The algorithm is fixed by the caller's key, never taken
//! from the token, so `alg: none` and the HS256-with-the-public-key confusion cannot pass.
//! Error messages say which check failed and never quote the token.

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::key::{PrivateKey, PublicKey};
use crate::signature::{sign_rsa_sha256_raw, verify_rsa_sha256};
use crate::token::strip_bearer;

/// The one header this module writes: compact, fixed order.
const HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// Signs `claims` (a JSON object) as a compact RS256 JWT.
pub fn sign_rs256(key: &PrivateKey, claims: &Value) -> Result<String> {
    if !claims.is_object() {
        return Err(Error::invalid("JWT claims must be a JSON object"));
    }
    let payload = serde_json::to_vec(claims).map_err(|e| Error::invalid(format!("JWT claims cannot be serialized: {e}")))?;
    let mut token = b64url_encode(HEADER.as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(&payload));
    let sig = sign_rsa_sha256_raw(key, token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url_encode(&sig));
    Ok(token)
}

/// Verifies an RS256 JWT (optionally prefixed by `Bearer `) against `key` and returns its
/// claims. `exp` is required and must be later than `now_unix`; a present `nbf` must not be
/// later than `now_unix`.
///
/// Malformed input is `ErrorKind::InvalidArgument`; a wrong algorithm, a bad signature or a
/// failed time check is `ErrorKind::SignatureInvalid`.
pub fn verify_rs256(token: &str, key: &PublicKey, now_unix: i64) -> Result<Value> {
    let token = strip_bearer(token.trim());
    let malformed = |why: &str| Error::invalid(format!("malformed JWT: {why}"));
    let rejected = |why: String| Error::new(ErrorKind::SignatureInvalid, format!("JWT rejected: {why}"));

    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected three dot-separated segments"));
    };
    let header = decode_object(h).map_err(|why| malformed(&format!("header {why}")))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => {}
        Some(other) => return Err(rejected(format!("alg {} is not accepted (only RS256)", describe_alg(other)))),
        None => return Err(rejected("the header has no alg (only RS256 is accepted)".to_owned())),
    }
    if header.get("crit").is_some() {
        return Err(rejected("the header has critical extensions (crit), which are not supported".to_owned()));
    }
    let claims = decode_object(p).map_err(|why| malformed(&format!("payload {why}")))?;
    if s.is_empty() {
        return Err(rejected("the signature is empty".to_owned()));
    }
    let sig = b64url_decode(s).ok_or_else(|| malformed("signature is not base64url"))?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    verify_rsa_sha256(key, signing_input.as_bytes(), &openssl::base64::encode_block(&sig))
        .map_err(|e| Error::new(e.kind(), format!("JWT rejected: {}", e.message())))?;

    let exp = claims.get("exp").and_then(numeric_date).ok_or_else(|| rejected("it has no numeric exp claim".to_owned()))?;
    if exp <= now_unix {
        return Err(rejected(format!("it expired {} s ago (exp {exp})", now_unix - exp)));
    }
    if let Some(nbf) = claims.get("nbf") {
        match numeric_date(nbf) {
            Some(nbf) if nbf <= now_unix => {}
            Some(nbf) => return Err(rejected(format!("it is not valid before {nbf} (now {now_unix})"))),
            None => return Err(malformed("nbf is not a number")),
        }
    }
    Ok(Value::Object(claims))
}

/// RFC 7519 NumericDate: seconds, possibly with a fraction (truncated here).
fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
}

/// An attacker-chosen `alg` is quoted only when it looks like an algorithm name.
fn describe_alg(alg: &str) -> String {
    if !alg.is_empty() && alg.len() <= 16 && alg.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("\"{alg}\"")
    } else {
        "(unrecognised)".to_owned()
    }
}

fn decode_object(segment: &str) -> std::result::Result<serde_json::Map<String, Value>, &'static str> {
    let bytes = b64url_decode(segment).ok_or("is not base64url")?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("is not a JSON object"),
        Err(_) => Err("is not valid JSON"),
    }
}

fn b64url_encode(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// Unpadded, canonical base64url only (RFC 7515 §2); `None` for any other character, an
/// impossible length, or unused trailing bits that are set (which would let one token have
/// several spellings). Public for the tests that check issued tokens with the openssl CLI.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let mut std: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while std.len() % 4 != 0 {
        std.push('=');
    }
    if std.is_empty() {
        return Some(Vec::new());
    }
    let bytes = openssl::base64::decode_block(&std).ok()?;
    (b64url_encode(&bytes) == text).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::test_keys;
    use serde_json::json;

    fn other_public_key() -> PublicKey {
        let k = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        PublicKey::parse(&String::from_utf8(k.public_key_to_pem().unwrap()).unwrap()).unwrap()
    }

    const NOW: i64 = 1_700_000_000;

    fn claims() -> Value {
        json!({"iss": "doku-sandbox", "iat": NOW, "exp": NOW + 900, "clientId": "MCH-1", "jti": "j1"})
    }

    /// Asserts the kind and the message fragment, and that the message quotes no part of `token`.
    fn refused(token: &str, key: &PublicKey, now: i64, kind: ErrorKind, fragment: &str) {
        let e = verify_rs256(token, key, now).unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.message().contains(fragment), "{e}");
        for seg in token.split('.').filter(|s| s.len() >= 8) {
            assert!(!e.message().contains(seg), "message quotes the token: {e}");
        }
    }

    fn forge(header: &Value, claims: &Value, sig: &[u8]) -> String {
        format!("{}.{}.{}", b64url_encode(header.to_string().as_bytes()), b64url_encode(claims.to_string().as_bytes()), b64url_encode(sig))
    }

    #[test]
    fn round_trip() {
        let (sk, pk) = test_keys();
        let token = sign_rs256(&sk, &claims()).unwrap();
        assert!(!token.contains(['=', '+', '/']));
        let segs: Vec<&str> = token.split('.').collect();
        assert_eq!(segs.len(), 3);
        assert_eq!(b64url_decode(segs[0]).unwrap(), HEADER.as_bytes());
        assert_eq!(verify_rs256(&token, &pk, NOW).unwrap(), claims());
        assert_eq!(verify_rs256(&format!("Bearer {token}"), &pk, NOW).unwrap(), claims());
        assert_eq!(verify_rs256(&format!("bearer  {token}\n"), &pk, NOW).unwrap(), claims());
        // Deterministic: PKCS#1 v1.5 and a fixed serialization.
        assert_eq!(sign_rs256(&sk, &claims()).unwrap(), token);
        assert!(sign_rs256(&sk, &json!([1])).is_err());
    }

    #[test]
    fn base64url_helpers() {
        for len in 0..8 {
            let data: Vec<u8> = (0..len).map(|i| 0xfb ^ i as u8).collect();
            assert_eq!(b64url_decode(&b64url_encode(&data)).unwrap(), data);
        }
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(b64url_decode("-_8=").is_none(), "padding is not base64url");
        assert!(b64url_decode("+/8").is_none());
        assert!(b64url_decode("abcde").is_none(), "impossible length");
        assert!(b64url_decode("-_9").is_none(), "non-canonical trailing bits");
    }

    #[test]
    fn alg_none_and_hs256_confusion_are_rejected() {
        let (_, pk) = test_keys();
        let none = forge(&json!({"alg": "none", "typ": "JWT"}), &claims(), b"");
        assert!(none.ends_with('.'));
        refused(&none, &pk, NOW, ErrorKind::SignatureInvalid, "alg \"none\" is not accepted");
        let none_upper = forge(&json!({"alg": "NONE"}), &claims(), b"");
        refused(&none_upper, &pk, NOW, ErrorKind::SignatureInvalid, "alg \"NONE\"");

        // HS256 keyed with the RSA public key's PEM, the classic confusion attack.
        let pem = pk.pkey().public_key_to_pem().unwrap();
        let hmac_key = openssl::pkey::PKey::hmac(&pem).unwrap();
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let input = format!("{}.{}", b64url_encode(header.to_string().as_bytes()), b64url_encode(claims().to_string().as_bytes()));
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &hmac_key).unwrap();
        let mac = signer.sign_oneshot_to_vec(input.as_bytes()).unwrap();
        let hs = format!("{input}.{}", b64url_encode(&mac));
        refused(&hs, &pk, NOW, ErrorKind::SignatureInvalid, "alg \"HS256\" is not accepted (only RS256)");

        refused(&forge(&json!({"typ": "JWT"}), &claims(), b"x"), &pk, NOW, ErrorKind::SignatureInvalid, "no alg");
        refused(&forge(&json!({"alg": "RS256\"}, {"}), &claims(), b"x"), &pk, NOW, ErrorKind::SignatureInvalid, "(unrecognised)");
        refused(&forge(&json!({"alg": "RS256", "crit": ["b64"]}), &claims(), b"x"), &pk, NOW, ErrorKind::SignatureInvalid, "crit");
    }

    #[test]
    fn bad_signatures_are_rejected() {
        let (sk, pk) = test_keys();
        let token = sign_rs256(&sk, &claims()).unwrap();
        refused(&token, &other_public_key(), NOW, ErrorKind::SignatureInvalid, "does not match");

        // Same signature, different claims.
        let (h, rest) = token.split_once('.').unwrap();
        let sig = rest.split_once('.').unwrap().1;
        let mut evil = claims();
        evil["clientId"] = json!("MCH-2");
        let tampered = format!("{h}.{}.{sig}", b64url_encode(evil.to_string().as_bytes()));
        refused(&tampered, &pk, NOW, ErrorKind::SignatureInvalid, "does not match");

        let stripped = format!("{h}.{}.", rest.split_once('.').unwrap().0);
        refused(&stripped, &pk, NOW, ErrorKind::SignatureInvalid, "signature is empty");
        let short = format!("{h}.{}.AAAA", rest.split_once('.').unwrap().0);
        refused(&short, &pk, NOW, ErrorKind::SignatureInvalid, "wrong length");
    }

    #[test]
    fn time_checks() {
        let (sk, pk) = test_keys();
        let token = sign_rs256(&sk, &claims()).unwrap();
        assert!(verify_rs256(&token, &pk, NOW + 899).is_ok());
        refused(&token, &pk, NOW + 900, ErrorKind::SignatureInvalid, "expired 0 s ago");
        refused(&token, &pk, NOW + 1000, ErrorKind::SignatureInvalid, "expired 100 s ago");

        let no_exp = sign_rs256(&sk, &json!({"iss": "x"})).unwrap();
        refused(&no_exp, &pk, NOW, ErrorKind::SignatureInvalid, "no numeric exp");
        let string_exp = sign_rs256(&sk, &json!({"exp": "9999999999"})).unwrap();
        refused(&string_exp, &pk, NOW, ErrorKind::SignatureInvalid, "no numeric exp");

        let future = sign_rs256(&sk, &json!({"exp": NOW + 900, "nbf": NOW + 10})).unwrap();
        refused(&future, &pk, NOW, ErrorKind::SignatureInvalid, "not valid before");
        assert!(verify_rs256(&future, &pk, NOW + 10).is_ok());
        let fractional = sign_rs256(&sk, &json!({"exp": NOW as f64 + 0.5})).unwrap();
        assert!(verify_rs256(&fractional, &pk, NOW - 1).is_ok());
        refused(&fractional, &pk, NOW, ErrorKind::SignatureInvalid, "expired 0 s ago");
    }

    #[test]
    fn malformed_tokens() {
        let (sk, pk) = test_keys();
        let token = sign_rs256(&sk, &claims()).unwrap();
        let segs: Vec<&str> = token.split('.').collect();
        let k = ErrorKind::InvalidArgument;
        refused("", &pk, NOW, k, "three dot-separated segments");
        refused("Bearer ", &pk, NOW, k, "three dot-separated segments");
        refused(&format!("{}.{}", segs[0], segs[1]), &pk, NOW, k, "three dot-separated segments");
        refused(&format!("{token}.x"), &pk, NOW, k, "three dot-separated segments");
        refused(&format!("{}=.{}.{}", segs[0], segs[1], segs[2]), &pk, NOW, k, "header is not base64url");
        refused(&format!("{}.{}.{}", b64url_encode(b"not json"), segs[1], segs[2]), &pk, NOW, k, "header is not valid JSON");
        refused(&format!("{}.{}.{}", segs[0], b64url_encode(b"[1,2]"), segs[2]), &pk, NOW, k, "payload is not a JSON object");
        refused(&format!("{}.{}.{}+", segs[0], segs[1], segs[2]), &pk, NOW, k, "signature is not base64url");
        // 256 bytes end in a character with 4 unused bits: another spelling of the same bytes.
        let last = segs[2].chars().last().unwrap();
        let twin = if last as u32 % 2 == 0 { char::from_u32(last as u32 + 1).unwrap() } else { char::from_u32(last as u32 - 1).unwrap() };
        let respelled = format!("{}.{}.{}{twin}", segs[0], segs[1], &segs[2][..segs[2].len() - 1]);
        refused(&respelled, &pk, NOW, k, "signature is not base64url");
    }
}
