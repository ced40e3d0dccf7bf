/* `make soak`: THREADS threads call doku_get_token + doku_free for SECONDS against a sandbox
 * whose tokens live 2 s. Prints calls, errors, and RSS every 10 s; tests/bench/soak.sh judges.
 *   soak URL CLIENT_ID KEYFILE SECONDS THREADS */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doku.h"

static atomic_long calls, errors;
static atomic_int stop;
static DokuClient *client;

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *worker(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        char *t = NULL;
        DokuStatus st = doku_get_token(client, &t);
        if (st != DOKU_OK) {
            if (atomic_fetch_add(&errors, 1) < 5) fprintf(stderr, "error: %s: %s\n", doku_status_name(st), doku_last_error());
        }
        doku_free(t);
        atomic_fetch_add(&calls, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: soak URL CLIENT_ID KEYFILE SECONDS THREADS\n");
        return 2;
    }
    char config[2048];
    snprintf(config, sizeof config, "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\"}",
             argv[2], argv[3], argv[1]);
    if (doku_client_new(config, &client) != DOKU_OK) {
        fprintf(stderr, "config: %s\n", doku_last_error());
        return 1;
    }
    int seconds = atoi(argv[4]), threads = atoi(argv[5]);
    pthread_t tid[64];
    for (int i = 0; i < threads && i < 64; i++) pthread_create(&tid[i], NULL, worker, NULL);
    for (int s = 0; s < seconds; s++) {
        sleep(1);
        if ((s + 1) % 10 == 0)
            printf("t=%ds calls=%ld errors=%ld rss_kib=%ld\n", s + 1, atomic_load(&calls), atomic_load(&errors), rss_kib());
        fflush(stdout);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < threads && i < 64; i++) pthread_join(tid[i], NULL);
    printf("done calls=%ld errors=%ld rss_kib=%ld\n", atomic_load(&calls), atomic_load(&errors), rss_kib());
    doku_client_free(client);
    return atomic_load(&errors) ? 1 : 0;
}
