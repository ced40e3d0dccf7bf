//! Misbehaving TLS servers the sandbox does not play: an expired certificate, and a server
//! that hangs up in the middle of the handshake. Each runs on a loopback port until the
//! process ends.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, from_days: i64, to_days: i64) -> X509 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(rand_u32()).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name)).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(now + from_days * 86_400).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + to_days * 86_400).unwrap()).unwrap();
    if issuer.is_none() {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    } else {
        let san = SubjectAlternativeName::new().dns("localhost").ip("127.0.0.1").build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None)).unwrap();
        b.append_extension(san).unwrap();
    }
    b.sign(issuer.map(|(_, k)| k).unwrap_or(key), MessageDigest::sha256()).unwrap();
    b.build()
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b) >> 1
}

/// An https server whose certificate expired yesterday, signed by a CA written to `ca_file`
/// (so the only fault is the expiry). Returns its URL.
pub fn expired_certificate(ca_file: &Path) -> String {
    let ca_key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let ca = cert("doku test CA", &ca_key, None, -30, 365);
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let leaf = cert("localhost", &key, Some((&ca, &ca_key)), -30, -1);
    std::fs::write(ca_file, ca.to_pem().unwrap()).unwrap();
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(&key).unwrap();
    acceptor.set_certificate(&leaf).unwrap();
    let acceptor = acceptor.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://localhost:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            // The client aborts the handshake; nothing more to do.
            let _ = acceptor.accept(tcp);
        }
    });
    url
}

/// A server that reads the TLS ClientHello and hangs up. Returns its https URL.
pub fn hangs_up_mid_handshake() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            let mut hello = [0u8; 512];
            let _ = tcp.read(&mut hello);
            drop(tcp);
        }
    });
    url
}
