//! HTTPS for the sandbox: a local CA and a server certificate for `localhost` / `127.0.0.1`,
//! written once to a directory and reused, so clients configured with `ca.pem` keep working
//! across restarts. A missing, expiring or mismatched server certificate is reissued from the
//! existing CA; a damaged CA is reported rather than silently replaced.

use std::fs;
use std::io::{self, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{HandshakeError, SslAcceptor, SslMethod, SslStream};
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier};
use openssl::x509::{X509Name, X509};

use doku::error::openssl_reason;

pub(crate) const CA_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const SERVER_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";
const CA_DAYS: u32 = 3650;
/// The longest validity Apple platforms accept for a TLS server certificate.
const SERVER_DAYS: u32 = 825;

fn ossl(context: &str) -> impl Fn(ErrorStack) -> io::Error + '_ {
    move |e| io::Error::other(format!("{context}: {}", openssl_reason(&e)))
}

/// Loads or creates the files in `dir` and builds the acceptor.
pub(crate) fn acceptor(dir: &Path) -> io::Result<SslAcceptor> {
    fs::create_dir_all(dir)?;
    let (ca, ca_key) = load_or_create_ca(dir)?;
    let (cert, key) = load_or_issue_server(dir, &ca, &ca_key)?;
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(ossl("TLS setup"))?;
    builder.set_private_key(&key).map_err(ossl("TLS setup"))?;
    builder.set_certificate(&cert).map_err(ossl("TLS setup"))?;
    builder.check_private_key().map_err(ossl("TLS setup"))?;
    // No TLS 1.3 session tickets: clients keep their connections rather than resume sessions,
    // and without them every record after the handshake is an answer (which the tests'
    // dripping relay relies on to tell the phases apart).
    builder.set_num_tickets(0).map_err(ossl("TLS setup"))?;
    Ok(builder.build())
}

/// A connection's socket, with writes held until `flush`: an answer leaves in one TCP send, and
/// so do TLS records written together (OpenSSL writes each record on its own), as a busy
/// server's often do. The `overlong` fault relies on it: its forged answer travels with the
/// real one, in a record of its own, rather than in a later segment.
pub(crate) struct Corked {
    pub tcp: TcpStream,
    held: Vec<u8>,
}

impl Corked {
    pub fn new(tcp: TcpStream) -> Corked {
        Corked { tcp, held: Vec::new() }
    }
}

impl io::Read for Corked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for Corked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        self.tcp.write_all(&held)?;
        self.tcp.flush()
    }
}

/// Completes a server handshake before `deadline`, however slowly the client trickles bytes.
pub(crate) fn handshake(acceptor: &SslAcceptor, tcp: TcpStream, deadline: Instant) -> Result<SslStream<Corked>, String> {
    let left = |d: Instant| {
        let left = d.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err("TLS handshake timed out".to_owned())
        } else {
            Ok(left)
        }
    };
    tcp.set_read_timeout(Some(left(deadline)?)).map_err(|e| e.to_string())?;
    let mut attempt = acceptor.accept(Corked::new(tcp));
    loop {
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(HandshakeError::WouldBlock(mid)) => {
                mid.get_ref().tcp.set_read_timeout(Some(left(deadline)?)).map_err(|e| e.to_string())?;
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(mid)) => return Err(format!("TLS handshake failed: {}", mid.error())),
            Err(HandshakeError::SetupFailure(e)) => return Err(format!("TLS setup failed: {}", openssl_reason(&e))),
        }
    }
}

fn load_or_create_ca(dir: &Path) -> io::Result<(X509, PKey<Private>)> {
    let (cert_path, key_path) = (dir.join(CA_FILE), dir.join(CA_KEY_FILE));
    if !cert_path.exists() && !key_path.exists() {
        let key = new_key()?;
        let cert = ca_certificate(&key).map_err(ossl("creating the CA certificate"))?;
        write_file(&key_path, &key.private_key_to_pem_pkcs8().map_err(ossl("CA key"))?, true)?;
        write_file(&cert_path, &cert.to_pem().map_err(ossl("CA certificate"))?, false)?;
        return Ok((cert, key));
    }
    let damaged = |why: String| {
        io::Error::other(format!(
            "{}: {why}; delete {} and {} to create a new CA (clients must then trust the new ca.pem)",
            dir.display(),
            CA_FILE,
            CA_KEY_FILE
        ))
    };
    let cert = fs::read(&cert_path)
        .map_err(|e| damaged(format!("cannot read {CA_FILE}: {e}")))
        .and_then(|b| X509::from_pem(&b).map_err(|e| damaged(format!("{CA_FILE} is not a PEM certificate: {}", openssl_reason(&e)))))?;
    let key = fs::read(&key_path).map_err(|e| damaged(format!("cannot read {CA_KEY_FILE}: {e}"))).and_then(|b| {
        PKey::private_key_from_pem(&b).map_err(|e| damaged(format!("{CA_KEY_FILE} is not a PEM private key: {}", openssl_reason(&e))))
    })?;
    let matches = cert.public_key().map(|p| p.public_eq(&key)).unwrap_or(false);
    if !matches {
        return Err(damaged(format!("{CA_KEY_FILE} does not belong to {CA_FILE}")));
    }
    Ok((cert, key))
}

fn load_or_issue_server(dir: &Path, ca: &X509, ca_key: &PKey<Private>) -> io::Result<(X509, PKey<Private>)> {
    let (cert_path, key_path) = (dir.join(SERVER_FILE), dir.join(SERVER_KEY_FILE));
    if let (Ok(c), Ok(k)) = (fs::read(&cert_path), fs::read(&key_path)) {
        if let (Ok(cert), Ok(key)) = (X509::from_pem(&c), PKey::private_key_from_pem(&k)) {
            if server_still_good(&cert, &key, ca_key) {
                return Ok((cert, key));
            }
        }
    }
    let key = new_key()?;
    let cert = server_certificate(ca, ca_key, &key).map_err(ossl("creating the server certificate"))?;
    write_file(&key_path, &key.private_key_to_pem_pkcs8().map_err(ossl("server key"))?, true)?;
    write_file(&cert_path, &cert.to_pem().map_err(ossl("server certificate"))?, false)?;
    Ok((cert, key))
}

/// Signed by this CA, matching its key, and valid for at least another day.
fn server_still_good(cert: &X509, key: &PKey<Private>, ca_key: &PKey<Private>) -> bool {
    let key_matches = cert.public_key().map(|p| p.public_eq(key)).unwrap_or(false);
    let signed_by_ca = cert.verify(ca_key).unwrap_or(false);
    let fresh = Asn1Time::days_from_now(1).map(|t| cert.not_after() > t).unwrap_or(false);
    key_matches && signed_by_ca && fresh
}

fn new_key() -> io::Result<PKey<Private>> {
    Rsa::generate(2048).and_then(PKey::from_rsa).map_err(ossl("generating an RSA key"))
}

fn serial() -> Result<Asn1Integer, ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

/// An hour in the past, so a client whose clock is slightly behind accepts new certificates.
fn not_before() -> Result<Asn1Time, ErrorStack> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Asn1Time::from_unix(i64::try_from(now).unwrap_or(0) - 3600)
}

fn name(common_name: &str) -> Result<X509Name, ErrorStack> {
    let mut name = X509Name::builder()?;
    name.append_entry_by_text("O", "doku-sandbox")?;
    name.append_entry_by_text("CN", common_name)?;
    Ok(name.build())
}

fn ca_certificate(key: &PKey<Private>) -> Result<X509, ErrorStack> {
    let subject = name("doku-sandbox local CA")?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let (serial, not_before) = (serial()?, not_before()?);
    b.set_serial_number(&serial)?;
    b.set_subject_name(&subject)?;
    b.set_issuer_name(&subject)?;
    b.set_pubkey(key)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&*Asn1Time::days_from_now(CA_DAYS)?)?;
    b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

fn server_certificate(ca: &X509, ca_key: &PKey<Private>, key: &PKey<Private>) -> Result<X509, ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let (serial, not_before) = (serial()?, not_before()?);
    b.set_serial_number(&serial)?;
    b.set_subject_name(&*name("localhost")?)?;
    b.set_issuer_name(ca.subject_name())?;
    b.set_pubkey(key)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&*Asn1Time::days_from_now(SERVER_DAYS)?)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().key_encipherment().build()?)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new().dns("localhost").ip("127.0.0.1").ip("::1").build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(san)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new().keyid(false).build(&b.x509v3_context(Some(ca), None))?;
    b.append_extension(aki)?;
    b.sign(ca_key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// Writes through a temporary file and a rename, so a reader never sees half a file; private
/// keys are created with mode 0600.
pub(crate) fn write_file(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = options.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match result.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("doku-sbx-tls-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        acceptor(&dir).unwrap();
        let ca = fs::read(dir.join(CA_FILE)).unwrap();
        let server = fs::read(dir.join(SERVER_FILE)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [CA_KEY_FILE, SERVER_KEY_FILE] {
                assert_eq!(fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
            }
        }
        acceptor(&dir).unwrap();
        assert_eq!(fs::read(dir.join(CA_FILE)).unwrap(), ca, "the CA is reused");
        assert_eq!(fs::read(dir.join(SERVER_FILE)).unwrap(), server, "the server certificate is reused");

        // A lost server certificate is reissued from the same CA.
        fs::remove_file(dir.join(SERVER_FILE)).unwrap();
        acceptor(&dir).unwrap();
        assert_eq!(fs::read(dir.join(CA_FILE)).unwrap(), ca);
        let cert = X509::from_pem(&fs::read(dir.join(SERVER_FILE)).unwrap()).unwrap();
        let ca_cert = X509::from_pem(&ca).unwrap();
        assert!(cert.verify(&ca_cert.public_key().unwrap()).unwrap());
        let sans: Vec<String> = cert
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|n| n.dnsname().map(str::to_owned).unwrap_or_else(|| format!("{:?}", n.ipaddress().unwrap())))
            .collect();
        assert!(sans.contains(&"localhost".to_owned()), "{sans:?}");
        assert!(sans.contains(&"[127, 0, 0, 1]".to_owned()), "{sans:?}");

        // A damaged CA is reported, not replaced.
        fs::write(dir.join(CA_KEY_FILE), "garbage").unwrap();
        let e = acceptor(&dir).err().expect("a damaged CA must be refused").to_string();
        assert!(e.contains("ca-key.pem is not a PEM private key"), "{e}");
        assert_eq!(fs::read(dir.join(CA_FILE)).unwrap(), ca);
        fs::remove_dir_all(&dir).unwrap();
    }
}
