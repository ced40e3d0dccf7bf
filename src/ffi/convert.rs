//! Between C and Rust, as rustls-ffi's `ffi.rs`: arguments in (C strings, the client handle),
//! results out (statuses, out-parameters, malloc'd strings).

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr;

use super::error;
use super::panic::ffi_panic_boundary;
use super::status::DokuStatus;
use crate::error::{Error, ErrorKind, Result};

/// Releases a string returned through a char ** out-parameter, wiping its bytes first (tokens
/// and signatures come back this way). NULL is a no-op. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_free(s: *mut c_char) {
    ffi_panic_boundary! {
        if s.is_null() {
            return;
        }
        // SAFETY: every owned string comes from malloc_str (libc::malloc, NUL-terminated) and
        // is the caller's to give back here once. Tokens and signatures come back through this
        // function: their bytes are wiped before the memory returns to malloc.
        // The whole block, as malloc knows its size: no strlen over a 600-byte token, which
        // with the wipe cost the hot path (cached doku_get_token + doku_free) a third of its
        // rate. explicit_bzero is a memset the compiler may not drop.
        unsafe {
            libc::explicit_bzero(s.cast(), libc::malloc_usable_size(s.cast()));
            libc::free(s.cast());
        }
    }
}

/// For functions whose only output is their status.
pub(super) fn status_only(body: impl FnOnce() -> Result<()>) -> DokuStatus {
    error::clear();
    match body() {
        Ok(()) => DokuStatus::DOKU_OK,
        Err(e) => error::record(&e),
    }
}

/// Runs `body` with `out` cleared first, writing its result only on success.
pub(super) fn with_out<T>(out: *mut *mut T, out_name: &str, body: impl FnOnce() -> Result<*mut T>) -> DokuStatus {
    error::clear();
    if out.is_null() {
        return error::record(&Error::new(ErrorKind::NullArgument, format!("{out_name} is NULL")));
    }
    // SAFETY: out is non-NULL and, by the API contract, points to writable storage.
    unsafe { *out = ptr::null_mut() };
    match body() {
        Ok(value) => {
            // SAFETY: as above.
            unsafe { *out = value };
            DokuStatus::DOKU_OK
        }
        Err(e) => error::record(&e),
    }
}

/// A C string argument as `&str`, borrowed for the duration of the call.
pub(super) fn arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::new(ErrorKind::NullArgument, format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and, by the API contract, a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// Like `arg`, for arguments where NULL means "none".
pub(super) fn opt_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    arg(ptr, name).map(Some)
}

/// `len` bytes at `ptr`, whatever they are (a request body as received); NULL with 0 is empty.
pub(super) fn bytes_arg<'a>(ptr: *const c_char, len: usize) -> Result<&'a [u8]> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(Error::new(ErrorKind::NullArgument, format!("body is NULL but body_len is {len}"))),
        // SAFETY: non-NULL and, by the API contract, `len` readable bytes that outlive the call.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }),
    }
}

pub(super) fn non_empty<'a>(s: &'a str, name: &str) -> Result<&'a str> {
    if s.is_empty() {
        return Err(Error::invalid(format!("{name} is empty")));
    }
    Ok(s)
}

/// Copies `bytes` into one malloc'd, NUL-terminated buffer that doku_free() releases.
pub(super) fn malloc_str(bytes: &[u8]) -> *mut c_char {
    let len = bytes.len();
    // SAFETY: malloc'd size len + 1; we write exactly len bytes plus the terminator.
    unsafe {
        let p = libc::malloc(len + 1).cast::<u8>();
        if p.is_null() {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<u8>(len + 1).unwrap_or(std::alloc::Layout::new::<u8>()));
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), p, len);
        *p.add(len) = 0;
        p.cast()
    }
}
