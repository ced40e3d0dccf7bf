// The merchant side of SNAP in C++: a small HTTP server that answers DOKU, on doku.hpp.
//
//   POST /authorization/v1/access-token/b2b  DOKU asks for a token: doku::issue_token()
//   POST /v1.1/transfer-va/inquiry           DOKU asks for a VA's bill      doku::merchant_verify(),
//   POST /v1.1/transfer-va/payment           DOKU notifies a VA payment     then
//   POST /v1.0/debit/notify                  DOKU notifies a Direct Debit   doku::merchant_answer()
//
// One long-running process accepts every connection. merchant_verify() refuses a replayed call
// by the requests it accepted before, and it keeps them in the process's memory: served one
// process per connection (inetd, xinetd, a systemd socket unit with Accept=yes), every call
// would meet an empty record, and a replay within the freshness window (max_skew_s, 300 s
// by default) would be accepted again. Threads or an event loop in this one process are fine:
// the record is thread-safe. Several processes (a pre-forked pool) each keep their own: then
// also record each payment idempotently, by paymentRequestId / trxId.
//
// Configuration from the environment: MERCHANT_CLIENT_ID, MERCHANT_CLIENT_SECRET,
// DOKU_PUBLIC_KEY_FILE, MERCHANT_PRIVATE_KEY_FILE, MERCHANT_PUBLIC_KEY_FILE; MERCHANT_TOKEN_TTL_S
// (our tokens' lifetime, default 900) and MERCHANT_PORT (default 0: any free port). Prints
// "listening on http://127.0.0.1:PORT" first. The HTTP handling is the bare minimum (one request
// per connection, one connection at a time); in production put this logic behind your web
// server. The JSON handling is minimal too: it only reads what the library wrote.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "doku.hpp"

namespace {

constexpr std::size_t kMaxRequest = 64 * 1024;  // head and body; DOKU's calls are a few KiB
constexpr std::string_view kTokenPath = "/authorization/v1/access-token/b2b";
const std::string kBadRequest = R"({"responseCode":"4000000","responseMessage":"Bad Request"})";
const std::string kGeneralError = R"({"responseCode":"5000000","responseMessage":"General Error"})";
constexpr auto npos = std::string_view::npos;

std::string token_options, verify_options;  // set once in main()

struct Request {
    std::string method, path, headers_json, body;
};

struct Answer {
    int status;
    std::string body;
};

// s as a JSON string: quotes, backslashes and control characters escaped.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
            out += esc;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// The length of the JSON value s starts with (the library wrote it: well-formed).
std::size_t value_length(std::string_view s) {
    std::size_t i = 0;
    int depth = 0;
    do {
        char c = i < s.size() ? s[i] : '\0';
        if (c == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i)
                if (s[i] == '\\') ++i;
            ++i;
        } else if (c == '{' || c == '[') {
            ++depth, ++i;
        } else if (c == '}' || c == ']') {
            --depth, ++i;
        } else if (depth > 0) {
            ++i;
        } else {
            i = std::min(s.size(), s.find_first_of(",}] \t\r\n", i));  // a number, true, false or null
        }
    } while (i < s.size() && depth > 0);
    return std::min(i, s.size());
}

// The value of member `key` of the JSON object `json` (its own members, not nested ones).
std::optional<std::string_view> member(std::string_view json, std::string_view key) {
    const char *space = " \t\r\n";
    std::size_t i = json.find_first_not_of(space);
    if (i == npos || json[i] != '{') return std::nullopt;
    for (++i;;) {
        i = json.find_first_not_of(" \t\r\n,", i);
        if (i == npos || json[i] != '"') return std::nullopt;
        std::string_view name = json.substr(i, value_length(json.substr(i)));  // quotes included
        i = json.find_first_not_of(space, i + name.size());
        if (i == npos || json[i] != ':') return std::nullopt;
        i = json.find_first_not_of(space, i + 1);
        std::size_t len = i == npos ? 0 : value_length(json.substr(i));
        if (len == 0) return std::nullopt;
        if (name.size() == key.size() + 2 && name.substr(1, key.size()) == key) return json.substr(i, len);
        i += len;
    }
}

// A string member's text, without its quotes (the library's operation names have no escapes).
std::string text(std::optional<std::string_view> v) {
    std::string_view s = v.value_or("");
    return std::string(s.size() >= 2 && s.front() == '"' ? s.substr(1, s.size() - 2) : s);
}

// What the library said to send, {"httpStatus":N,"body":{...}}: a refusal or an answer.
Answer answer_of(std::string_view json) {
    std::optional<std::string_view> status = member(json, "httpStatus"), body = member(json, "body");
    if (!status || !body) return {500, kGeneralError};
    return {std::atoi(std::string(*status).c_str()), std::string(*body)};
}

// What the merchant decides about a call the library accepted: merchant_answer()'s result_json.
// A demo: every VA is a bill of 10000.00 IDR, except that customer numbers ending in 99 have
// none; payments are only written to stderr.
std::string decide(const std::string &operation, const std::string &request) {
    if (operation == "inquiry") {
        std::string customer = text(member(request, "customerNo"));
        if (customer.size() >= 2 && customer.compare(customer.size() - 2, 2, "99") == 0) return R"({"refuse":"bill_not_found"})";
        return R"({"virtualAccountName":"Demo Customer","totalAmount":{"value":"10000.00","currency":"IDR"}})";
    }
    // Record the payment here, idempotently (DOKU retries a call it got no answer to): by
    // paymentRequestId / trxId for a VA, originalPartnerReferenceNo for a Direct Debit.
    std::cerr << operation << ": " << request << std::endl;
    return "{}";
}

Answer handle(const Request &r) {
    try {
        if (r.method == "POST" && r.path == kTokenPath) {
            // Judged by the library, which also writes the exact answer (a refusal too).
            doku::IssuedToken t = doku::issue_token(token_options, r.headers_json, r.body);
            return {t.http_status, t.body};
        }
        // Every other call: the library's verdict, the body with its exact length.
        std::string verdict = doku::merchant_verify(verify_options, r.method, r.path, r.headers_json, r.body);
        if (member(verdict, "accepted").value_or("") != "true") return answer_of(verdict);  // the refusal to send
        std::string operation = text(member(verdict, "operation")), request(member(verdict, "request").value_or("{}"));
        return answer_of(doku::merchant_answer(operation, request, decide(operation, request)));
    } catch (const doku::Error &e) {
        // Invalid arguments: a method, path or header that is not UTF-8, a token request's body
        // with a NUL byte. Anything else: a key file gone or broken since the start.
        std::cerr << e.status_name() << ": " << e.what() << std::endl;
        if (e.status() == DOKU_ERR_INVALID_ARGUMENT) return {400, kBadRequest};
        return {500, kGeneralError};
    }
}

std::string_view trim(std::string_view s) {
    std::size_t start = std::min(s.size(), s.find_first_not_of(" \t")), end = s.find_last_not_of(" \t");
    return end == npos ? std::string_view() : s.substr(start, end + 1 - start);
}

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// "METHOD PATH HTTP/1.1", then "Name: value" lines, each ending "\r\n": the headers as a JSON
// object for the library, which finds names in any case. 0, or the status to refuse with.
int parse_head(std::string_view head, Request &r, std::size_t &body_len) {
    std::size_t eol = head.find("\r\n"), sp = head.substr(0, eol).find(' ');
    if (sp == npos) return 400;
    std::string_view target = head.substr(sp + 1, eol - sp - 1);
    r.method = head.substr(0, sp), r.path = target.substr(0, target.find(' '));
    r.headers_json = "{";
    for (std::size_t at = eol + 2; at < head.size(); at = eol + 2) {
        eol = head.find("\r\n", at);
        std::string_view line = head.substr(at, eol - at);
        std::size_t colon = line.find(':');
        if (colon == npos) continue;
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (same_name(name, "Transfer-Encoding")) return 501;  // DOKU sends a Content-Length
        if (same_name(name, "Content-Length")) {
            if (value.empty() || value.find_first_not_of("0123456789") != npos) return 400;
            if (value.size() > 9) return 413;
            body_len = std::stoul(std::string(value));
        }
        r.headers_json += (r.headers_json.size() > 1 ? "," : "") + json_string(name) + ":" + json_string(value);
    }
    r.headers_json += "}";
    return 0;
}

// One whole request within kRequestTime: each recv() may wait only what is left of it, so a
// client sending a byte at a time cannot hold this one-connection-at-a-time server longer.
constexpr std::chrono::seconds kRequestTime{10};

bool wait_at_most_until(int conn, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    timeval tv{static_cast<time_t>(left / 1000), static_cast<suseconds_t>((left % 1000) * 1000)};
    return setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

// Reads one request, its head and its whole body, within kMaxRequest bytes and kRequestTime.
// 0, the status to refuse with, or -1 when the client went away (or ran out of time).
int read_request(int conn, Request &r) {
    std::string data;
    std::size_t head_len = 0, body_len = 0;
    char chunk[16 * 1024];
    const auto deadline = std::chrono::steady_clock::now() + kRequestTime;
    while (head_len == 0 || data.size() < head_len + body_len) {
        if (data.size() >= kMaxRequest) return 413;  // no end of the head in sight
        if (!wait_at_most_until(conn, deadline)) return -1;
        ssize_t n = recv(conn, chunk, std::min(sizeof chunk, kMaxRequest - data.size()), 0);
        if (n <= 0) return -1;
        data.append(chunk, static_cast<std::size_t>(n));
        std::size_t end = head_len ? npos : data.find("\r\n\r\n");
        if (end == npos) continue;
        head_len = end + 4;
        if (int refuse = parse_head(std::string_view(data).substr(0, end + 2), r, body_len)) return refuse;
        if (body_len > kMaxRequest - head_len) return 413;
    }
    r.body = data.substr(head_len, body_len);
    return 0;
}

const char *reason(int status) { return status < 300 ? "OK" : status < 500 ? "Refused" : "Error"; }

void send_answer(int conn, const Answer &a) {
    std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) +
                      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(a.body.size()) +
                      "\r\nConnection: close\r\n\r\n" + a.body;
    for (std::size_t sent = 0; sent < out.size();) {
        ssize_t n = send(conn, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);  // a client gone: EPIPE, no SIGPIPE
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

std::string env_json(const char *name) {
    const char *v = std::getenv(name);
    if (!v || !*v) {
        std::cerr << name << " is not set\n";
        std::exit(2);
    }
    return json_string(v);
}

}  // namespace

int main() {
    const char *ttl = std::getenv("MERCHANT_TOKEN_TTL_S"), *port = std::getenv("MERCHANT_PORT");
    std::string ttl_s = ttl ? ttl : "900";
    if (ttl_s.empty() || ttl_s.size() > 9 || ttl_s.find_first_not_of("0123456789") != npos) {
        std::cerr << "MERCHANT_TOKEN_TTL_S is not a number\n";
        return 2;
    }
    // The options of issue_token() and merchant_verify(). The library reads the key files on each
    // call and caches the parsed keys.
    std::string id = env_json("MERCHANT_CLIENT_ID");
    token_options = "{\"client_id\":" + id + ",\"doku_public_key_file\":" + env_json("DOKU_PUBLIC_KEY_FILE") +
                    ",\"merchant_private_key_file\":" + env_json("MERCHANT_PRIVATE_KEY_FILE") +
                    ",\"ttl_s\":" + std::to_string(std::stol(ttl_s)) + "}";
    verify_options = "{\"client_id\":" + id + ",\"client_secret\":" + env_json("MERCHANT_CLIENT_SECRET") +
                     ",\"merchant_public_key_file\":" + env_json("MERCHANT_PUBLIC_KEY_FILE") + "}";
    try {
        // Both read their options and keys before they look at the request: check them now
        // rather than on DOKU's first call.
        doku::issue_token(token_options, "{}", "");
        doku::merchant_verify(verify_options, "POST", "/", "{}", {});
    } catch (const doku::Error &e) {
        std::cerr << e.what() << "\n";
        return 2;
    }

    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<unsigned short>(std::atoi(port ? port : "0")));
    socklen_t alen = sizeof addr;
    if (bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr) || listen(s, 16) ||
        getsockname(s, reinterpret_cast<sockaddr *>(&addr), &alen)) {
        std::perror("listen");
        return 1;
    }
    std::cout << "listening on http://127.0.0.1:" << ntohs(addr.sin_port) << std::endl;
    for (;;) {
        int conn = accept(s, nullptr, nullptr);
        if (conn < 0) continue;
        // One connection at a time: a client gets kRequestTime for its whole request (and as long
        // to take the answer). A server for many clients at once would serve each on a thread of
        // its own: the library is thread-safe.
        timeval timeout{static_cast<time_t>(kRequestTime.count()), 0};
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        Request r;
        int refuse = read_request(conn, r);
        if (refuse == 0) send_answer(conn, handle(r));
        else if (refuse > 0) send_answer(conn, {refuse, kBadRequest});
        close(conn);
    }
}
