//! Config JSON: any text gets a config or a classified error, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = doku::config::Config::from_json(text) {
            assert!(!e.message().is_empty());
        }
    }
});
