//! HTTPS to DOKU: ureq over native-tls, so TLS runs on the same system OpenSSL (and trust store)
//! as the signer. One agent per client keeps connections alive; it is built on first use, so
//! a client that only ever reads the process-wide token cache (PHP-FPM) never loads a trust store.
//!
//! Every failure becomes a classified `Error`: network, timeout, TLS, or protocol (an answer too
//! big or not HTTP). Messages name the host and the cause; URLs here carry no credentials
//! (refused in `Settings::new`) and proxy URLs are never echoed, since they may hold some.

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use once_cell::sync::OnceCell;
use url::{Host, Url};

use crate::error::{Error, ErrorKind, Result};

/// Answers bigger than this are refused without being read whole.
pub const MAX_BODY: u64 = 1024 * 1024;
/// Big enough for a full system CA bundle.
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;
pub const USER_AGENT: &str = concat!("doku-snap/", env!("CARGO_PKG_VERSION"));

/// Where and how to talk to DOKU. Immutable once built.
#[derive(Clone)]
pub struct Settings {
    base_url: String,
    host: String,
    timeout: Duration,
    connect_timeout: Duration,
    /// Extra trusted CAs, DER.
    ca_certs: Vec<Vec<u8>>,
    proxy: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may hold user:password@: only where it points is shown.
        let proxy = self.proxy.as_deref().map(|p| match Url::parse(p) {
            Ok(u) => format!("{}://{}:{}", u.scheme(), u.host_str().unwrap_or_default(), u.port_or_known_default().unwrap_or_default()),
            Err(_) => "<set>".to_owned(),
        });
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("host", &self.host)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ca_certs", &self.ca_certs.len())
            .field("proxy", &proxy)
            .finish()
    }
}

/// One HTTP answer, read to the end (at most `MAX_BODY`).
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server's `Date` header, for clock-skew diagnostics.
    pub date: Option<String>,
    pub content_type: Option<String>,
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
            .field("content_type", &self.content_type)
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

impl Settings {
    /// `proxy`: `None` follows `HTTPS_PROXY`/`https_proxy`, `ALL_PROXY` and `NO_PROXY` as curl
    /// does (`http_proxy` for plain http); `Some("")` disables proxies; `Some(url)` uses that one.
    pub fn new(
        base_url: &str,
        timeout: Duration,
        connect_timeout: Duration,
        ca_file: Option<&Path>,
        proxy: Option<&str>,
    ) -> Result<Settings> {
        if base_url.chars().any(char::is_control) {
            return Err(Error::invalid("config: base_url contains control characters"));
        }
        let url = Url::parse(base_url).map_err(|e| Error::invalid(format!("config: base_url is not a valid URL ({e})")))?;
        let host = match url.host() {
            Some(h) => h.to_owned(),
            None => return Err(Error::invalid("config: base_url has no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(Error::invalid(
                    "config: base_url: plain http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https://",
                ))
            }
            _ => return Err(Error::invalid("config: base_url must start with https:// (or http:// for loopback)")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid("config: base_url must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid("config: base_url must not have a query or fragment"));
        }
        let ca_certs = match ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let proxy = match proxy {
            Some("") => None,
            Some(p) => Some(check_proxy(p, "config: proxy")?),
            None => proxy_from_env(&url, &|name| std::env::var(name).ok())?,
        };
        let host_text = match &host {
            Host::Ipv6(ip) => format!("[{ip}]"),
            h => h.to_string(),
        };
        Ok(Settings {
            base_url: url.as_str().trim_end_matches('/').to_owned(),
            host: host_text,
            timeout,
            // The connect phase is part of the request: it never gets more than the whole.
            connect_timeout: connect_timeout.min(timeout),
            ca_certs,
            proxy,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub fn uses_proxy(&self) -> bool {
        self.proxy.is_some()
    }
}

fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn load_ca_file(path: &Path) -> Result<Vec<Vec<u8>>> {
    let shown = path.display();
    let pem = crate::config::read_config_file(path, MAX_CA_FILE)
        .map_err(|e| Error::invalid(format!("config: ca_file \"{shown}\" cannot be read: {e}")))?;
    let certs = openssl::x509::X509::stack_from_pem(&pem)
        .map_err(|_| Error::invalid(format!("config: ca_file \"{shown}\" is not PEM certificates")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("config: ca_file \"{shown}\" holds no certificate")));
    }
    certs
        .iter()
        .map(|c| {
            // Parsed once here; native-tls (the same OpenSSL) takes the DER when the agent is built.
            c.to_der().map_err(|_| Error::invalid(format!("config: ca_file \"{shown}\" holds an unusable certificate")))
        })
        .collect()
}

/// Proxies as ureq takes them: `http://[user:pass@]host:port`. The URL is never echoed.
fn check_proxy(proxy: &str, what: &str) -> Result<String> {
    let ok = Url::parse(proxy)
        .ok()
        .filter(|u| u.scheme() == "http" && u.host().is_some() && (u.path() == "/" || u.path().is_empty()))
        .is_some();
    if !ok || ureq::Proxy::new(proxy).is_err() {
        return Err(Error::invalid(format!("{what} is not a valid http://host:port proxy URL")));
    }
    Ok(proxy.to_owned())
}

/// curl's rules: the scheme's variable (`https_proxy`/`HTTPS_PROXY`, or lowercase-only
/// `http_proxy`), else `ALL_PROXY`; `NO_PROXY` lists hosts or domain suffixes that go direct,
/// `*` meaning all.
fn proxy_from_env(url: &Url, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let get = |names: &[&'static str]| first_set(env, names);
    let scheme_vars: &[&str] = if url.scheme() == "https" { &["https_proxy", "HTTPS_PROXY"] } else { &["http_proxy"] };
    let Some((name, proxy)) = get(scheme_vars).or_else(|| get(&["all_proxy", "ALL_PROXY"])) else {
        return Ok(None);
    };
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if let Some((_, no_proxy)) = get(&["no_proxy", "NO_PROXY"]) {
        if no_proxy_matches(&no_proxy, &host) {
            return Ok(None);
        }
    }
    // Accept "host:port" without a scheme, as curl does.
    let proxy = if proxy.contains("://") { proxy } else { format!("http://{proxy}") };
    check_proxy(&proxy, &format!("the {name} environment variable")).map(Some)
}

fn first_set(env: &dyn Fn(&str) -> Option<String>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()).map(|v| (*n, v)))
}

fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(|e| e.trim().to_ascii_lowercase()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('.');
        if entry.is_empty() {
            return false;
        }
        if let (Ok(a), Ok(b)) = (entry.parse::<IpAddr>(), host.parse::<IpAddr>()) {
            return a == b;
        }
        host == entry || host.ends_with(&format!(".{entry}"))
    })
}

/// An HTTP client for one `Settings`. Safe to share between threads.
pub struct Http {
    settings: Settings,
    agent: OnceCell<ureq::Agent>,
}

impl Http {
    pub fn new(settings: Settings) -> Http {
        Http { settings, agent: OnceCell::new() }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn agent(&self) -> Result<&ureq::Agent> {
        self.agent.get_or_try_init(|| {
            let mut tls = native_tls::TlsConnector::builder();
            tls.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
            for der in &self.settings.ca_certs {
                let cert = native_tls::Certificate::from_der(der)
                    .map_err(|e| Error::new(ErrorKind::Tls, format!("cannot use a ca_file certificate: {e}")))?;
                tls.add_root_certificate(cert);
            }
            let tls = tls
                .build()
                .map_err(|e| Error::new(ErrorKind::Tls, format!("cannot set up TLS: {e}")))?;
            let mut builder = ureq::AgentBuilder::new()
                .resolver(BoundedResolver(self.settings.connect_timeout))
                .tls_connector(Arc::new(tls))
                .timeout(self.settings.timeout)
                .timeout_connect(self.settings.connect_timeout)
                .user_agent(USER_AGENT)
                // A redirect would resend signed headers elsewhere; DOKU never redirects.
                .redirects(0)
                .max_idle_connections_per_host(8);
            if let Some(proxy) = &self.settings.proxy {
                let proxy = ureq::Proxy::new(proxy).map_err(|_| Error::invalid("the proxy URL is not valid"))?;
                builder = builder.proxy(proxy);
            }
            Ok(builder.build())
        })
    }

    /// POSTs `body` as JSON to `base_url + path`. Any HTTP status is an `Ok(Response)`;
    /// only transport failures and oversized answers are errors.
    pub fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        self.send("POST", path, headers, body)
    }

    /// Sends `body` (JSON, possibly empty) with `method` to `base_url + path`, exactly as given:
    /// signed requests hash these very bytes.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<Response> {
        let url = format!("{}{}", self.settings.base_url, path);
        let mut request = self.agent()?.request(method, &url).set("Content-Type", "application/json").set("Accept", "application/json");
        for (name, value) in headers {
            check_header_value(name, value)?;
            request = request.set(name, value);
        }
        let sent = if body.is_empty() && matches!(method, "GET" | "HEAD" | "DELETE") { request.call() } else { request.send_string(body) };
        let response = match sent {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(self.transport_error(&t)),
        };
        let received_at = SystemTime::now();
        let status = response.status();
        let date = response.header("Date").map(str::to_owned);
        let content_type = response.header("Content-Type").map(str::to_owned);
        let too_big = || Error::protocol(format!("DOKU answered HTTP {status} with a body over 1 MiB; refused without reading it"));
        if let Some(len) = response.header("Content-Length").and_then(|l| l.trim().parse::<u64>().ok()) {
            if len > MAX_BODY {
                return Err(too_big());
            }
        }
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.io_error(&e, &format!("reading the HTTP {status} answer")))?;
        if body.len() as u64 > MAX_BODY {
            return Err(too_big());
        }
        Ok(Response { status, body, date, content_type, received_at })
    }

    fn timeout_error(&self, during: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "timed out {during} {} (timeout_ms {} ms, connect_timeout_ms {} ms)",
                self.settings.host,
                self.settings.timeout.as_millis(),
                self.settings.connect_timeout.as_millis()
            ),
        )
    }

    fn io_error(&self, e: &std::io::Error, during: &str) -> Error {
        use std::io::ErrorKind as Io;
        match e.kind() {
            Io::TimedOut | Io::WouldBlock => self.timeout_error(&format!("{during} from")),
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => Error::new(
                ErrorKind::Network,
                format!("the connection to {} was closed or reset while {during}", self.settings.host),
            ),
            _ => Error::new(ErrorKind::Network, format!("network error with {} while {during}: {e}", self.settings.host)),
        }
    }

    fn transport_error(&self, t: &ureq::Transport) -> Error {
        use ureq::ErrorKind as K;
        let host = &self.settings.host;
        // The innermost causes decide: a timeout or a TLS failure can hide under any kind.
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
        while let Some(s) = source {
            if let Some(tls) = s.downcast_ref::<native_tls::Error>() {
                return Error::new(ErrorKind::Tls, format!("TLS handshake with {host} failed: {}", one_line(&tls.to_string())));
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                let during = match t.kind() {
                    K::ConnectionFailed => "connecting to",
                    K::Dns => "resolving",
                    _ => "waiting for an answer from",
                };
                if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                    return self.timeout_error(during);
                }
                if t.kind() == K::ConnectionFailed {
                    let via = if self.settings.proxy.is_some() { " through the proxy" } else { "" };
                    return Error::new(ErrorKind::Network, format!("cannot connect to {host}{via}: {io}"));
                }
                if t.kind() == K::Io {
                    return self.io_error(io, "waiting for the answer");
                }
            }
            source = s.source();
        }
        match t.kind() {
            K::Dns => Error::new(ErrorKind::Network, format!("cannot resolve {host}")),
            K::ConnectionFailed => Error::new(ErrorKind::Network, format!("cannot connect to {host}")),
            K::ProxyConnect | K::ProxyUnauthorized | K::InvalidProxyUrl => {
                Error::new(ErrorKind::Network, format!("the proxy refused or failed the connection to {host} ({})", t.kind()))
            }
            K::BadStatus | K::BadHeader => Error::protocol(format!("{host} did not answer with valid HTTP ({})", t.kind())),
            K::Io => Error::new(ErrorKind::Network, format!("the connection to {host} failed while waiting for the answer")),
            other => Error::new(ErrorKind::Network, format!("request to {host} failed: {other}")),
        }
    }
}

/// getaddrinfo has no timeout and ureq applies none to it: a dead DNS server would hold a
/// request well past `timeout_ms`. The lookup runs on its own thread, and the request gives up
/// after the connect timeout (the thread finishes in the background).
struct BoundedResolver(Duration);

impl ureq::Resolver for BoundedResolver {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<std::net::SocketAddr>> {
        use std::net::ToSocketAddrs;
        if let Ok(addr) = netloc.parse::<std::net::SocketAddr>() {
            return Ok(vec![addr]);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let name = netloc.to_owned();
        std::thread::Builder::new()
            .name("doku-dns".into())
            .spawn(move || {
                let _ = tx.send(name.to_socket_addrs().map(|a| a.collect()));
            })?;
        rx.recv_timeout(self.0)
            .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "DNS lookup timed out")))
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn settings(url: &str) -> Result<Settings> {
        Settings::new(url, Duration::from_secs(2), Duration::from_secs(1), None, Some(""))
    }

    #[test]
    fn loopback_rule() {
        for ok in ["https://api.doku.com", "http://localhost:8080", "http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:80", "https://10.0.0.1"] {
            assert!(settings(ok).is_ok(), "{ok}");
        }
        for bad in ["http://api.doku.com", "http://10.0.0.1", "http://localhost.evil.com", "http://[::2]"] {
            assert!(settings(bad).unwrap_err().message().contains("only for loopback"), "{bad}");
        }
        assert!(settings("https://u:p@h").unwrap_err().message().contains("credentials"));
        assert!(settings("https://h/?q=1").unwrap_err().message().contains("query"));
        assert!(settings("https://h\0.evil").unwrap_err().message().contains("control characters"));
    }

    #[test]
    fn connect_timeout_never_exceeds_the_whole() {
        let s = Settings::new("https://h", Duration::from_millis(500), Duration::from_secs(10), None, Some("")).unwrap();
        assert_eq!(s.connect_timeout(), Duration::from_millis(500));
    }

    #[test]
    fn header_values_are_checked() {
        assert!(check_header_value("x", "ok value").is_ok());
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert_eq!(check_header_value("x", bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
    }

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    }

    #[test]
    fn proxies_from_the_environment_follow_curl() {
        let https = Url::parse("https://api.doku.com/x").unwrap();
        let http = Url::parse("http://127.0.0.1:8080").unwrap();
        let p = |url: &Url, vars: &[(&str, &str)]| proxy_from_env(url, &env_of(vars)).unwrap();
        assert_eq!(p(&https, &[]), None);
        assert_eq!(p(&https, &[("HTTPS_PROXY", "http://proxy.local:3128")]).as_deref(), Some("http://proxy.local:3128"));
        assert_eq!(p(&https, &[("https_proxy", "proxy.local:3128")]).as_deref(), Some("http://proxy.local:3128"));
        assert_eq!(p(&https, &[("ALL_PROXY", "http://all:1")]).as_deref(), Some("http://all:1"));
        assert_eq!(p(&http, &[("HTTP_PROXY", "http://p:1")]), None, "uppercase HTTP_PROXY is ignored, as in curl");
        assert_eq!(p(&http, &[("http_proxy", "http://p:1")]).as_deref(), Some("http://p:1"));
        for no in ["doku.com", ".doku.com", "api.doku.com", "*", "other, doku.com"] {
            assert_eq!(p(&https, &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)]), None, "{no}");
        }
        for yes in ["ku.com", "example.com", "api.doku.com.evil"] {
            assert!(p(&https, &[("HTTPS_PROXY", "http://p:1"), ("no_proxy", yes)]).is_some(), "{yes}");
        }
        assert_eq!(p(&http, &[("http_proxy", "http://p:1"), ("NO_PROXY", "127.0.0.1")]), None);
        let e = proxy_from_env(&https, &env_of(&[("HTTPS_PROXY", "http://user:s3cret@::bad")])).unwrap_err();
        assert!(e.message().contains("HTTPS_PROXY") && !e.message().contains("s3cret"), "{e}");
    }

    /// A one-shot server that answers with `reply` after reading the request head.
    fn serve_once(reply: &'static [u8]) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
        });
        url
    }

    #[test]
    fn answers_are_read_with_their_date() {
        let url = serve_once(b"HTTP/1.1 401 Unauthorized\r\nDate: Fri, 07 Oct 2022 07:18:39 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        let r = Http::new(settings(&url).unwrap()).post_json("/p", &[("X-A", "1")], "{}").unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.date.as_deref()), (401, &b"{}"[..], Some("Fri, 07 Oct 2022 07:18:39 GMT")));
    }

    #[test]
    fn a_declared_huge_body_is_refused_unread() {
        let url = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n{");
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
        let url = serve_once(b"SSH-2.0-OpenSSH\r\n\r\n");
        let e = Http::new(settings(&url).unwrap()).post_json("/p", &[], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    }

    #[test]
    fn dns_lookups_are_bounded() {
        use ureq::Resolver;
        let slow = BoundedResolver(Duration::from_millis(1));
        // A literal address needs no lookup; a name that cannot resolve fails either way, but
        // never later than the bound (plus scheduling).
        assert_eq!(slow.resolve("127.0.0.1:80").unwrap().len(), 1);
        let t0 = std::time::Instant::now();
        let _ = slow.resolve("doku-snap-test.invalid:443");
        assert!(t0.elapsed() < Duration::from_secs(2));
        let e = Http::new(settings("https://doku-snap-test.invalid").unwrap()).post_json("/p", &[], "{}").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout), "{e}");
    }

    #[test]
    fn injected_headers_are_refused_before_sending() {
        let http = Http::new(settings("http://127.0.0.1:9").unwrap());
        let e = http.post_json("/p", &[("X-TIMESTAMP", "1\r\nX-Evil: 1")], "{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
