// The merchant side of SNAP in C++, inetd style: one HTTP request on stdin, the answer on
// stdout (run it from inetd, xinetd or a systemd socket unit with Accept=yes).
//
//   POST /authorization/v1/access-token/b2b  DOKU asks for a token: doku::issue_token()
//   POST /v1.1/transfer-va/payment           a payment notification: doku::validate_token(),
//                                            then doku::verify_request()
//
// Configuration from the environment: DOKU_PUBLIC_KEY_FILE, MERCHANT_PRIVATE_KEY_FILE,
// MERCHANT_PUBLIC_KEY_FILE, MERCHANT_CLIENT_ID, MERCHANT_CLIENT_SECRET.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "doku.hpp"

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

static std::string file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Answer {
    int status;
    std::string body;
};

// Header names are case-insensitive: the map keys are lowercase.
using Headers = std::map<std::string, std::string>;

static std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

static Answer token(const Headers &h, const std::string &body) {
    std::string headers = "{";
    for (const auto &kv : h) headers += (headers.size() > 1 ? "," : "") + json_string(kv.first) + ":" + json_string(kv.second);
    headers += "}";
    std::string options = "{\"client_id\":" + json_string(env("MERCHANT_CLIENT_ID")) +
                          ",\"doku_public_key_file\":" + json_string(env("DOKU_PUBLIC_KEY_FILE")) +
                          ",\"merchant_private_key_file\":" + json_string(env("MERCHANT_PRIVATE_KEY_FILE")) + "}";
    doku::IssuedToken t = doku::issue_token(options, headers, body);
    return {t.http_status, t.body};
}

static Answer payment(const Headers &h, const std::string &path, const std::string &body) {
    auto get = [&](const char *name) {
        auto it = h.find(name);
        return it == h.end() ? std::string() : it->second;
    };
    try {
        doku::validate_token(get("authorization"), file(env("MERCHANT_PUBLIC_KEY_FILE")));
    } catch (const doku::Error &e) {
        std::cerr << "refused token: " << e.what() << "\n";
        return {401, R"j({"responseCode":"4012501","responseMessage":"Invalid Token (B2B)"})j"};
    }
    std::string bearer = get("authorization");
    doku::Request req{"POST", path, bearer.substr(bearer.rfind(' ') + 1), body, get("x-timestamp")};
    if (!doku::verify_request(env("MERCHANT_CLIENT_SECRET"), req, get("x-signature"))) {
        return {401, R"j({"responseCode":"4012500","responseMessage":"Unauthorized. Invalid Signature"})j"};
    }
    // Here the merchant marks the order paid (idempotently, keyed by the request's trxId).
    return {200, R"j({"responseCode":"2002500","responseMessage":"Successful"})j"};
}

int main() {
    std::string method, path, version, line;
    std::cin >> method >> path >> version;
    std::getline(std::cin, line);
    Headers headers;
    while (std::getline(std::cin, line) && line != "\r" && !line.empty()) {
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        value.erase(0, value.find_first_not_of(' '));
        if (!value.empty() && value.back() == '\r') value.pop_back();
        headers[name] = value;
    }
    std::string body(std::strtoul(headers["content-length"].c_str(), nullptr, 10), '\0');
    std::cin.read(&body[0], static_cast<std::streamsize>(body.size()));
    headers.erase("content-length");

    Answer a{404, R"j({"responseCode":"4040000","responseMessage":"Not Found"})j"};
    try {
        if (method == "POST" && path == "/authorization/v1/access-token/b2b") a = token(headers, body);
        if (method == "POST" && path == "/v1.1/transfer-va/payment") a = payment(headers, path, body);
    } catch (const doku::Error &e) {
        std::cerr << e.status_name() << ": " << e.what() << "\n";
        a = {500, R"j({"responseCode":"5000000","responseMessage":"General Error"})j"};
    }
    std::cout << "HTTP/1.1 " << a.status << " X\r\nContent-Type: application/json\r\nContent-Length: " << a.body.size()
              << "\r\nConnection: close\r\n\r\n"
              << a.body << std::flush;
    return 0;
}
