//! A small, strict HTTP/1.1 server side: request heads, Content-Length and chunked bodies, with
//! size limits and deadlines on every read, and response heads. No parsing is lenient where
//! leniency enables request smuggling (both Content-Length and Transfer-Encoding, obs-fold,
//! whitespace before the colon).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// A request head larger than this is answered 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// A request body larger than this is answered 413.
pub(crate) const MAX_BODY: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_CHUNK_LINE: usize = 1024;

/// A byte stream whose reads can time out: a TCP socket, a TLS stream over one, or test data.
pub(crate) trait Transport: Read + Write {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for std::net::TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::net::TcpStream::set_read_timeout(self, timeout)
    }
}

/// Request bytes in, response bytes out; reads never block. For tests and fuzzing.
#[cfg(any(test, fuzzing))]
pub(crate) struct Mem {
    input: io::Cursor<Vec<u8>>,
    pub output: Vec<u8>,
}

#[cfg(any(test, fuzzing))]
impl Mem {
    pub fn new(input: &[u8]) -> Mem {
        Mem { input: io::Cursor::new(input.to_vec()), output: Vec::new() }
    }
}

#[cfg(any(test, fuzzing))]
impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

#[cfg(any(test, fuzzing))]
impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(any(test, fuzzing))]
impl Transport for Mem {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Http10,
    Http11,
}

#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    pub query: String,
    pub version: Version,
    /// Names are lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header; `name` must be lowercase.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn connection_has(&self, token: &str) -> bool {
        self.headers_named("connection").flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked.
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.connection_has("close"),
            Version::Http10 => self.connection_has("keep-alive"),
        }
    }
}

/// Why no request could be read. Each maps to a status, or to closing silently.
#[derive(Debug)]
pub(crate) enum ReqError {
    /// The peer closed, or stayed idle, before sending anything: close without answering.
    Closed,
    Timeout,
    HeadTooLarge,
    BodyTooLarge,
    VersionNotSupported,
    Bad(String),
    Io(io::Error),
}

impl ReqError {
    /// The status to answer with; `None` means close without a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReqError::Closed | ReqError::Io(_) => None,
            ReqError::Timeout => Some(408),
            ReqError::HeadTooLarge => Some(431),
            ReqError::BodyTooLarge => Some(413),
            ReqError::VersionNotSupported => Some(505),
            ReqError::Bad(_) => Some(400),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ReqError::Closed => "connection closed".into(),
            ReqError::Timeout => "the request did not arrive in time".into(),
            ReqError::HeadTooLarge => format!("the request head exceeds {} KiB", MAX_HEAD / 1024),
            ReqError::BodyTooLarge => format!("the request body exceeds {} KiB", MAX_BODY / 1024),
            ReqError::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are supported".into(),
            ReqError::Bad(why) => why.clone(),
            ReqError::Io(e) => e.to_string(),
        }
    }
}

fn bad(why: &str) -> ReqError {
    ReqError::Bad(why.to_owned())
}

/// One connection's reading side: bytes read past the current request stay buffered for the next
/// (pipelining).
pub(crate) struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Transport> Conn<S> {
    pub fn new(stream: S) -> Self {
        Conn { stream, buf: Vec::new() }
    }

    /// Reads more bytes before `deadline`; `Ok(0)` at end of stream.
    fn fill(&mut self, deadline: Instant) -> Result<usize, ReqError> {
        let mut chunk = [0u8; 8192];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReqError::Timeout);
            }
            self.stream.set_read_timeout(Some(left)).map_err(ReqError::Io)?;
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(ReqError::Io(e)),
            }
        }
    }

    /// Reads one request. Nothing may arrive until `first_byte_by` (then `Closed`, or `Timeout`
    /// when `timeout_if_idle`); once the first byte is in, the head must be complete within
    /// `head_within` of it and no later than `head_by`, and the body within `head_within` of
    /// the head.
    pub fn read_request(
        &mut self,
        first_byte_by: Instant,
        head_by: Instant,
        head_within: Duration,
        timeout_if_idle: bool,
    ) -> Result<Request, ReqError> {
        // RFC 9112 §2.2: ignore empty lines before a request line.
        let skip = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        self.buf.drain(..skip);
        while self.buf.is_empty() {
            match self.fill(first_byte_by) {
                Ok(0) => return Err(ReqError::Closed),
                Ok(_) => {
                    let skip = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                    self.buf.drain(..skip);
                }
                Err(ReqError::Timeout) if !timeout_if_idle => return Err(ReqError::Closed),
                Err(e) => return Err(e),
            }
        }
        let head_deadline = head_by.min(Instant::now() + head_within);
        // Rescan only the new bytes (and the two before them): a byte-at-a-time client must not
        // cost quadratic time.
        let mut scanned = 0usize;
        let (head_len, body_start) = loop {
            let from = scanned.saturating_sub(2);
            let upto = self.buf.len().min(MAX_HEAD + 4);
            if let Some((h, b)) = find_head_end(&self.buf[from..upto]) {
                break (h + from, b + from);
            }
            scanned = upto;
            if self.buf.len() > MAX_HEAD {
                return Err(ReqError::HeadTooLarge);
            }
            if self.fill(head_deadline)? == 0 {
                return Err(bad("the connection closed in the middle of the request head"));
            }
        };
        if head_len > MAX_HEAD {
            return Err(ReqError::HeadTooLarge);
        }
        let head: Vec<u8> = self.buf.drain(..body_start).take(head_len).collect();
        let mut req = parse_head(&head)?;
        let body_deadline = Instant::now() + head_within;
        req.body = self.read_body(&req, body_deadline)?;
        Ok(req)
    }

    fn read_body(&mut self, req: &Request, deadline: Instant) -> Result<Vec<u8>, ReqError> {
        let te: Vec<&str> = req.headers_named("transfer-encoding").collect();
        let cl: Vec<&str> = req.headers_named("content-length").collect();
        if !te.is_empty() {
            if !cl.is_empty() {
                return Err(bad("both Content-Length and Transfer-Encoding"));
            }
            if req.version == Version::Http10 || te.len() != 1 || !te[0].trim().eq_ignore_ascii_case("chunked") {
                return Err(bad("unsupported Transfer-Encoding (only chunked)"));
            }
            self.continue_if_expected(req)?;
            return self.read_chunked(deadline);
        }
        let length = match cl.first() {
            // RFC 9112 §6.3: a request with neither header has no body (curl -X POST sends so).
            None => return Ok(Vec::new()),
            Some(first) => {
                if cl.iter().any(|v| v != first) {
                    return Err(bad("conflicting Content-Length headers"));
                }
                let v = first.trim();
                if v.is_empty() || v.len() > 18 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("invalid Content-Length"));
                }
                v.parse::<usize>().map_err(|_| bad("invalid Content-Length"))?
            }
        };
        if length > MAX_BODY {
            return Err(ReqError::BodyTooLarge);
        }
        if length > 0 {
            self.continue_if_expected(req)?;
        }
        while self.buf.len() < length {
            if self.fill(deadline)? == 0 {
                return Err(bad("the connection closed in the middle of the request body"));
            }
        }
        Ok(self.buf.drain(..length).collect())
    }

    /// curl and others wait for `100 Continue` before sending a larger body.
    fn continue_if_expected(&mut self, req: &Request) -> Result<(), ReqError> {
        let expects = req.headers_named("expect").any(|v| v.trim().eq_ignore_ascii_case("100-continue"));
        if expects && req.version == Version::Http11 && self.buf.is_empty() {
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").and_then(|()| self.stream.flush()).map_err(ReqError::Io)?;
        }
        Ok(())
    }

    fn read_chunked(&mut self, deadline: Instant) -> Result<Vec<u8>, ReqError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(MAX_CHUNK_LINE, deadline)?;
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
            let size_text = std::str::from_utf8(size_text).map_err(|_| bad("invalid chunk size"))?.trim_end_matches([' ', '\t']);
            if size_text.is_empty() || size_text.len() > 8 || !size_text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("invalid chunk size"));
            }
            let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("invalid chunk size"))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(ReqError::BodyTooLarge);
            }
            while self.buf.len() < size {
                if self.fill(deadline)? == 0 {
                    return Err(bad("the connection closed in the middle of a chunk"));
                }
            }
            body.extend(self.buf.drain(..size));
            if !self.read_line(2, deadline)?.is_empty() {
                return Err(bad("a chunk is longer than its size"));
            }
        }
        // Trailers: read and ignored, within the head limit.
        let mut trailer_bytes = 0;
        loop {
            let line = self.read_line(MAX_HEAD, deadline)?;
            if line.is_empty() {
                return Ok(body);
            }
            trailer_bytes += line.len();
            if trailer_bytes > MAX_HEAD {
                return Err(ReqError::HeadTooLarge);
            }
        }
    }

    /// One line without its `\n` (and `\r`), at most `max` bytes.
    fn read_line(&mut self, max: usize, deadline: Instant) -> Result<Vec<u8>, ReqError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Err(bad("a line in the chunked body is too long"));
                }
                return Ok(line);
            }
            if self.buf.len() > max + 2 {
                return Err(bad("a line in the chunked body is too long"));
            }
            if self.fill(deadline)? == 0 {
                return Err(bad("the connection closed in the middle of the chunked body"));
            }
        }
    }
}

/// `(length of the head without its final line break, offset of the body)`; CRLF or bare LF.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    (0..buf.len()).filter(|&i| buf[i] == b'\n').find_map(|i| match (buf.get(i + 1), buf.get(i + 2)) {
        (Some(b'\n'), _) => Some((i, i + 2)),
        (Some(b'\r'), Some(b'\n')) => Some((i, i + 3)),
        _ => None,
    })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request line and headers (without the final blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, ReqError> {
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(bad("malformed request line: invalid method"));
    }
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("malformed request line: invalid target"));
    }
    let version = match version {
        "HTTP/1.1" => Version::Http11,
        "HTTP/1.0" => Version::Http10,
        v if v.len() == 8
            && v.starts_with("HTTP/")
            && v.as_bytes()[5].is_ascii_digit()
            && v.as_bytes()[6] == b'.'
            && v.as_bytes()[7].is_ascii_digit() =>
        {
            return Err(ReqError::VersionNotSupported)
        }
        _ => return Err(bad("malformed request line: invalid version")),
    };
    let (path, query) = origin_path(target).ok_or_else(|| bad("malformed request line: invalid target"))?;
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(bad("obsolete header line folding"));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad("a header line has no colon"))?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad("invalid header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad("control character in a header value"));
        }
        if headers.len() == MAX_HEADERS {
            return Err(ReqError::HeadTooLarge);
        }
        headers.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    if version == Version::Http11 && !headers.iter().any(|(n, _)| n == "host") {
        return Err(bad("missing Host header"));
    }
    Ok(Request { method: method.to_owned(), path, query, version, headers, body: Vec::new() })
}

/// The path and query of an origin-form (`/p?q`) or absolute-form (`http://h/p?q`) target.
fn origin_path(target: &str) -> Option<(String, String)> {
    let path = if target.starts_with('/') {
        target
    } else if target == "*" {
        return Some(("*".to_owned(), String::new()));
    } else {
        let rest = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://"))?;
        rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
    };
    let path = &path[..path.find('#').unwrap_or(path.len())];
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    Some((path.to_owned(), query.to_owned()))
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A status line and headers, ending with the blank line.
pub(crate) fn head_bytes(status: u16, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn conn(bytes: &[u8]) -> Conn<Mem> {
        Conn::new(Mem::new(bytes))
    }

    fn read(c: &mut Conn<Mem>) -> Result<Request, ReqError> {
        let later = Instant::now() + Duration::from_secs(5);
        c.read_request(later, later, Duration::from_secs(5), true)
    }

    fn one(bytes: &[u8]) -> Result<Request, ReqError> {
        read(&mut conn(bytes))
    }

    fn status(bytes: &[u8]) -> Option<u16> {
        one(bytes).unwrap_err().status()
    }

    #[test]
    fn parses_requests_and_pipelines() {
        let mut c = conn(
            b"\r\nPOST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Client-Key:  MCH-1 \r\nContent-Length: 5\r\n\r\nhelloGET http://h/s HTTP/1.0\nConnection: keep-alive\n\n",
        );
        let r = read(&mut c).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), r.version), ("POST", "/a/b", Version::Http11));
        assert_eq!(r.query, "x=1");
        assert_eq!(r.header("x-client-key"), Some("MCH-1"));
        assert_eq!(r.body, b"hello");
        assert!(r.keep_alive());
        let r = read(&mut c).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), r.version), ("GET", "/s", Version::Http10));
        assert_eq!(r.query, "");
        assert!(r.keep_alive());
        assert!(matches!(read(&mut c), Err(ReqError::Closed)));
    }

    #[test]
    fn keep_alive_rules() {
        assert!(!one(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n").unwrap().keep_alive());
        assert!(!one(b"GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive());
    }

    #[test]
    fn chunked_bodies() {
        let r = one(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"hello world");
        assert_eq!(status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), Some(400));
        assert_eq!(status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"), Some(400));
        let mut big = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..65 {
            big.extend_from_slice(b"400\r\n");
            big.extend_from_slice(&[b'a'; 1024]);
            big.extend_from_slice(b"\r\n");
        }
        big.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(status(&big), Some(413));
    }

    #[test]
    fn limits() {
        let mut head = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        while head.len() <= MAX_HEAD {
            head.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(status(&head), Some(431));
        // Exactly at the limit is fine.
        let mut ok = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ".to_vec();
        ok.resize(MAX_HEAD - 2, b'a');
        ok.extend_from_slice(b"\r\n\r\n");
        assert!(one(&ok).is_ok());
        let mut many = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(status(&many), Some(431));
        let body_over = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert_eq!(status(body_over.as_bytes()), Some(413));
        assert_eq!(one(b"POST / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap().body, b"", "no length: no body");
        assert_eq!(one(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap().body, b"");
    }

    #[test]
    fn malformed_heads_are_400() {
        for head in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
            b"GET / http/1.1\r\nHost: h\r\n\r\n",
            b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET nopath HTTP/1.1\r\nHost: h\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: \x01\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: \xff\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
            b"GET / HTTP/1.1\r\nHost: h\r\n",
        ] {
            assert_eq!(status(head), Some(400), "{}", String::from_utf8_lossy(head));
        }
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), Some(505));
        assert!(matches!(one(b""), Err(ReqError::Closed)));
        assert!(matches!(one(b"\r\n\r\n"), Err(ReqError::Closed)));
    }

    #[test]
    fn expect_continue_is_answered() {
        let mut c = conn(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        // The body is not buffered yet, so the interim response goes out; then the body is missing.
        assert!(read(&mut c).is_err());
        assert_eq!(c.stream.output, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn head_end_detection() {
        assert_eq!(find_head_end(b"A\r\n\r\nbody"), Some((2, 5)));
        assert_eq!(find_head_end(b"A\n\nbody"), Some((1, 3)));
        assert_eq!(find_head_end(b"A\r\nB: 1\r\n\r\n"), Some((8, 11)));
        assert_eq!(find_head_end(b"A\r\nB: 1\r\n"), None);
        assert_eq!(head_bytes(200, &[("A", "b".into())]), b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
    }
}
