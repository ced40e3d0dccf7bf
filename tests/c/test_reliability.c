/*
 * Reliability through the C ABI (issue 9): fork, proxies from the environment, a token
 * endpoint outage, a framing lie. Run by tests/c_api.rs under valgrind and the sanitizers
 * against an http and an https sandbox.
 *
 * Environment: DOKU_TEST_URL, DOKU_TEST_TLS_URL, DOKU_TEST_CA, DOKU_TEST_CLOSED_URL (nothing
 * listens there), DOKU_TEST_DIR (keys), DOKU_TEST_SLACK_MS.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *VA_PATH = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";

static DokuClient *client_for(const char *url, const char *client_id, const char *extra) {
    char json[4096];
    snprintf(json, sizeof json, "{\"client_id\":\"%s\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\"%s}", client_id,
             env("DOKU_TEST_DIR"), url, extra ? extra : "");
    DokuClient *c = NULL;
    DokuStatus st = doku_client_new(json, &c);
    if (st != DOKU_OK) fprintf(stderr, "doku_client_new: %s\n", doku_last_error());
    CHECK(st == DOKU_OK && c != NULL);
    return c;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void sleep_until(double t_ms) {
    double left = t_ms - now_ms();
    if (left > 0) usleep((useconds_t)(left * 1000));
}

/* A create-VA call whose trxId names the caller; the sandbox echoes it. 1 if the answer is
 * this very request's. */
static int own_answer(DokuClient *c, const char *trx_id) {
    char body[512], want[128], *response = NULL;
    snprintf(body, sizeof body,
             "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"1\",\"virtualAccountNo\":\"  8889941\","
             "\"virtualAccountName\":\"Budi\",\"trxId\":\"%s\",\"totalAmount\":{\"value\":\"10000.00\",\"currency\":\"IDR\"}}",
             trx_id);
    snprintf(want, sizeof want, "\\\"trxId\\\":\\\"%s\\\"", trx_id);
    DokuStatus st = doku_client_request(c, "POST", VA_PATH, body, NULL, &response);
    int ok = st == DOKU_OK && strstr(response, "\"responseCode\":\"2002700\"") && strstr(response, want);
    if (!ok) fprintf(stderr, "[%d] %s: %s\n", (int)getpid(), trx_id, st == DOKU_OK ? response : doku_last_error());
    doku_free(response);
    return ok;
}

/*
 * Regression (item 5): a client used before fork() handed its pooled keep-alive connection to
 * every child; concurrent children then read each other's answers (HTTP) or broke each other's
 * TLS sessions. Each child must get its own answers, and the parent's connection must still
 * work afterwards. The token fetched in the parent is reused by the children.
 */
static void test_fork(const char *url, const char *extra, const char *tag) {
    for (int run = 0; run < 5; run++) {
        DokuClient *c = client_for(url, "c-fork", extra);
        char trx[64];
        snprintf(trx, sizeof trx, "%s-R%d-parent", tag, run);
        CHECK(own_answer(c, trx));
        pid_t kids[4];
        for (int k = 0; k < 4; k++) {
            kids[k] = fork();
            CHECK(kids[k] >= 0);
            if (kids[k] == 0) {
                int ok = 1;
                for (int i = 0; i < 3; i++) {
                    snprintf(trx, sizeof trx, "%s-R%d-K%d-%d", tag, run, k, i);
                    ok &= own_answer(c, trx);
                }
                doku_client_free(c);
                exit(ok ? 0 : 1);
            }
        }
        for (int k = 0; k < 4; k++) {
            int status = 0;
            CHECK(waitpid(kids[k], &status, 0) == kids[k]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "%s run %d: child %d failed (status %d)\n", tag, run, k, status);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        snprintf(trx, sizeof trx, "%s-R%d-parent-after", tag, run);
        CHECK(own_answer(c, trx));
        doku_client_free(c);
    }
}

/* Regression (item 6): with http_proxy set, requests to a loopback base URL went to the
 * proxy, signed headers included. A proxy named in the config is still honoured. */
static void test_no_environment_proxy_for_loopback(const char *url, const char *closed_url) {
    setenv("http_proxy", closed_url, 1);
    setenv("ALL_PROXY", closed_url, 1);
    char extra[64];
    snprintf(extra, sizeof extra, ",\"timeout_ms\":5000");
    DokuClient *c = client_for(url, "c-ok", extra);
    char *tok = NULL;
    CHECK(doku_get_token(c, &tok) == DOKU_OK);
    CHECK(strncmp(tok, "eyJ", 3) == 0);
    doku_free(tok);
    doku_client_free(c);
    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");

    char with_proxy[512];
    snprintf(with_proxy, sizeof with_proxy, ",\"proxy\":\"%s\",\"timeout_ms\":5000", closed_url);
    c = client_for(url, "c-proxied", with_proxy);
    tok = (char *)1;
    CHECK(doku_get_token(c, &tok) == DOKU_ERR_NETWORK && tok == NULL);
    CHECK(strstr(doku_last_error(), "through the proxy") != NULL);
    doku_client_free(c);
}

/*
 * Regression (item 10): c-down's tokens live 8 s and its token endpoint goes down after the
 * first request. During the refresh window (from 4 s) the valid token keeps being served, and
 * doku_token_info names the refresh failure; past the guard before expiry (6 s) the error is
 * returned.
 */
static void test_outage(const char *url, double slack) {
    DokuClient *c = client_for(url, "c-down", ",\"proxy\":\"\",\"timeout_ms\":3000");
    double t0 = now_ms();
    char *first = NULL, *again = NULL, *info = NULL;
    CHECK(doku_get_token(c, &first) == DOKU_OK);
    CHECK(doku_token_info(c, &info) == DOKU_OK);
    CHECK(strstr(info, "refreshError") == NULL);
    doku_free(info);
    sleep_until(t0 + 4500);
    CHECK(doku_get_token(c, &again) == DOKU_OK);
    CHECK(strcmp(first, again) == 0);
    doku_free(again);
    CHECK(doku_token_info(c, &info) == DOKU_OK);
    if (!strstr(info, "\"refreshError\":\"the connection to 127.0.0.1 was closed or reset")) fprintf(stderr, "info: %s\n", info);
    CHECK(strstr(info, "\"refreshError\":\"the connection to 127.0.0.1 was closed or reset") != NULL);
    CHECK(strstr(info, first) != NULL);
    doku_free(info);
    CHECK(now_ms() - t0 < 6000 - 100);
    sleep_until(t0 + 6500 + slack / 4);
    char *tok = (char *)1;
    CHECK(doku_get_token(c, &tok) == DOKU_ERR_NETWORK && tok == NULL);
    CHECK(strstr(doku_last_error(), "closed or reset") != NULL);
    doku_free(first);
    doku_client_free(c);
}

/* Regression (item 4): c-liar's answers are followed by a forged second answer in the same
 * write; it must never answer the next request on the connection. */
static void test_framing_lie(const char *url, const char *extra) {
    DokuClient *c = client_for(url, "c-liar", extra);
    for (int i = 0; i < 3; i++) {
        CHECK(doku_client_invalidate_token(c) == DOKU_OK);
        char *tok = NULL;
        CHECK(doku_get_token(c, &tok) == DOKU_OK);
        if (strncmp(tok, "eyJ", 3) != 0) fprintf(stderr, "forged token accepted: %s\n", tok);
        CHECK(strncmp(tok, "eyJ", 3) == 0);
        doku_free(tok);
    }
    doku_client_free(c);
}

struct setup {
    const char *config;
    DokuStatus status;
};

static void *first_tls_call(void *arg) {
    struct setup *s = arg;
    DokuClient *c = NULL;
    char *tok = NULL;
    s->status = doku_client_new(s->config, &c);
    if (s->status == DOKU_OK) s->status = doku_get_token(c, &tok);
    doku_free(tok);
    doku_client_free(c);
    return NULL;
}

/*
 * Regression (review of item 5): a fork() while another thread set up TLS (loading the trust
 * store takes ~20 ms, under OpenSSL's global locks and the library's own) left the child
 * waiting forever for locks held by a thread it does not have. fork() now waits for such a
 * setup, and OpenSSL is initialized when the library loads. Each round uses a ca_file of new
 * content, so its trust store is loaded afresh, and forks at another moment of it. Both calls
 * aim at a closed port, so that the setup is all they do: the child must get its "cannot
 * connect" (alarm(20) would kill a hung one).
 */
static void test_fork_during_tls_setup(const char *closed_url) {
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's own allocator (GCC 12) is not fork-safe while other threads allocate:
     * a child can hang in its malloc. That is the sanitizer's limit, not the library's, so this
     * case runs natively (under valgrind) only. */
    (void)closed_url;
    return;
#endif
    char *ca = slurp_path(env("DOKU_TEST_CA"));
    char https[256];
    snprintf(https, sizeof https, "https://%s", strstr(closed_url, "://") + 3);
    const int delays_ms[] = {0, 1, 2, 3, 5, 10, 30};
    for (size_t i = 0; i < sizeof delays_ms / sizeof *delays_ms; i++) {
        char path[512], config[2048];
        snprintf(path, sizeof path, "%s/fork-ca-%zu.pem", env("DOKU_TEST_DIR"), i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "# round %zu\n%s\n", i, ca);
        fclose(f);
        snprintf(
            config, sizeof config,
            "{\"client_id\":\"c-ok\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\",\"ca_file\":\"%s\"}",
            env("DOKU_TEST_DIR"), https, path);
        struct setup s = {config, DOKU_ERR_PANIC};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, first_tls_call, &s) == 0);
        usleep((useconds_t)delays_ms[i] * 1000);
        int result[2];
        CHECK(pipe(result) == 0);
        pid_t kid = fork();
        CHECK(kid >= 0);
        if (kid == 0) {
            alarm(20);
            struct setup mine = {config, DOKU_ERR_PANIC};
            first_tls_call(&mine);
            char got = mine.status == DOKU_ERR_NETWORK ? 'y' : 'n';
            CHECK(write(result[1], &got, 1) == 1);
            /* The parent's other thread does not exist here, so what its stack held looks
             * leaked to valgrind; the answer went through the pipe, and no exit-time leak
             * check is wanted. */
            raise(SIGKILL);
        }
        close(result[1]);
        char ok = 0;
        ssize_t got = read(result[0], &ok, 1);
        close(result[0]);
        int status = 0;
        CHECK(waitpid(kid, &status, 0) == kid);
        if (got != 1 || ok != 'y')
            fprintf(stderr, "round %zu (fork after %d ms): the child %s\n", i, delays_ms[i],
                    got != 1 ? (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "hung (killed by its alarm)" : "died")
                             : "got another status");
        CHECK(got == 1 && ok == 'y');
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(s.status == DOKU_ERR_NETWORK);
        unlink(path);
    }
    free(ca);
}

int main(void) {
    const char *url = env("DOKU_TEST_URL"), *tls_url = env("DOKU_TEST_TLS_URL");
    double slack = atof(env("DOKU_TEST_SLACK_MS"));
    char tls_extra[1200], plain_extra[256];
    snprintf(plain_extra, sizeof plain_extra, ",\"proxy\":\"\",\"client_secret\":\"va-secret\",\"channel_id\":\"H2H\"");
    snprintf(tls_extra, sizeof tls_extra,
             ",\"proxy\":\"\",\"ca_file\":\"%s\",\"client_secret\":\"va-secret\",\"channel_id\":\"H2H\"", env("DOKU_TEST_CA"));
    test_fork(url, plain_extra, "HTTP");
    test_fork(tls_url, tls_extra, "TLS");
    test_fork_during_tls_setup(env("DOKU_TEST_CLOSED_URL"));
    test_no_environment_proxy_for_loopback(url, env("DOKU_TEST_CLOSED_URL"));
    test_framing_lie(url, ",\"proxy\":\"\"");
    test_framing_lie(tls_url, tls_extra);
    test_outage(url, slack);
    printf("%d reliability checks passed\n", checks);
    return 0;
}
