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

/// This process's effective user id, which owns the files it creates.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Takes an exclusive POSIX record lock on all of `file` without blocking: `Ok(false)` when
/// another process holds it. A process's record locks are not inherited by a fork() child (a
/// child forked mid-fetch cannot keep the fleet waiting, as a `flock` it shared would) and go
/// when the process dies; they also go when the process closes any descriptor of the file.
pub(crate) fn try_lock_exclusive(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero flock is a valid value; the fields that matter are set below.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`), and
    // `lock` is a valid flock that F_SETLK only reads.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EAGAIN)) {
        return Ok(false);
    }
    Err(e)
}

/// A panic must not unwind into libc's fork(); it cannot happen in these handlers, but if it
/// did, aborting is the only safe answer.
fn contain(f: fn()) {
    if std::panic::catch_unwind(f).is_err() {
        std::process::abort();
    }
}

/// The monotonic and wall clocks, as durations since their epochs. On Linux the coarse ones:
/// about 5 ns for both (the precise clocks cost 20 ns each), at the resolution of the kernel
/// tick (1–10 ms).
#[inline]
pub(crate) fn coarse_clocks() -> (Duration, Duration) {
    #[cfg(target_os = "linux")]
    let (monotonic, wall) = (libc::CLOCK_MONOTONIC_COARSE, libc::CLOCK_REALTIME_COARSE);
    #[cfg(not(target_os = "linux"))]
    let (monotonic, wall) = (libc::CLOCK_MONOTONIC, libc::CLOCK_REALTIME);
    (read(monotonic).unwrap_or_else(crate::clock::monotonic_fallback), read(wall).unwrap_or_else(crate::clock::wall_fallback))
}

#[inline]
fn read(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    // Both clocks exist on every Linux since 2.6.32; a failure takes std's clocks instead.
    (rc == 0).then(|| Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0)))
}

/// OpenSSL's initialization and the fork handlers happen when the library is loaded, before a
/// host thread can be inside it: done lazily, a first call racing a fork() could leave the
/// child with either half done (see `fork::watch`; Rust programs linking the rlib get it on
/// first use).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static INSTALL_AT_LOAD: extern "C" fn() = {
    extern "C" fn install() {
        contain(crate::fork::watch);
    }
    install
};

/// `name` from the environment, as OpenSSL's `secure_getenv` reads it: not in a setuid or setcap
/// process (`AT_SECURE`), whose environment is its unprivileged caller's.
#[cfg_attr(not(feature = "vendored-openssl"), allow(dead_code))]
pub(crate) fn secure_env(name: &str) -> Option<std::ffi::OsString> {
    // SAFETY: getauxval has no preconditions; an absent entry reads as 0.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    if secure {
        None
    } else {
        std::env::var_os(name)
    }
}

/// With OpenSSL built in (`vendored-openssl`): its first initialisation (`fork::watch`, when the
/// library is loaded), without a configuration file. That OpenSSL's would be
/// `/usr/local/ssl/openssl.cnf` (openssl-src's prefix), not this system's, and a file there can
/// name a provider module: code every process loading this library would run. `OPENSSL_CONF` is
/// not read either; everything TLS needs is set in code (`http::tls`). No exit handler, as in
/// openssl-sys's own initialisation: OpenSSL's cleanup at exit would pull state from under
/// threads still using it.
#[cfg(feature = "vendored-openssl")]
pub(crate) fn openssl_without_config() {
    const OPENSSL_INIT_NO_LOAD_CONFIG: u64 = 0x0000_0080;
    const OPENSSL_INIT_NO_ATEXIT: u64 = 0x0008_0000;
    extern "C" {
        fn OPENSSL_init_crypto(opts: u64, settings: *const std::ffi::c_void) -> std::ffi::c_int;
    }
    // SAFETY: OPENSSL_init_crypto may be called at any time, from any thread, with NULL
    // settings. On failure (0) OpenSSL's later initialisation reports the error.
    unsafe {
        OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, std::ptr::null());
    }
}
