//! The client functions: a client from a JSON config, its tokens (B2B cached, B2B2C not) and
//! its signed transaction requests.

use std::os::raw::c_char;

use super::convert::{arg, malloc_str, opt_arg, status_only, with_out};
use super::panic::ffi_panic_boundary;
use super::status::DokuStatus;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::operations::CallOptions;
use crate::request::headers_json;
use crate::timestamp;
use crate::token::b2b2c;

/// A DOKU client: credentials, and handles on the process-wide token cache and HTTP agent.
/// Opaque; create with doku_client_new(), release with doku_client_free().
///
/// Thread safety: one DokuClient may be used from any number of threads at once. Functions
/// that take a `const DokuClient *` do not change the client (they may fill the process-wide
/// token cache); doku_client_invalidate_token() and doku_client_free() take a `DokuClient *`.
///
/// Shared process-wide, so that a client per web request (PHP-FPM) costs no extra token request
/// or TLS handshake: parsed keys; tokens, per base URL, client id and key; HTTP agents (the TLS
/// context with its loaded trust store, and kept-alive connections), per transport settings
/// (origin, proxy, ca_file contents, timeouts). Freeing a client releases none of them.
///
/// fork(): the library and clients made before fork() keep working in the child. The child
/// keeps the tokens and parsed keys it inherited, but never uses an inherited connection or TLS
/// session, nor waits for a token request the parent had in flight: it opens its own (inherited
/// sockets stay open, unused, until the child exits). OpenSSL is initialized when the library
/// is loaded, and fork() waits for the library's registry locks (microseconds) and for its
/// OpenSSL work in progress in other threads (a trust store load, up to ~20 ms; a key parse,
/// signature or verification, under a millisecond), so that a child never starts with one of
/// those locks held. A fork while another thread is inside a request's TLS exchange is still
/// subject to OpenSSL's own fork rules (it may hold an OpenSSL lock at that instant): for full
/// safety, fork while no other thread is in a doku_* call, as pre-forking servers (PHP-FPM,
/// gunicorn --preload) do.
pub struct DokuClient {
    client: Client,
}

/// Creates a client from a JSON config and writes it to *client_out.
///
/// Config keys: "client_id" (required); "private_key" (key text) or "private_key_file" (path);
/// "private_key_passphrase" (for encrypted keys); "environment" ("sandbox" default, or
/// "production"); "base_url" (overrides environment; http:// only for loopback hosts);
/// "timeout_ms" (the whole request, DNS to last body byte, however slowly the server sends;
/// default 30000); "connect_timeout_ms" (DNS, TCP connect and TLS handshake together; default
/// 10000); "ca_file" (extra trusted CAs, PEM, added to the system store); "refresh_margin_s"
/// (default 60, at most 86400); "timestamp_offset" ("Z" default, or e.g. "+07:00"); "proxy"
/// ("http://[user:password@]host:port"; "" disables proxies; absent: HTTPS_PROXY/ALL_PROXY/
/// NO_PROXY from the environment, as curl, except that loopback hosts never take a proxy from
/// the environment); "client_secret", "channel_id" (for signed transaction requests);
/// "partner_id" (X-PARTNER-ID, default client_id); "token_store" ("memory" default: each
/// process fetches its own token; "file:/absolute/dir": processes on this host share one, the
/// directory created 0700 and refused if others may change it or its ancestors; or
/// "redis://[user:password@]host:port[/db]" / "rediss://…" (TLS, trusting the system store plus
/// ca_file): every process of every host using that Redis shares one. Entries are sealed with a
/// key derived from the private key. A password in the URL is never shown);
/// "token_store_timeout_ms" (the most the store's I/O may add to a refresh, 1 to 10000;
/// default 250); "redis_password_file" (a file holding the Redis password, instead of the URL).
/// A store that fails is passed by: the call fetches for itself.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT; DOKU_ERR_INVALID_ARGUMENT for bad JSON, an unknown key, a
/// wrong type or value (the message names the key); DOKU_ERR_KEY for key problems (unreadable
/// file, malformed, wrong passphrase, not RSA, too short). No network traffic happens here.
///
/// *client_out is owned by the caller: release it with doku_client_free(). Thread-safe; the
/// client may then be shared between threads. Clients with the same base URL, client id and
/// key share one process-wide token cache entry, and clients with the same transport settings
/// one HTTP agent, even after earlier ones were freed (see DokuClient).
#[no_mangle]
pub extern "C" fn doku_client_new(config_json: *const c_char, client_out: *mut *mut DokuClient) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(client_out, "client_out", || {
            let client = Client::from_json(arg(config_json, "config_json")?)?;
            Ok(Box::into_raw(Box::new(DokuClient { client })))
        })
    }
}

/// Writes a valid B2B access token (without "Bearer ") to *access_token_out: the cached one,
/// or a new one fetched from POST /authorization/v1/access-token/b2b when none is cached or it
/// is within min(refresh_margin_s, lifetime/2) of expiry. Lifetimes count on both the monotonic
/// and the wall clock, so a token does not outlive a suspend of the machine.
///
/// A token due for refresh but still valid (until min(5 s, lifetime/4) before it expires) is
/// served while one caller refreshes it; only that caller waits. If the refresh fails, the
/// valid token is still served, doku_token_info() reports the failure ("refreshError"), and
/// the next attempt waits for a backoff (1 s, doubling up to 30 s). Past that point, the
/// refresh's error is returned.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT; DOKU_ERR_API (DOKU refused: see doku_last_response_code());
/// DOKU_ERR_NETWORK, DOKU_ERR_TIMEOUT, DOKU_ERR_TLS, DOKU_ERR_PROTOCOL for transport problems.
///
/// *access_token_out is owned by the caller: release it with doku_free(). Thread-safe. Without
/// a valid token, refreshes are single-flight: threads calling at once cause one HTTP request
/// and wait for it, each at most its own timeout_ms; they take its error only if it travelled
/// as theirs would (same base URL, proxy, ca_file and timeouts), and otherwise fetch for
/// themselves. The cached path takes no lock.
#[no_mangle]
pub extern "C" fn doku_get_token(client: *const DokuClient, access_token_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(access_token_out, "access_token_out", || {
            client_ref(client)?.with_token(|t| malloc_str(t.access_token.as_bytes()))
        })
    }
}

/// Writes the current token as JSON to *json_out, fetching one as doku_get_token() does:
/// {"accessToken":"...","tokenType":"Bearer","expiresIn":<seconds left, rounded>,
///  "expiresAt":"YYYY-MM-DDTHH:MM:SSZ"}, plus "refreshError":"<message>" while the token is
/// served although its refresh failed (the token endpoint is down or refusing): monitoring
/// should alert on it, since the token will expire unless a refresh succeeds.
///
/// Errors as doku_get_token(). *json_out is owned by the caller: release it with doku_free().
/// Thread-safe.
#[no_mangle]
pub extern "C" fn doku_token_info(client: *const DokuClient, json_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(json_out, "json_out", || {
            let info = client_ref(client)?.token_info()?;
            let mut json = serde_json::json!({
                "accessToken": info.access_token,
                "tokenType": info.token_type,
                "expiresIn": info.expires_in,
                "expiresAt": timestamp::format_utc(info.expires_at),
            });
            if let Some(why) = info.refresh_error {
                json["refreshError"] = why.into();
            }
            Ok(malloc_str(json.to_string().as_bytes()))
        })
    }
}

/// Writes the counters of this client's token cache entry as JSON to *stats_json_out. The
/// entry is shared by every client of the same base URL, client id and key in the process; the
/// counts run from when it was created (the first such client) and are not reset by
/// doku_client_free() or doku_client_invalidate_token():
/// {"inProcessHits":N,"storeHits":N,"fetches":N,"fetchFailures":N,"storeErrors":N,
///  "lastFetchMs":<number>|null,"lastStoreError":"<message>"|null}
/// - inProcessHits: calls answered from this process's cache (the cached token, one another
///   thread had just fetched, or a still-valid token served while its refresh failed);
/// - storeHits: tokens read from the shared token store instead of fetched;
/// - fetches / fetchFailures: token requests to DOKU that succeeded / failed;
/// - storeErrors: failed token store operations (each passed by: the call fetched for itself);
/// - lastFetchMs: how long the last token request to DOKU took, successful or not, in
///   milliseconds with microsecond precision; null before the first;
/// - lastStoreError: the message of the last token store failure; null if none.
///
/// Each counter is exact; the set is not read at one instant while other threads call.
/// Reading them makes no network call and takes no lock.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT. *stats_json_out is owned by the caller: release it with
/// doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_client_stats(client: *const DokuClient, stats_json_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(stats_json_out, "stats_json_out", || {
            let stats = client_ref(client)?.stats();
            // In the documented order (serde_json's map would sort the keys).
            let json = format!(
                r#"{{"inProcessHits":{},"storeHits":{},"fetches":{},"fetchFailures":{},"storeErrors":{},"lastFetchMs":{},"lastStoreError":{}}}"#,
                stats.in_process_hits,
                stats.store_hits,
                stats.fetches,
                stats.fetch_failures,
                stats.store_errors,
                serde_json::Value::from(stats.last_fetch.map(|d| d.as_micros() as f64 / 1000.0)),
                serde_json::Value::from(stats.last_store_error),
            );
            Ok(malloc_str(json.as_bytes()))
        })
    }
}

/// Drops the cached token of this client's cache entry (shared with every client of the same
/// base URL, client id and key), so that the next doku_get_token() fetches a new one. Call it
/// after DOKU answers 401xx01 (Invalid Token).
///
/// Errors: DOKU_ERR_NULL_ARGUMENT. Thread-safe.
#[no_mangle]
pub extern "C" fn doku_client_invalidate_token(client: *mut DokuClient) -> DokuStatus {
    ffi_panic_boundary! {
        status_only(|| client_ref(client).map(Client::invalidate_token))
    }
}

/// Releases a client. NULL is a no-op. The client must not be in use by another thread, nor
/// used afterwards. The process-wide token cache and HTTP agent keep their token and
/// connections for later clients.
#[no_mangle]
pub extern "C" fn doku_client_free(client: *mut DokuClient) {
    ffi_panic_boundary! {
        if !client.is_null() {
            // SAFETY: the pointer came from Box::into_raw in doku_client_new, and the caller
            // gives up its ownership here.
            drop(unsafe { Box::from_raw(client) });
        }
    }
}

/// Every header a signed transaction request needs, as a JSON object: Authorization (Bearer
/// and the cached B2B token), X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID, X-EXTERNAL-ID (36 digits,
/// unique), CHANNEL-ID and Content-Type. Send them with your own HTTP stack, with the body
/// minified (doku_minify()) or as given: the signature covers minify(body).
///
/// Needs client_secret and channel_id in the config. body may be NULL.
/// Errors: as doku_get_token() (it may fetch a token), plus DOKU_ERR_INVALID_ARGUMENT for a
/// missing client_secret/channel_id, a malformed method or path, or a body that is not JSON.
/// *headers_json_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_client_request_headers(
    client: *const DokuClient,
    method: *const c_char,
    path: *const c_char,
    body: *const c_char,
    headers_json_out: *mut *mut c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(headers_json_out, "headers_json_out", || {
            let headers = client_ref(client)?.request_headers(arg(method, "method")?, arg(path, "path")?, opt_arg(body, "body")?)?;
            Ok(malloc_str(headers_json(&headers).as_bytes()))
        })
    }
}

/// Sends a signed transaction request to any path with the library's own HTTP client and
/// writes DOKU's answer to *response_json_out: {"httpStatus":200,"responseCode":"2002700"|null,
/// "body":"…","operation":null,"externalId":"…"} (body is the raw answer text). Any HTTP status
/// is DOKU_OK: inspect httpStatus. On Invalid Token (HTTP 401, case code 01) it drops the cached
/// token, fetches a new one and retries once. For DOKU's own operations prefer doku_client_call(),
/// which checks the body and options first and knows which calls move money.
///
/// options_json (NULL = none) is as for doku_client_call(); here every option given is sent and
/// none is required. Needs client_secret and channel_id (or options' channelId). body may be NULL.
/// Errors: as doku_client_request_headers(); DOKU_ERR_INVALID_ARGUMENT for bad options (the
/// message names the key); the transport errors of doku_get_token().
/// *response_json_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_client_request(
    client: *const DokuClient,
    method: *const c_char,
    path: *const c_char,
    body: *const c_char,
    options_json: *const c_char,
    response_json_out: *mut *mut c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(response_json_out, "response_json_out", || {
            let client = client_ref(client)?;
            let (method, path, body) = (arg(method, "method")?, arg(path, "path")?, opt_arg(body, "body")?);
            let options = CallOptions::parse(opt_arg(options_json, "options_json")?)?;
            Ok(malloc_str(client.request(method, path, body, &options)?.to_json().as_bytes()))
        })
    }
}

/// Calls one of DOKU's operations by its catalog name (see doku_operations(): "create_va",
/// "update_va", "delete_va", "check_status_va", "account_binding", "account_unbinding",
/// "card_registration", "card_unbinding", "payment", "payment_jump_app", "refund",
/// "balance_inquiry", "check_status") with the operation's method and path, signed as
/// doku_client_request() signs, and writes DOKU's answer to *response_json_out:
/// {"httpStatus","responseCode","body","operation","externalId"}. Any HTTP answer is DOKU_OK.
///
/// Before anything is sent, the body is checked by the operation's rules (mandatory fields;
/// formats such as partnerServiceId's 8 characters, amounts as "10000.00" in IDR) and the
/// options by its needs. options_json (NULL = none) is an object of:
///   "customerToken": the customer's B2B2C token, sent as Authorization-Customer: Bearer …
///                    (required by payment, refund, balance_inquiry);
///   "ipAddress":     the customer's IP address, X-IP-ADDRESS (required by account_binding,
///                    account_unbinding, payment, payment_jump_app, refund, balance_inquiry;
///                    accepted by card_registration, card_unbinding);
///   "deviceId":      the customer's device, X-DEVICE-ID (required by account_binding,
///                    payment_jump_app; accepted by card_registration, payment, refund);
///   "channelId":     CHANNEL-ID instead of the config's channel_id;
///   "externalId":    X-EXTERNAL-ID instead of a generated one (1 to 36 digits, unique per day);
///   "headers":       further X-… headers as {"X-NAME":"value"}; the signed headers, X-IP-ADDRESS,
///                    X-DEVICE-ID and X-EXTERNAL-ID cannot be set this way.
/// An option the operation does not send is refused, not ignored.
///
/// Money: payment, payment_jump_app and refund are never retried once sent (the Invalid-Token
/// retry is: DOKU refused the first). A timeout or a lost connection after one was sent is
/// DOKU_ERR_OUTCOME_UNKNOWN, whose message names the status operation (check_status) and the
/// originalPartnerReferenceNo to ask it with. Failing before sending (DNS, connect, TLS
/// handshake) stays DOKU_ERR_NETWORK / DOKU_ERR_TIMEOUT / DOKU_ERR_TLS: nothing was sent.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT; DOKU_ERR_INVALID_ARGUMENT for an unknown operation, a body
/// that breaks a rule or options that do not fit (the message names the field or option, never
/// its value); the errors of doku_client_request(); DOKU_ERR_OUTCOME_UNKNOWN as above.
/// *response_json_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_client_call(
    client: *const DokuClient,
    operation: *const c_char,
    body_json: *const c_char,
    options_json: *const c_char,
    response_json_out: *mut *mut c_char,
) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(response_json_out, "response_json_out", || {
            let client = client_ref(client)?;
            let (operation, body) = (arg(operation, "operation")?, opt_arg(body_json, "body_json")?);
            let options = CallOptions::parse(opt_arg(options_json, "options_json")?)?;
            Ok(malloc_str(client.call(operation, body, &options)?.to_json().as_bytes()))
        })
    }
}

/// Writes the catalog of operations to *json_out: [{"name","method","path","service",
/// "success":[codes],"required":[options],"accepted":[options],"movesMoney","statusOperation",
/// "fields":[{"name","mandatory","rule"}]}, …], the table doku_client_call() works by.
///
/// Errors: DOKU_ERR_NULL_ARGUMENT. *json_out is owned by the caller: release it with doku_free().
/// Thread-safe.
#[no_mangle]
pub extern "C" fn doku_operations(json_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(json_out, "json_out", || Ok(malloc_str(crate::operations::catalog_json().as_bytes())))
    }
}

/// Exchanges a customer's auth code for a B2B2C token: POST
/// /authorization/v1/access-token/b2b2c, signed as the B2B token request; success is 2007400.
/// Writes {"accessToken","tokenType","accessTokenExpiryTime","refreshToken",
/// "refreshTokenExpiryTime"} to *json_out. Not cached: customer tokens are per customer.
///
/// Errors: as doku_get_token(); DOKU_ERR_INVALID_ARGUMENT for an empty auth_code.
/// *json_out is owned by the caller: release it with doku_free(). Thread-safe.
#[no_mangle]
pub extern "C" fn doku_get_token_b2b2c(client: *const DokuClient, auth_code: *const c_char, json_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(json_out, "json_out", || {
            let token = client_ref(client)?.b2b2c_token(b2b2c::Grant::AuthorizationCode(arg(auth_code, "auth_code")?))?;
            Ok(malloc_str(token.to_json().as_bytes()))
        })
    }
}

/// Refreshes a B2B2C token with its refresh token (grantType refresh_token); otherwise as
/// doku_get_token_b2b2c().
#[no_mangle]
pub extern "C" fn doku_refresh_token_b2b2c(client: *const DokuClient, refresh_token: *const c_char, json_out: *mut *mut c_char) -> DokuStatus {
    ffi_panic_boundary! {
        with_out(json_out, "json_out", || {
            let token = client_ref(client)?.b2b2c_token(b2b2c::Grant::RefreshToken(arg(refresh_token, "refresh_token")?))?;
            Ok(malloc_str(token.to_json().as_bytes()))
        })
    }
}

fn client_ref<'a>(client: *const DokuClient) -> Result<&'a Client> {
    // SAFETY: NULL or a live pointer from doku_client_new, by the API contract.
    match unsafe { client.as_ref() } {
        Some(c) => Ok(&c.client),
        None => Err(Error::new(ErrorKind::NullArgument, "client is NULL")),
    }
}
