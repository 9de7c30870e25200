/* A training run's data (docs/design.md §7; see cs_task.h): the teacher
 * network, pushed through the layer rule of cs_layer.c like every other
 * network, or Fashion-MNIST from its files; the training batches in their
 * order, and the held-out sets A and B. */
#include "cs_task.h"

#include <math.h>
#include <string.h>

#include "cs_corrupt.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_fmnist.h"
#include "cs_layer.h"
#include "cs_loss.h"
#include "cs_rng.h"
#include "cs_weights.h"

struct cs_task {
    cs_run_params p;
    cs_run_params teacher_p; /* the teacher's layer rule: tanh, no norm, no dropout */
    size_t m, d0, K, rows;
    gsl_rng *r;
    /* teacher */
    cs_source *src;
    double *teacher_W, *teacher_b; /* every teacher layer, then its readout */
    cs_layer *teacher;             /* (teacher_depth + 1) views; the last is the readout */
    double *th, *tz, *tx[2];       /* (m, teacher_width) */
    double *ty;                    /* (m, K): the teacher's outputs */
    /* Fashion-MNIST */
    cs_fmnist *train, *test;
    int *order; /* (train_size): the current epoch's order */
    long epoch; /* whose order `order` holds; -1 none */
    cs_task_scaling scale;
    /* held-out A and B */
    double *eval_x[2];   /* (rows, d0) */
    int *eval_labels;    /* (rows) */
    double *eval_targets; /* (rows, K) when criterion = mse */
};

size_t cs_task_outputs(const cs_run_params *p)
{
    return p->task == CS_TASK_FASHION_MNIST ? CS_FMNIST_CLASSES : (size_t)p->outputs;
}

size_t cs_task_eval_rows(const cs_run_params *p)
{
    return (size_t)(p->eval_size / p->batch) * (size_t)p->batch;
}

/* Offset of teacher layer l's W (l = 1 .. teacher_depth + 1, the last the
 * readout), and of its b. */
static size_t cs_task_teacher_w_offset(const cs_run_params *p, int l)
{
    size_t tw = (size_t)p->teacher_width, d0 = (size_t)p->input_dim;
    return l == 1 ? 0 : tw * d0 + (size_t)(l - 2) * tw * tw;
}

/* The task's arrays (one listing for cs_task_alloc and cs_task_plan). */
static void cs_task_arrays(cs_task *t, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, d0 = (size_t)p->input_dim, K = cs_task_outputs(p);
    size_t rows = cs_task_eval_rows(p);
    const char *const heldout = "eval_size or input_dim";
    if (p->task == CS_TASK_TEACHER) {
        size_t tw = (size_t)p->teacher_width, L = (size_t)p->teacher_depth;
        if (plan->count_only)
            cs_source_plan(p, plan);
        CS_ALLOC_TAKE(plan, t->teacher_W, "the teacher's weights",
                      "teacher_depth, teacher_width or input_dim",
                      cs_task_teacher_w_offset(p, (int)L + 1) + K * tw);
        CS_ALLOC_TAKE(plan, t->teacher_b, "the teacher's biases", "teacher_depth or teacher_width",
                      L * tw + K);
        CS_ALLOC_TAKE_ZERO(plan, t->teacher, "the teacher's layers", "teacher_depth", L + 1);
        CS_ALLOC_TAKE(plan, t->th, "the teacher's activations", "batch or teacher_width", m, tw);
        CS_ALLOC_TAKE(plan, t->tz, "the teacher's activations", "batch or teacher_width", m, tw);
        CS_ALLOC_TAKE(plan, t->tx[0], "the teacher's activations", "batch or teacher_width", m, tw);
        CS_ALLOC_TAKE(plan, t->tx[1], "the teacher's activations", "batch or teacher_width", m, tw);
        CS_ALLOC_TAKE(plan, t->ty, "the teacher's outputs", "batch or outputs", m, K);
    } else {
        if (plan->count_only) {
            cs_fmnist_plan((size_t)p->train_size, plan);
            cs_fmnist_plan(rows, plan);
        }
        CS_ALLOC_TAKE(plan, t->order, "the order of the training images", "train_size",
                      (size_t)p->train_size);
    }
    CS_ALLOC_TAKE(plan, t->eval_x[0], "the held-out examples (A)", heldout, rows, d0);
    CS_ALLOC_TAKE(plan, t->eval_x[1], "the held-out examples (B)", heldout, rows, d0);
    CS_ALLOC_TAKE(plan, t->eval_labels, "the held-out classes", "eval_size", rows);
    if (p->criterion == CS_LOSS_MSE)
        CS_ALLOC_TAKE(plan, t->eval_targets, "the held-out targets", "eval_size or outputs", rows,
                      K);
}

void cs_task_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_task t;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_task_arrays(&t, p, &count);
    cs_alloc_plan_add(plan, &count);
}

void cs_task_free(cs_task *t)
{
    if (!t)
        return;
    cs_rng_free(t->r);
    cs_source_free(t->src);
    double *bufs[] = {t->teacher_W, t->teacher_b, t->th,        t->tz,           t->tx[0],
                      t->tx[1],     t->ty,        t->eval_x[0], t->eval_x[1],    t->eval_targets};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
    cs_free(t->teacher);
    cs_free(t->order);
    cs_free(t->eval_labels);
    cs_fmnist_free(t->train);
    cs_fmnist_free(t->test);
    cs_free(t);
}

/* ---- the teacher ---- */

static int cs_task_teacher_make(cs_task *t)
{
    const cs_run_params *p = &t->p;
    size_t tw = (size_t)p->teacher_width, L = (size_t)p->teacher_depth;
    for (size_t l = 1; l <= L + 1; l++) {
        cs_layer *T = &t->teacher[l - 1];
        T->index = (int)l;
        T->n_in = l == 1 ? t->d0 : tw;
        T->n_out = l == L + 1 ? t->K : tw;
        T->W = t->teacher_W + cs_task_teacher_w_offset(p, (int)l);
        T->b = t->teacher_b + (l - 1) * tw;
        int rc = cs_weights_generate_teacher(T->W, T->b, T->n_out, T->n_in, p, (int)l, t->r);
        if (rc != CS_OK)
            return rc;
    }
    /* The teacher is a network of the layer rule (docs/design.md §1) with
     * tanh, no norm and no dropout. */
    t->teacher_p = *p;
    t->teacher_p.activation = CS_ACT_TANH;
    t->teacher_p.norm = CS_NORM_NONE;
    t->teacher_p.dropout = 0;
    return CS_OK;
}

/* The teacher's outputs t->ty (n, K) on x (n, d0), n <= batch. */
static void cs_task_teacher_forward(cs_task *t, const double *x, size_t n)
{
    size_t L = (size_t)t->p.teacher_depth;
    const double *in = x;
    for (size_t l = 1; l <= L; l++) {
        double *out = t->tx[l % 2];
        cs_layer_forward(t->th, t->tz, out, NULL, NULL, in, &t->teacher[l - 1], &t->teacher_p,
                         CS_BN_NONE, 0, n, t->r);
        in = out;
    }
    cs_layer_pre(t->ty, in, &t->teacher[L], n);
}

/* Classes (and mse targets) of n rows: the teacher's outputs, argmax. */
static void cs_task_teacher_label(cs_task *t, const double *x, size_t n, int *labels,
                                  double *targets)
{
    cs_task_teacher_forward(t, x, n);
    cs_loss_argmax(labels, t->ty, n, t->K);
    if (targets)
        memcpy(targets, t->ty, n * t->K * sizeof *targets);
}

/* ---- Fashion-MNIST ---- */

static double cs_task_pixel(const cs_task *t, uint8_t v)
{
    return ((double)v / 255.0 - t->scale.mean) / t->scale.sd;
}

/* docs/design.md §7: the mean and biased sd of v / 255 over every pixel of
 * the training images used, two passes. */
static void cs_task_fashion_scaling(cs_task *t)
{
    size_t n = t->train->count * CS_FMNIST_PIXELS;
    const uint8_t *px = t->train->pixels;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)px[i] / 255.0;
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)px[i] / 255.0 - mean;
        ss += d * d;
    }
    t->scale.mean = mean;
    t->scale.sd = sqrt(ss / (double)n);
    if (!(t->scale.sd > 0)) /* a blank training set: no scale to divide by */
        t->scale.sd = 1.0;
}

/* One-hot rows of the classes (the mse targets of a classification). */
static void cs_task_one_hot(double *targets, const int *labels, size_t n, size_t K)
{
    memset(targets, 0, n * K * sizeof *targets);
    for (size_t i = 0; i < n; i++)
        targets[i * K + (size_t)labels[i]] = 1.0;
}

/* The order of epoch e into t->order (kept while steps stay in it). */
static void cs_task_fashion_order(cs_task *t, long epoch)
{
    if (t->epoch == epoch || (t->epoch >= 0 && t->p.batch_order == CS_ORDER_ORDERED))
        return;
    size_t n = (size_t)t->p.train_size;
    if (t->p.batch_order == CS_ORDER_ORDERED) {
        /* class by class, each class in file order: a counting sort */
        size_t at = 0;
        for (int c = 0; c < CS_FMNIST_CLASSES; c++)
            for (size_t i = 0; i < n; i++)
                if (t->train->labels[i] == c)
                    t->order[at++] = (int)i;
    } else {
        for (size_t i = 0; i < n; i++)
            t->order[i] = (int)i;
        cs_rng_seed(t->r, t->p.seed, CS_STREAM_BATCHES, (uint64_t)epoch);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)gsl_rng_uniform_int(t->r, (unsigned long)(i + 1));
            int tmp = t->order[i];
            t->order[i] = t->order[j];
            t->order[j] = tmp;
        }
    }
    t->epoch = epoch;
}

/* ---- held-out A and B ---- */

static int cs_task_heldout(cs_task *t)
{
    const cs_run_params *p = &t->p;
    size_t rows = t->rows, d0 = t->d0, m = t->m;
    int rc = CS_OK;
    if (p->task == CS_TASK_TEACHER) {
        cs_rng_seed(t->r, p->seed, CS_STREAM_EVAL, 0);
        if ((rc = cs_source_draw(t->src, t->eval_x[0], rows, 0, t->r)) != CS_OK)
            return rc;
        for (size_t i = 0; i < rows; i += m)
            cs_task_teacher_label(t, t->eval_x[0] + i * d0, m, t->eval_labels + i,
                                  t->eval_targets ? t->eval_targets + i * t->K : NULL);
        memcpy(t->eval_x[1], t->eval_x[0], rows * d0 * sizeof *t->eval_x[1]);
    } else {
        /* B corrupts the pixels in [0, 1]; both sets are then scaled alike. */
        for (size_t i = 0; i < rows * d0; i++)
            t->eval_x[1][i] = (double)t->test->pixels[i] / 255.0;
        for (size_t i = 0; i < rows; i++)
            t->eval_labels[i] = t->test->labels[i];
        if (t->eval_targets)
            cs_task_one_hot(t->eval_targets, t->eval_labels, rows, t->K);
    }
    cs_corruption c;
    cs_corrupt_of(&c, p);
    cs_corrupt_apply(&c, t->eval_x[1], rows, d0, 0, t->r);
    if (p->task == CS_TASK_FASHION_MNIST)
        for (size_t i = 0; i < rows * d0; i++) {
            t->eval_x[0][i] = cs_task_pixel(t, t->test->pixels[i]);
            t->eval_x[1][i] = (t->eval_x[1][i] - t->scale.mean) / t->scale.sd;
        }
    return CS_OK;
}

int cs_task_alloc(cs_task **out, const cs_run_params *p)
{
    *out = NULL;
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    if (!p->train)
        return cs_error_set(CS_EINVAL, "a task needs a training run (train = true)");
    cs_task *t = cs_calloc(1, sizeof *t);
    if (!t)
        return cs_error_code();
    t->p = *p;
    t->m = (size_t)p->batch;
    t->d0 = (size_t)p->input_dim;
    t->K = cs_task_outputs(p);
    t->rows = cs_task_eval_rows(p);
    t->epoch = -1;
    t->scale = (cs_task_scaling){0.0, 1.0};
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_task_arrays(t, p, &plan);
    if ((rc = plan.rc) != CS_OK || (rc = cs_rng_alloc(&t->r)) != CS_OK)
        goto fail;
    if (p->task == CS_TASK_TEACHER) {
        if ((rc = cs_source_alloc(&t->src, p)) != CS_OK || (rc = cs_task_teacher_make(t)) != CS_OK)
            goto fail;
    } else {
        const char *dir = cs_fmnist_dir();
        if ((rc = cs_fmnist_load(&t->train, dir, CS_FMNIST_PART_TRAIN, (size_t)p->train_size)) !=
                CS_OK ||
            (rc = cs_fmnist_load(&t->test, dir, CS_FMNIST_PART_TEST, t->rows)) != CS_OK)
            goto fail;
        cs_task_fashion_scaling(t);
    }
    if ((rc = cs_task_heldout(t)) != CS_OK)
        goto fail;
    *out = t;
    return CS_OK;
fail:
    cs_task_free(t);
    return rc;
}

int cs_task_batch(cs_task *t, int step, double *x0, int *labels, double *targets)
{
    const cs_run_params *p = &t->p;
    size_t m = t->m, d0 = t->d0;
    if (step < 0)
        return cs_error_set(CS_EINVAL, "no training batch for step %d", step);
    if (p->task == CS_TASK_TEACHER) {
        cs_rng_seed(t->r, p->seed, CS_STREAM_BATCHES, (uint64_t)step);
        int rc = cs_source_draw(t->src, x0, m, p->batch_order == CS_ORDER_ORDERED, t->r);
        if (rc != CS_OK)
            return rc;
        cs_task_teacher_label(t, x0, m, labels, p->criterion == CS_LOSS_MSE ? targets : NULL);
        return CS_OK;
    }
    long per_epoch = p->train_size / p->batch;
    cs_task_fashion_order(t, step / per_epoch);
    const int *idx = t->order + (size_t)(step % per_epoch) * m;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *px = t->train->pixels + (size_t)idx[i] * CS_FMNIST_PIXELS;
        for (size_t j = 0; j < d0; j++)
            x0[i * d0 + j] = cs_task_pixel(t, px[j]);
        labels[i] = t->train->labels[idx[i]];
    }
    if (targets && p->criterion == CS_LOSS_MSE)
        cs_task_one_hot(targets, labels, m, t->K);
    return CS_OK;
}

const double *cs_task_eval_inputs(const cs_task *t, int set) { return t->eval_x[set != 0]; }
const int *cs_task_eval_labels(const cs_task *t) { return t->eval_labels; }
const double *cs_task_eval_targets(const cs_task *t) { return t->eval_targets; }
cs_task_scaling cs_task_scale(const cs_task *t) { return t->scale; }
