/* Activations and derivatives against PyTorch autograd (fixture from
 * tests/gen_fixtures_torch.py), kink conventions, sup phi', parsing:
 * docs/design.md §1 (activations), §2 (frac_saturated uses max phi'). */
#include "cs_test_util.h"

#include "cs_activation.h"
#include "cs_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tolerances against torch: libm's erf, exp, tanh and torch's
 * (Sleef-vectorised) ones may differ by an ulp or two, hence rtol 1e-12
 * rather than exact equality (measured: <= 2.2e-16 relative wherever the
 * result does not cancel). The atol covers results that cancel, where an
 * ulp of an O(1) intermediate is not small relative to the result:
 *  - gelu, gelu' for z < 0: 1 + erf(z / sqrt 2); tanh' = 1 - tanh^2 for
 *    large |z| (2e-9 relative at z = 10, 2.5e-16 absolute);
 *  - selu for z -> 0-: torch computes exp(z) - 1, we expm1(z); at
 *    z = -1e-12 torch is off by 2.2e-5 relative (3.9e-17 absolute) and we
 *    are exact, so the comparison needs an absolute floor there.
 * atol 1e-14 is far below any value that matters (frac_saturated compares
 * phi' with 0.05 max phi'). */
#define ACT_RTOL 1e-12
#define ACT_ATOL 1e-14

static void test_activation_forward_matches_torch(void **state)
{
    (void)state;
    size_t n, nw;
    double *z = cs_test_fixture("torch_activation", "z", &n);
    double *got = malloc(n * sizeof *got);
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        char block[64];
        snprintf(block, sizeof block, "act_%s", cs_activation_name((cs_activation)k));
        double *want = cs_test_fixture("torch_activation", block, &nw);
        assert_int_equal(nw, n);
        cs_activation_forward((cs_activation)k, got, z, n);
        cs_test_check_close(got, want, n, ACT_RTOL, ACT_ATOL, block);
        free(want);
    }
    free(got);
    free(z);
}

static void test_activation_derivative_matches_autograd(void **state)
{
    (void)state;
    size_t n, nw;
    double *z = cs_test_fixture("torch_activation", "z", &n);
    double *got = malloc(n * sizeof *got);
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        char block[64];
        snprintf(block, sizeof block, "dact_%s", cs_activation_name((cs_activation)k));
        double *want = cs_test_fixture("torch_activation", block, &nw);
        assert_int_equal(nw, n);
        cs_activation_derivative((cs_activation)k, got, z, n);
        cs_test_check_close(got, want, n, ACT_RTOL, ACT_ATOL, block);
        free(want);
    }
    free(got);
    free(z);
}

/* The header's kink conventions, spelled out (the fixture also has z = 0). */
static void test_activation_derivative_at_kink_follows_autograd(void **state)
{
    (void)state;
    const double zero[2] = {0.0, -0.0};
    double d[2];
    cs_activation_derivative(CS_ACT_RELU, d, zero, 2);
    assert_true(d[0] == 0.0 && d[1] == 0.0);
    cs_activation_derivative(CS_ACT_LEAKY_RELU, d, zero, 2);
    assert_true(d[0] == 0.01 && d[1] == 0.01);
    cs_activation_derivative(CS_ACT_SELU, d, zero, 2);
    assert_true(d[0] == cs_activation_max_derivative(CS_ACT_SELU));
    cs_activation_derivative(CS_ACT_GELU, d, zero, 2);
    assert_true(d[0] == 0.5);
}

/* max phi' (docs/design.md §2's saturation threshold) is the sup of phi' over a
 * fine grid: no grid value exceeds it, and the grid comes within 1e-8 of it
 * (for gelu the peak z = sqrt 2 lies between grid points; the gap is
 * O(h^2) = 1e-8 times gelu''' ~ 0.3). */
static void test_activation_max_derivative_is_sup_on_grid(void **state)
{
    (void)state;
    const size_t n = 200001; /* z = (i - 100000) 1e-4 in [-10, 10], holds 0 */
    double *z = malloc(n * sizeof *z), *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        z[i] = ((double)i - 100000.0) * 1e-4;
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        double sup = cs_activation_max_derivative((cs_activation)k), grid_max = -INFINITY;
        cs_activation_derivative((cs_activation)k, d, z, n);
        for (size_t i = 0; i < n; i++)
            grid_max = d[i] > grid_max ? d[i] : grid_max;
        print_message("%-10s max phi' %.17g, grid max %.17g\n",
                      cs_activation_name((cs_activation)k), sup, grid_max);
        assert_true(grid_max <= sup * (1 + 1e-15));
        assert_true(grid_max >= sup - 1e-8);
    }
    assert_true(fabs(cs_activation_max_derivative(CS_ACT_GELU) - 1.1289041451851550) < 1e-15);
    free(z);
    free(d);
}

static void test_activation_forward_in_place(void **state)
{
    (void)state;
    size_t n;
    double *z = cs_test_fixture("torch_activation", "z", &n);
    double *buf = malloc(n * sizeof *buf), *want = malloc(n * sizeof *want);
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        cs_activation_forward((cs_activation)k, want, z, n);
        memcpy(buf, z, n * sizeof *buf);
        cs_activation_forward((cs_activation)k, buf, buf, n);
        assert_memory_equal(buf, want, n * sizeof *buf);
        cs_activation_derivative((cs_activation)k, want, z, n);
        memcpy(buf, z, n * sizeof *buf);
        cs_activation_derivative((cs_activation)k, buf, buf, n);
        assert_memory_equal(buf, want, n * sizeof *buf);
    }
    free(buf);
    free(want);
    free(z);
}

/* A diverged stack must be recorded (docs/design.md §2 nonfinite): no activation
 * turns NaN into a finite number. */
static void test_activation_propagates_nan(void **state)
{
    (void)state;
    const double z = NAN;
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        double y, d;
        cs_activation_forward((cs_activation)k, &y, &z, 1);
        cs_activation_derivative((cs_activation)k, &d, &z, 1);
        assert_true(isnan(y));
        assert_true(isnan(d));
    }
}

static void test_activation_parse_roundtrips_every_name(void **state)
{
    (void)state;
    for (int k = 0; k < CS_ACT_COUNT; k++) {
        cs_activation act = CS_ACT_COUNT;
        const char *name = cs_activation_name((cs_activation)k);
        assert_int_equal(cs_activation_parse(name, &act), CS_OK);
        assert_int_equal(act, k);
    }
    assert_string_equal(cs_activation_name(CS_ACT_COUNT), "?");
    assert_string_equal(cs_activation_name((cs_activation)-1), "?");
}

static void test_activation_parse_rejects_unknown_listing_accepted(void **state)
{
    (void)state;
    cs_activation act = CS_ACT_RELU;
    cs_error_clear();
    assert_int_equal(cs_activation_parse("swish", &act), CS_EINVAL);
    assert_int_equal(cs_error_code(), CS_EINVAL);
    assert_int_equal(act, CS_ACT_RELU); /* untouched on error */
    const char *msg = cs_error_message();
    assert_non_null(strstr(msg, "swish"));
    for (int k = 0; k < CS_ACT_COUNT; k++)
        assert_non_null(strstr(msg, cs_activation_name((cs_activation)k)));
    assert_int_equal(cs_activation_parse("RELU", &act), CS_EINVAL); /* exact names */
    assert_int_equal(cs_activation_parse(NULL, &act), CS_EINVAL);
}

/* covshift's own tanh (core/cs_activation.c) against libm's on 400001
 * points log-spaced over [1e-300, 40] with both signs, and the special
 * values. Bound 8 ulp: the series for expm1(r) and the reduction are
 * within about 1 ulp, 2^k expm1(r) + (2^k - 1) adds at most 2 (its two
 * terms have the same sign but for r < 0, where the sum is still at least
 * 0.2 of 2^k), the quotient 1.5 more; measured worst 4 ulp. */
static void test_activation_tanh_within_ulps_of_libm(void **state)
{
    (void)state;
    enum { N = 400001 };
    double *z = malloc(2 * N * sizeof *z), *t = malloc(2 * N * sizeof *t);
    assert_non_null(z);
    assert_non_null(t);
    for (int i = 0; i < N; i++) {
        z[i] = pow(10.0, -300.0 + i * (log10(40.0) + 300.0) / (N - 1));
        z[N + i] = -z[i];
    }
    cs_activation_forward(CS_ACT_TANH, t, z, 2 * N);
    double worst = 0.0;
    int worst_i = 0;
    for (int i = 0; i < 2 * N; i++) {
        double want = tanh(z[i]);
        double ulp = nextafter(fabs(want), INFINITY) - fabs(want);
        double err = fabs(t[i] - want) / ulp;
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    print_message("tanh vs libm: worst %.1f ulp at z = %.17g\n", worst, z[worst_i]);
    if (worst > 8.0)
        fail_msg("tanh(%.17g) = %.17g, libm %.17g: %.1f ulp > 8", z[worst_i], t[worst_i],
                 tanh(z[worst_i]), worst);
    double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 22.0, -19.5, 0x1p-1074};
    double out[8];
    cs_activation_forward(CS_ACT_TANH, out, sp, 8);
    assert_true(out[0] == 0.0 && !signbit(out[0]));
    assert_true(out[1] == 0.0 && signbit(out[1]));
    assert_true(out[2] == 1.0 && out[3] == -1.0);
    assert_true(isnan(out[4]));
    assert_true(out[5] == 1.0 && out[6] == -1.0);
    assert_true(out[7] == 0x1p-1074);
    free(z);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_forward_matches_torch),
        cmocka_unit_test(test_activation_derivative_matches_autograd),
        cmocka_unit_test(test_activation_derivative_at_kink_follows_autograd),
        cmocka_unit_test(test_activation_max_derivative_is_sup_on_grid),
        cmocka_unit_test(test_activation_forward_in_place),
        cmocka_unit_test(test_activation_tanh_within_ulps_of_libm),
        cmocka_unit_test(test_activation_propagates_nan),
        cmocka_unit_test(test_activation_parse_roundtrips_every_name),
        cmocka_unit_test(test_activation_parse_rejects_unknown_listing_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
