/*
 * Secrets left behind in freed memory. Creates a client from a config that passes the key one
 * way, frees it, then reads every heap and anonymous read-write mapping of this process
 * (through /proc/self/mem, which never faults) and counts the 16-character windows of the
 * secrets found there: the key's base64 body, the passphrase, the client secret.
 *
 * Not for valgrind or the sanitizers: reading freed memory is the point.
 *
 * Usage: test_heap MODE KEY_FILE [PASSPHRASE CLIENT_SECRET]
 *   inline   the key text inline in "private_key" (a PEM: JSON escapes; bare base64: none)
 *   file     the key in "private_key_file"
 *   control  as file, then an unwiped copy of the key body is freed: the scan must find it
 * Prints "windows found: N of M".
 *
 * Usage: test_heap issue-inline|issue-file KEY_FILE PUBLIC_KEY_FILE [PASSPHRASE]
 *   the same for doku_issue_token's options: the merchant's key inline in
 *   "merchant_private_key" or in "merchant_private_key_file", DOKU's public key in
 *   "doku_public_key_file"; the call answers a request without headers (a refusal, after both keys
 *   are read). Secrets: the key's base64 body and the passphrase.
 *   issue-swapped  the mistake: the merchant's key inline in "doku_public_key" (DOKU_ERR_KEY)
 *   issue-as-path  the mistake: the key text in "merchant_private_key_file" (DOKU_ERR_KEY)
 *
 * Usage: test_heap doku_free KEY_FILE
 *   signs with the key and frees the signature with doku_free(); this program's own free()
 *   (below, ahead of libc's) looks at that buffer as it is freed. Prints "doku_free wiped: yes"
 *   or "... no".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

enum { WINDOW = 16, CHUNK = 1 << 20, BUCKETS = 1 << 16, MAX_REGIONS = 8192 };

/* free() for the whole process, libdoku's included: libc's, after a look at one buffer. */
extern void __libc_free(void *);
static const char *watched;
static size_t watched_len;
static int watched_wiped = -1;

void free(void *p) {
    if (p != NULL && p == watched) {
        watched_wiped = 1;
        for (size_t i = 0; i < watched_len; i++) watched_wiped &= ((const char *)p)[i] == '\0';
    }
    __libc_free(p);
}

/* Every secret this program holds itself (key text, config, needles, the scan buffer) lives in
 * this one mapping, which the scan skips: a copy made here must not count as the library's. */
static char *arena;
static size_t arena_size = 16 << 20, arena_used;

static void *take(size_t n) {
    CHECK(arena_used + n + 16 <= arena_size);
    void *p = arena + arena_used;
    arena_used += (n + 15) & ~(size_t)15;
    return p;
}

/* The whole file, NUL-terminated, read with read(2): stdio would leave a copy in its own
 * heap buffer. */
static char *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    char *buf = take(64 * 1024);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf + n, 64 * 1024 - 1 - n)) > 0) n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Needles: the secrets, one after another, each followed by a NUL. */
static char *needles;
static size_t needles_len;

static void add_needle(const char *s, size_t n) {
    memcpy(needles + needles_len, s, n);
    needles_len += n;
    needles[needles_len++] = '\0';
}

/* The base64 body of a PEM (its lines without armour or headers), or a bare base64 key. */
static void add_key_body(const char *text) {
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n && line[n - 1] == '\r') n--;
        if (n && line[0] != '-' && !memchr(line, ':', n)) {
            memcpy(needles + needles_len, line, n);
            needles_len += n;
        }
        line += end ? (size_t)(end - line) + 1 : n;
    }
    needles[needles_len++] = '\0';
}

/* Windows of the needles, by their first four bytes. */
static int32_t *heads, *next;
static uint8_t *found;

static uint32_t hash4(const char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return (v * 2654435761u) >> 16;
}

static int window_at(size_t i) { return i + WINDOW <= needles_len && !memchr(needles + i, '\0', WINDOW); }

static void index_needles(void) {
    heads = take(BUCKETS * sizeof *heads);
    next = take(needles_len * sizeof *next);
    found = take(needles_len);
    memset(heads, -1, BUCKETS * sizeof *heads);
    memset(found, 0, needles_len);
    for (size_t i = 0; i < needles_len; i++) {
        if (!window_at(i)) continue;
        uint32_t h = hash4(needles + i);
        next[i] = heads[h];
        heads[h] = (int32_t)i;
    }
}

static void scan_bytes(const char *buf, size_t n) {
    for (size_t p = 0; p + WINDOW <= n; p++) {
        for (int32_t i = heads[hash4(buf + p)]; i >= 0; i = next[i]) {
            if (memcmp(buf + p, needles + i, WINDOW) == 0) found[i] = 1;
        }
    }
}

/* [start, end) through /proc/self/mem, page by page where a chunk cannot be read whole. */
static void scan_range(int mem, uintptr_t start, uintptr_t end, char *buf) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (uintptr_t at = start; at < end; at += CHUNK) {
        size_t want = end - at < CHUNK ? end - at : CHUNK;
        /* Overlap by a window so that nothing straddling two chunks is missed. */
        size_t extra = end - at - want < WINDOW - 1 ? end - at - want : WINDOW - 1;
        if (pread(mem, buf, want + extra, (off_t)at) == (ssize_t)(want + extra)) {
            scan_bytes(buf, want + extra);
            continue;
        }
        for (size_t off = 0; off < want; off += page) {
            if (pread(mem, buf, page, (off_t)(at + off)) == (ssize_t)page) scan_bytes(buf, page);
        }
    }
}

/* The heap and every anonymous read-write mapping, minus the arena. */
static void scan_memory(void) {
    static char maps[1 << 20];
    static uintptr_t regions[MAX_REGIONS][2];
    int fd = open("/proc/self/maps", O_RDONLY);
    CHECK(fd >= 0);
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, maps + n, sizeof maps - 1 - n)) > 0) n += (size_t)r;
    close(fd);
    maps[n] = '\0';
    int count = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long start, end;
        char perms[8], path[512] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511s", &start, &end, perms, path) < 3) continue;
        if (perms[0] != 'r' || perms[1] != 'w') continue;
        if (path[0] != '\0' && strcmp(path, "[heap]") != 0) continue;
        CHECK(count < MAX_REGIONS);
        regions[count][0] = start, regions[count][1] = end, count++;
    }
    char *buf = take(CHUNK + WINDOW);
    int mem = open("/proc/self/mem", O_RDONLY);
    CHECK(mem >= 0);
    uintptr_t a = (uintptr_t)arena, b = a + arena_size;
    for (int i = 0; i < count; i++) {
        uintptr_t s = regions[i][0], e = regions[i][1];
        if (s < a) scan_range(mem, s, e < a ? e : a, buf);
        if (e > b) scan_range(mem, s > b ? s : b, e, buf);
    }
    close(mem);
}

/* This program's own copies of the key (read, indexed, put in the config) go through vector
 * registers, and the dynamic linker's lazy-binding trampoline saves those registers on the stack;
 * a struct the library later moves to the heap can carry such stale stack bytes in its padding.
 * Found with gdb: the only window ever seen came from here, not from the library. So the
 * programs run with LD_BIND_NOW=1 (tests/c_api.rs: no trampoline), and the stack this program
 * used is wiped before the library is called. */
__attribute__((noinline)) static void scrub_stack(void) {
    volatile char scratch[256 * 1024];
    explicit_bzero((char *)scratch, sizeof scratch);
}

/* "key":"value" with value escaped as JSON (a PEM's newlines become \n). */
static char *put_json(char *out, const char *key, const char *value, int comma) {
    if (comma) *out++ = ',';
    out += sprintf(out, "\"%s\":\"", key);
    for (const char *v = value; *v; v++) {
        if (*v == '\n') *out++ = '\\', *out++ = 'n';
        else if (*v == '\r') *out++ = '\\', *out++ = 'r';
        else if (*v == '"' || *v == '\\') *out++ = '\\', *out++ = *v;
        else *out++ = *v;
    }
    *out++ = '"';
    return out;
}

int main(int argc, char **argv) {
    const int issue = argc >= 2 && strncmp(argv[1], "issue-", 6) == 0;
    if (issue ? argc != 4 && argc != 5 : argc != 3 && argc != 5) {
        fprintf(stderr, "usage: %s inline|file|control|doku_free KEY_FILE [PASSPHRASE CLIENT_SECRET]\n", argv[0]);
        fprintf(stderr, "       %s issue-inline|issue-file KEY_FILE PUBLIC_KEY_FILE [PASSPHRASE]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *path = argv[2];
    if (strcmp(mode, "doku_free") == 0) {
        size_t len;
        arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(arena != MAP_FAILED);
        char *key = read_file(path, &len), *signature = NULL;
        CHECK(doku_sign("MCH-HEAP", "2026-01-01T00:00:00Z", key, &signature) == DOKU_OK);
        watched = signature, watched_len = strlen(signature);
        CHECK(watched_len > 300);
        doku_free(signature);
        CHECK(watched_wiped != -1);
        printf("doku_free wiped: %s\n", watched_wiped ? "yes" : "no");
        return 0;
    }
    arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(arena != MAP_FAILED);
    size_t key_len;
    char *key = read_file(path, &key_len);
    needles = take(key_len + 1024);
    add_key_body(key);
    const char *passphrase = argc == 5 ? argv[issue ? 4 : 3] : NULL, *secret = argc == 5 && !issue ? argv[4] : NULL;
    if (passphrase) add_needle(passphrase, strlen(passphrase));
    if (secret) add_needle(secret, strlen(secret));
    index_needles();

    if (issue) {
        /* DOKU's public key as a file: its text would share the algorithm identifier
         * (ANBgkqhkiG9w0BAQEFAA, 20 characters) with a PKCS#8 key's base64, and public text is
         * not wiped. */
        char *options = take(2 * key_len + 2048), *o = options;
        *o++ = '{';
        o = put_json(o, "client_id", "MCH-HEAP", 0);
        const int mistake = strcmp(mode, "issue-swapped") == 0 || strcmp(mode, "issue-as-path") == 0;
        if (strcmp(mode, "issue-swapped") == 0) o = put_json(o, "doku_public_key", key, 1);
        else o = put_json(o, "doku_public_key_file", argv[3], 1);
        if (strcmp(mode, "issue-inline") == 0 || strcmp(mode, "issue-swapped") == 0)
            o = put_json(o, "merchant_private_key", key, 1);
        else if (strcmp(mode, "issue-as-path") == 0) o = put_json(o, "merchant_private_key_file", key, 1);
        else o = put_json(o, "merchant_private_key_file", path, 1);
        if (passphrase) o = put_json(o, "merchant_private_key_passphrase", passphrase, 1);
        *o++ = '}', *o = '\0';
        int http = 0;
        char *answer = NULL;
        scrub_stack();
        if (mistake) CHECK(doku_issue_token(options, "{}", NULL, &http, &answer) == DOKU_ERR_KEY && answer == NULL);
        else CHECK(doku_issue_token(options, "{}", NULL, &http, &answer) == DOKU_OK && http == 400);
        doku_free(answer);
        scan_memory();
        size_t windows = 0, hits = 0;
        for (size_t i = 0; i < needles_len; i++) windows += window_at(i), hits += found[i];
        printf("windows found: %zu of %zu\n", hits, windows);
        return 0;
    }

    char *config = take(2 * key_len + 1024), *c = config;
    *c++ = '{';
    c = put_json(c, "client_id", "MCH-HEAP", 0);
    c = put_json(c, "proxy", "", 1);
    if (strcmp(mode, "inline") == 0) c = put_json(c, "private_key", key, 1);
    else c = put_json(c, "private_key_file", path, 1);
    if (passphrase) c = put_json(c, "private_key_passphrase", passphrase, 1), c = put_json(c, "client_secret", secret, 1);
    *c++ = '}', *c = '\0';

    DokuClient *client = NULL;
    scrub_stack();
    CHECK(doku_client_new(config, &client) == DOKU_OK);
    doku_client_free(client);

    if (strcmp(mode, "control") == 0) {
        /* What a missing wipe leaves: a copy freed as it is, a live block after it so that
         * the copy is not merged into the top of the heap and given back to the kernel. */
        char *copy = malloc(needles_len);
        memcpy(copy, needles, needles_len);
        void *fence = malloc(64);
        free(copy);
        scan_memory();
        free(fence);
    } else {
        scan_memory();
    }
    size_t windows = 0, hits = 0;
    for (size_t i = 0; i < needles_len; i++) windows += window_at(i), hits += found[i];
    printf("windows found: %zu of %zu\n", hits, windows);
    return 0;
}
