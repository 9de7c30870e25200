/* SQLite-style failure injection for the claim passes (docs/claims.md):
 * a run with every measurement (gradients, noise, running gap, dropout,
 * a mixture) made to fail at each allocation in turn returns CS_ENOMEM,
 * leaks nothing (AddressSanitizer in build-asan) and, once allocations
 * succeed again, gives the same result as a run that never failed. */
#include "cs_test_util.h"

#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_sim.h"

static void all_claims(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 3;
    p->width = 8;
    p->input_dim = 6;
    p->batch = 4;
    p->norm = CS_NORM_BATCH;
    p->bn_phase_b = CS_PHASE_B_EMA;
    p->input = CS_INPUT_MIXTURE;
    p->shuffle = 0;
    p->steps_a = 2;
    p->steps_b = 2;
    p->bins = 4;
    p->grad = 1;
    p->dropout = 0.2;
    p->noise_probes = 2;
    p->noise_batches = 3;
    p->population = 16;
}

static void test_allocation_failure_anywhere_in_a_run_is_enomem_without_leaks(void **state)
{
    (void)state;
    cs_run_params p;
    all_claims(&p);
    cs_result *want;
    assert_int_equal(cs_result_alloc(&want, &p), CS_OK);
    assert_int_equal(cs_sim_run(&p, want), CS_OK);
    int failures = 0;
    for (long k = 0;; k++) {
        cs_result *r;
        assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
        assert_non_null(r);
        cs_alloc_fail_after(k);
        int rc = cs_sim_run(&p, r);
        cs_alloc_fail_reset();
        if (rc == CS_OK) {
            size_t rows = (size_t)r->steps * (size_t)(p.depth + 1);
            assert_memory_equal(r->grad, want->grad, rows * sizeof *r->grad);
            assert_memory_equal(r->noise, want->noise, r->nslots * sizeof *r->noise);
            assert_memory_equal(r->gap, want->gap, (size_t)(p.depth + 1) * sizeof *r->gap);
            cs_result_free(r);
            break;
        }
        if (rc != CS_ENOMEM)
            fail_msg("allocation %ld failing gave %d: %s", k, rc, cs_error_message());
        failures++;
        cs_result_free(r);
    }
    print_message("%d allocation points failed cleanly\n", failures);
    assert_true(failures > 40);
    cs_result_free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_failure_anywhere_in_a_run_is_enomem_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
