//! `POST /authorization/v1/access-token/b2b`: DOKU's checks (`merchant::check_token_request`,
//! shared with merchants answering DOKU), then the token or the client's response-replacing fault.

use serde_json::{json, Value};

use super::exchange::{replace_success, Exchange, Handled};
use super::fault::Fault;
use super::server::{ordered_json, Body};
use doku::merchant::{check_token_request, success_fields};

const HUGE_BYTES: usize = 4 * 1024 * 1024;

/// Judges a token request: the token, or what the client's token-answer fault makes of it.
pub(crate) fn token(x: &mut Exchange) -> Handled {
    let key_for = |id: &str| x.state.clients.get(id);
    let client = match check_token_request(&|name| x.header(name), &x.req.body, x.now, x.state.max_skew, &key_for) {
        Ok(client) => client,
        Err(r) => return x.refuse(r.http_status, r.response_code, &r.message),
    };
    let client = client.as_str();

    let ttl = x.ttl();
    let replace = x.faults.replace;
    if let Some(fault) = replace {
        x.applied(fault);
    }
    let needs_token = matches!(replace, None | Some(Fault::ExpiresString | Fault::Huge));
    let token = if needs_token {
        match x.state.issue_token(client, ttl) {
            Ok(t) => Some(t),
            Err(_) => return x.refuse(500, "5007300", "General Error"),
        }
    } else {
        None
    };
    let success = |expires: Value, token: Option<&str>| success_fields(token, expires);
    let resp = match replace {
        None => x.json(200, &success(json!(ttl), token.as_deref())),
        Some(Fault::ExpiresString) => x.json(200, &success(json!(ttl.to_string()), token.as_deref())),
        Some(Fault::NoToken) => x.json(200, &success(json!(ttl), None)),
        Some(Fault::Huge) => {
            // A complete, valid success whose additionalInfo pads it to 4 MiB: a client without a
            // size limit would accept it.
            let mut fields = success(json!(ttl), token.as_deref());
            fields.pop();
            let mut prefix = ordered_json(&fields);
            prefix.pop();
            prefix.push_str(r#","additionalInfo":{"padding":""#);
            let mut resp = x.json(200, &[]);
            resp.body = Body::Huge { prefix: prefix.into_bytes(), suffix: br#""}}"#.to_vec(), total: HUGE_BYTES };
            resp.code = Some("2007300".into());
            resp
        }
        // http500, error200, badjson, stall-body: as for every endpoint (badjson without a token).
        Some(fault) => replace_success(fault, x.json(200, &success(json!(ttl), None)), "5007300"),
    };
    (resp, "ok")
}
