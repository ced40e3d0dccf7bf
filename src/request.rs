//! Signed SNAP transaction requests (snap-reference §3): every header a call needs, and the
//! call itself over the client's own HTTP agent, with the one retry DOKU's Invalid Token
//! (`401xx01`) calls for.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::signature::symmetric::{self, minified_body, normalize_method};
use crate::token::Client;

/// What a signed call got back. Any HTTP status is a response, not an error.
#[derive(Debug)]
pub struct ApiResponse {
    pub http_status: u16,
    /// The body's `responseCode`, when it is JSON with one.
    pub response_code: Option<String>,
    /// The body as sent (invalid UTF-8 replaced).
    pub body: String,
}

impl ApiResponse {
    /// `{"httpStatus":…,"responseCode":…|null,"body":"…"}`
    pub fn to_json(&self) -> String {
        serde_json::json!({"httpStatus": self.http_status, "responseCode": self.response_code, "body": self.body}).to_string()
    }
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
fn is_invalid_token(status: u16, code: Option<&str>) -> bool {
    status == 401 && code.is_some_and(|c| c.len() == 7 && c.starts_with("401") && c.ends_with("01"))
}

impl Client {
    /// Every header of a signed transaction request: `Authorization`, `X-TIMESTAMP`,
    /// `X-SIGNATURE`, `X-PARTNER-ID`, `X-EXTERNAL-ID`, `CHANNEL-ID`, `Content-Type`. The
    /// signature covers the minified body: send that (or `body` as DOKU minifies it alike).
    pub fn request_headers(&self, method: &str, path: &str, body: Option<&str>) -> Result<Vec<(&'static str, String)>> {
        self.signed_headers(&normalize_method(method)?, path, &minified_body(body)?)
    }

    fn signed_headers(&self, method: &str, path: &str, minified_body: &str) -> Result<Vec<(&'static str, String)>> {
        let config = self.config();
        let secret = config
            .client_secret
            .as_ref()
            .ok_or_else(|| Error::invalid("config: client_secret is required for signed transaction requests"))?;
        let channel = config
            .channel_id
            .as_ref()
            .ok_or_else(|| Error::invalid("config: channel_id is required for signed transaction requests"))?;
        let token = Zeroizing::new(self.with_token(|t| t.access_token.to_string())?);
        let timestamp = config.timestamp_offset.now();
        let request = symmetric::Request { method, path, access_token: &token, body: Some(minified_body), timestamp: &timestamp };
        let signature = symmetric::sign(secret.bytes(), &request)?;
        Ok(vec![
            ("Authorization", format!("Bearer {}", token.as_str())),
            ("X-TIMESTAMP", timestamp),
            ("X-SIGNATURE", signature),
            ("X-PARTNER-ID", config.partner_id.clone()),
            ("X-EXTERNAL-ID", external_id()),
            ("CHANNEL-ID", channel.clone()),
            ("Content-Type", "application/json".to_owned()),
        ])
    }

    /// Sends a signed request and returns DOKU's answer. On Invalid Token (`401xx01`) it drops
    /// the cached token, fetches a new one and retries once.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Result<ApiResponse> {
        let method = normalize_method(method)?;
        let body = minified_body(body)?;
        let mut retried = false;
        loop {
            let headers = self.signed_headers(&method, path, &body)?;
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = self.http().send(&method, path, &pairs, &body)?;
            let text = String::from_utf8_lossy(&response.body).into_owned();
            let response_code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("responseCode").and_then(Value::as_str).map(|c| crate::token::sanitize(c, 16)));
            if !retried && is_invalid_token(response.status, response_code.as_deref()) {
                // Only the token this request used: another thread may already have replaced it.
                if let Some((_, bearer)) = headers.iter().find(|(name, _)| *name == "Authorization") {
                    self.invalidate_token_if(crate::token::strip_bearer(bearer));
                }
                retried = true;
                continue;
            }
            return Ok(ApiResponse { http_status: response.status, response_code, body: text });
        }
    }
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
        let r = ApiResponse { http_status: 200, response_code: Some("2002700".into()), body: "{\"a\":1}".into() };
        assert_eq!(r.to_json(), r#"{"body":"{\"a\":1}","httpStatus":200,"responseCode":"2002700"}"#);
        assert_eq!(headers_json(&[("X-A", "1".into())]), r#"{"X-A":"1"}"#);
    }
}
