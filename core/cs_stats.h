/* Statistics of one batch x units matrix (DESIGN §2): moments, spread over
 * units, extremes, exact quantiles by selection, dead and saturated
 * fractions, nonfinite count; and histograms on fixed bins. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cs_activation.h"
#include "cs_alloc.h"

#define CS_STATS_NQ 5
/* DESIGN §2 quantile levels, in the order of cs_stats.q: p01 p15 p50 p85 p99 */
extern const double cs_stats_quantile_levels[CS_STATS_NQ];

typedef struct {
    double mean;           /* mean of all finite entries */
    double var;            /* biased variance of all finite entries (two-pass) */
    double mean_spread;    /* sd over units of the per-unit means */
    double var_within;     /* mean over units of the per-unit biased variances */
    double min, max;
    double q[CS_STATS_NQ]; /* order statistic at round(q (N-1)) of the finite entries */
    double frac_zero;      /* fraction of all entries exactly 0 */
    double frac_saturated; /* fraction with phi'(z) < 0.05 max phi'; NaN when no z given */
    long nonfinite;        /* entries that are NaN or +-Inf */
} cs_stats;

/* Workspace for cs_stats_compute, sized once for matrices of up to
 * max_entries entries and max_units units (STYLE 4: no malloc per batch). */
typedef struct cs_stats_work cs_stats_work;
cs_stats_work *cs_stats_work_alloc(size_t max_entries, size_t max_units);
void cs_stats_work_free(cs_stats_work *w);
/* Adds to plan, without allocating, what cs_stats_work_alloc(max_entries,
 * max_units) allocates, labelled what / keys for messages (cs_alloc.h). */
void cs_stats_work_plan(cs_alloc_plan *plan, size_t max_entries, size_t max_units,
                        const char *what, const char *keys);

/* Computes every DESIGN §2 column for x: (m, n) row-major, m rows (the
 * batch) by n units. Statistics are over the finite entries; nonfinite
 * entries are only counted (a diverged stack is recorded, not crashed on).
 * With no finite entry every moment and quantile is NaN.
 *   z, act: when z (m, n) is the pre-activation that produced x = phi(z),
 *     frac_saturated = #{phi'(z) < 0.05 max phi'} / (m n), 0 for linear;
 *     with z = NULL, frac_saturated = NaN (the site is not post).
 *   unit_mean, unit_var (n): out, per-unit mean and biased variance over
 *     the m rows (NaN for a unit with a nonfinite entry); may be NULL.
 * Returns CS_OK, or CS_EINVAL if m n exceeds the workspace. */
int cs_stats_compute(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                     cs_activation act, double *unit_mean, double *unit_var, cs_stats_work *w);

/* Histograms counted by cs_stats_compute_hist in its own passes (DESIGN
 * §2 histograms): x's entries are added to counts[0..nbins), *under and
 * *over exactly as cs_hist_accumulate(counts, under, over, nbins, lo, hi,
 * x, m n) adds them. With range_from_stats, lo and hi are first set by
 * cs_hist_range from this matrix's mean and var (phase A's first batch). */
typedef struct {
    size_t nbins;
    double lo, hi;        /* in; out with range_from_stats */
    int range_from_stats;
    uint64_t *counts, *under, *over; /* added to */
} cs_hist_spec;

/* Up to this many bins the histogram's own slots narrow the quantile
 * selection (one byte per entry records its slot). */
#define CS_STATS_NARROW_BINS 253

/* cs_stats_compute, and the histogram of x as hist says (NULL: none), in
 * the same passes: the histogram's slots also tell the selection where
 * the quantiles are. Same results, same errors, plus CS_EINVAL for a
 * histogram with nbins < 1 or NULL counts. */
int cs_stats_compute_hist(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                          cs_activation act, double *unit_mean, double *unit_var,
                          cs_hist_spec *hist, cs_stats_work *w);

/* Histogram range fixed by phase A's first batch (DESIGN §2):
 * [mean - 6 sd, mean + 6 sd]. When sd is 0 or not finite the range is
 * [mean - 1, mean + 1]; when mean is not finite, [-1, 1]. */
void cs_hist_range(double *lo, double *hi, double mean, double var);

/* Adds x[0..n) to counts[0..nbins) on equal bins over [lo, hi); values
 * below lo (and -Inf) to *under, at or above hi (and +Inf) to *over; NaN is
 * skipped. Requires lo < hi, nbins >= 1. */
void cs_hist_accumulate(uint64_t *counts, uint64_t *under, uint64_t *over, size_t nbins,
                        double lo, double hi, const double *x, size_t n);

#endif
