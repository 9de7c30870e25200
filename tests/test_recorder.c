/* The statistics recorder (sim/run/cs_recorder.c, docs/design.md §2) is
 * the schedule's, not private to it: a step-major schedule written here
 * from cs_layer_forward, an owned cs_weights set and the recorder (the
 * shape a training loop has) records exactly the bits the layer-major
 * cs_net_run records: layer_stats, histograms with their ranges, drift.
 * Plans equal allocations, and failures at each allocation are clean. */
#include "cs_test_util.h"

#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_net.h"
#include "cs_recorder.h"
#include "cs_result.h"
#include "cs_rng.h"
#include "cs_weights.h"

/* Step by step, every layer of the step, then each layer's pooling. The
 * recorder only needs step 0 of every (layer, site) first, which a
 * step-major order gives too. */
static void record_step_major(const cs_run_params *p, cs_result *r)
{
    size_t m = (size_t)p->batch, w = (size_t)p->width, dmax = cs_layer_max_units(p);
    cs_weights_mode mode = {.owned = 1, .running = 1};
    cs_weights *ws;
    cs_recorder *rec;
    cs_source *src;
    gsl_rng *rng;
    assert_int_equal(cs_weights_alloc(&ws, p, &mode), CS_OK);
    assert_int_equal(cs_recorder_alloc(&rec, p, r, 1, p->depth + 1), CS_OK);
    assert_int_equal(cs_source_alloc(&src, p), CS_OK);
    assert_int_equal(cs_rng_alloc(&rng), CS_OK);
    double *xa = malloc(m * dmax * sizeof *xa), *xb = malloc(m * dmax * sizeof *xb);
    double *h = malloc(m * w * sizeof *h), *z = malloc(m * w * sizeof *z);
    double *bm = malloc(w * sizeof *bm), *bv = malloc(w * sizeof *bv);
    for (int step = 0; step < p->steps_a + p->steps_b; step++) {
        assert_int_equal(cs_source_batch(src, step, xa, rng), CS_OK);
        assert_int_equal(cs_recorder_record(rec, 0, step, 0, CS_SITE_POST, xa, NULL), CS_OK);
        double *x = xa, *out = xb;
        cs_bn_use use = cs_layer_bn_use(p, step);
        for (int l = 1; l <= p->depth; l++) {
            cs_layer L;
            assert_int_equal(cs_weights_layer(ws, l, &L), CS_OK);
            cs_layer_forward(h, z, out, bm, bv, x, &L, p, use, (uint64_t)step, m, rng);
            assert_int_equal(cs_recorder_record(rec, 0, step, l, CS_SITE_PRE, h, NULL), CS_OK);
            if (use == CS_BN_NONE)
                cs_recorder_copy(rec, step, l, CS_SITE_NORM, CS_SITE_PRE);
            else
                assert_int_equal(cs_recorder_record(rec, 0, step, l, CS_SITE_NORM, z, NULL),
                                 CS_OK);
            assert_int_equal(cs_recorder_record(rec, 0, step, l, CS_SITE_POST, out, z), CS_OK);
            double *t = x;
            x = out;
            out = t;
        }
    }
    for (int l = 0; l <= p->depth; l++)
        cs_recorder_finish_layer(rec, l);
    free(xa), free(xb), free(h), free(z), free(bm), free(bv);
    cs_rng_free(rng);
    cs_source_free(src);
    cs_recorder_free(rec);
    cs_weights_free(ws);
}

static void base_params(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 4;
    p->width = 24;
    p->input_dim = 24;
    p->batch = 12;
    p->steps_a = 4;
    p->steps_b = 3;
    p->bins = 16;
    p->activation = CS_ACT_TANH;
    p->shift_mean = 0.7;
    p->shift_scale = 1.6;
}

/* norm none with dropout and a wider input; batch norm in every phase-B
 * mode (frozen and ema normalise with running statistics the layer-major
 * schedule updates apart, in step order); an unshuffled mixture. */
static void test_a_step_major_schedule_records_the_layer_major_bits(void **state)
{
    (void)state;
    cs_run_params cases[5];
    for (int c = 0; c < 5; c++)
        base_params(&cases[c]);
    cases[0].dropout = 0.2;
    cases[0].input_dim = 40;
    cases[1].norm = CS_NORM_BATCH;
    cases[2].norm = CS_NORM_BATCH;
    cases[2].bn_phase_b = CS_PHASE_B_FROZEN;
    cases[2].input_dim = 10;
    cases[3].norm = CS_NORM_BATCH;
    cases[3].bn_phase_b = CS_PHASE_B_EMA;
    cases[3].dropout = 0.1;
    cases[3].activation = CS_ACT_RELU;
    cases[4].norm = CS_NORM_BATCH;
    cases[4].bn_phase_b = CS_PHASE_B_EMA;
    cases[4].input = CS_INPUT_MIXTURE;
    cases[4].mixture_k = 3;
    cases[4].shuffle = 0;
    for (int c = 0; c < 5; c++) {
        cs_result *layer_major, *step_major;
        assert_int_equal(cs_result_alloc(&layer_major, &cases[c]), CS_OK);
        assert_int_equal(cs_result_alloc(&step_major, &cases[c]), CS_OK);
        assert_int_equal(cs_net_run(&cases[c], layer_major), CS_OK);
        record_step_major(&cases[c], step_major);
        cs_test_assert_results_identical(layer_major, step_major);
        cs_result_free(layer_major);
        cs_result_free(step_major);
    }
}

/* Histogram pooling: each phase of each slot holds steps_P batch units
 * entries, and the norm site of norm = none is the pre site's, copied. */
static void test_finish_layer_pools_every_step_per_phase(void **state)
{
    (void)state;
    cs_run_params p;
    base_params(&p);
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    record_step_major(&p, r);
    size_t stride = (size_t)p.bins + 2;
    for (size_t slot = 0; slot < r->nslots; slot++) {
        int layer;
        cs_site site;
        cs_result_slot_decode(slot, &layer, &site);
        for (int ph = 0; ph < 2; ph++) {
            uint64_t total = 0;
            for (size_t k = 0; k < stride; k++)
                total += r->hist[((size_t)ph * r->nslots + slot) * stride + k];
            uint64_t want = (uint64_t)(ph ? p.steps_b : p.steps_a) * (uint64_t)p.batch *
                            cs_layer_units(&p, layer);
            assert_int_equal(total, want);
        }
        if (layer > 0 && site == CS_SITE_NORM) {
            size_t pre = cs_result_slot(layer, CS_SITE_PRE);
            assert_memory_equal(&r->drift[slot], &r->drift[pre], sizeof(cs_drift_row));
            assert_memory_equal(r->hist + slot * stride, r->hist + pre * stride,
                                stride * sizeof(uint64_t));
        }
    }
    cs_result_free(r);
}

static void test_recorder_allocates_what_its_plan_counts_and_fails_cleanly(void **state)
{
    (void)state;
    cs_run_params p;
    base_params(&p);
    p.input_dim = 40;
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(1);
    cs_recorder_plan(&p, 3, 1, &plan);
    assert_int_equal(plan.rc, CS_OK);
    cs_alloc_fail_reset();
    cs_recorder *rec;
    assert_int_equal(cs_recorder_alloc(&rec, &p, r, 3, 1), CS_OK);
    size_t made = cs_alloc_bytes();
    print_message("recorder: planned %zu, allocated %zu\n", plan.bytes, made);
    /* the structs of the recorder and its workspaces are not counted */
    assert_true(made >= plan.bytes && made <= plan.bytes + 65536);
    cs_recorder_free(rec);
    int failures = 0;
    for (long k = 0;; k++) {
        rec = (cs_recorder *)&p;
        cs_alloc_fail_after(k);
        int rc = cs_recorder_alloc(&rec, &p, r, 3, 1);
        cs_alloc_fail_reset();
        if (rc == CS_OK)
            break;
        assert_int_equal(rc, CS_ENOMEM);
        assert_null(rec);
        failures++;
    }
    assert_true(failures >= 12); /* struct, 11 arrays, the workspaces */
    cs_recorder_free(rec);
    cs_recorder_free(NULL);
    cs_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_step_major_schedule_records_the_layer_major_bits),
        cmocka_unit_test(test_finish_layer_pools_every_step_per_phase),
        cmocka_unit_test(test_recorder_allocates_what_its_plan_counts_and_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
