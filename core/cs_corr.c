/* The mean cosine similarity between a batch's rows (see cs_corr.h;
 * docs/design.md §2 corr_mean). Two row-major sweeps, no allocation. */
#include "cs_corr.h"

#include <math.h>

double cs_corr_mean(const double *x, size_t m, size_t n, double *sum, size_t *rows_used)
{
    size_t used = 0;
    double self = 0.0; /* sum_i ||u_i||^2, 1 per row up to rounding */
    int finite = 1;
    for (size_t j = 0; j < n; j++)
        sum[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *row = x + i * n;
        double ss = 0.0;
        for (size_t j = 0; j < n; j++)
            ss += row[j] * row[j];
        if (!isfinite(ss)) {
            finite = 0;
            break;
        }
        if (ss == 0.0)
            continue;
        double inv = 1.0 / sqrt(ss), uu = 0.0;
        for (size_t j = 0; j < n; j++) {
            double u = row[j] * inv;
            sum[j] += u;
            uu += u * u;
        }
        self += uu;
        used++;
    }
    if (rows_used)
        *rows_used = used;
    if (!finite || used < 2)
        return NAN;
    double s2 = 0.0;
    for (size_t j = 0; j < n; j++)
        s2 += sum[j] * sum[j];
    return (s2 - self) / ((double)used * (double)(used - 1));
}
