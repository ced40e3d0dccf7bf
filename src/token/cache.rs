//! The token cache: one [`TokenSlot`] per (base URL, client id, key), shared process-wide.
//!
//! - Reads are lock-free: the current token sits in an `ArcSwapOption`, whose `load` touches
//!   only thread-local state, so concurrent readers never serialize on a lock or a shared
//!   counter. A fresh token costs one load and one clock read.
//! - A token due for refresh but still valid keeps being served: the first caller refreshes
//!   (and waits for it), every other caller gets the current token at once. If the refresh fails,
//!   the valid token is still served, the failure is kept for `token_info`, and the next attempt
//!   waits for a backoff (1 s, doubling up to 30 s) instead of hammering a failing endpoint.
//! - Without a valid token, refreshes are single-flight: one caller fetches, the others wait for
//!   its outcome, each at most its own `timeout_ms`. A waiter takes the fetch's error only if
//!   the fetch travelled as it would have (same [`TransportKey`]); otherwise it fetches itself.
//! - Fork-safe: a refresh in flight in a parent process is invisible to its children.
//! - Slots are shared process-wide, so a client built after an earlier one was freed (PHP-FPM
//!   builds one per web request) finds the token still there. The registry holds
//!   `REGISTRY_CAPACITY` slots; when full, an unused slot without a valid token goes first,
//!   else the least recently used unused one.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use super::Token;
use crate::clock::Stamp;
use crate::error::{Error, ErrorKind, Result};
use crate::fork;
use crate::http::TransportKey;
use crate::log::{self, event, Level};

/// Distinct (URL, client, key) triples a process keeps: payment aggregators serve thousands of
/// merchants from one worker. Measured: 1,034 bytes per slot holding a 536-byte token, plus 512
/// for the stats counters (a cache line per hit stripe), so about 3 KiB with DOKU's longest
/// (2,048 characters): 12 MiB at most for a full registry.
pub const REGISTRY_CAPACITY: usize = 4096;
/// The first retry after a failed refresh; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the cache needs from a client to refresh a token.
pub trait Fetcher {
    /// How a fetch travels: fetches with equal keys succeed or fail alike.
    fn transport(&self) -> &TransportKey;
    /// The most this caller waits, for its own fetch or another's.
    fn timeout(&self) -> Duration;
    /// Refresh this long before expiry (capped at half the lifetime).
    fn margin(&self) -> Duration;
    /// One token request, ending by `deadline` at the latest.
    fn fetch(&self, deadline: Instant) -> Result<Token>;
}

/// A refresh that failed while the previous token was still valid and served.
#[derive(Debug)]
pub struct RefreshFailure {
    pub error: Error,
    /// Failed refreshes in a row.
    pub failures: u32,
    retry_at: Stamp,
}

/// One refresh in progress, and its outcome once known.
struct Flight {
    generation: u64,
    transport: TransportKey,
    outcome: Mutex<Option<Result<Arc<Token>>>>,
    done: Condvar,
}

impl Flight {
    fn outcome(&self) -> MutexGuard<'_, Option<Result<Arc<Token>>>> {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// In flight in this process (not inherited from a parent) and not finished.
    fn running(&self) -> bool {
        self.generation == fork::generation() && self.outcome().is_none()
    }

    /// Its outcome, waiting until `deadline` at most.
    fn wait(&self, deadline: Instant) -> Option<Result<Arc<Token>>> {
        let mut outcome = self.outcome();
        loop {
            if let Some(done) = outcome.as_ref() {
                return Some(done.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            outcome = self.done.wait_timeout(outcome, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// Thread safety: all methods take `&self` and may be called from any number of threads.
#[derive(Default)]
pub struct TokenSlot {
    current: ArcSwapOption<Token>,
    flight: ArcSwapOption<Flight>,
    failure: ArcSwapOption<RefreshFailure>,
    counters: Counters,
}

/// What a slot counts since it was created (see [`Stats`]). Relaxed atomics: each counter is
/// exact, a snapshot of several is not taken at one instant.
#[derive(Default)]
struct Counters {
    in_process_hits: Hits,
    store_hits: AtomicU64,
    fetches: AtomicU64,
    fetch_failures: AtomicU64,
    store_errors: AtomicU64,
    /// Microseconds, plus one; 0 for none yet.
    last_fetch_us: AtomicU64,
    last_store_error: ArcSwapOption<String>,
    /// The last store operation failed (for `store_unavailable` / `store_recovered`).
    store_down: AtomicBool,
}

/// The hit counter of the cached path, which must stay as cheap as the read it counts: no
/// locked instruction, no shared cache line. Each of the first `OWNED` threads to count a hit
/// (in any slot) owns one stripe of every slot's counter, on a cache line of its own, and adds
/// to it with a plain load and store: only its owner writes a stripe, so no update is lost.
/// A thread gives its stripe back when it exits (the next owner starts where it stopped).
/// Further threads share the last stripe, with `fetch_add`.
#[derive(Default)]
struct Hits([Stripe; OWNED + 1]);

const OWNED: usize = 4;

#[repr(align(64))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// The owned stripes, one bit each.
static TAKEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const UNCLAIMED: usize = usize::MAX;

thread_local! {
    /// This thread's stripe: `UNCLAIMED` until its first hit, then its own (below `OWNED`) or
    /// `OWNED`, the shared one. No destructor, so reading it costs no liveness check.
    static STRIPE: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Gives this thread's stripe back when it exits; set when the stripe is claimed.
    static RELEASE: Release = const { Release(Cell::new(OWNED)) };
}

struct Release(Cell<usize>);

impl Drop for Release {
    fn drop(&mut self) {
        let stripe = self.0.get();
        if stripe < OWNED {
            // From now on (the rest of the thread's teardown) this thread shares the last stripe.
            let _ = STRIPE.try_with(|s| s.set(OWNED));
            TAKEN.fetch_and(!(1 << stripe), Ordering::Release);
        }
    }
}

#[cold]
fn claim(mine: &Cell<usize>) -> usize {
    let mut taken = TAKEN.load(Ordering::Relaxed);
    let stripe = loop {
        let free = (!taken).trailing_zeros() as usize;
        if free >= OWNED {
            break OWNED;
        }
        // Acquire: the stripe's previous owner's last store is seen before this one's first.
        match TAKEN.compare_exchange_weak(taken, taken | 1 << free, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => break free,
            Err(now) => taken = now,
        }
    };
    // Owned only if it can be given back: a thread already tearing down shares the last one.
    let stripe = match RELEASE.try_with(|r| r.0.set(stripe)) {
        Ok(()) => stripe,
        Err(_) if stripe < OWNED => {
            TAKEN.fetch_and(!(1 << stripe), Ordering::Release);
            OWNED
        }
        Err(_) => OWNED,
    };
    mine.set(stripe);
    stripe
}

impl Hits {
    #[inline]
    fn add(&self) {
        let stripe = STRIPE
            .try_with(|s| match s.get() {
                UNCLAIMED => claim(s),
                s => s,
            })
            .unwrap_or(OWNED);
        let counter = &self.0[stripe.min(OWNED)].0;
        if stripe < OWNED {
            // This thread is the stripe's only writer.
            counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        } else {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn sum(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed)))
    }
}

/// A slot's counters (`Client::stats`, `doku_client_stats`), since the slot was created: the
/// slot is shared by every client of one (base URL, client id, key) in the process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls answered from this process's cache: the cached token, or one another thread of
    /// this process had just fetched, or a still-valid token served while its refresh failed.
    pub in_process_hits: u64,
    /// Tokens read from the shared token store instead of fetched.
    pub store_hits: u64,
    /// Token requests to DOKU that succeeded.
    pub fetches: u64,
    /// Token requests to DOKU that failed.
    pub fetch_failures: u64,
    /// Failed operations of the shared token store (each passed by: the call went on without it).
    pub store_errors: u64,
    /// How long the last token request to DOKU took, successful or not.
    pub last_fetch: Option<Duration>,
    /// The message of the last store failure.
    pub last_store_error: Option<String>,
}

impl TokenSlot {
    /// Calls `read` with a valid token, refreshing as the module comment describes.
    #[inline]
    pub fn with_token<R>(&self, fetcher: &impl Fetcher, read: impl FnOnce(&Token) -> R) -> Result<R> {
        self.with_token_at(fetcher, Stamp::now, read)
    }

    /// [`with_token`](Self::with_token) on a given clock (tests move it). Generic, so that the
    /// fresh-token path is inlined: one load, one clock read, one comparison.
    #[inline]
    pub fn with_token_at<R>(&self, fetcher: &impl Fetcher, clock: impl Fn() -> Stamp, read: impl FnOnce(&Token) -> R) -> Result<R> {
        {
            let guard = self.current.load();
            if let Some(token) = guard.as_deref() {
                if token.is_fresh(fetcher.margin(), clock()) {
                    self.counters.in_process_hits.add();
                    return Ok(read(token));
                }
            }
        }
        let token = log::deferred(|| self.refresh(fetcher, &clock))?;
        Ok(read(&token))
    }

    #[cold]
    fn refresh(&self, fetcher: &dyn Fetcher, clock: &dyn Fn() -> Stamp) -> Result<Arc<Token>> {
        let deadline = Instant::now() + fetcher.timeout();
        // A token this call did not fetch itself: counted as served from the process's cache.
        let hit = |token: Arc<Token>| {
            self.counters.in_process_hits.add();
            Ok(token)
        };
        loop {
            let now = clock();
            let current = self.current.load_full();
            if let Some(token) = current.as_ref().filter(|t| t.is_fresh(fetcher.margin(), now)) {
                return hit(Arc::clone(token));
            }
            let usable = current.filter(|t| t.is_usable(now));
            let running = self.flight.load_full().filter(|f| f.running());
            match (usable, running) {
                // Another caller is refreshing: the valid token serves meanwhile.
                (Some(token), Some(_)) => return hit(token),
                (Some(token), None) => {
                    if self.failure.load().as_ref().is_some_and(|f| now.before(f.retry_at)) {
                        return hit(token);
                    }
                    let Some(flight) = self.start(fetcher) else { return hit(token) };
                    // A failed refresh is recorded; the valid token still serves.
                    return match self.fly(&flight, fetcher, clock, deadline, true) {
                        Ok(fresh) => Ok(fresh),
                        Err(error) => {
                            self.stale_served(&token, &error, clock());
                            hit(token)
                        }
                    };
                }
                (None, Some(flight)) => match flight.wait(deadline) {
                    Some(Ok(token)) => return hit(token),
                    Some(Err(e)) if flight.transport == *fetcher.transport() => return Err(e),
                    // That fetch travelled differently (another proxy, CA or timeout): its error
                    // says nothing about ours. Go round and fetch.
                    Some(Err(_)) => {}
                    None => {
                        return Err(Error::new(
                            ErrorKind::Timeout,
                            format!("timed out waiting for another thread's token request (timeout_ms {} ms)", fetcher.timeout().as_millis()),
                        ))
                    }
                },
                (None, None) => {
                    if let Some(flight) = self.start(fetcher) {
                        // After waiting for another route's fetch, only the time left remains.
                        return self.fly(&flight, fetcher, clock, deadline, false);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::new(ErrorKind::Timeout, "timed out waiting for a token request"));
            }
        }
    }

    /// `stale_token_served`: the refresh of `token` failed with `error` and `token` serves on.
    fn stale_served(&self, token: &Token, error: &Error, now: Stamp) {
        log::emit(Level::Warn, event::STALE_TOKEN_SERVED, || {
            let failures = self.failure.load().as_ref().map_or(1, |f| f.failures);
            format!(
                "serving the cached token, still valid for {} s, after its refresh failed ({failures} in a row; next attempt after a backoff): {}",
                token.expires_in(now),
                error.message()
            )
        });
    }

    /// Claims the refresh, unless another caller of this process holds it.
    fn start(&self, fetcher: &dyn Fetcher) -> Option<Arc<Flight>> {
        let seen = self.flight.load_full();
        if seen.as_ref().is_some_and(|f| f.running()) {
            return None;
        }
        let flight = Arc::new(Flight {
            generation: fork::generation(),
            transport: fetcher.transport().clone(),
            outcome: Mutex::new(None),
            done: Condvar::new(),
        });
        let before = self.flight.compare_and_swap(&seen, Some(Arc::clone(&flight)));
        let won = match (before.as_ref(), seen.as_ref()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        won.then_some(flight)
    }

    /// Runs the claimed refresh and publishes its outcome. `serving` says a valid token is
    /// still being served, so that a failure is recorded for `token_info` and backed off.
    fn fly(&self, flight: &Arc<Flight>, fetcher: &dyn Fetcher, clock: &dyn Fn() -> Stamp, deadline: Instant, serving: bool) -> Result<Arc<Token>> {
        /// Publishes an outcome even if the fetch panics, so that waiters are not left waiting.
        struct Land<'a>(&'a TokenSlot, &'a Arc<Flight>, Option<Result<Arc<Token>>>);
        impl Drop for Land<'_> {
            fn drop(&mut self) {
                let outcome = self.2.take().unwrap_or_else(|| Err(Error::new(ErrorKind::Protocol, "the token request failed internally")));
                *self.1.outcome() = Some(outcome);
                self.1.done.notify_all();
                let _ = self.0.flight.compare_and_swap(&Some(Arc::clone(self.1)), None);
            }
        }
        let mut land = Land(self, flight, None);
        // Another caller's refresh landed between this caller's look at the token and its claim.
        if let Some(token) = self.current.load_full().filter(|t| t.is_fresh(fetcher.margin(), clock())) {
            land.2 = Some(Ok(Arc::clone(&token)));
            self.counters.in_process_hits.add();
            return Ok(token);
        }
        let outcome = fetcher.fetch(deadline).map(Arc::new);
        match &outcome {
            Ok(token) => {
                self.current.store(Some(Arc::clone(token)));
                self.failure.store(None);
            }
            Err(error) if serving => {
                let failures = self.failure.load().as_ref().map_or(0, |f| f.failures).saturating_add(1);
                let backoff = FIRST_BACKOFF.saturating_mul(1 << (failures - 1).min(5)).min(MAX_BACKOFF);
                // The backoff runs from the failure, however long the failing request took.
                self.failure.store(Some(Arc::new(RefreshFailure { error: error.clone(), failures, retry_at: clock() + backoff })));
            }
            Err(_) => {}
        }
        land.2 = Some(outcome.clone());
        drop(land);
        outcome
    }

    /// Drops the cached token, e.g. after DOKU answered 401xx01 Invalid Token.
    pub fn invalidate(&self) {
        self.current.store(None);
        self.failure.store(None);
    }

    /// Drops the cached token if it is still the one whose text is `used`.
    pub fn invalidate_if(&self, used: &str) {
        let current = self.current.load_full();
        if current.as_ref().is_some_and(|t| t.access_token.as_str() == used) {
            let _ = self.current.compare_and_swap(&current, None);
        }
    }

    /// The last refresh failure, while the token it failed to replace is still served.
    pub fn refresh_failure(&self) -> Option<Arc<RefreshFailure>> {
        self.failure.load_full()
    }

    /// The counters since this slot was created.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            in_process_hits: c.in_process_hits.sum(),
            store_hits: c.store_hits.load(Ordering::Relaxed),
            fetches: c.fetches.load(Ordering::Relaxed),
            fetch_failures: c.fetch_failures.load(Ordering::Relaxed),
            store_errors: c.store_errors.load(Ordering::Relaxed),
            last_fetch: c.last_fetch_us.load(Ordering::Relaxed).checked_sub(1).map(Duration::from_micros),
            last_store_error: c.last_store_error.load_full().map(|e| String::clone(&e)),
        }
    }

    /// A token request to DOKU that succeeded (`ok`) or failed, and how long it took.
    pub fn record_fetch(&self, ok: bool, took: Duration) {
        let c = &self.counters;
        if ok { &c.fetches } else { &c.fetch_failures }.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX - 1);
        c.last_fetch_us.store(us.saturating_add(1), Ordering::Relaxed);
    }

    /// For the token store: a token read from the store instead of fetched. Also a store that
    /// works: raises `store_recovered` if the last store operation had failed.
    pub fn record_store_hit(&self) {
        self.counters.store_hits.fetch_add(1, Ordering::Relaxed);
        self.record_store_ok();
    }

    /// For the token store: a store operation that worked without being a hit (a token written
    /// after a fetch, an entry removed). Raises `store_recovered` if the last one had failed.
    pub fn record_store_ok(&self) {
        if self.counters.store_down.swap(false, Ordering::Relaxed) {
            log::store_recovered();
        }
    }

    /// For the token store: a failed store operation, passed by. `why` is the library's own
    /// message (never a password or token); it is kept for `stats()`. Raises
    /// `store_unavailable` when the store was working until now.
    pub fn record_store_error(&self, why: &str) {
        let c = &self.counters;
        c.store_errors.fetch_add(1, Ordering::Relaxed);
        c.last_store_error.store(Some(Arc::new(crate::text::printable(why, 500))));
        if !c.store_down.swap(true, Ordering::Relaxed) {
            log::store_unavailable(why);
        }
    }

    /// Holds no token valid at `now`.
    fn is_spent(&self, now: Stamp) -> bool {
        !self.current.load().as_ref().is_some_and(|t| t.is_usable(now))
    }
}

/// What a token is valid for. The key enters as its public fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub base_url: String,
    pub client_id: String,
    pub key_fingerprint: [u8; 32],
}

/// The process-wide slots.
#[derive(Default)]
pub struct Registry {
    slots: HashMap<CacheKey, (Arc<TokenSlot>, u64)>,
    clock: u64,
}

impl Registry {
    /// The slot for `key`, making room if needed: an unused slot without a valid token first,
    /// else the least recently used unused one. If all are in use, the caller gets a private slot.
    fn slot(&mut self, key: CacheKey, capacity: usize, now: Stamp) -> Arc<TokenSlot> {
        self.clock += 1;
        let tick = self.clock;
        if let Some((slot, used)) = self.slots.get_mut(&key) {
            *used = tick;
            return Arc::clone(slot);
        }
        if self.slots.len() >= capacity {
            let victim = self
                .slots
                .iter()
                .filter(|(_, (slot, _))| Arc::strong_count(slot) == 1)
                .min_by_key(|(_, (slot, used))| (!slot.is_spent(now), *used))
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    self.slots.remove(&k);
                }
                None => return Arc::new(TokenSlot::default()),
            }
        }
        let slot = Arc::new(TokenSlot::default());
        self.slots.insert(key, (Arc::clone(&slot), tick));
        slot
    }
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// The registry; also held across `fork()` (see `crate::fork`).
pub(crate) fn registry() -> MutexGuard<'static, Option<Registry>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide slot for `key`.
pub fn shared_slot(key: CacheKey) -> Arc<TokenSlot> {
    fork::watch();
    registry().get_or_insert_with(Registry::default).slot(key, REGISTRY_CAPACITY, Stamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Grant;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;
    use std::time::SystemTime;
    use zeroize::Zeroizing;

    fn transport(timeout_ms: u64, proxy: &str) -> TransportKey {
        let s = crate::http::Settings::new(
            "https://api.doku.com",
            Duration::from_millis(timeout_ms),
            Duration::from_millis(timeout_ms),
            None,
            Some(proxy),
        )
        .unwrap();
        s.transport().clone()
    }

    /// A fetcher whose answers and clock the test controls; it counts its fetches.
    struct Fake {
        transport: TransportKey,
        timeout: Duration,
        fetches: AtomicUsize,
        answer: Box<dyn Fn(Stamp) -> Result<Token> + Send + Sync>,
        now: Arc<Mutex<Stamp>>,
        /// How far the test clock moves during each fetch.
        takes: Duration,
        /// The deadline each fetch was given, and when it was made.
        deadlines: Mutex<Vec<(Instant, Instant)>>,
    }

    impl Fake {
        fn new(answer: impl Fn(Stamp) -> Result<Token> + Send + Sync + 'static) -> Fake {
            Fake {
                transport: transport(1000, ""),
                timeout: Duration::from_secs(1),
                fetches: AtomicUsize::new(0),
                answer: Box::new(answer),
                now: Arc::new(Mutex::new(Stamp::at(Duration::from_secs(10_000)))),
                takes: Duration::ZERO,
                deadlines: Mutex::new(Vec::new()),
            }
        }

        fn get(&self, slot: &TokenSlot) -> Result<String> {
            let clock = self.now.clone();
            slot.with_token_at(self, move || *clock.lock().unwrap(), |t| t.access_token.to_string())
        }

        fn advance(&self, by: Duration) {
            let mut now = self.now.lock().unwrap();
            *now = *now + by;
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    impl Fetcher for Fake {
        fn transport(&self) -> &TransportKey {
            &self.transport
        }
        fn timeout(&self) -> Duration {
            self.timeout
        }
        fn margin(&self) -> Duration {
            Duration::from_secs(60)
        }
        fn fetch(&self, deadline: Instant) -> Result<Token> {
            self.deadlines.lock().unwrap().push((Instant::now(), deadline));
            let n = self.fetches.fetch_add(1, Ordering::SeqCst);
            let now = *self.now.lock().unwrap();
            self.advance(self.takes);
            (self.answer)(now).map(|mut t| {
                t.access_token = Zeroizing::new(format!("{}{n}", t.access_token.as_str()));
                t
            })
        }
    }

    fn token(secs: u64, at: Stamp) -> Token {
        let grant = Grant { access_token: Zeroizing::new("t".into()), token_type: "Bearer".into(), expires_in: secs };
        Token::new(grant, at, SystemTime::now())
    }

    fn down() -> Error {
        Error::new(ErrorKind::Network, "cannot connect to api.doku.com: Connection refused")
    }

    #[test]
    fn fetches_once_then_reads_the_cache() {
        let slot = TokenSlot::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert_eq!(f.fetches(), 1);
        slot.invalidate();
        assert_eq!(f.get(&slot).unwrap(), "t1");
        assert_eq!(f.fetches(), 2);
    }

    #[test]
    fn stale_tokens_are_refreshed() {
        let slot = TokenSlot::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        f.get(&slot).unwrap();
        f.advance(Duration::from_secs(839));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        f.advance(Duration::from_secs(1));
        assert_eq!(f.get(&slot).unwrap(), "t1", "refreshed at expiresAt - margin");
    }

    /// Regression (item 9): freshness ran on the monotonic clock alone, which stops during
    /// suspend; after a 1000 s sleep the old token was served with 900 s to go. The wall clock
    /// counts the sleep.
    #[test]
    fn a_suspend_longer_than_the_lifetime_means_a_new_token() {
        let slot = TokenSlot::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        {
            let mut now = f.now.lock().unwrap();
            *now = now.after_suspend(Duration::from_secs(1000));
        }
        assert_eq!(f.get(&slot).unwrap(), "t1");
        let now = *f.now.lock().unwrap();
        assert_eq!(slot.current.load().as_ref().unwrap().expires_in(now), 900);
    }

    /// Regression (item 10): with the token endpoint down, a token still valid for seconds was
    /// dropped and every call failed. Now it is served until the guard before expiry, the
    /// failure is reported, and retries back off.
    #[test]
    fn a_failed_refresh_keeps_serving_the_valid_token() {
        let slot = TokenSlot::default();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        let f = Fake::new(move |now| if flag.load(Ordering::SeqCst) { Ok(token(20, now)) } else { Err(down()) });
        assert_eq!(f.get(&slot).unwrap(), "t0");
        up.store(false, Ordering::SeqCst);
        f.advance(Duration::from_secs(11));
        assert_eq!(f.get(&slot).unwrap(), "t0", "the refresh failed; the token is valid until t = 20 s");
        assert_eq!(f.fetches(), 2);
        let failure = slot.refresh_failure().expect("the failure is kept");
        assert_eq!((failure.error.kind(), failure.failures), (ErrorKind::Network, 1));
        // Within the backoff: no request, the token still serves.
        f.advance(Duration::from_millis(500));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert_eq!(f.fetches(), 2, "no retry before the backoff");
        f.advance(Duration::from_millis(600));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert_eq!((f.fetches(), slot.refresh_failure().unwrap().failures), (3, 2));
        f.advance(Duration::from_millis(1500));
        assert_eq!(f.get(&slot).unwrap(), "t0", "1.5 s < the 2 s backoff");
        assert_eq!(f.fetches(), 3);
        // Past the guard (expiresAt - 5 s): the error is the caller's, as with no token.
        f.advance(Duration::from_secs(4));
        let e = f.get(&slot).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert_eq!(f.fetches(), 4);
        // The endpoint recovers: a new token, and the failure is forgotten.
        up.store(true, Ordering::SeqCst);
        assert_eq!(f.get(&slot).unwrap(), "t4");
        assert!(slot.refresh_failure().is_none());
    }

    #[test]
    fn only_the_refreshing_caller_waits() {
        let slot = Arc::new(TokenSlot::default());
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let first = std::sync::atomic::AtomicBool::new(true);
        let f = Arc::new(Fake::new(move |now| {
            if !first.swap(false, Ordering::SeqCst) {
                // The refresh: held until the other caller has been served.
                g.wait();
                g.wait();
            }
            Ok(token(900, now))
        }));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        f.advance(Duration::from_secs(850));
        let refresher = {
            let (slot, f) = (slot.clone(), f.clone());
            std::thread::spawn(move || f.get(&slot).unwrap())
        };
        gate.wait();
        // The refresh is in flight: this caller gets the valid token at once.
        let t0 = Instant::now();
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert!(t0.elapsed() < Duration::from_millis(100));
        gate.wait();
        assert_eq!(refresher.join().unwrap(), "t1");
        assert_eq!(f.get(&slot).unwrap(), "t1");
    }

    #[test]
    fn a_stampede_makes_one_fetch_and_shares_its_error() {
        let slot = Arc::new(TokenSlot::default());
        let f = Arc::new(Fake::new(|_| {
            std::thread::sleep(Duration::from_millis(200));
            Err(Error::new(ErrorKind::Timeout, "slow"))
        }));
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (slot, f, barrier) = (slot.clone(), f.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    f.get(&slot)
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap_err().kind(), ErrorKind::Timeout);
        }
        assert_eq!(f.fetches(), 1);
        // A later caller does not inherit the old error: it fetches again.
        let _ = f.get(&slot);
        assert_eq!(f.fetches(), 2);
    }

    /// Regression (item 7): waiters took the wait and the error of a fetch made with other
    /// transport settings: a 1000 ms client waited 5.9 s for a slow one's fetch, and a client
    /// without a proxy got another's proxy error.
    #[test]
    fn waiters_keep_their_own_timeout_and_fetch_when_the_transport_differs() {
        let slot = Arc::new(TokenSlot::default());
        let mut slow = Fake::new(|now| {
            std::thread::sleep(Duration::from_millis(1500));
            Ok(token(900, now))
        });
        slow.timeout = Duration::from_secs(10);
        slow.transport = transport(10_000, "");
        let slow = Arc::new(slow);
        let mut quick = Fake::new(|now| Ok(token(900, now)));
        quick.timeout = Duration::from_millis(300);
        let flying = {
            let (slot, slow) = (slot.clone(), slow.clone());
            std::thread::spawn(move || slow.get(&slot))
        };
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        let e = quick.get(&slot).unwrap_err();
        let waited = t0.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.message().contains("timeout_ms 300 ms"), "{e}");
        assert!(waited >= Duration::from_millis(290) && waited < Duration::from_millis(800), "{waited:?}");
        assert!(flying.join().unwrap().is_ok());

        // Same transport: the error is shared, and no second request is made.
        let slot = Arc::new(TokenSlot::default());
        let failing = Arc::new(Fake::new(|_| {
            std::thread::sleep(Duration::from_millis(300));
            Err(down())
        }));
        let twin = Fake::new(|now| Ok(token(900, now)));
        let flying = {
            let (slot, failing) = (slot.clone(), failing.clone());
            std::thread::spawn(move || failing.get(&slot))
        };
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(twin.get(&slot).unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(twin.fetches(), 0);
        assert!(flying.join().unwrap().is_err());
    }

    #[test]
    fn a_flight_from_before_a_fork_is_ignored() {
        let slot = TokenSlot::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        // A flight claimed in "another generation" and never landed, as a parent's would be.
        slot.flight.store(Some(Arc::new(Flight {
            generation: fork::generation().wrapping_add(7),
            transport: f.transport.clone(),
            outcome: Mutex::new(None),
            done: Condvar::new(),
        })));
        let t0 = Instant::now();
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert!(t0.elapsed() < Duration::from_millis(500), "no wait for the inherited flight");
    }

    /// Regression (review): the backoff ran from the start of the failed refresh, so a refresh
    /// failing slower than the backoff was retried by the very next call.
    #[test]
    fn the_backoff_runs_from_the_failure() {
        let slot = TokenSlot::default();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        let mut f = Fake::new(move |now| if flag.load(Ordering::SeqCst) { Ok(token(900, now)) } else { Err(down()) });
        f.get(&slot).unwrap();
        up.store(false, Ordering::SeqCst);
        f.takes = Duration::from_secs(3);
        f.advance(Duration::from_secs(850));
        assert_eq!(f.get(&slot).unwrap(), "t0", "the failed refresh took 3 s; the token still serves");
        f.advance(Duration::from_millis(500));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert_eq!(f.fetches(), 2, "0.5 s after the failure landed: still backing off");
    }

    /// Regression (item 7): a client without a proxy got the error of another's fetch through a
    /// failing proxy; it now fetches for itself. Regression (review): doing so, it got its whole
    /// timeout again, so it could take almost twice its `timeout_ms`; it has the time left.
    #[test]
    fn a_waiter_fetches_for_itself_after_another_routes_failure_within_its_time() {
        let slot = Arc::new(TokenSlot::default());
        let mut proxied = Fake::new(|_| {
            std::thread::sleep(Duration::from_millis(400));
            Err(Error::new(ErrorKind::Network, "the proxy refused or failed the connection"))
        });
        proxied.transport = transport(1000, "http://proxy.invalid:3128");
        let proxied = Arc::new(proxied);
        let direct = Fake::new(|now| Ok(token(900, now)));
        let flying = {
            let (slot, proxied) = (slot.clone(), proxied.clone());
            std::thread::spawn(move || proxied.get(&slot))
        };
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        assert_eq!(direct.get(&slot).unwrap(), "t0", "its own fetch, not the proxy's error");
        assert_eq!(direct.fetches(), 1);
        assert!(flying.join().unwrap().unwrap_err().message().contains("proxy"));
        let (made, deadline) = direct.deadlines.lock().unwrap()[0];
        assert!(made >= started + Duration::from_millis(250), "it waited for the other fetch first");
        assert!(deadline <= started + direct.timeout + Duration::from_millis(50), "the deadline counts from the call");
        assert!(deadline < made + direct.timeout - Duration::from_millis(200), "not a whole timeout from the fetch");
    }

    /// Regression (review): every request refused with 401xx01 dropped whatever token was
    /// cached, including a new one another thread had just fetched, so concurrent refusals
    /// chained refreshes that revoked each other's tokens (DOKU honours only the latest).
    #[test]
    fn only_the_refused_token_is_dropped() {
        let slot = TokenSlot::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        slot.invalidate_if("t0");
        assert_eq!(f.get(&slot).unwrap(), "t1", "the refused token is dropped");
        slot.invalidate_if("t0");
        assert_eq!(f.get(&slot).unwrap(), "t1", "a late refusal of t0 leaves t1");
        assert_eq!(f.fetches(), 2);
    }

    #[test]
    fn hits_are_counted_exactly_across_threads_that_come_and_go() {
        let slot = Arc::new(TokenSlot::default());
        let f = Arc::new(Fake::new(|now| Ok(token(900, now))));
        f.get(&slot).unwrap();
        assert_eq!(slot.stats().in_process_hits, 0, "the first call fetched");
        // More threads than owned stripes, in two waves: stripes are shared, then handed on.
        for _ in 0..2 {
            let threads: Vec<_> = (0..OWNED + 3)
                .map(|_| {
                    let (slot, f) = (slot.clone(), f.clone());
                    std::thread::spawn(move || {
                        for _ in 0..10_000 {
                            f.get(&slot).unwrap();
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
        }
        assert_eq!(slot.stats().in_process_hits, 2 * (OWNED as u64 + 3) * 10_000);
        assert_eq!(f.fetches(), 1);
        // A slot made later counts from zero; fetches are the fetcher's to record.
        assert_eq!(TokenSlot::default().stats(), Stats::default());
    }

    /// The store's hooks: counts, the last error, and one event per change of state.
    #[test]
    fn store_errors_and_hits_are_counted_and_logged_on_change() {
        let (_sink, lines) = crate::log::tests::capture();
        let slot = TokenSlot::default();
        slot.record_fetch(true, Duration::from_micros(1500));
        slot.record_fetch(false, Duration::from_millis(30));
        slot.record_store_ok();
        slot.record_store_error("token store: the lock was held past token_store_timeout_ms");
        slot.record_store_error("token store: connection refused\n");
        slot.record_store_hit();
        slot.record_store_hit();
        let stats = slot.stats();
        assert_eq!(
            stats,
            Stats {
                in_process_hits: 0,
                store_hits: 2,
                fetches: 1,
                fetch_failures: 1,
                store_errors: 2,
                last_fetch: Some(Duration::from_millis(30)),
                last_store_error: Some("token store: connection refused ".into()),
            }
        );
        crate::log::set_sink(None, Level::Debug);
        let got: Vec<(Level, String, String)> = lines.lock().unwrap().clone();
        assert_eq!(
            got,
            [
                (
                    Level::Warn,
                    "store_unavailable".into(),
                    "token store unavailable, fetching without it: token store: the lock was held past token_store_timeout_ms".into()
                ),
                (Level::Info, "store_recovered".into(), "token store available again: tokens are shared again".into()),
            ]
        );
    }

    /// `stale_token_served` once per failed refresh, after the flight has landed; the calls
    /// in the backoff count as hits and raise nothing.
    #[test]
    fn a_stale_token_served_is_logged_once_per_failure() {
        let (_sink, lines) = crate::log::tests::capture();
        let slot = TokenSlot::default();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        let f = Fake::new(move |now| if flag.load(Ordering::SeqCst) { Ok(token(20, now)) } else { Err(down()) });
        f.get(&slot).unwrap();
        up.store(false, Ordering::SeqCst);
        f.advance(Duration::from_secs(11));
        assert_eq!(f.get(&slot).unwrap(), "t0");
        assert!(slot.flight.load().is_none(), "landed");
        f.advance(Duration::from_millis(500));
        assert_eq!(f.get(&slot).unwrap(), "t0", "in the backoff");
        assert_eq!((slot.stats().in_process_hits, f.fetches()), (2, 2));
        crate::log::set_sink(None, Level::Debug);
        let got = lines.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1.as_str()), (Level::Warn, "stale_token_served"));
        assert_eq!(
            got[0].2,
            "serving the cached token, still valid for 9 s, after its refresh failed (1 in a row; next attempt after a backoff): cannot connect to api.doku.com: Connection refused"
        );
    }

    fn key(i: usize) -> CacheKey {
        CacheKey { base_url: "https://x".into(), client_id: format!("c{i}"), key_fingerprint: [7; 32] }
    }

    #[test]
    fn slots_are_shared_by_key() {
        let a = shared_slot(key(1_000_001));
        let b = shared_slot(key(1_000_001));
        let c = shared_slot(key(1_000_002));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    /// Regression (item 8): with 64 slots evicting "the unused one that expires first", a
    /// round-robin over 65 merchants evicted exactly the next one needed, every time.
    #[test]
    fn eviction_takes_spent_slots_first_then_the_least_recently_used() {
        let now = Stamp::at(Duration::from_secs(10_000));
        let mut reg = Registry::default();
        let f = Fake::new(|now| Ok(token(900, now)));
        for i in 0..4 {
            let slot = reg.slot(key(i), 4, now);
            if i != 2 {
                slot.with_token_at(&f, move || now, |_| ()).unwrap();
            }
        }
        // Full. Slot 2 holds no token: it goes first, although slot 0 is older.
        reg.slot(key(4), 4, now).with_token_at(&f, move || now, |_| ()).unwrap();
        assert!(!reg.slots.contains_key(&key(2)) && reg.slots.contains_key(&key(0)));
        // Then the least recently used: 0 was touched, so 1 goes.
        reg.slot(key(0), 4, now);
        let s5 = reg.slot(key(5), 4, now);
        s5.with_token_at(&f, move || now, |_| ()).unwrap();
        assert!(!reg.slots.contains_key(&key(1)) && reg.slots.contains_key(&key(0)));
        // Slots held by live clients are never evicted; with all held, callers get private ones.
        let held: Vec<_> = [0, 3, 4, 5].iter().map(|&i| reg.slot(key(i), 4, now)).collect();
        let private = reg.slot(key(6), 4, now);
        assert_eq!(reg.slots.len(), 4);
        assert!(!reg.slots.contains_key(&key(6)) && Arc::strong_count(&private) == 1);
        drop(held);
    }
}
