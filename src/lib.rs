//! doku-snap: a native authentication core for DOKU's SNAP APIs.
//!
//! Data flows one way: [`config`] → [`client::Client`] → [`signature`] / [`http`] → parsed
//! response → [`token::cache`] → the C API in `ffi`. Everything outside `ffi` is safe Rust with
//! its own unit tests; `ffi` is the only module with `unsafe`.

#![deny(unsafe_code)]

pub mod client;
pub(crate) mod clock;
pub mod config;
pub mod error;
pub mod external_id;
pub(crate) mod fork;
pub mod http;
pub mod jwt;
pub mod key;
pub mod log;
pub mod merchant;
pub mod operations;
pub(crate) mod options;
pub mod request;
pub mod signature;
pub mod signed_request;
pub mod text;
pub mod timestamp;
pub mod token;

pub mod ffi;

pub use error::{Error, ErrorKind, Result};

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use zeroize::Zeroizing;

    use crate::key::tests::test_key;

    /// Every public type that can hold a secret, formatted with `{:?}`: no secret shows, neither
    /// as text nor as a list of bytes.
    #[test]
    fn debug_never_shows_a_secret() {
        const PROXY_USER: &str = "proxy-user-3f9a";
        const PROXY_PASSWORD: &str = "proxy-pass-8c2e";
        const PASSPHRASE: &str = "debug-passphrase-77d1";
        const CLIENT_SECRET: &str = "debug-client-secret-0b6e";
        const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.debug-access-token.c2ln";
        const REFRESH: &str = "debug-refresh-token-5a4f";
        const AUTH_CODE: &str = "debug-auth-code-e91c";
        let enc = test_key().private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), PASSPHRASE.as_bytes()).unwrap();
        let enc = String::from_utf8(enc).unwrap();
        let plain = String::from_utf8(test_key().private_key_to_pem_pkcs8().unwrap()).unwrap();
        let json = format!(
            r#"{{"client_id":"MCH","private_key":{},"private_key_passphrase":"{PASSPHRASE}","client_secret":"{CLIENT_SECRET}","proxy":"http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.local:3128"}}"#,
            serde_json::to_string(&enc).unwrap()
        );
        let config = crate::config::Config::from_json(&json).unwrap();
        let (private, public) = crate::key::tests::test_keys();
        let grant = || crate::token::Grant { access_token: Zeroizing::new(TOKEN.into()), token_type: "Bearer".into(), expires_in: 900 };
        let answer = format!(r#"{{"responseCode":"2007300","accessToken":"{TOKEN}","expiresIn":900}}"#);

        let shown = [
            format!("{config:?}"),
            format!("{:?}", config.http),
            format!("{:?}", config.client_secret),
            format!("{private:?} {public:?}"),
            format!("{:?}", grant()),
            format!("{:?}", crate::token::Token::new(grant(), crate::clock::Stamp::now(), SystemTime::now())),
            format!(
                "{:?}",
                crate::client::TokenInfo {
                    access_token: TOKEN.into(),
                    token_type: "Bearer".into(),
                    expires_in: 900,
                    expires_at: SystemTime::now(),
                    refresh_error: Some("cannot connect to api.doku.com".into()),
                }
            ),
            format!(
                "{:?}",
                crate::token::b2b2c::CustomerToken {
                    access_token: Zeroizing::new(TOKEN.into()),
                    token_type: "Bearer".into(),
                    access_token_expiry_time: "2026-01-01T00:15:00+07:00".into(),
                    refresh_token: Zeroizing::new(REFRESH.into()),
                    refresh_token_expiry_time: "2026-01-31T00:00:00+07:00".into(),
                }
            ),
            format!("{:?} {:?}", crate::token::b2b2c::Grant::AuthorizationCode(AUTH_CODE), crate::token::b2b2c::Grant::RefreshToken(REFRESH)),
            format!(
                "{:?}",
                crate::merchant::Accepted { client_id: "MCH".into(), grant: crate::merchant::GrantRequest::RefreshToken(REFRESH.into()) }
            ),
            format!("{:?}", crate::merchant::GrantRequest::AuthorizationCode(AUTH_CODE.into())),
            format!(
                "{:?}",
                crate::signature::symmetric::Request {
                    method: "POST",
                    path: "/p",
                    access_token: TOKEN,
                    body: Some("{}"),
                    timestamp: "2026-01-01T00:00:00Z"
                }
            ),
            format!("{:?}", crate::http::Response { status: 200, body: answer.into_bytes(), date: None, received_at: SystemTime::now() }),
        ];
        let mut secrets: Vec<String> = [PROXY_USER, PROXY_PASSWORD, PASSPHRASE, CLIENT_SECRET, TOKEN, REFRESH, AUTH_CODE].map(String::from).to_vec();
        for pem in [&enc, &plain] {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            secrets.extend(body.as_bytes().windows(16).map(|w| String::from_utf8(w.to_vec()).unwrap()));
        }
        // Bytes print as numbers: the same secrets as `Vec<u8>`'s Debug would list them.
        let as_bytes: Vec<String> = secrets.iter().map(|s| s.bytes().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")).collect();
        assert!(shown[1].contains(r#"proxy: Some("http://proxy.local:3128")"#), "where the proxy is still shows: {}", shown[1]);
        let leaks: Vec<&String> = shown.iter().filter(|text| secrets.iter().chain(&as_bytes).any(|s| text.contains(s.as_str()))).collect();
        assert!(leaks.is_empty(), "secrets in Debug output:\n{leaks:#?}");
    }
}
