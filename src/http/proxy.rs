//! The tunnel through an HTTP proxy: `CONNECT host:port`, then TLS (or plain HTTP) inside.
//!
//! ureq's own CONNECT connector reads the proxy's answer with a timeout computed once, so a
//! proxy dripping its answer a byte at a time got the whole timeout again for every read. Here
//! every read gets only the time left until the connect deadline (`TransportAdapter`), and the
//! answer is capped in size.

use std::io::{Read, Write};

use ureq::http::Uri;
use ureq::unversioned::transport::{ConnectionDetails, Connector, Either, TcpConnector, Transport, TransportAdapter};

use super::budget;
use super::USER_AGENT;

/// A proxy's answer to CONNECT is a status line and a few headers.
const MAX_ANSWER: usize = 8 * 1024;

#[derive(Debug, Default)]
pub(super) struct ProxyTunnel;

impl<In: Transport> Connector<In> for ProxyTunnel {
    type Out = Either<In, Box<dyn Transport>>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        // The first connector of a new connection: nothing is sent until TLS marks it open.
        budget::mark(budget::Connection::Opening);
        let Some(proxy) = details.config.proxy() else { return Ok(None) };
        let target = details.uri.authority().ok_or(ureq::Error::ConnectionFailed)?;
        let target_port = target.port_u16().unwrap_or(if details.needs_tls() { 443 } else { 80 });
        let target = format!("{}:{target_port}", target.host());

        // TCP to the proxy, within the connect budget.
        let proxy_uri: Uri = format!("http://{}:{}", proxy.host(), proxy.port()).parse().map_err(|_| ureq::Error::InvalidProxyUrl)?;
        let addrs = details.resolver.resolve(&proxy_uri, details.config, budget::connect(details.timeout))?;
        let to_proxy = ConnectionDetails {
            uri: &proxy_uri,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: budget::connect(details.timeout),
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let tcp = match Connector::<()>::connect(&TcpConnector::default(), &to_proxy, None)? {
            Some(Either::B(tcp)) => tcp,
            _ => return Err(ureq::Error::ConnectionFailed),
        };

        let mut io = TransportAdapter::new(tcp.boxed(), details.current_time.clone());
        io.set_timeout(budget::connect(details.timeout));
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: {USER_AGENT}\r\n");
        if proxy.username().is_some() || proxy.password().is_some() {
            let credentials = format!("{}:{}", proxy.username().unwrap_or_default(), proxy.password().unwrap_or_default());
            let credentials = zeroize::Zeroizing::new(credentials);
            request.push_str(&format!("Proxy-Authorization: Basic {}\r\n", openssl::base64::encode_block(credentials.as_bytes())));
        }
        request.push_str("\r\n");
        let request = zeroize::Zeroizing::new(request);
        io.write_all(request.as_bytes())?;

        let mut answer = Vec::with_capacity(256);
        let mut buf = [0u8; 512];
        let end = loop {
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if answer.len() > MAX_ANSWER {
                return Err(ureq::Error::ConnectProxyFailed("the proxy's answer to CONNECT is too long".into()));
            }
            let n = io.read(&mut buf)?;
            if n == 0 {
                return Err(ureq::Error::ConnectProxyFailed("the proxy closed the connection".into()));
            }
            answer.extend_from_slice(&buf[..n]);
        };
        // Nothing may follow the answer before the tunnel is used: the target speaks second.
        if end != answer.len() || !io.get_mut().buffers().input().is_empty() {
            return Err(ureq::Error::ConnectProxyFailed("the proxy sent bytes after its answer to CONNECT".into()));
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&answer) {
            Ok(httparse::Status::Complete(_)) if parsed.code == Some(200) => {}
            Ok(httparse::Status::Complete(_)) => {
                let code = parsed.code.unwrap_or_default();
                return Err(ureq::Error::ConnectProxyFailed(format!("the proxy answered CONNECT with HTTP {code}")));
            }
            _ => return Err(ureq::Error::ConnectProxyFailed("the proxy's answer to CONNECT is not HTTP".into())),
        }
        Ok(Some(Either::B(io.into_inner())))
    }
}
