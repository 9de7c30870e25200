/* A run's memory (sim/cs_sim.h): every pass lists its arrays once, so the
 * footprint checked before a run is what the run allocates; sizes that
 * overflow, that exceed the 1 TB a run may use or this machine's memory
 * fail the run before anything is allocated, naming the keys to reduce;
 * each key's bound and the bn_noise product are checked by
 * cs_params_validate. */
#include "cs_test_util.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_gap.h"
#include "cs_grad.h"
#include "cs_net.h"
#include "cs_noise.h"
#include "cs_params.h"
#include "cs_result.h"
#include "cs_sim.h"

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in: %s", needle, text);
}

/* Every pass on: gradients, noise, the gap, a mixture, dropout. */
static cs_run_params every_pass(void)
{
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 5;
    p.width = 40;
    p.input_dim = 24;
    p.batch = 16;
    p.steps_a = 3;
    p.steps_b = 2;
    p.bins = 32;
    p.norm = CS_NORM_BATCH;
    p.bn_phase_b = CS_PHASE_B_EMA;
    p.input = CS_INPUT_MIXTURE;
    p.mixture_k = 3;
    p.dropout = 0.1;
    p.grad = 1;
    p.noise_probes = 3;
    p.noise_batches = 4;
    p.population = 64;
    return p;
}

/* What a plan counts against what the pass allocates (cs_alloc_bytes):
 * the same arrays, plus the pass's small structs and nothing else. */
static void check_plan(const char *what, size_t planned, size_t allocated)
{
    print_message("%-8s planned %9zu bytes, allocated %9zu\n", what, planned, allocated);
    if (allocated < planned || allocated > planned + 65536)
        fail_msg("%s: the plan counts %zu bytes, the pass allocated %zu", what, planned,
                 allocated);
}

static void test_each_pass_allocates_what_its_plan_counts(void **state)
{
    (void)state;
    cs_net_set_threads(2); /* the slack below is two threads' small structs */
    cs_run_params p = every_pass();
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_non_null(r);

    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_result_plan(&p, &plan);
    cs_alloc_fail_reset();
    cs_result *again;
    assert_int_equal(cs_result_alloc(&again, &p), CS_OK);
    check_plan("result", plan.bytes, cs_alloc_bytes());
    cs_result_free(again);

    plan = (cs_alloc_plan)CS_ALLOC_PLAN_INIT(1);
    assert_int_equal(cs_net_plan(&p, &plan), CS_OK);
    cs_alloc_fail_reset();
    assert_int_equal(cs_net_run(&p, r), CS_OK);
    check_plan("net", plan.bytes, cs_alloc_bytes());

    plan = (cs_alloc_plan)CS_ALLOC_PLAN_INIT(1);
    assert_int_equal(cs_grad_plan(&p, CS_GRAD_WEIGHT_CACHE_BYTES, &plan), CS_OK);
    cs_alloc_fail_reset();
    assert_int_equal(cs_grad_run(&p, r), CS_OK);
    check_plan("grad", plan.bytes, cs_alloc_bytes());

    plan = (cs_alloc_plan)CS_ALLOC_PLAN_INIT(1);
    assert_int_equal(cs_noise_plan(&p, &plan), CS_OK);
    cs_alloc_fail_reset();
    assert_int_equal(cs_noise_run(&p, r), CS_OK);
    check_plan("noise", plan.bytes, cs_alloc_bytes());

    plan = (cs_alloc_plan)CS_ALLOC_PLAN_INIT(1);
    assert_int_equal(cs_gap_plan(&p, &plan), CS_OK);
    cs_alloc_fail_reset();
    assert_int_equal(cs_gap_run(&p, r), CS_OK);
    check_plan("gap", plan.bytes, cs_alloc_bytes());

    /* The peak: the result and the largest pass, which run one at a time. */
    size_t parts[4] = {0}, result = 0, peak = 0;
    cs_alloc_plan one = CS_ALLOC_PLAN_INIT(1);
    cs_result_plan(&p, &one);
    result = one.bytes;
    cs_alloc_plan a = CS_ALLOC_PLAN_INIT(1), b = CS_ALLOC_PLAN_INIT(1), c = CS_ALLOC_PLAN_INIT(1),
                  d = CS_ALLOC_PLAN_INIT(1);
    cs_net_plan(&p, &a);
    cs_grad_plan(&p, CS_GRAD_WEIGHT_CACHE_BYTES, &b);
    cs_noise_plan(&p, &c);
    cs_gap_plan(&p, &d);
    parts[0] = a.bytes;
    parts[1] = b.bytes;
    parts[2] = c.bytes;
    parts[3] = d.bytes;
    size_t largest = 0;
    for (int i = 0; i < 4; i++)
        largest = parts[i] > largest ? parts[i] : largest;
    assert_int_equal(cs_sim_check(&p, &peak), CS_OK);
    assert_int_equal(peak, result + largest);
    cs_result_free(r);
    cs_net_set_threads(0);
}

/* The run that overflowed a heap buffer: 2097152 probes would be refused
 * by its bound; at the bounds the noise batches' size still overflows
 * size_t. The run fails with CS_EINVAL before anything is allocated (it
 * used to wrap to a 1-byte buffer and write past it). */
static void test_an_overflowing_run_fails_before_allocating(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 1;
    p.width = CS_MAX_WIDTH;
    p.input_dim = 1;
    p.batch = CS_MAX_BATCH;
    p.steps_a = p.steps_b = 1;
    p.noise_probes = CS_MAX_NOISE;
    p.noise_batches = 2047;
    assert_int_equal(cs_params_validate(&p), CS_OK);
    assert_int_equal(cs_sim_check(&p, NULL), CS_EINVAL);
    assert_contains(cs_error_message(), "for the noise batches of every probe at one layer");
    assert_contains(cs_error_message(),
                    "reduce noise_probes, noise_batches, batch, width or input_dim");
    cs_result r;
    memset(&r, 0, sizeof r);
    cs_alloc_fail_reset();
    assert_int_equal(cs_sim_run(&p, &r), CS_EINVAL);
    assert_int_equal(cs_alloc_count(), 0);
}

/* A run that fits size_t but needs more than 1 TB is refused, naming its
 * largest array and the keys that size it. */
static void test_a_run_over_the_most_one_run_may_use_is_refused(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.batch = 1 << 17;
    p.width = 1 << 17;
    p.input_dim = 16;
    p.steps_a = p.steps_b = 100; /* 200 x 2^17 x 2^17 x 8 x 2 = 55 TB of activations */
    size_t bytes = 0;
    assert_int_equal(cs_sim_check(&p, &bytes), CS_EINVAL);
    assert_true(bytes > CS_SIM_MAX_BYTES);
    print_message("%s\n", cs_error_message());
    assert_contains(cs_error_message(), "more than the 1.0 TB one run may use");
    assert_contains(cs_error_message(), "for the activations of every step at one layer: "
                                        "reduce batch, width, input_dim, steps_a or steps_b");
    cs_alloc_fail_reset();
    cs_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_sim_run(&p, &r), CS_EINVAL);
    assert_int_equal(cs_alloc_count(), 0);
}

/* A run that needs more than this machine's memory (but less than 1 TB)
 * fails at once with CS_ENOMEM saying so, instead of being killed by the
 * kernel half-way; on a machine with over 500 GB the same run is over
 * 1 TB and refused as such. */
static void test_a_run_over_this_machines_memory_fails_naming_keys(void **state)
{
    (void)state;
    size_t machine = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    cs_run_params p;
    cs_params_default(&p);
    p.width = 1024;
    p.input_dim = 1024;
    p.steps_a = p.steps_b = 10;
    /* activations 2 x 20 x batch x 1024 x 8 bytes ~ 2 x machine */
    size_t batch = machine / (20 * 1024 * 8);
    p.batch = batch > CS_MAX_BATCH ? CS_MAX_BATCH : (int)batch;
    size_t bytes = 0;
    int rc = cs_sim_check(&p, &bytes);
    cs_result r;
    memset(&r, 0, sizeof r);
    cs_alloc_fail_reset();
    int run_rc = cs_sim_run(&p, &r);
    print_message("machine %zu bytes, run %zu: %s\n", machine, bytes, cs_error_message());
    assert_int_equal(cs_alloc_count(), 0);
    if (bytes > CS_SIM_MAX_BYTES) {
        assert_int_equal(rc, CS_EINVAL);
        assert_int_equal(run_rc, CS_EINVAL);
    } else {
        assert_true(bytes > machine);
        assert_int_equal(rc, CS_OK); /* fine for a dry run on a smaller machine */
        assert_int_equal(run_rc, CS_ENOMEM);
        assert_contains(cs_error_message(), "this machine has");
        assert_contains(cs_error_message(), "reduce batch, width, input_dim, steps_a or steps_b");
    }
}

/* Each integer key's bound, one past it, and the bn_noise product. */
static void test_every_bound_is_checked_and_named(void **state)
{
    (void)state;
    const struct {
        const char *key;
        size_t offset;
        int max;
    } keys[] = {
        {"depth", offsetof(cs_run_params, depth), CS_MAX_DEPTH},
        {"width", offsetof(cs_run_params, width), CS_MAX_WIDTH},
        {"input_dim", offsetof(cs_run_params, input_dim), CS_MAX_WIDTH},
        {"batch", offsetof(cs_run_params, batch), CS_MAX_BATCH},
        {"steps_a", offsetof(cs_run_params, steps_a), CS_MAX_STEPS},
        {"steps_b", offsetof(cs_run_params, steps_b), CS_MAX_STEPS},
        {"bins", offsetof(cs_run_params, bins), CS_MAX_BINS},
        {"noise_probes", offsetof(cs_run_params, noise_probes), CS_MAX_NOISE},
        {"mixture_k", offsetof(cs_run_params, mixture_k), CS_MAX_MIXTURE_K},
        {"population", offsetof(cs_run_params, population), CS_MAX_POPULATION},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        cs_run_params p;
        cs_params_default(&p);
        int *field = (int *)((char *)&p + keys[i].offset);
        *field = keys[i].max;
        if (cs_params_validate(&p) != CS_OK)
            fail_msg("%s = %d (its bound) refused: %s", keys[i].key, keys[i].max,
                     cs_error_message());
        for (int over = 0; over < 2; over++) {
            *field = over ? INT_MAX : keys[i].max + 1;
            assert_int_equal(cs_params_validate(&p), CS_EINVAL);
            char want[128];
            snprintf(want, sizeof want, "key '%s': expected an integer in", keys[i].key);
            assert_contains(cs_error_message(), want);
            snprintf(want, sizeof want, "..%d, got %d", keys[i].max, *field);
            assert_contains(cs_error_message(), want);
        }
    }
    /* steps_a + steps_b at their bounds stays an int below 2^31 - 1 */
    cs_run_params p;
    cs_params_default(&p);
    p.steps_a = p.steps_b = CS_MAX_STEPS;
    assert_int_equal(cs_params_validate(&p), CS_OK);
    assert_true((long long)p.steps_a + p.steps_b < INT_MAX);

    p.noise_probes = 1 << 20;
    p.noise_batches = 2048;
    assert_int_equal(cs_params_validate(&p), CS_EINVAL);
    assert_contains(cs_error_message(), "keys 'noise_probes' and 'noise_batches'");
    assert_contains(cs_error_message(), "1048576 x 2048 = 2147483648");
    p.noise_batches = 2047;
    assert_int_equal(cs_params_validate(&p), CS_OK);
    p.noise_batches = CS_MAX_NOISE + 1;
    p.noise_probes = 1;
    assert_int_equal(cs_params_validate(&p), CS_EINVAL);
    assert_contains(cs_error_message(), "key 'noise_batches': expected an integer in 2..1048576");
}

/* bins at its bound: bins + 2 and every histogram size are fine, and a
 * run with it completes. */
static void test_a_run_with_the_most_bins_completes(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 2;
    p.width = p.input_dim = 8;
    p.batch = 4;
    p.steps_a = p.steps_b = 2;
    p.bins = CS_MAX_BINS;
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_non_null(r);
    assert_int_equal(cs_sim_run(&p, r), CS_OK);
    uint64_t total = 0;
    for (size_t k = 0; k < (size_t)p.bins + 2; k++)
        total += r->hist[k]; /* phase A, slot 0: every input entry once */
    assert_int_equal(total, (uint64_t)p.steps_a * 4 * 8);
    cs_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_pass_allocates_what_its_plan_counts),
        cmocka_unit_test(test_an_overflowing_run_fails_before_allocating),
        cmocka_unit_test(test_a_run_over_the_most_one_run_may_use_is_refused),
        cmocka_unit_test(test_a_run_over_this_machines_memory_fails_naming_keys),
        cmocka_unit_test(test_every_bound_is_checked_and_named),
        cmocka_unit_test(test_a_run_with_the_most_bins_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
