/* The in-memory result of one run: every row the results store writes for
 * it (docs/design.md §2, §3). The network fills it; the store writes it in one
 * transaction, so the write lock is held for the write only. */
#ifndef CS_RESULT_H
#define CS_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "cs_alloc.h"
#include "cs_drift.h"
#include "cs_params.h"
#include "cs_stats.h"

typedef enum { CS_SITE_PRE = 0, CS_SITE_NORM = 1, CS_SITE_POST = 2, CS_SITE_COUNT } cs_site;
const char *cs_site_name(cs_site s); /* "pre", "norm", "post" */

/* Layer 0 (the input) has only site post; layers 1..depth have all three,
 * so a run has 3 depth + 1 (layer, site) slots. */
size_t cs_result_slots(int depth);
/* Slot index of (layer, site); layer 0 must use CS_SITE_POST. */
size_t cs_result_slot(int layer, cs_site site);
/* The inverse of cs_result_slot. */
void cs_result_slot_decode(size_t slot, int *layer, cs_site *site);

/* The rows of the claims' measurements (docs/design.md §2). NaN where a
 * value has no meaning (stored as NULL). */
typedef struct {
    double loss;        /* the step's loss, the same on every layer's row */
    double grad_x_norm; /* mean over examples of ||dL/dx^(l)_i|| (post site; layer 0: input) */
    double grad_h_norm; /* mean over examples of ||dL/dh^(l)_i|| (pre site); NaN at layer 0 */
    double grad_w_norm; /* ||dL/dW^(l)||_F; NaN at layer 0 */
    double grad_b_norm; /* ||dL/db^(l)||; NaN at layer 0 */
} cs_grad_row;

typedef struct {
    double noise;      /* sqrt(var_across / signal) */
    double var_across; /* mean over probes, units of the variance across compositions */
    double signal;     /* mean over probes, units of the squared mean (unbiased) */
} cs_noise_row;

typedef struct {
    double mean_gap;  /* mean_j |rm_j - pm_j| / sqrt(pv_j + e) */
    double var_gap;   /* mean_j |log((rv_j + e) / (pv_j + e))| */
    double var_ratio; /* mean_j rv_j / pv_j */
} cs_gap_row;

/* A drift row (docs/design.md §2), in the version params.metrics says.
 * The first four are cs_drift's (version 1) or cs_drift_rel's and the
 * exact W1's (version 2); the rest only version 2 has. */
typedef struct {
    double mean_shift, var_log_ratio, kl_sym, w1;
    double hellinger_sq;          /* NaN (stored NULL) for metrics 1 */
    int64_t n_const_a, n_const_b; /* units constant in A, in B; -1 (NULL) for metrics 1 */
} cs_drift_row;

typedef struct {
    cs_run_params params;
    int steps;             /* steps_a + steps_b */
    size_t nslots;         /* cs_result_slots(depth) */
    int bins;
    /* layer_stats: stats[step * nslots + slot]; step < steps_a is phase A */
    cs_stats *stats;
    /* histograms per phase (0 = A, 1 = B) and slot:
     * hist[(phase * nslots + slot) * (bins + 2) + 0] is underflow,
     * ... + 1 + k is bin k, ... + bins + 1 is overflow */
    uint64_t *hist;
    double *hist_lo, *hist_hi; /* per slot: the range fixed by A's first batch */
    cs_drift_row *drift;       /* per slot */
    double wall_s;             /* compute time of the run */
    /* grad_stats: grad[step * (depth + 1) + layer]; NULL unless params.grad */
    cs_grad_row *grad;
    /* bn_noise: noise[slot] for layers >= 1; NULL unless noise_probes > 0 */
    cs_noise_row *noise;
    /* running_gap: gap[layer], 0..depth; NULL unless population > 0 and
     * norm = batch (cs_result_has_gap) */
    cs_gap_row *gap;
} cs_result;

/* 1 when p asks for running_gap rows (population > 0, norm = batch). */
int cs_result_has_gap(const cs_run_params *p);

/* A result with every array sized for p (contents zero) into *out; the
 * caller owns it and frees it with cs_result_free (NULL is a no-op).
 * Returns CS_OK, or with the message and *out = NULL: CS_EINVAL (p does
 * not pass cs_params_validate, or a size overflows), CS_ENOMEM. */
int cs_result_alloc(cs_result **out, const cs_run_params *p);
void cs_result_free(cs_result *r); /* and every array it owns; NULL is a no-op */

/* Adds to plan, without allocating, what cs_result_alloc(p) allocates. */
void cs_result_plan(const cs_run_params *p, cs_alloc_plan *plan);

#endif
