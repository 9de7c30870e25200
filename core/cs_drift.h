/* Drift metrics between phases A and B (docs/design.md §2): mean_shift,
 * var_log_ratio, kl_sym from per-unit phase estimates, w1 from histograms. */
#ifndef CS_DRIFT_H
#define CS_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#define CS_DRIFT_EPS 1e-12 /* docs/design.md §2: e */

typedef struct {
    double mean_shift;    /* mean_j |mu_B - mu_A| / sqrt(v_A + e) */
    double var_log_ratio; /* mean_j |log((v_B + e) / (v_A + e))| */
    double kl_sym;        /* mean_j (KL(A||B) + KL(B||A)) / 2 of N(mu, v + e) per unit */
    double w1;            /* Wasserstein-1 of the pooled histograms / sd of A's first batch */
} cs_drift;

/* sum_mean[j] += unit_mean[j], sum_var[j] += unit_var[j]: the phase
 * accumulators; divide by the phase's batch count for mu_Pj, v_Pj. */
void cs_drift_accumulate(double *sum_mean, double *sum_var, const double *unit_mean,
                         const double *unit_var, size_t n);

/* Fills mean_shift, var_log_ratio, kl_sym of out from the per-unit phase
 * estimates mu_a, v_a, mu_b, v_b (n each). w1 is left untouched. */
void cs_drift_units(cs_drift *out, const double *mu_a, const double *v_a, const double *mu_b,
                    const double *v_b, size_t n);

/* W1 between two histograms on the same bins (docs/design.md §2):
 *   F_P(k) = (under_P + sum_{i<=k} counts_P[i]) / total_P
 *   w1 = sum_k |F_A(k) - F_B(k)| * bin_width / sd_a
 * NaN if either histogram is empty or sd_a is not positive and finite. */
double cs_drift_w1(const uint64_t *counts_a, uint64_t under_a, uint64_t over_a,
                   const uint64_t *counts_b, uint64_t under_b, uint64_t over_b, size_t nbins,
                   double bin_width, double sd_a);

#endif
