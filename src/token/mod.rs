//! The B2B access token (snap-reference §1): the request's constants, the parsed answer, and
//! the cached form. [`crate::client`] fetches tokens; [`cache`] shares them process-wide.

pub mod b2b2c;
pub(crate) mod cache;
pub mod store;

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::clock::Stamp;
use crate::error::{Error, Result};
use crate::text::printable;

pub const B2B_PATH: &str = "/authorization/v1/access-token/b2b";
pub const B2B_BODY: &str = r#"{"grantType":"client_credentials"}"#;
pub const B2B_SUCCESS: &str = "2007300";

/// Longer lifetimes are treated as a broken answer (and would overflow clock arithmetic).
const MAX_EXPIRES_IN: u64 = 366 * 24 * 3600;
/// Generous next to DOKU's 2048 characters; the body limit bounds it anyway.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token as DOKU granted it.
#[derive(Debug)]
pub struct Grant {
    pub access_token: Zeroizing<String>,
    pub token_type: String,
    pub expires_in: u64,
}

/// A token in the cache: the grant plus when it was requested. Expiry counts from the moment
/// the request was sent, so network time only makes us refresh earlier. Lifetimes run on both
/// the monotonic and the wall clock ([`Stamp`]), so a suspend cannot hide them.
///
/// Thread safety: immutable; shared through `Arc`.
pub struct Token {
    pub access_token: Zeroizing<String>,
    pub token_type: String,
    pub lifetime: Duration,
    /// When it expires by the wall clock, for display.
    pub expires_at: SystemTime,
    expires: Stamp,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        f.debug_struct("Token").field("token_type", &self.token_type).field("lifetime", &self.lifetime).finish()
    }
}

/// How long before expiry a token stops being served, even when its refresh is failing: DOKU
/// must still find it valid when the request arrives. A quarter of short lifetimes.
const EXPIRY_GUARD: Duration = Duration::from_secs(5);

impl Token {
    pub fn new(grant: Grant, requested: Stamp, requested_wall: SystemTime) -> Token {
        let lifetime = Duration::from_secs(grant.expires_in);
        Token {
            access_token: grant.access_token,
            token_type: grant.token_type,
            lifetime,
            expires_at: requested_wall + lifetime,
            expires: requested + lifetime,
        }
    }

    /// A token kept elsewhere (the shared store): `lifetime` as granted, `expires_at` by the
    /// wall clock; `None` if it has expired by `now_wall`.
    pub fn restored(
        access_token: Zeroizing<String>,
        token_type: String,
        lifetime: Duration,
        expires_at: SystemTime,
        now: Stamp,
        now_wall: SystemTime,
    ) -> Option<Token> {
        let remaining = expires_at.duration_since(now_wall).ok().filter(|r| !r.is_zero())?;
        Some(Token { access_token, token_type, lifetime, expires_at, expires: now + remaining.min(lifetime) })
    }

    /// Reusable without a refresh until `expiresAt - min(margin, lifetime/2)`: the margin absorbs
    /// clock and network jitter, and halving it keeps short-lived tokens useful.
    #[inline]
    pub fn is_fresh(&self, margin: Duration, now: Stamp) -> bool {
        (now + margin.min(self.lifetime / 2)).before(self.expires)
    }

    /// Still valid enough to send, though due for refresh: until `expiresAt - min(5 s, lifetime/4)`.
    pub fn is_usable(&self, now: Stamp) -> bool {
        (now + EXPIRY_GUARD.min(self.lifetime / 4)).before(self.expires)
    }

    /// Seconds left until expiry at `now`, rounded to the nearest second.
    pub fn expires_in(&self, now: Stamp) -> u64 {
        (now.until(self.expires) + Duration::from_millis(500)).as_secs()
    }
}

/// The token in an `Authorization` value: `Bearer ` (any case) and spaces after it dropped.
pub fn strip_bearer(value: &str) -> &str {
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
        _ => value,
    }
}

/// The common judgement of DOKU's answers: a JSON object with a `responseCode`; any code
/// but `success` is an API error at whatever HTTP status; `success` counts only with HTTP 2xx.
pub fn parse_answer(status: u16, body: &[u8], success: &str) -> Result<Map<String, Value>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Error::protocol(format!("DOKU answered HTTP {status} with a body that is not JSON ({} bytes)", body.len())))?;
    let Value::Object(obj) = value else {
        return Err(Error::protocol(format!("DOKU answered HTTP {status} with JSON that is not an object")));
    };
    let code = match obj.get("responseCode") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Error::protocol(format!("DOKU answered HTTP {status} with JSON but no responseCode"))),
    };
    let code = printable(&code, 16);
    if code != success {
        let message = obj.get("responseMessage").and_then(Value::as_str).map(|m| printable(m, 300)).unwrap_or_default();
        return Err(Error::api(code.clone(), format!("DOKU answered HTTP {status} with {code}: {message}")));
    }
    if !(200..300).contains(&status) {
        return Err(Error::protocol(format!("DOKU answered HTTP {status} with the success code {success}")));
    }
    Ok(obj)
}

/// A token string from an answer: present, non-empty, and safe to send back in a header.
pub fn header_safe_token(obj: &Map<String, Value>, field: &str, status: u16, success: &str) -> Result<Zeroizing<String>> {
    let token = match obj.get(field) {
        Some(Value::String(t)) if !t.is_empty() => Zeroizing::new(t.clone()),
        _ => return Err(Error::protocol(format!("DOKU answered HTTP {status} with {success} but no {field}"))),
    };
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::protocol(format!("DOKU answered HTTP {status} with an {field} that cannot be sent back in a header")));
    }
    Ok(token)
}

/// Judges DOKU's answer to a B2B token request. Success only with HTTP 2xx, `2007300` and a
/// non-empty token; a DOKU error JSON at any status is an API error.
pub fn parse_b2b_response(status: u16, body: &[u8]) -> Result<Grant> {
    let obj = parse_answer(status, body, B2B_SUCCESS)?;
    let access_token = header_safe_token(&obj, "accessToken", status, B2B_SUCCESS)?;
    let token_type = match obj.get("tokenType") {
        None | Some(Value::Null) => "Bearer".to_owned(),
        Some(Value::String(t)) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()) && t.len() <= 32 => t.clone(),
        Some(_) => return Err(Error::protocol(format!("DOKU answered HTTP {status} with an invalid tokenType"))),
    };
    let expires_in = expires_in(&obj, status)?;
    Ok(Grant { access_token, token_type, expires_in })
}

/// `expiresIn` as a number or a numeric string (DOKU documents it as a string and sends a number).
fn expires_in(obj: &Map<String, Value>, status: u16) -> Result<u64> {
    let bad = || {
        Error::protocol(format!(
            "DOKU answered HTTP {status} with an invalid expiresIn (expected 1..{MAX_EXPIRES_IN} seconds, as a number or numeric string)"
        ))
    };
    let secs = match obj.get("expiresIn") {
        None | Some(Value::Null) => return Err(Error::protocol(format!("DOKU answered HTTP {status} with {B2B_SUCCESS} but no expiresIn"))),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) => v,
            (None, Some(f)) if f.fract() == 0.0 && f >= 1.0 && f <= MAX_EXPIRES_IN as f64 => f as u64,
            _ => return Err(bad()),
        },
        Some(Value::String(s)) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            s.trim().parse::<u64>().map_err(|_| bad())?
        }
        Some(_) => return Err(bad()),
    };
    if secs == 0 || secs > MAX_EXPIRES_IN {
        return Err(bad());
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn ok(body: &str) -> Grant {
        parse_b2b_response(200, body.as_bytes()).unwrap()
    }

    fn err(status: u16, body: &str) -> Error {
        parse_b2b_response(status, body.as_bytes()).unwrap_err()
    }

    #[test]
    fn success_shapes() {
        let g = ok(
            r#"{"responseCode":"2007300","responseMessage":"Successful","accessToken":"eyJ.a.b","tokenType":"Bearer","expiresIn":900,"additionalInfo":""}"#,
        );
        assert_eq!((g.access_token.as_str(), g.token_type.as_str(), g.expires_in), ("eyJ.a.b", "Bearer", 900));
        assert_eq!(ok(r#"{"responseCode":"2007300","accessToken":"t","expiresIn":"900"}"#).expires_in, 900);
        assert_eq!(ok(r#"{"responseCode":"2007300","accessToken":"t","expiresIn":900.0,"additionalInfo":{}}"#).expires_in, 900);
        assert_eq!(ok(r#"{"responseCode":"2007300","accessToken":"t","expiresIn":" 60 "}"#).expires_in, 60);
        assert_eq!(ok(r#"{"responseCode":"2007300","accessToken":"t","expiresIn":900}"#).token_type, "Bearer");
    }

    #[test]
    fn api_errors_at_any_status() {
        let e = err(401, r#"{"responseCode":"4017300","responseMessage":"Unauthorized. Unknown Client"}"#);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.response_code(), Some("4017300"));
        assert_eq!(e.message(), "DOKU answered HTTP 401 with 4017300: Unauthorized. Unknown Client");
        let e = err(200, r#"{"responseCode":"5007300","responseMessage":"General Error"}"#);
        assert_eq!((e.kind(), e.response_code()), (ErrorKind::Api, Some("5007300")));
        assert!(e.message().starts_with("DOKU answered HTTP 200 with 5007300"));
        let e = err(401, "{\"responseCode\":\"4017300\",\"responseMessage\":\"a\\r\\nb\"}");
        assert!(!e.message().contains('\n'));
    }

    #[test]
    fn protocol_errors_mention_the_status() {
        let cases = [
            (500, "<html>oops</html>", "HTTP 500 with a body that is not JSON"),
            (200, "[1,2]", "not an object"),
            (200, r#"{"accessToken":"t"}"#, "no responseCode"),
            (200, r#"{"responseCode":"2007300","expiresIn":900}"#, "no accessToken"),
            (200, r#"{"responseCode":"2007300","accessToken":"","expiresIn":900}"#, "no accessToken"),
            (200, r#"{"responseCode":"2007300","accessToken":"a b","expiresIn":900}"#, "cannot be sent back"),
            (200, r#"{"responseCode":"2007300","accessToken":"t"}"#, "no expiresIn"),
            (200, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":0}"#, "invalid expiresIn"),
            (200, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":-5}"#, "invalid expiresIn"),
            (200, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":"15m"}"#, "invalid expiresIn"),
            (200, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":1e30}"#, "invalid expiresIn"),
            (200, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":true}"#, "invalid expiresIn"),
            (500, r#"{"responseCode":"2007300","accessToken":"t","expiresIn":900}"#, "HTTP 500 with the success code"),
        ];
        for (status, body, want) in cases {
            let e = err(status, body);
            assert_eq!(e.kind(), ErrorKind::Protocol, "{body}");
            assert!(e.message().contains(want), "{body}: {e}");
            assert!(e.message().contains(&format!("HTTP {status}")), "{e}");
        }
    }

    #[test]
    fn freshness_uses_the_margin_capped_at_half_the_lifetime() {
        let t0 = Stamp::at(Duration::from_secs(1000));
        let grant = |s| Grant { access_token: Zeroizing::new("t".into()), token_type: "Bearer".into(), expires_in: s };
        let t = Token::new(grant(900), t0, SystemTime::now());
        let m = Duration::from_secs(60);
        assert!(t.is_fresh(m, t0 + Duration::from_secs(839)));
        assert!(!t.is_fresh(m, t0 + Duration::from_secs(840)));
        let short = Token::new(grant(2), t0, SystemTime::now());
        assert!(short.is_fresh(m, t0 + Duration::from_millis(999)));
        assert!(!short.is_fresh(m, t0 + Duration::from_secs(1)));
        assert!(t.is_fresh(Duration::ZERO, t0 + Duration::from_secs(899)));
        assert!(format!("{t:?}").find("t\"").is_none(), "Debug never prints the token");
    }

    #[test]
    fn usable_until_a_guard_before_expiry() {
        let t0 = Stamp::at(Duration::from_secs(1000));
        let grant = |s| Grant { access_token: Zeroizing::new("t".into()), token_type: "Bearer".into(), expires_in: s };
        let t = Token::new(grant(900), t0, SystemTime::now());
        assert!(t.is_usable(t0 + Duration::from_secs(894)));
        assert!(!t.is_usable(t0 + Duration::from_secs(895)));
        let short = Token::new(grant(4), t0, SystemTime::now());
        assert!(short.is_usable(t0 + Duration::from_millis(2999)));
        assert!(!short.is_usable(t0 + Duration::from_secs(3)));
        assert_eq!(t.expires_in(t0 + Duration::from_secs(100)), 800);
        assert_eq!(t.expires_in(t0 + Duration::from_secs(1000)), 0);
    }
}
