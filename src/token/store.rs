//! The shared token store (`token_store`): where processes on one host share one token per
//! (base URL, client id, key), so that a pool of workers makes one token request per window,
//! not one per worker. Behind the in-process cache: the cached read never touches it; it is
//! consulted only when a refresh is due.
//!
//! - `"memory"` (the default): no store, each process fetches for itself.
//! - `"file:/dir"`: one encrypted file per cache key in `dir` (created 0700; refused if others
//!   may write to it). A refresh reads the entry first; if it is missing or due, the process
//!   takes an exclusive lock (a POSIX record lock) on the entry's lock file, reads again (another process may have
//!   just fetched), and only then fetches and writes the entry (temporary file + rename). A lock
//!   holder that dies releases the lock with its file descriptor.
//!
//! Entries are sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the merchant's
//! private key, with the entry's name as associated data: whoever can read the directory but
//! does not hold the key learns nothing usable, and an entry that does not open (forged,
//! truncated, written under another key or for another entry) is ignored and replaced.
//!
//! Record locks are per process: two threads of one process may both fetch for one entry (only
//! when their transports differ, so their cache slots' single flight does not join them).
//!
//! The store never causes a failure: a store that cannot be read, locked or written is passed
//! by, and the process fetches for itself as with "memory". A process waits for another's fetch
//! at most until that fetch's own deadline (written in the lock file) and half its own time; a
//! token DOKU refused is never taken from the store again by this process.
//!
//! Files in the directory are opened without following symlinks, temporary files are created
//! new, and the directory and every ancestor must be owned by this user or root and not
//! writable by others (unless sticky, as /tmp): no one else can plant a link that makes the
//! library write elsewhere. The directory is checked again (same inode, same mode) at each use.

use std::collections::{HashSet, VecDeque};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openssl::pkey_ctx::{HkdfMode, PkeyCtx};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use zeroize::Zeroizing;

use super::Token;
use crate::clock::Stamp;
use crate::error::{Error, Result};
use crate::key::PrivateKey;
use crate::signature::hex;
use crate::text::printable;

/// The default of `token_store_timeout_ms`: the most a store operation may add to a call.
pub const DEFAULT_TIMEOUT_MS: u64 = 250;
const VERSION: u8 = 1;
const NONCE: usize = 12;
const TAG: usize = 16;
/// An entry is a token of at most a few KiB; anything bigger is not ours.
const MAX_ENTRY: u64 = 64 * 1024;
/// How often a process waiting for another's fetch looks at the lock.
const POLL: Duration = Duration::from_millis(5);
/// Tokens DOKU refused, remembered per process (by digest) so that the store cannot hand one
/// back while another process holds the lock and the entry cannot be removed.
const REFUSED_KEPT: usize = 64;
/// Files in the store are never followed through a symlink.
const NOFOLLOW: i32 = libc::O_NOFOLLOW;

/// Where tokens are shared, as the config's `token_store` names it.
#[derive(Debug)]
pub enum TokenStore {
    Memory,
    File(FileStore),
}

impl TokenStore {
    /// `value` is the config's `token_store`; `None` is "memory".
    pub fn from_config(value: Option<&str>, timeout: Duration) -> Result<TokenStore> {
        match value {
            None | Some("memory") => Ok(TokenStore::Memory),
            Some(v) if v.starts_with("file:") => FileStore::open(Path::new(&v["file:".len()..]), timeout).map(TokenStore::File),
            Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") => {
                Err(Error::invalid("config: token_store: redis:// is not supported yet; use \"memory\" or \"file:/dir\""))
            }
            Some(_) => Err(Error::invalid("config: token_store must be \"memory\" or \"file:/absolute/dir\"")),
        }
    }
}

/// Tokens in a directory, one sealed file per cache key. Thread-safe and fork-safe: it holds
/// no open file between calls.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    timeout: Duration,
    /// The directory as checked: (device, inode).
    identity: (u64, u64),
}

/// One cache key's place in the store, with the key that seals it.
pub struct Entry<'a> {
    store: &'a FileStore,
    name: String,
    key: Zeroizing<[u8; 32]>,
}

impl FileStore {
    /// The directory, created (0700) if missing; refused unless it is this user's, writable
    /// by no one else, in ancestors no one else may change.
    pub fn open(dir: &Path, timeout: Duration) -> Result<FileStore> {
        let shown = printable(&dir.to_string_lossy(), 200);
        let refuse = |why: String| Error::invalid(format!("config: token_store: \"{shown}\" {why}"));
        if !dir.is_absolute() {
            return Err(refuse("is not an absolute path".into()));
        }
        DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| refuse(format!("cannot be created: {e}")))?;
        let dir = dir.canonicalize().map_err(|e| refuse(format!("cannot be resolved: {e}")))?;
        let meta = std::fs::symlink_metadata(&dir).map_err(|e| refuse(e.to_string()))?;
        let uid = crate::ffi::os::effective_uid();
        if !is_private_dir(&meta) {
            return Err(refuse(format!(
                "must be a directory of this user (uid {uid}) with mode 0700; it is uid {}, mode {:o}",
                meta.uid(),
                meta.mode() & 0o7777
            )));
        }
        for ancestor in dir.ancestors().skip(1) {
            let m = std::fs::symlink_metadata(ancestor).map_err(|e| refuse(e.to_string()))?;
            let sticky = m.mode() & 0o1000 != 0;
            if (m.uid() != uid && m.uid() != 0) || (m.mode() & 0o022 != 0 && !sticky) {
                return Err(refuse(format!(
                    "is inside {}, which another user may change (uid {}, mode {:o})",
                    printable(&ancestor.to_string_lossy(), 200),
                    m.uid(),
                    m.mode() & 0o7777
                )));
            }
        }
        Ok(FileStore { identity: (meta.dev(), meta.ino()), dir, timeout })
    }

    /// The directory is still the one checked: not replaced (a rename, a symlink) and not
    /// opened to others since.
    fn still_safe(&self) -> bool {
        std::fs::symlink_metadata(&self.dir).is_ok_and(|m| is_private_dir(&m) && (m.dev(), m.ino()) == self.identity)
    }

    /// The entry of one cache key: its file name is a digest of the key's parts, its sealing
    /// key derived from the merchant's private key.
    pub fn entry(&self, base_url: &str, client_id: &str, key: &PrivateKey) -> Result<Entry<'_>> {
        let id = format!("{base_url}\n{client_id}\n{}", hex(key.fingerprint()));
        let name = hex(&openssl::sha::sha256(id.as_bytes())[..16]);
        let key = crate::fork::openssl_work(|| seal_key(key, &name))?;
        Ok(Entry { store: self, name, key })
    }
}

/// A directory (not a link to one) of this user that no one else may read or write.
fn is_private_dir(m: &std::fs::Metadata) -> bool {
    m.is_dir() && m.uid() == crate::ffi::os::effective_uid() && m.mode() & 0o077 == 0
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

impl Entry<'_> {
    fn path(&self, suffix: &str) -> PathBuf {
        self.store.dir.join(format!("{}.{suffix}", self.name))
    }

    /// The stored token, if there is one that opens and is not due for refresh.
    pub fn read_fresh(&self, margin: Duration) -> Option<Token> {
        let token = self.read()?;
        token.is_fresh(margin, Stamp::now()).then_some(token)
    }

    /// The stored token, if it opens, has not expired and was not refused by DOKU.
    fn read(&self) -> Option<Token> {
        if !self.store.still_safe() {
            return None;
        }
        self.stored().filter(|token| !refused_before(&token.access_token))
    }

    /// The token in the entry's file, if it opens and has not expired.
    fn stored(&self) -> Option<Token> {
        let path = self.path("token");
        let written = std::fs::symlink_metadata(&path).ok()?.modified().ok()?;
        let sealed = crate::options::read_file_with(&path, MAX_ENTRY, NOFOLLOW).ok()?;
        crate::fork::openssl_work(|| self.open(&sealed, written))
    }

    /// A refresh through the store: the stored token if it is fresh; else, under the lock, the
    /// token another process stored meanwhile, or `fetch`'s, stored for the others. Waiting for
    /// another process's fetch takes at most half of the time to `deadline`; after that, or
    /// when the store fails, this process fetches for itself.
    pub fn refresh(&self, margin: Duration, deadline: Instant, fetch: impl FnOnce() -> Result<Token>) -> Result<Token> {
        if let Some(token) = self.read_fresh(margin) {
            return Ok(token);
        }
        let now = Instant::now();
        let wait_until = now + deadline.saturating_duration_since(now) / 2;
        let lock = match self.lock(wait_until, margin) {
            Locked::Fresh(token) => return Ok(token),
            Locked::Held(lock) => {
                // Waiters stop waiting for this fetch once its deadline has passed.
                let until = SystemTime::now() + deadline.saturating_duration_since(Instant::now());
                let ms = until.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
                let _ = lock.file().set_len(0).and_then(|()| lock.file().write_all_at(ms.to_string().as_bytes(), 0));
                Some(lock)
            }
            Locked::Unavailable => None,
        };
        let token = fetch()?;
        if lock.is_some() {
            // Best effort: a store that cannot be written only loses the sharing.
            let _ = self.write(&token);
        }
        drop(lock);
        Ok(token)
    }

    /// Removes the entry if it still holds `used` (after DOKU refused it), under the lock, so a
    /// process that saw an older token cannot remove a newer one.
    pub fn remove_if(&self, used: &str) {
        // Remembered first: if the entry cannot be removed now, this process still never takes
        // the refused token from the store again.
        remember_refused(used);
        if !self.store.still_safe() {
            return;
        }
        let deadline = Instant::now() + self.store.timeout;
        if let Some(_lock) = self.try_lock_until(deadline) {
            if self.stored().is_some_and(|t| *t.access_token == used) {
                let _ = std::fs::remove_file(self.path("token"));
            }
        }
    }

    fn lock(&self, wait_until: Instant, margin: Duration) -> Locked {
        if !self.store.still_safe() {
            return Locked::Unavailable;
        }
        // The holder's deadline seen past twice in a row (a new holder may not have written its
        // own yet): it is stuck, not fetching; waiting longer only adds to this call.
        let mut stale = 0;
        loop {
            match self.try_lock() {
                Ok(Some(lock)) => {
                    // Another process may have stored a token while this one waited.
                    return match self.read_fresh(margin) {
                        Some(token) => Locked::Fresh(token),
                        None => Locked::Held(lock),
                    };
                }
                Ok(None) if Instant::now() < wait_until && stale < 2 => {
                    if let Some(token) = self.read_fresh(margin) {
                        return Locked::Fresh(token);
                    }
                    stale = if self.holder_is_late() { stale + 1 } else { 0 };
                    std::thread::sleep(POLL.min(wait_until.saturating_duration_since(Instant::now())));
                }
                _ => return Locked::Unavailable,
            }
        }
    }

    /// Whether the lock holder's fetch deadline, as it wrote it in the lock file, has passed.
    fn holder_is_late(&self) -> bool {
        let Ok(text) = crate::options::read_file_with(&self.path("lock"), 64, NOFOLLOW) else { return false };
        let deadline = std::str::from_utf8(&text).ok().and_then(|t| t.trim().parse::<u64>().ok());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        deadline.is_some_and(|d| now > u128::from(d))
    }

    /// The entry's lock, for this process; `None` when another process, or another thread of
    /// this one, holds it. Record locks do not exclude the threads of one process, and closing
    /// any descriptor of the lock file drops the process's lock: the process-wide set of held
    /// entries does both.
    fn try_lock(&self) -> std::io::Result<Option<EntryLock>> {
        // Claimed in the set first, and the set's lock released before any I/O (fork() waits
        // for it).
        if !local().locked.insert(self.name.clone()) {
            return Ok(None);
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(self.path("lock"))
            .and_then(|file| match file.metadata()?.is_file() {
                true => Ok(file),
                false => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")),
            });
        match opened.and_then(|file| Ok(crate::ffi::os::try_lock_exclusive(&file)?.then_some(file))) {
            Ok(Some(file)) => Ok(Some(EntryLock { file: Some(file), name: self.name.clone() })),
            other => {
                local().locked.remove(&self.name);
                other.map(|_| None)
            }
        }
    }

    fn try_lock_until(&self, deadline: Instant) -> Option<EntryLock> {
        loop {
            match self.try_lock() {
                Ok(Some(lock)) => return Some(lock),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => return None,
            }
        }
    }

    /// Seals `token` and replaces the entry atomically (mode 0600).
    fn write(&self, token: &Token) -> Result<()> {
        let sealed = crate::fork::openssl_work(|| self.seal(token))?;
        // Unique per process and write: two writers never share a temporary file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.path(&format!("{}.{n}.tmp", std::process::id()));
        let io = |e: std::io::Error| Error::invalid(format!("token store: {e}"));
        // Created new, never through a link: a name planted in the directory is not written.
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(NOFOLLOW | libc::O_CLOEXEC).open(&tmp).map_err(io)?;
        let written = file.write_all(&sealed);
        drop(file);
        // rename() replaces a link at the destination, it does not follow it.
        written.and_then(|()| std::fs::rename(&tmp, self.path("token"))).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
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

    /// The token in a sealed entry written at `written`, if it opens and has not expired. Its
    /// expiry is bounded by `written` plus the lifetime too (the file's time is the kernel's
    /// clock, not the writer's): a writer whose own clock runs ahead cannot make readers serve
    /// an expired token.
    fn open(&self, sealed: &[u8], written: SystemTime) -> Option<Token> {
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
        let expires_at = expires_at.min(written + lifetime);
        Token::restored(Zeroizing::new(access.to_owned()), kind.to_owned(), lifetime, expires_at, Stamp::now(), SystemTime::now())
    }
}

enum Locked {
    /// Another process stored a fresh token while this one waited.
    Fresh(Token),
    /// This process holds the lock: it fetches and stores.
    Held(EntryLock),
    /// Locked by another for too long, or the lock file cannot be opened.
    Unavailable,
}

/// An entry's lock held by this process: the lock file's descriptor, closed before the entry
/// leaves the process-wide set (so that no other thread opens and closes the file meanwhile).
struct EntryLock {
    file: Option<File>,
    name: String,
}

impl EntryLock {
    fn file(&self) -> &File {
        self.file.as_ref().expect("open until dropped")
    }
}

impl Drop for EntryLock {
    fn drop(&mut self) {
        // Closing the file releases the record lock; only then may other threads take it.
        drop(self.file.take());
        local().locked.remove(&self.name);
    }
}

/// Process-wide store state: the entries this process holds the lock of, and the digests of
/// tokens DOKU refused. Reset in a fork child (a new generation): the parent's locks are not
/// the child's.
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
mod tests {
    use super::*;
    use crate::key::tests::test_keys;
    use crate::token::Grant;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("doku-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn token(access: &str, secs: u64) -> Token {
        let grant = Grant { access_token: Zeroizing::new(access.into()), token_type: "Bearer".into(), expires_in: secs };
        Token::new(grant, Stamp::now(), SystemTime::now())
    }

    const MARGIN: Duration = Duration::from_secs(60);

    #[test]
    fn sealed_entries_open_only_under_their_key_and_name() {
        let dir = temp_dir("seal");
        let store = FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        let (key, _) = test_keys();
        let entry = store.entry("https://api.doku.com", "MCH", &key).unwrap();
        let sealed = entry.seal(&token("tok-1", 900)).unwrap();
        let opened = entry.open(&sealed, SystemTime::now()).unwrap();
        assert_eq!((opened.access_token.as_str(), opened.token_type.as_str(), opened.lifetime), ("tok-1", "Bearer", Duration::from_secs(900)));
        assert!(!sealed.windows(5).any(|w| w == b"tok-1"), "the token is not stored in clear");
        // Another entry's name, a flipped byte, a cut: none opens.
        let other = store.entry("https://api.doku.com", "MCH-2", &key).unwrap();
        assert!(other.open(&sealed, SystemTime::now()).is_none());
        for i in [0, 5, sealed.len() / 2, sealed.len() - 1] {
            let mut forged = sealed.clone();
            forged[i] ^= 1;
            assert!(entry.open(&forged, SystemTime::now()).is_none(), "byte {i}");
        }
        assert!(entry.open(&sealed[..sealed.len() - 1], SystemTime::now()).is_none() && entry.open(&[], SystemTime::now()).is_none());
        // A writer's clock ahead of the kernel's: the file's time plus the lifetime bounds expiry.
        let early = entry.open(&sealed, SystemTime::now() - Duration::from_secs(850)).unwrap();
        assert!(early.expires_at <= SystemTime::now() + Duration::from_secs(51), "bounded by the file's time");
        assert!(entry.open(&sealed, SystemTime::now() - Duration::from_secs(901)).is_none(), "expired by the file's time");
        // An expired token is not restored.
        assert!(entry.open(&entry.seal(&token("old", 0)).unwrap(), SystemTime::now()).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_fetch_for_every_process_that_shares_the_directory() {
        let dir = temp_dir("share");
        let (key, _) = test_keys();
        let fetches = AtomicUsize::new(0);
        let fetch = |access: &str| {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(token(access, 900))
        };
        let deadline = || Instant::now() + Duration::from_secs(2);
        // Two stores on one directory stand for two processes.
        let (a, b) = (FileStore::open(&dir, Duration::from_millis(250)).unwrap(), FileStore::open(&dir, Duration::from_millis(250)).unwrap());
        let (ea, eb) = (a.entry("u", "MCH", &key).unwrap(), b.entry("u", "MCH", &key).unwrap());
        assert_eq!(ea.refresh(MARGIN, deadline(), || fetch("first")).unwrap().access_token.as_str(), "first");
        assert_eq!(eb.refresh(MARGIN, deadline(), || fetch("second")).unwrap().access_token.as_str(), "first");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let mode = std::fs::metadata(dir.join(format!("{}.token", ea.name))).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A forged entry is ignored and replaced.
        std::fs::write(dir.join(format!("{}.token", ea.name)), b"\x01forged entry bytes, not sealed with our key......").unwrap();
        assert_eq!(eb.refresh(MARGIN, deadline(), || fetch("third")).unwrap().access_token.as_str(), "third");
        assert_eq!(ea.read_fresh(MARGIN).unwrap().access_token.as_str(), "third");
        // A token due for refresh is not taken from the store.
        let due = Token::restored(
            Zeroizing::new("due".into()),
            "Bearer".into(),
            Duration::from_secs(900),
            SystemTime::now() + Duration::from_secs(30),
            Stamp::now(),
            SystemTime::now(),
        );
        ea.write(&due.unwrap()).unwrap();
        assert_eq!(eb.refresh(MARGIN, deadline(), || fetch("fourth")).unwrap().access_token.as_str(), "fourth");
        // Only the token that was refused is removed.
        eb.remove_if("due");
        assert!(ea.read_fresh(MARGIN).is_some());
        eb.remove_if("fourth");
        assert!(ea.read_fresh(MARGIN).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_held_lock_is_waited_for_half_the_time_then_passed_by() {
        let dir = temp_dir("lock");
        let (key, _) = test_keys();
        let store = FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        let entry = store.entry("u", "MCH", &key).unwrap();
        // Another process holds the lock (record locks do not conflict within one process).
        let mut holder = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            ])
            .arg(entry.path("lock"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        assert!(entry.try_lock().unwrap().is_none(), "held by the other process");
        let start = Instant::now();
        let t = entry.refresh(MARGIN, start + Duration::from_millis(400), || Ok(token("own", 900))).unwrap();
        let waited = start.elapsed();
        assert_eq!(t.access_token.as_str(), "own");
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_millis(390), "{waited:?}");
        // The holder's token, stored while others wait, is what they get.
        let other = store.entry("u", "MCH", &key).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| other.refresh(MARGIN, Instant::now() + Duration::from_secs(5), || Ok(token("waiter", 900))));
            std::thread::sleep(Duration::from_millis(50));
            entry.write(&token("holder", 900)).unwrap();
            assert_eq!(waiter.join().unwrap().unwrap().access_token.as_str(), "holder");
        });
        // A holder that dies releases the lock.
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert!(entry.try_lock().unwrap().is_some(), "released by the holder's death");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_others_may_write_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "created 0700");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = FileStore::open(&dir, Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("must be a directory of this user") && e.message().contains("mode 777"), "{e}");
        let e = TokenStore::from_config(Some("file:relative/dir"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("is not an absolute path"), "{e}");
        let e = TokenStore::from_config(Some("redis://127.0.0.1:6379"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("redis:// is not supported yet"), "{e}");
        let e = TokenStore::from_config(Some("disk"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("must be \"memory\" or \"file:/absolute/dir\""), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Another thread of this process never takes (nor, by closing its descriptor, releases)
    /// the lock this process holds.
    #[test]
    fn threads_of_one_process_take_turns() {
        let dir = temp_dir("threads");
        let (key, _) = test_keys();
        let store = FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        let (a, b) = (store.entry("u", "MCH", &key).unwrap(), store.entry("u", "MCH", &key).unwrap());
        let held = a.try_lock().unwrap().unwrap();
        std::thread::scope(|s| assert!(s.spawn(|| b.try_lock().unwrap().is_none()).join().unwrap()));
        assert!(b.try_lock().unwrap().is_none(), "not twice in one process");
        drop(held);
        assert!(b.try_lock().unwrap().is_some(), "free once dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A holder past its own deadline (stopped, frozen) is not waited for; a refused token is
    /// not taken from the store again, even while the entry cannot be removed.
    #[test]
    fn a_late_holder_and_a_refused_token_are_passed_by() {
        let dir = temp_dir("late");
        let (key, _) = test_keys();
        let store = FileStore::open(&dir, Duration::from_millis(100)).unwrap();
        let entry = store.entry("u", "MCH-LATE", &key).unwrap();
        entry.write(&token("refused-by-doku", 900)).unwrap();
        let held = entry.try_lock().unwrap().unwrap();
        held.file().write_all_at(b"1000", 0).unwrap(); // a deadline in 1970
        let other = FileStore::open(&dir, Duration::from_millis(100)).unwrap();
        let other = other.entry("u", "MCH-LATE", &key).unwrap();
        // Another thread stands for another process here: the set says "held", the file says late.
        let start = Instant::now();
        other.remove_if("refused-by-doku");
        assert!(start.elapsed() >= Duration::from_millis(100), "the lock was waited for, up to token_store_timeout_ms");
        assert!(dir.join(format!("{}.token", entry.name)).exists(), "not removed: the lock is held");
        assert!(other.read_fresh(MARGIN).is_none(), "but never served again here");
        let start = Instant::now();
        let t = other.refresh(MARGIN, start + Duration::from_secs(10), || Ok(token("new", 900))).unwrap();
        assert_eq!(t.access_token.as_str(), "new");
        assert!(start.elapsed() < Duration::from_millis(500), "a late holder is not waited for: {:?}", start.elapsed());
        drop(held);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Names planted in the directory (as links to files elsewhere) are never written through;
    /// a directory inside one that others may change is refused.
    #[test]
    fn links_in_the_directory_are_not_followed() {
        let dir = temp_dir("links");
        let (key, _) = test_keys();
        let store = FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        let entry = store.entry("u", "MCH-LINK", &key).unwrap();
        let victim = std::env::temp_dir().join(format!("doku-store-victim-{}", std::process::id()));
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(format!("{}.token", entry.name))).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(format!("{}.lock", entry.name))).unwrap();
        for n in 0..4 {
            std::os::unix::fs::symlink(&victim, dir.join(format!("{}.{}.{n}.tmp", entry.name, std::process::id()))).unwrap();
        }
        let t = entry.refresh(MARGIN, Instant::now() + Duration::from_secs(2), || Ok(token("mine", 900))).unwrap();
        assert_eq!(t.access_token.as_str(), "mine");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "nothing written through a link");
        std::fs::remove_file(&victim).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        // A parent that others may write to, without the sticky bit.
        use std::os::unix::fs::PermissionsExt;
        let open = temp_dir("open-parent");
        std::fs::create_dir_all(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = FileStore::open(&open.join("tokens"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("which another user may change"), "{e}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        FileStore::open(&open.join("tokens"), Duration::from_millis(250)).expect("sticky, as /tmp");
        std::fs::remove_dir_all(&open).unwrap();
    }
}
