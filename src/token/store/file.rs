//! `"file:/dir"`: processes on one host share one sealed file per cache key in `dir` (created
//! 0700; refused if others may write to it). The entry's lock is a POSIX record lock on its lock
//! file; a holder that dies releases it with its file descriptor, and a holder writes its fetch
//! deadline into the file, so that waiters stop waiting for one that is stuck (stopped, frozen).
//!
//! Record locks are per process: two threads of one process may both fetch for one entry (only
//! when their transports differ, so their cache slots' single flight does not join them).
//!
//! Files in the directory are opened without following symlinks, temporary files are created
//! new, and the directory and every ancestor must be owned by this user or root and not
//! writable by others (unless sticky, as /tmp): no one else can plant a link that makes the
//! library write elsewhere. The directory is checked again (same inode, same mode) at each use.
//!
//! Thread-safe and fork-safe: it holds no open file between calls.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{local, Backend, Bound, Session, StoreResult, Stored, MAX_ENTRY, POLL};
use crate::error::{Error, Result};
use crate::text::printable;

/// Files in the store are never followed through a symlink.
const NOFOLLOW: i32 = libc::O_NOFOLLOW;

/// Tokens in a directory, one sealed file per cache key.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    timeout: Duration,
    /// The directory as checked: (device, inode).
    identity: (u64, u64),
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
    fn check(&self) -> StoreResult<()> {
        match std::fs::symlink_metadata(&self.dir) {
            Ok(m) if is_private_dir(&m) && (m.dev(), m.ino()) == self.identity => Ok(()),
            _ => Err(format!("{} is no longer the private directory it was", self.describe())),
        }
    }

    fn path(&self, name: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{name}.{suffix}"))
    }

    /// The entry's lock, for this process; `None` when another process, or another thread of
    /// this one, holds it. Record locks do not exclude the threads of one process, and closing
    /// any descriptor of the lock file drops the process's lock: the process-wide set of held
    /// entries does both.
    fn try_lock(&self, name: &str) -> std::io::Result<Option<EntryLock>> {
        // Claimed in the set first, and the set's lock released before any I/O (fork() waits
        // for it).
        if !local().locked.insert(name.to_owned()) {
            return Ok(None);
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(self.path(name, "lock"))
            .and_then(|file| match file.metadata()?.is_file() {
                true => Ok(file),
                false => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")),
            });
        match opened.and_then(|file| Ok(crate::ffi::os::try_lock_exclusive(&file)?.then_some(file))) {
            Ok(Some(file)) => Ok(Some(EntryLock { file: Some(file), name: name.to_owned() })),
            other => {
                local().locked.remove(name);
                other.map(|_| None)
            }
        }
    }

    fn try_lock_until(&self, name: &str, deadline: Instant) -> std::io::Result<Option<EntryLock>> {
        loop {
            match self.try_lock(name)? {
                Some(lock) => return Ok(Some(lock)),
                None if Instant::now() < deadline => std::thread::sleep(POLL),
                None => return Ok(None),
            }
        }
    }

    /// The entry's sealed bytes and the file's time, if there is an entry.
    fn read(&self, name: &str) -> StoreResult<Option<Stored>> {
        let path = self.path(name, "token");
        let written = match std::fs::symlink_metadata(&path) {
            Ok(m) => m.modified().map_err(|e| self.failed(e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failed(e)),
        };
        match crate::options::read_file_with(&path, MAX_ENTRY as u64, NOFOLLOW) {
            Ok(sealed) => Ok(Some(Stored { sealed, bound: Bound::WrittenAt(written) })),
            // Removed between the two looks: no entry now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Seals and replaces the entry atomically (mode 0600).
    fn write(&self, name: &str, sealed: &[u8]) -> std::io::Result<()> {
        // Unique per process and write: two writers never share a temporary file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.path(name, &format!("{}.{n}.tmp", std::process::id()));
        // Created new, never through a link: a name planted in the directory is not written.
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(NOFOLLOW | libc::O_CLOEXEC).open(&tmp)?;
        let written = file.write_all(sealed);
        drop(file);
        // rename() replaces a link at the destination, it does not follow it.
        written.and_then(|()| std::fs::rename(&tmp, self.path(name, "token"))).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    fn failed(&self, e: std::io::Error) -> String {
        format!("{}: {e}", self.describe())
    }
}

impl Backend for FileStore {
    fn location(&self) -> String {
        printable(&self.dir.to_string_lossy(), 200)
    }

    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(FileSession { store: self, lock: None })
    }
}

/// A refresh or a removal: the lock it holds, if any.
struct FileSession<'a> {
    store: &'a FileStore,
    lock: Option<EntryLock>,
}

impl Session for FileSession<'_> {
    /// Local files: their I/O does not wait on anyone but the lock, which `Entry` bounds.
    fn limit(&mut self, _until: Option<Instant>) {}

    fn load(&mut self, name: &str) -> StoreResult<Option<Stored>> {
        self.store.check()?;
        self.store.read(name)
    }

    fn lock(&mut self, name: &str, until: Instant) -> StoreResult<bool> {
        self.store.check()?;
        let Some(lock) = self.store.try_lock(name).map_err(|e| self.store.failed(e))? else { return Ok(false) };
        // Waiters stop waiting for this fetch once its deadline has passed.
        let until = SystemTime::now() + until.saturating_duration_since(Instant::now());
        let ms = until.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let _ = lock.file().set_len(0).and_then(|()| lock.file().write_all_at(ms.to_string().as_bytes(), 0));
        self.lock = Some(lock);
        Ok(true)
    }

    /// Whether the lock holder's fetch deadline, as it wrote it in the lock file, has passed.
    fn holder_is_late(&mut self, name: &str) -> bool {
        let Ok(text) = crate::options::read_file_with(&self.store.path(name, "lock"), 64, NOFOLLOW) else { return false };
        let deadline = std::str::from_utf8(&text).ok().and_then(|t| t.trim().parse::<u64>().ok());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        deadline.is_some_and(|d| now > u128::from(d))
    }

    fn save(&mut self, name: &str, sealed: &[u8], _ttl: Duration) -> StoreResult<()> {
        self.store.check()?;
        self.store.write(name, sealed).map_err(|e| self.store.failed(e))
    }

    /// Under the lock (waited for up to `token_store_timeout_ms`), so that a newer entry written
    /// meanwhile is not removed.
    fn remove_if_same(&mut self, name: &str, sealed: &[u8]) -> StoreResult<()> {
        let deadline = Instant::now() + self.store.timeout;
        let Some(_lock) = self.store.try_lock_until(name, deadline).map_err(|e| self.store.failed(e))? else {
            return Err(format!("{}: the entry stayed locked for {} ms", self.store.describe(), self.store.timeout.as_millis()));
        };
        match self.store.read(name)? {
            Some(stored) if stored.sealed == sealed => std::fs::remove_file(self.store.path(name, "token")).map_err(|e| self.store.failed(e)),
            _ => Ok(()),
        }
    }
}

/// A directory (not a link to one) of this user that no one else may read or write.
fn is_private_dir(m: &std::fs::Metadata) -> bool {
    m.is_dir() && m.uid() == crate::ffi::os::effective_uid() && m.mode() & 0o077 == 0
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

#[cfg(test)]
mod tests {
    use super::super::tests::{settings, token, MARGIN};
    use super::super::{Entry, TokenStore};
    use super::*;
    use crate::key::tests::test_keys;
    use crate::token::Token;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use zeroize::Zeroizing;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("doku-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn store(dir: &Path, timeout_ms: u64) -> TokenStore {
        TokenStore::File(FileStore::open(dir, Duration::from_millis(timeout_ms)).unwrap())
    }

    fn file_store(store: &TokenStore) -> &FileStore {
        match store {
            TokenStore::File(f) => f,
            _ => unreachable!(),
        }
    }

    fn refresh(entry: &Entry<'_>, deadline: Instant, access: &str) -> String {
        entry.refresh(MARGIN, deadline, || Ok(token(access, 900))).0.unwrap().access_token.to_string()
    }

    fn read_fresh(entry: &Entry<'_>) -> Option<Token> {
        entry.read_fresh(&mut *entry.backend.session(), MARGIN).unwrap()
    }

    fn write(store: &TokenStore, entry: &Entry<'_>, token: &Token) {
        file_store(store).write(&entry.name, &entry.seal(token).unwrap()).unwrap();
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
        let (a, b) = (store(&dir, 250), store(&dir, 250));
        let (ea, eb) = (a.entry("u", "MCH", &key).unwrap(), b.entry("u", "MCH", &key).unwrap());
        let (first, report) = ea.refresh(MARGIN, deadline(), || fetch("first"));
        assert_eq!((first.unwrap().access_token.as_str(), report.from_store, report.store_error), ("first", false, None));
        let (second, report) = eb.refresh(MARGIN, deadline(), || fetch("second"));
        assert_eq!((second.unwrap().access_token.as_str(), report.from_store), ("first", true));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let mode = std::fs::metadata(dir.join(format!("{}.token", ea.name))).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A forged entry is ignored and replaced.
        std::fs::write(dir.join(format!("{}.token", ea.name)), b"\x01forged entry bytes, not sealed with our key......").unwrap();
        assert_eq!(refresh(&eb, deadline(), "third"), "third");
        assert_eq!(read_fresh(&ea).unwrap().access_token.as_str(), "third");
        // A token due for refresh is not taken from the store.
        let due = Token::restored(
            Zeroizing::new("due".into()),
            "Bearer".into(),
            Duration::from_secs(900),
            SystemTime::now() + Duration::from_secs(30),
            crate::clock::Stamp::now(),
            SystemTime::now(),
        );
        write(&a, &ea, &due.unwrap());
        assert_eq!(refresh(&eb, deadline(), "fourth"), "fourth");
        // Only the token that was refused is removed.
        assert!(eb.remove_if("due").store_error.is_none());
        assert!(read_fresh(&ea).is_some());
        eb.remove_if("fourth");
        assert!(read_fresh(&ea).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_held_lock_is_waited_for_half_the_time_then_passed_by() {
        let dir = temp_dir("lock");
        let (key, _) = test_keys();
        let store = store(&dir, 250);
        let entry = store.entry("u", "MCH", &key).unwrap();
        let files = file_store(&store);
        // Another process holds the lock (record locks do not conflict within one process).
        let mut holder = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            ])
            .arg(files.path(&entry.name, "lock"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        assert!(files.try_lock(&entry.name).unwrap().is_none(), "held by the other process");
        let start = Instant::now();
        assert_eq!(refresh(&entry, start + Duration::from_millis(400), "own"), "own");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_millis(390), "{waited:?}");
        // The holder's token, stored while others wait, is what they get.
        let other = store.entry("u", "MCH", &key).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| refresh(&other, Instant::now() + Duration::from_secs(5), "waiter"));
            std::thread::sleep(Duration::from_millis(50));
            write(&store, &entry, &token("holder", 900));
            assert_eq!(waiter.join().unwrap(), "holder");
        });
        // A holder that dies releases the lock.
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert!(files.try_lock(&entry.name).unwrap().is_some(), "released by the holder's death");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_others_may_write_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "created 0700");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = TokenStore::from_config(Some(&format!("file:{}", dir.display())), &settings(250)).unwrap_err();
        assert!(e.message().contains("must be a directory of this user") && e.message().contains("mode 777"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Another thread of this process never takes (nor, by closing its descriptor, releases)
    /// the lock this process holds.
    #[test]
    fn threads_of_one_process_take_turns() {
        let dir = temp_dir("threads");
        let files = FileStore::open(&dir, Duration::from_millis(250)).unwrap();
        let held = files.try_lock("entry").unwrap().unwrap();
        std::thread::scope(|s| assert!(s.spawn(|| files.try_lock("entry").unwrap().is_none()).join().unwrap()));
        assert!(files.try_lock("entry").unwrap().is_none(), "not twice in one process");
        drop(held);
        assert!(files.try_lock("entry").unwrap().is_some(), "free once dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A holder past its own deadline (stopped, frozen) is not waited for; a refused token is
    /// not taken from the store again, even while the entry cannot be removed.
    #[test]
    fn a_late_holder_and_a_refused_token_are_passed_by() {
        let dir = temp_dir("late");
        let (key, _) = test_keys();
        let store = store(&dir, 100);
        let entry = store.entry("u", "MCH-LATE", &key).unwrap();
        write(&store, &entry, &token("refused-by-doku", 900));
        let held = file_store(&store).try_lock(&entry.name).unwrap().unwrap();
        held.file().write_all_at(b"1000", 0).unwrap(); // a deadline in 1970
                                                       // Another thread stands for another process here: the set says "held", the file says late.
        let start = Instant::now();
        let report = entry.remove_if("refused-by-doku");
        assert!(start.elapsed() >= Duration::from_millis(100), "the lock was waited for, up to token_store_timeout_ms");
        assert!(report.store_error.as_deref().is_some_and(|e| e.ends_with("the entry stayed locked for 100 ms")), "{report:?}");
        assert!(dir.join(format!("{}.token", entry.name)).exists(), "not removed: the lock is held");
        assert!(read_fresh(&entry).is_none(), "but never served again here");
        let start = Instant::now();
        assert_eq!(refresh(&entry, start + Duration::from_secs(10), "new"), "new");
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
        let store = store(&dir, 250);
        let entry = store.entry("u", "MCH-LINK", &key).unwrap();
        let victim = std::env::temp_dir().join(format!("doku-store-victim-{}", std::process::id()));
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(format!("{}.token", entry.name))).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(format!("{}.lock", entry.name))).unwrap();
        for n in 0..4 {
            std::os::unix::fs::symlink(&victim, dir.join(format!("{}.{}.{n}.tmp", entry.name, std::process::id()))).unwrap();
        }
        let (t, report) = entry.refresh(MARGIN, Instant::now() + Duration::from_secs(2), || Ok(token("mine", 900)));
        assert_eq!(t.unwrap().access_token.as_str(), "mine");
        assert!(report.store_error.is_some_and(|e| e.contains("Too many levels of symbolic links")));
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
