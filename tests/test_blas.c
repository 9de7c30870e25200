/* The BLAS kernel covshift runs (sim/base/cs_blas.c, docs/design.md §6):
 * the decision table, the kernel check, and the real re-execution of
 * covshift --version under each environment a user or the suite can set.
 * OpenBLAS's misdetection itself cannot be caused on a CPU it knows, so
 * the suite sets OPENBLAS_CORETYPE=Prescott with COVSHIFT_BLAS=
 * test-as-detected: the process then really runs the Prescott kernels and
 * covshift treats them as OpenBLAS's own choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_blas.h"
#include "cs_test_util.h"

static void test_select_replaces_only_a_fallback_with_a_better_tier(void **state)
{
    (void)state;
    const char *core;
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Prescott", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_REEXEC);
    assert_string_equal(core, "SkylakeX");
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Nehalem", CS_BLAS_TIER_AVX2, &core),
                     CS_BLAS_REEXEC);
    assert_string_equal(core, "Haswell");
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Core2", CS_BLAS_TIER_AVX, &core),
                     CS_BLAS_REEXEC);
    assert_string_equal(core, "Sandybridge");
    /* nothing better to pick */
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Prescott", CS_BLAS_TIER_SSE, &core),
                     CS_BLAS_KEEP);
    assert_null(core);
    /* a core OpenBLAS chose on purpose is not a fallback, even below the
     * CPU's tier (Zen kernels on an AVX-512 AMD CPU are its choice) */
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Zen", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "Cooperlake", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
    assert_int_equal(cs_blas_select(NULL, NULL, NULL, "NoSuchCore", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
}

static void test_select_keeps_what_the_user_chose(void **state)
{
    (void)state;
    const char *core;
    /* OPENBLAS_CORETYPE set by the user, even to a fallback */
    assert_int_equal(cs_blas_select("Prescott", NULL, NULL, "Prescott", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
    /* the opt-out */
    assert_int_equal(cs_blas_select(NULL, "shipped", NULL, "Prescott", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
    /* already re-executed once */
    assert_int_equal(cs_blas_select(NULL, NULL, "Prescott", "Prescott", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_KEEP);
    /* an empty OPENBLAS_CORETYPE chooses nothing */
    assert_int_equal(cs_blas_select("", NULL, NULL, "Prescott", CS_BLAS_TIER_AVX512, &core),
                     CS_BLAS_REEXEC);
}

static void test_core_tiers(void **state)
{
    (void)state;
    assert_int_equal(cs_blas_core_tier("Prescott"), CS_BLAS_TIER_SSE);
    assert_int_equal(cs_blas_core_tier("sandybridge"), CS_BLAS_TIER_AVX);
    assert_int_equal(cs_blas_core_tier("Haswell"), CS_BLAS_TIER_AVX2);
    assert_int_equal(cs_blas_core_tier("SkylakeX"), CS_BLAS_TIER_AVX512);
    assert_int_equal(cs_blas_core_tier("POWER9"), -1);
    assert_true(cs_blas_core_is_fallback("Prescott"));
    assert_false(cs_blas_core_is_fallback("Haswell"));
    /* every core covshift picks is one it knows the tier of */
    for (int t = CS_BLAS_TIER_AVX; t <= CS_BLAS_TIER_AVX512; t++)
        assert_int_equal(cs_blas_core_tier(cs_blas_core_for_tier((cs_blas_tier)t)), t);
}

static void test_kernel_check_passes_on_this_kernel(void **state)
{
    (void)state;
    double err = -1;
    assert_true(cs_blas_check_kernel(&err));
    print_message("kernel %s: largest error %.3g (units of eps sum|a b|; limit 64)\n",
                  cs_blas_core(), err);
    assert_true(err >= 0 && err <= 64);
}

/* covshift --version's BLAS line under an environment (a shell prefix). */
static char *version_blas_line(const char *env)
{
    char *out = NULL;
    int rc = cs_test_shell(&out, "env -u OPENBLAS_CORETYPE -u COVSHIFT_BLAS %s '%s' --version",
                           env, CS_BINARY);
    assert_int_equal(rc, 0);
    return out;
}

static void test_version_names_the_core_and_who_chose_it(void **state)
{
    (void)state;
    /* as this machine is: what OpenBLAS chose, or covshift's replacement
     * when this CPU is one OpenBLAS does not know */
    char *out = version_blas_line("");
    const char *core = NULL;
    char want[128];
    if (cs_blas_select(NULL, NULL, NULL, cs_blas_core(), cs_blas_cpu_tier(), &core) ==
        CS_BLAS_REEXEC)
        snprintf(want, sizeof want, "core %s, chosen by covshift (OpenBLAS chose %s", core,
                 cs_blas_core());
    else
        snprintf(want, sizeof want, "core %s, OpenBLAS's choice", cs_blas_core());
    if (!strstr(out, want))
        fail_msg("expected '%s' in: %s", want, out);
    free(out);

    /* the user's OPENBLAS_CORETYPE is kept, even a fallback */
    out = version_blas_line("OPENBLAS_CORETYPE=Prescott");
    assert_non_null(strstr(out, "core Prescott, set by OPENBLAS_CORETYPE=Prescott"));
    free(out);
    out = version_blas_line("COVSHIFT_BLAS=shipped");
    assert_non_null(strstr(out, "OpenBLAS's choice (COVSHIFT_BLAS=shipped)"));
    free(out);
}

static void test_fallback_is_replaced_when_the_check_passes(void **state)
{
    (void)state;
    const char *better = cs_blas_core_for_tier(cs_blas_cpu_tier());
    assert_non_null(better); /* every x86-64 CPU this suite runs on has AVX */
    char *out = version_blas_line("OPENBLAS_CORETYPE=Prescott COVSHIFT_BLAS=test-as-detected");
    char want[128];
    snprintf(want, sizeof want, "core %s, chosen by covshift (OpenBLAS chose Prescott", better);
    if (!strstr(out, want))
        fail_msg("expected '%s' in: %s", want, out);
    assert_null(strstr(out, "warning"));
    free(out);
}

static void test_fallback_is_kept_when_the_check_fails(void **state)
{
    (void)state;
    const char *better = cs_blas_core_for_tier(cs_blas_cpu_tier());
    char *out = version_blas_line(
        "OPENBLAS_CORETYPE=Prescott COVSHIFT_BLAS=test-as-detected,test-fail-check");
    char want[160];
    snprintf(want, sizeof want, "core Prescott, OpenBLAS's choice (covshift's %s failed its check)",
             better);
    if (!strstr(out, want) || !strstr(out, "disagrees with a plain matrix product"))
        fail_msg("expected '%s' and a warning in: %s", want, out);
    free(out);
}

static void test_run_stores_the_core_in_provenance(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    char *out = NULL;
    int rc = cs_test_shell(&out,
                           "cd '%s' && OPENBLAS_CORETYPE=Prescott COVSHIFT_BLAS=test-as-detected "
                           "'%s' run '%s/e2e_small.ini' --db t.db --quiet --set seed=1 && "
                           "sqlite3 t.db 'SELECT blas FROM experiments'",
                           dir, CS_BINARY, CS_FIXTURES);
    assert_int_equal(rc, 0);
    char want[128];
    snprintf(want, sizeof want, "core %s, chosen by covshift",
             cs_blas_core_for_tier(cs_blas_cpu_tier()));
    if (!strstr(out, want))
        fail_msg("expected '%s' in the stored provenance: %s", want, out);
    free(out);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_replaces_only_a_fallback_with_a_better_tier),
        cmocka_unit_test(test_select_keeps_what_the_user_chose),
        cmocka_unit_test(test_core_tiers),
        cmocka_unit_test(test_kernel_check_passes_on_this_kernel),
        cmocka_unit_test(test_version_names_the_core_and_who_chose_it),
        cmocka_unit_test(test_fallback_is_replaced_when_the_check_passes),
        cmocka_unit_test(test_fallback_is_kept_when_the_check_fails),
        cmocka_unit_test(test_run_stores_the_core_in_provenance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
