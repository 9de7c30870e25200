/* The statistics record of one batch x units matrix (docs/design.md §2):
 * moments, spread over units, extremes, quantiles, dead and saturated
 * fractions, nonfinite count, and its histogram, in one fused pass. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cs_activation.h"
#include "cs_alloc.h"
#include "cs_hist.h"

#define CS_STATS_NQ 5
/* docs/design.md §2 quantile levels, in the order of cs_stats.q: p01 p15 p50 p85 p99 */
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
    double corr_mean;      /* mean cosine between rows (cs_corr_mean); NaN from
                              cs_stats_compute, which leaves it to the caller */
} cs_stats;

/* Workspace for cs_stats_compute, sized once for matrices of up to
 * max_entries entries and max_units units, so that no call allocates.
 * On success *out is the workspace (free with cs_stats_work_free) and the
 * return is CS_OK; else *out is NULL and the return is CS_EINVAL (sizes
 * overflowing size_t) or CS_ENOMEM, with the message recorded. */
typedef struct cs_stats_work cs_stats_work;
int cs_stats_work_alloc(cs_stats_work **out, size_t max_entries, size_t max_units);
/* Frees w; NULL is a no-op. */
void cs_stats_work_free(cs_stats_work *w);
/* Adds to plan, without allocating, what cs_stats_work_alloc(max_entries,
 * max_units) allocates, labelled what / keys for messages (cs_alloc.h). */
void cs_stats_work_plan(cs_alloc_plan *plan, size_t max_entries, size_t max_units,
                        const char *what, const char *keys);

/* Computes every docs/design.md §2 column for x: (m, n) row-major, m rows
 * (the batch) by n units. Statistics are over the finite entries;
 * nonfinite entries are only counted (a diverged stack is recorded, not
 * crashed on). With no finite entry every moment and quantile is NaN.
 *   z, act: when z (m, n) is the pre-activation that produced x = phi(z),
 *     frac_saturated = #{phi'(z) < 0.05 max phi'} / (m n), 0 for linear;
 *     with z = NULL, frac_saturated = NaN (the site is not post).
 *   unit_mean, unit_var (n): out, per-unit mean and biased variance over
 *     the m rows (NaN for a unit with a nonfinite entry); may be NULL.
 * Returns CS_OK, or CS_EINVAL for a NULL out, x or w, an activation out of
 * range, or m n exceeding the workspace. */
int cs_stats_compute(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                     cs_activation act, double *unit_mean, double *unit_var, cs_stats_work *w);

/* Up to this many bins the histogram's own slots narrow the quantile
 * selection (one byte per entry records its slot). */
#define CS_STATS_NARROW_BINS CS_HIST_SLOT_BINS_MAX

/* cs_stats_compute, and the histogram of x as hist says (NULL: none), in
 * the same passes: the histogram's slots also tell the selection where
 * the quantiles are. Same results, same errors, plus CS_EINVAL for a
 * histogram with nbins < 1, NULL counts, or (without range_from_stats) a
 * range that is not finite lo < hi. */
int cs_stats_compute_hist(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                          cs_activation act, double *unit_mean, double *unit_var,
                          cs_hist_spec *hist, cs_stats_work *w);

#endif
