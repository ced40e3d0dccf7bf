/*
 * The C API, end to end, against a real doku-sandbox on loopback. Run by tests/c_api.rs, which
 * starts the sandboxes, prepares keys and expected signatures with the openssl CLI, runs this
 * program under valgrind, and then checks the sandbox's request counts.
 *
 * Environment: DOKU_TEST_URL (http sandbox), DOKU_TEST_TLS_URL + DOKU_TEST_CA (https sandbox),
 * DOKU_TEST_CLOSED_URL (nothing listens), DOKU_TEST_EXPIRED_URL + DOKU_TEST_EXPIRED_CA (an expired
 * certificate), DOKU_TEST_HANGUP_URL (hangs up mid-handshake), DOKU_TEST_DIR (keys and expected signatures),
 * DOKU_TEST_SLACK_MS (extra time allowed under valgrind).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Test hooks, exported only by builds with the `test-hooks` feature; not in doku.h. */
DokuStatus doku_test_hook(int what);

static char *key_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", env("DOKU_TEST_DIR"), name);
    return path;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Builds a config JSON; extra is appended inside the object (starting with a comma). */
static char *config(const char *url, const char *client_id, const char *extra) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\"%s}",
             client_id, key_path("pkcs8.pem"), url, extra ? extra : "");
    return buf;
}

static DokuClient *client_for(const char *url, const char *client_id, const char *extra) {
    DokuClient *c = (DokuClient *)1;
    DokuStatus st = doku_client_new(config(url, client_id, extra), &c);
    if (st != DOKU_OK) {
        fprintf(stderr, "doku_client_new(%s) failed: %s: %s\n", client_id, doku_status_name(st), doku_last_error());
        exit(1);
    }
    CHECK(c != NULL);
    return c;
}

static const char *secrets[8];
static int n_secrets;

/* No message may contain key material, a passphrase or a token. */
static void check_no_secret(const char *message) {
    for (int i = 0; i < n_secrets; i++) CHECK(strstr(message, secrets[i]) == NULL);
}

/* Asserts a failed get_token: status, message fragment, response code, NULL out-param. label
 * names the case in the diagnostics. */
static void expect_token_failure(const char *label, DokuClient *c, DokuStatus want, const char *fragment, const char *code) {
    char *tok = (char *)1;
    DokuStatus st = doku_get_token(c, &tok);
    if (st != want)
        fprintf(stderr, "%s: got %s (%s), want %s\n", label, doku_status_name(st), doku_last_error(), doku_status_name(want));
    CHECK(st == want);
    CHECK(tok == NULL);
    if (!strstr(doku_last_error(), fragment))
        fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", label, doku_last_error(), fragment);
    CHECK(strstr(doku_last_error(), fragment) != NULL);
    if (strcmp(doku_last_response_code(), code) != 0)
        fprintf(stderr, "%s: response code \"%s\", want \"%s\"\n", label, doku_last_response_code(), code);
    CHECK(strcmp(doku_last_response_code(), code) == 0);
    check_no_secret(doku_last_error());
}

/* expiresIn counts down from 900; valgrind makes a fetch take seconds. */
static int fresh_expires_in(const char *info) {
    const char *p = strstr(info, "\"expiresIn\":");
    long v = p ? strtol(p + 12, NULL, 10) : -1;
    if (v < 880 || v > 900) fprintf(stderr, "expiresIn %ld in %s\n", v, info);
    return v >= 880 && v <= 900;
}

static void test_version(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", DOKU_VERSION_MAJOR, DOKU_VERSION_MINOR, DOKU_VERSION_PATCH);
    CHECK(strcmp(doku_version(), DOKU_VERSION) == 0);
    CHECK(strcmp(want, DOKU_VERSION) == 0);
    printf("version %s\n", doku_version());
}

static void test_status_names_and_errors(void) {
    CHECK(doku_last_error() != NULL && strcmp(doku_last_error(), "") == 0);
    CHECK(strcmp(doku_last_response_code(), "") == 0);
    CHECK(strcmp(doku_status_name(DOKU_OK), "DOKU_OK") == 0);
    CHECK(strcmp(doku_status_name(DOKU_ERR_SIGNATURE_INVALID), "DOKU_ERR_SIGNATURE_INVALID") == 0);
    CHECK(strcmp(doku_status_name(DOKU_ERR_OUTCOME_UNKNOWN), "DOKU_ERR_OUTCOME_UNKNOWN") == 0);
    CHECK(strcmp(doku_status_name(DOKU_ERR_PANIC), "DOKU_ERR_PANIC") == 0);
    CHECK(strcmp(doku_status_name(12), "DOKU_UNKNOWN_STATUS") == 0);
    CHECK(strcmp(doku_status_name(-7), "DOKU_UNKNOWN_STATUS") == 0);
    /* The fixed values bindings depend on. */
    CHECK(DOKU_ERR_NULL_ARGUMENT == 1 && DOKU_ERR_INVALID_ARGUMENT == 2 && DOKU_ERR_KEY == 3);
    CHECK(DOKU_ERR_CRYPTO == 4 && DOKU_ERR_NETWORK == 5 && DOKU_ERR_TIMEOUT == 6 && DOKU_ERR_TLS == 7);
    CHECK(DOKU_ERR_API == 8 && DOKU_ERR_PROTOCOL == 9 && DOKU_ERR_SIGNATURE_INVALID == 10 && DOKU_ERR_OUTCOME_UNKNOWN == 11);
    CHECK(DOKU_ERR_PANIC == 99);
}

static void test_free_null(void) {
    doku_free(NULL);
    doku_client_free(NULL);
}

static void test_hooks(void) {
    /* A panic inside the library becomes a status, not an abort. */
    CHECK(doku_test_hook(0) == DOKU_ERR_PANIC);
    CHECK(strstr(doku_last_error(), "panic") != NULL);
    /* Statuses no input can provoke (OpenSSL failing on a valid key) still map and report. */
    CHECK(doku_test_hook(DOKU_ERR_CRYPTO) == DOKU_ERR_CRYPTO);
    CHECK(strstr(doku_last_error(), "test hook") != NULL);
    /* The next call clears the error. */
    char *ts = NULL;
    CHECK(doku_timestamp(&ts) == DOKU_OK);
    CHECK(strcmp(doku_last_error(), "") == 0);
    doku_free(ts);
}

static void test_timestamp(void) {
    char *ts = NULL;
    CHECK(doku_timestamp(&ts) == DOKU_OK);
    CHECK(ts != NULL && strlen(ts) == 20);
    CHECK(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':' && ts[19] == 'Z');
    doku_free(ts);
    CHECK(doku_timestamp(NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(strstr(doku_last_error(), "timestamp_out is NULL") != NULL);
}

static void expect_sign(const char *key_file, const char *expected_file) {
    char *key = slurp(key_file);
    char *want = slurp(expected_file);
    char *sig = NULL;
    CHECK(doku_sign("MCH-TEST", "2020-09-22T01:51:00Z", key, &sig) == DOKU_OK);
    if (strcmp(sig, want) != 0) fprintf(stderr, "%s: got %s\nwant %s\n", key_file, sig, want);
    CHECK(strcmp(sig, want) == 0);
    doku_free(sig);
    free(key);
    free(want);
}

static void expect_sign_failure(const char *id, const char *ts, const char *key, DokuStatus want, const char *fragment) {
    char *sig = (char *)1;
    DokuStatus st = doku_sign(id, ts, key, &sig);
    if (st != want) fprintf(stderr, "sign: got %s (%s)\n", doku_status_name(st), doku_last_error());
    CHECK(st == want);
    CHECK(sig == NULL);
    if (!strstr(doku_last_error(), fragment)) fprintf(stderr, "message \"%s\" lacks \"%s\"\n", doku_last_error(), fragment);
    CHECK(strstr(doku_last_error(), fragment) != NULL);
    check_no_secret(doku_last_error());
}

static void test_sign(void) {
    /* Byte-identical to `openssl dgst -sha256 -sign` for every key format. */
    expect_sign("pkcs8.pem", "expected.sig");
    expect_sign("pkcs1.pem", "expected.sig");
    expect_sign("bare.b64", "expected.sig");
    /* Repeated calls hit the parsed-key cache and give the same answer. */
    expect_sign("pkcs8.pem", "expected.sig");

    char *key = slurp("pkcs8.pem");
    char *truncated = strdup(key);
    truncated[strlen(truncated) / 2] = '\0';
    const char bad_utf8[] = {'M', (char)0xC3, (char)0x28, 0};
    expect_sign_failure(NULL, "t", key, DOKU_ERR_NULL_ARGUMENT, "client_id is NULL");
    expect_sign_failure("id", NULL, key, DOKU_ERR_NULL_ARGUMENT, "timestamp is NULL");
    expect_sign_failure("id", "t", NULL, DOKU_ERR_NULL_ARGUMENT, "private_key is NULL");
    CHECK(doku_sign("id", "t", key, NULL) == DOKU_ERR_NULL_ARGUMENT);
    expect_sign_failure(bad_utf8, "t", key, DOKU_ERR_INVALID_ARGUMENT, "client_id is not valid UTF-8");
    expect_sign_failure("id", bad_utf8, key, DOKU_ERR_INVALID_ARGUMENT, "timestamp is not valid UTF-8");
    expect_sign_failure("id", "t", bad_utf8, DOKU_ERR_INVALID_ARGUMENT, "private_key is not valid UTF-8");
    expect_sign_failure("", "t", key, DOKU_ERR_INVALID_ARGUMENT, "client_id is empty");
    expect_sign_failure("id", "", key, DOKU_ERR_INVALID_ARGUMENT, "timestamp is empty");
    expect_sign_failure("id", "t", "", DOKU_ERR_KEY, "empty");
    expect_sign_failure("id", "t", truncated, DOKU_ERR_KEY, "truncated");
    expect_sign_failure("id", "t", "hello", DOKU_ERR_KEY, "neither PEM");

    char *ec = slurp("ec.pem"), *small = slurp("rsa1024.pem"), *enc = slurp("encrypted.pem"), *pub = slurp("public.pem");
    expect_sign_failure("id", "t", ec, DOKU_ERR_KEY, "not an RSA private key");
    expect_sign_failure("id", "t", small, DOKU_ERR_KEY, "1024 bits is too short");
    expect_sign_failure("id", "t", enc, DOKU_ERR_KEY, "encrypted (ENCRYPTED PRIVATE KEY) and no passphrase was given");
    expect_sign_failure("id", "t", pub, DOKU_ERR_KEY, "got a public key");
    free(ec), free(small), free(enc), free(pub), free(truncated), free(key);
}

static void expect_new_failure(const char *json, DokuStatus want, const char *fragment) {
    DokuClient *c = (DokuClient *)1;
    DokuStatus st = doku_client_new(json, &c);
    if (st != want) fprintf(stderr, "client_new: got %s (%s) for %s\n", doku_status_name(st), doku_last_error(), json);
    CHECK(st == want);
    CHECK(c == NULL);
    if (!strstr(doku_last_error(), fragment)) fprintf(stderr, "message \"%s\" lacks \"%s\"\n", doku_last_error(), fragment);
    CHECK(strstr(doku_last_error(), fragment) != NULL);
    check_no_secret(doku_last_error());
}

static void test_client_new(const char *url) {
    char json[4096];
    DokuClient *c = NULL;
    CHECK(doku_client_new(NULL, &c) == DOKU_ERR_NULL_ARGUMENT && c == NULL);
    CHECK(doku_client_new("{}", NULL) == DOKU_ERR_NULL_ARGUMENT);
    expect_new_failure("{not json", DOKU_ERR_INVALID_ARGUMENT, "not valid JSON");
    expect_new_failure("{\"client_id\":\"a\",\"colour\":1}", DOKU_ERR_INVALID_ARGUMENT, "unknown key \"colour\"");
    expect_new_failure(config(url, "a", ",\"timeout_ms\":-5"), DOKU_ERR_INVALID_ARGUMENT, "timeout_ms");
    expect_new_failure(config("http://api.doku.com", "a", NULL), DOKU_ERR_INVALID_ARGUMENT, "only for loopback");
    expect_new_failure(config(url, "a\\r\\nX-Evil: 1", NULL), DOKU_ERR_INVALID_ARGUMENT, "CR, LF or NUL");
    const char bad_utf8[] = {'{', '"', (char)0xFF, '"', ':', '1', '}', 0};
    expect_new_failure(bad_utf8, DOKU_ERR_INVALID_ARGUMENT, "config_json is not valid UTF-8");
    expect_new_failure("{\"client_id\":\"a\",\"private_key_file\":\"/nonexistent/key.pem\"}", DOKU_ERR_KEY,
                       "/nonexistent/key.pem");
    snprintf(json, sizeof json, "{\"client_id\":\"a\",\"private_key_file\":\"%s\",\"private_key_passphrase\":\"wrong-horse\"}",
             key_path("encrypted.pem"));
    expect_new_failure(json, DOKU_ERR_KEY, "wrong passphrase");
    CHECK(strstr(doku_last_error(), "wrong-horse") == NULL);
    snprintf(json, sizeof json, "{\"client_id\":\"a\",\"private_key_file\":\"%s\"}", key_path("ec.pem"));
    expect_new_failure(json, DOKU_ERR_KEY, "not an RSA private key");
}

static void test_tokens(const char *url) {
    /* Two clients with the same settings share one cached token, even across free. */
    DokuClient *a = client_for(url, "c-ok", NULL);
    char *t1 = NULL, *t2 = NULL, *t3 = NULL, *info = NULL;
    CHECK(doku_get_token(a, &t1) == DOKU_OK);
    CHECK(strncmp(t1, "eyJ", 3) == 0);
    secrets[n_secrets++] = strdup(t1);
    doku_client_free(a);
    DokuClient *b = client_for(url, "c-ok", ",\"timeout_ms\":5000");
    CHECK(doku_get_token(b, &t2) == DOKU_OK);
    CHECK(strcmp(t1, t2) == 0);

    CHECK(doku_token_info(b, &info) == DOKU_OK);
    CHECK(strstr(info, "\"accessToken\":\"") != NULL && strstr(info, t1) != NULL);
    CHECK(strstr(info, "\"tokenType\":\"Bearer\"") != NULL);
    CHECK(fresh_expires_in(info));
    CHECK(strstr(info, "\"expiresAt\":\"20") != NULL);
    doku_free(info);

    /* Invalidate: the next call fetches a new token (a second request to the sandbox). */
    CHECK(doku_client_invalidate_token(b) == DOKU_OK);
    CHECK(doku_get_token(b, &t3) == DOKU_OK);
    CHECK(strcmp(t3, t1) != 0);
    secrets[n_secrets++] = strdup(t3);

    char *out = (char *)1;
    CHECK(doku_get_token(NULL, &out) == DOKU_ERR_NULL_ARGUMENT && out == NULL);
    CHECK(strstr(doku_last_error(), "client is NULL") != NULL);
    CHECK(doku_get_token(b, NULL) == DOKU_ERR_NULL_ARGUMENT);
    out = (char *)1;
    CHECK(doku_token_info(NULL, &out) == DOKU_ERR_NULL_ARGUMENT && out == NULL);
    CHECK(doku_token_info(b, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_client_invalidate_token(NULL) == DOKU_ERR_NULL_ARGUMENT);
    doku_free(t1), doku_free(t2), doku_free(t3);
    doku_client_free(b);

    /* Every key format works against the server, which verifies with the public key. */
    char json[4096];
    char *pkcs1 = slurp("pkcs1.pem");
    const char *formats[][2] = {
        {"pkcs1.pem", ""}, {"bare.b64", ""}, {"encrypted.pem", ",\"private_key_passphrase\":\"test-pass\""}};
    for (int i = 0; i < 3; i++) {
        snprintf(json, sizeof json,
                 "{\"client_id\":\"c-format-%d\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\"%s}", i,
                 key_path(formats[i][0]), url, formats[i][1]);
        DokuClient *c = NULL;
        CHECK(doku_client_new(json, &c) == DOKU_OK);
        char *t = NULL;
        CHECK(doku_get_token(c, &t) == DOKU_OK);
        doku_free(t);
        doku_client_free(c);
    }
    free(pkcs1);

    /* WIB timestamps (+07:00) are accepted as well. */
    DokuClient *wib = client_for(url, "c-wib", ",\"timestamp_offset\":\"+07:00\"");
    char *t = NULL;
    CHECK(doku_get_token(wib, &t) == DOKU_OK);
    doku_free(t);
    doku_client_free(wib);

    /* expiresIn as a string is accepted. */
    DokuClient *es = client_for(url, "c-expstr", NULL);
    CHECK(doku_token_info(es, &info) == DOKU_OK);
    CHECK(fresh_expires_in(info));
    doku_free(info);
    doku_client_free(es);
}

static void test_refresh(const char *url) {
    /* 20 s tokens: the 60 s margin is capped at half the lifetime, so after 10 s it refreshes
     * (a short lifetime, but long enough for valgrind on a loaded machine). */
    DokuClient *c = client_for(url, "c-ttl", NULL);
    char *a = NULL, *b = NULL, *d = NULL;
    CHECK(doku_get_token(c, &a) == DOKU_OK);
    CHECK(doku_get_token(c, &b) == DOKU_OK);
    CHECK(strcmp(a, b) == 0);
    sleep(10);
    usleep(300 * 1000);
    CHECK(doku_get_token(c, &d) == DOKU_OK);
    CHECK(strcmp(a, d) != 0);
    doku_free(a), doku_free(b), doku_free(d);
    doku_client_free(c);
}

/* A client whose first get_token must fail: with this status, message and response code, within
 * its timeout_ms + 1 s (plus the valgrind slack). */
struct token_fault {
    const char *url;
    const char *client_id; /* the sandbox's behaviour for this client (tests/c_api.rs) */
    const char *extra;     /* config keys after config()'s, starting with a comma; or NULL */
    int timeout_ms;        /* sent as timeout_ms; 0: not sent, the default 30000 ms applies */
    DokuStatus status;
    const char *fragment; /* in doku_last_error() */
    const char *code;     /* doku_last_response_code(): DOKU's responseCode, or "" */
};

static void test_failures(const char *url, const char *tls_url, const char *ca, const char *closed_url, double slack) {
    /* The expired certificate comes from a trusted CA; the hangup server hangs up mid-handshake.
     * These are this program's first TLS handshakes, the first with the ca_file and the second
     * with the system's trust store, which valgrind makes slow (it translates OpenSSL's code on
     * first use; the second took 1.1 to 1.5 s on a loaded machine): 5 s each, so that only the
     * certificate or the hangup can fail them. A client that hung would still fail with
     * DOKU_ERR_TIMEOUT, not DOKU_ERR_TLS. */
    char expired_ca[1200];
    snprintf(expired_ca, sizeof expired_ca, ",\"ca_file\":\"%s\"", env("DOKU_TEST_EXPIRED_CA"));
    const struct token_fault faults[] = {
        {url, "c-unknown", NULL, 0, DOKU_ERR_API, "DOKU answered HTTP 401 with 4017300: Unauthorized. Unknown Client", "4017300"},
        {url, "c-badsig", NULL, 0, DOKU_ERR_API, "Invalid Signature", "4017300"},
        {url, "c-clock", NULL, 0, DOKU_ERR_API, "s ahead of this machine's (offset +", "4017300"},
        {url, "c-error200", NULL, 0, DOKU_ERR_API, "DOKU answered HTTP 200 with 5007300", "5007300"},
        {url, "c-http500", NULL, 0, DOKU_ERR_PROTOCOL, "HTTP 500", ""},
        {url, "c-badjson", NULL, 0, DOKU_ERR_PROTOCOL, "not JSON", ""},
        {url, "c-notoken", NULL, 0, DOKU_ERR_PROTOCOL, "no accessToken", ""},
        {url, "c-huge", NULL, 0, DOKU_ERR_PROTOCOL, "over 1 MiB", ""},
        {url, "c-reset", NULL, 0, DOKU_ERR_NETWORK, "closed or reset", ""},
        {closed_url, "c-ok", NULL, 0, DOKU_ERR_NETWORK, "cannot connect to 127.0.0.1", ""},
        {url, "c-delay", NULL, 500, DOKU_ERR_TIMEOUT, "timed out", ""},
        {url, "c-stall", NULL, 700, DOKU_ERR_TIMEOUT, "timed out", ""},
        {env("DOKU_TEST_EXPIRED_URL"), "c-ok", expired_ca, 5000, DOKU_ERR_TLS, "certificate has expired", ""},
        {env("DOKU_TEST_HANGUP_URL"), "c-ok", NULL, 5000, DOKU_ERR_TLS, "TLS handshake with 127.0.0.1 failed", ""},
        /* Untrusted without the sandbox CA (with it, below, it works). */
        {tls_url, "c-ok", NULL, 0, DOKU_ERR_TLS, "TLS handshake with localhost failed", ""},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        const struct token_fault *f = &faults[i];
        char label[1400], extra[1400];
        snprintf(label, sizeof label, "%s at %s", f->client_id, f->url);
        char timeout[32] = "";
        if (f->timeout_ms) snprintf(timeout, sizeof timeout, ",\"timeout_ms\":%d", f->timeout_ms);
        snprintf(extra, sizeof extra, "%s%s", f->extra ? f->extra : "", timeout);
        double t0 = now_ms();
        DokuClient *c = client_for(f->url, f->client_id, extra);
        expect_token_failure(label, c, f->status, f->fragment, f->code);
        double elapsed = now_ms() - t0, bound = (f->timeout_ms ? f->timeout_ms : 30000) + 1000 + slack;
        if (elapsed >= bound) fprintf(stderr, "%s: failed after %.0f ms, allowed %.0f ms\n", label, elapsed, bound);
        CHECK(elapsed < bound);
        /* The next successful doku_* call clears both details. */
        char *ts = NULL;
        CHECK(doku_timestamp(&ts) == DOKU_OK);
        doku_free(ts);
        CHECK(strcmp(doku_last_error(), "") == 0 && strcmp(doku_last_response_code(), "") == 0);
        doku_client_free(c);
    }

    /* A delay under the timeout is no failure. */
    DokuClient *c = client_for(url, "c-quick", ",\"timeout_ms\":3000");
    char *quick = NULL;
    CHECK(doku_get_token(c, &quick) == DOKU_OK);
    doku_free(quick);
    doku_client_free(c);

    /* TLS with the sandbox CA. */
    char extra[1200];
    snprintf(extra, sizeof extra, ",\"ca_file\":\"%s\"", ca);
    c = client_for(tls_url, "c-ok", extra);
    char *tok = NULL;
    CHECK(doku_get_token(c, &tok) == DOKU_OK);
    CHECK(strncmp(tok, "eyJ", 3) == 0);
    doku_free(tok);
    doku_client_free(c);
}

struct stampede {
    DokuClient *client;
    pthread_barrier_t *barrier;
    DokuStatus status;
    char *token;
};

static void *stampede_thread(void *arg) {
    struct stampede *s = arg;
    pthread_barrier_wait(s->barrier);
    s->status = doku_get_token(s->client, &s->token);
    return NULL;
}

static void test_stampede(const char *url) {
    /* 32 threads on a cold client: one HTTP request (the harness counts it), one token. */
    enum { N = 32 };
    DokuClient *c = client_for(url, "c-stampede", NULL);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, N);
    pthread_t threads[N];
    struct stampede s[N];
    for (int i = 0; i < N; i++) {
        s[i] = (struct stampede){c, &barrier, DOKU_ERR_PANIC, NULL};
        CHECK(pthread_create(&threads[i], NULL, stampede_thread, &s[i]) == 0);
    }
    for (int i = 0; i < N; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < N; i++) {
        CHECK(s[i].status == DOKU_OK);
        CHECK(strcmp(s[i].token, s[0].token) == 0);
    }
    for (int i = 0; i < N; i++) doku_free(s[i].token);
    pthread_barrier_destroy(&barrier);
    doku_client_free(c);
}

static void *failing_thread(void *arg) {
    (void)arg;
    char *sig = NULL;
    doku_sign("id", "t", "not a key", &sig);
    return strdup(doku_last_error());
}

static void test_thread_local_errors(void) {
    char *ts = NULL;
    CHECK(doku_timestamp(&ts) == DOKU_OK);
    doku_free(ts);
    pthread_t t;
    void *msg = NULL;
    CHECK(pthread_create(&t, NULL, failing_thread, NULL) == 0);
    pthread_join(t, &msg);
    CHECK(strstr(msg, "neither PEM") != NULL);
    CHECK(strcmp(doku_last_error(), "") == 0);
    free(msg);
}

int main(void) {
    const char *url = env("DOKU_TEST_URL");
    double slack = atof(env("DOKU_TEST_SLACK_MS"));
    char *key = slurp("pkcs8.pem");
    /* 40 characters from the fourth line of the key body: never in any message. */
    char *line = key;
    for (int i = 0; i < 4; i++) line = strchr(line, '\n') + 1;
    secrets[n_secrets++] = strndup(line, 40);
    secrets[n_secrets++] = "test-pass";
    free(key);

    test_version();
    test_status_names_and_errors();
    test_free_null();
    test_hooks();
    test_timestamp();
    test_sign();
    test_client_new(url);
    test_tokens(url);
    test_refresh(url);
    test_failures(url, env("DOKU_TEST_TLS_URL"), env("DOKU_TEST_CA"), env("DOKU_TEST_CLOSED_URL"), slack);
    test_stampede(url);
    test_thread_local_errors();

    free((void *)secrets[0]);
    for (int i = 2; i < n_secrets; i++) free((void *)secrets[i]);
    printf("ok: %d checks passed\n", checks);
    return 0;
}
