/* Gradients at initialisation by depth (docs/design.md §1 Schedules, §2):
 * a step-major loop over cs_layer, forward with checkpoints every k =
 * ceil(sqrt(depth)) layers, then backward segment by segment, each
 * recomputed from its checkpoint with the statistics the forward used
 * (cs_layer_bn_replay). Memory: ceil(depth / k) + k batches of activations
 * instead of depth (Chen et al. 2016, "Training Deep Nets with Sublinear
 * Memory Cost"). */
#include "cs_grad.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_dist.h"
#include "cs_error.h"
#include "cs_layer.h"
#include "cs_rng.h"
#include "cs_weights.h"

struct cs_grad {
    cs_run_params p;
    size_t m, width, d0, dmax;
    int seg, nckpt;          /* segment length k, number of checkpoints */
    cs_weights *weights;     /* owned when they fit in cache_bytes; with running statistics */
    cs_layer readout;        /* R: (CS_GRAD_OUTPUTS, width), no bias */
    double *readout_W;       /* its array */
    double *y;               /* (m, CS_GRAD_OUTPUTS): outputs, then dL/dy */
    double *ckpt;            /* (nckpt, m dmax): x^(c k), c = 0 .. nckpt - 1 */
    double *xa, *xb;         /* (m, dmax) each: ping-pong activations */
    double *seg_x;           /* (k, m dmax): a segment's layer inputs */
    double *seg_h, *seg_z;   /* (k, m width): its pre and norm sites */
    double *seg_bm, *seg_bv; /* (k, width): its batch statistics */
    double *dx, *dx_prev;    /* (m, dmax): gradients wrt a layer's output and input */
    double *dz, *dh;         /* (m, width) */
    double *dW, *db;         /* (width, dmax), (width) */
    double *out;             /* (m, width): x^(depth) of the last step */
    gsl_rng *rng;
    double *capture_dx0;
    double **capture_dW;
};

static int cs_grad_segment(int depth)
{
    int k = (int)ceil(sqrt((double)depth));
    return k < 1 ? 1 : k;
}

/* Owned (every layer kept) when all layers' weights fit in cache_bytes,
 * else regenerated into one layer's buffer; the running statistics of
 * every layer either way (docs/design.md §1 Schedules). */
static cs_weights_mode cs_grad_weights_mode(const cs_run_params *p, size_t cache_bytes)
{
    cs_weights_mode mode = {.owned = cs_weights_bytes(p) <= cache_bytes, .slots = 1,
                            .running = 1};
    return mode;
}

void cs_grad_free(cs_grad *g)
{
    if (!g)
        return;
    cs_weights_free(g->weights);
    double *bufs[] = {g->readout_W, g->y, g->ckpt, g->xa, g->xb, g->seg_x, g->seg_h,
                      g->seg_z, g->seg_bm, g->seg_bv, g->dx, g->dx_prev, g->dz, g->dh,
                      g->dW, g->db, g->out};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cs_free(bufs[i]);
    cs_rng_free(g->rng);
    cs_free(g);
}

/* The arrays of g (one listing for cs_grad_alloc and cs_grad_plan):
 * weights (or one layer) with every layer's running statistics, the
 * readout, ceil(depth / k) checkpoints and one segment of k =
 * ceil(sqrt(depth)) layers. */
static void cs_grad_arrays(cs_grad *g, const cs_run_params *p, size_t cache_bytes,
                           cs_alloc_plan *plan)
{
    size_t m = (size_t)p->batch, w = (size_t)p->width, L = (size_t)p->depth;
    size_t dmax = cs_layer_max_units(p);
    size_t k = (size_t)cs_grad_segment(p->depth), nckpt = (L + k - 1) / k;
    size_t K = CS_GRAD_OUTPUTS;
    const char *const batch = "batch, width or input_dim", *const segment =
                                                                "depth, batch, width or input_dim";
    cs_weights_mode mode = cs_grad_weights_mode(p, cache_bytes);
    if (plan->count_only)
        cs_weights_plan(p, &mode, plan);
    else if (cs_weights_alloc(&g->weights, p, &mode) != CS_OK)
        cs_alloc_plan_failed(plan, "the weights of the gradient pass", "depth, width or input_dim");
    CS_ALLOC_TAKE(plan, g->readout_W, "the readout", "width", K, w);
    CS_ALLOC_TAKE(plan, g->y, "the readout's outputs", "batch", m, K);
    CS_ALLOC_TAKE(plan, g->ckpt, "the gradient pass's checkpoints", segment, nckpt, m, dmax);
    CS_ALLOC_TAKE(plan, g->xa, "the gradient pass's activations", batch, m, dmax);
    CS_ALLOC_TAKE(plan, g->xb, "the gradient pass's activations", batch, m, dmax);
    CS_ALLOC_TAKE(plan, g->seg_x, "one segment's layer inputs", segment, k, m, dmax);
    CS_ALLOC_TAKE(plan, g->seg_h, "one segment's pre-activations", segment, k, m, w);
    CS_ALLOC_TAKE(plan, g->seg_z, "one segment's normalised values", segment, k, m, w);
    CS_ALLOC_TAKE(plan, g->seg_bm, "one segment's batch statistics", "depth or width", k, w);
    CS_ALLOC_TAKE(plan, g->seg_bv, "one segment's batch statistics", "depth or width", k, w);
    CS_ALLOC_TAKE(plan, g->dx, "the gradients of a layer's output", batch, m, dmax);
    CS_ALLOC_TAKE(plan, g->dx_prev, "the gradients of a layer's input", batch, m, dmax);
    CS_ALLOC_TAKE(plan, g->dz, "the gradients of a layer's normalised values", "batch or width",
                  m, w);
    CS_ALLOC_TAKE(plan, g->dh, "the gradients of a layer's pre-activations", "batch or width", m,
                  w);
    CS_ALLOC_TAKE(plan, g->dW, "the gradient of one layer's weights", "width or input_dim", w,
                  dmax);
    CS_ALLOC_TAKE(plan, g->db, "the gradient of one layer's biases", "width", w);
    CS_ALLOC_TAKE(plan, g->out, "the last layer's output", "batch or width", m, w);
}

int cs_grad_plan(const cs_run_params *p, size_t cache_bytes, cs_alloc_plan *plan)
{
    cs_grad g;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_grad_arrays(&g, p, cache_bytes, &count);
    /* cs_grad_run's input batch */
    CS_ALLOC_NOTE(&count, "the gradient pass's input batch", "batch or input_dim", sizeof(double),
                  p->batch, p->input_dim);
    cs_alloc_plan_add(plan, &count);
    return plan->rc;
}

int cs_grad_alloc(cs_grad **out, const cs_run_params *p, size_t cache_bytes)
{
    *out = NULL;
    int rc = cs_params_validate(p);
    if (rc != CS_OK)
        return rc;
    cs_grad *g = cs_calloc(1, sizeof *g);
    if (!g)
        return cs_error_code();
    g->p = *p;
    g->m = (size_t)p->batch;
    g->width = (size_t)p->width;
    g->d0 = cs_layer_units(p, 0);
    g->dmax = cs_layer_max_units(p);
    g->seg = cs_grad_segment(p->depth);
    g->nckpt = (p->depth + g->seg - 1) / g->seg;
    size_t w = g->width, K = CS_GRAD_OUTPUTS;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_grad_arrays(g, p, cache_bytes, &plan);
    if ((rc = plan.rc) != CS_OK || (rc = cs_rng_alloc(&g->rng)) != CS_OK)
        goto fail;
    /* The fixed readout: a dense map of the last layer, no bias, no norm. */
    g->readout = (cs_layer){.n_in = w, .n_out = K, .W = g->readout_W};
    cs_rng_seed(g->rng, p->seed, CS_STREAM_READOUT, 0);
    for (size_t i = 0; i < K * w; i++)
        g->readout_W[i] = gsl_ran_gaussian_ziggurat(g->rng, 1.0 / sqrt((double)w));
    *out = g;
    return CS_OK;
fail:
    cs_grad_free(g);
    return rc;
}

double *cs_grad_weights(cs_grad *g, int layer)
{
    cs_layer L;
    if (!cs_weights_owned(g->weights) || cs_weights_layer(g->weights, layer, &L) != CS_OK)
        return NULL;
    return L.W;
}

const double *cs_grad_output(const cs_grad *g) { return g->out; }

void cs_grad_capture(cs_grad *g, double *dx0, double **dW)
{
    g->capture_dx0 = dx0;
    g->capture_dW = dW;
}

/* mean_i ||a_i|| over the m rows of a (m, n). */
static double cs_grad_mean_row_norm(const double *a, size_t m, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < m; i++) {
        double ss = 0;
        for (size_t j = 0; j < n; j++)
            ss += a[i * n + j] * a[i * n + j];
        sum += sqrt(ss);
    }
    return sum / (double)m;
}

static double cs_grad_norm(const double *a, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += a[i] * a[i];
    return sqrt(ss);
}

/* Layers first..last on x (the input of layer `first`), with `use` and
 * the step's dropout masks. Stores x^(c k) into its checkpoint when ckpt
 * is set. Returns the output of layer `last` (one of xa, xb) or NULL with
 * an error. */
static const double *cs_grad_forward(cs_grad *g, int step, cs_bn_use use, const double *x,
                                     int first, int last, int ckpt, int *rc)
{
    size_t m = g->m, w = g->width;
    for (int l = first; l <= last; l++) {
        cs_layer L;
        if ((*rc = cs_weights_layer(g->weights, l, &L)) != CS_OK)
            return NULL;
        double *out = x == g->xa ? g->xb : g->xa;
        cs_layer_forward(g->seg_h, g->seg_z, out, g->seg_bm, g->seg_bv, x, &L, &g->p, use,
                         (uint64_t)step, m, g->rng);
        if (ckpt && l % g->seg == 0 && l < g->p.depth)
            memcpy(g->ckpt + (size_t)(l / g->seg) * m * g->dmax, out, m * w * sizeof *out);
        x = out;
    }
    *rc = CS_OK;
    return x;
}

/* Readout and targets of the step: y <- dL/dy = (y - t) / m; returns L. */
static double cs_grad_readout(cs_grad *g, int step, const double *xL)
{
    size_t m = g->m, K = CS_GRAD_OUTPUTS;
    cs_layer_pre(g->y, xL, &g->readout, m);
    cs_rng_seed(g->rng, g->p.seed, CS_STREAM_READOUT, 1 + (uint64_t)step);
    double loss = 0;
    for (size_t i = 0; i < m * K; i++) {
        double r = g->y[i] - gsl_ran_gaussian_ziggurat(g->rng, 1.0);
        loss += r * r;
        g->y[i] = r / (double)m;
    }
    return loss / (2.0 * (double)m);
}

double cs_grad_loss(cs_grad *g, int step, const double *x0)
{
    int rc;
    const double *xL = cs_grad_forward(g, step, cs_layer_bn_replay(cs_layer_bn_use(&g->p, step)),
                                       x0, 1, g->p.depth, 0, &rc);
    return xL ? cs_grad_readout(g, step, xL) : NAN;
}

/* Backward through layer l, whose segment slot j holds its input, h, z
 * and batch statistics: g->dx (dL/dx^(l)) -> g->dx_prev (dL/dx^(l-1)). */
static int cs_grad_backward_layer(cs_grad *g, int step, cs_bn_use use, int l, size_t j,
                                  cs_grad_row *row)
{
    size_t m = g->m, w = g->width;
    cs_layer L;
    int rc = cs_weights_layer(g->weights, l, &L);
    if (rc != CS_OK)
        return rc;
    row->grad_x_norm = cs_grad_mean_row_norm(g->dx, m, w);
    cs_layer grad = {.W = g->dW, .b = g->db};
    cs_layer_backward(g->dx_prev, &grad, g->dh, g->dz, g->dx, g->seg_x + j * m * g->dmax,
                      g->seg_h + j * m * w, g->seg_z + j * m * w, g->seg_bm + j * w,
                      g->seg_bv + j * w, &L, &g->p, use, (uint64_t)step, m, g->rng);
    row->grad_h_norm = cs_grad_mean_row_norm(g->dh, m, w);
    row->grad_w_norm = cs_grad_norm(g->dW, w * L.n_in);
    row->grad_b_norm = cs_grad_norm(g->db, w);
    if (g->capture_dW)
        memcpy(g->capture_dW[l - 1], g->dW, w * L.n_in * sizeof *g->dW);
    double *t = g->dx;
    g->dx = g->dx_prev;
    g->dx_prev = t;
    return CS_OK;
}

int cs_grad_step(cs_grad *g, int step, const double *x0, cs_grad_row *rows)
{
    const cs_run_params *p = &g->p;
    size_t m = g->m, w = g->width, dmax = g->dmax, L = (size_t)p->depth;
    cs_bn_use use = cs_layer_bn_use(p, step);
    int rc;
    memcpy(g->ckpt, x0, m * g->d0 * sizeof *x0);
    const double *xL = cs_grad_forward(g, step, use, x0, 1, p->depth, 1, &rc);
    if (!xL)
        return rc;
    memcpy(g->out, xL, m * w * sizeof *xL);
    double loss = cs_grad_readout(g, step, xL);
    /* dL/dx^(depth) = dL/dy R */
    cs_layer_pre_backward(g->dx, NULL, NULL, g->y, xL, &g->readout, m);

    for (int c = g->nckpt - 1; c >= 0; c--) {
        int first = c * g->seg + 1, last = first + g->seg - 1;
        if (last > p->depth)
            last = p->depth;
        /* Recompute the segment from its checkpoint with the statistics the
         * forward used (nothing updated twice), keeping each layer's input,
         * h, z and batch statistics in slot j = l - first. */
        memcpy(g->seg_x, g->ckpt + (size_t)c * m * dmax,
               m * cs_layer_n_in(p, first) * sizeof *x0);
        for (int l = first; l <= last; l++) {
            size_t j = (size_t)(l - first);
            cs_layer Lw;
            if ((rc = cs_weights_layer(g->weights, l, &Lw)) != CS_OK)
                return rc;
            double *out = l < last ? g->seg_x + (j + 1) * m * dmax : g->xa;
            cs_layer_forward(g->seg_h + j * m * w, g->seg_z + j * m * w, out, g->seg_bm + j * w,
                             g->seg_bv + j * w, g->seg_x + j * m * dmax, &Lw, p,
                             cs_layer_bn_replay(use), (uint64_t)step, m, g->rng);
        }
        for (int l = last; l >= first; l--)
            if ((rc = cs_grad_backward_layer(g, step, use, l, (size_t)(l - first), &rows[l])) !=
                CS_OK)
                return rc;
    }
    rows[0].grad_x_norm = cs_grad_mean_row_norm(g->dx, m, g->d0);
    rows[0].grad_h_norm = rows[0].grad_w_norm = rows[0].grad_b_norm = NAN;
    if (g->capture_dx0)
        memcpy(g->capture_dx0, g->dx, m * g->d0 * sizeof *x0);
    for (size_t l = 0; l <= L; l++)
        rows[l].loss = loss;
    return CS_OK;
}

int cs_grad_run(const cs_run_params *p, cs_result *r)
{
    if (!r->grad)
        return cs_error_set(CS_EINVAL, "the result has no grad rows (grad = false)");
    cs_error_clear(); /* so a failed allocation below reports its own code */
    cs_grad *g = NULL;
    cs_source *src = NULL;
    gsl_rng *rng = NULL;
    double *x0 = NULL;
    int rc;
    if ((rc = cs_grad_alloc(&g, p, CS_GRAD_WEIGHT_CACHE_BYTES)) != CS_OK ||
        (rc = cs_source_alloc(&src, p)) != CS_OK || (rc = cs_rng_alloc(&rng)) != CS_OK)
        goto done;
    if (!(x0 = cs_malloc_n(sizeof *x0, p->batch, p->input_dim))) {
        rc = cs_error_code();
        goto done;
    }
    int steps = p->steps_a + p->steps_b;
    for (int s = 0; s < steps && rc == CS_OK; s++) {
        rc = cs_source_batch(src, s, x0, rng);
        if (rc == CS_OK)
            rc = cs_grad_step(g, s, x0, r->grad + (size_t)s * (size_t)(p->depth + 1));
    }
done:
    cs_rng_free(rng);
    cs_free(x0);
    cs_source_free(src);
    cs_grad_free(g);
    return rc;
}
