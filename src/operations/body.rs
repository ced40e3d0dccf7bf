//! The rules of an operation's body, checked by the client before sending (a clear error, no
//! round trip) and by the sandbox on receipt (DOKU's `400xx01` Invalid Field Format and
//! `400xx02` Invalid Mandatory Field): one implementation, so the two cannot disagree.
//!
//! Problems name the field and the rule, never the value: some values are secrets (an
//! unbinding's `tokenId` is the customer's token).

use serde_json::{Map, Value};

/// What a field must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A string of 1 to N characters.
    Text(usize),
    /// A string of 1 to N ASCII digits.
    Digits(usize),
    /// 8 characters: digits, left-padded with spaces (`"  888994"`).
    PartnerServiceId,
    /// `partnerServiceId` followed by `customerNo`.
    VirtualAccountNo,
    /// `{"value":"10000.00","currency":"IDR"}`.
    Amount,
    /// ISO-8601 with an offset: `2026-12-01T10:00:00+07:00`.
    Time,
    /// A JSON object.
    Object,
    /// Any value but null or an empty string, object or array (the provider's own shape).
    Present,
}

/// One field of a body, by its dotted path (`additionalInfo.channel`).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub rule: Rule,
    pub mandatory: bool,
}

/// Why a body is refused: SNAP's case (`01` format, `02` mandatory), the field, the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `"01"` Invalid Field Format, `"02"` Invalid Mandatory Field, `"00"` not a JSON object.
    pub case: &'static str,
    pub field: String,
    pub why: String,
}

impl Problem {
    /// DOKU's wording: `Invalid Mandatory Field trxId`, `Invalid Field Format totalAmount.value
    /// (…)`, or why the body is no JSON object.
    pub fn message(&self) -> String {
        match self.case {
            "02" => format!("Invalid Mandatory Field {}", self.field),
            "01" => format!("Invalid Field Format {} ({})", self.field, self.why),
            _ => self.why.clone(),
        }
    }

    /// The `responseMessage` a server refuses the body with: DOKU prefixes `Bad Request.` to a
    /// body it cannot read.
    pub fn refusal(&self) -> String {
        match self.case {
            "00" => format!("Bad Request. {}", self.message()),
            _ => self.message(),
        }
    }
}

/// Amounts: up to 16 digits, a point, two decimals (DOKU's SDKs check the same pattern).
const MAX_AMOUNT_DIGITS: usize = 16;

impl Rule {
    /// The rule in words, for messages and the published catalog.
    pub fn describe(&self) -> String {
        match self {
            Rule::Text(1) => "one character".into(),
            Rule::Text(n) => format!("a string of 1 to {n} characters"),
            Rule::Digits(n) => format!("1 to {n} digits, as a string"),
            Rule::PartnerServiceId => "8 characters: digits left-padded with spaces, e.g. \"  888994\"".into(),
            Rule::VirtualAccountNo => "partnerServiceId followed by customerNo".into(),
            Rule::Amount => "{\"value\":\"10000.00\",\"currency\":\"IDR\"}: value as digits with two decimals, currency IDR".into(),
            Rule::Time => "ISO-8601 with an offset, e.g. 2026-12-01T10:00:00+07:00".into(),
            Rule::Object => "a JSON object".into(),
            Rule::Present => "a value (not null or empty)".into(),
        }
    }
}

/// The value at a dotted path (`additionalInfo.channel`).
pub fn at<'v>(body: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut value = body.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Absent, null, `""`, `{}` and `[]` are all "not given".
fn given(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    })
}

/// Checks `body` (JSON text) against `fields`: the body is an object, every mandatory field is
/// given (in order), every given field follows its rule. Returns the parsed object.
pub fn check(body: &str, fields: &[Field]) -> Result<Map<String, Value>, Problem> {
    let bad = |why: &str| Problem { case: "00", field: String::new(), why: why.to_owned() };
    if body.trim().is_empty() {
        return Err(bad("The body is empty; expected a JSON object"));
    }
    let map = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(bad("The body must be a JSON object")),
        // Position only: the text may hold what is not to be shown.
        Err(e) => return Err(bad(&format!("The body is not JSON that can be read (line {}, column {})", e.line(), e.column()))),
    };
    for field in fields.iter().filter(|f| f.mandatory) {
        if given(at(&map, field.name)).is_none() {
            return Err(Problem { case: "02", field: field.name.to_owned(), why: field.rule.describe() });
        }
    }
    for field in fields {
        if let Some(value) = given(at(&map, field.name)) {
            if let Err((part, why)) = follows(value, field.rule, &map) {
                let name = if part.is_empty() { field.name.to_owned() } else { format!("{}.{part}", field.name) };
                return Err(Problem {
                    case: if why.is_empty() { "02" } else { "01" },
                    field: name,
                    why: if why.is_empty() { field.rule.describe() } else { why },
                });
            }
        }
    }
    Ok(map)
}

/// Whether `value` follows `rule`; else the sub-field at fault ("" for the field itself) and
/// why ("" when a mandatory part is missing).
fn follows(value: &Value, rule: Rule, body: &Map<String, Value>) -> Result<(), (&'static str, String)> {
    let text = |value: &Value| value.as_str().map(str::to_owned).ok_or_else(|| ("", format!("expected {}, not {}", rule.describe(), kind(value))));
    match rule {
        Rule::Text(n) => {
            let s = text(value)?;
            match s.chars().count() {
                len if len > n => Err(("", format!("at most {n} characters, not {len}"))),
                _ => Ok(()),
            }
        }
        Rule::Digits(n) => {
            let s = text(value)?;
            if s.len() > n || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(("", rule.describe()));
            }
            Ok(())
        }
        Rule::PartnerServiceId => {
            let s = text(value)?;
            let digits = s.trim_start_matches(' ');
            if s.len() != 8 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(("", format!("{}; {} characters given", rule.describe(), s.chars().count())));
            }
            Ok(())
        }
        Rule::VirtualAccountNo => {
            let s = text(value)?;
            let part = |name| body.get(name).and_then(Value::as_str).unwrap_or("");
            let expected = format!("{}{}", part("partnerServiceId"), part("customerNo"));
            if s != expected {
                return Err(("", "must equal partnerServiceId followed by customerNo, spaces included".into()));
            }
            Ok(())
        }
        Rule::Amount => {
            let Some(amount) = value.as_object() else { return Err(("", format!("expected {}, not {}", rule.describe(), kind(value)))) };
            let (Some(v), Some(currency)) = (given(amount.get("value")), given(amount.get("currency"))) else {
                return Err((if given(amount.get("value")).is_none() { "value" } else { "currency" }, String::new()));
            };
            let v = v.as_str().ok_or(("value", "a string such as \"10000.00\", not a number".to_owned()))?;
            let well_formed = v.split_once('.').is_some_and(|(int, dec)| {
                (1..=MAX_AMOUNT_DIGITS).contains(&int.len())
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && dec.len() == 2
                    && dec.bytes().all(|b| b.is_ascii_digit())
            });
            if !well_formed {
                return Err(("value", format!("digits with two decimals, e.g. \"10000.00\" (at most {MAX_AMOUNT_DIGITS} before the point)")));
            }
            if currency.as_str() != Some("IDR") {
                return Err(("currency", "IDR".into()));
            }
            Ok(())
        }
        Rule::Time => {
            let s = text(value)?;
            match crate::timestamp::parse(&s) {
                Some(_) => Ok(()),
                None => Err(("", rule.describe())),
            }
        }
        Rule::Object if value.is_object() => Ok(()),
        Rule::Object => Err(("", format!("expected a JSON object, not {}", kind(value)))),
        Rule::Present => Ok(()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::find;

    const VA: &str = r#"{"partnerServiceId":"  888994","customerNo":"00000000000000000001","virtualAccountNo":"  88899400000000000000000001","virtualAccountName":"Budi Śantoso","trxId":"INV/1","totalAmount":{"value":"10000.00","currency":"IDR"},"virtualAccountTrxType":"C","expiredDate":"2026-12-31T23:59:59+07:00"}"#;

    fn problem(op: &str, body: &str) -> String {
        check(body, find(op).unwrap().fields).map(|_| "accepted".to_owned()).unwrap_or_else(|p| format!("{} {}", p.case, p.refusal()))
    }

    #[test]
    fn a_documented_virtual_account_passes() {
        assert_eq!(problem("create_va", VA), "accepted");
        assert_eq!(problem("update_va", VA), "accepted");
    }

    #[test]
    fn each_va_rule_is_named() {
        let cases = [
            (VA.replace(r#""trxId":"INV/1","#, ""), "02 Invalid Mandatory Field trxId"),
            (VA.replace(r#""Budi Śantoso""#, r#""""#), "02 Invalid Mandatory Field virtualAccountName"),
            (
                VA.replace(r#""  888994""#, r#"" 888994""#),
                "01 Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. \"  888994\"; 7 characters given)",
            ),
            (
                VA.replace(r#""  888994","#, r#""  88899A","#),
                "01 Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. \"  888994\"; 8 characters given)",
            ),
            (
                VA.replace(r#""00000000000000000001","#, r#""0000000000000000000A","#),
                "01 Invalid Field Format customerNo (1 to 20 digits, as a string)",
            ),
            (
                VA.replace(r#""  88899400000000000000000001""#, r#""88899400000000000000000001""#),
                "01 Invalid Field Format virtualAccountNo (must equal partnerServiceId followed by customerNo, spaces included)",
            ),
            (
                VA.replace(r#""10000.00""#, r#""10000""#),
                "01 Invalid Field Format totalAmount.value (digits with two decimals, e.g. \"10000.00\" (at most 16 before the point))",
            ),
            (VA.replace(r#""10000.00""#, "10000.00"), "01 Invalid Field Format totalAmount.value (a string such as \"10000.00\", not a number)"),
            (VA.replace(r#""IDR""#, r#""USD""#), "01 Invalid Field Format totalAmount.currency (IDR)"),
            (VA.replace(r#","currency":"IDR""#, ""), "02 Invalid Mandatory Field totalAmount.currency"),
            (VA.replace(r#""INV/1""#, &format!("\"{}\"", "x".repeat(65))), "01 Invalid Field Format trxId (at most 64 characters, not 65)"),
            (VA.replace(r#""INV/1""#, "7"), "01 Invalid Field Format trxId (expected a string of 1 to 64 characters, not a number)"),
            (
                VA.replace("2026-12-31T23:59:59+07:00", "2026-12-31 23:59"),
                "01 Invalid Field Format expiredDate (ISO-8601 with an offset, e.g. 2026-12-01T10:00:00+07:00)",
            ),
            ("[]".to_owned(), "00 Bad Request. The body must be a JSON object"),
            (r#"{"a":1e400}"#.to_owned(), "00 Bad Request. The body is not JSON that can be read (line 1, column 10)"),
            (" ".to_owned(), "00 Bad Request. The body is empty; expected a JSON object"),
        ];
        for (body, expected) in cases {
            assert_eq!(problem("create_va", &body), expected, "{body}");
        }
    }

    #[test]
    fn direct_debit_bodies() {
        let payment =
            r#"{"partnerReferenceNo":"P-1","amount":{"value":"1.00","currency":"IDR"},"additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}"#;
        assert_eq!(problem("payment", payment), "accepted");
        assert_eq!(
            problem("payment", &payment.replace(r#""channel":"DIRECT_DEBIT_ALLO_SNAP""#, "")),
            "02 Invalid Mandatory Field additionalInfo.channel"
        );
        assert_eq!(
            problem("payment", &payment.replace(r#","additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}"#, "")),
            "02 Invalid Mandatory Field additionalInfo.channel"
        );
        assert_eq!(problem("payment_jump_app", payment), "02 Invalid Mandatory Field urlParam");
        // The token is never quoted, however it is wrong.
        let secret = "eyJhbGciOiJSUzI1NiJ9.customer-token-value";
        let unbind = format!(r#"{{"tokenId":"{}","additionalInfo":{{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}}}"#, secret.repeat(60));
        let refused = problem("account_unbinding", &unbind);
        assert!(refused.starts_with("01 Invalid Field Format tokenId (at most 2048 characters"), "{refused}");
        assert!(!refused.contains("customer-token"), "{refused}");
    }
}
