//! Key text (PEM, base64 DER, anything): parsed or refused with DOKU_ERR_KEY, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match doku::key::PrivateKey::parse(text, Some(b"fuzz")) {
        Ok(key) => assert!(key.bits() >= 2048),
        Err(e) => assert_eq!(e.kind(), doku::ErrorKind::Key, "{e}"),
    }
    match doku::key::PublicKey::parse(text) {
        Ok(key) => assert!(key.bits() >= 2048),
        Err(e) => assert_eq!(e.kind(), doku::ErrorKind::Key, "{e}"),
    }
});
