/* Statistics of one batch (docs/design.md §2) against NumPy (fixture from
 * tests/gen_fixtures_numpy.py) and hand-checkable cases: quantiles by
 * selection, moments, nonfinite entries, frac_saturated, histograms,
 * workspace misuse and allocation failure. */
#include "cs_test_util.h"

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_stats.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* Values vs NumPy: quantiles, min, max are entries of x and must be equal.
 * Moments differ only by summation order (NumPy sums pairwise, cs_stats
 * sums columns then units), about N eps relative at worst for the
 * variances, which have no cancellation (two-pass). The mean is a
 * cancelling sum: its error scales with sum |x| = N mean|x|, not with the
 * mean, so it gets an absolute floor of 1e-13 max|x| (N eps for N = 3072
 * is 7e-13 relative of sum |x|; measured error is ~1e-16 max|x|). */
#define STATS_RTOL 1e-12

static const char *const FIXTURE_CASES[] = {"gauss",    "relu",  "odd",   "halves", "discrete",
                                            "units",    "tiny1", "tiny2", "tiny3"};
#define NCASES (sizeof FIXTURE_CASES / sizeof FIXTURE_CASES[0])

typedef struct {
    size_t m, n;
    double *x;
} matrix;

static double *block(const char *file, const char *c, const char *what, size_t *count)
{
    char name[96];
    snprintf(name, sizeof name, "%s_%s", c, what);
    return cs_test_fixture(file, name, count);
}

static matrix load_case(const char *c)
{
    size_t k, count;
    double *shape = block("numpy_stats", c, "shape", &k);
    assert_int_equal(k, 2);
    matrix a = {(size_t)shape[0], (size_t)shape[1], block("numpy_stats", c, "x", &count)};
    assert_int_equal(count, a.m * a.n);
    free(shape);
    return a;
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The reference the selection must reproduce: sort a copy, index it.
 * q gets the 5 quantiles, then min and max (CS_STATS_NQ + 2 values). */
static void sorted_quantiles(double *q, const double *x, size_t count)
{
    double *copy = malloc(count * sizeof *copy);
    memcpy(copy, x, count * sizeof *copy);
    qsort(copy, count, sizeof *copy, compare_doubles);
    for (int k = 0; k < CS_STATS_NQ; k++)
        q[k] = copy[(size_t)round(cs_stats_quantile_levels[k] * (double)(count - 1))];
    q[CS_STATS_NQ] = copy[0];
    q[CS_STATS_NQ + 1] = copy[count - 1];
    free(copy);
}

/* cs_stats' quantiles, min and max in sorted_quantiles' layout. */
static void got_quantiles(double *q, const cs_stats *st)
{
    memcpy(q, st->q, sizeof st->q);
    q[CS_STATS_NQ] = st->min;
    q[CS_STATS_NQ + 1] = st->max;
}

static void compute_ok(cs_stats *st, const double *x, size_t m, size_t n, const double *z,
                       cs_activation act, double *unit_mean, double *unit_var)
{
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, m * n, n), CS_OK);
    assert_int_equal(cs_stats_compute(st, x, m, n, z, act, unit_mean, unit_var, w), CS_OK);
    cs_stats_work_free(w);
}

/* docs/design.md §2: order statistic round(q (N-1)), with C's half-away rounding
 * (the "halves" case has q (N-1) = 0.5, 7.5, 42.5, 49.5). */
static void test_quantiles_match_numpy(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        matrix a = load_case(FIXTURE_CASES[c]);
        size_t k;
        double *want = block("numpy_stats", FIXTURE_CASES[c], "q", &k);
        assert_int_equal(k, CS_STATS_NQ);
        cs_stats st;
        compute_ok(&st, a.x, a.m, a.n, NULL, CS_ACT_LINEAR, NULL, NULL);
        char what[64];
        snprintf(what, sizeof what, "%s quantiles", FIXTURE_CASES[c]);
        cs_test_assert_close(st.q, want, CS_STATS_NQ, 0.0, 0.0, what);
        free(want);
        free(a.x);
    }
}

static void test_moments_match_numpy(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        matrix a = load_case(FIXTURE_CASES[c]);
        size_t k;
        double *want = block("numpy_stats", FIXTURE_CASES[c], "moments", &k);
        double *want_mean = block("numpy_stats", FIXTURE_CASES[c], "unit_mean", &k);
        double *want_var = block("numpy_stats", FIXTURE_CASES[c], "unit_var", &k);
        assert_int_equal(k, a.n);
        double *unit_mean = malloc(a.n * sizeof *unit_mean);
        double *unit_var = malloc(a.n * sizeof *unit_var);
        cs_stats st;
        compute_ok(&st, a.x, a.m, a.n, NULL, CS_ACT_LINEAR, unit_mean, unit_var);

        double max_abs = 0;
        for (size_t i = 0; i < a.m * a.n; i++)
            max_abs = fmax(max_abs, fabs(a.x[i]));
        char what[64];
        snprintf(what, sizeof what, "%s mean", FIXTURE_CASES[c]);
        cs_test_assert_close(&st.mean, &want[0], 1, STATS_RTOL, 1e-13 * max_abs, what);
        double got[] = {st.var, st.mean_spread, st.var_within};
        snprintf(what, sizeof what, "%s var, mean_spread, var_within", FIXTURE_CASES[c]);
        cs_test_assert_close(got, &want[1], 3, STATS_RTOL, 0.0, what);
        double extremes[] = {st.min, st.max, st.frac_zero};
        snprintf(what, sizeof what, "%s min, max, frac_zero", FIXTURE_CASES[c]);
        cs_test_assert_close(extremes, &want[4], 3, 0.0, 0.0, what);
        snprintf(what, sizeof what, "%s unit_mean", FIXTURE_CASES[c]);
        cs_test_assert_close(unit_mean, want_mean, a.n, STATS_RTOL, 1e-13 * max_abs, what);
        snprintf(what, sizeof what, "%s unit_var", FIXTURE_CASES[c]);
        cs_test_assert_close(unit_var, want_var, a.n, STATS_RTOL, 0.0, what);
        assert_int_equal(st.nonfinite, 0);
        assert_true(isnan(st.frac_saturated));
        free(unit_mean);
        free(unit_var);
        free(want);
        free(want_mean);
        free(want_var);
        free(a.x);
    }
}

/* Selection must stay exact (and terminate) on orders and tie patterns that
 * break naive quickselect: sorted, reversed, constant, two values, rows in
 * descending order, sawtooth units, relu-like half zeros; and the zero-block
 * shortcut (a rank among the zeros is 0 without selection) with negatives
 * below the zeros, with nothing above them, and with every rank among
 * them. Quantiles, min and max compared with qsort on a 97 x 211 matrix
 * (N = 20467: the sampling step of Floyd-Rivest runs, recursively, and
 * the block partition sees full blocks). */
static void test_quantiles_match_sort_on_adversarial_orders(void **state)
{
    (void)state;
    const size_t m = 97, n = 211, count = m * n;
    double *x = malloc(count * sizeof *x);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, count, n), CS_OK);
    const char *names[] = {"sorted",     "reversed",    "constant",      "two values",
                           "rows descending", "sawtooth", "half zeros", "tiny ints",
                           "signed ints", "zeros and negatives", "99.5% zeros", "constant zero"};
    for (int pattern = 0; pattern < 12; pattern++) {
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                size_t e = i * n + j;
                double g = gsl_ran_gaussian_ziggurat(rng, 1.0);
                double v[] = {(double)e,
                              -(double)e,
                              3.25,
                              (e % 3) ? 1.0 : -1.0,
                              (double)(m - i) * 10.0 + g,
                              (double)j + 0.01 * g,
                              g > 0 ? g : 0.0,
                              (double)(gsl_rng_get(rng) % 4),
                              (double)(gsl_rng_get(rng) % 5) - 2.0,
                              g < 0 ? g : 0.0,
                              e % 200 == 0 ? g : 0.0,
                              0.0};
                x[e] = v[pattern];
            }
        }
        double want[CS_STATS_NQ + 2], got[CS_STATS_NQ + 2];
        sorted_quantiles(want, x, count);
        cs_stats st;
        assert_int_equal(cs_stats_compute(&st, x, m, n, NULL, CS_ACT_LINEAR, NULL, NULL, w),
                         CS_OK);
        got_quantiles(got, &st);
        cs_test_assert_close(got, want, CS_STATS_NQ + 2, 0.0, 0.0, names[pattern]);
    }
    /* Many random sizes, including every N from 1 to 40. */
    for (size_t trial = 0; trial < 300; trial++) {
        size_t rows = 1 + trial % 40, cols = trial < 40 ? 1 : 1 + gsl_rng_uniform_int(rng, 211);
        for (size_t e = 0; e < rows * cols; e++)
            x[e] = trial % 2 ? gsl_ran_gaussian(rng, 1.0)
                             : (double)gsl_rng_uniform_int(rng, 5) - (double)(trial % 3);
        double want[CS_STATS_NQ + 2], got[CS_STATS_NQ + 2];
        sorted_quantiles(want, x, rows * cols);
        cs_stats st;
        assert_int_equal(
            cs_stats_compute(&st, x, rows, cols, NULL, CS_ACT_LINEAR, NULL, NULL, w), CS_OK);
        got_quantiles(got, &st);
        cs_test_assert_close(got, want, CS_STATS_NQ + 2, 0.0, 0.0, "random size");
    }
    cs_stats_work_free(w);
    gsl_rng_free(rng);
    free(x);
}

/* cs_stats_compute_hist counts the histogram in its own passes and uses
 * the bins to narrow the quantile selection: its counts must equal
 * cs_hist_accumulate's and its quantiles, min and max the sort's, and
 * every other column cs_stats_compute's, bit for bit. Bins 1, 7, 64, 253
 * (the most that narrow) and 254 (the matrix's own 64 bins instead);
 * ranges that hold the data, that cut it (most in under/overflow: the
 * full selection), whose edges fall on entries (ties at the edges, the
 * top edge's rounding), one fixed from the matrix's own moments; a
 * matrix with NaN and Inf (counted as cs_hist_accumulate counts them);
 * and just under half zeros with p50 in the zeros' bin, which is gathered
 * without its zeros. */
static void test_hist_spec_matches_accumulate_and_sort(void **state)
{
    (void)state;
    const size_t m = 53, n = 67, count = m * n;
    double *x = malloc(count * sizeof *x);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, count, n), CS_OK);
    const size_t nbins_list[] = {1, 7, 64, 253, 254};
    const double ranges[][2] = {{-6, 6}, {0.5, 0.75}, {-1, 1}, {-1e-3, 1e9}, {0, 0}};
    for (int pattern = 0; pattern < 6; pattern++) {
        for (size_t e = 0; e < count; e++) {
            double g = gsl_ran_gaussian(rng, 1.0);
            /* 4, 5: just under half zeros, the rest small (both signs, or
             * positive: relu's p50 a hair above the zeros, in their bin) */
            int zero = e % 2 == 0 && e > 8;
            double v[] = {g, g > 0 ? g : 0.0, (double)(gsl_rng_get(rng) % 9) / 4.0 - 1.0, g,
                          zero ? 0.0 : 1e-3 * g, zero ? 0.0 : 1e-3 * fabs(g) + 1e-9};
            x[e] = v[pattern];
        }
        if (pattern == 3) {
            x[5] = NAN;
            x[77] = INFINITY;
            x[901] = -INFINITY;
        }
        for (size_t b = 0; b < sizeof nbins_list / sizeof nbins_list[0]; b++) {
            for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
                size_t nb = nbins_list[b];
                uint64_t *got_h = calloc(nb + 2, sizeof *got_h), *want_h = calloc(nb + 2, 8);
                cs_hist_spec spec = {nb, ranges[r][0], ranges[r][1], ranges[r][0] == ranges[r][1],
                                     got_h + 1, &got_h[0], &got_h[nb + 1]};
                cs_stats st, plain;
                double um[67], uv[67], um2[67], uv2[67];
                assert_int_equal(cs_stats_compute_hist(&st, x, m, n, NULL, CS_ACT_LINEAR, um, uv,
                                                       &spec, w),
                                 CS_OK);
                assert_int_equal(
                    cs_stats_compute(&plain, x, m, n, NULL, CS_ACT_LINEAR, um2, uv2, w), CS_OK);
                assert_memory_equal(&st, &plain, sizeof st);
                assert_memory_equal(um, um2, sizeof um);
                assert_memory_equal(uv, uv2, sizeof uv);
                if (spec.range_from_stats) {
                    double lo, hi;
                    cs_hist_range(&lo, &hi, plain.mean, plain.var);
                    assert_true(spec.lo == lo && spec.hi == hi);
                }
                cs_hist_accumulate(want_h + 1, &want_h[0], &want_h[nb + 1], nb, spec.lo, spec.hi,
                                   x, count);
                if (memcmp(got_h, want_h, (nb + 2) * sizeof *got_h) != 0)
                    fail_msg("pattern %d, %zu bins over [%g, %g): counts differ from "
                             "cs_hist_accumulate", pattern, nb, spec.lo, spec.hi);
                if (pattern != 3) {
                    double want[CS_STATS_NQ + 2], got[CS_STATS_NQ + 2];
                    sorted_quantiles(want, x, count);
                    got_quantiles(got, &st);
                    cs_test_assert_close(got, want, CS_STATS_NQ + 2, 0.0, 0.0, "hist spec");
                }
                free(got_h);
                free(want_h);
            }
        }
    }
    cs_hist_spec bad = {0, 0, 1, 0, NULL, NULL, NULL};
    cs_stats st;
    assert_int_equal(cs_stats_compute_hist(&st, x, m, n, NULL, CS_ACT_LINEAR, NULL, NULL, &bad, w),
                     CS_EINVAL);
    /* A given range must be finite lo < hi (range_from_stats makes one). */
    uint64_t h3[3] = {0};
    const double bad_ranges[][2] = {{1, 1}, {1, 0}, {NAN, 1}, {0, INFINITY}, {-INFINITY, 0}};
    for (size_t r = 0; r < sizeof bad_ranges / sizeof bad_ranges[0]; r++) {
        cs_hist_spec given = {1, bad_ranges[r][0], bad_ranges[r][1], 0, h3 + 1, &h3[0], &h3[2]};
        cs_error_clear();
        assert_int_equal(
            cs_stats_compute_hist(&st, x, m, n, NULL, CS_ACT_LINEAR, NULL, NULL, &given, w),
            CS_EINVAL);
        assert_true(strstr(cs_error_message(), "range") != NULL);
        given.range_from_stats = 1;
        assert_int_equal(
            cs_stats_compute_hist(&st, x, m, n, NULL, CS_ACT_LINEAR, NULL, NULL, &given, w),
            CS_OK);
        assert_true(isfinite(given.lo) && given.lo < given.hi);
    }
    assert_true(h3[0] + h3[1] + h3[2] == 5 * count); /* nothing counted by a refused call */
    cs_stats_work_free(w);
    gsl_rng_free(rng);
    free(x);
}

/* A diverged stack is recorded, not crashed on: NaN and +-Inf are counted
 * and every statistic is that of the remaining finite entries. The units
 * holding them report NaN and drop out of mean_spread and var_within. */
static void test_nonfinite_entries_are_counted_and_excluded(void **state)
{
    (void)state;
    enum { M = 4, N = 3 };
    double x[M * N] = {
        1.0, 2.0,       NAN,  /* */
        3.0, -INFINITY, 0.0,  /* */
        5.0, 6.0,       2.0,  /* */
        7.0, 4.0,       INFINITY,
    };
    double finite[] = {1, 2, 3, 0, 5, 6, 2, 7, 4};
    cs_stats st;
    double unit_mean[N], unit_var[N];
    compute_ok(&st, x, M, N, NULL, CS_ACT_LINEAR, unit_mean, unit_var);
    assert_int_equal(st.nonfinite, 3);

    double mean = 30.0 / 9.0, var = 0;
    for (int i = 0; i < 9; i++)
        var += (finite[i] - mean) * (finite[i] - mean) / 9.0;
    cs_test_assert_close(&st.mean, &mean, 1, 1e-15, 0, "mean of the finite entries");
    cs_test_assert_close(&st.var, &var, 1, 1e-15, 0, "var of the finite entries");
    double q[CS_STATS_NQ + 2];
    sorted_quantiles(q, finite, 9);
    cs_test_assert_close(st.q, q, CS_STATS_NQ, 0, 0, "quantiles of the finite entries");
    assert_true(st.min == 0.0 && st.max == 7.0);
    assert_true(st.frac_zero == 1.0 / 12.0); /* over all entries, as the header says */

    /* Only unit 0 is all finite: mean 4, biased var (9 + 1 + 1 + 9) / 4 = 5. */
    assert_true(unit_mean[0] == 4.0 && unit_var[0] == 5.0);
    assert_true(isnan(unit_mean[1]) && isnan(unit_var[1]));
    assert_true(isnan(unit_mean[2]) && isnan(unit_var[2]));
    assert_true(st.mean_spread == 0.0 && st.var_within == 5.0);
}

static void test_all_nonfinite_gives_nan_moments(void **state)
{
    (void)state;
    double x[] = {NAN, INFINITY, -INFINITY, NAN, NAN, NAN};
    cs_stats st;
    double unit_mean[3], unit_var[3];
    compute_ok(&st, x, 2, 3, NULL, CS_ACT_TANH, unit_mean, unit_var);
    assert_int_equal(st.nonfinite, 6);
    double moments[] = {st.mean, st.var, st.mean_spread, st.var_within, st.min, st.max};
    for (int k = 0; k < 6; k++)
        assert_true(isnan(moments[k]));
    for (int k = 0; k < CS_STATS_NQ; k++)
        assert_true(isnan(st.q[k]));
    for (int j = 0; j < 3; j++)
        assert_true(isnan(unit_mean[j]) && isnan(unit_var[j]));
    assert_true(st.frac_zero == 0.0);
}

/* An empty batch has no statistics: NaN everywhere, no crash. */
static void test_empty_matrix_gives_nan(void **state)
{
    (void)state;
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, 16, 4), CS_OK);
    cs_stats st;
    double unit_mean[4];
    assert_int_equal(cs_stats_compute(&st, NULL, 0, 4, NULL, CS_ACT_RELU, unit_mean, NULL, w),
                     CS_OK);
    assert_true(isnan(st.mean) && isnan(st.q[2]) && isnan(st.frac_zero));
    assert_true(isnan(unit_mean[0]) && isnan(unit_mean[3]));
    assert_int_equal(st.nonfinite, 0);
    cs_stats_work_free(w);
}

/* docs/design.md §2 frac_saturated = #{phi'(z) < 0.05 max phi'} / (m n), on z
 * chosen either side of each threshold:
 *   tanh:  1 - tanh(z)^2 < 0.05  <=>  |z| > atanh(sqrt 0.95) = 2.1783...
 *   relu:  relu'(z) = 0 for z <= 0 (autograd's choice at the kink)
 *   linear: never saturated. */
static void test_frac_saturated_tanh_relu_linear(void **state)
{
    (void)state;
    enum { M = 40, N = 30 };
    static double z[M * N], x[M * N];
    double edge = atanh(sqrt(0.95));
    size_t tanh_saturated = 0, relu_saturated = 0;
    for (size_t e = 0; e < M * N; e++) {
        double pattern[] = {0.0, 1.0, -1.0, edge + 1e-9, -edge - 1e-9, edge - 1e-9, 5.0, -0.5};
        z[e] = pattern[e % 8];
        tanh_saturated += fabs(z[e]) > edge;
        relu_saturated += z[e] <= 0.0;
        x[e] = z[e];
    }
    double tanh_want = (double)tanh_saturated / (M * N);
    double relu_want = (double)relu_saturated / (M * N);
    cs_stats st;
    compute_ok(&st, x, M, N, z, CS_ACT_TANH, NULL, NULL);
    assert_true(st.frac_saturated == tanh_want);
    compute_ok(&st, x, M, N, z, CS_ACT_RELU, NULL, NULL);
    assert_true(st.frac_saturated == relu_want);
    compute_ok(&st, x, M, N, z, CS_ACT_LINEAR, NULL, NULL);
    assert_true(st.frac_saturated == 0.0);
    /* Without z the site is not post: NaN. */
    compute_ok(&st, x, M, N, NULL, CS_ACT_TANH, NULL, NULL);
    assert_true(isnan(st.frac_saturated));
    /* By hand, per 8 entries: tanh saturates at edge+, -edge-, 5; relu at
     * 0, -1, -edge-, -0.5. */
    assert_true(tanh_want == 3.0 / 8.0 && relu_want == 4.0 / 8.0);
}

/* The brute-force frac_saturated: phi' per entry, as docs/design.md §2 reads. */
static double saturated_by_derivative(const double *z, size_t n, cs_activation act)
{
    double cutoff = 0.05 * cs_activation_max_derivative(act), d;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        cs_activation_derivative(act, &d, &z[i], 1);
        count += d < cutoff;
    }
    return (double)count / (double)n;
}

/* Where phi' crosses the cutoff between a and b (bisection on phi'). */
static double crossing(cs_activation act, double a, double b)
{
    double cutoff = 0.05 * cs_activation_max_derivative(act), d;
    cs_activation_derivative(act, &d, &a, 1);
    int sat_a = d < cutoff;
    for (int k = 0; k < 200; k++) {
        double mid = a + 0.5 * (b - a);
        if (mid == a || mid == b)
            break;
        cs_activation_derivative(act, &d, &mid, 1);
        if ((d < cutoff) == sat_a)
            a = mid;
        else
            b = mid;
    }
    return b;
}

/* cs_stats computes frac_saturated from thresholds on z found once per
 * call, not from phi' per entry; the count must still be exactly the
 * per-entry one, for every activation, on gaussians of several scales, on
 * every double within 2000 ulps and at relative steps up to 1e-4 of each
 * crossing (where the thresholds' exact fallback band lies), and on
 * +-0, denormals, +-DBL_MAX, +-Inf and NaN. */
static void test_frac_saturated_equals_per_entry_derivative_for_every_activation(void **state)
{
    (void)state;
    enum { N = 64, CAP = 40000 };
    double *z = malloc(CAP * sizeof *z);
    assert_non_null(z);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    const double special[] = {0.0, -0.0, 0x1p-1074, -0x1p-1074, 1e-310, -1e-310, DBL_MAX,
                              -DBL_MAX, INFINITY, -INFINITY, NAN, 1.0, -1.0, -1.4142135623730951};
    for (int a = 0; a < CS_ACT_COUNT; a++) {
        cs_activation act = (cs_activation)a;
        size_t n = 0;
        const double scales[] = {0.1, 1.0, 3.0, 30.0};
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2048; i++)
                z[n++] = scales[k] * gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
            z[n++] = special[k];
        /* crossings on each side that has one (tanh and sigmoid both, selu
         * and gelu below, relu and leaky_relu at 0) */
        double edges[2] = {crossing(act, -40.0, 0.0), crossing(act, 40.0, 0.0)};
        for (int e = 0; e < 2; e++) {
            double c = edges[e];
            double up = c, down = c;
            for (int k = 0; k < 2000; k++) {
                z[n++] = up = nextafter(up, INFINITY);
                z[n++] = down = nextafter(down, -INFINITY);
            }
            for (double rel = 1e-12; rel < 1e-4; rel *= 1.5) {
                z[n++] = c * (1 + rel);
                z[n++] = c * (1 - rel);
            }
        }
        assert_true(n <= CAP);
        size_t rows = n / N; /* whole rows; cs_stats wants an m x n matrix */
        cs_stats st;
        compute_ok(&st, z, rows, N, z, act, NULL, NULL);
        double want = saturated_by_derivative(z, rows * N, act);
        if (!(st.frac_saturated == want))
            fail_msg("%s: frac_saturated %.17g, per-entry phi' gives %.17g (of %zu entries)",
                     cs_activation_name(act), st.frac_saturated, want, rows * N);
    }
    gsl_rng_free(r);
    free(z);
}

/* Two-pass stability: mean 1e6 and variance 1. One-pass E[x^2] - E[x]^2
 * would cancel 1e12 against 1e12 and keep ~4 digits of the variance (eps
 * 1e12 = 2e-4). The reference is exact: x = 1e6 + g with g a multiple of
 * 2^-20, so x is exact too, and the moments are taken on g. */
static void test_variance_stable_at_mean_1e6(void **state)
{
    (void)state;
    enum { M = 256, N = 64 };
    static double x[M * N], g[M * N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    double s = 0;
    for (size_t e = 0; e < M * N; e++) {
        g[e] = round(gsl_ran_gaussian(rng, 1.0) * 0x1p20) * 0x1p-20;
        x[e] = 1e6 + g[e]; /* exact: 1e6 + g needs < 53 bits */
        s += g[e];
    }
    double mg = s / (M * N), v = 0;
    for (size_t e = 0; e < M * N; e++)
        v += (g[e] - mg) * (g[e] - mg);
    v /= M * N;
    cs_stats st;
    compute_ok(&st, x, M, N, NULL, CS_ACT_LINEAR, NULL, NULL);
    print_message("var %.17g want %.17g (rel %.3g)\n", st.var, v, fabs(st.var - v) / v);
    cs_test_assert_close(&st.var, &v, 1, 1e-6, 0, "var at mean 1e6");
    /* Much better than the 1e-6 asked: the deviations x - mu carry the
     * mean's rounding (~1e-10 absolute) only. */
    cs_test_assert_close(&st.var, &v, 1, 1e-9, 0, "var at mean 1e6 (tight)");
    double mean = 1e6 + mg;
    cs_test_assert_close(&st.mean, &mean, 1, 1e-15, 0, "mean at 1e6");
    gsl_rng_free(rng);
}

static void test_workspace_too_small_returns_einval(void **state)
{
    (void)state;
    double x[12] = {0};
    cs_stats st;
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, 11, 4), CS_OK);
    cs_error_clear();
    assert_int_equal(cs_stats_compute(&st, x, 3, 4, NULL, CS_ACT_LINEAR, NULL, NULL, w),
                     CS_EINVAL); /* 12 entries > 11 */
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "workspace"));
    assert_int_equal(cs_stats_compute(&st, x, 2, 5, NULL, CS_ACT_LINEAR, NULL, NULL, w),
                     CS_EINVAL); /* 5 units > 4 */
    assert_int_equal(cs_stats_compute(&st, x, SIZE_MAX / 2, 4, NULL, CS_ACT_LINEAR, NULL, NULL, w),
                     CS_EINVAL); /* m n overflows */
    assert_int_equal(
        cs_stats_compute(&st, x, 2, 4, NULL, (cs_activation)CS_ACT_COUNT, NULL, NULL, w),
        CS_EINVAL);
    assert_int_equal(cs_stats_compute(&st, x, 2, 4, NULL, CS_ACT_LINEAR, NULL, NULL, w), CS_OK);
    cs_stats_work_free(w);
}

/* Allocation failure injected at each call in turn: the code is
 * returned and recorded, *out is NULL (even if it held a pointer), nothing
 * leaks (ASan); sizes that overflow size_t are CS_EINVAL. */
static void test_work_alloc_failure_returns_code(void **state)
{
    (void)state;
    cs_alloc_fail_reset();
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, 1000, 10), CS_OK);
    assert_non_null(w);
    long calls = cs_alloc_count();
    cs_stats_work_free(w);
    assert_true(calls >= 1);
    for (long k = 0; k < calls; k++) {
        cs_alloc_fail_after(k);
        cs_error_clear();
        w = (cs_stats_work *)&calls; /* a stale value must be overwritten */
        assert_int_equal(cs_stats_work_alloc(&w, 1000, 10), CS_ENOMEM);
        assert_null(w);
        assert_int_equal(cs_error_code(), CS_ENOMEM);
        assert_true(strstr(cs_error_message(), "cannot allocate") != NULL);
    }
    cs_alloc_fail_reset();
    cs_stats_work_free(NULL);
    cs_error_clear();
    w = (cs_stats_work *)&calls;
    assert_int_equal(cs_stats_work_alloc(&w, SIZE_MAX / 4, 1), CS_EINVAL);
    assert_null(w);
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_true(strstr(cs_error_message(), "more than") != NULL);
}

/* Bins and under/overflow against np.histogram (fixture), including x = lo
 * (bin 0), x = hi (overflow), the largest double below hi (last bin), +-Inf
 * and NaN (skipped). Counts accumulate across calls. */
static void test_hist_counts_match_numpy(void **state)
{
    (void)state;
    size_t k, count, nbins_count, uo_count;
    double *params = cs_test_fixture("numpy_stats", "hist_params", &k);
    double *x = cs_test_fixture("numpy_stats", "hist_x", &count);
    double *want = cs_test_fixture("numpy_stats", "hist_counts", &nbins_count);
    double *want_uo = cs_test_fixture("numpy_stats", "hist_under_over", &uo_count);
    size_t nbins = (size_t)params[2];
    assert_int_equal(nbins, nbins_count);
    uint64_t *counts = calloc(nbins, sizeof *counts), under = 0, over = 0;
    size_t half = count / 2;
    cs_hist_accumulate(counts, &under, &over, nbins, params[0], params[1], x, half);
    cs_hist_accumulate(counts, &under, &over, nbins, params[0], params[1], x + half,
                       count - half);
    double *got = malloc(nbins * sizeof *got);
    for (size_t b = 0; b < nbins; b++)
        got[b] = (double)counts[b];
    cs_test_assert_close(got, want, nbins, 0, 0, "histogram counts");
    double uo[] = {(double)under, (double)over};
    cs_test_assert_close(uo, want_uo, 2, 0, 0, "underflow, overflow");
    free(got);
    free(counts);
    free(params);
    free(x);
    free(want);
    free(want_uo);
}

/* x < hi that rounds up to bin nbins goes to the last bin, never past it:
 * with lo = 0, hi = 1, 3 bins, width rounds to 0.33333333333333331 and the
 * double just below 1 divides to exactly 3.0. */
static void test_hist_top_edge_rounding_stays_in_last_bin(void **state)
{
    (void)state;
    double lo = 0.0, hi = 1.0, below = nextafter(1.0, 0.0);
    size_t nbins = 3;
    assert_true(floor((below - lo) / ((hi - lo) / (double)nbins)) == 3.0); /* the premise */
    uint64_t counts[3] = {0}, under = 0, over = 0;
    double x[] = {below, hi, lo, nextafter(lo, -1.0)};
    cs_hist_accumulate(counts, &under, &over, nbins, lo, hi, x, 4);
    assert_true(counts[0] == 1 && counts[1] == 0 && counts[2] == 1);
    assert_true(under == 1 && over == 1);
}

/* docs/design.md §2: [mean - 6 sd, mean + 6 sd]; [mean - 1, mean + 1] when sd is 0
 * or not finite; [-1, 1] when the mean is not finite. */
static void test_hist_range_rules(void **state)
{
    (void)state;
    size_t k, kk;
    double *in = cs_test_fixture("numpy_stats", "range_in", &k);
    double *want = cs_test_fixture("numpy_stats", "range_out", &kk);
    assert_int_equal(k, kk);
    for (size_t i = 0; i < k / 2; i++) {
        double got[2];
        cs_hist_range(&got[0], &got[1], in[2 * i], in[2 * i + 1]);
        cs_test_assert_close(got, &want[2 * i], 2, 1e-15, 0, "range mean +- 6 sd");
    }
    double lo, hi;
    cs_hist_range(&lo, &hi, 2.0, 0.0);
    assert_true(lo == 1.0 && hi == 3.0);
    cs_hist_range(&lo, &hi, 2.0, NAN);
    assert_true(lo == 1.0 && hi == 3.0);
    cs_hist_range(&lo, &hi, 2.0, INFINITY);
    assert_true(lo == 1.0 && hi == 3.0);
    cs_hist_range(&lo, &hi, NAN, 1.0);
    assert_true(lo == -1.0 && hi == 1.0);
    cs_hist_range(&lo, &hi, -INFINITY, 1.0);
    assert_true(lo == -1.0 && hi == 1.0);
    /* Degenerate: mean +- 1 is mean itself at 1e20; the range must still
     * satisfy cs_hist_accumulate's lo < hi, finite. */
    cs_hist_range(&lo, &hi, 1e20, 0.0);
    assert_true(lo < hi && isfinite(lo) && isfinite(hi) && lo <= 1e20 && 1e20 < hi);
    cs_hist_range(&lo, &hi, 1e300, 1e300 * 1e10);
    assert_true(lo < hi && isfinite(lo) && isfinite(hi));
    free(in);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_match_numpy),
        cmocka_unit_test(test_moments_match_numpy),
        cmocka_unit_test(test_quantiles_match_sort_on_adversarial_orders),
        cmocka_unit_test(test_nonfinite_entries_are_counted_and_excluded),
        cmocka_unit_test(test_all_nonfinite_gives_nan_moments),
        cmocka_unit_test(test_empty_matrix_gives_nan),
        cmocka_unit_test(test_hist_spec_matches_accumulate_and_sort),
        cmocka_unit_test(test_frac_saturated_tanh_relu_linear),
        cmocka_unit_test(test_frac_saturated_equals_per_entry_derivative_for_every_activation),
        cmocka_unit_test(test_variance_stable_at_mean_1e6),
        cmocka_unit_test(test_workspace_too_small_returns_einval),
        cmocka_unit_test(test_work_alloc_failure_returns_code),
        cmocka_unit_test(test_hist_counts_match_numpy),
        cmocka_unit_test(test_hist_top_edge_rounding_stays_in_last_bin),
        cmocka_unit_test(test_hist_range_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
