//! The merchant's answers to DOKU's calls (`merchant::notification::CALLS`): the success
//! DOKU expects, with the service's code and the echoed fields, or a refusal the merchant
//! chooses (a bill not found, paid or expired). [`judge`] is the other side, how DOKU (the
//! sandbox) judges such an answer; both read the same table.

use serde_json::{json, Map, Value};

use super::notification::{present, Call};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::timestamp;

/// What a merchant may answer instead of success, by the name `result_json`'s `"refuse"`
/// gives it: the HTTP status, the case code and DOKU's message. The bill reasons are the VA
/// calls' only.
pub const REFUSALS: [(&str, u16, &str, &str); 5] = [
    ("bill_not_found", 404, "12", "Invalid Bill/Virtual Account"),
    ("invalid_amount", 404, "13", "Invalid Amount"),
    ("bill_paid", 404, "14", "Paid Bill"),
    ("bill_expired", 404, "19", "Invalid Bill/Virtual Account Expired"),
    ("general_error", 500, "00", "General Error"),
];

/// The answer to `operation` for `request` (the verdict's `request`) given the merchant's
/// `result`: `{"httpStatus":…,"body":{…}}`. Errors name the operation, key or field at fault.
pub fn answer(operation: &str, request: &str, result: Option<&str>) -> Result<String> {
    let call = Call::parse(operation).map_err(Error::invalid)?;
    let Ok(Value::Object(request)) = serde_json::from_str::<Value>(request) else {
        return Err(Error::invalid("request_json must be a JSON object: the verdict's \"request\""));
    };
    if let Some(missing) = call.mandatory.iter().find(|name| !present(request.get(**name))) {
        return Err(Error::invalid(format!("request_json: {missing} is missing (pass the verdict's \"request\" as it is)")));
    }
    let keys = call.results;
    let mut all_keys = vec!["refuse"];
    all_keys.extend_from_slice(keys);
    let mut o = Options::parse("result_json", result.unwrap_or("{}"), &all_keys, &[])?;
    let (status, body) = match o.string("refuse")? {
        Some(reason) => {
            let (status, case, message) = refusal(call, &reason)?;
            if let Some(key) = keys.iter().find(|k| o.value(k).is_some()) {
                return Err(Error::invalid(format!("result_json: {key} has no place in a refusal")));
            }
            let mut body = vec![("responseCode", json!(call.code(status, case))), ("responseMessage", json!(message))];
            if !call.echoed.is_empty() {
                body.push(("virtualAccountData", Value::Object(echo(call, &request))));
            }
            (status, body)
        }
        None => (200, success(call, &request, &mut o)?),
    };
    let body: Map<String, Value> = body.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Ok(json!({"httpStatus": status, "body": body}).to_string())
}

fn refusal(call: &Call, reason: &str) -> Result<(u16, &'static str, &'static str)> {
    let allowed = |name: &str| name == "general_error" || !call.echoed.is_empty();
    REFUSALS.iter().find(|(name, ..)| *name == reason && allowed(name)).map(|(_, status, case, message)| (*status, *case, *message)).ok_or_else(
        || {
            let names: Vec<&str> = REFUSALS.iter().map(|r| r.0).filter(|n| allowed(n)).collect();
            Error::invalid(format!("result_json: refuse must be one of {} for {}", names.join(", "), call.operation))
        },
    )
}

/// The request's fields a success echoes, in the table's order.
fn echo(call: &Call, request: &Map<String, Value>) -> Map<String, Value> {
    call.echoed.iter().filter_map(|name| request.get(*name).map(|v| ((*name).to_owned(), v.clone()))).collect()
}

/// The success body, fields in DOKU's order.
fn success(call: &Call, request: &Map<String, Value>, o: &mut Options) -> Result<Vec<(&'static str, Value)>> {
    let mut body = vec![("responseCode", json!(call.success_code())), ("responseMessage", json!("Successful"))];
    match call.operation {
        "inquiry" => body.push(("virtualAccountData", Value::Object(inquiry_data(call, request, o)?))),
        "payment_notification" => {
            let mut data = echo(call, request);
            for name in ["trxId", "paidAmount", "additionalInfo"] {
                if let Some(v) = request.get(name) {
                    data.insert(name.to_owned(), v.clone());
                }
            }
            body.push(("virtualAccountData", Value::Object(data)));
        }
        _ => {
            if let Some(code) = o.header_value("approvalCode")? {
                body.push(("approvalCode", json!(code)));
            }
        }
    }
    Ok(body)
}

/// An inquiry's `virtualAccountData`: the request's ids, the merchant's bill, and DOKU's
/// `inquiryStatus` / `inquiryReason` for a bill found.
fn inquiry_data(call: &Call, request: &Map<String, Value>, o: &mut Options) -> Result<Map<String, Value>> {
    let invalid = |why: String| Error::invalid(format!("result_json: {why}"));
    let name = o.header_value("virtualAccountName")?.ok_or_else(|| invalid("virtualAccountName is required (the bill's name)".into()))?;
    let amount =
        o.value("totalAmount").ok_or_else(|| invalid("totalAmount is required, e.g. {\"value\":\"10000.00\",\"currency\":\"IDR\"}".into()))?;
    amount_problem(&amount).map_or(Ok(()), |why| Err(invalid(format!("totalAmount: {why}"))))?;
    let trx_type = o.header_value("virtualAccountTrxType")?.unwrap_or_else(|| "C".to_owned());
    let expired = o.string("expiredDate")?;
    if let Some(e) = &expired {
        if timestamp::parse(e).is_none() {
            return Err(invalid("expiredDate must be ISO-8601 with an offset, e.g. 2026-12-31T23:59:59+07:00".into()));
        }
    }
    let mut info = match request.get("additionalInfo") {
        Some(Value::Object(given)) => given.clone(),
        _ => Map::new(),
    };
    match o.value("additionalInfo") {
        Some(Value::Object(more)) => info.extend(more),
        Some(_) => return Err(invalid("additionalInfo must be an object".into())),
        None => {}
    }
    let mut data = echo(call, request);
    data.insert("virtualAccountName".into(), json!(name));
    for key in ["virtualAccountEmail", "virtualAccountPhone"] {
        if let Some(v) = o.header_value(key)? {
            data.insert(key.into(), json!(v));
        }
    }
    data.insert("totalAmount".into(), amount);
    data.insert("virtualAccountTrxType".into(), json!(trx_type));
    if let Some(e) = expired {
        data.insert("expiredDate".into(), json!(e));
    }
    if let Some(trx) = o.header_value("trxId")? {
        data.insert("trxId".into(), json!(trx));
    }
    data.insert("additionalInfo".into(), Value::Object(info));
    data.insert("inquiryStatus".into(), json!("00"));
    data.insert("inquiryReason".into(), json!({"english": "Success", "indonesia": "Sukses"}));
    Ok(data)
}

/// Why an amount is not SNAP's `{"value":"10000.00","currency":"IDR"}`: the value a string of
/// digits with two decimals, the currency three capital letters.
pub fn amount_problem(amount: &Value) -> Option<String> {
    let Value::Object(parts) = amount else { return Some("must be an object {\"value\":\"10000.00\",\"currency\":\"IDR\"}".into()) };
    let value = parts.get("value").and_then(Value::as_str).unwrap_or("");
    let (units, cents) = value.split_once('.').unwrap_or((value, ""));
    if units.is_empty() || units.len() > 16 || cents.len() != 2 || !units.bytes().chain(cents.bytes()).all(|b| b.is_ascii_digit()) {
        return Some("value must be a string of digits with two decimals, e.g. \"10000.00\"".into());
    }
    let currency = parts.get("currency").and_then(Value::as_str).unwrap_or("");
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Some("currency must be an ISO 4217 code such as \"IDR\"".into());
    }
    None
}

/// How DOKU judges the merchant's answer to `call` for `request`: why it is not the documented
/// success, or `None`. A refusal is judged as one (it is not a success).
pub fn judge(call: &Call, request: &Value, status: u16, body: &[u8]) -> Option<String> {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else {
        return Some(format!("the merchant answered HTTP {status} with a body that is not a JSON object ({} bytes)", body.len()));
    };
    let expected = call.success_code();
    let code = match answer.get("responseCode") {
        Some(Value::String(code)) => code.as_str(),
        Some(Value::Number(n)) => {
            return Some(format!("the merchant answered HTTP {status} with responseCode {n} as a number (DOKU expects the string \"{expected}\")"))
        }
        _ => return Some(format!("the merchant answered HTTP {status} without a responseCode")),
    };
    let shown = crate::text::printable(code, 16);
    let message = answer.get("responseMessage").and_then(Value::as_str).map(|m| crate::text::printable(m, 300));
    if code != expected {
        return Some(match code.starts_with("200") {
            true => format!(
                "the merchant answered HTTP {status} with {shown}, a success of another service (DOKU expects {expected}: HTTP 200, service {}, case 00)",
                call.service
            ),
            false => format!("the merchant answered HTTP {status} with {shown}: {} (expected HTTP 2xx and {expected})", message.unwrap_or_default()),
        });
    }
    if !(200..300).contains(&status) {
        return Some(format!("the merchant answered HTTP {status} with {expected} (DOKU expects HTTP 200)"));
    }
    if message.is_none() {
        return Some(format!("the merchant answered {expected} without a responseMessage string (DOKU documents it)"));
    }
    if call.echoed.is_empty() {
        return None;
    }
    let Some(Value::Object(data)) = answer.get("virtualAccountData") else {
        return Some(format!(
            "the merchant answered {expected} without virtualAccountData (DOKU expects the request's {} echoed)",
            call.echoed.join(", ")
        ));
    };
    if let Some(name) = call.echoed.iter().find(|name| request.get(**name).is_some() && data.get(**name) != request.get(**name)) {
        return Some(format!("the merchant's virtualAccountData.{name} is not the request's"));
    }
    if call.operation == "inquiry" {
        match data.get("totalAmount").map(amount_problem) {
            None => return Some("the merchant's inquiry answer has no virtualAccountData.totalAmount".into()),
            Some(Some(why)) => return Some(format!("the merchant's virtualAccountData.totalAmount: {why}")),
            Some(None) => {}
        }
        if !present(data.get("virtualAccountName")) {
            return Some("the merchant's inquiry answer has no virtualAccountData.virtualAccountName".into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::notification::CALLS;
    use super::*;

    fn request(call: &Call) -> Value {
        let mut r = Map::new();
        for name in call.mandatory.iter().chain(call.echoed) {
            r.insert((*name).to_owned(), json!(format!("{name}-1")));
        }
        r.insert("paidAmount".into(), json!({"value": "10000.00", "currency": "IDR"}));
        r.insert("amount".into(), json!({"value": "10000.00", "currency": "IDR"}));
        r.insert("additionalInfo".into(), json!({"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"}));
        Value::Object(r)
    }

    /// Every success the builder makes is one the judge (the sandbox) accepts, and a refusal is
    /// not.
    #[test]
    fn answers_pass_the_judge() {
        let bill = r#"{"virtualAccountName":"Budi Śantoso","totalAmount":{"value":"10000.00","currency":"IDR"},"trxId":"INV/1"}"#;
        for call in &CALLS {
            let req = request(call);
            let result = (call.operation == "inquiry").then_some(bill);
            let out: Value = serde_json::from_str(&answer(call.operation, &req.to_string(), result).unwrap()).unwrap();
            assert_eq!(out["httpStatus"], 200);
            let body = out["body"].to_string();
            assert_eq!(judge(call, &req, 200, body.as_bytes()), None, "{}: {body}", call.operation);
            assert_eq!(out["body"]["responseCode"], call.success_code());
            let refused = answer(call.operation, &req.to_string(), Some(r#"{"refuse":"general_error"}"#)).unwrap();
            let refused: Value = serde_json::from_str(&refused).unwrap();
            assert_eq!(
                (refused["httpStatus"].as_u64(), refused["body"]["responseCode"].as_str()),
                (Some(500), Some(&*format!("500{}00", call.service)))
            );
            assert!(judge(call, &req, 500, refused["body"].to_string().as_bytes()).is_some());
        }
    }

    #[test]
    fn an_inquiry_answer_is_dokus_shape() {
        let req = json!({"partnerServiceId":"  888994","customerNo":"01","virtualAccountNo":"  88899401","inquiryRequestId":"R/1","additionalInfo":{"channel":"VIRTUAL_ACCOUNT_BCA"}});
        let out = answer(
            "inquiry",
            &req.to_string(),
            Some(r#"{"virtualAccountName":"Budi","totalAmount":{"value":"5.00","currency":"IDR"},"additionalInfo":{"note":"x"}}"#),
        )
        .unwrap();
        let expected = r#"{"body":{"responseCode":"2002400","responseMessage":"Successful","virtualAccountData":{"additionalInfo":{"channel":"VIRTUAL_ACCOUNT_BCA","note":"x"},"customerNo":"01","inquiryReason":{"english":"Success","indonesia":"Sukses"},"inquiryRequestId":"R/1","inquiryStatus":"00","partnerServiceId":"  888994","totalAmount":{"currency":"IDR","value":"5.00"},"virtualAccountName":"Budi","virtualAccountNo":"  88899401","virtualAccountTrxType":"C"}},"httpStatus":200}"#;
        assert_eq!(out, expected);
        let refused = answer("inquiry", &req.to_string(), Some(r#"{"refuse":"bill_paid"}"#)).unwrap();
        assert!(refused.contains(r#""responseCode":"4042414","responseMessage":"Paid Bill""#), "{refused}");
    }

    #[test]
    fn bad_results_name_what_is_wrong() {
        let call = Call::named("inquiry").unwrap();
        let req = request(call).to_string();
        let err = |result: &str| answer("inquiry", &req, Some(result)).unwrap_err().message().to_owned();
        assert_eq!(err("{}"), "result_json: virtualAccountName is required (the bill's name)");
        assert!(err(r#"{"virtualAccountName":"B","totalAmount":{"value":"10000","currency":"IDR"}}"#).contains("two decimals"));
        assert!(err(r#"{"virtualAccountName":"B","totalAmount":{"value":"1.00","currency":"idr"}}"#).contains("ISO 4217"));
        assert!(err(r#"{"refuse":"nope"}"#)
            .starts_with("result_json: refuse must be one of bill_not_found, invalid_amount, bill_paid, bill_expired, general_error"));
        assert_eq!(err(r#"{"refuse":"bill_paid","trxId":"1"}"#), "result_json: trxId has no place in a refusal");
        assert!(err(r#"{"surprise":1}"#).starts_with("result_json: unknown key \"surprise\""));
        let debit = Call::named("debit_notification").unwrap();
        let e = answer("debit_notification", &request(debit).to_string(), Some(r#"{"refuse":"bill_paid"}"#)).unwrap_err();
        assert_eq!(e.message(), "result_json: refuse must be one of general_error for debit_notification");
        assert_eq!(answer("refund", "{}", None).unwrap_err().message(), "operation must be one of inquiry, payment_notification, debit_notification");
        assert!(answer("inquiry", "{}", None).unwrap_err().message().starts_with("request_json: partnerServiceId is missing"));
        assert!(answer("inquiry", "[]", None).unwrap_err().message().starts_with("request_json must be a JSON object"));
    }

    #[test]
    fn the_judge_refuses_what_doku_would() {
        let call = Call::named("payment_notification").unwrap();
        let req = request(call);
        let ok = answer(call.operation, &req.to_string(), None).unwrap();
        let body = serde_json::from_str::<Value>(&ok).unwrap()["body"].clone();
        let judged = |b: Value| judge(call, &req, 200, b.to_string().as_bytes());
        let mut numeric = body.clone();
        numeric["responseCode"] = json!(2002500);
        assert!(judged(numeric).unwrap().contains("as a number"));
        let mut other = body.clone();
        other["responseCode"] = json!("2002700");
        assert!(judged(other).unwrap().contains("a success of another service"));
        let mut bare = body.clone();
        bare.as_object_mut().unwrap().remove("virtualAccountData");
        assert!(judged(bare).unwrap().contains("without virtualAccountData"));
        let mut wrong = body.clone();
        wrong["virtualAccountData"]["paymentRequestId"] = json!("another");
        assert_eq!(judged(wrong).unwrap(), "the merchant's virtualAccountData.paymentRequestId is not the request's");
        assert!(judge(call, &req, 200, b"<html>").unwrap().contains("not a JSON object"));
    }
}
