/*
 * The log callback and the stats through the C ABI (issue 11, "Observability"), against the
 * http sandbox: the events of a fetch, a cached call, a failed fetch, a refused clock, a stale
 * token served during an outage; the stats JSON after each; the callback on the calling thread,
 * calling back into the library without deadlock and without touching the caller's
 * doku_last_error(); level filtering; removal; replacement while another thread runs it; fork.
 * Run by tests/c_api.rs under valgrind and the sanitizers.
 *
 * Environment: DOKU_TEST_URL, DOKU_TEST_DIR (keys).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_EVENTS 32

struct event {
    DokuLogLevel level;
    char name[64];
    char message[1024];
    int on_caller; /* pthread_equal(the callback's thread, the thread that made the call) */
};

/* What the callback records; user_data points to it. */
struct log {
    pthread_mutex_t lock;
    pthread_t caller; /* the thread expected to run the callback */
    int count;
    struct event events[MAX_EVENTS];
    DokuClient *reenter; /* if set: the callback calls back into the library with it */
    int reentered;       /* those calls' outcome: 1 if every one went as expected */
};

static struct log log_ = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void record(void *user_data, DokuLogLevel level, const char *event, const char *message) {
    struct log *l = user_data;
    CHECK(l == &log_);
    CHECK(event != NULL && message != NULL);
    /* Inside the callback, the caller's error details are set aside. */
    CHECK(strcmp(doku_last_error(), "") == 0);
    pthread_mutex_lock(&l->lock);
    if (l->count < MAX_EVENTS) {
        struct event *e = &l->events[l->count++];
        e->level = level;
        snprintf(e->name, sizeof e->name, "%s", event);
        snprintf(e->message, sizeof e->message, "%s", message);
        e->on_caller = pthread_equal(pthread_self(), l->caller);
    }
    DokuClient *again = l->reenter;
    pthread_mutex_unlock(&l->lock);
    if (again) {
        /* Back into the library from the callback: the same client (its refresh has landed:
         * the token is cached, no wait, no new request), and a call that fails (its error
         * must not reach the caller's doku_last_error()). */
        char *tok = NULL, *none = (char *)1;
        int ok = doku_get_token(again, &tok) == DOKU_OK && strncmp(tok, "eyJ", 3) == 0;
        doku_free(tok);
        DokuClient *bad = (DokuClient *)1;
        ok &= doku_client_new("{\"nested\":", &bad) == DOKU_ERR_INVALID_ARGUMENT && bad == NULL;
        ok &= doku_token_info(NULL, &none) == DOKU_ERR_NULL_ARGUMENT && none == NULL;
        pthread_mutex_lock(&l->lock);
        l->reentered = ok;
        pthread_mutex_unlock(&l->lock);
    }
}

static void reset(pthread_t caller) {
    pthread_mutex_lock(&log_.lock);
    log_.count = 0;
    log_.caller = caller;
    log_.reenter = NULL;
    log_.reentered = 0;
    pthread_mutex_unlock(&log_.lock);
}

static DokuClient *client_for(const char *client_id) {
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"client_id\":\"%s\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\",\"timeout_ms\":5000}",
        client_id, env("DOKU_TEST_DIR"), env("DOKU_TEST_URL"));
    DokuClient *c = NULL;
    CHECK(doku_client_new(json, &c) == DOKU_OK && c != NULL);
    return c;
}

static char *stats(DokuClient *c) {
    char *json = NULL;
    CHECK(doku_client_stats(c, &json) == DOKU_OK && json != NULL);
    return json;
}

/* The stats JSON is exactly `prefix` + a number of milliseconds + `suffix`, where the
 * milliseconds follow "lastFetchMs": (that number varies). */
static void check_stats(DokuClient *c, const char *prefix, const char *suffix) {
    char *json = stats(c);
    size_t n = strlen(prefix);
    int ok = strncmp(json, prefix, n) == 0;
    char *end = NULL;
    double ms = ok ? strtod(json + n, &end) : -1;
    ok = ok && end != json + n && ms > 0 && strcmp(end, suffix) == 0;
    if (!ok) fprintf(stderr, "stats: %s\n  want: %s<ms>%s\n", json, prefix, suffix);
    CHECK(ok);
    doku_free(json);
}

static void expect_event(int i, DokuLogLevel level, const char *name, const char *message_start) {
    struct event *e = &log_.events[i];
    if (e->level != level || strcmp(e->name, name) != 0 || strncmp(e->message, message_start, strlen(message_start)) != 0)
        fprintf(stderr, "event %d: level %d, %s: %s\n  want: level %d, %s: %s...\n", i, (int)e->level, e->name, e->message,
                (int)level, name, message_start);
    CHECK(e->level == level && strcmp(e->name, name) == 0 && strncmp(e->message, message_start, strlen(message_start)) == 0);
    CHECK(e->on_caller);
}

static const char *ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0 ? s + a - b : NULL;
}

/* A fetch, then the cached path; the stats after each; the callback re-entering the library. */
static void test_fetch_and_cached_path(void) {
    DokuClient *c = client_for("c-log");
    char *first = stats(c);
    CHECK(strcmp(first,
                 "{\"inProcessHits\":0,\"storeHits\":0,\"fetches\":0,\"fetchFailures\":0,\"storeErrors\":0,"
                 "\"lastFetchMs\":null,\"lastStoreError\":null}") == 0);
    doku_free(first);

    reset(pthread_self());
    log_.reenter = c;
    char *tok = NULL;
    CHECK(doku_get_token(c, &tok) == DOKU_OK && strncmp(tok, "eyJ", 3) == 0);
    CHECK(log_.count == 1);
    expect_event(0, DOKU_LOG_INFO, "token_fetched", "token fetched from DOKU by this process in ");
    CHECK(ends_with(log_.events[0].message, " ms, expiresIn 900 s"));
    CHECK(strstr(log_.events[0].message, tok) == NULL);
    CHECK(log_.reentered == 1);
    /* The callback's failing calls left no trace in the caller's details: its call succeeded. */
    CHECK(strcmp(doku_last_error(), "") == 0 && strcmp(doku_last_response_code(), "") == 0);
    /* The re-entrant doku_get_token was served from the cache: one hit already. */
    check_stats(c, "{\"inProcessHits\":1,\"storeHits\":0,\"fetches\":1,\"fetchFailures\":0,\"storeErrors\":0,\"lastFetchMs\":",
                ",\"lastStoreError\":null}");

    /* The cached path raises nothing and counts each call. */
    reset(pthread_self());
    for (int i = 0; i < 1000; i++) {
        char *again = NULL;
        CHECK(doku_get_token(c, &again) == DOKU_OK && strcmp(again, tok) == 0);
        doku_free(again);
    }
    CHECK(log_.count == 0);
    check_stats(c, "{\"inProcessHits\":1001,\"storeHits\":0,\"fetches\":1,\"fetchFailures\":0,\"storeErrors\":0,\"lastFetchMs\":",
                ",\"lastStoreError\":null}");
    /* A second client of the same key shares the entry and its counters. */
    DokuClient *twin = client_for("c-log");
    char *shared = stats(twin);
    CHECK(strncmp(shared, "{\"inProcessHits\":1001,\"storeHits\":0,\"fetches\":1,", 48) == 0);
    doku_free(shared);
    doku_client_free(twin);
    doku_free(tok);
    doku_client_free(c);
}

/* A failed fetch: ERROR with the failure's message; the caller's doku_last_error() is the
 * failure's although the callback made failing calls of its own. */
static void test_failed_fetch(void) {
    DokuClient *ok_client = client_for("c-log");
    DokuClient *c = client_for("c-log-fail");
    reset(pthread_self());
    log_.reenter = ok_client;
    char *tok = (char *)1;
    CHECK(doku_get_token(c, &tok) == DOKU_ERR_PROTOCOL && tok == NULL);
    const char *error = doku_last_error();
    CHECK(strncmp(error, "DOKU answered HTTP 500", 22) == 0);
    CHECK(strcmp(doku_last_response_code(), "") == 0);
    CHECK(log_.count == 1 && log_.reentered == 1);
    expect_event(0, DOKU_LOG_ERROR, "token_fetch_failed", "token request failed after ");
    const char *tail = strstr(log_.events[0].message, " ms: ");
    CHECK(tail && strcmp(tail + 5, error) == 0);
    check_stats(c, "{\"inProcessHits\":0,\"storeHits\":0,\"fetches\":0,\"fetchFailures\":1,\"storeErrors\":0,\"lastFetchMs\":",
                ",\"lastStoreError\":null}");
    doku_client_free(c);
    doku_client_free(ok_client);
}

/* DOKU's clock 600 s ahead: the refusal raises clock_skew, then the failed fetch. */
static void test_clock_skew(void) {
    DokuClient *c = client_for("c-log-clock");
    reset(pthread_self());
    char *tok = (char *)1;
    CHECK(doku_get_token(c, &tok) == DOKU_ERR_API && tok == NULL);
    CHECK(log_.count == 2);
    expect_event(0, DOKU_LOG_WARN, "clock_skew", "DOKU's clock is ");
    /* 600 s, give or take the second the Date header rounds to. */
    int skew = 0, offset = 0, code = 0;
    CHECK(sscanf(log_.events[0].message, "DOKU's clock is %d s ahead of this machine's (offset +%d s) on a refused request (%d)",
                 &skew, &offset, &code) == 3);
    CHECK(skew >= 599 && skew <= 601 && offset == skew && code == atoi(doku_last_response_code()));
    CHECK(ends_with(log_.events[0].message, "): check the system clock (NTP)"));
    expect_event(1, DOKU_LOG_ERROR, "token_fetch_failed", "token request failed after ");
    CHECK(strstr(log_.events[1].message, " s ahead of this machine's") != NULL);
    doku_client_free(c);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* An 8 s token, then the token endpoint goes down: past the refresh point (4 s) the refresh
 * fails, and the still-valid token is served: token_fetch_failed, then stale_token_served. */
static void test_stale_token_served(void) {
    DokuClient *c = client_for("c-log-down");
    reset(pthread_self());
    double start = now_ms();
    char *tok = NULL, *again = NULL;
    CHECK(doku_get_token(c, &tok) == DOKU_OK);
    CHECK(log_.count == 1);
    expect_event(0, DOKU_LOG_INFO, "token_fetched", "token fetched from DOKU by this process in ");
    CHECK(ends_with(log_.events[0].message, " ms, expiresIn 8 s"));
    double left = start + 4500 - now_ms();
    if (left > 0) usleep((useconds_t)(left * 1000));
    CHECK(doku_get_token(c, &again) == DOKU_OK && strcmp(again, tok) == 0);
    CHECK(log_.count == 3);
    expect_event(1, DOKU_LOG_ERROR, "token_fetch_failed", "token request failed after ");
    expect_event(2, DOKU_LOG_WARN, "stale_token_served", "serving the cached token, still valid for ");
    CHECK(strstr(log_.events[2].message, "after its refresh failed (1 in a row; next attempt after a backoff): ") != NULL);
    CHECK(strstr(log_.events[2].message, tok) == NULL);
    check_stats(c, "{\"inProcessHits\":1,\"storeHits\":0,\"fetches\":1,\"fetchFailures\":1,\"storeErrors\":0,\"lastFetchMs\":",
                ",\"lastStoreError\":null}");
    doku_free(tok);
    doku_free(again);
    doku_client_free(c);
}

struct fetcher {
    const char *client_id;
    pthread_t self;
    DokuStatus status;
};

static void *fetch_on_thread(void *arg) {
    struct fetcher *f = arg;
    DokuClient *c = client_for(f->client_id);
    char *tok = NULL;
    f->status = doku_get_token(c, &tok);
    doku_free(tok);
    doku_client_free(c);
    return NULL;
}

/* Another thread's call: its events run on that thread. */
static void test_callback_runs_on_the_calling_thread(void) {
    struct fetcher f = {.client_id = "c-log-thread"};
    pthread_t t;
    pthread_mutex_lock(&log_.lock);
    log_.count = 0;
    log_.reenter = NULL;
    CHECK(pthread_create(&t, NULL, fetch_on_thread, &f) == 0);
    log_.caller = t; /* set before the thread can log: it waits for this lock to record */
    pthread_mutex_unlock(&log_.lock);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(f.status == DOKU_OK);
    CHECK(log_.count == 1);
    expect_event(0, DOKU_LOG_INFO, "token_fetched", "token fetched from DOKU by this process in ");
}

/* min_level: events less severe are not delivered; bad levels are refused; NULL removes. */
static void test_levels_and_removal(void) {
    CHECK(doku_set_log_callback(record, &log_, DOKU_LOG_WARN) == DOKU_OK);
    reset(pthread_self());
    DokuClient *c = client_for("c-log-level");
    char *tok = (char *)1;
    CHECK(doku_get_token(c, &tok) == DOKU_OK);
    doku_free(tok);
    CHECK(log_.count == 0); /* token_fetched is INFO */
    DokuClient *fail = client_for("c-log-fail");
    CHECK(doku_get_token(fail, &tok) == DOKU_ERR_PROTOCOL);
    CHECK(log_.count == 1);
    expect_event(0, DOKU_LOG_ERROR, "token_fetch_failed", "token request failed after ");

    CHECK(doku_set_log_callback(record, &log_, 0) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(doku_last_error(), "min_level 0 is not a DokuLogLevel (1 = DOKU_LOG_ERROR to 4 = DOKU_LOG_DEBUG)") == 0);
    CHECK(doku_set_log_callback(record, &log_, 5) == DOKU_ERR_INVALID_ARGUMENT);
    /* The refused calls left the callback as it was. */
    CHECK(doku_get_token(fail, &tok) == DOKU_ERR_PROTOCOL);
    CHECK(log_.count == 2);

    CHECK(doku_set_log_callback(NULL, NULL, 0) == DOKU_OK);
    CHECK(doku_get_token(fail, &tok) == DOKU_ERR_PROTOCOL);
    CHECK(log_.count == 2);
    doku_client_free(fail);
    doku_client_free(c);
}

/* A callback that takes its time on another thread: replacing it waits until it has returned,
 * after which its user_data may be freed. */
static atomic_int slow_running, slow_done;

static void slow(void *user_data, DokuLogLevel level, const char *event, const char *message) {
    (void)level, (void)event, (void)message;
    CHECK(user_data != NULL && *(int *)user_data == 42);
    atomic_store(&slow_running, 1);
    usleep(300 * 1000);
    atomic_store(&slow_done, 1);
}

static void test_replacing_waits_for_the_running_callback(void) {
    int *data = malloc(sizeof *data);
    *data = 42;
    CHECK(doku_set_log_callback(slow, data, DOKU_LOG_DEBUG) == DOKU_OK);
    struct fetcher f = {.client_id = "c-log-slow"};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fetch_on_thread, &f) == 0);
    while (!atomic_load(&slow_running)) usleep(1000);
    CHECK(doku_set_log_callback(record, &log_, DOKU_LOG_DEBUG) == DOKU_OK);
    CHECK(atomic_load(&slow_done) == 1);
    *data = 0;
    free(data);
    CHECK(pthread_join(t, NULL) == 0 && f.status == DOKU_OK);
}

/* In a forked child, replacing the callback waits for the child's own threads running it (found
 * by review: the child skipped the wait for every thread, and freed user_data under a running
 * callback). */
static void test_replacing_in_a_fork_child_waits_for_its_threads(void) {
    int *data = malloc(sizeof *data);
    *data = 42;
    CHECK(doku_set_log_callback(slow, data, DOKU_LOG_DEBUG) == DOKU_OK);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        atomic_store(&slow_running, 0);
        atomic_store(&slow_done, 0);
        struct fetcher f = {.client_id = "c-log-slow-fork"};
        pthread_t t;
        if (pthread_create(&t, NULL, fetch_on_thread, &f) != 0) _exit(2);
        while (!atomic_load(&slow_running)) usleep(1000);
        doku_set_log_callback(NULL, NULL, 0);
        int waited = atomic_load(&slow_done) == 1;
        *data = 0;
        free(data);
        pthread_join(t, NULL);
        _exit(waited && f.status == DOKU_OK ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(doku_set_log_callback(record, &log_, DOKU_LOG_DEBUG) == DOKU_OK);
    free(data);
}

/* fork(): the callback stays set in the child. */
static void test_fork(void) {
    CHECK(doku_set_log_callback(record, &log_, DOKU_LOG_DEBUG) == DOKU_OK);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        reset(pthread_self());
        DokuClient *c = client_for("c-log-fork");
        char *tok = NULL;
        int ok = doku_get_token(c, &tok) == DOKU_OK && log_.count == 1 && strcmp(log_.events[0].name, "token_fetched") == 0 &&
                 log_.events[0].on_caller;
        doku_free(tok);
        doku_client_free(c);
        doku_set_log_callback(NULL, NULL, 0);
        exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
    CHECK(doku_set_log_callback(record, &log_, DOKU_LOG_DEBUG) == DOKU_OK);
    test_fetch_and_cached_path();
    test_failed_fetch();
    test_clock_skew();
    test_callback_runs_on_the_calling_thread();
    test_stale_token_served();
    test_levels_and_removal();
    test_replacing_waits_for_the_running_callback();
    test_replacing_in_a_fork_child_waits_for_its_threads();
    test_fork();
    CHECK(doku_set_log_callback(NULL, NULL, 0) == DOKU_OK);
    printf("log checks passed (%d)\n", checks);
    return 0;
}
