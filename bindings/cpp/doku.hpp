// doku.hpp: header-only C++17 RAII layer over the C API in doku.h.
//
// - Every failure throws doku::Error, carrying the DokuStatus, doku_last_error()'s message and
//   DOKU's responseCode (for DOKU_ERR_API). They are read on the calling thread, right after the
//   failing call, as the C API requires.
// - Owned C strings are freed by doku_free through std::unique_ptr, even when a copy throws.
// - doku::Client is move-only and frees its handle in its destructor. Like DokuClient, one Client
//   may be used from many threads at once; moving or destroying it while another thread uses it
//   is a data race, as for any C++ object.
// - C strings cannot hold NUL bytes: an argument containing one throws DOKU_ERR_INVALID_ARGUMENT
//   instead of being silently truncated.
// - doku::set_log_callback() takes a std::function for the library's events; Client::stats()
//   returns the token cache's counters as JSON.
// - Client::call() sends one of DOKU's operations by name, checking its body and options first;
//   doku::operations() lists them. A money-moving call whose answer was lost throws
//   DOKU_ERR_OUTCOME_UNKNOWN (Error::outcome_unknown()): never resend it, ask its status.
// - The merchant side: issue_token() answers DOKU's token request, merchant_verify() judges
//   DOKU's later calls (the body as bytes: a std::string_view, NUL bytes included) and
//   merchant_answer() builds the answer to one it accepted.
#ifndef DOKU_HPP
#define DOKU_HPP

#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "doku.h"

namespace doku {

class Error : public std::runtime_error {
public:
    Error(DokuStatus status, const std::string &message, std::string response_code = std::string())
        : std::runtime_error(message), status_(status), response_code_(std::move(response_code)) {}

    DokuStatus status() const noexcept { return status_; }
    // "DOKU_ERR_API", ...
    const char *status_name() const noexcept { return doku_status_name(static_cast<int>(status_)); }
    // DOKU's responseCode (e.g. "4017300") for DOKU_ERR_API, else "".
    const std::string &response_code() const noexcept { return response_code_; }
    // DOKU_ERR_OUTCOME_UNKNOWN: a payment, payment_jump_app or refund was sent and its answer
    // lost, so DOKU may have acted on it. Do not resend it: ask the status operation the message
    // names, by the same partnerReferenceNo.
    bool outcome_unknown() const noexcept { return status_ == DOKU_ERR_OUTCOME_UNKNOWN; }

private:
    DokuStatus status_;
    std::string response_code_;
};

namespace detail {

struct StringFree {
    void operator()(char *s) const noexcept { doku_free(s); }
};
struct ClientFree {
    void operator()(DokuClient *c) const noexcept { doku_client_free(c); }
};
using OwnedString = std::unique_ptr<char, StringFree>;

inline void check(DokuStatus status) {
    if (status != DOKU_OK) throw Error(status, doku_last_error(), doku_last_response_code());
}

inline const char *arg(const std::string &s, const char *name) {
    if (s.find('\0') != std::string::npos) throw Error(DOKU_ERR_INVALID_ARGUMENT, std::string(name) + " contains a NUL byte");
    return s.c_str();
}

// An optional JSON argument: "" is none (NULL).
inline const char *opt_arg(const std::string &s, const char *name) { return s.empty() ? nullptr : arg(s, name); }

// Runs call(&out), owns whatever it returned, throws on failure, returns a copy.
template <class Call>
std::string owned_string(Call &&call) {
    char *out = nullptr;
    DokuStatus status = call(&out);
    OwnedString guard(out);
    check(status);
    return std::string(guard.get());
}

}  // namespace detail

// What set_log_callback() takes.
using LogFunction = std::function<void(DokuLogLevel level, const std::string &event, const std::string &message)>;

namespace detail {

// The log function set_log_callback() installed, and whether this thread is running it.
struct LogState {
    std::mutex mutex;
    LogFunction *current = nullptr;
};
// Never destroyed: the library may call the function until the process ends.
inline LogState &log_state() {
    static LogState *state = new LogState;
    return *state;
}
inline thread_local bool in_log_callback = false;

inline void log_trampoline(void *user_data, DokuLogLevel level, const char *event, const char *message) noexcept {
    bool outer = in_log_callback;
    in_log_callback = true;
    try {
        (*static_cast<LogFunction *>(user_data))(level, event, message);
    } catch (...) {
        // An exception must not unwind into the library: the event is dropped.
    }
    in_log_callback = outer;
}

}  // namespace detail

// The library's events, process-wide: `log(level, event, message)` for each event at min_level
// or more severe (DOKU_LOG_ERROR, DOKU_LOG_WARN, DOKU_LOG_INFO, DOKU_LOG_DEBUG). event is a stable
// snake_case name ("token_fetched", "token_fetch_failed", "token_from_store", "store_unavailable",
// "store_recovered", "stale_token_served", "invalid_token_retry", "clock_skew", "outcome_unknown");
// message is for humans and never holds a key, passphrase, secret, password or token. An empty
// function removes the callback. See doku_set_log_callback() in doku.h.
//
// The function runs on the thread inside a doku_* call (or a Client method), before that call
// returns, possibly on several threads at once: it must be thread-safe. It may call the library,
// but not set_log_callback() (that throws DOKU_ERR_INVALID_ARGUMENT). Exceptions it throws are
// caught and the event dropped. When set_log_callback() returns, the previous function is no
// longer running on any thread and has been destroyed. Throws doku::Error for a bad min_level.
// It holds a mutex of this header while the library waits for running calls: do not fork() from
// another thread meanwhile (the child would inherit the mutex locked).
inline void set_log_callback(LogFunction log, DokuLogLevel min_level = DOKU_LOG_DEBUG) {
    if (detail::in_log_callback)
        throw Error(DOKU_ERR_INVALID_ARGUMENT, "doku::set_log_callback cannot be called from inside the log callback");
    detail::LogState &state = detail::log_state();
    std::lock_guard<std::mutex> lock(state.mutex);
    std::unique_ptr<LogFunction> next(log ? new LogFunction(std::move(log)) : nullptr);
    DokuLogCallback callback = next ? &detail::log_trampoline : nullptr;
    detail::check(doku_set_log_callback(callback, next.get(), static_cast<int>(min_level)));
    // The library waited for calls of the previous function on other threads; this thread is in
    // none (see above): it can go.
    delete state.current;
    state.current = next.release();
}

// The library's version; equals DOKU_VERSION of the header it was built with.
inline std::string version() { return doku_version(); }

// The catalog of operations Client::call() works by, as JSON: [{"name","method","path","service",
// "success","required","accepted","movesMoney","statusOperation","fields"}, …].
inline std::string operations() {
    return detail::owned_string([](char **out) { return doku_operations(out); });
}

// Now, UTC, "YYYY-MM-DDTHH:MM:SSZ".
inline std::string timestamp() {
    return detail::owned_string([](char **out) { return doku_timestamp(out); });
}

// The B2B X-SIGNATURE: base64 SHA256withRSA over client_id + "|" + timestamp.
inline std::string sign(const std::string &client_id, const std::string &timestamp, const std::string &private_key) {
    const char *id = detail::arg(client_id, "client_id");
    const char *ts = detail::arg(timestamp, "timestamp");
    const char *key = detail::arg(private_key, "private_key");
    return detail::owned_string([&](char **out) { return doku_sign(id, ts, key, out); });
}

// Whitespace outside JSON strings removed; everything else kept byte for byte.
inline std::string minify(const std::string &json_body) {
    const char *body = detail::arg(json_body, "json_body");
    return detail::owned_string([&](char **out) { return doku_minify(body, out); });
}

// A transaction request, as the symmetric signature covers it. An empty body hashes "".
struct Request {
    std::string method;
    std::string path;          // relative, e.g. "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
    std::string access_token;  // the bare B2B token ("Bearer " is dropped)
    std::string body;
    std::string timestamp;
};

// The symmetric X-SIGNATURE: base64 HMAC-SHA512 keyed with the client secret.
inline std::string sign_request(const std::string &client_secret, const Request &r) {
    const char *secret = detail::arg(client_secret, "client_secret");
    const char *m = detail::arg(r.method, "method"), *p = detail::arg(r.path, "path");
    const char *t = detail::arg(r.access_token, "access_token"), *b = detail::arg(r.body, "body");
    const char *ts = detail::arg(r.timestamp, "timestamp");
    return detail::owned_string([&](char **out) { return doku_sign_request(secret, m, p, t, b, ts, out); });
}

// True when signature matches (compared in constant time), false when it does not; throws for
// bad input.
inline bool verify_request(const std::string &client_secret, const Request &r, const std::string &signature) {
    DokuStatus st =
        doku_verify_request(detail::arg(client_secret, "client_secret"), detail::arg(r.method, "method"),
                            detail::arg(r.path, "path"), detail::arg(r.access_token, "access_token"), detail::arg(r.body, "body"),
                            detail::arg(r.timestamp, "timestamp"), detail::arg(signature, "signature"));
    if (st == DOKU_ERR_SIGNATURE_INVALID) return false;
    detail::check(st);
    return true;
}

// True when signature is SHA256withRSA over client_id|timestamp by public_key's owner.
inline bool verify(const std::string &client_id, const std::string &timestamp, const std::string &signature,
                   const std::string &public_key) {
    DokuStatus st = doku_verify(detail::arg(client_id, "client_id"), detail::arg(timestamp, "timestamp"),
                                detail::arg(signature, "signature"), detail::arg(public_key, "public_key"));
    if (st == DOKU_ERR_SIGNATURE_INVALID) return false;
    detail::check(st);
    return true;
}

// The answer to DOKU's token request to the merchant: HTTP status and exact JSON body.
struct IssuedToken {
    int http_status;
    std::string body;
};

// options_json: the issuer's options (client_id, DOKU's public key and the merchant's private
// key as text or files, ttl_s, max_skew_s; see doku_issue_token in doku.h). headers_json: the
// request's headers as a JSON object of strings. A refusal is an answer, not an exception.
inline IssuedToken issue_token(const std::string &options_json, const std::string &headers_json, const std::string &body) {
    const char *o = detail::arg(options_json, "options_json"), *h = detail::arg(headers_json, "headers_json");
    const char *b = detail::arg(body, "body");
    int status = 0;
    std::string json = detail::owned_string([&](char **out) { return doku_issue_token(o, h, b, &status, out); });
    return IssuedToken{status, json};
}

// The claims (JSON) of a valid RS256 token issued with the merchant's key; throws doku::Error
// with DOKU_ERR_SIGNATURE_INVALID when it is forged, expired or not RS256.
inline std::string validate_token(const std::string &bearer_or_jwt, const std::string &merchant_public_key) {
    const char *t = detail::arg(bearer_or_jwt, "bearer_or_jwt"), *k = detail::arg(merchant_public_key, "merchant_public_key");
    return detail::owned_string([&](char **out) { return doku_validate_token(t, k, out); });
}

// The verdict on one call DOKU makes to the merchant after the token request (the VA inquiry,
// the VA payment notification, the Direct Debit notification), as JSON: either
//   {"accepted":true,"operation":"inquiry"|"payment_notification"|"debit_notification",
//    "externalId":"…","timestamp":"…","request":{…the body…}}
// or the answer to send as it is:
//   {"accepted":false,"operation":…|null,"httpStatus":401,"body":{"responseCode":…,"responseMessage":…}}
// options_json: client_id, client_secret(_file), merchant_public_key(_file), max_skew_s (see
// doku_merchant_verify in doku.h). path: as received, query included. headers_json: the
// request's headers as a JSON object of strings. body: the bytes received, all of them (a NUL
// byte is not an end). A refusal is a verdict, not an exception; doku::Error is for bad
// arguments (options, headers JSON, a key). Accepted requests are remembered per process (by
// what they signed): a replay is refused only by the process that saw the first call.
inline std::string merchant_verify(const std::string &options_json, const std::string &method, const std::string &path,
                                   const std::string &headers_json, std::string_view body) {
    const char *o = detail::arg(options_json, "options_json"), *m = detail::arg(method, "method");
    const char *p = detail::arg(path, "path"), *h = detail::arg(headers_json, "headers_json");
    return detail::owned_string([&](char **out) { return doku_merchant_verify(o, m, p, h, body.data(), body.size(), out); });
}

// The answer to a call merchant_verify() accepted, as JSON {"httpStatus":200,"body":{…}}: send
// that status and body. operation and request_json are the verdict's "operation" and "request";
// result_json is what the merchant decided: an inquiry's bill
// ({"virtualAccountName":…,"totalAmount":{"value":"10000.00","currency":"IDR"}}), a debit's
// {"approvalCode":…}, {} for a payment, or {"refuse":"bill_not_found"} (also "invalid_amount",
// "bill_paid", "bill_expired", "general_error"). See doku_merchant_answer in doku.h.
inline std::string merchant_answer(const std::string &operation, const std::string &request_json,
                                   const std::string &result_json = "{}") {
    const char *op = detail::arg(operation, "operation"), *req = detail::arg(request_json, "request_json");
    const char *res = detail::arg(result_json, "result_json");
    return detail::owned_string([&](char **out) { return doku_merchant_answer(op, req, res, out); });
}

class Client {
public:
    // config_json: the JSON config of doku_client_new().
    explicit Client(const std::string &config_json) {
        DokuClient *raw = nullptr;
        detail::check(doku_client_new(detail::arg(config_json, "config_json"), &raw));
        handle_.reset(raw);
    }

    Client(Client &&) noexcept = default;
    Client &operator=(Client &&) noexcept = default;
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    ~Client() = default;

    // A valid B2B access token: cached, or fetched (single-flight across threads).
    std::string get_token() {
        return detail::owned_string([this](char **out) { return doku_get_token(handle_.get(), out); });
    }

    // {"accessToken","tokenType","expiresIn","expiresAt"} as JSON text.
    std::string token_info() {
        return detail::owned_string([this](char **out) { return doku_token_info(handle_.get(), out); });
    }

    // Drops the cached token, e.g. after DOKU answered 401xx01 (Invalid Token).
    void invalidate_token() { detail::check(doku_client_invalidate_token(handle_.get())); }

    // The counters of this client's token cache entry (shared by every client of the same base
    // URL, client id and key in the process, counted since it was created), as JSON:
    // {"inProcessHits":N,"storeHits":N,"fetches":N,"fetchFailures":N,"storeErrors":N,
    //  "lastFetchMs":<ms>|null,"lastStoreError":"..."|null}. inProcessHits: calls answered from
    // the process's cache; storeHits: tokens read from the shared token store; fetches and
    // fetchFailures: token requests to DOKU that succeeded, failed; storeErrors: failed store
    // operations (each passed by); lastFetchMs: the last token request's duration, successful or
    // not; lastStoreError: the last store failure's message. See doku_client_stats() in doku.h.
    std::string stats() const {
        return detail::owned_string([this](char **out) { return doku_client_stats(handle_.get(), out); });
    }

    // Every header of a signed transaction request, as a JSON object.
    std::string request_headers(const std::string &method, const std::string &path, const std::string &body = "") {
        const char *m = detail::arg(method, "method"), *p = detail::arg(path, "path"), *b = detail::arg(body, "body");
        return detail::owned_string([&](char **out) { return doku_client_request_headers(handle_.get(), m, p, b, out); });
    }

    // Sends a signed request to any path: {"httpStatus":…,"responseCode":…|null,"body":"…",
    // "operation":null,"externalId":"…"} (body is DOKU's answer as text; any HTTP status is an
    // answer, not an exception). Retries once on 401xx01. options_json: as for call() ("" = none);
    // every option given is sent, none is required.
    std::string request(const std::string &method, const std::string &path, const std::string &body = "",
                        const std::string &options_json = "") {
        const char *m = detail::arg(method, "method"), *p = detail::arg(path, "path"), *b = detail::arg(body, "body");
        const char *o = detail::opt_arg(options_json, "options_json");
        return detail::owned_string([&](char **out) { return doku_client_request(handle_.get(), m, p, b, o, out); });
    }

    // Calls one of DOKU's operations by its catalog name ("create_va", "payment", …; see
    // doku::operations()): {"httpStatus","responseCode","body","operation","externalId"}. The body
    // is checked by the operation's rules and the options by its needs before anything is sent
    // (DOKU_ERR_INVALID_ARGUMENT, naming the field or option). options_json ("" = none), a JSON
    // object of "customerToken", "ipAddress", "deviceId", "channelId", "externalId", "headers"
    // (see doku_client_call in doku.h). A payment, payment_jump_app or refund whose answer was
    // lost after sending throws doku::Error with DOKU_ERR_OUTCOME_UNKNOWN (outcome_unknown() is
    // true): never send it again; ask check_status, as the message says, by the same
    // partnerReferenceNo.
    std::string call(const std::string &operation, const std::string &body, const std::string &options_json = "") {
        const char *op = detail::arg(operation, "operation"), *b = detail::arg(body, "body");
        const char *o = detail::opt_arg(options_json, "options_json");
        return detail::owned_string([&](char **out) { return doku_client_call(handle_.get(), op, b, o, out); });
    }

    // B2B2C customer token from an auth code, and its refresh: JSON with both tokens and expiries.
    std::string get_token_b2b2c(const std::string &auth_code) {
        const char *c = detail::arg(auth_code, "auth_code");
        return detail::owned_string([&](char **out) { return doku_get_token_b2b2c(handle_.get(), c, out); });
    }
    std::string refresh_token_b2b2c(const std::string &refresh_token) {
        const char *t = detail::arg(refresh_token, "refresh_token");
        return detail::owned_string([&](char **out) { return doku_refresh_token_b2b2c(handle_.get(), t, out); });
    }

    // The C handle, for calls this layer does not wrap. Owned by this Client.
    DokuClient *get() const noexcept { return handle_.get(); }

private:
    std::unique_ptr<DokuClient, detail::ClientFree> handle_;
};

}  // namespace doku

#endif  // DOKU_HPP
