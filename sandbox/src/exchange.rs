//! One request as an endpoint judges it: the request, the calling client's faults, the clock
//! those faults shift, and the faults applied so far; plus the answers every endpoint gives
//! (SNAP refusals, JSON with the echoed `X-CLIENT-KEY`, a success as a fault replaces it).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::fault::{Fault, FaultSet};
use super::http::Request;
use super::server::{json_response, raw_response, refusal, Body, Response};
use super::state::State;

/// An endpoint's answer and its log outcome (`ok` or `refused`).
pub(crate) type Handled = (Response, &'static str);

const HTML_500: &str = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n\
<body><h1>Internal Server Error</h1><p>doku-sandbox: the http500 fault mode is set for this client.</p></body></html>\n";

pub(crate) struct Exchange<'a> {
    pub state: &'a State,
    pub req: &'a Request,
    pub faults: FaultSet,
    /// The sandbox clock as this client's `clock` fault shifts it, read once per request.
    pub now: DateTime<Utc>,
    /// For the log: `fault:delay:50+ttl:2`.
    applied: Vec<String>,
}

impl<'a> Exchange<'a> {
    /// Faults follow the client: `X-CLIENT-KEY` on token requests, `X-PARTNER-ID` on transactions.
    pub fn client_id(req: &Request) -> Option<&str> {
        req.header("x-client-key").filter(|v| !v.is_empty()).or_else(|| req.header("x-partner-id").filter(|v| !v.is_empty()))
    }

    pub fn new(state: &'a State, req: &'a Request, faults: FaultSet, applied: Vec<String>) -> Exchange<'a> {
        Exchange { state, req, faults, now: state.now(faults.clock), applied }
    }

    /// A request header by its name in any case; empty counts as absent.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.req.header(&name.to_ascii_lowercase()).filter(|v| !v.is_empty())
    }

    /// Records a fault this answer applies, for the log.
    pub fn applied(&mut self, fault: Fault) {
        self.applied.push(fault.to_string());
    }

    /// The token lifetime: the client's `ttl` fault, else the configured one.
    pub fn ttl(&mut self) -> u64 {
        match self.faults.ttl {
            Some(ttl) => {
                self.applied(Fault::Ttl(ttl));
                ttl
            }
            None => self.state.token_ttl,
        }
    }

    /// A JSON answer with fields in order, echoing the request's `X-CLIENT-KEY`.
    pub fn json(&self, status: u16, fields: &[(&str, Value)]) -> Response {
        json_response(status, fields, self.now, self.header("X-CLIENT-KEY"))
    }

    /// A SNAP refusal: `{"responseCode","responseMessage"}`.
    pub fn refuse(&self, status: u16, code: &str, message: &str) -> Handled {
        refusal(status, code, message, self.now, self.header("X-CLIENT-KEY"))
    }

    /// A success as the client's response-replacing fault (one any endpoint can apply) turns it.
    pub fn success(&mut self, resp: Response, general_error: &str) -> Handled {
        match self.faults.replace.filter(|f| f.replaces_any_answer()) {
            Some(fault) => {
                self.applied(fault);
                (replace_success(fault, resp, general_error), "ok")
            }
            None => (resp, "ok"),
        }
    }

    /// The log outcome: an `ok` that faults changed is `fault:…`.
    pub fn outcome(&self, outcome: &str) -> String {
        if outcome == "ok" && !self.applied.is_empty() {
            format!("fault:{}", self.applied.join("+"))
        } else {
            outcome.to_owned()
        }
    }
}

/// `http500` an HTML page, `error200` HTTP 200 with the service's General Error code
/// (`general_error`, e.g. `5007300`), `badjson` the body cut in half, `stall-body` a declared
/// 1000 bytes of which 10 are sent. Any other fault leaves `resp` unchanged.
pub(crate) fn replace_success(fault: Fault, mut resp: Response, general_error: &str) -> Response {
    const STALL_DECLARED: usize = 1000;
    let Body::Full(body) = &resp.body else { return resp };
    let now = resp.now;
    match fault {
        Fault::Http500 => raw_response(500, "text/html", HTML_500.as_bytes().to_vec(), now),
        Fault::Error200 => {
            let echo = resp.headers.iter().find(|(n, _)| *n == "X-CLIENT-KEY").map(|(_, v)| v.clone());
            let fields = [("responseCode", json!(general_error)), ("responseMessage", json!("General Error"))];
            json_response(200, &fields, now, echo.as_deref())
        }
        Fault::BadJson => {
            let half = body[..body.len() / 2].to_vec();
            resp.body = Body::Full(half);
            resp.code = None;
            resp
        }
        Fault::StallBody => {
            let sent = body[..body.len().min(10)].to_vec();
            resp.body = Body::Stall { declared: STALL_DECLARED.max(body.len()), sent };
            resp.code = None;
            resp.close = true;
            resp
        }
        _ => resp,
    }
}
