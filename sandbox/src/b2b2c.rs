//! `POST /authorization/v1/access-token/b2b2c` (service 74): the same header and signature
//! checks as the B2B token (`merchant::check_token_request_for`), then the grant. Any non-empty
//! auth code is accepted except ones starting with `invalid`; a refresh token must be one this
//! sandbox issued to the same client, live and not revoked.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::exchange::{Exchange, Handled};
use super::fault::{Fault, BAD_EXPIRY_TIME};
use super::state::lock;
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

/// Judges a customer token request: the customer's tokens, or a refusal.
pub(crate) fn token(x: &mut Exchange) -> Handled {
    let key_for = |id: &str| x.state.clients.get(id);
    let accepted = match check_token_request_for(TokenEndpoint::B2b2c, &|name| x.header(name), &x.req.body, x.now, x.state.max_skew, &key_for) {
        Ok(accepted) => accepted,
        Err(refusal) => return x.refuse(refusal.http_status, refusal.response_code, &refusal.message),
    };
    let client = accepted.client_id.as_str();
    // A customer token belongs to the account whose binding issued the auth code (such a code is
    // good once); any other code (tests use any) gets an account of its own. Refreshed tokens
    // keep theirs, so an unbinding revokes the whole chain.
    let binding = match &accepted.grant {
        GrantRequest::AuthorizationCode(code) if code.starts_with(INVALID_AUTH_CODE_PREFIX) => {
            return x.refuse(401, "4017401", "Invalid Auth Code");
        }
        GrantRequest::AuthorizationCode(code) => match lock(&x.state.books).redeem_auth_code(client, code) {
            Ok(binding) => binding,
            Err(why) => return x.refuse(401, "4017401", &format!("Invalid Auth Code: {why}")),
        },
        GrantRequest::RefreshToken(refresh) => match x.state.check_refresh_token(refresh, client) {
            Ok(binding) => binding,
            Err(why) => return x.refuse(401, "4017401", &format!("Invalid Refresh Token: {why}")),
        },
        // `check_token_request_for(B2b2c, …)` accepts only the two grants above.
        GrantRequest::ClientCredentials => return x.refuse(400, "4007400", "Bad Request. grantType must be authorization_code or refresh_token"),
    };

    let ttl = x.ttl();
    let Ok((access, refresh)) = x.state.issue_customer_tokens(client, ttl, REFRESH_TTL, binding) else {
        return x.refuse(500, "5007400", "General Error");
    };
    // DOKU writes these in WIB.
    let wib = Offset::parse("+07:00").unwrap_or(Offset::UTC);
    let access_expiry = if x.faults.bad_expiry {
        x.applied(Fault::BadExpiry);
        BAD_EXPIRY_TIME.to_owned()
    } else {
        wib.format(later(x.now, ttl))
    };
    let fields = [
        ("responseCode", json!(SUCCESS)),
        ("responseMessage", json!("Successful")),
        ("accessToken", json!(access)),
        ("tokenType", json!("Bearer")),
        ("accessTokenExpiryTime", json!(access_expiry)),
        ("refreshToken", json!(refresh.as_str())),
        ("refreshTokenExpiryTime", json!(wib.format(later(x.now, REFRESH_TTL)))),
        ("additionalInfo", json!({})),
    ];
    let resp = x.json(200, &fields);
    x.success(resp, "5007400")
}
