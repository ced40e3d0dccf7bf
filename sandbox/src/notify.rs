//! DOKU's side of the calls it makes to a merchant (snap-reference §4), so merchants can test
//! their endpoints offline:
//!
//! 1. `POST {merchant}/authorization/v1/access-token/b2b`, signed with DOKU's private key over
//!    `client_id|timestamp`; the merchant must answer `2007300` with an access token.
//! 2. With that token as Bearer and a symmetric `X-SIGNATURE` keyed with the merchant's client
//!    secret: a VA inquiry (`--inquire`), the VA payment notification, a Direct Debit
//!    notification (`--notify-debit`); each answer is judged as DOKU judges it
//!    (`merchant::answer::judge`: the string code of the service, its message, the echoed
//!    fields).
//! 3. With `--notify-probe`: the payment notification replayed, re-sent stale, signed with a
//!    wrong secret, and with the token after it expired; each must be refused with DOKU's code.
//!
//! Every signature, the HTTP client and the answer parsing are the library's own: what a merchant
//! tests against here is what the library's users send.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use zeroize::Zeroizing;

use doku::error::{Error, Result};
use doku::http::{Http, Response, Settings};
use doku::key::PrivateKey;
use doku::merchant::answer::judge;
use doku::merchant::notification::Call;
use doku::request::{external_id, signed_headers};
use doku::signature::{b2b_string_to_sign, sign_rsa_sha256, symmetric};
use doku::text::printable;
use doku::timestamp::Offset;
use doku::token::{parse_b2b_response, B2B_BODY, B2B_PATH};

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
    /// Before the payment notification, a Direct Inquiry for the bill (`--inquire`).
    pub inquire: bool,
    /// After it, a Direct Debit notification (`--notify-debit`).
    pub debit: bool,
    /// Then the probes the merchant must refuse (`--notify-probe`).
    pub probe: bool,
    /// The paid account's fields (`partnerServiceId`, `customerNo`, `virtualAccountNo`,
    /// `virtualAccountName`, `trxId`, `paymentRequestId`, `paidAmount`) in place of the sample's,
    /// when the sandbox's simulator notifies a payment it played.
    pub paid: Option<serde_json::Map<String, Value>>,
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
            inquire: false,
            debit: false,
            probe: false,
            paid: None,
        }
    }
}

impl NotifyConfig {
    /// The HTTP settings for the merchant's URL, or why it is no URL to notify.
    pub fn settings(&self) -> Result<Settings> {
        Settings::new(&self.merchant_url, self.timeout, self.connect_timeout, self.ca_file.as_deref(), Some(""))
            .map_err(|e| Error::new(e.kind(), format!("notify: merchant URL: {}", e.message().trim_start_matches("config: "))))
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
    /// Each call and probe sent after the token request, by name ("inquiry", "payment
    /// notification", "probe: replayed X-EXTERNAL-ID", …), in order.
    pub steps: Vec<(String, Step)>,
    /// The notification body exactly as sent (pretty-printed JSON); empty when not sent.
    pub notification: String,
    /// Why the run failed; `None` when the merchant accepted every call and refused every probe.
    pub failure: Option<String>,
}

impl NotifyReport {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    /// The VA payment notification's step; `None` when it was not sent.
    pub fn payment(&self) -> Option<&Step> {
        self.steps.iter().find(|(name, _)| name == PAYMENT_STEP).map(|(_, step)| step)
    }

    /// One line per step attempted, e.g. `notify: token request: HTTP 200, 2007300`.
    pub fn step_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("notify: token request: {}", self.token.describe())];
        for (name, step) in &self.steps {
            lines.push(format!("notify: {name}: {}", step.describe()));
        }
        lines
    }

    /// `notify: ok (token 2007300, payment 2002500)` (with `inquiry 2002400`, `debit 2005600`,
    /// `6 probes refused` when sent), or `notify: failed: <reason>`.
    pub fn summary(&self) -> String {
        let code = |s: &Step| s.response_code.clone().unwrap_or_else(|| "-".into());
        match (&self.failure, self.payment()) {
            (None, Some(_)) => {
                let mut parts = vec![format!("token {}", code(&self.token))];
                let probes = self.steps.iter().filter(|(name, _)| name.starts_with("probe")).count();
                for (name, step) in self.steps.iter().filter(|(name, _)| !name.starts_with("probe")) {
                    parts.push(format!("{} {}", name.split(' ').next().unwrap_or_default(), code(step)));
                }
                if probes > 0 {
                    parts.push(format!("{probes} probes refused"));
                }
                format!("notify: ok ({})", parts.join(", "))
            }
            (Some(why), _) => format!("notify: failed: {why}"),
            (None, None) => "notify: failed: no payment notification was sent".into(),
        }
    }
}

/// The library's messages speak of DOKU answering; here the merchant does.
fn merchant_said(e: &Error) -> String {
    e.message().replacen("DOKU answered", "the merchant answered", 1)
}

/// A call's step in the report: its operation in words ("payment notification").
fn step_name(call: &Call) -> String {
    call.operation.replace('_', " ")
}
const PAYMENT_STEP: &str = "payment notification";

/// One signed request to the merchant, as DOKU sends it.
struct Sent {
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

/// The calls of one run, signed and sent alike.
struct Caller<'c> {
    config: &'c NotifyConfig,
    http: Http,
    /// The merchant's base path, in front of each call's: the full path is what is signed.
    base_path: String,
}

impl Sent {
    /// The same request with header `name` given the value `change` makes of its value.
    fn with_header(&self, name: &str, change: impl Fn(&str) -> String) -> Sent {
        let headers = self.headers.iter().map(|(n, v)| (*n, if *n == name { change(v) } else { v.clone() })).collect();
        Sent { path: self.path, headers, body: self.body.clone() }
    }
}

impl Caller<'_> {
    /// `body` for `call`, signed with `secret` and `token` at `ts`.
    fn sign(&self, call: &Call, token: &str, secret: &[u8], ts: &str, body: String) -> Result<Sent> {
        let path = format!("{}{}", self.base_path, call.path);
        let signed = symmetric::Request { method: "POST", path: &path, access_token: token, body: Some(&body), timestamp: ts };
        let headers = signed_headers(secret, &signed, &self.config.client_id, &external_id(), &self.config.channel_id)?;
        Ok(Sent { path: call.path, headers, body })
    }

    fn send(&self, sent: &Sent) -> Result<Response> {
        let headers: Vec<(&str, &str)> = sent.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.http.send("POST", sent.path, &headers, &sent.body)
    }
}

/// Runs the token request and the calls `config` asks for, once. `Err` only when the run cannot
/// start (a bad URL, an unreadable CA file, an empty secret, a signing failure); a merchant
/// that refuses, or does not answer, is a report whose `failure` says why.
pub fn run(config: &NotifyConfig) -> Result<NotifyReport> {
    if config.client_secret.is_empty() {
        return Err(Error::invalid("notify: the client secret is empty"));
    }
    let settings = config.settings()?;
    let base_path = url::Url::parse(settings.base_url()).map(|u| u.path().trim_end_matches('/').to_owned()).unwrap_or_default();
    let caller = Caller { config, http: Http::new(settings), base_path };
    let mut report = NotifyReport::default();

    // 1. The token, requested as DOKU: signed with DOKU's key over client_id|timestamp.
    let ts = config.timestamp_offset.now();
    let sig = sign_rsa_sha256(&config.doku_key, b2b_string_to_sign(&config.client_id, &ts).as_bytes())?;
    let headers = [("X-CLIENT-KEY", config.client_id.as_str()), ("X-TIMESTAMP", ts.as_str()), ("X-SIGNATURE", sig.as_str())];
    let issued = Instant::now();
    let response = match caller.http.post_json(B2B_PATH, &headers, B2B_BODY) {
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
    let token = grant.access_token.as_str();
    let secret = config.client_secret.as_bytes();

    // 2. The calls, each signed with the merchant's secret over exactly the bytes sent, and
    // each answer judged as DOKU judges it (`merchant::answer::judge`).
    let mut payment_sent = None;
    for (operation, wanted) in [("inquiry", config.inquire), ("payment_notification", true), ("debit_notification", config.debit)] {
        let Some(call) = Call::named(operation).filter(|_| wanted) else { continue };
        let ts = config.timestamp_offset.now();
        let sent = caller.sign(call, token, secret, &ts, call_body(call, &ts, config.paid.as_ref()))?;
        let name = step_name(call);
        let response = match caller.send(&sent) {
            Ok(r) => r,
            Err(e) => {
                report.steps.push((name.clone(), Step::default()));
                report.failure = Some(format!("{name}: {e}"));
                return Ok(report);
            }
        };
        let step = Step::of(&response);
        report.steps.push((name.clone(), step));
        let request: Value = serde_json::from_str(&sent.body).unwrap_or_default();
        let judged = judge(call, &request, response.status, &response.body);
        if call.operation == "payment_notification" {
            report.notification = sent.body.clone();
            payment_sent = Some(sent);
        }
        if let Some(why) = judged {
            report.failure = Some(format!("{name}: {why}"));
            return Ok(report);
        }
    }

    // 3. The probes: what a replaying attacker, a stale relay or a forger sends, and a token
    // past its life; the merchant must refuse each with DOKU's code.
    if let (true, Some(payment), Some(call)) = (config.probe, payment_sent, Call::named("payment_notification")) {
        let stale = config.timestamp_offset.format(chrono::Utc::now() - chrono::TimeDelta::seconds(STALE_S));
        let now = config.timestamp_offset.now();
        let mut wrong_secret = Zeroizing::new(secret.to_vec());
        wrong_secret.push(b'!');
        // The same request under a new X-EXTERNAL-ID (the id is not signed, so anyone can change
        // it), and with a space after X-SIGNATURE: the same signature to a verifier that trims
        // it (servers that keep trailing blanks pass it on), another text to a record of them.
        let renamed = payment.with_header("X-EXTERNAL-ID", |_| external_id());
        let padded = payment.with_header("X-SIGNATURE", |sig| format!("{sig} "));
        let probes = [
            ("probe: replayed X-EXTERNAL-ID", payment, 409, "00"),
            ("probe: replayed under a new X-EXTERNAL-ID", renamed, 409, "00"),
            ("probe: replayed with a space after X-SIGNATURE", padded, 409, "00"),
            ("probe: stale X-TIMESTAMP", caller.sign(call, token, secret, &stale, call_body(call, &stale, config.paid.as_ref()))?, 401, "00"),
            ("probe: wrong X-SIGNATURE", caller.sign(call, token, &wrong_secret, &now, call_body(call, &now, config.paid.as_ref()))?, 401, "00"),
        ];
        // Every probe is sent, and every one the merchant let through is reported.
        let mut failed = Vec::new();
        for (name, sent, status, case) in probes {
            failed.extend(probe(&caller, &mut report, name, &sent, call, status, case).err());
        }
        // An expired token: only a merchant whose tokens are short-lived can be probed so.
        let name = "probe: expired token";
        let lifetime = Duration::from_secs(grant.expires_in);
        if lifetime > MAX_PROBED_TTL {
            failed.push(format!(
                "{name}: the merchant's tokens last {} s; give it a token lifetime of at most {} s to probe",
                grant.expires_in,
                MAX_PROBED_TTL.as_secs()
            ));
        } else {
            // JWT times are whole seconds: a second past `exp` is expired wherever it is checked.
            std::thread::sleep((lifetime + Duration::from_millis(1100)).saturating_sub(issued.elapsed()));
            let now = config.timestamp_offset.now();
            let sent = caller.sign(call, token, secret, &now, call_body(call, &now, config.paid.as_ref()))?;
            failed.extend(probe(&caller, &mut report, name, &sent, call, 401, "01").err());
        }
        if !failed.is_empty() {
            report.failure = Some(failed.join("; "));
        }
    }
    Ok(report)
}

/// A stale `X-TIMESTAMP`: an hour old, past any sensible freshness window.
const STALE_S: i64 = 3600;
/// The longest token lifetime the expired-token probe waits out.
const MAX_PROBED_TTL: Duration = Duration::from_secs(10);

/// Sends a probe; Ok when the merchant refused it with HTTP `status` and `status`+service+`case`.
fn probe(
    caller: &Caller,
    report: &mut NotifyReport,
    name: &str,
    sent: &Sent,
    call: &Call,
    status: u16,
    case: &str,
) -> std::result::Result<(), String> {
    let expected = call.code(status, case);
    let step = match caller.send(sent) {
        Ok(r) => Step::of(&r),
        Err(e) => {
            report.steps.push((name.to_owned(), Step::default()));
            return Err(format!("{name}: {e}"));
        }
    };
    report.steps.push((name.to_owned(), step.clone()));
    if step.http_status == Some(status) && step.response_code.as_deref() == Some(expected.as_str()) {
        return Ok(());
    }
    Err(format!("{name}: the merchant answered {} (expected HTTP {status} and {expected})", step.describe()))
}

/// The body DOKU sends for `call`, pretty-printed as DOKU's samples are; a payment
/// notification carries `paid`'s fields when given.
fn call_body(call: &Call, ts: &str, paid: Option<&serde_json::Map<String, Value>>) -> String {
    let external = external_id();
    match (call.operation, paid) {
        ("inquiry", _) => inquiry_body(&external, ts),
        ("debit_notification", _) => debit_body(&external, ts),
        (_, None) => notification_body(&external, ts),
        (_, Some(paid)) => {
            let mut body: serde_json::Map<String, Value> = serde_json::from_str(&notification_body(&external, ts)).unwrap_or_default();
            body.extend(paid.iter().map(|(k, v)| (k.clone(), v.clone())));
            serde_json::to_string_pretty(&body).unwrap_or_default()
        }
    }
}

/// A Direct Inquiry: DOKU asks the merchant for the bill of a VA number.
fn inquiry_body(external_id: &str, ts: &str) -> String {
    let s = |v: &str| Value::from(v).to_string();
    format!(
        r#"{{
  "partnerServiceId": "  888994",
  "customerNo": "00000000000000000001",
  "virtualAccountNo": "  88899400000000000000000001",
  "channelCode": 6011,
  "trxDateInit": {ts},
  "language": "ID",
  "inquiryRequestId": {req},
  "additionalInfo": {{
    "channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"
  }}
}}
"#,
        ts = s(ts),
        req = s(external_id),
    )
}

/// A Direct Debit payment notification.
fn debit_body(external_id: &str, ts: &str) -> String {
    let s = |v: &str| Value::from(v).to_string();
    let tail = &external_id[external_id.len().saturating_sub(12)..];
    format!(
        r#"{{
  "originalPartnerReferenceNo": {partner},
  "originalReferenceNo": {reference},
  "originalExternalId": {external},
  "latestTransactionStatus": "00",
  "transactionStatusDesc": "Success",
  "amount": {{
    "value": "25000.00",
    "currency": "IDR"
  }},
  "additionalInfo": {{
    "channelId": "DIRECT_DEBIT_BRI",
    "paymentDate": {ts}
  }}
}}
"#,
        partner = s(&format!("ORDER/{tail}")),
        reference = s(&format!("DD{tail}")),
        external = s(external_id),
        ts = s(ts),
    )
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
        let paid = Step { http_status: Some(200), response_code: Some("2002500".into()) };
        let ok = NotifyReport {
            token: Step { http_status: Some(200), response_code: Some("2007300".into()) },
            steps: vec![(PAYMENT_STEP.into(), paid)],
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
