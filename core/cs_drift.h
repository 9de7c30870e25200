/* Drift metrics between phases A and B (docs/design.md §2): mean_shift,
 * var_log_ratio, kl_sym from per-unit phase estimates, w1 from histograms
 * (metrics version 1), and the per-unit metrics relative to the layer's own
 * scale (version 2; its exact w1 is cs_w1.h). */
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

/* ---- metrics version 2 (docs/design.md §2, per-unit drift) ----
 *
 * delta: the regulariser and the floor below which a unit counts as
 * constant, relative to the layer's scale: e = delta s_A, s_A the mean of
 * v_Aj over the units compared (those with v_Aj > e; cs_drift_units_rel
 * finds that fixed point), so units left out do not move it. At 1e-6 the
 * floor is a unit sd of 1e-3 of the compared units' typical sd (such a
 * unit carries a millionth of a typical unit's variance); it is far above
 * the rounding noise of an exactly constant unit's two-pass variance,
 * (m u)^2 mu^2 ~ 1e-27 mu^2 for a batch of m = 256 (u = 2^-53), unless
 * that unit's mean exceeds ~1e10 typical sds; and it moves a typical
 * unit's metrics by ~1e-6 relative, far below their sampling error (~1e-2
 * for 10 batches of 256). */
#define CS_DRIFT_DELTA 1e-6

typedef struct {
    double mean_shift;    /* mean_j |mu_B - mu_A| / sqrt(v_A + e) */
    double var_log_ratio; /* mean_j |log((v_B + e) / (v_A + e))| */
    double kl_sym;        /* mean_j (KL(A||B) + KL(B||A)) / 2 of N(mu, v + e) per unit */
    double hellinger_sq;  /* mean_j H^2(N(mu_A, v_A), N(mu_B, v_B)), in [0, 1]; needs no e */
    double e;             /* the regulariser: CS_DRIFT_DELTA x the mean of v_Aj over the
                             units compared (0 when none is) */
    size_t n_units;       /* units in the means: n - n_const_a */
    size_t n_const_a;     /* units with v_Aj <= e: constant (or dead) in A, excluded */
    size_t n_const_b;     /* units with v_Bj <= e among the others: their kl_sym is
                             about v_Aj / (4 e), set by e rather than the data */
} cs_drift_rel;

/* The per-unit drift of docs/design.md §2 (metrics version 2) from the
 * phase estimates mu_a, v_a, mu_b, v_b (n each, variances >= 0), every
 * metric invariant to rescaling the layer by any c > 0 (mu -> c mu,
 * v -> c^2 v). Units constant in A (v_Aj <= e) are left out of the means
 * and of e, and counted in n_const_a: adding such units leaves the metrics
 * bit-identical. When every unit is constant in A (n_units 0),
 * each metric is 0 if B's estimates equal A's exactly, else NaN. When any
 * estimate is NaN or infinite (a diverged stack), every metric is NaN, e
 * is NaN and the counts are 0. n = 0 gives NaN metrics and zero counts. */
void cs_drift_units_rel(cs_drift_rel *out, const double *mu_a, const double *v_a,
                        const double *mu_b, const double *v_b, size_t n);

#endif
