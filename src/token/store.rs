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
//! The store never causes a failure: a store that cannot be read, locked or written within
//! `token_store_timeout_ms` is passed by, and the process fetches for itself as with "memory".

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openssl::hash::{hash, MessageDigest};
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
}

/// One cache key's place in the store, with the key that seals it.
pub struct Entry<'a> {
    store: &'a FileStore,
    name: String,
    key: Zeroizing<[u8; 32]>,
}

impl FileStore {
    /// The directory, created (0700) if missing; refused if it is not a directory of this user
    /// that only this user may write to.
    pub fn open(dir: &Path, timeout: Duration) -> Result<FileStore> {
        let shown = printable(&dir.to_string_lossy(), 200);
        if !dir.is_absolute() {
            return Err(Error::invalid(format!("config: token_store: \"{shown}\" is not an absolute path")));
        }
        if let Err(e) = DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            return Err(Error::invalid(format!("config: token_store: cannot create \"{shown}\": {e}")));
        }
        let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::invalid(format!("config: token_store: \"{shown}\": {e}")))?;
        if !meta.is_dir() {
            return Err(Error::invalid(format!("config: token_store: \"{shown}\" is not a directory")));
        }
        if meta.uid() != crate::ffi::os::effective_uid() || meta.mode() & 0o022 != 0 {
            return Err(Error::invalid(format!(
                "config: token_store: \"{shown}\" may be written by other users (mode {:o}); it must be this user's, mode 0700",
                meta.mode() & 0o7777
            )));
        }
        Ok(FileStore { dir: dir.to_owned(), timeout })
    }

    /// The entry of one cache key: its file name is a digest of the key's parts, its sealing
    /// key derived from the merchant's private key.
    pub fn entry(&self, base_url: &str, client_id: &str, key: &PrivateKey) -> Result<Entry<'_>> {
        let id = format!("{base_url}\n{client_id}\n{}", hex(key.fingerprint()));
        let digest = hash(MessageDigest::sha256(), id.as_bytes()).map_err(|e| Error::key(crate::error::openssl_reason(&e)))?;
        let name = hex(&digest[..16]);
        let key = crate::fork::openssl_work(|| seal_key(key, &name))?;
        Ok(Entry { store: self, name, key })
    }
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
        let sealed = crate::options::read_file(&self.path("token"), MAX_ENTRY).ok()?;
        let token = crate::fork::openssl_work(|| self.open(&sealed))?;
        token.is_fresh(margin, Stamp::now()).then_some(token)
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
            Locked::Held(lock) => Some(lock),
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
        let deadline = Instant::now() + self.store.timeout;
        if let Some(_lock) = try_lock_until(&self.path("lock"), deadline) {
            let stored = crate::options::read_file(&self.path("token"), MAX_ENTRY).ok();
            if stored.and_then(|s| crate::fork::openssl_work(|| self.open(&s))).is_some_and(|t| *t.access_token == used) {
                let _ = std::fs::remove_file(self.path("token"));
            }
        }
    }

    fn lock(&self, wait_until: Instant, margin: Duration) -> Locked {
        let path = self.path("lock");
        loop {
            match try_lock(&path) {
                Ok(Some(file)) => {
                    // Another process may have stored a token while this one waited.
                    return match self.read_fresh(margin) {
                        Some(token) => Locked::Fresh(token),
                        None => Locked::Held(file),
                    };
                }
                Ok(None) if Instant::now() < wait_until => {
                    if let Some(token) = self.read_fresh(margin) {
                        return Locked::Fresh(token);
                    }
                    std::thread::sleep(POLL.min(wait_until.saturating_duration_since(Instant::now())));
                }
                _ => return Locked::Unavailable,
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
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
        file.write_all(&sealed).map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, self.path("token")).map_err(|e| {
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

    /// The token in a sealed entry, if it opens and has not expired.
    fn open(&self, sealed: &[u8]) -> Option<Token> {
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
        Token::restored(Zeroizing::new(access.to_owned()), kind.to_owned(), lifetime, expires_at, Stamp::now(), SystemTime::now())
    }
}

enum Locked {
    /// Another process stored a fresh token while this one waited.
    Fresh(Token),
    /// This process holds the lock: it fetches and stores.
    Held(File),
    /// Locked by another for too long, or the lock file cannot be opened.
    Unavailable,
}

/// The lock file, locked exclusively by this process; `None` when another process holds it.
/// Released when the `File` is dropped (or the process dies); not inherited by fork children.
fn try_lock(path: &Path) -> std::io::Result<Option<File>> {
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)?;
    Ok(crate::ffi::os::try_lock_exclusive(&file)?.then_some(file))
}

fn try_lock_until(path: &Path, deadline: Instant) -> Option<File> {
    loop {
        match try_lock(path) {
            Ok(Some(file)) => return Some(file),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            _ => return None,
        }
    }
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
        let opened = entry.open(&sealed).unwrap();
        assert_eq!((opened.access_token.as_str(), opened.token_type.as_str(), opened.lifetime), ("tok-1", "Bearer", Duration::from_secs(900)));
        assert!(!sealed.windows(5).any(|w| w == b"tok-1"), "the token is not stored in clear");
        // Another entry's name, a flipped byte, a cut: none opens.
        let other = store.entry("https://api.doku.com", "MCH-2", &key).unwrap();
        assert!(other.open(&sealed).is_none());
        for i in [0, 5, sealed.len() / 2, sealed.len() - 1] {
            let mut forged = sealed.clone();
            forged[i] ^= 1;
            assert!(entry.open(&forged).is_none(), "byte {i}");
        }
        assert!(entry.open(&sealed[..sealed.len() - 1]).is_none() && entry.open(&[]).is_none());
        // An expired token is not restored.
        assert!(entry.open(&entry.seal(&token("old", 0)).unwrap()).is_none());
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
        assert!(try_lock(&entry.path("lock")).unwrap().is_none(), "held by the other process");
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
        assert!(try_lock(&entry.path("lock")).unwrap().is_some(), "released by the holder's death");
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
        assert!(e.message().contains("may be written by other users (mode 777)"), "{e}");
        let e = TokenStore::from_config(Some("file:relative/dir"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("is not an absolute path"), "{e}");
        let e = TokenStore::from_config(Some("redis://127.0.0.1:6379"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("redis:// is not supported yet"), "{e}");
        let e = TokenStore::from_config(Some("disk"), Duration::from_millis(250)).unwrap_err();
        assert!(e.message().contains("must be \"memory\" or \"file:/absolute/dir\""), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
