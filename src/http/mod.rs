//! HTTPS to DOKU: ureq over the system's OpenSSL (the same library, and trust store, as the
//! signer). Agents, their TLS contexts and their kept-alive connections are shared process-wide
//! by transport settings ([`agents`]), so a client built per web request costs no handshake.
//!
//! One deadline per request: `timeout_ms` bounds everything from DNS to the last body byte,
//! however a server drips its bytes (every `recv` gets only the time left), and
//! `connect_timeout_ms` bounds DNS, TCP connect and the TLS handshake together ([`budget`]).
//! A connection returns to the pool only if its answer ended exactly where its framing said.
//!
//! Every failure becomes a classified `Error`: network, timeout, TLS, or protocol (an answer too
//! big or not HTTP). Messages name the host and the cause; URLs here carry no credentials
//! (refused in `Settings::new`) and proxy URLs are never echoed, since they may hold some.

mod agents;
mod budget;
mod proxy;
mod settings;
mod tls;

pub use settings::{Settings, TransportKey};

use std::time::{Instant, SystemTime};

use crate::error::{Error, ErrorKind, Result};

/// Answers bigger than this are refused without being read whole.
pub const MAX_BODY: u64 = 1024 * 1024;
pub const USER_AGENT: &str = concat!("doku-snap/", env!("CARGO_PKG_VERSION"));

/// One HTTP answer, read to the end (at most `MAX_BODY`).
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server's `Date` header, for clock-skew diagnostics.
    pub date: Option<String>,
    /// When the answer's head arrived, by the local clock.
    pub received_at: SystemTime,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A token answer's body holds the token: only its size is shown.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("date", &self.date)
            .field("received_at", &self.received_at)
            .finish()
    }
}

/// Refuses header values that could split a request (CR, LF, NUL).
pub fn check_header_value(name: &str, value: &str) -> Result<()> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::invalid(format!("{name} contains CR, LF or NUL, which cannot go into an HTTP header")));
    }
    Ok(())
}

pub(crate) use agents::Agents as AgentRegistry;
pub(crate) use budget::resolve;
pub(crate) use tls::Trust;

/// The internal registries, for `crate::fork` to hold across a fork.
pub(crate) mod registries {
    pub(crate) use super::agents::registry as agents;
    pub(crate) use super::tls::registry as trusts;
}

/// An HTTP client for one `Settings`. Safe to share between threads; it holds no connection
/// itself (the process-wide agent for its settings does).
pub struct Http {
    settings: Settings,
}

impl Http {
    pub fn new(settings: Settings) -> Http {
        Http { settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// POSTs `body` as JSON to `base_url + path`. Any HTTP status is an `Ok(Response)`;
    /// only transport failures and oversized answers are errors.
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        self.send("POST", path, headers, body)
    }

    /// Sends `body` (JSON, possibly empty) with `method` to `base_url + path`, exactly as given:
    /// signed requests hash these very bytes.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        self.send_by(method, path, headers, body, None)
    }

    /// [`send`](Self::send), ending by `deadline` if that comes before `timeout_ms` does: a
    /// caller that already waited part of its time has only the rest.
    pub fn send_by(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str, deadline: Option<Instant>) -> Result<Response> {
        if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") {
            return Err(Error::invalid(format!(
                "method {} cannot be sent: expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
                crate::text::printable(method, 16)
            )));
        }
        let url = format!("{}{}", self.settings.base_url(), path);
        let malformed = || Error::invalid("the method, path or a header cannot form an HTTP request");
        let mut request = ureq::http::Request::builder().method(method).uri(&url).body(body.as_bytes()).map_err(|_| malformed())?;
        let fields = request.headers_mut();
        fields.insert(ureq::http::header::CONTENT_TYPE, ureq::http::HeaderValue::from_static("application/json"));
        fields.insert(ureq::http::header::ACCEPT, ureq::http::HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            check_header_value(name, value)?;
            let name = ureq::http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| malformed())?;
            let value = ureq::http::HeaderValue::from_str(value).map_err(|_| malformed())?;
            // Replaces a default (Content-Type): a header field appears once.
            fields.insert(name, value);
        }
        let agent = agents::agent(&self.settings);
        if self.settings.base_url().starts_with("https:") {
            self.settings.trust().context().map_err(|e| self.error(e))?;
        }
        let started = Instant::now();
        let timeout = deadline.map_or(self.settings.timeout(), |d| d.saturating_duration_since(started)).min(self.settings.timeout());
        if timeout.is_zero() {
            return Err(self.timeout_error("before sending to"));
        }
        let request =
            if timeout < self.settings.timeout() { agent.configure_request(request).timeout_global(Some(timeout)).build() } else { request };
        budget::mark(budget::Connection::Unknown);
        let sent = budget::with_connect_deadline(started + self.settings.connect_timeout().min(timeout), || {
            // A body-less GET/HEAD/DELETE goes without Content-Length; DELETE with a body (DOKU's
            // delete-va) sends it, as every other method does.
            if body.is_empty() && matches!(method, "GET" | "HEAD" | "DELETE") {
                let (parts, _) = request.into_parts();
                agent.run(ureq::http::Request::from_parts(parts, ()))
            } else {
                agent.run(request)
            }
        });
        let mut response = sent.map_err(|e| {
            // Nothing left the machine while resolving or opening a connection; anything later
            // (or on a pooled connection) may have reached the server.
            let unsent = matches!(e, ureq::Error::HostNotFound | ureq::Error::Timeout(ureq::Timeout::Resolve))
                || budget::connection() == budget::Connection::Opening;
            let e = self.error(e);
            if unsent {
                e
            } else {
                e.after_sending()
            }
        })?;
        let received_at = SystemTime::now();
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let date = header("Date");
        let too_big = || Error::protocol(format!("DOKU answered HTTP {status} with a body over 1 MiB; refused without reading it")).after_sending();
        if header("Content-Length").and_then(|l| l.trim().parse::<u64>().ok()).is_some_and(|len| len > MAX_BODY) {
            return Err(too_big());
        }
        let body = match response.body_mut().with_config().limit(MAX_BODY).read_to_vec() {
            Ok(body) => body,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(too_big()),
            Err(e) => return Err(self.error(e).with_note(&format!("while reading the HTTP {status} answer")).after_sending()),
        };
        Ok(Response { status, body, date, received_at })
    }

    fn timeout_error(&self, during: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "timed out {during} {} (timeout_ms {} ms, connect_timeout_ms {} ms)",
                self.settings.host(),
                self.settings.timeout().as_millis(),
                self.settings.connect_timeout().as_millis()
            ),
        )
    }

    /// Classifies a transport failure. Server-supplied text is never echoed verbatim.
    fn error(&self, e: ureq::Error) -> Error {
        use std::io::ErrorKind as Io;
        use ureq::Timeout as T;
        let host = self.settings.host();
        let via = if self.settings.uses_proxy() { " through the proxy" } else { "" };
        match e {
            ureq::Error::Timeout(phase) => self.timeout_error(match phase {
                T::Resolve => "resolving",
                T::Connect => "connecting to",
                T::SendRequest | T::SendBody => "sending the request to",
                _ => "waiting for an answer from",
            }),
            ureq::Error::Io(io) => match io.kind() {
                Io::TimedOut | Io::WouldBlock => self.timeout_error("waiting for an answer from"),
                Io::ConnectionRefused | Io::HostUnreachable | Io::NetworkUnreachable | Io::AddrNotAvailable => {
                    Error::new(ErrorKind::Network, format!("cannot connect to {host}{via}: {io}"))
                }
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                    Error::new(ErrorKind::Network, format!("the connection to {host} was closed or reset while waiting for the answer"))
                }
                _ => Error::new(ErrorKind::Network, format!("network error with {host}: {io}")),
            },
            ureq::Error::HostNotFound => Error::new(ErrorKind::Network, format!("cannot resolve {host}")),
            ureq::Error::ConnectionFailed => Error::new(ErrorKind::Network, format!("cannot connect to {host}{via}")),
            ureq::Error::ConnectProxyFailed(why) => Error::new(
                ErrorKind::Network,
                format!("the proxy refused or failed the connection to {host} ({})", crate::text::printable(&why, 100)),
            ),
            ureq::Error::Other(other) => match other.downcast::<tls::TlsFailure>() {
                Ok(tls) => Error::new(ErrorKind::Tls, format!("TLS handshake with {host} failed: {}", one_line(&tls.0))),
                Err(other) => Error::new(ErrorKind::Network, format!("request to {host} failed: {}", one_line(&other.to_string()))),
            },
            ureq::Error::Tls(why) => Error::new(ErrorKind::Tls, format!("TLS with {host} failed: {why}")),
            ureq::Error::TlsRequired => Error::new(ErrorKind::Tls, format!("TLS with {host} could not be set up")),
            ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) | ureq::Error::BodyStalled => {
                Error::protocol(format!("{host} did not answer with valid HTTP"))
            }
            ureq::Error::Http(_) | ureq::Error::BadUri(_) | ureq::Error::InvalidProxyUrl => {
                Error::invalid("the method, path or a header cannot form an HTTP request")
            }
            other => Error::new(ErrorKind::Network, format!("request to {host} failed: {}", one_line(&other.to_string()))),
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    fn settings(url: &str) -> Result<Settings> {
        Settings::new(url, Duration::from_secs(2), Duration::from_secs(1), None, Some(""))
    }

    #[test]
    fn header_values_are_checked() {
        assert!(check_header_value("x", "ok value").is_ok());
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert_eq!(check_header_value("x", bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
    }

    /// Reads one request (head and Content-Length body) from `s`; false at EOF.
    fn read_request(s: &mut TcpStream) -> bool {
        let mut data = Vec::new();
        let mut byte = [0u8; 1];
        while !data.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => data.push(byte[0]),
                _ => return false,
            }
        }
        let head = String::from_utf8_lossy(&data).to_ascii_lowercase();
        let len = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).is_ok()
    }

    /// A keep-alive server: `replies[i]` answers the i-th request of every connection. Returns
    /// its URL and a counter of accepted connections.
    fn serve(replies: &'static [&'static [u8]]) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut s) = conn else { return };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || {
                    for reply in replies {
                        if !read_request(&mut s) || s.write_all(reply).is_err() {
                            return;
                        }
                    }
                    let mut rest = Vec::new();
                    let _ = s.read_to_end(&mut rest);
                });
            }
        });
        (url, accepted)
    }

    #[test]
    fn answers_are_read_with_their_date() {
        let (url, _) =
            serve(&[b"HTTP/1.1 401 Unauthorized\r\nDate: Fri, 07 Oct 2022 07:18:39 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"]);
        let r = Http::new(settings(&url).unwrap()).post_json("/p", &[("X-A", "1")], "{}").unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.date.as_deref()), (401, &b"{}"[..], Some("Fri, 07 Oct 2022 07:18:39 GMT")));
    }

    #[test]
    fn a_declared_huge_body_is_refused_unread() {
        let (url, _) = serve(&[b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n{"]);
        let e = Http::new(settings(&url).unwrap()).post_json("/p", &[], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.message().contains("HTTP 200") && e.message().contains("over 1 MiB"), "{e}");
    }

    #[test]
    fn refused_connections_are_network_errors() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = Http::new(settings(&format!("http://127.0.0.1:{port}")).unwrap()).post_json("/p", &[], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert!(e.message().contains("cannot connect to 127.0.0.1"), "{e}");
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let (url, _) = serve(&[b"SSH-2.0-OpenSSH\r\n\r\n"]);
        let e = Http::new(settings(&url).unwrap()).post_json("/p", &[], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(e.message().contains("did not answer with valid HTTP"), "{e}");
    }

    #[test]
    fn unresolvable_names_fail_within_the_connect_timeout() {
        let s = Settings::new("https://doku-snap-test.invalid", Duration::from_secs(5), Duration::from_millis(300), None, Some("")).unwrap();
        let t0 = std::time::Instant::now();
        let e = Http::new(s).post_json("/p", &[], "{}").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout), "{e}");
        assert!(t0.elapsed() < Duration::from_millis(1300), "{:?}", t0.elapsed());
    }

    #[test]
    fn injected_headers_are_refused_before_sending() {
        let http = Http::new(settings("http://127.0.0.1:9").unwrap());
        let e = http.post_json("/p", &[("X-TIMESTAMP", "1\r\nX-Evil: 1")], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    /// Regression (review): ureq 3's request builder appends, so the signed requests' own
    /// Content-Type went out beside the default one. Each field appears once.
    #[test]
    fn each_header_field_is_sent_once() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
            String::from_utf8(head).unwrap().to_ascii_lowercase()
        });
        let headers = [("Content-Type", "application/json"), ("X-TIMESTAMP", "2026-01-01T00:00:00Z"), ("x-timestamp", "2026-01-01T00:00:01Z")];
        Http::new(settings(&url).unwrap()).post_json("/p", &headers, "{}").unwrap();
        let head = seen.join().unwrap();
        let count = |name: &str| head.lines().filter(|l| l.starts_with(name)).count();
        assert_eq!((count("content-type:"), count("accept:"), count("x-timestamp:")), (1, 1, 1), "{head}");
        assert!(head.contains("x-timestamp: 2026-01-01t00:00:01z"), "the last value given wins: {head}");
    }

    #[test]
    fn methods_outside_http_are_refused_before_connecting() {
        let http = Http::new(settings("http://127.0.0.1:9").unwrap());
        for method in ["PURGE", "CONNECT", "TRACE", "FOO"] {
            let e = http.send(method, "/p", &[], "").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{method}: {e}");
            assert!(e.message().contains(&format!("method {method} cannot be sent")), "{e}");
        }
    }

    /// Regression: bytes past an answer's Content-Length were left in the pooled connection and
    /// became the next request's answer, with a success status.
    #[test]
    fn bytes_past_the_framing_never_answer_the_next_request() {
        let (url, accepted) = serve(&[
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":1}\
HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"forged\":true}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":2}",
        ]);
        let http = Http::new(settings(&url).unwrap());
        assert_eq!(http.post_json("/p", &[], "{}").unwrap().body, br#"{"n":1}"#);
        let second = http.post_json("/p", &[], "{}").unwrap();
        assert_eq!(second.body, br#"{"n":1}"#, "a fresh connection's first answer, not the forged bytes");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2, "the lying connection was closed, not reused");
    }

    #[test]
    fn honest_connections_are_kept_alive() {
        let (url, accepted) =
            serve(&[b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":1}", b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"n\":2}"]);
        let http = Http::new(settings(&url).unwrap());
        assert_eq!(http.post_json("/p", &[], "{}").unwrap().body, br#"{"n":1}"#);
        // A new Http (a new client) with the same settings shares the process-wide agent.
        assert_eq!(Http::new(settings(&url).unwrap()).post_json("/p", &[], "{}").unwrap().body, br#"{"n":2}"#);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// Regression: a chunked answer with a trailer field (valid HTTP/1.1) was refused.
    #[test]
    fn chunked_answers_with_trailers_are_read() {
        let (url, _) = serve(&[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n\
4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Checksum: abc\r\n\r\n"]);
        let r = Http::new(settings(&url).unwrap()).post_json("/p", &[], "{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &br#"{"a":1}"#[..]));
    }

    /// Plain HTTP, a body dripped one byte every 300 ms: the request ends at `timeout_ms`.
    #[test]
    fn a_dripping_body_ends_at_the_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            read_request(&mut s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(300));
                if s.write_all(b" ").is_err() {
                    return;
                }
            }
        });
        let s = Settings::new(&url, Duration::from_millis(1000), Duration::from_millis(1000), None, Some("")).unwrap();
        let t0 = std::time::Instant::now();
        let e = Http::new(s).post_json("/p", &[], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(t0.elapsed() < Duration::from_millis(1500), "{:?}", t0.elapsed());
    }
}
