/* Time from dlopen("libdoku.so") to the first signature returned, in a fresh process: what a
 * PHP or Python worker pays once. Prints microseconds. Usage: dlopen LIBPATH KEYFILE */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*sign_fn)(const char *, const char *, const char *, char **);
typedef void (*free_fn)(char *);

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    FILE *f = fopen(argv[2], "rb");
    static char key[16384];
    if (!f || fread(key, 1, sizeof key - 1, f) == 0) return 2;
    fclose(f);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    sign_fn sign = (sign_fn)dlsym(lib, "doku_sign");
    free_fn doku_free = (free_fn)dlsym(lib, "doku_free");
    char *sig = NULL;
    if (!sign || sign("MCH-BENCH", "2026-01-01T00:00:00Z", key, &sig) != 0) return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    doku_free(sig);
    printf("%.0f\n", (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3);
    return 0;
}
