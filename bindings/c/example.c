/* Get a DOKU B2B access token from C. Used by `make demo`.
 * Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and (optionally) DOKU_CA_FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doku.h"

int main(void) {
    const char *url = getenv("DOKU_BASE_URL"), *id = getenv("DOKU_CLIENT_ID");
    const char *key = getenv("DOKU_PRIVATE_KEY_FILE"), *ca = getenv("DOKU_CA_FILE");
    if (!url || !id || !key) {
        fprintf(stderr, "set DOKU_BASE_URL, DOKU_CLIENT_ID and DOKU_PRIVATE_KEY_FILE\n");
        return 2;
    }
    char config[2048];
    snprintf(config, sizeof config, "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\"%s%s%s}", id, key, url,
             ca ? ",\"ca_file\":\"" : "", ca ? ca : "", ca ? "\"" : "");

    DokuClient *client = NULL;
    if (doku_client_new(config, &client) != DOKU_OK) {
        fprintf(stderr, "c: config error: %s\n", doku_last_error());
        return 1;
    }
    char *info = NULL, *token = NULL;
    DokuStatus st = doku_get_token(client, &token);
    if (st == DOKU_OK) st = doku_token_info(client, &info);
    if (st != DOKU_OK) {
        fprintf(stderr, "c: %s: %s\n", doku_status_name(st), doku_last_error());
        doku_client_free(client);
        return 1;
    }
    const char *expires = strstr(info, "\"expiresIn\":");
    printf("c: got token %.10s... (expires in %ld s)\n", token, expires ? strtol(expires + 12, NULL, 10) : -1L);
    doku_free(info);
    doku_free(token);
    doku_client_free(client);
    return 0;
}
