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
        let san =
            SubjectAlternativeName::new().dns("localhost").ip("127.0.0.1").build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None)).unwrap();
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

/// Which part of the server's bytes a [`dripping_relay`] trickles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Drip {
    /// Everything from the first byte: with TLS, the handshake.
    Handshake,
    /// Everything after the client's request: the answer's head and body.
    Head,
    /// The answer's body: with TLS, every record after the first one that follows the request
    /// (the sandbox writes the head of a streamed answer, `huge`, in a record of its own).
    Body,
}

/// A TCP relay in front of `upstream` that passes the client's bytes at once and trickles the
/// server's, 100 bytes every 1.5 s, from the phase `drip` names. With `tls`, it reads the TLS
/// record layer (not the plaintext) to find the phases. Returns the relay's address.
pub fn dripping_relay(upstream: std::net::SocketAddr, tls: bool, drip: Drip) -> std::net::SocketAddr {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(upstream) else { continue };
            let requested = Arc::new(AtomicBool::new(false));
            let (mut c_in, mut s_out, seen) = (client.try_clone().unwrap(), server.try_clone().unwrap(), requested.clone());
            // Client to server, at once; notes when the request has gone by.
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    let request_seen = if tls {
                        // An application-data record longer than a TLS 1.3 Finished.
                        let mut seen = false;
                        while pending.len() >= 5 {
                            let len = usize::from(u16::from_be_bytes([pending[3], pending[4]]));
                            if pending.len() < 5 + len {
                                break;
                            }
                            seen |= pending[0] == 23 && len > 100;
                            pending.drain(..5 + len);
                        }
                        seen
                    } else {
                        pending.windows(4).any(|w| w == b"\r\n\r\n")
                    };
                    if request_seen {
                        seen.store(true, Ordering::SeqCst);
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            // Server to client, trickled from the chosen phase.
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let trickle = |out: &mut std::net::TcpStream, bytes: &[u8]| -> bool {
                    for chunk in bytes.chunks(100) {
                        std::thread::sleep(std::time::Duration::from_millis(1500));
                        if out.write_all(chunk).is_err() {
                            return false;
                        }
                    }
                    true
                };
                let mut after_request = 0usize;
                let mut head_done = false;
                loop {
                    // One TLS record, or whatever a read gives for plain HTTP.
                    let unit = if tls {
                        let mut header = [0u8; 5];
                        if s_in.read_exact(&mut header).is_err() {
                            break;
                        }
                        let mut record = header.to_vec();
                        record.resize(5 + usize::from(u16::from_be_bytes([header[3], header[4]])), 0);
                        if s_in.read_exact(&mut record[5..]).is_err() {
                            break;
                        }
                        record
                    } else {
                        let mut buf = [0u8; 16 * 1024];
                        match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf[..n].to_vec(),
                        }
                    };
                    let requested = requested.load(Ordering::SeqCst);
                    let slow = match drip {
                        Drip::Handshake => true,
                        Drip::Head => requested,
                        Drip::Body if tls => {
                            after_request += usize::from(requested);
                            after_request > 1
                        }
                        Drip::Body => {
                            // Plain: pass the head, trickle from the first body byte on.
                            if requested && !head_done {
                                if let Some(end) = unit.windows(4).position(|w| w == b"\r\n\r\n") {
                                    head_done = true;
                                    if c_out.write_all(&unit[..end + 4]).is_err() || !trickle(&mut c_out, &unit[end + 4..]) {
                                        break;
                                    }
                                    continue;
                                }
                            }
                            head_done
                        }
                    };
                    let sent = if slow { trickle(&mut c_out, &unit) } else { c_out.write_all(&unit).is_ok() };
                    if !sent {
                        break;
                    }
                }
            });
        }
    });
    addr
}
