/* The merchant side of SNAP in C: a small single-threaded HTTP server that answers DOKU.
 *
 *   POST /authorization/v1/access-token/b2b   DOKU asks for a token: doku_issue_token()
 *   POST /v1.1/transfer-va/inquiry            DOKU asks for a VA's bill         doku_merchant_verify(),
 *   POST /v1.1/transfer-va/payment            DOKU notifies a VA payment        then
 *   POST /v1.0/debit/notify                   DOKU notifies a Direct Debit      doku_merchant_answer()
 *
 * doku_merchant_verify() judges every request but the token request (headers, token, freshness,
 * signature over the exact body, replay, mandatory fields) and either accepts it or writes the
 * refusal to send. It remembers the requests it accepted in this process: one process serving
 * every connection is what lets it refuse a replayed notification.
 *
 * Configuration from the environment: MERCHANT_CLIENT_ID, MERCHANT_CLIENT_SECRET,
 * DOKU_PUBLIC_KEY_FILE, MERCHANT_PRIVATE_KEY_FILE, MERCHANT_PUBLIC_KEY_FILE; MERCHANT_TOKEN_TTL_S
 * (our tokens' lifetime, default 900) and MERCHANT_PORT (default 0: any free port). Prints
 * "listening on http://127.0.0.1:PORT" first. The HTTP handling is the bare minimum (one request
 * per connection, one connection at a time); in production put this logic behind your web
 * server. The JSON handling is minimal too: it only reads what the library wrote. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "doku.h"

#define MAX_REQUEST (64 * 1024) /* head and body; DOKU's calls are a few KiB */
#define TOKEN_PATH "/authorization/v1/access-token/b2b"
#define BAD_REQUEST "{\"responseCode\":\"4000000\",\"responseMessage\":\"Bad Request\"}"
#define GENERAL_ERROR "{\"responseCode\":\"5000000\",\"responseMessage\":\"General Error\"}"

static char *token_options, *verify_options; /* built once in main() */

/* A growing string: put() appends; failed is set if an allocation fails. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *s2 = realloc(b->s, cap);
        if (!s2) {
            b->failed = 1;
            return;
        }
        b->s = s2, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void put_str(Buf *b, const char *s) { put(b, s, strlen(s)); }

/* s as a JSON string: quotes, backslashes and control characters escaped. */
static void put_json(Buf *b, const char *s, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c), put(b, esc, 2);
        else if (c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c), put(b, esc, 6);
        else put(b, s + i, 1);
    }
    put(b, "\"", 1);
}

/* The end of the JSON value at p. The library wrote the JSON read here, so it is well-formed;
 * this never reads past the terminating NUL all the same. */
static const char *skip_value(const char *p) {
    int depth = 0;
    do {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
        } else if (*p == '{' || *p == '[') {
            depth++, p++;
        } else if (*p == '}' || *p == ']') {
            depth--, p++;
        } else if (depth > 0) {
            p++;
        } else {
            p += strcspn(p, ",}] \t\r\n"); /* a number, true, false or null */
        }
    } while (*p && depth > 0);
    return p;
}

/* The value of member `key` of the JSON object `obj` (its own members, not nested ones), and
 * its length in *len; NULL when there is none. */
static const char *json_get(const char *obj, const char *key, size_t *len) {
    const char *p = obj + strspn(obj, " \t\r\n");
    if (*p++ != '{') return NULL;
    for (;;) {
        p += strspn(p, " \t\r\n,");
        if (*p != '"') return NULL;
        const char *name = p + 1, *name_end = skip_value(p) - 1;
        p = name_end + 1 + strspn(name_end + 1, " \t\r\n");
        if (*p++ != ':') return NULL;
        p += strspn(p, " \t\r\n");
        const char *end = skip_value(p);
        if (end == p) return NULL;
        if ((size_t)(name_end - name) == strlen(key) && memcmp(name, key, strlen(key)) == 0) {
            *len = (size_t)(end - p);
            return p;
        }
        p = end;
    }
}

/* A copy of member `key`'s value (a string's without its quotes), to free(); NULL if absent. */
static char *json_dup(const char *obj, const char *key) {
    size_t len;
    const char *v = json_get(obj, key, &len);
    if (v && *v == '"' && len >= 2) v++, len -= 2;
    return v ? strndup(v, len) : NULL;
}

static int send_all(int conn, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = send(conn, s, n, MSG_NOSIGNAL); /* a client gone is EPIPE, not SIGPIPE */
        if (w <= 0) return -1;
        s += w, n -= (size_t)w;
    }
    return 0;
}

static const char *reason(int status) { return status < 300 ? "OK" : status < 500 ? "Refused" : "Error"; }

static void send_answer(int conn, int status, const char *body, size_t len) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason(status), len);
    if (send_all(conn, head, (size_t)n) == 0) send_all(conn, body, len);
}

/* Sends what the library said to send, {"httpStatus":N,"body":{...}}: a refusal or an answer. */
static void send_json_answer(int conn, const char *json) {
    size_t status_len, body_len;
    const char *status = json_get(json, "httpStatus", &status_len), *body = json_get(json, "body", &body_len);
    if (status && body) send_answer(conn, atoi(status), body, body_len);
    else send_answer(conn, 500, GENERAL_ERROR, strlen(GENERAL_ERROR));
}

/* DOKU's token request: judged by the library, which also writes the exact answer. */
static void token_request(int conn, const char *headers, const char *body, size_t body_len) {
    int status = 0;
    char *answer = NULL;
    DokuStatus st = DOKU_ERR_INVALID_ARGUMENT; /* doku_issue_token() takes the body as a C string */
    if (!memchr(body, '\0', body_len)) st = doku_issue_token(token_options, headers, body, &status, &answer);
    if (st == DOKU_OK) {
        send_answer(conn, status, answer, strlen(answer)); /* a refusal too: 401 4017300, ... */
    } else if (st == DOKU_ERR_INVALID_ARGUMENT) {          /* a NUL in the body, a header that is not UTF-8 */
        send_answer(conn, 400, BAD_REQUEST, strlen(BAD_REQUEST));
    } else { /* a key file gone or broken since the start */
        fprintf(stderr, "doku_issue_token: %s\n", doku_last_error());
        send_answer(conn, 500, GENERAL_ERROR, strlen(GENERAL_ERROR));
    }
    doku_free(answer);
}

/* What the merchant decides about a call the library accepted: doku_merchant_answer()'s
 * result_json (NULL: nothing to add). A demo: every VA is a bill of 10000.00 IDR, except that
 * customer numbers ending in 99 have none; payments are only written to stderr. */
static const char *decide(const char *operation, const char *request) {
    if (strcmp(operation, "inquiry") == 0) {
        size_t len;
        const char *customer = json_get(request, "customerNo", &len); /* a JSON string, quotes included */
        if (customer && len >= 4 && memcmp(customer + len - 3, "99\"", 3) == 0) return "{\"refuse\":\"bill_not_found\"}";
        return "{\"virtualAccountName\":\"Demo Customer\",\"totalAmount\":{\"value\":\"10000.00\",\"currency\":\"IDR\"}}";
    }
    /* Record the payment here, idempotently (DOKU retries a call it got no answer to): by
     * paymentRequestId / trxId for a VA, originalPartnerReferenceNo for a Direct Debit. */
    fprintf(stderr, "%s: %s\n", operation, request);
    return NULL;
}

/* Every other call: the library's verdict, then the merchant's answer. */
static void dokus_call(int conn, const char *method, const char *path, const char *headers, const char *body, size_t body_len) {
    char *verdict = NULL, *answer = NULL;
    DokuStatus st = doku_merchant_verify(verify_options, method, path, headers, body, body_len, &verdict);
    if (st == DOKU_ERR_INVALID_ARGUMENT) { /* a method, path or header that is not UTF-8 */
        send_answer(conn, 400, BAD_REQUEST, strlen(BAD_REQUEST));
        return;
    } else if (st != DOKU_OK) { /* the key file gone or broken since the start */
        fprintf(stderr, "doku_merchant_verify: %s\n", doku_last_error());
        send_answer(conn, 500, GENERAL_ERROR, strlen(GENERAL_ERROR));
        return;
    }
    size_t len;
    const char *accepted = json_get(verdict, "accepted", &len);
    if (!accepted || len != 4 || memcmp(accepted, "true", 4) != 0) {
        send_json_answer(conn, verdict); /* refused: the verdict holds the answer to send */
        doku_free(verdict);
        return;
    }
    char *operation = json_dup(verdict, "operation"), *request = json_dup(verdict, "request");
    doku_free(verdict);
    if (operation && request && doku_merchant_answer(operation, request, decide(operation, request), &answer) == DOKU_OK) {
        send_json_answer(conn, answer);
    } else {
        fprintf(stderr, "doku_merchant_answer: %s\n", operation && request ? doku_last_error() : "out of memory");
        send_answer(conn, 500, GENERAL_ERROR, strlen(GENERAL_ERROR));
    }
    doku_free(answer);
    free(operation), free(request);
}

/* The body's length from the head's Content-Length (0 without one), or the status to refuse
 * the request with. The head ends with "\r\n\r\n". */
static int content_length(const char *head, size_t head_len, size_t *len) {
    *len = 0;
    for (const char *h = head; (h = memmem(h, head_len - (size_t)(h - head), "\r\n", 2)) && (h += 2) < head + head_len - 2;) {
        if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) return 501; /* DOKU sends a Content-Length */
        if (strncasecmp(h, "Content-Length:", 15) != 0) continue;
        const char *v = h + 15 + strspn(h + 15, " \t");
        size_t digits = strspn(v, "0123456789");
        if (digits == 0 || v[digits + strspn(v + digits, " \t")] != '\r') return 400;
        if (digits > 9 || strtoul(v, NULL, 10) > MAX_REQUEST - head_len) return 413;
        *len = strtoul(v, NULL, 10);
    }
    return 0;
}

/* One whole request within REQUEST_SECONDS: each recv() may wait only what is left of it, so a
 * client sending a byte at a time cannot hold this one-connection-at-a-time server longer. */
enum { REQUEST_SECONDS = 10 };
static int wait_at_most_until(int conn, const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    if (ms <= 0) return 0;
    struct timeval left = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &left, sizeof left) == 0;
}

/* Reads one request, its head and its whole body, within MAX_REQUEST bytes; answers it. */
static void serve(int conn) {
    static char req[MAX_REQUEST + 1];
    size_t got = 0, head_len = 0, body_len = 0;
    int refuse = 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += REQUEST_SECONDS;
    while (!refuse && (!head_len || got < head_len + body_len)) {
        if (got == MAX_REQUEST) { /* no end of the head in sight */
            refuse = 413;
            break;
        }
        if (!wait_at_most_until(conn, &deadline)) return; /* its time is up */
        ssize_t n = recv(conn, req + got, MAX_REQUEST - got, 0);
        if (n <= 0) return; /* the client went away, or stalled past its deadline */
        got += (size_t)n;
        char *end = head_len ? NULL : memmem(req, got, "\r\n\r\n", 4);
        if (end) head_len = (size_t)(end + 4 - req), refuse = content_length(req, head_len, &body_len);
    }
    if (refuse) {
        send_answer(conn, refuse, BAD_REQUEST, strlen(BAD_REQUEST));
        return;
    }
    char *body = req + head_len;
    body[body_len] = '\0'; /* for doku_issue_token(); doku_merchant_verify() takes body_len */

    /* "METHOD PATH HTTP/1.1", its parts NUL-terminated in place. */
    char *line_end = memmem(req, head_len, "\r\n", 2), *method = req, *path = NULL, *space;
    *line_end = '\0';
    if ((space = strchr(method, ' '))) *space = '\0', path = space + 1;
    if (path && (space = strchr(path, ' '))) *space = '\0';
    /* Then "Name: value" lines: a JSON object for the library, which finds names in any case. */
    Buf headers = {0};
    put_str(&headers, "{");
    for (char *h = line_end + 2, *eol; h < req + head_len - 2; h = eol + 2) {
        eol = memmem(h, (size_t)(req + head_len - h), "\r\n", 2);
        char *colon = memchr(h, ':', (size_t)(eol - h)), *v_end = eol;
        if (!colon) continue;
        char *v = colon + 1 + strspn(colon + 1, " \t");
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) v_end--;
        put_str(&headers, headers.len > 1 ? "," : "");
        put_json(&headers, h, (size_t)(colon - h));
        put_str(&headers, ":");
        put_json(&headers, v, (size_t)(v_end - v));
    }
    put_str(&headers, "}");
    if (!path || headers.failed) send_answer(conn, 400, BAD_REQUEST, strlen(BAD_REQUEST));
    else if (strcmp(method, "POST") == 0 && strcmp(path, TOKEN_PATH) == 0) token_request(conn, headers.s, body, body_len);
    else dokus_call(conn, method, path, headers.s, body, body_len); /* the body with its exact length */
    free(headers.s);
}

/* An environment variable as a JSON string. */
static void put_env(Buf *b, const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set\n", name);
        exit(2);
    }
    put_json(b, v, strlen(v));
}

int main(void) {
    const char *ttl = getenv("MERCHANT_TOKEN_TTL_S"), *port = getenv("MERCHANT_PORT");
    char *end, ttl_json[64];
    long ttl_s = strtol(ttl ? ttl : "900", &end, 10);
    if (*end) return fprintf(stderr, "MERCHANT_TOKEN_TTL_S is not a number\n"), 2;
    snprintf(ttl_json, sizeof ttl_json, ",\"ttl_s\":%ld}", ttl_s);

    /* The options of doku_issue_token() and doku_merchant_verify(). The library reads the key
     * files on each call and caches the parsed keys. */
    Buf o = {0}, v = {0};
    put_str(&o, "{\"client_id\":"), put_env(&o, "MERCHANT_CLIENT_ID");
    put(&v, o.s, o.len); /* both start with the client id */
    put_str(&o, ",\"doku_public_key_file\":"), put_env(&o, "DOKU_PUBLIC_KEY_FILE");
    put_str(&o, ",\"merchant_private_key_file\":"), put_env(&o, "MERCHANT_PRIVATE_KEY_FILE");
    put_str(&o, ttl_json);
    put_str(&v, ",\"client_secret\":"), put_env(&v, "MERCHANT_CLIENT_SECRET");
    put_str(&v, ",\"merchant_public_key_file\":"), put_env(&v, "MERCHANT_PUBLIC_KEY_FILE");
    put_str(&v, "}");
    if (o.failed || v.failed) return fprintf(stderr, "out of memory\n"), 1;
    token_options = o.s, verify_options = v.s;

    /* Both functions read their options and keys before they look at the request: check them
     * now rather than on DOKU's first call. */
    int status;
    char *out = NULL;
    if (doku_issue_token(token_options, "{}", NULL, &status, &out) != DOKU_OK)
        return fprintf(stderr, "%s\n", doku_last_error()), 2;
    doku_free(out);
    if (doku_merchant_verify(verify_options, "POST", "/", "{}", NULL, 0, &out) != DOKU_OK)
        return fprintf(stderr, "%s\n", doku_last_error()), 2;
    doku_free(out);

    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    addr.sin_port = htons((unsigned short)atoi(port ? port : "0"));
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
        /* One connection at a time: a client gets REQUEST_SECONDS for its whole request (and as
         * long to take the answer), then is dropped. A server for many clients at once would
         * serve each on a thread of its own: the library is thread-safe. */
        struct timeval timeout = {.tv_sec = REQUEST_SECONDS};
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        serve(conn);
        close(conn);
    }
}
