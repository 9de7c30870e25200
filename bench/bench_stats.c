/* Micro-benchmark of cs_stats_compute (docs/design.md §2) on a 256 x 1024 batch:
 * selection-based quantiles against a baseline that sorts a copy with qsort
 * and takes the same moments, and against one 256 x 1024 x 1024 dgemm (the
 * layer that produced the batch) for scale. Times are medians within this
 * one run, so ratios compare like with like on this machine. */
#include "cs_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* GSL's CBLAS prototypes, not OpenBLAS's cblas.h: gsl_randist.h pulls in
 * gsl_cblas.h and the two headers clash. The symbols are OpenBLAS's at link
 * time either way (docs/design.md §6). */
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

void openblas_set_num_threads(int num_threads); /* OpenBLAS's API, not in gsl_cblas.h */

enum { M = 256, N = 1024, K = 1024, REPS = 41, GEMM_REPS = 11 };

/* The baseline's output, the columns both compute. */
typedef struct {
    double mean, var, mean_spread, var_within, min, max, frac_zero;
    double q[CS_STATS_NQ];
} baseline_stats;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int compare_ns(const void *pa, const void *pb) { return compare_doubles(pa, pb); }

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, compare_ns);
    return t[n / 2];
}

/* The straightforward way: the same two-pass moments (global, then per
 * unit), quantiles by sorting a copy. */
static void baseline_compute(baseline_stats *out, const double *x, double *copy, double *umean,
                             double *uvar)
{
    const size_t count = (size_t)M * N;
    double s = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < count; i++) {
        s += x[i];
        zeros += x[i] == 0.0;
    }
    double mean = s / (double)count, d2 = 0;
    for (size_t i = 0; i < count; i++)
        d2 += (x[i] - mean) * (x[i] - mean);
    memset(umean, 0, N * sizeof *umean);
    memset(uvar, 0, N * sizeof *uvar);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++)
            umean[j] += x[i * N + j];
    for (size_t j = 0; j < N; j++)
        umean[j] /= M;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++)
            uvar[j] += (x[i * N + j] - umean[j]) * (x[i * N + j] - umean[j]);
    double mu = 0, spread = 0, within = 0;
    for (size_t j = 0; j < N; j++)
        mu += umean[j] / N;
    for (size_t j = 0; j < N; j++) {
        spread += (umean[j] - mu) * (umean[j] - mu) / N;
        within += uvar[j] / M / N;
    }
    memcpy(copy, x, count * sizeof *copy);
    qsort(copy, count, sizeof *copy, compare_doubles);
    for (int k = 0; k < CS_STATS_NQ; k++)
        out->q[k] = copy[(size_t)round(cs_stats_quantile_levels[k] * (double)(count - 1))];
    out->mean = mean;
    out->var = d2 / (double)count;
    out->mean_spread = sqrt(spread);
    out->var_within = within;
    out->min = copy[0];
    out->max = copy[count - 1];
    out->frac_zero = (double)zeros / (double)count;
}

static int close_enough(double a, double b) { return fabs(a - b) <= 1e-12 * fabs(b) + 1e-15; }

/* Times cs_stats_compute (with z when given) and the baseline on x, after
 * checking that their quantiles are identical. Returns the median ns of
 * cs_stats_compute, or a negative value on mismatch. */
static double bench_matrix(const char *name, const double *x, const double *z,
                           cs_activation act, cs_stats_work *w, double *copy, double *umean,
                           double *uvar)
{
    cs_stats st;
    baseline_stats base;
    if (cs_stats_compute(&st, x, M, N, z, act, umean, uvar, w) != 0)
        return -1;
    baseline_compute(&base, x, copy, umean, uvar);
    for (int k = 0; k < CS_STATS_NQ; k++) {
        if (st.q[k] != base.q[k]) {
            fprintf(stderr, "%s: quantile %d differs: %.17g vs %.17g\n", name, k, st.q[k],
                    base.q[k]);
            return -1;
        }
    }
    if (st.min != base.min || st.max != base.max || st.frac_zero != base.frac_zero ||
        !close_enough(st.mean, base.mean) || !close_enough(st.var, base.var) ||
        !close_enough(st.mean_spread, base.mean_spread) ||
        !close_enough(st.var_within, base.var_within)) {
        fprintf(stderr, "%s: moments differ\n", name);
        return -1;
    }

    /* Each in its own loop, as in a run: the same buffers every call, x
     * just written by the layer, so warm in cache. */
    double t_cs[REPS], t_base[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        cs_stats_compute(&st, x, M, N, z, act, umean, uvar, w);
        t_cs[r] = now_ns() - t0;
    }
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        baseline_compute(&base, x, copy, umean, uvar);
        t_base[r] = now_ns() - t0;
    }
    double cs = median(t_cs, REPS), bl = median(t_base, REPS);
    printf("%-34s covshift %10.0f ns  qsort baseline %11.0f ns  baseline/covshift %6.1f\n",
           name, cs, bl, bl / cs);
    return cs;
}

int main(void)
{
    const size_t count = (size_t)M * N;
    /* One thread for BLAS, as the stats are single-threaded: the ratio then
     * compares work, not core counts (the tests run with the same setting). */
    openblas_set_num_threads(1);

    double *x = malloc(count * sizeof *x), *relu = malloc(count * sizeof *relu);
    double *copy = malloc(count * sizeof *copy), *umean = malloc(N * sizeof *umean);
    double *uvar = malloc(N * sizeof *uvar);
    double *a = malloc((size_t)M * K * sizeof *a), *wt = malloc((size_t)N * K * sizeof *wt);
    double *c = malloc(count * sizeof *c);
    cs_stats_work *w = NULL;
    cs_stats_work_alloc(&w, count, N); /* w stays NULL on failure */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!x || !relu || !copy || !umean || !uvar || !a || !wt || !c || !w || !rng) {
        fprintf(stderr, "bench_stats: out of memory\n");
        return 1;
    }
    gsl_rng_set(rng, 1);
    for (size_t i = 0; i < count; i++) {
        x[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        relu[i] = x[i] > 0 ? x[i] : 0.0; /* half exact zeros: dead relus */
    }
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (size_t i = 0; i < (size_t)N * K; i++)
        wt[i] = gsl_ran_gaussian_ziggurat(rng, 1.0 / 32.0);

    printf("cs_stats_compute on a %d x %d matrix, median of %d calls\n", M, N, REPS);
    double t_gauss = bench_matrix("gaussian", x, NULL, CS_ACT_LINEAR, w, copy, umean, uvar);
    double t_relu = bench_matrix("relu (half zeros)", relu, NULL, CS_ACT_LINEAR, w, copy,
                                 umean, uvar);
    double t_relu_z = bench_matrix("relu, with z (frac_saturated)", relu, x, CS_ACT_RELU, w,
                                   copy, umean, uvar);
    double t_tanh_z = bench_matrix("gaussian, with z (tanh')", x, x, CS_ACT_TANH, w, copy,
                                   umean, uvar);
    /* gelu and selu have a saturated side only below: the threshold pass
     * must still clear the other side (it did not before: 9.3 ms) */
    double t_gelu_z = bench_matrix("gaussian, with z (gelu')", x, x, CS_ACT_GELU, w, copy,
                                   umean, uvar);
    if (t_gauss < 0 || t_relu < 0 || t_relu_z < 0 || t_tanh_z < 0 || t_gelu_z < 0) {
        fprintf(stderr, "bench_stats: cs_stats_compute and the baseline disagree\n");
        return 1;
    }

    /* Histogram of the same batch on 64 bins (docs/design.md §2), per call. */
    double t_hist[REPS], lo, hi;
    uint64_t counts[64] = {0}, under = 0, over = 0;
    cs_hist_range(&lo, &hi, 0.0, 1.0);
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        cs_hist_accumulate(counts, &under, &over, 64, lo, hi, x, count);
        t_hist[r] = now_ns() - t0;
    }
    double hist_alone = median(t_hist, REPS);
    printf("cs_hist_accumulate, 64 bins           %10.0f ns\n", hist_alone);

    /* As the network records a site: statistics and its 64-bin histogram
     * in one call (cs_stats_compute_hist), against the two calls. */
    double t_both[REPS], t_apart[REPS];
    cs_stats st;
    for (int r = 0; r < REPS; r++) {
        cs_hist_spec spec = {64, lo, hi, 0, counts, &under, &over};
        double t0 = now_ns();
        cs_stats_compute_hist(&st, x, M, N, x, CS_ACT_TANH, umean, uvar, &spec, w);
        t_both[r] = now_ns() - t0;
        t0 = now_ns();
        cs_stats_compute(&st, x, M, N, x, CS_ACT_TANH, umean, uvar, w);
        cs_hist_accumulate(counts, &under, &over, 64, lo, hi, x, count);
        t_apart[r] = now_ns() - t0;
    }
    printf("tanh with z + histogram: one call %10.0f ns, stats then histogram %10.0f ns\n",
           median(t_both, REPS), median(t_apart, REPS));

    /* The layer that makes such a batch: h = x W^T, (256 x 1024)(1024 x 1024). */
    double t_gemm[GEMM_REPS];
    for (int r = 0; r < GEMM_REPS; r++) {
        double t0 = now_ns();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0, a, K, wt, K, 0.0, c,
                    N);
        t_gemm[r] = now_ns() - t0;
    }
    double gemm = median(t_gemm, GEMM_REPS);
    printf("dgemm %d x %d x %d (OpenBLAS, 1 thread) %10.0f ns (%.1f GFLOP/s)\n", M, N, K, gemm,
           2.0 * M * N * K / gemm);
    printf("stats/gemm: gaussian %.3f, relu %.3f, relu with z %.3f, tanh with z %.3f\n",
           t_gauss / gemm, t_relu / gemm, t_relu_z / gemm, t_tanh_z / gemm);

    gsl_rng_free(rng);
    cs_stats_work_free(w);
    free(x);
    free(relu);
    free(copy);
    free(umean);
    free(uvar);
    free(a);
    free(wt);
    free(c);
    return 0;
}
