//! The symmetric (transaction) signature, snap-reference §3:
//! base64(HMAC-SHA512(client_secret,
//!   METHOD + ":" + path + ":" + access_token + ":" + hex(sha256(minify(body))) + ":" + timestamp)).

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use super::hex;
use super::minify::minify;
use crate::error::{openssl_reason, Error, ErrorKind, Result};

/// One transaction request, as signed.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// Upper-cased before signing; letters only.
    pub method: &'a str,
    /// The relative endpoint, e.g. `/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va`.
    pub path: &'a str,
    /// The bare B2B token; a leading `Bearer ` is dropped.
    pub access_token: &'a str,
    /// JSON body; `None` or empty hashes the empty string.
    pub body: Option<&'a str>,
    pub timestamp: &'a str,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the access token.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body", &self.body)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl Request<'_> {
    /// The string to sign. Fails on a malformed method, path, token, timestamp or body.
    pub fn string_to_sign(&self) -> Result<String> {
        self.format(None)
    }

    /// The string to sign with `<access token>` in the token's place, for messages: built from
    /// its parts, never by searching for the token in the result.
    pub fn redacted_string_to_sign(&self) -> Result<String> {
        self.format(Some("<access token>"))
    }

    fn format(&self, token_shown: Option<&str>) -> Result<String> {
        let method = normalize_method(self.method)?;
        if !self.path.starts_with('/') || self.path.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(Error::invalid("path must be the relative endpoint, e.g. /virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"));
        }
        // `Bearer ` is the header's prefix, not part of the token that is signed.
        let token = crate::token::strip_bearer(self.access_token);
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("access_token must be the B2B token (visible ASCII, not empty)"));
        }
        if self.timestamp.is_empty() || self.timestamp.bytes().any(|b| b.is_ascii_control()) {
            return Err(Error::invalid("timestamp must be the request's X-TIMESTAMP"));
        }
        let digest = body_digest(self.body)?;
        Ok(format!("{method}:{}:{}:{digest}:{}", self.path, token_shown.unwrap_or(token), self.timestamp))
    }
}

/// The method as signed and sent: upper-cased, letters only.
pub fn normalize_method(method: &str) -> Result<String> {
    let m = method.to_ascii_uppercase();
    if m.is_empty() || m.len() > 16 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid("method must be an HTTP method such as POST"));
    }
    Ok(m)
}

/// The body as signed and sent: minified, or "" for none (or only whitespace).
pub fn minified_body(body: Option<&str>) -> Result<String> {
    match body {
        Some(b) if !b.trim().is_empty() => minify(b),
        _ => Ok(String::new()),
    }
}

/// Lowercase hex SHA-256 of the minified body (of "" for none).
pub fn body_digest(body: Option<&str>) -> Result<String> {
    Ok(hex(&openssl::sha::sha256(minified_body(body)?.as_bytes())))
}

fn hmac_sha512(secret: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    if secret.is_empty() {
        return Err(Error::invalid("client_secret is empty"));
    }
    let crypto = |e: openssl::error::ErrorStack| Error::new(ErrorKind::Crypto, format!("HMAC-SHA512 failed: {}", openssl_reason(&e)));
    crate::fork::openssl_work(|| {
        let key = PKey::hmac(secret)?;
        Signer::new(MessageDigest::sha512(), &key)?.sign_oneshot_to_vec(message)
    })
    .map_err(crypto)
}

/// The request's `X-SIGNATURE`.
pub fn sign(secret: &[u8], request: &Request<'_>) -> Result<String> {
    Ok(openssl::base64::encode_block(&hmac_sha512(secret, request.string_to_sign()?.as_bytes())?))
}

/// Checks an `X-SIGNATURE` in constant time. A mismatch is `SignatureInvalid`.
pub fn verify(secret: &[u8], request: &Request<'_>, signature_b64: &str) -> Result<()> {
    let expected = hmac_sha512(secret, request.string_to_sign()?.as_bytes())?;
    let invalid = |why: &str| Error::new(ErrorKind::SignatureInvalid, format!("signature is invalid: {why}"));
    let given = super::decode_signature(signature_b64).map_err(|()| invalid("not canonical base64"))?;
    if given.len() != expected.len() || !openssl::memcmp::eq(&given, &expected) {
        return Err(invalid("it does not match the request and client secret"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: Option<&'static str>) -> Request<'static> {
        Request {
            method: "POST",
            path: "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va",
            access_token: "eyJ.token",
            body,
            timestamp: "2022-10-07T14:18:39+07:00",
        }
    }

    #[test]
    fn the_string_to_sign() {
        let s = req(Some("{ \"a\" : 1 }")).string_to_sign().unwrap();
        let digest = hex(&openssl::sha::sha256(b"{\"a\":1}"));
        assert_eq!(s, format!("POST:/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va:eyJ.token:{digest}:2022-10-07T14:18:39+07:00"));
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(req(None).string_to_sign().unwrap().contains(empty));
        assert!(req(Some("")).string_to_sign().unwrap().contains(empty));
        let bearer = Request { access_token: "Bearer eyJ.token", method: "post", ..req(None) };
        assert_eq!(bearer.string_to_sign().unwrap(), req(None).string_to_sign().unwrap());
    }

    #[test]
    fn sign_then_verify_in_constant_time() {
        let sig = sign(b"secret", &req(Some("{}"))).unwrap();
        assert_eq!(openssl::base64::decode_block(&sig).unwrap().len(), 64);
        verify(b"secret", &req(Some("{ }")), &sig).unwrap();
        for (secret, r, s) in [
            (&b"other"[..], req(Some("{}")), sig.clone()),
            (b"secret", req(Some("{\"a\":1}")), sig.clone()),
            (b"secret", req(Some("{}")), sig[..sig.len() - 4].to_owned() + "AAA="),
        ] {
            let e = verify(secret, &r, &s).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::SignatureInvalid);
        }
        assert!(verify(b"secret", &req(None), "%%%").unwrap_err().message().contains("not canonical base64"));
    }

    #[test]
    fn methods() {
        assert_eq!(normalize_method("post").unwrap(), "POST");
        assert!(normalize_method("GE T").is_err() && normalize_method("").is_err());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let cases = [
            (Request { method: "PO ST", ..req(None) }, "method"),
            (Request { method: "", ..req(None) }, "method"),
            (Request { path: "https://api.doku.com/x", ..req(None) }, "path"),
            (Request { path: "/a b", ..req(None) }, "path"),
            (Request { access_token: "", ..req(None) }, "access_token"),
            (Request { access_token: "Bearer ", ..req(None) }, "access_token"),
            (Request { timestamp: "", ..req(None) }, "timestamp"),
            (req(Some("{bad")), "body is not valid JSON"),
        ];
        for (r, want) in cases {
            let e = sign(b"s", &r).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().contains(want), "{e}");
        }
        assert!(sign(b"", &req(None)).unwrap_err().message().contains("client_secret is empty"));
    }
}
