//! `POST /virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va` (service 27): a protected
//! transaction endpoint. Checks, in order: the mandatory headers, the formats of `X-TIMESTAMP`
//! and `X-EXTERNAL-ID`, the Bearer token (issued here, live, not revoked) and that it belongs to
//! `X-PARTNER-ID`, clock skew, the symmetric signature with the client's registered secret, the
//! `X-EXTERNAL-ID`'s uniqueness for the day, then the body's mandatory fields.
//!
//! Signature and skew are judged by the crate's own `signature::symmetric::verify` and
//! `merchant::skew_problem`, the same code clients sign with.

use serde_json::{json, Map, Value};

use super::exchange::{Exchange, Handled};
use doku::error::ErrorKind;
use doku::merchant::skew_problem;
use doku::signature::symmetric;
use doku::timestamp;
use doku::token::strip_bearer;

/// In the order they are checked.
const MANDATORY_HEADERS: [&str; 6] = ["Authorization", "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"];
/// Body fields that must be present (non-null, non-empty), in the order they are checked.
const MANDATORY_FIELDS: [&str; 6] = ["partnerServiceId", "customerNo", "virtualAccountNo", "virtualAccountName", "trxId", "totalAmount"];
/// Optional fields echoed in `virtualAccountData` when given, as DOKU does (`additionalInfo` is
/// completed by `how_to_pay`).
const ECHOED_FIELDS: [&str; 4] = ["virtualAccountEmail", "virtualAccountPhone", "virtualAccountTrxType", "expiredDate"];
/// Where DOKU's answer points the customer for payment instructions (`howToPayPage`) and the
/// merchant for them as data (`howToPayApi`); DOKU's SDKs read both. Sample addresses.
const HOW_TO_PAY_PAGE: &str = "https://sandbox.doku.com/how-to-pay/v2/virtual-account/";
const HOW_TO_PAY_API: &str = "https://api-sandbox.doku.com/how-to-pay-api/v2/virtual-account/";
/// DOKU documents `X-EXTERNAL-ID` as a numeric string of at most 36 characters; its own PHP and
/// Node SDKs send 50-57 characters that are not digits (a UUID and milliseconds; 32 hex digits
/// and a timestamp), which DOKU presumably accepts. Enforced under `--strict` only; otherwise
/// anything visible up to `MAX_LENIENT_EXTERNAL_ID` passes, with a warning in the log.
const MAX_EXTERNAL_ID: usize = 36;
const MAX_LENIENT_EXTERNAL_ID: usize = 128;

/// Judges a create-VA request: the virtual account, or a refusal.
pub(crate) fn create(x: &mut Exchange) -> Handled {
    let (state, req, now) = (x.state, x.req, x.now);
    let refuse = |status: u16, code: &str, message: String| x.refuse(status, code, &message);
    let header = |name: &str| x.header(name);
    // `Authorization` counts only as `Bearer <token>`.
    let bearer = header("Authorization").map(|v| (v, strip_bearer(v))).filter(|(v, t)| t.len() < v.len() && !t.is_empty()).map(|(_, t)| t);
    for name in MANDATORY_HEADERS {
        let present = if name == "Authorization" { bearer.is_some() } else { header(name).is_some() };
        if !present {
            return refuse(400, "4002702", format!("Invalid Mandatory Field {name}"));
        }
    }
    let (Some(token), Some(ts), Some(sig), Some(partner), Some(external_id)) =
        (bearer, header("X-TIMESTAMP"), header("X-SIGNATURE"), header("X-PARTNER-ID"), header("X-EXTERNAL-ID"))
    else {
        return refuse(400, "4002702", "Invalid Mandatory Field".into());
    };
    let Some(when) = timestamp::parse(ts) else {
        return refuse(400, "4002701", "Invalid Field Format X-TIMESTAMP".into());
    };
    if external_id.len() > MAX_EXTERNAL_ID || !external_id.bytes().all(|b| b.is_ascii_digit()) {
        let visible = external_id.len() <= MAX_LENIENT_EXTERNAL_ID && external_id.bytes().all(|b| b.is_ascii_graphic());
        if state.strict || !visible {
            return refuse(400, "4002701", "Invalid Field Format X-EXTERNAL-ID".into());
        }
        state.log(format!(
            "warning: X-EXTERNAL-ID {external_id:?} is not what DOKU documents (a numeric string of at most 36 characters); accepted, as DOKU's own SDKs send such ids (--strict refuses it)"
        ));
    }

    let client = match state.check_token(token) {
        Ok(client) => client,
        Err(e) => {
            state.count_invalid_token(partner);
            return refuse(401, "4012701", format!("Invalid Token (B2B): {}", e.message()));
        }
    };
    if client != partner {
        return refuse(401, "4012700", "Unauthorized. X-PARTNER-ID does not match the token's client".into());
    }
    if let Some(why) = skew_problem(when.to_utc(), now, state.max_skew) {
        return refuse(401, "4012700", format!("Unauthorized. {why}"));
    }
    let Some(secret) = state.secret(&client) else {
        return refuse(401, "4012700", format!("Unauthorized. No client secret registered for {client}"));
    };
    let Ok(body) = std::str::from_utf8(&req.body) else {
        return refuse(400, "4002700", "Bad Request. The body is not UTF-8".into());
    };
    // Exactly what was received: the method, the path, the token, the body (minified by
    // `verify`) and the timestamp.
    let signed = symmetric::Request { method: &req.method, path: &req.path, access_token: token, body: Some(body), timestamp: ts };
    match symmetric::verify(secret.as_bytes(), &signed, sig) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::SignatureInvalid => {
            let reason = e.message().strip_prefix("signature is invalid: ").unwrap_or(e.message());
            // The string to sign as computed, with the token itself left out.
            let shown = signed.string_to_sign().map(|s| s.replacen(&format!(":{token}:"), ":<access token>:", 1)).unwrap_or_default();
            return refuse(
                401,
                "4012700",
                format!(
                    "Unauthorized. Invalid Signature (expected HMAC-SHA512 over {} with the client secret registered for {client}: {reason})",
                    Value::from(shown)
                ),
            );
        }
        // The body cannot be digested (not JSON), so no signature can match it.
        Err(e) => return refuse(400, "4002700", format!("Bad Request. {}", e.message())),
    }
    if !state.record_external_id(&client, external_id, now) {
        return refuse(409, "4092700", "Conflict. Duplicate X-EXTERNAL-ID".into());
    }

    let fields = match body_fields(body) {
        Ok(fields) => fields,
        Err((code, message)) => return refuse(400, code, message),
    };
    let mut data = Map::new();
    for name in MANDATORY_FIELDS.iter().chain(ECHOED_FIELDS.iter()) {
        if let Some(v) = fields.get(*name) {
            data.insert((*name).to_owned(), v.clone());
        }
    }
    data.insert("additionalInfo".into(), how_to_pay(&fields));
    let success = [("responseCode", json!("2002700")), ("responseMessage", json!("Successful")), ("virtualAccountData", Value::Object(data))];
    let resp = x.json(200, &success);
    x.success(resp, "5002700")
}

/// The answer's `additionalInfo`: the request's (its `channel`, its `virtualAccountConfig`), plus
/// the `howToPayPage` and `howToPayApi` of the account, as DOKU's samples show and its SDKs read.
fn how_to_pay(fields: &Map<String, Value>) -> Value {
    let mut info = match fields.get("additionalInfo") {
        Some(Value::Object(given)) => given.clone(),
        _ => Map::new(),
    };
    let account: String = fields.get("virtualAccountNo").and_then(Value::as_str).unwrap_or("").chars().filter(char::is_ascii_alphanumeric).collect();
    info.insert("howToPayPage".into(), json!(format!("{HOW_TO_PAY_PAGE}{account}")));
    info.insert("howToPayApi".into(), json!(format!("{HOW_TO_PAY_API}{account}")));
    Value::Object(info)
}

fn present(v: Option<&Value>) -> bool {
    !matches!(v, None | Some(Value::Null)) && v.and_then(Value::as_str) != Some("")
}

/// The body's fields, or the refusal's code and message.
fn body_fields(body: &str) -> Result<Map<String, Value>, (&'static str, String)> {
    if body.trim().is_empty() {
        return Err(("4002700", "Bad Request. The body is empty; expected the virtual account as a JSON object".into()));
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else {
        return Err(("4002700", "Bad Request. The body must be a JSON object".into()));
    };
    for name in MANDATORY_FIELDS {
        if !present(fields.get(name)) {
            return Err(("4002702", format!("Invalid Mandatory Field {name}")));
        }
    }
    let Some(amount) = fields.get("totalAmount").and_then(Value::as_object) else {
        return Err(("4002701", "Invalid Field Format totalAmount (expected {\"value\":\"10000.00\",\"currency\":\"IDR\"})".into()));
    };
    for part in ["value", "currency"] {
        if !present(amount.get(part)) {
            return Err(("4002702", format!("Invalid Mandatory Field totalAmount.{part}")));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_checks() {
        let ok = r#"{"partnerServiceId":"  888994","customerNo":"1","virtualAccountNo":"  8889941","virtualAccountName":"Budi","trxId":"T1","totalAmount":{"value":"10000.00","currency":"IDR"}}"#;
        assert!(body_fields(ok).is_ok());
        assert_eq!(body_fields(" ").unwrap_err().0, "4002700");
        assert_eq!(body_fields("[1]").unwrap_err().0, "4002700");
        assert_eq!(body_fields(&ok.replace(r#""trxId":"T1","#, "")).unwrap_err(), ("4002702", "Invalid Mandatory Field trxId".to_owned()));
        assert_eq!(body_fields(&ok.replace(r#""Budi""#, r#""""#)).unwrap_err().1, "Invalid Mandatory Field virtualAccountName");
        assert_eq!(body_fields(&ok.replace(r#""customerNo":"1""#, r#""customerNo":null"#)).unwrap_err().1, "Invalid Mandatory Field customerNo");
        assert_eq!(body_fields(&ok.replace(r#","currency":"IDR""#, "")).unwrap_err().1, "Invalid Mandatory Field totalAmount.currency");
        assert_eq!(body_fields(&ok.replace(r#"{"value":"10000.00","currency":"IDR"}"#, "10000")).unwrap_err().0, "4002701");
    }
}
