//! HTTP agents shared process-wide, as the token cache is: a client built per web request
//! (PHP-FPM, per-request Python handlers) finds the agent, its TLS context and its kept-alive
//! connections that earlier clients with the same [`TransportKey`] left, instead of paying for
//! a trust store load and a TLS handshake on every call.
//!
//! - Bounded: at most `MAX_AGENTS` agents (the least recently used goes), each keeping at most
//!   `MAX_IDLE` idle connections for at most `IDLE_AGE`. Freeing a client closes nothing.
//! - Fork-aware: in a child process the parent's agents are set aside unused (never dropped, so
//!   nothing is written to sockets the parent still uses) and fresh ones are built. The child
//!   keeps the inherited sockets open until it exits.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ureq::unversioned::transport::{Connector, TcpConnector};

use super::budget::{Budgeted, BudgetedResolver};
use super::proxy::ProxyTunnel;
use super::settings::{Settings, TransportKey};
use super::tls::TlsConnector;
use super::USER_AGENT;
use crate::fork;

const MAX_AGENTS: usize = 32;
const MAX_IDLE: usize = 8;
/// Below the usual server keep-alive (nginx: 75 s), so that we rarely reuse a connection the
/// server is about to close.
const IDLE_AGE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(crate) struct Agents {
    /// The fork generation these agents belong to.
    generation: u64,
    clock: u64,
    agents: HashMap<TransportKey, (ureq::Agent, u64)>,
    /// Agents of earlier fork generations, kept unused: never dropped, so nothing is written to
    /// sockets the parent still uses, and still reachable (a leak checker sees no leak).
    abandoned: Vec<HashMap<TransportKey, (ureq::Agent, u64)>>,
}

static AGENTS: Mutex<Option<Agents>> = Mutex::new(None);

/// The registry; also held across `fork()` (see `crate::fork`).
pub(crate) fn registry() -> MutexGuard<'static, Option<Agents>> {
    AGENTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide agent for `settings`.
pub(super) fn agent(settings: &Settings) -> ureq::Agent {
    let generation = fork::generation();
    let mut guard = registry();
    let reg = guard.get_or_insert_with(Agents::default);
    if reg.generation != generation {
        // A forked child: the parent's pooled sockets are shared with the parent (and with
        // other children); using or closing them would cross answers between processes.
        let inherited = std::mem::take(&mut reg.agents);
        reg.abandoned.push(inherited);
        reg.generation = generation;
    }
    reg.clock += 1;
    let now = reg.clock;
    if let Some((agent, used)) = reg.agents.get_mut(settings.transport()) {
        *used = now;
        return agent.clone();
    }
    if reg.agents.len() >= MAX_AGENTS {
        let oldest = reg.agents.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            // Requests in flight keep their clone; the pool closes after them.
            reg.agents.remove(&k);
        }
    }
    let agent = build(settings);
    reg.agents.insert(settings.transport().clone(), (agent.clone(), now));
    agent
}

fn build(settings: &Settings) -> ureq::Agent {
    let key = settings.transport();
    let config = ureq::Agent::config_builder()
        // Every status is an answer to judge, not a transport error.
        .http_status_as_error(false)
        // A redirect would resend signed headers elsewhere; DOKU never redirects.
        .max_redirects(0)
        .user_agent(USER_AGENT)
        // Validated in Settings; proxies from the environment were resolved there too.
        .proxy(key.proxy.as_deref().and_then(|p| ureq::Proxy::new(p).ok()))
        .timeout_global(Some(key.timeout))
        .timeout_resolve(Some(key.connect_timeout))
        .timeout_connect(Some(key.connect_timeout))
        .max_idle_connections(MAX_IDLE)
        .max_idle_connections_per_host(MAX_IDLE)
        .max_idle_age(IDLE_AGE)
        .build();
    let connector = ().chain(ProxyTunnel).chain(Budgeted(TcpConnector::default())).chain(TlsConnector(settings.trust().clone()));
    ureq::Agent::with_parts(config, connector, BudgetedResolver::default())
}
