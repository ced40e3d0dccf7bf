//! Timestamps from the network (X-TIMESTAMP, B2B2C expiry times, HTTP Date): any text is parsed
//! or refused, never a panic; what is accepted round-trips through the crate's own writers.
#![no_main]
use doku::timestamp::{format_http_date, parse, parse_http_date, Offset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(t) = parse(text) {
        assert!(text.is_ascii() && text.as_bytes()[10] == b'T', "{text:?}");
        // Written back (to the second) in UTC, or in its own zone, it is the same instant and
        // zone; without a fraction, the very same text.
        let zone = if text.ends_with('Z') { "Z".to_owned() } else { t.format("%:z").to_string() };
        let offset = Offset::parse(&zone).expect("an accepted zone is a valid offset");
        for again in [Offset::UTC.format(t.to_utc()), offset.format(t.to_utc())] {
            let p = parse(&again).unwrap_or_else(|| panic!("{text:?} -> {again:?} does not parse"));
            assert_eq!(p.timestamp(), t.timestamp(), "{text:?} -> {again:?}");
        }
        if !text.contains('.') {
            assert_eq!(offset.format(t.to_utc()), text);
        }
    }
    if let Ok(offset) = Offset::parse(text) {
        let written = offset.now();
        assert!(written.ends_with(text) && parse(&written).is_some(), "{text:?} -> {written:?}");
    }
    if let Some(d) = parse_http_date(text) {
        // RFC 2822 allows years beyond 9999, which IMF-fixdate (29 characters) cannot write.
        let written = format_http_date(d);
        if written.len() == 29 {
            assert_eq!(parse_http_date(&written), Some(d), "{text:?} -> {written:?}");
        }
    }
});
