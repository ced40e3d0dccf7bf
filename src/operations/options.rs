//! A call's `options_json`: the customer's token and device, a channel or `X-EXTERNAL-ID` of the
//! caller's choosing, and further `X-…` headers. Read strictly (unknown keys refused), checked
//! before anything is sent, and never quoted: the customer token is a secret.

use std::net::IpAddr;

use serde_json::Value;
use zeroize::Zeroizing;

use super::{Need, Operation};
use crate::error::{Error, Result};
use crate::external_id::{self, Format};
use crate::options::Options;

pub const KEYS: [&str; 6] = ["customerToken", "ipAddress", "deviceId", "channelId", "externalId", "headers"];
/// `X-DEVICE-ID`: DOKU's SDKs allow up to 64 characters.
const MAX_DEVICE_ID: usize = 64;
const MAX_EXTRA_HEADERS: usize = 32;
const MAX_HEADER_VALUE: usize = 1024;

/// Headers a caller may not set through `headers`: the signed ones, those with options of their
/// own, and those HTTP itself owns.
const RESERVED: [&str; 13] = [
    "X-TIMESTAMP",
    "X-SIGNATURE",
    "X-PARTNER-ID",
    "X-EXTERNAL-ID",
    "X-CLIENT-KEY",
    "X-IP-ADDRESS",
    "X-DEVICE-ID",
    "X-HTTP-METHOD-OVERRIDE",
    "X-HTTP-METHOD",
    "X-METHOD-OVERRIDE",
    "X-FORWARDED-HOST",
    "X-ORIGINAL-URL",
    "X-REWRITE-URL",
];

/// The options of one call.
#[derive(Default)]
pub struct CallOptions {
    pub customer_token: Option<Zeroizing<String>>,
    pub ip_address: Option<String>,
    pub device_id: Option<String>,
    pub channel_id: Option<String>,
    pub external_id: Option<String>,
    /// Further headers, checked: `X-` names, not reserved, values without CR/LF/NUL.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("customer_token", &self.customer_token.as_ref().map(|_| "<set>"))
            .field("ip_address", &self.ip_address)
            .field("device_id", &self.device_id)
            .field("channel_id", &self.channel_id)
            .field("external_id", &self.external_id)
            .field("headers", &self.headers)
            .finish()
    }
}

impl CallOptions {
    /// Parses `options_json` (`None`: no options).
    pub fn parse(json: Option<&str>) -> Result<CallOptions> {
        let Some(json) = json else { return Ok(CallOptions::default()) };
        let mut o = Options::parse("options", json, &KEYS, &["customerToken"])?;
        let customer_token = o.secret("customerToken")?;
        if let Some(token) = &customer_token {
            let bare = crate::token::strip_bearer(token);
            if bare.is_empty() || !bare.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid("options: customerToken must be the customer's B2B2C access token (visible ASCII, not empty)"));
            }
        }
        let ip_address = o.header_value("ipAddress")?;
        if ip_address.as_deref().is_some_and(|ip| ip.parse::<IpAddr>().is_err()) {
            return Err(Error::invalid("options: ipAddress must be the customer's IPv4 or IPv6 address, e.g. 203.0.113.7"));
        }
        let device_id = o.header_value("deviceId")?;
        if device_id.as_deref().is_some_and(|d| d.len() > MAX_DEVICE_ID || !d.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(Error::invalid(format!("options: deviceId must be 1 to {MAX_DEVICE_ID} visible ASCII characters")));
        }
        let channel_id = o.header_value("channelId")?;
        if channel_id.as_deref().is_some_and(|c| c.len() > 64 || !c.bytes().all(|b| b.is_ascii_graphic())) {
            return Err(Error::invalid("options: channelId must be 1 to 64 visible ASCII characters"));
        }
        let external_id = o.string("externalId")?;
        if let Some(id) = &external_id {
            if external_id::format(id) != Format::Documented {
                return Err(Error::invalid(format!(
                    "options: externalId must be what DOKU documents: 1 to {} digits, unique per day",
                    external_id::MAX_DOCUMENTED
                )));
            }
        }
        let headers = match o.value("headers") {
            None => Vec::new(),
            Some(Value::Object(map)) => extra_headers(map)?,
            Some(_) => return Err(Error::invalid("options: headers must be an object of header names to string values")),
        };
        Ok(CallOptions { customer_token, ip_address, device_id, channel_id, external_id, headers })
    }

    /// Fails, naming the first option `op` requires that is absent, or the first given that it
    /// does not take.
    pub fn check_for(&self, op: &Operation) -> Result<()> {
        for need in op.required {
            if !self.has(*need) {
                return Err(Error::invalid(format!("{}: options: {} is required ({})", op.name, need.key(), need.header())));
            }
        }
        for need in [Need::CustomerToken, Need::IpAddress, Need::DeviceId] {
            if self.has(need) && !op.takes(need) {
                return Err(Error::invalid(format!("{}: options: {} is not sent with this operation", op.name, need.key())));
            }
        }
        Ok(())
    }

    fn has(&self, need: Need) -> bool {
        match need {
            Need::CustomerToken => self.customer_token.is_some(),
            Need::IpAddress => self.ip_address.is_some(),
            Need::DeviceId => self.device_id.is_some(),
        }
    }

    /// The headers these options add to a signed request (besides `CHANNEL-ID` and
    /// `X-EXTERNAL-ID`, which replace the client's own).
    pub fn extra_headers(&self) -> Vec<(String, Zeroizing<String>)> {
        let mut out = Vec::new();
        if let Some(token) = &self.customer_token {
            out.push((Need::CustomerToken.header().to_owned(), Zeroizing::new(format!("Bearer {}", crate::token::strip_bearer(token)))));
        }
        for (need, value) in [(Need::IpAddress, &self.ip_address), (Need::DeviceId, &self.device_id)] {
            if let Some(v) = value {
                out.push((need.header().to_owned(), Zeroizing::new(v.clone())));
            }
        }
        out.extend(self.headers.iter().map(|(k, v)| (k.clone(), Zeroizing::new(v.clone()))));
        out
    }
}

fn extra_headers(map: serde_json::Map<String, Value>) -> Result<Vec<(String, String)>> {
    if map.len() > MAX_EXTRA_HEADERS {
        return Err(Error::invalid(format!("options: headers: at most {MAX_EXTRA_HEADERS} headers")));
    }
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        let shown = crate::text::printable(&name, 64);
        // Bytes, not string slices: a name may start with a multi-byte character.
        let valid_name = name.len() > 2
            && name.len() <= 64
            && name.as_bytes()[..2].eq_ignore_ascii_case(b"X-")
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_name {
            return Err(Error::invalid(format!(
                "options: headers: {shown:?} is not an X-… header name (letters, digits and '-', at most 64 characters)"
            )));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            return Err(Error::invalid(format!(
                "options: headers: {shown} may not be set here (the signed headers are the library's; use ipAddress, deviceId or externalId)"
            )));
        }
        let Value::String(value) = value else { return Err(Error::invalid(format!("options: headers: {shown} must be a string"))) };
        // Visible ASCII, spaces and tabs: what an HTTP header field carries unencoded.
        if value.len() > MAX_HEADER_VALUE || !value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
            return Err(Error::invalid(format!("options: headers: {shown} must be at most {MAX_HEADER_VALUE} characters of visible ASCII")));
        }
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::find;

    fn refused(json: &str) -> String {
        CallOptions::parse(Some(json)).map(|_| "accepted".to_owned()).unwrap_or_else(|e| e.message().to_owned())
    }

    #[test]
    fn options_are_read_strictly() {
        let o = CallOptions::parse(Some(
            r#"{"customerToken":"Bearer abc.def","ipAddress":"2001:db8::1","deviceId":"dev-1","channelId":"H2H","externalId":"123","headers":{"X-LATITUDE":"-6.2"}}"#,
        ))
        .unwrap();
        let headers: Vec<(String, String)> = o.extra_headers().into_iter().map(|(k, v)| (k, v.to_string())).collect();
        assert_eq!(
            headers,
            [
                ("Authorization-Customer".to_owned(), "Bearer abc.def".to_owned()),
                ("X-IP-ADDRESS".into(), "2001:db8::1".into()),
                ("X-DEVICE-ID".into(), "dev-1".into()),
                ("X-LATITUDE".into(), "-6.2".into())
            ]
        );
        assert_eq!((o.channel_id.as_deref(), o.external_id.as_deref()), (Some("H2H"), Some("123")));
        assert!(CallOptions::parse(None).unwrap().headers.is_empty());
    }

    #[test]
    fn bad_options_are_named_and_secrets_are_not_shown() {
        let cases = [
            (r#"{"ip":"1.2.3.4"}"#, "options: unknown key \"ip\" (known keys: customerToken, ipAddress, deviceId, channelId, externalId, headers)"),
            (r#"{"ipAddress":"1.2.3"}"#, "options: ipAddress must be the customer's IPv4 or IPv6 address, e.g. 203.0.113.7"),
            (r#"{"ipAddress":"1.2.3.4\r\nX-Evil: 1"}"#, "options: ipAddress contains CR, LF or NUL, which cannot go into an HTTP header"),
            (r#"{"deviceId":"a b"}"#, "options: deviceId must be 1 to 64 visible ASCII characters"),
            (r#"{"externalId":"abc-1"}"#, "options: externalId must be what DOKU documents: 1 to 36 digits, unique per day"),
            (r#"{"customerToken":"Bearer "}"#, "options: customerToken must be the customer's B2B2C access token (visible ASCII, not empty)"),
            (r#"{"customerToken":7}"#, "options: customerToken must be a string"),
            (
                r#"{"headers":{"X-SIGNATURE":"forged"}}"#,
                "options: headers: X-SIGNATURE may not be set here (the signed headers are the library's; use ipAddress, deviceId or externalId)",
            ),
            (
                r#"{"headers":{"x-external-id":"1"}}"#,
                "options: headers: x-external-id may not be set here (the signed headers are the library's; use ipAddress, deviceId or externalId)",
            ),
            (
                r#"{"headers":{"Authorization":"Bearer x"}}"#,
                "options: headers: \"Authorization\" is not an X-… header name (letters, digits and '-', at most 64 characters)",
            ),
            (r#"{"headers":{"X-A":"1\n2"}}"#, "options: headers: X-A must be at most 1024 characters of visible ASCII"),
            (r#"{"headers":{"X-A":"Śiti"}}"#, "options: headers: X-A must be at most 1024 characters of visible ASCII"),
            (r#"{"headers":{"X-A":1}}"#, "options: headers: X-A must be a string"),
            // Regression (review): slicing the name's first two bytes panicked inside a character.
            (r#"{"headers":{"Xé":"1"}}"#, "options: headers: \"Xé\" is not an X-… header name (letters, digits and '-', at most 64 characters)"),
            (r#"{"headers":[]}"#, "options: headers must be an object of header names to string values"),
        ];
        for (json, expected) in cases {
            assert_eq!(refused(json), expected, "{json}");
        }
        let secret = "customer-token-with-a-space inside";
        let e = refused(&format!(r#"{{"customerToken":"{secret}"}}"#));
        assert!(!e.contains("customer-token"), "{e}");
    }

    #[test]
    fn each_operation_s_needs_are_checked() {
        let parse = |json: &str| CallOptions::parse(Some(json)).unwrap();
        let payment = find("payment").unwrap();
        assert_eq!(parse("{}").check_for(payment).unwrap_err().message(), "payment: options: customerToken is required (Authorization-Customer)");
        assert_eq!(
            parse(r#"{"customerToken":"t"}"#).check_for(payment).unwrap_err().message(),
            "payment: options: ipAddress is required (X-IP-ADDRESS)"
        );
        assert!(parse(r#"{"customerToken":"t","ipAddress":"10.0.0.1","deviceId":"d"}"#).check_for(payment).is_ok());
        assert_eq!(
            parse(r#"{"customerToken":"t"}"#).check_for(find("create_va").unwrap()).unwrap_err().message(),
            "create_va: options: customerToken is not sent with this operation"
        );
        assert_eq!(
            parse(r#"{"ipAddress":"10.0.0.1"}"#).check_for(find("account_binding").unwrap()).unwrap_err().message(),
            "account_binding: options: deviceId is required (X-DEVICE-ID)"
        );
    }
}
