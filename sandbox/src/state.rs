//! What the accept thread and the connection threads share: configuration, client secrets, the
//! token signing key, DOKU's own key pair, issued tokens, seen external ids, request counts and
//! the live connections.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use once_cell::sync::OnceCell;
use openssl::ssl::SslAcceptor;
use serde_json::json;
use zeroize::Zeroizing;

use super::fault::FaultSet;
use super::{Log, SandboxConfig};
use doku::error::{openssl_reason, Error, ErrorKind, Result};
use doku::external_id::{business_day, Ledger};
use doku::jwt;
use doku::key::{PrivateKey, PublicKey};
use doku::signature::hex;

/// Issued tokens kept for [`State::check_token`]; expired ones are pruned first.
const MAX_REMEMBERED_TOKENS: usize = 100_000;
/// Distinct client ids counted; more would let a flood of made-up ids grow memory.
const MAX_COUNTED_CLIENTS: usize = 10_000;
/// `X-EXTERNAL-ID`s remembered for the day, over all clients; past it, the oldest are forgotten.
const MAX_EXTERNAL_IDS: usize = 200_000;
pub(crate) const ISSUER: &str = "doku-sandbox";
/// DOKU's key pair, as persisted in `--doku-key-dir` (or `--tls-dir`).
pub(crate) const DOKU_PRIVATE_FILE: &str = "doku-private.pem";
pub(crate) const DOKU_PUBLIC_FILE: &str = "doku-public.pem";

/// A poisoned lock only means another connection thread panicked; the data stays usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One more for `client`, for at most `MAX_COUNTED_CLIENTS` clients.
fn count(counts: &Mutex<HashMap<String, u64>>, client: &str) {
    let mut counts = lock(counts);
    if let Some(n) = counts.get_mut(client) {
        *n += 1;
    } else if counts.len() < MAX_COUNTED_CLIENTS {
        counts.insert(client.to_owned(), 1);
    }
}

/// What an issued credential is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A B2B access token (JWT), keyed by its `jti`.
    B2b,
    /// A B2B2C (customer) access token (JWT), keyed by its `jti`.
    CustomerAccess,
    /// An opaque B2B2C refresh token, keyed by its SHA-256 (the token itself is not kept).
    CustomerRefresh,
}

struct Issued {
    client: String,
    exp: i64,
    kind: Kind,
    /// For customer tokens: the account binding whose auth code they were issued for.
    binding: Option<String>,
    /// Why it is no longer honoured, if it is not.
    revoked: Option<Revoked>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Revoked {
    /// By the revoke endpoint.
    Revoked,
    /// By a newer token of the same kind for the same client (`--latest-token-only`).
    Superseded,
}

fn generate_key() -> Result<PrivateKey> {
    let crypto = |e: openssl::error::ErrorStack| Error::new(ErrorKind::Crypto, format!("generating an RSA key: {}", openssl_reason(&e)));
    let pkey = openssl::rsa::Rsa::generate(2048).and_then(openssl::pkey::PKey::from_rsa).map_err(crypto)?;
    let pem = Zeroizing::new(pkey.private_key_to_pem_pkcs8().map_err(crypto)?);
    PrivateKey::parse(&String::from_utf8_lossy(&pem), None)
}

/// DOKU's key pair in `dir`: `doku-private.pem` is loaded, or created with `doku-public.pem`
/// when absent; `doku-public.pem` is rewritten whenever it does not match.
fn load_or_create_doku_key(dir: &Path) -> Result<PrivateKey> {
    let io = |what: &str, path: &Path, e: std::io::Error| Error::invalid(format!("DOKU key: cannot {what} {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let (private_path, public_path) = (dir.join(DOKU_PRIVATE_FILE), dir.join(DOKU_PUBLIC_FILE));
    let key = if private_path.exists() {
        let text = Zeroizing::new(std::fs::read_to_string(&private_path).map_err(|e| io("read", &private_path, e))?);
        PrivateKey::parse(&text, None)
            .map_err(|e| Error::key(format!("DOKU key: {}: {e}; delete it to create a new key pair", private_path.display())))?
    } else {
        let key = generate_key()?;
        let pem = Zeroizing::new(key.pkey().private_key_to_pem_pkcs8().map_err(|e| Error::key(openssl_reason(&e)))?);
        super::tls::write_file(&private_path, &pem, true).map_err(|e| io("write", &private_path, e))?;
        key
    };
    let public = key.public_key_pem()?;
    if std::fs::read_to_string(&public_path).ok().as_deref() != Some(public.as_str()) {
        super::tls::write_file(&public_path, public.as_bytes(), false).map_err(|e| io("write", &public_path, e))?;
    }
    Ok(key)
}

pub(crate) struct State {
    pub clients: HashMap<String, PublicKey>,
    pub faults: HashMap<String, FaultSet>,
    pub token_ttl: u64,
    pub max_skew: u64,
    /// A client's new access token revokes its earlier ones, as DOKU documents.
    pub latest_token_only: bool,
    /// DOKU's documented formats enforced where its own SDKs send otherwise.
    pub strict: bool,
    pub head_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub tls: Option<SslAcceptor>,
    log: Log,
    secrets: HashMap<String, Zeroizing<String>>,
    token_key: PrivateKey,
    token_public: PublicKey,
    /// DOKU's key pair: made on first use, unless loaded from (or persisted to) `doku_key_dir`.
    doku_key: OnceCell<Arc<PrivateKey>>,
    pub doku_key_dir: Option<PathBuf>,
    tokens: Mutex<HashMap<String, Issued>>,
    /// Virtual accounts, account bindings and payments, per client.
    pub books: Mutex<super::books::Books>,
    external_ids: Mutex<Ledger>,
    requests: Mutex<HashMap<String, u64>>,
    invalid_tokens: Mutex<HashMap<String, u64>>,
    pub stopping: AtomicBool,
    live: AtomicUsize,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl State {
    pub fn new(config: SandboxConfig, tls: Option<SslAcceptor>) -> Result<State> {
        // One key for the sandbox's life: tokens stay verifiable until it stops.
        let token_key = generate_key()?;
        let token_public = PublicKey::parse(&token_key.public_key_pem()?)?;
        let doku_key_dir = config.doku_key_dir.clone().or_else(|| config.tls_dir.clone());
        let doku_key = OnceCell::new();
        if let Some(dir) = &doku_key_dir {
            let _ = doku_key.set(Arc::new(load_or_create_doku_key(dir)?));
        }
        let mut faults: HashMap<String, FaultSet> = HashMap::new();
        for (client, fault) in config.faults {
            faults.entry(client).or_default().add(fault);
        }
        Ok(State {
            clients: config.clients.into_iter().collect(),
            faults,
            token_ttl: config.token_ttl,
            max_skew: config.max_skew,
            latest_token_only: config.latest_token_only,
            strict: config.strict,
            head_timeout: config.head_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections.max(1),
            tls,
            log: config.log,
            secrets: config.secrets.into_iter().map(|(id, secret)| (id, Zeroizing::new(secret))).collect(),
            token_key,
            token_public,
            doku_key,
            doku_key_dir,
            tokens: Mutex::new(HashMap::new()),
            books: Mutex::new(super::books::Books::default()),
            external_ids: Mutex::new(Ledger::default()),
            requests: Mutex::new(HashMap::new()),
            invalid_tokens: Mutex::new(HashMap::new()),
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
        count(&self.requests, client);
    }

    pub fn token_requests(&self, client: &str) -> u64 {
        lock(&self.requests).get(client).copied().unwrap_or(0)
    }

    /// `{"<client id>": N, ...}` for the stats endpoint.
    pub fn token_request_counts(&self) -> serde_json::Value {
        json!(*lock(&self.requests))
    }

    /// An Invalid Token answer to a transaction request, by its X-PARTNER-ID: the retries a
    /// client's cache causes.
    pub fn count_invalid_token(&self, partner: &str) {
        count(&self.invalid_tokens, partner);
    }

    /// `{"<partner id>": N, ...}` for the stats endpoint.
    pub fn invalid_token_counts(&self) -> serde_json::Value {
        json!(*lock(&self.invalid_tokens))
    }

    /// Signs a B2B token for `client` living `ttl` seconds, and remembers it.
    pub fn issue_token(&self, client: &str, ttl: u64) -> Result<String> {
        self.issue_jwt(client, ttl, Kind::B2b, None)
    }

    /// A B2B2C access token (JWT, `ttl` seconds) and an opaque refresh token (`refresh_ttl`
    /// seconds) for `client`, both remembered.
    pub fn issue_customer_tokens(&self, client: &str, ttl: u64, refresh_ttl: u64, binding: String) -> Result<(String, Zeroizing<String>)> {
        let access = self.issue_jwt(client, ttl, Kind::CustomerAccess, Some(binding.clone()))?;
        let mut random = Zeroizing::new([0u8; 32]);
        openssl::rand::rand_bytes(&mut *random).map_err(|e| Error::new(ErrorKind::Crypto, openssl_reason(&e)))?;
        let refresh = Zeroizing::new(format!("rt-{}", hex(&*random)));
        let exp = Utc::now().timestamp().saturating_add(i64::try_from(refresh_ttl).unwrap_or(i64::MAX));
        self.remember(
            refresh_key(&refresh),
            Issued { client: client.to_owned(), exp, kind: Kind::CustomerRefresh, binding: Some(binding), revoked: None },
        );
        Ok((access, refresh))
    }

    fn issue_jwt(&self, client: &str, ttl: u64, kind: Kind, binding: Option<String>) -> Result<String> {
        let now = Utc::now();
        let mut claims = doku::merchant::token_claims(ISSUER, client, ttl, now)?;
        if kind == Kind::CustomerAccess {
            claims["tokenUse"] = json!("b2b2c");
        }
        let exp = claims["exp"].as_i64().unwrap_or(now.timestamp());
        let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
        let token = jwt::sign_rs256(&self.token_key, &claims)?;
        if self.latest_token_only {
            let now = now.timestamp();
            for t in lock(&self.tokens).values_mut().filter(|t| t.client == client && t.kind == kind && t.revoked.is_none() && t.exp > now) {
                t.revoked = Some(Revoked::Superseded);
            }
        }
        self.remember(jti, Issued { client: client.to_owned(), exp, kind, binding, revoked: None });
        Ok(token)
    }

    fn remember(&self, key: String, issued: Issued) {
        let now = Utc::now().timestamp();
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= MAX_REMEMBERED_TOKENS {
            tokens.retain(|_, t| t.exp > now);
        }
        if tokens.len() >= MAX_REMEMBERED_TOKENS {
            // Still full of live tokens: forget the one closest to expiry.
            if let Some(oldest) = tokens.iter().min_by_key(|(_, t)| t.exp).map(|(k, _)| k.clone()) {
                tokens.remove(&oldest);
            }
        }
        tokens.insert(key, issued);
    }

    /// Verifies a B2B token issued by this sandbox (`Bearer ` prefix optional; signature and
    /// expiry by `jwt`), not revoked, and returns its client.
    pub fn check_token(&self, bearer: &str) -> Result<String> {
        let invalid = |why: &str| Error::new(ErrorKind::SignatureInvalid, why.to_owned());
        let (kind, revoked, client) = self.issued(bearer, |t| (t.kind, t.revoked, t.client.clone()))?;
        if kind != Kind::B2b {
            return Err(invalid("the token is a B2B2C (customer) token, not a B2B token"));
        }
        match revoked {
            Some(Revoked::Revoked) => Err(invalid("the token was revoked")),
            Some(Revoked::Superseded) => Err(invalid("a newer token was issued to this client (latest token only)")),
            None => Ok(client),
        }
    }

    /// Verifies a customer (B2B2C) access token this sandbox issued to `client`: signature,
    /// expiry, not revoked (an unbinding revokes its binding's tokens). Returns its binding.
    pub fn check_customer_token(&self, bearer: &str, client: &str) -> std::result::Result<String, String> {
        let looked_up = self.issued(bearer, |t| (t.kind, t.client == client, t.revoked, t.binding.clone()));
        let (kind, ours, revoked, binding) = looked_up.map_err(|e| e.message().to_owned())?;
        if kind != Kind::CustomerAccess {
            return Err("the token is a B2B token, not the customer's B2B2C token".into());
        }
        if !ours {
            return Err("the token was issued to another client".into());
        }
        match (revoked, binding) {
            (Some(Revoked::Revoked), _) => Err("the token was revoked (the account was unbound)".into()),
            (Some(Revoked::Superseded), _) => Err("a newer customer token was issued (latest token only)".into()),
            (None, binding) => binding.ok_or_else(|| "the token belongs to no account".into()),
        }
    }

    /// `read` of the record of a JWT this sandbox issued (signature and expiry by `jwt`, the
    /// record by its `jti` and client), or why there is none.
    fn issued<R>(&self, bearer: &str, read: impl FnOnce(&Issued) -> R) -> Result<R> {
        let claims = jwt::verify_rs256(bearer, &self.token_public, Utc::now().timestamp())?;
        let unknown = || Error::new(ErrorKind::SignatureInvalid, "the token was not issued by this sandbox, or was forgotten");
        let jti = claims.get("jti").and_then(|v| v.as_str()).ok_or_else(unknown)?;
        let tokens = lock(&self.tokens);
        let issued = tokens.get(jti).ok_or_else(unknown)?;
        if claims.get("clientId").and_then(|v| v.as_str()) != Some(issued.client.as_str()) {
            return Err(unknown());
        }
        Ok(read(issued))
    }

    /// Revokes the customer's live tokens (access and refresh) of `binding`; returns how many.
    pub fn revoke_customer(&self, client: &str, binding: &str) -> usize {
        let mut n = 0;
        for t in lock(&self.tokens).values_mut() {
            if t.client == client && t.kind != Kind::B2b && t.revoked.is_none() && t.binding.as_deref() == Some(binding) {
                t.revoked = Some(Revoked::Revoked);
                n += 1;
            }
        }
        n
    }

    /// Checks a refresh token this sandbox issued to `client`: known, live, not revoked.
    pub fn check_refresh_token(&self, token: &str, client: &str) -> std::result::Result<String, &'static str> {
        let tokens = lock(&self.tokens);
        let issued = match tokens.get(&refresh_key(token)) {
            Some(t) if t.kind == Kind::CustomerRefresh => t,
            _ => return Err("it was not issued by this sandbox, or was forgotten"),
        };
        if issued.client != client {
            return Err("it was issued to another client");
        }
        if issued.exp <= Utc::now().timestamp() {
            return Err("it expired");
        }
        if issued.revoked.is_some() {
            return Err("it was revoked");
        }
        issued.binding.clone().ok_or("it belongs to no account")
    }

    /// Revokes every live credential issued to `client`; returns how many.
    pub fn revoke_tokens(&self, client: &str) -> usize {
        let now = Utc::now().timestamp();
        let mut n = 0;
        for t in lock(&self.tokens).values_mut().filter(|t| t.client == client && t.revoked.is_none() && t.exp > now) {
            t.revoked = Some(Revoked::Revoked);
            n += 1;
        }
        n
    }

    /// A [`super::notify::NotifyConfig`] for notifying the merchant at `merchant_url` as DOKU:
    /// signed with this sandbox's DOKU key and the secret registered for `client_id`.
    pub fn notify_config(&self, merchant_url: &str, client_id: &str) -> Result<super::notify::NotifyConfig> {
        let secret = self
            .secret(client_id)
            .ok_or_else(|| Error::invalid(format!("notify: no client secret registered for {client_id} (--secret {client_id}=…)")))?;
        Ok(super::notify::NotifyConfig::new(merchant_url, client_id, secret, self.doku_key()?))
    }

    /// The client secret registered for `client`.
    pub fn secret(&self, client: &str) -> Option<&str> {
        self.secrets.get(client).map(|s| s.as_str())
    }

    /// Records an `X-EXTERNAL-ID` for `client` on the WIB day of `now`; false for a duplicate.
    pub fn record_external_id(&self, client: &str, id: &str, now: DateTime<Utc>) -> bool {
        lock(&self.external_ids).record(client, id, business_day(now), MAX_EXTERNAL_IDS)
    }

    pub fn token_public_key_pem(&self) -> String {
        self.token_key.public_key_pem().unwrap_or_default()
    }

    /// DOKU's private key (for notifications), made on first use when not persisted.
    pub fn doku_key(&self) -> Result<Arc<PrivateKey>> {
        self.doku_key.get_or_try_init(|| generate_key().map(Arc::new)).cloned()
    }

    pub fn accepted_connections(&self) -> u64 {
        self.next_id.load(Ordering::SeqCst)
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

/// Refresh tokens are remembered by digest: the map never holds a usable token.
fn refresh_key(token: &str) -> String {
    hex(&openssl::sha::sha256(token.as_bytes()))
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
