/* Drift metrics between phases A and B (docs/design.md §2) against NumPy (fixture
 * from tests/gen_fixtures_numpy.py) and cases checkable by hand: identical
 * phases, a pure mean shift, point masses, W1 of shifted Gaussian samples
 * (metrics version 1); and the scale-free per-unit metrics of version 2:
 * invariance to rescaling through the statistics kernel, dead and
 * constant units, closed forms for Gaussian units. */
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
 * i.e. m and m^2 / 2 up to the e = 1e-12 of docs/design.md §2 (5e-13 relative),
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
 * docs/design.md §2 in va = 1 + e, vb = 4 + e (it moves the result by ~1e-12). */
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

/* ---- metrics version 2: cs_drift_units_rel ---- */

/* Textbook references, in long double, for a unit N(ma, va) -> N(mb, vb):
 * KL with its logs (cs_drift.c cancels them), the Bhattacharyya form of
 * Hellinger's distance (cs_drift.c works with log1p and expm1). */
static long double ref_kl(long double m1, long double v1, long double m2, long double v2)
{
    return 0.5L * (logl(v2 / v1) + (v1 + (m1 - m2) * (m1 - m2)) / v2 - 1.0L);
}

static long double ref_hellinger_sq(long double ma, long double va, long double mb,
                                    long double vb)
{
    long double d = mb - ma;
    return 1.0L - sqrtl(2.0L * sqrtl(va * vb) / (va + vb)) * expl(-d * d / (4.0L * (va + vb)));
}

/* Per-unit phase estimates of a layer, from batches through cs_stats_compute
 * and cs_drift_accumulate as the recorder makes them: A's units
 * N(mu_j, s_j^2) with s_j spread over two decades, B's N(mu_j + 0.3 s_j,
 * (1.4 s_j)^2); units 3 and 7 are dead relus (exact zeros in A and B), unit
 * 11 is constant in A and moves in B, unit 13 varies in A and is constant
 * 0.25 in B. Every entry is multiplied by c. */
enum { REL_M = 64, REL_N = 16, REL_STEPS = 4 };

static void rel_estimates(double c, double *mu_a, double *v_a, double *mu_b, double *v_b)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1212);
    cs_stats_work *w = NULL;
    assert_int_equal(cs_stats_work_alloc(&w, REL_M * REL_N, REL_N), 0);
    double x[REL_M * REL_N], umean[REL_N], uvar[REL_N];
    memset(mu_a, 0, REL_N * sizeof *mu_a);
    memset(v_a, 0, REL_N * sizeof *v_a);
    memset(mu_b, 0, REL_N * sizeof *mu_b);
    memset(v_b, 0, REL_N * sizeof *v_b);
    for (int phase = 0; phase < 2; phase++)
        for (int step = 0; step < REL_STEPS; step++) {
            for (int i = 0; i < REL_M; i++)
                for (int j = 0; j < REL_N; j++) {
                    double sd = pow(10.0, -1.0 + 2.0 * j / (REL_N - 1)), mu = 0.5 * j - 2.0;
                    double z = gsl_ran_gaussian(rng, 1.0);
                    double v = phase ? mu + 0.3 * sd + 1.4 * sd * z : mu + sd * z;
                    if (j == 3 || j == 7)
                        v = 0.0;
                    if (j == 11)
                        v = phase ? 1.0 + z : 1.0;
                    if (j == 13 && phase)
                        v = 0.25;
                    x[i * REL_N + j] = c * v;
                }
            cs_stats st;
            assert_int_equal(cs_stats_compute(&st, x, REL_M, REL_N, NULL, CS_ACT_LINEAR, umean,
                                              uvar, w),
                             0);
            cs_drift_accumulate(phase ? mu_b : mu_a, phase ? v_b : v_a, umean, uvar, REL_N);
        }
    for (int j = 0; j < REL_N; j++) {
        mu_a[j] /= REL_STEPS;
        v_a[j] /= REL_STEPS;
        mu_b[j] /= REL_STEPS;
        v_b[j] /= REL_STEPS;
    }
    cs_stats_work_free(w);
    gsl_rng_free(rng);
}

/* Rescaling every activation by c = 1e-20 or 1e20 leaves all four
 * metrics to 1e-12 relative and the counts exactly (metrics version 1's
 * absolute e = 1e-12 sent mean_shift to 4.4e-25 at such scales). The
 * rounding of c x and of the moments is all that differs. */
static void test_drift_rel_invariant_to_scale(void **state)
{
    (void)state;
    double mu_a[REL_N], v_a[REL_N], mu_b[REL_N], v_b[REL_N];
    rel_estimates(1.0, mu_a, v_a, mu_b, v_b);
    cs_drift_rel base;
    cs_drift_units_rel(&base, mu_a, v_a, mu_b, v_b, REL_N);
    /* units 3, 7 (dead) and 11 (constant in A) left out; 13 constant in B */
    assert_int_equal(base.n_const_a, 3);
    assert_int_equal(base.n_units, REL_N - 3);
    assert_int_equal(base.n_const_b, 1);
    double want[4] = {base.mean_shift, base.var_log_ratio, base.kl_sym, base.hellinger_sq};
    print_message("c = 1: mean_shift %.6g var_log_ratio %.6g kl_sym %.6g hellinger_sq %.6g\n",
                  want[0], want[1], want[2], want[3]);
    const double cs[] = {1e-20, 1e20};
    for (int k = 0; k < 2; k++) {
        rel_estimates(cs[k], mu_a, v_a, mu_b, v_b);
        cs_drift_rel r;
        cs_drift_units_rel(&r, mu_a, v_a, mu_b, v_b, REL_N);
        double got[4] = {r.mean_shift, r.var_log_ratio, r.kl_sym, r.hellinger_sq};
        cs_test_check_close(got, want, 4, 1e-12, 0, cs[k] < 1 ? "c = 1e-20" : "c = 1e20");
        assert_true(r.n_const_a == base.n_const_a && r.n_const_b == base.n_const_b);
        double e = base.e * cs[k] * cs[k];
        cs_test_assert_close(&r.e, &e, 1, 1e-12, 0, "e scales by c^2");
    }
    /* and on the estimates themselves, mu -> c mu, v -> c^2 v */
    rel_estimates(1.0, mu_a, v_a, mu_b, v_b);
    for (int j = 0; j < REL_N; j++) {
        mu_a[j] *= 1e-20;
        mu_b[j] *= 1e-20;
        v_a[j] *= 1e-40;
        v_b[j] *= 1e-40;
    }
    cs_drift_rel r;
    cs_drift_units_rel(&r, mu_a, v_a, mu_b, v_b, REL_N);
    double got[4] = {r.mean_shift, r.var_log_ratio, r.kl_sym, r.hellinger_sq};
    cs_test_check_close(got, want, 4, 1e-12, 0, "estimates scaled");
}

/* Units dead in A and B (exact zeros) and units constant in A are counted
 * and change nothing about the others: the same layer with 5 such units
 * interleaved gives bit-identical metrics (they are out of e as well). */
static void test_drift_rel_dead_units_counted_and_inert(void **state)
{
    (void)state;
    enum { N = 6, EXTRA = 5 };
    double mu_a[N] = {0.1, -2.0, 3.0, 0.5, 0.0, 7.0}, v_a[N] = {1.0, 0.25, 4.0, 2.0, 0.5, 9.0};
    double mu_b[N] = {0.4, -1.0, 3.5, 0.5, -0.2, 9.0}, v_b[N] = {1.5, 0.25, 1.0, 3.0, 0.5, 4.0};
    cs_drift_rel base;
    cs_drift_units_rel(&base, mu_a, v_a, mu_b, v_b, N);
    assert_true(base.n_units == N && base.n_const_a == 0 && base.n_const_b == 0);

    /* dead (0, 0 -> 0, 0), dead waking up in B, constant 5 moving to 6,
     * a rounding-noise variance, dead */
    const double xm_a[EXTRA] = {0, 0, 5, 2, 0}, xv_a[EXTRA] = {0, 0, 0, 1e-30, 0};
    const double xm_b[EXTRA] = {0, 1, 6, 2, 0}, xv_b[EXTRA] = {0, 3, 0, 1e-30, 0};
    double ma[N + EXTRA], va[N + EXTRA], mb[N + EXTRA], vb[N + EXTRA];
    for (int j = 0, u = 0, x = 0; j < N + EXTRA; j++) {
        int extra = j % 2 == 1 && x < EXTRA;
        ma[j] = extra ? xm_a[x] : mu_a[u];
        va[j] = extra ? xv_a[x] : v_a[u];
        mb[j] = extra ? xm_b[x] : mu_b[u];
        vb[j] = extra ? xv_b[x] : v_b[u];
        if (extra)
            x++;
        else
            u++;
    }
    cs_drift_rel r;
    cs_drift_units_rel(&r, ma, va, mb, vb, N + EXTRA);
    assert_int_equal(r.n_const_a, EXTRA);
    assert_int_equal(r.n_units, N);
    assert_true(r.e == base.e);
    assert_true(r.mean_shift == base.mean_shift && r.var_log_ratio == base.var_log_ratio);
    assert_true(r.kl_sym == base.kl_sym && r.hellinger_sq == base.hellinger_sq);
    assert_true(isfinite(r.kl_sym) && r.kl_sym < 10);
}

/* B = A: every metric exactly +0, dead units included; all units constant
 * and B = A exactly: 0 with n_const_a = n; all constant and B moved: NaN. */
static void test_drift_rel_identical_phases_give_zero(void **state)
{
    (void)state;
    enum { N = 6 };
    double mu[N] = {0.0, -3.5, 1e-9, 7.0, 1e150, 2.0};
    double v[N] = {1.0, 0.0, 1e-20, 123.456, 1e200, 0.3};
    cs_drift_rel r;
    cs_drift_units_rel(&r, mu, v, mu, v, N);
    assert_true(r.mean_shift == 0.0 && r.var_log_ratio == 0.0 && r.kl_sym == 0.0);
    assert_true(r.hellinger_sq == 0.0 && !signbit(r.hellinger_sq));
    /* next to 1e200, the units of variance 1, 0.3, 123 and 1e-20 are
     * constant (e = 1e-6 x 1e200) */
    assert_int_equal(r.n_const_a, 5);

    double zero[3] = {0, 0, 0}, m3[3] = {1, 2, 3}, m3b[3] = {1, 2, 4};
    cs_drift_units_rel(&r, m3, zero, m3, zero, 3);
    assert_true(r.n_units == 0 && r.n_const_a == 3 && r.e == 0.0);
    assert_true(r.mean_shift == 0 && r.var_log_ratio == 0 && r.kl_sym == 0 &&
                r.hellinger_sq == 0);
    cs_drift_units_rel(&r, m3, zero, m3b, zero, 3);
    assert_true(isnan(r.mean_shift) && isnan(r.var_log_ratio) && isnan(r.kl_sym) &&
                isnan(r.hellinger_sq));
    assert_int_equal(r.n_const_a, 3);
}

/* Gaussian units N(0, v_j) -> N(m sd_j, s^2 v_j), with e = delta mean_j v_j
 * in the regularised metrics: each metric against its textbook form, to
 * 1e-12 relative. m = 1, s = 1 gives mean_shift ~ 1 and kl_sym ~ 1/2;
 * s = 2 var_log_ratio ~ log 4. B collapsing (v_B = 0) is real and large
 * in kl_sym, (v_A + e) / (4 e) ~ 2.5e5 per unit (the failure case the docs
 * state), and exactly 1 in hellinger_sq. */
static void test_drift_rel_gaussian_closed_forms(void **state)
{
    (void)state;
    enum { N = 5 };
    const double v[N] = {1.0, 4.0, 0.25, 9.0, 2.0};
    const double ms[] = {0.0, 0.5, 1.0, 4.0}, ss[] = {0.25, 1.0, 2.0, 4.0};
    long double mean_v = 0;
    for (int j = 0; j < N; j++)
        mean_v += v[j] / N;
    const long double e = CS_DRIFT_DELTA * mean_v;
    for (size_t im = 0; im < 4; im++)
        for (size_t is = 0; is < 4; is++) {
            double m = ms[im], s = ss[is], mu_a[N], mu_b[N], v_b[N];
            long double want[4] = {0, 0, 0, 0};
            for (int j = 0; j < N; j++) {
                mu_a[j] = 0.5 * j;
                mu_b[j] = mu_a[j] + m * sqrt(v[j]);
                v_b[j] = s * s * v[j];
                long double va = v[j] + e, vb = v_b[j] + e, d = (long double)mu_b[j] - mu_a[j];
                want[0] += fabsl(d) / sqrtl(va) / N;
                want[1] += fabsl(logl(vb / va)) / N;
                want[2] += (ref_kl(mu_a[j], va, mu_b[j], vb) + ref_kl(mu_b[j], vb, mu_a[j], va)) /
                           2 / N;
                want[3] += ref_hellinger_sq(mu_a[j], v[j], mu_b[j], v_b[j]) / N;
            }
            cs_drift_rel r;
            cs_drift_units_rel(&r, mu_a, v, mu_b, v_b, N);
            double got[4] = {r.mean_shift, r.var_log_ratio, r.kl_sym, r.hellinger_sq};
            double ref[4] = {(double)want[0], (double)want[1], (double)want[2], (double)want[3]};
            cs_test_assert_close(got, ref, 4, 1e-12, 1e-300, "Gaussian units");
            assert_true(r.n_units == N && r.n_const_a == 0 && r.n_const_b == 0);
            if (s == 1.0 && m == 1.0) {
                /* e / v_j is at most 1e-6 x 3.25 / 0.25 here */
                assert_true(fabs(r.mean_shift - 1.0) < 2e-5 && fabs(r.kl_sym - 0.5) < 2e-5);
                /* H^2 = 1 - exp(-m^2 / 8) for equal variances */
                assert_true(fabs(r.hellinger_sq - (1 - exp(-1.0 / 8))) < 1e-12);
            }
            if (s == 2.0 && m == 0.0)
                assert_true(fabs(r.var_log_ratio - log(4.0)) < 1e-5);
        }
    /* B collapsed to its mean */
    double mu[N] = {0, 0, 0, 0, 0}, zero[N] = {0, 0, 0, 0, 0};
    cs_drift_rel r;
    cs_drift_units_rel(&r, mu, v, mu, zero, N);
    assert_int_equal(r.n_const_b, N);
    assert_true(r.hellinger_sq == 1.0);
    long double kl = 0;
    for (int j = 0; j < N; j++) {
        long double va = v[j] + e, vb = e;
        kl += (ref_kl(0, va, 0, vb) + ref_kl(0, vb, 0, va)) / 2 / N;
    }
    double want_kl = (double)kl;
    cs_test_assert_close(&r.kl_sym, &want_kl, 1, 1e-12, 0, "kl_sym of a collapsed B");
    print_message("collapsed B: kl_sym %.4g, hellinger_sq %g, log1p(kl_sym) %.3g\n", r.kl_sym,
                  r.hellinger_sq, log1p(r.kl_sym));
    assert_true(r.kl_sym > 1e5);
}

/* e is the fixed point e = delta mean{v_Aj : v_Aj > e}: the mean over all
 * five units sets a floor of 8.7e-7 that drops the 1e-9 unit; the mean of
 * the four left sets e = 1.08e-6, which keeps them all. A nonfinite
 * estimate gives NaN everywhere and zero counts; n = 0 gives NaN. */
static void test_drift_rel_floor_is_a_fixed_point(void **state)
{
    (void)state;
    enum { N = 5 };
    double mu[N] = {0, 0, 0, 0, 0}, mu_b[N] = {1, 1, 1, 1, 1};
    double v[N] = {2e-6, 1e-9, 1.0, 3.0, 1.0 / 3.0};
    cs_drift_rel r;
    cs_drift_units_rel(&r, mu, v, mu_b, v, N);
    double kept = 0;
    size_t nkept = 0;
    for (int j = 0; j < N; j++)
        if (v[j] > r.e) {
            kept += v[j];
            nkept++;
        }
    double want_e = CS_DRIFT_DELTA * (kept / (double)nkept);
    assert_true(r.e == want_e);
    assert_int_equal(r.n_units, nkept);
    assert_int_equal(r.n_const_a, 1); /* only the 1e-9 unit; 2e-6 > e = 1.09e-6 */

    double bad[N] = {0, NAN, 0, 0, 0};
    cs_drift_units_rel(&r, bad, v, mu_b, v, N);
    assert_true(isnan(r.mean_shift) && isnan(r.kl_sym) && isnan(r.hellinger_sq) && isnan(r.e));
    assert_true(r.n_units == 0 && r.n_const_a == 0 && r.n_const_b == 0);
    double inf_v[N] = {1, INFINITY, 1, 1, 1};
    cs_drift_units_rel(&r, mu, inf_v, mu_b, v, N);
    assert_true(isnan(r.var_log_ratio));
    cs_drift_units_rel(&r, mu, v, mu_b, v, 0);
    assert_true(isnan(r.mean_shift) && r.n_units == 0);
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
        cmocka_unit_test(test_drift_rel_invariant_to_scale),
        cmocka_unit_test(test_drift_rel_dead_units_counted_and_inert),
        cmocka_unit_test(test_drift_rel_identical_phases_give_zero),
        cmocka_unit_test(test_drift_rel_gaussian_closed_forms),
        cmocka_unit_test(test_drift_rel_floor_is_a_fixed_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
