/* Batch norm against torch.nn.BatchNorm1d (forward, running statistics,
 * eval mode, autograd backward with batch and with given statistics), the
 * worksheet's min-max and standardisation against NumPy, stability at a
 * large mean, and the column blocking of core/cs_norm.c against a plain
 * reference: docs/design.md §1 (norm). */
#include "cs_test_util.h"

#include "cs_norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5

/* One block of the fixture, checked to hold `count` values. */
static double *load(const char *prefix, const char *name, size_t count)
{
    return cs_test_fixture_block("torch_bn", prefix, name, count);
}

static void load_shape(const char *prefix, size_t *m, size_t *n)
{
    double *shape = load(prefix, "shape", 2);
    *m = (size_t)shape[0];
    *n = (size_t)shape[1];
    free(shape);
}

static const char *const CASES[] = {"small_", "large_"}; /* (7, 5) and (64, 33) */

/* Outputs of batch norm are O(1) (standardised, times gamma ~ 1, plus
 * beta ~ N(0,1)), and entries near 0 have no relative meaning: rtol 1e-12
 * with an absolute floor of 1e-13 relative to that O(1) scale. The sums
 * over m rows in mean, var and backward reorder differently from torch's
 * reductions; at m = 64 that is a few ulps of O(1) quantities. */
#define BN_RTOL 1e-12
#define BN_ATOL 1e-13

static void test_bn_forward_matches_torch(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        double *h = load(p, "h", m * n), *gamma = load(p, "gamma", n), *beta = load(p, "beta", n);
        double *want_z = load(p, "z", m * n), *want_mean = load(p, "mean", n);
        double *want_var = load(p, "var", n);
        double *z = malloc(m * n * sizeof *z), mean[64], var[64];
        cs_bn_forward_batch(z, mean, var, h, gamma, beta, m, n, BN_EPS);
        char what[64];
        snprintf(what, sizeof what, "%sz", p);
        cs_test_check_close(z, want_z, m * n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%smean", p);
        cs_test_check_close(mean, want_mean, n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%svar (biased)", p);
        cs_test_check_close(var, want_var, n, BN_RTOL, 0, what);
        free(h), free(gamma), free(beta), free(want_z), free(want_mean), free(want_var), free(z);
    }
}

/* gamma, beta NULL mean 1 and 0 (the init); mean, var NULL are skipped;
 * z may alias h. */
static void test_bn_forward_defaults_and_in_place_match_torch(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        double *h = load(p, "h", m * n), *want = load(p, "z_plain", m * n);
        cs_bn_forward_batch(h, NULL, NULL, h, NULL, NULL, m, n, BN_EPS);
        char what[64];
        snprintf(what, sizeof what, "%sz_plain in place", p);
        cs_test_check_close(h, want, m * n, BN_RTOL, BN_ATOL, what);
        free(h), free(want);
    }
}

/* docs/design.md §1: running = (1 - momentum) running + momentum batch, with the
 * unbiased batch variance, from running_mean = 0, running_var = 1 (torch's
 * initial buffers), over the fixture's 3 training batches. */
static void test_bn_running_stats_match_torch(void **state)
{
    (void)state;
    static const struct { const char *tag; double momentum; } runs[] = {
        {"m010", 0.1}, {"m037", 0.37}};
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        const size_t steps = 3;
        double *run_h = load(p, "run_h", steps * m * n);
        double *z = malloc(m * n * sizeof *z);
        for (size_t r = 0; r < 2; r++) {
            double running_mean[64], running_var[64], mean[64], var[64];
            for (size_t j = 0; j < n; j++)
                running_mean[j] = 0.0, running_var[j] = 1.0;
            for (size_t s = 0; s < steps; s++) {
                cs_bn_forward_batch(z, mean, var, run_h + s * m * n, NULL, NULL, m, n, BN_EPS);
                cs_bn_update_running(running_mean, running_var, mean, var, m, n,
                                     runs[r].momentum);
            }
            char name[64], what[64];
            snprintf(name, sizeof name, "running_mean_%s", runs[r].tag);
            double *want = load(p, name, n);
            snprintf(what, sizeof what, "%s%s", p, name);
            cs_test_check_close(running_mean, want, n, BN_RTOL, BN_ATOL, what);
            free(want);
            snprintf(name, sizeof name, "running_var_%s", runs[r].tag);
            want = load(p, name, n);
            snprintf(what, sizeof what, "%s%s", p, name);
            cs_test_check_close(running_var, want, n, BN_RTOL, 0, what);
            free(want);
        }
        free(run_h), free(z);
    }
}

/* Inference mode: normalise a fresh batch with the running statistics. */
static void test_bn_eval_forward_matches_torch(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        double *h = load(p, "eval_h", m * n), *want = load(p, "eval_z", m * n);
        double *rm = load(p, "running_mean_m010", n), *rv = load(p, "running_var_m010", n);
        double *gamma = load(p, "gamma", n), *beta = load(p, "beta", n);
        double *z = malloc(m * n * sizeof *z);
        cs_bn_forward_stats(z, h, rm, rv, gamma, beta, m, n, BN_EPS);
        char what[64];
        snprintf(what, sizeof what, "%seval_z", p);
        cs_test_check_close(z, want, m * n, BN_RTOL, BN_ATOL, what);
        free(h), free(want), free(rm), free(rv), free(gamma), free(beta), free(z);
    }
}

static void test_bn_backward_matches_autograd(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        double *h = load(p, "h", m * n), *gamma = load(p, "gamma", n), *beta = load(p, "beta", n);
        double *want_z = load(p, "z", m * n);
        double *dz = load(p, "dz", m * n), *want_dh = load(p, "dh", m * n);
        double *want_dgamma = load(p, "dgamma", n), *want_dbeta = load(p, "dbeta", n);
        double *want_dh_plain = load(p, "dh_plain", m * n);
        double *z = malloc(m * n * sizeof *z), *dh = malloc(m * n * sizeof *dh);
        double mean[64], var[64], dgamma[64], dbeta[64];
        char what[64];

        /* The fixture's forward had gamma != 1 and beta != 0 (affine), as
         * training will; dbeta and dgamma are what training reads. */
        cs_bn_forward_batch(z, mean, var, h, gamma, beta, m, n, BN_EPS);
        snprintf(what, sizeof what, "%sz (affine)", p);
        cs_test_check_close(z, want_z, m * n, BN_RTOL, BN_ATOL, what);
        cs_bn_backward(dh, dgamma, dbeta, dz, h, mean, var, gamma, m, n, BN_EPS);
        snprintf(what, sizeof what, "%sdh", p);
        cs_test_check_close(dh, want_dh, m * n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%sdgamma", p);
        cs_test_check_close(dgamma, want_dgamma, n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%sdbeta", p);
        cs_test_check_close(dbeta, want_dbeta, n, BN_RTOL, BN_ATOL, what);

        /* gamma NULL (= 1), dgamma and dbeta not wanted, dh aliasing dz. */
        memcpy(dh, dz, m * n * sizeof *dh);
        cs_bn_backward(dh, NULL, NULL, dh, h, mean, var, NULL, m, n, BN_EPS);
        snprintf(what, sizeof what, "%sdh_plain in place", p);
        cs_test_check_close(dh, want_dh_plain, m * n, BN_RTOL, BN_ATOL, what);

        free(h), free(gamma), free(dz), free(want_dh), free(want_dgamma), free(want_dbeta);
        free(want_dh_plain), free(z), free(dh), free(beta), free(want_z);
    }
}

/* Backward with given statistics against autograd through BatchNorm1d in
 * eval mode (the running statistics after the fixture's 3 batches, affine
 * gamma != 1, beta != 0): dh, dgamma, dbeta; then gamma NULL with dgamma,
 * dbeta, h and mean NULL and dh aliasing dz, against the same map without
 * affine. */
static void test_bn_backward_stats_matches_torch_eval(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        size_t m, n;
        load_shape(p, &m, &n);
        double *h = load(p, "eval_h", m * n), *dz = load(p, "eval_dz", m * n);
        double *rm = load(p, "running_mean_m010", n), *rv = load(p, "running_var_m010", n);
        double *gamma = load(p, "gamma", n);
        double *want_dh = load(p, "eval_dh", m * n), *want_dgamma = load(p, "eval_dgamma", n);
        double *want_dbeta = load(p, "eval_dbeta", n);
        double *want_dh_plain = load(p, "eval_dh_plain", m * n);
        double *dh = malloc(m * n * sizeof *dh), dgamma[64], dbeta[64];
        char what[64];

        cs_bn_backward_stats(dh, dgamma, dbeta, dz, h, rm, rv, gamma, m, n, BN_EPS);
        snprintf(what, sizeof what, "%seval_dh", p);
        cs_test_check_close(dh, want_dh, m * n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%seval_dgamma", p);
        cs_test_check_close(dgamma, want_dgamma, n, BN_RTOL, BN_ATOL, what);
        snprintf(what, sizeof what, "%seval_dbeta", p);
        cs_test_check_close(dbeta, want_dbeta, n, BN_RTOL, BN_ATOL, what);

        memcpy(dh, dz, m * n * sizeof *dh);
        cs_bn_backward_stats(dh, NULL, NULL, dh, NULL, NULL, rv, NULL, m, n, BN_EPS);
        snprintf(what, sizeof what, "%seval_dh_plain in place", p);
        cs_test_check_close(dh, want_dh_plain, m * n, BN_RTOL, BN_ATOL, what);
        /* gamma NULL is the plain map dz / sqrt(rv + eps), bit for bit. */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                assert_true(dh[i * n + j] == dz[i * n + j] / sqrt(rv[j] + BN_EPS));

        free(h), free(dz), free(rm), free(rv), free(gamma), free(want_dh), free(want_dgamma);
        free(want_dbeta), free(want_dh_plain), free(dh);
    }
}

/* A deterministic N(0,1)-ish sample without a library RNG: the sum of 12
 * uniforms from a 64-bit LCG (Knuth's MMIX constants), minus 6. */
static double lcg_normal(unsigned long long *s)
{
    double acc = 0;
    for (int k = 0; k < 12; k++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        acc += (double)(*s >> 11) * 0x1.0p-53;
    }
    return acc - 6.0;
}

/* docs/design.md §1 asks for a two-pass variance: a column with mean 1e6 and
 * variance ~1 (256 x 1024, the hot-path shape) must give the variance of the
 * offsets to 1e-6 relative, where E[h^2] - mu^2 would lose ~12 digits. The
 * reference is the variance of the offsets u themselves, computed before the
 * 1e6 is added (h = 1e6 + u rounds u to 1.2e-10, far below 1e-6). */
static void test_bn_variance_stable_at_large_mean(void **state)
{
    (void)state;
    const size_t m = 256, n = 1024;
    double *h = malloc(m * n * sizeof *h), *z = malloc(m * n * sizeof *z);
    double *u = malloc(m * n * sizeof *u);
    double *mean = malloc(n * sizeof *mean), *var = malloc(n * sizeof *var);
    double *u_mean = malloc(n * sizeof *u_mean), *u_var = malloc(n * sizeof *u_var);
    unsigned long long seed = 12345;
    for (size_t k = 0; k < m * n; k++) {
        u[k] = lcg_normal(&seed);
        h[k] = 1e6 + u[k];
    }
    cs_bn_forward_batch(z, u_mean, u_var, u, NULL, NULL, m, n, BN_EPS);
    cs_bn_forward_batch(z, mean, var, h, NULL, NULL, m, n, BN_EPS);
    cs_test_check_close(var, u_var, n, 1e-6, 0, "var at mean 1e6");
    for (size_t j = 0; j < n; j++)
        u_mean[j] += 1e6;
    cs_test_check_close(mean, u_mean, n, 1e-12, 0, "mean at mean 1e6");
    /* The normalised column has mean 0 and variance s2 / (s2 + eps). */
    cs_bn_forward_batch(z, mean, var, z, NULL, NULL, m, n, 0.0);
    for (size_t j = 0; j < n; j++) {
        assert_true(fabs(mean[j]) < 1e-9);
        assert_true(fabs(var[j] - u_var[j] / (u_var[j] + BN_EPS)) < 1e-9);
    }
    free(h), free(z), free(u), free(mean), free(var), free(u_mean), free(u_var);
}

/* Plain column-at-a-time references for the blocked loops of cs_norm.c. */
static void ref_moments(double *mean, double *var, const double *x, size_t m, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < m; i++)
            s += x[i * n + j];
        mean[j] = s / (double)m;
        for (size_t i = 0; i < m; i++)
            s2 += (x[i * n + j] - mean[j]) * (x[i * n + j] - mean[j]);
        var[j] = s2 / (double)m;
    }
}

/* n = 600 spans three column blocks (256, 256, 88): forward, stats forward
 * and backward agree with a plain per-column reference of the header's
 * formulas, so no column is skipped or mixed up at a block edge. */
static void test_bn_blocks_cover_wide_layers(void **state)
{
    (void)state;
    const size_t m = 16, n = 600;
    double *h = malloc(m * n * sizeof *h), *dz = malloc(m * n * sizeof *dz);
    double *z = malloc(m * n * sizeof *z), *want = malloc(m * n * sizeof *want);
    double *dh = malloc(m * n * sizeof *dh);
    double gamma[600], beta[600], mean[600], var[600], rmean[600], rvar[600];
    double dgamma[600], dbeta[600], want_dgamma[600], want_dbeta[600];
    unsigned long long seed = 99;
    for (size_t j = 0; j < n; j++) {
        gamma[j] = 1 + 0.3 * lcg_normal(&seed);
        beta[j] = lcg_normal(&seed);
    }
    for (size_t k = 0; k < m * n; k++) {
        h[k] = (double)(k % n) * 0.01 + (1 + (double)(k % 7)) * lcg_normal(&seed);
        dz[k] = lcg_normal(&seed);
    }
    ref_moments(rmean, rvar, h, m, n);
    cs_bn_forward_batch(z, mean, var, h, gamma, beta, m, n, BN_EPS);
    cs_test_check_close(mean, rmean, n, 1e-12, 1e-14, "wide mean");
    cs_test_check_close(var, rvar, n, 1e-12, 0, "wide var");
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            want[i * n + j] =
                gamma[j] * (h[i * n + j] - rmean[j]) / sqrt(rvar[j] + BN_EPS) + beta[j];
    cs_test_check_close(z, want, m * n, 1e-12, 1e-13, "wide z");
    cs_bn_forward_stats(z, h, rmean, rvar, gamma, beta, m, n, BN_EPS);
    cs_test_check_close(z, want, m * n, 1e-12, 1e-13, "wide z from stats");

    for (size_t j = 0; j < n; j++) {
        double inv = 1 / sqrt(rvar[j] + BN_EPS), sb = 0, sg = 0;
        for (size_t i = 0; i < m; i++) {
            sb += dz[i * n + j];
            sg += dz[i * n + j] * (h[i * n + j] - rmean[j]) * inv;
        }
        want_dbeta[j] = sb, want_dgamma[j] = sg;
        for (size_t i = 0; i < m; i++) {
            double xhat = (h[i * n + j] - rmean[j]) * inv;
            want[i * n + j] = gamma[j] * inv * (dz[i * n + j] - sb / m - xhat * sg / m);
        }
    }
    cs_bn_backward(dh, dgamma, dbeta, dz, h, mean, var, gamma, m, n, BN_EPS);
    cs_test_check_close(dh, want, m * n, 1e-12, 1e-13, "wide dh");
    cs_test_check_close(dgamma, want_dgamma, n, 1e-12, 1e-13, "wide dgamma");
    cs_test_check_close(dbeta, want_dbeta, n, 1e-12, 1e-13, "wide dbeta");

    /* With the statistics given (here the batch's own, as constants), the
     * backward is the affine map's: no terms through mean and var. */
    for (size_t j = 0; j < n; j++) {
        double inv = 1 / sqrt(rvar[j] + BN_EPS), sb = 0, sg = 0;
        for (size_t i = 0; i < m; i++) {
            sb += dz[i * n + j];
            sg += dz[i * n + j] * (h[i * n + j] - rmean[j]) * inv;
            want[i * n + j] = gamma[j] * inv * dz[i * n + j];
        }
        want_dbeta[j] = sb, want_dgamma[j] = sg;
    }
    cs_bn_backward_stats(dh, dgamma, dbeta, dz, h, rmean, rvar, gamma, m, n, BN_EPS);
    cs_test_check_close(dh, want, m * n, 1e-12, 1e-13, "wide dh, given stats");
    cs_test_check_close(dgamma, want_dgamma, n, 1e-12, 1e-13, "wide dgamma, given stats");
    cs_test_check_close(dbeta, want_dbeta, n, 1e-12, 1e-13, "wide dbeta, given stats");
    free(h), free(dz), free(z), free(want), free(dh);
}

/* The running-update formula on numbers worked by hand: m = 4, batch var
 * 3 (biased) is 4 unbiased; momentum 0.25. */
static void test_bn_update_running_uses_unbiased_var(void **state)
{
    (void)state;
    double rm = 1.0, rv = 2.0;
    const double bm = 5.0, bv = 3.0;
    cs_bn_update_running(&rm, &rv, &bm, &bv, 4, 1, 0.25);
    assert_true(rm == 0.75 * 1.0 + 0.25 * 5.0);
    assert_true(rv == 0.75 * 2.0 + 0.25 * 4.0);
}

static void test_norm_minmax_matches_numpy(void **state)
{
    (void)state;
    size_t m, n, count;
    double *shape = cs_test_fixture("torch_bn", "ws_shape", &count);
    m = (size_t)shape[0], n = (size_t)shape[1];
    double *x = load("ws_", "x", m * n), *want = load("ws_", "minmax", m * n);
    double *out = malloc(m * n * sizeof *out);
    cs_norm_minmax(out, x, m, n);
    /* Same operations in the same order as NumPy: exact. The last column is
     * constant and must be NaN in both. */
    cs_test_check_close(out, want, m * n, 0, 0, "minmax");
    assert_true(isnan(out[n - 1]));
    cs_norm_minmax(x, x, m, n); /* in place */
    cs_test_check_close(x, want, m * n, 0, 0, "minmax in place");
    free(shape), free(x), free(want), free(out);
}

static void test_norm_standardize_matches_numpy(void **state)
{
    (void)state;
    size_t m, n, count;
    double *shape = cs_test_fixture("torch_bn", "ws_shape", &count);
    m = (size_t)shape[0], n = (size_t)shape[1];
    double *x = load("ws_", "x", m * n), *want = load("ws_", "standardize", m * n);
    double *out = malloc(m * n * sizeof *out);
    cs_norm_standardize(out, x, m, n);
    /* numpy's mean and std sum in another order: ulps of O(1) results. */
    cs_test_check_close(out, want, m * n, 1e-12, 1e-13, "standardize");
    assert_true(isnan(out[n - 1]));
    cs_norm_standardize(x, x, m, n);
    cs_test_check_close(x, want, m * n, 1e-12, 1e-13, "standardize in place");
    free(shape), free(x), free(want), free(out);
}

/* A NaN anywhere in a column makes min-max NaN for the whole column, as
 * NumPy's min and max propagate NaN. */
static void test_norm_minmax_propagates_nan_like_numpy(void **state)
{
    (void)state;
    for (size_t where = 0; where < 3; where++) {
        double x[3] = {1.0, 2.0, 3.0}, out[3];
        x[where] = NAN;
        cs_norm_minmax(out, x, 3, 1);
        for (size_t i = 0; i < 3; i++)
            assert_true(isnan(out[i]));
    }
}

/* A constant column (a dead unit) has exactly mean c and variance 0, even
 * for a c like 0.1 whose running sum rounds (the corrected two-pass mean),
 * so batch norm maps it to beta and standardisation to NaN (0/0). */
static void test_bn_constant_column_is_exact(void **state)
{
    (void)state;
    const double consts[] = {0.1, 0.3, 2.0 / 3.0, 1e6 + 0.1};
    for (size_t c = 0; c < 4; c++)
        for (size_t m = 2; m <= 12; m++) {
            double h[12], z[12], mean, var;
            const double beta = 0.25;
            for (size_t i = 0; i < m; i++)
                h[i] = consts[c];
            cs_bn_forward_batch(z, &mean, &var, h, NULL, &beta, m, 1, BN_EPS);
            assert_true(mean == consts[c] && var == 0.0);
            for (size_t i = 0; i < m; i++)
                assert_true(z[i] == beta);
            cs_norm_standardize(z, h, m, 1);
            for (size_t i = 0; i < m; i++)
                assert_true(isnan(z[i]));
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_forward_matches_torch),
        cmocka_unit_test(test_bn_forward_defaults_and_in_place_match_torch),
        cmocka_unit_test(test_bn_running_stats_match_torch),
        cmocka_unit_test(test_bn_eval_forward_matches_torch),
        cmocka_unit_test(test_bn_backward_matches_autograd),
        cmocka_unit_test(test_bn_backward_stats_matches_torch_eval),
        cmocka_unit_test(test_bn_variance_stable_at_large_mean),
        cmocka_unit_test(test_bn_blocks_cover_wide_layers),
        cmocka_unit_test(test_bn_constant_column_is_exact),
        cmocka_unit_test(test_bn_update_running_uses_unbiased_var),
        cmocka_unit_test(test_norm_minmax_matches_numpy),
        cmocka_unit_test(test_norm_standardize_matches_numpy),
        cmocka_unit_test(test_norm_minmax_propagates_nan_like_numpy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
