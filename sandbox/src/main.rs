//! `doku-sandbox`: the offline SNAP token server, for SDK tests in any language.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use doku::key::PublicKey;
use doku::merchant::notification::CALLS;
use doku_sandbox::notify;
use doku_sandbox::{Fault, Log, Sandbox, SandboxConfig, B2B2C_TOKEN_PATH, PAY_VA_PATH, REVOKE_PATH, STATS_PATH, TOKEN_PATH};

/// What the endpoints check, the fault modes, the output and an example: after the options in
/// `--help`.
fn details() -> String {
    format!(
        "\
ENDPOINTS:
  POST {TOKEN_PATH}, with DOKU's checks in DOKU's order:
  missing X-CLIENT-KEY / X-TIMESTAMP / X-SIGNATURE (400, 4007302), malformed X-TIMESTAMP (400, 4007301),
  a body other than {{\"grantType\":\"client_credentials\"}} (400, 4007300), unknown client (401, 4017300),
  X-TIMESTAMP too far from the server clock (401, 4017300), a signature that is not SHA256withRSA over
  \"CLIENT_ID|X-TIMESTAMP\" with the registered key (401, 4017300, with an explanation), else 200, 2007300 and an
  RS256 JWT. GET {STATS_PATH} returns {{\"tokenRequests\":{{\"CLIENT_ID\":N}},\"invalidTokenAnswers\":{{\"PARTNER_ID\":N}},\"connections\":N}}.

  POST {B2B2C_TOKEN_PATH}: the same header and signature checks (service 74), body
  {{\"grantType\":\"authorization_code\",\"authCode\":\"...\"}} (codes starting with \"invalid\" get 401, 4017401) or
  {{\"grantType\":\"refresh_token\",\"refreshToken\":\"...\"}} (one this sandbox issued); 200, 2007400 with accessToken,
  accessTokenExpiryTime, refreshToken (30 days) and refreshTokenExpiryTime.

  The operations (doku::operations, as doku_operations() lists them), each with its service code SS:
{operations}
  Each is judged in order: missing Authorization: Bearer / X-TIMESTAMP / X-SIGNATURE / X-PARTNER-ID /
  X-EXTERNAL-ID / CHANNEL-ID (400, 400SS02), malformed X-TIMESTAMP or X-EXTERNAL-ID (over 128 characters or not
  visible ASCII; under --strict, not digits or over 36) (400, 400SS01), a token not issued here, expired, revoked,
  or older than the client's latest under --latest-token-only (401, 401SS01), a token of another client than
  X-PARTNER-ID, X-TIMESTAMP too far off, no --secret for the client, or an X-SIGNATURE that is not HMAC-SHA512 with
  the secret over \"METHOD:PATH:TOKEN:sha256hex(minified body):X-TIMESTAMP\" (401, 401SS00), an X-EXTERNAL-ID the
  client used today (409, 409SS00); then the headers the operation needs (400, 400SS02), a customer token
  (Authorization-Customer: Bearer, from the b2b2c endpoint) that is unknown, another client's, expired or
  unbound (401, 401SS02); then the body by the rules the client checks before sending: a missing field
  (400, 400SS02) or a malformed one (400, 400SS01), the field named. Then the books, kept in memory per client:
  a trxId of another virtual account or of a paid bill (409, 409SS01); a virtual account unknown (404, 404SS12),
  paid (404, 404SS14) or expired (404, 404SS19); a partnerReferenceNo or partnerRefundNo used before
  (409, 409SS01); a payment over the account's balance (1,000,000.00 IDR per binding) (403, 403SS14) or from
  an unbound account (403, 403SS18); a refund of an unknown payment (404, 404SS01) or over what is left to
  refund (404, 404SS13); a status of an unknown payment (404, 404SS01). Else 200 and the success code.
  payment with no Authorization-Customer is payment_jump_app (X-DEVICE-ID and X-IP-ADDRESS, a webRedirectUrl).
  account_binding and card_registration answer additionalInfo.authCode, good once at the b2b2c endpoint for
  that binding's customer token; unbinding (tokenId = that token) revokes the binding's tokens.
  POST {PAY_VA_PATH}?client=ID with {{\"virtualAccountNo\":\"...\"}} (and \"paidAmount\" for an open account) plays the
  customer paying: 200, 2000000; unknown 404, 4040012; paid 4040014; expired 4040019; a closed account's
  wrong amount 4040013. With \"notifyUrl\":\"URL\" the sandbox then notifies the merchant at URL of this payment
  as --notify does (token request, then the payment notification with this account's fields), and answers
  \"notification\":{{\"ok\":true|false,\"summary\":\"notify: ...\"}}; a failed notification does not undo the payment.
  POST {REVOKE_PATH}?client=ID revokes that client's tokens, so clients see 4012701 and fetch a new one.

FAULT MODES:
{faults}
  On b2b2c and the operations, delay, reset, http500, badjson, error200 (5007400 / 500SS00), stall-body and clock
  apply alike, and ttl to b2b2c access tokens; bad-expiry concerns b2b2c only, the others B2B tokens only.

NOTIFY:
  --notify URL acts as DOKU toward a merchant: POST URL{TOKEN_PATH} signed with DOKU's private key, then
  with that token and an HMAC-SHA512 X-SIGNATURE keyed with the client secret: with --inquire, POST
  URL{inquiry} (a VA inquiry); POST URL{payment} (a VA payment notification); with --notify-debit, POST
  URL{debit} (a Direct Debit notification). Each answer is judged as DOKU judges it: HTTP 2xx, the string
  code of the service (2002400, 2002500, 2005600), a responseMessage, the request's ids echoed in
  virtualAccountData (the inquiry's bill with a valid totalAmount and name).
  --notify-probe then replays the payment notification, as it was, under a new X-EXTERNAL-ID and with a
  space after X-SIGNATURE (expected 409 4092500), sends it an hour stale
  and signed with a wrong secret (401 4012500), and, once the token has expired, with it (401 4012501).

OUTPUT:
  The first line on stdout is \"listening on URL\"; with --tls-dir the second is \"ca file: PATH\".
  With a persisted DOKU key pair, stderr gets \"doku public key: PATH\" (merchants verify DOKU with it).
  --notify prints one line per step on stderr, then \"notify: ok (token 2007300, payment 2002500)\" (with
  \"inquiry 2002400\", \"debit 2005600\" and \"6 probes refused\" as asked) or
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
        faults = Fault::HELP,
        operations = operation_lines(),
        inquiry = CALLS[0].path,
        payment = CALLS[1].path,
        debit = CALLS[2].path,
    )
}

/// One line per catalog row: `  POST /path  name (service 27: 2002700; needs X-IP-ADDRESS)`.
fn operation_lines() -> String {
    let lines: Vec<String> = doku::operations::CATALOG
        .iter()
        .map(|op| {
            let needs: Vec<&str> = op.required.iter().map(|n| n.header()).collect();
            let needs = if needs.is_empty() { String::new() } else { format!("; needs {}", needs.join(", ")) };
            format!("  {} {}  {} (service {}: {}{needs})", op.method, op.path, op.name, op.service, op.success.join(" or "))
        })
        .collect();
    lines.join("\n")
}

/// doku-sandbox: an offline DOKU SNAP server for tests.
///
/// It serves DOKU's B2B and B2B2C token endpoints and a protected create-VA endpoint with DOKU's
/// checks, response codes and headers, and misbehaves on purpose for the clients given a --fault.
#[derive(Parser, Debug)]
#[command(name = "doku-sandbox", version, after_long_help = details())]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Register a merchant: its client id and RSA public key file (PEM or bare base64). Repeatable.
    #[arg(long = "client", value_name = "ID=PEM_FILE", value_parser = parse_pair)]
    clients: Vec<(String, String)>,
    /// Serve HTTPS. DIR/ca.pem (the CA clients must trust), ca-key.pem, server.pem and
    /// server-key.pem are created on first use (for localhost and 127.0.0.1) and reused.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<PathBuf>,
    /// Token lifetime in seconds: the expiresIn value.
    #[arg(long, value_name = "SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    token_ttl: u64,
    /// Largest accepted X-TIMESTAMP distance from the server clock, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_skew: u64,
    /// A client's new access token revokes its earlier ones, as DOKU documents ("the latest
    /// token is the one processed"): an earlier token then gets 401 Invalid Token.
    #[arg(long)]
    latest_token_only: bool,
    /// Enforce DOKU's documented formats where DOKU's own SDKs send otherwise: X-EXTERNAL-ID
    /// must be digits, at most 36 (without it, what the SDKs send is accepted with a warning).
    #[arg(long)]
    strict: bool,
    /// A client secret, for create-va and notifications. Repeatable; never logged or echoed.
    // Parsed after clap, whose value errors quote the value.
    #[arg(long = "secret", value_name = "ID=SECRET")]
    secrets: Vec<String>,
    /// The same, read from a file (surrounding whitespace trimmed).
    #[arg(long = "secret-file", value_name = "ID=PATH", value_parser = parse_pair)]
    secret_files: Vec<(String, String)>,
    /// Make the server misbehave for one client id (X-CLIENT-KEY, or X-PARTNER-ID on create-va).
    /// Repeatable; modes combine (see FAULT MODES in --help).
    #[arg(long = "fault", value_name = "ID=MODE", value_parser = parse_fault)]
    faults: Vec<(String, Fault)>,
    /// Keep DOKU's key pair in DIR/doku-private.pem and DIR/doku-public.pem (created on first
    /// use, reused after; default: the --tls-dir, else a new pair per run).
    #[arg(long, value_name = "DIR")]
    doku_key_dir: Option<PathBuf>,
    /// Act as DOKU toward the merchant at URL, once, after starting: a token request, then a VA
    /// payment notification (see NOTIFY in --help).
    #[arg(long, value_name = "URL")]
    notify: Option<String>,
    /// The merchant's client id (default: the first --client); needs its --secret.
    #[arg(long, value_name = "ID", requires = "notify")]
    notify_client: Option<String>,
    /// CA certificates (PEM) to trust for an https:// merchant.
    #[arg(long, value_name = "FILE", requires = "notify")]
    notify_ca: Option<PathBuf>,
    /// Exit after notifying: 0 if the merchant answered every call as DOKU expects, else 1.
    #[arg(long, requires = "notify")]
    notify_exit: bool,
    /// Before the payment notification, ask the merchant for the bill (a VA inquiry).
    #[arg(long, requires = "notify")]
    inquire: bool,
    /// After the payment notification, send a Direct Debit notification.
    #[arg(long, requires = "notify")]
    notify_debit: bool,
    /// Then probe the merchant: replays (as sent, under a new X-EXTERNAL-ID, with a space after
    /// X-SIGNATURE), a stale
    /// timestamp, a wrong signature and an expired token (the merchant's tokens must last at
    /// most 10 s), each to be refused.
    #[arg(long, requires = "notify")]
    notify_probe: bool,
    /// No request log.
    #[arg(long)]
    quiet: bool,
}

struct Notify {
    url: String,
    client: String,
    ca: Option<PathBuf>,
    exit: bool,
    inquire: bool,
    debit: bool,
    probe: bool,
}

struct Options {
    config: SandboxConfig,
    notify: Option<Notify>,
}

/// The command line as clap parsed it, checked further: keys and secret files read, secrets
/// split without ever quoting them.
fn options(cli: Cli) -> Result<Options, String> {
    let mut config = SandboxConfig {
        listen: cli.listen,
        tls_dir: cli.tls_dir,
        token_ttl: cli.token_ttl,
        max_skew: cli.max_skew,
        latest_token_only: cli.latest_token_only,
        strict: cli.strict,
        faults: cli.faults,
        doku_key_dir: cli.doku_key_dir,
        log: if cli.quiet { Log::Off } else { Log::default() },
        ..SandboxConfig::default()
    };
    for (id, file) in cli.clients {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("--client {id}: cannot read {file}: {e}"))?;
        let key = PublicKey::parse(&text).map_err(|e| format!("--client {id}: {file}: {e}"))?;
        config.clients.push((id, key));
    }
    for pair in cli.secrets {
        let (id, secret) = pair
            .split_once('=')
            .filter(|(id, s)| !id.is_empty() && !s.is_empty())
            .ok_or_else(|| "--secret: expected ID=SECRET, with neither empty".to_owned())?;
        config.secrets.push((id.to_owned(), secret.to_owned()));
    }
    for (id, file) in cli.secret_files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("--secret-file {id}: cannot read {file}: {e}"))?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(format!("--secret-file {id}: {file} is empty"));
        }
        config.secrets.push((id, secret.to_owned()));
    }
    let notify = match cli.notify {
        None => None,
        Some(url) => {
            let client = cli
                .notify_client
                .or_else(|| config.clients.first().map(|(id, _)| id.clone()))
                .ok_or_else(|| "--notify needs --notify-client ID (or a --client)".to_owned())?;
            if !config.secrets.iter().any(|(id, _)| *id == client) {
                return Err(format!("--notify: no --secret {client}=... (the notification is signed with the client secret)"));
            }
            Some(Notify {
                url,
                client,
                ca: cli.notify_ca,
                exit: cli.notify_exit,
                inquire: cli.inquire,
                debit: cli.notify_debit,
                probe: cli.notify_probe,
            })
        }
    };
    Ok(Options { config, notify })
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().ok_or_else(|| "no address".to_owned()),
        Err(_) => Err("not ADDR:PORT (e.g. 127.0.0.1:8080)".to_owned()),
    }
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((id, rest)) if !id.is_empty() && !rest.is_empty() => Ok((id.to_owned(), rest.to_owned())),
        _ => Err("expected ID=VALUE".to_owned()),
    }
}

fn parse_fault(text: &str) -> Result<(String, Fault), String> {
    let (id, mode) = parse_pair(text)?;
    let fault = mode.parse().map_err(|e| format!("{e}"))?;
    Ok((id, fault))
}

fn main() -> ExitCode {
    let Options { config, notify } = match options(Cli::parse()) {
        Ok(options) => options,
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
                (c.inquire, c.debit, c.probe) = (n.inquire, n.debit, n.probe);
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

    fn parse(args: &[&str]) -> Result<Options, String> {
        let cli = Cli::try_parse_from(std::iter::once("doku-sandbox").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        options(cli)
    }

    fn err(args: &[&str]) -> String {
        match parse(args) {
            Err(e) => e,
            Ok(_) => panic!("accepted {args:?}"),
        }
    }

    #[test]
    fn flags() {
        let o =
            parse(&["--listen", "127.0.0.1:0", "--token-ttl=60", "--max-skew", "5", "--fault", "A=delay:10", "--fault=A=ttl:2", "--quiet"]).unwrap();
        let c = o.config;
        assert_eq!(c.listen.port(), 0);
        assert_eq!((c.token_ttl, c.max_skew), (60, 5));
        assert_eq!(c.faults, vec![("A".to_owned(), Fault::Delay(10)), ("A".to_owned(), Fault::Ttl(2))]);
        assert!(matches!(c.log, Log::Off));
        let defaults = parse(&[]).unwrap().config;
        assert_eq!((defaults.listen, defaults.token_ttl, defaults.max_skew), ("127.0.0.1:8080".parse().unwrap(), 900, 300));
        let help = Cli::try_parse_from(["doku-sandbox", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let help = help.to_string();
        assert!(help.contains("--fault <ID=MODE>") && help.contains("FAULT MODES:") && help.contains("delay:MS"), "{help}");
    }

    #[test]
    fn bad_flags_say_why() {
        assert!(err(&["--bogus"]).contains("unexpected argument '--bogus'"));
        assert!(err(&["--listen"]).contains("a value is required for '--listen <ADDR:PORT>'"));
        assert!(err(&["--listen", "nowhere"]).contains("not ADDR:PORT"));
        let negative = err(&["--token-ttl", "-1"]);
        assert!(negative.contains("unexpected argument '-1'"), "{negative}");
        assert!(err(&["--token-ttl", "0"]).contains("0 is not in 1.."));
        assert!(err(&["--fault", "A"]).contains("expected ID=VALUE"));
        assert!(err(&["--fault", "A=boom"]).contains("unknown fault mode"));
        assert!(err(&["--client", "A=/nonexistent/pub.pem"]).contains("cannot read /nonexistent/pub.pem"));
        assert!(err(&["--secret", "A"]).contains("expected ID=SECRET"));
        assert!(err(&["--secret", "=s3cr3t"]).contains("expected ID=SECRET"));
        assert!(err(&["--secret-file", "A=/nonexistent/secret"]).contains("cannot read /nonexistent/secret"));
        assert!(err(&["--notify-exit"]).contains("--notify <URL>"));
        assert!(err(&["--notify", "http://127.0.0.1:9"]).contains("--notify-client"));
        assert!(err(&["--notify", "http://127.0.0.1:9", "--notify-client", "A"]).contains("no --secret A="));
    }

    /// A secret given on the command line never shows in an error, however the line is wrong.
    #[test]
    fn secrets_are_never_echoed() {
        for args in [
            &["--secret", "=s3cr3t"][..],
            &["--secret", "s3cr3t"],
            &["--secret=A=s3cr3t", "--bogus"],
            &["--secret=A=s3cr3t", "--notify", "http://127.0.0.1:9", "--notify-client", "B"],
        ] {
            let e = err(args);
            assert!(!e.contains("s3cr3t"), "{args:?}: {e}");
        }
    }

    #[test]
    fn secrets_and_notify_flags() {
        let dir = std::env::temp_dir().join(format!("doku-sbx-bin-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "  from-file \n").unwrap();
        let secret_file = format!("B={}", file.display());
        let args = [
            "--secret",
            "A=x=y",
            "--secret-file",
            &secret_file,
            "--notify",
            "http://127.0.0.1:9",
            "--notify-client",
            "B",
            "--notify-ca",
            "/tmp/ca.pem",
            "--notify-exit",
            "--doku-key-dir",
            "/tmp/dk",
        ];
        let o = parse(&args).unwrap();
        assert_eq!(o.config.secrets, [("A".to_owned(), "x=y".to_owned()), ("B".to_owned(), "from-file".to_owned())]);
        assert_eq!(o.config.doku_key_dir, Some(PathBuf::from("/tmp/dk")));
        assert!(!format!("{:?}", o.config).contains("from-file"), "Debug never prints secrets");
        let n = o.notify.unwrap();
        assert_eq!((n.url.as_str(), n.client.as_str(), n.exit), ("http://127.0.0.1:9", "B", true));
        assert_eq!(n.ca, Some(PathBuf::from("/tmp/ca.pem")));
        std::fs::write(&file, " \n").unwrap();
        assert!(err(&["--secret-file", &secret_file]).contains("is empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
