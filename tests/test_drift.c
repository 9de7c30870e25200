/* Drift metrics between phases A and B (DESIGN §2) against NumPy (fixture
 * from tests/gen_fixtures_numpy.py) and cases checkable by hand: identical
 * phases, a pure mean shift, point masses, W1 of shifted Gaussian samples. */
#include "cs_test_util.h"

#include "cs_drift.h"
#include "cs_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* Against NumPy: each metric is a mean of n terms; summation order and
 * the algebraically rearranged kl_sym (no logs, see cs_drift.c) differ from
 * NumPy's by a few ulps per term. No term cancels badly: the fixture's
 * variance ratios are exp(N(0.2, 0.7)), far from 1. */
#define DRIFT_RTOL 1e-12

static void split_units(const double *in, size_t n, double *mu_a, double *v_a, double *mu_b,
                        double *v_b)
{
    for (size_t j = 0; j < n; j++) {
        mu_a[j] = in[4 * j];
        v_a[j] = in[4 * j + 1];
        mu_b[j] = in[4 * j + 2];
        v_b[j] = in[4 * j + 3];
    }
}

static void check_units_fixture(const char *in_name, const char *out_name)
{
    size_t k, kout;
    double *in = cs_test_fixture("numpy_drift", in_name, &k);
    double *want = cs_test_fixture("numpy_drift", out_name, &kout);
    assert_int_equal(k % 4, 0);
    assert_int_equal(kout, 3);
    size_t n = k / 4;
    double *buf = malloc(4 * n * sizeof *buf);
    split_units(in, n, buf, buf + n, buf + 2 * n, buf + 3 * n);
    cs_drift d = {.w1 = -7.0};
    cs_drift_units(&d, buf, buf + n, buf + 2 * n, buf + 3 * n, n);
    double got[] = {d.mean_shift, d.var_log_ratio, d.kl_sym};
    print_message("%-10s mean_shift %.17g var_log_ratio %.17g kl_sym %.17g\n", in_name, got[0],
                  got[1], got[2]);
    cs_test_assert_close(got, want, 3, DRIFT_RTOL, 0, out_name);
    assert_true(d.w1 == -7.0); /* left untouched, as the header says */
    free(buf);
    free(in);
    free(want);
}

static void test_drift_units_match_numpy(void **state)
{
    (void)state;
    check_units_fixture("units_in", "units_out");
    /* Units dead (variance 0) in one phase: e = 1e-12 sets the scale. */
    check_units_fixture("dead_in", "dead_out");
}

/* Identical phases: all four metrics exactly 0, including dead units
 * (v = 0) and huge ones. */
static void test_drift_identical_inputs_give_zero(void **state)
{
    (void)state;
    enum { N = 6 };
    double mu[N] = {0.0, -3.5, 1e-9, 7.0, 1e150, 2.0};
    double v[N] = {1.0, 0.0, 1e-20, 123.456, 1e200, 0.3};
    cs_drift d;
    cs_drift_units(&d, mu, v, mu, v, N);
    assert_true(d.mean_shift == 0.0);
    assert_true(d.var_log_ratio == 0.0);
    assert_true(d.kl_sym == 0.0);

    uint64_t counts[5] = {3, 0, 17, 9, 1};
    assert_true(cs_drift_w1(counts, 2, 4, counts, 2, 4, 5, 0.25, 1.3) == 0.0);
}

/* Per-unit N(mu_j, 1) in A and N(mu_j + m, 1) in B:
 *   mean_shift = m / sqrt(1 + e),  kl_sym = m^2 / (2 (1 + e)),  var_log_ratio = 0,
 * i.e. m and m^2 / 2 up to the e = 1e-12 of DESIGN §2 (5e-13 relative),
 * and to rounding of the mean over 8 units (rtol 1e-15). */
static void test_drift_mean_shift_m_gives_m_and_kl_m2_over_2(void **state)
{
    (void)state;
    enum { N = 8 };
    double mu_a[N], mu_b[N], v[N];
    const double shifts[] = {0.5, 1.0, 3.0, -2.0};
    for (int s = 0; s < 4; s++) {
        double m = shifts[s];
        for (int j = 0; j < N; j++) {
            mu_a[j] = 0.0;
            mu_b[j] = m;
            v[j] = 1.0;
        }
        cs_drift d;
        cs_drift_units(&d, mu_a, v, mu_b, v, N);
        double want_shift = fabs(m) / sqrt(1.0 + CS_DRIFT_EPS);
        double want_kl = m * m / (2.0 * (1.0 + CS_DRIFT_EPS));
        cs_test_assert_close(&d.mean_shift, &want_shift, 1, 1e-15, 0, "mean_shift = m");
        cs_test_assert_close(&d.kl_sym, &want_kl, 1, 1e-15, 0, "kl_sym = m^2 / 2");
        assert_true(d.var_log_ratio == 0.0);
        /* Against m and m^2 / 2 themselves, e is all the difference:
         * 1 - 1/sqrt(1 + e) = 5e-13 and 1 - 1/(1 + e) = 1e-12 relative. */
        double plain_m = fabs(m), plain_kl = m * m / 2.0;
        cs_test_assert_close(&d.mean_shift, &plain_m, 1, 0.6e-12, 0, "mean_shift vs m");
        cs_test_assert_close(&d.kl_sym, &plain_kl, 1, 1.1e-12, 0, "kl_sym vs m^2/2");
    }
}

/* var_log_ratio is symmetric and reads the variance factor: v_B = 4 v_A
 * gives log 4 either way round; kl_sym of a pure variance change is
 * (va/vb + vb/va - 2) / 4 = (vb - va)^2 / (4 va vb), with the e of
 * DESIGN §2 in va = 1 + e, vb = 4 + e (it moves the result by ~1e-12). */
static void test_drift_variance_change_gives_log_ratio(void **state)
{
    (void)state;
    double mu[2] = {0.0, 5.0}, v1[2] = {1.0, 1.0}, v4[2] = {4.0, 4.0};
    cs_drift up, down;
    cs_drift_units(&up, mu, v1, mu, v4, 2);
    cs_drift_units(&down, mu, v4, mu, v1, 2);
    const double e = CS_DRIFT_EPS, va = 1.0 + e, vb = 4.0 + e;
    double want = log(vb / va), want_kl = (vb - va) * (vb - va) / (4.0 * va * vb);
    cs_test_assert_close(&up.var_log_ratio, &want, 1, 1e-12, 0, "log 4 (up)");
    cs_test_assert_close(&down.var_log_ratio, &want, 1, 1e-12, 0, "log 4 (down)");
    cs_test_assert_close(&up.kl_sym, &want_kl, 1, 1e-12, 0, "kl_sym of scale 2");
    cs_test_assert_close(&down.kl_sym, &up.kl_sym, 1, 1e-15, 0, "kl_sym is symmetric");
    assert_true(up.mean_shift == 0.0);
}

/* A unit that saw a nonfinite entry has NaN estimates (cs_stats_compute):
 * the metrics say so rather than hide it. */
static void test_drift_nan_unit_gives_nan(void **state)
{
    (void)state;
    double mu_a[2] = {0.0, NAN}, v_a[2] = {1.0, NAN}, mu_b[2] = {1.0, 0.0}, v_b[2] = {1.0, 1.0};
    cs_drift d;
    cs_drift_units(&d, mu_a, v_a, mu_b, v_b, 2);
    assert_true(isnan(d.mean_shift) && isnan(d.var_log_ratio) && isnan(d.kl_sym));
}

static void test_drift_accumulate_sums_phase_estimates(void **state)
{
    (void)state;
    double sum_mean[3] = {0}, sum_var[3] = {0};
    double m1[3] = {1, 2, 3}, v1[3] = {0.5, 0.25, 4}, m2[3] = {-1, 0.5, 3}, v2[3] = {1, 1, 1};
    cs_drift_accumulate(sum_mean, sum_var, m1, v1, 3);
    cs_drift_accumulate(sum_mean, sum_var, m2, v2, 3);
    double want_mean[3] = {0, 2.5, 6}, want_var[3] = {1.5, 1.25, 5};
    cs_test_assert_close(sum_mean, want_mean, 3, 0, 0, "sum of unit means");
    cs_test_assert_close(sum_var, want_var, 3, 0, 0, "sum of unit variances");
}

static void test_w1_matches_numpy(void **state)
{
    (void)state;
    size_t k, nb, nbb;
    double *params = cs_test_fixture("numpy_drift", "w1_params", &k);
    double *ca = cs_test_fixture("numpy_drift", "w1_a", &nb);
    double *cb = cs_test_fixture("numpy_drift", "w1_b", &nbb);
    double *uoa = cs_test_fixture("numpy_drift", "w1_a_under_over", &k);
    double *uob = cs_test_fixture("numpy_drift", "w1_b_under_over", &k);
    double *want = cs_test_fixture("numpy_drift", "w1_out", &k);
    size_t nbins = (size_t)params[0];
    assert_true(nb == nbins && nbb == nbins);
    uint64_t *a = malloc(nbins * sizeof *a), *b = malloc(nbins * sizeof *b);
    for (size_t i = 0; i < nbins; i++) {
        a[i] = (uint64_t)ca[i];
        b[i] = (uint64_t)cb[i];
    }
    double got = cs_drift_w1(a, (uint64_t)uoa[0], (uint64_t)uoa[1], b, (uint64_t)uob[0],
                             (uint64_t)uob[1], nbins, params[1], params[2]);
    /* 64 terms of |F_A - F_B|, each one rounding per F: rtol 1e-12 is
     * ~ 64 ulps of slack. */
    cs_test_assert_close(&got, want, 1, 1e-12, 0, "w1");
    free(a);
    free(b);
    free(params);
    free(ca);
    free(cb);
    free(uoa);
    free(uob);
    free(want);
}

/* Point masses, by hand: A in bin 1, B in bin 4 of 8 bins of width 0.5:
 * F_A - F_B = 1 on bins 1, 2, 3, so W1 = 3 * 0.5 = 1.5, / sd 2 = 0.75.
 * All of A under the range and all of B over it: |F_A - F_B| = 1 on all
 * 8 bins, W1 = 8 * 0.5 / 2 = 2. W1 is symmetric in A and B. */
static void test_w1_point_masses_is_their_distance(void **state)
{
    (void)state;
    uint64_t a[8] = {0, 10, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 3, 0, 0, 0}, none[8] = {0};
    assert_true(cs_drift_w1(a, 0, 0, b, 0, 0, 8, 0.5, 2.0) == 0.75);
    assert_true(cs_drift_w1(b, 0, 0, a, 0, 0, 8, 0.5, 2.0) == 0.75);
    assert_true(cs_drift_w1(none, 5, 0, none, 0, 7, 8, 0.5, 2.0) == 2.0);
}

static void test_w1_nan_when_empty_or_sd_not_positive(void **state)
{
    (void)state;
    uint64_t a[4] = {1, 2, 3, 4}, none[4] = {0};
    assert_true(isnan(cs_drift_w1(none, 0, 0, a, 0, 0, 4, 1.0, 1.0)));
    assert_true(isnan(cs_drift_w1(a, 0, 0, none, 0, 0, 4, 1.0, 1.0)));
    assert_true(isnan(cs_drift_w1(a, 0, 0, a, 0, 0, 4, 1.0, 0.0)));
    assert_true(isnan(cs_drift_w1(a, 0, 0, a, 0, 0, 4, 1.0, -1.0)));
    assert_true(isnan(cs_drift_w1(a, 0, 0, a, 0, 0, 4, 1.0, NAN)));
    assert_true(isnan(cs_drift_w1(a, 0, 0, a, 0, 0, 4, 1.0, INFINITY)));
    /* Only under/overflow counts: a histogram, not an empty one. */
    assert_false(isnan(cs_drift_w1(none, 3, 0, a, 0, 0, 4, 1.0, 1.0)));
}

/* W1(N(0,1), N(m,1)) = |m|. From n = 200000 samples each, histogrammed on
 * 64 bins over [-6, 6] (width h = 0.1875) and divided by sd_a = 1:
 *  - binning: where F_A >= F_B (everywhere but the far tails, m > 0), the
 *    sum over bins of (F_A - F_B) h counts each sample at its bin's left
 *    edge instead of its value, so w1 = mean_B(edge) - mean_A(edge), i.e.
 *    the sample mean difference minus the difference of the mean offsets
 *    within a bin. Those offsets are ~U[0, h), so that term has mean ~0 and
 *    sd h / sqrt(12) sqrt(2 / n) = 1.7e-4;
 *  - sampling: mean_B - mean_A - m ~ N(0, 2 / n), sd 3.2e-3;
 *  - range: mass beyond +-6 of N(m, 1) is 1 - Phi(5.5) = 2e-8, nothing.
 * Tolerances at 5 sd: |w1 - (mean_B - mean_A)| <= 5 x 1.7e-4 ~ 1e-3 and
 * |w1 - m| <= 5 sqrt(3.2e-3^2 + 1.7e-4^2) ~ 0.016. */
static void test_w1_of_shifted_gaussian_samples_is_m(void **state)
{
    (void)state;
    enum { SAMPLES = 200000, BINS = 64 };
    const double lo = -6.0, hi = 6.0, m = 0.5;
    double *xa = malloc(SAMPLES * sizeof *xa), *xb = malloc(SAMPLES * sizeof *xb);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240612);
    double mean_a = 0, mean_b = 0;
    for (size_t i = 0; i < SAMPLES; i++) {
        xa[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        xb[i] = m + gsl_ran_gaussian_ziggurat(rng, 1.0);
        mean_a += xa[i] / SAMPLES;
        mean_b += xb[i] / SAMPLES;
    }
    uint64_t ca[BINS] = {0}, cb[BINS] = {0}, ua = 0, oa = 0, ub = 0, ob = 0;
    cs_hist_accumulate(ca, &ua, &oa, BINS, lo, hi, xa, SAMPLES);
    cs_hist_accumulate(cb, &ub, &ob, BINS, lo, hi, xb, SAMPLES);
    double w1 = cs_drift_w1(ca, ua, oa, cb, ub, ob, BINS, (hi - lo) / BINS, 1.0);
    print_message("w1 %.6f, sample mean difference %.6f, m %.2f\n", w1, mean_b - mean_a, m);
    assert_true(fabs(w1 - (mean_b - mean_a)) <= 1e-3);
    assert_true(fabs(w1 - m) <= 0.016);
    /* Dividing by A's sd rescales: the same histograms with sd_a = 2. */
    double half = cs_drift_w1(ca, ua, oa, cb, ub, ob, BINS, (hi - lo) / BINS, 2.0);
    cs_test_assert_close(&half, (double[]){w1 / 2}, 1, 1e-15, 0, "w1 / sd_a");
    gsl_rng_free(rng);
    free(xa);
    free(xb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_units_match_numpy),
        cmocka_unit_test(test_drift_identical_inputs_give_zero),
        cmocka_unit_test(test_drift_mean_shift_m_gives_m_and_kl_m2_over_2),
        cmocka_unit_test(test_drift_variance_change_gives_log_ratio),
        cmocka_unit_test(test_drift_nan_unit_gives_nan),
        cmocka_unit_test(test_drift_accumulate_sums_phase_estimates),
        cmocka_unit_test(test_w1_matches_numpy),
        cmocka_unit_test(test_w1_point_masses_is_their_distance),
        cmocka_unit_test(test_w1_nan_when_empty_or_sd_not_positive),
        cmocka_unit_test(test_w1_of_shifted_gaussian_samples_is_m),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
