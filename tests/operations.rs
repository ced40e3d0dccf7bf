//! Every operation of the catalog through `Client::call`, against the sandbox over real TLS: the
//! virtual account's life and the Direct Debit flow with their refusals, the checks made before
//! sending (and the sandbox's same words for the same bodies), and the money rule: a payment or
//! refund whose answer is lost after sending is "outcome unknown", one that never left is not.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{openssl, TestDir};
use doku::client::Client;
use doku::key::PublicKey;
use doku::operations::{CallOptions, CATALOG};
use doku::request::ApiResponse;
use doku::token::b2b2c::Grant;
use doku::ErrorKind;
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig, PAY_VA_PATH};
use serde_json::{json, Value};

const SECRET: &str = "operations-secret-5e1f";
const IP: &str = r#""ipAddress":"203.0.113.7""#;
const DEVICE: &str = r#""deviceId":"device-1""#;

struct Setup {
    _dir: TestDir,
    pem: String,
    sandbox: Sandbox,
    log: Arc<Mutex<Vec<String>>>,
}

/// A TLS sandbox knowing `ids` (with `faults`), and the merchant's key.
fn setup(ids: &[&str], faults: &[(&str, &str)]) -> Setup {
    let dir = TestDir::new("operations");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &dir.path("k.pem"));
    openssl(&["pkey", "-in", dir.path("k.pem").to_str().unwrap(), "-pubout", "-out"], &dir.path("pub.pem"));
    let public = PublicKey::parse(&std::fs::read_to_string(dir.path("pub.pem")).unwrap()).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let sandbox = Sandbox::start(SandboxConfig {
        clients: ids.iter().map(|id| (id.to_string(), public.clone())).collect(),
        secrets: ids.iter().map(|id| (id.to_string(), SECRET.to_owned())).collect(),
        faults: faults.iter().map(|(id, f)| (id.to_string(), f.parse::<Fault>().unwrap())).collect(),
        tls_dir: Some(dir.path("tls")),
        log: Log::Capture(log.clone()),
        ..SandboxConfig::default()
    })
    .unwrap();
    Setup { pem: std::fs::read_to_string(dir.path("k.pem")).unwrap(), _dir: dir, sandbox, log }
}

impl Setup {
    fn client(&self, id: &str, extra: &str) -> Client {
        let ca = serde_json::to_string(&self.sandbox.ca_file().unwrap()).unwrap();
        Client::from_json(&format!(
            r#"{{"client_id":"{id}","private_key":{},"base_url":"{}","proxy":"","ca_file":{ca},"client_secret":"{SECRET}","channel_id":"H2H"{extra}}}"#,
            serde_json::to_string(&self.pem).unwrap(),
            self.sandbox.url()
        ))
        .unwrap()
    }

    fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn options(json: &str) -> CallOptions {
    CallOptions::parse(Some(json)).unwrap()
}

fn call(c: &Client, op: &str, body: &Value, opts: &str) -> ApiResponse {
    c.call(op, Some(&body.to_string()), &options(opts)).unwrap_or_else(|e| panic!("{op}: {e}"))
}

/// The answer's status, code and body; panics with the body when the code is not `code`.
fn expect(r: &ApiResponse, status: u16, code: &str) -> Value {
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.http_status, r.response_code.as_deref()), (status, Some(code)), "{body}");
    body
}

fn va(customer: &str, trx: &str, value: &str) -> Value {
    json!({
        "partnerServiceId": "  888994",
        "customerNo": customer,
        "virtualAccountNo": format!("  888994{customer}"),
        "virtualAccountName": "Śiti Nurhaliza / Toko",
        "trxId": trx,
        "totalAmount": {"value": value, "currency": "IDR"},
        "virtualAccountTrxType": "C",
        "additionalInfo": {"channel": "VIRTUAL_ACCOUNT_BANK_CIMB"}
    })
}

fn va_id(customer: &str) -> Value {
    json!({"partnerServiceId": "  888994", "customerNo": customer, "virtualAccountNo": format!("  888994{customer}")})
}

#[test]
fn a_virtual_account_s_life() {
    let s = setup(&["MCH-VA"], &[]);
    let c = s.client("MCH-VA", "");
    let created = expect(&call(&c, "create_va", &va("1001", "INV/1001", "11500.00"), "{}"), 200, "2002700");
    assert_eq!(created["virtualAccountData"]["trxId"], "INV/1001");
    assert_eq!(created["virtualAccountData"]["additionalInfo"]["channel"], "VIRTUAL_ACCOUNT_BANK_CIMB");
    let r = call(&c, "update_va", &va("1001", "INV/1001", "12000.00"), "{}");
    expect(&r, 200, "2002800");
    assert_eq!((r.operation, r.external_id.len()), (Some("update_va"), 36));
    let unpaid = expect(&call(&c, "check_status_va", &va_id("1001"), "{}"), 200, "2002600");
    assert_eq!(unpaid["virtualAccountData"]["paidAmount"], json!({"value": "0.00", "currency": "IDR"}));
    assert_eq!(unpaid["virtualAccountData"]["paymentFlagReason"]["english"], "Unpaid");
    assert_eq!(unpaid["virtualAccountData"]["billDetails"][0]["billAmount"]["value"], "12000.00");

    // The customer pays the wrong amount, then the right one, through the sandbox's simulator.
    let pay = |value: &str| {
        let body = json!({"virtualAccountNo": "  8889941001", "paidAmount": {"value": value, "currency": "IDR"}}).to_string();
        c.request("POST", &format!("{PAY_VA_PATH}?client=MCH-VA"), Some(&body), &CallOptions::default()).unwrap()
    };
    assert!(expect(&pay("11500.00"), 404, "4040013")["responseMessage"].as_str().unwrap().contains("takes exactly 12000.00"));
    // Regression (review): the simulator read "1.5" as 1.05; its body follows the shared rules.
    assert_eq!(
        expect(&pay("1.5"), 400, "4000001")["responseMessage"],
        "Invalid Field Format paidAmount.value (digits with two decimals, e.g. \"10000.00\" (at most 16 before the point))"
    );
    expect(&pay("12000.00"), 200, "2000000");
    expect(&pay("12000.00"), 404, "4040014");
    let paid = expect(&call(&c, "check_status_va", &va_id("1001"), "{}"), 200, "2002600");
    assert_eq!(paid["virtualAccountData"]["paidAmount"]["value"], "12000.00");
    assert_eq!(paid["virtualAccountData"]["paymentFlagReason"]["english"], "Paid");
    assert!(paid["virtualAccountData"]["paymentRequestId"].as_str().is_some_and(|id| id.starts_with("PAY")));

    // A paid bill can be neither changed nor deleted, nor its trxId used again.
    assert_eq!(expect(&call(&c, "update_va", &va("1001", "INV/1001", "1.00"), "{}"), 404, "4042814")["responseMessage"], "Paid Bill");
    expect(&call(&c, "delete_va", &va_id("1001"), "{}"), 404, "4043114");
    expect(&call(&c, "create_va", &va("1001", "INV/1001", "1.00"), "{}"), 409, "4092701");
    // Another account may not take a trxId in use; the same bill sent again is the same bill.
    expect(&call(&c, "create_va", &va("1002", "INV/1002", "5000.00"), "{}"), 200, "2002700");
    expect(&call(&c, "create_va", &va("1003", "INV/1002", "5000.00"), "{}"), 409, "4092701");
    expect(&call(&c, "create_va", &va("1002", "INV/1002", "5000.00"), "{}"), 200, "2002700");
    // An unpaid one is deleted, after which it is unknown.
    let deleted = expect(&call(&c, "delete_va", &va_id("1002"), "{}"), 200, "2003100");
    assert_eq!(deleted["virtualAccountData"]["trxId"], "INV/1002");
    expect(&call(&c, "check_status_va", &va_id("1002"), "{}"), 404, "4042612");
    expect(&call(&c, "update_va", &va("1002", "INV/1002", "1.00"), "{}"), 404, "4042812");
    expect(&call(&c, "delete_va", &va_id("1002"), "{}"), 404, "4043112");

    // Expiry: in the past at creation, or reached before payment.
    let mut late = va("1004", "INV/1004", "1.00");
    late["expiredDate"] = json!("2020-01-01T00:00:00+07:00");
    assert!(expect(&call(&c, "create_va", &late, "{}"), 400, "4002701")["responseMessage"].as_str().unwrap().contains("expiredDate"));
    let soon = chrono::Utc::now() + chrono::TimeDelta::seconds(2);
    late["expiredDate"] = json!(soon.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
    expect(&call(&c, "create_va", &late, "{}"), 200, "2002700");
    std::thread::sleep(Duration::from_millis(2100));
    let body = json!({"virtualAccountNo": "  8889941004"}).to_string();
    expect(&c.request("POST", &format!("{PAY_VA_PATH}?client=MCH-VA"), Some(&body), &CallOptions::default()).unwrap(), 404, "4040019");

    // The caller's X-EXTERNAL-ID is sent; a second use the same day is DOKU's 409xx00.
    let id = r#"{"externalId":"20261201000000000000000000000000000"}"#;
    let r = call(&c, "check_status_va", &va_id("1001"), id);
    assert_eq!(r.external_id, "20261201000000000000000000000000000");
    expect(&r, 200, "2002600");
    assert_eq!(expect(&call(&c, "check_status_va", &va_id("1001"), id), 409, "4092600")["responseMessage"], "Conflict. Duplicate X-EXTERNAL-ID");
}

/// The client refuses what the sandbox would, before sending, in the same words: one
/// implementation (`doku::operations::body`) for both.
#[test]
fn bodies_are_checked_before_sending_as_the_sandbox_checks_them() {
    let s = setup(&["MCH-CHECK"], &[]);
    let c = s.client("MCH-CHECK", "");
    call(&c, "check_status_va", &va_id("1"), "{}"); // the token, fetched once
    let cases = [
        (
            "partnerServiceId",
            json!(" 888994"),
            "4002701",
            "Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. \"  888994\"; 7 characters given)",
        ),
        ("customerNo", json!("12a"), "4002701", "Invalid Field Format customerNo (1 to 20 digits, as a string)"),
        (
            "virtualAccountNo",
            json!("88899412"),
            "4002701",
            "Invalid Field Format virtualAccountNo (must equal partnerServiceId followed by customerNo, spaces included)",
        ),
        (
            "totalAmount",
            json!({"value": "10000", "currency": "IDR"}),
            "4002701",
            "Invalid Field Format totalAmount.value (digits with two decimals, e.g. \"10000.00\" (at most 16 before the point))",
        ),
        ("totalAmount", json!({"value": "10000.00", "currency": "USD"}), "4002701", "Invalid Field Format totalAmount.currency (IDR)"),
        ("trxId", Value::Null, "4002702", "Invalid Mandatory Field trxId"),
        ("expiredDate", json!("tomorrow"), "4002701", "Invalid Field Format expiredDate (ISO-8601 with an offset, e.g. 2026-12-01T10:00:00+07:00)"),
    ];
    for (field, value, code, message) in cases {
        let mut body = va("12", "INV/CHECK", "10000.00");
        body[field] = value;
        let before = s.requests();
        let e = c.call("create_va", Some(&body.to_string()), &CallOptions::default()).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, format!("create_va: body: {message}").as_str()));
        assert_eq!(s.requests(), before, "{field}: nothing was sent");
        // The same body sent as is, unchecked: the sandbox answers DOKU's code with the same words.
        let path = CATALOG[0].path;
        let r = c.request("POST", path, Some(&body.to_string()), &CallOptions::default()).unwrap();
        let answer = expect(&r, 400, code);
        assert_eq!(answer["responseMessage"], message, "{field}");
    }
    // Options: what an operation needs is named, and nothing is sent.
    let before = s.requests();
    let payment =
        json!({"partnerReferenceNo": "P-1", "amount": {"value": "1.00", "currency": "IDR"}, "additionalInfo": {"channel": "DIRECT_DEBIT_ALLO_SNAP"}});
    for (opts, message) in [
        ("{}", "payment: options: customerToken is required (Authorization-Customer)"),
        (r#"{"customerToken":"t"}"#, "payment: options: ipAddress is required (X-IP-ADDRESS)"),
    ] {
        let e = c.call("payment", Some(&payment.to_string()), &options(opts)).unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, message));
    }
    let e = c.call("create_vaa", Some("{}"), &CallOptions::default()).unwrap_err();
    assert!(e.message().starts_with("unknown operation \"create_vaa\" (known: create_va, update_va,"), "{e}");
    assert_eq!(s.requests(), before);
}

#[test]
fn direct_debit_from_binding_to_unbinding() {
    let s = setup(&["MCH-DD"], &[]);
    let c = s.client("MCH-DD", "");
    let channel = json!({"channel": "DIRECT_DEBIT_ALLO_SNAP"});
    let binding = json!({"phoneNo": "62813941306101", "additionalInfo": {
        "channel": "DIRECT_DEBIT_ALLO_SNAP", "custIdMerchant": "cust-001",
        "successRegistrationUrl": "https://merchant.example/ok", "failedRegistrationUrl": "https://merchant.example/failed"}});
    let bound = expect(&call(&c, "account_binding", &binding, &format!("{{{IP},{DEVICE}}}")), 200, "2000700");
    let auth_code = bound["additionalInfo"]["authCode"].as_str().unwrap().to_owned();
    assert!(bound["redirectUrl"].as_str().unwrap().starts_with("https://"));
    let token = c.b2b2c_token(Grant::AuthorizationCode(&auth_code)).unwrap();
    let e = c.b2b2c_token(Grant::AuthorizationCode(&auth_code)).unwrap_err();
    assert_eq!((e.kind(), e.response_code()), (ErrorKind::Api, Some("4017401")), "an auth code is good once: {e}");
    let customer = format!(r#""customerToken":{}"#, serde_json::to_string(token.access_token.as_str()).unwrap());
    let with_token = format!("{{{customer},{IP}}}");

    let payment = json!({"partnerReferenceNo": "ORDER-1", "amount": {"value": "25000.00", "currency": "IDR"}, "additionalInfo": channel});
    let paid = expect(&call(&c, "payment", &payment, &format!("{{{customer},{IP},{DEVICE}}}")), 200, "2005400");
    assert_eq!(paid["partnerReferenceNo"], "ORDER-1");
    expect(&call(&c, "payment", &payment, &with_token), 409, "4095401");
    let status_of = |reference: &str| json!({"originalPartnerReferenceNo": reference, "serviceCode": "54"});
    let status = expect(&call(&c, "check_status", &status_of("ORDER-1"), "{}"), 200, "2005500");
    assert_eq!((&status["latestTransactionStatus"], &status["transAmount"]["value"]), (&json!("00"), &json!("25000.00")));
    expect(&call(&c, "check_status", &status_of("ORDER-404"), "{}"), 404, "4045501");

    let refund = |no: &str, value: &str| {
        let body = json!({"originalPartnerReferenceNo": "ORDER-1", "partnerRefundNo": no, "refundAmount": {"value": value, "currency": "IDR"}, "additionalInfo": channel});
        call(&c, "refund", &body, &with_token)
    };
    let partial = expect(&refund("REF-1", "10000.00"), 200, "2000700");
    assert_eq!((&partial["refundAmount"]["value"], &partial["partnerRefundNo"]), (&json!("10000.00"), &json!("REF-1")));
    assert_eq!(expect(&refund("REF-2", "15000.01"), 404, "4040713")["responseMessage"], "Invalid Amount: 15000.00 is left to refund");
    expect(&refund("REF-1", "1.00"), 409, "4090701");
    expect(&refund("REF-3", "15000.00"), 200, "2000700");
    let status = expect(&call(&c, "check_status", &status_of("ORDER-1"), "{}"), 200, "2005500");
    assert_eq!(status["latestTransactionStatus"], "04");
    assert_eq!(status["refundHistory"].as_array().unwrap().len(), 2);

    // Paid and fully refunded: the balance is whole again.
    let balance = expect(&call(&c, "balance_inquiry", &json!({"additionalInfo": channel}), &with_token), 200, "2001100");
    assert_eq!(balance["accountInfos"][0]["amount"]["value"], "1000000.00");
    let over = json!({"partnerReferenceNo": "ORDER-2", "amount": {"value": "1000000.01", "currency": "IDR"}, "additionalInfo": channel});
    assert_eq!(expect(&call(&c, "payment", &over, &with_token), 403, "4035414")["responseMessage"], "Insufficient Funds");

    // Jump-app: no customer token; the device and IP address instead.
    let jump = json!({"partnerReferenceNo": "ORDER-3", "amount": {"value": "5000.00", "currency": "IDR"},
        "urlParam": {"url": "https://merchant.example/return", "type": "PAY_RETURN", "isDeepLink": "N"}, "additionalInfo": {"channel": "EMONEY_DANA_SNAP"}});
    let r = call(&c, "payment_jump_app", &jump, &format!("{{{IP},{DEVICE}}}"));
    assert!(expect(&r, 200, "2005400")["webRedirectUrl"].as_str().unwrap().starts_with("https://"));

    // Unbinding revokes the customer's token: DOKU refuses it (401xx02), the client does not retry.
    let unbind = json!({"tokenId": token.access_token.as_str(), "additionalInfo": channel});
    expect(&call(&c, "account_unbinding", &unbind, &format!("{{{IP}}}")), 200, "2000500");
    let again = json!({"partnerReferenceNo": "ORDER-4", "amount": {"value": "1.00", "currency": "IDR"}, "additionalInfo": channel});
    let refused = expect(&call(&c, "payment", &again, &with_token), 401, "4015402");
    assert!(refused["responseMessage"].as_str().unwrap().starts_with("Invalid Customer Token: the token was revoked"), "{refused}");
    expect(&call(&c, "account_unbinding", &unbind, &format!("{{{IP}}}")), 401, "4010502");
    assert_eq!(c.stats().fetches, 1, "a refused customer token is not retried with a new B2B token");

    // Regression (review): a token of a code no binding issued, unbound, came back through its
    // refresh token, and paid again.
    let any = c.b2b2c_token(Grant::AuthorizationCode("any-code-1")).unwrap();
    let unbind_any = json!({"tokenId": any.access_token.as_str(), "additionalInfo": channel});
    expect(&call(&c, "account_unbinding", &unbind_any, &format!("{{{IP}}}")), 200, "2000500");
    let e = c.b2b2c_token(Grant::RefreshToken(&any.refresh_token)).unwrap_err();
    assert_eq!((e.response_code(), e.message().contains("Invalid Refresh Token: it was revoked")), (Some("4017401"), true), "{e}");

    // Cards: registration answers an auth code too; unbinding its token.
    let card = json!({"cardData": "c2VhbGVkIGNhcmQ=|aXY=", "custIdMerchant": "cust-002", "phoneNo": "62813941306102", "additionalInfo": {
        "channel": "DIRECT_DEBIT_BRI_SNAP", "successRegistrationUrl": "https://merchant.example/ok", "failedRegistrationUrl": "https://merchant.example/failed"}});
    let registered = expect(&call(&c, "card_registration", &card, "{}"), 200, "2000100");
    let card_token = c.b2b2c_token(Grant::AuthorizationCode(registered["additionalInfo"]["authCode"].as_str().unwrap())).unwrap();
    let unbind = json!({"tokenId": card_token.access_token.as_str(), "additionalInfo": {"channel": "DIRECT_DEBIT_BRI_SNAP"}});
    expect(&call(&c, "card_unbinding", &unbind, "{}"), 200, "2000500");
}

/// The line of §4: a payment or refund whose answer was lost after sending is
/// `OutcomeUnknown` (and did happen); one that never reached DOKU keeps its transport status;
/// an operation that moves no money keeps it too.
#[test]
fn a_lost_answer_to_a_payment_is_outcome_unknown() {
    let s = setup(&["MCH-SLOW"], &[("MCH-SLOW", "delay:1500")]);
    let patient = s.client("MCH-SLOW", "");
    let hasty = s.client("MCH-SLOW", r#","timeout_ms":600"#);
    let binding = json!({"phoneNo": "62813941306101", "additionalInfo": {
        "channel": "DIRECT_DEBIT_ALLO_SNAP", "custIdMerchant": "cust-slow",
        "successRegistrationUrl": "https://merchant.example/ok", "failedRegistrationUrl": "https://merchant.example/failed"}});
    let bound = expect(&call(&patient, "account_binding", &binding, &format!("{{{IP},{DEVICE}}}")), 200, "2000700");
    let token = patient.b2b2c_token(Grant::AuthorizationCode(bound["additionalInfo"]["authCode"].as_str().unwrap())).unwrap();
    let with_token = format!(r#"{{"customerToken":{},{IP}}}"#, serde_json::to_string(token.access_token.as_str()).unwrap());
    let channel = json!({"channel": "DIRECT_DEBIT_ALLO_SNAP"});

    // The hasty client shares the patient one's B2B token: only the payment itself is slow.
    let payment = json!({"partnerReferenceNo": "SLOW-1", "amount": {"value": "700.00", "currency": "IDR"}, "additionalInfo": channel});
    let e = hasty.call("payment", Some(&payment.to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert!(e.message().starts_with("payment: outcome unknown: timed out waiting for an answer from localhost"), "{e}");
    assert!(e.message().ends_with("Do not send it again: call check_status with originalPartnerReferenceNo \"SLOW-1\" to learn its result"), "{e}");
    // DOKU did act: the status says so.
    let status = expect(&call(&patient, "check_status", &json!({"originalPartnerReferenceNo": "SLOW-1", "serviceCode": "54"}), "{}"), 200, "2005500");
    assert_eq!(status["latestTransactionStatus"], "00");

    let refund = json!({"originalPartnerReferenceNo": "SLOW-1", "partnerRefundNo": "SLOW-R1", "refundAmount": {"value": "1.00", "currency": "IDR"}, "additionalInfo": channel});
    let e = hasty.call("refund", Some(&refund.to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert!(e.message().contains("call check_status with originalPartnerReferenceNo \"SLOW-1\""), "{e}");
    // Regression (review): the same payment through request() to its path was a plain timeout,
    // which a retry-on-timeout policy would resend.
    let payment_path = CATALOG.iter().find(|op| op.name == "payment").unwrap().path;
    let again = json!({"partnerReferenceNo": "SLOW-2", "amount": {"value": "700.00", "currency": "IDR"}, "additionalInfo": channel});
    let e = hasty.request("POST", payment_path, Some(&again.to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert!(e.message().contains("call check_status with originalPartnerReferenceNo \"SLOW-2\""), "{e}");
    // The same timeout on an operation that moves no money is a timeout.
    let e = hasty.call("balance_inquiry", Some(&json!({"additionalInfo": channel}).to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");

    // Nothing listens: the payment never left, so it is a network error, not an unknown outcome.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = Client::from_json(&format!(
        r#"{{"client_id":"MCH-SLOW","private_key":{},"base_url":"http://127.0.0.1:{port}","proxy":"","client_secret":"{SECRET}","channel_id":"H2H"}}"#,
        serde_json::to_string(&s.pem).unwrap()
    ))
    .unwrap();
    let e = nowhere.call("payment", Some(&payment.to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");

    // A token fetch that times out sent none of the payment either: a timeout.
    let fresh = setup(&["MCH-SLOW"], &[("MCH-SLOW", "delay:1500")]);
    let e = fresh.client("MCH-SLOW", r#","timeout_ms":600"#).call("payment", Some(&payment.to_string()), &options(&with_token)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

/// A plain-HTTP server answering token requests with a token and every other request with
/// `answer`; counts the others.
fn lying_server(answer: &'static str) -> (String, Arc<Mutex<usize>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let (mut line, mut length) = (String::new(), 0usize);
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let token_request = line.contains("/access-token/");
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if header == "\r\n" {
                            break;
                        }
                    }
                    reader.by_ref().take(length as u64).read_to_end(&mut Vec::new()).unwrap();
                    let (status, body) = match token_request {
                        true => ("200 OK", r#"{"responseCode":"2007300","accessToken":"token-1","tokenType":"Bearer","expiresIn":900}"#),
                        false => {
                            *counted.lock().unwrap() += 1;
                            ("401 Unauthorized", answer)
                        }
                    };
                    let reply = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                    stream.write_all(reply.as_bytes()).unwrap();
                }
            });
        }
    });
    (url, calls)
}

/// Regression (review): any service's Invalid Token (`401xx01`) made the client resend a
/// payment, so a server that took it and answered `4017301` got it twice. Only the payment's
/// own service's code (`4015401`) is DOKU refusing its token.
#[test]
fn a_payment_is_resent_only_after_its_own_invalid_token() {
    let s = setup(&["MCH-UNUSED"], &[]);
    let payment = json!({"partnerReferenceNo": "LIE-1", "amount": {"value": "1.00", "currency": "IDR"}, "additionalInfo": {"channel": "DIRECT_DEBIT_ALLO_SNAP"}});
    for (answer, sent) in [
        (r#"{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}"#, 1),
        (r#"{"responseCode":"4015401","responseMessage":"Invalid Token (B2B)"}"#, 2),
    ] {
        let (url, calls) = lying_server(answer);
        let client = Client::from_json(&format!(
            r#"{{"client_id":"MCH-LIE","private_key":{},"base_url":"{url}","proxy":"","client_secret":"{SECRET}","channel_id":"H2H"}}"#,
            serde_json::to_string(&s.pem).unwrap()
        ))
        .unwrap();
        let r = call(&client, "payment", &payment, r#"{"customerToken":"customer-1","ipAddress":"203.0.113.7"}"#);
        assert_eq!(r.http_status, 401);
        assert_eq!(*calls.lock().unwrap(), sent, "{answer}");
    }
}

/// The shared run (tests/fixtures/every-operation.tsv): every operation of the catalog once,
/// as the C, C++, Python and PHP tests also run it through their bindings.
#[test]
fn every_operation_in_the_shared_run() {
    const RUN: &str = include_str!("fixtures/every-operation.tsv");
    let steps: Vec<Vec<&str>> = RUN.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').collect()).collect();
    let mut named: Vec<&str> = steps.iter().map(|s| s[0]).filter(|op| *op != "customer_token").collect();
    named.sort_unstable();
    let mut catalog: Vec<&str> = CATALOG.iter().map(|op| op.name).collect();
    catalog.sort_unstable();
    assert_eq!(named, catalog, "each operation once");

    let s = setup(&["MCH-RUN"], &[]);
    let c = s.client("MCH-RUN", "");
    let n = format!("{}", std::process::id());
    let (mut auth_code, mut customer) = (String::new(), String::new());
    for step in steps {
        let [op, code, body, options] = step[..] else { panic!("4 fields: {step:?}") };
        if op == "customer_token" {
            customer = c.b2b2c_token(Grant::AuthorizationCode(&auth_code)).unwrap().access_token.to_string();
            continue;
        }
        let fill = |text: &str| (text != "-").then(|| text.replace("{n}", &n).replace("{customerToken}", &customer));
        let options = CallOptions::parse(fill(options).as_deref()).unwrap();
        let r = c.call(op, fill(body).as_deref(), &options).unwrap_or_else(|e| panic!("{op}: {e}"));
        let answer = expect(&r, 200, code);
        if let Some(found) = answer["additionalInfo"]["authCode"].as_str() {
            auth_code = found.to_owned();
        }
    }
}
