//! `POST /authorization/v1/access-token/b2b`: DOKU's checks (`merchant::check_token_request`,
//! shared with merchants answering DOKU), then the token or the client's response-replacing fault.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::fault::{Fault, FaultSet};
use super::http::Request;
use super::server::{json_response, ordered_json, raw_response, refusal, Body, Response};
use super::state::State;
use doku::merchant::check_token_request;

const HUGE_BYTES: usize = 4 * 1024 * 1024;
const STALL_DECLARED: usize = 1000;
const HTML_500: &str = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n\
<body><h1>Internal Server Error</h1><p>doku-sandbox: the http500 fault mode is set for this client.</p></body></html>\n";

/// A success as a response-replacing fault turns it: `http500` an HTML page, `error200` HTTP 200
/// with the service's General Error code (`general_error`, e.g. `5007300`), `badjson` the body
/// cut in half, `stall-body` a declared 1000 bytes of which 10 are sent. Any other fault, or
/// none, leaves it unchanged. Shared by every endpoint that answers a client.
pub(crate) fn replace_success(fault: Option<Fault>, mut resp: Response, general_error: &str) -> Response {
    let Body::Full(body) = &resp.body else { return resp };
    let now = resp.now;
    match fault {
        Some(Fault::Http500) => raw_response(500, "text/html", HTML_500.as_bytes().to_vec(), now),
        Some(Fault::Error200) => {
            let echo = resp.headers.iter().find(|(n, _)| *n == "X-CLIENT-KEY").map(|(_, v)| v.clone());
            let fields = [("responseCode", json!(general_error)), ("responseMessage", json!("General Error"))];
            json_response(200, &fields, now, echo.as_deref())
        }
        Some(Fault::BadJson) => {
            let half = body[..body.len() / 2].to_vec();
            resp.body = Body::Full(half);
            resp.code = None;
            resp
        }
        Some(Fault::StallBody) => {
            let sent = body[..body.len().min(10)].to_vec();
            resp.body = Body::Stall { declared: STALL_DECLARED.max(body.len()), sent };
            resp.code = None;
            resp.close = true;
            resp
        }
        _ => resp,
    }
}

/// Judges a token request. Returns the response and `"ok"` or `"refused"`; faults applied on
/// the way are pushed to `applied`.
pub(crate) fn token(
    state: &State,
    req: &Request,
    faults: &FaultSet,
    now: DateTime<Utc>,
    applied: &mut Vec<String>,
) -> (Response, &'static str) {
    let echo = req.header("x-client-key").filter(|v| !v.is_empty());
    let refuse = |status: u16, code: &str, message: &str| refusal(status, code, message, now, echo);
    let header = |name: &str| req.header(&name.to_ascii_lowercase());
    let key_for = |id: &str| state.clients.get(id);
    let client = match check_token_request(&header, &req.body, now, state.max_skew, &key_for) {
        Ok(client) => client,
        Err(r) => return refuse(r.http_status, r.response_code, &r.message),
    };
    let client = client.as_str();

    let ttl = faults.ttl.unwrap_or(state.token_ttl);
    if faults.ttl.is_some() {
        applied.push(Fault::Ttl(ttl).to_string());
    }
    if let Some(fault) = faults.replace {
        applied.push(fault.to_string());
    }
    let needs_token = matches!(faults.replace, None | Some(Fault::ExpiresString | Fault::Huge));
    let token = if needs_token {
        match state.issue_token(client, ttl) {
            Ok(t) => Some(t),
            Err(_) => return refuse(500, "5007300", "General Error"),
        }
    } else {
        None
    };
    let success = |expires: Value, token: Option<&str>| {
        let mut fields = vec![("responseCode", json!("2007300")), ("responseMessage", json!("Successful"))];
        if let Some(t) = token {
            fields.push(("accessToken", json!(t)));
        }
        fields.extend([("tokenType", json!("Bearer")), ("expiresIn", expires), ("additionalInfo", json!({}))]);
        fields
    };
    let resp = match faults.replace {
        None => json_response(200, &success(json!(ttl), token.as_deref()), now, echo),
        Some(Fault::ExpiresString) => json_response(200, &success(json!(ttl.to_string()), token.as_deref()), now, echo),
        Some(Fault::NoToken) => json_response(200, &success(json!(ttl), None), now, echo),
        Some(Fault::Huge) => {
            // A complete, valid success whose additionalInfo pads it to 4 MiB: a client without a
            // size limit would accept it.
            let mut fields = success(json!(ttl), token.as_deref());
            fields.pop();
            let mut prefix = ordered_json(&fields);
            prefix.pop();
            prefix.push_str(r#","additionalInfo":{"padding":""#);
            let mut resp = json_response(200, &[], now, echo);
            resp.body = Body::Huge { prefix: prefix.into_bytes(), suffix: br#""}}"#.to_vec(), total: HUGE_BYTES };
            resp.code = Some("2007300".into());
            resp
        }
        // http500, error200, badjson, stall-body: as for every endpoint (badjson without a token).
        Some(fault) => replace_success(Some(fault), json_response(200, &success(json!(ttl), None), now, echo), "5007300"),
    };
    (resp, "ok")
}
