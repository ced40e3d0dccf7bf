//! TLS for the HTTP agents, on the system's OpenSSL, as a connector in ureq's transport chain.
//!
//! - [`Trust`] is what a client trusts: the system store plus the certificates of its `ca_file`.
//!   With the `vendored-openssl` feature (the wheel's and the composer package's library), the
//!   system store is what [`system_store`] finds, not that OpenSSL's own defaults.
//!   Building an OpenSSL context loads the system store, which costs about 20 ms (most of a new
//!   client's first call), so each distinct `ca_file` content gets one [`Trust`] per process,
//!   built on first use and shared by every agent that needs it.
//! - Every `recv`/`send` under the TLS layer gets the time left until the request's deadline
//!   (ureq's `TransportAdapter`), so a server that drips its handshake or a record byte by byte
//!   cannot stretch a request past `timeout_ms`.
//! - A connection goes back to the pool only if no unread byte waits in OpenSSL, in the buffer
//!   under it, or in the socket: bytes past the end of an answer (a framing lie) would
//!   otherwise become the next request's answer.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use once_cell::sync::Lazy;
use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslOptions, SslStream, SslVersion};
use openssl::x509::{X509VerifyResult, X509};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport, TransportAdapter};

use super::budget;
use crate::error::openssl_reason;

/// Distinct `ca_file` contents a process keeps a TLS context for.
const MAX_TRUSTS: usize = 16;

/// The certificates a client trusts, and the OpenSSL context built from them on first use.
///
/// Thread safety: immutable but for the context, which is built once.
pub struct Trust {
    /// SHA-256 of the `ca_file` contents; `None` for the system store alone.
    digest: Option<[u8; 32]>,
    extra: Vec<X509>,
    context: OnceLock<SslConnector>,
}

static SYSTEM: Lazy<Arc<Trust>> = Lazy::new(|| Arc::new(Trust { digest: None, extra: Vec::new(), context: OnceLock::new() }));
static WITH_CA_FILES: Mutex<Vec<Arc<Trust>>> = Mutex::new(Vec::new());

impl Trust {
    /// The system store alone.
    pub fn system() -> Arc<Trust> {
        Arc::clone(&SYSTEM)
    }

    /// The system store plus the PEM certificates in `pem`; the same content gives the same,
    /// shared, `Trust`. The error completes "config: ca_file \"…\" …".
    pub fn with_extra_cas(pem: &[u8]) -> Result<Arc<Trust>, &'static str> {
        // Before any registry lock: see crate::fork.
        crate::fork::watch();
        let digest = openssl::sha::sha256(pem);
        if let Some(found) = registry().iter().find(|t| t.digest == Some(digest)) {
            return Ok(Arc::clone(found));
        }
        let extra = X509::stack_from_pem(pem).map_err(|_| "is not PEM certificates")?;
        if extra.is_empty() {
            return Err("holds no certificate");
        }
        let trust = Arc::new(Trust { digest: Some(digest), extra, context: OnceLock::new() });
        let mut trusts = registry();
        if let Some(found) = trusts.iter().find(|t| t.digest == Some(digest)) {
            return Ok(Arc::clone(found));
        }
        if trusts.len() >= MAX_TRUSTS {
            // Clients still holding the evicted one keep it; only sharing ends.
            trusts.remove(0);
        }
        trusts.push(Arc::clone(&trust));
        Ok(trust)
    }

    pub fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }

    /// The OpenSSL context: TLS 1.2 or later, peer and host name verified. Built on first use;
    /// `Http` builds it before a request's clock starts, so loading the trust store never eats
    /// into a request's timeouts. Only a complete build is kept: with OpenSSL built in, a system
    /// store unreadable for a moment (descriptors exhausted, a bundle being replaced) costs that
    /// call, not the process. While it stays unreadable, a client with a `ca_file` goes on with
    /// that file alone and builds the context again (about 10 ms) for each request.
    pub(crate) fn context(&self) -> Result<SslConnector, ureq::Error> {
        if let Some(kept) = self.context.get() {
            return Ok(kept.clone());
        }
        // Built outside the OnceLock, never waiting for another thread's build: a fork() during
        // that build would leave a child waiting for a thread it does not have. Two threads may
        // both build; one result is kept.
        let (built, complete) = crate::fork::openssl_work(|| self.build()).map_err(|why| TlsFailure::boxed(format!("cannot set up TLS: {why}")))?;
        if complete {
            let _ = self.context.set(built.clone());
        }
        Ok(built)
    }

    /// The context, and whether it is complete: not when the system store could not be read
    /// but the `ca_file` is enough to go on with.
    fn build(&self) -> Result<(SslConnector, bool), String> {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| openssl_reason(&e))?;
        builder.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(|e| openssl_reason(&e))?;
        // A server-initiated TLS 1.2 renegotiation has no use here.
        builder.set_options(SslOptions::NO_RENEGOTIATION);
        #[cfg(feature = "vendored-openssl")]
        let complete = match system_store(&mut builder) {
            Ok(()) => true,
            Err(why) if self.extra.is_empty() => return Err(why),
            Err(_) => false,
        };
        #[cfg(not(feature = "vendored-openssl"))]
        let complete = true;
        for cert in &self.extra {
            // A certificate already in the system store is not an error.
            let _ = builder.cert_store_mut().add_cert(cert.clone());
        }
        Ok((builder.build(), complete))
    }
}

/// Where Linux distributions keep their CA certificates, as openssl-probe and Go's crypto/x509
/// list them: the first file found, and each directory (searched by subject hash).
#[cfg(feature = "vendored-openssl")]
const CERT_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL 7 and later
    "/etc/pki/tls/certs/ca-bundle.crt",                  // RHEL 6
    "/etc/ssl/ca-bundle.pem",                            // openSUSE
    "/etc/pki/tls/cacert.pem",                           // OpenELEC
    "/etc/ssl/cert.pem",                                 // Alpine
];
#[cfg(feature = "vendored-openssl")]
const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// The system's CA certificates, for the OpenSSL built into this library (`vendored-openssl`),
/// each source as OpenSSL takes it:
/// - the file `SSL_CERT_FILE`, else the first of [`CERT_FILES`] found;
/// - the directories of `SSL_CERT_DIR` (separated by `:`), else those of [`CERT_DIRS`] found.
///
/// The variables are ignored in a setuid or setcap process, as OpenSSL's `secure_getenv` does;
/// unlike OpenSSL, one that names nothing is an error naming it, not an empty store. No
/// certificate at all is an error too: every handshake would fail on "unable to get local issuer
/// certificate", which does not say why.
#[cfg(feature = "vendored-openssl")]
fn system_store(builder: &mut openssl::ssl::SslConnectorBuilder) -> Result<(), String> {
    use std::path::{Path, PathBuf};

    use openssl::ssl::SslFiletype;
    use openssl::x509::store::{X509Lookup, X509StoreBuilder};

    // First, so that nothing else is trusted even when this fails: not the built-in OpenSSL's
    // defaults, which builder() loaded (its OPENSSLDIR, see .cargo/config.toml, and SSL_CERT_*
    // read its way), only what is found here.
    builder.set_cert_store(X509StoreBuilder::new().map_err(|e| openssl_reason(&e))?.build());
    // OpenSSL takes paths as C strings, and the openssl crate as UTF-8 (it panics on others).
    let env = |name: &str| match crate::ffi::os::secure_env(name).filter(|v| !v.is_empty()) {
        Some(value) if value.to_str().is_none() => Err(format!("{name} is not UTF-8, which this library needs of a path")),
        value => Ok(value),
    };
    let file = match env("SSL_CERT_FILE")? {
        Some(named) => {
            let file = PathBuf::from(named);
            if !file.is_file() {
                return Err(format!("SSL_CERT_FILE names {}, which is not a file", file.display()));
            }
            Some(file)
        }
        None => CERT_FILES.iter().map(PathBuf::from).find(|f| f.is_file()),
    };
    let dirs: Vec<PathBuf> = match env("SSL_CERT_DIR")? {
        Some(named) => {
            let dirs: Vec<PathBuf> = std::env::split_paths(&named).filter(|d| !d.as_os_str().is_empty()).collect();
            if let Some(dir) = dirs.iter().find(|d| !d.is_dir()) {
                return Err(format!("SSL_CERT_DIR names {}, which is not a directory", dir.display()));
            }
            dirs
        }
        None => CERT_DIRS.iter().map(PathBuf::from).filter(|d| d.is_dir()).collect(),
    };

    let mut found = false;
    if let Some(file) = &file {
        // Read first, for the system's own words ("Permission denied") rather than OpenSSL's code.
        std::fs::File::open(file).map_err(|e| format!("cannot read the CA certificates of {}: {e}", file.display()))?;
        builder.set_ca_file(file).map_err(|e| format!("cannot load the CA certificates of {}: {}", file.display(), openssl_reason(&e)))?;
        // OpenSSL refuses a file without a certificate ("no certificate or crl found").
        found = true;
    }
    // A directory counts when it has a hash link ("1a2b3c4d.0"): OpenSSL looks up nothing else.
    let hashed = |dir: &Path| -> Result<bool, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the CA certificates in {}: {e}", dir.display()))?;
        Ok(entries.flatten().any(|e| e.file_name().to_str().is_some_and(|n| n.len() > 9 && n.as_bytes()[8] == b'.')))
    };
    let mut lookup_dirs = Vec::new();
    for dir in &dirs {
        if hashed(dir)? {
            lookup_dirs.extend(dir.to_str());
        }
    }
    if !lookup_dirs.is_empty() {
        let lookup = builder.cert_store_mut().add_lookup(X509Lookup::hash_dir()).map_err(|e| openssl_reason(&e))?;
        for dir in lookup_dirs {
            lookup.add_dir(dir, SslFiletype::PEM).map_err(|e| openssl_reason(&e))?;
            found = true;
        }
    }
    if found {
        Ok(())
    } else {
        Err("found no CA certificates on this system (SSL_CERT_FILE, SSL_CERT_DIR, then the usual \
             places; a directory counts with its hash links, see openssl rehash): install them (Debian: \
             ca-certificates), set SSL_CERT_FILE, or the client's ca_file"
            .to_owned())
    }
}

/// The registry of trusts built from `ca_file`s; also held across `fork()` (see `crate::fork`).
pub(crate) fn registry() -> MutexGuard<'static, Vec<Arc<Trust>>> {
    WITH_CA_FILES.lock().unwrap_or_else(|p| p.into_inner())
}

/// A TLS handshake or setup failure, carried through ureq to `Http`'s error mapping.
#[derive(Debug)]
pub(super) struct TlsFailure(pub String);

impl TlsFailure {
    fn boxed(text: String) -> ureq::Error {
        ureq::Error::Other(Box::new(TlsFailure(text)))
    }
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

/// The connector: wraps the chained TCP (or proxy tunnel) transport in TLS for https URLs.
#[derive(Debug)]
pub(super) struct TlsConnector(pub Arc<Trust>);

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust").field("extra_cas", &self.extra.len()).finish_non_exhaustive()
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else { return Ok(None) };
        if !details.needs_tls() || transport.is_tls() {
            budget::mark(budget::Connection::Open);
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let mut adapter = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        adapter.set_timeout(budget::connect(details.timeout));
        let io = Captured { inner: adapter, error: None };
        let ssl = self.0.context()?.configure().map_err(|e| TlsFailure::boxed(openssl_reason(&e)))?;
        let stream = match ssl.connect(host, io) {
            Ok(stream) => stream,
            Err(HandshakeError::Failure(mut mid)) => {
                // A timeout under TLS is a timeout, not a TLS failure.
                let captured = mid.get_mut().error.take();
                if let Some(e @ ureq::Error::Timeout(_)) = captured {
                    return Err(e);
                }
                let verify = mid.ssl().verify_result();
                let mut why = match (mid.error().ssl_error(), captured) {
                    (Some(stack), _) => openssl_reason(stack),
                    (None, Some(_)) => "the connection was reset during the handshake".to_owned(),
                    (None, None) => "the server closed the connection during the handshake".to_owned(),
                };
                if verify != X509VerifyResult::OK {
                    why = format!("{why} ({})", verify.error_string());
                }
                return Err(TlsFailure::boxed(why));
            }
            Err(HandshakeError::SetupFailure(e)) => return Err(TlsFailure::boxed(openssl_reason(&e))),
            Err(HandshakeError::WouldBlock(_)) => return Err(TlsFailure::boxed("the handshake was interrupted".into())),
        };
        let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        budget::mark(budget::Connection::Open);
        Ok(Some(Either::B(TlsTransport { buffers, stream })))
    }
}

/// The transport under TLS, with the first error it raised kept whole: OpenSSL would reduce a
/// timeout to "syscall failure".
struct Captured {
    inner: TransportAdapter,
    error: Option<ureq::Error>,
}

impl Captured {
    fn keep(&mut self, e: io::Error) -> io::Error {
        let kind = e.kind();
        self.error.get_or_insert(ureq::Error::from(e));
        io::Error::new(kind, "transport error under TLS")
    }

    fn take(&mut self) -> Result<(), ureq::Error> {
        self.error.take().map_or(Ok(()), Err)
    }
}

impl Read for Captured {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.keep(e))
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.keep(e))
    }
}

pub(super) struct TlsTransport {
    buffers: LazyBuffers,
    stream: SslStream<Captured>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().inner.set_timeout(timeout);
        let written = self.stream.write_all(&self.buffers.output()[..amount]);
        self.stream.get_mut().take()?;
        written.map_err(ureq::Error::from)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().inner.set_timeout(timeout);
        let read = self.stream.read(self.buffers.input_append_buf());
        self.stream.get_mut().take()?;
        let n = read?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        // Bytes nobody asked for are a framing lie, wherever they wait: decrypted in OpenSSL,
        // as further records in the buffer of the transport below, or in the socket.
        if self.stream.ssl().pending() != 0 {
            return false;
        }
        let below = self.stream.get_mut().inner.get_mut();
        below.buffers().input().is_empty() && below.is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
