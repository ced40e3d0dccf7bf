//! Events for the application's log: one process-wide sink (`doku_set_log_callback` in C),
//! events with a stable snake_case name and a message for humans.
//!
//! - **Cost.** [`emit`] loads one atomic (the sink's minimum level, 0 when there is no sink) and
//!   returns when the event is filtered; its message is built only after that check. The cached
//!   token path emits nothing.
//! - **Threads.** The sink runs on the thread that raised the event, the thread inside the
//!   library's call, never on a helper thread (ureq's resolver thread raises none: events are
//!   raised only by the caller's own code path, and delivered from a thread-local queue).
//! - **No lock held.** Inside the token cache's refresh (and the store's lock) events are
//!   queued ([`deferred`]) and delivered when the refresh has landed and every lock is released,
//!   still before the call returns. So a sink may call back into the library, even for the same
//!   client: it never waits for its own refresh. Events raised by calls the sink makes are
//!   dropped, so a sink cannot recurse.
//! - **Replacing the sink** ([`set_sink`]) waits until no other thread is still running the
//!   previous one: after it returns, the previous sink is never called again and whatever it
//!   holds (a C `user_data`) may be freed. Called from inside the sink, it does not wait for its
//!   own thread. Deliveries in progress are counted per fork generation: in a forked child only
//!   the child's own threads are waited for (the parent's other threads do not exist there).
//! - **No secret.** Messages are built only from numbers, durations, event kinds, status codes
//!   and the library's own error messages, which never hold a key, passphrase, secret, password
//!   or token (tests/secrets.rs captures the log lines and checks). They pass through
//!   [`crate::text::printable`] on the way out.
//! - A sink that panics is contained: the event is lost, the library's call goes on.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::fork;

/// How much an event matters; a sink receives events at its minimum level and above (lower
/// numbers). The numbers are those of the C API's `DokuLogLevel`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A call failed because of it: a token could not be fetched.
    Error = 1,
    /// Calls still succeed, but something needs a look: a stale token served, a refused token,
    /// a drifting clock, an unreachable store.
    Warn = 2,
    /// Normal operation worth a line: a token fetched or read from the store.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
}

impl Level {
    /// The level of a C `DokuLogLevel` number.
    pub fn from_number(n: i64) -> Option<Level> {
        [Level::Error, Level::Warn, Level::Info, Level::Debug].into_iter().find(|l| *l as i64 == n)
    }
}

/// The event names: stable, snake_case, documented in `doku_set_log_callback`'s comment.
pub mod event {
    /// A token was fetched from DOKU by this process (Info).
    pub const TOKEN_FETCHED: &str = "token_fetched";
    /// A token request to DOKU failed (Error).
    pub const TOKEN_FETCH_FAILED: &str = "token_fetch_failed";
    /// A token was read from the shared token store instead of fetched (Info).
    pub const TOKEN_FROM_STORE: &str = "token_from_store";
    /// The shared token store failed; calls fetch for themselves meanwhile (Warn).
    pub const STORE_UNAVAILABLE: &str = "store_unavailable";
    /// The shared token store works again after a failure (Info).
    pub const STORE_RECOVERED: &str = "store_recovered";
    /// A refresh failed and the still-valid token is served in its place (Warn).
    pub const STALE_TOKEN_SERVED: &str = "stale_token_served";
    /// DOKU refused a request's token as invalid (401xx01); it is dropped and the request
    /// retried once with a new one (Warn).
    pub const INVALID_TOKEN_RETRY: &str = "invalid_token_retry";
    /// DOKU's clock differs from this machine's by over a minute on a refused request (Warn).
    pub const CLOCK_SKEW: &str = "clock_skew";
    /// A money-moving call (payment, refund) was sent and its answer lost: DOKU may have acted
    /// on it, and the caller must ask its status (Error).
    pub const OUTCOME_UNKNOWN: &str = "outcome_unknown";

    /// Every event with the level it is raised at: the one table the documentation is checked
    /// against (tests/docs.rs), and that `emit` checks in debug builds.
    pub const ALL: &[(&str, Level)] = &[
        (TOKEN_FETCHED, Level::Info),
        (TOKEN_FETCH_FAILED, Level::Error),
        (TOKEN_FROM_STORE, Level::Info),
        (STORE_UNAVAILABLE, Level::Warn),
        (STORE_RECOVERED, Level::Info),
        (STALE_TOKEN_SERVED, Level::Warn),
        (INVALID_TOKEN_RETRY, Level::Warn),
        (CLOCK_SKEW, Level::Warn),
        (OUTCOME_UNKNOWN, Level::Error),
    ];

    use super::Level;
}

/// Where events go: (level, event name, message).
pub type SinkFn = dyn Fn(Level, &'static str, &str) + Send + Sync;

struct Sink {
    call: Box<SinkFn>,
    min_level: Level,
    /// Deliveries in progress: the fork generation in the high 32 bits, the count in the low 32.
    /// A count of another generation is a parent's: 0 in this process.
    running: AtomicU64,
}

impl Sink {
    fn generation() -> u64 {
        fork::generation() & 0xffff_ffff
    }

    /// Deliveries in progress in this process.
    fn running(&self) -> u64 {
        let v = self.running.load(Ordering::SeqCst);
        if v >> 32 == Self::generation() {
            v & 0xffff_ffff
        } else {
            0
        }
    }

    /// Adds `delta` (1 or -1) to this generation's count (a parent's count starts again at 0).
    fn count(&self, delta: i64) {
        let generation = Self::generation();
        let _ = self.running.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            let n = if v >> 32 == generation { v & 0xffff_ffff } else { 0 };
            Some(generation << 32 | n.saturating_add_signed(delta) & 0xffff_ffff)
        });
    }
}

/// The sink's minimum level as a number; 0 when there is none. Stored after the sink when one
/// is installed, before it is removed.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: ArcSwapOption<Sink> = ArcSwapOption::const_empty();

/// Most events a call can queue before they are delivered; more are dropped.
const MAX_QUEUED: usize = 64;
/// Longest message, in characters; longer ones are cut.
const MAX_MESSAGE: usize = 2000;

struct Pending {
    level: Level,
    event: &'static str,
    message: String,
}

thread_local! {
    /// Nested `deferred` scopes on this thread: while above 0, events are queued.
    static DEFERRING: Cell<u32> = const { Cell::new(0) };
    /// The sink this thread is running (its address; 0 for none): events it raises meanwhile
    /// are dropped, and replacing that sink does not wait for this thread.
    static IN_SINK: Cell<usize> = const { Cell::new(0) };
    static QUEUE: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// Whether an event at `level` would reach a sink: one relaxed atomic load.
#[inline]
pub fn enabled(level: Level) -> bool {
    level as u8 <= MIN_LEVEL.load(Ordering::Relaxed)
}

/// Raises an event. `message` runs only if a sink wants events at `level`; it must build its
/// text from numbers, durations, kinds, status codes and the library's own error messages,
/// never from a key, passphrase, secret, password or token.
#[inline]
pub fn emit(level: Level, event: &'static str, message: impl FnOnce() -> String) {
    if enabled(level) {
        raise(level, event, message());
    }
}

#[cold]
#[inline(never)]
fn raise(level: Level, event: &'static str, message: String) {
    debug_assert!(
        event::ALL.iter().all(|(name, at)| *name != event || *at == level),
        "{event} is raised at {level:?}, not at the level of log::event::ALL"
    );
    if IN_SINK.try_with(Cell::get).unwrap_or(1) != 0 {
        return;
    }
    let message = crate::text::printable(&message, MAX_MESSAGE);
    if DEFERRING.try_with(Cell::get).unwrap_or(0) > 0 {
        let _ = QUEUE.try_with(|q| {
            let mut q = q.borrow_mut();
            if q.len() < MAX_QUEUED {
                q.push(Pending { level, event, message });
            }
        });
        return;
    }
    deliver(level, event, &message);
}

/// Runs the sink on this thread, with panics contained and re-entrant events dropped.
fn deliver(level: Level, event: &'static str, message: &str) {
    let Some(sink) = SINK.load_full() else { return };
    if level > sink.min_level {
        return;
    }
    struct Leave<'a>(&'a Sink);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            self.0.count(-1);
            let _ = IN_SINK.try_with(|s| s.set(0));
        }
    }
    let address = Arc::as_ptr(&sink) as usize;
    if IN_SINK.try_with(|s| s.get() != 0 || s.replace(address) != 0).unwrap_or(true) {
        return;
    }
    sink.count(1);
    let _leave = Leave(&sink);
    // Counted first, then checked: a set_sink that swapped it out before the count either sees
    // this delivery counted (and waits) or is seen here (and the sink is not called).
    if SINK.load().as_ref().map_or(std::ptr::null(), Arc::as_ptr) != Arc::as_ptr(&sink) {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (sink.call)(level, event, message)));
}

/// Runs `body` with the events it raises on this thread queued, then delivers them (in order),
/// once the outermost such scope ends. For code that holds a lock, or a refresh others wait on,
/// while raising events. The scope ends normally even when `body` panics; the queue is dropped then.
pub fn deferred<R>(body: impl FnOnce() -> R) -> R {
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            let outermost = DEFERRING
                .try_with(|d| {
                    d.set(d.get().saturating_sub(1));
                    d.get() == 0
                })
                .unwrap_or(false);
            if !outermost {
                return;
            }
            let queued = QUEUE.try_with(|q| std::mem::take(&mut *q.borrow_mut())).unwrap_or_default();
            if std::thread::panicking() {
                return;
            }
            for p in queued {
                deliver(p.level, p.event, &p.message);
            }
        }
    }
    let _ = DEFERRING.try_with(|d| d.set(d.get() + 1));
    let _scope = Scope;
    body()
}

/// Installs `sink` for events at `min_level` and above, or removes the sink (`None`), process-
/// wide. Returns once no other thread runs the previous sink (see the module comment).
pub fn set_sink(sink: Option<Box<SinkFn>>, min_level: Level) {
    let new = sink.map(|call| Arc::new(Sink { call, min_level, running: AtomicU64::new(0) }));
    if new.is_none() {
        MIN_LEVEL.store(0, Ordering::Relaxed);
    }
    let old = SINK.swap(new);
    // The level of whichever sink is installed when this settles: two threads setting sinks at
    // once must not leave one sink with the other's level.
    let address = |s: &Option<Arc<Sink>>| s.as_ref().map_or(std::ptr::null(), Arc::as_ptr);
    loop {
        let current = SINK.load_full();
        MIN_LEVEL.store(current.as_ref().map_or(0, |s| s.min_level as u8), Ordering::Relaxed);
        if address(&SINK.load_full()) == address(&current) {
            break;
        }
    }
    let Some(old) = old else { return };
    // This thread's own delivery, if it is inside that sink now, cannot end before this returns.
    let own = u64::from(IN_SINK.try_with(Cell::get).unwrap_or(0) == Arc::as_ptr(&old) as usize);
    while old.running() > own {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Whether a sink is installed (at any level).
pub fn has_sink() -> bool {
    MIN_LEVEL.load(Ordering::Relaxed) != 0
}

/// Seconds and milliseconds, for messages: "1.234 ms", "2.5 s".
pub fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.3} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

// The store's events, for the token store code to call (in the thread inside the library's
// call, as every event).

/// `token_from_store` (Info): a fresh token was read from the shared token store instead of
/// fetched. `expires_in` is the token's time left; `waited`, how long this call waited for
/// another process's fetch (zero when the entry was already fresh).
pub fn token_from_store(store: &str, expires_in: Duration, waited: Duration) {
    emit(Level::Info, event::TOKEN_FROM_STORE, || {
        let wait = if waited.is_zero() { String::new() } else { format!(" after waiting {} for another process's fetch", duration(waited)) };
        format!("token read from the token store {store}{wait}, expiresIn {} s", expires_in.as_secs())
    });
}

/// `store_unavailable` (Warn): the shared token store failed (`why`: the library's own
/// message, e.g. "token store: the lock was held past token_store_timeout_ms"); the call fetches
/// for itself. Raise it when the store goes from working to failing, not at every failure:
/// [`crate::token::cache::TokenSlot::record_store_error`] does both.
pub fn store_unavailable(why: &str) {
    emit(Level::Warn, event::STORE_UNAVAILABLE, || format!("token store unavailable, fetching without it: {why}"));
}

/// `store_recovered` (Info): the shared token store works again after [`store_unavailable`].
/// [`crate::token::cache::TokenSlot::record_store_hit`] and `record_store_ok` raise it.
pub fn store_recovered() {
    emit(Level::Info, event::STORE_RECOVERED, || "token store available again: tokens are shared again".to_owned());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Tests that install a sink run one at a time (the sink is process-wide).
    pub(crate) static SINK_TESTS: Mutex<()> = Mutex::new(());

    pub(crate) type Lines = Arc<Mutex<Vec<(Level, String, String)>>>;

    /// Installs a sink that records every event of this thread; removed when the guard drops.
    pub(crate) fn capture() -> (std::sync::MutexGuard<'static, ()>, Lines) {
        let guard = SINK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let lines: Lines = Arc::default();
        let l = lines.clone();
        let me = std::thread::current().id();
        set_sink(
            Some(Box::new(move |level, event, message| {
                if std::thread::current().id() == me {
                    l.lock().unwrap().push((level, event.to_owned(), message.to_owned()));
                }
            })),
            Level::Debug,
        );
        (guard, lines)
    }

    #[test]
    fn levels_filter_and_messages_are_built_only_when_wanted() {
        let (_g, lines) = capture();
        set_sink(None, Level::Debug);
        let built = Cell::new(0);
        emit(Level::Error, "x", || {
            built.set(built.get() + 1);
            "no sink".into()
        });
        assert_eq!(built.get(), 0, "no sink: the message is not built");
        let (l, me) = (lines.clone(), std::thread::current().id());
        set_sink(
            Some(Box::new(move |level, event, message| {
                if std::thread::current().id() == me {
                    l.lock().unwrap().push((level, event.into(), message.into()));
                }
            })),
            Level::Warn,
        );
        emit(Level::Info, "info", || {
            built.set(built.get() + 1);
            "filtered".into()
        });
        assert_eq!(built.get(), 0, "below the minimum level: not built");
        emit(Level::Warn, "warn", || "kept\nline\u{202e}".into());
        emit(Level::Error, "error", || "kept too".into());
        set_sink(None, Level::Debug);
        emit(Level::Error, "after", || "removed".into());
        let got = lines.lock().unwrap().clone();
        assert_eq!(
            got,
            [(Level::Warn, "warn".into(), "kept line ".into()), (Level::Error, "error".into(), "kept too".into())],
            "controls and bidi marks become spaces"
        );
        assert_eq!(Level::from_number(3), Some(Level::Info));
        assert_eq!((Level::from_number(0), Level::from_number(5)), (None, None));
    }

    #[test]
    fn deferred_events_wait_for_the_outermost_scope() {
        let (_g, lines) = capture();
        let count = || lines.lock().unwrap().len();
        deferred(|| {
            emit(Level::Info, "a", || "1".into());
            deferred(|| emit(Level::Info, "b", || "2".into()));
            assert_eq!(count(), 0, "held until the outermost scope ends");
        });
        assert_eq!(lines.lock().unwrap().iter().map(|l| l.1.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // A panic inside drops the queue and leaves the thread in a clean state.
        let _ = std::panic::catch_unwind(|| {
            deferred(|| {
                emit(Level::Info, "lost", || "3".into());
                panic!("boom");
            })
        });
        emit(Level::Info, "c", || "4".into());
        assert_eq!(lines.lock().unwrap().iter().map(|l| l.1.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        set_sink(None, Level::Debug);
    }

    #[test]
    fn a_sink_that_emits_or_panics_is_contained() {
        let _g = SINK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (c, me) = (calls.clone(), std::thread::current().id());
        set_sink(
            Some(Box::new(move |_, event, _| {
                if std::thread::current().id() != me {
                    return;
                }
                c.lock().unwrap().push(event);
                // Re-entrant: dropped, not recursed into.
                emit(Level::Error, "inner", || "x".into());
                if event == "panics" {
                    panic!("sink panic");
                }
            })),
            Level::Debug,
        );
        emit(Level::Error, "outer", || "x".into());
        emit(Level::Error, "panics", || "x".into());
        emit(Level::Error, "after", || "x".into());
        set_sink(None, Level::Debug);
        assert_eq!(*calls.lock().unwrap(), ["outer", "panics", "after"]);
    }

    #[test]
    fn replacing_the_sink_waits_for_it_on_other_threads() {
        let _g = SINK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let running = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = running.clone();
        set_sink(
            Some(Box::new(move |_, event, _| {
                if event != "slow" {
                    return;
                }
                r.store(true, Ordering::SeqCst);
                let _ = entered_tx.send(());
                std::thread::sleep(Duration::from_millis(300));
                r.store(false, Ordering::SeqCst);
            })),
            Level::Debug,
        );
        let other = std::thread::spawn(|| emit(Level::Error, "slow", || "x".into()));
        entered_rx.recv().unwrap();
        let started = std::time::Instant::now();
        set_sink(None, Level::Debug);
        assert!(!running.load(Ordering::SeqCst), "set_sink returned while the old sink still ran");
        assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
        other.join().unwrap();

        // From inside the sink itself: it does not wait for its own thread.
        let replaced = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = replaced.clone();
        set_sink(
            Some(Box::new(move |_, event, _| {
                if event != "self" {
                    return;
                }
                set_sink(None, Level::Debug);
                r.store(true, Ordering::SeqCst);
            })),
            Level::Debug,
        );
        emit(Level::Error, "self", || "x".into());
        assert!(replaced.load(Ordering::SeqCst) && !has_sink());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_micros(1234)), "1.234 ms");
        assert_eq!(duration(Duration::from_millis(2500)), "2.500 s");
    }
}
