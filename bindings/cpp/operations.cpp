// DOKU's operations from C++, one line per step: a virtual account (create it, the customer pays,
// its status) and a Direct Debit payment (bind the customer's account, the customer's token, pay,
// refund, the payment's status). Against doku-sandbox: the customer's VA payment is its simulator
// (POST /sandbox/v1/pay-va), which DOKU's own sandbox replaces with its simulator page.
// Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE, DOKU_CLIENT_SECRET and (optionally)
// DOKU_CA_FILE. Exits 0 when every step succeeded. Run by tests/c_api.rs.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>

#include "doku.hpp"

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

// The string value of "name" in a JSON text (escapes kept as they are), or "" if absent. Enough
// for the plain values read here: codes, statuses, tokens.
static std::string field(const std::string &json, const std::string &name) {
    std::size_t at = json.find("\"" + name + "\":");
    if (at == std::string::npos) return "";
    at = json.find_first_not_of(' ', at + name.size() + 3);
    if (at == std::string::npos || json[at] != '"') return "";
    std::string value;
    for (++at; at < json.size() && json[at] != '"'; ++at) {
        if (json[at] == '\\' && at + 1 < json.size()) value += json[at++];
        value += json[at];
    }
    return value;
}

// DOKU's answer as text: the response's "body", a JSON string, unescaped.
static std::string answer_of(const std::string &response) {
    std::size_t at = response.find("\"body\":\"");
    std::string answer;
    if (at == std::string::npos) return answer;
    const std::string from = "nrtbf", to = "\n\r\t\b\f";
    for (at += 8; at < response.size() && response[at] != '"'; ++at) {
        char c = response[at];
        if (c == '\\' && at + 1 < response.size()) {
            c = response[++at];
            if (c == 'u') answer += '\\';  // \uXXXX stays escaped
            std::size_t hit = from.find(c);
            if (hit != std::string::npos) c = to[hit];
        }
        answer += c;
    }
    return answer;
}

// A step that DOKU did not answer with its success code.
struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Prints the step's line (with the answer's field `detail`, if given); returns DOKU's answer when
// it is `success`, else throws Refused.
static std::string checked(const std::string &step, const std::string &response, const std::string &success,
                           const std::string &detail = "") {
    std::string code = field(response, "responseCode"), answer = answer_of(response);
    std::size_t http = response.find("\"httpStatus\":");
    long http_status = http == std::string::npos ? 0 : std::strtol(response.c_str() + http + 13, nullptr, 10);
    std::string shown = detail.empty() ? "" : field(answer, detail);
    std::cout << "c++: " << step << ": HTTP " << http_status << ", " << (code.empty() ? "none" : code)
              << (shown.empty() ? "" : ", " + shown) << "\n";
    if (code != success) throw Refused(step + ": expected " + success + ": " + field(answer, "responseMessage"));
    return answer;
}

static std::string call(doku::Client &client, const std::string &operation, const std::string &body, const std::string &options,
                        const std::string &success, const std::string &detail = "") {
    return checked(operation, client.call(operation, body, options), success, detail);
}

// The virtual account: created, paid by the customer (the sandbox's simulator), found paid.
static void virtual_account(doku::Client &client, const std::string &id, const std::string &client_id) {
    std::string va_id =
        "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"" + id + "\",\"virtualAccountNo\":\"  888994" + id + "\"";
    std::string va = va_id + ",\"virtualAccountName\":\"Budi Santoso\",\"trxId\":\"INV-" + id +
                     "\",\"totalAmount\":{\"value\":\"12000.00\",\"currency\":\"IDR\"},\"virtualAccountTrxType\":\"C\","
                     "\"additionalInfo\":{\"channel\":\"VIRTUAL_ACCOUNT_BANK_CIMB\"}}";
    va_id += "}";
    call(client, "create_va", va, "", "2002700");
    call(client, "check_status_va", va_id, "", "2002600", "english");
    // Not one of DOKU's operations: a plain signed request.
    std::string paid =
        client.request("POST", "/sandbox/v1/pay-va?client=" + client_id, "{\"virtualAccountNo\":\"  888994" + id + "\"}");
    checked("customer pays (sandbox)", paid, "2000000");
    call(client, "check_status_va", va_id, "", "2002600", "english");
}

// Direct Debit: the customer binds an account, whose auth code buys the customer's token; a
// payment with it, a refund of it, the payment's status.
static void direct_debit(doku::Client &client, const std::string &id) {
    const std::string channel = "\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}";
    const std::string ip = "\"ipAddress\":\"203.0.113.7\"";
    std::string binding =
        "{\"phoneNo\":\"62813941306101\",\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\","
        "\"custIdMerchant\":\"cust-" +
        id +
        "\",\"successRegistrationUrl\":\"https://merchant.example/ok\","
        "\"failedRegistrationUrl\":\"https://merchant.example/failed\"}}";
    std::string bound = call(client, "account_binding", binding, "{" + ip + ",\"deviceId\":\"device-1\"}", "2000700");
    std::string auth_code = field(bound, "authCode");
    if (auth_code.empty()) throw Refused("account_binding: no additionalInfo.authCode in the answer");
    std::string token = field(client.get_token_b2b2c(auth_code), "accessToken");
    std::cout << "c++: customer token: received\n";  // a secret: never printed
    std::string with_token = "{\"customerToken\":\"" + token + "\"," + ip + "}";

    call(client, "payment",
         "{\"partnerReferenceNo\":\"ORDER-" + id + "\",\"amount\":{\"value\":\"25000.00\",\"currency\":\"IDR\"}," + channel + "}",
         with_token, "2005400");
    call(client, "refund",
         "{\"originalPartnerReferenceNo\":\"ORDER-" + id + "\",\"partnerRefundNo\":\"REFUND-" + id +
             "\",\"refundAmount\":{\"value\":\"25000.00\",\"currency\":\"IDR\"}," + channel + "}",
         with_token, "2000700");
    call(client, "check_status", "{\"originalPartnerReferenceNo\":\"ORDER-" + id + "\",\"serviceCode\":\"54\"}", "", "2005500",
         "transactionStatusDesc");
}

int main() {
    if (env("DOKU_BASE_URL").empty() || env("DOKU_CLIENT_ID").empty() || env("DOKU_PRIVATE_KEY_FILE").empty() ||
        env("DOKU_CLIENT_SECRET").empty()) {
        std::cerr << "set DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and DOKU_CLIENT_SECRET\n";
        return 2;
    }
    std::string config = "{\"client_id\":\"" + env("DOKU_CLIENT_ID") + "\",\"private_key_file\":\"" +
                         env("DOKU_PRIVATE_KEY_FILE") + "\",\"base_url\":\"" + env("DOKU_BASE_URL") + "\",\"client_secret\":\"" +
                         env("DOKU_CLIENT_SECRET") + "\",\"channel_id\":\"H2H\"";
    if (!env("DOKU_CA_FILE").empty()) config += ",\"ca_file\":\"" + env("DOKU_CA_FILE") + "\"";
    config += "}";
    // Numbers of this run, so that running it again makes new bills and payments.
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string id = std::to_string(seconds) + std::to_string(std::random_device{}() % 90000 + 10000);
    try {
        doku::Client client(config);
        virtual_account(client, id, env("DOKU_CLIENT_ID"));
        direct_debit(client, id);
    } catch (const doku::Error &e) {
        std::cerr << "c++: " << e.status_name() << ": " << e.what() << "\n";
        return 1;
    } catch (const Refused &e) {
        std::cerr << "c++: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
