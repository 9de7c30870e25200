/* The exact W1 of docs/design.md §2 (core/cs_w1.c) against a brute-force
 * sort-and-merge on random small samples (ties, point masses, different
 * sizes, constant and disjoint samples, nonfinite values, any chunking),
 * against the closed form for Gaussians N(0, 1) and N(m, s^2), under
 * rescaling, with a workspace too small to be exact, and on its failure
 * paths. */
#include "cs_test_util.h"

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_w1.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* ---- the reference: sort both samples, walk the merged order ---- */

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The finite values of x[0..n) into out (sorted); returns how many. */
static size_t finite_sorted(double *out, const double *x, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            out[k++] = x[i];
    qsort(out, k, sizeof *out, cmp_double);
    return k;
}

/* W1 = sum over the gaps between consecutive values of the merged sorted
 * samples of |i / na - j / nb| x gap (i, j: values of A, B at or below the
 * gap's left end), in long double; and A's biased sd by two passes. */
static void brute_w1(double *w1_raw, double *sd_a, const double *a, size_t na, const double *b,
                     size_t nb)
{
    long double acc = 0.0L, prev = a[0] < b[0] ? a[0] : b[0];
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int from_a = j == nb || (i < na && a[i] <= b[j]);
        long double x = from_a ? a[i] : b[j];
        acc += fabsl((long double)i / na - (long double)j / nb) * (x - prev);
        prev = x;
        if (from_a)
            i++;
        else
            j++;
    }
    /* about a[0], so that the mean's rounding is relative to A's spread
     * (values a few ulps apart would otherwise lose it) */
    long double mean = 0.0L, m2 = 0.0L, origin = a[0];
    for (size_t k = 0; k < na; k++)
        mean += a[k] - origin;
    mean /= na;
    for (size_t k = 0; k < na; k++)
        m2 += (a[k] - origin - mean) * (a[k] - origin - mean);
    *w1_raw = (double)acc;
    *sd_a = (double)sqrtl(m2 / na);
}

/* ---- samples as chunks ---- */

enum { MAX_CHUNKS = 8 };

typedef struct {
    const double *ptr[MAX_CHUNKS];
    size_t len[MAX_CHUNKS];
    cs_w1_sample s;
} chunked;

/* x[0..n) cut at random points into up to MAX_CHUNKS chunks (some empty,
 * given as NULL). */
static void chunk_up(chunked *c, const double *x, size_t n, gsl_rng *rng)
{
    size_t count = 1 + gsl_rng_uniform_int(rng, MAX_CHUNKS), at = 0;
    for (size_t k = 0; k < count; k++) {
        size_t len = k + 1 == count ? n - at : gsl_rng_uniform_int(rng, n - at + 1);
        c->ptr[k] = len ? x + at : (gsl_rng_uniform_int(rng, 2) ? NULL : x);
        c->len[k] = len;
        at += len;
    }
    c->s.chunk = c->ptr;
    c->s.len = c->len;
    c->s.count = count;
}

static cs_w1_sample one_chunk(const double *const *ptr, const size_t *len)
{
    return (cs_w1_sample){.chunk = ptr, .len = len, .count = 1};
}

/* ---- random samples of the kinds that break histogram shortcuts ---- */

enum {
    KIND_GAUSS,     /* continuous, B shifted and scaled */
    KIND_INTEGERS,  /* ties everywhere: values in 0..5 */
    KIND_RELU,      /* a point mass at the low end of the range */
    KIND_SATURATED, /* point masses at both ends (tanh of large values) */
    KIND_SHARED,    /* B drawn from A's own values: ties across samples */
    KIND_DISJOINT,  /* B far above A */
    KIND_CONST_A,   /* A one value, B spread */
    KIND_ULPS,      /* values a few ulps apart */
    KIND_SAME,      /* B is A exactly */
    KIND_TANH,      /* tanh(4 z), B ~ A: most values within 1e-3 of +-1 */
    KIND_COUNT
};

static void draw(double *a, size_t na, double *b, size_t nb, int kind, gsl_rng *rng)
{
    double shift = gsl_ran_gaussian(rng, 1.0), scale = exp(gsl_ran_gaussian(rng, 0.7));
    for (size_t i = 0; i < na; i++) {
        double z = gsl_ran_gaussian(rng, 1.0);
        switch (kind) {
        case KIND_INTEGERS: a[i] = (double)gsl_rng_uniform_int(rng, 6); break;
        case KIND_RELU: a[i] = z > 0 ? z : 0.0; break;
        case KIND_SATURATED: a[i] = fmax(-1.0, fmin(1.0, 3.0 * z)); break;
        case KIND_CONST_A: a[i] = 0.75; break;
        case KIND_ULPS: a[i] = 1.0 + (double)gsl_rng_uniform_int(rng, 4) * DBL_EPSILON; break;
        case KIND_TANH: a[i] = tanh(4.0 * z); break;
        default: a[i] = z;
        }
    }
    for (size_t i = 0; i < nb; i++) {
        double z = gsl_ran_gaussian(rng, 1.0);
        switch (kind) {
        case KIND_INTEGERS: b[i] = (double)gsl_rng_uniform_int(rng, 5) + 1.0; break;
        case KIND_RELU: b[i] = fmax(0.0, shift + scale * z); break;
        case KIND_SATURATED: b[i] = fmax(-1.0, fmin(1.0, shift + 3.0 * scale * z)); break;
        case KIND_SHARED: b[i] = a[gsl_rng_uniform_int(rng, na)]; break;
        case KIND_DISJOINT: b[i] = 100.0 + z; break;
        case KIND_ULPS: b[i] = 1.0 + (double)gsl_rng_uniform_int(rng, 6) * DBL_EPSILON; break;
        case KIND_SAME: b[i] = a[i % na]; break;
        case KIND_TANH: b[i] = tanh(4.0 * z + 0.01 * shift); break;
        default: b[i] = shift + scale * z;
        }
    }
}

/* Exact to rounding: 1e-12 relative, or a few ulps of the range over sd
 * for a distance near 0 (cs_w1.h: the position error of one value). */
static void assert_w1_exact(const cs_w1_result *r, double want_raw, double want_sd,
                            const char *what)
{
    double range = r->hi - r->lo;
    double tol_raw = 1e-12 * want_raw + 8 * DBL_EPSILON * range;
    if (!(fabs(r->w1_raw - want_raw) <= tol_raw))
        fail_msg("%s: w1_raw %.17g, brute force %.17g (diff %.3g, tol %.3g)", what, r->w1_raw,
                 want_raw, r->w1_raw - want_raw, tol_raw);
    if (!(fabs(r->sd_a - want_sd) <= 1e-12 * want_sd + 8 * DBL_EPSILON * range))
        fail_msg("%s: sd_a %.17g, two-pass %.17g", what, r->sd_a, want_sd);
    if (want_sd > 0) {
        double want = want_raw / want_sd;
        double tol = 2e-12 * want + 8 * DBL_EPSILON * range / want_sd;
        if (!(fabs(r->w1 - want) <= tol))
            fail_msg("%s: w1 %.17g, brute force %.17g", what, r->w1, want);
    } else if (want_raw == 0) {
        assert_true(r->w1 == 0.0);
    } else {
        assert_true(isnan(r->w1));
    }
}

/* Random samples of every kind, sizes 1..300 (different for A and B),
 * random chunking and, in a third of the trials, NaN and +-Inf mixed in:
 * equal to the brute force, nonfinite values excluded and counted, and a
 * workspace with room for only 24 values (several rounds of sorting, some
 * bins bounded) either bit-identical or within its stated bound. */
static void test_w1_matches_brute_force_on_random_samples(void **state)
{
    (void)state;
    enum { TRIALS = 3000, MAXN = 300 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12);
    cs_w1 *w = NULL, *small = NULL;
    assert_int_equal(cs_w1_alloc(&w, 2 * MAXN, 0), CS_OK);
    assert_int_equal(cs_w1_alloc(&small, 2 * MAXN, 24), CS_OK);
    double *a = malloc(MAXN * sizeof *a), *b = malloc(MAXN * sizeof *b);
    double *sa = malloc(MAXN * sizeof *sa), *sb = malloc(MAXN * sizeof *sb);
    int kinds_sorted = 0, bounded = 0;
    double worst = 0;
    for (int t = 0; t < TRIALS; t++) {
        int kind = t % KIND_COUNT;
        size_t na = 1 + gsl_rng_uniform_int(rng, MAXN);
        size_t nb = kind == KIND_SAME ? na : 1 + gsl_rng_uniform_int(rng, MAXN);
        draw(a, na, b, nb, kind, rng);
        size_t bad_a = 0, bad_b = 0;
        if (t % 3 == 2) {
            const double bad[3] = {NAN, INFINITY, -INFINITY};
            for (int k = 0; k < 3; k++) {
                size_t ia = gsl_rng_uniform_int(rng, na), ib = gsl_rng_uniform_int(rng, nb);
                bad_a += isfinite(a[ia]) != 0;
                bad_b += isfinite(b[ib]) != 0;
                a[ia] = bad[k];
                b[ib] = bad[(k + 1) % 3];
            }
        }
        size_t fa = finite_sorted(sa, a, na), fb = finite_sorted(sb, b, nb);
        chunked ca, cb;
        chunk_up(&ca, a, na, rng);
        chunk_up(&cb, b, nb, rng);
        cs_w1_result r, rs;
        assert_int_equal(cs_w1_compute(&r, w, &ca.s, &cb.s), CS_OK);
        assert_true(r.n_a == fa && r.n_b == fb);
        assert_true(r.nonfinite_a == bad_a && r.nonfinite_b == bad_b);
        if (!fa || !fb) {
            assert_true(isnan(r.w1) && isnan(r.w1_raw));
            continue;
        }
        double want_raw, want_sd;
        brute_w1(&want_raw, &want_sd, sa, fa, sb, fb);
        char what[96];
        snprintf(what, sizeof what, "trial %d (kind %d, %zu vs %zu)", t, kind, fa, fb);
        assert_w1_exact(&r, want_raw, want_sd, what);
        assert_true(r.w1_err == 0.0);
        assert_true(r.lo == fmin(sa[0], sb[0]) && r.hi == fmax(sa[fa - 1], sb[fb - 1]));
        kinds_sorted += r.sorted > 0;
        if (want_raw > 0)
            worst = fmax(worst, fabs(r.w1_raw - want_raw) / want_raw);

        assert_int_equal(cs_w1_compute(&rs, small, &ca.s, &cb.s), CS_OK);
        if (rs.w1_err == 0.0) {
            assert_true(rs.w1_raw == r.w1_raw);
        } else if (r.sd_a > 0) {
            bounded++;
            double slack = 1e-12 * r.w1;
            if (!(rs.w1_err > 0 && fabs(rs.w1 - r.w1) <= rs.w1_err + slack))
                fail_msg("%s: capacity 24 gives %.17g +- %.3g, exact %.17g", what, rs.w1,
                         rs.w1_err, r.w1);
        } else { /* A constant: W1 / 0 */
            assert_true(isnan(rs.w1) && isnan(rs.w1_err));
        }
        if (rs.w1_err == 0.0 && r.sorted)
            assert_true(rs.passes >= r.passes);
    }
    print_message("largest relative difference %.3g; %d trials sorted some bins, %d bounded "
                  "with capacity 24\n",
                  worst, kinds_sorted, bounded);
    assert_true(kinds_sorted > TRIALS / 2); /* the sorting path is what was tested */
    assert_true(bounded > 0);               /* and so was the bound */
    cs_w1_free(w);
    cs_w1_free(small);
    gsl_rng_free(rng);
    free(a);
    free(b);
    free(sa);
    free(sb);
}

/* The same on samples large enough for thousands of bins (100000 values
 * of A against 37000 of B, one chunk per "step" of 1000), one trial per
 * kind: point masses of thousands of equal values inside sorted bins, and
 * bins heavy enough to be refined into sub-bins (tanh near +-1). */
static void test_w1_matches_brute_force_on_large_samples(void **state)
{
    (void)state;
    enum { NA = 100000, NB = 37000, STEP = 1000 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 37);
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, NA + NB, 0), CS_OK);
    double *a = malloc(NA * sizeof *a), *b = malloc(NB * sizeof *b);
    double *sa = malloc(NA * sizeof *sa), *sb = malloc(NB * sizeof *sb);
    const double *pa[NA / STEP], *pb[NB / STEP];
    size_t la[NA / STEP], lb[NB / STEP];
    for (size_t c = 0; c < NA / STEP; c++) {
        pa[c] = a + c * STEP;
        la[c] = STEP;
    }
    for (size_t c = 0; c < NB / STEP; c++) {
        pb[c] = b + c * STEP;
        lb[c] = STEP;
    }
    cs_w1_sample xa = {pa, la, NA / STEP}, xb = {pb, lb, NB / STEP};
    int refined = 0;
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        draw(a, NA, b, NB, kind, rng);
        cs_w1_result r;
        assert_int_equal(cs_w1_compute(&r, w, &xa, &xb), CS_OK);
        size_t fa = finite_sorted(sa, a, NA), fb = finite_sorted(sb, b, NB);
        double want_raw, want_sd;
        brute_w1(&want_raw, &want_sd, sa, fa, sb, fb);
        char what[96];
        snprintf(what, sizeof what, "kind %d", kind);
        print_message("kind %d: w1_raw %.17g brute force %.17g, %zu bins, %" PRIu64
                      " values sorted, %d passes\n",
                      kind, r.w1_raw, want_raw, r.bins, r.sorted, r.passes);
        assert_w1_exact(&r, want_raw, want_sd, what);
        assert_true(r.w1_err == 0.0);
        /* range, histogram, sub-bins, one round of sorting */
        refined += r.passes == 4;
    }
    assert_true(refined >= 2); /* the sub-bin pass is part of what was checked */
    cs_w1_free(w);
    gsl_rng_free(rng);
    free(a);
    free(b);
    free(sa);
    free(sb);
}

/* ---- Gaussians: W1(N(0,1), N(m, s^2)) ---- */

/* In 1-D, W1 couples the quantiles: W1 = integral_0^1 |Q_A(u) - Q_B(u)| du
 * = E|m + (s - 1) Z| for Z ~ N(0,1), the mean of a folded N(m, (s-1)^2):
 *   sig sqrt(2/pi) exp(-m^2 / (2 sig^2)) + m (1 - 2 Phi(-m / sig)),  sig = |s - 1|,
 * and |m| when s = 1. */
static double gauss_w1_closed(double m, double s)
{
    double sig = fabs(s - 1.0);
    m = fabs(m);
    if (sig == 0.0)
        return m;
    return sig * sqrt(2.0 / M_PI) * exp(-m * m / (2 * sig * sig)) +
           m * (1.0 - 2.0 * gsl_cdf_ugaussian_P(-m / sig));
}

typedef struct {
    double m, s;
} gauss_pair;

static double cdf_gap(double x, void *p)
{
    const gauss_pair *g = p;
    return fabs(gsl_cdf_ugaussian_P(x) - gsl_cdf_ugaussian_P((x - g->m) / g->s));
}

/* The same W1 as the integral of |Phi(x) - Phi((x - m) / s)| by GSL's
 * adaptive quadrature, split where the CDFs cross (x = -m / (s - 1)). */
static double gauss_w1_quadrature(double m, double s)
{
    gauss_pair g = {m, s};
    gsl_function f = {cdf_gap, &g};
    double lo = fmin(0.0, m) - 40.0 * fmax(1.0, s), hi = fmax(0.0, m) + 40.0 * fmax(1.0, s);
    double pts[3] = {lo, 0, hi};
    size_t npts = 2;
    if (s != 1.0) {
        double cross = -m / (s - 1.0);
        if (cross > lo && cross < hi) {
            pts[1] = cross;
            pts[2] = hi;
            npts = 3;
        }
    }
    if (npts == 2)
        pts[1] = hi;
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    double result, err;
    assert_int_equal(gsl_integration_qagp(&f, pts, npts, 1e-13, 1e-11, 1000, ws, &result, &err),
                     0);
    gsl_integration_workspace_free(ws);
    return result;
}

/* 2^20 values each of N(0,1) and N(m, s^2), m in {0, 0.5, 1, 2, 4}, s in
 * {0.25, 0.5, 1, 2, 4} (not m = 0, s = 1, where W1 is 0 and only the
 * sampling noise remains): w1 within 1 % of the closed form, which agrees
 * with the quadrature to 1e-9. The sampling error's sd is about
 * sqrt(2 / 2^20) (1 + s) / 2 ~ 0.1 % of W1 to 0.35 % (m = 1, s = 4),
 * so 1 % is more than 3 sd for every case; the binned W1 of
 * metrics version 1 read 3.486 at m = s = 4, against 4.254. */
static void test_w1_gaussians_match_closed_form(void **state)
{
    (void)state;
    enum { N = 1 << 20 };
    const double ms[] = {0, 0.5, 1, 2, 4}, ss[] = {0.25, 0.5, 1, 2, 4};
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 4254);
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, 2 * N, 0), CS_OK);
    double worst = 0;
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        for (size_t k = 0; k < sizeof ss / sizeof *ss; k++) {
            double m = ms[i], s = ss[k];
            if (m == 0 && s == 1)
                continue;
            double closed = gauss_w1_closed(m, s), quad = gauss_w1_quadrature(m, s);
            assert_true(fabs(closed - quad) <= 1e-9 * closed);
            for (size_t j = 0; j < N; j++) {
                a[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
                b[j] = m + s * gsl_ran_gaussian_ziggurat(rng, 1.0);
            }
            const double *pa = a, *pb = b;
            size_t len = N;
            cs_w1_sample sa = one_chunk(&pa, &len), sb = one_chunk(&pb, &len);
            cs_w1_result r;
            assert_int_equal(cs_w1_compute(&r, w, &sa, &sb), CS_OK);
            double rel = fabs(r.w1 - closed) / closed;
            print_message("m %.2f s %.2f: w1 %.5f closed form %.5f (%+.3f %%), %" PRIu64
                          " of %d values sorted, %d passes\n",
                          m, s, r.w1, closed, 100 * (r.w1 - closed) / closed, r.sorted, 2 * N,
                          r.passes);
            assert_true(r.w1_err == 0.0);
            assert_true(rel <= 0.01);
            worst = fmax(worst, rel);
        }
    print_message("largest relative error %.3g %%\n", 100 * worst);
    /* the case: W1(N(0,1), N(4, 16)) = 4.254 */
    assert_true(fabs(gauss_w1_closed(4, 4) - 4.254) < 5e-4);
    cs_w1_free(w);
    gsl_rng_free(rng);
    free(a);
    free(b);
}

/* x -> c x for c = 1e-20 and 1e20 leaves w1 (and sd_a / w1_raw) to 1e-12
 * relative; w1_raw and sd_a scale by c. Relu-like A and B so that point
 * masses and sorted bins are part of it. */
static void test_w1_invariant_to_scale(void **state)
{
    (void)state;
    enum { N = 20000 };
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    double *ca = malloc(N * sizeof *ca), *cb = malloc(N * sizeof *cb);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1020);
    for (size_t j = 0; j < N; j++) {
        a[j] = fmax(0.0, gsl_ran_gaussian(rng, 1.0));
        b[j] = fmax(0.0, -0.3 + 1.5 * gsl_ran_gaussian(rng, 1.0)); /* crosses F_A at 0.6 */
    }
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, 2 * N, 0), CS_OK);
    size_t len = N;
    const double *pa = a, *pb = b;
    cs_w1_sample sa = one_chunk(&pa, &len), sb = one_chunk(&pb, &len);
    cs_w1_result base;
    assert_int_equal(cs_w1_compute(&base, w, &sa, &sb), CS_OK);
    assert_true(base.sorted > 0);
    const double cs[] = {1e-20, 1e20, 3.0, 1.0 / 7.0};
    for (size_t k = 0; k < sizeof cs / sizeof *cs; k++) {
        for (size_t j = 0; j < N; j++) {
            ca[j] = cs[k] * a[j];
            cb[j] = cs[k] * b[j];
        }
        const double *qa = ca, *qb = cb;
        cs_w1_sample xa = one_chunk(&qa, &len), xb = one_chunk(&qb, &len);
        cs_w1_result r;
        assert_int_equal(cs_w1_compute(&r, w, &xa, &xb), CS_OK);
        print_message("c %g: w1 %.17g (c = 1: %.17g)\n", cs[k], r.w1, base.w1);
        cs_test_assert_close(&r.w1, &base.w1, 1, 1e-12, 0, "w1 under x -> c x");
        double raw = base.w1_raw * cs[k], sd = base.sd_a * cs[k];
        cs_test_assert_close(&r.w1_raw, &raw, 1, 1e-12, 0, "w1_raw scales by c");
        cs_test_assert_close(&r.sd_a, &sd, 1, 1e-12, 0, "sd_a scales by c");
    }
    cs_w1_free(w);
    gsl_rng_free(rng);
    free(a);
    free(b);
    free(ca);
    free(cb);
}

/* By hand: identical samples give exactly 0; point masses give their
 * distance (and NaN once divided by A's sd of 0); one common point is 0;
 * a sample with no finite value gives NaN; W1 is symmetric in its raw
 * distance. */
static void test_w1_special_cases(void **state)
{
    (void)state;
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, 64, 0), CS_OK);
    double x[6] = {0.5, -1.0, 3.0, 3.0, 2.0, 0.0};
    size_t six = 6, two = 2, three = 3;
    const double *px = x;
    cs_w1_sample sx = one_chunk(&px, &six);
    cs_w1_result r;
    assert_int_equal(cs_w1_compute(&r, w, &sx, &sx), CS_OK);
    assert_true(r.w1 == 0.0 && r.w1_raw == 0.0 && r.w1_err == 0.0);

    double zeros[2] = {0.0, 0.0}, ones[3] = {1.0, 1.0, 1.0};
    const double *pz = zeros, *po = ones;
    cs_w1_sample sz = one_chunk(&pz, &two), so = one_chunk(&po, &three);
    assert_int_equal(cs_w1_compute(&r, w, &sz, &so), CS_OK);
    assert_true(r.w1_raw == 1.0 && r.sd_a == 0.0 && isnan(r.w1));
    assert_int_equal(cs_w1_compute(&r, w, &so, &sz), CS_OK);
    assert_true(r.w1_raw == 1.0 && isnan(r.w1));
    assert_int_equal(cs_w1_compute(&r, w, &so, &so), CS_OK);
    assert_true(r.w1 == 0.0 && r.w1_raw == 0.0 && r.lo == 1.0 && r.hi == 1.0);

    /* A = {0, 0}, B = {0, 1, 1}: F_A - F_B = 1 - 1/3 on [0, 1): 2/3, sd 0 */
    double b3[3] = {0.0, 1.0, 1.0};
    const double *pb = b3;
    cs_w1_sample sb = one_chunk(&pb, &three);
    assert_int_equal(cs_w1_compute(&r, w, &sz, &sb), CS_OK);
    assert_true(fabs(r.w1_raw - 2.0 / 3.0) <= 2 * DBL_EPSILON);

    double nan2[2] = {NAN, INFINITY};
    const double *pn = nan2;
    cs_w1_sample sn = one_chunk(&pn, &two);
    assert_int_equal(cs_w1_compute(&r, w, &sn, &sx), CS_OK);
    assert_true(isnan(r.w1) && isnan(r.w1_raw) && r.n_a == 0 && r.nonfinite_a == 2);
    assert_true(r.n_b == 6 && r.lo == -1.0 && r.hi == 3.0);
    cs_w1_sample empty = {.chunk = NULL, .len = NULL, .count = 0};
    assert_int_equal(cs_w1_compute(&r, w, &sx, &empty), CS_OK);
    assert_true(isnan(r.w1) && r.n_b == 0);
    cs_w1_free(w);
}

/* Every argument a caller can get wrong returns CS_EINVAL with a message
 * naming it; allocation failure at every allocation returns CS_ENOMEM
 * and leaks nothing; cs_w1_plan counts what cs_w1_alloc allocates. */
static void test_w1_failure_paths(void **state)
{
    (void)state;
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, 100, 0), CS_OK);
    double x[4] = {1, 2, 3, 4};
    size_t four = 4, big = 100000;
    const double *px = x, *pnull = NULL;
    cs_w1_sample sx = one_chunk(&px, &four), snull = one_chunk(&pnull, &four);
    cs_w1_result r;
    assert_int_equal(cs_w1_compute(NULL, w, &sx, &sx), CS_EINVAL);
    assert_int_equal(cs_w1_compute(&r, NULL, &sx, &sx), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "workspace"));
    assert_int_equal(cs_w1_compute(&r, w, NULL, &sx), CS_EINVAL);
    assert_int_equal(cs_w1_compute(&r, w, &sx, &snull), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "chunk 0 of sample B is NULL"));
    cs_w1_sample nolist = {.chunk = NULL, .len = NULL, .count = 2};
    assert_int_equal(cs_w1_compute(&r, w, &nolist, &sx), CS_EINVAL);
    /* more values than the workspace's bins were sized for */
    double *many = calloc(big, sizeof *many);
    for (size_t i = 0; i < big; i++)
        many[i] = (double)i;
    const double *pm = many;
    cs_w1_sample sm = one_chunk(&pm, &big);
    assert_int_equal(cs_w1_compute(&r, w, &sm, &sx), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "sized for fewer values"));
    free(many);
    cs_w1_free(w);
    cs_w1_free(NULL);

    cs_alloc_fail_reset();
    assert_int_equal(cs_w1_alloc(&w, 5000, 300), CS_OK);
    long calls = cs_alloc_count();
    size_t bytes = cs_alloc_bytes();
    cs_w1_free(w);
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_w1_plan(&plan, 5000, 300, "W1", NULL);
    assert_true(plan.rc == CS_OK && plan.bytes <= bytes);
    assert_true(bytes - plan.bytes < 1024); /* the struct itself */
    for (long k = 0; k < calls; k++) {
        cs_alloc_fail_after(k);
        w = (cs_w1 *)&w;
        assert_int_equal(cs_w1_alloc(&w, 5000, 300), CS_ENOMEM);
        assert_null(w);
        cs_alloc_fail_reset();
    }
}

/* cs_w1_compute_known, given the summaries the range pass finds (the
 * extremes and counts exactly, A's moments from the sample), gives the bits
 * cs_w1_compute gives, on every kind of sample; an lo or hi that is not a
 * finite range, or a missing summary, is CS_EINVAL. */
static void test_w1_known_summaries_give_the_same_w1(void **state)
{
    (void)state;
    enum { N = 3000 };
    static double a[N], b[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    cs_w1 *w = NULL;
    assert_int_equal(cs_w1_alloc(&w, 2 * N, 2 * N), CS_OK);
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        draw(a, N, b, N, kind, rng);
        size_t n = N;
        const double *pa = a, *pb = b;
        cs_w1_sample sa = one_chunk(&pa, &n), sb = one_chunk(&pb, &n);
        cs_w1_result full, known;
        assert_int_equal(cs_w1_compute(&full, w, &sa, &sb), CS_OK);
        cs_w1_summary qa = {0, 0, INFINITY, -INFINITY, 0.0, 0.0}, qb = qa;
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            qa.lo = fmin(qa.lo, a[i]);
            qa.hi = fmax(qa.hi, a[i]);
            qb.lo = fmin(qb.lo, b[i]);
            qb.hi = fmax(qb.hi, b[i]);
            sum += a[i];
        }
        qa.n = qb.n = n;
        qa.mean = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            sq += (a[i] - qa.mean) * (a[i] - qa.mean);
        qa.var = sq / (double)n;
        assert_int_equal(cs_w1_compute_known(&known, w, &sa, &qa, &sb, &qb), CS_OK);
        /* the raw integral does not read the moments: bit-identical */
        assert_memory_equal(&known.w1_raw, &full.w1_raw, sizeof(double));
        assert_true(known.lo == full.lo && known.hi == full.hi && known.n_a == full.n_a);
        assert_true(known.passes + 1 == full.passes);
        /* values a few ulps apart have an sd that is the rounding of their
         * mean, which no two ways of summing agree on */
        double scale = fmax(fabs(full.lo), fabs(full.hi));
        if (full.sd_a > 1e-6 * scale) {
            if (!(fabs(known.w1 - full.w1) <= 1e-12 * full.w1))
                fail_msg("kind %d: w1 %.17g from the summaries, %.17g from the values (sd %.17g, "
                         "%.17g)", kind, known.w1, full.w1, known.sd_a, full.sd_a);
        } else if (full.sd_a == 0 && known.sd_a != 0) {
            fail_msg("kind %d: sd %.17g from the summaries, %.17g from the values", kind,
                     known.sd_a, full.sd_a);
        }
        cs_w1_summary bad = qa;
        bad.hi = INFINITY;
        assert_int_equal(cs_w1_compute_known(&known, w, &sa, &bad, &sb, &qb), CS_EINVAL);
        assert_non_null(strstr(cs_error_message(), "not finite ranges"));
    }
    size_t n = N;
    const double *pa = a;
    cs_w1_sample sa = one_chunk(&pa, &n);
    cs_w1_summary qa = {N, 0, 0.0, 1.0, 0.5, 0.1};
    cs_w1_result r;
    assert_int_equal(cs_w1_compute_known(&r, w, &sa, &qa, &sa, NULL), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "summary of B"));
    cs_w1_free(w);
    gsl_rng_free(rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w1_matches_brute_force_on_random_samples),
        cmocka_unit_test(test_w1_matches_brute_force_on_large_samples),
        cmocka_unit_test(test_w1_gaussians_match_closed_form),
        cmocka_unit_test(test_w1_invariant_to_scale),
        cmocka_unit_test(test_w1_special_cases),
        cmocka_unit_test(test_w1_failure_paths),
        cmocka_unit_test(test_w1_known_summaries_give_the_same_w1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
