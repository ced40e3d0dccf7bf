//! `connect_timeout_ms` bounds DNS, TCP connect and the TLS handshake together. ureq gives each
//! of its phases its own budget, so the request's connect deadline is kept in a thread-local
//! (ureq resolves and connects on the calling thread) and every step of the connector chain,
//! the resolver included, is cut to the time left until it.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{ConnectionDetails, Connector, NextTimeout, Transport};
use ureq::Timeout;

thread_local! {
    static CONNECT_BY: Cell<Option<Instant>> = const { Cell::new(None) };
    static CONNECTION: Cell<Connection> = const { Cell::new(Connection::Unknown) };
}

/// How far this thread's request got in opening a connection: a failure while `Opening` sent
/// nothing; one after (`Open`), or on a pooled connection (`Unknown`: no connector ran), may
/// have sent the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Connection {
    Unknown,
    Opening,
    Open,
}

pub(super) fn mark(state: Connection) {
    CONNECTION.with(|c| c.set(state));
}

pub(super) fn connection() -> Connection {
    CONNECTION.with(Cell::get)
}

/// Runs `send` with connecting (if it needs a new connection) bounded to end by `deadline`.
pub(super) fn with_connect_deadline<R>(deadline: Instant, send: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CONNECT_BY.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CONNECT_BY.with(|c| c.replace(Some(deadline))));
    send()
}

/// `timeout`, cut to the time left for connecting.
pub(super) fn connect(mut timeout: NextTimeout) -> NextTimeout {
    if let Some(by) = CONNECT_BY.with(Cell::get) {
        let left = by.saturating_duration_since(Instant::now());
        if left < *timeout.after {
            timeout.after = left.into();
            timeout.reason = Timeout::Connect;
        }
    }
    timeout
}

/// A connector of the chain, run with the connect budget.
#[derive(Debug)]
pub(super) struct Budgeted<C>(pub C);

impl<In: Transport, C: Connector<In>> Connector<In> for Budgeted<C> {
    type Out = C::Out;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let details = ConnectionDetails {
            uri: details.uri,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: connect(details.timeout),
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        self.0.connect(&details, chained)
    }
}

/// ureq's resolver (a lookup thread bounded by the timeout), within the connect budget. A
/// literal address needs no lookup, nor does `localhost`, which is always this machine's
/// loopback (RFC 6761): no lookup thread outlives such a call.
#[derive(Debug, Default)]
pub(super) struct BudgetedResolver(DefaultResolver);

impl Resolver for BudgetedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(authority) = uri.authority() {
            let port = authority.port_u16().or(match uri.scheme_str() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            });
            let host = authority.host().trim_start_matches('[').trim_end_matches(']');
            let ips: Vec<IpAddr> = if host.eq_ignore_ascii_case("localhost") {
                vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
            } else {
                host.parse::<IpAddr>().into_iter().collect()
            };
            if let (Some(port), false) = (port, ips.is_empty()) {
                let mut addrs = self.0.empty();
                for ip in ips {
                    addrs.push(SocketAddr::new(ip, port));
                }
                return Ok(addrs);
            }
        }
        self.0.resolve(uri, config, connect(timeout))
    }
}

/// The addresses of `host:port`, looked up as the HTTP client does (ureq's lookup thread, none
/// for a literal address or `localhost`), by `deadline`: for the token store's Redis.
pub(crate) fn resolve(host: &str, port: u16, deadline: Instant) -> std::io::Result<Vec<SocketAddr>> {
    use std::io::{Error, ErrorKind};
    let shown = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
    let uri: Uri = format!("http://{shown}:{port}/").parse().map_err(|_| Error::new(ErrorKind::InvalidInput, "not a host name"))?;
    let timeout =
        NextTimeout { after: deadline.saturating_duration_since(Instant::now()).into(), reason: Timeout::Resolve, per_read: None, per_write: None };
    match BudgetedResolver::default().resolve(&uri, &Config::default(), timeout) {
        Ok(addrs) => Ok(addrs.iter().copied().collect()),
        Err(ureq::Error::Timeout(_)) => Err(Error::new(ErrorKind::TimedOut, "name lookup timed out")),
        Err(ureq::Error::Io(e)) => Err(e),
        Err(e) => Err(Error::other(format!("name lookup failed: {e}"))),
    }
}
