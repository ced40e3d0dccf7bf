//! The shared token store (`token_store`): where processes share one token per (base URL,
//! client id, key), so that a pool of workers, or a fleet of hosts, makes one token request per
//! window, not one per process. Behind the in-process cache: the cached read never touches it;
//! it is consulted only when a refresh is due.
//!
//! - `"memory"` (the default): no store, each process fetches for itself.
//! - `"file:/dir"`: one host ([`file`]).
//! - `"redis://…"`, `"rediss://…"`: a fleet ([`redis`]).
//!
//! A refresh reads the entry first; if it is missing or due, the process takes the entry's lock,
//! reads again (another process may have just fetched), and only then fetches and writes the
//! entry. Others wait for the holder's token, each at most half its own time to its deadline,
//! then fetch for themselves.
//!
//! Entries are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the merchant's
//! private key, with the entry's name as associated data: whoever can read the store but does
//! not hold the key learns nothing usable, and an entry that does not open (forged, truncated,
//! written under another key or for another entry) is ignored and replaced. A token expires at
//! the earlier of the expiry sealed in it (the writer's clock) and the bound the store itself
//! vouches for (the file's time, the Redis key's TTL), so a writer whose clock runs ahead
//! cannot make readers serve an expired token.
//!
//! The store never causes a failure: a store that cannot be reached, read, locked or written is
//! passed by, and the process fetches for itself as with "memory". A token DOKU refused is never
//! taken from the store again by this process.

mod file;
mod redis;

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openssl::pkey_ctx::{HkdfMode, PkeyCtx};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use zeroize::Zeroizing;

pub use self::file::FileStore;
pub use self::redis::RedisStore;
use super::Token;
use crate::clock::Stamp;
use crate::error::{Error, Result};
use crate::http::Trust;
use crate::key::PrivateKey;
use crate::signature::hex;

/// The default of `token_store_timeout_ms`: the most a store operation may add to a call.
pub const DEFAULT_TIMEOUT_MS: u64 = 250;
const VERSION: u8 = 1;
const NONCE: usize = 12;
const TAG: usize = 16;
/// An entry is a token of at most a few KiB; anything bigger is not ours.
const MAX_ENTRY: usize = 64 * 1024;
/// How often a process waiting for another's fetch looks at the lock: first after `POLL`, then
/// backing off to `MAX_POLL` (a fleet of waiters must not hammer a Redis).
const POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(25);
/// Tokens DOKU refused, remembered per process (by digest) so that the store cannot hand one
/// back while another process holds the lock and the entry cannot be removed.
const REFUSED_KEPT: usize = 64;

/// Where tokens are shared, as the config's `token_store` names it.
#[derive(Debug)]
pub enum TokenStore {
    Memory,
    File(FileStore),
    Redis(RedisStore),
}

/// What `TokenStore::from_config` reads from the config besides `token_store` itself.
pub struct StoreSettings<'a> {
    pub timeout: Duration,
    /// `redis_password_file`.
    pub password_file: Option<&'a Path>,
    /// Whom `rediss://` trusts: the client's (the system store plus `ca_file`).
    pub trust: &'a Arc<Trust>,
}

impl TokenStore {
    /// `value` is the config's `token_store`; `None` is "memory".
    pub fn from_config(value: Option<&str>, settings: &StoreSettings<'_>) -> Result<TokenStore> {
        if settings.password_file.is_some() && !value.is_some_and(redis::is_redis_url) {
            return Err(Error::invalid("config: redis_password_file is for a redis:// or rediss:// token_store"));
        }
        match value {
            None | Some("memory") => Ok(TokenStore::Memory),
            Some(v) if v.starts_with("file:") => FileStore::open(Path::new(&v["file:".len()..]), settings.timeout).map(TokenStore::File),
            Some(v) if redis::is_redis_url(v) => RedisStore::open(v, settings).map(TokenStore::Redis),
            Some(_) => Err(Error::invalid(
                "config: token_store must be \"memory\", \"file:/absolute/dir\", \"redis://[user:password@]host:port[/db]\" or \"rediss://…\"",
            )),
        }
    }

    /// The entry of one cache key: its name is a digest of the key's parts, its sealing key
    /// derived from the merchant's private key. None for "memory", and when the sealing key
    /// cannot be derived: no sharing then, never a failure of the store's making.
    pub fn entry(&self, base_url: &str, client_id: &str, key: &PrivateKey) -> Option<Entry<'_>> {
        let backend: &dyn Backend = match self {
            TokenStore::Memory => return None,
            TokenStore::File(store) => store,
            TokenStore::Redis(store) => store,
        };
        let id = format!("{base_url}\n{client_id}\n{}", hex(key.fingerprint()));
        let name = hex(&openssl::sha::sha256(id.as_bytes())[..16]);
        let key = crate::fork::openssl_work(|| seal_key(key, &name)).ok()?;
        Some(Entry { backend, name, key })
    }
}

/// A sealed entry as a store holds it, and the latest expiry the store vouches for by its own
/// clock (the file's time plus the lifetime; now plus the Redis key's TTL).
pub(crate) struct Stored {
    sealed: Vec<u8>,
    bound: Bound,
}

/// What a store vouches for about an entry's expiry.
#[derive(Clone, Copy)]
enum Bound {
    /// Written at this time (the kernel's clock): expired a lifetime after it.
    WrittenAt(SystemTime),
    /// Expires by this time (the store counts down the time left).
    ExpiresBy(SystemTime),
}

/// A failure of the store itself (unreachable, refused, not answering, garbage): passed by.
pub(crate) type StoreResult<T> = std::result::Result<T, String>;

/// What the backends do; [`Entry`] runs the protocol above them.
trait Backend: Send + Sync {
    /// Where the store is, for messages and the log: never a password.
    fn location(&self) -> String;

    fn describe(&self) -> String {
        format!("token store {}", self.location())
    }

    /// One use of the store (a refresh, a removal): a Redis session holds one connection for
    /// its duration and none after, so nothing crosses a fork.
    fn session(&self) -> Box<dyn Session + '_>;
}

trait Session {
    /// No store I/O past `until` (None: only the store's own budget limits it).
    fn limit(&mut self, until: Option<Instant>);
    fn load(&mut self, name: &str) -> StoreResult<Option<Stored>>;
    /// Takes the entry's lock for a fetch that ends by `until`; `Ok(false)` when another process
    /// (or another thread of this one) holds it. Released when the session ends.
    fn lock(&mut self, name: &str, until: Instant) -> StoreResult<bool>;
    /// Whether the lock's holder is past its own fetch deadline: stuck, not fetching.
    fn holder_is_late(&mut self, name: &str) -> bool;
    /// Writes the entry; `ttl` is the time left until the token's expiry.
    fn save(&mut self, name: &str, sealed: &[u8], ttl: Duration) -> StoreResult<()>;
    /// Removes the entry if it still holds exactly `sealed`; bounded by the store's timeout.
    fn remove_if_same(&mut self, name: &str, sealed: &[u8]) -> StoreResult<()>;
}

/// One cache key's place in the store, with the key that seals it.
pub struct Entry<'a> {
    backend: &'a dyn Backend,
    name: String,
    key: Zeroizing<[u8; 32]>,
}

/// What a refresh (or a removal) through the store did, for the client's stats and log.
#[derive(Debug, Default)]
pub struct Report {
    /// Where the store is (never a password).
    pub store: String,
    /// The token came from the store: another process fetched it.
    pub from_store: bool,
    /// How long this call waited for another process's fetch before reading its token.
    pub waited: Duration,
    /// The first failure of the store in this call; the token was fetched without it.
    pub store_error: Option<String>,
}

impl Entry<'_> {
    /// A refresh through the store: the stored token if it is fresh; else, under the lock, the
    /// token another process stored meanwhile, or `fetch`'s, stored for the others. Waiting for
    /// another process's fetch takes at most half of the time to `deadline`; after that, or
    /// when the store fails, this process fetches for itself.
    pub fn refresh(&self, margin: Duration, deadline: Instant, fetch: impl FnOnce() -> Result<Token>) -> (Result<Token>, Report) {
        let mut report = Report { store: self.backend.location(), ..Report::default() };
        let mut session = self.backend.session();
        // Before the fetch, the store (its I/O and waiting for another's fetch) takes at most
        // half the call's time: the fetch keeps the rest.
        let now = Instant::now();
        let wait_until = now + deadline.saturating_duration_since(now) / 2;
        session.limit(Some(wait_until));
        let locked = self.take_lock(&mut *session, margin, deadline, wait_until);
        let held = match locked {
            Ok(Locked::Fresh(token, waited)) => {
                report.from_store = true;
                report.waited = if waited { now.elapsed() } else { Duration::ZERO };
                return (Ok(token), report);
            }
            Ok(Locked::Held) => true,
            Ok(Locked::Busy) => false,
            Err(e) => {
                report.store_error = Some(e);
                false
            }
        };
        let token = fetch();
        session.limit(None);
        if let (true, Ok(token)) = (held, &token) {
            // A store that cannot be written only loses the sharing.
            let written = crate::fork::openssl_work(|| self.seal(token)).map_err(|e| e.message().to_owned());
            let ttl = token.expires_at.duration_since(SystemTime::now()).unwrap_or_default();
            if let Err(e) = written.and_then(|sealed| session.save(&self.name, &sealed, ttl)) {
                report.store_error.get_or_insert(e);
            }
        }
        drop(session);
        (token, report)
    }

    fn take_lock(&self, session: &mut dyn Session, margin: Duration, deadline: Instant, wait_until: Instant) -> StoreResult<Locked> {
        if let Some(token) = self.read_fresh(session, margin)? {
            return Ok(Locked::Fresh(token, false));
        }
        // The holder's deadline seen past twice in a row (a new holder may not have written its
        // own yet): it is stuck, not fetching; waiting longer only adds to this call.
        let mut stale = 0;
        let mut pause = POLL;
        loop {
            if session.lock(&self.name, deadline)? {
                // Another process may have stored a token while this one waited.
                return Ok(match self.read_fresh(session, margin)? {
                    Some(token) => Locked::Fresh(token, true),
                    None => Locked::Held,
                });
            }
            if Instant::now() >= wait_until || stale >= 2 {
                return Ok(Locked::Busy);
            }
            std::thread::sleep(pause.min(wait_until.saturating_duration_since(Instant::now())));
            pause = (pause * 2).min(MAX_POLL);
            if let Some(token) = self.read_fresh(session, margin)? {
                return Ok(Locked::Fresh(token, true));
            }
            stale = if session.holder_is_late(&self.name) { stale + 1 } else { 0 };
        }
    }

    /// Removes the entry if it still holds `used` (after DOKU refused it), so a process that
    /// saw an older token cannot remove a newer one.
    pub fn remove_if(&self, used: &str) -> Report {
        // Remembered first: if the entry cannot be removed now, this process still never takes
        // the refused token from the store again.
        remember_refused(used);
        let mut report = Report { store: self.backend.location(), ..Report::default() };
        let mut session = self.backend.session();
        let removed = session.load(&self.name).and_then(|stored| match stored {
            Some(stored) if self.open(&stored).is_some_and(|t| *t.access_token == used) => session.remove_if_same(&self.name, &stored.sealed),
            _ => Ok(()),
        });
        report.store_error = removed.err();
        report
    }

    /// The stored token, if there is one that opens, was not refused and is not due for refresh.
    fn read_fresh(&self, session: &mut dyn Session, margin: Duration) -> StoreResult<Option<Token>> {
        let Some(stored) = session.load(&self.name)? else { return Ok(None) };
        let token = self.open(&stored).filter(|t| !refused_before(&t.access_token));
        Ok(token.filter(|t| t.is_fresh(margin, Stamp::now())))
    }

    /// VERSION | nonce | AES-256-GCM(expires_at, lifetime, token type, token) | tag.
    fn seal(&self, token: &Token) -> Result<Vec<u8>> {
        let fail = |e: openssl::error::ErrorStack| Error::new(crate::error::ErrorKind::Crypto, crate::error::openssl_reason(&e));
        let expires_at = token.expires_at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let kind = token.token_type.as_bytes();
        let mut plain = Zeroizing::new(Vec::with_capacity(17 + kind.len() + token.access_token.len()));
        plain.extend_from_slice(&expires_at.to_be_bytes());
        plain.extend_from_slice(&token.lifetime.as_secs().to_be_bytes());
        plain.push(u8::try_from(kind.len()).unwrap_or(u8::MAX));
        plain.extend_from_slice(&kind[..kind.len().min(255)]);
        plain.extend_from_slice(token.access_token.as_bytes());
        let mut nonce = [0u8; NONCE];
        openssl::rand::rand_bytes(&mut nonce).map_err(fail)?;
        let mut tag = [0u8; TAG];
        let cipher = encrypt_aead(Cipher::aes_256_gcm(), &*self.key, Some(&nonce), self.name.as_bytes(), &plain, &mut tag).map_err(fail)?;
        Ok([&[VERSION][..], &nonce, &cipher, &tag].concat())
    }

    /// The token in a stored entry, if it opens and has not expired by the sealed expiry nor by
    /// the store's bound.
    fn open(&self, stored: &Stored) -> Option<Token> {
        crate::fork::openssl_work(|| self.open_sealed(&stored.sealed, stored.bound))
    }

    fn open_sealed(&self, sealed: &[u8], bound: Bound) -> Option<Token> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE + TAG + 17 {
            return None;
        }
        let (nonce, rest) = rest.split_at(NONCE);
        let (cipher, tag) = rest.split_at(rest.len() - TAG);
        let plain = Zeroizing::new(decrypt_aead(Cipher::aes_256_gcm(), &*self.key, Some(nonce), self.name.as_bytes(), cipher, tag).ok()?);
        let expires_at = UNIX_EPOCH + Duration::from_secs(u64::from_be_bytes(plain[..8].try_into().ok()?));
        let lifetime = Duration::from_secs(u64::from_be_bytes(plain[8..16].try_into().ok()?));
        let kind_len = usize::from(plain[16]);
        let kind = std::str::from_utf8(plain.get(17..17 + kind_len)?).ok()?;
        let access = std::str::from_utf8(plain.get(17 + kind_len..)?).ok()?;
        let expires_at = expires_at.min(match bound {
            Bound::WrittenAt(written) => written + lifetime,
            Bound::ExpiresBy(by) => by,
        });
        Token::restored(Zeroizing::new(access.to_owned()), kind.to_owned(), lifetime, expires_at, Stamp::now(), SystemTime::now())
    }
}

enum Locked {
    /// Another process stored a fresh token: before this one looked, or (true) while it waited.
    Fresh(Token, bool),
    /// This process holds the lock: it fetches and stores.
    Held,
    /// Locked by another for longer than this caller waits.
    Busy,
}

/// HKDF-SHA256 of the private key's DER, with the entry's name as info.
fn seal_key(key: &PrivateKey, name: &str) -> Result<Zeroizing<[u8; 32]>> {
    let fail = |e: openssl::error::ErrorStack| Error::key(format!("token store key: {}", crate::error::openssl_reason(&e)));
    let der = Zeroizing::new(key.pkey().private_key_to_der().map_err(fail)?);
    let mut ctx = PkeyCtx::new_id(openssl::pkey::Id::HKDF).map_err(fail)?;
    ctx.derive_init().map_err(fail)?;
    ctx.set_hkdf_mode(HkdfMode::EXTRACT_THEN_EXPAND).map_err(fail)?;
    ctx.set_hkdf_md(openssl::md::Md::sha256()).map_err(fail)?;
    ctx.set_hkdf_salt(b"doku-snap token store v1").map_err(fail)?;
    ctx.set_hkdf_key(&der).map_err(fail)?;
    ctx.add_hkdf_info(name.as_bytes()).map_err(fail)?;
    let mut out = Zeroizing::new([0u8; 32]);
    ctx.derive(Some(&mut *out)).map_err(fail)?;
    Ok(out)
}

/// Process-wide store state: the file entries this process holds the lock of, and the digests
/// of tokens DOKU refused. Reset in a fork child (a new generation):
/// the parent's locks are not the child's.
pub(crate) struct Local {
    generation: u64,
    locked: HashSet<String>,
    refused: VecDeque<[u8; 32]>,
}

static LOCAL: Mutex<Option<Local>> = Mutex::new(None);

/// The raw lock, for `crate::fork` to hold across a fork.
pub(crate) fn local_lock() -> MutexGuard<'static, Option<Local>> {
    LOCAL.lock().unwrap_or_else(|p| p.into_inner())
}

struct LocalGuard(MutexGuard<'static, Option<Local>>);

impl std::ops::Deref for LocalGuard {
    type Target = Local;
    fn deref(&self) -> &Local {
        self.0.as_ref().expect("set by local()")
    }
}

impl std::ops::DerefMut for LocalGuard {
    fn deref_mut(&mut self) -> &mut Local {
        self.0.as_mut().expect("set by local()")
    }
}

/// The process-wide state; its lock is never held across I/O (fork() waits for it).
fn local() -> LocalGuard {
    let generation = crate::fork::generation();
    let mut guard = local_lock();
    if guard.as_ref().is_none_or(|l| l.generation != generation) {
        *guard = Some(Local { generation, locked: HashSet::new(), refused: VecDeque::new() });
    }
    LocalGuard(guard)
}

fn token_digest(token: &str) -> [u8; 32] {
    openssl::sha::sha256(token.as_bytes())
}

fn remember_refused(token: &str) {
    let digest = token_digest(token);
    let mut local = local();
    if !local.refused.contains(&digest) {
        if local.refused.len() >= REFUSED_KEPT {
            local.refused.pop_front();
        }
        local.refused.push_back(digest);
    }
}

fn refused_before(token: &str) -> bool {
    let digest = token_digest(token);
    local().refused.contains(&digest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::token::Grant;

    pub fn token(access: &str, secs: u64) -> Token {
        let grant = Grant { access_token: Zeroizing::new(access.into()), token_type: "Bearer".into(), expires_in: secs };
        Token::new(grant, Stamp::now(), SystemTime::now())
    }

    pub const MARGIN: Duration = Duration::from_secs(60);

    pub fn settings(timeout_ms: u64) -> StoreSettings<'static> {
        static TRUST: once_cell::sync::Lazy<Arc<Trust>> = once_cell::sync::Lazy::new(Trust::system);
        StoreSettings { timeout: Duration::from_millis(timeout_ms), password_file: None, trust: &TRUST }
    }

    #[test]
    fn sealed_entries_open_only_under_their_key_and_name() {
        let store = TokenStore::Redis(RedisStore::open("redis://127.0.0.1:1", &settings(250)).unwrap());
        let (key, _) = crate::key::tests::test_keys();
        let entry = store.entry("https://api.doku.com", "MCH", &key).unwrap();
        let sealed = entry.seal(&token("tok-1", 900)).unwrap();
        let now = || Bound::WrittenAt(SystemTime::now());
        let opened = entry.open_sealed(&sealed, now()).unwrap();
        assert_eq!((opened.access_token.as_str(), opened.token_type.as_str(), opened.lifetime), ("tok-1", "Bearer", Duration::from_secs(900)));
        assert!(!sealed.windows(5).any(|w| w == b"tok-1"), "the token is not stored in clear");
        // Another entry's name, a flipped byte, a cut: none opens.
        let other = store.entry("https://api.doku.com", "MCH-2", &key).unwrap();
        assert!(other.open_sealed(&sealed, now()).is_none());
        for i in [0, 5, sealed.len() / 2, sealed.len() - 1] {
            let mut forged = sealed.clone();
            forged[i] ^= 1;
            assert!(entry.open_sealed(&forged, now()).is_none(), "byte {i}");
        }
        assert!(entry.open_sealed(&sealed[..sealed.len() - 1], now()).is_none() && entry.open_sealed(&[], now()).is_none());
        // A writer's clock ahead of the store's: the store's bound limits expiry.
        let early = entry.open_sealed(&sealed, Bound::WrittenAt(SystemTime::now() - Duration::from_secs(850))).unwrap();
        assert!(early.expires_at <= SystemTime::now() + Duration::from_secs(51), "bounded by the file's time");
        assert!(entry.open_sealed(&sealed, Bound::WrittenAt(SystemTime::now() - Duration::from_secs(901))).is_none(), "expired by the file's time");
        let ttl = entry.open_sealed(&sealed, Bound::ExpiresBy(SystemTime::now() + Duration::from_secs(100))).unwrap();
        assert!(ttl.expires_at <= SystemTime::now() + Duration::from_secs(100), "bounded by the key's TTL");
        assert!(entry.open_sealed(&sealed, Bound::ExpiresBy(SystemTime::now() - Duration::from_secs(1))).is_none());
        // An expired token is not restored.
        assert!(entry.open_sealed(&entry.seal(&token("old", 0)).unwrap(), now()).is_none());
    }

    #[test]
    fn store_values_are_checked() {
        let s = settings(250);
        let e = TokenStore::from_config(Some("disk"), &s).unwrap_err();
        assert!(e.message().contains("token_store must be \"memory\", \"file:/absolute/dir\", \"redis://"), "{e}");
        let e = TokenStore::from_config(Some("file:relative/dir"), &s).unwrap_err();
        assert!(e.message().contains("is not an absolute path"), "{e}");
        let file = Path::new("/nonexistent/password");
        let e = TokenStore::from_config(None, &StoreSettings { password_file: Some(file), ..settings(250) }).unwrap_err();
        assert_eq!(e.message(), "config: redis_password_file is for a redis:// or rediss:// token_store");
        assert!(matches!(TokenStore::from_config(Some("memory"), &s).unwrap(), TokenStore::Memory));
        assert!(TokenStore::Memory.entry("u", "c", &crate::key::tests::test_keys().0).is_none());
    }
}
