//! doku-snap: a native authentication core for DOKU's SNAP APIs.
//!
//! Data flows one way: [`config`] → [`token::Client`] → [`signature`] / [`http`] → parsed
//! response → [`token::cache`] → the C API in `ffi`. Everything outside `ffi` is safe Rust with
//! its own unit tests; `ffi` is the only module with `unsafe`.

#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod error;
pub mod fork;
pub mod http;
pub mod jwt;
pub mod key;
pub mod merchant;
pub mod request;
pub mod signature;
pub mod timestamp;
pub mod token;

pub mod ffi;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use error::{Error, ErrorKind, Result};
