/* The training schedule (docs/design.md §7; see cs_train.h): step-major,
 * every layer resident, each step a forward and backward over cs_layer
 * (no copy of the layer rule), a readout, a loss of core/cs_loss.c and
 * core/cs_sgd.c's update of every tensor. */
#include "cs_train.h"

#include <math.h>
#include <string.h>

#include "cs_error.h"
#include "cs_loss.h"
#include "cs_rng.h"
#include "cs_sgd.h"
#include "cs_task.h"
#include "cs_weights.h"

struct cs_train {
    cs_run_params p;
    size_t m, d0, w, K, dmax;
    int depth;
    cs_weights *weights;    /* owned: W, b, gamma, beta, running statistics */
    double *readout_W;      /* (K, w) */
    double *readout_b;      /* (K) */
    cs_train_tensor *tensors;
    size_t ntensors;
    size_t *first_tensor;   /* (depth + 2): layer l's tensors start at first_tensor[l] */
    double *grad, *buf, *old; /* (P) each: every tensor's, in tensor order */
    /* one batch's forward: x[l] for l = 0..depth, h, z and batch statistics for l >= 1 */
    double *x;              /* (depth + 1, m dmax) */
    double *h, *z;          /* (depth, m w) */
    double *bm, *bv;        /* (depth, w) */
    double *y, *dy;         /* (m, K) */
    double *dx[2];          /* (m, dmax): gradients of a layer's output and input */
    double *dz, *dh;        /* (m, w) */
    double *gprime;         /* (w dmax): G' of one layer (K w <= w dmax: the readout's) */
    gsl_rng *rng;
};

#define X(t, l) ((t)->x + (size_t)(l) * (t)->m * (t)->dmax)
#define H(t, l) ((t)->h + (size_t)((l) - 1) * (t)->m * (t)->w)
#define Z(t, l) ((t)->z + (size_t)((l) - 1) * (t)->m * (t)->w)
#define BM(t, l) ((t)->bm + (size_t)((l) - 1) * (t)->w)
#define BV(t, l) ((t)->bv + (size_t)((l) - 1) * (t)->w)

/* The parameters, counted once: per layer W (w n_in), b (w), gamma and
 * beta (w each) with affine batch norm; the readout's W (K w) and b (K). */
static int cs_train_affine(const cs_run_params *p)
{
    return p->norm == CS_NORM_BATCH && p->affine;
}

static size_t cs_train_ntensors(const cs_run_params *p)
{
    return (size_t)p->depth * (cs_train_affine(p) ? 4 : 2) + 2;
}

/* Entries of tensor k of layer l. */
static size_t cs_train_tensor_size(const cs_run_params *p, int layer, cs_tensor_kind kind)
{
    size_t w = (size_t)p->width, K = cs_task_outputs(p);
    if (layer == p->depth + 1)
        return kind == CS_TENSOR_W ? K * w : K;
    return kind == CS_TENSOR_W ? w * cs_layer_n_in(p, layer) : w;
}

/* P, the number of parameters; SIZE_MAX when it overflows. */
static size_t cs_train_nparams(const cs_run_params *p)
{
    size_t total = 0;
    int kinds = cs_train_affine(p) ? 4 : 2;
    for (int l = 1; l <= p->depth + 1; l++)
        for (int k = 0; k < (l > p->depth ? 2 : kinds); k++)
            if (cs_size_add(&total, total, cs_train_tensor_size(p, l, (cs_tensor_kind)k)) != CS_OK)
                return SIZE_MAX;
    return total;
}

/* The arrays of t (one listing for cs_train_alloc and cs_train_plan). */
static void cs_train_arrays(cs_train *t, const cs_run_params *p, cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, w = (size_t)p->width, dmax = cs_layer_max_units(p);
    size_t L = (size_t)p->depth, K = cs_task_outputs(p), P = cs_train_nparams(p);
    const char *const params = "depth, width or input_dim";
    const char *const acts = "depth, batch, width or input_dim";
    cs_weights_mode mode = {.owned = 1, .affine = cs_train_affine(p),
                            .running = p->norm == CS_NORM_BATCH};
    if (plan->count_only)
        cs_weights_plan(p, &mode, plan);
    else if (cs_weights_alloc(&t->weights, p, &mode) != CS_OK)
        cs_alloc_plan_failed(plan, "the weights of every layer", params);
    CS_ALLOC_TAKE(plan, t->readout_W, "the readout's weights", "width or outputs", K, w);
    CS_ALLOC_TAKE(plan, t->readout_b, "the readout's biases", "outputs", K);
    CS_ALLOC_TAKE_ZERO(plan, t->tensors, "the tensor table", "depth", cs_train_ntensors(p));
    CS_ALLOC_TAKE_ZERO(plan, t->first_tensor, "the tensor table", "depth", L + 2);
    CS_ALLOC_TAKE_ZERO(plan, t->grad, "the gradients of every layer", params, P);
    CS_ALLOC_TAKE_ZERO(plan, t->buf, "the momentum of every layer", params, P);
    CS_ALLOC_TAKE_ZERO(plan, t->old, "the weights before a recorded step", params, P);
    CS_ALLOC_TAKE_ZERO(plan, t->x, "the activations of every layer", acts, L + 1, m, dmax);
    CS_ALLOC_TAKE_ZERO(plan, t->h, "the pre-activations of every layer", acts, L, m, w);
    CS_ALLOC_TAKE_ZERO(plan, t->z, "the normalised values of every layer", acts, L, m, w);
    CS_ALLOC_TAKE_ZERO(plan, t->bm, "the batch statistics of every layer", "depth or width", L, w);
    CS_ALLOC_TAKE_ZERO(plan, t->bv, "the batch statistics of every layer", "depth or width", L, w);
    CS_ALLOC_TAKE(plan, t->y, "the readout's outputs", "batch or outputs", m, K);
    CS_ALLOC_TAKE(plan, t->dy, "the gradient of the outputs", "batch or outputs", m, K);
    for (int k = 0; k < 2; k++)
        CS_ALLOC_TAKE(plan, t->dx[k], "the gradients of a layer's output", "batch, width or "
                      "input_dim", m, dmax);
    CS_ALLOC_TAKE(plan, t->dz, "the gradients of a layer's normalised values", "batch or width",
                  m, w);
    CS_ALLOC_TAKE(plan, t->dh, "the gradients of a layer's pre-activations", "batch or width", m,
                  w);
    CS_ALLOC_TAKE(plan, t->gprime, "one layer's gradient after the update below it",
                  "width, input_dim or outputs", (K > dmax ? K : dmax), w);
}

void cs_train_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_train t;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_train_arrays(&t, p, &count);
    cs_alloc_plan_add(plan, &count);
}

void cs_train_free(cs_train *t)
{
    if (!t)
        return;
    cs_weights_free(t->weights);
    double *bufs[] = {t->readout_W, t->readout_b, t->grad, t->buf,   t->old, t->x,
                      t->h,         t->z,         t->bm,   t->bv,    t->y,   t->dy,
                      t->dx[0],     t->dx[1],     t->dz,   t->dh,    t->gprime};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
    cs_free(t->tensors);
    cs_free(t->first_tensor);
    cs_rng_free(t->rng);
    cs_free(t);
}

int cs_train_layer(cs_train *t, int layer, cs_layer *out)
{
    if (layer == t->depth + 1) {
        *out = (cs_layer){.index = layer, .n_in = t->w, .n_out = t->K, .W = t->readout_W,
                          .b = t->readout_b};
        return CS_OK;
    }
    return cs_weights_layer(t->weights, layer, out);
}

/* The tensor table: views of every parameter with its slices of grad,
 * buf and old. */
static int cs_train_tensors_make(cs_train *t)
{
    size_t at = 0, k = 0;
    int kinds = cs_train_affine(&t->p) ? 4 : 2;
    for (int l = 1; l <= t->depth + 1; l++) {
        cs_layer L;
        int rc = cs_train_layer(t, l, &L);
        if (rc != CS_OK)
            return rc;
        double *params[4] = {L.W, L.b, L.gamma, L.beta};
        t->first_tensor[l] = k;
        for (int kind = 0; kind < (l > t->depth ? 2 : kinds); kind++) {
            cs_train_tensor *T = &t->tensors[k++];
            T->n = cs_train_tensor_size(&t->p, l, (cs_tensor_kind)kind);
            T->param = params[kind];
            T->grad = t->grad + at;
            T->buf = t->buf + at;
            T->old = t->old + at;
            T->layer = l;
            T->kind = (cs_tensor_kind)kind;
            at += T->n;
        }
    }
    t->ntensors = k;
    return CS_OK;
}

int cs_train_alloc(cs_train **out, const cs_run_params *p)
{
    *out = NULL;
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    if (!p->train)
        return cs_error_set(CS_EINVAL, "cs_train_alloc: train = false");
    cs_train *t = cs_calloc(1, sizeof *t);
    if (!t)
        return cs_error_code();
    t->p = *p;
    t->m = (size_t)p->batch;
    t->d0 = cs_layer_units(p, 0);
    t->w = cs_layer_units(p, 1);
    t->K = cs_task_outputs(p);
    t->dmax = cs_layer_max_units(p);
    t->depth = p->depth;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_train_arrays(t, p, &plan);
    if ((rc = plan.rc) != CS_OK || (rc = cs_rng_alloc(&t->rng)) != CS_OK ||
        (rc = cs_weights_generate_readout(t->readout_W, t->readout_b, t->K, t->w, p, t->rng)) !=
            CS_OK ||
        (rc = cs_train_tensors_make(t)) != CS_OK)
        goto fail;
    *out = t;
    return CS_OK;
fail:
    cs_train_free(t);
    return rc;
}

cs_train_tensor *cs_train_tensors(cs_train *t, size_t *ntensors)
{
    *ntensors = t->ntensors;
    return t->tensors;
}

/* Layer l's view with its parameters taken from the tensors' old copies
 * when old is set (Santurkar's G': the layers at and above l before the
 * update). The running statistics stay the live ones. */
static void cs_train_view(cs_train *t, int l, int old, cs_layer *L)
{
    cs_train_layer(t, l, L); /* l is in range: cannot fail */
    if (!old)
        return;
    const cs_train_tensor *T = &t->tensors[t->first_tensor[l]];
    L->W = T[0].old;
    L->b = T[1].old;
    if (l <= t->depth && cs_train_affine(&t->p)) {
        L->gamma = T[2].old;
        L->beta = T[3].old;
    }
}

/* The layer gradients' view: dW, db, dgamma, dbeta of layer l. */
static cs_layer cs_train_grad_view(cs_train *t, int l)
{
    const cs_train_tensor *T = &t->tensors[t->first_tensor[l]];
    cs_layer g = {.W = T[0].grad, .b = T[1].grad};
    if (l <= t->depth && cs_train_affine(&t->p)) {
        g.gamma = T[2].grad;
        g.beta = T[3].grad;
    }
    return g;
}

/* Forward from layer `first` (X(first - 1) holds its input) through the
 * readout into t->y, with layers >= old_from at their old values. */
static void cs_train_forward(cs_train *t, int step, int first, int old_from, cs_bn_use use)
{
    cs_layer L;
    for (int l = first; l <= t->depth; l++) {
        cs_train_view(t, l, l >= old_from, &L);
        cs_layer_forward(H(t, l), Z(t, l), X(t, l), BM(t, l), BV(t, l), X(t, l - 1), &L, &t->p,
                         use, (uint64_t)step, t->m, t->rng);
    }
    cs_train_view(t, t->depth + 1, t->depth + 1 >= old_from, &L);
    cs_layer_pre(t->y, X(t, t->depth), &L, t->m);
}

/* L of t->y and dL/dy into t->dy. */
static double cs_train_loss_grad(cs_train *t, const int *labels, const double *targets)
{
    if (t->p.criterion == CS_LOSS_MSE)
        return cs_loss_mse(t->dy, t->y, targets, t->m, t->K);
    return cs_loss_cross_entropy(t->dy, t->y, labels, t->m, t->K);
}

/* Backward from dL/dy down to layer `last` (>= 1), after cs_train_forward
 * with the same old_from and use. full: every layer's gradients into the
 * tensors' grad. Else only dL/dW of layer `last` (Santurkar's G'), into
 * t->gprime. */
static void cs_train_backward(cs_train *t, int step, int last, int old_from, cs_bn_use use,
                              int full)
{
    size_t m = t->m;
    cs_layer L, g;
    int top = t->depth + 1, cur = 0;
    cs_train_view(t, top, top >= old_from, &L);
    g = full ? cs_train_grad_view(t, top) : (cs_layer){.W = last == top ? t->gprime : NULL};
    cs_layer_pre_backward(last < top ? t->dx[cur] : NULL, g.W, g.b, t->dy, X(t, t->depth), &L, m);
    for (int l = t->depth; l >= last; l--) {
        cs_train_view(t, l, l >= old_from, &L);
        if (full)
            g = cs_train_grad_view(t, l);
        else
            g = (cs_layer){.W = l == last ? t->gprime : NULL};
        double *dx_in = l > last ? t->dx[!cur] : NULL;
        cs_layer_backward(dx_in, &g, t->dh, t->dz, t->dx[cur], X(t, l - 1), H(t, l), Z(t, l),
                          BM(t, l), BV(t, l), &L, &t->p, use, (uint64_t)step, m, t->rng);
        cur = !cur;
    }
}

static cs_bn_use cs_train_use(const cs_train *t)
{
    return t->p.norm == CS_NORM_BATCH ? CS_BN_BATCH_UPDATE : CS_BN_NONE;
}

int cs_train_gradient(cs_train *t, int step, const double *x0, const int *labels,
                      const double *targets, double *loss)
{
    cs_bn_use use = cs_layer_bn_replay(cs_train_use(t));
    memcpy(X(t, 0), x0, t->m * t->d0 * sizeof *x0);
    cs_train_forward(t, step, 1, t->depth + 2, use);
    *loss = cs_train_loss_grad(t, labels, targets);
    cs_train_backward(t, step, 1, t->depth + 2, use, 1);
    return CS_OK;
}

double cs_train_loss(cs_train *t, int step, const double *x0, const int *labels,
                     const double *targets)
{
    memcpy(X(t, 0), x0, t->m * t->d0 * sizeof *x0);
    cs_train_forward(t, step, 1, t->depth + 2, cs_layer_bn_replay(cs_train_use(t)));
    return cs_train_loss_grad(t, labels, targets);
}

static double cs_train_norm(const double *a, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += a[i] * a[i];
    return sqrt(ss);
}

/* The gradient and weight norms of every layer (before the update). */
static void cs_train_norms(cs_train *t, cs_train_layer_row *rows)
{
    for (int l = 1; l <= t->depth + 1; l++) {
        cs_train_layer_row *row = &rows[l - 1];
        const cs_train_tensor *T = &t->tensors[t->first_tensor[l]];
        int affine = l <= t->depth && cs_train_affine(&t->p);
        row->grad_w_norm = cs_train_norm(T[0].grad, T[0].n);
        row->grad_b_norm = cs_train_norm(T[1].grad, T[1].n);
        row->grad_gamma_norm = affine ? cs_train_norm(T[2].grad, T[2].n) : NAN;
        row->grad_beta_norm = affine ? cs_train_norm(T[3].grad, T[3].n) : NAN;
        row->weight_norm = cs_train_norm(T[0].param, T[0].n);
    }
}

/* Santurkar et al. 2018, Sec. 2.2: for each layer i, G'_i = dL/dW_i on the
 * same batch with layers 1..i-1 at their updated values and layers i..top
 * as before the update (their `old` copies). The updated prefix is
 * computed once: after G'_i, layer i's new forward extends it to X(i). */
static void cs_train_ics(cs_train *t, int step, const int *labels, const double *targets,
                         cs_train_layer_row *rows)
{
    cs_bn_use use = cs_layer_bn_replay(cs_train_use(t));
    int top = t->depth + 1;
    for (int i = 1; i <= top; i++) {
        cs_train_forward(t, step, i, i, use);
        cs_train_loss_grad(t, labels, targets);
        cs_train_backward(t, step, i, i, use, 0);
        const cs_train_tensor *G = &t->tensors[t->first_tensor[i]];
        double diff = 0, dot = 0, gg = 0, pp = 0;
        for (size_t k = 0; k < G->n; k++) {
            double a = G->grad[k], b = t->gprime[k];
            diff += (a - b) * (a - b);
            dot += a * b;
            gg += a * a;
            pp += b * b;
        }
        rows[i - 1].ics_l2 = sqrt(diff);
        rows[i - 1].ics_cos = gg > 0 && pp > 0 ? dot / (sqrt(gg) * sqrt(pp)) : NAN;
        if (i <= t->depth) {
            cs_layer L;
            cs_train_view(t, i, 0, &L);
            cs_layer_forward(H(t, i), Z(t, i), X(t, i), BM(t, i), BV(t, i), X(t, i - 1), &L,
                             &t->p, use, (uint64_t)step, t->m, t->rng);
        }
    }
}

int cs_train_step(cs_train *t, int step, const double *x0, const int *labels,
                  const double *targets, double *loss, cs_train_layer_row *rows)
{
    const cs_run_params *p = &t->p;
    cs_bn_use use = cs_train_use(t);
    memcpy(X(t, 0), x0, t->m * t->d0 * sizeof *x0);
    cs_train_forward(t, step, 1, t->depth + 2, use);
    *loss = cs_train_loss_grad(t, labels, targets);
    cs_train_backward(t, step, 1, t->depth + 2, use, 1);
    if (rows) {
        cs_train_norms(t, rows);
        for (size_t k = 0; k < t->ntensors; k++)
            memcpy(t->tensors[k].old, t->tensors[k].param, t->tensors[k].n * sizeof(double));
    }
    for (size_t k = 0; k < t->ntensors; k++) {
        cs_train_tensor *T = &t->tensors[k];
        cs_sgd_step(T->param, T->buf, T->grad, T->n, p->lr, p->sgd_momentum, p->weight_decay);
    }
    if (rows)
        cs_train_ics(t, step, labels, targets, rows);
    return CS_OK;
}
