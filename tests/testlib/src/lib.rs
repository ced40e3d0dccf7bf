//! libdoku_test.so, for the C tests only: the shipped library (this crate links it whole, so its
//! doku_* functions are exported here too) plus `doku_test_hook`, which the shipped
//! libdoku.so cannot contain. As wasmtime's `crates/c-api/artifact` is a thin crate over the
//! implementation.

use std::os::raw::c_int;

pub use doku;
use doku::ffi::DokuStatus;
use doku::{Error, ErrorKind};

/// `what` = 0 panics inside the boundary; any other value fails with that status, so that the
/// C tests reach statuses no input provokes (CRYPTO, PANIC).
#[no_mangle]
pub extern "C" fn doku_test_hook(what: c_int) -> DokuStatus {
    doku::ffi::call(|| {
        let kind = match what {
            0 => panic!("test hook"),
            1 => ErrorKind::NullArgument,
            2 => ErrorKind::InvalidArgument,
            3 => ErrorKind::Key,
            4 => ErrorKind::Crypto,
            5 => ErrorKind::Network,
            6 => ErrorKind::Timeout,
            7 => ErrorKind::Tls,
            8 => ErrorKind::Api,
            9 => ErrorKind::Protocol,
            _ => ErrorKind::SignatureInvalid,
        };
        Err(Error::new(kind, "failure raised by the test hook"))
    })
}
