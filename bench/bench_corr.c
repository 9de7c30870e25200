/* Micro-benchmark of corr_mean (cs_corr_mean, docs/design.md §2) against
 * the layer's product that makes the batch it measures: h = x W^T with x
 * (m, n_in), W (n_out, n_in), one dgemm, single-threaded as a run calls it.
 * Shapes: the quickstart's (128 x 256 -> 256) and the bench's (256 x 1024
 * -> 1024). Times are medians within this one run. The exact statistic
 * costs 2 m n multiply-adds against the product's m n_in n_out: the bound
 * is 2 / n_in, so < 1/10 of the product needs n_in > 20. */
#include "cs_corr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_cblas.h>

void openblas_set_num_threads(int num_threads); /* OpenBLAS's API, not in gsl_cblas.h */

enum { REPS = 51 };

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

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, compare_doubles);
    return t[n / 2];
}

static int bench_shape(size_t m, size_t n_in, size_t n_out)
{
    double *x = malloc(m * n_in * sizeof *x), *W = malloc(n_out * n_in * sizeof *W);
    double *h = malloc(m * n_out * sizeof *h), *sum = malloc(n_out * sizeof *sum);
    double t_gemm[REPS], t_corr[REPS], sink = 0;
    if (!x || !W || !h || !sum) {
        fprintf(stderr, "bench_corr: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < m * n_in; i++)
        x[i] = sin(0.37 * (double)i) + 0.3;
    for (size_t i = 0; i < n_out * n_in; i++)
        W[i] = cos(0.11 * (double)i) / sqrt((double)n_in);
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ns();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n_out, (int)n_in, 1.0,
                    x, (int)n_in, W, (int)n_in, 0.0, h, (int)n_out);
        double t1 = now_ns();
        sink += cs_corr_mean(h, m, n_out, sum, NULL);
        double t2 = now_ns();
        t_gemm[r] = t1 - t0;
        t_corr[r] = t2 - t1;
    }
    double g = median(t_gemm, REPS), c = median(t_corr, REPS);
    printf("%4zu x %4zu -> %4zu: product %9.1f us, corr_mean %7.1f us, ratio %.4f "
           "(bound 2/n_in = %.4f)  [%.3g]\n",
           m, n_in, n_out, g / 1e3, c / 1e3, c / g, 2.0 / (double)n_in, sink);
    free(x), free(W), free(h), free(sum);
    return 0;
}

int main(void)
{
    openblas_set_num_threads(1);
    printf("medians of %d repetitions, one thread\n", REPS);
    return bench_shape(128, 256, 256) || bench_shape(256, 1024, 1024) || bench_shape(128, 64, 64);
}
