//! `fork()` without crossed answers. A child process inherits the parent's memory: its pooled
//! connections (sockets shared with the parent and every sibling), and any refresh the parent
//! had in flight. The child must use none of them.
//!
//! - A `pthread_atfork` child handler bumps a generation counter. State that must not cross a
//!   fork (HTTP agents, single-flight refreshes) records the generation it was made in, and is
//!   abandoned, unused, when the current one differs. Cached tokens and parsed keys do cross:
//!   they are plain data, valid in the child.
//! - The prepare handler takes the process-wide registry locks, and both sides release them
//!   after the fork, so a child never starts with a registry lock held by a thread that does not
//!   exist in it. Those locks are held for microseconds, never across I/O.
//! - It also waits for the library's OpenSSL work in progress ([`openssl_work`]: loading a
//!   trust store takes ~20 ms, parsing a key ~0.5 ms, an RSA signature ~0.2 ms). OpenSSL 3
//!   does not release its locks in a child (global ones, and per-key ones such as a key's
//!   Montgomery context), so a child forked in the middle of such work would wait forever for a
//!   lock held by a thread it does not have. OpenSSL work inside a request's TLS exchange is
//!   not covered: fork() must not wait on the network.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{MutexGuard, Once, RwLock, RwLockWriteGuard};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static WATCH: Once = Once::new();

/// The current fork generation: how many `fork()`s separate this process from the one that
/// first used the library. One relaxed load once the handlers are installed.
#[inline]
pub fn generation() -> u64 {
    watch();
    GENERATION.load(Ordering::Relaxed)
}

/// Initializes OpenSSL and installs the fork handlers, once per process, before any
/// fork-sensitive state exists. The C library does it when it is loaded (`ffi::os`), before a
/// host thread can be inside it: OpenSSL's own initialization (config file, providers) takes
/// its global locks, and a child forked during it would wait for them forever.
#[inline]
pub fn watch() {
    WATCH.call_once(|| {
        #[cfg(feature = "vendored-openssl")]
        crate::ffi::os::openssl_without_config();
        openssl::init();
        crate::ffi::os::install_fork_handlers();
    });
}

static OPENSSL_WORK: RwLock<()> = RwLock::new(());

/// Runs OpenSSL work that takes OpenSSL's locks (loading a trust store, parsing a key,
/// signing, verifying): fork() waits for it, so that no child inherits those locks held.
pub(crate) fn openssl_work<R>(work: impl FnOnce() -> R) -> R {
    watch();
    let _shared = OPENSSL_WORK.read().unwrap_or_else(|p| p.into_inner());
    work()
}

/// OpenSSL work and every registry lock, in one fixed order; `prepare` takes them all.
struct Held {
    _openssl_work: RwLockWriteGuard<'static, ()>,
    _tokens: MutexGuard<'static, Option<crate::token::cache::Registry>>,
    _agents: MutexGuard<'static, Option<crate::http::AgentRegistry>>,
    _trusts: MutexGuard<'static, Vec<std::sync::Arc<crate::http::Trust>>>,
    _keys: crate::key::CacheGuards,
    _store: MutexGuard<'static, Option<crate::token::store::Local>>,
    _seen: MutexGuard<'static, crate::merchant::notification::Seen>,
}

thread_local! {
    /// From `prepare` to `parent`/`child`, which run on the forking thread (in the child, the
    /// only thread); no allocation happens in the child.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Before `fork()`: waits for every registry lock.
pub(crate) fn prepare() {
    let held = Held {
        _openssl_work: OPENSSL_WORK.write().unwrap_or_else(|p| p.into_inner()),
        _tokens: crate::token::cache::registry(),
        _agents: crate::http::registries::agents(),
        _trusts: crate::http::registries::trusts(),
        _keys: crate::key::lock_caches(),
        _store: crate::token::store::local_lock(),
        _seen: crate::merchant::notification::seen_lock(),
    };
    let _ = HELD.try_with(|h| *h.borrow_mut() = Some(held));
}

/// After `fork()`, in the parent: releases the registries.
pub(crate) fn parent() {
    let _ = HELD.try_with(|h| h.borrow_mut().take());
}

/// After `fork()`, in the child: a new generation, then the registries are released.
pub(crate) fn child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    let _ = HELD.try_with(|h| h.borrow_mut().take());
}
