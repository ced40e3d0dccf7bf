//! Thread-local error details for `doku_last_error` / `doku_last_response_code`, and the
//! plumbing that turns a `Result` into a `DokuStatus` plus out-parameter.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::CString;
use std::os::raw::c_char;

use super::DokuStatus;
use crate::error::Error;

/// What `doku_last_error` and `doku_last_response_code` point into.
struct Details {
    error: Option<CString>,
    response_code: Option<CString>,
}

impl Details {
    const NONE: Details = Details { error: None, response_code: None };

    fn is_none(&self) -> bool {
        self.error.is_none() && self.response_code.is_none()
    }
}

/// The last call's details, and the call before's: a caller may pass `doku_last_error()` as an
/// argument of the next call (`doku_sign(doku_last_error(), …)`), so `clear` moves the details
/// aside, where they live until the call after, instead of freeing them while that call runs.
struct Slots {
    last: Details,
    previous: Details,
}

thread_local! {
    static SLOTS: RefCell<Slots> = const { RefCell::new(Slots { last: Details::NONE, previous: Details::NONE }) };
}

/// Sets the last call's details; during thread teardown (slots gone) there is nothing to report to.
fn set(details: Details) {
    let _ = SLOTS.try_with(|s| s.borrow_mut().last = details);
}

/// The text `pick` chooses from the last call's details, or a static "" when there is none.
fn borrowed(pick: fn(&Details) -> &Option<CString>) -> *const c_char {
    SLOTS.try_with(|s| pick(&s.borrow().last).as_ref().map(|t| t.as_ptr())).ok().flatten().unwrap_or(c"".as_ptr())
}

fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

/// Forgets the previous call's details; called once, at the start of each call. They stay
/// readable until this call returns, since its arguments may point into them.
#[inline]
pub(crate) fn clear() {
    let _ = SLOTS.try_with(|s| {
        // Only a read on the hot path: most calls follow two successes.
        if s.borrow().last.is_none() && s.borrow().previous.is_none() {
            return;
        }
        let s = &mut *s.borrow_mut();
        // Moving a CString leaves its text where it is; the details of two calls ago are freed.
        s.previous = std::mem::replace(&mut s.last, Details::NONE);
    });
}

pub(crate) fn record(error: &Error) -> DokuStatus {
    set(Details { error: Some(c_text(error.message())), response_code: error.response_code().map(c_text) });
    DokuStatus::of(error.kind())
}

pub(crate) fn record_panic(payload: Box<dyn Any + Send>) {
    let what = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default();
    set(Details { error: Some(c_text(&format!("internal error (Rust panic caught at the C boundary): {what}"))), response_code: None });
    // A payload's destructor could itself panic: contain that too.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
}

/// The current message, or a static "" when there is none. Valid until the next `doku_*` call
/// returns.
pub(crate) fn last_error() -> *const c_char {
    borrowed(|d| &d.error)
}

pub(crate) fn last_response_code() -> *const c_char {
    borrowed(|d| &d.response_code)
}

/// Runs `body` (the application's log callback) with this thread's details set aside: the
/// callback sees none, calls it makes into the library cannot free or change the ones the
/// current call may be reading (its arguments may point into them), and after it the details
/// are as before.
pub(crate) fn preserved<R>(body: impl FnOnce() -> R) -> R {
    struct Restore(Option<Slots>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(saved) = self.0.take() {
                let _ = SLOTS.try_with(|s| *s.borrow_mut() = saved);
            }
        }
    }
    let saved = SLOTS.try_with(|s| std::mem::replace(&mut *s.borrow_mut(), Slots { last: Details::NONE, previous: Details::NONE })).ok();
    let _restore = Restore(saved);
    body()
}
