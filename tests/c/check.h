/*
 * What the C test programs share: the CHECK macro (counting checks, failing with the
 * library's last error) and reading inputs the harness (tests/c_api.rs) prepared.
 * Each program is one translation unit, so these are plain statics.
 */
#ifndef DOKU_TEST_CHECK_H
#define DOKU_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "doku.h"

static int checks;
#define CHECK(cond)                                                                                              \
    do {                                                                                                         \
        checks++;                                                                                                \
        if (!(cond)) {                                                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n  last error: %s\n", __FILE__, __LINE__, #cond, doku_last_error()); \
            exit(1);                                                                                             \
        }                                                                                                        \
    } while (0)

/* The value of a variable the harness must have set. */
static inline const char *env(const char *name) {
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "missing environment variable %s\n", name);
        exit(2);
    }
    return v;
}

/* A file, without trailing newlines (expected signatures end with one; keys don't care). The
 * caller frees it. */
static inline char *slurp_path(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) buf[--got] = '\0';
    return buf;
}

/* A file from DOKU_TEST_DIR, as slurp_path(). */
static inline char *slurp(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env("DOKU_TEST_DIR"), name);
    return slurp_path(path);
}

#endif
