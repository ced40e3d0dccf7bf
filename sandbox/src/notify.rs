//! DOKU's side of a merchant notification (snap-reference §4), so merchants can test their
//! notification endpoint offline:
//!
//! 1. `POST {merchant}/authorization/v1/access-token/b2b`, signed with DOKU's private key over
//!    `client_id|timestamp`; the merchant must answer `2007300` with an access token.
//! 2. `POST {merchant}/v1.1/transfer-va/payment` (a VA payment notification), with that token
//!    as Bearer and a symmetric `X-SIGNATURE` keyed with the merchant's client secret; the merchant
//!    must answer as DOKU expects: HTTP 2xx, a JSON object whose `responseCode` is the string
//!    `2002500` (success of service 25, the payment notification) and whose `responseMessage`
//!    is a string.
//!
//! Every signature, the HTTP client and the answer parsing are the library's own: what a merchant
//! tests against here is what the library's users send.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use doku::error::{Error, Result};
use doku::http::{Http, Response, Settings};
use doku::key::PrivateKey;
use doku::request::external_id;
use doku::signature::{b2b_string_to_sign, sign_rsa_sha256, symmetric};
use doku::text::printable;
use doku::timestamp::Offset;
use doku::token::{parse_b2b_response, B2B_BODY, B2B_PATH};

/// DOKU's VA payment notification path, relative to the merchant's base URL.
pub const PAYMENT_PATH: &str = "/v1.1/transfer-va/payment";
/// The `CHANNEL-ID` DOKU sends on notifications.
pub const DEFAULT_CHANNEL_ID: &str = "95221";

/// Whom to notify and how.
#[derive(Clone)]
pub struct NotifyConfig {
    /// The merchant's base URL, e.g. `https://merchant.example` (no trailing slash needed).
    pub merchant_url: String,
    /// The merchant's client id: `X-CLIENT-KEY` and `X-PARTNER-ID`.
    pub client_id: String,
    /// The merchant's client secret, which keys the notification's symmetric signature.
    pub client_secret: Zeroizing<String>,
    /// DOKU's private key, which signs the token request.
    pub doku_key: Arc<PrivateKey>,
    /// Extra CAs (PEM) to trust for an https merchant.
    pub ca_file: Option<PathBuf>,
    /// Per request, connect to last byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub channel_id: String,
    /// The zone of `X-TIMESTAMP` and `trxDateTime`; DOKU writes WIB (`+07:00`).
    pub timestamp_offset: Offset,
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the key.
        f.debug_struct("NotifyConfig")
            .field("merchant_url", &self.merchant_url)
            .field("client_id", &self.client_id)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("channel_id", &self.channel_id)
            .finish_non_exhaustive()
    }
}

impl NotifyConfig {
    /// Defaults: 10 s per request (5 s to connect), no extra CA, `CHANNEL-ID: 95221`, WIB times.
    pub fn new(merchant_url: &str, client_id: &str, client_secret: &str, doku_key: Arc<PrivateKey>) -> NotifyConfig {
        NotifyConfig {
            merchant_url: merchant_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: Zeroizing::new(client_secret.to_owned()),
            doku_key,
            ca_file: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            channel_id: DEFAULT_CHANNEL_ID.to_owned(),
            timestamp_offset: Offset::parse("+07:00").unwrap_or(Offset::UTC),
        }
    }
}

/// What one request got back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// `None` when no answer came (network, timeout, TLS).
    pub http_status: Option<u16>,
    /// The answer's `responseCode`, when it is JSON with one.
    pub response_code: Option<String>,
}

impl Step {
    fn of(response: &Response) -> Step {
        let code = serde_json::from_slice::<Value>(&response.body).ok().and_then(|v| match v.get("responseCode") {
            Some(Value::String(c)) => Some(printable(c, 16)),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
        Step { http_status: Some(response.status), response_code: code }
    }

    fn describe(&self) -> String {
        match (self.http_status, &self.response_code) {
            (None, _) => "no answer".to_owned(),
            (Some(s), Some(c)) => format!("HTTP {s}, {c}"),
            (Some(s), None) => format!("HTTP {s}, no responseCode"),
        }
    }
}

/// What a notification run did.
#[derive(Clone, Debug, Default)]
pub struct NotifyReport {
    /// Step 1, the token request.
    pub token: Step,
    /// Step 2, the payment notification; `None` when step 1 failed.
    pub payment: Option<Step>,
    /// The notification body exactly as sent (pretty-printed JSON); empty when not sent.
    pub notification: String,
    /// Why the run failed; `None` when the merchant accepted both requests.
    pub failure: Option<String>,
}

impl NotifyReport {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    /// One line per step attempted, e.g. `notify: token request: HTTP 200, 2007300`.
    pub fn step_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("notify: token request: {}", self.token.describe())];
        if let Some(p) = &self.payment {
            lines.push(format!("notify: payment notification: {}", p.describe()));
        }
        lines
    }

    /// `notify: ok (token 2007300, payment 2002500)`, or `notify: failed: <reason>`.
    pub fn summary(&self) -> String {
        let code = |s: &Step| s.response_code.clone().unwrap_or_else(|| "-".into());
        match (&self.failure, &self.payment) {
            (None, Some(p)) => format!("notify: ok (token {}, payment {})", code(&self.token), code(p)),
            (Some(why), _) => format!("notify: failed: {why}"),
            (None, None) => "notify: failed: no payment notification was sent".into(),
        }
    }
}

/// The library's messages speak of DOKU answering; here the merchant does.
fn merchant_said(e: &Error) -> String {
    e.message().replacen("DOKU answered", "the merchant answered", 1)
}

/// Runs both steps once. `Err` only when the run cannot start (a bad URL, an unreadable CA
/// file, an empty secret, a signing failure); a merchant that refuses, or does not answer, is a
/// report whose `failure` says why.
pub fn run(config: &NotifyConfig) -> Result<NotifyReport> {
    if config.client_secret.is_empty() {
        return Err(Error::invalid("notify: the client secret is empty"));
    }
    let settings = Settings::new(&config.merchant_url, config.timeout, config.connect_timeout, config.ca_file.as_deref(), Some(""))
        .map_err(|e| Error::new(e.kind(), format!("notify: merchant URL: {}", e.message().trim_start_matches("config: "))))?;
    // The merchant sees its base path in front of ours, and that full path is what is signed.
    let base_path = url::Url::parse(settings.base_url()).map(|u| u.path().trim_end_matches('/').to_owned()).unwrap_or_default();
    let http = Http::new(settings);
    let mut report = NotifyReport::default();

    // 1. The token, requested as DOKU: signed with DOKU's key over client_id|timestamp.
    let ts = config.timestamp_offset.now();
    let sig = sign_rsa_sha256(&config.doku_key, b2b_string_to_sign(&config.client_id, &ts).as_bytes())?;
    let headers = [("X-CLIENT-KEY", config.client_id.as_str()), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", sig.as_str())];
    let response = match http.post_json(B2B_PATH, &headers, B2B_BODY) {
        Ok(r) => r,
        Err(e) => {
            report.failure = Some(format!("token request: {e}"));
            return Ok(report);
        }
    };
    report.token = Step::of(&response);
    let grant = match parse_b2b_response(response.status, &response.body) {
        Ok(g) => g,
        Err(e) => {
            report.failure = Some(format!("token request: {}", merchant_said(&e)));
            return Ok(report);
        }
    };

    // 2. The payment notification, signed with the merchant's secret over exactly these bytes.
    let ts = config.timestamp_offset.now();
    let external = external_id();
    let body = notification_body(&external, &ts);
    let path = format!("{base_path}{PAYMENT_PATH}");
    let signed = symmetric::Request { method: "POST", path: &path, access_token: &grant.access_token, body: Some(&body), timestamp: &ts };
    let sig = symmetric::sign(config.client_secret.as_bytes(), &signed)?;
    let bearer = Zeroizing::new(format!("Bearer {}", grant.access_token.as_str()));
    let headers = [
        ("Authorization", bearer.as_str()),
        ("X-TIMESTAMP", ts.as_str()),
        ("X-SIGNATURE", sig.as_str()),
        ("X-PARTNER-ID", config.client_id.as_str()),
        ("X-EXTERNAL-ID", external.as_str()),
        ("CHANNEL-ID", config.channel_id.as_str()),
    ];
    report.notification = body.clone();
    let response = match http.send("POST", PAYMENT_PATH, &headers, &body) {
        Ok(r) => r,
        Err(e) => {
            report.payment = Some(Step::default());
            report.failure = Some(format!("payment notification: {e}"));
            return Ok(report);
        }
    };
    let step = Step::of(&response);
    if let Some(why) = misjudged_answer(response.status, &response.body) {
        report.failure = Some(format!("payment notification: {why}"));
    } else if !(200..300).contains(&response.status) || step.response_code.as_deref() != Some(PAYMENT_SUCCESS) {
        let message = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("responseMessage").and_then(Value::as_str).map(|m| printable(m, 300)));
        let why = match (&step.response_code, message) {
            (None, _) if serde_json::from_slice::<Value>(&response.body).is_err() => {
                format!("the merchant answered HTTP {} with a body that is not JSON ({} bytes)", response.status, response.body.len())
            }
            (None, _) => format!("the merchant answered HTTP {} without a responseCode", response.status),
            (Some(code), message) => format!(
                "the merchant answered HTTP {} with {code}: {} (expected HTTP 2xx and {PAYMENT_SUCCESS})",
                response.status,
                message.unwrap_or_default()
            ),
        };
        report.failure = Some(format!("payment notification: {why}"));
    }
    report.payment = Some(step);
    Ok(report)
}

/// What DOKU answers a payment notification with, on success: HTTP 200, service 25, case 00.
pub const PAYMENT_SUCCESS: &str = "2002500";

/// Why DOKU would not take the merchant's answer as a success although it looks like one: a
/// `responseCode` that is a number or another service's success, or no `responseMessage`.
/// `None` for an answer that is a success as documented, or plainly a refusal (judged after).
fn misjudged_answer(status: u16, body: &[u8]) -> Option<String> {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else { return None };
    match answer.get("responseCode") {
        Some(Value::Number(n)) => {
            return Some(format!("the merchant answered HTTP {status} with responseCode {n} as a number (DOKU expects the string \"{PAYMENT_SUCCESS}\")"))
        }
        Some(Value::String(code)) if code.starts_with("200") && code != PAYMENT_SUCCESS => {
            return Some(format!(
                "the merchant answered HTTP {status} with {}, a success of another service (DOKU expects {PAYMENT_SUCCESS}: HTTP 200, service 25, case 00)",
                printable(code, 16)
            ))
        }
        Some(Value::String(code)) if code == PAYMENT_SUCCESS && !answer.get("responseMessage").is_some_and(Value::is_string) => {
            return Some(format!("the merchant answered HTTP {status} with {PAYMENT_SUCCESS} but no responseMessage string (DOKU documents it)"))
        }
        _ => {}
    }
    None
}

/// A SNAP VA payment notification, pretty-printed as DOKU's samples are (the merchant
/// minifies before hashing): a non-ASCII name, `/` in ids, spaces inside strings.
fn notification_body(external_id: &str, ts: &str) -> String {
    let s = |v: &str| Value::from(v).to_string();
    // 36 digits: the last 12 keep ids short yet unique per run.
    let tail = &external_id[external_id.len().saturating_sub(12)..];
    format!(
        r#"{{
  "partnerServiceId": "  888994",
  "customerNo": "00000000000000000001",
  "virtualAccountNo": "  88899400000000000000000001",
  "virtualAccountName": "Budi Śantoso / Toko Kue Ñam",
  "trxId": {trx},
  "paymentRequestId": {req},
  "paidAmount": {{
    "value": "10000.00",
    "currency": "IDR"
  }},
  "trxDateTime": {ts},
  "additionalInfo": {{
    "channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"
  }}
}}
"#,
        trx = s(&format!("INV/2026/{tail}")),
        req = s(external_id),
        ts = s(ts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_is_valid_json_that_minifies() {
        let body = notification_body("123456789012345678901234567890123456", "2026-11-28T10:00:00+07:00");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["paidAmount"]["value"], "10000.00");
        assert_eq!(v["trxId"], "INV/2026/567890123456");
        let min = doku::signature::minify::minify(&body).unwrap();
        assert!(min.contains(r#""virtualAccountName":"Budi Śantoso / Toko Kue Ñam""#), "{min}");
        assert!(min.contains(r#""partnerServiceId":"  888994""#));
    }

    #[test]
    fn reports_summarise() {
        let ok = NotifyReport {
            token: Step { http_status: Some(200), response_code: Some("2007300".into()) },
            payment: Some(Step { http_status: Some(200), response_code: Some("2002500".into()) }),
            ..NotifyReport::default()
        };
        assert_eq!(ok.summary(), "notify: ok (token 2007300, payment 2002500)");
        assert_eq!(ok.step_lines(), ["notify: token request: HTTP 200, 2007300", "notify: payment notification: HTTP 200, 2002500"]);
        let failed = NotifyReport { failure: Some("token request: no".into()), ..NotifyReport::default() };
        assert!(!failed.ok());
        assert_eq!(failed.summary(), "notify: failed: token request: no");
        assert_eq!(failed.step_lines(), ["notify: token request: no answer"]);
    }
}
