//! The client configuration, parsed from the JSON that `doku_client_new` receives.
//!
//! Parsed by hand from `serde_json` values, not with serde's derive: serde's type errors
//! quote the offending value ("invalid type: integer `1234`"), which for `private_key` or
//! `private_key_passphrase` would put a secret into an error message. Messages here name the
//! key and the expected type only.
//!
//! Secret values never go through serde_json's string parser: it unescapes a string with
//! escapes (a PEM's `\n`) in a scratch buffer that it grows and frees unwiped. The object is
//! read as raw values, which serde_json skips over without copying; the secrets are unescaped
//! here straight into `Zeroizing` buffers, wiped once the key is parsed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http;
use crate::key::PrivateKey;
use crate::text::printable;
use crate::timestamp::Offset;

pub const SANDBOX_URL: &str = "https://api-sandbox.doku.com";
pub const PRODUCTION_URL: &str = "https://api.doku.com";

/// Every key of the JSON config. README.md's configuration table and the comment of
/// `doku_client_new` in doku.h describe each one (tests/docs.rs checks both).
pub const KEYS: &[&str] = &[
    "client_id",
    "private_key",
    "private_key_file",
    "private_key_passphrase",
    "environment",
    "base_url",
    "timeout_ms",
    "connect_timeout_ms",
    "ca_file",
    "refresh_margin_s",
    "timestamp_offset",
    "proxy",
    "client_secret",
    "channel_id",
    "partner_id",
];
// The defaults of the optional keys that have a value as default; the parser uses these, and
// DEFAULTS lists them for the docs.
pub const DEFAULT_ENVIRONMENT: &str = "sandbox";
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_REFRESH_MARGIN_S: u64 = 60;
pub const DEFAULT_TIMESTAMP_OFFSET: &str = "Z";

/// A default as the docs write it: a number, or a string in quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    Number(u64),
    Text(&'static str),
}

impl std::fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefaultValue::Number(n) => write!(f, "{n}"),
            DefaultValue::Text(t) => write!(f, "\"{t}\""),
        }
    }
}

/// Each `DEFAULT_*` by its key. README.md's configuration table and doku.h's comment of
/// `doku_client_new` state the same values (tests/docs.rs checks both).
pub const DEFAULTS: &[(&str, DefaultValue)] = &[
    ("environment", DefaultValue::Text(DEFAULT_ENVIRONMENT)),
    ("timeout_ms", DefaultValue::Number(DEFAULT_TIMEOUT_MS)),
    ("connect_timeout_ms", DefaultValue::Number(DEFAULT_CONNECT_TIMEOUT_MS)),
    ("refresh_margin_s", DefaultValue::Number(DEFAULT_REFRESH_MARGIN_S)),
    ("timestamp_offset", DefaultValue::Text(DEFAULT_TIMESTAMP_OFFSET)),
];

/// Unescaped by `unescape_secret`, never by serde_json.
const SECRET_KEYS: &[&str] = &["private_key", "private_key_passphrase", "client_secret"];

/// A validated configuration. The private key is parsed; secrets are not kept as text.
#[derive(Debug)]
pub struct Config {
    pub client_id: String,
    pub key: Arc<PrivateKey>,
    pub http: http::Settings,
    pub refresh_margin: Duration,
    pub timestamp_offset: Offset,
    /// The HMAC key of transaction signatures (§3); needed only for signed requests.
    pub client_secret: Option<Secret>,
    /// `CHANNEL-ID` of transaction requests.
    pub channel_id: Option<String>,
    /// `X-PARTNER-ID` of transaction requests; defaults to the client id.
    pub partner_id: String,
}

/// Secret bytes: wiped on drop, never printed.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Config {
    pub fn from_json(text: &str) -> Result<Config> {
        // A duplicated key keeps its last value, as serde_json's own maps do.
        let mut raw: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|e| match e.classify() {
            // A data error quotes what it found instead of an object: never echo it.
            serde_json::error::Category::Data => Error::invalid("config: expected a JSON object"),
            // Syntax errors give a position, never the input.
            _ => Error::invalid(format!("config: not valid JSON ({e})")),
        })?;
        if let Some(unknown) = raw.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::invalid(format!(
                "config: unknown key \"{}\" (known keys: {})",
                printable(unknown, 200),
                KEYS.join(", ")
            )));
        }
        let mut secrets: BTreeMap<String, &RawValue> = SECRET_KEYS.iter().filter_map(|&k| raw.remove_entry(k)).collect();
        let mut map = Map::new();
        for (key, value) in raw {
            // The text is valid JSON: only what skipping it does not check fails here (nesting
            // deeper than serde_json's limit, a number out of range, a lone surrogate).
            let value = serde_json::from_str(value.get()).map_err(|e| Error::invalid(format!("config: {key}: {e}")))?;
            map.insert(key, value);
        }

        let client_id = take_string(&mut map, "client_id")?.ok_or_else(|| Error::invalid("config: client_id is required"))?;
        if client_id.trim().is_empty() {
            return Err(Error::invalid("config: client_id is empty"));
        }
        http::check_header_value("client_id", &client_id)?;

        // Secrets are unescaped at once; the key is parsed last, after the cheap checks, so
        // that a config with several problems reports its shape before its key.
        let key_text = take_secret(&mut secrets, "private_key")?;
        let key_file = take_string(&mut map, "private_key_file")?;
        let passphrase = take_secret(&mut secrets, "private_key_passphrase")?;

        let environment = take_string(&mut map, "environment")?;
        let base_url = match (take_string(&mut map, "base_url")?, environment.as_deref().unwrap_or(DEFAULT_ENVIRONMENT)) {
            (Some(url), _) => url,
            (None, "sandbox") => SANDBOX_URL.to_owned(),
            (None, "production") => PRODUCTION_URL.to_owned(),
            (None, _) => return Err(Error::invalid("config: environment must be \"sandbox\" or \"production\"")),
        };
        if let Some(env) = environment.as_deref() {
            if env != "sandbox" && env != "production" {
                return Err(Error::invalid("config: environment must be \"sandbox\" or \"production\""));
            }
        }

        let timeout = take_millis(&mut map, "timeout_ms")?.unwrap_or(Duration::from_millis(DEFAULT_TIMEOUT_MS));
        let connect_timeout = take_millis(&mut map, "connect_timeout_ms")?.unwrap_or(Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS));
        let ca_file = take_string(&mut map, "ca_file")?.map(PathBuf::from);
        let refresh_margin = Duration::from_secs(take_u64(&mut map, "refresh_margin_s", 0)?.unwrap_or(DEFAULT_REFRESH_MARGIN_S));
        let timestamp_offset = Offset::parse(take_string(&mut map, "timestamp_offset")?.as_deref().unwrap_or(DEFAULT_TIMESTAMP_OFFSET))?;
        let proxy = take_string(&mut map, "proxy")?;
        let client_secret = match take_secret(&mut secrets, "client_secret")? {
            Some(s) if s.is_empty() => return Err(Error::invalid("config: client_secret is empty")),
            Some(s) => Some(Secret(Zeroizing::new(s.as_bytes().to_vec()))),
            None => None,
        };
        let channel_id = take_header_value(&mut map, "channel_id")?;
        let partner_id = take_header_value(&mut map, "partner_id")?.unwrap_or_else(|| client_id.clone());

        let http = http::Settings::new(&base_url, timeout, connect_timeout, ca_file.as_deref(), proxy.as_deref())?;
        let key = load_key(key_text, key_file, passphrase)?;
        Ok(Config { client_id, key, http, refresh_margin, timestamp_offset, client_secret, channel_id, partner_id })
    }
}

fn load_key(text: Option<Zeroizing<String>>, file: Option<String>, passphrase: Option<Zeroizing<String>>) -> Result<Arc<PrivateKey>> {
    let text = match (text, file) {
        (Some(_), Some(_)) => return Err(Error::invalid("config: set private_key or private_key_file, not both")),
        (None, None) => return Err(Error::invalid("config: private_key or private_key_file is required")),
        (Some(text), None) => text,
        (None, Some(path)) => {
            let bytes = Zeroizing::new(read_config_file(Path::new(&path), MAX_KEY_FILE).map_err(|e| {
                Error::key(format!("config: private_key_file \"{}\" cannot be read: {}", printable(&path, 200), e))
            })?);
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| Error::key(format!("config: private_key_file \"{}\" is not a text (PEM or base64) key", printable(&path, 200))))?;
            Zeroizing::new(text.to_owned())
        }
    };
    PrivateKey::cached(&text, passphrase.as_ref().map(|p| p.as_bytes()))
}

/// Key files are a few KiB; anything this big is the wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Reads a file named by the config: a regular file of at most `limit` bytes. A FIFO would
/// block and /dev/zero would never end; both are refused before reading.
pub(crate) fn read_config_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind as Io, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(IoError::new(Io::InvalidInput, "not a regular file"));
    }
    // Sized up front: a Vec grown while reading frees each smaller buffer (key text) unwiped.
    let mut bytes = Vec::with_capacity(meta.len().min(limit + 1) as usize);
    std::fs::File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(IoError::new(Io::InvalidData, format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(format!("config: {key} must be a string"))),
    }
}

/// A string that goes into a request header: not empty, no CR/LF/NUL.
fn take_header_value(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>> {
    match take_string(map, key)? {
        Some(v) if v.trim().is_empty() => Err(Error::invalid(format!("config: {key} is empty"))),
        Some(v) => http::check_header_value(key, &v).map(|()| Some(v)),
        None => Ok(None),
    }
}

fn take_secret(raw: &mut BTreeMap<String, &RawValue>, key: &str) -> Result<Option<Zeroizing<String>>> {
    match raw.remove(key).map(RawValue::get) {
        None | Some("null") => Ok(None),
        Some(text) if text.starts_with('"') => {
            unescape_secret(text).map(Some).ok_or_else(|| Error::invalid(format!("config: {key} is not a valid JSON string")))
        }
        Some(_) => Err(Error::invalid(format!("config: {key} must be a string"))),
    }
}

/// A JSON string literal (quotes included) unescaped into one buffer sized up front: no
/// escape is shorter than what it stands for, so the buffer never grows, and no unwiped copy is
/// left behind. `None` for anything serde_json refuses as a string: a bad escape, a lone
/// surrogate, a raw control character or quote.
fn unescape_secret(literal: &str) -> Option<Zeroizing<String>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Zeroizing::new(String::with_capacity(inner.len()));
    let mut chars = inner.chars();
    let hex4 = |chars: &mut std::str::Chars| (0..4).try_fold(0, |n, _| Some(n << 4 | chars.next()?.to_digit(16)?));
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.next()? {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => match hex4(&mut chars)? {
                    high @ 0xD800..=0xDBFF => {
                        let low = match (chars.next()?, chars.next()?) {
                            ('\\', 'u') => hex4(&mut chars)?,
                            _ => return None,
                        };
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    // A lone low surrogate is no char either.
                    code => char::from_u32(code)?,
                },
                _ => return None,
            },
            '"' | '\0'..='\u{1f}' => return None,
            c => c,
        });
    }
    debug_assert_eq!(out.capacity(), inner.len(), "the buffer never grows");
    Some(out)
}

fn take_u64(map: &mut Map<String, Value>, key: &str, min: u64) -> Result<Option<u64>> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v >= min => Ok(Some(v)),
            _ => Err(Error::invalid(format!("config: {key} must be an integer ≥ {min}"))),
        },
        Some(_) => Err(Error::invalid(format!("config: {key} must be a number"))),
    }
}

/// Milliseconds between 1 ms and 10 minutes: a payment call that may hang longer is a bug.
fn take_millis(map: &mut Map<String, Value>, key: &str) -> Result<Option<Duration>> {
    match take_u64(map, key, 1)? {
        None => Ok(None),
        Some(ms) if ms <= 600_000 => Ok(Some(Duration::from_millis(ms))),
        Some(_) => Err(Error::invalid(format!("config: {key} must be at most 600000 (10 minutes)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::key::tests::test_key;

    fn pem() -> String {
        String::from_utf8(test_key().private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    fn cfg(extra: &str) -> Result<Config> {
        let json = format!(r#"{{"client_id":"MCH-1","private_key":{},"proxy":""{extra}}}"#, serde_json::to_string(&pem()).unwrap());
        Config::from_json(&json)
    }

    fn err(extra: &str) -> Error {
        cfg(extra).unwrap_err()
    }

    #[test]
    fn defaults() {
        let c = cfg("").unwrap();
        assert_eq!(c.client_id, "MCH-1");
        assert_eq!(c.http.base_url(), SANDBOX_URL);
        assert_eq!(c.http.timeout(), Duration::from_secs(30));
        assert_eq!(c.http.connect_timeout(), Duration::from_secs(10));
        assert_eq!(c.refresh_margin, Duration::from_secs(60));
        assert_eq!(c.timestamp_offset, Offset::UTC);
        assert!(c.client_secret.is_none() && c.channel_id.is_none());
        assert_eq!(c.partner_id, "MCH-1");
    }

    #[test]
    fn transaction_settings() {
        let c = cfg(r#","client_secret":"s3cr3t-value","channel_id":"H2H","partner_id":"P-9""#).unwrap();
        assert_eq!(c.client_secret.as_ref().unwrap().bytes(), b"s3cr3t-value");
        assert_eq!((c.channel_id.as_deref(), c.partner_id.as_str()), (Some("H2H"), "P-9"));
        assert!(!format!("{c:?}").contains("s3cr3t-value"), "Debug never shows the secret");
        assert!(err(r#","client_secret":"""#).message().contains("client_secret is empty"));
        assert!(err(r#","channel_id":"a\nb""#).message().contains("channel_id contains CR, LF or NUL"));
        assert!(err(r#","partner_id":7"#).message().contains("partner_id must be a string"));
        let e = Config::from_json(r#"{"client_id":"A","private_key":"x","client_secret":12345678}"#).unwrap_err();
        assert!(!e.message().contains("12345678"), "{e}");
    }

    #[test]
    fn every_key_is_read() {
        let c = cfg(r#","environment":"production","timeout_ms":5000,"connect_timeout_ms":700,"refresh_margin_s":0,"timestamp_offset":"+07:00""#).unwrap();
        assert_eq!(c.http.base_url(), PRODUCTION_URL);
        assert_eq!(c.http.timeout(), Duration::from_millis(5000));
        assert_eq!(c.http.connect_timeout(), Duration::from_millis(700));
        assert_eq!(c.refresh_margin, Duration::ZERO);
        assert_eq!(c.timestamp_offset, Offset::parse("+07:00").unwrap());
        let c = cfg(r#","environment":"production","base_url":"http://127.0.0.1:9/""#).unwrap();
        assert_eq!(c.http.base_url(), "http://127.0.0.1:9", "base_url overrides environment; trailing slash dropped");
    }

    #[test]
    fn key_from_file_and_passphrase() {
        let dir = std::env::temp_dir().join(format!("doku-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("enc.pem");
        let enc = test_key().private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pw").unwrap();
        std::fs::write(&path, enc).unwrap();
        let base = format!(r#"{{"client_id":"A","private_key_file":{},"proxy":"""#, serde_json::to_string(&path).unwrap());
        let ok = Config::from_json(&format!(r#"{base},"private_key_passphrase":"pw"}}"#)).unwrap();
        assert_eq!(ok.key.bits(), 2048);
        let wrong = Config::from_json(&format!(r#"{base},"private_key_passphrase":"nope"}}"#)).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::Key);
        assert!(wrong.message().contains("wrong passphrase") && !wrong.message().contains("nope"));
        for (path, why) in [("/dev/zero", "not a regular file"), ("/", "not a regular file")] {
            let e = Config::from_json(&format!(r#"{{"client_id":"A","private_key_file":"{path}"}}"#)).unwrap_err();
            assert!(e.message().contains(why), "{e}");
        }
        let big = dir.join("big.pem");
        std::fs::write(&big, vec![b'A'; 70 * 1024]).unwrap();
        let e = Config::from_json(&format!(r#"{{"client_id":"A","private_key_file":{}}}"#, serde_json::to_string(&big).unwrap())).unwrap_err();
        assert!(e.message().contains("larger than 65536 bytes"), "{e}");
        let missing = Config::from_json(r#"{"client_id":"A","private_key_file":"/nonexistent/k.pem"}"#).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Key);
        assert!(missing.message().contains("/nonexistent/k.pem") && missing.message().contains("No such file"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            (r#","color":"red""#, "unknown key \"color\""),
            (r#","timeout_ms":-1"#, "timeout_ms must be an integer ≥ 1"),
            (r#","timeout_ms":0"#, "timeout_ms must be an integer ≥ 1"),
            (r#","timeout_ms":"30""#, "timeout_ms must be a number"),
            (r#","timeout_ms":1.5"#, "timeout_ms must be an integer"),
            (r#","timeout_ms":600001"#, "at most 600000"),
            (r#","connect_timeout_ms":true"#, "connect_timeout_ms must be a number"),
            (r#","refresh_margin_s":-5"#, "refresh_margin_s must be an integer ≥ 0"),
            (r#","environment":"staging""#, "environment must be"),
            (r#","timestamp_offset":"+7""#, "timestamp_offset"),
            (r#","base_url":"http://api.doku.com""#, "plain http:// is allowed only for loopback"),
            (r#","base_url":"ftp://127.0.0.1""#, "base_url must start with https://"),
            (r#","base_url":"not a url""#, "base_url is not a valid URL"),
            (r#","ca_file":"/nonexistent/ca.pem""#, "ca_file"),
            (r#","proxy":"::bad::""#, "proxy"),
            (r#","private_key_file":"/x""#, "not both"),
        ];
        for (extra, want) in cases {
            // "proxy" appears twice in one case; serde_json keeps the last value.
            let e = err(extra);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{extra}: {e}");
            assert!(e.message().contains(want), "{extra}: got {e}");
        }
        for (json, want) in [
            ("", "not valid JSON"),
            ("[1]", "expected a JSON object"),
            (r#"{"private_key":"x"}"#, "client_id is required"),
            (r#"{"client_id":"  ","private_key":"x"}"#, "client_id is empty"),
            (r#"{"client_id":"A\r\nX-Evil: 1","private_key":"x"}"#, "client_id contains CR, LF or NUL"),
            (r#"{"client_id":"A\u0000","private_key":"x"}"#, "client_id contains CR, LF or NUL"),
            (r#"{"client_id":"A"}"#, "private_key or private_key_file is required"),
            (r#"{"client_id":5,"private_key":"x"}"#, "client_id must be a string"),
        ] {
            let e = Config::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{json}: {e}");
            assert!(e.message().contains(want), "{json}: got {e}");
        }
    }

    #[test]
    fn secrets_unescape_as_serde_json_does() {
        // Generated string bodies: plain text, every escape, surrogate pairs, lone surrogates,
        // bad and cut escapes, raw control characters and quotes.
        const PIECES: &[&str] = &[
            "a", "Z9+/=", " ", "é", "😀", "-----BEGIN ", "\\n", "\\\\", "\\\"", "\\/", "\\b", "\\f", "\\r", "\\t",
            "\\u0041", "\\u00e9", "\\u00E9", "\\u0000", "\\uD83D\\uDE00", "\\ud83d\\ude00", "\\uDBFF\\uDFFF", "\\uD800",
            "\\uDC00", "\\uD800\\u0041", "\\uD800\\uD800", "\\uD800\\n", "\\u12", "\\u12G4", "\\x", "\\", "\"", "\u{1}",
            "\n", "\u{7f}",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..50_000 {
            let len = next() % 8;
            let body: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
            let literal = format!("\"{body}\"");
            let ours = unescape_secret(&literal).map(|s| s.to_string());
            let theirs = serde_json::from_str::<String>(&literal).ok();
            assert_eq!(ours, theirs, "{literal:?}");
            match theirs {
                Some(s) => {
                    accepted += 1;
                    // What serde_json writes comes back as it was.
                    assert_eq!(unescape_secret(&serde_json::to_string(&s).unwrap()).as_deref().map(String::as_str), Some(s.as_str()));
                }
                None => refused += 1,
            }
        }
        assert!(accepted > 10_000 && refused > 10_000, "{accepted} accepted, {refused} refused");
        let e = err(r#","client_secret":"\ud800""#);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.message(), "config: client_secret is not a valid JSON string");
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        let e = Config::from_json(r#"{"client_id":"A","private_key":12345678,"private_key_passphrase":"hunter2"}"#).unwrap_err();
        assert!(e.message().contains("private_key must be a string") && !e.message().contains("12345678"));
        let e = Config::from_json(r#"{"client_id":"A","private_key":"x","private_key_passphrase":987654}"#).unwrap_err();
        assert!(!e.message().contains("987654"), "{e}");
        for json in [r#""hunter2-as-the-whole-config""#, r#"["hunter2-as-the-whole-config"]"#] {
            let e = Config::from_json(json).unwrap_err();
            assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, "config: expected a JSON object"));
        }
        let e = Config::from_json(r#"{"client_id":"A","private_key":"MIIEvQIBADANBgkqhkiG9w0BAQ"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Key);
        assert!(!e.message().contains("MIIEvQ"), "{e}");
    }
}
