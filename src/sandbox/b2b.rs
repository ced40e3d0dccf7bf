//! `POST /authorization/v1/access-token/b2b`: DOKU's checks in DOKU's order, with refusals
//! that explain themselves, then the token (or the client's response-replacing fault).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::fault::{Fault, FaultSet};
use super::http::Request;
use super::server::{json_response, ordered_json, raw_response, Body, Response};
use super::state::State;
use crate::signature::{b2b_string_to_sign, verify_rsa_sha256};
use crate::timestamp;

const HUGE_BYTES: usize = 4 * 1024 * 1024;
const STALL_DECLARED: usize = 1000;
const HTML_500: &str = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n\
<body><h1>Internal Server Error</h1><p>doku-sandbox: the http500 fault mode is set for this client.</p></body></html>\n";

/// Judges a token request. Returns the response and `"ok"` or `"refused"`; faults applied on
/// the way are pushed to `applied`.
pub(crate) fn token(
    state: &State,
    req: &Request,
    faults: &FaultSet,
    now: DateTime<Utc>,
    applied: &mut Vec<String>,
) -> (Response, &'static str) {
    let header = |name: &str| req.header(name).filter(|v| !v.is_empty());
    let echo = header("x-client-key");
    let refuse = |status: u16, code: &str, message: &str| {
        let fields = [("responseCode", json!(code)), ("responseMessage", json!(message))];
        (json_response(status, &fields, now, echo), "refused")
    };
    let (Some(client), Some(ts), Some(sig)) = (header("x-client-key"), header("x-timestamp"), header("x-signature")) else {
        let missing = [("x-client-key", "X-CLIENT-KEY"), ("x-timestamp", "X-TIMESTAMP"), ("x-signature", "X-SIGNATURE")]
            .into_iter()
            .find(|(h, _)| header(h).is_none())
            .map_or("X-SIGNATURE", |(_, name)| name);
        return refuse(400, "4007302", &format!("Invalid Mandatory Field {missing}"));
    };
    let Some(when) = timestamp::parse(ts) else {
        return refuse(400, "4007301", "Invalid Field Format X-TIMESTAMP");
    };
    if let Some(why) = body_problem(&req.body) {
        return refuse(400, "4007300", &format!("Bad Request. {why}"));
    }
    let Some(public_key) = state.clients.get(client) else {
        return refuse(401, "4017300", "Unauthorized. Unknown Client");
    };
    if faults.clock != 0 {
        applied.push(Fault::Clock(faults.clock).to_string());
    }
    let skew = when.timestamp().abs_diff(now.timestamp());
    if skew > state.max_skew {
        return refuse(
            401,
            "4017300",
            &format!("Unauthorized. X-TIMESTAMP is {skew} s away from the server clock (allowed: {} s)", state.max_skew),
        );
    }
    let signed = b2b_string_to_sign(client, ts);
    if let Err(e) = verify_rsa_sha256(public_key, signed.as_bytes(), sig) {
        // The reason comes from the verifier and never quotes the signature.
        let reason = e.message().strip_prefix("signature is invalid: ").unwrap_or(e.message());
        return refuse(
            401,
            "4017300",
            &format!(
                "Unauthorized. Invalid Signature (expected SHA256withRSA over {} with the registered public key: {reason})",
                Value::from(signed.as_str())
            ),
        );
    }

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
        Some(Fault::Error200) => json_response(
            200,
            &[("responseCode", json!("5007300")), ("responseMessage", json!("General Error"))],
            now,
            echo,
        ),
        Some(Fault::BadJson) => {
            let mut resp = json_response(200, &success(json!(ttl), None), now, echo);
            resp.body = Body::Full(br#"{"responseCode":"2007300","responseMessage":"Successful","accessToken":"eyJhbGciOi"#.to_vec());
            resp.code = None;
            resp
        }
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
        Some(Fault::StallBody) => {
            let mut resp = json_response(200, &[], now, echo);
            resp.body = Body::Stall { declared: STALL_DECLARED, sent: br#"{"response"#.to_vec() };
            resp.code = None;
            resp.close = true;
            resp
        }
        // Http500, the one replacing fault left.
        Some(_) => raw_response(500, "text/html", HTML_500.as_bytes().to_vec(), now),
    };
    (resp, "ok")
}

/// Why the body is not `{"grantType":"client_credentials"}`, if it is not.
fn body_problem(body: &[u8]) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(r#"The body is empty; expected {"grantType":"client_credentials"}"#.into());
    }
    let why = match serde_json::from_slice::<Value>(body) {
        Err(_) => "The body is not valid JSON".to_owned(),
        Ok(Value::Object(fields)) => match fields.get("grantType") {
            Some(Value::String(g)) if g == "client_credentials" => return None,
            Some(Value::String(g)) if g.len() <= 40 => {
                format!("grantType must be \"client_credentials\", not {}", Value::from(g.as_str()))
            }
            Some(_) => r#"grantType must be the string "client_credentials""#.to_owned(),
            None => r#"grantType is missing; expected "client_credentials""#.to_owned(),
        },
        Ok(_) => "The body must be a JSON object".to_owned(),
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_problems() {
        assert_eq!(body_problem(br#"{"grantType":"client_credentials"}"#), None);
        assert_eq!(body_problem(br#" {"grantType" : "client_credentials", "x": 1} "#), None);
        assert!(body_problem(b"").unwrap().contains("empty"));
        assert!(body_problem(b"{").unwrap().contains("not valid JSON"));
        assert!(body_problem(b"[1]").unwrap().contains("must be a JSON object"));
        assert!(body_problem(br#"{"grantType":"password"}"#).unwrap().contains(r#"not "password""#));
        assert!(body_problem(br#"{"grantType":1}"#).unwrap().contains("must be the string"));
        assert!(body_problem(br#"{"granttype":"client_credentials"}"#).unwrap().contains("missing"));
    }
}
