//! The one error type of the crate. Every failure carries the kind that becomes its C status
//! and a message for humans. Messages name what went wrong and never contain key material,
//! passphrases or tokens: callers build them only from public facts (paths, hosts, codes).

use std::fmt;

/// What went wrong; each kind maps to one `DokuStatus` value of the C API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NullArgument,
    InvalidArgument,
    Key,
    Crypto,
    Network,
    Timeout,
    Tls,
    Api,
    Protocol,
    SignatureInvalid,
    /// A money-moving request was sent and no answer came back: DOKU may have acted on it.
    OutcomeUnknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// DOKU's `responseCode`, only for `ErrorKind::Api`.
    response_code: Option<String>,
    /// Whether the request may have reached the server before this failure (a timeout or a
    /// lost connection after sending), as opposed to failing while connecting.
    sent: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), response_code: None, sent: false }
    }

    pub fn api(response_code: impl Into<String>, message: impl Into<String>) -> Self {
        Error { kind: ErrorKind::Api, message: message.into(), response_code: Some(response_code.into()), sent: false }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn key(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Key, message)
    }

    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn response_code(&self) -> Option<&str> {
        self.response_code.as_deref()
    }

    /// Whether the request may have reached the server before it failed.
    pub fn sent(&self) -> bool {
        self.sent
    }

    /// Marks a transport failure as happening after the request may have left the machine.
    pub(crate) fn after_sending(mut self) -> Self {
        self.sent = true;
        self
    }

    /// Adds context after the message, e.g. a clock-skew hint.
    pub fn with_note(mut self, note: &str) -> Self {
        self.message.push_str("; ");
        self.message.push_str(note);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// OpenSSL's error stack as text, for messages. It holds library, function and reason names,
/// never key bytes.
pub fn openssl_reason(e: &openssl::error::ErrorStack) -> String {
    let reasons: Vec<String> = e.errors().iter().map(|e| e.reason().map(str::to_owned).unwrap_or_else(|| format!("code {:#x}", e.code()))).collect();
    if reasons.is_empty() {
        "unknown OpenSSL error".to_owned()
    } else {
        reasons.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_carry_the_response_code() {
        let e = Error::api("4017300", "DOKU answered HTTP 401 with 4017300: Unauthorized. Unknown Client");
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.response_code(), Some("4017300"));
        assert_eq!(Error::invalid("x").response_code(), None);
    }

    #[test]
    fn notes_are_appended() {
        let e = Error::protocol("bad").with_note("more");
        assert_eq!(e.to_string(), "bad; more");
    }

    #[test]
    fn openssl_reasons_are_readable() {
        let stack = openssl::pkey::PKey::private_key_from_der(b"nope").unwrap_err();
        let text = openssl_reason(&stack);
        assert!(!text.is_empty());
    }
}
