//! The clock token lifetimes are measured on: time since boot, suspend included.
//!
//! A token's lifetime runs on DOKU's side whether or not this machine is awake. The monotonic
//! clock (std's `Instant`) stops during suspend-to-RAM, so after a terminal sleeps it would call
//! an expired token fresh; the wall clock jumps with NTP and manual changes. CLOCK_BOOTTIME
//! does neither.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the boot clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(Duration);

impl Stamp {
    /// Now. One vDSO clock read, as cheap as `Instant::now()`.
    #[inline]
    pub fn now() -> Stamp {
        Stamp(crate::ffi::os::boot_time())
    }

    /// A stamp `offset` after boot, for tests that move the clock.
    pub fn at(offset: Duration) -> Stamp {
        Stamp(offset)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn since(self, earlier: Stamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Stamp {
    type Output = Stamp;
    fn add(self, d: Duration) -> Stamp {
        Stamp(self.0.saturating_add(d))
    }
}

impl Sub<Duration> for Stamp {
    type Output = Stamp;
    fn sub(self, d: Duration) -> Stamp {
        Stamp(self.0.saturating_sub(d))
    }
}

/// Only if CLOCK_BOOTTIME were missing: time since the first call, by the monotonic clock.
pub(crate) fn monotonic_fallback() -> Duration {
    static START: once_cell::sync::Lazy<std::time::Instant> = once_cell::sync::Lazy::new(std::time::Instant::now);
    START.elapsed()
}
