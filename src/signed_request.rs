//! The receiving side of a transaction request (snap-reference §3): what a server checks before
//! it acts on one, in DOKU's order. The sandbox judges merchants' create-VA with it; merchants
//! judge DOKU's inquiries and notifications with it (`merchant::notification`). Only where the
//! token and the secret come from differs: a [`Receiver`] says.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ErrorKind;
use crate::external_id::{self, Format};
use crate::merchant::skew_problem;
use crate::signature::{signature_text, symmetric};
use crate::timestamp;
use crate::token::strip_bearer;

/// The headers every signed transaction request carries, in the order their absence is reported.
pub const MANDATORY_HEADERS: [&str; 6] = ["Authorization", "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"];

/// A refused request: the HTTP status, the SNAP `responseCode` of the service, and the message.
/// Messages never quote the token or the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub http_status: u16,
    pub response_code: String,
    pub message: String,
}

impl Refusal {
    /// `status` + the two-digit `service` + the two-digit `case`, as SNAP composes codes.
    pub fn new(status: u16, service: &str, case: &str, message: impl Into<String>) -> Refusal {
        Refusal { http_status: status, response_code: format!("{status}{service}{case}"), message: message.into() }
    }
}

/// Where the receiver's trust comes from.
pub trait Receiver {
    /// The client a bearer token was issued to (`None` when the token does not say), or why it
    /// is not a valid token. `partner` is the request's `X-PARTNER-ID`.
    fn token_client(&self, token: &str, partner: &str) -> Result<Option<String>, String>;
    /// The secret that keys `client`'s signatures, or why there is none (after "Unauthorized. ").
    fn secret(&self, client: &str) -> Result<&[u8], String>;
    /// Whether an `X-EXTERNAL-ID` that is not what DOKU documents, yet visible ASCII, passes.
    fn accepts_undocumented_id(&self, id: &str) -> bool;
    /// Records a request that passed every other check, named by `signature` (its verified
    /// X-SIGNATURE: the HMAC of what was signed); `Err` with the HTTP status (409, or 500 when it
    /// cannot be recorded) and message when it may not pass: it, or its `X-EXTERNAL-ID`, was seen
    /// before (which of the two counts is the receiver's rule).
    fn record(&self, client: &str, external_id: &str, signature: &str, now: DateTime<Utc>) -> Result<(), (u16, String)>;
}

/// An accepted request: its parts as received.
#[derive(Debug)]
pub struct Checked<'a> {
    pub timestamp: &'a str,
    pub external_id: &'a str,
    pub body: &'a str,
}

/// Checks, in DOKU's order: the mandatory headers (`Authorization` only as `Bearer <token>`),
/// the formats of `X-TIMESTAMP` and `X-EXTERNAL-ID`, the token and that it belongs to
/// `X-PARTNER-ID`, clock skew, the symmetric signature over exactly `method`, `path` and the
/// body received, then that the request is new (the receiver's `record`). `header` finds a header in
/// any case (empty counts as absent); `service` is the two-digit SNAP service code of the
/// endpoint, for every refusal's code.
#[allow(clippy::too_many_arguments)]
pub fn check<'a>(
    service: &str,
    method: &str,
    path: &str,
    header: &dyn Fn(&str) -> Option<&'a str>,
    body: &'a [u8],
    now: DateTime<Utc>,
    max_skew: u64,
    receiver: &dyn Receiver,
) -> Result<Checked<'a>, Refusal> {
    let refuse = |status: u16, case: &str, message: String| Refusal::new(status, service, case, message);
    let present = |name: &str| header(name).filter(|v| !v.is_empty());
    let bearer = present("Authorization").map(|v| (v, strip_bearer(v))).filter(|(v, t)| t.len() < v.len() && !t.is_empty()).map(|(_, t)| t);
    for name in MANDATORY_HEADERS {
        let found = if name == "Authorization" { bearer.is_some() } else { present(name).is_some() };
        if !found {
            return Err(refuse(400, "02", format!("Invalid Mandatory Field {name}")));
        }
    }
    let (Some(token), Some(ts), Some(sig), Some(partner), Some(external_id)) =
        (bearer, present("X-TIMESTAMP"), present("X-SIGNATURE"), present("X-PARTNER-ID"), present("X-EXTERNAL-ID"))
    else {
        return Err(refuse(400, "02", "Invalid Mandatory Field".into()));
    };
    let Some(when) = timestamp::parse(ts) else {
        return Err(refuse(400, "01", "Invalid Field Format X-TIMESTAMP".into()));
    };
    match external_id::format(external_id) {
        Format::Documented => {}
        Format::Undocumented if receiver.accepts_undocumented_id(external_id) => {}
        _ => return Err(refuse(400, "01", "Invalid Field Format X-EXTERNAL-ID".into())),
    }
    match receiver.token_client(token, partner) {
        Err(why) => return Err(refuse(401, "01", format!("Invalid Token (B2B): {why}"))),
        Ok(Some(client)) if client != partner => {
            return Err(refuse(401, "00", "Unauthorized. X-PARTNER-ID does not match the token's client".into()))
        }
        Ok(_) => {}
    }
    if let Some(why) = skew_problem(when.to_utc(), now, max_skew) {
        return Err(refuse(401, "00", format!("Unauthorized. {why}")));
    }
    let secret = receiver.secret(partner).map_err(|why| refuse(401, "00", format!("Unauthorized. {why}")))?;
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(refuse(400, "00", "Bad Request. The body is not UTF-8".into()));
    };
    // Exactly what was received: the method, the path, the token, the body (minified by
    // `verify`) and the timestamp.
    let signed = symmetric::Request { method, path, access_token: token, body: Some(text), timestamp: ts };
    match symmetric::verify(secret, &signed, sig) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::SignatureInvalid => {
            let reason = e.message().strip_prefix("signature is invalid: ").unwrap_or(e.message());
            // The string to sign as computed, with the token itself left out.
            let shown = signed.redacted_string_to_sign().unwrap_or_default();
            return Err(refuse(
                401,
                "00",
                format!(
                    "Unauthorized. Invalid Signature (expected HMAC-SHA512 over {} with the client secret of {partner}: {reason})",
                    Value::from(shown)
                ),
            ));
        }
        // The body cannot be digested (not JSON), so no signature can match it.
        Err(e) => return Err(refuse(400, "00", format!("Bad Request. {}", e.message()))),
    }
    // The verified signature, in the one spelling `verify` accepts, names the request: it is the
    // HMAC of every signed part, so blanks around X-SIGNATURE or another X-EXTERNAL-ID (not
    // signed) do not make it another one.
    if let Err((status, why)) = receiver.record(partner, external_id, signature_text(sig), now) {
        return Err(refuse(status, "00", why));
    }
    Ok(Checked { timestamp: ts, external_id, body: text })
}
