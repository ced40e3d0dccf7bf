//! `doku-sandbox`: the offline SNAP token server, for SDK tests in any language.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use doku::key::PublicKey;
use doku::sandbox::{Fault, Log, Sandbox, SandboxConfig, STATS_PATH, TOKEN_PATH};

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

OPTIONS:
  --listen ADDR:PORT        address to listen on (default 127.0.0.1:8080; port 0 picks a free port)
  --client ID=PEM_FILE      register a merchant: client id and its RSA public key (PEM or bare base64);
                            repeatable
  --tls-dir DIR             serve HTTPS; DIR/ca.pem (the CA clients must trust), ca-key.pem, server.pem and
                            server-key.pem are created on first use (for localhost and 127.0.0.1) and reused
  --token-ttl SECONDS       token lifetime, the expiresIn value (default 900)
  --max-skew SECONDS        largest accepted X-TIMESTAMP distance from the server clock (default 300)
  --fault ID=MODE           make the server misbehave for one client id; repeatable, modes combine
  --quiet                   no request log
  -h, --help                this text
  -V, --version             the version

FAULT MODES:
{faults}

OUTPUT:
  The first line on stdout is \"listening on URL\"; with --tls-dir the second is \"ca file: PATH\".
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

enum Parsed {
    Run(SandboxConfig),
    Exit(String),
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut config = SandboxConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        ..SandboxConfig::default()
    };
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
            _ => return Err(format!("unknown argument \"{}\"", arg.escape_default())),
        }
    }
    Ok(Parsed::Run(config))
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
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("doku-sandbox: {message}\nTry 'doku-sandbox --help'.");
            return ExitCode::from(2);
        }
    };
    if config.clients.is_empty() {
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
        let Ok(Parsed::Run(c)) = parse_args(
            ["--listen", "127.0.0.1:0", "--token-ttl=60", "--max-skew", "5", "--fault", "A=delay:10", "--fault=A=ttl:2", "--quiet"]
                .iter()
                .map(|s| s.to_string()),
        ) else {
            panic!()
        };
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
    }
}
