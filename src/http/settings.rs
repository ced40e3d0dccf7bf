//! Where and how to talk to DOKU: the base URL, timeouts, extra trusted CAs and the proxy, checked
//! once when a config is parsed. [`TransportKey`] names everything that changes how a request
//! travels; agents (and their pooled connections) are shared between clients with equal keys.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::Uri;

use super::tls::Trust;
use crate::error::{Error, Result};

/// Big enough for a full system CA bundle.
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// Where and how to talk to DOKU. Immutable once built.
#[derive(Clone)]
pub struct Settings {
    base_url: String,
    /// The host as messages name it (`[::1]` for IPv6).
    host: String,
    trust: Arc<Trust>,
    key: TransportKey,
}

/// Everything that can make a request to the same base URL travel differently: two clients
/// whose keys are equal share an HTTP agent, its TLS setup and its kept-alive connections, and
/// the outcome of each other's token fetches.
///
/// Debug never shows the proxy URL, which may carry credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TransportKey {
    /// `scheme://host:port`.
    pub(super) origin: String,
    /// `http://[user:password@]host:port`.
    pub(super) proxy: Option<String>,
    /// SHA-256 of the `ca_file` contents.
    pub(super) ca_digest: Option<[u8; 32]>,
    pub(super) timeout: Duration,
    pub(super) connect_timeout: Duration,
}

impl Drop for TransportKey {
    fn drop(&mut self) {
        // The proxy URL may hold a password; each copy is wiped as it goes.
        if let Some(proxy) = self.proxy.as_mut() {
            zeroize::Zeroize::zeroize(proxy);
        }
    }
}

impl std::fmt::Debug for TransportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may hold user:password@: only where it points is shown.
        let proxy = self.proxy.as_deref().map(|p| match p.parse::<Uri>().ok().as_ref().and_then(Uri::authority) {
            Some(a) => format!("http://{}:{}", a.host(), a.port_u16().unwrap_or(80)),
            None => "<set>".to_owned(),
        });
        f.debug_struct("TransportKey")
            .field("origin", &self.origin)
            .field("proxy", &proxy)
            .field("ca_file", &self.ca_digest.map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("base_url", &self.base_url).field("transport", &self.key).finish()
    }
}

impl Settings {
    /// `proxy`: `None` follows `HTTPS_PROXY`/`https_proxy`, `ALL_PROXY` and `NO_PROXY` as curl
    /// does (`http_proxy` for plain http), except that loopback hosts never take a proxy from
    /// the environment; `Some("")` disables proxies; `Some(url)` uses that one.
    pub fn new(base_url: &str, timeout: Duration, connect_timeout: Duration, ca_file: Option<&Path>, proxy: Option<&str>) -> Result<Settings> {
        Self::with_env(base_url, timeout, connect_timeout, ca_file, proxy, &|name| std::env::var(name).ok())
    }

    fn with_env(
        base_url: &str,
        timeout: Duration,
        connect_timeout: Duration,
        ca_file: Option<&Path>,
        proxy: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        if base_url.chars().any(char::is_control) {
            return Err(Error::invalid("config: base_url contains control characters"));
        }
        let target = Target::parse(base_url)?;
        let loopback = is_loopback(&target.host);
        match target.scheme.as_str() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::invalid(
                    "config: base_url: plain http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); use https://",
                ))
            }
            _ => return Err(Error::invalid("config: base_url must start with https:// (or http:// for loopback)")),
        }
        let trust = match ca_file {
            Some(path) => {
                let shown = crate::options::shown_path(&path.to_string_lossy());
                let pem = crate::options::read_file(path, MAX_CA_FILE)
                    .map_err(|e| Error::invalid(format!("config: ca_file {shown} cannot be read: {e}")))?;
                Trust::with_extra_cas(&pem).map_err(|why| Error::invalid(format!("config: ca_file {shown} {why}")))?
            }
            None => Trust::system(),
        };
        let proxy = match proxy {
            Some("") => None,
            Some(p) => Some(check_proxy(p, "config: proxy")?),
            // A loopback target is this machine: its traffic, signatures included, never leaves
            // it through a proxy that the environment happens to name.
            None if loopback => None,
            None => proxy_from_env(&target.scheme, &target.host, env)?,
        };
        let key = TransportKey {
            origin: format!("{}://{}:{}", target.scheme, target.host, target.port),
            proxy,
            ca_digest: trust.digest(),
            timeout,
            // The connect phase is part of the request: it never gets more than the whole.
            connect_timeout: connect_timeout.min(timeout),
        };
        Ok(Settings { base_url: target.base, host: target.host, trust, key })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The host, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn timeout(&self) -> Duration {
        self.key.timeout
    }

    pub fn connect_timeout(&self) -> Duration {
        self.key.connect_timeout
    }

    pub fn uses_proxy(&self) -> bool {
        self.key.proxy.is_some()
    }

    pub fn transport(&self) -> &TransportKey {
        &self.key
    }

    pub(crate) fn trust(&self) -> &Arc<Trust> {
        &self.trust
    }
}

/// A base URL, taken apart and normalized: the same origin spelled differently (case, default
/// port, trailing slash) is the same origin for the token cache and the agents.
struct Target {
    scheme: String,
    /// Lower case; IPv6 in brackets.
    host: String,
    port: u16,
    /// `scheme://host[:port][/path]`, the port only if not the default, no trailing slash.
    base: String,
}

impl Target {
    fn parse(base_url: &str) -> Result<Target> {
        if base_url.contains('#') {
            return Err(Error::invalid("config: base_url must not have a query or fragment"));
        }
        let uri: Uri = base_url.parse().map_err(|e| Error::invalid(format!("config: base_url is not a valid URL ({e})")))?;
        let scheme = uri.scheme_str().unwrap_or_default().to_ascii_lowercase();
        let authority = uri.authority().ok_or_else(|| Error::invalid("config: base_url has no host"))?;
        if authority.as_str().contains('@') {
            return Err(Error::invalid("config: base_url must not contain credentials"));
        }
        if uri.query().is_some() {
            return Err(Error::invalid("config: base_url must not have a query or fragment"));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(Error::invalid("config: base_url has no host"));
        }
        let default_port = if scheme == "http" { 80 } else { 443 };
        let port = authority.port_u16().unwrap_or(default_port);
        let shown_port = if port == default_port { String::new() } else { format!(":{port}") };
        let base = format!("{scheme}://{host}{shown_port}{}", uri.path()).trim_end_matches('/').to_owned();
        Ok(Target { scheme, host, port, base })
    }
}

/// localhost, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Proxies as ureq takes them: `http://[user:pass@]host:port`. The URL is never echoed.
fn check_proxy(proxy: &str, what: &str) -> Result<String> {
    let ok = proxy
        .parse::<Uri>()
        .ok()
        .filter(|u| u.scheme_str() == Some("http") && u.authority().is_some_and(|a| !a.host().is_empty()) && matches!(u.path(), "" | "/"))
        .is_some();
    if !ok || ureq::Proxy::new(proxy).is_err() {
        return Err(Error::invalid(format!("{what} is not a valid http://host:port proxy URL")));
    }
    Ok(proxy.to_owned())
}

/// curl's rules: the scheme's variable (`https_proxy`/`HTTPS_PROXY`, or lowercase-only
/// `http_proxy`), else `ALL_PROXY`; `NO_PROXY` lists hosts or domain suffixes that go direct,
/// `*` meaning all.
fn proxy_from_env(scheme: &str, host: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>> {
    let get = |names: &[&'static str]| first_set(env, names);
    let scheme_vars: &[&str] = if scheme == "https" { &["https_proxy", "HTTPS_PROXY"] } else { &["http_proxy"] };
    let Some((name, proxy)) = get(scheme_vars).or_else(|| get(&["all_proxy", "ALL_PROXY"])) else {
        return Ok(None);
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if let Some((_, no_proxy)) = get(&["no_proxy", "NO_PROXY"]) {
        if no_proxy_matches(&no_proxy, &host) {
            return Ok(None);
        }
    }
    // Accept "host:port" without a scheme, as curl does.
    let proxy = if proxy.contains("://") { proxy } else { format!("http://{proxy}") };
    check_proxy(&proxy, &format!("the {name} environment variable")).map(Some)
}

fn first_set(env: &dyn Fn(&str) -> Option<String>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()).map(|v| (*n, v)))
}

fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(|e| e.trim().to_ascii_lowercase()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('.');
        if entry.is_empty() {
            return false;
        }
        if let (Ok(a), Ok(b)) = (entry.parse::<IpAddr>(), host.parse::<IpAddr>()) {
            return a == b;
        }
        host == entry || host.ends_with(&format!(".{entry}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn settings(url: &str) -> Result<Settings> {
        Settings::new(url, Duration::from_secs(2), Duration::from_secs(1), None, Some(""))
    }

    #[test]
    fn loopback_rule() {
        for ok in ["https://api.doku.com", "http://localhost:8080", "http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:80", "https://10.0.0.1"] {
            assert!(settings(ok).is_ok(), "{ok}");
        }
        for bad in ["http://api.doku.com", "http://10.0.0.1", "http://localhost.evil.com", "http://[::2]"] {
            assert!(settings(bad).unwrap_err().message().contains("only for loopback"), "{bad}");
        }
        assert!(settings("https://u:p@h").unwrap_err().message().contains("credentials"));
        assert!(settings("https://h/?q=1").unwrap_err().message().contains("query"));
        assert!(settings("https://h\0.evil").unwrap_err().message().contains("control characters"));
    }

    #[test]
    fn connect_timeout_never_exceeds_the_whole() {
        let s = Settings::new("https://h", Duration::from_millis(500), Duration::from_secs(10), None, Some("")).unwrap();
        assert_eq!(s.connect_timeout(), Duration::from_millis(500));
    }

    #[test]
    fn the_transport_key_names_what_changes_the_route() {
        let s = |url: &str, timeout: u64, proxy: &str| {
            Settings::new(url, Duration::from_millis(timeout), Duration::from_secs(1), None, Some(proxy)).unwrap().transport().clone()
        };
        let base = s("https://api.doku.com/", 2000, "");
        assert_eq!(base, s("https://api.doku.com", 2000, ""), "a trailing slash changes nothing");
        assert_eq!(base, s("https://API.doku.com:443", 2000, ""), "nor the default port or the host's case");
        assert_ne!(base, s("https://api.doku.com:8443", 2000, ""));
        assert_ne!(base, s("https://api.doku.com", 3000, ""));
        assert_ne!(base, s("https://api.doku.com", 2000, "http://p:1"));
        assert_eq!(base.origin, "https://api.doku.com:443");
        let with_proxy = format!("{:?}", s("https://api.doku.com", 2000, "http://user:s3cret@p:1"));
        assert!(!with_proxy.contains("s3cret") && !with_proxy.contains("user"), "{with_proxy}");
    }

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    }

    #[test]
    fn proxies_from_the_environment_follow_curl() {
        let https = ("https", "api.doku.com");
        let http = ("http", "127.0.0.1");
        let p = |(scheme, host): &(&str, &str), vars: &[(&str, &str)]| proxy_from_env(scheme, host, &env_of(vars)).unwrap();
        assert_eq!(p(&https, &[]), None);
        assert_eq!(p(&https, &[("HTTPS_PROXY", "http://proxy.local:3128")]).as_deref(), Some("http://proxy.local:3128"));
        assert_eq!(p(&https, &[("https_proxy", "proxy.local:3128")]).as_deref(), Some("http://proxy.local:3128"));
        assert_eq!(p(&https, &[("ALL_PROXY", "http://all:1")]).as_deref(), Some("http://all:1"));
        assert_eq!(p(&http, &[("HTTP_PROXY", "http://p:1")]), None, "uppercase HTTP_PROXY is ignored, as in curl");
        assert_eq!(p(&http, &[("http_proxy", "http://p:1")]).as_deref(), Some("http://p:1"));
        for no in ["doku.com", ".doku.com", "api.doku.com", "*", "other, doku.com"] {
            assert_eq!(p(&https, &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)]), None, "{no}");
        }
        for yes in ["ku.com", "example.com", "api.doku.com.evil"] {
            assert!(p(&https, &[("HTTPS_PROXY", "http://p:1"), ("no_proxy", yes)]).is_some(), "{yes}");
        }
        assert_eq!(p(&http, &[("http_proxy", "http://p:1"), ("NO_PROXY", "127.0.0.1")]), None);
        let e = proxy_from_env(https.0, https.1, &env_of(&[("HTTPS_PROXY", "http://user:s3cret@::bad")])).unwrap_err();
        assert!(e.message().contains("HTTPS_PROXY") && !e.message().contains("s3cret"), "{e}");
    }

    /// Regression: with `http_proxy` set, a request to `http://127.0.0.1:…` went to the proxy,
    /// signature included. The environment now applies only to hosts that are not this machine.
    #[test]
    fn loopback_targets_never_take_a_proxy_from_the_environment() {
        let vars =
            [("http_proxy", "http://proxy.invalid:3128"), ("https_proxy", "http://proxy.invalid:3128"), ("ALL_PROXY", "http://proxy.invalid:1")];
        let with = |url: &str, proxy: Option<&str>| {
            Settings::with_env(url, Duration::from_secs(1), Duration::from_secs(1), None, proxy, &env_of(&vars)).unwrap().uses_proxy()
        };
        for url in ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:1", "https://LOCALHOST:8443", "http://[::1]:80"] {
            assert!(!with(url, None), "{url}");
        }
        assert!(with("https://api.doku.com", None), "other hosts still follow the environment");
        // A proxy named in the config is a deliberate choice and is honoured even for loopback.
        assert!(with("http://127.0.0.1:8080", Some("http://p:1")));
    }
}
