//! The operating-system calls the safe modules need and std does not offer: fork handlers and
//! the coarse clocks. Kept here because they are `unsafe` to call.

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

/// The coarse monotonic and wall clocks, as durations since their epochs: about 5 ns for both
/// (the precise clocks cost 20 ns each), at the resolution of the kernel tick (1–10 ms).
#[inline]
pub(crate) fn coarse_clocks() -> (Duration, Duration) {
    (read(libc::CLOCK_MONOTONIC_COARSE), read(libc::CLOCK_REALTIME_COARSE))
}

#[inline]
fn read(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; both clocks exist on every Linux since 2.6.32,
    // so the call cannot fail (and a failure would leave ts at zero: "the epoch").
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}
