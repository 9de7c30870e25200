/* The training step (sim/run/cs_train.c, docs/design.md §7): the whole
 * gradient (dense W and b, batch norm's gamma and beta, the readout)
 * against central finite differences of the loss, for cross-entropy with
 * affine batch norm and for MSE without; three SGD-with-momentum steps
 * against torch.optim.SGD on the same weights and batches (fixture
 * tests/fixtures/torch_train.txt from tests/gen_fixture_train.py), the
 * running statistics included; learning rate 0 leaves every weight as it
 * was; and a teacher task's held-out loss falling below a bound derived
 * from its targets. */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_params.h"
#include "cs_result.h"
#include "cs_task.h"
#include "cs_train.h"
#include "cs_train_result.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* A small training network: depth 2 of width w on input_dim d0, K outputs. */
static void train_params(cs_run_params *p, int bn, cs_loss_kind criterion, cs_activation act,
                         int d0, int w, int K, int m)
{
    cs_params_default(p);
    p->train = 1;
    p->task = CS_TASK_TEACHER;
    p->criterion = criterion;
    p->depth = 2;
    p->width = w;
    p->input_dim = d0;
    p->outputs = K;
    p->batch = m;
    p->activation = act;
    p->norm = bn ? CS_NORM_BATCH : CS_NORM_NONE;
    p->affine = bn;
    p->dropout = 0;
    p->eps = 1e-5;
    p->momentum = 0.1;
    p->seed = 7;
    assert_int_equal(cs_params_validate(p), CS_OK);
}

/* Deterministic inputs, classes and targets that are not special. */
static void fill_batch(double *x, int *labels, double *targets, size_t m, size_t d0, size_t K)
{
    for (size_t i = 0; i < m * d0; i++)
        x[i] = 1.3 * sin(1.7 * (double)i + 0.3) + 0.2;
    for (size_t i = 0; i < m; i++)
        labels[i] = (int)((i * 7 + 1) % K);
    for (size_t i = 0; i < m * K; i++)
        targets[i] = cos(0.9 * (double)i);
}

static const char *kind_name(cs_tensor_kind kind)
{
    static const char *const names[] = {"W", "b", "gamma", "beta"};
    return names[kind];
}

/* ---- finite differences ---- */

static void check_fd(int bn, cs_loss_kind criterion, cs_activation act)
{
    const int d0 = 3, w = 4, K = 3, m = 5;
    cs_run_params p;
    train_params(&p, bn, criterion, act, d0, w, K, m);
    cs_train *t = NULL;
    assert_int_equal(cs_train_alloc(&t, &p), CS_OK);
    size_t nt = 0;
    cs_train_tensor *tens = cs_train_tensors(t, &nt);
    assert_int_equal(nt, bn ? 2 * 4 + 2 : 2 * 2 + 2);
    /* Away from gamma = 1, beta = 0 and b = 0, so each enters the gradient. */
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < tens[k].n; i++)
            if (tens[k].kind != CS_TENSOR_W)
                tens[k].param[i] = (tens[k].kind == CS_TENSOR_GAMMA ? 1.0 : 0.0) +
                                   0.3 * sin(2.1 * (double)(i + 3 * k) + 0.5);
    double *x = xmalloc((size_t)(m * d0) * sizeof *x), *tg = xmalloc((size_t)(m * K) * sizeof *tg);
    int *lab = xmalloc((size_t)m * sizeof *lab);
    fill_batch(x, lab, tg, (size_t)m, (size_t)d0, (size_t)K);
    double loss;
    assert_int_equal(cs_train_gradient(t, 0, x, lab, tg, &loss), CS_OK);
    assert_true(loss > 0 && isfinite(loss));
    assert_true(fabs(cs_train_loss(t, 0, x, lab, tg) - loss) <= 1e-15 * loss);
    int kinds_seen[2][4] = {{0}};
    for (size_t k = 0; k < nt; k++) {
        kinds_seen[tens[k].layer == p.depth + 1][tens[k].kind] = 1;
        for (size_t i = 0; i < tens[k].n; i++) {
            double *v = &tens[k].param[i], keep = *v, h = 1e-5;
            *v = keep + h;
            double up = cs_train_loss(t, 0, x, lab, tg);
            *v = keep - h;
            double down = cs_train_loss(t, 0, x, lab, tg);
            *v = keep;
            double fd = (up - down) / (2 * h), g = tens[k].grad[i];
            /* Central differences: O(h^2) truncation, rounding ~ eps L / h. */
            if (fabs(fd - g) > 1e-7 + 1e-6 * fabs(fd))
                fail_msg("layer %d %s[%zu]: backward %.12g, finite differences %.12g",
                         tens[k].layer, kind_name(tens[k].kind), i, g, fd);
        }
    }
    /* Every kind of tensor was checked: dense, readout, and with batch norm its affine. */
    assert_true(kinds_seen[0][CS_TENSOR_W] && kinds_seen[0][CS_TENSOR_B]);
    assert_true(kinds_seen[1][CS_TENSOR_W] && kinds_seen[1][CS_TENSOR_B]);
    assert_int_equal(kinds_seen[0][CS_TENSOR_GAMMA] && kinds_seen[0][CS_TENSOR_BETA], bn);
    free(x);
    free(tg);
    free(lab);
    cs_train_free(t);
}

static void test_gradient_bn_cross_entropy(void **state)
{
    (void)state;
    check_fd(1, CS_LOSS_CROSS_ENTROPY, CS_ACT_TANH);
}

static void test_gradient_mse(void **state)
{
    (void)state;
    check_fd(0, CS_LOSS_MSE, CS_ACT_SIGMOID);
}

/* ---- against torch.optim.SGD ---- */

#define TRAIN_FIX "torch_train"
#define TORCH_TOL 1e-12

static double *load(const char *prefix, const char *name, size_t n)
{
    return cs_test_fixture_block(TRAIN_FIX, prefix, name, n);
}

static void check_torch(const char *prefix, int bn)
{
    double *shape = load(prefix, "shape", 4), *hyper = load(prefix, "hyper", 5);
    int m = (int)shape[0], d0 = (int)shape[1], w = (int)shape[2], K = (int)shape[3];
    cs_run_params p;
    train_params(&p, bn, bn ? CS_LOSS_CROSS_ENTROPY : CS_LOSS_MSE, CS_ACT_TANH, d0, w, K, m);
    p.lr = hyper[0];
    p.sgd_momentum = hyper[1];
    p.weight_decay = hyper[2];
    p.eps = hyper[3];
    p.momentum = hyper[4];
    free(shape);
    free(hyper);
    cs_train *t = NULL;
    assert_int_equal(cs_train_alloc(&t, &p), CS_OK);
    size_t nt = 0;
    cs_train_tensor *tens = cs_train_tensors(t, &nt);
    char name[96];
    for (size_t k = 0; k < nt; k++) {
        snprintf(name, sizeof name, "init_%d_%s", tens[k].layer, kind_name(tens[k].kind));
        double *v = load(prefix, name, tens[k].n);
        memcpy(tens[k].param, v, tens[k].n * sizeof *v);
        free(v);
    }
    double *x = NULL, *tg = NULL;
    int *lab = xmalloc((size_t)m * sizeof *lab);
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof name, "x_%d", s);
        x = load(prefix, name, (size_t)(m * d0));
        if (bn) {
            snprintf(name, sizeof name, "labels_%d", s);
            double *l = load(prefix, name, (size_t)m);
            for (int i = 0; i < m; i++)
                lab[i] = (int)l[i];
            free(l);
        } else {
            snprintf(name, sizeof name, "targets_%d", s);
            tg = load(prefix, name, (size_t)(m * K));
            for (int i = 0; i < m; i++)
                lab[i] = 0;
        }
        double loss = NAN;
        assert_int_equal(cs_train_step(t, s, x, lab, tg, &loss, NULL), CS_OK);
        snprintf(name, sizeof name, "loss_%d", s);
        double *want = load(prefix, name, 1);
        cs_test_check_close(&loss, want, 1, TORCH_TOL, 0, name);
        free(want);
        for (size_t k = 0; k < nt; k++) {
            snprintf(name, sizeof name, "step_%d_%d_%s", s, tens[k].layer,
                     kind_name(tens[k].kind));
            want = load(prefix, name, tens[k].n);
            char what[128];
            snprintf(what, sizeof what, "%s%s", prefix, name);
            cs_test_check_close(tens[k].param, want, tens[k].n, TORCH_TOL, TORCH_TOL, what);
            free(want);
        }
        for (int l = 1; bn && l <= p.depth; l++) {
            cs_layer L;
            assert_int_equal(cs_train_layer(t, l, &L), CS_OK);
            const char *which[2] = {"rm", "rv"};
            const double *got[2] = {L.running_mean, L.running_var};
            for (int k = 0; k < 2; k++) {
                snprintf(name, sizeof name, "step_%d_%d_%s", s, l, which[k]);
                want = load(prefix, name, (size_t)w);
                cs_test_check_close(got[k], want, (size_t)w, TORCH_TOL, TORCH_TOL, name);
                free(want);
            }
        }
        free(x);
        free(tg);
        x = tg = NULL;
    }
    free(lab);
    cs_train_free(t);
}

static void test_sgd_bn_against_torch(void **state)
{
    (void)state;
    check_torch("bn_", 1);
}

static void test_sgd_mse_against_torch(void **state)
{
    (void)state;
    check_torch("mse_", 0);
}

/* ---- learning rate 0 ---- */

static void test_lr_zero_leaves_weights(void **state)
{
    (void)state;
    const int d0 = 3, w = 4, K = 3, m = 5;
    cs_run_params p;
    train_params(&p, 1, CS_LOSS_CROSS_ENTROPY, CS_ACT_TANH, d0, w, K, m);
    p.lr = 0;
    p.sgd_momentum = 0.9;
    p.weight_decay = 0.1;
    cs_train *t = NULL;
    assert_int_equal(cs_train_alloc(&t, &p), CS_OK);
    size_t nt = 0;
    cs_train_tensor *tens = cs_train_tensors(t, &nt);
    double **before = xmalloc(nt * sizeof *before);
    for (size_t k = 0; k < nt; k++) {
        before[k] = xmalloc(tens[k].n * sizeof **before);
        memcpy(before[k], tens[k].param, tens[k].n * sizeof **before);
    }
    double *x = xmalloc((size_t)(m * d0) * sizeof *x), *tg = xmalloc((size_t)(m * K) * sizeof *tg);
    int *lab = xmalloc((size_t)m * sizeof *lab);
    fill_batch(x, lab, tg, (size_t)m, (size_t)d0, (size_t)K);
    double first = NAN, loss = NAN;
    for (int s = 0; s < 4; s++) {
        assert_int_equal(cs_train_step(t, s, x, lab, tg, &loss, NULL), CS_OK);
        if (s == 0)
            first = loss;
        assert_true(loss == first); /* the same weights and batch: the same loss */
    }
    size_t moved = 0;
    for (size_t k = 0; k < nt; k++) {
        assert_memory_equal(tens[k].param, before[k], tens[k].n * sizeof **before);
        for (size_t i = 0; i < tens[k].n; i++)
            moved += tens[k].buf[i] != 0; /* the momentum did move: the step ran */
        free(before[k]);
    }
    assert_true(moved > 0);
    free(before);
    free(x);
    free(tg);
    free(lab);
    cs_train_free(t);
}

/* ---- a teacher task learns ---- */

/* MSE on the teacher's outputs: predicting the mean target for every input
 * gives the targets' variance V (per output, averaged), the loss of a
 * readout that learned nothing but its bias. A network that learned the
 * teacher's function must do much better; 0.05 V (R^2 > 0.95) after 1500
 * steps is what a depth-2 student of the teacher's width reaches with a
 * wide margin (measured 0.003 V), while the initial loss is above V. */
static void test_teacher_loss_falls(void **state)
{
    (void)state;
    cs_run_params p;
    train_params(&p, 0, CS_LOSS_MSE, CS_ACT_TANH, 8, 32, 2, 32);
    p.train_steps = 1500;
    p.eval_every = 1500;
    p.eval_size = 512;
    p.lr = 0.05;
    p.sgd_momentum = 0.9;
    p.teacher_depth = 1;
    p.teacher_width = 16;
    assert_int_equal(cs_params_validate(&p), CS_OK);
    cs_task *task = NULL;
    assert_int_equal(cs_task_alloc(&task, &p), CS_OK);
    size_t n = cs_task_eval_rows(&p), K = (size_t)p.outputs;
    const double *tg = cs_task_eval_targets(task);
    double V = 0;
    for (size_t j = 0; j < K; j++) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            mean += tg[i * K + j] / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (tg[i * K + j] - mean) * (tg[i * K + j] - mean);
        V += ss / (double)n / (double)K;
    }
    cs_task_free(task);
    assert_true(V > 0);
    cs_result *r = NULL;
    assert_int_equal(cs_result_alloc(&r, &p), CS_OK);
    assert_int_equal(cs_train_run(&p, r), CS_OK);
    const cs_train_result *tr = r->train;
    assert_int_equal(tr->nevals, 2);
    double start = tr->eval[0].loss, end = tr->eval[(size_t)(tr->nevals - 1) * 2 * tr->nmodes].loss;
    print_message("teacher: V %.4g, held-out A loss %.4g at step 0, %.4g at step %d\n", V, start,
                  end, p.train_steps);
    assert_true(start > V);
    assert_true(end < 0.05 * V);
    cs_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_bn_cross_entropy),
        cmocka_unit_test(test_gradient_mse),
        cmocka_unit_test(test_sgd_bn_against_torch),
        cmocka_unit_test(test_sgd_mse_against_torch),
        cmocka_unit_test(test_lr_zero_leaves_weights),
        cmocka_unit_test(test_teacher_loss_falls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
