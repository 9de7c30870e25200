/* The GEMM floor of a workload: nothing but its matrix products, issued as
 * covshift issues them (cs_dense_forward: row-major C (m x n) += X (m x k)
 * W^T, W stored n x k), by a team of threads each running single-threaded
 * OpenBLAS on its share of the products, as covshift's team does
 * (docs/internals.md, the thread team). No weights or inputs are drawn, no
 * bias, normalisation, activation or statistics: the time is what the
 * products alone cost on this machine and BLAS core, the bound any program
 * doing the same products approaches from above.
 *
 * usage: bench_floor [--threads T] [MxNxK:COUNT ...]
 * Each group is COUNT products of an m x k batch by an n x k weight
 * matrix, run after the one before; bench/bench.sh derives them from the
 * experiment's runs (layer 1: batch x width x input_dim, then batch x width
 * x width, for depth x (steps_a + steps_b) products a run). Default: W1
 * (bench/w1.ini), 3 runs x 20 layers x 20 steps, 256x512x512:1200; T = the
 * cores online. Prints one line:
 *   floor: 1200 products in 1 shape (161.061 GFLOP), 2 threads x 1 BLAS
 *   thread, core Cooperlake: wall 1.912 s, cpu 3.801 s, 84.2 GFLOP/s
 * One W per group is shared by the team and reused (a real network has a
 * new W per layer, read from memory once per layer's steps): the floor is,
 * if anything, optimistic. The time includes filling the matrices (a few
 * ms). Exit status 2 on a bad argument, 1 if memory or threads run out. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    long count; /* this thread's share of a group's products */
    int m, n, k;
    const double *w;
    double *x, *c;
} floor_share;

/* One group of equal products, "MxNxK:COUNT" on the command line. */
typedef struct {
    long m, n, k, count;
} floor_group;

static void *floor_thread(void *arg)
{
    floor_share *s = arg;
    for (long i = 0; i < s->count; i++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->m, s->n, s->k, 1.0, s->x, s->k,
                    s->w, s->k, 1.0, s->c, s->n);
    return NULL;
}

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* "256x512x512:1200" -> a group; 0 on anything else. */
static int parse_group(const char *text, floor_group *g)
{
    char tail;
    if (sscanf(text, "%ldx%ldx%ld:%ld%c", &g->m, &g->n, &g->k, &g->count, &tail) != 4)
        return 0;
    return g->m >= 1 && g->m <= 1L << 20 && g->n >= 1 && g->n <= 1L << 20 && g->k >= 1 &&
           g->k <= 1L << 20 && g->count >= 1 && g->count <= 1L << 30 &&
           (double)g->m * (double)g->k <= 1L << 28 && (double)g->n * (double)g->k <= 1L << 28 &&
           (double)g->m * (double)g->n <= 1L << 28;
}

/* Values in [-1, 1) from a fixed LCG: the floor does not depend on them. */
static void fill(double *a, size_t n, unsigned long long *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        a[i] = (double)(*state >> 11) * 0x1p-52 - 1.0;
    }
}

/* Runs a group's products on the team; 0 on success, else what failed. */
static const char *floor_group_run(const floor_group *g, long threads, unsigned long long *state)
{
    const char *why = "out of memory";
    double *w = malloc((size_t)g->n * (size_t)g->k * sizeof *w);
    floor_share *share = calloc((size_t)threads, sizeof *share);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!w || !share || !tid)
        goto done;
    fill(w, (size_t)g->n * (size_t)g->k, state);
    for (long t = 0; t < threads; t++) {
        floor_share *s = &share[t];
        s->count = g->count / threads + (t < g->count % threads);
        s->m = (int)g->m, s->n = (int)g->n, s->k = (int)g->k, s->w = w;
        s->x = malloc((size_t)g->m * (size_t)g->k * sizeof *s->x);
        s->c = calloc((size_t)g->m * (size_t)g->n, sizeof *s->c);
        if (!s->x || !s->c)
            goto done;
        fill(s->x, (size_t)g->m * (size_t)g->k, state);
    }
    long started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, floor_thread, &share[started]))
            break;
    for (long t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    why = started < threads ? "could not start a thread" : NULL;
done:
    if (share)
        for (long t = 0; t < threads; t++) {
            free(share[t].x);
            free(share[t].c);
        }
    free(share);
    free(tid);
    free(w);
    return why;
}

int main(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    enum { MAX_GROUPS = 64 };
    floor_group groups[MAX_GROUPS];
    int ngroups = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads")) {
            char *end = NULL;
            threads = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (!end || end == argv[i + 1] || *end || threads < 1 || threads > 256) {
                fprintf(stderr, "bench_floor: --threads needs an integer from 1 to 256\n");
                return 2;
            }
            i++;
        } else if (ngroups == MAX_GROUPS || !parse_group(argv[i], &groups[ngroups])) {
            fprintf(stderr,
                    "bench_floor: bad argument '%s' (expected --threads T or up to %d groups "
                    "MxNxK:COUNT, e.g. 256x512x512:1200)\n",
                    argv[i], MAX_GROUPS);
            return 2;
        } else {
            ngroups++;
        }
    }
    if (!ngroups) /* W1: 3 runs x 20 layers x (10 + 10) steps */
        groups[ngroups++] = (floor_group){256, 512, 512, 1200};

    openblas_set_num_threads(1); /* one BLAS thread per team thread, as covshift */
    unsigned long long state = 1;
    long products = 0;
    double gflop = 0;
    double wall0 = clock_s(CLOCK_MONOTONIC), cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < ngroups; i++) {
        const floor_group *g = &groups[i];
        const char *why = floor_group_run(g, threads < g->count ? threads : g->count, &state);
        if (why) {
            fprintf(stderr, "bench_floor: %s (group %ldx%ldx%ld:%ld)\n", why, g->m, g->n, g->k,
                    g->count);
            return 1;
        }
        products += g->count;
        gflop += 2.0 * (double)g->m * (double)g->n * (double)g->k * (double)g->count / 1e9;
    }
    double wall = clock_s(CLOCK_MONOTONIC) - wall0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    const char *core = openblas_get_corename();
    printf("floor: %ld products in %d shape%s (%.3f GFLOP), %ld threads x 1 BLAS thread, core %s: "
           "wall %.3f s, cpu %.3f s, %.1f GFLOP/s\n",
           products, ngroups, ngroups == 1 ? "" : "s", gflop, threads, core ? core : "?", wall, cpu,
           gflop / wall);
    return 0;
}
