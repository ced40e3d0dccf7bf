//! The sandbox's request handling: any bytes on a connection get well-formed HTTP answers (or
//! none), never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let out = doku_sandbox::fuzz_connection(data);
    assert!(out.is_empty() || out.starts_with(b"HTTP/1.1 "), "{:?}", String::from_utf8_lossy(&out[..out.len().min(64)]));
});
