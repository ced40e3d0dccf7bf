//! Sockets and threads: a polled accept loop, one thread per connection (capped), keep-alive,
//! TLS handshakes off the accept thread, routing, and writing responses, including the streamed
//! and stalled bodies of the fault modes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use openssl::ssl::SslStream;
use serde_json::{json, Value};

use super::exchange::{Exchange, Handled};
use super::fault::{Fault, FaultSet};
use super::http::{self, Conn, ReqError, Request, Transport};
use super::state::State;
use super::tls::Corked;
use super::{b2b, b2b2c, ops, B2B2C_TOKEN_PATH, PAY_VA_PATH, REVOKE_PATH, STATS_PATH, TOKEN_PATH};
use doku::operations;
use doku::text::log_safe;
use doku::timestamp;

const ACCEPT_BACKOFF: Duration = Duration::from_millis(40);
/// A client that stops reading cannot hold a thread longer than this per write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const CONN_STACK: usize = 512 * 1024;
const SERVER: &str = concat!("doku-sandbox/", env!("CARGO_PKG_VERSION"));

/// Blocks in accept, so a new connection is served at once (a polled accept added up to its
/// poll interval to every new connection, which benchmarks of new-connection clients measured).
/// `Sandbox::stop` wakes it with a connection of its own.
pub(crate) fn accept_loop(listener: TcpListener, state: Arc<State>) {
    while !state.stopping() {
        match listener.accept() {
            Ok(_) if state.stopping() => break,
            Ok((tcp, _)) => admit(&state, tcp),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Out of descriptors and the like: back off and keep serving.
            Err(_) => std::thread::sleep(ACCEPT_BACKOFF),
        }
    }
}

fn admit(state: &Arc<State>, tcp: TcpStream) {
    let accepted = Instant::now();
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_nodelay(true);
    if state.live_connections() >= state.max_connections {
        overloaded(state, tcp);
        return;
    }
    let guard = state.register(&tcp);
    let shared = Arc::clone(state);
    let spawned = std::thread::Builder::new().name("doku-sandbox-conn".into()).stack_size(CONN_STACK).spawn(move || {
        let _guard = guard;
        serve(&shared, tcp, accepted);
    });
    // If no thread can be made, the closure (guard and socket) is dropped: the client sees a close.
    drop(spawned);
}

/// Over the cap: a 503 written without blocking the accept thread (plain HTTP only; a TLS
/// client gets a close).
fn overloaded(state: &State, tcp: TcpStream) {
    if state.tls.is_none() {
        let resp = error_response(503, "Service Unavailable. Too many connections", Utc::now(), None);
        let mut bytes = head_for(&resp, false, resp_len(&resp));
        if let Body::Full(b) = &resp.body {
            bytes.extend_from_slice(b);
        }
        let _ = tcp.set_nonblocking(true);
        let _ = (&tcp).write_all(&bytes);
        let _ = tcp.shutdown(Shutdown::Write);
    }
    state.log(log_line(None, "refused", "5030000", "503", "-"));
}

enum Stream {
    Plain(Corked),
    Tls(Box<SslStream<Corked>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => &s.tcp,
            Stream::Tls(s) => &s.get_ref().tcp,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Transport for Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }
}

/// How a connection ends.
#[derive(PartialEq)]
enum Close {
    /// Answered and done: send FIN.
    Normal,
    /// Answered an error before reading the whole request: read what the client is still
    /// sending for a moment, so the kernel does not reset the connection under our answer.
    Drain,
    /// Nothing (more) to say: the `reset` fault, a write error, an idle or vanished client. Both
    /// directions are shut at once. For `reset` this is a FIN before any response: a real RST
    /// needs SO_LINGER 0, which std offers only unstably and libc only through `unsafe`; clients
    /// see "connection closed before a response" either way.
    Abort,
}

fn serve(state: &State, tcp: TcpStream, accepted: Instant) {
    let _ = tcp.set_write_timeout(Some(WRITE_TIMEOUT));
    let head_by = accepted + state.head_timeout;
    let stream = match &state.tls {
        None => Stream::Plain(Corked::new(tcp)),
        Some(acceptor) => match super::tls::handshake(acceptor, tcp, head_by) {
            Ok(s) => Stream::Tls(Box::new(s)),
            Err(_) => {
                state.log(log_line(None, "refused", "tls-handshake", "-", "-"));
                return;
            }
        },
    };
    let mut conn = Conn::new(stream);
    let mut first = true;
    let close = loop {
        if state.stopping() {
            break Close::Normal;
        }
        // The first request must arrive within the head timeout of the accept; later ones may
        // idle for the keep-alive timeout first.
        let (first_byte_by, head_by) =
            if first { (head_by, head_by) } else { (Instant::now() + state.idle_timeout, Instant::now() + Duration::from_secs(86_400)) };
        let request = conn.read_request(first_byte_by, head_by, state.head_timeout, first);
        first = false;
        let req = match request {
            Ok(req) => req,
            Err(e) => break refuse_unreadable(state, &mut conn, &e),
        };
        let answer = catch_unwind(AssertUnwindSafe(|| route(state, &req))).unwrap_or_else(|_| Answer {
            reply: Reply::Respond(error_response(500, "Internal Server Error", Utc::now(), None)),
            client: None,
            outcome: "error".into(),
        });
        let Reply::Respond(resp) = answer.reply else {
            state.log(log_line(answer.client.as_deref(), &answer.outcome, "-", "-", &req.path));
            break Close::Abort;
        };
        let code = resp.code.clone().unwrap_or_else(|| resp.status.to_string());
        state.log(log_line(answer.client.as_deref(), &answer.outcome, &code, &resp.status.to_string(), &req.path));
        let keep = req.keep_alive() && !resp.close && !state.stopping();
        match write_response(state, &mut conn.stream, &resp, keep, req.method == "HEAD") {
            Ok(true) if keep => continue,
            Ok(_) => break Close::Normal,
            Err(_) => break Close::Abort,
        }
    };
    finish(conn.stream, close);
}

/// One connection's bytes in, every answer out, without sockets or threads: the sandbox's
/// request handling as the fuzzer drives it (up to 8 pipelined requests).
#[cfg(fuzzing)]
pub(crate) fn serve_bytes(state: &State, input: &[u8]) -> Vec<u8> {
    let mut conn = Conn::new(super::http::Mem::new(input));
    for _ in 0..8 {
        let by = Instant::now() + Duration::from_secs(1);
        let Ok(req) = conn.read_request(by, by, Duration::from_secs(1), true) else { break };
        let Reply::Respond(resp) = route(state, &req).reply else { break };
        if write_response(state, &mut conn.stream, &resp, true, req.method == "HEAD").is_err() {
            break;
        }
    }
    conn.stream.output
}

/// Answers a request that could not be read (408, 413, 431, ...) or ends quietly.
fn refuse_unreadable(state: &State, conn: &mut Conn<Stream>, e: &ReqError) -> Close {
    let Some(status) = e.status() else {
        return Close::Abort;
    };
    let resp = error_response(status, &e.describe(), Utc::now(), None);
    let code = resp.code.clone().unwrap_or_default();
    state.log(log_line(None, "refused", &code, &status.to_string(), "-"));
    let _ = write_response(state, &mut conn.stream, &resp, false, false);
    Close::Drain
}

fn finish(mut stream: Stream, close: Close) {
    if close != Close::Abort {
        if let Stream::Tls(s) = &mut stream {
            let _ = s.shutdown();
        }
    }
    let tcp = stream.tcp();
    if close == Close::Abort {
        let _ = tcp.shutdown(Shutdown::Both);
        return;
    }
    let _ = tcp.shutdown(Shutdown::Write);
    if close == Close::Drain {
        let until = Instant::now() + Duration::from_secs(1);
        let mut sink = [0u8; 8192];
        let mut tcp = tcp;
        let mut budget: usize = 1 << 20;
        while budget > 0 && Instant::now() < until {
            let _ = tcp.set_read_timeout(Some(Duration::from_millis(200)));
            match tcp.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => budget = budget.saturating_sub(n),
            }
        }
    }
}

pub(crate) struct Answer {
    pub reply: Reply,
    /// The sanitized `X-CLIENT-KEY`, for the log.
    pub client: Option<String>,
    /// `ok`, `refused`, or `fault:…`.
    pub outcome: String,
}

pub(crate) enum Reply {
    Respond(Response),
    /// Close the connection without answering.
    Reset,
}

pub(crate) struct Response {
    pub status: u16,
    /// Besides Date, Server, Content-Length or Transfer-Encoding, and Connection.
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// The clock for the `Date` header (shifted by a `clock` fault).
    pub now: DateTime<Utc>,
    /// SNAP `responseCode`, for the log.
    pub code: Option<String>,
    /// Close the connection after this response.
    pub close: bool,
    /// Bytes written right after the body, beyond its Content-Length (the `overlong` fault).
    pub unasked: &'static [u8],
}

pub(crate) enum Body {
    Full(Vec<u8>),
    /// Chunked: `prefix`, then `A`s, then `suffix`, `total` bytes in all, streamed.
    Huge {
        prefix: Vec<u8>,
        suffix: Vec<u8>,
        total: usize,
    },
    /// `Content-Length: declared`, but only `sent` is written before stalling.
    Stall {
        declared: usize,
        sent: Vec<u8>,
    },
}

fn resp_len(resp: &Response) -> Option<usize> {
    match &resp.body {
        Body::Full(b) => Some(b.len()),
        Body::Huge { .. } => None,
        Body::Stall { declared, .. } => Some(*declared),
    }
}

fn head_for(resp: &Response, keep: bool, length: Option<usize>) -> Vec<u8> {
    let mut headers: Vec<(&str, String)> = vec![("Date", timestamp::format_http_date(resp.now)), ("Server", SERVER.into())];
    headers.extend(resp.headers.iter().map(|(n, v)| (*n, v.clone())));
    match length {
        Some(n) => headers.push(("Content-Length", n.to_string())),
        None => headers.push(("Transfer-Encoding", "chunked".into())),
    }
    headers.push(("Connection", if keep { "keep-alive" } else { "close" }.into()));
    http::head_bytes(resp.status, &headers)
}

/// Writes `resp`; `Ok(true)` when the connection can carry another request.
fn write_response(state: &State, out: &mut impl Write, resp: &Response, keep: bool, head_only: bool) -> io::Result<bool> {
    let mut bytes = head_for(resp, keep, resp_len(resp));
    match &resp.body {
        Body::Full(body) => {
            if !head_only {
                bytes.extend_from_slice(body);
            }
            out.write_all(&bytes)?;
            if !resp.unasked.is_empty() {
                // Its own write, so over TLS its own record, in the same TCP send (see Corked).
                out.write_all(resp.unasked)?;
            }
            out.flush()?;
            Ok(keep)
        }
        Body::Huge { prefix, suffix, total } => {
            out.write_all(&bytes)?;
            if head_only {
                out.flush()?;
                return Ok(false);
            }
            // Streamed: never more than one chunk in memory; a client that hangs up ends it.
            const PAD: [u8; 16 * 1024] = [b'A'; 16 * 1024];
            let mut chunk = |data: &[u8]| -> io::Result<()> {
                out.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
                out.write_all(data)?;
                out.write_all(b"\r\n")?;
                out.flush()
            };
            chunk(prefix)?;
            let mut left = total.saturating_sub(prefix.len() + suffix.len());
            while left > 0 {
                if state.stopping() {
                    return Ok(false);
                }
                let n = left.min(PAD.len());
                chunk(&PAD[..n])?;
                left -= n;
            }
            chunk(suffix)?;
            out.write_all(b"0\r\n\r\n")?;
            out.flush()?;
            Ok(keep)
        }
        Body::Stall { sent, .. } => {
            bytes.extend_from_slice(sent);
            out.write_all(&bytes)?;
            out.flush()?;
            state.sleep(Duration::from_secs(60));
            Ok(false)
        }
    }
}

/// A refusal in SNAP style, `{"responseCode","responseMessage"}`, and its log outcome.
pub(crate) fn refusal(status: u16, code: &str, message: &str, now: DateTime<Utc>, client_key: Option<&str>) -> (Response, &'static str) {
    let fields = [("responseCode", json!(code)), ("responseMessage", json!(message))];
    (json_response(status, &fields, now, client_key), "refused")
}

/// A JSON response in SNAP style: fields in the given order, `Content-Type`, the echoed
/// `X-CLIENT-KEY` and the sandbox's `X-TIMESTAMP`.
pub(crate) fn json_response(status: u16, fields: &[(&str, Value)], now: DateTime<Utc>, client_key: Option<&str>) -> Response {
    let code = fields.iter().find(|(k, _)| *k == "responseCode").and_then(|(_, v)| v.as_str()).map(str::to_owned);
    let mut resp = raw_response(status, "application/json", ordered_json(fields).into_bytes(), now);
    if let Some(k) = client_key {
        resp.headers.push(("X-CLIENT-KEY", k.to_owned()));
    }
    resp.headers.push(("X-TIMESTAMP", timestamp::Offset::UTC.format(now)));
    resp.code = code;
    resp
}

/// A JSON object with its keys in the given order (serde_json's map would sort them).
pub(crate) fn ordered_json(fields: &[(&str, Value)]) -> String {
    let mut body = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&Value::from(*k).to_string());
        body.push(':');
        body.push_str(&v.to_string());
    }
    body.push('}');
    body
}

pub(crate) fn raw_response(status: u16, content_type: &str, body: Vec<u8>, now: DateTime<Utc>) -> Response {
    Response { status, headers: vec![("Content-Type", content_type.to_owned())], body: Body::Full(body), now, code: None, close: false, unasked: b"" }
}

/// A generic error: `responseCode` is the status followed by `0000`.
pub(crate) fn error_response(status: u16, message: &str, now: DateTime<Utc>, client_key: Option<&str>) -> Response {
    let fields = [("responseCode", json!(format!("{status}0000"))), ("responseMessage", json!(message))];
    let mut resp = json_response(status, &fields, now, client_key);
    resp.close = status >= 400 && status != 404 && status != 405;
    resp
}

/// What the `overlong` fault writes after an answer: a second answer nobody asked for, carrying
/// a token a client must never accept.
pub(crate) const FORGED_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 134\r\n\r\n\
{\"responseCode\":\"2007300\",\"responseMessage\":\"Successful\",\"accessToken\":\"forged-by-a-framing-lie\",\"tokenType\":\"Bearer\",\"expiresIn\":900}";

fn route(state: &State, req: &Request) -> Answer {
    let client_id = Exchange::client_id(req);
    let client_key = req.header("x-client-key").filter(|v| !v.is_empty());
    let faults: FaultSet = client_id.and_then(|c| state.faults.get(c)).copied().unwrap_or_default();
    let client = client_id.map(|id| log_safe(id, 64));
    let answer = |reply, outcome: String| Answer { reply, client: client.clone(), outcome };
    let is_token_post = req.path == TOKEN_PATH && req.method == "POST";
    if let (true, Some(c)) = (is_token_post, client_key) {
        state.count_token_request(c);
    }
    // Faults that act before any endpoint does.
    let mut applied = Vec::new();
    if faults.delay_ms > 0 {
        if !state.sleep(Duration::from_millis(faults.delay_ms)) {
            return answer(Reply::Reset, "stopping".into());
        }
        applied.push(Fault::Delay(faults.delay_ms).to_string());
    }
    if faults.reset {
        applied.push(Fault::Reset.to_string());
        return answer(Reply::Reset, format!("fault:{}", applied.join("+")));
    }
    if let (true, Some(c), Some(n)) = (is_token_post, client_key, faults.down_after) {
        if state.token_requests(c) > n {
            applied.push(Fault::DownAfter(n).to_string());
            return answer(Reply::Reset, format!("fault:{}", applied.join("+")));
        }
    }
    let mut x = Exchange::new(state, req, faults, applied);
    // The shifted clock is what the token and operation endpoints judge X-TIMESTAMP by.
    let operation = operations::for_request(&req.method, &req.path);
    let operation_methods = operations::methods_of(&req.path);
    if faults.clock != 0 && (matches!(req.path.as_str(), TOKEN_PATH | B2B2C_TOKEN_PATH) || !operation_methods.is_empty()) {
        x.applied(Fault::Clock(faults.clock));
    }
    let (mut resp, outcome) = match (req.path.as_str(), req.method.as_str()) {
        (TOKEN_PATH, "POST") => b2b::token(&mut x),
        (B2B2C_TOKEN_PATH, "POST") => b2b2c::token(&mut x),
        _ if operation.is_some() => ops::handle(&mut x, operation.unwrap_or(&operations::CATALOG[0])),
        (PAY_VA_PATH, "POST") => ops::simulate_payment(&x),
        (STATS_PATH, "GET" | "HEAD") => {
            let fields = [
                ("tokenRequests", state.token_request_counts()),
                ("invalidTokenAnswers", state.invalid_token_counts()),
                ("connections", json!(state.accepted_connections())),
            ];
            (x.json(200, &fields), "ok")
        }
        (REVOKE_PATH, "POST") => revoke(&x),
        (TOKEN_PATH | B2B2C_TOKEN_PATH | PAY_VA_PATH | REVOKE_PATH | STATS_PATH, _) => {
            let mut resp = error_response(405, "Method Not Allowed", x.now, client_key);
            resp.headers.push(("Allow", if req.path == STATS_PATH { "GET" } else { "POST" }.into()));
            (resp, "refused")
        }
        _ if !operation_methods.is_empty() => {
            let mut resp = error_response(405, "Method Not Allowed", x.now, client_key);
            resp.headers.push(("Allow", operation_methods.join(", ")));
            (resp, "refused")
        }
        _ => x.refuse(404, "4040000", "Not Found"),
    };
    if faults.overlong && matches!(resp.body, Body::Full(_)) {
        resp.unasked = FORGED_ANSWER;
        x.applied(Fault::Overlong);
    }
    answer(Reply::Respond(resp), x.outcome(outcome))
}

/// `POST /sandbox/v1/revoke?client=ID`: revokes the client's tokens.
fn revoke(x: &Exchange) -> Handled {
    let client = url::form_urlencoded::parse(x.req.query.as_bytes()).find(|(k, _)| k == "client").map(|(_, v)| v.into_owned());
    match client.filter(|c| !c.is_empty()) {
        Some(client) => {
            let revoked = x.state.revoke_tokens(&client);
            let fields = [("responseCode", json!("2000000")), ("responseMessage", json!("Successful")), ("revoked", json!(revoked))];
            (x.json(200, &fields), "ok")
        }
        None => x.refuse(400, "4000000", &format!("Bad Request. Name the client: POST {REVOKE_PATH}?client=ID")),
    }
}

fn log_line(client: Option<&str>, outcome: &str, code: &str, http: &str, path: &str) -> String {
    let path = log_safe(path, 200);
    format!("client={} outcome={outcome} code={code} http={http} path={path}", client.unwrap_or("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields_keep_their_order_and_escape() {
        let now = Utc::now();
        let r = json_response(401, &[("responseCode", json!("4017300")), ("responseMessage", json!("a \"q\""))], now, Some("MCH"));
        let Body::Full(body) = &r.body else { panic!() };
        assert_eq!(std::str::from_utf8(body).unwrap(), r#"{"responseCode":"4017300","responseMessage":"a \"q\""}"#);
        assert_eq!(r.code.as_deref(), Some("4017300"));
        assert!(r.headers.iter().any(|(n, v)| *n == "X-CLIENT-KEY" && v == "MCH"));
        let head = String::from_utf8(head_for(&r, true, resp_len(&r))).unwrap();
        assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\nDate: "), "{head}");
        assert!(head.contains("\r\nContent-Length: 54\r\nConnection: keep-alive\r\n\r\n"), "{head}");
    }

    #[test]
    fn the_forged_answer_is_a_complete_http_answer() {
        let text = std::str::from_utf8(FORGED_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["accessToken"], "forged-by-a-framing-lie");
    }

    #[test]
    fn log_lines_are_single_tokens() {
        assert_eq!(log_line(None, "refused", "400", "400", "/a b"), "client=- outcome=refused code=400 http=400 path=/a?b");
    }
}
