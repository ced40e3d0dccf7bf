//! A JSON object of named options, read strictly: the client's config (`doku_client_new`) and
//! the token issuer's options (`doku_issue_token`) both go through here, so both refuse the
//! same things with the same words.
//!
//! Read by hand from `serde_json` values, not with serde's derive: serde's type errors quote
//! the offending value ("invalid type: integer `1234`"), which for a key or a passphrase would
//! put a secret into an error message. Messages here name the key and the expected type only.
//!
//! Secret values never go through serde_json's string parser: it unescapes a string with
//! escapes (a PEM's `\n`) in a scratch buffer that it grows and frees unwiped. The object is
//! read as raw values, which serde_json skips over without copying; the secrets are unescaped
//! here straight into `Zeroizing` buffers, wiped once the key is parsed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http;
use crate::key::{PrivateKey, PublicKey};
use crate::text::printable;

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

/// The options of one JSON object, taken one by one. Every message starts with `what`
/// ("config", "options").
pub struct Options<'a> {
    what: &'static str,
    map: Map<String, Value>,
    /// Raw literals of the secret keys, unescaped by `unescape_secret`, never by serde_json.
    secrets: BTreeMap<String, &'a RawValue>,
}

impl<'a> Options<'a> {
    /// Parses `text` as an object whose keys are all in `keys`; the `secret_keys` among them are
    /// kept raw until taken.
    pub fn parse(what: &'static str, text: &'a str, keys: &[&str], secret_keys: &[&str]) -> Result<Options<'a>> {
        // A duplicated key keeps its last value, as serde_json's own maps do.
        let mut raw: BTreeMap<String, &RawValue> = serde_json::from_str(text).map_err(|e| match e.classify() {
            // A data error quotes what it found instead of an object: never echo it.
            serde_json::error::Category::Data => Error::invalid(format!("{what}: expected a JSON object")),
            // Syntax errors give a position, never the input.
            _ => Error::invalid(format!("{what}: not valid JSON ({e})")),
        })?;
        if let Some(unknown) = raw.keys().find(|k| !keys.contains(&k.as_str())) {
            // A name is shown only if it could be an option's: key text or a passphrase pasted
            // as a name is not.
            let name_like = unknown.len() <= 64 && unknown.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            let shown = match name_like {
                true => format!("\"{unknown}\""),
                false => format!("(a name of {} characters, not shown)", unknown.chars().count()),
            };
            return Err(Error::invalid(format!("{what}: unknown key {shown} (known keys: {})", keys.join(", "))));
        }
        let secrets = secret_keys.iter().filter_map(|&k| raw.remove_entry(k)).collect();
        let mut map = Map::new();
        for (key, value) in raw {
            // The text is valid JSON: only what skipping it does not check fails here (nesting
            // deeper than serde_json's limit, a number out of range, a lone surrogate).
            // serde_json's position would count from the value's start, not the object's.
            let value = serde_json::from_str(value.get())
                .map_err(|_| Error::invalid(format!("{what}: {key} cannot be read (a number out of range, nesting too deep or a lone surrogate)")))?;
            map.insert(key, value);
        }
        Ok(Options { what, map, secrets })
    }

    fn invalid(&self, message: impl std::fmt::Display) -> Error {
        Error::invalid(format!("{}: {message}", self.what))
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format_args!("{key} must be a string"))),
        }
    }

    /// A string that goes into a request header or is compared with one: not empty (or blank),
    /// no CR/LF/NUL.
    pub fn header_value(&mut self, key: &str) -> Result<Option<String>> {
        match self.string(key)? {
            Some(v) if v.trim().is_empty() => Err(self.invalid(format_args!("{key} is empty"))),
            Some(v) => http::check_header_value(key, &v).map(|()| Some(v)).map_err(|e| self.invalid(e.message())),
            None => Ok(None),
        }
    }

    pub fn required_header_value(&mut self, key: &str) -> Result<String> {
        self.header_value(key)?.ok_or_else(|| self.invalid(format_args!("{key} is required")))
    }

    /// A secret string (one of `secret_keys`), unescaped into a buffer wiped on drop.
    pub fn secret(&mut self, key: &str) -> Result<Option<Zeroizing<String>>> {
        match self.secrets.remove(key).map(RawValue::get) {
            None | Some("null") => Ok(None),
            Some(text) if text.starts_with('"') => {
                unescape_secret(text).map(Some).ok_or_else(|| self.invalid(format_args!("{key} is not a valid JSON string")))
            }
            Some(_) => Err(self.invalid(format_args!("{key} must be a string"))),
        }
    }

    /// An integer from `min` to `max`.
    pub fn integer(&mut self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v > max => Err(self.invalid(format_args!("{key} must be at most {max}"))),
                Some(v) if v >= min => Ok(Some(v)),
                // Beyond u64 (1e30, 2^64) is too big, not too small.
                None if n.as_f64().is_some_and(|f| f > max as f64) => Err(self.invalid(format_args!("{key} must be at most {max}"))),
                _ => Err(self.invalid(format_args!("{key} must be an integer ≥ {min}"))),
            },
            Some(_) => Err(self.invalid(format_args!("{key} must be a number"))),
        }
    }

    /// A string that is one of the secret keys (read as `secret`) or not (read as `string`).
    fn maybe_secret(&mut self, key: &str) -> Result<Option<Zeroizing<String>>> {
        match self.secrets.contains_key(key) {
            true => self.secret(key),
            false => Ok(self.string(key)?.map(Zeroizing::new)),
        }
    }

    /// Any JSON value but null.
    pub fn value(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// A secret given as text (`text_key`) or in a file (`file_key`, read by
    /// [`read_secret_file`]), exactly one of them; never empty. Neither the secret nor the path
    /// (a secret pasted there by mistake) is ever shown. A file's problems are `ErrorKind::Key`.
    pub fn secret_text_or_file(&mut self, text_key: &str, file_key: &str, limit: u64) -> Result<Zeroizing<Vec<u8>>> {
        match (self.secret(text_key)?, self.secret(file_key)?) {
            (Some(_), Some(_)) => Err(self.invalid(format_args!("set {text_key} or {file_key}, not both"))),
            (None, None) => Err(self.invalid(format_args!("{text_key} or {file_key} is required"))),
            (Some(text), None) if text.is_empty() => Err(self.invalid(format_args!("{text_key} is empty"))),
            (Some(text), None) => Ok(Zeroizing::new(text.as_bytes().to_vec())),
            // A file that cannot be read, or is empty, is the server's trouble (DOKU_ERR_KEY,
            // like an unreadable key file: a merchant answers 500 and DOKU retries), not a bad
            // argument.
            (None, Some(path)) => match read_secret_file(Path::new(path.as_str()), limit) {
                Ok(secret) if secret.is_empty() => Err(Error::key(format!("{}: {file_key} is empty", self.what))),
                Ok(secret) => Ok(secret),
                Err(e) => Err(Error::key(format!("{}: {file_key} cannot be read: {e}", self.what))),
            },
        }
    }

    /// Where a key is: as text (`text_key`, secret or not) or in a file (`file_key`), exactly
    /// one of them. Read and parsed later by `KeySource`, after the cheap checks: options with
    /// several problems report their shape before their keys.
    pub fn key(&mut self, text_key: &str, file_key: &str) -> Result<KeySource> {
        let text = self.maybe_secret(text_key)?;
        match (text, self.maybe_secret(file_key)?) {
            (Some(_), Some(_)) => Err(self.invalid(format_args!("set {text_key} or {file_key}, not both"))),
            (None, None) => Err(self.invalid(format_args!("{text_key} or {file_key} is required"))),
            (Some(text), None) => Ok(KeySource { what: self.what, option: text_key.to_owned(), text: Some(text), path: None }),
            (None, Some(path)) => Ok(KeySource { what: self.what, option: file_key.to_owned(), text: None, path: Some(path) }),
        }
    }
}

/// A key as the options give it, not yet read. Its errors name the option ("config:
/// private_key_file: ...", "options: doku_public_key: ..."): a caller with two keys learns which
/// one is wrong.
pub struct KeySource {
    what: &'static str,
    option: String,
    text: Option<Zeroizing<String>>,
    /// Wiped too: it may be key text given as a path by mistake.
    path: Option<Zeroizing<String>>,
}

impl KeySource {
    /// A private key, decrypted with `passphrase` if it is encrypted.
    pub fn private_key(mut self, passphrase: Option<&Zeroizing<String>>) -> Result<Arc<PrivateKey>> {
        let text = self.text()?;
        PrivateKey::cached(&text, passphrase.map(|p| p.as_bytes())).map_err(|e| self.context(e))
    }

    pub fn public_key(mut self) -> Result<Arc<PublicKey>> {
        let text = self.text()?;
        PublicKey::cached(&text).map_err(|e| self.context(e))
    }

    fn context(&self, e: Error) -> Error {
        Error::new(e.kind(), format!("{}: {}: {}", self.what, self.option, e.message()))
    }

    fn text(&mut self) -> Result<Zeroizing<String>> {
        match (self.text.take(), &self.path) {
            (Some(text), _) => Ok(text),
            (None, path) => {
                let path = path.as_deref().map(String::as_str).unwrap_or_default();
                let problem = |why: String| Error::key(format!("{}: {} {} {why}", self.what, self.option, shown_path(path)));
                // Key text is not opened as a path: std would copy a long path to the heap and
                // free it unwiped.
                if key_like(path) {
                    return Err(problem("is key text, not a path".into()));
                }
                let bytes = Zeroizing::new(read_file(Path::new(path), MAX_KEY_FILE).map_err(|e| problem(format!("cannot be read: {e}")))?);
                let text = std::str::from_utf8(&bytes).map_err(|_| problem("is not a text (PEM or base64) key".into()))?;
                Ok(Zeroizing::new(text.to_owned()))
            }
        }
    }
}

/// A secret kept in a file (a client secret, a Redis password): at most `limit` bytes, with one
/// trailing line end (as `echo` writes it) not part of it. Read into a wiped buffer.
pub(crate) fn read_secret_file(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut read = Zeroizing::new(read_file(path, limit)?);
    for end in [&b"\n"[..], b"\r"] {
        if read.ends_with(end) {
            let n = read.len() - 1;
            read.truncate(n);
        }
    }
    Ok(read)
}

/// A file option's path as messages show it, unless it may be key text pasted into the option:
/// longer than paths usually are, or holding PEM armour or a line break. A 2048-bit key's base64
/// alone is 1,600 characters, so no key fits under the bound.
pub(crate) fn shown_path(path: &str) -> String {
    const LONGEST_SHOWN: usize = 200;
    if path.len() > LONGEST_SHOWN || key_like(path) {
        return format!("(a value of {} characters, not shown)", path.chars().count());
    }
    format!("\"{}\"", printable(path, LONGEST_SHOWN))
}

/// Key text rather than a path: PEM armour, a line break, or longer than any key file's path
/// needs (PATH_MAX is 4096, but no one keeps a key 1,024 bytes deep).
fn key_like(path: &str) -> bool {
    path.len() > 1024 || path.contains("-----") || path.contains(['\n', '\r'])
}

/// Key files are a few KiB; anything this big is the wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Reads a file named by an option: a regular file of at most `limit` bytes. A FIFO would block
/// and /dev/zero would never end; both are refused before reading. Opened without blocking
/// first and checked as opened: a path swapped for a FIFO between a check and the open would
/// otherwise block the call for good.
pub(crate) fn read_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    read_file_with(path, limit, 0)
}

/// `read_file` with more open flags, e.g. `O_NOFOLLOW` for a file in a shared directory.
pub(crate) fn read_file_with(path: &Path, limit: u64, flags: i32) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind as Io, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | flags).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(IoError::new(Io::InvalidInput, "not a regular file"));
    }
    // Sized for the limit, not the file's size: a file that grows while it is read would grow
    // the Vec, which frees each smaller buffer (key text) unwiped.
    let mut bytes = Vec::with_capacity(limit as usize + 1);
    (&mut file).take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(IoError::new(Io::InvalidData, format!("larger than {limit} bytes")));
    }
    Ok(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn secrets_unescape_as_serde_json_does() {
        // Generated string bodies: plain text, every escape, surrogate pairs, lone surrogates,
        // bad and cut escapes, raw control characters and quotes.
        const PIECES: &[&str] = &[
            "a",
            "Z9+/=",
            " ",
            "é",
            "😀",
            "-----BEGIN ",
            "\\n",
            "\\\\",
            "\\\"",
            "\\/",
            "\\b",
            "\\f",
            "\\r",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\u00E9",
            "\\u0000",
            "\\uD83D\\uDE00",
            "\\ud83d\\ude00",
            "\\uDBFF\\uDFFF",
            "\\uD800",
            "\\uDC00",
            "\\uD800\\u0041",
            "\\uD800\\uD800",
            "\\uD800\\n",
            "\\u12",
            "\\u12G4",
            "\\x",
            "\\",
            "\"",
            "\u{1}",
            "\n",
            "\u{7f}",
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
        let mut o = Options::parse("opts", r#"{"s":"\ud800"}"#, &["s"], &["s"]).unwrap();
        let e = o.secret("s").unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, "opts: s is not a valid JSON string"));
    }

    #[test]
    fn messages_never_show_what_may_be_key_text() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let name = serde_json::to_string(pem).unwrap();
        let e = Options::parse("opts", &format!("{{{name}:1}}"), &["a"], &[]).err().unwrap();
        assert_eq!(e.message(), "opts: unknown key (a name of 87 characters, not shown) (known keys: a)");
        let e = Options::parse("opts", r#"{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDZ+base64":1}"#, &["a"], &[]).err().unwrap();
        assert!(e.message().starts_with("opts: unknown key (a name of 59 characters, not shown)"), "{e}");
        let e = Options::parse("opts", r#"{"ttl":1}"#, &["a"], &[]).err().unwrap();
        assert_eq!(e.message(), "opts: unknown key \"ttl\" (known keys: a)", "a name is shown");
        // A key given where a path belongs: neither shown nor opened.
        let json = format!(r#"{{"f":{name}}}"#);
        let mut o = Options::parse("opts", &json, &["k", "f"], &["k", "f"]).unwrap();
        let e = o.key("k", "f").ok().unwrap().public_key().unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::Key, "opts: f (a value of 87 characters, not shown) is key text, not a path"));
        for path in ["a/b\nc", &"x/".repeat(513)] {
            assert!(key_like(path) && !shown_path(path).contains("x/x/"), "{path:?}");
        }
        assert_eq!(shown_path("/etc/doku/k.pem"), "\"/etc/doku/k.pem\"");
    }

    #[test]
    fn header_values_and_unreadable_values() {
        let mut o = Options::parse("opts", r#"{"id":"A\r\nX-Evil: 1","n":1e400}"#, &["id", "n"], &[]);
        assert_eq!(
            o.as_ref().err().map(|e| e.message()),
            Some("opts: n cannot be read (a number out of range, nesting too deep or a lone surrogate)")
        );
        o = Options::parse("opts", r#"{"id":"A\r\nX-Evil: 1"}"#, &["id"], &[]);
        let e = o.unwrap().header_value("id").unwrap_err();
        assert_eq!(e.message(), "opts: id contains CR, LF or NUL, which cannot go into an HTTP header");
    }

    #[test]
    fn files_swapped_for_a_fifo_never_block() {
        let dir = std::env::temp_dir().join(format!("doku-options-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        // Opened as it is read, without blocking: no writer, no hang, and refused as a FIFO.
        let e = read_file(&fifo, 64).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn integers_within_bounds() {
        let take = |json: &str| Options::parse("opts", json, &["n"], &[]).unwrap().integer("n", 1, 60);
        assert_eq!(take(r#"{"n":1}"#).unwrap(), Some(1));
        assert_eq!(take(r#"{"n":60}"#).unwrap(), Some(60));
        assert_eq!(take(r#"{"n":null}"#).unwrap(), None);
        assert_eq!(take("{}").unwrap(), None);
        for (json, want) in [
            (r#"{"n":0}"#, "opts: n must be an integer ≥ 1"),
            (r#"{"n":-1}"#, "opts: n must be an integer ≥ 1"),
            (r#"{"n":1.5}"#, "opts: n must be an integer ≥ 1"),
            (r#"{"n":61}"#, "opts: n must be at most 60"),
            (r#"{"n":1e30}"#, "opts: n must be at most 60"),
            (r#"{"n":18446744073709551616}"#, "opts: n must be at most 60"),
            (r#"{"n":"5"}"#, "opts: n must be a number"),
        ] {
            let e = take(json).unwrap_err();
            assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, want), "{json}");
        }
    }
}
