//! The C ABI. The only module with `unsafe`: it turns C pointers into Rust references and
//! results back into statuses, out-parameters and thread-local error details. All protocol,
//! crypto, HTTP and caching work happens in the safe modules.
//!
//! Signatures stay macro-free so that cbindgen (on stable Rust) sees every function; the body
//! of each runs inside `ffi_panic_boundary!`.

#![allow(unsafe_code)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// In the header's order: statuses and the last call's details, signing without a client, the
// client, the log callback, the merchant side, and releasing strings.
mod client;
mod convert;
mod log;
mod merchant;
mod signing;
mod status;

mod error;
pub(crate) mod os;
mod panic;

pub use client::*;
pub use convert::doku_free;
pub use log::*;
pub use merchant::*;
pub use signing::*;
pub use status::*;

use self::panic::ffi_panic_boundary;
use crate::error::Result;

/// For Rust crates that add C functions of their own on top of this library (the C tests'
/// libdoku_test adds a test hook): runs `body` as every doku_* function runs, inside the panic
/// boundary, with the thread's error details cleared first and set from its error, and returns
/// the status. A Rust API only: it is no C symbol.
pub fn call(body: impl FnOnce() -> Result<()>) -> DokuStatus {
    ffi_panic_boundary! {
        convert::status_only(body)
    }
}
