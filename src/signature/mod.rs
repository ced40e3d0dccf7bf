//! SNAP signatures.
//!
//! - Asymmetric (this file): SHA256withRSA (RSASSA-PKCS1-v1_5), base64 standard, padded, one
//!   line; deterministic, so it equals `openssl dgst -sha256 -sign` byte for byte.
//! - Symmetric ([`symmetric`]): HMAC-SHA512 over a transaction request, keyed with the client
//!   secret, over the [`minify`]d body's digest.

pub mod minify;
pub mod symmetric;

use openssl::hash::MessageDigest;
use openssl::sign::{Signer, Verifier};

use crate::error::{openssl_reason, Error, ErrorKind, Result};
use crate::key::{PrivateKey, PublicKey};

/// The B2B token request's string to sign: `client_id|timestamp`.
pub fn b2b_string_to_sign(client_id: &str, timestamp: &str) -> String {
    let mut s = String::with_capacity(client_id.len() + 1 + timestamp.len());
    s.push_str(client_id);
    s.push('|');
    s.push_str(timestamp);
    s
}

/// SHA256withRSA over `message`, base64.
pub fn sign_rsa_sha256(key: &PrivateKey, message: &[u8]) -> Result<String> {
    Ok(openssl::base64::encode_block(&sign_rsa_sha256_raw(key, message)?))
}

/// SHA256withRSA over `message`, the raw signature bytes (JWTs encode them as base64url).
pub(crate) fn sign_rsa_sha256_raw(key: &PrivateKey, message: &[u8]) -> Result<Vec<u8>> {
    let crypto = |e: openssl::error::ErrorStack| Error::new(ErrorKind::Crypto, format!("RSA signing failed: {}", openssl_reason(&e)));
    crate::fork::openssl_work(|| Signer::new(MessageDigest::sha256(), key.pkey()).and_then(|mut s| s.sign_oneshot_to_vec(message))).map_err(crypto)
}

/// Lowercase hex, as SNAP writes body digests (also used for token ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signature header's value as it is checked: blanks around it are not part of it.
pub(crate) fn signature_text(header: &str) -> &str {
    header.trim()
}

/// A base64 signature as sent: standard alphabet, padded, and canonical (unused bits zero), so
/// that one signature has exactly one accepted spelling.
pub(crate) fn decode_signature(b64: &str) -> std::result::Result<Vec<u8>, ()> {
    let b64 = signature_text(b64);
    let bytes = openssl::base64::decode_block(b64).map_err(|_| ())?;
    if openssl::base64::encode_block(&bytes) != b64 {
        return Err(());
    }
    Ok(bytes)
}

/// Checks a base64 SHA256withRSA signature. A signature that is malformed or does not match
/// is `ErrorKind::SignatureInvalid`.
pub fn verify_rsa_sha256(key: &PublicKey, message: &[u8], signature_b64: &str) -> Result<()> {
    let invalid = |why: &str| Error::new(ErrorKind::SignatureInvalid, format!("signature is invalid: {why}"));
    let sig = decode_signature(signature_b64).map_err(|()| invalid("not canonical base64"))?;
    if sig.len() != key.pkey().size() {
        return Err(invalid("wrong length for the key"));
    }
    let crypto = |e: openssl::error::ErrorStack| Error::new(ErrorKind::Crypto, format!("RSA verification failed: {}", openssl_reason(&e)));
    let mut verifier = Verifier::new(MessageDigest::sha256(), key.pkey()).map_err(crypto)?;
    match crate::fork::openssl_work(|| verifier.verify_oneshot(&sig, message)) {
        Ok(true) => Ok(()),
        // OpenSSL reports a mismatch either as false or as an error, depending on where it notices.
        Ok(false) | Err(_) => Err(invalid("it does not match the message and public key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::test_keys;

    #[test]
    fn string_to_sign() {
        assert_eq!(b2b_string_to_sign("MCH-1", "2020-09-22T01:51:00Z"), "MCH-1|2020-09-22T01:51:00Z");
    }

    #[test]
    fn signatures_are_deterministic_one_line_base64_and_verify() {
        let (sk, pk) = test_keys();
        let msg = b2b_string_to_sign("MCH-0008-1296507211683", "2022-10-07T14:18:39+07:00");
        let a = sign_rsa_sha256(&sk, msg.as_bytes()).unwrap();
        let b = sign_rsa_sha256(&sk, msg.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 344, "2048-bit signature: 256 bytes, 344 base64 chars");
        assert!(!a.contains('\n') && a.ends_with('='));
        verify_rsa_sha256(&pk, msg.as_bytes(), &a).unwrap();
    }

    #[test]
    fn tampering_is_detected() {
        let (sk, pk) = test_keys();
        let sig = sign_rsa_sha256(&sk, b"A|2020-01-01T00:00:00Z").unwrap();
        let e = verify_rsa_sha256(&pk, b"B|2020-01-01T00:00:00Z", &sig).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureInvalid);
        assert!(e.message().contains("does not match"));
        let e = verify_rsa_sha256(&pk, b"A|2020-01-01T00:00:00Z", "!!!").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SignatureInvalid);
        assert!(e.message().contains("not canonical base64"));
        // Flipping padding bits gives the same bytes but another spelling: refused.
        let last = sig.trim_end_matches('=').chars().last().unwrap();
        let twin = format!("{}{}==", &sig[..sig.len() - 3], if last == 'A' { 'B' } else { 'A' });
        assert_eq!(verify_rsa_sha256(&pk, b"A|2020-01-01T00:00:00Z", &twin).unwrap_err().kind(), ErrorKind::SignatureInvalid);
        let e = verify_rsa_sha256(&pk, b"A", "AAAA").unwrap_err();
        assert!(e.message().contains("wrong length"));
    }
}
