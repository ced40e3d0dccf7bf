//! The DOKU client: config → signed request → parsed answer → shared token cache, and the
//! signed transaction calls made with that token (snap-reference §3).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use serde_json::Value;
use zeroize::Zeroizing;

use crate::clock::Stamp;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Http, TransportKey};
use crate::log::{self, event, Level};
use crate::operations::{self, CallOptions, Operation};
use crate::request::{external_id, is_invalid_token, signed_headers, ApiResponse};
use crate::signature;
use crate::signature::symmetric::{self, minified_body, normalize_method};
use crate::timestamp;
pub use crate::token::cache::Stats;
use crate::token::cache::{shared_slot, CacheKey, Fetcher, TokenSlot};
use crate::token::store::{Entry, Report};
use crate::token::{b2b2c, parse_b2b_response, Token, B2B_BODY, B2B_PATH};

/// Beyond this much disagreement between DOKU's `Date` and ours, a refusal is most likely our
/// clock's fault, and the error says so.
const SKEW_HINT_SECS: i64 = 60;

/// A DOKU client: one merchant's credentials, one HTTP agent, one shared token slot.
///
/// Thread safety: `Send + Sync`; every method takes `&self`.
pub struct Client {
    config: Config,
    http: Http,
    slot: Arc<TokenSlot>,
}

/// What `token_info` reports.
pub struct TokenInfo {
    pub access_token: String,
    pub token_type: String,
    /// Seconds left, rounded.
    pub expires_in: u64,
    pub expires_at: SystemTime,
    /// Why the last refresh failed, while this (still valid) token is served in its place.
    pub refresh_error: Option<String>,
}

impl std::fmt::Debug for TokenInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        f.debug_struct("TokenInfo")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_error", &self.refresh_error)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(config: Config) -> Client {
        let slot = shared_slot(CacheKey {
            base_url: config.http.base_url().to_owned(),
            client_id: config.client_id.clone(),
            key_fingerprint: *config.key.fingerprint(),
        });
        let http = Http::new(config.http.clone());
        Client { config, http, slot }
    }

    pub fn from_json(json: &str) -> Result<Client> {
        Config::from_json(json).map(Client::new)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs `read` on a valid access token: the cached one, or a freshly fetched one.
    #[inline]
    pub fn with_token<R>(&self, read: impl FnOnce(&Token) -> R) -> Result<R> {
        self.slot.with_token(self, read)
    }

    pub fn token_info(&self) -> Result<TokenInfo> {
        let info = self.with_token(|t| TokenInfo {
            access_token: t.access_token.to_string(),
            token_type: t.token_type.clone(),
            expires_in: t.expires_in(Stamp::now()),
            expires_at: t.expires_at,
            refresh_error: None,
        })?;
        let refresh_error = self.slot.refresh_failure().map(|f| {
            format!(
                "{} (failed {} time{} in a row; the current token is still valid)",
                f.error.message(),
                f.failures,
                if f.failures == 1 { "" } else { "s" }
            )
        });
        Ok(TokenInfo { refresh_error, ..info })
    }

    pub fn invalidate_token(&self) {
        self.slot.invalidate();
    }

    /// The counters of this client's token cache slot, shared by every client of the same base
    /// URL, client id and key in the process, since the slot was created.
    pub fn stats(&self) -> Stats {
        self.slot.stats()
    }

    /// Drops the cached token only if it is still `used`: after a 401xx01 on a request signed
    /// with it. Concurrent requests refused with the same old token then cause one refresh, not
    /// a chain of refreshes that revoke each other's new tokens.
    pub fn invalidate_token_if(&self, used: &str) {
        self.slot.invalidate_if(used);
        if let Some(entry) = self.store_entry() {
            self.record_store(&entry.remove_if(used));
        }
    }

    /// Counts a store operation in the slot's stats, which raise `store_unavailable` and
    /// `store_recovered` when the store's state changes.
    fn record_store(&self, report: &Report) {
        match (&report.store_error, report.from_store) {
            (Some(e), _) => self.slot.record_store_error(e),
            (None, true) => self.slot.record_store_hit(),
            (None, false) => self.slot.record_store_ok(),
        }
    }

    /// This client's entry in the shared token store, if one is configured.
    fn store_entry(&self) -> Option<Entry<'_>> {
        self.config.token_store.entry(self.config.http.base_url(), &self.config.client_id, &self.config.key)
    }

    /// Exchanges a customer's auth code (or refresh token) for a B2B2C token (§5). Not cached:
    /// customer tokens belong to one customer each.
    pub fn b2b2c_token(&self, grant: b2b2c::Grant<'_>) -> Result<b2b2c::CustomerToken> {
        self.token_request(b2b2c::PATH, &grant.body()?, b2b2c::parse_response, None)
    }

    /// POSTs a token request signed over `client_id|timestamp` (the timestamp computed once, for
    /// both the header and the signature) and parses the answer; refusals get a clock-skew hint.
    fn token_request<T>(&self, path: &str, body: &str, parse: fn(u16, &[u8]) -> Result<T>, deadline: Option<Instant>) -> Result<T> {
        let timestamp = self.config.timestamp_offset.now();
        let to_sign = signature::b2b_string_to_sign(&self.config.client_id, &timestamp);
        let sig = signature::sign_rsa_sha256(&self.config.key, to_sign.as_bytes())?;
        let headers = [("X-CLIENT-KEY", self.config.client_id.as_str()), ("X-TIMESTAMP", &timestamp), ("X-SIGNATURE", &sig)];
        let response = self.http.send_by("POST", path, &headers, body, deadline)?;
        parse(response.status, &response.body).map_err(|e| match e.kind() {
            ErrorKind::Api => with_skew_hint(e, response.date.as_deref(), response.received_at),
            _ => e,
        })
    }

    /// Every header of a signed transaction request: `Authorization`, `X-TIMESTAMP`,
    /// `X-SIGNATURE`, `X-PARTNER-ID`, `X-EXTERNAL-ID`, `CHANNEL-ID`, `Content-Type`. The
    /// signature covers the minified body: send that (or `body` as DOKU minifies it alike).
    pub fn request_headers(&self, method: &str, path: &str, body: Option<&str>) -> Result<Vec<(&'static str, String)>> {
        let token = Zeroizing::new(self.with_token(|t| t.access_token.to_string())?);
        self.signed_headers(&normalize_method(method)?, path, &minified_body(body)?, &token, &external_id(), None)
    }

    fn signed_headers(
        &self,
        method: &str,
        path: &str,
        minified_body: &str,
        token: &str,
        external_id: &str,
        channel: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>> {
        let config = &self.config;
        let secret =
            config.client_secret.as_ref().ok_or_else(|| Error::invalid("config: client_secret is required for signed transaction requests"))?;
        let channel = match channel.or(config.channel_id.as_deref()) {
            Some(channel) => channel,
            None => return Err(Error::invalid("config: channel_id is required for signed transaction requests (or options: channelId)")),
        };
        let timestamp = config.timestamp_offset.now();
        let request = symmetric::Request { method, path, access_token: token, body: Some(minified_body), timestamp: &timestamp };
        signed_headers(secret.bytes(), &request, &config.partner_id, external_id, channel)
    }

    /// Calls a catalog operation: checks `options` and `body` by its row before anything is
    /// sent, then sends as [`request`](Self::request) does. A money-moving operation whose
    /// answer is lost after sending fails with `ErrorKind::OutcomeUnknown`, naming the status
    /// operation to ask.
    pub fn call(&self, operation: &str, body: Option<&str>, options: &CallOptions) -> Result<ApiResponse> {
        let op = operations::find(operation).ok_or_else(|| {
            let names: Vec<&str> = operations::CATALOG.iter().map(|op| op.name).collect();
            Error::invalid(format!("unknown operation {:?} (known: {})", crate::text::printable(operation, 40), names.join(", ")))
        })?;
        options.check_for(op)?;
        let body = minified_body(body).map_err(|e| Error::invalid(format!("{}: body: {}", op.name, e.message())))?;
        let fields = operations::body::check(&body, op.fields).map_err(|p| Error::invalid(format!("{}: body: {}", op.name, p.message())))?;
        let reference = op.status.and_then(|(_, field)| fields.get(field)).and_then(Value::as_str).unwrap_or("");
        self.send_signed(op.method, op.path, &body, options, Some(op.name), Some((op, reference)))
    }

    /// Sends a signed request and returns DOKU's answer. On Invalid Token (`401xx01`) it drops
    /// the cached token, fetches a new one and retries once. `options` add the customer's headers
    /// and may set `CHANNEL-ID` and `X-EXTERNAL-ID`; they are sent as given, unchecked against
    /// any operation.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>, options: &CallOptions) -> Result<ApiResponse> {
        let (method, body) = (normalize_method(method)?, minified_body(body)?);
        // A payment sent to its path keeps the money rules, however it is called.
        let money = operations::for_request(&method, path).filter(|op| op.moves_money);
        let fields = money.and_then(|_| serde_json::from_str::<Value>(&body).ok());
        let reference = money.and_then(|op| fields.as_ref()?.get(op.status?.1)?.as_str()).unwrap_or("");
        self.send_signed(&method, path, &body, options, None, money.map(|op| (op, reference)))
    }

    /// `name`: the operation called by name, for the answer. `op`: the catalog operation whose
    /// rules apply (its Invalid Token, the money rule), and the reference its status is asked by.
    fn send_signed(
        &self,
        method: &str,
        path: &str,
        body: &str,
        options: &CallOptions,
        name: Option<&'static str>,
        op: Option<(&'static Operation, &str)>,
    ) -> Result<ApiResponse> {
        let extra = options.extra_headers();
        let mut retried = false;
        loop {
            let token = Zeroizing::new(self.with_token(|t| t.access_token.to_string())?);
            let external_id = options.external_id.clone().unwrap_or_else(external_id);
            let headers = self.signed_headers(method, path, body, &token, &external_id, options.channel_id.as_deref())?;
            let pairs: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect();
            // Only this request's own loss is "outcome unknown": a failed token fetch above sent
            // nothing of it.
            let response = self.http.send(method, path, &pairs, body).map_err(|e| match op {
                Some((op, reference)) if op.moves_money && lost_after_sending(&e) => outcome_unknown(op, &e, reference),
                _ => e,
            })?;
            let text = String::from_utf8_lossy(&response.body).into_owned();
            let response_code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("responseCode").and_then(Value::as_str).map(|c| crate::text::printable(c, 16)));
            // DOKU refused the B2B token, so it did nothing: a retry is safe, even for a payment.
            // A refused customer token (401xx02) is the caller's: only the customer can renew it.
            // For a catalog operation, only its own service's Invalid Token: another service's
            // code on a payment is no refusal of this payment, and must not get it sent twice.
            let own_service = op.is_none_or(|(op, _)| response_code.as_deref().and_then(|c| c.get(3..5)) == Some(op.service));
            if !retried && own_service && is_invalid_token(response.status, response_code.as_deref()) {
                // Only the token this request used: another thread may already have replaced it.
                log::emit(Level::Warn, event::INVALID_TOKEN_RETRY, || {
                    format!(
                        "DOKU refused the token of a {method} request (HTTP {}, responseCode {}): dropping it and retrying once with a new one",
                        response.status,
                        response_code.as_deref().unwrap_or("none")
                    )
                });
                log::deferred(|| self.invalidate_token_if(&token));
                retried = true;
                continue;
            }
            return Ok(ApiResponse { http_status: response.status, response_code, body: text, operation: name, external_id });
        }
    }
}

/// A transport failure after the request may have left: DOKU may have acted on it.
fn lost_after_sending(e: &Error) -> bool {
    e.sent() && matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Tls | ErrorKind::Protocol)
}

/// The error of a money-moving call whose answer was lost: what happened, and how to find out
/// whether the money moved.
fn outcome_unknown(op: &Operation, e: &Error, reference: &str) -> Error {
    let status = op.status.map_or("the status operation", |(status, _)| status);
    let error = Error::new(
        ErrorKind::OutcomeUnknown,
        format!(
            "{}: outcome unknown: {}; the request was sent, so DOKU may have acted on it. Do not send it again: call {status} with originalPartnerReferenceNo {} to learn its result",
            op.name,
            e.message(),
            Value::from(crate::text::printable(reference, 64))
        ),
    );
    log::emit(Level::Error, event::OUTCOME_UNKNOWN, || error.message().to_owned());
    error
}

impl Fetcher for Client {
    fn transport(&self) -> &TransportKey {
        self.http.settings().transport()
    }

    fn timeout(&self) -> Duration {
        self.http.settings().timeout()
    }

    fn margin(&self) -> Duration {
        self.config.refresh_margin
    }

    /// A token for the cache: from the shared store if one is configured and holds a fresh one
    /// (or another process fetches it meanwhile), else from DOKU; ends by `deadline`.
    fn fetch(&self, deadline: Instant) -> Result<Token> {
        let Some(entry) = self.store_entry() else { return self.fetch_from_doku(deadline) };
        let (token, report) = entry.refresh(self.margin(), deadline, || self.fetch_from_doku(deadline));
        self.record_store(&report);
        if let (true, Ok(token)) = (report.from_store, &token) {
            log::token_from_store(&report.store, Duration::from_secs(token.expires_in(Stamp::now())), report.waited);
        }
        token
    }
}

impl Client {
    /// One B2B token request to DOKU, counted in the slot's stats and logged (`token_fetched`,
    /// `token_fetch_failed`).
    fn fetch_from_doku(&self, deadline: Instant) -> Result<Token> {
        let (sent, sent_wall, started) = (Stamp::now(), SystemTime::now(), Instant::now());
        let fetched = self.token_request(B2B_PATH, B2B_BODY, parse_b2b_response, Some(deadline)).map(|grant| Token::new(grant, sent, sent_wall));
        let took = started.elapsed();
        self.slot.record_fetch(fetched.is_ok(), took);
        match &fetched {
            Ok(token) => log::emit(Level::Info, event::TOKEN_FETCHED, || {
                format!("token fetched from DOKU by this process in {}, expiresIn {} s", log::duration(took), token.lifetime.as_secs())
            }),
            Err(e) => {
                log::emit(Level::Error, event::TOKEN_FETCH_FAILED, || format!("token request failed after {}: {}", log::duration(took), e.message()))
            }
        }
        fetched
    }
}

/// A terminal with a drifting clock is the most common cause of a refused signature: when
/// DOKU's `Date` differs from ours by over a minute, the error says by how much.
fn with_skew_hint(e: Error, date: Option<&str>, received_at: SystemTime) -> Error {
    let Some(server) = date.and_then(timestamp::parse_http_date) else { return e };
    let local = DateTime::<Utc>::from(received_at);
    let offset = (server - local).num_seconds();
    if offset.abs() <= SKEW_HINT_SECS {
        return e;
    }
    let direction = if offset > 0 { "ahead of" } else { "behind" };
    let skew = format!("DOKU's clock is {} s {direction} this machine's (offset {offset:+} s)", offset.abs());
    log::emit(Level::Warn, event::CLOCK_SKEW, || {
        format!("{skew} on a refused request ({}): check the system clock (NTP)", e.response_code().unwrap_or("no responseCode"))
    });
    e.with_note(&format!("{skew}: check the system clock (NTP), since X-TIMESTAMP must be within minutes of DOKU's time"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_hints_only_past_a_minute() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_665_127_119); // 2022-10-07T07:18:39Z
        let e = || Error::api("4017300", "DOKU answered HTTP 401 with 4017300: Unauthorized. Invalid Signature");
        let same = with_skew_hint(e(), Some("Fri, 07 Oct 2022 07:19:30 GMT"), now);
        assert_eq!(same, e());
        let ahead = with_skew_hint(e(), Some("Fri, 07 Oct 2022 07:28:39 GMT"), now);
        assert!(ahead.message().contains("600 s ahead of this machine's (offset +600 s)"), "{ahead}");
        assert_eq!(ahead.response_code(), Some("4017300"));
        let behind = with_skew_hint(e(), Some("Fri, 07 Oct 2022 07:16:00 GMT"), now);
        assert!(behind.message().contains("159 s behind"), "{behind}");
        assert_eq!(with_skew_hint(e(), Some("garbage"), now), e());
        assert_eq!(with_skew_hint(e(), None, now), e());
    }
}
