// The C++ RAII layer (bindings/cpp/doku.hpp) against a real sandbox. Run by tests/c_api.rs under
// valgrind. Environment: DOKU_TEST_URL, DOKU_TEST_DIR (keys, expected.sig), DOKU_TEST_REDIS,
// DOKU_TEST_TLS_URL and DOKU_TEST_CA (the TLS sandbox), DOKU_TEST_OPERATIONS (the shared run).
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "doku.hpp"

static_assert(!std::is_copy_constructible<doku::Client>::value, "Client is move-only");
static_assert(!std::is_copy_assignable<doku::Client>::value, "Client is move-only");
static_assert(std::is_nothrow_move_constructible<doku::Client>::value, "moves never throw");
static_assert(std::is_base_of<std::runtime_error, doku::Error>::value, "Error is a runtime_error");

static int checks = 0;
#define CHECK(cond)                                                                 \
    do {                                                                            \
        ++checks;                                                                   \
        if (!(cond)) {                                                              \
            std::cerr << "FAIL " << __FILE__ << ":" << __LINE__ << ": " #cond "\n"; \
            std::exit(1);                                                           \
        }                                                                           \
    } while (0)

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (!v) {
        std::cerr << "missing " << name << "\n";
        std::exit(2);
    }
    return v;
}

static std::string path(const std::string &name) { return env("DOKU_TEST_DIR") + "/" + name; }

static std::string slurp(const std::string &name) {
    std::ifstream f(path(name), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

static std::string config(const std::string &client_id) {
    return "{\"client_id\":\"" + client_id + "\",\"private_key_file\":\"" + path("pkcs8.pem") + "\",\"base_url\":\"" +
           env("DOKU_TEST_URL") + "\",\"proxy\":\"\"}";
}

// Runs f, expecting doku::Error with this status and a message containing fragment.
template <class F>
static doku::Error expect_error(F &&f, DokuStatus status, const std::string &fragment) {
    try {
        f();
    } catch (const doku::Error &e) {
        if (e.status() != status || std::string(e.what()).find(fragment) == std::string::npos)
            std::cerr << "got " << e.status_name() << ": " << e.what() << "\n";
        CHECK(e.status() == status);
        CHECK(std::string(e.what()).find(fragment) != std::string::npos);
        return e;
    }
    std::cerr << "no exception; wanted " << doku_status_name(status) << "\n";
    std::exit(1);
}

struct Event {
    DokuLogLevel level;
    std::string name, message;
    std::thread::id thread;
};

static bool starts_with(const std::string &s, const std::string &prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// doku::set_log_callback with a lambda, and Client::stats().
static void test_log_and_stats() {
    std::mutex lock;
    std::vector<Event> events;
    bool nested_refused = false;
    doku::set_log_callback([&](DokuLogLevel level, const std::string &event, const std::string &message) {
        std::lock_guard<std::mutex> guard(lock);
        events.push_back(Event{level, event, message, std::this_thread::get_id()});
        try {
            doku::set_log_callback(nullptr);
        } catch (const doku::Error &e) {
            nested_refused = e.status() == DOKU_ERR_INVALID_ARGUMENT &&
                             std::string(e.what()) == "doku::set_log_callback cannot be called from inside the log callback";
        }
    });
    doku::Client client(config("c-log-cpp"));
    CHECK(client.stats() ==
          "{\"inProcessHits\":0,\"storeHits\":0,\"fetches\":0,\"fetchFailures\":0,\"storeErrors\":0,\"lastFetchMs\":null,"
          "\"lastStoreError\":null}");
    std::string token = client.get_token();
    CHECK(client.get_token() == token);
    CHECK(events.size() == 1 && nested_refused);
    CHECK(events[0].level == DOKU_LOG_INFO && events[0].name == "token_fetched");
    CHECK(starts_with(events[0].message, "token fetched from DOKU by this process in "));
    CHECK(events[0].message.find(token) == std::string::npos);
    CHECK(events[0].thread == std::this_thread::get_id());
    std::string stats = client.stats();
    CHECK(starts_with(
        stats, "{\"inProcessHits\":1,\"storeHits\":0,\"fetches\":1,\"fetchFailures\":0,\"storeErrors\":0,\"lastFetchMs\":"));
    CHECK(stats.find("\"lastFetchMs\":null") == std::string::npos);

    // A failing fetch, with a function that throws: the exception stays in the layer, the
    // call reports its own error.
    doku::set_log_callback(
        [&](DokuLogLevel level, const std::string &event, const std::string &message) {
            {
                std::lock_guard<std::mutex> guard(lock);
                events.push_back(Event{level, event, message, std::this_thread::get_id()});
            }
            throw std::runtime_error("a logger that throws");
        },
        DOKU_LOG_WARN);
    doku::Client failing(config("c-log-fail"));
    expect_error([&] { failing.get_token(); }, DOKU_ERR_PROTOCOL, "DOKU answered HTTP 500");
    CHECK(events.size() == 2 && events[1].level == DOKU_LOG_ERROR && events[1].name == "token_fetch_failed");
    CHECK(starts_with(events[1].message, "token request failed after ") &&
          events[1].message.find("DOKU answered HTTP 500") != std::string::npos);
    CHECK(starts_with(failing.stats(), "{\"inProcessHits\":0,\"storeHits\":0,\"fetches\":0,\"fetchFailures\":1,"));

    expect_error([&] { doku::set_log_callback([](DokuLogLevel, const std::string &, const std::string &) {}, DokuLogLevel(9)); },
                 DOKU_ERR_INVALID_ARGUMENT, "min_level 9 is not a DokuLogLevel");
    doku::set_log_callback(nullptr);
    expect_error([&] { failing.get_token(); }, DOKU_ERR_PROTOCOL, "DOKU answered HTTP 500");
    CHECK(events.size() == 2);
}

static bool contains(const std::string &haystack, const std::string &needle) {
    if (haystack.find(needle) != std::string::npos) return true;
    std::cerr << "\"" << haystack << "\" lacks \"" << needle << "\"\n";
    return false;
}

// A string value in a JSON text, or (in_body) inside a response's "body", DOKU's answer as a JSON
// string whose quotes are escaped. The values read here hold no escapes.
static std::string field(const std::string &json, const std::string &name, bool in_body) {
    const std::string q = in_body ? "\\\"" : "\"";
    const std::string key = q + name + q + ":" + q;
    std::size_t at = json.find(key);
    CHECK(contains(json, key));
    at += key.size();
    return json.substr(at, json.find(q, at) - at);
}

static std::string ops_config(const std::string &client_id, const std::string &extra = "") {
    std::string json = config(client_id);
    json.pop_back();
    return json + ",\"client_secret\":\"ops-secret\",\"channel_id\":\"H2H\"" + extra + "}";
}

// Client::call, Client::request with options, doku::operations() and DOKU_ERR_OUTCOME_UNKNOWN,
// against the sandbox's c-ops and c-slow (every answer 1.5 s late). See tests/c/test_operations.c.
static void test_operations() {
    std::string catalog = doku::operations();
    std::size_t rows = 0;
    for (std::size_t at = catalog.find("\"movesMoney\":"); at != std::string::npos; at = catalog.find("\"movesMoney\":", at + 1))
        rows++;
    CHECK(rows == 13);
    CHECK(contains(catalog,
                   "\"movesMoney\":true,\"name\":\"payment\",\"path\":\"/direct-debit/core/v1/debit/payment-host-to-host\""));

    doku::Client c(ops_config("c-ops"));
    const std::string va =
        "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"8001\",\"virtualAccountNo\":\"  8889948001\","
        "\"virtualAccountName\":\"Budi\",\"trxId\":\"INV/CPP/8001\",\"totalAmount\":{\"value\":\"5000.00\",\"currency\":\"IDR\"}}";
    std::string answer = c.call("create_va", va);
    CHECK(contains(answer, "\"httpStatus\":200,") && contains(answer, "\"responseCode\":\"2002700\""));
    CHECK(contains(answer, "\"operation\":\"create_va\"") && field(answer, "externalId", false).size() == 36);
    const std::string va_id = "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"8001\",\"virtualAccountNo\":\"  8889948001\"}";
    CHECK(contains(c.call("check_status_va", va_id, "{\"channelId\":\"H2H\"}"), "\\\"english\\\":\\\"Unpaid\\\""));
    answer = c.request("POST", "/sandbox/v1/pay-va?client=c-ops", "{\"virtualAccountNo\":\"  8889948001\"}");
    CHECK(contains(answer, "\"responseCode\":\"2000000\"") && contains(answer, "\"operation\":null"));
    CHECK(contains(c.call("check_status_va", va_id), "\\\"english\\\":\\\"Paid\\\""));

    // Checked before sending, in the C API's words; NUL bytes never reach it.
    std::string bad = va;
    bad.erase(22, 1);
    expect_error([&] { c.call("create_va", bad); }, DOKU_ERR_INVALID_ARGUMENT,
                 "create_va: body: Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. \"  "
                 "888994\"; 7 characters given)");
    expect_error([&] { c.call("payment", "{}"); }, DOKU_ERR_INVALID_ARGUMENT,
                 "payment: options: customerToken is required (Authorization-Customer)");
    expect_error([&] { c.request("POST", "/orders/v1.0/debit/status", "{}", "{\"ip\":\"1\"}"); }, DOKU_ERR_INVALID_ARGUMENT,
                 "options: unknown key \"ip\"");
    expect_error([&] { c.call("create_va", va, std::string("{}\0", 3)); }, DOKU_ERR_INVALID_ARGUMENT,
                 "options_json contains a NUL byte");

    // A payment whose answer was lost: the hasty client shares the patient one's B2B token.
    doku::Client patient(ops_config("c-slow")), hasty(ops_config("c-slow", ",\"timeout_ms\":600"));
    std::string bound = patient.call("account_binding",
                                     "{\"phoneNo\":\"62813941306109\",\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\","
                                     "\"custIdMerchant\":\"cust-cpp\",\"successRegistrationUrl\":\"https://merchant.example/ok\","
                                     "\"failedRegistrationUrl\":\"https://merchant.example/failed\"}}",
                                     "{\"ipAddress\":\"203.0.113.7\",\"deviceId\":\"device-1\"}");
    std::string token = field(patient.get_token_b2b2c(field(bound, "authCode", true)), "accessToken", false);
    const std::string payment =
        "{\"partnerReferenceNo\":\"SLOW-CPP-1\",\"amount\":{\"value\":\"700.00\",\"currency\":\"IDR\"},"
        "\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}}";
    doku::Error e = expect_error(
        [&] { hasty.call("payment", payment, "{\"customerToken\":\"" + token + "\",\"ipAddress\":\"203.0.113.7\"}"); },
        DOKU_ERR_OUTCOME_UNKNOWN, "call check_status with originalPartnerReferenceNo \"SLOW-CPP-1\"");
    CHECK(e.outcome_unknown() && std::string(e.status_name()) == "DOKU_ERR_OUTCOME_UNKNOWN" && e.response_code().empty());
    CHECK(std::string(e.what()).find(token) == std::string::npos);
    CHECK(contains(patient.call("check_status", "{\"originalPartnerReferenceNo\":\"SLOW-CPP-1\",\"serviceCode\":\"54\"}"),
                   "\\\"latestTransactionStatus\\\":\\\"00\\\""));
    CHECK(!expect_error([] { doku::minify("{"); }, DOKU_ERR_INVALID_ARGUMENT, "not valid JSON").outcome_unknown());
}

// text with every `from` replaced by `to`.
static std::string replace(std::string text, const std::string &from, const std::string &to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// The shared run (tests/fixtures/every-operation.tsv, at DOKU_TEST_OPERATIONS) through
// Client::call, against the TLS sandbox's c-ops: each line an operation, its expected
// responseCode, body and options ("-": none); customer_token exchanges the last authCode for a
// customer token. Every catalog operation once, as tests/c/test_operations.c runs it.
static void test_every_operation() {
    std::string catalog = doku::operations();
    std::size_t operations = 0;
    for (std::size_t at = catalog.find("\"movesMoney\":"); at != std::string::npos; at = catalog.find("\"movesMoney\":", at + 1))
        operations++;
    CHECK(operations == 13);

    doku::Client c("{\"client_id\":\"c-ops\",\"private_key_file\":\"" + path("pkcs8.pem") + "\",\"base_url\":\"" +
                   env("DOKU_TEST_TLS_URL") + "\",\"proxy\":\"\",\"ca_file\":\"" + env("DOKU_TEST_CA") +
                   "\",\"client_secret\":\"ops-secret\",\"channel_id\":\"H2H\"}");
    // Unique to the run: digits only, at most 12 of them.
    const std::string n = std::to_string((static_cast<long long>(std::time(nullptr)) % 10000000) * 100000 + getpid() % 100000);
    CHECK(n.size() <= 12 && n.find_first_not_of("0123456789") == std::string::npos);

    std::ifstream run(env("DOKU_TEST_OPERATIONS"));
    CHECK(run.is_open());
    std::string line, auth_code, customer_token;
    std::set<std::string> seen;
    std::size_t steps = 0;
    while (std::getline(run, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        // operation, responseCode, body, options
        std::vector<std::string> fields;
        std::stringstream split(line);
        for (std::string f; std::getline(split, f, '\t');) fields.push_back(f);
        if (fields.size() != 4) std::cerr << "not 4 tab-separated fields: \"" << line << "\"\n";
        CHECK(fields.size() == 4);
        const std::string &op = fields[0], &code = fields[1];
        steps++;
        if (op == "customer_token") {
            // get_token_b2b2c succeeds on 2007400 only.
            CHECK(code == "2007400" && !auth_code.empty());
            customer_token = field(c.get_token_b2b2c(auth_code), "accessToken", false);
            continue;
        }
        CHECK(contains(catalog, "\"name\":\"" + op + "\",\"path\":"));
        seen.insert(op);
        auto fill = [&](const std::string &text) {
            return text == "-" ? std::string() : replace(replace(text, "{n}", n), "{customerToken}", customer_token);
        };
        std::string answer;
        try {
            answer = c.call(op, fill(fields[2]), fill(fields[3]));
        } catch (const doku::Error &e) {
            std::cerr << op << ": " << e.status_name() << ": " << e.what() << "\n";
            CHECK(false);
        }
        CHECK(contains(answer, "\"httpStatus\":200,") && contains(answer, "\"responseCode\":\"" + code + "\""));
        CHECK(contains(answer, "\"operation\":\"" + op + "\""));
        if (answer.find("\\\"authCode\\\":\\\"") != std::string::npos) {
            auth_code = field(answer, "authCode", true);
            CHECK(!auth_code.empty() && auth_code.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos);
        }
    }
    // Every operation of the catalog, each called.
    if (seen.size() != operations) std::cerr << seen.size() << " of the catalog's " << operations << " operations called\n";
    CHECK(seen.size() == operations && steps > seen.size());
}

int main() {
    CHECK(doku::version() == DOKU_VERSION);
    test_operations();
    test_every_operation();
    test_log_and_stats();
    std::string ts = doku::timestamp();
    CHECK(ts.size() == 20 && ts[10] == 'T' && ts[19] == 'Z');

    // Signatures equal the openssl CLI's (expected.sig).
    CHECK(doku::sign("MCH-TEST", "2020-09-22T01:51:00Z", slurp("pkcs8.pem")) == slurp("expected.sig"));
    expect_error([] { doku::sign("MCH-TEST", "t", "not a key"); }, DOKU_ERR_KEY, "neither PEM");
    expect_error([] { doku::sign(std::string("MCH\0X", 5), "t", slurp("pkcs8.pem")); }, DOKU_ERR_INVALID_ARGUMENT,
                 "client_id contains a NUL byte");
    expect_error([] { doku::Client c("{\"client_id\":1}"); }, DOKU_ERR_INVALID_ARGUMENT, "client_id must be a string");

    // Tokens: cached, info, invalidate.
    doku::Client client(config("c-ok"));
    std::string token = client.get_token();
    CHECK(token.rfind("eyJ", 0) == 0);
    CHECK(client.get_token() == token);
    std::string info = client.token_info();
    CHECK(info.find("\"accessToken\":\"" + token + "\"") != std::string::npos);
    CHECK(info.find("\"tokenType\":\"Bearer\"") != std::string::npos);
    client.invalidate_token();
    CHECK(client.get_token() != token);

    // Shared token stores (file, Redis): a new process (here, the in-process cache dropped) reads
    // the token another stored; the sandbox counts one request each (tests/c_api.rs).
    const std::string stores[] = {"file:" + path("tokens"), env("DOKU_TEST_REDIS")};
    for (int i = 0; i < 2; i++) {
        std::string json = config("c-store-" + std::to_string(i));
        json.pop_back();
        // Valgrind makes the sealing and the round trips slow: a generous store timeout.
        doku::Client shared(json + ",\"token_store\":\"" + stores[i] + "\",\"token_store_timeout_ms\":5000}");
        std::string stored = shared.get_token();
        shared.invalidate_token();
        CHECK(shared.get_token() == stored);
    }

    // DOKU refusals carry the responseCode.
    doku::Client unknown(config("c-unknown"));
    doku::Error e = expect_error([&] { unknown.get_token(); }, DOKU_ERR_API, "Unknown Client");
    CHECK(e.response_code() == "4017300");
    CHECK(std::string(e.status_name()) == "DOKU_ERR_API");

    // Move-only ownership: the moved-to client works, the moved-from one fails cleanly.
    doku::Client moved(std::move(client));
    CHECK(moved.get_token().rfind("eyJ", 0) == 0);
    CHECK(client.get() == nullptr);
    expect_error([&] { client.get_token(); }, DOKU_ERR_NULL_ARGUMENT, "client is NULL");
    doku::Client assigned(config("c-ok"));
    assigned = std::move(moved);  // frees assigned's old handle
    CHECK(assigned.get() != nullptr && moved.get() == nullptr);

    // Transactions: minify, symmetric signatures, asymmetric verification.
    CHECK(doku::minify("{ \"a\" : [1, 2] }") == "{\"a\":[1,2]}");
    doku::Request req{"POST", "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va", token, "{ }", ts};
    std::string sig = doku::sign_request("secret", req);
    CHECK(doku::verify_request("secret", req, sig));
    CHECK(!doku::verify_request("other", req, sig));
    CHECK(doku::verify("MCH-TEST", "2020-09-22T01:51:00Z", slurp("expected.sig"), slurp("public.pem")));
    CHECK(!doku::verify("MCH-TEST", "2020-09-22T01:51:01Z", slurp("expected.sig"), slurp("public.pem")));
    expect_error([] { doku::minify("{"); }, DOKU_ERR_INVALID_ARGUMENT, "not valid JSON");

    // The merchant side: DOKU (other.pem) asks; the merchant (pkcs8.pem) issues; then validates.
    std::string doku_ts = doku::timestamp();
    std::string doku_sig = doku::sign("MCH-M", doku_ts, slurp("other.pem"));
    std::string headers = "{\"X-CLIENT-KEY\":\"MCH-M\",\"X-TIMESTAMP\":\"" + doku_ts + "\",\"X-SIGNATURE\":\"" + doku_sig + "\"}";
    std::string options = "{\"client_id\":\"MCH-M\",\"doku_public_key_file\":\"" + path("other-public.pem") +
                          "\",\"merchant_private_key_file\":\"" + path("pkcs8.pem") + "\",\"ttl_s\":120}";
    doku::IssuedToken issued = doku::issue_token(options, headers, "{\"grantType\":\"client_credentials\"}");
    CHECK(issued.http_status == 200 && issued.body.find("\"expiresIn\":120") != std::string::npos);
    expect_error([&] { doku::issue_token("{\"client_id\":\"MCH-M\",\"ttl\":120}", headers, "{}"); }, DOKU_ERR_INVALID_ARGUMENT,
                 "unknown key \"ttl\"");
    std::size_t at = issued.body.find("\"accessToken\":\"") + 15;
    std::string jwt = issued.body.substr(at, issued.body.find('"', at) - at);
    CHECK(doku::validate_token("Bearer " + jwt, slurp("public.pem")).find("\"clientId\":\"MCH-M\"") != std::string::npos);
    expect_error([&] { doku::validate_token(jwt, slurp("other-public.pem")); }, DOKU_ERR_SIGNATURE_INVALID, "JWT rejected");

    // A signed create-VA through the library's own HTTP client.
    doku::Client va("{\"client_id\":\"c-va\",\"private_key_file\":\"" + path("pkcs8.pem") + "\",\"base_url\":\"" +
                    env("DOKU_TEST_URL") + "\",\"proxy\":\"\",\"client_secret\":\"va-secret\",\"channel_id\":\"H2H\"}");
    std::string body =
        "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"1\",\"virtualAccountNo\":\"  8889941\","
        "\"virtualAccountName\":\"Budi\",\"trxId\":\"CPP-1\",\"totalAmount\":{\"value\":\"1.00\",\"currency\":\"IDR\"}}";
    CHECK(va.request_headers("POST", "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va", body).find("X-EXTERNAL-ID") !=
          std::string::npos);
    std::string answer = va.request("POST", "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va", body);
    CHECK(answer.find("\"responseCode\":\"2002700\"") != std::string::npos);

    std::cout << "ok: " << checks << " C++ checks passed\n";
    return 0;
}
