//! `POST /authorization/v1/access-token/b2b2c` (service 74): the same header and signature
//! checks as the B2B token (`merchant::check_token_request_for`), then the grant. Any non-empty
//! auth code is accepted except ones starting with `invalid`; a refresh token must be one this
//! sandbox issued to the same client, live and not revoked.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::b2b::replace_success;
use super::fault::{Fault, FaultSet, BAD_EXPIRY_TIME};
use super::http::Request;
use super::server::{json_response, refusal, Response};
use super::state::State;
use doku::merchant::{check_token_request_for, GrantRequest, TokenEndpoint};
use doku::timestamp::Offset;
use doku::token::b2b2c::SUCCESS;

/// Refresh tokens live 30 days.
pub(crate) const REFRESH_TTL: u64 = 30 * 24 * 3600;
/// Auth codes starting with this are refused, so tests can provoke `4017401`.
pub(crate) const INVALID_AUTH_CODE_PREFIX: &str = "invalid";

fn later(now: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    TimeDelta::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).and_then(|d| now.checked_add_signed(d)).unwrap_or(now)
}

/// Judges a customer token request. Returns the response and `"ok"` or `"refused"`; faults
/// applied on the way are pushed to `applied`.
pub(crate) fn token(
    state: &State,
    req: &Request,
    faults: &FaultSet,
    now: DateTime<Utc>,
    applied: &mut Vec<String>,
) -> (Response, &'static str) {
    let echo = req.header("x-client-key").filter(|v| !v.is_empty());
    let refuse = |status: u16, code: &str, message: String| refusal(status, code, &message, now, echo);
    let header = |name: &str| req.header(&name.to_ascii_lowercase());
    let key_for = |id: &str| state.clients.get(id);
    let accepted = match check_token_request_for(TokenEndpoint::B2b2c, &header, &req.body, now, state.max_skew, &key_for) {
        Ok(accepted) => accepted,
        Err(refusal) => return refuse(refusal.http_status, refusal.response_code, refusal.message),
    };
    let client = accepted.client_id.as_str();
    match &accepted.grant {
        GrantRequest::AuthorizationCode(code) if code.starts_with(INVALID_AUTH_CODE_PREFIX) => {
            return refuse(401, "4017401", "Invalid Auth Code".into());
        }
        GrantRequest::RefreshToken(refresh) => {
            if let Err(why) = state.check_refresh_token(refresh, client) {
                return refuse(401, "4017401", format!("Invalid Refresh Token: {why}"));
            }
        }
        _ => {}
    }

    let ttl = faults.ttl.unwrap_or(state.token_ttl);
    if faults.ttl.is_some() {
        applied.push(Fault::Ttl(ttl).to_string());
    }
    let Ok((access, refresh)) = state.issue_customer_tokens(client, ttl, REFRESH_TTL) else {
        return refuse(500, "5007400", "General Error".into());
    };
    // DOKU writes these in WIB.
    let wib = Offset::parse("+07:00").unwrap_or(Offset::UTC);
    let access_expiry = if faults.bad_expiry {
        applied.push(Fault::BadExpiry.to_string());
        BAD_EXPIRY_TIME.to_owned()
    } else {
        wib.format(later(now, ttl))
    };
    let fields = [
        ("responseCode", json!(SUCCESS)),
        ("responseMessage", json!("Successful")),
        ("accessToken", json!(access)),
        ("tokenType", json!("Bearer")),
        ("accessTokenExpiryTime", json!(access_expiry)),
        ("refreshToken", json!(refresh.as_str())),
        ("refreshTokenExpiryTime", json!(wib.format(later(now, REFRESH_TTL)))),
        ("additionalInfo", json!({})),
    ];
    let mut resp = json_response(200, &fields, now, echo);
    if let Some(fault) = faults.replace.filter(|f| f.replaces_any_answer()) {
        applied.push(fault.to_string());
        resp = replace_success(Some(fault), resp, "5007400");
    }
    (resp, "ok")
}
