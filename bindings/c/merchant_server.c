/* The merchant side of SNAP in C: a tiny single-threaded HTTP server that answers DOKU.
 *
 *   POST /authorization/v1/access-token/b2b   DOKU asks for a token: doku_issue_token()
 *   POST /v1.1/transfer-va/payment            DOKU notifies a payment: doku_validate_token()
 *                                             then doku_verify_request()
 *
 * Configuration from the environment: DOKU_PUBLIC_KEY_FILE, MERCHANT_PRIVATE_KEY_FILE,
 * MERCHANT_PUBLIC_KEY_FILE, MERCHANT_CLIENT_ID, MERCHANT_CLIENT_SECRET. Prints
 * "listening on http://127.0.0.1:PORT" first. For a real deployment put this logic behind your
 * web server; the HTTP handling here is the bare minimum (one request per connection). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doku.h"

#define MAX_REQUEST (64 * 1024)

static char *slurp(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path ? path : "(unset)");
        exit(2);
    }
    char *buf = calloc(1, 64 * 1024);
    fread(buf, 1, 64 * 1024 - 1, f);
    fclose(f);
    return buf;
}

/* The value of header `name` (case-insensitive) in the raw head, copied into out. */
static const char *header(const char *head, const char *name, char *out, size_t size) {
    size_t n = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            const char *v = h + n + 1, *end = strstr(v, "\r\n");
            while (*v == ' ') v++;
            snprintf(out, size, "%.*s", (int)(end - v), v);
            return out;
        }
    }
    out[0] = '\0';
    return out;
}

/* DOKU's token request: judged by the library, which also writes the exact answer. */
static int token_answer(const char *head, const char *body, char **answer) {
    char id[256], ts[64], sig[1024], json[2048];
    header(head, "X-CLIENT-KEY", id, sizeof id), header(head, "X-TIMESTAMP", ts, sizeof ts);
    header(head, "X-SIGNATURE", sig, sizeof sig);
    /* Header values are plain tokens here; a real server would JSON-escape them. */
    snprintf(json, sizeof json, "{\"X-CLIENT-KEY\":\"%s\",\"X-TIMESTAMP\":\"%s\",\"X-SIGNATURE\":\"%s\"}", id, ts, sig);
    /* The options name the key files; the library reads them and caches the parsed keys. The
     * values are plain paths and ids here; a real server would JSON-escape them too. */
    static char options[4096];
    if (!options[0])
        snprintf(options, sizeof options,
                 "{\"client_id\":\"%s\",\"doku_public_key_file\":\"%s\",\"merchant_private_key_file\":\"%s\"}",
                 getenv("MERCHANT_CLIENT_ID"), getenv("DOKU_PUBLIC_KEY_FILE"), getenv("MERCHANT_PRIVATE_KEY_FILE"));
    int status = 500;
    if (doku_issue_token(options, json, body, &status, answer) != DOKU_OK) {
        fprintf(stderr, "doku_issue_token: %s\n", doku_last_error());
        return 500;
    }
    return status;
}

/* A payment notification: the Bearer token must be ours, the HMAC signature must match. */
static int payment_answer(const char *head, const char *path, const char *body, char **answer) {
    char auth[4096], ts[64], sig[1024];
    header(head, "Authorization", auth, sizeof auth), header(head, "X-TIMESTAMP", ts, sizeof ts);
    header(head, "X-SIGNATURE", sig, sizeof sig);
    static char *merchant_public;
    if (!merchant_public) merchant_public = slurp(getenv("MERCHANT_PUBLIC_KEY_FILE"));
    char *claims = NULL;
    if (doku_validate_token(auth, merchant_public, &claims) != DOKU_OK) {
        fprintf(stderr, "refused token: %s\n", doku_last_error());
        *answer = strdup("{\"responseCode\":\"4012501\",\"responseMessage\":\"Invalid Token (B2B)\"}");
        return 401;
    }
    doku_free(claims);
    const char *token = auth + (strncasecmp(auth, "Bearer ", 7) == 0 ? 7 : 0);
    DokuStatus st = doku_verify_request(getenv("MERCHANT_CLIENT_SECRET"), "POST", path, token, body, ts, sig);
    if (st != DOKU_OK) {
        fprintf(stderr, "refused signature: %s\n", doku_last_error());
        *answer = strdup("{\"responseCode\":\"4012500\",\"responseMessage\":\"Unauthorized. Invalid Signature\"}");
        return 401;
    }
    /* Here the merchant marks the order paid (idempotently, keyed by the request's trxId). */
    *answer = strdup("{\"responseCode\":\"2002500\",\"responseMessage\":\"Successful\"}");
    return 200;
}

static void serve(int conn) {
    static char req[MAX_REQUEST + 1];
    size_t got = 0;
    char *end = NULL, length[32];
    ssize_t n;
    while (got < MAX_REQUEST && (n = read(conn, req + got, MAX_REQUEST - got)) > 0) {
        got += (size_t)n, req[got] = '\0';
        if ((end = strstr(req, "\r\n\r\n")) &&
            (size_t)(end + 4 - req) + strtoul(header(req, "Content-Length", length, sizeof length), NULL, 10) <= got)
            break;
    }
    if (!end) return;
    *end = '\0';
    char method[8] = "", path[256] = "";
    sscanf(req, "%7s %255s", method, path);
    char *answer = NULL;
    int status = 404, from_doku = 0;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/authorization/v1/access-token/b2b") == 0)
        status = token_answer(req, end + 4, &answer), from_doku = 1;
    else if (strcmp(method, "POST") == 0 && strcmp(path, "/v1.1/transfer-va/payment") == 0)
        status = payment_answer(req, path, end + 4, &answer);
    const char *text = answer ? answer : "{\"responseCode\":\"4040000\",\"responseMessage\":\"Not Found\"}";
    char out[8192];
    int len = snprintf(out, sizeof out,
                       "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       status, strlen(text), text);
    if (write(conn, out, (size_t)len) < 0) perror("write");
    /* doku_free for what the library allocated, free for our own strdup. */
    if (from_doku) doku_free(answer);
    else free(answer);
}

int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 16) || getsockname(s, (struct sockaddr *)&addr, &alen)) {
        perror("listen");
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int conn = accept(s, NULL, NULL);
        if (conn < 0) continue;
        serve(conn);
        close(conn);
    }
}
