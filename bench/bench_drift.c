/* Micro-benchmark of the exact W1 (cs_w1_compute, docs/design.md §2) on the
 * slot of one (layer, site) of a run: steps_a = steps_b = 10 batches of 256
 * rows by `width` units per phase. Against a sort of copies of both
 * samples (the straightforward exact W1) and against the dgemms of the
 * layer that produced those values, 20 of 256 x width x width (the ratio
 * the recorder pays per site; a layer has three sites). Every case is
 * first checked against the sort-and-merge W1. Times are this thread's
 * CPU time (time-slicing on a shared machine is not counted), the best of
 * several calls within this one run, single-threaded (OpenBLAS too); run with
 * OPENBLAS_CORETYPE set to the CPU's kernel (covshift's own choice,
 * docs/design.md §6) for the dgemm a run would see. */
#include "cs_w1.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* GSL's CBLAS prototypes (see bench_stats.c); OpenBLAS's symbols at link time. */
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

void openblas_set_num_threads(int num_threads);

enum { BATCH = 256, STEPS = 10, REPS = 9, GEMM_REPS = 9 };

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double best(const double *t, int n)
{
    double m = t[0];
    for (int i = 1; i < n; i++)
        m = t[i] < m ? t[i] : m;
    return m;
}

/* The straightforward exact W1: sort copies, walk the merged order. */
static double sort_w1(const double *a, double *sa, size_t na, const double *b, double *sb,
                      size_t nb)
{
    memcpy(sa, a, na * sizeof *sa);
    memcpy(sb, b, nb * sizeof *sb);
    qsort(sa, na, sizeof *sa, compare_doubles);
    qsort(sb, nb, sizeof *sb, compare_doubles);
    double acc = 0.0, prev = sa[0] < sb[0] ? sa[0] : sb[0];
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int from_a = j == nb || (i < na && sa[i] <= sb[j]);
        double x = from_a ? sa[i] : sb[j];
        acc += fabs((double)i / (double)na - (double)j / (double)nb) * (x - prev);
        prev = x;
        if (from_a)
            i++;
        else
            j++;
    }
    return acc;
}

typedef enum {
    CASE_SHIFT,    /* B = A + 1: the CDFs never cross */
    CASE_SCALE,    /* B = 2 A: they cross once */
    CASE_NO_SHIFT, /* B from A's distribution: they cross ~sqrt(n) times */
    CASE_RELU,     /* half exact zeros, B = relu(2 z + 1) */
    CASE_TANH,     /* tanh(4 z): saturated at +-1 exactly for |z| > 4.8 */
    CASE_IMAGES,   /* the images input without shift: a fifth of the values integers 0..59 */
    CASE_COUNT
} bench_case;

static const char *const case_name[CASE_COUNT] = {
    "gaussian, B = A + 1", "gaussian, B = 2 A", "gaussian, B ~ A (no shift)",
    "relu, B = relu(2z + 1)", "tanh(4 z), B ~ A", "images layer 0, B ~ A",
};

static void fill(double *x, size_t n, bench_case c, int phase_b, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double z = gsl_ran_gaussian_ziggurat(rng, 1.0);
        switch (c) {
        case CASE_SHIFT: x[i] = z + (phase_b ? 1.0 : 0.0); break;
        case CASE_SCALE: x[i] = phase_b ? 2.0 * z : z; break;
        case CASE_NO_SHIFT: x[i] = z; break;
        case CASE_RELU: {
            double h = phase_b ? 2.0 * z + 1.0 : z;
            x[i] = h > 0 ? h : 0.0;
            break;
        }
        case CASE_TANH: x[i] = tanh(4.0 * z); break;
        case CASE_IMAGES: {
            /* per image of 1024 values, k in 0..4 and c in 0..59 (the
             * worksheet's randn * k + c): k = 0 makes a constant image */
            static double k, off;
            if (i % 1024 == 0) {
                k = (double)gsl_rng_uniform_int(rng, 5);
                off = (double)gsl_rng_uniform_int(rng, 60);
            }
            x[i] = z * k + off;
            break;
        }
        default: x[i] = z;
        }
    }
}

int main(int argc, char **argv)
{
    size_t width = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 512;
    int only = argc > 2 ? atoi(argv[2]) : -1;
    if (width < 1 || width > 4096 || only >= CASE_COUNT) {
        fprintf(stderr, "usage: bench_drift [WIDTH (1..4096, default 512) [CASE (0..%d)]]\n",
                CASE_COUNT - 1);
        return 2;
    }
    openblas_set_num_threads(1);
    const size_t per_step = (size_t)BATCH * width, n = STEPS * per_step;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
    double *x = malloc(per_step * sizeof *x), *wt = malloc(width * width * sizeof *wt);
    double *h = malloc(per_step * sizeof *h);
    cs_w1 *w = NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!a || !b || !sa || !sb || !x || !wt || !h || !rng || cs_w1_alloc(&w, 2 * n, 0) != 0) {
        fprintf(stderr, "bench_drift: out of memory\n");
        return 1;
    }
    gsl_rng_set(rng, 1);

    /* the layer: h = x W^T, (256 x width)(width x width), once per step */
    for (size_t i = 0; i < per_step; i++)
        x[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (size_t i = 0; i < width * width; i++)
        wt[i] = gsl_ran_gaussian_ziggurat(rng, 1.0 / sqrt((double)width));
    double t_gemm[GEMM_REPS];
    for (int r = 0; r < GEMM_REPS; r++) {
        double t0 = now_ns();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, (int)width, (int)width, 1.0,
                    x, (int)width, wt, (int)width, 0.0, h, (int)width);
        t_gemm[r] = now_ns() - t0;
    }
    double gemm = best(t_gemm, GEMM_REPS);
    double gemm_layer = 2.0 * STEPS * gemm; /* steps_a + steps_b dgemms */
    printf("dgemm %d x %zu x %zu (OpenBLAS, 1 thread): %.0f us (%.1f GFLOP/s), %.2f ns per "
           "value it makes; a layer's %d: %.1f ms\n",
           BATCH, width, width, gemm / 1e3, 2.0 * BATCH * width * width / gemm,
           gemm / (double)per_step, 2 * STEPS, gemm_layer / 1e6);
    printf("W1 of one slot: %d + %d steps of %d x %zu values (%.2f M values), %zu bins; "
           "best of %d\n",
           STEPS, STEPS, BATCH, width, 2.0 * n / 1e6, cs_w1_bins(2 * n), REPS);
    printf("%-28s %9s %8s %9s %8s %9s %8s %6s\n", "case", "w1", "ms", "ns/value", "sorted",
           "sort ms", "speedup", "/gemms");

    const double *pa[STEPS], *pb[STEPS];
    size_t len[STEPS];
    for (int s = 0; s < STEPS; s++) {
        pa[s] = a + (size_t)s * per_step;
        pb[s] = b + (size_t)s * per_step;
        len[s] = per_step;
    }
    cs_w1_sample xa = {pa, len, STEPS}, xb = {pb, len, STEPS};
    int bad = 0;
    for (int c = 0; c < CASE_COUNT; c++) {
        if (only >= 0 && c != only)
            continue;
        fill(a, n, (bench_case)c, 0, rng);
        fill(b, n, (bench_case)c, 1, rng);
        cs_w1_result r;
        double t[REPS];
        for (int k = 0; k < REPS; k++) {
            double t0 = now_ns();
            cs_w1_compute(&r, w, &xa, &xb);
            t[k] = now_ns() - t0;
        }
        double ours = best(t, REPS);
        double t0 = now_ns();
        double want = sort_w1(a, sa, n, b, sb, n);
        double sorting = now_ns() - t0;
        if (!(fabs(r.w1_raw - want) <= 1e-9 * want + 1e-15)) {
            fprintf(stderr, "%s: cs_w1 %.17g, sort-and-merge %.17g\n", case_name[c], r.w1_raw,
                    want);
            bad = 1;
        }
        printf("%-28s %9.5f %8.2f %9.2f %7.2f%% %9.1f %8.1f %6.3f\n", case_name[c], r.w1,
               ours / 1e6, ours / (2.0 * (double)n), 100.0 * (double)r.sorted / (2.0 * (double)n),
               sorting / 1e6, sorting / ours, ours / gemm_layer);
    }
    printf("/gemms: one slot's W1 over the %d dgemms that made its values (a layer records "
           "three slots)\n",
           2 * STEPS);
    cs_w1_free(w);
    gsl_rng_free(rng);
    free(a);
    free(b);
    free(sa);
    free(sb);
    free(x);
    free(wt);
    free(h);
    return bad;
}
