//! The log callback: the application's function for the library's events (crate::log).

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};

use super::convert::status_only;
use super::error;
use super::panic::ffi_panic_boundary;
use super::status::DokuStatus;
use crate::error::Error;
use crate::log::{self, Level};

/// How much a log event matters. The values are fixed: bindings depend on them. A callback set
/// with a minimum level receives the events at that level and the more severe ones (lower
/// numbers).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DokuLogLevel {
    /// A call failed because of it: a token request failed ("token_fetch_failed"), a payment's
    /// answer was lost ("outcome_unknown").
    DOKU_LOG_ERROR = 1,
    /// Calls still succeed, but something needs a look: "stale_token_served",
    /// "invalid_token_retry", "clock_skew", "store_unavailable".
    DOKU_LOG_WARN = 2,
    /// Normal operation worth a line: "token_fetched", "token_from_store", "store_recovered".
    DOKU_LOG_INFO = 3,
    /// Detail for debugging.
    DOKU_LOG_DEBUG = 4,
}

impl From<Level> for DokuLogLevel {
    fn from(level: Level) -> DokuLogLevel {
        match level {
            Level::Error => DokuLogLevel::DOKU_LOG_ERROR,
            Level::Warn => DokuLogLevel::DOKU_LOG_WARN,
            Level::Info => DokuLogLevel::DOKU_LOG_INFO,
            Level::Debug => DokuLogLevel::DOKU_LOG_DEBUG,
        }
    }
}

/// The application's log function: user_data as given to doku_set_log_callback(), the event's
/// level, its name (a stable snake_case identifier, e.g. "token_fetched") and a message for
/// humans. event and message are borrowed for the duration of the call: copy them to keep them.
pub type DokuLogCallback = Option<unsafe extern "C" fn(user_data: *mut c_void, level: DokuLogLevel, event: *const c_char, message: *const c_char)>;

/// The C function and its user_data, as one sink.
struct Callback {
    function: unsafe extern "C" fn(*mut c_void, DokuLogLevel, *const c_char, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the caller of doku_set_log_callback promises that the callback may be called with
// user_data from any thread that calls into the library (its documented contract).
unsafe impl Send for Callback {}
// SAFETY: as above; the library never touches user_data itself.
unsafe impl Sync for Callback {}

impl Callback {
    fn call(&self, level: Level, event: &str, message: &str) {
        let event = CString::new(event).unwrap_or_default();
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the function and user_data were given together by the application, which
        // keeps them valid until the callback is replaced (doku_set_log_callback waits for
        // calls in progress); the strings live until the call returns.
        error::preserved(|| unsafe { (self.function)(self.user_data, level.into(), event.as_ptr(), message.as_ptr()) });
    }
}

/// Sets the process-wide log callback: callback(user_data, level, event, message) for each
/// event at min_level or more severe. A NULL callback removes it (min_level is then ignored).
/// Without a callback, or for events below min_level, an event costs one atomic load; the
/// cached doku_get_token() path raises none.
///
/// Events (event names are stable; messages may change): "token_fetched" (INFO: a token fetched
/// from DOKU by this process, with the request's duration and expiresIn), "token_fetch_failed"
/// (ERROR: a token request failed, with its duration and message), "token_from_store" (INFO: a
/// token read from the shared token store instead of fetched), "store_unavailable" (WARN: the
/// token store failed and calls fetch for themselves), "store_recovered" (INFO: it works
/// again), "stale_token_served" (WARN: a refresh failed and the still-valid token is served),
/// "invalid_token_retry" (WARN: DOKU refused a request's token with 401xx01; it is dropped and
/// the request retried once), "clock_skew" (WARN: a refused token request and DOKU's clock over
/// a minute from this machine's), "outcome_unknown" (ERROR: a payment or refund was sent and its
/// answer lost; the message names the status call to make). Messages never contain a key,
/// passphrase, secret, password or token: they hold numbers, durations, status and response
/// codes and the library's own error messages.
///
/// Threads: the callback runs only on a thread that is inside a doku_* call, before that call
/// returns (never on a helper thread of the library), so it may be a Python or PHP function. It
/// may run on several threads at once if several call the library. It runs with no lock of the
/// library held and may call doku_* functions, even for the same client; events those calls
/// raise are not reported (no recursion). Inside the callback doku_last_error() reads "", and
/// the thread's doku_last_error() and doku_last_response_code() are the same after the
/// callback as before it, whatever it calls. It must return normally: no longjmp, no C++
/// exception (it must catch its own).
///
/// Replacing or removing the callback waits until no other thread is still running the previous
/// one: when doku_set_log_callback() returns, the previous callback will not be called again
/// and its user_data may be freed. Called from inside the callback, it does not wait for its
/// own thread's call, which is still running. fork(): the callback stays set in the child.
///
/// Errors: DOKU_ERR_INVALID_ARGUMENT when callback is not NULL and min_level is not a
/// DokuLogLevel value (1 to 4; taken as an int so that any value is safe to pass). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_set_log_callback(callback: DokuLogCallback, user_data: *mut c_void, min_level: c_int) -> DokuStatus {
    ffi_panic_boundary! {
        status_only(|| {
            let Some(function) = callback else {
                log::set_sink(None, Level::Debug);
                return Ok(());
            };
            let min_level = Level::from_number(i64::from(min_level))
                .ok_or_else(|| Error::invalid(format!("min_level {min_level} is not a DokuLogLevel (1 = DOKU_LOG_ERROR to 4 = DOKU_LOG_DEBUG)")))?;
            let callback = Callback { function, user_data };
            log::set_sink(Some(Box::new(move |level, event, message| callback.call(level, event, message))), min_level);
            Ok(())
        })
    }
}
