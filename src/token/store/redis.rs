//! `"redis://[user:password@]host:port[/db]"`, `"rediss://…"`: every process on every host that
//! uses one Redis shares one token per cache key.
//!
//! - The entry is a string key `doku-snap:{name}:token` holding the sealed token, with a TTL of
//!   the token's time left (so the store's own countdown bounds its expiry too).
//! - The lock is `doku-snap:{name}:lock`, taken with `SET NX PX` for the holder's fetch
//!   deadline and a random owner value, released by its owner only (compare-and-delete in a
//!   Lua script): a holder that dies leaves a lock that expires by itself.
//! - Removal after DOKU refused a token is compare-and-delete of the exact entry seen.
//!
//! - A lock that cannot be ours (no TTL, or one longer than any call's deadline) is removed by
//!   the waiter that finds it: whoever can write to Redis cannot stall every refresh with one.
//!
//! The `redis` crate encodes the commands and parses the answers; the connection is ours, for
//! the deadline rules of the HTTP client. The lookup (ureq's, bounded), TCP connect, TLS
//! handshake (the system's OpenSSL, trusting the system store plus the client's `ca_file`),
//! `AUTH`, `SELECT` and every command of one refresh (or removal) share one budget of
//! `token_store_timeout_ms`, however slowly a server answers; before the fetch they also end by
//! half the call's time, so the store never eats the fetch's time. Commands are not pipelined,
//! each answer is parsed on its own, no answer may exceed 65 KiB, and an aggregate answer (an
//! array, a map…: none of our commands has one) is refused before it is parsed, so a hostile
//! server cannot nest one deep enough to exhaust a small thread stack. A connection lives for
//! one refresh (or removal) and is closed with it: none is pooled, so none crosses a fork, and
//! a Redis that restarted is simply connected to again.
//!
//! The password (from the URL or `redis_password_file`) is kept in a wiped buffer, sent only in
//! `AUTH`, and never shown: messages name the host and port, and an error answer of the server is
//! reduced to its code (a hostile server could echo what it was sent).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use openssl::ssl::SslStream;
use redis::Value;
use zeroize::Zeroizing;

use super::{Backend, Bound, Session, StoreResult, StoreSettings, Stored, MAX_ENTRY};
use crate::error::{Error, Result};
use crate::http::Trust;
use crate::text::printable;

const DEFAULT_PORT: u16 = 6379;
/// Releases (or removes) a key only if it still holds the value this process saw.
const COMPARE_AND_DELETE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/// Removes a lock no process of ours can hold: ours expire by their holder's deadline, which is
/// at most ARGV[1] ms away. Returns 1 if it removed one.
const DROP_FOREIGN_LOCK: &str =
    "local t = redis.call('PTTL', KEYS[1]) if t == -1 or t > tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return 1 end return 0";
/// The longest a lock of ours can live: the largest `timeout_ms`, plus slack for clocks.
const MAX_LOCK_MS: u64 = crate::config::MAX_TIMEOUT_MS + 10_000;
/// The error codes a Redis server sends; any other first word is shown as `ERR` (a hostile
/// server could put what it was sent there).
const ERROR_CODES: &[&str] = &[
    "ERR",
    "WRONGPASS",
    "NOAUTH",
    "NOPERM",
    "WRONGTYPE",
    "LOADING",
    "BUSY",
    "MASTERDOWN",
    "READONLY",
    "OOM",
    "MISCONF",
    "NOSCRIPT",
    "EXECABORT",
    "CLUSTERDOWN",
    "MOVED",
    "ASK",
    "TRYAGAIN",
    "CROSSSLOT",
    "NOREPLICAS",
    "NOPROTO",
];
/// The most bytes one answer may take: an entry plus the protocol's framing.
const MAX_ANSWER: usize = MAX_ENTRY + 1024;
const MAX_PASSWORD: u64 = 4096;

pub(super) fn is_redis_url(value: &str) -> bool {
    value.starts_with("redis://") || value.starts_with("rediss://")
}

/// A Redis server, as the config names it. Thread-safe and fork-safe: it holds no connection
/// between calls.
pub struct RedisStore {
    host: String,
    port: u16,
    tls: bool,
    db: u32,
    username: Option<Zeroizing<Vec<u8>>>,
    password: Option<Zeroizing<Vec<u8>>>,
    timeout: Duration,
    trust: Arc<Trust>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(&self.describe())
    }
}

impl RedisStore {
    /// The store a `redis://` or `rediss://` URL names; nothing is connected yet (a Redis that
    /// is down when the client is made only delays the sharing).
    pub fn open(url: &str, settings: &StoreSettings<'_>) -> Result<RedisStore> {
        let refuse = |why: &str| Error::invalid(format!("config: token_store: {why}"));
        let (tls, rest) = match url.strip_prefix("rediss://") {
            Some(rest) => (true, rest),
            None => (false, url.strip_prefix("redis://").ok_or_else(|| refuse("not a redis:// URL"))?),
        };
        if rest.chars().any(|c| c.is_control() || c == ' ') {
            return Err(refuse("a redis:// URL may not contain spaces or control characters"));
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        // The user information is split off here, into wiped buffers; the rest is parsed as a URL.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let decode = |text: &str| {
            let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
            out.extend(percent_encoding::percent_decode_str(text));
            out
        };
        let (username, mut password) = match userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            None => (None, None),
            Some((user, pass)) => ((!user.is_empty()).then(|| decode(user)), (!pass.is_empty()).then(|| decode(pass))),
        };
        if username.is_some() && password.is_none() && settings.password_file.is_none() {
            return Err(refuse("a user name in a redis:// URL needs a password (in the URL or in redis_password_file)"));
        }
        // http's URI parser, already in the library for ureq (the url crate would add its IDNA
        // tables, half a megabyte); host names go to the resolver as written.
        if hostport.is_empty() || hostport.starts_with(':') {
            return Err(refuse("a redis:// URL needs a host"));
        }
        let parsed = format!("redis://{hostport}{path}")
            .parse::<ureq::http::Uri>()
            .map_err(|_| refuse("is not a valid redis:// URL (redis://[user:password@]host:port[/db])"))?;
        if rest.contains(['?', '#']) {
            return Err(refuse("a redis:// URL takes no query or fragment"));
        }
        let host = parsed.host().filter(|h| !h.is_empty()).ok_or_else(|| refuse("a redis:// URL needs a host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let db = match parsed.path().trim_start_matches('/') {
            "" => 0,
            n => n.parse::<u32>().map_err(|_| refuse("the path of a redis:// URL is a database number (/0 to /15 usually)"))?,
        };
        // Read here: http's parser drops a port that is not a u16 instead of refusing it.
        let port_text = match hostport.rfind(']') {
            Some(end) => hostport[end + 1..].strip_prefix(':'),
            None => hostport.rsplit_once(':').map(|(_, port)| port),
        };
        let port = match port_text.map(str::parse::<u16>) {
            None => DEFAULT_PORT,
            Some(Ok(0)) => return Err(refuse("port 0 is not a port to connect to")),
            Some(Ok(port)) => port,
            Some(Err(_)) => return Err(refuse("is not a valid redis:// URL (redis://[user:password@]host:port[/db])")),
        };
        if let Some(file) = settings.password_file {
            if password.is_some() {
                return Err(Error::invalid("config: give the Redis password in token_store's URL or in redis_password_file, not both"));
            }
            // The path is not shown: a password given there by mistake would be.
            let read = crate::options::read_secret_file(file, MAX_PASSWORD)
                .map_err(|e| Error::invalid(format!("config: redis_password_file cannot be read: {e}")))?;
            if read.is_empty() {
                return Err(Error::invalid("config: redis_password_file is empty"));
            }
            password = Some(read);
        }
        Ok(RedisStore { port, host, tls, db, username, password, timeout: settings.timeout, trust: Arc::clone(settings.trust) })
    }

    /// A new connection, authenticated and on its database, by `deadline`.
    fn connect(&self, deadline: Instant) -> StoreResult<Connection> {
        let failed = |why: String| format!("{}: {why}", self.describe());
        let addrs = crate::http::resolve(&self.host, self.port, deadline).map_err(|e| failed(e.to_string()))?;
        let tcp = connect_any(&addrs, deadline).map_err(|e| failed(format!("cannot connect: {}", plain_io(&e))))?;
        let _ = tcp.set_nodelay(true);
        let timed = Timed { tcp, deadline };
        let io = match self.tls {
            false => Io::Plain(timed),
            true => {
                let connector = self.trust.context().map_err(|e| failed(e.to_string()))?;
                let ssl = connector.configure().map_err(|e| failed(crate::error::openssl_reason(&e)))?;
                let stream = crate::fork::openssl_work(|| ssl.connect(&self.host, timed)).map_err(|e| {
                    let why = match e {
                        openssl::ssl::HandshakeError::Failure(mid) => {
                            let verify = mid.ssl().verify_result();
                            match verify {
                                openssl::x509::X509VerifyResult::OK => mid.error().to_string(),
                                v => format!("certificate verify failed ({})", v.error_string()),
                            }
                        }
                        openssl::ssl::HandshakeError::SetupFailure(e) => crate::error::openssl_reason(&e),
                        openssl::ssl::HandshakeError::WouldBlock(_) => "timed out".to_owned(),
                    };
                    failed(format!("TLS handshake failed: {}", printable(&why, 200)))
                })?;
                Io::Tls(Box::new(stream))
            }
        };
        let mut connection = Connection { io, describe: self.describe() };
        if let Some(password) = &self.password {
            let mut args = Zeroizing::new(vec![b"AUTH".to_vec()]);
            if let Some(user) = &self.username {
                args.push(user.to_vec());
            }
            args.push(password.to_vec());
            match connection.call(&args, deadline)? {
                Value::Okay => {}
                Value::ServerError(e) => return Err(failed(format!("refused the password ({})", code(e.code())))),
                _ => return Err(failed("answered AUTH with something else than OK".into())),
            }
        }
        if self.db != 0 {
            let args = Zeroizing::new(vec![b"SELECT".to_vec(), self.db.to_string().into_bytes()]);
            match connection.call(&args, deadline)? {
                Value::Okay => {}
                other => return Err(unexpected(&self.describe(), "SELECT", &other)),
            }
        }
        Ok(connection)
    }
}

impl Backend for RedisStore {
    fn location(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{}://{}:{}/{}", if self.tls { "rediss" } else { "redis" }, printable(&host, 100), self.port, self.db)
    }

    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(RedisSession { store: self, connection: None, failed: None, lock: None, left: self.timeout, cap: None })
    }
}

/// A refresh or a removal: one connection (opened on first use) and the lock it holds.
struct RedisSession<'a> {
    store: &'a RedisStore,
    connection: Option<Connection>,
    /// After a failure the session fails at once: one refresh waits for a broken store once.
    failed: Option<String>,
    /// The lock's key and owner value, released when the session ends.
    lock: Option<(Vec<u8>, Vec<u8>)>,
    /// What is left of the session's I/O budget (`token_store_timeout_ms`).
    left: Duration,
    /// No I/O past this instant (before the fetch: half the call's time).
    cap: Option<Instant>,
}

impl RedisSession<'_> {
    /// Runs one command and returns its answer, within what is left of the session's budget,
    /// connecting first if needed.
    fn run(&mut self, args: &[Vec<u8>]) -> StoreResult<Value> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let start = Instant::now();
        let deadline = self.cap.map_or(start + self.left, |cap| cap.min(start + self.left));
        let outcome = match deadline > start {
            false => Err(format!("{}: no time left for it (token_store_timeout_ms {} ms)", self.store.describe(), self.store.timeout.as_millis())),
            true => (|| {
                let connection = match &mut self.connection {
                    Some(c) => c,
                    None => self.connection.insert(self.store.connect(deadline)?),
                };
                connection.call(args, deadline)
            })(),
        };
        self.left = self.left.saturating_sub(start.elapsed());
        outcome.inspect_err(|e| {
            self.connection = None;
            self.failed = Some(e.clone());
        })
    }

    fn unexpected(&self, command: &str, value: &Value) -> String {
        unexpected(&self.store.describe(), command, value)
    }
}

/// What to say of an answer a command should not get: an error's code only, never its text.
fn unexpected(store: &str, command: &str, value: &Value) -> String {
    let what = match value {
        Value::ServerError(e) => format!("an error ({})", code(e.code())),
        _ => "an answer of the wrong type".to_owned(),
    };
    format!("{store}: {command} got {what}")
}

fn key(name: &str, kind: &str) -> Vec<u8> {
    // The braces are a hash tag: a Redis Cluster keeps an entry and its lock on one node.
    format!("doku-snap:{{{name}}}:{kind}").into_bytes()
}

impl Session for RedisSession<'_> {
    fn limit(&mut self, until: Option<Instant>) {
        self.cap = until;
    }

    fn load(&mut self, name: &str) -> StoreResult<Option<Stored>> {
        let k = key(name, "token");
        let sealed = match self.run(&[b"GET".to_vec(), k.clone()])? {
            Value::Nil => return Ok(None),
            Value::BulkString(sealed) => sealed,
            other => return Err(self.unexpected("GET", &other)),
        };
        // Asked after the value: the time left it reports cannot belong to an older entry.
        let now = SystemTime::now();
        match self.run(&[b"PTTL".to_vec(), k])? {
            // Expired since, or without a TTL (not written by us): ignored.
            Value::Int(ms) if ms < 0 => Ok(None),
            Value::Int(ms) => Ok(Some(Stored { sealed, bound: Bound::ExpiresBy(now + Duration::from_millis(u64::try_from(ms).unwrap_or(0))) })),
            other => Err(self.unexpected("PTTL", &other)),
        }
    }

    fn lock(&mut self, name: &str, until: Instant) -> StoreResult<bool> {
        let ms = until.saturating_duration_since(Instant::now()).as_millis().max(1);
        let mut owner = [0u8; 16];
        openssl::rand::rand_bytes(&mut owner).map_err(|e| crate::error::openssl_reason(&e))?;
        let owner = crate::signature::hex(&owner).into_bytes();
        let k = key(name, "lock");
        match &self.run(&[b"SET".to_vec(), k.clone(), owner.clone(), b"NX".to_vec(), b"PX".to_vec(), ms.to_string().into_bytes()])? {
            Value::Okay => {
                self.lock = Some((k, owner));
                Ok(true)
            }
            Value::Nil => Ok(false),
            other => Err(self.unexpected("SET NX", other)),
        }
    }

    /// A lock of ours expires at its holder's deadline by itself; one that cannot be ours is
    /// removed here, and reported late so that the waiter takes the lock or moves on.
    fn holder_is_late(&mut self, name: &str) -> bool {
        let args = [b"EVAL".to_vec(), DROP_FOREIGN_LOCK.as_bytes().to_vec(), b"1".to_vec(), key(name, "lock"), MAX_LOCK_MS.to_string().into_bytes()];
        matches!(self.run(&args), Ok(Value::Int(1)))
    }

    fn save(&mut self, name: &str, sealed: &[u8], ttl: Duration) -> StoreResult<()> {
        let ms = ttl.as_millis();
        if ms == 0 {
            return Ok(());
        }
        match &self.run(&[b"SET".to_vec(), key(name, "token"), sealed.to_vec(), b"PX".to_vec(), ms.to_string().into_bytes()])? {
            Value::Okay => Ok(()),
            other => Err(self.unexpected("SET", other)),
        }
    }

    fn remove_if_same(&mut self, name: &str, sealed: &[u8]) -> StoreResult<()> {
        let args = [b"EVAL".to_vec(), COMPARE_AND_DELETE.as_bytes().to_vec(), b"1".to_vec(), key(name, "token"), sealed.to_vec()];
        match &self.run(&args)? {
            Value::Int(_) => Ok(()),
            other => Err(self.unexpected("EVAL", other)),
        }
    }
}

impl Drop for RedisSession<'_> {
    fn drop(&mut self) {
        // Best effort: a lock that cannot be released expires at its holder's deadline.
        if let Some((k, owner)) = self.lock.take() {
            self.cap = None;
            let _ = self.run(&[b"EVAL".to_vec(), COMPARE_AND_DELETE.as_bytes().to_vec(), b"1".to_vec(), k, owner]);
        }
    }
}

/// An error answer's code, if it is one Redis sends (`WRONGPASS`, `NOAUTH`…), else `ERR`:
/// never the answer's text, which a hostile server could fill with what it was sent.
fn code(code: &str) -> &'static str {
    ERROR_CODES.iter().find(|c| **c == code).copied().unwrap_or("ERR")
}

/// An I/O error without its OS error number: "connection refused", "timed out".
fn plain_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".to_owned(),
        _ => e.to_string(),
    }
}

fn connect_any(addrs: &[SocketAddr], deadline: Instant) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"));
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A socket whose every read and write ends by one deadline: each gets only the time left, so
/// a server that drips bytes cannot stretch an operation.
struct Timed {
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    fn left(&self) -> std::io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"));
        }
        Ok(left)
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

enum Io {
    Plain(Timed),
    Tls(Box<SslStream<Timed>>),
}

impl Io {
    fn set_deadline(&mut self, deadline: Instant) {
        match self {
            Io::Plain(t) => t.deadline = deadline,
            Io::Tls(s) => s.get_mut().deadline = deadline,
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(t) => t.read(buf),
            Io::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(t) => t.write(buf),
            Io::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Plain(t) => t.flush(),
            Io::Tls(s) => s.flush(),
        }
    }
}

/// One answer's bytes: at most `left` of them (a server cannot make the parser buffer more),
/// and not an aggregate (refused at its first byte, before the parser recurses into it).
struct Answer<'a> {
    io: &'a mut Io,
    left: usize,
}

impl Read for Answer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "answer too large"));
        }
        let n = buf.len().min(self.left);
        let first = self.left == MAX_ANSWER;
        let read = self.io.read(&mut buf[..n])?;
        // Arrays, maps, sets, attributes, pushes.
        if first && read > 0 && matches!(buf[0], b'*' | b'%' | b'~' | b'|' | b'>') {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "an aggregate answer"));
        }
        self.left -= read;
        Ok(read)
    }
}

struct Connection {
    io: Io,
    describe: String,
}

impl Connection {
    /// Sends one command and reads its answer, by `deadline`. A new parser per answer: bytes a
    /// server sent past an answer are never taken for the next one.
    fn call(&mut self, args: &[Vec<u8>], deadline: Instant) -> StoreResult<Value> {
        self.io.set_deadline(deadline);
        // Wiped: AUTH's carries the password.
        let packed = Zeroizing::new(redis::pack_command(args));
        let failed = |what: &str, e: &str| format!("{}: {what}: {e}", self.describe);
        self.io.write_all(&packed).and_then(|()| self.io.flush()).map_err(|e| failed("sending failed", &plain_io(&e)))?;
        match redis::Parser::new().parse_value(Answer { io: &mut self.io, left: MAX_ANSWER }) {
            Ok(value) => Ok(value),
            Err(e) if e.is_timeout() => Err(failed("no answer", "timed out")),
            Err(e) if e.is_io_error() => Err(failed("no answer", "the connection failed, or the answer was too large or of the wrong type")),
            Err(_) => Err(failed("not a Redis answer", "unparseable")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use super::*;

    #[test]
    fn urls_are_parsed_and_the_password_never_shown() {
        let s = settings(250);
        let store = RedisStore::open("rediss://app:s%40cr%3At@[::1]:7000/3", &s).unwrap();
        assert_eq!((store.host.as_str(), store.port, store.tls, store.db), ("::1", 7000, true, 3));
        assert_eq!(
            (store.username.as_deref().map(Vec::as_slice), store.password.as_deref().map(Vec::as_slice)),
            (Some(&b"app"[..]), Some(&b"s@cr:t"[..]))
        );
        assert_eq!(format!("{store:?}"), "token store rediss://[::1]:7000/3");
        let store = RedisStore::open("redis://:only-password@cache.internal", &s).unwrap();
        assert_eq!((store.host.as_str(), store.port, store.db, store.username.is_none()), ("cache.internal", 6379, 0, true));
        for (url, why) in [
            ("redis://:s3cr3t@/0", "a redis:// URL needs a host"),
            ("redis://:s3cr3t@host/db", "the path of a redis:// URL is a database number"),
            ("redis://:s3cr3t@host:99999", "is not a valid redis:// URL"),
            ("redis://:s3cr3t@host?x=1", "takes no query or fragment"),
        ] {
            let e = RedisStore::open(url, &s).map(|s| format!("{s:?}")).expect_err(url);
            assert!(e.message().contains(why) && !e.message().contains("s3cr3t"), "{url}: {e}");
        }
        let dir = std::env::temp_dir().join(format!("doku-redis-pass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let with_file = StoreSettings { password_file: Some(&file), ..settings(250) };
        assert_eq!(RedisStore::open("redis://h", &with_file).unwrap().password.as_deref().map(Vec::as_slice), Some(&b"from-file"[..]));
        let e = RedisStore::open("redis://:s3cr3t@h", &with_file).unwrap_err();
        assert_eq!(e.message(), "config: give the Redis password in token_store's URL or in redis_password_file, not both");
        std::fs::write(&file, "\n").unwrap();
        assert!(RedisStore::open("redis://h", &with_file).unwrap_err().message().ends_with("is empty"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(code("WRONGPASS"), "WRONGPASS");
        assert_eq!((code("S3CRET"), code("WRONGPASS_S3CRET")), ("ERR", "ERR"));
    }
}
