/* The per-sample norms of core/cs_norm.c: layer norm against
 * torch.nn.LayerNorm and RMS norm against NumPy (its backward against
 * autograd of the same formula), with affine gamma, beta and without,
 * forward and backward, in place, and rows with means ~1e3: docs/design.md
 * §1 Layer norm and RMS norm. */
#include "cs_test_util.h"

#include "cs_norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_EPS 1e-5

static double *load(const char *prefix, const char *name, size_t count)
{
    return cs_test_fixture_block("torch_rownorm", prefix, name, count);
}

static const char *const CASES[] = {"small_", "large_"}; /* (7, 5) and (40, 300) */

/* Outputs are O(1) (standardised, times gamma ~ 1, plus beta ~ N(0, 1)).
 * The row sums reorder against torch's reductions: ~1e-15 in case small_.
 * In case large_ the rows sit at ~1e3 with sd 0.2..2.2, so h - mu carries
 * the rounding of mu, which torch's reduction and the two-pass mean round
 * differently, ~300 ulp(1e3) / sd ~ 1e-11 at worst: 2.3e-12 measured for
 * layer norm (RMS divides by ~1e3, nothing cancels: 2e-15). */
#define ROW_RTOL 1e-11
#define ROW_ATOL 1e-11

typedef void (*forward_fn)(double *, const double *, const double *, const double *, size_t,
                           size_t, double);
typedef void (*backward_fn)(double *, double *, double *, const double *, const double *,
                            const double *, size_t, size_t, double);

static void check(const char *prefix, const char *name, const double *got, size_t n)
{
    char what[64];
    snprintf(what, sizeof what, "%s%s", prefix, name);
    double *want = load(prefix, name, n);
    cs_test_check_close(got, want, n, ROW_RTOL, ROW_ATOL, what);
    free(want);
}

/* One norm ("ln" or "rms") on both cases: affine and plain forward,
 * forward in place, backward with dgamma and dbeta, plain backward in
 * place (dh over dz). */
static void check_norm(const char *tag, forward_fn forward, backward_fn backward)
{
    for (size_t c = 0; c < 2; c++) {
        const char *p = CASES[c];
        double *shape = load(p, "shape", 2);
        size_t m = (size_t)shape[0], n = (size_t)shape[1], mn = m * n;
        free(shape);
        double *h = load(p, "h", mn), *gamma = load(p, "gamma", n), *beta = load(p, "beta", n);
        double *dz = load(p, "dz", mn);
        double *z = malloc(mn * sizeof *z), *dh = malloc(mn * sizeof *dh);
        double *dgamma = malloc(n * sizeof *dgamma), *dbeta = malloc(n * sizeof *dbeta);
        assert_true(z && dh && dgamma && dbeta);
        char name[64];

        forward(z, h, gamma, beta, m, n, ROW_EPS);
        snprintf(name, sizeof name, "%s_z", tag);
        check(p, name, z, mn);
        forward(z, h, NULL, NULL, m, n, ROW_EPS);
        snprintf(name, sizeof name, "%s_z_plain", tag);
        check(p, name, z, mn);
        /* in place gives the same bits */
        double *zz = malloc(mn * sizeof *zz);
        assert_non_null(zz);
        memcpy(zz, h, mn * sizeof *zz);
        forward(zz, zz, NULL, NULL, m, n, ROW_EPS);
        assert_memory_equal(zz, z, mn * sizeof *z);
        free(zz);

        backward(dh, dgamma, dbeta, dz, h, gamma, m, n, ROW_EPS);
        snprintf(name, sizeof name, "%s_dh", tag);
        check(p, name, dh, mn);
        snprintf(name, sizeof name, "%s_dgamma", tag);
        check(p, name, dgamma, n);
        snprintf(name, sizeof name, "%s_dbeta", tag);
        check(p, name, dbeta, n);
        /* gamma NULL is 1; dh over dz; no parameter gradients */
        memcpy(dh, dz, mn * sizeof *dh);
        backward(dh, NULL, NULL, dh, h, NULL, m, n, ROW_EPS);
        snprintf(name, sizeof name, "%s_dh_plain", tag);
        check(p, name, dh, mn);
        free(h), free(gamma), free(beta), free(dz), free(z), free(dh), free(dgamma), free(dbeta);
    }
}

static void test_layer_norm_matches_torch_forward_and_backward(void **state)
{
    (void)state;
    check_norm("ln", cs_ln_forward, cs_ln_backward);
}

static void test_rms_norm_matches_numpy_forward_and_autograd_backward(void **state)
{
    (void)state;
    check_norm("rms", cs_rms_forward, cs_rms_backward);
}

/* What the two norms are for: every row of a layer-normed batch has mean
 * 0 and variance 1 / (1 + eps / s2), every row of an RMS-normed one mean
 * square 1 / (1 + eps / ms), whatever the other rows hold; a row's output
 * does not change when another row does (no batch statistics). */
static void test_rows_are_normalised_on_their_own(void **state)
{
    (void)state;
    enum { M = 4, N = 50 };
    double h[M * N], z[M * N], z2[M * N];
    for (size_t i = 0; i < M * N; i++)
        h[i] = (double)(i / N) * 10.0 + sin(0.3 * (double)i) * (1.0 + (double)(i / N));
    cs_ln_forward(z, h, NULL, NULL, M, N, 0.0);
    for (size_t i = 0; i < M; i++) {
        double mu = 0, ss = 0;
        for (size_t j = 0; j < N; j++)
            mu += z[i * N + j];
        mu /= N;
        for (size_t j = 0; j < N; j++)
            ss += (z[i * N + j] - mu) * (z[i * N + j] - mu);
        assert_true(fabs(mu) < 1e-14);
        assert_true(fabs(ss / N - 1.0) < 1e-13);
    }
    cs_rms_forward(z, h, NULL, NULL, M, N, 0.0);
    for (size_t i = 0; i < M; i++) {
        double ms = 0;
        for (size_t j = 0; j < N; j++)
            ms += z[i * N + j] * z[i * N + j];
        assert_true(fabs(ms / N - 1.0) < 1e-13);
    }
    /* changing row 3 leaves rows 0..2 as they were, bit for bit */
    cs_ln_forward(z, h, NULL, NULL, M, N, 1e-5);
    for (size_t j = 0; j < N; j++)
        h[3 * N + j] *= 1e4;
    cs_ln_forward(z2, h, NULL, NULL, M, N, 1e-5);
    assert_memory_equal(z, z2, 3 * N * sizeof *z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_norm_matches_torch_forward_and_backward),
        cmocka_unit_test(test_rms_norm_matches_numpy_forward_and_autograd_backward),
        cmocka_unit_test(test_rows_are_normalised_on_their_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
