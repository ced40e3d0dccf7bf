//! `doku-sandbox`: the offline SNAP token server, for SDK tests in any language.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use doku::key::PublicKey;
use doku_sandbox::notify::{self, PAYMENT_PATH};
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig, B2B2C_TOKEN_PATH, CREATE_VA_PATH, REVOKE_PATH, STATS_PATH, TOKEN_PATH};

fn help() -> String {
    format!(
        "\
doku-sandbox {version}: an offline DOKU SNAP server for tests

USAGE:
  doku-sandbox [OPTIONS]

It serves POST {TOKEN_PATH} with DOKU's checks, in DOKU's order:
missing X-CLIENT-KEY / X-TIMESTAMP / X-SIGNATURE (400, 4007302), malformed X-TIMESTAMP (400, 4007301),
a body other than {{\"grantType\":\"client_credentials\"}} (400, 4007300), unknown client (401, 4017300),
X-TIMESTAMP too far from the server clock (401, 4017300), a signature that is not SHA256withRSA over
\"CLIENT_ID|X-TIMESTAMP\" with the registered key (401, 4017300, with an explanation), else 200, 2007300 and an
RS256 JWT. GET {STATS_PATH} returns {{\"tokenRequests\":{{\"CLIENT_ID\":N}}}}.

POST {B2B2C_TOKEN_PATH}: the same header and signature checks (service 74), body
{{\"grantType\":\"authorization_code\",\"authCode\":\"...\"}} (codes starting with \"invalid\" get 401, 4017401) or
{{\"grantType\":\"refresh_token\",\"refreshToken\":\"...\"}} (one this sandbox issued); 200, 2007400 with accessToken,
accessTokenExpiryTime, refreshToken (30 days) and refreshTokenExpiryTime.

POST {CREATE_VA_PATH} (service 27), in order:
missing Authorization: Bearer / X-TIMESTAMP / X-SIGNATURE / X-PARTNER-ID / X-EXTERNAL-ID / CHANNEL-ID (400, 4002702),
malformed X-TIMESTAMP or X-EXTERNAL-ID (not digits, over 36) (400, 4002701), a token not issued here, expired or
revoked (401, 4012701), a token of another client than X-PARTNER-ID, X-TIMESTAMP too far off, no --secret for the
client, or an X-SIGNATURE that is not HMAC-SHA512 with the secret over
\"POST:PATH:TOKEN:sha256hex(minified body):X-TIMESTAMP\" (401, 4012700), an X-EXTERNAL-ID the client used today
(409, 4092700), a missing body field (400, 4002702), else 200, 2002700 with virtualAccountData.
POST {REVOKE_PATH}?client=ID revokes that client's tokens, so clients see 4012701 and fetch a new one.

OPTIONS:
  --listen ADDR:PORT        address to listen on (default 127.0.0.1:8080; port 0 picks a free port)
  --client ID=PEM_FILE      register a merchant: client id and its RSA public key (PEM or bare base64);
                            repeatable
  --tls-dir DIR             serve HTTPS; DIR/ca.pem (the CA clients must trust), ca-key.pem, server.pem and
                            server-key.pem are created on first use (for localhost and 127.0.0.1) and reused
  --token-ttl SECONDS       token lifetime, the expiresIn value (default 900)
  --max-skew SECONDS        largest accepted X-TIMESTAMP distance from the server clock (default 300)
  --secret ID=SECRET        a client secret, for create-va and notifications; repeatable; never logged
  --secret-file ID=PATH     the same, read from a file (surrounding whitespace trimmed)
  --fault ID=MODE           make the server misbehave for one client id (X-CLIENT-KEY, or X-PARTNER-ID on
                            create-va); repeatable, modes combine
  --doku-key-dir DIR        keep DOKU's key pair in DIR/doku-private.pem and DIR/doku-public.pem (created on
                            first use, reused after; default: the --tls-dir, else a new pair per run)
  --notify URL              act as DOKU toward the merchant at URL, once, after starting:
                            POST URL{TOKEN_PATH} signed with DOKU's private key, then
                            POST URL{PAYMENT_PATH} (a VA payment notification) with that token
                            and an HMAC-SHA512 X-SIGNATURE keyed with the client secret
  --notify-client ID        the merchant's client id (default: the first --client); needs its --secret
  --notify-ca FILE          CA certificates (PEM) to trust for an https:// merchant
  --notify-exit             exit after notifying: 0 if the merchant accepted both requests, else 1
  --quiet                   no request log
  -h, --help                this text
  -V, --version             the version

FAULT MODES:
{faults}
  On b2b2c and create-va, delay, reset, http500, badjson, error200 (5007400 / 5002700), stall-body and clock
  apply alike, and ttl to b2b2c access tokens; bad-expiry concerns b2b2c only, the others B2B tokens only.

OUTPUT:
  The first line on stdout is \"listening on URL\"; with --tls-dir the second is \"ca file: PATH\".
  With a persisted DOKU key pair, stderr gets \"doku public key: PATH\" (merchants verify DOKU with it).
  --notify prints one line per step on stderr, then \"notify: ok (token 2007300, payment 2002500)\" or
  \"notify: failed: REASON\" on stdout.
  stderr gets one line per request: client=ID outcome=ok|refused|fault:MODE code=CODE http=STATUS path=PATH
  (never signatures, tokens or keys). The server runs until interrupted (Ctrl-C, SIGTERM).

EXAMPLE:
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem
  openssl pkey -in key.pem -pubout -out pub.pem
  doku-sandbox --listen 127.0.0.1:0 --client MCH-1=pub.pem --fault MCH-SLOW=delay:5000
  TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  SIG=$(printf '%s|%s' MCH-1 \"$TS\" | openssl dgst -sha256 -sign key.pem | base64 -w0)
  curl -s -X POST URL{TOKEN_PATH} -H 'Content-Type: application/json' \\
    -H 'X-CLIENT-KEY: MCH-1' -H \"X-TIMESTAMP: $TS\" -H \"X-SIGNATURE: $SIG\" -d '{{\"grantType\":\"client_credentials\"}}'
",
        version = env!("CARGO_PKG_VERSION"),
        faults = Fault::HELP
    )
}

struct Notify {
    url: String,
    client: String,
    ca: Option<PathBuf>,
    exit: bool,
}

struct Options {
    config: SandboxConfig,
    notify: Option<Notify>,
}

enum Parsed {
    Run(Box<Options>),
    Exit(String),
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut config = SandboxConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        ..SandboxConfig::default()
    };
    let (mut notify_url, mut notify_client, mut notify_ca, mut notify_exit) = (None, None, None, false);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{flag} needs {what}")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Exit(help())),
            "-V" | "--version" => return Ok(Parsed::Exit(format!("doku-sandbox {}\n", env!("CARGO_PKG_VERSION")))),
            "--quiet" => config.log = Log::Off,
            "--listen" => config.listen = parse_listen(&value("ADDR:PORT")?)?,
            "--tls-dir" => config.tls_dir = Some(PathBuf::from(value("a directory")?)),
            "--token-ttl" => config.token_ttl = parse_seconds(&flag, &value("a number of seconds")?, 1)?,
            "--max-skew" => config.max_skew = parse_seconds(&flag, &value("a number of seconds")?, 0)?,
            "--client" => {
                let (id, file) = split_pair(&flag, &value("ID=PEM_FILE")?)?;
                let text = std::fs::read_to_string(&file).map_err(|e| format!("--client {id}: cannot read {file}: {e}"))?;
                let key = PublicKey::parse(&text).map_err(|e| format!("--client {id}: {file}: {e}"))?;
                config.clients.push((id, key));
            }
            "--fault" => {
                let (id, mode) = split_pair(&flag, &value("ID=MODE")?)?;
                let fault: Fault = mode.parse().map_err(|e| format!("--fault {id}: {e}"))?;
                config.faults.push((id, fault));
            }
            "--secret" => {
                // The secret is never echoed, not even in errors.
                let (id, secret) = value("ID=SECRET")?
                    .split_once('=')
                    .filter(|(id, s)| !id.is_empty() && !s.is_empty())
                    .map(|(id, s)| (id.to_owned(), s.to_owned()))
                    .ok_or_else(|| "--secret: expected ID=SECRET, with neither empty".to_owned())?;
                config.secrets.push((id, secret));
            }
            "--secret-file" => {
                let (id, file) = split_pair(&flag, &value("ID=PATH")?)?;
                let text = std::fs::read_to_string(&file).map_err(|e| format!("--secret-file {id}: cannot read {file}: {e}"))?;
                let secret = text.trim();
                if secret.is_empty() {
                    return Err(format!("--secret-file {id}: {file} is empty"));
                }
                config.secrets.push((id, secret.to_owned()));
            }
            "--doku-key-dir" => config.doku_key_dir = Some(PathBuf::from(value("a directory")?)),
            "--notify" => notify_url = Some(value("the merchant's base URL")?),
            "--notify-client" => notify_client = Some(value("a client id")?),
            "--notify-ca" => notify_ca = Some(PathBuf::from(value("a CA file")?)),
            "--notify-exit" => notify_exit = true,
            _ => return Err(format!("unknown argument \"{}\"", arg.escape_default())),
        }
    }
    let notify = match notify_url {
        None if notify_client.is_some() || notify_ca.is_some() || notify_exit => {
            return Err("--notify-client, --notify-ca and --notify-exit need --notify URL".into())
        }
        None => None,
        Some(url) => {
            let client = notify_client
                .or_else(|| config.clients.first().map(|(id, _)| id.clone()))
                .ok_or_else(|| "--notify needs --notify-client ID (or a --client)".to_owned())?;
            if !config.secrets.iter().any(|(id, _)| *id == client) {
                return Err(format!("--notify: no --secret {client}=... (the notification is signed with the client secret)"));
            }
            Some(Notify { url, client, ca: notify_ca, exit: notify_exit })
        }
    };
    Ok(Parsed::Run(Box::new(Options { config, notify })))
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().ok_or_else(|| format!("--listen {text}: no address")),
        Err(_) => Err(format!("--listen: \"{text}\" is not ADDR:PORT (e.g. 127.0.0.1:8080)")),
    }
}

fn parse_seconds(flag: &str, text: &str, min: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n >= min && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("{flag}: \"{text}\" is not a number of seconds (at least {min})")),
    }
}

fn split_pair(flag: &str, text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((id, rest)) if !id.is_empty() && !rest.is_empty() => Ok((id.to_owned(), rest.to_owned())),
        _ => Err(format!("{flag}: expected ID=VALUE, got \"{text}\"")),
    }
}

fn main() -> ExitCode {
    let Options { config, notify } = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => *options,
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("doku-sandbox: {message}\nTry 'doku-sandbox --help'.");
            return ExitCode::from(2);
        }
    };
    if config.clients.is_empty() && notify.is_none() {
        eprintln!("doku-sandbox: warning: no --client registered; every token request will get \"Unknown Client\"");
    }
    let listen = config.listen;
    let sandbox = match Sandbox::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("doku-sandbox: cannot start on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", sandbox.url());
    if let Some(ca) = sandbox.ca_file() {
        let _ = writeln!(out, "ca file: {}", ca.display());
    }
    let _ = out.flush();
    drop(out);
    if let Some(path) = sandbox.doku_public_key_file() {
        eprintln!("doku public key: {}", path.display());
    }
    if let Some(n) = notify {
        let result = sandbox
            .notify_config(&n.url, &n.client)
            .map(|mut c| {
                c.ca_file = n.ca;
                c
            })
            .and_then(|c| notify::run(&c));
        let ok = match result {
            Ok(report) => {
                for line in report.step_lines() {
                    eprintln!("{line}");
                }
                println!("{}", report.summary());
                report.ok()
            }
            Err(e) => {
                println!("notify: failed: {e}");
                false
            }
        };
        if n.exit {
            return if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    }
    // Serve until a signal ends the process (default dispositions are fine).
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(args: &[&str]) -> String {
        match parse_args(args.iter().map(|s| s.to_string())) {
            Err(e) => e,
            Ok(_) => panic!("accepted {args:?}"),
        }
    }

    #[test]
    fn flags() {
        let Ok(Parsed::Run(o)) = parse_args(
            ["--listen", "127.0.0.1:0", "--token-ttl=60", "--max-skew", "5", "--fault", "A=delay:10", "--fault=A=ttl:2", "--quiet"]
                .iter()
                .map(|s| s.to_string()),
        ) else {
            panic!()
        };
        let c = o.config;
        assert_eq!(c.listen.port(), 0);
        assert_eq!((c.token_ttl, c.max_skew), (60, 5));
        assert_eq!(c.faults, vec![("A".to_owned(), Fault::Delay(10)), ("A".to_owned(), Fault::Ttl(2))]);
        assert!(matches!(c.log, Log::Off));
        assert!(matches!(parse_args(["--help".to_owned()]), Ok(Parsed::Exit(t)) if t.contains("--fault ID=MODE")));
    }

    #[test]
    fn bad_flags_say_why() {
        assert!(err(&["--bogus"]).contains("unknown argument"));
        assert!(err(&["--listen"]).contains("needs ADDR:PORT"));
        assert!(err(&["--listen", "nowhere"]).contains("not ADDR:PORT"));
        assert!(err(&["--token-ttl", "-1"]).contains("not a number of seconds"));
        assert!(err(&["--token-ttl", "0"]).contains("at least 1"));
        assert!(err(&["--fault", "A"]).contains("expected ID=VALUE"));
        assert!(err(&["--fault", "A=boom"]).contains("unknown fault mode"));
        assert!(err(&["--client", "A=/nonexistent/pub.pem"]).contains("cannot read /nonexistent/pub.pem"));
        assert!(err(&["--secret", "A"]).contains("expected ID=SECRET"));
        assert!(err(&["--secret", "=s3cr3t"]).contains("expected ID=SECRET"));
        assert!(!err(&["--secret", "=s3cr3t"]).contains("s3cr3t"), "the secret is never echoed");
        assert!(err(&["--secret-file", "A=/nonexistent/secret"]).contains("cannot read /nonexistent/secret"));
        assert!(err(&["--notify-exit"]).contains("need --notify URL"));
        assert!(err(&["--notify", "http://127.0.0.1:9"]).contains("--notify-client"));
        assert!(err(&["--notify", "http://127.0.0.1:9", "--notify-client", "A"]).contains("no --secret A="));
    }

    #[test]
    fn secrets_and_notify_flags() {
        let dir = std::env::temp_dir().join(format!("doku-sbx-bin-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "  from-file \n").unwrap();
        let args = [
            "--secret", "A=x=y", "--secret-file", &format!("B={}", file.display()), "--notify", "http://127.0.0.1:9",
            "--notify-client", "B", "--notify-ca", "/tmp/ca.pem", "--notify-exit", "--doku-key-dir", "/tmp/dk",
        ];
        let Ok(Parsed::Run(o)) = parse_args(args.iter().map(|s| s.to_string())) else { panic!() };
        assert_eq!(o.config.secrets, [("A".to_owned(), "x=y".to_owned()), ("B".to_owned(), "from-file".to_owned())]);
        assert_eq!(o.config.doku_key_dir, Some(PathBuf::from("/tmp/dk")));
        assert!(!format!("{:?}", o.config).contains("from-file"), "Debug never prints secrets");
        let n = o.notify.unwrap();
        assert_eq!((n.url.as_str(), n.client.as_str(), n.exit), ("http://127.0.0.1:9", "B", true));
        assert_eq!(n.ca, Some(PathBuf::from("/tmp/ca.pem")));
        std::fs::write(&file, " \n").unwrap();
        assert!(err(&["--secret-file", &format!("B={}", file.display())]).contains("is empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
