//! JWT validation: forged, malformed or unsigned tokens are refused, never accepted or panicking.
//! A token only validates if it carries a real signature by the key, which the fuzzer cannot
//! make; so every input must be refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use once_cell::sync::Lazy;

static KEY: Lazy<doku::key::PublicKey> = Lazy::new(|| {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let pem = openssl::pkey::PKey::from_rsa(rsa).unwrap().public_key_to_pem().unwrap();
    doku::key::PublicKey::parse(std::str::from_utf8(&pem).unwrap()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let e = doku::jwt::verify_rs256(text, &KEY, 1_800_000_000).expect_err("a forged token validated");
    assert!(matches!(e.kind(), doku::ErrorKind::SignatureInvalid | doku::ErrorKind::InvalidArgument), "{e}");
});
