//! The status every fallible function returns, its fixed numbers and names, and the functions
//! that report on the last call: the version, the error message, DOKU's response code.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use super::error;
use super::panic::ffi_panic_boundary;
use crate::error::ErrorKind;

/// Status of a fallible call. The values are fixed: bindings depend on them.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DokuStatus {
    /// Success.
    DOKU_OK = 0,
    /// A required pointer argument was NULL.
    DOKU_ERR_NULL_ARGUMENT = 1,
    /// An argument or the config is invalid: bad JSON, unknown key, invalid UTF-8, a header value
    /// with CR/LF, plain http:// to a non-loopback host, ...
    DOKU_ERR_INVALID_ARGUMENT = 2,
    /// The private key cannot be used: unreadable, malformed, encrypted without (or with a wrong)
    /// passphrase, not RSA, or shorter than 2048 bits.
    DOKU_ERR_KEY = 3,
    /// OpenSSL failed while signing or verifying.
    DOKU_ERR_CRYPTO = 4,
    /// DNS failure, connection refused or reset, proxy failure.
    DOKU_ERR_NETWORK = 5,
    /// No complete answer within timeout_ms (or no connection within connect_timeout_ms).
    DOKU_ERR_TIMEOUT = 6,
    /// TLS failed, e.g. the server's certificate is not trusted.
    DOKU_ERR_TLS = 7,
    /// DOKU refused the request with an error responseCode; see doku_last_response_code().
    DOKU_ERR_API = 8,
    /// DOKU's answer is unusable: not JSON, missing fields, over 1 MiB, not HTTP.
    DOKU_ERR_PROTOCOL = 9,
    /// A signature did not verify.
    DOKU_ERR_SIGNATURE_INVALID = 10,
    /// A money-moving call (payment, payment_jump_app, refund) was sent and its answer was lost
    /// (a timeout or a broken connection after sending): DOKU may have acted on it. Never resend
    /// it blindly: ask the status operation the message names, by the same partnerReferenceNo.
    DOKU_ERR_OUTCOME_UNKNOWN = 11,
    /// An internal error (a Rust panic) was caught at the boundary.
    DOKU_ERR_PANIC = 99,
}

/// The one table of statuses beyond the enum itself: the error kind each one reports (`None`
/// for the two without one). Names come from the variants. The match it generates is
/// exhaustive, so a status missing here does not compile.
macro_rules! status_table {
    ($($status:ident => $kind:expr),* $(,)?) => {
        /// Every status, in the order of the table.
        pub const ALL_STATUSES: &[DokuStatus] = &[$(DokuStatus::$status),*];

        impl DokuStatus {
            /// The kind of error this status reports.
            pub fn kind(self) -> Option<ErrorKind> {
                match self {
                    $(DokuStatus::$status => $kind),*
                }
            }

            /// Its name, e.g. "DOKU_ERR_KEY": static, never freed.
            pub fn name(self) -> &'static CStr {
                match self {
                    $(DokuStatus::$status => match CStr::from_bytes_with_nul(concat!(stringify!($status), "\0").as_bytes()) {
                        Ok(name) => name,
                        Err(_) => c"DOKU_UNKNOWN_STATUS",
                    }),*
                }
            }
        }
    };
}

status_table! {
    DOKU_OK => None,
    DOKU_ERR_NULL_ARGUMENT => Some(ErrorKind::NullArgument),
    DOKU_ERR_INVALID_ARGUMENT => Some(ErrorKind::InvalidArgument),
    DOKU_ERR_KEY => Some(ErrorKind::Key),
    DOKU_ERR_CRYPTO => Some(ErrorKind::Crypto),
    DOKU_ERR_NETWORK => Some(ErrorKind::Network),
    DOKU_ERR_TIMEOUT => Some(ErrorKind::Timeout),
    DOKU_ERR_TLS => Some(ErrorKind::Tls),
    DOKU_ERR_API => Some(ErrorKind::Api),
    DOKU_ERR_PROTOCOL => Some(ErrorKind::Protocol),
    DOKU_ERR_SIGNATURE_INVALID => Some(ErrorKind::SignatureInvalid),
    DOKU_ERR_OUTCOME_UNKNOWN => Some(ErrorKind::OutcomeUnknown),
    DOKU_ERR_PANIC => None,
}

impl DokuStatus {
    /// The status that reports an error of this kind.
    pub fn of(kind: ErrorKind) -> DokuStatus {
        ALL_STATUSES.iter().copied().find(|s| s.kind() == Some(kind)).unwrap_or(DokuStatus::DOKU_ERR_PANIC)
    }

    /// The status with this number, if any.
    pub fn from_number(number: c_int) -> Option<DokuStatus> {
        ALL_STATUSES.iter().copied().find(|s| *s as c_int == number)
    }
}

/// The library's version, e.g. "0.1.0"; equal to DOKU_VERSION of the header it was built with.
///
/// Returns a static string: never NULL, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_version() -> *const c_char {
    ffi_panic_boundary! {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    }
}

/// The message of the last failed doku_* call on this thread, or "" if it succeeded.
///
/// Never NULL. Borrowed: valid until the next doku_* call on the same thread returns, so it may
/// be passed as an argument to that call; do not free. Messages name the cause and never
/// contain keys, passphrases or tokens. Thread-local.
#[no_mangle]
pub extern "C" fn doku_last_error() -> *const c_char {
    ffi_panic_boundary! {
        error::last_error()
    }
}

/// DOKU's responseCode (e.g. "4017300") when the last call on this thread failed with
/// DOKU_ERR_API; "" otherwise.
///
/// Never NULL. Borrowed: valid until the next doku_* call on the same thread returns, so it may
/// be passed as an argument to that call; do not free. Thread-local.
#[no_mangle]
pub extern "C" fn doku_last_response_code() -> *const c_char {
    ffi_panic_boundary! {
        error::last_response_code()
    }
}

/// The name of a status value, e.g. "DOKU_ERR_KEY"; "DOKU_UNKNOWN_STATUS" for other values.
///
/// Takes an int so that any value is safe to pass. Returns a static string: never NULL, never
/// freed. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_status_name(status: c_int) -> *const c_char {
    ffi_panic_boundary! {
        DokuStatus::from_number(status).map_or(c"DOKU_UNKNOWN_STATUS", DokuStatus::name).as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status: DokuStatus = (|| {
            ffi_panic_boundary! {
                if std::hint::black_box(true) {
                    panic!("boom");
                }
                DokuStatus::DOKU_OK
            }
        })();
        assert_eq!(status, DokuStatus::DOKU_ERR_PANIC);
        let msg = unsafe { CStr::from_ptr(doku_last_error()) }.to_str().unwrap();
        assert!(msg.contains("panic") && msg.contains("boom"), "{msg}");
    }

    #[test]
    fn every_status_has_its_number_name_and_kind() {
        let numbers: Vec<i32> = ALL_STATUSES.iter().map(|s| *s as i32).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99], "the numbers are fixed forever");
        for status in ALL_STATUSES {
            assert_eq!(status.name().to_str().unwrap(), format!("{status:?}"));
            assert_eq!(DokuStatus::from_number(*status as i32), Some(*status));
            let named = unsafe { CStr::from_ptr(doku_status_name(*status as c_int)) };
            assert_eq!(named, status.name());
            if let Some(kind) = status.kind() {
                assert_eq!(DokuStatus::of(kind), *status);
            }
        }
        assert_eq!(unsafe { CStr::from_ptr(doku_status_name(42)) }.to_str().unwrap(), "DOKU_UNKNOWN_STATUS");
    }
}
