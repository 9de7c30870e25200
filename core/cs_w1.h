/* Exact Wasserstein-1 distance between the pooled empirical distributions
 * of two samples, over the range of both (docs/design.md §2, w1 of metrics
 * version 2): a fine histogram with per-bin sums integrates |F_A - F_B|
 * exactly in every bin where it cannot change sign; the few bins where it
 * can are resolved by sorting their values (heavy ones first split into
 * sub-bins the same way). */
#ifndef CS_W1_H
#define CS_W1_H

#include <stddef.h>
#include <stdint.h>

#include "cs_alloc.h"

/* One sample as chunks (one per step): chunk[i][0..len[i]), count chunks.
 * A chunk of length 0 may be NULL. */
typedef struct {
    const double *const *chunk;
    const size_t *len;
    size_t count;
} cs_w1_sample;

typedef struct {
    double w1;            /* W1 / sd_a (NaN: see cs_w1_compute) */
    double w1_err;        /* |w1 - exact| <= w1_err; 0 unless the workspace's capacity
                             was too small for one bin (see cs_w1_alloc) */
    double w1_raw;        /* W1 = integral |F_A - F_B| dx, in the values' units */
    double sd_a;          /* biased sd of A's finite values, pooled over its chunks */
    double lo, hi;        /* smallest and largest finite value of A and B */
    uint64_t n_a, n_b;    /* finite values used */
    uint64_t nonfinite_a, nonfinite_b; /* NaN and +-Inf values, excluded */
    size_t bins;          /* fine bins used (cs_w1_bins) */
    uint64_t sorted;      /* values sorted to resolve bins where F_A - F_B may change sign */
    int passes;           /* passes over the values: 2 to 4 (see cs_w1_compute) */
} cs_w1_result;

typedef struct cs_w1 cs_w1;

/* Most bins, and the values per bin the rule aims at. 2^16 bins of A and B
 * take 2.6 MB: they stay in a core's L2 cache. */
#define CS_W1_MAX_BINS ((size_t)1 << 16)
#define CS_W1_MIN_BINS ((size_t)16)
#define CS_W1_VALUES_PER_BIN 32

/* The number of fine bins for n finite values of A and B together: the
 * power of two nearest above n / CS_W1_VALUES_PER_BIN, within
 * [CS_W1_MIN_BINS, CS_W1_MAX_BINS]. A function of n alone, so a result
 * does not depend on the workspace that computed it. */
size_t cs_w1_bins(uint64_t n);

/* A workspace for samples of up to max_values finite values (A and B
 * together; it fixes the bins, cs_w1_bins(max_values)), with a buffer of
 * capacity values for the bins that need sorting (0: max_values). The
 * result is exact whenever no single such bin holds more than capacity
 * values, which capacity = max_values guarantees; with less, those bins
 * are bounded (cs_w1_result.w1_err) and the values may need more passes.
 * Memory: ~270 bytes per bin (8 per value, at most 18 MB from 2^16 bins)
 * plus 8 bytes per value of capacity; cs_w1_plan counts it exactly.
 * On success *out is the workspace (free with cs_w1_free); on failure
 * *out is NULL and the code is CS_ENOMEM or CS_EINVAL (sizes that
 * overflow), with the message saying how much. */
int cs_w1_alloc(cs_w1 **out, size_t max_values, size_t capacity);

/* Adds to plan, without allocating, what cs_w1_alloc(max_values,
 * capacity) allocates, labelled what / keys for messages (cs_alloc.h). */
void cs_w1_plan(cs_alloc_plan *plan, size_t max_values, size_t capacity, const char *what,
                const char *keys);

void cs_w1_free(cs_w1 *w);

/* W1 between the empirical distributions of A's and B's finite values
 * (docs/design.md §2):
 *   W1 = integral |F_A(x) - F_B(x)| dx,  w1 = W1 / sd_a,
 * F_P the empirical CDF of all finite values of P (A and B may differ in
 * size), sd_a the biased sd of A's (from sums about a pilot near A's mean).
 * NaN and +-Inf are excluded and counted. Exact up to rounding: each value
 * enters as its offset from a bin edge, rounded to ~2^-53 (hi - lo), so
 * the error of w1_raw is at most a few 2^-53 (hi - lo) plus ~2^-53 of W1
 * from the compensated sum over bins (tests: 3e-16 relative against a
 * sort-and-merge). The value is the same for any workspace that keeps
 * w1_err = 0, and invariant (to rounding) under x -> c x for any c > 0.
 * Special cases (out->w1; w1_raw and sd_a are always set when defined):
 *   no finite value in A or in B: w1, w1_raw, sd_a NaN;
 *   sd_a = 0 (A constant): w1 = 0 if every finite value of B equals A's,
 *     else NaN (w1_raw is the distance).
 * Passes: one for the range (and A's moments), one to histogram, one to
 * split heavy bins into sub-bins when sorting them would cost more (tanh's
 * saturated tails), one more for each round of sorting (usually one, none
 * when F_A - F_B keeps its sign in every bin).
 * Allocates nothing. Returns CS_OK, or CS_EINVAL (message: what was wrong)
 * for a NULL out, w, a or b, a NULL chunk list or chunk of nonzero
 * length, more than 2^31 - 1 finite values in A or in B, or more values
 * than the workspace's bins were sized for. */
int cs_w1_compute(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a, const cs_w1_sample *b);

/* What the range pass of cs_w1_compute finds about one sample, for a
 * caller that knows it already (the statistics recorder has every step's
 * extremes and moments): its finite and nonfinite counts, the smallest and
 * largest finite value, and (A only; B's are not read) the mean and biased
 * variance of its finite values. */
typedef struct {
    uint64_t n, nonfinite;
    double lo, hi;
    double mean, var;
} cs_w1_summary;

/* cs_w1_compute without its range pass: the same W1 from sa and sb, which
 * must describe a and b exactly (an lo above a finite value, or an hi
 * below one, would lose that value; this is not checked). sa->var enters
 * only through sd_a, so a variance pooled from per-chunk moments gives w1
 * to within the rounding of that pooling. One pass fewer over the values
 * (passes counts the others). Returns what cs_w1_compute returns, and
 * CS_EINVAL for a NULL summary or a range that is not finite lo <= hi. */
int cs_w1_compute_known(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a,
                        const cs_w1_summary *sa, const cs_w1_sample *b, const cs_w1_summary *sb);

#endif
