//! The clocks token lifetimes are measured on.
//!
//! A token's lifetime runs on DOKU's side whether or not this machine is awake. The monotonic
//! clock stops while the machine is suspended (a sleeping terminal would wake up calling an
//! expired token fresh); the wall clock does not stop, but jumps when NTP or an operator sets
//! it. So a [`Stamp`] holds both, and a deadline has passed as soon as either clock says so:
//! a suspend shows on the wall clock, a wall clock set back shows on the monotonic one, and a
//! wall clock set forward costs at most an early refresh.
//!
//! Both are the kernel's coarse clocks (about 5 ns per read, resolution 1–10 ms): the cached
//! token path reads them on every call.

use std::ops::Add;
use std::time::Duration;

/// A point in time by both clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    monotonic: Duration,
    wall: Duration,
}

impl Stamp {
    /// Now.
    #[inline]
    pub fn now() -> Stamp {
        let (monotonic, wall) = crate::ffi::os::coarse_clocks();
        Stamp { monotonic, wall }
    }

    /// A stamp with both clocks at `offset`, for tests that move time.
    #[cfg(test)]
    pub fn at(offset: Duration) -> Stamp {
        Stamp { monotonic: offset, wall: offset }
    }

    /// This moment after a suspend of `d`: the wall clock moved on, the monotonic one did not.
    #[cfg(test)]
    pub fn after_suspend(self, d: Duration) -> Stamp {
        Stamp { monotonic: self.monotonic, wall: self.wall.saturating_add(d) }
    }

    /// Earlier than `deadline` by both clocks.
    #[inline]
    pub fn before(self, deadline: Stamp) -> bool {
        self.monotonic < deadline.monotonic && self.wall < deadline.wall
    }

    /// The time left until `deadline`: the lesser of the two clocks' accounts, or zero.
    pub fn until(self, deadline: Stamp) -> Duration {
        deadline.monotonic.saturating_sub(self.monotonic).min(deadline.wall.saturating_sub(self.wall))
    }
}

impl Add<Duration> for Stamp {
    type Output = Stamp;
    #[inline]
    fn add(self, d: Duration) -> Stamp {
        Stamp { monotonic: self.monotonic.saturating_add(d), wall: self.wall.saturating_add(d) }
    }
}

/// Std's monotonic clock, from the first call: used only if the system clock call fails.
pub(crate) fn monotonic_fallback() -> Duration {
    static START: once_cell::sync::Lazy<std::time::Instant> = once_cell::sync::Lazy::new(std::time::Instant::now);
    START.elapsed()
}

/// Std's wall clock: used only if the system clock call fails.
pub(crate) fn wall_fallback() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_passes_when_either_clock_says_so() {
        let t0 = Stamp::at(Duration::from_secs(10_000));
        let deadline = t0 + Duration::from_secs(900);
        assert!(t0.before(deadline));
        assert_eq!(t0.until(deadline), Duration::from_secs(900));
        // Suspended 1000 s: the wall clock passed the deadline, the monotonic clock did not.
        let woke = t0.after_suspend(Duration::from_secs(1000));
        assert!(!woke.before(deadline));
        assert_eq!(woke.until(deadline), Duration::ZERO);
        // The wall clock set back an hour: the monotonic clock still counts.
        let set_back = Stamp { monotonic: t0.monotonic + Duration::from_secs(950), wall: t0.wall - Duration::from_secs(3600) };
        assert!(!set_back.before(deadline));
        // Real clocks move forward together.
        let a = Stamp::now();
        std::thread::sleep(Duration::from_millis(30));
        let b = Stamp::now();
        assert!(a.before(b + Duration::from_millis(1)) && !b.before(a));
    }
}
