/* Weight and bias initialisation: the variance each kind promises, exact
 * orthogonality and the QR sign convention of orthogonal init, seeded
 * reproducibility, argument errors and allocation failure: docs/design.md §1 (init). */
#include "cs_test_util.h"

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_init.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static gsl_rng *rng_seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    assert_non_null(r);
    gsl_rng_set(r, seed);
    return r;
}

/* Empirical second moment (1/N) sum w^2 of N draws from N(0, var), whose
 * known mean 0 makes it the natural estimator: it is var chi2_N / N, with
 * sd var sqrt(2 / N). Passes when within 6 sd (a false failure has
 * probability ~2e-9) and the empirical mean is within 6 sd of 0. */
static void assert_gaussian_variance(const double *w, size_t N, double var, const char *what)
{
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < N; i++) {
        sum += w[i];
        sum_sq += w[i] * w[i];
    }
    double mean = sum / (double)N, second = sum_sq / (double)N;
    double rel_sd = sqrt(2.0 / (double)N);
    print_message("%-28s var %.6g, want %.6g (%+.2f sd); mean %+.2f sd\n", what, second, var,
                  (second / var - 1) / rel_sd, mean / sqrt(var / (double)N));
    if (fabs(second / var - 1) > 6 * rel_sd)
        fail_msg("%s: empirical variance %.6g, expected %.6g within 6 sd (%.3g relative)", what,
                 second, var, 6 * rel_sd);
    if (fabs(mean) > 6 * sqrt(var / (double)N))
        fail_msg("%s: empirical mean %.3g, expected 0 within 6 sd", what, mean);
}

/* docs/design.md §1: Var W_ij = sigma_w^2 / fan_in for gaussian, 2 / (fan_in +
 * fan_out) for xavier, 2 / fan_in for he. A 512 x 256 layer (non-square, so
 * xavier and he differ) has N = 131072 weights: 6 sd = 2.3% relative. */
static void test_init_weight_variance_matches_each_kind(void **state)
{
    (void)state;
    const size_t n_out = 512, n_in = 256;
    double *W = malloc(n_out * n_in * sizeof *W), *b = malloc(n_out * sizeof *b);
    const double sigma_w = 1.7;
    const struct { cs_init_kind kind; double var; } cases[] = {
        {CS_INIT_GAUSSIAN, sigma_w * sigma_w / n_in},
        {CS_INIT_XAVIER, 2.0 / (n_in + n_out)}, /* sigma_w ignored */
        {CS_INIT_HE, 2.0 / n_in},
    };
    for (size_t k = 0; k < 3; k++) {
        gsl_rng *rw = rng_seeded(11 + k), *rb = rng_seeded(101 + k);
        assert_int_equal(cs_init_dense(cases[k].kind, W, b, n_out, n_in, sigma_w, 0.0, rw, rb),
                         CS_OK);
        assert_gaussian_variance(W, n_out * n_in, cases[k].var, cs_init_name(cases[k].kind));
        gsl_rng_free(rw), gsl_rng_free(rb);
    }
    /* The square 512 x 512 case of the brief, with gaussian init. */
    double *W2 = malloc(512 * 512 * sizeof *W2);
    gsl_rng *rw = rng_seeded(7), *rb = rng_seeded(8);
    assert_int_equal(cs_init_dense(CS_INIT_GAUSSIAN, W2, b, 512, 512, 1.0, 0.0, rw, rb), CS_OK);
    assert_gaussian_variance(W2, 512 * 512, 1.0 / 512, "gaussian 512 x 512");
    gsl_rng_free(rw), gsl_rng_free(rb);
    free(W), free(W2), free(b);
}

/* b_i ~ N(0, sigma_b^2) for every kind; 20000 biases give 6 sd = 6%.
 * sigma_b = 0 gives exact +0 (frac_zero counts them, docs/design.md §2). */
static void test_init_bias_sd_is_sigma_b(void **state)
{
    (void)state;
    const size_t n_out = 20000;
    double W[20000], *b = malloc(n_out * sizeof *b);
    for (int kind = 0; kind < CS_INIT_COUNT; kind++) {
        gsl_rng *rw = rng_seeded(3), *rb = rng_seeded(4 + (unsigned long)kind);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W, b, n_out, 1, 1.0, 0.3, rw, rb),
                         CS_OK);
        char what[64];
        snprintf(what, sizeof what, "bias, %s", cs_init_name((cs_init_kind)kind));
        assert_gaussian_variance(b, n_out, 0.09, what);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W, b, n_out, 1, 1.0, 0.0, rw, rb),
                         CS_OK);
        for (size_t i = 0; i < n_out; i++)
            assert_true(b[i] == 0.0 && !signbit(b[i]));
        gsl_rng_free(rw), gsl_rng_free(rb);
    }
    free(b);
}

/* Largest |G_ij - target delta_ij| of the Gram matrix G = A A^T (rows) or
 * A^T A (columns) of the r x c matrix A. */
static double gram_error(const double *A, size_t r, size_t c, int of_rows, double target)
{
    size_t k = of_rows ? r : c, len = of_rows ? c : r;
    double worst = 0;
    for (size_t p = 0; p < k; p++)
        for (size_t q = p; q < k; q++) {
            double s = 0;
            for (size_t t = 0; t < len; t++)
                s += of_rows ? A[p * c + t] * A[q * c + t] : A[t * c + p] * A[t * c + q];
            double e = fabs(s - (p == q ? target : 0.0));
            worst = e > worst ? e : worst;
        }
    return worst;
}

/* Orthogonal init is sigma_w times an orthogonal matrix: W W^T = W^T W =
 * sigma_w^2 I for a square layer; a tall one (n_out > n_in) has orthonormal
 * columns, W^T W = sigma_w^2 I_(n_in); a wide one orthonormal rows,
 * W W^T = sigma_w^2 I_(n_out), as torch.nn.init.orthogonal_. Householder QR
 * is backward stable: the loss of orthogonality is O(n eps) ~ 3e-14 at
 * n = 256, so 1e-12 times sigma_w^2 leaves room. */
static void test_init_orthogonal_gram_is_sigma_squared_identity(void **state)
{
    (void)state;
    const double sigma_w = 1.3, target = sigma_w * sigma_w;
    const struct { size_t n_out, n_in; } shapes[] = {{256, 256}, {300, 120}, {120, 300}, {1, 7},
                                                     {7, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t n_out = shapes[s].n_out, n_in = shapes[s].n_in;
        double *W = malloc(n_out * n_in * sizeof *W), *b = malloc(n_out * sizeof *b);
        gsl_rng *rw = rng_seeded(5 + s), *rb = rng_seeded(50 + s);
        assert_int_equal(
            cs_init_dense(CS_INIT_ORTHOGONAL, W, b, n_out, n_in, sigma_w, 0.0, rw, rb), CS_OK);
        double err_rows = gram_error(W, n_out, n_in, 1, target);
        double err_cols = gram_error(W, n_out, n_in, 0, target);
        if (n_out <= n_in)
            print_message("orthogonal %zu x %zu: max |W W^T - s^2 I| %.3g\n", n_out, n_in,
                          err_rows);
        if (n_out >= n_in)
            print_message("orthogonal %zu x %zu: max |W^T W - s^2 I| %.3g\n", n_out, n_in,
                          err_cols);
        if (n_out <= n_in)
            assert_true(err_rows <= 1e-12 * target);
        if (n_out >= n_in)
            assert_true(err_cols <= 1e-12 * target);
        gsl_rng_free(rw), gsl_rng_free(rb);
        free(W), free(b);
    }
}

/* The contract's construction, checked from outside: redraw the Gaussian
 * matrix G (n_out x n_in, W's row-major order, same seed) and recover R.
 * Tall: A = G = Q R, so R = Q^T G = W^T G / sigma_w. Wide: A = G^T, Q = W^T,
 * so R = W G^T / sigma_w. R must be upper triangular with a positive
 * diagonal (the sign fix that makes W Haar distributed). */
static void test_init_orthogonal_is_q_of_gaussian_with_positive_diag_r(void **state)
{
    (void)state;
    const struct { size_t n_out, n_in; } shapes[] = {{40, 40}, {60, 25}, {25, 60}};
    const double sigma_w = 0.8;
    for (size_t s = 0; s < 3; s++) {
        size_t n_out = shapes[s].n_out, n_in = shapes[s].n_in;
        size_t N = n_out < n_in ? n_out : n_in, M = n_out + n_in - N;
        double *W = malloc(n_out * n_in * sizeof *W), *G = malloc(n_out * n_in * sizeof *G);
        double b[60];
        gsl_rng *rw = rng_seeded(77), *rb = rng_seeded(78);
        assert_int_equal(
            cs_init_dense(CS_INIT_ORTHOGONAL, W, b, n_out, n_in, sigma_w, 0.0, rw, rb), CS_OK);
        gsl_rng_set(rw, 77);
        for (size_t i = 0; i < n_out * n_in; i++)
            G[i] = gsl_ran_gaussian(rw, 1.0);
        for (size_t p = 0; p < N; p++)
            for (size_t q = 0; q < N; q++) {
                /* R_pq = sum_t Q_tp A_tq over the M rows of A. */
                double r = 0;
                for (size_t t = 0; t < M; t++)
                    r += n_out >= n_in ? W[t * n_in + p] * G[t * n_in + q]
                                       : W[p * n_in + t] * G[q * n_in + t];
                r /= sigma_w;
                if (p == q)
                    assert_true(r > 0);
                else if (p > q)
                    assert_true(fabs(r) < 1e-12 * sqrt((double)M));
            }
        gsl_rng_free(rw), gsl_rng_free(rb);
        free(W), free(G);
    }
}

/* docs/design.md §1 randomness: the same seeded streams give the same W and b, bit
 * for bit; and the bias stream never shifts the weights. */
static void test_init_same_seed_gives_same_weights(void **state)
{
    (void)state;
    const size_t n_out = 33, n_in = 47;
    double W1[33 * 47], W2[33 * 47], b1[33], b2[33];
    for (int kind = 0; kind < CS_INIT_COUNT; kind++) {
        gsl_rng *rw = rng_seeded(2024), *rb = rng_seeded(1);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W1, b1, n_out, n_in, 1.1, 0.2, rw, rb),
                         CS_OK);
        gsl_rng_set(rw, 2024);
        gsl_rng_set(rb, 1);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W2, b2, n_out, n_in, 1.1, 0.2, rw, rb),
                         CS_OK);
        assert_memory_equal(W1, W2, sizeof W1);
        assert_memory_equal(b1, b2, sizeof b1);
        /* Another bias seed and sigma_b: same weights, other biases. */
        gsl_rng_set(rw, 2024);
        gsl_rng_set(rb, 999);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W2, b2, n_out, n_in, 1.1, 0.5, rw, rb),
                         CS_OK);
        assert_memory_equal(W1, W2, sizeof W1);
        assert_memory_not_equal(b1, b2, sizeof b1);
        gsl_rng_free(rw), gsl_rng_free(rb);
    }
}

static void expect_einval(int rc, const char *must_mention)
{
    assert_int_equal(rc, CS_EINVAL);
    assert_int_equal(cs_error_code(), CS_EINVAL);
    const char *msg = cs_error_message();
    assert_true(msg[0] != '\0');
    if (must_mention && !strstr(msg, must_mention))
        fail_msg("error message \"%s\" does not mention \"%s\"", msg, must_mention);
}

static void test_init_rejects_bad_arguments_with_message(void **state)
{
    (void)state;
    double W[16], b[4];
    gsl_rng *rw = rng_seeded(1), *rb = rng_seeded(2);
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_HE, W, b, 0, 4, 1.0, 0.0, rw, rb), "0 x 4");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_ORTHOGONAL, W, b, 4, 0, 1.0, 0.0, rw, rb), "4 x 0");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_GAUSSIAN, W, b, 4, 4, -1.0, 0.0, rw, rb), "sigma_w");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_GAUSSIAN, W, b, 4, 4, 1.0, -0.5, rw, rb), "sigma_b");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_GAUSSIAN, W, b, 4, 4, NAN, 0.0, rw, rb), "sigma_w");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_GAUSSIAN, W, b, 4, 4, 1.0, INFINITY, rw, rb), "sigma_b");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_XAVIER, W, b, 4, 4, 1.0, 0.0, NULL, rb), "NULL");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_COUNT, W, b, 4, 4, 1.0, 0.0, rw, rb), "orthogonal");
    cs_error_clear();
    expect_einval(cs_init_dense(CS_INIT_HE, W, b, (size_t)1 << 40, (size_t)1 << 40, 1.0, 0.0,
                                rw, rb),
                  "too large");
    gsl_rng_free(rw), gsl_rng_free(rb);
}

static void test_init_parse_roundtrips_and_rejects_unknown(void **state)
{
    (void)state;
    for (int k = 0; k < CS_INIT_COUNT; k++) {
        cs_init_kind kind = CS_INIT_COUNT;
        assert_int_equal(cs_init_parse(cs_init_name((cs_init_kind)k), &kind), CS_OK);
        assert_int_equal(kind, k);
    }
    assert_string_equal(cs_init_name(CS_INIT_COUNT), "?");
    cs_init_kind kind = CS_INIT_HE;
    cs_error_clear();
    expect_einval(cs_init_parse("kaiming", &kind), "kaiming");
    const char *msg = cs_error_message();
    for (int k = 0; k < CS_INIT_COUNT; k++)
        assert_non_null(strstr(msg, cs_init_name((cs_init_kind)k)));
    assert_int_equal(kind, CS_INIT_HE);
}

/* SQLite-style failure injection: make the k-th allocation of
 * orthogonal init fail for k = 0, 1, ... until the call succeeds. Each
 * failure must return CS_ENOMEM with a message and free what it made (ASan's
 * leak check runs at exit in the sanitizer build); then the successful call
 * gives the same W as an uninjected one. Gaussian kinds allocate nothing. */
static void test_init_orthogonal_alloc_failure_is_clean(void **state)
{
    (void)state;
    const struct { size_t n_out, n_in; } shapes[] = {{30, 20}, {20, 30}};
    for (size_t s = 0; s < 2; s++) {
        size_t n_out = shapes[s].n_out, n_in = shapes[s].n_in;
        double W[600], W_ref[600], b[30];
        gsl_rng *rw = rng_seeded(9), *rb = rng_seeded(10);
        assert_int_equal(
            cs_init_dense(CS_INIT_ORTHOGONAL, W_ref, b, n_out, n_in, 1.0, 0.1, rw, rb), CS_OK);
        long k = 0;
        for (;; k++) {
            gsl_rng_set(rw, 9);
            gsl_rng_set(rb, 10);
            cs_error_clear();
            cs_alloc_fail_after(k);
            int rc = cs_init_dense(CS_INIT_ORTHOGONAL, W, b, n_out, n_in, 1.0, 0.1, rw, rb);
            cs_alloc_fail_reset();
            if (rc == CS_OK)
                break;
            assert_int_equal(rc, CS_ENOMEM);
            assert_int_equal(cs_error_code(), CS_ENOMEM);
            assert_non_null(strstr(cs_error_message(), "orthogonal"));
            assert_true(k < 100);
        }
        print_message("orthogonal %zu x %zu: succeeded once %ld allocations were allowed\n",
                      n_out, n_in, k);
        assert_true(k >= 1); /* the workspace is allocated, so some k failed */
        assert_memory_equal(W, W_ref, n_out * n_in * sizeof *W);
        gsl_rng_free(rw), gsl_rng_free(rb);
    }
    double W[600], b[30];
    gsl_rng *rw = rng_seeded(1), *rb = rng_seeded(2);
    for (int kind = 0; kind < CS_INIT_COUNT; kind++) {
        if (kind == CS_INIT_ORTHOGONAL)
            continue;
        cs_alloc_fail_after(0);
        assert_int_equal(cs_init_dense((cs_init_kind)kind, W, b, 30, 20, 1.0, 0.1, rw, rb), CS_OK);
        cs_alloc_fail_reset();
    }
    gsl_rng_free(rw), gsl_rng_free(rb);
}

int main(void)
{
    /* As covshift's main: GSL reports errors by status, which cs_init
     * checks, instead of aborting the test program. */
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_weight_variance_matches_each_kind),
        cmocka_unit_test(test_init_bias_sd_is_sigma_b),
        cmocka_unit_test(test_init_orthogonal_gram_is_sigma_squared_identity),
        cmocka_unit_test(test_init_orthogonal_is_q_of_gaussian_with_positive_diag_r),
        cmocka_unit_test(test_init_same_seed_gives_same_weights),
        cmocka_unit_test(test_init_rejects_bad_arguments_with_message),
        cmocka_unit_test(test_init_parse_roundtrips_and_rejects_unknown),
        cmocka_unit_test(test_init_orthogonal_alloc_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
