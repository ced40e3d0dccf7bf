//! The parts of a signed SNAP transaction request (snap-reference §3) that need no client:
//! the answer's form, `X-EXTERNAL-ID`, and what counts as DOKU's Invalid Token. The call itself
//! is [`crate::client::Client::request`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use crate::error::Result;
use crate::signature::symmetric;

/// What a signed call got back. Any HTTP status is a response, not an error.
#[derive(Debug)]
pub struct ApiResponse {
    pub http_status: u16,
    /// The body's `responseCode`, when it is JSON with one.
    pub response_code: Option<String>,
    /// The body as sent (invalid UTF-8 replaced).
    pub body: String,
    /// The catalog operation called, if the call named one.
    pub operation: Option<&'static str>,
    /// The `X-EXTERNAL-ID` of the request that got this answer.
    pub external_id: String,
}

impl ApiResponse {
    /// `{"httpStatus":…,"responseCode":…|null,"body":"…","operation":…|null,"externalId":"…"}`
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "httpStatus": self.http_status,
            "responseCode": self.response_code,
            "body": self.body,
            "operation": self.operation,
            "externalId": self.external_id,
        })
        .to_string()
    }
}

/// Every header of a signed transaction request, in the order DOKU lists them: the token as
/// `Bearer`, `X-TIMESTAMP`, `X-SIGNATURE` (HMAC-SHA512 of `request` keyed with `secret`),
/// `X-PARTNER-ID`, `X-EXTERNAL-ID` (see [`external_id`]), `CHANNEL-ID` and `Content-Type`. A
/// merchant's client and the sandbox playing DOKU toward a merchant build them alike.
pub fn signed_headers(
    secret: &[u8],
    request: &symmetric::Request<'_>,
    partner_id: &str,
    external_id: &str,
    channel_id: &str,
) -> Result<Vec<(&'static str, String)>> {
    let signature = symmetric::sign(secret, request)?;
    Ok(vec![
        ("Authorization", format!("Bearer {}", request.access_token)),
        ("X-TIMESTAMP", request.timestamp.to_owned()),
        ("X-SIGNATURE", signature),
        ("X-PARTNER-ID", partner_id.to_owned()),
        ("X-EXTERNAL-ID", external_id.to_owned()),
        ("CHANNEL-ID", channel_id.to_owned()),
        ("Content-Type", "application/json".to_owned()),
    ])
}

/// Header name → value, as a JSON object.
pub fn headers_json(headers: &[(&'static str, String)]) -> String {
    let map: Map<String, Value> = headers.iter().map(|(k, v)| (k.to_string(), Value::from(v.as_str()))).collect();
    Value::Object(map).to_string()
}

/// `X-EXTERNAL-ID`: 36 digits, unique per day across threads and processes on a host:
/// time (12) + process id (7) + a per-process counter (9) + random (8, against pid reuse).
pub fn external_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 1_000_000_000;
    let mut random = [0u8; 4];
    // Without randomness the other 28 digits are still unique on this host.
    let _ = openssl::rand::rand_bytes(&mut random);
    let random = u32::from_le_bytes(random) % 100_000_000;
    let time = chrono::Utc::now().format("%y%m%d%H%M%S");
    format!("{time}{:07}{n:09}{random:08}", std::process::id() % 10_000_000)
}

/// DOKU's Invalid Token (B2B): HTTP 401, case code 01 of any service.
pub(crate) fn is_invalid_token(status: u16, code: Option<&str>) -> bool {
    status == 401 && code.is_some_and(|c| c.len() == 7 && c.starts_with("401") && c.ends_with("01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_36_unique_digits() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| external_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 36 && id.bytes().all(|b| b.is_ascii_digit())));
    }

    #[test]
    fn invalid_token_codes() {
        assert!(is_invalid_token(401, Some("4012701")));
        assert!(is_invalid_token(401, Some("4017301")));
        assert!(!is_invalid_token(401, Some("4012700")), "unauthorized, not invalid token");
        assert!(!is_invalid_token(400, Some("4012701")));
        assert!(!is_invalid_token(401, None));
    }

    #[test]
    fn responses_serialize() {
        let r = ApiResponse {
            http_status: 200,
            response_code: Some("2002700".into()),
            body: "{\"a\":1}".into(),
            operation: Some("create_va"),
            external_id: "1".into(),
        };
        assert_eq!(r.to_json(), r#"{"body":"{\"a\":1}","externalId":"1","httpStatus":200,"operation":"create_va","responseCode":"2002700"}"#);
        assert_eq!(headers_json(&[("X-A", "1".into())]), r#"{"X-A":"1"}"#);
    }
}
