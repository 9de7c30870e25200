/* The layer rule (sim/model/cs_layer.c, docs/design.md §1 The layer): a
 * whole layer with affine batch norm against torch.nn.Linear +
 * BatchNorm1d + phi in training and eval mode, forward and autograd
 * backward; the forward stages called one by one (as the layer-major
 * schedule calls them) against the composed forward, bit for bit; the
 * backward, gamma and beta included, against central finite differences
 * through batch and given statistics and dropout; BN use by phase; sizes. */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_layer.h"
#include "cs_rng.h"

/* As test_norm's: torch and core differ by a few ulps in BN's sums. */
#define LAYER_RTOL 1e-12
#define LAYER_ATOL 1e-13

static double *load(const char *prefix, const char *name, size_t count)
{
    return cs_test_fixture_block("torch_layer", prefix, name, count);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

static void layer_params(cs_run_params *p, cs_activation act)
{
    cs_params_default(p);
    p->activation = act;
    p->eps = 1e-5;
    p->momentum = 0.1;
    p->dropout = 0;
}

/* A computed array and the fixture block PREFIX MODE_BLOCK it must equal. */
typedef struct {
    const char *block;
    const double *got;
    size_t n;
} fixture_block;

static void check_blocks(const char *prefix, const char *mode, const fixture_block *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char name[64], what[96];
        snprintf(name, sizeof name, "%s_%s", mode, b[k].block);
        snprintf(what, sizeof what, "%s%s", prefix, name);
        double *want = load(prefix, name, b[k].n);
        cs_test_check_close(b[k].got, want, b[k].n, LAYER_RTOL, LAYER_ATOL, what);
        free(want);
    }
}

/* One fixture case in one mode: train = CS_BN_BATCH_UPDATE (batch
 * statistics, then PyTorch's running update), eval = CS_BN_RUNNING. */
static void check_against_torch(const char *prefix, cs_activation act, const char *mode,
                                cs_bn_use use)
{
    double *shape = load(prefix, "shape", 3);
    size_t m = (size_t)shape[0], n_in = (size_t)shape[1], n_out = (size_t)shape[2];
    free(shape);
    cs_run_params p;
    layer_params(&p, act);
    double *x = load(prefix, "x", m * n_in), *W = load(prefix, "W", n_out * n_in);
    double *b = load(prefix, "b", n_out), *gamma = load(prefix, "gamma", n_out);
    double *beta = load(prefix, "beta", n_out), *dpost = load(prefix, "dpost", m * n_out);
    double *rm = load(prefix, "running_mean", n_out), *rv = load(prefix, "running_var", n_out);
    cs_layer L = {1, n_in, n_out, W, b, gamma, beta, rm, rv};
    double *h = xmalloc(m * n_out * sizeof *h), *z = xmalloc(m * n_out * sizeof *z);
    double *post = xmalloc(m * n_out * sizeof *post);
    double *bm = xmalloc(n_out * sizeof *bm), *bv = xmalloc(n_out * sizeof *bv);
    gsl_rng *rng;
    assert_int_equal(cs_rng_alloc(&rng), CS_OK);
    cs_layer_forward(h, z, post, bm, bv, x, &L, &p, use, 0, m, rng);

    const fixture_block fwd[] = {{"h", h, m * n_out},
                                 {"z", z, m * n_out},
                                 {"post", post, m * n_out},
                                 {"running_mean", rm, n_out},
                                 {"running_var", rv, n_out}};
    check_blocks(prefix, mode, fwd, sizeof fwd / sizeof fwd[0]);

    /* Backward from the state the forward left: in eval mode the given
     * statistics (which the forward did not move), in training mode the
     * batch statistics (the running update does not enter the gradient). */
    double *dz = xmalloc(m * n_out * sizeof *dz), *dh = xmalloc(m * n_out * sizeof *dh);
    double *dx = xmalloc(m * n_in * sizeof *dx), *dW = xmalloc(n_out * n_in * sizeof *dW);
    double *db = xmalloc(n_out * sizeof *db), *dgamma = xmalloc(n_out * sizeof *dgamma);
    double *dbeta = xmalloc(n_out * sizeof *dbeta);
    cs_layer grad = {1, n_in, n_out, dW, db, dgamma, dbeta, NULL, NULL};
    cs_layer_backward(dx, &grad, dh, dz, dpost, x, h, z, bm, bv, &L, &p, use, 0, m, rng);
    const fixture_block bwd[] = {{"dz", dz, m * n_out},   {"dh", dh, m * n_out},
                                 {"dx", dx, m * n_in},    {"dW", dW, n_out * n_in},
                                 {"db", db, n_out},       {"dgamma", dgamma, n_out},
                                 {"dbeta", dbeta, n_out}};
    check_blocks(prefix, mode, bwd, sizeof bwd / sizeof bwd[0]);
    double *bufs[] = {x, W, b, gamma, beta, dpost, rm, rv, h, z, post, bm, bv,
                      dz, dh, dx, dW, db, dgamma, dbeta};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        free(bufs[k]);
    cs_rng_free(rng);
}

static void test_layer_matches_torch_in_training_mode(void **state)
{
    (void)state;
    check_against_torch("small_", CS_ACT_TANH, "train", CS_BN_BATCH_UPDATE);
    check_against_torch("large_", CS_ACT_GELU, "train", CS_BN_BATCH_UPDATE);
}

static void test_layer_matches_torch_in_eval_mode(void **state)
{
    (void)state;
    check_against_torch("small_", CS_ACT_TANH, "eval", CS_BN_RUNNING);
    check_against_torch("large_", CS_ACT_GELU, "eval", CS_BN_RUNNING);
}

/* PyTorch's start (design §1 Batch norm), from a fresh BatchNorm1d. */
static void test_initial_running_statistics_are_torchs(void **state)
{
    (void)state;
    double *want_mean = load("", "init_running_mean", 24);
    double *want_var = load("", "init_running_var", 24);
    double mean[24], var[24];
    for (int j = 0; j < 24; j++)
        mean[j] = var[j] = NAN;
    cs_layer_running_init(mean, var, 24);
    assert_memory_equal(mean, want_mean, sizeof mean);
    assert_memory_equal(var, want_var, sizeof var);
    free(want_mean);
    free(want_var);
}

/* ---- the stages, as the layer-major schedule calls them ---- */

/* A layer of random parameters with (or without) affine gamma and beta. */
typedef struct {
    size_t m, n_in, n_out;
    double *x, *W, *b, *gamma, *beta, *rm, *rv;
    cs_layer L;
} random_layer;

static void random_layer_make(random_layer *t, size_t m, size_t n_in, size_t n_out, int affine,
                              unsigned long seed)
{
    gsl_rng *r;
    assert_int_equal(cs_rng_alloc(&r), CS_OK);
    gsl_rng_set(r, seed);
    t->m = m;
    t->n_in = n_in;
    t->n_out = n_out;
    t->x = xmalloc(m * n_in * sizeof(double));
    t->W = xmalloc(n_out * n_in * sizeof(double));
    t->b = xmalloc(n_out * sizeof(double));
    t->gamma = affine ? xmalloc(n_out * sizeof(double)) : NULL;
    t->beta = affine ? xmalloc(n_out * sizeof(double)) : NULL;
    t->rm = xmalloc(n_out * sizeof(double));
    t->rv = xmalloc(n_out * sizeof(double));
    for (size_t i = 0; i < m * n_in; i++)
        t->x[i] = 2 * gsl_rng_uniform(r) - 1 + 0.3;
    for (size_t i = 0; i < n_out * n_in; i++)
        t->W[i] = (2 * gsl_rng_uniform(r) - 1) * 1.5 / sqrt((double)n_in);
    for (size_t j = 0; j < n_out; j++) {
        t->b[j] = 0.2 * (2 * gsl_rng_uniform(r) - 1);
        if (affine) {
            t->gamma[j] = 0.5 + gsl_rng_uniform(r);
            t->beta[j] = gsl_rng_uniform(r) - 0.5;
        }
        t->rm[j] = 0.3 * (2 * gsl_rng_uniform(r) - 1);
        t->rv[j] = 0.5 + gsl_rng_uniform(r);
    }
    t->L = (cs_layer){3, n_in, n_out, t->W, t->b, t->gamma, t->beta, t->rm, t->rv};
    cs_rng_free(r);
}

static void random_layer_free(random_layer *t)
{
    double *bufs[] = {t->x, t->W, t->b, t->gamma, t->beta, t->rm, t->rv};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        free(bufs[k]);
}

/* For every BN use, with and without gamma and beta, with dropout: the
 * composed forward against its stages called one by one as cs_net.c calls
 * them: pre; batch statistics; for ema the running update done apart (in
 * step order, after every step's batch statistics) and the normalisation
 * with a copy of its result; post. Every output and the running
 * statistics are equal bit for bit. */
static void test_forward_stages_give_the_composed_forward_bit_for_bit(void **state)
{
    (void)state;
    const cs_bn_use uses[] = {CS_BN_NONE, CS_BN_BATCH, CS_BN_BATCH_UPDATE, CS_BN_RUNNING,
                              CS_BN_EMA};
    cs_run_params p;
    layer_params(&p, CS_ACT_SELU);
    p.dropout = 0.25;
    p.seed = 11;
    gsl_rng *rng;
    assert_int_equal(cs_rng_alloc(&rng), CS_OK);
    for (int affine = 0; affine < 2; affine++)
        for (size_t u = 0; u < sizeof uses / sizeof uses[0]; u++) {
            random_layer a, b;
            random_layer_make(&a, 9, 7, 5, affine, 100 + u);
            random_layer_make(&b, 9, 7, 5, affine, 100 + u);
            size_t mn = a.m * a.n_out;
            double *h1 = xmalloc(mn * 8), *z1 = xmalloc(mn * 8), *post1 = xmalloc(mn * 8);
            double *h2 = xmalloc(mn * 8), *z2 = xmalloc(mn * 8), *post2 = xmalloc(mn * 8);
            double bm1[5] = {0}, bv1[5] = {0}, bm2[5] = {0}, bv2[5] = {0}, rm[5], rv[5];
            cs_layer_forward(h1, z1, post1, bm1, bv1, a.x, &a.L, &p, uses[u], 4, a.m, rng);

            cs_layer *L = &b.L;
            cs_layer_pre(h2, b.x, L, b.m);
            if (uses[u] == CS_BN_NONE)
                memcpy(z2, h2, mn * sizeof *z2);
            if (uses[u] != CS_BN_NONE && uses[u] != CS_BN_RUNNING)
                cs_layer_norm_batch(z2, bm2, bv2, h2, L, &p, b.m);
            if (uses[u] == CS_BN_BATCH_UPDATE || uses[u] == CS_BN_EMA)
                cs_layer_running_update(L, bm2, bv2, &p, b.m);
            memcpy(rm, b.rm, sizeof rm);
            memcpy(rv, b.rv, sizeof rv);
            if (uses[u] == CS_BN_RUNNING || uses[u] == CS_BN_EMA)
                cs_layer_norm_stats(z2, h2, rm, rv, L, &p, b.m);
            cs_layer_post(post2, z2, L, &p, 4, b.m, rng);

            assert_memory_equal(h1, h2, mn * sizeof *h1);
            assert_memory_equal(z1, z2, mn * sizeof *z1);
            assert_memory_equal(post1, post2, mn * sizeof *post1);
            assert_memory_equal(bm1, bm2, sizeof bm1);
            assert_memory_equal(bv1, bv2, sizeof bv1);
            assert_memory_equal(a.rm, b.rm, sizeof rm);
            assert_memory_equal(a.rv, b.rv, sizeof rv);
            /* and the running statistics moved exactly when the use updates */
            random_layer c;
            random_layer_make(&c, 9, 7, 5, affine, 100 + u);
            int updates = uses[u] == CS_BN_BATCH_UPDATE || uses[u] == CS_BN_EMA;
            assert_int_equal(memcmp(c.rm, a.rm, sizeof rm) != 0, updates);
            /* dropout zeroed some entries of post, never of z */
            size_t zeros = 0;
            for (size_t i = 0; i < mn; i++)
                zeros += post1[i] == 0.0;
            assert_true(zeros > 0 && zeros < mn);
            random_layer_free(&c);
            free(h1), free(z1), free(post1), free(h2), free(z2), free(post2);
            random_layer_free(&a);
            random_layer_free(&b);
        }
    cs_rng_free(rng);
}

/* ---- the backward against finite differences ---- */

/* L(theta) = sum_ij c_ij post_ij for fixed random c: dL/dpost = c. */
static double layer_loss(random_layer *t, const cs_run_params *p, cs_bn_use use,
                         const double *c, gsl_rng *rng, double *h, double *z, double *post,
                         double *bm, double *bv)
{
    cs_layer_forward(h, z, post, bm, bv, t->x, &t->L, p, use, 2, t->m, rng);
    double loss = 0;
    for (size_t i = 0; i < t->m * t->n_out; i++)
        loss += c[i] * post[i];
    return loss;
}

/* Central differences (L(v + e) - L(v - e)) / 2e, e = 1e-6, of every
 * entry of a (n) against grad: truncation e^2 |L'''| / 6 ~ 2e-13 and
 * rounding u |L| / e ~ 1e-10 |L| here (L is a sum of ~30 terms of order
 * 1; batch norm over 6 rows amplifies it, 1.3e-9 measured), so tol = 1e-7
 * (|fd| + |L|) leaves a margin of ~100, while a missing or wrong term is
 * of the order of the gradient itself. */
static double fd_check(random_layer *t, const cs_run_params *p, cs_bn_use use, const double *c,
                       gsl_rng *rng, double *a, const double *grad, size_t n, const char *what,
                       double *h, double *z, double *post, double *bm, double *bv)
{
    const double e = 1e-6, rtol = 1e-7;
    double loss = fabs(layer_loss(t, p, use, c, rng, h, z, post, bm, bv)), worst = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = a[i];
        a[i] = keep + e;
        double up = layer_loss(t, p, use, c, rng, h, z, post, bm, bv);
        a[i] = keep - e;
        double down = layer_loss(t, p, use, c, rng, h, z, post, bm, bv);
        a[i] = keep;
        double fd = (up - down) / (2 * e), err = fabs(fd - grad[i]), scale = fabs(fd) + loss;
        if (err > rtol * scale)
            fail_msg("%s[%zu]: backward %.12g, finite difference %.12g", what, i, grad[i], fd);
        worst = err / scale > worst ? err / scale : worst;
    }
    return worst;
}

/* Through batch statistics (BN's full Jacobian, every row coupled to the
 * others), given statistics (a fixed affine map), no norm, and the
 * per-sample layer norm and RMS norm (each row coupled within itself), with
 * affine gamma and beta and dropout: dx, dW, db, dgamma, dbeta. Without
 * norm, gamma and beta do not enter and their gradients are untouched. */
static void test_backward_matches_finite_differences_including_gamma_beta(void **state)
{
    (void)state;
    const cs_bn_use uses[] = {CS_BN_BATCH, CS_BN_RUNNING, CS_BN_NONE, CS_BN_SAMPLE,
                              CS_BN_SAMPLE};
    const cs_norm_kind norms[] = {CS_NORM_BATCH, CS_NORM_BATCH, CS_NORM_NONE, CS_NORM_LAYER,
                                  CS_NORM_RMS};
    const char *names[] = {"batch statistics", "given statistics", "no norm", "layer norm",
                           "rms norm"};
    cs_run_params p;
    layer_params(&p, CS_ACT_TANH);
    p.dropout = 0.2;
    p.seed = 5;
    gsl_rng *rng;
    assert_int_equal(cs_rng_alloc(&rng), CS_OK);
    for (size_t u = 0; u < 5; u++) {
        random_layer t;
        size_t m = 6, n_in = 4, n_out = 5, mn = m * n_out;
        p.norm = norms[u];
        random_layer_make(&t, m, n_in, n_out, 1, 7 + u);
        double *c = xmalloc(mn * 8), *dpost = xmalloc(mn * 8);
        for (size_t i = 0; i < mn; i++)
            c[i] = sin(1.0 + 3.7 * (double)i);
        double *h = xmalloc(mn * 8), *z = xmalloc(mn * 8), *post = xmalloc(mn * 8);
        double *dz = xmalloc(mn * 8), *dh = xmalloc(mn * 8), *dx = xmalloc(m * n_in * 8);
        double bm[5], bv[5], dW[20], db[5], dgamma[5], dbeta[5];
        for (int j = 0; j < 5; j++)
            dgamma[j] = dbeta[j] = -7.0; /* sentinels: untouched without norm */
        cs_layer grad = {3, n_in, n_out, dW, db, dgamma, dbeta, NULL, NULL};
        layer_loss(&t, &p, uses[u], c, rng, h, z, post, bm, bv);
        memcpy(dpost, c, mn * sizeof *c);
        cs_layer_backward(dx, &grad, dh, dz, dpost, t.x, h, z, bm, bv, &t.L, &p, uses[u], 2, m,
                          rng);
        double worst = 0, e;
        e = fd_check(&t, &p, uses[u], c, rng, t.x, dx, m * n_in, "dx", h, z, post, bm, bv);
        worst = e > worst ? e : worst;
        e = fd_check(&t, &p, uses[u], c, rng, t.W, dW, n_out * n_in, "dW", h, z, post, bm, bv);
        worst = e > worst ? e : worst;
        e = fd_check(&t, &p, uses[u], c, rng, t.b, db, n_out, "db", h, z, post, bm, bv);
        worst = e > worst ? e : worst;
        if (uses[u] != CS_BN_NONE) {
            e = fd_check(&t, &p, uses[u], c, rng, t.gamma, dgamma, n_out, "dgamma", h, z, post,
                         bm, bv);
            worst = e > worst ? e : worst;
            e = fd_check(&t, &p, uses[u], c, rng, t.beta, dbeta, n_out, "dbeta", h, z, post, bm,
                         bv);
            worst = e > worst ? e : worst;
        } else {
            for (int j = 0; j < 5; j++)
                assert_true(dgamma[j] == -7.0 && dbeta[j] == -7.0);
        }
        printf("%s: largest |backward - fd| / (|fd| + |L|) %.3g\n", names[u], worst);
        free(c), free(dpost), free(h), free(z), free(post), free(dz), free(dh), free(dx);
        random_layer_free(&t);
    }
    cs_rng_free(rng);
}

/* ---- BN use and sizes ---- */

/* design §1 Phases: phase A updates; phase B as bn_phase_b says; norm =
 * none never normalises. A replay never updates twice. */
static void test_bn_use_follows_the_phases_and_replay_never_updates(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.steps_a = 2;
    p.steps_b = 3;
    p.norm = CS_NORM_NONE;
    for (int s = 0; s < 5; s++)
        assert_int_equal(cs_layer_bn_use(&p, s), CS_BN_NONE);
    p.norm = CS_NORM_BATCH;
    const cs_bn_phase phases[] = {CS_PHASE_B_BATCH, CS_PHASE_B_FROZEN, CS_PHASE_B_EMA};
    const cs_bn_use in_b[] = {CS_BN_BATCH, CS_BN_RUNNING, CS_BN_EMA};
    for (int k = 0; k < 3; k++) {
        p.bn_phase_b = phases[k];
        assert_int_equal(cs_layer_bn_use(&p, 0), CS_BN_BATCH_UPDATE);
        assert_int_equal(cs_layer_bn_use(&p, 1), CS_BN_BATCH_UPDATE);
        for (int s = 2; s < 5; s++)
            assert_int_equal(cs_layer_bn_use(&p, s), in_b[k]);
    }
    assert_int_equal(cs_layer_bn_replay(CS_BN_BATCH_UPDATE), CS_BN_BATCH);
    assert_int_equal(cs_layer_bn_replay(CS_BN_EMA), CS_BN_RUNNING);
    assert_int_equal(cs_layer_bn_replay(CS_BN_RUNNING), CS_BN_RUNNING);
    assert_int_equal(cs_layer_bn_replay(CS_BN_BATCH), CS_BN_BATCH);
    assert_int_equal(cs_layer_bn_replay(CS_BN_NONE), CS_BN_NONE);
    /* layer and rms: no running statistics, the same in both phases */
    const cs_norm_kind per_sample[] = {CS_NORM_LAYER, CS_NORM_RMS};
    for (int k = 0; k < 2; k++) {
        p.norm = per_sample[k];
        for (int b = 0; b < 3; b++) {
            p.bn_phase_b = phases[b];
            for (int s = 0; s < 5; s++)
                assert_int_equal(cs_layer_bn_use(&p, s), CS_BN_SAMPLE);
        }
    }
    assert_int_equal(cs_layer_bn_replay(CS_BN_SAMPLE), CS_BN_SAMPLE);
}

static void test_layer_sizes(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    p.input_dim = 48;
    p.width = 32;
    assert_int_equal(cs_layer_units(&p, 0), 48);
    assert_int_equal(cs_layer_units(&p, 1), 32);
    assert_int_equal(cs_layer_units(&p, 7), 32);
    assert_int_equal(cs_layer_n_in(&p, 1), 48);
    assert_int_equal(cs_layer_n_in(&p, 2), 32);
    assert_int_equal(cs_layer_max_units(&p), 48);
    p.input_dim = 16;
    assert_int_equal(cs_layer_max_units(&p), 32);
    /* each (step, layer) has its own dropout stream index */
    assert_true(cs_layer_dropout_index(1, 2) != cs_layer_dropout_index(2, 1));
    assert_true(cs_layer_dropout_index(0, 1) != cs_layer_dropout_index(1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_matches_torch_in_training_mode),
        cmocka_unit_test(test_layer_matches_torch_in_eval_mode),
        cmocka_unit_test(test_initial_running_statistics_are_torchs),
        cmocka_unit_test(test_forward_stages_give_the_composed_forward_bit_for_bit),
        cmocka_unit_test(test_backward_matches_finite_differences_including_gamma_beta),
        cmocka_unit_test(test_bn_use_follows_the_phases_and_replay_never_updates),
        cmocka_unit_test(test_layer_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
