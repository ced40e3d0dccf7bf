//! Thread-local error details for `doku_last_error` / `doku_last_response_code`, and the
//! plumbing that turns a `Result` into a `DokuStatus` plus out-parameter.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::thread::LocalKey;

use super::DokuStatus;
use crate::error::{Error, ErrorKind};

type Slot = RefCell<Option<CString>>;

thread_local! {
    static LAST_ERROR: Slot = const { RefCell::new(None) };
    static LAST_RESPONSE_CODE: Slot = const { RefCell::new(None) };
}

/// Sets a slot; during thread teardown (slot gone) there is nothing to report to.
fn set(slot: &'static LocalKey<Slot>, value: Option<CString>) {
    let _ = slot.try_with(|s| *s.borrow_mut() = value);
}

/// The slot's text, or a static "" when there is none.
fn borrowed(slot: &'static LocalKey<Slot>) -> *const c_char {
    slot.try_with(|s| s.borrow().as_ref().map(|t| t.as_ptr())).ok().flatten().unwrap_or(c"".as_ptr())
}

pub(crate) fn status_of(kind: ErrorKind) -> DokuStatus {
    match kind {
        ErrorKind::NullArgument => DokuStatus::DOKU_ERR_NULL_ARGUMENT,
        ErrorKind::InvalidArgument => DokuStatus::DOKU_ERR_INVALID_ARGUMENT,
        ErrorKind::Key => DokuStatus::DOKU_ERR_KEY,
        ErrorKind::Crypto => DokuStatus::DOKU_ERR_CRYPTO,
        ErrorKind::Network => DokuStatus::DOKU_ERR_NETWORK,
        ErrorKind::Timeout => DokuStatus::DOKU_ERR_TIMEOUT,
        ErrorKind::Tls => DokuStatus::DOKU_ERR_TLS,
        ErrorKind::Api => DokuStatus::DOKU_ERR_API,
        ErrorKind::Protocol => DokuStatus::DOKU_ERR_PROTOCOL,
        ErrorKind::SignatureInvalid => DokuStatus::DOKU_ERR_SIGNATURE_INVALID,
    }
}

fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

/// Forgets the previous call's error: details stay valid until the next `doku_*` call.
#[inline]
pub(crate) fn clear() {
    for slot in [&LAST_ERROR, &LAST_RESPONSE_CODE] {
        // Only a read on the hot path: most calls follow a success.
        let _ = slot.try_with(|s| {
            if s.borrow().is_some() {
                *s.borrow_mut() = None;
            }
        });
    }
}

pub(crate) fn record(error: &Error) -> DokuStatus {
    set(&LAST_ERROR, Some(c_text(error.message())));
    set(&LAST_RESPONSE_CODE, error.response_code().map(c_text));
    status_of(error.kind())
}

pub(crate) fn record_panic(payload: Box<dyn Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    set(&LAST_ERROR, Some(c_text(&format!("internal error (Rust panic caught at the C boundary): {what}"))));
    // A payload's destructor could itself panic: contain that too.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
}

/// The current message, or a static "" when there is none. Valid until the next `doku_*` call.
pub(crate) fn last_error() -> *const c_char {
    borrowed(&LAST_ERROR)
}

pub(crate) fn last_response_code() -> *const c_char {
    borrowed(&LAST_RESPONSE_CODE)
}

/// Static names for statuses, for bindings and logs.
pub(crate) fn status_name(status: i32) -> &'static CStr {
    match status {
        0 => c"DOKU_OK",
        1 => c"DOKU_ERR_NULL_ARGUMENT",
        2 => c"DOKU_ERR_INVALID_ARGUMENT",
        3 => c"DOKU_ERR_KEY",
        4 => c"DOKU_ERR_CRYPTO",
        5 => c"DOKU_ERR_NETWORK",
        6 => c"DOKU_ERR_TIMEOUT",
        7 => c"DOKU_ERR_TLS",
        8 => c"DOKU_ERR_API",
        9 => c"DOKU_ERR_PROTOCOL",
        10 => c"DOKU_ERR_SIGNATURE_INVALID",
        99 => c"DOKU_ERR_PANIC",
        _ => c"DOKU_UNKNOWN_STATUS",
    }
}
