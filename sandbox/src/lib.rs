//! An offline SNAP server for tests: the B2B and B2B2C token endpoints with DOKU's checks,
//! response codes and headers, every operation of the catalog (`doku::operations`: virtual
//! accounts and Direct Debit, with state), fault modes that make it misbehave on purpose, and DOKU's side of merchant
//! notifications ([`notify`]). Runs in-process ([`Sandbox`]) or as the `doku-sandbox` binary,
//! over HTTP or HTTPS with a generated local CA.
//!
//! Layout: `http` reads requests and writes heads; `server` owns sockets, threads and
//! routing; `exchange` is one request as an endpoint sees it (the client's faults, the shifted
//! clock, the answers every endpoint gives); `b2b` and `b2b2c` judge token requests; `ops` judges the operations and `books` keeps their state; [`fault`]
//! parses fault modes; `tls` makes the CA and the server certificate; `state` is what the
//! connection threads share; [`notify`] calls a merchant as DOKU does.

mod b2b;
mod b2b2c;
mod books;
mod exchange;
pub mod fault;
mod http;
pub mod notify;
mod ops;
mod server;
mod state;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use fault::Fault;

use doku::error::Result;
use doku::key::PublicKey;
use state::State;

/// The token endpoint's path.
pub const TOKEN_PATH: &str = doku::token::B2B_PATH;
/// The B2B2C (customer) token endpoint's path.
pub const B2B2C_TOKEN_PATH: &str = doku::token::b2b2c::PATH;
/// The protected endpoint: create a virtual account (service 27).
pub const CREATE_VA_PATH: &str = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";
/// `POST /sandbox/v1/pay-va?client=ID` with `{"virtualAccountNo","paidAmount"?}`: the customer
/// pays a virtual account, as DOKU's simulator does.
pub const PAY_VA_PATH: &str = "/sandbox/v1/pay-va";
/// Counts for out-of-process tests: `{"tokenRequests":{"<client id>":N,...},
/// "invalidTokenAnswers":{"<partner id>":N,...},"connections":N}`.
pub const STATS_PATH: &str = "/sandbox/v1/stats";
/// `POST /sandbox/v1/revoke?client=ID`: revokes that client's tokens (out-of-process
/// [`Sandbox::revoke_tokens`]); answers `{"responseCode":"2000000",…,"revoked":N}`.
pub const REVOKE_PATH: &str = "/sandbox/v1/revoke";

/// Where the one-line-per-request log goes. Lines never contain signatures, tokens or keys.
#[derive(Clone, Debug, Default)]
pub enum Log {
    #[default]
    Stderr,
    Off,
    /// Collected in memory, for tests.
    Capture(Arc<Mutex<Vec<String>>>),
}

#[derive(Clone)]
pub struct SandboxConfig {
    /// Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Registered merchants: client id → public key.
    pub clients: Vec<(String, PublicKey)>,
    /// Client secrets: client id → secret, for symmetric signatures (create-VA, notifications).
    /// Never printed, not even by `Debug`.
    pub secrets: Vec<(String, String)>,
    /// Fault modes per client id; several per client combine (see [`Fault`]).
    pub faults: Vec<(String, Fault)>,
    /// `Some(dir)`: serve HTTPS with `dir/ca.pem` etc., created on first use and reused after.
    pub tls_dir: Option<PathBuf>,
    /// Where DOKU's key pair is kept (`doku-private.pem`, `doku-public.pem`), created on first use
    /// and reused after; defaults to `tls_dir`. With neither, a fresh pair is made per run.
    pub doku_key_dir: Option<PathBuf>,
    /// Token lifetime in seconds (`expiresIn`).
    pub token_ttl: u64,
    /// Largest accepted distance, in seconds, between `X-TIMESTAMP` and the sandbox clock.
    pub max_skew: u64,
    /// A client's new B2B (or B2B2C) access token revokes its earlier ones: DOKU documents
    /// that the latest token is the one processed. Off by default.
    pub latest_token_only: bool,
    /// Enforce DOKU's documented formats where its own SDKs send otherwise (`X-EXTERNAL-ID`:
    /// digits, at most 36). Off by default: what DOKU's SDKs send is accepted, with a warning.
    pub strict: bool,
    pub log: Log,
    /// A request head (and then its body) must arrive within this time: the slowloris guard.
    pub head_timeout: Duration,
    /// An idle keep-alive connection is closed after this time.
    pub idle_timeout: Duration,
    /// Live connections beyond this are answered 503 and closed.
    pub max_connections: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clients: Vec::new(),
            secrets: Vec::new(),
            faults: Vec::new(),
            tls_dir: None,
            doku_key_dir: None,
            token_ttl: 900,
            max_skew: 300,
            latest_token_only: false,
            strict: false,
            log: Log::Stderr,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secrets: Vec<String> = self.secrets.iter().map(|(id, _)| format!("{id}=…")).collect();
        f.debug_struct("SandboxConfig")
            .field("listen", &self.listen)
            .field("clients", &self.clients)
            .field("secrets", &secrets)
            .field("faults", &self.faults)
            .field("tls_dir", &self.tls_dir)
            .field("doku_key_dir", &self.doku_key_dir)
            .field("token_ttl", &self.token_ttl)
            .field("max_skew", &self.max_skew)
            .field("latest_token_only", &self.latest_token_only)
            .field("strict", &self.strict)
            .field("log", &self.log)
            .field("head_timeout", &self.head_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The fuzzing entry point (cargo fuzz builds with `--cfg fuzzing`): the bytes of one
/// connection in, the answers out, against a sandbox with one registered client and secret.
#[cfg(fuzzing)]
pub fn fuzz_connection(input: &[u8]) -> Vec<u8> {
    static STATE: once_cell::sync::Lazy<State> = once_cell::sync::Lazy::new(|| {
        let key =
            doku::key::PrivateKey::parse(&String::from_utf8_lossy(&openssl::rsa::Rsa::generate(2048).unwrap().private_key_to_pem().unwrap()), None)
                .unwrap();
        let public = PublicKey::parse(&key.public_key_pem().unwrap()).unwrap();
        let config = SandboxConfig {
            clients: vec![("MCH-FUZZ".into(), public)],
            secrets: vec![("MCH-FUZZ".into(), "fuzz-secret".into())],
            log: Log::Off,
            ..SandboxConfig::default()
        };
        State::new(config, None).unwrap()
    });
    server::serve_bytes(&STATE, input)
}

/// A running sandbox. Dropping it stops it (as does [`Sandbox::shutdown`]).
pub struct Sandbox {
    state: Arc<State>,
    addr: SocketAddr,
    url: String,
    ca_file: Option<PathBuf>,
    accept: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds, prepares keys (and TLS files), spawns the accept thread and returns once listening.
    pub fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(config.listen)?;
        let addr = listener.local_addr()?;
        let (tls, ca_file) = match &config.tls_dir {
            Some(dir) => (Some(tls::acceptor(dir)?), Some(dir.join(tls::CA_FILE))),
            None => (None, None),
        };
        let url = match (&tls, addr.ip()) {
            (Some(_), _) => format!("https://localhost:{}", addr.port()),
            (None, IpAddr::V4(ip)) if ip.is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
            (None, IpAddr::V6(ip)) if ip.is_unspecified() => format!("http://[::1]:{}", addr.port()),
            (None, _) => format!("http://{addr}"),
        };
        let state = Arc::new(State::new(config, tls).map_err(|e| std::io::Error::other(e.to_string()))?);
        let shared = Arc::clone(&state);
        let accept = std::thread::Builder::new().name("doku-sandbox-accept".into()).spawn(move || server::accept_loop(listener, shared))?;
        Ok(Sandbox { state, addr, url, ca_file, accept: Some(accept) })
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS; no trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate clients must trust (`DIR/ca.pem`), when serving HTTPS.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.ca_file.clone()
    }

    /// POSTs to the token endpoint carrying this `X-CLIENT-KEY`, whatever their outcome.
    pub fn token_requests(&self, client_id: &str) -> u64 {
        self.state.token_requests(client_id)
    }

    /// Connections accepted and served so far (TLS or not), over the connection cap excepted.
    pub fn accepted_connections(&self) -> u64 {
        self.state.accepted_connections()
    }

    /// Checks a B2B token this sandbox issued (signature, expiry, that it was issued here, is a
    /// B2B token and was not revoked) and returns its client id.
    pub fn check_token(&self, bearer: &str) -> Result<String> {
        self.state.check_token(bearer)
    }

    /// The public key (PEM) that verifies this sandbox's tokens; it lives as long as the sandbox.
    pub fn token_public_key_pem(&self) -> String {
        self.state.token_public_key_pem()
    }

    /// A B2B token for `client_id`, as the token endpoint issues it (lifetime `token_ttl`), without
    /// a request: for testing protected endpoints with clients whose token answers are faulted.
    pub fn issue_token(&self, client_id: &str) -> Result<String> {
        self.state.issue_token(client_id, self.state.token_ttl)
    }

    /// Revokes every token issued to `client_id` so far (B2B, and B2B2C access and refresh
    /// tokens): they then fail [`Sandbox::check_token`] and the endpoints answer Invalid Token,
    /// as DOKU does for a token it no longer honours. Returns how many were revoked.
    pub fn revoke_tokens(&self, client_id: &str) -> usize {
        self.state.revoke_tokens(client_id)
    }

    /// DOKU's public key (PEM), which merchants configure to verify DOKU's token requests.
    pub fn doku_public_key_pem(&self) -> Result<String> {
        self.state.doku_key()?.public_key_pem()
    }

    /// `DIR/doku-public.pem`, when DOKU's key pair is persisted (`doku_key_dir` or `tls_dir`).
    pub fn doku_public_key_file(&self) -> Option<PathBuf> {
        self.state.doku_key_dir.as_ref().map(|d| d.join(state::DOKU_PUBLIC_FILE))
    }

    /// A [`notify::NotifyConfig`] for notifying the merchant at `merchant_url` as DOKU: signed
    /// with this sandbox's DOKU key and the secret registered for `client_id`.
    pub fn notify_config(&self, merchant_url: &str, client_id: &str) -> Result<notify::NotifyConfig> {
        self.state.notify_config(merchant_url, client_id)
    }

    /// Stops accepting, joins the accept thread and closes live connections. Connection threads
    /// are not waited for: they notice within a few milliseconds and end on their own.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Idempotent: `shutdown` and then `Drop` both call it.
    fn stop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            // The accept thread blocks in accept(): a connection of our own wakes it.
            let mut wake = self.addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(match wake {
                    SocketAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
                    SocketAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                });
            }
            let _ = std::net::TcpStream::connect_timeout(&wake, Duration::from_secs(1));
            let _ = accept.join();
        }
        self.state.close_all_connections();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sandbox's types that hold secrets print none (the library's own types are checked in
    /// doku's `debug_never_shows_a_secret`).
    #[test]
    fn debug_never_shows_a_secret() {
        const SECRET: &str = "debug-client-secret-0b6e";
        let pem = openssl::rsa::Rsa::generate(2048).unwrap().private_key_to_pem().unwrap();
        let key = doku::key::PrivateKey::parse(std::str::from_utf8(&pem).unwrap(), None).unwrap();
        let shown = [
            format!("{:?}", notify::NotifyConfig::new("http://127.0.0.1:9", "MCH", SECRET, Arc::new(key))),
            format!("{:?}", SandboxConfig { secrets: vec![("MCH".into(), SECRET.into())], ..Default::default() }),
        ];
        let body: String = std::str::from_utf8(&pem).unwrap().lines().filter(|l| !l.starts_with("-----")).collect();
        for text in &shown {
            assert!(!text.contains(SECRET), "{text}");
            assert!(body.as_bytes().windows(16).all(|w| !text.contains(std::str::from_utf8(w).unwrap())), "{text}");
        }
    }
}
