/* The statistics record of one batch x units matrix (docs/design.md §2):
 * two-pass moments with per-unit accumulators, extremes, zero and nonfinite
 * counts, and the fused pass that adds the histogram (cs_hist), the
 * quantiles (cs_select) and frac_saturated (cs_saturation) to them. */
#include "cs_stats.h"

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_saturation.h"
#include "cs_select.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* docs/design.md §2: p01 p15 p50 p85 p99 */
const double cs_stats_quantile_levels[CS_STATS_NQ] = {0.01, 0.15, 0.50, 0.85, 0.99};

struct cs_stats_work {
    size_t max_entries, max_units;
    double *select;      /* (max_entries) finite entries, permuted by selection */
    double *unit_mean;   /* (max_units) column sums, then per-unit means */
    double *unit_m2;     /* (max_units) per-unit sum of squared deviations */
    cs_hist_slots slots; /* slot_of: (max_entries) */
};

/* The workspace's arrays, listed once for cs_stats_work_alloc and
 * cs_stats_work_plan. */
static void cs_stats_work_arrays(cs_stats_work *w, cs_alloc_plan *plan, size_t max_entries,
                                 size_t max_units, const char *what, const char *keys)
{
    CS_ALLOC_TAKE(plan, w->select, what, keys, max_entries);
    CS_ALLOC_TAKE(plan, w->unit_mean, what, keys, max_units);
    CS_ALLOC_TAKE(plan, w->unit_m2, what, keys, max_units);
    CS_ALLOC_TAKE(plan, w->slots.slot_of, what, keys, max_entries);
}

int cs_stats_work_alloc(cs_stats_work **out, size_t max_entries, size_t max_units)
{
    *out = NULL;
    cs_stats_work *w = cs_calloc(1, sizeof *w);
    if (!w)
        return CS_ENOMEM;
    w->max_entries = max_entries;
    w->max_units = max_units;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_stats_work_arrays(w, &plan, max_entries, max_units, "a statistics workspace", NULL);
    if (plan.rc != CS_OK) {
        cs_stats_work_free(w);
        return plan.rc;
    }
    *out = w;
    return CS_OK;
}

void cs_stats_work_plan(cs_alloc_plan *plan, size_t max_entries, size_t max_units,
                        const char *what, const char *keys)
{
    cs_stats_work w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_stats_work_arrays(&w, &count, max_entries, max_units, what, keys);
    cs_alloc_plan_add(plan, &count);
}

void cs_stats_work_free(cs_stats_work *w)
{
    if (!w)
        return;
    cs_free(w->select);
    cs_free(w->unit_mean);
    cs_free(w->unit_m2);
    cs_free(w->slots.slot_of);
    cs_free(w);
}

/* docs/design.md §2: the quantile at level q of N entries is the order
 * statistic at rank round(q (N-1)), 0-based. */
static void quantile_ranks(size_t count, size_t ranks[CS_STATS_NQ])
{
    double last = (double)(count - 1);
    for (int k = 0; k < CS_STATS_NQ; k++) {
        ranks[k] = (size_t)round(cs_stats_quantile_levels[k] * last);
        assert(ranks[k] < count && (k == 0 || ranks[k] >= ranks[k - 1]));
    }
}

/* Quantiles of an all-finite x (count entries) without selecting over all
 * of them. One pass puts every entry in a histogram slot: the caller's
 * histogram when it has at most CS_STATS_NARROW_BINS bins (counted on the
 * way, so the histogram costs no pass of its own), else 64 bins over this
 * matrix's mean +- 6 sd. Selection then runs among the entries of the
 * slots that hold the wanted ranks only; the order statistics are exactly
 * the same. */
static void quantiles_finite(cs_stats *out, const double *x, size_t count, size_t zeros,
                             size_t negatives, cs_hist_spec *hist, cs_stats_work *w)
{
    cs_hist_slots *slots = &w->slots;
    int own = !hist || hist->nbins > CS_STATS_NARROW_BINS;
    if (own) {
        slots->nbins = 64;
        cs_hist_range(&slots->lo, &slots->hi, out->mean, out->var);
        if (hist)
            cs_hist_accumulate(hist->counts, hist->under, hist->over, hist->nbins, hist->lo,
                               hist->hi, x, count);
    } else {
        slots->nbins = hist->nbins;
        slots->lo = hist->lo;
        slots->hi = hist->hi;
    }
    cs_hist_assign_slots(slots, x, count);
    if (!own) {
        size_t nbins = slots->nbins;
        *hist->under += slots->tally[0];
        for (size_t k = 0; k < nbins; k++)
            hist->counts[k] += slots->tally[1 + k];
        *hist->over += slots->tally[nbins + 1];
    }
    size_t ranks[CS_STATS_NQ];
    quantile_ranks(count, ranks);
    cs_select_in_slots(out->q, x, count, zeros, negatives, ranks, CS_STATS_NQ, slots, w->select);
}

int cs_stats_compute(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                     cs_activation act, double *unit_mean, double *unit_var, cs_stats_work *w)
{
    return cs_stats_compute_hist(out, x, m, n, z, act, unit_mean, unit_var, NULL, w);
}

int cs_stats_compute_hist(cs_stats *out, const double *x, size_t m, size_t n, const double *z,
                          cs_activation act, double *unit_mean, double *unit_var,
                          cs_hist_spec *hist, cs_stats_work *w)
{
    if (!out || !w || (!x && m && n))
        return cs_error_set(CS_EINVAL, "stats: out, x and workspace must not be NULL");
    if ((unsigned)act >= CS_ACT_COUNT)
        return cs_error_set(CS_EINVAL, "stats: activation %d is out of range", (int)act);
    if (hist && (hist->nbins < 1 || !hist->counts || !hist->under || !hist->over))
        return cs_error_set(CS_EINVAL, "stats: histogram needs nbins >= 1 and its counts");
    if (hist && !hist->range_from_stats &&
        !(isfinite(hist->lo) && isfinite(hist->hi) && hist->lo < hist->hi))
        return cs_error_set(CS_EINVAL, "stats: histogram range [%g, %g) is not finite lo < hi",
                            hist->lo, hist->hi);
    if (n > w->max_units || (n && m > w->max_entries / n))
        return cs_error_set(CS_EINVAL,
                            "stats: %zu x %zu matrix exceeds the workspace (%zu entries, "
                            "%zu units)",
                            m, n, w->max_entries, w->max_units);

    const size_t count = m * n;
    double *sel = w->select, *usum = w->unit_mean, *um2 = w->unit_m2;

    out->mean = out->var = out->mean_spread = out->var_within = NAN;
    out->min = out->max = NAN;
    for (int k = 0; k < CS_STATS_NQ; k++)
        out->q[k] = NAN;
    out->nonfinite = 0;
    out->corr_mean = NAN;
    out->frac_zero = count ? 0.0 : NAN;
    out->frac_saturated = (z && count) ? cs_saturation_fraction(z, count, act) : NAN;
    if (!count) {
        for (size_t j = 0; j < n; j++) {
            if (unit_mean)
                unit_mean[j] = NAN;
            if (unit_var)
                unit_var[j] = NAN;
        }
        return CS_OK;
    }

    /* Pass 1, one row-major sweep: column sums S_j = sum_i x_ij, the zero
     * and negative counts, min and max. No branch on finiteness: a NaN or
     * Inf makes its column sum nonfinite, which is checked once per unit
     * below, so the common all-finite case runs as straight vector code. */
    memset(usum, 0, n * sizeof *usum);
    size_t zeros = 0, negatives = 0;
    double mn = x[0], mx = x[0];
    size_t j_vec = 0;
#ifdef __SSE2__
    /* GCC does not vectorise counts and extremes of doubles: by hand, two
     * units a step, in the same per-unit order of additions. */
    j_vec = n & ~(size_t)1;
    {
        __m128i n_zero = _mm_setzero_si128(), n_neg = _mm_setzero_si128();
        __m128d vmin = _mm_set1_pd(mn), vmax = vmin, zero = _mm_setzero_pd();
        for (size_t i = 0; i < m; i++) {
            const double *row = x + i * n;
            for (size_t j = 0; j < j_vec; j += 2) {
                __m128d v = _mm_loadu_pd(row + j);
                _mm_storeu_pd(usum + j, _mm_add_pd(_mm_loadu_pd(usum + j), v));
                n_zero = _mm_sub_epi64(n_zero, _mm_castpd_si128(_mm_cmpeq_pd(v, zero)));
                n_neg = _mm_sub_epi64(n_neg, _mm_castpd_si128(_mm_cmplt_pd(v, zero)));
                vmin = _mm_min_pd(v, vmin); /* NaN: the all-finite path alone uses these */
                vmax = _mm_max_pd(v, vmax);
            }
        }
        uint64_t lanes[2];
        double pair[2];
        _mm_storeu_si128((__m128i *)lanes, n_zero);
        zeros = (size_t)(lanes[0] + lanes[1]);
        _mm_storeu_si128((__m128i *)lanes, n_neg);
        negatives = (size_t)(lanes[0] + lanes[1]);
        _mm_storeu_pd(pair, vmin);
        mn = pair[0] < pair[1] ? pair[0] : pair[1];
        _mm_storeu_pd(pair, vmax);
        mx = pair[0] > pair[1] ? pair[0] : pair[1];
    }
#endif
    for (size_t i = 0; j_vec < n && i < m; i++) {
        const double *row = x + i * n;
        for (size_t j = j_vec; j < n; j++) {
            double v = row[j];
            usum[j] += v;
            zeros += v == 0.0;
            negatives += v < 0.0;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    }
    out->frac_zero = (double)zeros / (double)count;

    /* mu_j = S_j / m. A unit with a nonfinite entry (or a sum that
     * overflowed) gets NaN and is left out of mean_spread and var_within. */
    size_t good_units = 0;
    for (size_t j = 0; j < n; j++) {
        usum[j] = isfinite(usum[j]) ? usum[j] / (double)m : NAN;
        good_units += !isnan(usum[j]);
    }

    /* Pass 2 (second pass of the two-pass variance, for stability: Chan,
     * Golub and LeVeque 1983): M2_j = sum_i (x_ij - mu_j)^2. */
    memset(um2, 0, n * sizeof *um2);
    for (size_t i = 0; i < m; i++) {
        const double *row = x + i * n;
        for (size_t j = 0; j < n; j++) {
            double d = row[j] - usum[j];
            um2[j] += d * d;
        }
    }

    /* Over the good units, with mu = mean_j mu_j:
     *   mean_spread = sqrt(mean_j (mu_j - mu)^2), var_within = mean_j M2_j / m */
    double mean_of_units = NAN, spread2 = NAN, within = NAN;
    if (good_units) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++)
            if (!isnan(usum[j]))
                s += usum[j];
        mean_of_units = s / (double)good_units;
        double d2 = 0.0, v = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (isnan(usum[j]))
                continue;
            double d = usum[j] - mean_of_units;
            d2 += d * d;
            v += um2[j] / (double)m;
        }
        spread2 = d2 / (double)good_units;
        within = v / (double)good_units;
    }
    out->mean_spread = sqrt(spread2);
    out->var_within = within;
    for (size_t j = 0; j < n; j++) {
        if (unit_mean)
            unit_mean[j] = usum[j];
        if (unit_var)
            unit_var[j] = isnan(usum[j]) ? NAN : um2[j] / (double)m;
    }

    if (good_units == n) {
        /* Every entry is finite. With m entries per unit the grand mean is
         * the mean of the unit means, and the law of total variance gives
         * the biased variance with no further pass and no cancellation:
         *   var = mean_j var_j + mean_j (mu_j - mu)^2 = var_within + mean_spread^2 */
        out->mean = mean_of_units;
        out->var = within + spread2;
        /* Pass 1's extremes; a zero extreme is +0 whatever zero it met. */
        out->min = mn == 0.0 ? 0.0 : mn;
        out->max = mx == 0.0 ? 0.0 : mx;
        if (hist && hist->range_from_stats)
            cs_hist_range(&hist->lo, &hist->hi, out->mean, out->var);
        quantiles_finite(out, x, count, zeros, negatives, hist, w);
        return CS_OK;
    }
    /* Slow path, only for a matrix with a nonfinite entry: compact the
     * finite entries and take the two-pass moments over them. */
    size_t finite = 0;
    negatives = 0; /* -Inf was counted */
    double s = 0.0;
    for (size_t i = 0; i < count; i++) {
        double v = x[i];
        if (isfinite(v)) {
            sel[finite++] = v;
            s += v;
            negatives += v < 0.0;
        }
    }
    out->nonfinite = (long)(count - finite);
    if (finite) {
        double mean = s / (double)finite, d2 = 0.0;
        for (size_t i = 0; i < finite; i++) {
            double d = sel[i] - mean;
            d2 += d * d;
        }
        out->mean = mean;
        out->var = d2 / (double)finite;
    }
    if (hist) {
        if (hist->range_from_stats)
            cs_hist_range(&hist->lo, &hist->hi, out->mean, out->var);
        cs_hist_accumulate(hist->counts, hist->under, hist->over, hist->nbins, hist->lo, hist->hi,
                           x, count);
    }
    if (finite) {
        size_t ranks[CS_STATS_NQ];
        quantile_ranks(finite, ranks);
        cs_select_ranks(out->q, &out->min, &out->max, sel, finite, zeros, negatives, ranks,
                        CS_STATS_NQ);
    }
    return CS_OK;
}
