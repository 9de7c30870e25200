/* Statistics of one batch x units matrix (DESIGN §2): two-pass moments with
 * per-unit accumulators, exact quantiles by Floyd-Rivest selection (no sort),
 * dead and saturated fractions, nonfinite count; histograms on fixed bins.
 * compute allocates nothing: every buffer lives in a cs_stats_work. */
#include "cs_stats.h"

#include "cs_alloc.h"
#include "cs_error.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* DESIGN §2: p01 p15 p50 p85 p99 */
const double cs_stats_quantile_levels[CS_STATS_NQ] = {0.01, 0.15, 0.50, 0.85, 0.99};

struct cs_stats_work {
    size_t max_entries, max_units;
    double *select;    /* (max_entries) finite entries, permuted by selection */
    double *unit_mean; /* (max_units) column sums, then per-unit means */
    double *unit_m2;   /* (max_units) per-unit sum of squared deviations */
    uint8_t *slot_of;  /* (max_entries) histogram slot of each entry */
    uint64_t tally[CS_STATS_NARROW_BINS + 3];
    uint64_t lane_tally[4][CS_STATS_NARROW_BINS + 3]; /* see quantiles_finite */
};

/* The workspace's arrays, listed once for cs_stats_work_alloc and
 * cs_stats_work_plan. */
static void cs_stats_work_arrays(cs_stats_work *w, cs_alloc_plan *plan, size_t max_entries,
                                 size_t max_units, const char *what, const char *keys)
{
    CS_ALLOC_TAKE(plan, w->select, what, keys, max_entries);
    CS_ALLOC_TAKE(plan, w->unit_mean, what, keys, max_units);
    CS_ALLOC_TAKE(plan, w->unit_m2, what, keys, max_units);
    CS_ALLOC_TAKE(plan, w->slot_of, what, keys, max_entries);
}

cs_stats_work *cs_stats_work_alloc(size_t max_entries, size_t max_units)
{
    cs_stats_work *w = cs_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->max_entries = max_entries;
    w->max_units = max_units;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_stats_work_arrays(w, &plan, max_entries, max_units, "a statistics workspace", NULL);
    if (plan.rc != CS_OK) {
        cs_stats_work_free(w);
        return NULL;
    }
    return w;
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
    cs_free(w->slot_of);
    cs_free(w);
}

static inline void swap_entries(double *a, ptrdiff_t i, ptrdiff_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Block size of the branch-free partition: offsets fit an unsigned char. */
#define CS_STATS_BLOCK 128

/* Hoare partition of a[i..j] (inclusive, maybe empty) around the value t:
 * returns p with a[i..p) <= t and a[p..j] >= t. Both scans stop at entries
 * equal to t and swap them, so ties are split between the sides and a range
 * of equal values still halves (the 3-way behaviour that keeps selection
 * O(n) on relu's zeros).
 *
 * Blocks first (Edelkamp and Weiss, BlockQuicksort, ESA 2016): the offsets
 * of the misplaced entries of a block on each side (>= t on the left, <= t
 * on the right) are recorded without a branch, then swapped in pairs. A
 * branchy scan mispredicts about once per misplaced entry near the median;
 * this does not. The remaining < 2 blocks take the plain scan. */
static ptrdiff_t partition_range(double *a, ptrdiff_t i, ptrdiff_t j, double t)
{
    unsigned char off_left[CS_STATS_BLOCK], off_right[CS_STATS_BLOCK];
    int n_left = 0, n_right = 0, start_left = 0, start_right = 0;
    while (j - i + 1 >= 2 * CS_STATS_BLOCK) {
        if (n_left == 0) {
            start_left = 0;
            for (int c = 0; c < CS_STATS_BLOCK; c++) {
                off_left[n_left] = (unsigned char)c;
                n_left += !(a[i + c] < t);
            }
        }
        if (n_right == 0) {
            start_right = 0;
            for (int c = 0; c < CS_STATS_BLOCK; c++) {
                off_right[n_right] = (unsigned char)c;
                n_right += !(t < a[j - c]);
            }
        }
        int pairs = n_left < n_right ? n_left : n_right;
        for (int c = 0; c < pairs; c++)
            swap_entries(a, i + off_left[start_left + c], j - off_right[start_right + c]);
        n_left -= pairs;
        n_right -= pairs;
        start_left += pairs;
        start_right += pairs;
        /* A block is done when all its misplaced entries are swapped; its
         * entries are then all <= t (left) or >= t (right). */
        if (n_left == 0)
            i += CS_STATS_BLOCK;
        if (n_right == 0)
            j -= CS_STATS_BLOCK;
    }
    /* Invariant: a[..i) <= t, a(j..] >= t; a half-done block stays inside
     * [i, j] and is simply partitioned again. */
    for (;;) {
        while (i <= j && a[i] < t)
            i++;
        while (i <= j && t < a[j])
            j--;
        if (i >= j)
            return i; /* i == j only when a[i] == t, which may go right */
        swap_entries(a, i, j);
        i++;
        j--;
    }
}

/* Rearranges a[left..right] so that a[k] holds the value it would have if
 * the range were sorted, everything left of k is <= a[k] and everything
 * right of k is >= a[k]. Floyd and Rivest's SELECT (CACM 18(3), 1975,
 * algorithm 489): for large ranges the pivot is first selected recursively
 * from a window of size s ~ n^(2/3) around k, offset so that the wanted
 * rank lands just on the near side of the pivot with high probability;
 * expected comparisons n + min(k, n - k) + o(n). Each round places the
 * pivot at its sorted position j and keeps the side holding k, so a round
 * always makes progress, whatever the ties.
 * Requires left <= k <= right and no NaN in the range. */
static void select_rank(double *a, ptrdiff_t left, ptrdiff_t right, ptrdiff_t k)
{
    while (right > left) {
        if (right - left > 600) {
            /* s = n^(2/3) / 2, offset sd = sqrt(ln n s (n - s) / n) / 2
             * towards the middle: the constants of algorithm 489. */
            double n = (double)(right - left + 1), i = (double)(k - left + 1);
            double z = log(n), s = 0.5 * exp(2.0 * z / 3.0);
            double sd = 0.5 * sqrt(z * s * (n - s) / n) * (i < 0.5 * n ? -1.0 : 1.0);
            double sample_left = floor((double)k - i * s / n + sd);
            double sample_right = floor((double)k + (n - i) * s / n + sd);
            select_rank(a, sample_left > (double)left ? (ptrdiff_t)sample_left : left,
                        sample_right < (double)right ? (ptrdiff_t)sample_right : right, k);
        }
        /* Pivot t = a[k], parked at a[left] while the rest is partitioned,
         * then swapped to the boundary: a[left..j) <= t = a[j] <= a(j..right]. */
        double t = a[k];
        swap_entries(a, left, k);
        ptrdiff_t j = partition_range(a, left + 1, right, t) - 1;
        swap_entries(a, left, j);
        if (j == k)
            return;
        if (j < k)
            left = j + 1;
        else
            right = j - 1;
    }
}

/* Selects every rank of ranks[0..count) (sorted, within [left, right]):
 * on return a[r] is the r-th smallest for each of them, with the range
 * partitioned around it. The rank nearest the middle of the range goes
 * first; the others are then selected only inside the part on their side,
 * never across an already placed rank. For p01..p99 that is p50 on N
 * entries, then p15 and p85 on halves, p01 and p99 on 15% tails: ~3.1 N
 * comparisons where taking the ranks left to right, each on the part right
 * of the previous one, costs ~4.2 N (bench_stats: 25-30% faster). */
static void select_ranks(double *a, ptrdiff_t left, ptrdiff_t right, const ptrdiff_t *ranks,
                         int count)
{
    if (count == 0)
        return;
    int mid = 0;
    for (int k = 1; k < count; k++)
        if (llabs((long long)(2 * ranks[k] - left - right)) <
            llabs((long long)(2 * ranks[mid] - left - right)))
            mid = k;
    ptrdiff_t r = ranks[mid];
    select_rank(a, left, right, r);
    int below = mid, above = mid + 1;
    while (below > 0 && ranks[below - 1] == r) /* equal ranks are done */
        below--;
    while (above < count && ranks[above] == r)
        above++;
    select_ranks(a, left, r - 1, ranks, below);
    select_ranks(a, r + 1, right, ranks + above, count - above);
}

/* frac_saturated (DESIGN §2): #{phi'(z) < 0.05 max phi'} / (m n), with
 * phi' as cs_activation_derivative computes it (so the kink conventions,
 * relu'(0) = 0, are the ones the rest of covshift uses).
 *
 * Evaluating phi' per entry costs a tanh or exp each (tanh: 6.9 ms per
 * 256 x 1024 matrix). But for every activation of covshift the saturated
 * set is {z < lo} U {z > hi}: phi' is monotone on each side of where it
 * crosses the cutoff (tanh, sigmoid: |z| large; selu, relu, leaky_relu:
 * z <= the crossing; gelu: phi'(z) < 0 for all z < -1, Mills' ratio, and
 * increasing above). lo and hi are found once per call by bisection on the
 * same phi'. Entries within a relative band of 1e-6 around lo or hi
 * (libm's error moves the crossing by ~1e-15), and nonfinite entries
 * (gelu'(-Inf) is NaN, tanh'(-Inf) is 0), are
 * decided by evaluating phi' itself, so the count equals the per-entry
 * evaluation exactly. */
typedef struct {
    double sat_below, sat_above;   /* z < sat_below or z > sat_above: saturated */
    double free_above, free_below; /* free_above < z < free_below: not saturated */
    double cutoff;                 /* 0.05 max phi' */
} cs_saturation;

static int is_saturated(cs_activation act, double z, double cutoff)
{
    double d;
    cs_activation_derivative(act, &d, &z, 1);
    return d < cutoff;
}

/* The crossing between a (saturated iff sat_a) and b (the other), to
 * within an ulp: 80 halvings cover any finite bracket of this file. */
static double saturation_crossing(cs_activation act, double cutoff, double a, double b)
{
    int sat_a = is_saturated(act, a, cutoff);
    for (int k = 0; k < 80; k++) {
        double mid = a + 0.5 * (b - a);
        if (mid == a || mid == b)
            break;
        if (is_saturated(act, mid, cutoff) == sat_a)
            a = mid;
        else
            b = mid;
    }
    return 0.5 * (a + b);
}

static void saturation_bounds(cs_saturation *sb, cs_activation act)
{
    sb->cutoff = 0.05 * cs_activation_max_derivative(act);
    double lo = -INFINITY, hi = INFINITY;
    switch (act) {
    case CS_ACT_RELU:
    case CS_ACT_LEAKY_RELU: /* phi' is 1 above 0, 0 or 0.01 at and below: z <= 0 */
        sb->sat_below = sb->free_above = 0x1p-1074; /* the least positive double */
        sb->sat_above = sb->free_below = INFINITY;
        return;
    case CS_ACT_TANH:    /* phi'(+-19.1) rounds to 0: the crossings lie inside */
    case CS_ACT_SIGMOID: /* likewise by +-40 */
        lo = saturation_crossing(act, sb->cutoff, -40.0, 0.0);
        hi = saturation_crossing(act, sb->cutoff, 40.0, 0.0);
        break;
    case CS_ACT_SELU: /* scale alpha e^z < 0.05 scale alpha: z < log 0.05 */
        lo = saturation_crossing(act, sb->cutoff, -10.0, 0.0);
        break;
    case CS_ACT_GELU: /* phi'(-1) < 0 < cutoff < phi'(0) = 1/2 */
        lo = saturation_crossing(act, sb->cutoff, -1.0, 0.0);
        break;
    default:
        break;
    }
    /* No crossing on a side (selu, gelu above): that side stays infinite,
     * not inf - inf = NaN, which no comparison accepts and which sent
     * every entry to the per-entry path (6-9 ms instead of ~1 ms). */
    const double band = 1e-6;
    sb->sat_below = isinf(lo) ? lo : lo - band * fabs(lo);
    sb->free_above = isinf(lo) ? lo : lo + band * fabs(lo);
    sb->free_below = isinf(hi) ? hi : hi - band * fabs(hi);
    sb->sat_above = isinf(hi) ? hi : hi + band * fabs(hi);
}

static double saturated_fraction(const double *z, size_t count, cs_activation act)
{
    if (act == CS_ACT_LINEAR)
        return 0.0;
    cs_saturation sb;
    saturation_bounds(&sb, act);
    /* One branch-free pass counts the sure entries; the rest (in a band,
     * or NaN/Inf, which no comparison below accepts) are rare. */
    uint64_t saturated = 0, clear = 0;
    size_t i = 0;
#ifdef __SSE2__
    /* GCC does not vectorise counts of double comparisons (as of 12): by
     * hand, two entries a step; a true comparison is an all-ones lane,
     * -1 as an integer, so subtracting it counts. */
    const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    const __m128d max = _mm_set1_pd(DBL_MAX), sat_below = _mm_set1_pd(sb.sat_below);
    const __m128d sat_above = _mm_set1_pd(sb.sat_above);
    const __m128d free_above = _mm_set1_pd(sb.free_above);
    const __m128d free_below = _mm_set1_pd(sb.free_below);
    __m128i n_sat = _mm_setzero_si128(), n_clear = _mm_setzero_si128();
    for (; i + 2 <= count; i += 2) {
        __m128d v = _mm_loadu_pd(z + i);
        __m128d finite = _mm_cmple_pd(_mm_and_pd(v, abs_mask), max);
        __m128d sat = _mm_or_pd(_mm_cmplt_pd(v, sat_below), _mm_cmpgt_pd(v, sat_above));
        __m128d free = _mm_and_pd(_mm_cmpgt_pd(v, free_above), _mm_cmplt_pd(v, free_below));
        n_sat = _mm_sub_epi64(n_sat, _mm_castpd_si128(_mm_and_pd(sat, finite)));
        n_clear = _mm_sub_epi64(n_clear, _mm_castpd_si128(_mm_and_pd(free, finite)));
    }
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, n_sat);
    saturated = lanes[0] + lanes[1];
    _mm_storeu_si128((__m128i *)lanes, n_clear);
    clear = lanes[0] + lanes[1];
#endif
    for (; i < count; i++) {
        double v = z[i];
        uint64_t finite = fabs(v) <= DBL_MAX; /* gelu'(-Inf) is NaN: not saturated */
        saturated += ((uint64_t)(v < sb.sat_below) | (uint64_t)(v > sb.sat_above)) & finite;
        clear += (uint64_t)(v > sb.free_above) & (uint64_t)(v < sb.free_below) & finite;
    }
    uint64_t unsure = (uint64_t)count - saturated - clear;
    for (i = 0; unsure && i < count; i++) {
        double v = z[i];
        if (!(fabs(v) <= DBL_MAX) || !((v < sb.sat_below) | (v > sb.sat_above) |
                                       ((v > sb.free_above) & (v < sb.free_below)))) {
            saturated += (size_t)is_saturated(act, v, sb.cutoff);
            unsure--;
        }
    }
    return (double)saturated / (double)count;
}

/* DESIGN §2: order statistic round(q (N-1)) of N entries. The sorted
 * entries hold the zeros at ranks [negatives, negatives + zeros): a rank
 * there is 0 with no selection. That is where relu's dead units put
 * p01..p50, and a block of ties is the slowest input for selection.
 * Fills ranks[] and returns in todo[] (count returned) the ranks that need
 * a selection. */
static int quantile_ranks(size_t finite, size_t zeros, size_t negatives,
                          ptrdiff_t ranks[CS_STATS_NQ], ptrdiff_t todo[CS_STATS_NQ])
{
    ptrdiff_t last = (ptrdiff_t)finite - 1;
    ptrdiff_t zero_lo = (ptrdiff_t)negatives, zero_hi = (ptrdiff_t)(negatives + zeros);
    int ntodo = 0;
    for (int k = 0; k < CS_STATS_NQ; k++) {
        ranks[k] = (ptrdiff_t)round(cs_stats_quantile_levels[k] * (double)last);
        assert(ranks[k] >= 0 && ranks[k] <= last && (k == 0 || ranks[k] >= ranks[k - 1]));
        if (ranks[k] < zero_lo || ranks[k] >= zero_hi)
            todo[ntodo++] = ranks[k];
    }
    return ntodo;
}

static int rank_is_zero(ptrdiff_t rank, size_t zeros, size_t negatives)
{
    return rank >= (ptrdiff_t)negatives && rank < (ptrdiff_t)(negatives + zeros);
}

/* Quantiles, min and max of the `finite` entries in sel (permuted): one
 * multi-selection over all of them, extremes from the tails outside the
 * outer selected ranks (when an outer rank is a zero, 0 is the extreme
 * unless entries lie beyond the zeros, which then takes one scan). */
static void quantiles_by_selection(cs_stats *out, double *sel, size_t finite, size_t zeros,
                                   size_t negatives)
{
    ptrdiff_t last = (ptrdiff_t)finite - 1, ranks[CS_STATS_NQ], todo[CS_STATS_NQ];
    ptrdiff_t zero_lo = (ptrdiff_t)negatives, zero_hi = (ptrdiff_t)(negatives + zeros);
    int ntodo = quantile_ranks(finite, zeros, negatives, ranks, todo);
    select_ranks(sel, 0, last, todo, ntodo);
    for (int k = 0; k < CS_STATS_NQ; k++)
        out->q[k] = rank_is_zero(ranks[k], zeros, negatives) ? 0.0 : sel[ranks[k]];
    double mn, mx;
    if (rank_is_zero(ranks[0], zeros, negatives) && zero_lo == 0) {
        mn = 0.0;
    } else {
        ptrdiff_t end = rank_is_zero(ranks[0], zeros, negatives) ? last : ranks[0];
        mn = sel[end];
        for (ptrdiff_t i = 0; i < end; i++)
            mn = sel[i] < mn ? sel[i] : mn;
    }
    ptrdiff_t top = ranks[CS_STATS_NQ - 1];
    if (rank_is_zero(top, zeros, negatives) && zero_hi == last + 1) {
        mx = 0.0;
    } else {
        ptrdiff_t start = rank_is_zero(top, zeros, negatives) ? 0 : top;
        mx = sel[start];
        for (ptrdiff_t i = start + 1; i <= last; i++)
            mx = sel[i] > mx ? sel[i] : mx;
    }
    out->min = mn;
    out->max = mx;
}

/* Slot of v on nbins equal bins over [lo, hi) of the given width, the one
 * rule of cs_hist_accumulate and the quantile narrowing: 0 below lo, 1 + k
 * for bin k = floor((v - lo) / width) (an x just below hi that rounds to
 * bin nbins goes in the last bin), nbins + 1 at or above hi, nbins + 2 for
 * NaN. Monotone in v (NaN aside). */
static inline size_t hist_slot(double v, double lo, double hi, double width, size_t nbins)
{
    if (v < lo)
        return 0;
    if (v >= hi)
        return nbins + 1;
    if (v != v)
        return nbins + 2;
    /* (v - lo) / width >= 0 here, so truncation is floor, without floor()'s
     * libm call (not inlined below SSE4.1): 1.7x faster. Multiplying by
     * 1/width instead measured no faster. */
    size_t b = (size_t)((v - lo) / width);
    return 1 + (b < nbins ? b : nbins - 1);
}

/* Quantiles of an all-finite x (count entries) without selecting over all
 * of them. One pass puts every entry in a histogram slot (the caller's
 * histogram when it has at most CS_STATS_NARROW_BINS bins, counted on the
 * way; else 64 bins over this matrix's mean +- 6 sd) and remembers each
 * entry's slot. The slots are ordered by value, so cumulative counts say
 * which slot holds each wanted rank; a second pass gathers only those
 * slots' entries, and selection runs inside each. The order statistics are
 * exactly the same; a slot holds about 1/15 of a gaussian's entries. When
 * the wanted slots hold more than half the entries (data far outside the
 * caller's bins), it selects over a copy of all of them instead. */
static void quantiles_finite(cs_stats *out, const double *x, size_t count, size_t zeros,
                             size_t negatives, cs_hist_spec *hist, cs_stats_work *w)
{
    double *sel = w->select;
    double lo, hi;
    size_t nbins;
    int own = !hist || hist->nbins > CS_STATS_NARROW_BINS;
    if (own) {
        nbins = 64;
        cs_hist_range(&lo, &hi, out->mean, out->var);
        if (hist)
            cs_hist_accumulate(hist->counts, hist->under, hist->over, hist->nbins, hist->lo,
                               hist->hi, x, count);
    } else {
        nbins = hist->nbins;
        lo = hist->lo;
        hi = hist->hi;
    }
    size_t nslots = nbins + 3;
    uint64_t *tally = w->tally;
    uint8_t *slot_of = w->slot_of;
    memset(tally, 0, nslots * sizeof *tally);
    double width = (hi - lo) / (double)nbins;
    size_t i = 0;
#ifdef __SSE2__
    /* Two divisions at once; entries are finite here, so only the
     * underflow and overflow tests remain, rarely true. */
    {
        /* Four entries a step, each lane counting into its own tally:
         * relu's zeros (half the entries, one bin) would otherwise chain
         * every increment through one counter in memory. */
        const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), vwidth = _mm_set1_pd(width);
        memset(w->lane_tally, 0, sizeof w->lane_tally);
        for (; i + 4 <= count; i += 4) {
            for (size_t half = 0; half < 4; half += 2) {
                __m128d v = _mm_loadu_pd(x + i + half);
                __m128i b = _mm_cvttpd_epi32(_mm_div_pd(_mm_sub_pd(v, vlo), vwidth));
                int under = _mm_movemask_pd(_mm_cmplt_pd(v, vlo));
                int over = _mm_movemask_pd(_mm_cmpge_pd(v, vhi));
                long bin[2] = {_mm_cvtsi128_si32(b), _mm_cvtsi128_si32(_mm_srli_si128(b, 4))};
                for (size_t k = 0; k < 2; k++) {
                    size_t g = (under >> k) & 1 ? 0
                               : (over >> k) & 1 ? nbins + 1
                               : 1 + ((size_t)bin[k] < nbins ? (size_t)bin[k] : nbins - 1);
                    slot_of[i + half + k] = (uint8_t)g;
                    w->lane_tally[half + k][g]++;
                }
            }
        }
        for (size_t g = 0; g < nslots; g++)
            tally[g] = w->lane_tally[0][g] + w->lane_tally[1][g] + w->lane_tally[2][g] +
                       w->lane_tally[3][g];
    }
#endif
    for (; i < count; i++) {
        size_t g = hist_slot(x[i], lo, hi, width, nbins);
        slot_of[i] = (uint8_t)g;
        tally[g]++;
    }
    if (!own) {
        *hist->under += tally[0];
        for (size_t k = 0; k < nbins; k++)
            hist->counts[k] += tally[1 + k];
        *hist->over += tally[nbins + 1];
    }

    ptrdiff_t ranks[CS_STATS_NQ], todo[CS_STATS_NQ];
    int ntodo = quantile_ranks(count, zeros, negatives, ranks, todo);
    /* slot_start[g]: rank of slot g's first entry; the slot of each todo rank */
    uint64_t slot_start[CS_STATS_NARROW_BINS + 3];
    uint64_t base[CS_STATS_NARROW_BINS + 3];
    unsigned char wanted[CS_STATS_NARROW_BINS + 3];
    size_t todo_slot[CS_STATS_NQ];
    uint64_t cum = 0;
    for (size_t g = 0; g < nslots; g++) {
        slot_start[g] = cum;
        cum += tally[g];
        wanted[g] = 0;
    }
    /* The zeros' slot is gathered without its zeros: their ranks are
     * known, [negatives, negatives + zeros), and none is a todo rank. Else
     * relu's p50, a hair above the zeros, would gather half the matrix. */
    size_t zero_slot = hist_slot(0.0, lo, hi, width, nbins);
    uint64_t nonzero[CS_STATS_NARROW_BINS + 3]; /* entries of each slot to gather */
    for (size_t g = 0; g < nslots; g++)
        nonzero[g] = tally[g] - (g == zero_slot ? zeros : 0);
    size_t gathered = 0;
    for (int k = 0; k < ntodo; k++) {
        size_t g = 0;
        while ((uint64_t)todo[k] >= slot_start[g] + tally[g])
            g++;
        todo_slot[k] = g;
        if (!wanted[g]) {
            wanted[g] = 1;
            gathered += nonzero[g];
        }
    }
    if (gathered > count / 2) {
        memcpy(sel, x, count * sizeof *sel);
        double mn = out->min, mx = out->max;
        quantiles_by_selection(out, sel, count, zeros, negatives);
        out->min = mn; /* pass 1's, identical but for the sign of a zero */
        out->max = mx;
        return;
    }
    /* The wanted slots' entries, compacted into sel[0, gathered) with no
     * branch (every entry is written at the end, only wanted ones advance
     * it). Slots are ordered by value, so rank r of wanted slot g is rank
     * r - slot_start[g] + base[g] among them, base[g] = the entries of
     * wanted slots below g; one multi-selection then finds them all. */
    uint64_t below = 0;
    for (size_t g = 0; g < nslots; g++) {
        base[g] = below;
        below += wanted[g] ? nonzero[g] : 0;
    }
    /* 64 entries at a time: a mask of the wanted nonzero ones, built with
     * no branch, then one store per set bit. A branch-free store per entry
     * (sel[kept] = x[e]; kept += wanted) measured slower: every store's
     * address waits on the loads of the entry before. */
    size_t kept = 0, e = 0;
    int skip_zeros = zeros > 0 && wanted[zero_slot]; /* else the test costs 30% */
    for (; e + 64 <= count; e += 64) {
        uint64_t mask = 0;
        if (skip_zeros) {
            for (unsigned j = 0; j < 64; j++) {
                size_t g = slot_of[e + j];
                uint64_t keep = wanted[g] & ((x[e + j] != 0.0) | (g != zero_slot));
                mask |= keep << j;
            }
        } else {
            for (unsigned j = 0; j < 64; j++)
                mask |= (uint64_t)wanted[slot_of[e + j]] << j;
        }
        while (mask) {
            sel[kept++] = x[e + (size_t)__builtin_ctzll(mask)];
            mask &= mask - 1;
        }
    }
    for (; e < count; e++) {
        size_t g = slot_of[e];
        sel[kept] = x[e];
        kept += wanted[g] & ((x[e] != 0.0) | (g != zero_slot));
    }
    assert(kept == gathered);
    /* Rank r of slot g is rank r - slot_start[g] among the slot's entries,
     * less the zeros when r lies above them in the zeros' slot. */
    for (int k = 0; k < ntodo; k++) {
        size_t g = todo_slot[k];
        ptrdiff_t skip = g == zero_slot && todo[k] >= (ptrdiff_t)(negatives + zeros)
                             ? (ptrdiff_t)zeros
                             : 0;
        todo[k] = todo[k] - (ptrdiff_t)slot_start[g] - skip + (ptrdiff_t)base[g];
    }
    select_ranks(sel, 0, (ptrdiff_t)gathered - 1, todo, ntodo);
    int t = 0;
    for (int k = 0; k < CS_STATS_NQ; k++) {
        if (rank_is_zero(ranks[k], zeros, negatives)) {
            out->q[k] = 0.0;
        } else {
            out->q[k] = sel[todo[t]];
            t++;
        }
    }
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
    out->frac_zero = count ? 0.0 : NAN;
    out->frac_saturated = (z && count) ? saturated_fraction(z, count, act) : NAN;
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
    /* GCC 12 keeps this loop scalar (counts and extremes of doubles): by
     * hand, two units a step, in the same per-unit order of additions. */
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
    if (finite)
        quantiles_by_selection(out, sel, finite, zeros, negatives);
    return CS_OK;
}

void cs_hist_range(double *lo, double *hi, double mean, double var)
{
    /* DESIGN §2: [mean - 6 sd, mean + 6 sd], fixed by phase A's first batch. */
    double sd = sqrt(var);
    if (!isfinite(mean)) {
        *lo = -1.0;
        *hi = 1.0;
        return;
    }
    if (!(sd > 0.0) || !isfinite(sd)) {
        *lo = mean - 1.0;
        *hi = mean + 1.0;
    } else {
        *lo = mean - 6.0 * sd;
        *hi = mean + 6.0 * sd;
    }
    /* cs_hist_accumulate needs finite lo < hi. An sd below the spacing of
     * doubles at mean (or mean +- 1 when |mean| > 2^53), or a range past
     * DBL_MAX, would break that: widen to a few ulps of mean, or clamp. */
    if (!(*lo < *hi) || !isfinite(*lo) || !isfinite(*hi)) {
        double half = fmax(1.0, 0x1p-40 * fabs(mean));
        *lo = fmax(mean - half, -DBL_MAX);
        *hi = fmin(mean + half, DBL_MAX);
    }
}

void cs_hist_accumulate(uint64_t *counts, uint64_t *under, uint64_t *over, size_t nbins,
                        double lo, double hi, const double *x, size_t n)
{
    assert(nbins >= 1 && lo < hi);
    if (nbins == 0 || !(lo < hi)) /* broken precondition: count nothing rather than overrun */
        return;
    /* hist_slot's rule; NaN (slot nbins + 2) is not counted */
    double width = (hi - lo) / (double)nbins;
    for (size_t i = 0; i < n; i++) {
        size_t g = hist_slot(x[i], lo, hi, width, nbins);
        if (g == 0)
            ++*under;
        else if (g <= nbins)
            counts[g - 1]++;
        else if (g == nbins + 1)
            ++*over;
    }
}
