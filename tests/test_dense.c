/* Dense layer h = x W^T + b and its backward against torch's F.linear and
 * autograd (fixture from tests/gen_fixtures_torch.py): docs/design.md §1 (pre). */
#include "cs_test_util.h"

#include "cs_dense.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One block of the fixture, checked to hold `count` values. */
static double *load(const char *prefix, const char *name, size_t count)
{
    return cs_test_fixture_block("torch_dense", prefix, name, count);
}

typedef struct {
    size_t m, n_in, n_out;
    double *x, *W, *b, *dh;
} dense_case;

static dense_case load_case(const char *p)
{
    dense_case c;
    double *shape = load(p, "shape", 3);
    c.m = (size_t)shape[0], c.n_in = (size_t)shape[1], c.n_out = (size_t)shape[2];
    free(shape);
    c.x = load(p, "x", c.m * c.n_in);
    c.W = load(p, "W", c.n_out * c.n_in);
    c.b = load(p, "b", c.n_out);
    c.dh = load(p, "dh", c.m * c.n_out);
    return c;
}

static void free_case(dense_case *c)
{
    free(c->x), free(c->W), free(c->b), free(c->dh);
}

static const char *const CASES[] = {"small_", "large_"}; /* (7,5,4), (64,33,21) */

/* Entries are dot products of length <= 64 of O(1) terms; BLAS kernels sum
 * in a different order (and with FMA) than torch's MKL/OpenBLAS build, so a
 * few ulps of the O(1) scale: rtol 1e-12 with an atol of 1e-13 for entries
 * that happen to fall near 0. */
#define DENSE_RTOL 1e-12
#define DENSE_ATOL 1e-13

static void test_dense_forward_matches_torch(void **state)
{
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        dense_case c = load_case(CASES[k]);
        double *want = load(CASES[k], "h", c.m * c.n_out);
        double *h = malloc(c.m * c.n_out * sizeof *h);
        char what[64];
        cs_dense_forward(h, c.x, c.W, c.b, c.m, c.n_in, c.n_out);
        snprintf(what, sizeof what, "%sh", CASES[k]);
        cs_test_check_close(h, want, c.m * c.n_out, DENSE_RTOL, DENSE_ATOL, what);

        /* b NULL is no bias: h + b then equals torch's h. */
        cs_dense_forward(h, c.x, c.W, NULL, c.m, c.n_in, c.n_out);
        for (size_t i = 0; i < c.m; i++)
            for (size_t j = 0; j < c.n_out; j++)
                h[i * c.n_out + j] += c.b[j];
        snprintf(what, sizeof what, "%sh (no bias) + b", CASES[k]);
        cs_test_check_close(h, want, c.m * c.n_out, DENSE_RTOL, DENSE_ATOL, what);
        free(want), free(h), free_case(&c);
    }
}

static void test_dense_backward_matches_autograd(void **state)
{
    (void)state;
    for (size_t k = 0; k < 2; k++) {
        const char *p = CASES[k];
        dense_case c = load_case(p);
        double *want_dx = load(p, "dx", c.m * c.n_in);
        double *want_dW = load(p, "dW", c.n_out * c.n_in);
        double *want_db = load(p, "db", c.n_out);
        double *dx = malloc(c.m * c.n_in * sizeof *dx);
        double *dW = malloc(c.n_out * c.n_in * sizeof *dW);
        double *db = malloc(c.n_out * sizeof *db);
        char what[64];
        cs_dense_backward(dx, dW, db, c.dh, c.x, c.W, c.m, c.n_in, c.n_out);
        snprintf(what, sizeof what, "%sdx", p);
        cs_test_check_close(dx, want_dx, c.m * c.n_in, DENSE_RTOL, DENSE_ATOL, what);
        snprintf(what, sizeof what, "%sdW", p);
        cs_test_check_close(dW, want_dW, c.n_out * c.n_in, DENSE_RTOL, DENSE_ATOL, what);
        snprintf(what, sizeof what, "%sdb", p);
        cs_test_check_close(db, want_db, c.n_out, DENSE_RTOL, DENSE_ATOL, what);
        free(want_dx), free(want_dW), free(want_db), free(dx), free(dW), free(db);
        free_case(&c);
    }
}

/* Each of dx, dW, db may be NULL; the others are still computed (and all
 * three NULL is a no-op). */
static void test_dense_backward_skips_null_outputs(void **state)
{
    (void)state;
    dense_case c = load_case("small_");
    double *want_dx = load("small_", "dx", c.m * c.n_in);
    double *want_dW = load("small_", "dW", c.n_out * c.n_in);
    double *want_db = load("small_", "db", c.n_out);
    double dx[64], dW[64], db[64];

    memset(dx, 0, sizeof dx);
    cs_dense_backward(dx, NULL, NULL, c.dh, c.x, c.W, c.m, c.n_in, c.n_out);
    cs_test_check_close(dx, want_dx, c.m * c.n_in, DENSE_RTOL, DENSE_ATOL, "dx alone");
    cs_dense_backward(NULL, dW, NULL, c.dh, c.x, c.W, c.m, c.n_in, c.n_out);
    cs_test_check_close(dW, want_dW, c.n_out * c.n_in, DENSE_RTOL, DENSE_ATOL, "dW alone");
    cs_dense_backward(NULL, NULL, db, c.dh, c.x, c.W, c.m, c.n_in, c.n_out);
    cs_test_check_close(db, want_db, c.n_out, DENSE_RTOL, DENSE_ATOL, "db alone");
    cs_dense_backward(NULL, NULL, NULL, c.dh, c.x, c.W, c.m, c.n_in, c.n_out);
    free(want_dx), free(want_dW), free(want_db), free_case(&c);
}

/* Degenerate shapes do not reach dgemm (which rejects a zero leading
 * dimension): an empty input width leaves h = b, an empty batch gives
 * dW = 0 and db = 0. */
static void test_dense_handles_empty_dimensions(void **state)
{
    (void)state;
    const double b[3] = {1.0, -2.0, 0.5};
    double h[6] = {9, 9, 9, 9, 9, 9};
    cs_dense_forward(h, NULL, NULL, b, 2, 0, 3);
    for (size_t i = 0; i < 6; i++)
        assert_true(h[i] == b[i % 3]);
    double dW[6] = {9, 9, 9, 9, 9, 9}, db[3] = {9, 9, 9};
    cs_dense_backward(NULL, dW, db, NULL, NULL, NULL, 0, 2, 3);
    for (size_t i = 0; i < 6; i++)
        assert_true(dW[i] == 0.0);
    for (size_t i = 0; i < 3; i++)
        assert_true(db[i] == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_forward_matches_torch),
        cmocka_unit_test(test_dense_backward_matches_autograd),
        cmocka_unit_test(test_dense_backward_skips_null_outputs),
        cmocka_unit_test(test_dense_handles_empty_dimensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
