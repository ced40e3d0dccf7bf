//! The token cache: one [`TokenSlot`] per (base URL, client id, key), shared process-wide.
//!
//! - Reads are lock-free: the current token sits in an `ArcSwapOption`, whose `load` touches
//!   only thread-local state, so concurrent readers never serialize on a lock or a shared
//!   counter.
//! - Refreshes are single-flight: the first thread to find the token stale fetches while the
//!   others wait on the slot's mutex, and every waiter takes that fetch's outcome, error
//!   included. N threads on a cold slot make one request.
//! - Slots are shared process-wide, so a client built after an earlier one was freed (PHP-FPM
//!   builds one per web request) finds the token still there. The registry is bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use once_cell::sync::Lazy;

use super::Token;
use crate::error::Result;

/// Distinct (URL, client, key) triples a process keeps; far above what one merchant uses.
const REGISTRY_CAPACITY: usize = 64;

/// Thread safety: all methods take `&self` and may be called from any number of threads.
#[derive(Default)]
pub struct TokenSlot {
    current: ArcSwapOption<Token>,
    /// Completed fetches so far; lets a waiter tell whether a fetch finished while it waited.
    generation: AtomicU64,
    flight: Mutex<Flight>,
}

#[derive(Default)]
struct Flight {
    generation: u64,
    outcome: Option<Result<Arc<Token>>>,
}

impl TokenSlot {
    /// Calls `read` with a fresh token, fetching one through `fetch` when the cached one is
    /// missing or due for refresh.
    #[inline]
    pub fn with_token<R>(
        &self,
        margin: Duration,
        fetch: impl FnOnce() -> Result<Token>,
        read: impl FnOnce(&Token) -> R,
    ) -> Result<R> {
        {
            let guard = self.current.load();
            if let Some(token) = guard.as_deref() {
                if token.is_fresh(margin, Instant::now()) {
                    return Ok(read(token));
                }
            }
        }
        let token = self.refresh(margin, fetch)?;
        Ok(read(&token))
    }

    #[cold]
    fn refresh(&self, margin: Duration, fetch: impl FnOnce() -> Result<Token>) -> Result<Arc<Token>> {
        let seen = self.generation.load(Ordering::Acquire);
        let mut flight = self.flight.lock().unwrap_or_else(|p| p.into_inner());
        if flight.generation != seen {
            // A fetch completed while this thread waited: share its outcome.
            if let Some(outcome) = &flight.outcome {
                return outcome.clone();
            }
        }
        if let Some(token) = self.current.load_full() {
            if token.is_fresh(margin, Instant::now()) {
                return Ok(token);
            }
        }
        let outcome = fetch().map(Arc::new);
        if let Ok(token) = &outcome {
            self.current.store(Some(Arc::clone(token)));
        }
        flight.generation += 1;
        flight.outcome = Some(outcome.clone());
        self.generation.store(flight.generation, Ordering::Release);
        outcome
    }

    /// Drops the cached token, e.g. after DOKU answered 401xx01 Invalid Token.
    pub fn invalidate(&self) {
        self.current.store(None);
    }

    fn expires_mono(&self) -> Option<Instant> {
        self.current.load().as_deref().map(|t| t.expires_mono)
    }
}

/// What a token is valid for. The key enters as its public fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub base_url: String,
    pub client_id: String,
    pub key_fingerprint: [u8; 32],
}

static REGISTRY: Lazy<Mutex<HashMap<CacheKey, Arc<TokenSlot>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// The process-wide slot for `key`. When the registry is full, the unused slot whose token
/// expires first is dropped; if every slot is in use, the caller gets a private slot.
pub fn shared_slot(key: CacheKey) -> Arc<TokenSlot> {
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(slot) = registry.get(&key) {
        return Arc::clone(slot);
    }
    if registry.len() >= REGISTRY_CAPACITY {
        let victim = registry
            .iter()
            .filter(|(_, slot)| Arc::strong_count(slot) == 1)
            .min_by_key(|(_, slot)| slot.expires_mono())
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => {
                registry.remove(&k);
            }
            None => return Arc::new(TokenSlot::default()),
        }
    }
    let slot = Arc::new(TokenSlot::default());
    registry.insert(key, Arc::clone(&slot));
    slot
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::token::Grant;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Barrier;
    use std::time::SystemTime;
    use zeroize::Zeroizing;

    fn token(text: &str, secs: u64) -> Token {
        let grant = Grant { access_token: Zeroizing::new(text.into()), token_type: "Bearer".into(), expires_in: secs };
        Token::new(grant, Instant::now(), SystemTime::now())
    }

    fn get(slot: &TokenSlot, fetches: &AtomicUsize, text: &str, secs: u64) -> Result<String> {
        slot.with_token(
            Duration::from_secs(60),
            || {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok(token(text, secs))
            },
            |t| t.access_token.to_string(),
        )
    }

    #[test]
    fn fetches_once_then_reads_the_cache() {
        let slot = TokenSlot::default();
        let n = AtomicUsize::new(0);
        assert_eq!(get(&slot, &n, "a", 900).unwrap(), "a");
        assert_eq!(get(&slot, &n, "b", 900).unwrap(), "a");
        assert_eq!(n.load(Ordering::SeqCst), 1);
        slot.invalidate();
        assert_eq!(get(&slot, &n, "c", 900).unwrap(), "c");
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn stale_tokens_are_refetched() {
        let slot = TokenSlot::default();
        let n = AtomicUsize::new(0);
        // 1 s lifetime: fresh for half of it (the margin is capped at lifetime/2).
        get(&slot, &n, "a", 1).unwrap();
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(get(&slot, &n, "b", 1).unwrap(), "b");
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_stampede_makes_one_fetch_and_shares_its_error() {
        let slot = Arc::new(TokenSlot::default());
        let n = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (slot, n, barrier) = (slot.clone(), n.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    slot.with_token(
                        Duration::from_secs(60),
                        || {
                            n.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Err::<Token, _>(Error::new(ErrorKind::Timeout, "slow"))
                        },
                        |_| (),
                    )
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap_err().kind(), ErrorKind::Timeout);
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
        // A later caller does not inherit the old error: it fetches again.
        let later = get(&slot, &n, "ok", 900).unwrap();
        assert_eq!((later.as_str(), n.load(Ordering::SeqCst)), ("ok", 2));
    }

    #[test]
    fn slots_are_shared_by_key() {
        let key = |id: &str| CacheKey { base_url: "https://x".into(), client_id: id.into(), key_fingerprint: [7; 32] };
        let a = shared_slot(key("shared-a"));
        let b = shared_slot(key("shared-a"));
        let c = shared_slot(key("shared-c"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn the_registry_is_bounded() {
        let key = |i: usize| CacheKey { base_url: "https://bound".into(), client_id: format!("c{i}"), key_fingerprint: [1; 32] };
        let held: Vec<_> = (0..REGISTRY_CAPACITY * 2).map(|i| shared_slot(key(i))).collect();
        assert!(REGISTRY.lock().unwrap().len() <= REGISTRY_CAPACITY);
        // Every slot still works, shared or not.
        let n = AtomicUsize::new(0);
        assert_eq!(get(held.last().unwrap(), &n, "z", 900).unwrap(), "z");
        drop(held);
        let again = shared_slot(key(0));
        assert!(REGISTRY.lock().unwrap().len() <= REGISTRY_CAPACITY);
        drop(again);
    }
}
