//! The merchant side of SNAP (snap-reference §4): before notifying a merchant, DOKU asks the
//! merchant for a B2B token, signed with DOKU's private key over `client_id|timestamp`. The
//! merchant judges that request exactly as DOKU judges a merchant's, and answers with an RS256
//! JWT it signs itself; DOKU then presents that JWT on every notification.
//!
//! [`check_token_request`] is the one implementation of DOKU's checks: the sandbox judges
//! merchants with it, and merchants judge DOKU with it through [`issue_token`].

use std::sync::Arc;

pub mod answer;
pub mod notification;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{openssl_reason, Error, ErrorKind, Result};
use crate::jwt;
use crate::key::{PrivateKey, PublicKey};
use crate::options::{DefaultValue, Options};
use crate::signature::{b2b_string_to_sign, verify_rsa_sha256};
use crate::timestamp;
use crate::token::{B2B_BODY, B2B_SUCCESS};

/// Every key of `doku_issue_token`'s options. doku.h's comment of `doku_issue_token` and
/// README.md's token-issuer table describe each one (tests/docs.rs checks both).
pub const ISSUER_KEYS: &[&str] = &[
    "client_id",
    "doku_public_key",
    "doku_public_key_file",
    "merchant_private_key",
    "merchant_private_key_file",
    "merchant_private_key_passphrase",
    "ttl_s",
    "max_skew_s",
];
/// Kept raw until taken, never unescaped by serde_json (see `crate::options`).
// DOKU's public key and the file options too: a private key given there by mistake is a secret.
const ISSUER_SECRET_KEYS: &[&str] =
    &["merchant_private_key", "merchant_private_key_passphrase", "merchant_private_key_file", "doku_public_key", "doku_public_key_file"];
pub const DEFAULT_TTL: u64 = 900;
pub const DEFAULT_MAX_SKEW: u64 = 300;
/// The longest token lifetime and clock skew an issuer accepts: a day.
pub(crate) const MAX_SECONDS: u64 = 86_400;
/// Each default by its key, as the docs state them (tests/docs.rs).
pub const ISSUER_DEFAULTS: &[(&str, DefaultValue)] =
    &[("ttl_s", DefaultValue::Number(DEFAULT_TTL)), ("max_skew_s", DefaultValue::Number(DEFAULT_MAX_SKEW))];

/// A refused token request: the HTTP status, DOKU's responseCode and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub http_status: u16,
    pub response_code: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(http_status: u16, response_code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { http_status, response_code, message: message.into() }
    }

    /// The response body: `{"responseCode":…,"responseMessage":…}`.
    pub fn to_json(&self) -> String {
        json!({"responseCode": self.response_code, "responseMessage": self.message}).to_string()
    }
}

/// Which token endpoint a request is judged for. It fixes the service code of every refusal
/// (73 or 74) and the bodies accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `POST /authorization/v1/access-token/b2b`: `{"grantType":"client_credentials"}`.
    B2b,
    /// `POST /authorization/v1/access-token/b2b2c`: `{"grantType":"authorization_code","authCode":…}`
    /// or `{"grantType":"refresh_token","refreshToken":…}`.
    B2b2c,
}

impl TokenEndpoint {
    /// `responseCode`s: 400xx00 bad request, 400xx01 field format, 400xx02 mandatory field,
    /// 401xx00 unauthorized.
    fn code(self, status: u16, case: u8) -> &'static str {
        match (self, status, case) {
            (TokenEndpoint::B2b, 400, 0) => "4007300",
            (TokenEndpoint::B2b, 400, 1) => "4007301",
            (TokenEndpoint::B2b, 400, 2) => "4007302",
            (TokenEndpoint::B2b, _, _) => "4017300",
            (TokenEndpoint::B2b2c, 400, 0) => "4007400",
            (TokenEndpoint::B2b2c, 400, 1) => "4007401",
            (TokenEndpoint::B2b2c, 400, 2) => "4007402",
            (TokenEndpoint::B2b2c, _, _) => "4017400",
        }
    }
}

/// What an accepted token request asks for.
#[derive(Clone, PartialEq, Eq)]
pub enum GrantRequest {
    ClientCredentials,
    AuthorizationCode(String),
    RefreshToken(String),
}

impl std::fmt::Debug for GrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print codes or refresh tokens.
        f.write_str(match self {
            GrantRequest::ClientCredentials => "ClientCredentials",
            GrantRequest::AuthorizationCode(_) => "AuthorizationCode(…)",
            GrantRequest::RefreshToken(_) => "RefreshToken(…)",
        })
    }
}

/// An accepted token request: the authenticated client and its grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub client_id: String,
    pub grant: GrantRequest,
}

/// DOKU's checks of a `POST /authorization/v1/access-token/b2b`, in DOKU's order: mandatory
/// headers, timestamp format, body, client, clock skew, signature. `header` looks headers up
/// case-insensitively; `key_for` gives the public key registered for an `X-CLIENT-KEY`.
/// Returns the client id. Refusals explain themselves; they never quote the signature.
pub fn check_token_request<'h, 'k>(
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: DateTime<Utc>,
    max_skew: u64,
    key_for: &dyn Fn(&str) -> Option<&'k PublicKey>,
) -> std::result::Result<String, Refusal> {
    check_token_request_for(TokenEndpoint::B2b, header, body, now, max_skew, key_for).map(|a| a.client_id)
}

/// [`check_token_request`] for either token endpoint: the same checks in the same order, with
/// the endpoint's service code and body. For B2B2C, a body without its `authCode` or
/// `refreshToken` is `400xx02` Invalid Mandatory Field; whether the code or refresh token is
/// valid is for the caller to judge.
pub fn check_token_request_for<'h, 'k>(
    endpoint: TokenEndpoint,
    header: &dyn Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now: DateTime<Utc>,
    max_skew: u64,
    key_for: &dyn Fn(&str) -> Option<&'k PublicKey>,
) -> std::result::Result<Accepted, Refusal> {
    let refuse = |status: u16, case: u8, message: String| Refusal::new(status, endpoint.code(status, case), message);
    let present = |name: &str| header(name).filter(|v| !v.is_empty());
    for name in ["X-CLIENT-KEY", "X-TIMESTAMP", "X-SIGNATURE"] {
        if present(name).is_none() {
            return Err(refuse(400, 2, format!("Invalid Mandatory Field {name}")));
        }
    }
    let (client, ts, sig) =
        (present("X-CLIENT-KEY").unwrap_or_default(), present("X-TIMESTAMP").unwrap_or_default(), present("X-SIGNATURE").unwrap_or_default());
    let Some(when) = timestamp::parse(ts) else {
        return Err(refuse(400, 1, "Invalid Field Format X-TIMESTAMP".into()));
    };
    let grant = match endpoint {
        TokenEndpoint::B2b => b2b_body(body).map_err(|why| refuse(400, 0, format!("Bad Request. {why}")))?,
        TokenEndpoint::B2b2c => b2b2c_body(body).map_err(|(case, why)| refuse(400, case, why))?,
    };
    let Some(public_key) = key_for(client) else {
        return Err(refuse(401, 0, "Unauthorized. Unknown Client".into()));
    };
    if let Some(why) = skew_problem(when.to_utc(), now, max_skew) {
        return Err(refuse(401, 0, format!("Unauthorized. {why}")));
    }
    let signed = b2b_string_to_sign(client, ts);
    if let Err(e) = verify_rsa_sha256(public_key, signed.as_bytes(), sig) {
        let reason = e.message().strip_prefix("signature is invalid: ").unwrap_or(e.message());
        return Err(refuse(
            401,
            0,
            format!(
                "Unauthorized. Invalid Signature (expected SHA256withRSA over {} with the registered public key: {reason})",
                Value::from(signed.as_str())
            ),
        ));
    }
    Ok(Accepted { client_id: client.to_owned(), grant })
}

/// The freshness check on `X-TIMESTAMP`: why `when` is too far from `now`, if it is.
pub fn skew_problem(when: DateTime<Utc>, now: DateTime<Utc>, max_skew: u64) -> Option<String> {
    let skew = when.timestamp().abs_diff(now.timestamp());
    (skew > max_skew).then(|| format!("X-TIMESTAMP is {skew} s away from the server clock (allowed: {max_skew} s)"))
}

/// The body as a JSON object, or why it is not one.
fn body_object(body: &[u8], expected: &str) -> std::result::Result<serde_json::Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("The body is empty; expected {expected}"));
    }
    match serde_json::from_slice::<Value>(body) {
        Err(_) => Err("The body is not valid JSON".to_owned()),
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("The body must be a JSON object".to_owned()),
    }
}

/// `grantType` must be one of `allowed`; otherwise why not.
fn grant_type<'a>(fields: &'a serde_json::Map<String, Value>, allowed: &[&str]) -> std::result::Result<&'a str, String> {
    let expected = allowed.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(" or ");
    match fields.get("grantType") {
        Some(Value::String(g)) if allowed.contains(&g.as_str()) => Ok(g),
        Some(Value::String(g)) if g.len() <= 40 => Err(format!("grantType must be {expected}, not {}", Value::from(g.as_str()))),
        Some(_) => Err(format!("grantType must be the string {expected}")),
        None => Err(format!("grantType is missing; expected {expected}")),
    }
}

/// `{"grantType":"client_credentials"}`, or why the body is not that.
fn b2b_body(body: &[u8]) -> std::result::Result<GrantRequest, String> {
    let fields = body_object(body, B2B_BODY)?;
    grant_type(&fields, &["client_credentials"])?;
    Ok(GrantRequest::ClientCredentials)
}

/// An auth code or refresh token grant; else the case code (00 or 02) and the message.
fn b2b2c_body(body: &[u8]) -> std::result::Result<GrantRequest, (u8, String)> {
    let bad = |why: String| (0, format!("Bad Request. {why}"));
    let fields = body_object(body, r#"{"grantType":"authorization_code","authCode":"…"}"#).map_err(bad)?;
    let grant = grant_type(&fields, &["authorization_code", "refresh_token"]).map_err(bad)?;
    let field = if grant == "authorization_code" { "authCode" } else { "refreshToken" };
    let value = match fields.get(field) {
        Some(Value::String(v)) if !v.trim().is_empty() => v.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) => return Err((2, format!("Invalid Mandatory Field {field}"))),
        Some(_) => return Err((1, format!("Invalid Field Format {field}"))),
    };
    Ok(if grant == "authorization_code" { GrantRequest::AuthorizationCode(value) } else { GrantRequest::RefreshToken(value) })
}

/// The claims of an issued token: `iss`, `iat`, `exp`, `clientId` and a random `jti`.
pub fn token_claims(issuer: &str, client_id: &str, ttl: u64, now: DateTime<Utc>) -> Result<Value> {
    let iat = now.timestamp();
    let exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id).map_err(|e| Error::new(ErrorKind::Crypto, openssl_reason(&e)))?;
    let jti = crate::signature::hex(&id);
    Ok(json!({"iss": issuer, "iat": iat, "exp": exp, "clientId": client_id, "jti": jti}))
}

/// What a merchant needs to answer DOKU's token request.
#[derive(Debug)]
pub struct TokenIssuer {
    /// The merchant's client id: the `X-CLIENT-KEY` DOKU sends.
    pub client_id: String,
    /// DOKU's public key, which verifies the request's signature.
    pub doku_public_key: Arc<PublicKey>,
    /// The merchant's private key, which signs the JWT.
    pub merchant_key: Arc<PrivateKey>,
    /// Token lifetime, seconds.
    pub ttl: u64,
    /// Largest accepted X-TIMESTAMP distance from the clock, seconds.
    pub max_skew: u64,
}

impl TokenIssuer {
    /// The issuer that `doku_issue_token`'s options describe (`ISSUER_KEYS`), read as strictly
    /// as the client config.
    pub fn from_json(text: &str) -> Result<TokenIssuer> {
        let mut o = Options::parse("options", text, ISSUER_KEYS, ISSUER_SECRET_KEYS)?;
        let client_id = o.required_header_value("client_id")?;
        let ttl = o.integer("ttl_s", 1, MAX_SECONDS)?.unwrap_or(DEFAULT_TTL);
        let max_skew = o.integer("max_skew_s", 1, MAX_SECONDS)?.unwrap_or(DEFAULT_MAX_SKEW);
        let doku_public_key = o.key("doku_public_key", "doku_public_key_file")?;
        let merchant_key = o.key("merchant_private_key", "merchant_private_key_file")?;
        let passphrase = o.secret("merchant_private_key_passphrase")?;
        let doku_public_key = doku_public_key.public_key()?;
        let merchant_key = merchant_key.private_key(passphrase.as_ref())?;
        Ok(TokenIssuer { client_id, doku_public_key, merchant_key, ttl, max_skew })
    }

    /// Judges the request and returns the HTTP status and the exact JSON body to answer with:
    /// `2007300` with a fresh RS256 JWT, or the refusal's code and message.
    pub fn answer<'h>(&self, header: &dyn Fn(&str) -> Option<&'h str>, body: &[u8], now: DateTime<Utc>) -> Result<(u16, String)> {
        let key_for = |id: &str| (id == self.client_id).then_some(&*self.doku_public_key);
        match check_token_request(header, body, now, self.max_skew, &key_for) {
            Err(refusal) => Ok((refusal.http_status, refusal.to_json())),
            Ok(client) => {
                let token = jwt::sign_rs256(&self.merchant_key, &token_claims(&self.client_id, &client, self.ttl, now)?)?;
                Ok((200, success_json(&token, self.ttl)))
            }
        }
    }
}

/// A request's headers as `doku_issue_token` takes them: a JSON object of header names to
/// string values.
pub struct JsonHeaders(serde_json::Map<String, Value>);

impl JsonHeaders {
    pub fn parse(json: &str) -> Result<JsonHeaders> {
        match serde_json::from_str(json) {
            Ok(Value::Object(m)) if m.values().all(Value::is_string) => Ok(JsonHeaders(m)),
            _ => Err(Error::invalid("headers_json must be a JSON object of header names to string values")),
        }
    }

    /// The value of the header named `name`, in any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
    }
}

/// The fields of a successful B2B token answer, in DOKU's order, as its B2B token page shows
/// them: `additionalInfo` is a string there (its PHP SDK cannot read an object). The sandbox
/// answers with the same fields (a token-less answer is one of its faults).
pub fn success_fields(token: Option<&str>, expires_in: Value) -> Vec<(&'static str, Value)> {
    let mut fields = vec![("responseCode", json!(B2B_SUCCESS)), ("responseMessage", json!("Successful"))];
    if let Some(token) = token {
        fields.push(("accessToken", json!(token)));
    }
    fields.extend([("tokenType", json!("Bearer")), ("expiresIn", expires_in), ("additionalInfo", json!(""))]);
    fields
}

/// The body of a successful B2B token answer: `success_fields` in their order.
pub fn success_json(token: &str, ttl: u64) -> String {
    let fields: Vec<String> = success_fields(Some(token), json!(ttl)).iter().map(|(name, value)| format!("{}:{value}", json!(name))).collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {

    /// DOKU's B2B token page's sample answer, field for field and type for type (issue 13: an
    /// object as additionalInfo made the official PHP SDK throw on every token).
    #[test]
    fn the_token_answer_is_the_documented_one() {
        let documented = r#"{"responseCode":"2007300","responseMessage":"Successful","accessToken":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","tokenType":"Bearer","expiresIn":900,"additionalInfo":""}"#;
        assert_eq!(success_json("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", 900), documented);
        let parsed = crate::token::parse_b2b_response(200, documented.as_bytes()).unwrap();
        assert_eq!((parsed.access_token.as_str(), parsed.expires_in), ("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", 900));
    }
    use super::*;
    use crate::key::tests::test_keys;
    use crate::signature::sign_rsa_sha256;
    use std::collections::HashMap;

    const BODY: &[u8] = br#"{"grantType":"client_credentials"}"#;

    fn judge(headers: &HashMap<&str, String>, body: &[u8], key: &PublicKey) -> std::result::Result<String, Refusal> {
        let header = |n: &str| -> Option<&str> { headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str()) };
        let key_for = |id: &str| (id == "MCH").then_some(key);
        check_token_request(&header, body, Utc::now(), DEFAULT_MAX_SKEW, &key_for)
    }

    fn signed(sk: &PrivateKey, id: &str, ts: &str) -> HashMap<&'static str, String> {
        let sig = sign_rsa_sha256(sk, b2b_string_to_sign(id, ts).as_bytes()).unwrap();
        HashMap::from([("x-client-key", id.to_owned()), ("X-Timestamp", ts.to_owned()), ("X-SIGNATURE", sig)])
    }

    #[test]
    fn checks_in_dokus_order() {
        let (sk, pk) = test_keys();
        let now = timestamp::now_utc();
        assert_eq!(judge(&signed(&sk, "MCH", &now), BODY, &pk).unwrap(), "MCH");
        let wib = crate::timestamp::Offset::parse("+07:00").unwrap().now();
        assert_eq!(judge(&signed(&sk, "MCH", &wib), BODY, &pk).unwrap(), "MCH");

        let refused = |h: &HashMap<&str, String>, body: &[u8]| judge(h, body, &pk).unwrap_err();
        let mut h = signed(&sk, "MCH", &now);
        h.remove("X-SIGNATURE");
        assert_eq!(refused(&h, BODY), Refusal::new(400, "4007302", "Invalid Mandatory Field X-SIGNATURE"));
        let mut h = signed(&sk, "MCH", &now);
        h.insert("X-Timestamp", "2020-09-22 01:51:00".into());
        assert_eq!(refused(&h, BODY).response_code, "4007301");
        // A multi-byte character across byte 19 is the same refusal, not a panic.
        h.insert("X-Timestamp", "2022-10-07T14:18:3é".into());
        assert_eq!(refused(&h, BODY), Refusal::new(400, "4007301", "Invalid Field Format X-TIMESTAMP"));
        let r = refused(&signed(&sk, "MCH", &now), br#"{"grantType":"password"}"#);
        assert_eq!((r.http_status, r.response_code), (400, "4007300"));
        assert_eq!(refused(&signed(&sk, "OTHER", &now), BODY).message, "Unauthorized. Unknown Client");
        let stale = timestamp::Offset::UTC.format(Utc::now() - chrono::TimeDelta::seconds(400));
        assert!(refused(&signed(&sk, "MCH", &stale), BODY).message.contains("away from the server clock"));
        let mut h = signed(&sk, "MCH", &now);
        // A second before the signed one (not "now - 1 s": the clock may have ticked since).
        let earlier = timestamp::parse(&now).unwrap().to_utc() - chrono::TimeDelta::seconds(1);
        h.insert("X-Timestamp", timestamp::Offset::UTC.format(earlier));
        let r = refused(&h, BODY);
        assert_eq!((r.http_status, r.response_code), (401, "4017300"));
        assert!(r.message.starts_with("Unauthorized. Invalid Signature (expected SHA256withRSA over \"MCH|"), "{}", r.message);
    }

    #[test]
    fn b2b2c_requests_use_service_74_and_their_own_bodies() {
        let (sk, pk) = test_keys();
        let h = signed(&sk, "MCH", &timestamp::now_utc());
        let header = |n: &str| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
        let key_for = |id: &str| (id == "MCH").then_some(&pk);
        let judge = |body: &str| check_token_request_for(TokenEndpoint::B2b2c, &header, body.as_bytes(), Utc::now(), 300, &key_for);
        let ok = judge(r#"{"grantType":"authorization_code","authCode":"c1"}"#).unwrap();
        assert_eq!((ok.client_id.as_str(), &ok.grant), ("MCH", &GrantRequest::AuthorizationCode("c1".into())));
        let ok = judge(r#"{"grantType":"refresh_token","refreshToken":"r1"}"#).unwrap();
        assert_eq!(ok.grant, GrantRequest::RefreshToken("r1".into()));
        assert_eq!(format!("{:?}", ok.grant), "RefreshToken(…)", "Debug hides the token");
        let refused = |body: &str| {
            let r = judge(body).unwrap_err();
            (r.http_status, r.response_code, r.message)
        };
        assert_eq!(refused(r#"{"grantType":"authorization_code"}"#), (400, "4007402", "Invalid Mandatory Field authCode".into()));
        assert_eq!(refused(r#"{"grantType":"refresh_token","refreshToken":" "}"#), (400, "4007402", "Invalid Mandatory Field refreshToken".into()));
        assert_eq!(refused(r#"{"grantType":"authorization_code","authCode":7}"#).1, "4007401");
        let (status, code, message) = refused(BODY_STR);
        assert_eq!((status, code), (400, "4007400"));
        assert_eq!(message, r#"Bad Request. grantType must be "authorization_code" or "refresh_token", not "client_credentials""#);
        assert_eq!(refused("").1, "4007400");
        // Headers and signature as for B2B, with 74 codes.
        let empty = |_: &str| None;
        let r = check_token_request_for(TokenEndpoint::B2b2c, &empty, b"{}", Utc::now(), 300, &key_for).unwrap_err();
        assert_eq!((r.response_code, r.message.as_str()), ("4007402", "Invalid Mandatory Field X-CLIENT-KEY"));
        let other = |_: &str| None;
        let r =
            check_token_request_for(TokenEndpoint::B2b2c, &header, br#"{"grantType":"authorization_code","authCode":"c"}"#, Utc::now(), 300, &other)
                .unwrap_err();
        assert_eq!((r.http_status, r.response_code), (401, "4017400"));
        // The B2B check is the same function.
        let r = check_token_request_for(TokenEndpoint::B2b, &header, BODY, Utc::now(), 300, &key_for).unwrap();
        assert_eq!(r.grant, GrantRequest::ClientCredentials);
    }

    const BODY_STR: &str = r#"{"grantType":"client_credentials"}"#;

    #[test]
    fn skew() {
        let now = Utc::now();
        assert_eq!(skew_problem(now - chrono::TimeDelta::seconds(300), now, 300), None);
        assert_eq!(
            skew_problem(now + chrono::TimeDelta::seconds(301), now, 300).unwrap(),
            "X-TIMESTAMP is 301 s away from the server clock (allowed: 300 s)"
        );
    }

    #[test]
    fn issues_a_jwt_that_validates() {
        let (sk, pk) = test_keys();
        let (sk, pk) = (Arc::new(sk), Arc::new(pk));
        let issuer = TokenIssuer { client_id: "MCH".into(), doku_public_key: pk.clone(), merchant_key: sk.clone(), ttl: 900, max_skew: 300 };
        let headers = signed(&sk, "MCH", &timestamp::now_utc());
        let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
        let (status, body) = issuer.answer(&header, BODY, Utc::now()).unwrap();
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["responseCode"].as_str(), v["tokenType"].as_str(), v["expiresIn"].as_u64()), (Some("2007300"), Some("Bearer"), Some(900)));
        let claims = jwt::verify_rs256(v["accessToken"].as_str().unwrap(), &pk, Utc::now().timestamp()).unwrap();
        assert_eq!((claims["iss"].as_str(), claims["clientId"].as_str()), (Some("MCH"), Some("MCH")));
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);

        let empty = |_: &str| None;
        let (status, body) = issuer.answer(&empty, BODY, Utc::now()).unwrap();
        assert_eq!((status, body.as_str()), (400, r#"{"responseCode":"4007302","responseMessage":"Invalid Mandatory Field X-CLIENT-KEY"}"#));
    }

    #[test]
    fn json_headers() {
        let h = JsonHeaders::parse(r#"{"x-client-key":"MCH","X-Timestamp":"2022-10-07T14:18:3é"}"#).unwrap();
        assert_eq!((h.get("X-CLIENT-KEY"), h.get("x-timestamp"), h.get("X-SIGNATURE")), (Some("MCH"), Some("2022-10-07T14:18:3é"), None));
        for bad in ["", "[]", r#"{"X-CLIENT-KEY":1}"#, r#"{"a":null}"#, "{"] {
            let e = JsonHeaders::parse(bad).err().unwrap();
            assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, "headers_json must be a JSON object of header names to string values"));
        }
    }

    #[test]
    fn issuer_options() {
        let k = crate::key::tests::test_key();
        let private = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let public = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
        let json = |v: &str| serde_json::to_string(v).unwrap();
        let base = format!(r#""client_id":"MCH","doku_public_key":{},"merchant_private_key":{}"#, json(&public), json(&private));
        let issuer = |extra: &str| TokenIssuer::from_json(&format!("{{{base}{extra}}}"));

        let i = issuer("").unwrap();
        assert_eq!((i.client_id.as_str(), i.ttl, i.max_skew), ("MCH", DEFAULT_TTL, DEFAULT_MAX_SKEW));
        assert!(i.doku_public_key.pkey().public_eq(i.merchant_key.pkey()), "both keys read");
        let i = issuer(r#","ttl_s":60,"max_skew_s":86400,"merchant_private_key_passphrase":null"#).unwrap();
        assert_eq!((i.ttl, i.max_skew), (60, 86_400));

        // Files, and an encrypted key with its passphrase.
        let dir = std::env::temp_dir().join(format!("doku-issuer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pub_file, key_file) = (dir.join("doku.pem"), dir.join("enc.pem"));
        std::fs::write(&pub_file, &public).unwrap();
        std::fs::write(&key_file, k.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pw-77d1").unwrap()).unwrap();
        let files = |pass: &str| {
            TokenIssuer::from_json(&format!(
                r#"{{"client_id":"MCH","doku_public_key_file":{},"merchant_private_key_file":{}{pass}}}"#,
                json(pub_file.to_str().unwrap()),
                json(key_file.to_str().unwrap())
            ))
        };
        assert_eq!(files(r#","merchant_private_key_passphrase":"pw-77d1""#).unwrap().merchant_key.fingerprint(), i.merchant_key.fingerprint());
        let wrong = files(r#","merchant_private_key_passphrase":"nope-3c1a""#).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::Key);
        assert!(wrong.message().contains("wrong passphrase") && !wrong.message().contains("nope-3c1a"), "{wrong}");
        std::fs::remove_dir_all(&dir).unwrap();

        let invalid: &[(&str, &str)] = &[
            (r#","ttl":900"#, "options: unknown key \"ttl\" (known keys: client_id, doku_public_key,"),
            (r#","ttl_s":0"#, "options: ttl_s must be an integer ≥ 1"),
            (r#","ttl_s":86401"#, "options: ttl_s must be at most 86400"),
            (r#","ttl_s":"900""#, "options: ttl_s must be a number"),
            (r#","max_skew_s":-1"#, "options: max_skew_s must be an integer ≥ 1"),
            (r#","client_id":"""#, "options: client_id is empty"),
            (r#","client_id":7"#, "options: client_id must be a string"),
            (r#","doku_public_key_file":"/x""#, "options: set doku_public_key or doku_public_key_file, not both"),
            (r#","merchant_private_key_file":"/x""#, "options: set merchant_private_key or merchant_private_key_file, not both"),
            (r#","merchant_private_key_passphrase":12345678"#, "options: merchant_private_key_passphrase must be a string"),
        ];
        for (extra, want) in invalid {
            let e = issuer(extra).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{extra}: {e}");
            assert!(e.message().starts_with(want), "{extra}: got {e}");
            assert!(!e.message().contains("12345678"), "{e}");
        }
        for (text, want) in [
            ("", "options: not valid JSON"),
            ("[]", "options: expected a JSON object"),
            (r#"{"doku_public_key":"x","merchant_private_key":"y"}"#, "options: client_id is required"),
            (r#"{"client_id":"M","merchant_private_key":"y"}"#, "options: doku_public_key or doku_public_key_file is required"),
            (r#"{"client_id":"M","doku_public_key":"x"}"#, "options: merchant_private_key or merchant_private_key_file is required"),
        ] {
            let e = TokenIssuer::from_json(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{text}: {e}");
            assert!(e.message().starts_with(want), "{text}: got {e}");
        }
        let unreadable = issuer(r#","doku_public_key":null,"doku_public_key_file":"/nonexistent/doku.pem""#).unwrap_err();
        assert_eq!(unreadable.kind(), ErrorKind::Key);
        assert!(unreadable.message().starts_with("options: doku_public_key_file \"/nonexistent/doku.pem\" cannot be read"), "{unreadable}");
        // Each key where the other belongs.
        let swapped = format!(r#"{{"client_id":"M","doku_public_key":{},"merchant_private_key":{}}}"#, json(&private), json(&public));
        assert_eq!(TokenIssuer::from_json(&swapped).unwrap_err().kind(), ErrorKind::Key);
    }
}
