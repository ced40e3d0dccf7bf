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
#ifndef DOKU_HPP
#define DOKU_HPP

#include <memory>
#include <stdexcept>
#include <string>
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
    if (s.find('\0') != std::string::npos)
        throw Error(DOKU_ERR_INVALID_ARGUMENT, std::string(name) + " contains a NUL byte");
    return s.c_str();
}

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

// The library's version; equals DOKU_VERSION of the header it was built with.
inline std::string version() { return doku_version(); }

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

    // The C handle, for calls this layer does not wrap. Owned by this Client.
    DokuClient *get() const noexcept { return handle_.get(); }

private:
    std::unique_ptr<DokuClient, detail::ClientFree> handle_;
};

}  // namespace doku

#endif  // DOKU_HPP
