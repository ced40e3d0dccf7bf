//! The B2B2C (customer) token of snap-reference §5: direct debit and e-wallets. Same signed
//! headers as the B2B token; an auth code or a refresh token in the body; success `2007400`.

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{header_safe_token, parse_answer};
use crate::error::{Error, Result};

pub const PATH: &str = "/authorization/v1/access-token/b2b2c";
pub const SUCCESS: &str = "2007400";

/// What the customer token is exchanged for.
#[derive(Clone, Copy)]
pub enum Grant<'a> {
    AuthorizationCode(&'a str),
    RefreshToken(&'a str),
}

impl std::fmt::Debug for Grant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print codes or refresh tokens.
        f.write_str(match self {
            Grant::AuthorizationCode(_) => "AuthorizationCode(…)",
            Grant::RefreshToken(_) => "RefreshToken(…)",
        })
    }
}

impl Grant<'_> {
    pub fn body(&self) -> Result<String> {
        let (grant_type, field, value, name) = match self {
            Grant::AuthorizationCode(code) => ("authorization_code", "authCode", code, "auth_code"),
            Grant::RefreshToken(token) => ("refresh_token", "refreshToken", token, "refresh_token"),
        };
        if value.trim().is_empty() {
            return Err(Error::invalid(format!("{name} is empty")));
        }
        Ok(json!({"grantType": grant_type, field: value}).to_string())
    }
}

/// A customer token. Expiry times are DOKU's ISO-8601 strings, passed through.
pub struct CustomerToken {
    pub access_token: Zeroizing<String>,
    pub token_type: String,
    pub access_token_expiry_time: String,
    pub refresh_token: Zeroizing<String>,
    pub refresh_token_expiry_time: String,
}

impl std::fmt::Debug for CustomerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the tokens.
        f.debug_struct("CustomerToken").field("access_token_expiry_time", &self.access_token_expiry_time).finish()
    }
}

impl CustomerToken {
    /// `{"accessToken","tokenType","accessTokenExpiryTime","refreshToken","refreshTokenExpiryTime"}`
    pub fn to_json(&self) -> String {
        json!({
            "accessToken": self.access_token.as_str(),
            "tokenType": self.token_type,
            "accessTokenExpiryTime": self.access_token_expiry_time,
            "refreshToken": self.refresh_token.as_str(),
            "refreshTokenExpiryTime": self.refresh_token_expiry_time,
        })
        .to_string()
    }
}

pub fn parse_response(status: u16, body: &[u8]) -> Result<CustomerToken> {
    let obj = parse_answer(status, body, SUCCESS)?;
    let time = |field: &str| match obj.get(field) {
        Some(Value::String(t)) if crate::timestamp::parse(t).is_some() => Ok(t.clone()),
        _ => Err(Error::protocol(format!("DOKU answered HTTP {status} with {SUCCESS} but no ISO-8601 {field}"))),
    };
    Ok(CustomerToken {
        access_token: header_safe_token(&obj, "accessToken", status, SUCCESS)?,
        token_type: obj.get("tokenType").and_then(Value::as_str).unwrap_or("Bearer").to_owned(),
        access_token_expiry_time: time("accessTokenExpiryTime")?,
        refresh_token: header_safe_token(&obj, "refreshToken", status, SUCCESS)?,
        refresh_token_expiry_time: time("refreshTokenExpiryTime")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn grant_bodies() {
        assert_eq!(Grant::AuthorizationCode("a1").body().unwrap(), r#"{"authCode":"a1","grantType":"authorization_code"}"#);
        assert_eq!(Grant::RefreshToken("r1").body().unwrap(), r#"{"grantType":"refresh_token","refreshToken":"r1"}"#);
        assert!(Grant::AuthorizationCode(" ").body().unwrap_err().message().contains("auth_code is empty"));
    }

    #[test]
    fn answers() {
        let ok = r#"{"responseCode":"2007400","responseMessage":"Successful","accessToken":"at","tokenType":"Bearer","accessTokenExpiryTime":"2026-11-28T10:00:00+07:00","refreshToken":"rt","refreshTokenExpiryTime":"2026-12-28T10:00:00+07:00"}"#;
        let t = parse_response(200, ok.as_bytes()).unwrap();
        assert_eq!((t.access_token.as_str(), t.refresh_token.as_str()), ("at", "rt"));
        let v: Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(v["refreshTokenExpiryTime"], "2026-12-28T10:00:00+07:00");
        let e = parse_response(401, br#"{"responseCode":"4017401","responseMessage":"Invalid Token"}"#).unwrap_err();
        assert_eq!((e.kind(), e.response_code()), (ErrorKind::Api, Some("4017401")));
        let e = parse_response(200, ok.replace("\"refreshToken\":\"rt\",", "").as_bytes()).unwrap_err();
        assert!(e.message().contains("no refreshToken"), "{e}");
        let e = parse_response(200, ok.replace("2026-11-28T10:00:00+07:00", "tomorrow").as_bytes()).unwrap_err();
        assert!(e.message().contains("accessTokenExpiryTime"), "{e}");
        // A multi-byte character across byte 19: a protocol error, not a panic.
        for (field, time) in [("accessTokenExpiryTime", "2026-11-28T10:00:00+07:00"), ("refreshTokenExpiryTime", "2026-12-28T10:00:00+07:00")] {
            let e = parse_response(200, ok.replace(time, "2022-10-07T14:18:3é").as_bytes()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol);
            assert_eq!(e.message(), format!("DOKU answered HTTP 200 with 2007400 but no ISO-8601 {field}"));
        }
    }
}
