//! Known-answer tests for the symmetric signature and minify, against values computed by
//! tests/kat/snap_kat.py with Python's hashlib/hmac and hand-written minified bodies.

use std::process::Command;

use doku::signature::minify::minify;
use doku::signature::symmetric::{self, body_digest, Request};
use serde_json::Value;

fn vectors() -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kat/snap_kat.py");
    let out = Command::new("python3").arg(script).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn symmetric_signatures_match_python_hmac() {
    let v = vectors();
    let (secret, token, ts, path) =
        (v["secret"].as_str().unwrap(), v["token"].as_str().unwrap(), v["timestamp"].as_str().unwrap(), v["path"].as_str().unwrap());
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap();
        if !body.is_empty() {
            assert_eq!(minify(body).unwrap(), case["minified"].as_str().unwrap(), "{name}");
        }
        assert_eq!(body_digest(Some(body)).unwrap(), case["digest"].as_str().unwrap(), "{name}");
        let request = Request { method: "POST", path, access_token: token, body: Some(body), timestamp: ts };
        assert_eq!(request.string_to_sign().unwrap(), case["string_to_sign"].as_str().unwrap(), "{name}");
        let signature = case["signature"].as_str().unwrap();
        assert_eq!(symmetric::sign(secret.as_bytes(), &request).unwrap(), signature, "{name}");
        symmetric::verify(secret.as_bytes(), &request, signature).unwrap();
        // The same request with a Bearer-prefixed token and lowercase method signs the same.
        let loose = Request { method: "post", access_token: &format!("Bearer {token}"), ..request };
        assert_eq!(symmetric::sign(secret.as_bytes(), &loose).unwrap(), signature, "{name}");
    }
}
