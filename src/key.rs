//! RSA keys as merchants hold them: PKCS#8 PEM, PKCS#1 PEM, encrypted PKCS#8 PEM (or legacy
//! `Proc-Type: 4,ENCRYPTED` PKCS#1), or bare base64 of the DER pasted from a dashboard.
//!
//! OpenSSL 3 needs about as long to decode a PEM key through its generic decoders as to sign
//! with it, so this module does the cheap part itself: it strips the armour, reads the outer
//! DER structure, and hands the inner RSAPrivateKey to the legacy DER parser (microseconds).
//! On top of that, parsed keys are kept in a small process-wide cache keyed by a digest of the
//! key text, so stateless `doku_sign` calls and per-request clients (PHP-FPM) parse each key once.
//!
//! Copies of key text and DER made here are zeroized when dropped.

use std::sync::{Arc, Mutex};

use openssl::error::ErrorStack;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::sha::Sha256;
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::error::{openssl_reason, Error, Result};

/// DOKU's floor, and the norm: anything shorter is refused.
pub const MIN_RSA_BITS: u32 = 2048;
/// How many parsed keys the process keeps; a terminal or a web worker uses one or two.
const KEY_CACHE_CAPACITY: usize = 16;

/// A parsed RSA private key of at least 2048 bits.
///
/// Thread safety: immutable after parsing; shared between threads through `Arc`.
pub struct PrivateKey {
    pkey: PKey<Private>,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(RSA-{})", self.pkey.bits())
    }
}

/// A parsed RSA public key of at least 2048 bits.
#[derive(Clone)]
pub struct PublicKey {
    pkey: PKey<Public>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(RSA-{})", self.pkey.bits())
    }
}

/// A small LRU of parsed keys keyed by a digest of their text: parsing costs as much as a
/// signature, and callers (stateless `doku_sign`, PHP-FPM's per-request clients, notification
/// handlers) pass the same key text again and again.
struct DigestCache<T> {
    entries: Mutex<Vec<([u8; 32], Arc<T>)>>,
}

impl<T> DigestCache<T> {
    const fn new() -> Self {
        DigestCache { entries: Mutex::new(Vec::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<([u8; 32], Arc<T>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_or_parse(&self, digest: [u8; 32], parse: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        crate::fork::watch();
        {
            let mut entries = self.lock();
            if let Some(pos) = entries.iter().position(|(d, _)| *d == digest) {
                // Most recently used goes last, so eviction takes the front.
                let entry = entries.remove(pos);
                let value = Arc::clone(&entry.1);
                entries.push(entry);
                return Ok(value);
            }
        }
        // Parse outside the lock: other keys stay available meanwhile.
        let value = Arc::new(crate::fork::openssl_work(parse)?);
        let mut entries = self.lock();
        if !entries.iter().any(|(d, _)| *d == digest) {
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.remove(0);
            }
            entries.push((digest, Arc::clone(&value)));
        }
        Ok(value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

static PRIVATE_KEYS: DigestCache<PrivateKey> = DigestCache::new();
static PUBLIC_KEYS: DigestCache<PublicKey> = DigestCache::new();

/// Both key caches, locked (see `crate::fork`, which holds them across a fork).
pub(crate) struct CacheGuards {
    _private: std::sync::MutexGuard<'static, Vec<([u8; 32], Arc<PrivateKey>)>>,
    _public: std::sync::MutexGuard<'static, Vec<([u8; 32], Arc<PublicKey>)>>,
}

pub(crate) fn lock_caches() -> CacheGuards {
    CacheGuards { _private: PRIVATE_KEYS.lock(), _public: PUBLIC_KEYS.lock() }
}

impl PrivateKey {
    /// Parses key text, consulting the process-wide cache first. `passphrase` is needed only for
    /// encrypted keys and is ignored otherwise.
    pub fn cached(text: &str, passphrase: Option<&[u8]>) -> Result<Arc<PrivateKey>> {
        PRIVATE_KEYS.get_or_parse(cache_digest(b"private", text.as_bytes(), passphrase), || Self::parse(text, passphrase))
    }

    /// Parses key text without the cache.
    pub fn parse(text: &str, passphrase: Option<&[u8]>) -> Result<PrivateKey> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::key("the private key is empty"));
        }
        let pkey = if text.contains("-----BEGIN ") {
            const EXPECTED: &str = "BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY";
            let pem = Pem::parse(text, EXPECTED)?;
            match pem.label {
                "PRIVATE KEY" => private_from_der(&pem.der, None)?,
                "RSA PRIVATE KEY" if pem.encrypted_headers => {
                    let pass =
                        passphrase.ok_or_else(|| Error::key("the private key is encrypted (Proc-Type: 4,ENCRYPTED) and no passphrase was given"))?;
                    let rsa = Rsa::private_key_from_pem_callback(pem.block.as_bytes(), passphrase_callback(pass)?)
                        .map_err(|_| Error::key("cannot decrypt the private key: wrong passphrase or corrupt key"))?;
                    PKey::from_rsa(rsa).map_err(|e| Error::key(format!("invalid RSA key: {}", openssl_reason(&e))))?
                }
                "RSA PRIVATE KEY" => private_from_der(&pem.der, None)?,
                "ENCRYPTED PRIVATE KEY" => private_from_der(&pem.der, Some(passphrase))?,
                "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => {
                    return Err(Error::key(format!(
                        "expected a private key but got a {} (BEGIN {})",
                        if pem.label == "CERTIFICATE" { "certificate" } else { "public key" },
                        pem.label
                    )))
                }
                "EC PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                    return Err(Error::key(format!("not an RSA private key (BEGIN {}); DOKU needs RSA", pem.label)))
                }
                other => return Err(Error::key(format!("unsupported PEM block \"BEGIN {other}\"; expected {EXPECTED}"))),
            }
        } else {
            let der = decode_base64(text).map_err(|()| Error::key("the private key is neither PEM (-----BEGIN ...) nor base64 of a DER key"))?;
            private_from_der(&der, Some(passphrase))?
        };
        let rsa = pkey.rsa().map_err(|e| Error::key(format!("invalid RSA key: {}", openssl_reason(&e))))?;
        check_bits(rsa.size() * 8)?;
        // A structurally valid key with wrong numbers would sign garbage that DOKU refuses with
        // a bare "Invalid Signature". A pairwise test (sign, then verify with the public half)
        // catches it here, once per key, for the price of one signature; RSA_check_key's
        // primality tests would cost a hundred times more.
        if !pairwise_consistent(&pkey) {
            return Err(Error::key("the RSA private key is inconsistent (its signatures do not verify with its own public key)"));
        }
        let fingerprint = rsa_fingerprint(rsa.n().to_vec(), rsa.e().to_vec());
        Ok(PrivateKey { pkey, fingerprint })
    }

    pub fn pkey(&self) -> &PKey<Private> {
        &self.pkey
    }

    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// SHA-256 over the public modulus and exponent: the same key in any format has the same
    /// fingerprint. Used to key the token cache; it reveals nothing of the private key.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The matching public key (PEM), e.g. for registering a merchant with the sandbox.
    pub fn public_key_pem(&self) -> Result<String> {
        let pem = self.pkey.public_key_to_pem().map_err(|e| Error::key(openssl_reason(&e)))?;
        Ok(String::from_utf8_lossy(&pem).into_owned())
    }
}

impl PublicKey {
    /// Parses key text, consulting the process-wide cache first.
    pub fn cached(text: &str) -> Result<Arc<PublicKey>> {
        PUBLIC_KEYS.get_or_parse(cache_digest(b"public", text.as_bytes(), None), || Self::parse(text))
    }

    /// Parses `BEGIN PUBLIC KEY`, `BEGIN RSA PUBLIC KEY`, `BEGIN CERTIFICATE`, or bare base64 of
    /// an SPKI or PKCS#1 DER.
    pub fn parse(text: &str) -> Result<PublicKey> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::key("the public key is empty"));
        }
        let pkey = if text.contains("-----BEGIN ") {
            const EXPECTED: &str = "BEGIN PUBLIC KEY";
            let pem = Pem::parse(text, EXPECTED)?;
            match pem.label {
                "PUBLIC KEY" => PKey::public_key_from_der(&pem.der).map_err(|e| malformed("public key", &e))?,
                "RSA PUBLIC KEY" => rsa_public_pkcs1(&pem.der)?,
                "CERTIFICATE" => X509::from_der(&pem.der).and_then(|c| c.public_key()).map_err(|e| malformed("certificate", &e))?,
                l if l.contains("PRIVATE KEY") => return Err(Error::key(format!("expected a public key but got a private key (BEGIN {l})"))),
                other => return Err(Error::key(format!("unsupported PEM block \"BEGIN {other}\"; expected {EXPECTED}"))),
            }
        } else {
            let der = decode_base64(text).map_err(|()| Error::key("the public key is neither PEM (-----BEGIN ...) nor base64 of a DER key"))?;
            match PKey::public_key_from_der(&der) {
                Ok(pkey) => pkey,
                Err(_) => rsa_public_pkcs1(&der)?,
            }
        };
        if pkey.id() != Id::RSA {
            return Err(Error::key(format!("not an RSA public key ({}); DOKU uses RSA", algorithm_name(pkey.id()))));
        }
        check_bits(pkey.bits())?;
        Ok(PublicKey { pkey })
    }

    pub fn pkey(&self) -> &PKey<Public> {
        &self.pkey
    }

    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }
}

fn pairwise_consistent(pkey: &PKey<Private>) -> bool {
    use openssl::hash::MessageDigest;
    use openssl::sign::{Signer, Verifier};
    const PROBE: &[u8] = b"doku-snap pairwise consistency test";
    let sig = Signer::new(MessageDigest::sha256(), pkey).and_then(|mut s| s.sign_oneshot_to_vec(PROBE));
    let Ok(sig) = sig else { return false };
    Verifier::new(MessageDigest::sha256(), pkey).and_then(|mut v| v.verify_oneshot(&sig, PROBE)).unwrap_or(false)
}

fn rsa_public_pkcs1(der: &[u8]) -> Result<PKey<Public>> {
    Rsa::public_key_from_der_pkcs1(der).and_then(PKey::from_rsa).map_err(|e| malformed("public key", &e))
}

fn malformed(what: &str, e: &openssl::error::ErrorStack) -> Error {
    Error::key(format!("malformed {what}: {}", openssl_reason(e)))
}

fn check_bits(bits: u32) -> Result<()> {
    if bits < MIN_RSA_BITS {
        return Err(Error::key(format!("RSA key of {bits} bits is too short: DOKU requires at least {MIN_RSA_BITS}")));
    }
    Ok(())
}

fn algorithm_name(id: Id) -> &'static str {
    match id {
        Id::EC => "EC",
        Id::ED25519 => "Ed25519",
        Id::ED448 => "Ed448",
        Id::DSA => "DSA",
        Id::DH => "DH",
        Id::RSA_PSS => "RSASSA-PSS",
        _ => "unknown algorithm",
    }
}

/// `passphrase` is `None` when encrypted DER is not acceptable here (plain PEM labels), and
/// `Some(p)` when it is (encrypted PEM label, or bare base64 which can hold anything).
fn private_from_der(der: &[u8], passphrase: Option<Option<&[u8]>>) -> Result<PKey<Private>> {
    match der::classify(der) {
        der::Shape::Pkcs1 => Rsa::private_key_from_der(der).and_then(PKey::from_rsa).map_err(|e| malformed("RSA private key", &e)),
        der::Shape::Pkcs8Rsa(inner) => Rsa::private_key_from_der(inner).and_then(PKey::from_rsa).map_err(|e| malformed("RSA private key", &e)),
        der::Shape::Pkcs8Other => {
            let pkey = PKey::private_key_from_pkcs8(der).map_err(|e| malformed("PKCS#8 private key", &e))?;
            Err(Error::key(format!("not an RSA private key ({}); DOKU needs RSA", algorithm_name(pkey.id()))))
        }
        der::Shape::EncryptedPkcs8 => {
            let pass = match passphrase {
                None => return Err(Error::key("the private key is encrypted DER inside an unencrypted PEM label")),
                Some(None) => return Err(Error::key("the private key is encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given")),
                Some(Some(p)) => p,
            };
            let pkey = PKey::private_key_from_pkcs8_callback(der, passphrase_callback(pass)?)
                .map_err(|_| Error::key("cannot decrypt the private key: wrong passphrase or corrupt key"))?;
            if pkey.id() != Id::RSA {
                return Err(Error::key(format!("not an RSA private key ({}); DOKU needs RSA", algorithm_name(pkey.id()))));
            }
            Ok(pkey)
        }
        der::Shape::PublicSpki => Err(Error::key("expected a private key but got a public key")),
        der::Shape::Unknown => Err(Error::key("malformed private key: the DER is not PKCS#8, PKCS#1 or encrypted PKCS#8")),
    }
}

/// The size of the buffer OpenSSL passes to a passphrase callback (PEM_BUFSIZE).
const MAX_PASSPHRASE: usize = 1024;

/// Hands the passphrase to OpenSSL's callback, which copies it into a buffer of OpenSSL's own
/// that it wipes after use. The openssl crate's `*_passphrase` functions would first copy it
/// into a CString that is freed unwiped (and panic on a NUL byte in it).
fn passphrase_callback(pass: &[u8]) -> Result<impl FnOnce(&mut [u8]) -> std::result::Result<usize, ErrorStack> + '_> {
    if pass.len() > MAX_PASSPHRASE {
        return Err(Error::key(format!("the passphrase is longer than {MAX_PASSPHRASE} bytes, more than OpenSSL takes")));
    }
    Ok(move |buf: &mut [u8]| {
        buf.get_mut(..pass.len()).ok_or_else(ErrorStack::get)?.copy_from_slice(pass);
        Ok(pass.len())
    })
}

fn rsa_fingerprint(n: Vec<u8>, e: Vec<u8>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"doku-rsa-public-v1\0");
    h.update(&(n.len() as u64).to_be_bytes());
    h.update(&n);
    h.update(&e);
    h.finish()
}

fn cache_digest(kind: &[u8], text: &[u8], passphrase: Option<&[u8]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"doku-key-text-v1\0");
    h.update(kind);
    h.update(&(text.len() as u64).to_be_bytes());
    h.update(text);
    if let Some(p) = passphrase {
        h.update(&[1]);
        h.update(p);
    }
    h.finish()
}

/// The PEM labels this crate knows. Only these are ever echoed in a message: a label is read
/// from untrusted text, and a malformed BEGIN line could make anything look like one.
const KNOWN_LABELS: &[&str] = &[
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "CERTIFICATE",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "EC PARAMETERS",
];

/// One PEM block with a known label. `der` and `block` are zeroized on drop.
struct Pem {
    label: &'static str,
    encrypted_headers: bool,
    block: Zeroizing<String>,
    der: Zeroizing<Vec<u8>>,
}

impl Pem {
    /// `expected` names the labels the caller accepts, for the unknown-label message.
    fn parse(text: &str, expected: &str) -> Result<Pem> {
        let start = text.find("-----BEGIN ").ok_or_else(|| Error::key("no -----BEGIN line in the PEM"))?;
        let after = &text[start + "-----BEGIN ".len()..];
        // The label ends on its own line: a BEGIN line short of dashes must not make the body
        // (up to the END line's dashes) the label.
        let line = &after[..after.find(['\r', '\n']).unwrap_or(after.len())];
        let label_end = line.find("-----").ok_or_else(|| Error::key("malformed PEM: the BEGIN line does not end with \"-----\""))?;
        let label = KNOWN_LABELS
            .iter()
            .copied()
            .find(|&l| l == &line[..label_end])
            .ok_or_else(|| Error::key(format!("unsupported PEM block: an unknown PEM label; expected {expected}")))?;
        let body_and_rest = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_and_rest.find(&end_marker).ok_or_else(|| Error::key(format!("malformed PEM: missing \"{end_marker}\" (truncated key?)")))?;
        let body = &body_and_rest[..end];
        let mut encrypted_headers = false;
        let mut b64 = Zeroizing::new(String::with_capacity(body.len()));
        for line in body.lines() {
            if line.contains(':') {
                // RFC 1421 headers, e.g. "Proc-Type: 4,ENCRYPTED" / "DEK-Info: ...".
                encrypted_headers |= line.contains("ENCRYPTED");
                continue;
            }
            b64.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
        let der = decode_base64(&b64).map_err(|()| Error::key(format!("malformed PEM: the BEGIN {label} body is not valid base64")))?;
        let block = Zeroizing::new(text[start..start + "-----BEGIN ".len() + label_end + 5 + end + end_marker.len()].to_owned());
        Ok(Pem { label, encrypted_headers, block, der })
    }
}

/// Standard base64, padded; whitespace inside is ignored (keys pasted with line breaks).
fn decode_base64(text: &str) -> std::result::Result<Zeroizing<Vec<u8>>, ()> {
    // Sized up front: a String grown by collect() frees each smaller buffer unwiped.
    let mut compact = Zeroizing::new(String::with_capacity(text.len()));
    compact.extend(text.chars().filter(|c| !c.is_ascii_whitespace()));
    if compact.is_empty() || compact.len() % 4 != 0 || !compact.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
        return Err(());
    }
    openssl::base64::decode_block(&compact).map(Zeroizing::new).map_err(|_| ())
}

/// Just enough DER to tell key containers apart and to unwrap PKCS#8 around an RSA key.
mod der {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    const BIT_STRING: u8 = 0x03;
    const OID: u8 = 0x06;
    /// 1.2.840.113549.1.1.1 rsaEncryption
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

    pub enum Shape<'a> {
        Pkcs1,
        Pkcs8Rsa(&'a [u8]),
        Pkcs8Other,
        EncryptedPkcs8,
        PublicSpki,
        Unknown,
    }

    /// Splits one TLV off the front: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    pub fn classify(der: &[u8]) -> Shape<'_> {
        let Some((SEQUENCE, body, _)) = tlv(der) else { return Shape::Unknown };
        let Some((first_tag, _, rest)) = tlv(body) else { return Shape::Unknown };
        let Some((second_tag, second, rest)) = tlv(rest) else { return Shape::Unknown };
        match (first_tag, second_tag) {
            (INTEGER, INTEGER) => Shape::Pkcs1,
            (INTEGER, SEQUENCE) => {
                let is_rsa = matches!(tlv(second), Some((OID, oid, _)) if oid == RSA_ENCRYPTION);
                match (is_rsa, tlv(rest)) {
                    (true, Some((OCTET_STRING, inner, _))) => Shape::Pkcs8Rsa(inner),
                    (false, Some((OCTET_STRING, _, _))) => Shape::Pkcs8Other,
                    _ => Shape::Unknown,
                }
            }
            (SEQUENCE, OCTET_STRING) => Shape::EncryptedPkcs8,
            (SEQUENCE, BIT_STRING) => Shape::PublicSpki,
            _ => Shape::Unknown,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use openssl::symm::Cipher;

    pub fn rsa_pkcs8_pem(bits: u32) -> String {
        let rsa = Rsa::generate(bits).unwrap();
        let pkey = PKey::from_rsa(rsa).unwrap();
        String::from_utf8(pkey.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    /// One 2048-bit key for the module's tests; generating one takes a while.
    pub fn test_key() -> &'static PKey<Private> {
        static KEY: once_cell::sync::Lazy<PKey<Private>> = once_cell::sync::Lazy::new(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap());
        &KEY
    }

    /// The same test key, parsed, with its public half.
    pub fn test_keys() -> (PrivateKey, PublicKey) {
        let k = test_key();
        let pem = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let pubpem = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
        (PrivateKey::parse(&pem, None).unwrap(), PublicKey::parse(&pubpem).unwrap())
    }

    fn fp(text: &str, pass: Option<&[u8]>) -> [u8; 32] {
        *PrivateKey::parse(text, pass).unwrap().fingerprint()
    }

    #[test]
    fn every_format_gives_the_same_key() {
        let k = test_key();
        let pkcs8 = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let pkcs1 = String::from_utf8(k.rsa().unwrap().private_key_to_pem().unwrap()).unwrap();
        let bare = openssl::base64::encode_block(&k.private_key_to_pkcs8().unwrap());
        let bare_pkcs1 = openssl::base64::encode_block(&k.rsa().unwrap().private_key_to_der().unwrap());
        let enc = String::from_utf8(k.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"s3cret").unwrap()).unwrap();
        let legacy_enc = String::from_utf8(k.rsa().unwrap().private_key_to_pem_passphrase(Cipher::aes_128_cbc(), b"s3cret").unwrap()).unwrap();
        assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
        assert!(legacy_enc.contains("Proc-Type: 4,ENCRYPTED"));
        let want = fp(&pkcs8, None);
        assert_eq!(fp(&pkcs1, None), want);
        assert_eq!(fp(&bare, None), want);
        assert_eq!(fp(&bare_pkcs1, None), want);
        assert_eq!(fp(&enc, Some(b"s3cret")), want);
        assert_eq!(fp(&legacy_enc, Some(b"s3cret")), want);
        assert_eq!(fp(&pkcs8.replace('\n', "\r\n"), None), want, "CRLF line endings");
        assert_eq!(fp(&format!("  \n{pkcs8}\n\n"), None), want, "surrounding whitespace");
        assert_eq!(fp(&pkcs8, Some(b"ignored")), want, "a passphrase on a plain key is ignored");
        let enc_der = k.private_key_to_pkcs8_passphrase(Cipher::aes_256_cbc(), b"pw").unwrap();
        assert_eq!(fp(&openssl::base64::encode_block(&enc_der), Some(b"pw")), want, "bare encrypted");
    }

    #[test]
    fn public_key_in_every_format() {
        let k = test_key();
        let spki_pem = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
        let pkcs1_pem = String::from_utf8(k.rsa().unwrap().public_key_to_pem_pkcs1().unwrap()).unwrap();
        let bare = openssl::base64::encode_block(&k.public_key_to_der().unwrap());
        for text in [&spki_pem, &pkcs1_pem, &bare] {
            let p = PublicKey::parse(text).unwrap();
            assert_eq!(p.bits(), 2048);
            assert!(p.pkey().public_eq(k));
        }
    }

    fn key_err(text: &str, pass: Option<&[u8]>) -> String {
        let e = PrivateKey::parse(text, pass).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Key, "{e}");
        e.to_string()
    }

    #[test]
    fn refusals_name_the_problem() {
        let k = test_key();
        let pkcs8 = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let enc = String::from_utf8(k.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"right").unwrap()).unwrap();
        assert!(key_err(&enc, Some(b"wrong")).contains("wrong passphrase"));
        assert!(key_err(&enc, None).contains("encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given"));
        // Passed as bytes: a NUL is a wrong byte, not a panic; more than OpenSSL takes is named.
        let legacy = String::from_utf8(k.rsa().unwrap().private_key_to_pem_passphrase(Cipher::aes_128_cbc(), b"right").unwrap()).unwrap();
        for text in [&enc, &legacy] {
            assert!(key_err(text, Some(b"ri\0ght")).contains("wrong passphrase"));
            let long = key_err(text, Some(&[b'p'; 1025]));
            assert_eq!(long, "the passphrase is longer than 1024 bytes, more than OpenSSL takes");
        }
        assert!(key_err(&rsa_pkcs8_pem(1024), None).contains("1024 bits is too short"));
        let ec = PKey::from_ec_key(
            openssl::ec::EcKey::generate(&openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let ec_pem = String::from_utf8(ec.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert!(key_err(&ec_pem, None).contains("not an RSA private key (EC)"));
        let pub_pem = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
        assert!(key_err(&pub_pem, None).contains("got a public key"));
        assert!(key_err(&pkcs8[..pkcs8.len() / 2], None).contains("truncated"));
        assert!(key_err("", None).contains("empty"));
        assert!(key_err("not a key at all!", None).contains("neither PEM"));
        let bad_body = pkcs8.replacen("MII", "M*I", 1);
        assert!(key_err(&bad_body, None).contains("not valid base64"));
        let wrong_armour = pkcs8.replace("PRIVATE KEY", "PRIVATE KEX");
        let unknown = key_err(&wrong_armour, None);
        assert!(unknown.contains("unsupported PEM block: an unknown PEM label") && !unknown.contains("KEX"), "{unknown}");
        // One dash short: the label must not run on to the END line's dashes.
        let short_begin = pkcs8.replacen("KEY-----", "KEY----", 1);
        assert!(key_err(&short_begin, None).contains("the BEGIN line does not end with \"-----\""));
        // Valid base64 of something that is not a key.
        assert!(key_err("aGVsbG8gd29ybGQh", None).contains("malformed private key"));
        // Messages never echo key material.
        let body_line = pkcs8.lines().nth(1).unwrap();
        for msg in [key_err(&pkcs8[..pkcs8.len() / 2], None), key_err(&bad_body, None), key_err(&short_begin, None)] {
            assert!(!msg.contains(&body_line[..16]), "{msg}");
        }
    }

    #[test]
    fn inconsistent_keys_are_refused() {
        let k = test_key().rsa().unwrap();
        // Wrong private exponents (d and d mod p-1): the DER still parses, signatures are garbage.
        let bad = Rsa::from_private_components(
            k.n().to_owned().unwrap(),
            k.e().to_owned().unwrap(),
            openssl::bn::BigNum::from_u32(12345).unwrap(),
            k.p().unwrap().to_owned().unwrap(),
            k.q().unwrap().to_owned().unwrap(),
            openssl::bn::BigNum::from_u32(54321).unwrap(),
            k.dmq1().unwrap().to_owned().unwrap(),
            k.iqmp().unwrap().to_owned().unwrap(),
        )
        .unwrap();
        let pem = String::from_utf8(bad.private_key_to_pem().unwrap()).unwrap();
        assert!(key_err(&pem, None).contains("inconsistent"));
    }

    #[test]
    fn public_key_refusals() {
        let k = test_key();
        let priv_pem = String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert!(PublicKey::parse(&priv_pem).unwrap_err().to_string().contains("got a private key"));
        let small = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let small_pem = String::from_utf8(small.public_key_to_pem().unwrap()).unwrap();
        assert!(PublicKey::parse(&small_pem).unwrap_err().to_string().contains("too short"));
        assert!(PublicKey::parse("@@@").unwrap_err().to_string().contains("neither PEM"));
        let public_pem = String::from_utf8(k.public_key_to_pem().unwrap()).unwrap();
        let unknown = PublicKey::parse(&public_pem.replace("PUBLIC KEY", "PUBLIC KEX")).unwrap_err().to_string();
        assert!(unknown.ends_with("an unknown PEM label; expected BEGIN PUBLIC KEY") && !unknown.contains("KEX"), "{unknown}");
    }

    #[test]
    fn the_cache_returns_the_same_parsed_key() {
        let pem = String::from_utf8(test_key().private_key_to_pem_pkcs8().unwrap()).unwrap();
        let a = PrivateKey::cached(&pem, None).unwrap();
        let b = PrivateKey::cached(&pem, None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // A different passphrase is a different cache entry, and a wrong one still fails.
        let enc = String::from_utf8(test_key().private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"pw").unwrap()).unwrap();
        assert!(PrivateKey::cached(&enc, Some(b"nope")).is_err());
        assert_eq!(PrivateKey::cached(&enc, Some(b"pw")).unwrap().fingerprint(), a.fingerprint());
    }

    #[test]
    fn the_cache_is_bounded() {
        let first = rsa_pkcs8_pem(2048);
        let a = PrivateKey::cached(&first, None).unwrap();
        // Re-wrapping the same key with different whitespace gives distinct texts, hence entries.
        for i in 0..KEY_CACHE_CAPACITY + 2 {
            let text = format!("{}{}", "\n".repeat(i + 1), first);
            PrivateKey::cached(&text, None).unwrap();
        }
        assert!(PRIVATE_KEYS.len() <= KEY_CACHE_CAPACITY);
        let again = PrivateKey::cached(&first, None).unwrap();
        assert!(!Arc::ptr_eq(&a, &again), "the oldest entry was evicted");
    }
}
