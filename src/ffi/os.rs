//! The operating-system calls the safe modules need and std does not offer: fork handlers and
//! the boot clock. Kept here because they are `unsafe` to call.

use std::time::Duration;

/// Registers `crate::fork`'s handlers with `pthread_atfork`. Called once (see `fork::watch`);
/// the library is linked with `-z nodelete`, so the handlers never outlive their code.
pub(crate) fn install_fork_handlers() {
    extern "C" fn prepare() {
        contain(crate::fork::prepare);
    }
    extern "C" fn parent() {
        contain(crate::fork::parent);
    }
    extern "C" fn child() {
        contain(crate::fork::child);
    }
    // SAFETY: the three handlers are plain functions that live as long as the process and
    // never unwind (see `contain`).
    let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    // ENOMEM is the only failure: forked children then rely on the generation never changing,
    // which is the behaviour before this library handled fork at all.
    debug_assert_eq!(rc, 0);
}

/// A panic must not unwind into libc's fork(); it cannot happen in these handlers, but if it
/// did, aborting is the only safe answer.
fn contain(f: fn()) {
    if std::panic::catch_unwind(f).is_err() {
        std::process::abort();
    }
}

/// Time since boot, suspend included (CLOCK_BOOTTIME): unlike CLOCK_MONOTONIC (std's Instant),
/// it keeps counting while a terminal sleeps, and unlike the wall clock it never jumps.
#[inline]
pub(crate) fn boot_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; CLOCK_BOOTTIME exists on every Linux since 2.6.39.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        // Unreachable on Linux; the monotonic clock is the closest stand-in.
        return crate::clock::monotonic_fallback();
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
