/* Gradients at initialisation (docs/claims.md, sim/run/cs_grad.c): the backward pass
 * through the whole stack agrees with central finite differences of the
 * same loss, with and without batch norm, through batch statistics, frozen
 * and ema running statistics and dropout; checkpointing and weight
 * regeneration change no bit; grad_stats rows are as documented. */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_dist.h"
#include "cs_error.h"
#include "cs_grad.h"
#include "cs_net.h"
#include "cs_result.h"
#include "cs_rng.h"
#include "cs_sim.h"

/* depth 5: segments of k = ceil(sqrt 5) = 3 layers, the last one short. */
static void small_params(cs_run_params *p)
{
    cs_params_default(p);
    p->depth = 5;
    p->width = 6;
    p->input_dim = 4;
    p->batch = 5;
    p->activation = CS_ACT_TANH;
    p->sigma_w = 1.5;
    p->sigma_b = 0.3;
    p->steps_a = 3;
    p->steps_b = 2;
    p->bins = 8;
    p->grad = 1;
}

/* Runs steps 0..step on g (running statistics as the run has them), the
 * last with dL/dx0 and every dL/dW captured; x0 is left as step's batch. */
static void run_to(cs_grad *g, const cs_run_params *p, int step, double *x0, double *dx0,
                   double **dW, cs_grad_row *rows)
{
    cs_source *src;
    assert_int_equal(cs_source_alloc(&src, p), CS_OK);
    gsl_rng *r;
    assert_int_equal(cs_rng_alloc(&r), CS_OK);
    assert_non_null(src);
    assert_non_null(r);
    for (int s = 0; s <= step; s++) {
        assert_int_equal(cs_source_batch(src, s, x0, r), CS_OK);
        if (s == step)
            cs_grad_capture(g, dx0, dW);
        assert_int_equal(cs_grad_step(g, s, x0, rows), CS_OK);
    }
    cs_grad_capture(g, NULL, NULL);
    gsl_rng_free(r);
    cs_source_free(src);
}

/* Central difference (L(v + e) - L(v - e)) / 2e of every entry v of a
 * (n entries) against grad, e = 1e-5. Its error is the truncation
 * e^2 |L'''| / 6 = 1.7e-11 |L'''| plus rounding ~ u |L| / e = 1.1e-11 |L|
 * (u = 1.1e-16, L computed to a few ulps). Batch norm over 5 rows has
 * third derivatives of order 1 / sigma_B^3 times the gradient scale, so we
 * allow tol = 1e-6 (|fd| + |L|): ~1e4 times the rounding term and room
 * for |L'''| ~ 1e4 |L|, while a missing term of the backward pass is of
 * the order of the gradient itself and fails by far. The largest scaled
 * error is printed (at most 3e-9 measured). */
static double fd_check(cs_grad *g, int step, const double *x0, double *a, const double *grad,
                       size_t n, const char *what)
{
    const double e = 1e-5, rtol = 1e-6;
    double loss = fabs(cs_grad_loss(g, step, x0));
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = a[i];
        a[i] = keep + e;
        double up = cs_grad_loss(g, step, x0);
        a[i] = keep - e;
        double down = cs_grad_loss(g, step, x0);
        a[i] = keep;
        double fd = (up - down) / (2 * e);
        double err = fabs(fd - grad[i]), scale = fabs(fd) + loss;
        if (err > rtol * scale)
            fail_msg("%s[%zu]: backward %.12g, finite difference %.12g (|diff| %.3g)", what, i,
                     grad[i], fd, err);
        if (err / scale > worst)
            worst = err / scale;
    }
    return worst;
}

/* Checks dL/dx0 and dL/dW of every layer at `step` for p. */
static void check_against_fd(const cs_run_params *p, int step, const char *label)
{
    size_t m = (size_t)p->batch, w = (size_t)p->width, d0 = (size_t)p->input_dim;
    cs_grad *g;
    assert_int_equal(cs_grad_alloc(&g, p, (size_t)1 << 30), CS_OK);
    assert_non_null(g);
    double *x0 = malloc(m * d0 * sizeof *x0), *dx0 = malloc(m * d0 * sizeof *dx0);
    double *dW[16];
    for (int l = 1; l <= p->depth; l++)
        dW[l - 1] = malloc(w * (l == 1 ? d0 : w) * sizeof(double));
    cs_grad_row rows[17];
    run_to(g, p, step, x0, dx0, dW, rows);
    /* the loss a finite difference sees is the loss the step reported */
    assert_true(fabs(cs_grad_loss(g, step, x0) - rows[0].loss) <= 1e-12 * fabs(rows[0].loss));
    double worst = fd_check(g, step, x0, x0, dx0, m * d0, "dL/dx0");
    for (int l = 1; l <= p->depth; l++) {
        double *W = cs_grad_weights(g, l);
        assert_non_null(W);
        double e = fd_check(g, step, x0, W, dW[l - 1], w * (l == 1 ? d0 : w), "dL/dW");
        if (e > worst)
            worst = e;
    }
    printf("%s: largest |backward - fd| / (|fd| + |L|) %.3g\n", label, worst);
    for (int l = 1; l <= p->depth; l++)
        free(dW[l - 1]);
    free(x0);
    free(dx0);
    cs_grad_free(g);
}

static void test_backward_without_norm_matches_finite_differences(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    check_against_fd(&p, 0, "norm none");
}

/* Through the batch statistics: BN's full Jacobian, every row of the batch
 * coupled to every other through mu and sigma. */
static void test_backward_through_batch_norm_matches_finite_differences(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.norm = CS_NORM_BATCH;
    check_against_fd(&p, 1, "norm batch, phase A");
    p.activation = CS_ACT_SELU;
    check_against_fd(&p, 0, "norm batch, selu");
}

/* Frozen and ema normalise with running statistics: a fixed affine map. */
static void test_backward_through_running_statistics_matches_finite_differences(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.norm = CS_NORM_BATCH;
    p.bn_phase_b = CS_PHASE_B_FROZEN;
    check_against_fd(&p, 4, "norm batch, frozen phase B");
    p.bn_phase_b = CS_PHASE_B_EMA;
    check_against_fd(&p, 3, "norm batch, ema phase B");
    p.bn_phase_b = CS_PHASE_B_BATCH;
    check_against_fd(&p, 4, "norm batch, batch phase B");
}

/* The same masks forward and backward. */
static void test_backward_through_dropout_matches_finite_differences(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.dropout = 0.3;
    check_against_fd(&p, 0, "dropout 0.3");
    p.norm = CS_NORM_BATCH;
    check_against_fd(&p, 2, "dropout 0.3, norm batch");
}

/* Checkpointed recomputation is exact and regenerated weights are the
 * cached ones: every row bit-identical with and without the weight cache,
 * over all steps (so running statistics evolve identically too). */
static void test_weight_regeneration_changes_no_bit(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.depth = 10;
    p.norm = CS_NORM_BATCH;
    p.bn_phase_b = CS_PHASE_B_FROZEN;
    size_t n = (size_t)(p.steps_a + p.steps_b) * (size_t)(p.depth + 1);
    cs_grad_row *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    size_t m = (size_t)p.batch, d0 = (size_t)p.input_dim;
    double *x0 = malloc(m * d0 * sizeof *x0);
    cs_grad *cached, *regen;
    assert_int_equal(cs_grad_alloc(&cached, &p, (size_t)1 << 30), CS_OK);
    assert_int_equal(cs_grad_alloc(&regen, &p, 0), CS_OK);
    assert_non_null(cached);
    assert_non_null(regen);
    assert_non_null(cs_grad_weights(cached, 3));
    assert_null(cs_grad_weights(regen, 3));
    int last = p.steps_a + p.steps_b - 1;
    run_to(cached, &p, last, x0, NULL, NULL, a + (size_t)last * (size_t)(p.depth + 1));
    run_to(regen, &p, last, x0, NULL, NULL, b + (size_t)last * (size_t)(p.depth + 1));
    assert_memory_equal(a, b, n * sizeof *a);
    cs_grad_free(cached);
    cs_grad_free(regen);
    free(a);
    free(b);
    free(x0);
}

/* The step-major gradient pass sees the layer-major run's activations:
 * at every step, the last layer's output has the same min and max (exact
 * order statistics, no rounding) as cs_net_run recorded, in phase B too,
 * where frozen and ema normalise with running statistics that must have
 * evolved identically in both schedules; dropout masks are the same. */
static void test_grad_forward_is_the_layer_major_run(void **state)
{
    (void)state;
    cs_bn_phase modes[3] = {CS_PHASE_B_FROZEN, CS_PHASE_B_EMA, CS_PHASE_B_BATCH};
    for (int i = 0; i < 3; i++) {
        cs_run_params p;
        small_params(&p);
        p.depth = 7;
        p.width = 16;
        p.norm = CS_NORM_BATCH;
        p.bn_phase_b = modes[i];
        p.dropout = i == 1 ? 0.2 : 0.0;
        p.shift_mean = 1.0;
        p.shift_scale = 2.0;
        cs_result *r;
        assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
        assert_int_equal(cs_net_run(&p, r), CS_OK);
        cs_grad *g;
        assert_int_equal(cs_grad_alloc(&g, &p, 0), CS_OK);
        cs_source *src;
        assert_int_equal(cs_source_alloc(&src, &p), CS_OK);
        gsl_rng *rng;
        assert_int_equal(cs_rng_alloc(&rng), CS_OK);
        double *x0 = malloc((size_t)p.batch * (size_t)p.input_dim * sizeof *x0);
        cs_grad_row rows[8];
        for (int s = 0; s < r->steps; s++) {
            assert_int_equal(cs_source_batch(src, s, x0, rng), CS_OK);
            assert_int_equal(cs_grad_step(g, s, x0, rows), CS_OK);
            const double *out = cs_grad_output(g);
            double lo = out[0], hi = out[0];
            for (size_t k = 1; k < (size_t)p.batch * (size_t)p.width; k++) {
                lo = out[k] < lo ? out[k] : lo;
                hi = out[k] > hi ? out[k] : hi;
            }
            const cs_stats *st = &r->stats[(size_t)s * r->nslots +
                                           cs_result_slot(p.depth, CS_SITE_POST)];
            assert_true(lo == st->min && hi == st->max);
        }
        free(x0);
        gsl_rng_free(rng);
        cs_source_free(src);
        cs_grad_free(g);
        cs_result_free(r);
    }
}

/* grad_stats rows as documented: every step and layer 0..depth; the
 * loss repeated on each layer's row of a step; layer 0 has only
 * grad_x_norm; everything else finite and positive. */
static void test_grad_rows_as_documented(void **state)
{
    (void)state;
    cs_run_params p;
    small_params(&p);
    p.norm = CS_NORM_BATCH;
    cs_result *r;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_non_null(r);
    assert_non_null(r->grad);
    assert_int_equal(cs_sim_run(&p, r), CS_OK);
    for (int s = 0; s < r->steps; s++) {
        const cs_grad_row *row = r->grad + (size_t)s * (size_t)(p.depth + 1);
        assert_true(isnan(row[0].grad_h_norm) && isnan(row[0].grad_w_norm) &&
                    isnan(row[0].grad_b_norm));
        assert_true(row[0].grad_x_norm > 0 && isfinite(row[0].grad_x_norm));
        for (int l = 0; l <= p.depth; l++) {
            assert_true(row[l].loss == row[0].loss && row[l].loss > 0);
            if (l > 0)
                assert_true(row[l].grad_x_norm > 0 && row[l].grad_h_norm > 0 &&
                            row[l].grad_w_norm > 0 && isfinite(row[l].grad_w_norm));
        }
    }
    cs_result_free(r);
    /* grad = false allocates no rows and cs_grad_run refuses */
    p.grad = 0;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_null(r->grad);
    assert_int_equal(cs_grad_run(&p, r), CS_EINVAL);
    cs_result_free(r);
}

/* Yang et al. 2019: batch norm at init makes gradients grow geometrically
 * towards the input in a deep relu stack, by about sqrt(pi / (pi - 1)) =
 * 1.21 per layer for wide layers; without it (He init) they stay flat. */
static void test_batch_norm_gradients_explode_towards_the_input(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 30;
    p.width = 128;
    p.input_dim = 128;
    p.batch = 64;
    p.activation = CS_ACT_RELU;
    p.sigma_w = sqrt(2.0);
    p.steps_a = 2;
    p.steps_b = 1;
    p.bins = 8;
    p.grad = 1;
    double ratio[2];
    for (int norm = 0; norm < 2; norm++) {
        p.norm = norm ? CS_NORM_BATCH : CS_NORM_NONE;
        cs_result *r;
        assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
        assert_int_equal(cs_sim_run(&p, r), CS_OK);
        ratio[norm] = r->grad[1].grad_x_norm / r->grad[(size_t)p.depth].grad_x_norm;
        cs_result_free(r);
    }
    double per_layer = pow(ratio[1], 1.0 / (p.depth - 1));
    printf("layer 1 / layer %d gradient: none %.3g, batch norm %.3g (%.3f per layer)\n", p.depth,
           ratio[0], ratio[1], per_layer);
    assert_true(ratio[0] > 0.3 && ratio[0] < 3);
    assert_true(per_layer > 1.12 && per_layer < 1.30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backward_without_norm_matches_finite_differences),
        cmocka_unit_test(test_backward_through_batch_norm_matches_finite_differences),
        cmocka_unit_test(test_backward_through_running_statistics_matches_finite_differences),
        cmocka_unit_test(test_backward_through_dropout_matches_finite_differences),
        cmocka_unit_test(test_weight_regeneration_changes_no_bit),
        cmocka_unit_test(test_grad_forward_is_the_layer_major_run),
        cmocka_unit_test(test_grad_rows_as_documented),
        cmocka_unit_test(test_batch_norm_gradients_explode_towards_the_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
