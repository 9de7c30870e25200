/* Drift metrics between phases A and B (docs/design.md §2): mean_shift,
 * var_log_ratio and kl_sym from per-unit phase estimates, w1 from the pooled
 * histograms. A NaN unit estimate (a unit that saw a nonfinite entry) makes
 * the metric NaN: a diverged stack is recorded as such. */
#include "cs_drift.h"

#include <float.h>
#include <math.h>

void cs_drift_accumulate(double *sum_mean, double *sum_var, const double *unit_mean,
                         const double *unit_var, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        sum_mean[j] += unit_mean[j];
        sum_var[j] += unit_var[j];
    }
}

void cs_drift_units(cs_drift *out, const double *mu_a, const double *v_a, const double *mu_b,
                    const double *v_b, size_t n)
{
    if (!n) {
        out->mean_shift = out->var_log_ratio = out->kl_sym = NAN;
        return;
    }
    double shift = 0.0, log_ratio = 0.0, kl = 0.0;
    for (size_t j = 0; j < n; j++) {
        /* docs/design.md §2: e = 1e-12 keeps dead units (variance 0) finite. */
        double va = v_a[j] + CS_DRIFT_EPS, vb = v_b[j] + CS_DRIFT_EPS;
        double d = mu_b[j] - mu_a[j];

        shift += fabs(d) / sqrt(va);

        /* |log(vb / va)|. Within a factor 2, vb - va is exact (Sterbenz) and
         * log1p((vb - va) / va) keeps full relative accuracy as the ratio
         * nears 1, where log(vb / va) would keep only absolute accuracy.
         * A ratio beyond the normal range (a dead unit against a diverged
         * one) takes the difference of logs instead. */
        double ratio = vb / va, lr;
        if (ratio > 0.5 && ratio < 2.0)
            lr = log1p((vb - va) / va);
        else if (ratio >= DBL_MIN && ratio <= DBL_MAX)
            lr = log(ratio);
        else
            lr = log(vb) - log(va);
        log_ratio += fabs(lr);

        /* KL(N(m1, v1) || N(m2, v2)) = (log(v2 / v1) + (v1 + (m1 - m2)^2) / v2 - 1) / 2.
         * In the mean of both directions the logs cancel:
         *   (KL(A||B) + KL(B||A)) / 2 = (va/vb + vb/va - 2 + d^2 (1/va + 1/vb)) / 4
         *                             = ((va - vb)^2 / (va vb) + d^2 / va + d^2 / vb) / 4
         * written with ratios so that nothing overflows unless the result
         * does (variances of 1e200 are what a diverged stack produces), and
         * identical units give exactly 0. */
        double dv = va - vb;
        kl += 0.25 * ((dv / va) * (dv / vb) + (d / va) * d + (d / vb) * d);
    }
    out->mean_shift = shift / (double)n;
    out->var_log_ratio = log_ratio / (double)n;
    out->kl_sym = kl / (double)n;
}

double cs_drift_w1(const uint64_t *counts_a, uint64_t under_a, uint64_t over_a,
                   const uint64_t *counts_b, uint64_t under_b, uint64_t over_b, size_t nbins,
                   double bin_width, double sd_a)
{
    uint64_t total_a = under_a + over_a, total_b = under_b + over_b;
    for (size_t k = 0; k < nbins; k++) {
        total_a += counts_a[k];
        total_b += counts_b[k];
    }
    if (!total_a || !total_b || !(sd_a > 0.0) || !isfinite(sd_a))
        return NAN;

    /* docs/design.md §2: W1 = integral |F_A - F_B| dx, on the bins
     *   F_P(k) = (under_P + sum_{i<=k} counts_P[i]) / total_P
     *   w1 = sum_k |F_A(k) - F_B(k)| * bin_width / sd_a
     * Cumulative counts stay integers, so each F is one rounding. */
    uint64_t cum_a = under_a, cum_b = under_b;
    double sum = 0.0;
    for (size_t k = 0; k < nbins; k++) {
        cum_a += counts_a[k];
        cum_b += counts_b[k];
        sum += fabs((double)cum_a / (double)total_a - (double)cum_b / (double)total_b);
    }
    return sum * bin_width / sd_a;
}
