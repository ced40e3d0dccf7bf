//! Every operation of the catalog (`doku::operations`), as DOKU plays it: the request is judged
//! by the library's `signed_request::check` (headers, formats, the Bearer token issued here,
//! clock skew, the symmetric signature with the client's registered secret, the day's
//! `X-EXTERNAL-ID`s), then the customer token and headers the row requires, then the body by
//! the row's rules (`doku::operations::body`, the very checks the client makes before sending),
//! and last the books (`books`): virtual accounts, bindings, payments, refunds.
//!
//! `POST /sandbox/v1/pay-va?client=ID` plays the customer paying a virtual account, as DOKU's
//! simulator does.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::books::{amount_text, cents, VirtualAccount};
use super::exchange::{Exchange, Handled};
use super::state::{lock, State};
use doku::operations::{body, Need, Operation};
use doku::signed_request::{self, Receiver};
use doku::timestamp::Offset;
use doku::token::strip_bearer;

/// Where DOKU's answer points the customer for payment instructions (`howToPayPage`) and the
/// merchant for them as data (`howToPayApi`); DOKU's SDKs read both. Sample addresses.
const HOW_TO_PAY_PAGE: &str = "https://sandbox.doku.com/how-to-pay/v2/virtual-account/";
const HOW_TO_PAY_API: &str = "https://api-sandbox.doku.com/how-to-pay-api/v2/virtual-account/";
/// Where a binding or a jump-app payment would send the customer. Sample addresses.
const REDIRECT_BASE: &str = "https://sandbox.doku.com/direct-debit/";

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

/// One operation's request: judged, then played against the books.
pub(crate) fn handle(x: &mut Exchange, row: &'static Operation) -> Handled {
    let (state, req, now) = (x.state, x.req, x.now);
    let header = |name: &str| x.header(name);
    // payment and payment_jump_app share a path: a customer token makes it host-to-host.
    let op = match (row.name, x.header("Authorization-Customer")) {
        ("payment", None) => doku::operations::find("payment_jump_app").unwrap_or(row),
        _ => row,
    };
    let checked = signed_request::check(op.service, &req.method, &req.path, &header, &req.body, now, state.max_skew, &Sandbox(state));
    let (client, text) = match checked {
        Ok(checked) => (x.header("X-PARTNER-ID").unwrap_or_default().to_owned(), checked.body),
        Err(r) => return x.refuse(r.http_status, &r.response_code, &r.message),
    };
    let code = |status: u16, case: &str| format!("{status}{}{case}", op.service);
    let mut binding = None;
    for need in op.required {
        let Some(value) = x.header(need.header()) else {
            return x.refuse(400, &code(400, "02"), &format!("Invalid Mandatory Field {}", need.header()));
        };
        if *need == Need::CustomerToken {
            let token = strip_bearer(value);
            if token.len() == value.len() {
                return x.refuse(400, &code(400, "01"), "Invalid Field Format Authorization-Customer (expected Bearer <customer token>)");
            }
            match state.check_customer_token(token, &client) {
                Ok(b) => binding = Some(b),
                Err(why) => return x.refuse(401, &code(401, "02"), &format!("Invalid Customer Token: {why}")),
            }
        }
    }
    let fields = match body::check(text, op.fields) {
        Ok(fields) => fields,
        Err(p) => return x.refuse(400, &code(400, p.case), &p.refusal()),
    };
    let played = play(x, op, &client, &fields, binding);
    match played {
        Ok(fields) => {
            let mut answer = vec![("responseCode", json!(op.success[0])), ("responseMessage", json!("Successful"))];
            answer.extend(fields);
            let resp = x.json(200, &answer);
            x.success(resp, &code(500, "00"))
        }
        Err((status, case, message)) => x.refuse(status, &code(status, case), &message),
    }
}

type Played = Result<Vec<(&'static str, Value)>, super::books::Refused>;

/// The string at a dotted path of a checked body ("" where there is none).
fn text<'v>(fields: &'v Map<String, Value>, path: &str) -> &'v str {
    body::at(fields, path).and_then(Value::as_str).unwrap_or("")
}

/// A checked amount's cents.
fn amount(fields: &Map<String, Value>, name: &str) -> u64 {
    cents(text(fields, &format!("{name}.value"))).unwrap_or(0)
}

fn idr(cents: u64) -> Value {
    json!({"value": amount_text(cents), "currency": "IDR"})
}

/// The fields of the account `fields` names, as DOKU's VA answers carry them.
fn va_id(fields: &Map<String, Value>) -> Map<String, Value> {
    ["partnerServiceId", "customerNo", "virtualAccountNo"].iter().filter_map(|k| fields.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect()
}

fn play(x: &Exchange, op: &Operation, client: &str, fields: &Map<String, Value>, binding: Option<String>) -> Played {
    let now = x.now;
    let mut books = lock(&x.state.books);
    let va_no = text(fields, "virtualAccountNo");
    match op.name {
        "create_va" | "update_va" => {
            let expires = match fields.get("expiredDate").and_then(Value::as_str) {
                Some(t) => match doku::timestamp::parse(t).map(|t| t.to_utc()) {
                    Some(t) if t <= now => return Err((400, "01", "Invalid Field Format expiredDate (in the past)".into())),
                    t => t,
                },
                None => None,
            };
            let account = VirtualAccount {
                trx_id: text(fields, "trxId").to_owned(),
                name: text(fields, "virtualAccountName").to_owned(),
                amount: amount(fields, "totalAmount"),
                trx_type: fields.get("virtualAccountTrxType").and_then(Value::as_str).unwrap_or("C").to_owned(),
                expires,
                paid: None,
            };
            match op.name {
                "create_va" => books.create_va(client, va_no, account)?,
                _ => books.update_va(client, va_no, account, now)?,
            }
            Ok(vec![("virtualAccountData", va_data(fields))])
        }
        "delete_va" => {
            let deleted = books.delete_va(client, va_no, now)?;
            let mut data = va_id(fields);
            data.insert("trxId".into(), json!(deleted.trx_id));
            Ok(vec![("virtualAccountData", Value::Object(data))])
        }
        "check_status_va" => {
            let va = books.va(client, va_no).ok_or((404, "12", "Invalid Bill/Virtual Account [Not Found]".to_owned()))?;
            let mut data = va_id(fields);
            let (english, indonesia) = if va.paid.is_some() { ("Paid", "Sudah dibayar") } else { ("Unpaid", "Belum dibayar") };
            data.insert("paymentFlagReason".into(), json!({"english": english, "indonesia": indonesia}));
            data.insert("virtualAccountName".into(), json!(va.name));
            data.insert("trxId".into(), json!(va.trx_id));
            data.insert("paidAmount".into(), idr(va.paid.as_ref().map_or(0, |(p, _)| *p)));
            if let Some((_, request_id)) = &va.paid {
                data.insert("paymentRequestId".into(), json!(request_id));
            }
            data.insert("billDetails".into(), json!([{"billAmount": idr(va.amount)}]));
            Ok(vec![("virtualAccountData", Value::Object(data))])
        }
        "account_binding" | "card_registration" => {
            let (id, auth_code) = books.bind(client)?;
            let reference_no = books.number("REF");
            let cust = if op.name == "card_registration" { text(fields, "custIdMerchant") } else { text(fields, "additionalInfo.custIdMerchant") };
            Ok(vec![
                ("referenceNo", json!(reference_no)),
                ("redirectUrl", json!(format!("{REDIRECT_BASE}binding/{id}"))),
                ("additionalInfo", json!({"custIdMerchant": cust, "status": "SUCCESS", "authCode": auth_code})),
            ])
        }
        "account_unbinding" | "card_unbinding" => {
            let token = strip_bearer(text(fields, "tokenId"));
            let bound = x.state.check_customer_token(token, client).map_err(|why| (401, "02", format!("Invalid Customer Token: {why}")))?;
            books.unbind(client, &bound);
            x.state.revoke_customer(client, &bound);
            Ok(vec![("referenceNo", json!(books.number("REF")))])
        }
        "payment" | "payment_jump_app" => {
            let reference = text(fields, "partnerReferenceNo");
            let reference_no = books.pay(client, reference, amount(fields, "amount"), binding.as_deref())?;
            let mut answer = vec![("referenceNo", json!(reference_no)), ("partnerReferenceNo", json!(reference))];
            if op.name == "payment_jump_app" {
                answer.push(("webRedirectUrl", json!(format!("{REDIRECT_BASE}pay/{reference_no}"))));
            }
            Ok(answer)
        }
        "refund" => {
            let at = Offset::parse("+07:00").unwrap_or(Offset::UTC).format(now);
            let (original, partner_refund_no) = (text(fields, "originalPartnerReferenceNo"), text(fields, "partnerRefundNo"));
            let refunded = amount(fields, "refundAmount");
            let (payment, refund_no) = books.refund(client, original, partner_refund_no, refunded, binding.as_deref(), at.clone())?;
            Ok(vec![
                ("refundAmount", fields.get("refundAmount").cloned().unwrap_or(Value::Null)),
                ("originalPartnerReferenceNo", json!(original)),
                ("originalReferenceNo", json!(payment.reference_no)),
                ("refundNo", json!(refund_no)),
                ("partnerRefundNo", json!(partner_refund_no)),
                ("refundTime", json!(at)),
            ])
        }
        "balance_inquiry" => {
            let account = books.account(client, binding.as_deref().unwrap_or_default())?;
            Ok(vec![("accountInfos", json!([{"balanceType": "CASH", "amount": idr(account.balance), "holdAmount": idr(0)}]))])
        }
        "check_status" => {
            let original = text(fields, "originalPartnerReferenceNo");
            let payment = books.payment(client, original).ok_or((404, "01", "Transaction Not Found".to_owned()))?;
            let refunded = payment.refunded();
            let (status, desc) = if refunded == payment.amount { ("04", "Refunded") } else { ("00", "Success") };
            let history: Vec<Value> = payment
                .refunds
                .iter()
                .map(|r| json!({"refundNo": r.refund_no, "partnerReferenceNo": r.partner_refund_no, "refundAmount": idr(r.amount), "refundStatus": "00", "refundDate": r.at}))
                .collect();
            Ok(vec![
                ("originalPartnerReferenceNo", json!(original)),
                ("originalReferenceNo", json!(payment.reference_no)),
                ("serviceCode", json!(text(fields, "serviceCode"))),
                ("latestTransactionStatus", json!(status)),
                ("transactionStatusDesc", json!(desc)),
                ("transAmount", idr(payment.amount)),
                ("refundHistory", Value::Array(history)),
            ])
        }
        _ => Err((404, "00", "Not Found".into())),
    }
}

/// A created or updated account as DOKU echoes it: the request's fields, with `additionalInfo`
/// completed by `how_to_pay`.
fn va_data(fields: &Map<String, Value>) -> Value {
    let mut data = fields.clone();
    data.insert("additionalInfo".into(), how_to_pay(fields));
    Value::Object(data)
}

/// `POST /sandbox/v1/pay-va?client=ID` with `{"virtualAccountNo","paidAmount"?}`: the customer
/// pays (the whole amount unless `paidAmount` says otherwise).
pub(crate) fn simulate_payment(x: &Exchange) -> Handled {
    let client = url::form_urlencoded::parse(x.req.query.as_bytes()).find(|(k, _)| k == "client").map(|(_, v)| v.into_owned());
    let Some(client) = client.filter(|c| !c.is_empty()) else {
        return x.refuse(400, "4000002", "Invalid Mandatory Field client (POST /sandbox/v1/pay-va?client=ID)");
    };
    // The simulator's body, by the rules every operation's body follows.
    const FIELDS: [body::Field; 3] = [
        body::Field { name: "virtualAccountNo", rule: body::Rule::Text(64), mandatory: true },
        body::Field { name: "paidAmount", rule: body::Rule::Amount, mandatory: false },
        body::Field { name: "notifyUrl", rule: body::Rule::Text(1024), mandatory: false },
    ];
    let fields = match std::str::from_utf8(&x.req.body).map_err(|_| "the body is not UTF-8").map(|text| body::check(text, &FIELDS)) {
        Ok(Ok(fields)) => fields,
        Ok(Err(p)) => return x.refuse(400, &format!("40000{}", p.case), &p.refusal()),
        Err(why) => return x.refuse(400, "4000000", &format!("Bad Request. {why}")),
    };
    let va_no = text(&fields, "virtualAccountNo");
    let paid = fields.get("paidAmount").map(|_| amount(&fields, "paidAmount"));
    // The merchant to notify, checked before the bill is paid: a wrong URL must not use it up.
    let notify = match fields.get("notifyUrl").and_then(Value::as_str) {
        None => None,
        Some(url) => match x.state.notify_config(url, &client).and_then(|config| config.settings().map(|_| config)) {
            Ok(config) => Some(config),
            Err(e) => return x.refuse(400, "4000001", &format!("Invalid Field Format notifyUrl ({})", e.message())),
        },
    };
    let paid = {
        let mut books = lock(&x.state.books);
        books.pay_va(&client, va_no, paid, x.now).map(|(amount, request_id)| {
            let bill = books.va(&client, va_no).map(|va| (va.name.clone(), va.trx_id.clone())).unwrap_or_default();
            (amount, request_id, bill)
        })
    };
    let (amount, request_id, (name, trx_id)) = match paid {
        Ok(paid) => paid,
        Err((status, case, message)) => return x.refuse(status, &format!("{status}00{case}"), &message),
    };
    let mut answer = vec![
        ("responseCode", json!("2000000")),
        ("responseMessage", json!("Successful")),
        ("virtualAccountNo", json!(va_no)),
        ("paidAmount", idr(amount)),
        ("paymentRequestId", json!(request_id)),
    ];
    // Then DOKU notifies the merchant of this payment, as --notify does of its sample's. The
    // account number is partnerServiceId (8 characters, by the rules it was created under)
    // followed by customerNo.
    if let Some(mut config) = notify {
        let (service_id, customer) = va_no.split_at(va_no.char_indices().nth(8).map_or(va_no.len(), |(at, _)| at));
        let paid = json!({
            "partnerServiceId": service_id, "customerNo": customer, "virtualAccountNo": va_no, "virtualAccountName": name,
            "trxId": trx_id, "paymentRequestId": request_id, "paidAmount": idr(amount),
        });
        config.paid = paid.as_object().cloned();
        let report = super::notify::run(&config);
        let (ok, summary) = match report {
            Ok(report) => (report.ok(), report.summary()),
            Err(e) => (false, format!("notify: failed: {}", e.message())),
        };
        answer.push(("notification", json!({"ok": ok, "summary": summary})));
    }
    (x.json(200, &answer), "ok")
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
