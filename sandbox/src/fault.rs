//! Fault modes: per-client misbehaviour that SDK tests provoke on purpose (timeouts, broken
//! bodies, clock skew, short token lifetimes).

use std::fmt;
use std::str::FromStr;

use doku::error::Error;

/// One fault mode, as given to `--fault ID=MODE`. See [`Fault::HELP`] for what each does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Sleep this many milliseconds before answering, then answer normally.
    Delay(u64),
    /// Read the request, then close the connection without answering.
    Reset,
    /// HTTP 500 with an HTML page.
    Http500,
    /// HTTP 200 whose body is truncated JSON.
    BadJson,
    /// HTTP 200 and `2007300` without `accessToken`.
    NoToken,
    /// HTTP 200, chunked, a 4 MiB body.
    Huge,
    /// Success with `expiresIn` as a string.
    ExpiresString,
    /// HTTP 200 carrying `5007300` General Error.
    Error200,
    /// A B2B2C success whose `accessTokenExpiryTime` is [`BAD_EXPIRY_TIME`].
    BadExpiry,
    /// Headers announce 1000 body bytes; 10 are sent, then nothing.
    StallBody,
    /// The sandbox clock for this client is shifted by this many seconds.
    Clock(i64),
    /// Tokens for this client live this many seconds.
    Ttl(u64),
    /// After this many token requests, the token endpoint is down for this client: later
    /// token requests are closed unanswered.
    DownAfter(u64),
    /// A framing lie: the answer is followed, in the same write, by bytes shaped like a second
    /// answer (a forged token) that no request asked for.
    Overlong,
}

impl Fault {
    /// The fault modes, one per line, for `--help`.
    pub const HELP: &'static str = "  delay:MS         wait MS milliseconds before answering (other connections are not blocked)
  reset            read the request, then close the connection without any response
  http500          HTTP 500 with Content-Type: text/html and a small HTML page
  badjson          HTTP 200, Content-Type: application/json, a truncated JSON body
  notoken          HTTP 200 and 2007300, but no accessToken
  huge             HTTP 200, chunked, a 4 MiB body (a valid token padded to 4 MiB)
  expires-string   success, but \"expiresIn\":\"900\" (the ttl as a string)
  error200         HTTP 200 with {\"responseCode\":\"5007300\",\"responseMessage\":\"General Error\"}
  bad-expiry       b2b2c success whose accessTokenExpiryTime is \"2022-10-07T14:18:3é\" (a multi-byte character across byte 19)
  stall-body       headers with Content-Length: 1000, 10 body bytes, then silence (up to 60 s)
  clock:+S|-S      this client sees a server clock shifted by S seconds (skew check, Date, X-TIMESTAMP)
  ttl:S            tokens for this client live S seconds (expiresIn = S)
  down-after:N     after N token requests, close later ones unanswered (a token endpoint outage)
  overlong         follow each answer, in the same write, with a forged second answer (a framing lie)";

    /// Faults that break any endpoint's successful answer alike (see `b2b::replace_success`),
    /// not only a token's.
    pub(crate) fn replaces_any_answer(self) -> bool {
        matches!(self, Fault::Http500 | Fault::BadJson | Fault::Error200 | Fault::StallBody)
    }

    /// Faults that replace a successful token response with something broken.
    pub(crate) fn replaces_response(self) -> bool {
        matches!(self, Fault::Http500 | Fault::BadJson | Fault::NoToken | Fault::Huge | Fault::ExpiresString | Fault::Error200 | Fault::StallBody)
    }
}

impl FromStr for Fault {
    type Err = Error;

    fn from_str(text: &str) -> Result<Fault, Error> {
        let (name, arg) = match text.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (text, None),
        };
        let needs = |what: &str| Error::invalid(format!("fault \"{name}\" needs {what}, e.g. \"{}\"", example(name)));
        let fault = match (name, arg) {
            ("delay", Some(ms)) => Fault::Delay(digits(ms).ok_or_else(|| needs("a number of milliseconds"))?),
            ("ttl", Some(s)) => Fault::Ttl(digits(s).ok_or_else(|| needs("a number of seconds"))?),
            ("down-after", Some(n)) => Fault::DownAfter(digits(n).ok_or_else(|| needs("a number of token requests"))?),
            ("clock", Some(s)) => {
                let (sign, rest) = match s.as_bytes().first() {
                    Some(b'+') => (1, &s[1..]),
                    Some(b'-') => (-1, &s[1..]),
                    _ => (1, s),
                };
                let secs = digits(rest).and_then(|v| i64::try_from(v).ok()).ok_or_else(|| needs("a signed number of seconds"))?;
                Fault::Clock(sign * secs)
            }
            ("delay" | "ttl" | "clock" | "down-after", None) => return Err(needs("an argument")),
            ("reset", None) => Fault::Reset,
            ("http500", None) => Fault::Http500,
            ("badjson", None) => Fault::BadJson,
            ("notoken", None) => Fault::NoToken,
            ("huge", None) => Fault::Huge,
            ("expires-string", None) => Fault::ExpiresString,
            ("error200", None) => Fault::Error200,
            ("stall-body", None) => Fault::StallBody,
            ("overlong", None) => Fault::Overlong,
            ("bad-expiry", None) => Fault::BadExpiry,
            (_, Some(_)) if KNOWN.contains(&name) => return Err(Error::invalid(format!("fault \"{name}\" takes no argument"))),
            _ => {
                return Err(Error::invalid(format!(
                    "unknown fault mode \"{}\"; expected one of: delay:MS, reset, http500, badjson, notoken, huge, \
                     expires-string, error200, stall-body, bad-expiry, clock:+S, clock:-S, ttl:S, down-after:N, overlong",
                    text.escape_default()
                )))
            }
        };
        Ok(fault)
    }
}

const KNOWN: [&str; 10] = ["reset", "http500", "badjson", "notoken", "huge", "expires-string", "error200", "stall-body", "bad-expiry", "overlong"];

/// What `bad-expiry` writes: the shape of an ISO-8601 time with a multi-byte character across
/// byte 19, where the zone starts; a parser that slices by byte index there panics.
pub const BAD_EXPIRY_TIME: &str = "2022-10-07T14:18:3é";

fn example(name: &str) -> &'static str {
    match name {
        "delay" => "delay:2000",
        "ttl" => "ttl:2",
        "down-after" => "down-after:1",
        _ => "clock:+600",
    }
}

/// Plain decimal digits only: no sign, no spaces, no overflow.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The inverse of `FromStr`; also the `outcome=fault:…` word in the request log.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Delay(ms) => write!(f, "delay:{ms}"),
            Fault::Reset => f.write_str("reset"),
            Fault::Http500 => f.write_str("http500"),
            Fault::BadJson => f.write_str("badjson"),
            Fault::NoToken => f.write_str("notoken"),
            Fault::Huge => f.write_str("huge"),
            Fault::ExpiresString => f.write_str("expires-string"),
            Fault::Error200 => f.write_str("error200"),
            Fault::StallBody => f.write_str("stall-body"),
            Fault::BadExpiry => f.write_str("bad-expiry"),
            Fault::Clock(s) => write!(f, "clock:{s:+}"),
            Fault::Ttl(s) => write!(f, "ttl:{s}"),
            Fault::DownAfter(n) => write!(f, "down-after:{n}"),
            Fault::Overlong => f.write_str("overlong"),
        }
    }
}

/// All the faults of one client, combined: delays add up, the last clock and ttl win, and the
/// first response-replacing fault wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultSet {
    pub delay_ms: u64,
    pub reset: bool,
    pub clock: i64,
    pub ttl: Option<u64>,
    pub down_after: Option<u64>,
    pub overlong: bool,
    pub replace: Option<Fault>,
    pub bad_expiry: bool,
}

impl FaultSet {
    pub fn add(&mut self, fault: Fault) {
        match fault {
            Fault::Delay(ms) => self.delay_ms = self.delay_ms.saturating_add(ms),
            Fault::Reset => self.reset = true,
            Fault::Clock(s) => self.clock = s,
            Fault::Ttl(s) => self.ttl = Some(s),
            Fault::DownAfter(n) => self.down_after = Some(n),
            Fault::Overlong => self.overlong = true,
            Fault::BadExpiry => self.bad_expiry = true,
            f if f.replaces_response() => {
                self.replace.get_or_insert(f);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_round_trips() {
        let cases = [
            ("delay:250", Fault::Delay(250)),
            ("reset", Fault::Reset),
            ("http500", Fault::Http500),
            ("badjson", Fault::BadJson),
            ("notoken", Fault::NoToken),
            ("huge", Fault::Huge),
            ("expires-string", Fault::ExpiresString),
            ("error200", Fault::Error200),
            ("stall-body", Fault::StallBody),
            ("bad-expiry", Fault::BadExpiry),
            ("clock:+600", Fault::Clock(600)),
            ("clock:-600", Fault::Clock(-600)),
            ("ttl:2", Fault::Ttl(2)),
            ("down-after:3", Fault::DownAfter(3)),
            ("overlong", Fault::Overlong),
        ];
        for (text, fault) in cases {
            assert_eq!(text.parse::<Fault>().unwrap(), fault, "{text}");
            assert_eq!(fault.to_string(), text);
        }
        assert_eq!("clock:600".parse::<Fault>().unwrap(), Fault::Clock(600));
        assert_eq!(Fault::Clock(0).to_string(), "clock:+0");
    }

    #[test]
    fn bad_modes_say_why() {
        let err = |t: &str| t.parse::<Fault>().unwrap_err().to_string();
        assert!(err("delay").contains("needs an argument"));
        assert!(err("delay:").contains("number of milliseconds"));
        assert!(err("delay:-5").contains("number of milliseconds"));
        assert!(err("delay:1.5").contains("number of milliseconds"));
        assert!(err("ttl:x").contains("number of seconds"));
        assert!(err("down-after").contains("needs an argument"));
        assert!(err("down-after:x").contains("number of token requests"));
        assert!(err("overlong:1").contains("takes no argument"));
        assert!(err("clock:+").contains("signed number"));
        assert!(err("clock:++5").contains("signed number"));
        assert!(err("clock:99999999999999999999").contains("signed number"));
        assert!(err("reset:1").contains("takes no argument"));
        assert!(err("bad-expiry:1").contains("takes no argument"));
        assert!(err("explode").contains("unknown fault mode \"explode\""));
        assert!(err("").contains("unknown fault mode"));
        assert!(err("RESET").contains("unknown fault mode"));
    }

    #[test]
    fn sets_combine() {
        let mut set = FaultSet::default();
        for f in [
            Fault::Delay(100),
            Fault::Http500,
            Fault::Delay(50),
            Fault::BadJson,
            Fault::Clock(5),
            Fault::Clock(-7),
            Fault::Ttl(2),
            Fault::DownAfter(4),
            Fault::Overlong,
            Fault::BadExpiry,
        ] {
            set.add(f);
        }
        assert_eq!(
            set,
            FaultSet {
                delay_ms: 150,
                reset: false,
                clock: -7,
                ttl: Some(2),
                down_after: Some(4),
                overlong: true,
                replace: Some(Fault::Http500),
                bad_expiry: true
            }
        );
        assert!(Fault::HELP.lines().count() >= 14);
        assert!(doku::timestamp::parse(BAD_EXPIRY_TIME).is_none() && !BAD_EXPIRY_TIME.is_char_boundary(19));
    }
}
