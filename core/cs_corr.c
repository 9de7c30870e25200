/* The mean cosine similarity between a batch's rows (see cs_corr.h;
 * docs/design.md §2 corr_mean). Two row-major sweeps, no allocation. */
#include "cs_corr.h"

#include <math.h>

/* sum_j x_j^2 with eight partial sums, so that the additions do not wait
 * on each other and vectorise (the compiler may not reorder a
 * floating-point sum on its own). */
static double cs_corr_sumsq(const double *x, size_t n)
{
    double acc[8] = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (size_t k = 0; k < 8; k++)
            acc[k] += x[j + k] * x[j + k];
    for (; j < n; j++)
        acc[0] += x[j] * x[j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double cs_corr_mean(const double *x, size_t m, size_t n, double *sum, size_t *rows_used)
{
    size_t used = 0;
    double self = 0.0; /* sum_i ||u_i||^2 = sum_i ss_i / ss_i: 1 per row up to rounding */
    int finite = 1;
    for (size_t j = 0; j < n; j++)
        sum[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *row = x + i * n;
        double ss = cs_corr_sumsq(row, n);
        if (!isfinite(ss)) {
            finite = 0;
            break;
        }
        if (ss == 0.0)
            continue;
        double inv = 1.0 / sqrt(ss);
        /* S += u_i = x_i / ||x_i||: one vectorised sweep */
        for (size_t j = 0; j < n; j++)
            sum[j] += row[j] * inv;
        self += ss * inv * inv;
        used++;
    }
    if (rows_used)
        *rows_used = used;
    if (!finite || used < 2)
        return NAN;
    return (cs_corr_sumsq(sum, n) - self) / ((double)used * (double)(used - 1));
}
