/* The weight set (sim/model/cs_weights.c, docs/design.md §1 Initialisation,
 * Randomness): owned and regenerated sets (1 or 2 slots) give the same
 * bits for every layer in any order of access; an owned set is mutable and
 * keeps what the caller wrote; affine gamma = 1, beta = 0 and running
 * statistics at PyTorch's start; what each mode keeps valid; plans equal
 * allocations; failures at each allocation are clean; misuse is refused. */
#include "cs_test_util.h"

#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_rng.h"
#include "cs_weights.h"

static void small_params(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 6;
    p->width = 12;
    p->input_dim = 20; /* layer 1 wider than the others */
    p->sigma_b = 0.4;
    p->seed = 31;
}

static cs_weights *make(const cs_run_params *p, int owned, int slots, int affine, int running)
{
    cs_weights_mode mode = {.owned = owned, .slots = slots, .affine = affine, .running = running};
    cs_weights *ws = NULL;
    int rc = cs_weights_alloc(&ws, p, &mode);
    if (rc != CS_OK)
        fail_msg("cs_weights_alloc: %d %s", rc, cs_error_message());
    return ws;
}

/* Layer l straight from its streams: what every mode must hold. */
static void reference(const cs_run_params *p, int l, double *W, double *b)
{
    gsl_rng *rw, *rb;
    assert_int_equal(cs_rng_alloc(&rw), CS_OK);
    assert_int_equal(cs_rng_alloc(&rb), CS_OK);
    assert_int_equal(cs_weights_generate(W, b, p, l, rw, rb), CS_OK);
    cs_rng_free(rw);
    cs_rng_free(rb);
}

static void check_layer(cs_weights *ws, const cs_run_params *p, int l)
{
    size_t n_out = cs_layer_units(p, l), n_in = cs_layer_n_in(p, l);
    double *W = malloc(n_out * n_in * sizeof *W), *b = malloc(n_out * sizeof *b);
    reference(p, l, W, b);
    cs_layer L;
    assert_int_equal(cs_weights_layer(ws, l, &L), CS_OK);
    assert_int_equal(L.index, l);
    assert_int_equal(L.n_in, n_in);
    assert_int_equal(L.n_out, n_out);
    assert_memory_equal(L.W, W, n_out * n_in * sizeof *W);
    assert_memory_equal(L.b, b, n_out * sizeof *b);
    free(W);
    free(b);
}

/* Every mode, every init kind, layers in a scrambled order with repeats:
 * the same bits as the streams give. */
static void test_every_mode_gives_the_same_weights(void **state)
{
    (void)state;
    const int order[] = {1, 2, 6, 3, 3, 1, 5, 4, 6, 2, 2, 1};
    for (int init = 0; init < CS_INIT_COUNT; init++) {
        cs_run_params p;
        small_params(&p);
        p.init = (cs_init_kind)init;
        cs_weights *sets[3] = {make(&p, 1, 0, 0, 0), make(&p, 0, 1, 0, 0), make(&p, 0, 2, 0, 0)};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
                check_layer(sets[k], &p, order[i]);
        assert_true(cs_weights_owned(sets[0]));
        assert_false(cs_weights_owned(sets[1]));
        for (int k = 0; k < 3; k++)
            cs_weights_free(sets[k]);
    }
}

/* Owned: the arrays are the set's own for its life, and what the caller
 * writes (a training step) is what the next access sees; gamma, beta,
 * and the running statistics too. */
static void test_an_owned_set_is_mutable_and_keeps_changes(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    cs_weights *ws = make(&p, 1, 0, 1, 1);
    cs_layer a, again;
    assert_int_equal(cs_weights_layer(ws, 3, &a), CS_OK);
    for (size_t j = 0; j < a.n_out; j++) {
        assert_true(a.gamma[j] == 1.0 && a.beta[j] == 0.0);
        assert_true(a.running_mean[j] == 0.0 && a.running_var[j] == 1.0);
    }
    a.W[5] += 0.25;
    a.b[1] = -3.0;
    a.gamma[2] = 1.5;
    a.beta[0] = 0.125;
    a.running_var[4] = 7.0;
    double kept = a.W[5];
    for (int l = 1; l <= p.depth; l++) { /* other layers in between */
        cs_layer other;
        assert_int_equal(cs_weights_layer(ws, l, &other), CS_OK);
    }
    assert_int_equal(cs_weights_layer(ws, 3, &again), CS_OK);
    assert_ptr_equal(again.W, a.W);
    assert_true(again.W[5] == kept && again.b[1] == -3.0 && again.gamma[2] == 1.5 &&
                again.beta[0] == 0.125 && again.running_var[4] == 7.0);
    /* layers do not share arrays */
    cs_layer four;
    assert_int_equal(cs_weights_layer(ws, 4, &four), CS_OK);
    assert_true(four.gamma[2] == 1.0 && four.running_var[4] == 1.0);
    assert_true(four.W != a.W && four.b != a.b);
    cs_weights_free(ws);
}

/* Regenerated: two slots keep the last view valid through the next call
 * (the layer-major schedule reads layer l while layer l + 1 is made); one
 * slot reuses its buffer. Running statistics are kept per layer either
 * way, and gamma and beta are the identity (NULL). */
static void test_a_regenerated_set_keeps_what_its_slots_hold(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    cs_weights *two = make(&p, 0, 2, 0, 1), *one = make(&p, 0, 1, 0, 0);
    size_t n = (size_t)p.width * (size_t)p.width;
    double *W2 = malloc(n * sizeof *W2), b2[12];
    reference(&p, 2, W2, b2);
    cs_layer l2, l3;
    assert_int_equal(cs_weights_layer(two, 2, &l2), CS_OK);
    assert_int_equal(cs_weights_layer(two, 3, &l3), CS_OK);
    assert_true(l2.W != l3.W);
    assert_memory_equal(l2.W, W2, n * sizeof *W2); /* still layer 2 */
    assert_null(l2.gamma);
    assert_null(l2.beta);
    l2.running_mean[0] = 0.5; /* state, not parameters: kept */
    cs_layer l4;
    assert_int_equal(cs_weights_layer(two, 4, &l4), CS_OK);
    assert_ptr_equal(l4.W, l2.W); /* layer 2's slot is reused, not layer 3's */
    assert_int_equal(cs_weights_layer(two, 2, &l2), CS_OK);
    assert_true(l2.running_mean[0] == 0.5 && l2.running_var[0] == 1.0);

    cs_layer a, b;
    assert_int_equal(cs_weights_layer(one, 2, &a), CS_OK);
    assert_int_equal(cs_weights_layer(one, 3, &b), CS_OK);
    assert_ptr_equal(a.W, b.W);
    assert_null(b.running_mean);
    free(W2);
    cs_weights_free(two);
    cs_weights_free(one);
}

/* What each mode allocates is what its plan counts (the set's struct
 * aside), so cs_sim_check sees the passes' true footprint. */
static void test_each_mode_allocates_what_its_plan_counts(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    const cs_weights_mode modes[] = {{.owned = 1},
                                     {.owned = 1, .affine = 1, .running = 1},
                                     {.slots = 1},
                                     {.slots = 2, .running = 1}};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
        cs_weights_plan(&p, &modes[k], &plan);
        assert_int_equal(plan.rc, CS_OK);
        cs_alloc_fail_reset();
        cs_weights *ws;
        assert_int_equal(cs_weights_alloc(&ws, &p, &modes[k]), CS_OK);
        size_t made = cs_alloc_bytes();
        print_message("mode %zu: planned %zu, allocated %zu\n", k, plan.bytes, made);
        assert_true(made >= plan.bytes && made <= plan.bytes + 1024);
        cs_weights_free(ws);
    }
    /* owned: every W and b, exactly cs_weights_bytes */
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_weights_plan(&p, &modes[0], &plan);
    size_t w = 12, want = (w * 20 + 5 * w * w + 6 * w) * sizeof(double);
    assert_int_equal(cs_weights_bytes(&p), want);
    assert_int_equal(plan.bytes, want);
}

/* Every allocation made to fail in turn: a code, *out NULL, nothing
 * leaked (ASan build); then the set is whole. */
static void test_allocation_failure_at_each_point_is_clean(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.init = CS_INIT_ORTHOGONAL; /* generation allocates its own workspace */
    cs_weights_mode mode = {.owned = 1, .affine = 1, .running = 1};
    int failures = 0;
    for (long k = 0;; k++) {
        cs_weights *ws = (cs_weights *)&p;
        cs_alloc_fail_after(k);
        int rc = cs_weights_alloc(&ws, &p, &mode);
        cs_alloc_fail_reset();
        if (rc == CS_OK) {
            check_layer(ws, &p, 6);
            cs_weights_free(ws);
            break;
        }
        assert_int_equal(rc, CS_ENOMEM);
        assert_null(ws);
        failures++;
    }
    print_message("%d allocation points failed cleanly\n", failures);
    assert_true(failures >= 7); /* struct, W, b, gamma, beta, running x 2, QR per layer */
    cs_weights_free(NULL);
}

static void test_misuse_is_refused(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    cs_weights *ws = (cs_weights *)&p;
    cs_weights_mode affine_regen = {.owned = 0, .slots = 1, .affine = 1};
    assert_int_equal(cs_weights_alloc(&ws, &p, &affine_regen), CS_EINVAL);
    assert_null(ws);
    assert_non_null(strstr(cs_error_message(), "owned"));
    cs_weights_mode no_slots = {.owned = 0, .slots = 0};
    assert_int_equal(cs_weights_alloc(&ws, &p, &no_slots), CS_EINVAL);
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_weights_plan(&p, &no_slots, &plan);
    assert_int_equal(plan.rc, CS_EINVAL);
    ws = make(&p, 0, 1, 0, 0);
    cs_layer L;
    assert_int_equal(cs_weights_layer(ws, 0, &L), CS_EINVAL);
    assert_int_equal(cs_weights_layer(ws, p.depth + 1, &L), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "layer 7"));
    cs_weights_free(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_mode_gives_the_same_weights),
        cmocka_unit_test(test_an_owned_set_is_mutable_and_keeps_changes),
        cmocka_unit_test(test_a_regenerated_set_keeps_what_its_slots_hold),
        cmocka_unit_test(test_each_mode_allocates_what_its_plan_counts),
        cmocka_unit_test(test_allocation_failure_at_each_point_is_clean),
        cmocka_unit_test(test_misuse_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
