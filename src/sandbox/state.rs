//! What the accept thread and the connection threads share: configuration, the token signing
//! key, issued tokens, request counts and the live connections.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use openssl::ssl::SslAcceptor;
use serde_json::json;

use super::fault::FaultSet;
use super::{Log, SandboxConfig};
use crate::error::{openssl_reason, Error, ErrorKind, Result};
use crate::jwt;
use crate::key::{PrivateKey, PublicKey};

/// Issued tokens kept for [`State::check_token`]; expired ones are pruned first.
const MAX_REMEMBERED_TOKENS: usize = 100_000;
/// Distinct client ids counted; more would let a flood of made-up ids grow memory.
const MAX_COUNTED_CLIENTS: usize = 10_000;
pub(crate) const ISSUER: &str = "doku-sandbox";

/// A poisoned lock only means another connection thread panicked; the data stays usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Issued {
    client: String,
    exp: i64,
}

pub(crate) struct State {
    pub clients: HashMap<String, PublicKey>,
    pub faults: HashMap<String, FaultSet>,
    pub token_ttl: u64,
    pub max_skew: u64,
    pub head_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub tls: Option<SslAcceptor>,
    log: Log,
    token_key: PrivateKey,
    token_public: PublicKey,
    tokens: Mutex<HashMap<String, Issued>>,
    requests: Mutex<HashMap<String, u64>>,
    pub stopping: AtomicBool,
    live: AtomicUsize,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl State {
    pub fn new(config: SandboxConfig, tls: Option<SslAcceptor>) -> Result<State> {
        // One key for the sandbox's life: tokens stay verifiable until it stops.
        let crypto = |e: openssl::error::ErrorStack| Error::new(ErrorKind::Crypto, format!("token key: {}", openssl_reason(&e)));
        let pkey = openssl::rsa::Rsa::generate(2048).and_then(openssl::pkey::PKey::from_rsa).map_err(crypto)?;
        let pem = pkey.private_key_to_pem_pkcs8().map_err(crypto)?;
        let token_key = PrivateKey::parse(&String::from_utf8_lossy(&pem), None)?;
        let token_public = PublicKey::parse(&token_key.public_key_pem()?)?;
        let mut faults: HashMap<String, FaultSet> = HashMap::new();
        for (client, fault) in config.faults {
            faults.entry(client).or_default().add(fault);
        }
        Ok(State {
            clients: config.clients.into_iter().collect(),
            faults,
            token_ttl: config.token_ttl,
            max_skew: config.max_skew,
            head_timeout: config.head_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections.max(1),
            tls,
            log: config.log,
            token_key,
            token_public,
            tokens: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps `total`, waking early when the sandbox stops; true when the full time passed.
    pub fn sleep(&self, total: Duration) -> bool {
        let end = Instant::now() + total;
        loop {
            if self.stopping() {
                return false;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(25)));
        }
    }

    /// The sandbox clock as one client sees it.
    pub fn now(&self, shift_secs: i64) -> DateTime<Utc> {
        let now = Utc::now();
        TimeDelta::try_seconds(shift_secs).and_then(|d| now.checked_add_signed(d)).unwrap_or(now)
    }

    pub fn log(&self, line: String) {
        match &self.log {
            Log::Stderr => eprintln!("{line}"),
            Log::Off => {}
            Log::Capture(lines) => lock(lines).push(line),
        }
    }

    pub fn count_token_request(&self, client: &str) {
        let mut requests = lock(&self.requests);
        if let Some(n) = requests.get_mut(client) {
            *n += 1;
        } else if requests.len() < MAX_COUNTED_CLIENTS {
            requests.insert(client.to_owned(), 1);
        }
    }

    pub fn token_requests(&self, client: &str) -> u64 {
        lock(&self.requests).get(client).copied().unwrap_or(0)
    }

    /// `{"<client id>": N, ...}` for the stats endpoint.
    pub fn token_request_counts(&self) -> serde_json::Value {
        json!(*lock(&self.requests))
    }

    /// Signs a token for `client` living `ttl` seconds, and remembers it.
    pub fn issue_token(&self, client: &str, ttl: u64) -> Result<String> {
        let now = Utc::now();
        let iat = now.timestamp();
        let claims = crate::merchant::token_claims(ISSUER, client, ttl, now)?;
        let exp = claims["exp"].as_i64().unwrap_or(iat);
        let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
        let token = jwt::sign_rs256(&self.token_key, &claims)?;
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= MAX_REMEMBERED_TOKENS {
            tokens.retain(|_, t| t.exp > iat);
        }
        if tokens.len() >= MAX_REMEMBERED_TOKENS {
            // Still full of live tokens: forget the one closest to expiry.
            if let Some(oldest) = tokens.iter().min_by_key(|(_, t)| t.exp).map(|(k, _)| k.clone()) {
                tokens.remove(&oldest);
            }
        }
        tokens.insert(jti, Issued { client: client.to_owned(), exp });
        Ok(token)
    }

    /// Verifies a token issued by this sandbox (`Bearer ` prefix optional; signature and expiry
    /// by `jwt`) and returns its client.
    pub fn check_token(&self, bearer: &str) -> Result<String> {
        let claims = jwt::verify_rs256(bearer, &self.token_public, Utc::now().timestamp())?;
        let unknown = || Error::new(ErrorKind::SignatureInvalid, "the token was not issued by this sandbox, or was forgotten");
        let jti = claims.get("jti").and_then(|v| v.as_str()).ok_or_else(unknown)?;
        let tokens = lock(&self.tokens);
        let issued = tokens.get(jti).ok_or_else(unknown)?;
        if claims.get("clientId").and_then(|v| v.as_str()) != Some(issued.client.as_str()) {
            return Err(unknown());
        }
        Ok(issued.client.clone())
    }

    pub fn token_public_key_pem(&self) -> String {
        self.token_key.public_key_pem().unwrap_or_default()
    }

    pub fn live_connections(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Counts a connection as live and keeps a handle to close it at shutdown, until the returned
    /// guard drops (also when its thread panics).
    pub fn register(self: &Arc<Self>, tcp: &TcpStream) -> ConnGuard {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.live.fetch_add(1, Ordering::SeqCst);
        if let Ok(handle) = tcp.try_clone() {
            lock(&self.conns).insert(id, handle);
        }
        ConnGuard { state: Arc::clone(self), id }
    }

    /// Wakes every connection thread blocked in a read; they then end.
    pub fn close_all_connections(&self) {
        for (_, tcp) in lock(&self.conns).drain() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

pub(crate) struct ConnGuard {
    state: Arc<State>,
    id: u64,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        lock(&self.state.conns).remove(&self.id);
        self.state.live.fetch_sub(1, Ordering::SeqCst);
    }
}
