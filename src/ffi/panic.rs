//! The panic boundary, after rustls-ffi's `ffi_panic_boundary!`: every `extern "C"` body runs
//! inside `catch_unwind`, and a panic becomes the function's "panicked" value instead of
//! unwinding into C (undefined behaviour).

/// The value an `extern "C"` function returns when its body panicked.
pub(crate) trait PanicOrDefault {
    fn value() -> Self;
}

impl PanicOrDefault for super::DokuStatus {
    fn value() -> Self {
        super::DokuStatus::DOKU_ERR_PANIC
    }
}

impl PanicOrDefault for () {
    fn value() -> Self {}
}

impl PanicOrDefault for *const std::os::raw::c_char {
    fn value() -> Self {
        // Functions returning strings never return NULL: an empty static string instead.
        c"".as_ptr()
    }
}

macro_rules! ffi_panic_boundary {
    ( $($tt:tt)* ) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($tt)* })) {
            Ok(ret) => ret,
            Err(payload) => {
                $crate::ffi::error::record_panic(payload);
                return $crate::ffi::panic::PanicOrDefault::value();
            }
        }
    };
}

pub(crate) use ffi_panic_boundary;
