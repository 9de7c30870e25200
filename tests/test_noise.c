/* Batch-norm and dropout noise (docs/claims.md, sim/run/cs_noise.c): exactly zero
 * without either, batch norm's ~ 1/sqrt(batch) law at layer 1, dropout's
 * analytic sqrt(q / (1 - q)), and bn_noise rows as documented. */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>

#include "cs_error.h"
#include "cs_noise.h"
#include "cs_result.h"
#include "cs_sim.h"

static void noise_params(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 3;
    p->width = 64;
    p->input_dim = 64;
    p->batch = 16;
    p->activation = CS_ACT_TANH;
    p->steps_a = 1;
    p->steps_b = 1;
    p->bins = 8;
    p->noise_probes = 16;
    p->noise_batches = 16;
}

static cs_result *run_noise(const cs_run_params *p)
{
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, p), CS_OK);
    assert_non_null(r);
    assert_non_null(r->noise);
    int rc = cs_noise_run(p, r);
    if (rc != CS_OK)
        fail_msg("cs_noise_run returned %d: %s", rc, cs_error_message());
    return r;
}

static const cs_noise_row *noise_at(const cs_result *r, int layer, cs_site site)
{
    return &r->noise[cs_result_slot(layer, site)];
}

/* Without batch norm and dropout a probe's row never sees its batch-mates
 * (dense layers and phi act row by row): the spread is exactly 0 at every
 * layer and site, not merely small. */
static void test_noise_is_exactly_zero_without_norm_or_dropout(void **state)
{
    (void)state;
    cs_run_params p;
    noise_params(&p);
    p.activation = CS_ACT_RELU;
    cs_result *r = run_noise(&p);
    for (int l = 1; l <= p.depth; l++)
        for (int s = 0; s < CS_SITE_COUNT; s++) {
            assert_true(noise_at(r, l, (cs_site)s)->noise == 0.0);
            assert_true(noise_at(r, l, (cs_site)s)->var_across == 0.0);
            assert_true(noise_at(r, l, (cs_site)s)->signal > 0);
        }
    cs_result_free(r);
}

/* Layer 1's norm site, z = (h0 - mu_B) / sigma_B with h Gaussian over
 * examples (variance s^2): across batch-mates mu_B varies by ~ s^2 / m and
 * sigma_B / s by ~ 1 / (2m) (relative variance), so
 *   Var z ~ 1/m + z^2 / (2m),  E z^2 = 1  =>  noise ~ sqrt(1.5 / m)
 * up to O(1/m) relative corrections. Sampling error of the estimate with
 * 16 probes x 64 units x 16 compositions is ~ 1 %; the corrections are
 * ~ 1/m = 6 % at m = 16, so we allow 15 % at m = 16 and 8 % at m = 64,
 * and the ratio noise(16) / noise(64) must be 2 (the 1/sqrt(batch) law)
 * within 12 %. */
static void test_batch_norm_noise_falls_as_one_over_sqrt_batch(void **state)
{
    (void)state;
    cs_run_params p;
    noise_params(&p);
    p.norm = CS_NORM_BATCH;
    double noise[2];
    int batches[2] = {16, 64};
    double tol[2] = {0.15, 0.08};
    for (int i = 0; i < 2; i++) {
        p.batch = batches[i];
        cs_result *r = run_noise(&p);
        noise[i] = noise_at(r, 1, CS_SITE_NORM)->noise;
        double theory = sqrt(1.5 / p.batch);
        printf("batch %d: layer 1 norm-site noise %.4f, sqrt(1.5 / batch) %.4f\n", p.batch,
               noise[i], theory);
        assert_true(fabs(noise[i] / theory - 1) < tol[i]);
        /* the pre site is before batch norm: no noise there at layer 1 */
        assert_true(noise_at(r, 1, CS_SITE_PRE)->noise == 0.0);
        cs_result_free(r);
    }
    printf("noise(16) / noise(64) = %.3f (1/sqrt law: 2)\n", noise[0] / noise[1]);
    assert_true(fabs(noise[0] / noise[1] / 2 - 1) < 0.12);
}

/* Inverted dropout at rate q on layer 1's post site: v = a mask / (1 - q),
 * Var v = a^2 q / (1 - q), E v = a, so noise -> sqrt(q / (1 - q)) exactly
 * in expectation (signal is bias-corrected). The estimate pools 16 x 64
 * units with 15 degrees of freedom each: its relative sd is ~ 1 %, so
 * 5 % is a > 4-sigma bound. Layer 1's pre and norm sites come before the
 * first mask: exactly 0. */
static void test_dropout_noise_matches_its_analytic_value(void **state)
{
    (void)state;
    cs_run_params p;
    noise_params(&p);
    double rates[] = {0.1, 0.3, 0.5};
    for (int i = 0; i < 3; i++) {
        p.dropout = rates[i];
        cs_result *r = run_noise(&p);
        double want = sqrt(p.dropout / (1 - p.dropout));
        double got = noise_at(r, 1, CS_SITE_POST)->noise;
        printf("dropout %.1f: layer 1 post noise %.4f, sqrt(q / (1 - q)) %.4f\n", p.dropout, got,
               want);
        assert_true(fabs(got / want - 1) < 0.05);
        assert_true(noise_at(r, 1, CS_SITE_PRE)->noise == 0.0);
        assert_true(noise_at(r, 1, CS_SITE_NORM)->noise == 0.0);
        /* the noise reaches the next layer's pre site through W */
        assert_true(noise_at(r, 2, CS_SITE_PRE)->noise > 0.5 * want);
        cs_result_free(r);
    }
}

/* bn_noise rows through cs_sim_run: every layer >= 1 and site, with
 * var_across >= 0, signal > 0 and noise = sqrt(var_across / signal);
 * noise_probes = 0 allocates none. */
static void test_noise_rows_as_documented(void **state)
{
    (void)state;
    cs_run_params p;
    noise_params(&p);
    p.norm = CS_NORM_BATCH;
    p.dropout = 0.2;
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_int_equal(cs_sim_run(&p, r), CS_OK);
    for (int l = 1; l <= p.depth; l++)
        for (int s = 0; s < CS_SITE_COUNT; s++) {
            const cs_noise_row *n = noise_at(r, l, (cs_site)s);
            assert_true(n->var_across >= 0 && n->signal > 0);
            assert_true(fabs(n->noise - sqrt(n->var_across / n->signal)) <= 1e-12 * n->noise);
        }
    cs_result_free(r);
    p.noise_probes = 0;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_null(r->noise);
    assert_int_equal(cs_noise_run(&p, r), CS_EINVAL);
    cs_result_free(r);
}

/* Dropout in the layer-major run (cs_net_run): the post site of layer 1
 * (tanh, no exact zeros without dropout) has a fraction q of exact zeros,
 * within 5 sd of sampling (sd sqrt(q (1 - q) / n), n = steps x batch x
 * width = 2 x 16 x 64 = 2048 entries per phase: 0.010 at q = 0.3); its
 * pre site has none; the same run twice gives the same masks. */
static void test_dropout_in_the_stack_drops_a_fraction_q(void **state)
{
    (void)state;
    cs_run_params p;
    noise_params(&p);
    p.noise_probes = 0;
    p.dropout = 0.3;
    p.steps_a = p.steps_b = 2;
    cs_result *r, *again;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_int_equal(cs_result_alloc(&again, &p), CS_OK);
    assert_int_equal(cs_sim_run(&p, r), CS_OK);
    assert_int_equal(cs_sim_run(&p, again), CS_OK);
    double zero = 0;
    for (int s = 0; s < r->steps; s++) {
        const cs_stats *post = &r->stats[(size_t)s * r->nslots + cs_result_slot(1, CS_SITE_POST)];
        const cs_stats *pre = &r->stats[(size_t)s * r->nslots + cs_result_slot(1, CS_SITE_PRE)];
        zero += post->frac_zero / r->steps;
        assert_true(pre->frac_zero == 0.0);
        assert_memory_equal(post, &again->stats[(size_t)s * r->nslots +
                                                cs_result_slot(1, CS_SITE_POST)],
                            sizeof *post);
    }
    printf("dropout 0.3: fraction of zeros at layer 1 post %.4f\n", zero);
    assert_true(fabs(zero - 0.3) < 5 * sqrt(0.21 / (4 * 16 * 64)));
    cs_result_free(r);
    cs_result_free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_is_exactly_zero_without_norm_or_dropout),
        cmocka_unit_test(test_batch_norm_noise_falls_as_one_over_sqrt_batch),
        cmocka_unit_test(test_dropout_noise_matches_its_analytic_value),
        cmocka_unit_test(test_noise_rows_as_documented),
        cmocka_unit_test(test_dropout_in_the_stack_drops_a_fraction_q),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
