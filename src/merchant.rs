//! The merchant side of SNAP (snap-reference §4): before notifying a merchant, DOKU asks the
//! merchant for a B2B token, signed with DOKU's private key over `client_id|timestamp`. The
//! merchant judges that request exactly as DOKU judges a merchant's, and answers with an RS256
//! JWT it signs itself; DOKU then presents that JWT on every notification.
//!
//! [`check_token_request`] is the one implementation of DOKU's checks: the sandbox judges
//! merchants with it, and merchants judge DOKU with it through [`issue_token`].

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{openssl_reason, Error, ErrorKind, Result};
use crate::jwt;
use crate::key::{PrivateKey, PublicKey};
use crate::signature::{b2b_string_to_sign, verify_rsa_sha256};
use crate::timestamp;
use crate::token::B2B_SUCCESS;

pub const DEFAULT_TTL: u64 = 900;
pub const DEFAULT_MAX_SKEW: u64 = 300;

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
    let present = |name: &str| header(name).filter(|v| !v.is_empty());
    for name in ["X-CLIENT-KEY", "X-TIMESTAMP", "X-SIGNATURE"] {
        if present(name).is_none() {
            return Err(Refusal::new(400, "4007302", format!("Invalid Mandatory Field {name}")));
        }
    }
    let (client, ts, sig) = (present("X-CLIENT-KEY").unwrap_or_default(), present("X-TIMESTAMP").unwrap_or_default(), present("X-SIGNATURE").unwrap_or_default());
    let Some(when) = timestamp::parse(ts) else {
        return Err(Refusal::new(400, "4007301", "Invalid Field Format X-TIMESTAMP"));
    };
    if let Some(why) = body_problem(body) {
        return Err(Refusal::new(400, "4007300", format!("Bad Request. {why}")));
    }
    let Some(public_key) = key_for(client) else {
        return Err(Refusal::new(401, "4017300", "Unauthorized. Unknown Client"));
    };
    let skew = when.timestamp().abs_diff(now.timestamp());
    if skew > max_skew {
        return Err(Refusal::new(
            401,
            "4017300",
            format!("Unauthorized. X-TIMESTAMP is {skew} s away from the server clock (allowed: {max_skew} s)"),
        ));
    }
    let signed = b2b_string_to_sign(client, ts);
    if let Err(e) = verify_rsa_sha256(public_key, signed.as_bytes(), sig) {
        let reason = e.message().strip_prefix("signature is invalid: ").unwrap_or(e.message());
        return Err(Refusal::new(
            401,
            "4017300",
            format!(
                "Unauthorized. Invalid Signature (expected SHA256withRSA over {} with the registered public key: {reason})",
                Value::from(signed.as_str())
            ),
        ));
    }
    Ok(client.to_owned())
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

/// The claims of an issued token: `iss`, `iat`, `exp`, `clientId` and a random `jti`.
pub fn token_claims(issuer: &str, client_id: &str, ttl: u64, now: DateTime<Utc>) -> Result<Value> {
    let iat = now.timestamp();
    let exp = iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id).map_err(|e| Error::new(ErrorKind::Crypto, openssl_reason(&e)))?;
    let jti: String = id.iter().map(|b| format!("{b:02x}")).collect();
    Ok(json!({"iss": issuer, "iat": iat, "exp": exp, "clientId": client_id, "jti": jti}))
}

/// What a merchant needs to answer DOKU's token request.
pub struct TokenIssuer<'a> {
    /// The merchant's client id: the `X-CLIENT-KEY` DOKU sends.
    pub client_id: &'a str,
    /// DOKU's public key, which verifies the request's signature.
    pub doku_public_key: &'a PublicKey,
    /// The merchant's private key, which signs the JWT.
    pub merchant_key: &'a PrivateKey,
    pub ttl: u64,
    pub max_skew: u64,
}

impl TokenIssuer<'_> {
    /// Judges the request and returns the HTTP status and the exact JSON body to answer with:
    /// `2007300` with a fresh RS256 JWT, or the refusal's code and message.
    pub fn answer<'h>(&self, header: &dyn Fn(&str) -> Option<&'h str>, body: &[u8], now: DateTime<Utc>) -> Result<(u16, String)> {
        let key_for = |id: &str| (id == self.client_id).then_some(self.doku_public_key);
        match check_token_request(header, body, now, self.max_skew, &key_for) {
            Err(refusal) => Ok((refusal.http_status, refusal.to_json())),
            Ok(client) => {
                let token = jwt::sign_rs256(self.merchant_key, &token_claims(self.client_id, &client, self.ttl, now)?)?;
                Ok((200, success_json(&token, self.ttl)))
            }
        }
    }
}

/// The body of a successful B2B token answer.
pub fn success_json(token: &str, ttl: u64) -> String {
    // Fixed field order, as DOKU writes it.
    format!(
        r#"{{"responseCode":"{B2B_SUCCESS}","responseMessage":"Successful","accessToken":{},"tokenType":"Bearer","expiresIn":{ttl},"additionalInfo":{{}}}}"#,
        Value::from(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::test_key;
    use crate::signature::sign_rsa_sha256;
    use std::collections::HashMap;

    fn keys() -> (PrivateKey, PublicKey) {
        let k = test_key();
        let pem = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        (PrivateKey::parse(&pem, None).unwrap(), PublicKey::parse(&String::from_utf8(k.public_key_to_pem().unwrap()).unwrap()).unwrap())
    }

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
        let (sk, pk) = keys();
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
        let r = refused(&signed(&sk, "MCH", &now), br#"{"grantType":"password"}"#);
        assert_eq!((r.http_status, r.response_code), (400, "4007300"));
        assert_eq!(refused(&signed(&sk, "OTHER", &now), BODY).message, "Unauthorized. Unknown Client");
        let stale = timestamp::Offset::UTC.format(Utc::now() - chrono::TimeDelta::seconds(400));
        assert!(refused(&signed(&sk, "MCH", &stale), BODY).message.contains("away from the server clock"));
        let mut h = signed(&sk, "MCH", &now);
        h.insert("X-Timestamp", timestamp::Offset::UTC.format(Utc::now() - chrono::TimeDelta::seconds(1)));
        let r = refused(&h, BODY);
        assert_eq!((r.http_status, r.response_code), (401, "4017300"));
        assert!(r.message.starts_with("Unauthorized. Invalid Signature (expected SHA256withRSA over \"MCH|"), "{}", r.message);
    }

    #[test]
    fn issues_a_jwt_that_validates() {
        let (sk, pk) = keys();
        let issuer = TokenIssuer { client_id: "MCH", doku_public_key: &pk, merchant_key: &sk, ttl: 900, max_skew: 300 };
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
}
