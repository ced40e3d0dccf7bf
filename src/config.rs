//! The client configuration, parsed from the JSON that `doku_client_new` receives, strictly
//! and without copying secrets (see `crate::options`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http;
use crate::key::PrivateKey;
pub use crate::options::DefaultValue;
use crate::options::Options;
use crate::timestamp::Offset;
use crate::token::store::{StoreSettings, TokenStore};

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
    "token_store",
    "token_store_timeout_ms",
    "redis_password_file",
];
// The defaults of the optional keys that have a value as default; the parser uses these, and
// DEFAULTS lists them for the docs.
pub const DEFAULT_ENVIRONMENT: &str = "sandbox";
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_REFRESH_MARGIN_S: u64 = 60;
pub const DEFAULT_TIMESTAMP_OFFSET: &str = "Z";
pub const DEFAULT_TOKEN_STORE: &str = "memory";
/// The largest `timeout_ms` and `connect_timeout_ms`: a payment call that may hang longer than
/// 10 minutes is a bug.
pub const MAX_TIMEOUT_MS: u64 = 600_000;
pub use crate::token::store::DEFAULT_TIMEOUT_MS as DEFAULT_TOKEN_STORE_TIMEOUT_MS;

/// Each `DEFAULT_*` by its key. README.md's configuration table and doku.h's comment of
/// `doku_client_new` state the same values (tests/docs.rs checks both).
pub const DEFAULTS: &[(&str, DefaultValue)] = &[
    ("environment", DefaultValue::Text(DEFAULT_ENVIRONMENT)),
    ("timeout_ms", DefaultValue::Number(DEFAULT_TIMEOUT_MS)),
    ("connect_timeout_ms", DefaultValue::Number(DEFAULT_CONNECT_TIMEOUT_MS)),
    ("refresh_margin_s", DefaultValue::Number(DEFAULT_REFRESH_MARGIN_S)),
    ("timestamp_offset", DefaultValue::Text(DEFAULT_TIMESTAMP_OFFSET)),
    ("token_store", DefaultValue::Text(DEFAULT_TOKEN_STORE)),
    ("token_store_timeout_ms", DefaultValue::Number(DEFAULT_TOKEN_STORE_TIMEOUT_MS)),
];

/// Kept raw until taken, never unescaped by serde_json (see `crate::options`).
// private_key_file too: key text given there by mistake is a secret.
// token_store: a redis:// URL may carry a password.
// redis_password_file: a password given there by mistake.
const SECRET_KEYS: &[&str] = &["private_key", "private_key_passphrase", "client_secret", "private_key_file", "token_store", "redis_password_file"];

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
    /// Where the token is shared beyond this process.
    pub token_store: TokenStore,
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
        let mut o = Options::parse("config", text, KEYS, SECRET_KEYS)?;
        let client_id = o.required_header_value("client_id")?;
        let key = o.key("private_key", "private_key_file")?;
        let passphrase = o.secret("private_key_passphrase")?;
        let environment = o.string("environment")?;
        let base_url = match (o.string("base_url")?, environment.as_deref().unwrap_or(DEFAULT_ENVIRONMENT)) {
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

        let millis = |o: &mut Options, key, default| Ok::<_, Error>(Duration::from_millis(o.integer(key, 1, MAX_TIMEOUT_MS)?.unwrap_or(default)));
        let timeout = millis(&mut o, "timeout_ms", DEFAULT_TIMEOUT_MS)?;
        let connect_timeout = millis(&mut o, "connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS)?;
        let ca_file = o.string("ca_file")?.map(PathBuf::from);
        let refresh_margin = Duration::from_secs(o.integer("refresh_margin_s", 0, 86_400)?.unwrap_or(DEFAULT_REFRESH_MARGIN_S));
        let timestamp_offset = Offset::parse(o.string("timestamp_offset")?.as_deref().unwrap_or(DEFAULT_TIMESTAMP_OFFSET))?;
        let proxy = o.string("proxy")?;
        let client_secret = match o.secret("client_secret")? {
            Some(s) if s.is_empty() => return Err(Error::invalid("config: client_secret is empty")),
            Some(s) => Some(Secret(Zeroizing::new(s.as_bytes().to_vec()))),
            None => None,
        };
        let channel_id = o.header_value("channel_id")?;
        let partner_id = o.header_value("partner_id")?.unwrap_or_else(|| client_id.clone());

        let store_timeout = Duration::from_millis(o.integer("token_store_timeout_ms", 1, 10_000)?.unwrap_or(DEFAULT_TOKEN_STORE_TIMEOUT_MS));
        let token_store = o.secret("token_store")?;
        let password_file = o.secret("redis_password_file")?;
        let http = http::Settings::new(&base_url, timeout, connect_timeout, ca_file.as_deref(), proxy.as_deref())?;
        let store_settings =
            StoreSettings { timeout: store_timeout, password_file: password_file.as_deref().map(|p| Path::new(p.as_str())), trust: http.trust() };
        let token_store = TokenStore::from_config(token_store.as_deref().map(String::as_str), &store_settings)?;
        // The key last, after the cheap checks: a config with several problems reports its
        // shape before its key.
        let key = key.private_key(passphrase.as_ref())?;
        Ok(Config { client_id, key, http, refresh_margin, timestamp_offset, client_secret, channel_id, partner_id, token_store })
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
        let c = cfg(r#","environment":"production","timeout_ms":5000,"connect_timeout_ms":700,"refresh_margin_s":0,"timestamp_offset":"+07:00""#)
            .unwrap();
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
