/* Exact W1 between two pooled samples (docs/design.md §2, w1 of metrics
 * version 2): the range pass, the fine histogram with per-bin sums, the
 * exact integral of every bin where F_A - F_B keeps its sign, and sorting
 * for the bins where it may not. */
#include "cs_w1.h"

#include "cs_error.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A bin's counts, packed: the low 32 bits count every value of the bin,
 * the high 32 bits those exactly at its left edge (d == 0 below: relu's
 * zeros at the range's low end, integers of a discrete input). Per-phase
 * counts stay below 2^31, so neither half carries into the other. */
#define CS_W1_EDGE ((uint64_t)1 << 32)
#define CS_W1_LOW(c) ((c) & (CS_W1_EDGE - 1))
#define CS_W1_HIGH(c) ((c) >> 32)

/* Per bin of A: the packed counts, S1 = sum of d, S2 = sum of d^2, where
 * d = x - e_k is a value's offset from its bin's left edge. */
typedef struct {
    uint64_t count;
    double s1, s2;
} cs_w1_bin_a;

/* Per bin of B: A's without S2 (only A's sd is needed). */
typedef struct {
    uint64_t count;
    double s1;
} cs_w1_bin_b;

struct cs_w1 {
    size_t max_bins;   /* bins fixed by max_values; bins + 1 entries (bin K: values == hi) */
    size_t capacity;   /* values buf holds */
    cs_w1_bin_a *bin_a;
    cs_w1_bin_b *bin_b;
    double *part;      /* (max_bins) each bin's integral of |D|, in units of 1 / (n_a n_b) */
    double *bound;     /* (max_bins) the error bound of a bin left unresolved, same units */
    uint32_t *slot;    /* (max_bins + 1) 1 + the bin's index in the round, 0 if not in it */
    size_t *pending;   /* (max_bins) the bins that need sorting */
    uint64_t *cum_a, *cum_b; /* (max_bins) values of A, of B below each bin */
    size_t *round_bin; /* (max_bins) the bins of the current round... */
    size_t *start, *mid, *stop; /* (max_bins) ...their parts of buf: A's [start, mid), B's [mid, stop) */
    size_t *cur;       /* (max_bins) write cursors of the gathering pass */
    double *buf;       /* (capacity) the round's values, as offsets d */
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
    CS_ALLOC_TAKE(plan, w->bin_a, what, keys, bins + 1);
    CS_ALLOC_TAKE(plan, w->bin_b, what, keys, bins + 1);
    CS_ALLOC_TAKE(plan, w->part, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->bound, what, keys, bins);
    CS_ALLOC_TAKE_ZERO(plan, w->slot, what, keys, bins + 1);
    CS_ALLOC_TAKE(plan, w->pending, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->cum_a, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->cum_b, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->round_bin, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->start, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->mid, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->stop, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->cur, what, keys, bins);
    CS_ALLOC_TAKE(plan, w->buf, what, keys, capacity ? capacity : 1);
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
    cs_free(w->bin_a);
    cs_free(w->bin_b);
    cs_free(w->part);
    cs_free(w->bound);
    cs_free(w->slot);
    cs_free(w->pending);
    cs_free(w->cum_a);
    cs_free(w->cum_b);
    cs_free(w->round_bin);
    cs_free(w->start);
    cs_free(w->mid);
    cs_free(w->stop);
    cs_free(w->cur);
    cs_free(w->buf);
    cs_free(w);
}

/* ---- the bins ----
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

static inline double cs_w1_edge(const cs_w1_grid *g, size_t k) { return g->lo + (double)k * g->width; }

/* The bin of raw value v (finite, in [lo_raw, hi_raw]) and its offset d
 * from that bin's left edge, in scaled units. The one binning rule: the
 * histogram pass and the gathering pass must agree on every value. */
static inline size_t cs_w1_locate(const cs_w1_grid *g, double v, double *d)
{
    double x = v * g->scale;
    int64_t t = (int64_t)((x - g->lo) * g->inv_width); /* >= 0: x >= lo */
    size_t k = (size_t)t < g->k - 1 ? (size_t)t : g->k - 1;
    k = v >= g->hi_raw ? g->k : k;
    *d = x - cs_w1_edge(g, k);
    return k;
}

/* Right edge of bin k < K. */
static inline double cs_w1_right(const cs_w1_grid *g, size_t k)
{
    return k + 1 < g->k ? cs_w1_edge(g, k + 1) : g->hi;
}

/* Pass 1 over one sample: finite and nonfinite counts, extremes. A NaN
 * fails both comparisons, so only infinities can reach lo and hi; when
 * there are nonfinite values the extremes are taken again over the
 * finite ones alone. */
static void cs_w1_range(const cs_w1_sample *p, uint64_t *finite, uint64_t *nonfinite,
                        double *lo, double *hi)
{
    uint64_t total = 0, bad = 0;
    double mn = INFINITY, mx = -INFINITY;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        const size_t n = p->len[c];
        total += n;
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            bad += !(v - v == 0.0); /* NaN and +-Inf */
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    }
    if (bad) {
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
    }
    *finite = total - bad;
    *nonfinite = bad;
    *lo = mn;
    *hi = mx;
}

/* Pass 2: A's counts, S1, S2 and B's counts, S1 per bin. */
static void cs_w1_histogram_a(cs_w1_bin_a *bin, const cs_w1_grid *g, const cs_w1_sample *p)
{
    const double lo = g->lo_raw, hi = g->hi_raw;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        for (size_t i = 0, n = p->len[c]; i < n; i++) {
            double v = x[i], d;
            if (!(v >= lo && v <= hi)) /* NaN and +-Inf */
                continue;
            size_t k = cs_w1_locate(g, v, &d);
            bin[k].count += 1 + (d == 0.0 ? CS_W1_EDGE : 0);
            bin[k].s1 += d;
            bin[k].s2 += d * d;
        }
    }
}

static void cs_w1_histogram_b(cs_w1_bin_b *bin, const cs_w1_grid *g, const cs_w1_sample *p)
{
    const double lo = g->lo_raw, hi = g->hi_raw;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        for (size_t i = 0, n = p->len[c]; i < n; i++) {
            double v = x[i], d;
            if (!(v >= lo && v <= hi))
                continue;
            size_t k = cs_w1_locate(g, v, &d);
            bin[k].count += 1 + (d == 0.0 ? CS_W1_EDGE : 0);
            bin[k].s1 += d;
        }
    }
}

/* A's biased variance from its bins, in scaled units. With a = e_k + d
 * and offsets from the range's low end, o_k = e_k - lo:
 *   mean - lo = sum_k (c_k o_k + S1_k) / n
 *   n var = sum_k [S2_k + 2 (o_k - (mean - lo)) S1_k + c_k (o_k - (mean - lo))^2]
 * Each bin's bracket is sum_i (a_i - mean)^2 >= 0 whose terms cancel at
 * most by ~c_k w^2 (|d| <= w): no cancellation of the mean^2 - E a^2
 * kind (the absolute error is ~u w^2 per value). Offsets from lo make the
 * mean's error ~u (hi - lo), not ~u |mean|, and it enters only to second
 * order. */
static double cs_w1_var_a(const cs_w1_bin_a *bin, const cs_w1_grid *g, uint64_t n)
{
    double sum = 0.0;
    for (size_t k = 0; k <= g->k; k++) {
        uint64_t c = CS_W1_LOW(bin[k].count);
        if (c)
            sum += (double)c * (cs_w1_edge(g, k) - g->lo) + bin[k].s1;
    }
    double mean_off = sum / (double)n, m2 = 0.0;
    for (size_t k = 0; k <= g->k; k++) {
        uint64_t c = CS_W1_LOW(bin[k].count);
        if (!c)
            continue;
        double off = (cs_w1_edge(g, k) - g->lo) - mean_off;
        double term = bin[k].s2 + 2.0 * off * bin[k].s1 + (double)c * off * off;
        m2 += term > 0.0 ? term : 0.0;
    }
    return m2 / (double)n;
}

/* ---- sorting the values of a bin ----
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
        /* median of three as the pivot */
        double x = a[0], y = a[n / 2], z = a[n - 1];
        double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        /* Dijkstra's three-way partition: [0, lt) < pivot, [lt, i) == pivot, (gt, n) > pivot */
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
        size_t n_lo = lt, n_hi = n - gt;
        if (n_lo < n_hi) {
            cs_w1_sort(a, n_lo, depth);
            a += gt;
            n = n_hi;
        } else {
            cs_w1_sort(a + gt, n_hi, depth);
            n = n_lo;
        }
    }
    cs_w1_insertion_sort(a, n);
}

static int cs_w1_depth(size_t n)
{
    int depth = 0;
    for (; n > 1; n >>= 1)
        depth += 2;
    return depth;
}

/* ---- integration ----
 * Counts in units of 1 / (n_a n_b): F_A - F_B at a point is N / (n_a n_b)
 * with the integer N = C_A n_b - C_B n_a (C_P the count of P at or below
 * the point), exact in int64 for counts below 2^31. */
static int64_t cs_w1_num(uint64_t ca, uint64_t cb, uint64_t n_a, uint64_t n_b)
{
    return (int64_t)(ca * n_b) - (int64_t)(cb * n_a);
}

/* A bin's integral of |N| over [0, width] of offsets, from its sorted
 * offsets da (A's, excluding the left edge's) and db (B's), starting from
 * N = start (after the left edge's values). Offsets are clamped to the
 * bin (a value may sit a rounding off its bin's edges). */
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

/* One gathering pass over a sample: each value of a bin of this round,
 * other than those at the bin's left edge, goes to its bin's part of buf. */
static void cs_w1_gather(double *buf, const cs_w1_grid *g, const cs_w1_sample *p,
                         const uint32_t *slot, size_t *cur, const size_t *end)
{
    const double lo = g->lo_raw, hi = g->hi_raw;
    for (size_t c = 0; c < p->count; c++) {
        const double *x = p->chunk[c];
        for (size_t i = 0, n = p->len[c]; i < n; i++) {
            double v = x[i], d;
            if (!(v >= lo && v <= hi))
                continue;
            size_t k = cs_w1_locate(g, v, &d);
            uint32_t s = slot[k];
            if (s && d != 0.0) {
                size_t r = s - 1;
                if (cur[r] < end[r]) /* always, as both passes locate alike */
                    buf[cur[r]++] = d;
            }
        }
    }
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

int cs_w1_compute(cs_w1_result *out, cs_w1 *w, const cs_w1_sample *a, const cs_w1_sample *b)
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
    if (rc != CS_OK)
        return rc;

    /* Pass 1: the range of A and B's finite values. */
    double lo_a, hi_a, lo_b, hi_b;
    cs_w1_range(a, &out->n_a, &out->nonfinite_a, &lo_a, &hi_a);
    cs_w1_range(b, &out->n_b, &out->nonfinite_b, &lo_b, &hi_b);
    out->passes = 1;
    const uint64_t most = ((uint64_t)1 << 31) - 1;
    if (out->n_a > most || out->n_b > most)
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: %" PRIu64 " finite values in A and %" PRIu64
                            " in B (expected at most %" PRIu64 " each)",
                            out->n_a, out->n_b, most);
    const uint64_t n_a = out->n_a, n_b = out->n_b;
    size_t nbins = cs_w1_bins(n_a + n_b);
    if (nbins > w->max_bins)
        return cs_error_set(CS_EINVAL,
                            "cs_w1_compute: %" PRIu64 " finite values need %zu bins, the "
                            "workspace has %zu (sized for fewer values)",
                            n_a + n_b, nbins, w->max_bins);
    if (!n_a || !n_b) {
        out->w1_err = NAN;
        if (n_a) {
            out->lo = lo_a;
            out->hi = hi_a;
        } else if (n_b) {
            out->lo = lo_b;
            out->hi = hi_b;
        }
        return CS_OK;
    }
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

    /* Pass 2: the fine histogram. */
    memset(w->bin_a, 0, (nbins + 1) * sizeof *w->bin_a);
    memset(w->bin_b, 0, (nbins + 1) * sizeof *w->bin_b);
    cs_w1_histogram_a(w->bin_a, &g, a);
    cs_w1_histogram_b(w->bin_b, &g, b);
    out->passes = 2;
    /* A constant has sd 0 exactly, not the rounding of its reconstruction. */
    double var_a = lo_a == hi_a ? 0.0 : cs_w1_var_a(w->bin_a, &g, n_a);

    /* Each bin k = [e_k, r_k) with counts C_A, C_B below it. In units of
     * 1 / (n_a n_b), D = F_A - F_B is N_k at e_k^-, N'_k after the values
     * at e_k, and N_(k+1) at r_k. Inside, the other values move it between
     *   low  = (C_A + z_A) n_b - C_B,end n_a   (every B value first)
     *   high = C_A,end n_b - (C_B + z_B) n_a   (every A value first).
     * If low >= 0 or high <= 0, D keeps its sign and
     *   integral_bin |D| = |integral_bin D| = |width N_(k+1) - S1_A n_b + S1_B n_a|
     * exactly (each value at x contributes r_k - x = width - d to the
     * integral of its CDF over the bin). Otherwise the bin's values are
     * sorted and D integrated step by step (cs_w1_walk). */
    size_t npending = 0;
    uint64_t ca = 0, cb = 0;
    for (size_t k = 0; k < nbins; k++) {
        uint64_t pa = w->bin_a[k].count, pb = w->bin_b[k].count;
        uint64_t za = CS_W1_HIGH(pa), zb = CS_W1_HIGH(pb);
        uint64_t ca_end = ca + CS_W1_LOW(pa), cb_end = cb + CS_W1_LOW(pb);
        double width = cs_w1_right(&g, k) - cs_w1_edge(&g, k);
        width = width > 0.0 ? width : 0.0;
        int64_t low = cs_w1_num(ca + za, cb_end, n_a, n_b);
        int64_t high = cs_w1_num(ca_end, cb + zb, n_a, n_b);
        double integral = width * (double)cs_w1_num(ca_end, cb_end, n_a, n_b) -
                          w->bin_a[k].s1 * (double)n_b + w->bin_b[k].s1 * (double)n_a;
        w->part[k] = fabs(integral);
        w->bound[k] = 0.0;
        w->cum_a[k] = ca;
        w->cum_b[k] = cb;
        if (low < 0 && high > 0 && width > 0.0) {
            /* |integral D| <= integral |D| <= |integral D| + 2 min(D+, D-) width */
            double reach = (double)(high < -low ? high : -low);
            w->bound[k] = 2.0 * reach * width;
            w->pending[npending++] = k;
        }
        ca = ca_end;
        cb = cb_end;
    }

    /* Rounds: as many pending bins as buf holds, gathered in one pass over
     * A and one over B, sorted and walked. Each round bin r owns
     * buf[start, mid) for A's values and buf[mid, stop) for B's. A bin
     * whose values alone exceed the capacity keeps |integral D| and its
     * bound. */
    size_t next = 0;
    while (next < npending) {
        size_t nround = 0, fill = 0;
        for (; next < npending; next++) {
            size_t k = w->pending[next];
            uint64_t pa = w->bin_a[k].count, pb = w->bin_b[k].count;
            size_t ia = (size_t)(CS_W1_LOW(pa) - CS_W1_HIGH(pa));
            size_t ib = (size_t)(CS_W1_LOW(pb) - CS_W1_HIGH(pb));
            if (ia + ib > w->capacity)
                continue; /* bounded: bound[k] stays */
            if (fill + ia + ib > w->capacity)
                break;
            w->round_bin[nround] = k;
            w->start[nround] = fill;
            w->mid[nround] = fill + ia;
            w->stop[nround] = fill + ia + ib;
            w->slot[k] = (uint32_t)(nround + 1);
            fill += ia + ib;
            nround++;
        }
        if (!nround)
            continue;
        memcpy(w->cur, w->start, nround * sizeof *w->cur);
        cs_w1_gather(w->buf, &g, a, w->slot, w->cur, w->mid);
        memcpy(w->cur, w->mid, nround * sizeof *w->cur);
        cs_w1_gather(w->buf, &g, b, w->slot, w->cur, w->stop);
        out->passes++;
        for (size_t r = 0; r < nround; r++) {
            size_t k = w->round_bin[r];
            double *da = w->buf + w->start[r], *db = w->buf + w->mid[r];
            size_t na = w->mid[r] - w->start[r], nb = w->stop[r] - w->mid[r];
            cs_w1_sort(da, na, cs_w1_depth(na));
            cs_w1_sort(db, nb, cs_w1_depth(nb));
            uint64_t za = CS_W1_HIGH(w->bin_a[k].count), zb = CS_W1_HIGH(w->bin_b[k].count);
            double width = cs_w1_right(&g, k) - cs_w1_edge(&g, k);
            w->part[k] = cs_w1_walk(da, na, db, nb,
                                    cs_w1_num(w->cum_a[k] + za, w->cum_b[k] + zb, n_a, n_b),
                                    width, n_a, n_b);
            w->bound[k] = 0.0;
            w->slot[k] = 0;
            out->sorted += na + nb;
        }
    }

    /* W1 and its bound over the bins in order, back to 1 / (n_a n_b) units
     * with one rounding each. */
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
