/* Exact W1 between two pooled samples (docs/design.md §2, w1 of metrics
 * version 2): the range pass, the fine histogram with per-bin sums, the
 * exact integral of every bin where F_A - F_B keeps its sign, sub-bins for
 * the heavy bins where it may not, and sorting for the rest. */
#include "cs_w1.h"

#include "cs_error.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* A cell's counts, packed: the low 32 bits count every value of the cell,
 * the high 32 bits those exactly at its left edge (offset d == 0 below:
 * relu's zeros at the range's low end, the integers of a discrete input).
 * Per-phase counts stay below 2^31, so neither half carries into the
 * other. */
#define CS_W1_EDGE ((uint64_t)1 << 32)
#define CS_W1_ALL(c) ((c) & (CS_W1_EDGE - 1))
#define CS_W1_AT_EDGE(c) ((c) >> 32)

/* A cell (a bin, or a sub-bin of a refined bin) of one sample: the packed
 * counts and S1, the sum of its values' offsets d from its left edge. */
typedef struct {
    uint64_t count;
    double s1;
} cs_w1_cell;

/* Copies of bin 0 and bin K that the histogram pass spreads the values
 * equal to lo and to hi over, so that a point mass there (half of a relu
 * layer's values are its zeros) does not chain every update through one
 * counter in memory: consecutive values go to different lanes. */
#define CS_W1_LANES 2

/* A refined bin: its sub-bins are sub[first .. first + count), of width
 * sub_width in offsets from the bin's left edge (the last ends at the
 * bin's right edge). */
typedef struct {
    size_t bin, first, count;
    double sub_width, inv_sub_width;
} cs_w1_refined;

/* Cells of up to this many values (of A or of B) are sorted by buckets. */
#define CS_W1_BUCKET_MAX 4096

/* A bin's mark when it is refined (the low bits: its index in refined). */
#define CS_W1_REFINED ((uint32_t)1 << 31)

/* A cell to resolve by sorting: bin k when sub == SIZE_MAX, else sub-bin sub. */
typedef struct {
    size_t bin, sub;
} cs_w1_task;

struct cs_w1 {
    size_t max_bins;          /* bins fixed by max_values; also the most sub-bins */
    size_t capacity;          /* values buf holds */
    cs_w1_cell *bin_a, *bin_b; /* (max_bins + 1 + 2 lanes): bins 0..K, then the lanes */
    cs_w1_cell *sub_a, *sub_b; /* (max_bins) sub-bins of the refined bins */
    uint64_t *below_a, *below_b; /* (max_bins) values of A, of B below each bin */
    uint64_t *sub_below_a, *sub_below_b; /* (max_bins) ... below each sub-bin */
    double *part, *bound;     /* (max_bins) each bin's integral of |D| (units below), and
                                 the error bound of a bin left unresolved */
    double *sub_part, *sub_bound; /* (max_bins) the same per sub-bin */
    uint32_t *mark;           /* (max_bins + 1) per bin: CS_W1_REFINED | its index in refined,
                                 or 1 + its index in the round, or 0 */
    cs_w1_refined *refined;   /* (max_bins / CS_W1_MIN_BINS + 1): each takes >= that many sub-bins */
    uint32_t *sub_slot;       /* (max_bins) per sub-bin: 1 + its index in the round, or 0 */
    cs_w1_task *tasks;        /* (2 max_bins) the cells that need sorting */
    cs_w1_task *round;        /* (2 max_bins) those of the current round... */
    size_t *start, *mid, *stop; /* ...their parts of buf: A's [start, mid), B's [mid, stop) */
    size_t *cur;              /* (2 max_bins) write cursors of the gathering pass */
    double *buf;              /* (capacity) the round's values, as offsets */
    double *scratch;          /* (CS_W1_BUCKET_MAX) and... */
    uint32_t *bucket;         /* (CS_W1_BUCKET_MAX + 1) ...for sorting a cell by buckets */
};

size_t cs_w1_bins(uint64_t n)
{
    size_t k = CS_W1_MIN_BINS;
    while (k < CS_W1_MAX_BINS && (uint64_t)k * CS_W1_VALUES_PER_BIN < n)
        k *= 2;
    return k;
}

/* The workspace's arrays, listed once for cs_w1_alloc and cs_w1_plan. */
static void cs_w1_arrays(cs_w1 *w, cs_alloc_plan *plan, size_t bins, size_t capacity,
                         const char *what, const char *keys)
{
    CS_ALLOC_TAKE(plan, w->bin_a, what, keys, bins + 1 + 2 * CS_W1_LANES);
    CS_ALLOC_TAKE(plan, w->bin_b, what, keys, bins + 1 + 2 * CS_W1_LANES);
    CS_ALLOC_TAKE(plan, w->sub_a, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->sub_b, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->below_a, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->below_b, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->sub_below_a, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->sub_below_b, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->part, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->bound, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->sub_part, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->sub_bound, what, keys, bins);
    CS_ALLOC_TAKE_ZERO(plan, w->mark, what, keys, bins + 1);
    CS_ALLOC_TAKE(plan, w->refined, what, keys, bins / CS_W1_MIN_BINS + 1);
    CS_ALLOC_TAKE_ZERO(plan, w->sub_slot, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->tasks, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->round, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->start, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->mid, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->stop, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->cur, what, keys, 2, bins);
    CS_ALLOC_TAKE(plan, w->buf, what, keys, capacity ? capacity : 1);
    CS_ALLOC_TAKE(plan, w->scratch, what, keys, CS_W1_BUCKET_MAX);
    CS_ALLOC_TAKE(plan, w->bucket, what, keys, CS_W1_BUCKET_MAX + 1);
}

int cs_w1_alloc(cs_w1 **out, size_t max_values, size_t capacity)
{
    *out = NULL;
    cs_w1 *w = cs_calloc(1, sizeof *w);
    if (!w)
        return CS_ENOMEM;
    w->max_bins = cs_w1_bins(max_values);
    w->capacity = capacity ? capacity : max_values;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_w1_arrays(w, &plan, w->max_bins, w->capacity, "a W1 workspace", NULL);
    if (plan.rc != CS_OK) {
        cs_w1_free(w);
        return plan.rc;
    }
    *out = w;
    return CS_OK;
}

void cs_w1_plan(cs_alloc_plan *plan, size_t max_values, size_t capacity, const char *what,
                const char *keys)
{
    cs_w1 w;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_w1_arrays(&w, &count, cs_w1_bins(max_values), capacity ? capacity : max_values, what,
                 keys);
    cs_alloc_plan_add(plan, &count);
}

void cs_w1_free(cs_w1 *w)
{
    if (!w)
        return;
    void *arrays[] = {w->bin_a,     w->bin_b,       w->sub_a,       w->sub_b,   w->below_a,
                      w->below_b,   w->sub_below_a, w->sub_below_b, w->part,    w->bound,
                      w->sub_part,  w->sub_bound,   w->mark,        w->refined,
                      w->sub_slot,  w->tasks,       w->round,       w->start,   w->mid,
                      w->stop,      w->cur,         w->buf,         w->scratch, w->bucket};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        cs_free(arrays[i]);
    cs_free(w);
}

/* ---- the grid ----
 *
 * Values are scaled by s, a power of two that puts the largest magnitude
 * in [0.5, 1): exact (bar underflow of values ~1e-308 of the largest), so
 * W1 / sd is what the unscaled values give, and no difference of two
 * values can overflow. On the scaled range [lo, hi], K bins of width
 * w = (hi - lo) / K have left edges e_k = lo + k w (k < K); bin K - 1 ends
 * at hi. A value goes to bin k = min(floor((x - lo) / w), K - 1), and to
 * bin K (of width 0) when it equals hi, so that a point mass at hi
 * (saturated tanh or sigmoid) is never inside a bin. */
typedef struct {
    double lo_raw, hi_raw; /* the range before scaling: what a finite value lies in */
    double scale, lo, hi, width, inv_width;
    size_t k;              /* K */
} cs_w1_grid;

static inline double cs_w1_edge(const cs_w1_grid *g, size_t k)
{
    return g->lo + (double)k * g->width;
}

/* Width of bin k < K: to the next left edge, the last one to hi. */
static inline double cs_w1_bin_width(const cs_w1_grid *g, size_t k)
{
    double right = k + 1 < g->k ? cs_w1_edge(g, k + 1) : g->hi;
    double width = right - cs_w1_edge(g, k);
    return width > 0.0 ? width : 0.0;
}

/* The bin of raw value v (finite, in [lo_raw, hi_raw]), with xs = v s and
 * its offset d from that bin's left edge. The one binning rule: every
 * pass must place every value alike. */
static inline size_t cs_w1_locate(const cs_w1_grid *g, double v, double *xs, double *d)
{
    double x = v * g->scale;
    int64_t t = (int64_t)((x - g->lo) * g->inv_width); /* >= 0: x >= lo */
    size_t k = (size_t)t < g->k - 1 ? (size_t)t : g->k - 1;
    k = v >= g->hi_raw ? g->k : k;
    *xs = x;
    *d = x - cs_w1_edge(g, k);
    return k;
}

/* The sub-bin j of a refined bin holding offset d, and the offset d2 from
 * that sub-bin's left edge. (int64_t) truncates a slightly negative d
 * (a value a rounding below its bin's edge) to sub-bin 0. */
static inline size_t cs_w1_locate_sub(const cs_w1_refined *r, double d, double *d2)
{
    int64_t t = (int64_t)(d * r->inv_sub_width);
    size_t j = t < 0 ? 0 : (size_t)t < r->count - 1 ? (size_t)t : r->count - 1;
    *d2 = d - (double)j * r->sub_width;
    return j;
}

static inline double cs_w1_sub_width(const cs_w1_refined *r, size_t j, double bin_width)
{
    double right = j + 1 < r->count ? (double)(j + 1) * r->sub_width : bin_width;
    double width = right - (double)j * r->sub_width;
    return width > 0.0 ? width : 0.0;
}

/* ---- pass 1: the range, and A's shifted sums ----
 * The mean of the first (up to 1024) finite values of A is the pilot p of
 * its variance: var = sum (x - p)^2 / n - (mean - p)^2 then loses only
 * ~u ((mean - p) / sd)^2 relative, p being that close to the mean. */
static double cs_w1_pilot(const cs_w1_sample *p)
{
    double sum = 0.0, first = NAN;
    size_t used = 0;
    for (size_t c = 0; c < p->count && used < 1024; c++)
        for (size_t i = 0; i < p->len[c] && used < 1024; i++) {
            double v = p->chunk[c][i];
            if (!isfinite(v))
                continue;
            if (!used)
                first = v;
            sum += v - first;
            used++;
        }
    return used ? first + sum / (double)used : 0.0;
}

/* Finite and nonfinite counts and extremes of one sample, and (m1 not
 * NULL) sum (x - pilot) and sum (x - pilot)^2 over its finite values. A
 * NaN fails every comparison, so only infinities can reach the extremes;
 * when there are nonfinite values (or the sums overflow) the extremes and
 * sums are taken again over the finite values alone. */
static void cs_w1_range(const cs_w1_sample *p, uint64_t *finite, uint64_t *nonfinite,
                        double *lo, double *hi, double pilot, double *m1, double *m2)
{
    uint64_t total = 0, bad = 0;
    double mn = INFINITY, mx = -INFINITY, s1 = 0.0, s2 = 0.0;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        const size_t n = p->len[c];
        size_t i = 0;
        total += n;
#ifdef __SSE2__
        /* GCC does not vectorise extremes, counts and sums of doubles
         * (without reassociating): by hand, four values a step in two
         * pairs of lanes. */
        {
            __m128d vmin0 = _mm_set1_pd(mn), vmin1 = vmin0, vmax0 = _mm_set1_pd(mx),
                    vmax1 = vmax0, vp = _mm_set1_pd(pilot);
            __m128d a1 = _mm_setzero_pd(), b1 = a1, a2 = a1, b2 = a1;
            __m128i nbad = _mm_setzero_si128();
            for (const size_t n4 = n & ~(size_t)3; i < n4; i += 4) {
                __m128d v0 = _mm_loadu_pd(x + i), v1 = _mm_loadu_pd(x + i + 2);
                __m128d t0 = _mm_sub_pd(v0, v0), t1 = _mm_sub_pd(v1, v1); /* NaN unless finite */
                nbad = _mm_sub_epi64(nbad, _mm_castpd_si128(_mm_cmpunord_pd(t0, t0)));
                nbad = _mm_sub_epi64(nbad, _mm_castpd_si128(_mm_cmpunord_pd(t1, t1)));
                vmin0 = _mm_min_pd(v0, vmin0); /* a NaN v keeps the second operand */
                vmin1 = _mm_min_pd(v1, vmin1);
                vmax0 = _mm_max_pd(v0, vmax0);
                vmax1 = _mm_max_pd(v1, vmax1);
                __m128d d0 = _mm_sub_pd(v0, vp), d1 = _mm_sub_pd(v1, vp);
                a1 = _mm_add_pd(a1, d0);
                b1 = _mm_add_pd(b1, d1);
                a2 = _mm_add_pd(a2, _mm_mul_pd(d0, d0));
                b2 = _mm_add_pd(b2, _mm_mul_pd(d1, d1));
            }
            double pair[4];
            uint64_t lanes[2];
            _mm_storeu_pd(pair, _mm_min_pd(vmin0, vmin1));
            _mm_storeu_pd(pair + 2, _mm_max_pd(vmax0, vmax1));
            mn = pair[0] < pair[1] ? pair[0] : pair[1];
            mx = pair[2] > pair[3] ? pair[2] : pair[3];
            _mm_storeu_si128((__m128i *)lanes, nbad);
            bad += lanes[0] + lanes[1];
            _mm_storeu_pd(pair, _mm_add_pd(a1, b1));
            _mm_storeu_pd(pair + 2, _mm_add_pd(a2, b2));
            s1 += pair[0] + pair[1];
            s2 += pair[2] + pair[3];
        }
#endif
        for (; i < n; i++) {
            double v = x[i], dv = v - pilot;
            bad += !(v - v == 0.0);
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            s1 += dv;
            s2 += dv * dv;
        }
    }
    if (bad || !isfinite(s2)) {
        /* Again over the finite values, the sums in units of 2^-e of the
         * largest magnitude e, so that they cannot overflow either. */
        mn = INFINITY;
        mx = -INFINITY;
        for (size_t c = 0; c < p->count; c++)
            for (size_t i = 0; i < p->len[c]; i++) {
                double v = p->chunk[c][i];
                if (isfinite(v)) {
                    mn = v < mn ? v : mn;
                    mx = v > mx ? v : mx;
                }
            }
        int e = 0;
        if (mn <= mx)
            frexp(fabs(mn) > fabs(mx) ? mn : mx, &e);
        double scale = ldexp(1.0, -e), ps = pilot * scale;
        s1 = s2 = 0.0;
        for (size_t c = 0; m1 && c < p->count; c++)
            for (size_t i = 0; i < p->len[c]; i++) {
                double v = p->chunk[c][i];
                if (isfinite(v)) {
                    double dv = v * scale - ps;
                    s1 += dv;
                    s2 += dv * dv;
                }
            }
        s1 /= scale; /* back to raw units: finite unless the variance itself overflows */
        s2 = s2 / scale / scale;
    }
    *finite = total - bad;
    *nonfinite = bad;
    *lo = mn;
    *hi = mx;
    if (m1) {
        *m1 = s1;
        *m2 = s2;
    }
}

/* CS_W1_EDGE when d is +-0, else 0: on the bits (shifted past the sign),
 * so that it compiles to a flag, not a branch on a compare of doubles. */
static inline uint64_t cs_w1_edge_bit(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return (uint64_t)((bits << 1) == 0) << 32;
}

/* ---- pass 2: the fine histogram: counts and S1 per bin of one sample ----
 * cs_w1_locate by hand, with the grid in locals (the bins' stores could
 * otherwise alias it) and every selection by a mask, not a branch: relu's
 * zeros make "v == lo" a coin toss. */
static void cs_w1_histogram(cs_w1_cell *bin, const cs_w1_grid *g, const cs_w1_sample *p)
{
    const double lo_raw = g->lo_raw, hi_raw = g->hi_raw, scale = g->scale, lo = g->lo;
    const double width = g->width, inv_width = g->inv_width;
    const uint64_t last = g->k - 1, top = g->k;
    const uint64_t lanes_lo = g->k + 1, lanes_hi = g->k + 1 + CS_W1_LANES;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        size_t i = 0, n = p->len[c];
#if defined(__SSE2__) && defined(__x86_64__)
        /* Two values a step, with the scalar loop's roundings in the same
         * order (sub, mul, truncate, convert, mul, add, sub), so the same
         * bins and offsets; only the stores are scalar. The value in the
         * first (second) half goes to lane 0 (1) of a point mass: one step
         * takes longer than the store-to-load latency a lane chains on. */
        const __m128d vlo_raw = _mm_set1_pd(lo_raw), vhi_raw = _mm_set1_pd(hi_raw);
        const __m128d vscale = _mm_set1_pd(scale), vlo = _mm_set1_pd(lo);
        const __m128d vinv = _mm_set1_pd(inv_width), vwidth = _mm_set1_pd(width);
        const __m128i vlast = _mm_set1_epi32((int)last), vtop = _mm_set1_epi32((int)top);
        const __m128i vlanes_lo = _mm_set_epi32(0, 0, (int)lanes_lo + 1, (int)lanes_lo);
        const __m128i vlanes_hi = _mm_set_epi32(0, 0, (int)lanes_hi + 1, (int)lanes_hi);
        const __m128i vone = _mm_set1_epi64x(1), vedge = _mm_set1_epi64x((int64_t)CS_W1_EDGE);
        for (; i + 2 <= n; i += 2) {
            __m128d v = _mm_loadu_pd(x + i);
            if (_mm_movemask_pd(_mm_and_pd(_mm_cmpge_pd(v, vlo_raw), _mm_cmple_pd(v, vhi_raw))) != 3)
                break; /* a nonfinite value: the scalar loop takes over */
            __m128d xs = _mm_mul_pd(v, vscale);
            __m128i k = _mm_cvttpd_epi32(_mm_mul_pd(_mm_sub_pd(xs, vlo), vinv));
            __m128i over = _mm_cmpgt_epi32(k, vlast);
            k = _mm_or_si128(_mm_and_si128(over, vlast), _mm_andnot_si128(over, k));
            /* the 64-bit masks of v == hi, v == lo as 32-bit lanes 0 and 1 */
            __m128i at_hi = _mm_shuffle_epi32(_mm_castpd_si128(_mm_cmpeq_pd(v, vhi_raw)), 0x08);
            __m128i at_lo = _mm_shuffle_epi32(_mm_castpd_si128(_mm_cmpeq_pd(v, vlo_raw)), 0x08);
            k = _mm_or_si128(_mm_andnot_si128(at_hi, k), _mm_and_si128(at_hi, vtop));
            __m128d d = _mm_sub_pd(xs, _mm_add_pd(vlo, _mm_mul_pd(_mm_cvtepi32_pd(k), vwidth)));
            __m128i spike = _mm_or_si128(at_lo, at_hi);
            __m128i slot = _mm_or_si128(_mm_andnot_si128(spike, k),
                                        _mm_or_si128(_mm_and_si128(at_lo, vlanes_lo),
                                                     _mm_and_si128(at_hi, vlanes_hi)));
            __m128i inc = _mm_add_epi64(
                vone, _mm_and_si128(_mm_castpd_si128(_mm_cmpeq_pd(d, _mm_setzero_pd())), vedge));
            size_t s0 = (uint32_t)_mm_cvtsi128_si32(slot);
            size_t s1 = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(slot, 4));
            bin[s0].count += (uint64_t)_mm_cvtsi128_si64(inc);
            bin[s0].s1 += _mm_cvtsd_f64(d);
            bin[s1].count += (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(inc, inc));
            bin[s1].s1 += _mm_cvtsd_f64(_mm_unpackhi_pd(d, d));
        }
#endif
        for (; i < n; i++) {
            double v = x[i];
            if (!(v >= lo_raw && v <= hi_raw)) /* NaN and +-Inf */
                continue;
            double xs = v * scale;
            uint64_t k = (uint64_t)(int64_t)((xs - lo) * inv_width);
            k = k < last ? k : last;
            uint64_t at_hi = -(uint64_t)(v >= hi_raw), at_lo = -(uint64_t)(v == lo_raw);
            k = (k & ~at_hi) | (top & at_hi);
            double d = xs - (lo + (double)(int64_t)k * width);
            uint64_t lane = i & (CS_W1_LANES - 1);
            uint64_t slot = (k & ~(at_lo | at_hi)) | ((lanes_lo + lane) & at_lo) |
                            ((lanes_hi + lane) & at_hi);
            bin[slot].count += 1 + cs_w1_edge_bit(d); /* d == 0 at lo */
            bin[slot].s1 += d;
        }
    }
    for (size_t lane = 0; lane < CS_W1_LANES; lane++) {
        bin[0].count += bin[lanes_lo + lane].count;
        bin[0].s1 += bin[lanes_lo + lane].s1;
        bin[top].count += bin[lanes_hi + lane].count;
        bin[top].s1 += bin[lanes_hi + lane].s1;
    }
}

/* Each value of p, located (cs_w1_locate), handed to visit(ctx, k, d)
 * for the bins whose mark is nonzero: the passes after the histogram,
 * which touch only the values of a few marked bins. Two values a step
 * with SSE2, the roundings of cs_w1_locate in the same order. */
#define CS_W1_FOR_MARKED(g, p, mark, VISIT)                                                       \
    do {                                                                                           \
        const double lo_raw_ = (g)->lo_raw, hi_raw_ = (g)->hi_raw;                                 \
        for (size_t c_ = 0; c_ < (p)->count; c_++) {                                               \
            const double *x_ = (p)->chunk[c_];                                                     \
            size_t i_ = 0, n_ = (p)->len[c_];                                                      \
            CS_W1_FOR_MARKED_SSE2(g, mark, VISIT)                                                  \
            for (; i_ < n_; i_++) {                                                                \
                double v_ = x_[i_], xs_, d_;                                                       \
                if (!(v_ >= lo_raw_ && v_ <= hi_raw_))                                             \
                    continue;                                                                      \
                size_t k_ = cs_w1_locate(g, v_, &xs_, &d_);                                        \
                if ((mark)[k_])                                                                    \
                    VISIT(k_, d_);                                                                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#if defined(__SSE2__) && defined(__x86_64__)
#define CS_W1_FOR_MARKED_SSE2(g, mark, VISIT)                                                     \
    {                                                                                              \
        const __m128d vlo_raw_ = _mm_set1_pd(lo_raw_), vhi_raw_ = _mm_set1_pd(hi_raw_);            \
        const __m128d vscale_ = _mm_set1_pd((g)->scale), vlo_ = _mm_set1_pd((g)->lo);              \
        const __m128d vinv_ = _mm_set1_pd((g)->inv_width), vwidth_ = _mm_set1_pd((g)->width);      \
        const __m128i vlast_ = _mm_set1_epi32((int)(g)->k - 1), vtop_ = _mm_set1_epi32((int)(g)->k); \
        for (; i_ + 2 <= n_; i_ += 2) {                                                            \
            __m128d v_ = _mm_loadu_pd(x_ + i_);                                                    \
            if (_mm_movemask_pd(                                                                   \
                    _mm_and_pd(_mm_cmpge_pd(v_, vlo_raw_), _mm_cmple_pd(v_, vhi_raw_))) != 3)      \
                break;                                                                             \
            __m128d xs_ = _mm_mul_pd(v_, vscale_);                                                 \
            __m128i k_ = _mm_cvttpd_epi32(_mm_mul_pd(_mm_sub_pd(xs_, vlo_), vinv_));               \
            __m128i over_ = _mm_cmpgt_epi32(k_, vlast_);                                           \
            k_ = _mm_or_si128(_mm_and_si128(over_, vlast_), _mm_andnot_si128(over_, k_));          \
            __m128i hi_ = _mm_shuffle_epi32(_mm_castpd_si128(_mm_cmpeq_pd(v_, vhi_raw_)), 0x08);   \
            k_ = _mm_or_si128(_mm_andnot_si128(hi_, k_), _mm_and_si128(hi_, vtop_));               \
            size_t k0_ = (uint32_t)_mm_cvtsi128_si32(k_);                                          \
            size_t k1_ = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(k_, 4));                       \
            if (!((mark)[k0_] | (mark)[k1_]))                                                      \
                continue;                                                                          \
            __m128d d_ =                                                                           \
                _mm_sub_pd(xs_, _mm_add_pd(vlo_, _mm_mul_pd(_mm_cvtepi32_pd(k_), vwidth_)));       \
            if ((mark)[k0_])                                                                       \
                VISIT(k0_, _mm_cvtsd_f64(d_));                                                     \
            if ((mark)[k1_])                                                                       \
                VISIT(k1_, _mm_cvtsd_f64(_mm_unpackhi_pd(d_, d_)));                                \
        }                                                                                          \
    }
#else
#define CS_W1_FOR_MARKED_SSE2(g, mark, VISIT)
#endif

/* ---- pass 3 (only with refined bins): their sub-bins' counts and S1 ---- */
static void cs_w1_refine_pass(cs_w1_cell *sub, const cs_w1_grid *g, const cs_w1_sample *p,
                              const uint32_t *mark, const cs_w1_refined *refined)
{
#define CS_W1_VISIT_REFINE(k, d)                                                                  \
    do {                                                                                           \
        uint32_t m = mark[k];                                                                      \
        if (m & CS_W1_REFINED) {                                                                   \
            const cs_w1_refined *ref = &refined[m & ~CS_W1_REFINED];                               \
            double d2;                                                                             \
            size_t j = ref->first + cs_w1_locate_sub(ref, (d), &d2);                               \
            sub[j].count += 1 + cs_w1_edge_bit(d2);                                                \
            sub[j].s1 += d2;                                                                       \
        }                                                                                          \
    } while (0)
    CS_W1_FOR_MARKED(g, p, mark, CS_W1_VISIT_REFINE);
#undef CS_W1_VISIT_REFINE
}

/* ---- gathering: each value of a cell of the round, other than those at
 * the cell's left edge, goes to its cell's part of buf ---- */
static void cs_w1_gather(double *buf, const cs_w1_grid *g, const cs_w1_sample *p,
                         const cs_w1 *w, size_t *cur, const size_t *end)
{
    const uint32_t *mark = w->mark;
#define CS_W1_VISIT_GATHER(k, d)                                                                  \
    do {                                                                                           \
        uint32_t m = mark[k], s = m;                                                               \
        double off = (d);                                                                          \
        if (m & CS_W1_REFINED) {                                                                   \
            const cs_w1_refined *ref = &w->refined[m & ~CS_W1_REFINED];                            \
            s = w->sub_slot[ref->first + cs_w1_locate_sub(ref, off, &off)];                        \
        }                                                                                          \
        if (s && off != 0.0 && cur[s - 1] < end[s - 1]) /* below end: the passes agree */          \
            buf[cur[s - 1]++] = off;                                                               \
    } while (0)
    CS_W1_FOR_MARKED(g, p, mark, CS_W1_VISIT_GATHER);
#undef CS_W1_VISIT_GATHER
}

/* ---- sorting the values of a cell ----
 * Quicksort with a three-way partition (the point masses of dead or
 * saturated units make long runs of equal values: one partition step puts
 * them all in place), insertion sort below 16 values, heapsort past a
 * depth of 2 log2 n (introsort: Musser 1997), so never worse than
 * O(n log n). No NaN reaches here. */
static void cs_w1_insertion_sort(double *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void cs_w1_sift_down(double *a, size_t root, size_t n)
{
    double v = a[root];
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (!(a[child] > v))
            break;
        a[root] = a[child];
    }
    a[root] = v;
}

static void cs_w1_heap_sort(double *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        cs_w1_sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        double t = a[0];
        a[0] = a[end];
        a[end] = t;
        cs_w1_sift_down(a, 0, end);
    }
}

static void cs_w1_sort(double *a, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            cs_w1_heap_sort(a, n);
            return;
        }
        double x = a[0], y = a[n / 2], z = a[n - 1]; /* median of three */
        double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        /* Dijkstra's partition: [0, lt) < pivot, [lt, gt) == pivot, [gt, n) > pivot */
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {
            double v = a[i];
            if (v < pivot) {
                a[i++] = a[lt];
                a[lt++] = v;
            } else if (v > pivot) {
                a[i] = a[--gt];
                a[gt] = v;
            } else {
                i++;
            }
        }
        /* recurse into the smaller side, loop on the larger: O(log n) stack */
        if (lt < n - gt) {
            cs_w1_sort(a, lt, depth);
            a += gt;
            n -= gt;
        } else {
            cs_w1_sort(a + gt, n - gt, depth);
            n = lt;
        }
    }
    cs_w1_insertion_sort(a, n);
}

static void cs_w1_quick_sort(double *a, size_t n)
{
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    cs_w1_sort(a, n, depth);
}

/* Sorts the offsets a[0..n) of a cell of the given width (> 0). A cell's
 * offsets are close to uniform on [0, width), so a pass into 2^b >= n
 * buckets by floor(d 2^b / width) (monotone in d) leaves them in order
 * but for the few sharing a bucket, which an insertion sort then puts
 * right: linear time, where comparison sorts mispredict a branch per
 * comparison. Larger cells (a point mass, a refined bin's heaviest
 * sub-bin) take the quicksort. */
static void cs_w1_sort_cell(double *a, size_t n, double width, cs_w1 *w)
{
    if (n <= 32 || n > CS_W1_BUCKET_MAX || !(width > 0.0)) {
        if (n <= 32)
            cs_w1_insertion_sort(a, n);
        else
            cs_w1_quick_sort(a, n);
        return;
    }
    size_t nb = 64;
    while (nb < n)
        nb *= 2;
    const double per = (double)nb / width, top = (double)(nb - 1);
    uint32_t *bucket = w->bucket;
    memset(bucket, 0, (nb + 1) * sizeof *bucket);
    for (size_t i = 0; i < n; i++) {
        double t = a[i] * per;
        t = t > 0.0 ? t < top ? t : top : 0.0;
        bucket[(size_t)t + 1]++;
    }
    for (size_t b = 0; b < nb; b++)
        bucket[b + 1] += bucket[b];
    for (size_t i = 0; i < n; i++) {
        double t = a[i] * per;
        t = t > 0.0 ? t < top ? t : top : 0.0;
        w->scratch[bucket[(size_t)t]++] = a[i];
    }
    memcpy(a, w->scratch, n * sizeof *a);
    cs_w1_insertion_sort(a, n);
}

/* ---- integration ----
 * In units of 1 / (n_a n_b), F_A - F_B at a point is the integer
 * N = C_A n_b - C_B n_a (C_P: values of P at or below the point), exact in
 * int64 for counts below 2^31. */
static int64_t cs_w1_num(uint64_t ca, uint64_t cb, uint64_t n_a, uint64_t n_b)
{
    return (int64_t)(ca * n_b) - (int64_t)(cb * n_a);
}

/* A cell [e, e + width) with ca, cb values below it and counts pa, pb
 * (packed), sums s1a, s1b. D is N at e^-, N' after the values at e, and
 * N_end at the cell's end; inside, the other values move it between
 *   low  = (C_A + z_A) n_b - C_B,end n_a   (every B value first)
 *   high = C_A,end n_b - (C_B + z_B) n_a   (every A value first).
 * If low >= 0 or high <= 0, D keeps its sign and
 *   integral |D| = |integral D| = |width N_end - S1_A n_b + S1_B n_a|
 * exactly (a value at offset d contributes width - d to the integral of
 * its CDF over the cell). Otherwise *part is that |integral D|, *bound
 * what the exact value may exceed it by (|integral D| <= integral |D| <=
 * |integral D| + 2 min(high, -low) width), and the return is 1: the cell's
 * values must be sorted. */
static int cs_w1_cell_integral(double *part, double *bound, uint64_t ca, uint64_t cb,
                               const cs_w1_cell *a, const cs_w1_cell *b, double width,
                               uint64_t n_a, uint64_t n_b)
{
    uint64_t ca_end = ca + CS_W1_ALL(a->count), cb_end = cb + CS_W1_ALL(b->count);
    int64_t low = cs_w1_num(ca + CS_W1_AT_EDGE(a->count), cb_end, n_a, n_b);
    int64_t high = cs_w1_num(ca_end, cb + CS_W1_AT_EDGE(b->count), n_a, n_b);
    double integral = width * (double)cs_w1_num(ca_end, cb_end, n_a, n_b) -
                      a->s1 * (double)n_b + b->s1 * (double)n_a;
    *part = fabs(integral);
    *bound = 0.0;
    if (low < 0 && high > 0 && width > 0.0) {
        *bound = 2.0 * (double)(high < -low ? high : -low) * width;
        return 1;
    }
    return 0;
}

/* A cell's integral of |N| over offsets [0, width] from its sorted offsets
 * da (A's, without those at the left edge) and db (B's), starting from
 * N = start (after the left edge's values). Offsets are clamped to the
 * cell (a value may sit a rounding outside its cell's edges). */
static double cs_w1_walk(const double *da, size_t na, const double *db, size_t nb, int64_t start,
                         double width, uint64_t n_a, uint64_t n_b)
{
    double acc = 0.0, pos = 0.0;
    int64_t num = start;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int from_a = j == nb || (i < na && da[i] <= db[j]);
        double x = from_a ? da[i] : db[j];
        x = x < pos ? pos : x > width ? width : x;
        acc += fabs((double)num) * (x - pos);
        pos = x;
        if (from_a) {
            num += (int64_t)n_b;
            i++;
        } else {
            num -= (int64_t)n_a;
            j++;
        }
    }
    if (width > pos)
        acc += fabs((double)num) * (width - pos);
    return acc;
}

/* sum of x[0..n) with Neumaier's compensation: the bins' parts differ by
 * orders of magnitude between the body and the tails. */
static double cs_w1_sum(const double *x, size_t n)
{
    double s = 0.0, comp = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = s + x[i];
        comp += fabs(s) >= fabs(x[i]) ? (s - t) + x[i] : (x[i] - t) + s;
        s = t;
    }
    return s + comp;
}

static int cs_w1_check_sample(const cs_w1_sample *p, const char *name)
{
    if (!p)
        return cs_error_set(CS_EINVAL, "cs_w1_compute: sample %s is NULL", name);
    if (p->count && (!p->chunk || !p->len))
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: sample %s has %zu chunks but a NULL chunk or length "
                            "list",
                            name, p->count);
    for (size_t c = 0; c < p->count; c++)
        if (p->len[c] && !p->chunk[c])
            return cs_error_set(CS_EINVAL,
                                "cs_w1_compute: chunk %zu of sample %s is NULL with length %zu",
                                c, name, p->len[c]);
    return CS_OK;
}

/* Interior values (not at the left edge) of a cell of A and of B. */
static size_t cs_w1_interior(const cs_w1_cell *c)
{
    return (size_t)(CS_W1_ALL(c->count) - CS_W1_AT_EDGE(c->count));
}

/* A bin is heavy when its values are too many for the bucket sort: the
 * quicksort then costs ~log2(m) passes over its m values. Refining costs
 * one more pass over all N values, so it pays when sorting the heavy bins,
 * sum m log2 m, would exceed CS_W1_REFINE_PASSES N: tanh's saturated
 * tails, where a few bins hold most of a layer's values. */
#define CS_W1_HEAVY CS_W1_BUCKET_MAX
#define CS_W1_REFINE_PASSES 3

/* Picks the pending bins to refine (heavy ones, while sub-bins last),
 * lays out their sub-grids; returns how many. */
static size_t cs_w1_plan_refinement(cs_w1 *w, const cs_w1_grid *g, size_t npending,
                                    uint64_t n_total)
{
    double sort_cost = 0.0;
    for (size_t t = 0; t < npending; t++) {
        size_t k = w->tasks[t].bin;
        size_t m = cs_w1_interior(&w->bin_a[k]) + cs_w1_interior(&w->bin_b[k]);
        sort_cost += m > CS_W1_HEAVY ? (double)m * log2((double)m) : 0.0;
    }
    if (sort_cost < CS_W1_REFINE_PASSES * (double)n_total)
        return 0;
    size_t nrefined = 0, used = 0;
    for (size_t t = 0; t < npending; t++) {
        size_t k = w->tasks[t].bin;
        size_t m = cs_w1_interior(&w->bin_a[k]) + cs_w1_interior(&w->bin_b[k]);
        if (m <= CS_W1_HEAVY)
            continue;
        size_t count = CS_W1_MIN_BINS;
        while (count < w->max_bins && count * CS_W1_VALUES_PER_BIN < m)
            count *= 2;
        if (used + count > w->max_bins)
            continue;
        cs_w1_refined *r = &w->refined[nrefined];
        double width = cs_w1_bin_width(g, k);
        r->bin = k;
        r->first = used;
        r->count = count;
        r->sub_width = width / (double)count;
        r->inv_sub_width = (double)count / width;
        w->mark[k] = CS_W1_REFINED | (uint32_t)nrefined++;
        used += count;
    }
    memset(w->sub_a, 0, used * sizeof *w->sub_a);
    memset(w->sub_b, 0, used * sizeof *w->sub_b);
    return nrefined;
}

/* The checks both entry points make first: out and w given, NaN results. */
static int cs_w1_start(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a, const cs_w1_sample *b)
{
    if (!out || !w)
        return cs_error_set(CS_EINVAL, "cs_w1_compute: %s is NULL (expected a %s)",
                            out ? "the workspace" : "the result",
                            out ? "cs_w1 from cs_w1_alloc" : "cs_w1_result to fill");
    memset(out, 0, sizeof *out);
    out->w1 = out->w1_raw = out->sd_a = out->w1_err = NAN;
    out->lo = out->hi = NAN;
    int rc = cs_w1_check_sample(a, "A");
    if (rc == CS_OK)
        rc = cs_w1_check_sample(b, "B");
    return rc;
}

static int cs_w1_from_summaries(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a,
                                const cs_w1_summary *sa, const cs_w1_sample *b,
                                const cs_w1_summary *sb);

int cs_w1_compute(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a, const cs_w1_sample *b)
{
    int rc = cs_w1_start(out, w, a, b);
    if (rc != CS_OK)
        return rc;
    /* Pass 1: the range of A's and B's finite values, A's shifted sums. */
    cs_w1_summary sa, sb;
    double m1, m2;
    const double pilot = cs_w1_pilot(a);
    cs_w1_range(a, &sa.n, &sa.nonfinite, &sa.lo, &sa.hi, pilot, &m1, &m2);
    cs_w1_range(b, &sb.n, &sb.nonfinite, &sb.lo, &sb.hi, 0.0, NULL, NULL);
    /* var = sum (x - p)^2 / n - (mean - p)^2, losing only ~u ((mean - p) / sd)^2 */
    double mean_off = sa.n ? m1 / (double)sa.n : 0.0;
    sa.mean = pilot + mean_off;
    sa.var = sa.n ? m2 / (double)sa.n - mean_off * mean_off : NAN;
    sb.mean = sb.var = NAN;
    rc = cs_w1_from_summaries(out, w, a, &sa, b, &sb);
    out->passes++;
    return rc;
}

int cs_w1_compute_known(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a,
                        const cs_w1_summary *sa, const cs_w1_sample *b, const cs_w1_summary *sb)
{
    int rc = cs_w1_start(out, w, a, b);
    if (rc != CS_OK)
        return rc;
    if (!sa || !sb)
        return cs_error_set(CS_EINVAL, "cs_w1_compute_known: the summary of %s is NULL",
                            sa ? "B" : "A");
    return cs_w1_from_summaries(out, w, a, sa, b, sb);
}

/* Passes 2 and on, from what pass 1 found (or the caller knew). */
static int cs_w1_from_summaries(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a,
                                const cs_w1_summary *sa, const cs_w1_sample *b,
                                const cs_w1_summary *sb)
{
    out->n_a = sa->n;
    out->n_b = sb->n;
    out->nonfinite_a = sa->nonfinite;
    out->nonfinite_b = sb->nonfinite;
    const double lo_a = sa->lo, hi_a = sa->hi, lo_b = sb->lo, hi_b = sb->hi;
    const uint64_t most = ((uint64_t)1 << 31) - 1;
    if (out->n_a > most || out->n_b > most)
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: %" PRIu64 " finite values in A and %" PRIu64
                            " in B (expected at most %" PRIu64 " each)",
                            out->n_a, out->n_b, most);
    const uint64_t n_a = out->n_a, n_b = out->n_b;
    const size_t nbins = cs_w1_bins(n_a + n_b);
    if (nbins > w->max_bins)
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: %" PRIu64 " finite values need %zu bins, the "
                            "workspace has %zu (sized for fewer values)",
                            n_a + n_b, nbins, w->max_bins);
    if (!n_a || !n_b) {
        out->lo = n_a ? lo_a : n_b ? lo_b : NAN;
        out->hi = n_a ? hi_a : n_b ? hi_b : NAN;
        return CS_OK;
    }
    if (!(lo_a <= hi_a && lo_b <= hi_b && isfinite(lo_a) && isfinite(hi_a) && isfinite(lo_b) &&
          isfinite(hi_b)))
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: ranges [%g, %g] of A and [%g, %g] of B are not "
                            "finite ranges",
                            lo_a, hi_a, lo_b, hi_b);
    out->lo = lo_a < lo_b ? lo_a : lo_b;
    out->hi = hi_a > hi_b ? hi_a : hi_b;
    out->w1_err = 0.0;
    if (out->lo == out->hi) { /* one point: A = B */
        out->w1 = out->w1_raw = out->sd_a = 0.0;
        return CS_OK;
    }

    cs_w1_grid g;
    g.lo_raw = out->lo;
    g.hi_raw = out->hi;
    int exp2;
    frexp(fabs(g.lo_raw) > fabs(g.hi_raw) ? g.lo_raw : g.hi_raw, &exp2);
    g.scale = ldexp(1.0, -exp2);
    g.lo = g.lo_raw * g.scale;
    g.hi = g.hi_raw * g.scale;
    g.k = nbins;
    g.width = (g.hi - g.lo) / (double)nbins;
    g.inv_width = (double)nbins / (g.hi - g.lo);
    out->bins = nbins;

    /* A's variance, scaled; a constant A has sd 0 exactly, not the
     * rounding of its shifted sums. */
    double var_a = lo_a == hi_a ? 0.0 : sa->var;
    var_a = var_a > 0.0 ? var_a * g.scale * g.scale : 0.0;

    /* Pass 2: the fine histogram. */
    const size_t ncells = nbins + 1 + 2 * CS_W1_LANES;
    memset(w->bin_a, 0, ncells * sizeof *w->bin_a);
    memset(w->bin_b, 0, ncells * sizeof *w->bin_b);
    cs_w1_histogram(w->bin_a, &g, a);
    cs_w1_histogram(w->bin_b, &g, b);
    out->passes = 1;

    /* Every bin: exact, or a task to sort. */
    size_t ntasks = 0;
    uint64_t ca = 0, cb = 0;
    for (size_t k = 0; k < nbins; k++) {
        w->below_a[k] = ca;
        w->below_b[k] = cb;
        if (cs_w1_cell_integral(&w->part[k], &w->bound[k], ca, cb, &w->bin_a[k], &w->bin_b[k],
                                cs_w1_bin_width(&g, k), n_a, n_b))
            w->tasks[ntasks++] = (cs_w1_task){k, SIZE_MAX};
        ca += CS_W1_ALL(w->bin_a[k].count);
        cb += CS_W1_ALL(w->bin_b[k].count);
    }

    /* Pass 3, when heavy bins need sorting (F_A - F_B near 0 over a
     * concentrated stretch: tanh near +-1): sub-bins for them, and those
     * of their sub-bins that still need sorting become the tasks. */
    size_t nrefined = cs_w1_plan_refinement(w, &g, ntasks, n_a + n_b);
    if (nrefined) {
        cs_w1_refine_pass(w->sub_a, &g, a, w->mark, w->refined);
        cs_w1_refine_pass(w->sub_b, &g, b, w->mark, w->refined);
        out->passes++;
        size_t kept = 0;
        for (size_t t = 0; t < ntasks; t++)
            if (!w->mark[w->tasks[t].bin])
                w->tasks[kept++] = w->tasks[t];
        ntasks = kept;
        for (size_t r = 0; r < nrefined; r++) {
            const cs_w1_refined *ref = &w->refined[r];
            uint64_t sa = w->below_a[ref->bin], sb = w->below_b[ref->bin];
            double width = cs_w1_bin_width(&g, ref->bin);
            for (size_t j = ref->first; j < ref->first + ref->count; j++) {
                w->sub_below_a[j] = sa;
                w->sub_below_b[j] = sb;
                if (cs_w1_cell_integral(&w->sub_part[j], &w->sub_bound[j], sa, sb, &w->sub_a[j],
                                        &w->sub_b[j], cs_w1_sub_width(ref, j - ref->first, width),
                                        n_a, n_b))
                    w->tasks[ntasks++] = (cs_w1_task){ref->bin, j};
                sa += CS_W1_ALL(w->sub_a[j].count);
                sb += CS_W1_ALL(w->sub_b[j].count);
            }
        }
    }

    /* Rounds: as many tasks as buf holds, gathered in one pass over A and
     * one over B, sorted and walked. Each round task r owns buf[start,
     * mid) for A's values and buf[mid, stop) for B's. A cell whose values
     * alone exceed the capacity keeps |integral D| and its bound. */
    size_t next = 0;
    while (next < ntasks) {
        size_t nround = 0, fill = 0;
        for (; next < ntasks; next++) {
            cs_w1_task task = w->tasks[next];
            int whole = task.sub == SIZE_MAX;
            const cs_w1_cell *ea = whole ? &w->bin_a[task.bin] : &w->sub_a[task.sub];
            const cs_w1_cell *eb = whole ? &w->bin_b[task.bin] : &w->sub_b[task.sub];
            size_t ia = cs_w1_interior(ea), ib = cs_w1_interior(eb);
            if (ia + ib > w->capacity)
                continue; /* bounded */
            if (fill + ia + ib > w->capacity)
                break;
            w->round[nround] = task;
            w->start[nround] = fill;
            w->mid[nround] = fill + ia;
            w->stop[nround] = fill + ia + ib;
            if (whole)
                w->mark[task.bin] = (uint32_t)(nround + 1);
            else
                w->sub_slot[task.sub] = (uint32_t)(nround + 1);
            fill += ia + ib;
            nround++;
        }
        if (!nround)
            continue;
        memcpy(w->cur, w->start, nround * sizeof *w->cur);
        cs_w1_gather(w->buf, &g, a, w, w->cur, w->mid);
        memcpy(w->cur, w->mid, nround * sizeof *w->cur);
        cs_w1_gather(w->buf, &g, b, w, w->cur, w->stop);
        out->passes++;
        for (size_t r = 0; r < nround; r++) {
            cs_w1_task task = w->round[r];
            int whole = task.sub == SIZE_MAX;
            double *da = w->buf + w->start[r], *db = w->buf + w->mid[r];
            size_t na = w->mid[r] - w->start[r], nb = w->stop[r] - w->mid[r];
            double width = whole ? cs_w1_bin_width(&g, task.bin)
                                 : cs_w1_sub_width(&w->refined[w->mark[task.bin] & ~CS_W1_REFINED],
                                                   task.sub - w->refined[w->mark[task.bin] &
                                                                         ~CS_W1_REFINED].first,
                                                   cs_w1_bin_width(&g, task.bin));
            cs_w1_sort_cell(da, na, width, w);
            cs_w1_sort_cell(db, nb, width, w);
            if (whole) {
                size_t k = task.bin;
                int64_t start = cs_w1_num(w->below_a[k] + CS_W1_AT_EDGE(w->bin_a[k].count),
                                          w->below_b[k] + CS_W1_AT_EDGE(w->bin_b[k].count), n_a,
                                          n_b);
                w->part[k] = cs_w1_walk(da, na, db, nb, start, width, n_a, n_b);
                w->bound[k] = 0.0;
                w->mark[k] = 0;
            } else {
                size_t j = task.sub;
                int64_t start = cs_w1_num(w->sub_below_a[j] + CS_W1_AT_EDGE(w->sub_a[j].count),
                                          w->sub_below_b[j] + CS_W1_AT_EDGE(w->sub_b[j].count),
                                          n_a, n_b);
                w->sub_part[j] = cs_w1_walk(da, na, db, nb, start, width, n_a, n_b);
                w->sub_bound[j] = 0.0;
                w->sub_slot[j] = 0;
            }
            out->sorted += na + nb;
        }
    }

    /* A refined bin's integral is its sub-bins', in order. */
    for (size_t r = 0; r < nrefined; r++) {
        const cs_w1_refined *ref = &w->refined[r];
        w->part[ref->bin] = cs_w1_sum(w->sub_part + ref->first, ref->count);
        w->bound[ref->bin] = cs_w1_sum(w->sub_bound + ref->first, ref->count);
        w->mark[ref->bin] = 0;
    }

    /* W1 and its bound over the bins in order, back from 1 / (n_a n_b)
     * units with one rounding each. */
    double denom = (double)n_a * (double)n_b;
    double w1_s = cs_w1_sum(w->part, nbins) / denom;
    double err_s = cs_w1_sum(w->bound, nbins) / denom;
    double sd_s = sqrt(var_a);
    out->w1_raw = w1_s / g.scale;
    out->sd_a = sd_s / g.scale;
    if (sd_s > 0.0) {
        out->w1 = w1_s / sd_s;
        out->w1_err = err_s / sd_s;
    } else {
        out->w1 = w1_s == 0.0 ? 0.0 : NAN;
        out->w1_err = err_s == 0.0 ? 0.0 : NAN;
    }
    return CS_OK;
}
