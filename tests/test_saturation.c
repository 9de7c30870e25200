/* frac_saturated's thresholds (core/cs_saturation.c) against phi' itself:
 * the bounds separate saturated from free z for every activation, and the
 * fraction equals the per-entry count for any length, nonfinite entries
 * included: docs/design.md §2 (frac_saturated). */
#include "cs_test_util.h"

#include "cs_activation.h"
#include "cs_saturation.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

static int saturated_by_derivative(cs_activation act, double z)
{
    double d;
    cs_activation_derivative(act, &d, &z, 1);
    return d < 0.05 * cs_activation_max_derivative(act);
}

/* Every z below sat_below or above sat_above is saturated by phi', every z
 * strictly between free_above and free_below is not; the cutoff is 0.05
 * max phi' and the bounds are ordered. Checked on a grid of [-60, 60], on
 * the 200 doubles on each side of every finite bound, and at the bounds. */
static void test_saturation_bounds_separate_saturated_from_free(void **state)
{
    (void)state;
    for (int a = 0; a < CS_ACT_COUNT; a++) {
        cs_activation act = (cs_activation)a;
        if (act == CS_ACT_LINEAR)
            continue;
        cs_saturation sb;
        cs_saturation_bounds(&sb, act);
        assert_true(sb.cutoff == 0.05 * cs_activation_max_derivative(act));
        assert_true(sb.sat_below <= sb.free_above && sb.free_above < sb.free_below &&
                    sb.free_below <= sb.sat_above);
        static double probes[4 * 401 + 24001];
        size_t n = 0;
        for (int i = 0; i <= 24000; i++)
            probes[n++] = -60.0 + 0.005 * i;
        const double bounds[] = {sb.sat_below, sb.free_above, sb.free_below, sb.sat_above};
        for (int b = 0; b < 4; b++) {
            if (!isfinite(bounds[b]))
                continue;
            double up = bounds[b], down = bounds[b];
            for (int k = 0; k < 200; k++) {
                probes[n++] = up = nextafter(up, INFINITY);
                probes[n++] = down = nextafter(down, -INFINITY);
            }
            probes[n++] = bounds[b];
        }
        for (size_t i = 0; i < n; i++) {
            double z = probes[i];
            int sat = saturated_by_derivative(act, z);
            if ((z < sb.sat_below || z > sb.sat_above) && !sat)
                fail_msg("%s: z = %.17g is past a saturation bound but phi' is not below the "
                         "cutoff",
                         cs_activation_name(act), z);
            if (z > sb.free_above && z < sb.free_below && sat)
                fail_msg("%s: z = %.17g is inside the free bounds but phi' is below the cutoff",
                         cs_activation_name(act), z);
        }
    }
}

/* cs_saturation_fraction equals the count by phi' per entry for lengths 1
 * to 41 and 4097 (the two-lane loop and its scalar tail), with +-0, the
 * least double, +-DBL_MAX, +-Inf and NaN placed in the tail as well as in
 * the body; linear is 0. */
static void test_saturation_fraction_counts_like_per_entry(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    enum { CAP = 4097 };
    double *z = malloc(CAP * sizeof *z);
    const double special[] = {0.0, -0.0, 0x1p-1074, -0x1p-1074, DBL_MAX, -DBL_MAX,
                              INFINITY, -INFINITY, NAN};
    for (int a = 0; a < CS_ACT_COUNT; a++) {
        cs_activation act = (cs_activation)a;
        for (size_t len = 1; len <= 42; len++) {
            size_t count = len == 42 ? CAP : len;
            for (size_t i = 0; i < count; i++)
                z[i] = i % 7 == 3 ? special[(i / 7) % 9] : 4.0 * gsl_ran_gaussian(r, 1.0);
            z[count - 1] = special[count % 9]; /* the scalar tail gets one too */
            size_t want = 0;
            for (size_t i = 0; i < count; i++)
                want += (size_t)saturated_by_derivative(act, z[i]);
            double got = cs_saturation_fraction(z, count, act);
            double want_frac = (double)want / (double)count;
            if (!(got == want_frac))
                fail_msg("%s, %zu entries: fraction %.17g, per-entry phi' gives %.17g",
                         cs_activation_name(act), count, got, want_frac);
            if (act == CS_ACT_LINEAR)
                assert_true(got == 0.0);
        }
    }
    free(z);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saturation_bounds_separate_saturated_from_free),
        cmocka_unit_test(test_saturation_fraction_counts_like_per_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
