/* Throughput of the C API, for tests/bench/run.sh.
 *   bench_doku sign KEYFILE SECONDS                 stateless doku_sign with PEM text
 *   bench_doku token URL CLIENT_ID KEYFILE SECONDS THREADS
 *                                                   cached doku_get_token + doku_free
 *   bench_doku refresh URL ID_PREFIX KEYFILE THREADS PER_THREAD
 *                                                   forced refreshes: invalidate + get_token, one
 *                                                   client id (ID_PREFIX-N) per thread
 *   bench_doku latency URL CLIENT_ID KEYFILE SECONDS THREADS
 *                                                   doku_get_token latency across refreshes (give
 *                                                   the client short tokens and a slow token
 *                                                   endpoint): prints "refreshes slow_calls
 *                                                   worst_other_us worst_us", where slow means
 *                                                   over 5 ms and worst_other_us is the worst call
 *                                                   once each refresh's slowest call is set aside
 *   bench_doku fleet URL CLIENT_ID KEYFILE STORE CHILDREN
 *                                                   one token window: CHILDREN fresh processes call
 *                                                   doku_get_token at once (the sandbox counts the
 *                                                   token requests)
 *   bench_doku store URL CLIENT_ID KEYFILE STORE CHILDREN
 *                                                   the first doku_get_token of a fresh process
 *                                                   with token_store STORE ("memory" or
 *                                                   "file:/dir"): CHILDREN forked one after
 *                                                   another, each with a new client; prints the
 *                                                   first child's time and the median of the
 *                                                   others, in microseconds
 *   bench_doku ops URL CA_FILE CLIENT_ID KEYFILE SECRET SECONDS
 *                                                   doku_client_call on one thread over TLS:
 *                                                   create_va, then balance_inquiry (a customer
 *                                                   token and X-IP-ADDRESS); prints per call
 *                                                   "NAME calls_per_s p50_us p99_us"
 * BENCH_TOKEN_STORE, if set, is the token_store of the other modes' clients.
 * The other modes print one number: calls per second (all threads together). Any error aborts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doku.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    buf[fread(buf, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return buf;
}

static void die(const char *what, DokuStatus st) {
    fprintf(stderr, "%s: %s: %s\n", what, doku_status_name(st), doku_last_error());
    exit(1);
}

/* A client for URL, CLIENT_ID and KEYFILE whose token is cached: *token gets it. */
static DokuClient *new_client(const char *url, const char *client_id, const char *key_file, const char *store) {
    char config[4096];
    snprintf(config, sizeof config,
             "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\",\"token_store\":\"%s\"}",
             client_id, key_file, url, store ? store : "memory");
    DokuClient *client = NULL;
    DokuStatus st = doku_client_new(config, &client);
    if (st != DOKU_OK) die("doku_client_new", st);
    return client;
}

/* A client for URL, CLIENT_ID and KEYFILE whose token is cached: *token gets it. */
static DokuClient *warm_client(const char *url, const char *client_id, const char *key_file, char **token) {
    DokuClient *client = new_client(url, client_id, key_file, getenv("BENCH_TOKEN_STORE"));
    DokuStatus st = doku_get_token(client, token);
    if (st != DOKU_OK) die("doku_get_token", st);
    return client;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Forks CHILDREN processes one after another (this process never uses the library, so each
 * child starts with an empty in-process cache); each times its first doku_get_token. */
static void first_token_in_fresh_processes(char **argv) {
    int children = atoi(argv[6]);
    if (children < 2 || children > 1000) children = 2;
    double *us = calloc((size_t)children, sizeof(double));
    for (int i = 0; i < children; i++) {
        int fd[2];
        if (pipe(fd) != 0) exit(1);
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            DokuClient *client = new_client(argv[2], argv[3], argv[4], argv[5]);
            char *token = NULL;
            double start = now_s();
            DokuStatus st = doku_get_token(client, &token);
            double took = (now_s() - start) * 1e6;
            if (st != DOKU_OK) die("doku_get_token", st);
            if (write(fd[1], &took, sizeof took) != (ssize_t)sizeof took) _exit(1);
            doku_free(token);
            doku_client_free(client);
            _exit(0);
        }
        close(fd[1]);
        if (read(fd[0], &us[i], sizeof us[i]) != (ssize_t)sizeof us[i]) exit(1);
        close(fd[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) exit(1);
    }
    qsort(us + 1, (size_t)children - 1, sizeof(double), ascending);
    printf("%.0f %.0f\n", us[0], us[1 + (children - 1) / 2]);
    free(us);
}

/* A token window of a fleet: CHILDREN fresh processes, each with its own client, released at
 * once (a pipe closed under them) to call doku_get_token. Exits non-zero if any call failed. */
static void fleet_window(char **argv) {
    int children = atoi(argv[6]);
    if (children < 1 || children > 1000) children = 1;
    int go[2];
    if (pipe(go) != 0) exit(1);
    pid_t *pids = calloc((size_t)children, sizeof(pid_t));
    for (int i = 0; i < children; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            DokuClient *client = new_client(argv[2], argv[3], argv[4], argv[5]);
            char byte;
            if (read(go[0], &byte, 1) != 0) _exit(1);
            char *token = NULL;
            DokuStatus st = doku_get_token(client, &token);
            if (st != DOKU_OK) die("doku_get_token", st);
            doku_free(token);
            doku_client_free(client);
            _exit(0);
        }
    }
    close(go[0]);
    usleep(200 * 1000); /* every child has made its client */
    close(go[1]);
    int failed = 0;
    for (int i = 0; i < children; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    free(pids);
    if (failed) exit(1);
}

struct worker {
    DokuClient *client;
    double seconds;
    long calls;
};

static void *token_loop(void *arg) {
    struct worker *w = arg;
    double end = now_s() + w->seconds;
    long calls = 0;
    while (1) {
        /* Check the clock every 4096 calls: the loop measures the library, not clock_gettime. */
        for (int i = 0; i < 4096; i++) {
            char *t = NULL;
            DokuStatus st = doku_get_token(w->client, &t);
            if (st != DOKU_OK) die("doku_get_token", st);
            doku_free(t);
        }
        calls += 4096;
        if (now_s() >= end) break;
    }
    w->calls = calls;
    return NULL;
}

struct refresher {
    DokuClient *client;
    long count;
};

static void *refresh_loop(void *arg) {
    struct refresher *r = arg;
    for (long i = 0; i < r->count; i++) {
        char *t = NULL;
        DokuStatus st = doku_client_invalidate_token(r->client);
        if (st == DOKU_OK) st = doku_get_token(r->client, &t);
        if (st != DOKU_OK) die("forced refresh", st);
        doku_free(t);
    }
    return NULL;
}

#define TOP 64

struct timed {
    DokuClient *client;
    double seconds;
    double top_us[TOP]; /* this thread's slowest calls, descending */
    long slow;
    char *last;   /* the last token seen */
    long changes; /* how often it changed */
};

/* A call every 200 µs per thread: busy threads on few cores would measure preemption. */
static void *latency_loop(void *arg) {
    struct timed *w = arg;
    double end = now_s() + w->seconds;
    const struct timespec pause = {0, 200000};
    while (now_s() < end) {
        nanosleep(&pause, NULL);
        char *t = NULL;
        double t0 = now_s();
        DokuStatus st = doku_get_token(w->client, &t);
        double us = (now_s() - t0) * 1e6;
        if (st != DOKU_OK) die("doku_get_token", st);
        if (us > 5000) w->slow++;
        for (int i = 0; i < TOP; i++) {
            if (us > w->top_us[i]) {
                memmove(&w->top_us[i + 1], &w->top_us[i], (TOP - i - 1) * sizeof(double));
                w->top_us[i] = us;
                break;
            }
        }
        if (!w->last || strcmp(w->last, t) != 0) {
            w->changes++;
            doku_free(w->last);
            w->last = t;
        } else {
            doku_free(t);
        }
    }
    return NULL;
}

static int descending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Calls OPERATION for SECONDS, a body from make_body per call; prints its rate and latencies. */
static void time_calls(DokuClient *client, const char *operation, const char *options, double seconds,
                       void (*make_body)(char *, size_t, long)) {
    size_t cap = 1 << 20, n = 0;
    double *us = malloc(cap * sizeof(double)), start = now_s();
    char body[1024];
    while (now_s() - start < seconds && n < cap) {
        make_body(body, sizeof body, (long)n);
        char *answer = NULL;
        double t0 = now_s();
        DokuStatus st = doku_client_call(client, operation, body, options, &answer);
        us[n++] = (now_s() - t0) * 1e6;
        if (st != DOKU_OK) die(operation, st);
        if (!strstr(answer, "\"httpStatus\":200")) {
            fprintf(stderr, "%s: %s\n", operation, answer);
            exit(1);
        }
        doku_free(answer);
    }
    double rate = (double)n / (now_s() - start);
    qsort(us, n, sizeof(double), ascending);
    printf("%s %.1f %.0f %.0f\n", operation, rate, us[n / 2], us[(size_t)((double)n * 0.99)]);
    free(us);
}

static void va_body(char *out, size_t size, long n) {
    snprintf(
        out, size,
        "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"1\",\"virtualAccountNo\":\"  8889941\","
        "\"virtualAccountName\":\"Bench\",\"trxId\":\"C-%ld\",\"totalAmount\":{\"value\":\"10000.00\",\"currency\":\"IDR\"}}",
        n);
}

static void balance_body(char *out, size_t size, long n) {
    (void)n;
    snprintf(out, size, "{\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}}");
}

static void operations(char **argv) {
    char config[4096];
    snprintf(config, sizeof config,
             "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"ca_file\":\"%s\",\"proxy\":\"\","
             "\"client_secret\":\"%s\",\"channel_id\":\"H2H\",\"timeout_ms\":10000}",
             argv[4], argv[5], argv[2], argv[3], argv[6]);
    DokuClient *client = NULL;
    DokuStatus st = doku_client_new(config, &client);
    if (st != DOKU_OK) die("doku_client_new", st);
    char *customer = NULL;
    if ((st = doku_get_token_b2b2c(client, "bench-auth-code", &customer)) != DOKU_OK) die("doku_get_token_b2b2c", st);
    /* {"accessToken":"…",…}; a JWT holds no quote. */
    char *token = strstr(customer, "\"accessToken\":\"") + strlen("\"accessToken\":\"");
    *strchr(token, '"') = '\0';
    char options[4096];
    snprintf(options, sizeof options, "{\"customerToken\":\"%s\",\"ipAddress\":\"203.0.113.7\"}", token);
    char *warm = NULL;
    if ((st = doku_get_token(client, &warm)) != DOKU_OK) die("doku_get_token", st);
    doku_free(warm);
    time_calls(client, "create_va", NULL, atof(argv[7]), va_body);
    time_calls(client, "balance_inquiry", options, atof(argv[7]), balance_body);
    doku_free(customer);
    doku_client_free(client);
}

int main(int argc, char **argv) {
    if (argc == 8 && strcmp(argv[1], "ops") == 0) {
        operations(argv);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "sign") == 0) {
        char *key = slurp(argv[2]);
        double seconds = atof(argv[3]), start = now_s(), t;
        long n = 0;
        char ts[32];
        do {
            /* A new timestamp each call, as real use has: no result can be reused. */
            snprintf(ts, sizeof ts, "2026-01-01T00:%02ld:%02ldZ", (n / 60) % 60, n % 60);
            char *sig = NULL;
            DokuStatus st = doku_sign("MCH-BENCH", ts, key, &sig);
            if (st != DOKU_OK) die("doku_sign", st);
            doku_free(sig);
            n++;
        } while ((t = now_s() - start) < seconds);
        printf("%.1f\n", n / t);
        free(key);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "token") == 0) {
        char *warm = NULL;
        DokuClient *client = warm_client(argv[2], argv[3], argv[4], &warm);
        doku_free(warm);
        int threads = atoi(argv[6]);
        pthread_t tid[64];
        struct worker w[64];
        double start = now_s();
        for (int i = 0; i < threads && i < 64; i++) {
            w[i] = (struct worker){client, atof(argv[5]), 0};
            pthread_create(&tid[i], NULL, token_loop, &w[i]);
        }
        long total = 0;
        for (int i = 0; i < threads && i < 64; i++) {
            pthread_join(tid[i], NULL);
            total += w[i].calls;
        }
        printf("%.1f\n", total / (now_s() - start));
        doku_client_free(client);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "refresh") == 0) {
        int threads = atoi(argv[5]);
        pthread_t tid[64];
        struct refresher r[64];
        for (int i = 0; i < threads && i < 64; i++) {
            char config[2048];
            snprintf(config, sizeof config,
                     "{\"client_id\":\"%s-%d\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\"}", argv[3], i,
                     argv[4], argv[2]);
            r[i] = (struct refresher){NULL, atol(argv[6])};
            DokuStatus st = doku_client_new(config, &r[i].client);
            if (st != DOKU_OK) die("doku_client_new", st);
        }
        double start = now_s();
        for (int i = 0; i < threads && i < 64; i++) pthread_create(&tid[i], NULL, refresh_loop, &r[i]);
        for (int i = 0; i < threads && i < 64; i++) pthread_join(tid[i], NULL);
        printf("%.1f\n", threads * atol(argv[6]) / (now_s() - start));
        for (int i = 0; i < threads && i < 64; i++) doku_client_free(r[i].client);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "store") == 0) {
        first_token_in_fresh_processes(argv);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "fleet") == 0) {
        fleet_window(argv);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "latency") == 0) {
        char *warm = NULL;
        DokuClient *client = warm_client(argv[2], argv[3], argv[4], &warm);
        int threads = atoi(argv[6]);
        pthread_t tid[64];
        static struct timed w[64];
        for (int i = 0; i < threads && i < 64; i++) {
            w[i] = (struct timed){.client = client, .seconds = atof(argv[5]), .last = strdup(warm)};
            pthread_create(&tid[i], NULL, latency_loop, &w[i]);
        }
        static double all[64 * TOP];
        long slow = 0, refreshes = 0;
        int n = 0;
        for (int i = 0; i < threads && i < 64; i++) {
            pthread_join(tid[i], NULL);
            slow += w[i].slow;
            if (w[i].changes > refreshes) refreshes = w[i].changes;
            for (int k = 0; k < TOP; k++) all[n++] = w[i].top_us[k];
            free(w[i].last);
        }
        qsort(all, (size_t)n, sizeof(double), descending);
        long other = refreshes < n ? refreshes : n - 1;
        printf("%ld %ld %.0f %.0f\n", refreshes, slow, all[other], all[0]);
        doku_free(warm);
        doku_client_free(client);
        return 0;
    }
    fprintf(stderr,
            "usage: bench_doku sign KEYFILE SECONDS | token URL CLIENT_ID KEYFILE SECONDS THREADS"
            " | refresh URL ID_PREFIX KEYFILE THREADS PER_THREAD | latency URL CLIENT_ID KEYFILE SECONDS THREADS"
            " | store URL CLIENT_ID KEYFILE STORE CHILDREN | fleet URL CLIENT_ID KEYFILE STORE CHILDREN"
            " | ops URL CA_FILE CLIENT_ID KEYFILE SECRET SECONDS\n");
    return 2;
}
