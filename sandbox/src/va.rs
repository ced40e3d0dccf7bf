//! `POST /virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va` (service 27): a protected
//! transaction endpoint. The request is judged by the library's `signed_request::check`, the
//! code merchants judge DOKU's notifications with (headers, formats, the Bearer token issued
//! here, live and not revoked, clock skew, the symmetric signature with the client's registered
//! secret, the `X-EXTERNAL-ID`'s uniqueness for the day), then the body's mandatory fields.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::exchange::{Exchange, Handled};
use super::state::State;
use doku::signed_request::{self, Receiver};

/// Create VA's SNAP service code.
const SERVICE: &str = "27";
/// Body fields that must be present (non-null, non-empty), in the order they are checked.
const MANDATORY_FIELDS: [&str; 6] = ["partnerServiceId", "customerNo", "virtualAccountNo", "virtualAccountName", "trxId", "totalAmount"];
/// Optional fields echoed in `virtualAccountData` when given, as DOKU does (`additionalInfo` is
/// completed by `how_to_pay`).
const ECHOED_FIELDS: [&str; 4] = ["virtualAccountEmail", "virtualAccountPhone", "virtualAccountTrxType", "expiredDate"];
/// Where DOKU's answer points the customer for payment instructions (`howToPayPage`) and the
/// merchant for them as data (`howToPayApi`); DOKU's SDKs read both. Sample addresses.
const HOW_TO_PAY_PAGE: &str = "https://sandbox.doku.com/how-to-pay/v2/virtual-account/";
const HOW_TO_PAY_API: &str = "https://api-sandbox.doku.com/how-to-pay-api/v2/virtual-account/";

/// The sandbox as a receiver of signed requests: tokens it issued, secrets registered with
/// `--secret`, its day's ledger of external ids.
struct Sandbox<'s>(&'s State);

impl Receiver for Sandbox<'_> {
    fn token_client(&self, token: &str, partner: &str) -> Result<Option<String>, String> {
        self.0.check_token(token).map(Some).map_err(|e| {
            self.0.count_invalid_token(partner);
            e.message().to_owned()
        })
    }

    fn secret(&self, client: &str) -> Result<&[u8], String> {
        self.0.secret(client).map(str::as_bytes).ok_or_else(|| format!("No client secret registered for {client}"))
    }

    /// DOKU documents a numeric string of at most 36 characters; its own SDKs send longer ids,
    /// accepted with a warning unless --strict.
    fn accepts_undocumented_id(&self, id: &str) -> bool {
        if !self.0.strict {
            self.0.log(format!(
                "warning: X-EXTERNAL-ID {id:?} is not what DOKU documents (a numeric string of at most 36 characters); accepted, as DOKU's own SDKs send such ids (--strict refuses it)"
            ));
        }
        !self.0.strict
    }

    /// SNAP's rule for DOKU's side: an `X-EXTERNAL-ID` once per client per business day.
    fn record(&self, client: &str, external_id: &str, _signature: &str, now: DateTime<Utc>) -> Result<(), (u16, String)> {
        match self.0.record_external_id(client, external_id, now) {
            true => Ok(()),
            false => Err((409, "Conflict. Duplicate X-EXTERNAL-ID".to_owned())),
        }
    }
}

/// Judges a create-VA request: the virtual account, or a refusal.
pub(crate) fn create(x: &mut Exchange) -> Handled {
    let (state, req, now) = (x.state, x.req, x.now);
    let header = |name: &str| x.header(name);
    let checked = signed_request::check(SERVICE, &req.method, &req.path, &header, &req.body, now, state.max_skew, &Sandbox(state));
    let body = match checked {
        Ok(checked) => checked.body,
        Err(r) => return x.refuse(r.http_status, &r.response_code, &r.message),
    };

    let fields = match body_fields(body) {
        Ok(fields) => fields,
        Err((code, message)) => return x.refuse(400, code, &message),
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
