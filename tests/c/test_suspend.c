/*
 * Regression (issue 9, item 9): token freshness ran on CLOCK_MONOTONIC, which stops while the
 * machine is suspended. After a 1000 s suspend, doku_get_token returned the expired token and
 * doku_token_info said it had 900 s to go. This program defines clock_gettime itself, so that
 * libdoku's calls come here: "suspending" moves the wall and boot clocks (precise and coarse)
 * forward while the monotonic clocks stay, as a real suspend-to-RAM does. The sandbox it talks
 * to accepts X-TIMESTAMPs an hour off, since its own clock did not move.
 *
 * Environment: DOKU_TEST_SUSPEND_URL, DOKU_TEST_DIR. Run by tests/c_api.rs under valgrind and
 * the sanitizers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long suspended_s;

int clock_gettime(clockid_t id, struct timespec *ts) {
    int rc = (int)syscall(SYS_clock_gettime, id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_BOOTTIME)) ts->tv_sec += suspended_s;
    return rc;
}

static long expires_in(DokuClient *c, char **token) {
    char *info = NULL;
    CHECK(doku_token_info(c, &info) == DOKU_OK);
    const char *p = strstr(info, "\"expiresIn\":");
    CHECK(p != NULL);
    long v = strtol(p + 12, NULL, 10);
    const char *t = strstr(info, "\"accessToken\":\"");
    CHECK(t != NULL);
    *token = strndup(t + 15, (size_t)(strchr(t + 15, '"') - (t + 15)));
    doku_free(info);
    return v;
}

int main(void) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"client_id\":\"c-suspend\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\"}",
             env("DOKU_TEST_DIR"), env("DOKU_TEST_SUSPEND_URL"));
    DokuClient *c = NULL;
    CHECK(doku_client_new(json, &c) == DOKU_OK);
    char *before = NULL, *after = NULL;
    long left = expires_in(c, &before);
    CHECK(left > 880 && left <= 900);

    suspended_s += 1000;
    left = expires_in(c, &after);
    if (strcmp(before, after) == 0) fprintf(stderr, "the token from before the suspend was served (expiresIn %ld)\n", left);
    CHECK(strcmp(before, after) != 0);
    CHECK(left > 880 && left <= 900);
    free(before), free(after);

    /* A short suspend changes nothing but the count-down. */
    suspended_s += 100;
    left = expires_in(c, &before);
    CHECK(left > 780 && left <= 800);
    free(before);
    doku_client_free(c);
    printf("%d suspend checks passed\n", checks);
    return 0;
}
