// Get a DOKU B2B access token from C++. Used by `make demo`.
// Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and (optionally) DOKU_CA_FILE.
#include <cstdlib>
#include <iostream>
#include <string>

#include "doku.hpp"

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

int main() {
    std::string config = "{\"client_id\":\"" + env("DOKU_CLIENT_ID") + "\",\"private_key_file\":\"" +
                         env("DOKU_PRIVATE_KEY_FILE") + "\",\"base_url\":\"" + env("DOKU_BASE_URL") + "\"";
    if (!env("DOKU_CA_FILE").empty()) config += ",\"ca_file\":\"" + env("DOKU_CA_FILE") + "\"";
    config += "}";
    try {
        doku::Client client(config);
        std::string token = client.get_token();
        std::string info = client.token_info();
        std::size_t at = info.find("\"expiresIn\":");
        long expires = at == std::string::npos ? -1 : std::strtol(info.c_str() + at + 12, nullptr, 10);
        std::cout << "c++: got token " << token.substr(0, 10) << "... (expires in " << expires << " s)\n";
    } catch (const doku::Error &e) {
        std::cerr << "c++: " << e.status_name() << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
