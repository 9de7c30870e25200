/* Drift metrics between phases A and B (docs/design.md §2): mean_shift,
 * var_log_ratio and kl_sym from per-unit phase estimates, w1 from the pooled
 * histograms (metrics version 1), and the per-unit metrics relative to the
 * layer's own scale with hellinger_sq (version 2). A NaN unit estimate (a
 * unit that saw a nonfinite entry) makes the metric NaN: a diverged stack
 * is recorded as such. */
#include "cs_drift.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

/* |log(vb / va)| for va, vb > 0. Within a factor 2, vb - va is exact
 * (Sterbenz) and log1p((vb - va) / va) keeps full relative accuracy as the
 * ratio nears 1, where log(vb / va) would keep only absolute accuracy. A
 * ratio beyond the normal range (a dead unit against a diverged one) takes
 * the difference of logs instead. */
static double cs_drift_abs_log_ratio(double vb, double va)
{
    double ratio = vb / va, lr;
    if (ratio > 0.5 && ratio < 2.0)
        lr = log1p((vb - va) / va);
    else if (ratio >= DBL_MIN && ratio <= DBL_MAX)
        lr = log(ratio);
    else
        lr = log(vb) - log(va);
    return fabs(lr);
}

/* KL(N(m1, v1) || N(m2, v2)) = (log(v2 / v1) + (v1 + (m1 - m2)^2) / v2 - 1) / 2.
 * In the mean of both directions the logs cancel:
 *   (KL(A||B) + KL(B||A)) / 2 = (va/vb + vb/va - 2 + d^2 (1/va + 1/vb)) / 4
 *                             = ((va - vb)^2 / (va vb) + d^2 / va + d^2 / vb) / 4
 * written with ratios so that nothing overflows unless the result does
 * (variances of 1e200 are what a diverged stack produces), and identical
 * units give exactly 0. d = mu_b - mu_a. */
static double cs_drift_kl_sym_term(double va, double vb, double d)
{
    double dv = va - vb;
    return 0.25 * ((dv / va) * (dv / vb) + (d / va) * d + (d / vb) * d);
}

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
        log_ratio += cs_drift_abs_log_ratio(vb, va);
        kl += cs_drift_kl_sym_term(va, vb, d);
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

/* Squared Hellinger distance between N(mu_a, va) and N(mu_b, vb), va > 0,
 * vb >= 0, d = mu_b - mu_a:
 *   H^2 = 1 - BC,  BC = sqrt(2 sa sb / (va + vb)) exp(-d^2 / (4 (va + vb)))
 * With r_P = s_P / max(sa, sb) (so nothing overflows) and
 *   t = 1 - 2 ra rb / (ra^2 + rb^2) = (ra - rb)^2 / (ra^2 + rb^2),
 *   log BC = log1p(-t) / 2 - (d / max)^2 / (4 (ra^2 + rb^2)),
 * H^2 = -expm1(log BC) keeps full relative accuracy for small drift, where
 * 1 - BC would keep only absolute accuracy. vb = 0 gives t = 1 and H^2 = 1
 * exactly (a Gaussian against a point mass), identical units +0. */
static double cs_drift_hellinger_sq_term(double va, double vb, double d)
{
    double sa = sqrt(va), sb = sqrt(vb);
    double smax = sa > sb ? sa : sb;
    double ra = sa / smax, rb = sb / smax, r2 = ra * ra + rb * rb;
    double t = (ra - rb) * (ra - rb) / r2, q = d / smax;
    double log_bc = 0.5 * log1p(-t) - q * q / (4.0 * r2);
    return 0.0 - expm1(log_bc);
}

void cs_drift_units_rel(cs_drift_rel *out, const double *mu_a, const double *v_a,
                        const double *mu_b, const double *v_b, size_t n)
{
    out->mean_shift = out->var_log_ratio = out->kl_sym = out->hellinger_sq = NAN;
    out->e = NAN;
    out->n_units = out->n_const_a = out->n_const_b = 0;
    if (!n)
        return;

    /* A nonfinite or negative estimate leaves every metric NaN. */
    for (size_t j = 0; j < n; j++)
        if (!isfinite(mu_a[j]) || !isfinite(mu_b[j]) || !(v_a[j] >= 0.0) ||
            !(v_b[j] >= 0.0) || !isfinite(v_a[j]) || !isfinite(v_b[j]))
            return;

    /* docs/design.md §2: e = delta s_A, s_A the mean of v_Aj over the units
     * compared, those with v_Aj > e: the fixed point of
     *   e_0 = 0,  e_(t+1) = delta mean{v_Aj : v_Aj > e_t}.
     * Each step drops units all smaller than those kept, so the mean and e
     * only grow and the set only shrinks (never to empty: delta < 1 keeps
     * the largest); it stops when the set does. The units left out never
     * enter s_A, so adding dead or constant units changes nothing about the
     * others, bit for bit. Each step spans a factor 1/delta of variances,
     * so there are at most ~100 of them; one or two in practice. */
    double e = 0.0;
    size_t used = 0;
    for (size_t prev = SIZE_MAX;;) {
        double sum = 0.0;
        used = 0;
        for (size_t j = 0; j < n; j++)
            if (v_a[j] > e) {
                sum += v_a[j];
                used++;
            }
        if (!used || used == prev)
            break;
        if (!isfinite(sum)) { /* variances near DBL_MAX: the mean without overflow */
            sum = 0.0;
            for (size_t j = 0; j < n; j++)
                if (v_a[j] > e)
                    sum += v_a[j] / (double)used;
            e = CS_DRIFT_DELTA * sum;
        } else {
            e = CS_DRIFT_DELTA * (sum / (double)used);
        }
        prev = used;
    }
    out->e = e;

    /* Units with v_Aj <= e are constant (or dead) in A: no spread of A's to
     * measure a shift in, so they are counted, not averaged. For the rest
     * e regularises v_B (a unit that stops varying in B) and moves the
     * metrics of a typical unit by ~delta. Every term is a ratio of
     * quantities of the same dimension: rescaling by c > 0 changes only
     * roundings. */
    double shift = 0.0, log_ratio = 0.0, kl = 0.0, h2 = 0.0;
    size_t const_b = 0, equal = 0;
    used = 0;
    for (size_t j = 0; j < n; j++) {
        double d = mu_b[j] - mu_a[j];
        if (!(v_a[j] > e)) {
            equal += d == 0.0 && v_b[j] == v_a[j];
            continue;
        }
        double va = v_a[j] + e, vb = v_b[j] + e;
        used++;
        const_b += !(v_b[j] > e);
        shift += fabs(d) / sqrt(va);
        log_ratio += cs_drift_abs_log_ratio(vb, va);
        kl += cs_drift_kl_sym_term(va, vb, d);
        h2 += cs_drift_hellinger_sq_term(v_a[j], v_b[j], d);
    }
    out->n_units = used;
    out->n_const_a = n - used;
    out->n_const_b = const_b;
    if (!used) {
        /* Every unit constant in A: no drift only if B is A exactly. */
        double none = equal == n ? 0.0 : NAN;
        out->mean_shift = out->var_log_ratio = out->kl_sym = out->hellinger_sq = none;
        return;
    }
    out->mean_shift = shift / (double)used;
    out->var_log_ratio = log_ratio / (double)used;
    out->kl_sym = kl / (double)used;
    out->hellinger_sq = h2 / (double)used;
}
