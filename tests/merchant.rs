//! The merchant side: answering DOKU's token request and validating the JWT it issues, with
//! the JWT checked independently by the openssl CLI.

mod common;

use std::process::Command;

use chrono::Utc;
use common::{openssl, openssl_sign, TestDir};
use doku::key::PublicKey;
use doku::merchant::TokenIssuer;
use doku::ErrorKind;
use serde_json::Value;

fn b64url_decode(s: &str) -> Vec<u8> {
    doku::jwt::b64url_decode(s).expect("a JWT segment is base64url")
}

#[test]
fn the_issued_jwt_verifies_with_the_openssl_cli() {
    let dir = TestDir::new("merchant");
    for name in ["doku", "merchant"] {
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path(&format!("{name}.pem")));
        openssl(&["pkey", "-in", dir.path(&format!("{name}.pem")).to_str().unwrap(), "-pubout", "-out"], &dir.path(&format!("{name}-pub.pem")));
    }
    let read = |n: &str| std::fs::read_to_string(dir.path(n)).unwrap();
    // The options as a merchant writes them: both keys in the files openssl wrote.
    let options = serde_json::json!({
        "client_id": "MCH-1",
        "doku_public_key_file": dir.path("doku-pub.pem"),
        "merchant_private_key_file": dir.path("merchant.pem"),
    });
    let issuer = TokenIssuer::from_json(&options.to_string()).unwrap();

    // DOKU's request, signed by the openssl CLI with DOKU's key.
    let ts = doku::timestamp::now_utc();
    let sig = openssl_sign(&dir.path("doku.pem"), &format!("MCH-1|{ts}"));
    let headers = [("X-CLIENT-KEY", "MCH-1"), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", sig.as_str())];
    let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| *v);
    let (status, body) = issuer.answer(&header, br#"{"grantType":"client_credentials"}"#, Utc::now()).unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let jwt = answer["accessToken"].as_str().unwrap();

    // Independent check: split the JWT, verify header.payload with the merchant's public key.
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header_json: Value = serde_json::from_slice(&b64url_decode(parts[0])).unwrap();
    assert_eq!(header_json["alg"], "RS256");
    std::fs::write(dir.path("signed.txt"), format!("{}.{}", parts[0], parts[1])).unwrap();
    std::fs::write(dir.path("sig.bin"), b64url_decode(parts[2])).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(dir.path("merchant-pub.pem"))
        .arg("-signature")
        .arg(dir.path("sig.bin"))
        .arg(dir.path("signed.txt"))
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1])).unwrap();
    assert_eq!((claims["iss"].as_str(), claims["clientId"].as_str()), (Some("MCH-1"), Some("MCH-1")));

    // And the library's own validation agrees; with the wrong key it refuses.
    let merchant_public = PublicKey::parse(&read("merchant-pub.pem")).unwrap();
    let now = Utc::now().timestamp();
    assert_eq!(doku::jwt::verify_rs256(&format!("Bearer {jwt}"), &merchant_public, now).unwrap()["jti"], claims["jti"]);
    let e = doku::jwt::verify_rs256(jwt, &issuer.doku_public_key, now).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SignatureInvalid);
    let e = doku::jwt::verify_rs256(jwt, &merchant_public, now + 901).unwrap_err();
    assert!(e.message().contains("expired"), "{e}");
}
