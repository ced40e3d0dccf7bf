//! The merchant's side of the calls DOKU makes with the token it got (snap-reference §4, §8):
//! the VA inquiry, the VA payment notification and the Direct Debit notification. One call,
//! [`Verifier::verify`], judges a request as DOKU judges a merchant's (`signed_request::check`,
//! the sandbox's own code), with the merchant's JWT as the token and a per-process record of the
//! requests accepted, against replays.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use once_cell::sync::Lazy;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::jwt;
use crate::key::PublicKey;
use crate::options::{DefaultValue, Options};
use crate::signed_request::{self, Receiver, Refusal};
use std::collections::{HashSet, VecDeque};

/// One kind of call DOKU makes to a merchant.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    /// Its name in verdicts and in `doku_merchant_answer`.
    pub operation: &'static str,
    /// Relative to the merchant's base URL, as DOKU's pages give it.
    pub path: &'static str,
    /// What a path DOKU calls ends with, whatever the version in front (`/v1.0`, `/v1`) and
    /// the merchant's base path.
    pub suffix: &'static str,
    /// The SNAP service code of every answer's `responseCode`.
    pub service: &'static str,
    /// Body fields DOKU always sends (non-null, non-empty), in the order they are checked.
    pub mandatory: &'static [&'static str],
    /// The request's fields a success answer echoes, as DOKU expects (`virtualAccountData`).
    pub echoed: &'static [&'static str],
    /// The keys of `doku_merchant_answer`'s result besides `"refuse"`.
    pub results: &'static [&'static str],
}

/// Every call `doku_merchant_verify` judges. doku.h's comment and README's table list them
/// (tests/docs.rs checks both); the sandbox's `--notify` and `--inquire` send them.
pub const CALLS: [Call; 3] = [
    Call {
        operation: "inquiry",
        path: "/v1.1/transfer-va/inquiry",
        suffix: "/transfer-va/inquiry",
        service: "24",
        mandatory: &["partnerServiceId", "customerNo", "virtualAccountNo", "inquiryRequestId"],
        echoed: &["partnerServiceId", "customerNo", "virtualAccountNo", "inquiryRequestId"],
        results: &[
            "virtualAccountName",
            "totalAmount",
            "trxId",
            "virtualAccountEmail",
            "virtualAccountPhone",
            "virtualAccountTrxType",
            "expiredDate",
            "additionalInfo",
        ],
    },
    Call {
        operation: "payment_notification",
        path: "/v1.1/transfer-va/payment",
        suffix: "/transfer-va/payment",
        service: "25",
        mandatory: &["partnerServiceId", "customerNo", "virtualAccountNo", "paymentRequestId", "paidAmount"],
        echoed: &["partnerServiceId", "customerNo", "virtualAccountNo", "virtualAccountName", "paymentRequestId"],
        results: &[],
    },
    Call {
        operation: "debit_notification",
        path: "/v1.0/debit/notify",
        suffix: "/debit/notify",
        service: "56",
        mandatory: &["originalPartnerReferenceNo", "latestTransactionStatus", "amount"],
        echoed: &[],
        results: &["approvalCode"],
    },
];

impl Call {
    pub fn named(operation: &str) -> Option<&'static Call> {
        CALLS.iter().find(|c| c.operation == operation)
    }

    /// The call `operation` names, or the message saying which names there are.
    pub fn parse(operation: &str) -> std::result::Result<&'static Call, String> {
        Call::named(operation).ok_or_else(|| {
            let names: Vec<&str> = CALLS.iter().map(|c| c.operation).collect();
            format!("operation must be one of {}", names.join(", "))
        })
    }

    /// This service's `responseCode` for an HTTP status and a case, as SNAP composes them.
    pub fn code(&self, status: u16, case: &str) -> String {
        format!("{status}{}{case}", self.service)
    }

    /// The call whose suffix ends `path` (its query aside): a merchant may serve DOKU under a
    /// base path of its own, and DOKU's pages give several versions.
    pub fn for_path(path: &str) -> Option<&'static Call> {
        let path = path.split('?').next().unwrap_or_default();
        CALLS.iter().find(|c| path.ends_with(c.suffix))
    }

    /// The success code: HTTP 200, this service, case 00.
    pub fn success_code(&self) -> String {
        self.code(200, "00")
    }
}

/// Every key of `doku_merchant_verify`'s options (doku.h and README.md describe each one).
pub const VERIFY_KEYS: &[&str] =
    &["client_id", "client_secret", "client_secret_file", "merchant_public_key", "merchant_public_key_file", "max_skew_s", "operation"];
/// Kept raw, never unescaped by serde_json: the secret, and what may be one given in the wrong
/// option (a path, a private key pasted as the public one).
const VERIFY_SECRET_KEYS: &[&str] = &["client_secret", "client_secret_file", "merchant_public_key", "merchant_public_key_file"];
pub const VERIFY_DEFAULTS: &[(&str, DefaultValue)] = &[("max_skew_s", DefaultValue::Number(super::DEFAULT_MAX_SKEW))];
/// A client secret is tens of bytes; a file this big is the wrong one.
const MAX_SECRET_FILE: u64 = 4096;
/// Requests remembered per process. Only requests with a valid token and signature are
/// recorded, so only DOKU fills it: with the default window (600 s) at 166 calls a second.
/// Full, it refuses new requests (500, which DOKU retries) rather than forget one that could
/// still be replayed.
pub const MAX_REMEMBERED: usize = 100_000;
/// The widest freshness window a verifier takes, seconds: the record holds twice as long.
pub const MAX_VERIFY_SKEW: u64 = 3600;

/// The requests a process accepted, by client and `X-SIGNATURE`, each kept until a request
/// signed at its time can no longer pass the freshness check. The signature, not
/// `X-EXTERNAL-ID`, names a request: the id is not signed, so a replay under a new id is the
/// same request; and DOKU retries a notification the merchant could not process 30 minutes
/// later, re-signed, possibly under the same id, which must not be refused.
#[derive(Default)]
pub struct Seen {
    /// (forget at, in Unix seconds; key), in the order recorded.
    order: VecDeque<(i64, String)>,
    keys: HashSet<String>,
}

impl Seen {
    /// Records `key` at `now` for `keep` seconds. Entries whose time is up go first (in the
    /// order recorded: one with a longer `keep` behind them waits for them).
    fn record(&mut self, key: String, now: i64, keep: i64) -> Recorded {
        while self.order.front().is_some_and(|(forget_at, _)| *forget_at <= now) {
            if let Some((_, old)) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        if self.keys.contains(&key) {
            return Recorded::Before;
        }
        if self.order.len() >= MAX_REMEMBERED {
            return Recorded::Full;
        }
        self.keys.insert(key.clone());
        self.order.push_back((now.saturating_add(keep), key));
        Recorded::New
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }
}

/// What recording a request found.
#[derive(Debug, PartialEq, Eq)]
enum Recorded {
    New,
    Before,
    Full,
}

static SEEN: Lazy<Mutex<Seen>> = Lazy::new(|| Mutex::new(Seen::default()));

/// The process's record, for `fork::prepare`: a child never inherits it locked.
pub(crate) fn seen_lock() -> MutexGuard<'static, Seen> {
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// What judges DOKU's calls: the merchant's client id and secret, and the public key of the
/// merchant's own token issuer.
pub struct Verifier {
    client_id: String,
    secret: Zeroizing<Vec<u8>>,
    public_key: Arc<PublicKey>,
    max_skew: u64,
    /// The call every request is, whatever its path (`operation`); else known by its path.
    operation: Option<&'static Call>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("client_id", &self.client_id).field("max_skew", &self.max_skew).finish_non_exhaustive()
    }
}

/// The verdict on one request.
#[derive(Debug)]
pub enum Verdict {
    /// A genuine, fresh, first-seen call: the body as JSON.
    Accepted { call: &'static Call, request: Value, external_id: String, timestamp: String },
    /// The answer to send instead; `call` when the path was one of DOKU's.
    Refused { call: Option<&'static Call>, refusal: Refusal },
}

impl Verdict {
    /// `{"accepted":true,"operation":…,"externalId":…,"timestamp":…,"request":{…}}`, or
    /// `{"accepted":false,"operation":…|null,"httpStatus":…,"body":{"responseCode":…,"responseMessage":…}}`.
    pub fn to_json(&self) -> String {
        match self {
            Verdict::Accepted { call, request, external_id, timestamp } => json!({
                "accepted": true, "operation": call.operation, "externalId": external_id, "timestamp": timestamp, "request": request,
            }),
            Verdict::Refused { call, refusal } => json!({
                "accepted": false,
                "operation": call.map(|c| c.operation),
                "httpStatus": refusal.http_status,
                "body": {"responseCode": refusal.response_code, "responseMessage": refusal.message},
            }),
        }
        .to_string()
    }
}

/// The verifier as a `signed_request::Receiver`, at one instant, with one record of requests.
struct Judging<'v> {
    verifier: &'v Verifier,
    now: DateTime<Utc>,
    seen: &'v Mutex<Seen>,
}

impl Receiver for Judging<'_> {
    /// The JWT the merchant issued: RS256 under its key, unexpired; its `clientId` claim, when
    /// it has one (tokens of other issuers may not).
    fn token_client(&self, token: &str, _partner: &str) -> std::result::Result<Option<String>, String> {
        let claims = jwt::verify_rs256(token, &self.verifier.public_key, self.now.timestamp()).map_err(|e| e.message().to_owned())?;
        Ok(claims.get("clientId").and_then(Value::as_str).map(str::to_owned))
    }

    fn secret(&self, client: &str) -> std::result::Result<&[u8], String> {
        match client == self.verifier.client_id {
            true => Ok(&self.verifier.secret),
            false => Err("X-PARTNER-ID is not this merchant's client id".to_owned()),
        }
    }

    /// DOKU's own ids are its business: any visible id up to 128 characters is taken.
    fn accepts_undocumented_id(&self, _id: &str) -> bool {
        true
    }

    /// A request signed at T passes the freshness check until T + max_skew, and T may be up to
    /// max_skew ahead of now: it is remembered for twice the window, and a second more.
    fn record(&self, client: &str, _external_id: &str, signature: &str, now: DateTime<Utc>) -> std::result::Result<(), (u16, String)> {
        let keep = i64::try_from(self.verifier.max_skew).unwrap_or(i64::MAX / 4).saturating_mul(2).saturating_add(1);
        let key = format!("{client}\n{signature}");
        match self.seen.lock().unwrap_or_else(|p| p.into_inner()).record(key, now.timestamp(), keep) {
            Recorded::New => Ok(()),
            Recorded::Before => Err((409, "Conflict. This request was received before (a replay)".to_owned())),
            Recorded::Full => Err((500, format!("General Error. More than {MAX_REMEMBERED} requests in the freshness window: retry later"))),
        }
    }
}

impl Verifier {
    /// The verifier `doku_merchant_verify`'s options describe (`VERIFY_KEYS`), read as strictly
    /// as the client config.
    pub fn from_json(text: &str) -> Result<Verifier> {
        let mut o = Options::parse("options", text, VERIFY_KEYS, VERIFY_SECRET_KEYS)?;
        let client_id = o.required_header_value("client_id")?;
        let max_skew = o.integer("max_skew_s", 1, MAX_VERIFY_SKEW)?.unwrap_or(super::DEFAULT_MAX_SKEW);
        let operation = match o.string("operation")? {
            None => None,
            Some(name) => Some(Call::parse(&name).map_err(|why| Error::invalid(format!("options: {why}")))?),
        };
        let secret = o.secret_text_or_file("client_secret", "client_secret_file", MAX_SECRET_FILE)?;
        let public_key = o.key("merchant_public_key", "merchant_public_key_file")?.public_key()?;
        Ok(Verifier { client_id, secret, public_key, max_skew, operation })
    }

    /// Judges one request DOKU made to the merchant, with the process's record of requests.
    pub fn verify<'h>(&self, method: &str, path: &str, header: &dyn Fn(&str) -> Option<&'h str>, body: &'h [u8], now: DateTime<Utc>) -> Verdict {
        self.verify_with(method, path, header, body, now, &SEEN)
    }

    /// [`verify`](Self::verify) with a record of the caller's.
    pub fn verify_with<'h>(
        &self,
        method: &str,
        path: &str,
        header: &dyn Fn(&str) -> Option<&'h str>,
        body: &'h [u8],
        now: DateTime<Utc>,
        seen: &Mutex<Seen>,
    ) -> Verdict {
        let Some(call) = self.operation.or_else(|| Call::for_path(path)) else {
            let suffixes: Vec<&str> = CALLS.iter().map(|c| c.suffix).collect();
            let message = format!("Not Found. DOKU's calls to a merchant end {}", suffixes.join(", "));
            return Verdict::Refused { call: None, refusal: Refusal { http_status: 404, response_code: "4040000".into(), message } };
        };
        let refused = |refusal: Refusal| Verdict::Refused { call: Some(call), refusal };
        if !method.eq_ignore_ascii_case("POST") {
            return refused(Refusal::new(400, call.service, "00", format!("Bad Request. DOKU sends {} with POST", call.path)));
        }
        let judging = Judging { verifier: self, now, seen };
        let checked = match signed_request::check(call.service, "POST", path, header, body, now, self.max_skew, &judging) {
            Ok(checked) => checked,
            Err(refusal) => return refused(refusal),
        };
        let request = match serde_json::from_str::<Value>(checked.body) {
            Ok(request @ Value::Object(_)) => request,
            _ => return refused(Refusal::new(400, call.service, "00", "Bad Request. The body must be a JSON object")),
        };
        if let Some(missing) = call.mandatory.iter().find(|name| !present(request.get(**name))) {
            return refused(Refusal::new(400, call.service, "02", format!("Invalid Mandatory Field {missing}")));
        }
        Verdict::Accepted { call, request, external_id: checked.external_id.to_owned(), timestamp: checked.timestamp.to_owned() }
    }
}

/// A field that is there: not null, not an empty or blank string.
pub(crate) fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::test_keys;
    use crate::signature::symmetric;
    use crate::timestamp::Offset;
    use std::collections::HashMap;

    const SECRET: &str = "s3cr3t-of-the-merchant";
    const PATH: &str = "/doku/v1.1/transfer-va/payment";
    const BODY: &str = r#"{"partnerServiceId":"  888994","customerNo":"01","virtualAccountNo":"  88899401","virtualAccountName":"Budi / Ñam","paymentRequestId":"P1","paidAmount":{"value":"1.00","currency":"IDR"}}"#;

    struct Fixture {
        verifier: Verifier,
        token: String,
        seen: Mutex<Seen>,
    }

    fn fixture() -> Fixture {
        let (sk, pk) = test_keys();
        let pem = pk.pkey().public_key_to_pem().unwrap();
        let options = json!({"client_id": "MCH-1", "client_secret": SECRET, "merchant_public_key": String::from_utf8(pem).unwrap()});
        let verifier = Verifier::from_json(&options.to_string()).unwrap();
        let claims = super::super::token_claims("MCH-1", "MCH-1", 900, Utc::now()).unwrap();
        let token = jwt::sign_rs256(&sk, &claims).unwrap();
        Fixture { verifier, token, seen: Mutex::new(Seen::default()) }
    }

    fn headers(f: &Fixture, external_id: &str, ts: &str, secret: &str, body: &str) -> HashMap<&'static str, String> {
        signed_headers(f, PATH, external_id, ts, secret, body)
    }

    fn headers_for(f: &Fixture, path: &str, external_id: &str, ts: &str) -> HashMap<&'static str, String> {
        signed_headers(f, path, external_id, ts, SECRET, BODY)
    }

    fn signed_headers(f: &Fixture, path: &str, external_id: &str, ts: &str, secret: &str, body: &str) -> HashMap<&'static str, String> {
        let req = symmetric::Request { method: "POST", path, access_token: &f.token, body: Some(body), timestamp: ts };
        let sig = symmetric::sign(secret.as_bytes(), &req).unwrap();
        HashMap::from([
            ("authorization", format!("Bearer {}", f.token)),
            ("X-TIMESTAMP", ts.to_owned()),
            ("X-SIGNATURE", sig),
            ("X-PARTNER-ID", "MCH-1".to_owned()),
            ("X-EXTERNAL-ID", external_id.to_owned()),
            ("CHANNEL-ID", "95221".to_owned()),
        ])
    }

    fn verdict(f: &Fixture, h: &HashMap<&str, String>, path: &str, body: &str) -> Value {
        let header = |n: &str| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
        serde_json::from_str(&f.verifier.verify_with("POST", path, &header, body.as_bytes(), Utc::now(), &f.seen).to_json()).unwrap()
    }

    fn refusal(v: &Value) -> (u64, &str, &str) {
        (v["httpStatus"].as_u64().unwrap(), v["body"]["responseCode"].as_str().unwrap(), v["body"]["responseMessage"].as_str().unwrap())
    }

    #[test]
    fn accepts_a_genuine_call_once() {
        let f = fixture();
        let ts = Offset::parse("+07:00").unwrap().now();
        let h = headers(&f, "1001", &ts, SECRET, BODY);
        let v = verdict(&f, &h, PATH, BODY);
        assert_eq!(v["accepted"], true, "{v}");
        assert_eq!((v["operation"].as_str(), v["externalId"].as_str()), (Some("payment_notification"), Some("1001")));
        assert_eq!(v["request"]["virtualAccountName"], "Budi / Ñam");
        // The same request again is a replay.
        let again = verdict(&f, &h, PATH, BODY);
        assert_eq!(refusal(&again), (409, "4092500", "Conflict. This request was received before (a replay)"));
        assert_eq!(again["accepted"], false);
    }

    /// X-EXTERNAL-ID is not signed: a captured notification replayed under a new id is still
    /// the same request, and is refused. DOKU's own retry of a notification the merchant could
    /// not process (it comes 30 minutes later, so re-signed) is accepted, whatever its id.
    #[test]
    fn replays_are_known_by_their_signature() {
        let f = fixture();
        let ts = Offset::UTC.now();
        let h = headers(&f, "2001", &ts, SECRET, BODY);
        assert_eq!(verdict(&f, &h, PATH, BODY)["accepted"], true);
        let mut renamed = h.clone();
        renamed.insert("X-EXTERNAL-ID", "2002".into());
        let v = verdict(&f, &renamed, PATH, BODY);
        assert_eq!(refusal(&v), (409, "4092500", "Conflict. This request was received before (a replay)"));
        let later = Offset::UTC.format(Utc::now() + chrono::TimeDelta::seconds(1));
        let retry = headers(&f, "2001", &later, SECRET, BODY);
        assert_eq!(verdict(&f, &retry, PATH, BODY)["accepted"], true, "DOKU's re-signed retry");
    }

    #[test]
    fn requests_are_remembered_for_the_window_and_bounded() {
        let mut seen = Seen::default();
        assert_eq!(seen.record("a".into(), 1_000, 601), Recorded::New);
        assert_eq!(seen.record("a".into(), 1_600, 601), Recorded::Before, "still within the window");
        assert_eq!(seen.record("a".into(), 1_601, 601), Recorded::New, "past it, the request is stale anyway");
        for i in 1..MAX_REMEMBERED {
            assert_eq!(seen.record(i.to_string(), 2_000, 601), Recorded::New);
        }
        // Full of requests that could still be replayed: a new one waits (500, DOKU retries)
        // rather than one of them being forgotten.
        assert_eq!(seen.record("b".into(), 2_000, 601), Recorded::Full);
        assert_eq!(seen.record("1".into(), 2_000, 601), Recorded::Before);
        assert_eq!(seen.record("b".into(), 2_602, 601), Recorded::New, "once their time is up");
        assert_eq!(seen.len(), 1);
    }

    /// The review's replays: the same request with whitespace around X-SIGNATURE (which the
    /// verifier trims) was a new key when requests were known by the header's text.
    #[test]
    fn whitespace_around_the_signature_is_the_same_request() {
        let f = fixture();
        let ts = Offset::UTC.now();
        let h = headers(&f, "3001", &ts, SECRET, BODY);
        assert_eq!(verdict(&f, &h, PATH, BODY)["accepted"], true);
        for pad in [" ", "\t", "\u{0b}", "\u{a0}"] {
            let mut padded = h.clone();
            padded.insert("X-SIGNATURE", format!("{pad}{}{pad}", h["X-SIGNATURE"]));
            assert_eq!(refusal(&verdict(&f, &padded, PATH, BODY)).0, 409, "{pad:?}");
        }
    }

    /// "Bearer Bearer <jwt>": the refusal's string to sign never shows the token, however the
    /// header spells it.
    #[test]
    fn a_doubled_bearer_does_not_show_the_token() {
        let f = fixture();
        let ts = Offset::UTC.now();
        let mut h = headers(&f, "3101", &ts, "wrong", BODY);
        h.insert("authorization", format!("Bearer Bearer {}", f.token));
        let v = verdict(&f, &h, PATH, BODY);
        assert_eq!(refusal(&v).1, "4012500", "{v}");
        assert!(!v.to_string().contains(&f.token[f.token.len() - 40..]), "{v}");
    }

    /// DOKU's pages give the calls under several versions, and a merchant registers a
    /// notification URL of its own: the version is not part of a call's name, and `operation`
    /// names the call whatever the path.
    #[test]
    fn paths_of_any_version_and_the_operation_option() {
        let f = fixture();
        for path in ["/v1.0/transfer-va/payment", "/v1/transfer-va/payment", "/shop/doku/v1.1/transfer-va/payment?x=1"] {
            let ts = Offset::UTC.now();
            let h = headers_for(&f, path, &format!("p{path}"), &ts);
            let v = verdict(&f, &h, path, BODY);
            assert_eq!((v["accepted"].as_bool(), v["operation"].as_str()), (Some(true), Some("payment_notification")), "{path}: {v}");
        }
        let own = "/payments/notifications";
        let v = verdict(&f, &headers_for(&f, own, "own-1", &Offset::UTC.now()), own, BODY);
        assert_eq!(refusal(&v).0, 404);
        let pem = String::from_utf8(test_keys().1.pkey().public_key_to_pem().unwrap()).unwrap();
        let with = |op: &str| json!({"client_id": "MCH-1", "client_secret": SECRET, "merchant_public_key": pem, "operation": op}).to_string();
        let named = Fixture {
            verifier: Verifier::from_json(&with("payment_notification")).unwrap(),
            token: f.token.clone(),
            seen: Mutex::new(Seen::default()),
        };
        let v = verdict(&named, &headers_for(&named, own, "own-2", &Offset::UTC.now()), own, BODY);
        assert_eq!((v["accepted"].as_bool(), v["operation"].as_str()), (Some(true), Some("payment_notification")), "{v}");
        assert_eq!(
            Verifier::from_json(&with("refund")).unwrap_err().message(),
            "options: operation must be one of inquiry, payment_notification, debit_notification"
        );
    }

    #[test]
    fn refuses_each_way_a_call_can_be_wrong() {
        let f = fixture();
        let now = Offset::UTC.now();
        let stale = Offset::UTC.format(Utc::now() - chrono::TimeDelta::seconds(600));
        let v = verdict(&f, &headers(&f, "1", &stale, SECRET, BODY), PATH, BODY);
        assert_eq!(refusal(&v).1, "4012500");
        assert!(refusal(&v).2.contains("away from the server clock"), "{v}");
        let v = verdict(&f, &headers(&f, "2", &now, "wrong", BODY), PATH, BODY);
        assert_eq!(refusal(&v).1, "4012500");
        assert!(
            refusal(&v)
                .2
                .starts_with("Unauthorized. Invalid Signature (expected HMAC-SHA512 over \"POST:/doku/v1.1/transfer-va/payment:<access token>:"),
            "{v}"
        );
        assert!(!v.to_string().contains(&f.token) && !v.to_string().contains(SECRET));
        // A body changed after signing.
        let v = verdict(&f, &headers(&f, "3", &now, SECRET, BODY), PATH, &BODY.replace("1.00", "9.00"));
        assert_eq!(refusal(&v).1, "4012500");
        let mut h = headers(&f, "4", &now, SECRET, BODY);
        h.insert("authorization", "Bearer eyJhbGciOiJub25lIn0.e30.".into());
        let v = verdict(&f, &h, PATH, BODY);
        assert_eq!((refusal(&v).0, refusal(&v).1), (401, "4012501"));
        assert!(refusal(&v).2.starts_with("Invalid Token (B2B): JWT rejected: alg \"none\""), "{v}");
        h.remove("authorization");
        assert_eq!(refusal(&verdict(&f, &h, PATH, BODY)), (400, "4002502", "Invalid Mandatory Field Authorization"));
        let mut h = headers(&f, "5", &now, SECRET, BODY);
        h.insert("X-PARTNER-ID", "MCH-2".into());
        assert_eq!(refusal(&verdict(&f, &h, PATH, BODY)), (401, "4012500", "Unauthorized. X-PARTNER-ID does not match the token's client"));
        let v = verdict(&f, &headers(&f, "6 6", &now, SECRET, BODY), PATH, BODY);
        assert_eq!(refusal(&v), (400, "4002501", "Invalid Field Format X-EXTERNAL-ID"));
        let thin = r#"{"partnerServiceId":"  888994"}"#;
        let v = verdict(&f, &headers(&f, "7", &now, SECRET, thin), PATH, thin);
        assert_eq!(refusal(&v), (400, "4002502", "Invalid Mandatory Field customerNo"));
        let inquiry = "/v1.1/transfer-va/inquiry";
        let v = verdict(&f, &headers(&f, "8", &now, SECRET, BODY), inquiry, BODY);
        assert_eq!((v["operation"].as_str(), refusal(&v).1), (Some("inquiry"), "4012400"), "signed for another path");
        let v = verdict(&f, &headers(&f, "9", &now, SECRET, BODY), "/v1.0/other", BODY);
        assert_eq!((v["operation"].clone(), refusal(&v).0, refusal(&v).1), (Value::Null, 404, "4040000"));
    }

    #[test]
    fn options_are_read_strictly() {
        let err = |o: &str| Verifier::from_json(o).unwrap_err().message().to_owned();
        assert_eq!(err(r#"{"client_id":"M"}"#), "options: client_secret or client_secret_file is required");
        assert_eq!(err(r#"{"client_id":"M","client_secret":""}"#), "options: client_secret is empty");
        let e = err(r#"{"client_id":"M","client_secret_file":"/nonexistent/s3cr3t"}"#);
        assert!(e.starts_with("options: client_secret_file cannot be read: ") && !e.contains("s3cr3t"), "{e}");
        assert_eq!(err(r#"{"client_id":"M","client_secret":"x"}"#), "options: merchant_public_key or merchant_public_key_file is required");
        assert!(err(r#"{"client_id":"M","client_secret":"x","secret":"y"}"#).starts_with("options: unknown key \"secret\""));
        assert_eq!(
            err(r#"{"client_id":"M","client_secret":"x","merchant_public_key":"k","max_skew_s":0}"#),
            "options: max_skew_s must be an integer ≥ 1"
        );
    }
}
