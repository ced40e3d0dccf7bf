//! DOKU's answers to token requests, at any HTTP status: a token, or an API/protocol error.
#![no_main]
use doku::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((&s, rest)) => (100 + u16::from(s) * 2, rest),
        None => return,
    };
    match doku::token::parse_b2b_response(status, body) {
        Ok(grant) => {
            assert!((200..300).contains(&status) && !grant.access_token.is_empty() && grant.expires_in > 0);
            assert!(grant.access_token.bytes().all(|b| b.is_ascii_graphic()));
        }
        Err(e) => assert!(matches!(e.kind(), ErrorKind::Api | ErrorKind::Protocol), "{e}"),
    }
    if let Err(e) = doku::token::b2b2c::parse_response(status, body) {
        assert!(matches!(e.kind(), ErrorKind::Api | ErrorKind::Protocol), "{e}");
    }
});
