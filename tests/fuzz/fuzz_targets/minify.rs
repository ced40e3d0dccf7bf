//! minify: valid JSON comes out as the same value without whitespace outside strings, and
//! minifying again changes nothing; invalid JSON is refused.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match doku::signature::minify::minify(text) {
        Ok(out) => {
            // The same value (or, for numbers beyond f64 that JSON allows, the same refusal by
            // serde_json's Value): minify must not change what the body means.
            let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).map_err(|e| e.classify());
            assert_eq!(value(text), value(&out));
            assert_eq!(doku::signature::minify::minify(&out).unwrap(), out, "idempotent");
            assert!(out.len() <= text.len());
        }
        Err(e) => {
            assert_eq!(e.kind(), doku::ErrorKind::InvalidArgument);
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err(), "refused valid JSON");
            assert!(e.message().starts_with("body is not valid JSON"));
        }
    }
});
