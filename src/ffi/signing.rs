//! Signing and verification without a client: the B2B signature, the transaction signature,
//! minification, and the current timestamp.

use std::os::raw::c_char;

use super::convert::{arg, malloc_str, non_empty, opt_arg, status_only, with_out};
use super::panic::ffi_panic_boundary;
use super::status::DokuStatus;
use crate::error::Result;
use crate::key::{PrivateKey, PublicKey};
use crate::signature::{minify::minify, symmetric};
use crate::{signature, timestamp};

/// Writes the current time, UTC, as "YYYY-MM-DDTHH:MM:SSZ" to *timestamp_out.
///
/// *timestamp_out is owned by the caller: release it with doku_free(). NULL timestamp_out gives
/// DOKU_ERR_NULL_ARGUMENT. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_timestamp(timestamp_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(timestamp_out, "timestamp_out", || Ok(malloc_str(timestamp::now_utc().as_bytes())))
    }
}

/// Signs `client_id + "|" + timestamp` with SHA256withRSA (PKCS#1 v1.5) and writes the base64
/// signature (standard alphabet, padded, one line) to *signature_out: the X-SIGNATURE of a B2B
/// token request. Equal byte for byte to `openssl dgst -sha256 -sign`.
///
/// private_key is key text: PKCS#8 PEM, PKCS#1 PEM, or bare base64 of the DER. Encrypted keys
/// need a client (private_key_passphrase). Parsed keys are cached process-wide by a digest of
/// the text, so repeated calls with the same key do not parse it again.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT for any NULL pointer; DOKU_ERR_INVALID_ARGUMENT for invalid
/// UTF-8 or an empty client_id/timestamp; DOKU_ERR_KEY for a key that is malformed, encrypted,
/// not RSA or under 2048 bits.
///
/// *signature_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_sign(
    client_id: *const c_char,
    timestamp: *const c_char,
    private_key: *const c_char,
    signature_out: *mut *mut c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(signature_out, "signature_out", || {
            let client_id = non_empty(arg(client_id, "client_id")?, "client_id")?;
            let timestamp = non_empty(arg(timestamp, "timestamp")?, "timestamp")?;
            let key = PrivateKey::cached(arg(private_key, "private_key")?, None)?;
            let to_sign = signature::b2b_string_to_sign(client_id, timestamp);
            Ok(malloc_str(signature::sign_rsa_sha256(&key, to_sign.as_bytes())?.as_bytes()))
        })
    }
}

/// Removes the whitespace outside strings from a JSON text, keeping everything else (key order,
/// string contents and escapes, number spelling) byte for byte: the body form that transaction
/// signatures hash. Writes the result to *minified_out.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT; DOKU_ERR_INVALID_ARGUMENT for invalid JSON or UTF-8.
/// *minified_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_minify(json_body: *const c_char, minified_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(minified_out, "minified_out", || Ok(malloc_str(minify(arg(json_body, "json_body")?)?.as_bytes())))
    }
}

/// The symmetric X-SIGNATURE of a transaction request (snap-reference §3): base64 of
/// HMAC-SHA512(client_secret, METHOD:path:access_token:hex(sha256(minify(body))):timestamp).
///
/// method is upper-cased; path is the relative endpoint ("/virtual-accounts/..."); a leading
/// "Bearer " on access_token is dropped; body may be NULL or "" (hashes the empty string).
///
/// Errors: DOKU_ERR_NULL_ARGUMENT (body excepted); DOKU_ERR_INVALID_ARGUMENT for invalid UTF-8,
/// an empty secret or token, a malformed method or path, or a body that is not JSON.
/// *signature_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_sign_request(
    client_secret: *const c_char,
    method: *const c_char,
    path: *const c_char,
    access_token: *const c_char,
    body: *const c_char,
    timestamp: *const c_char,
    signature_out: *mut *mut c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(signature_out, "signature_out", || {
            let secret = arg(client_secret, "client_secret")?;
            let request = symmetric_request(method, path, access_token, body, timestamp)?;
            Ok(malloc_str(symmetric::sign(secret.as_bytes(), &request)?.as_bytes()))
        })
    }
}

/// Checks an asymmetric signature: SHA256withRSA over client_id + "|" + timestamp, e.g. the
/// X-SIGNATURE of DOKU's token request to a merchant, with DOKU's public key (PEM or bare
/// base64; parsed keys are cached by digest).
///
/// Returns DOKU_OK when it verifies and DOKU_ERR_SIGNATURE_INVALID when it does not.
/// Errors: DOKU_ERR_NULL_ARGUMENT; DOKU_ERR_INVALID_ARGUMENT for invalid UTF-8; DOKU_ERR_KEY for
/// an unusable public key. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_verify(client_id: *const c_char, timestamp: *const c_char, signature: *const c_char, public_key: *const c_char) -> DokuStatus {
    ffi_panic_boundary! {
        status_only(|| {
            let message = signature::b2b_string_to_sign(arg(client_id, "client_id")?, arg(timestamp, "timestamp")?);
            let signature = arg(signature, "signature")?;
            let key = PublicKey::cached(arg(public_key, "public_key")?)?;
            signature::verify_rsa_sha256(&key, message.as_bytes(), signature)
        })
    }
}

/// Checks a symmetric X-SIGNATURE (see doku_sign_request()) in constant time, e.g. on a
/// notification from DOKU.
///
/// Returns DOKU_OK when it matches and DOKU_ERR_SIGNATURE_INVALID when it does not.
/// Errors: as doku_sign_request(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_verify_request(
    client_secret: *const c_char,
    method: *const c_char,
    path: *const c_char,
    access_token: *const c_char,
    body: *const c_char,
    timestamp: *const c_char,
    signature: *const c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        status_only(|| {
            let secret = arg(client_secret, "client_secret")?;
            let request = symmetric_request(method, path, access_token, body, timestamp)?;
            symmetric::verify(secret.as_bytes(), &request, arg(signature, "signature")?)
        })
    }
}

fn symmetric_request<'a>(
    method: *const c_char,
    path: *const c_char,
    access_token: *const c_char,
    body: *const c_char,
    timestamp: *const c_char,
) -> Result<symmetric::Request<'a>> {
    Ok(symmetric::Request {
        method: arg(method, "method")?,
        path: arg(path, "path")?,
        access_token: arg(access_token, "access_token")?,
        body: opt_arg(body, "body")?,
        timestamp: arg(timestamp, "timestamp")?,
    })
}
