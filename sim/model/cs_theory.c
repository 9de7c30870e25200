/* Mean-field predictions of a run (cs_theory.h): docs/design.md §9. */
#include "cs_theory.h"

#include <math.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_layer.h"

cs_theory_kind cs_theory_kind_of(const cs_run_params *p)
{
    /* a trained network's weights are no longer the random ones the maps
     * describe; dropout and a mixture input are outside the maps too */
    if (p->train || p->dropout > 0 || p->input == CS_INPUT_MIXTURE)
        return CS_THEORY_NONE;
    if (p->norm == CS_NORM_NONE)
        return CS_THEORY_MAPS;
    if (p->norm == CS_NORM_BATCH && p->activation == CS_ACT_RELU)
        return CS_THEORY_BN_RATE;
    return CS_THEORY_NONE;
}

int cs_theory_input_moments(const cs_run_params *p, char phase, double *second, double *cross)
{
    double m2, m1;
    switch (p->input) {
    case CS_INPUT_GAUSSIAN: /* N(0, 1) */
    case CS_INPUT_UNIFORM:  /* U(-sqrt 3, sqrt 3): variance 1 */
        m2 = 1.0, m1 = 0.0;
        break;
    case CS_INPUT_IMAGES:
        /* x = k z + c, k ~ U{0..4}, c ~ U{0..59} per image: E x^2 = E k^2 +
         * E c^2 = 6 + 59 * 119 / 6; two images share nothing but E c. */
        m2 = 6.0 + 59.0 * 119.0 / 6.0, m1 = 29.5;
        break;
    case CS_INPUT_CORRELATED:
        /* x_i = sqrt(c0) g + sqrt(1 - c0) z_i: N(0, 1) features, and two
         * rows of a batch share g, so E x1 x2 = c0 (docs/design.md §1
         * Distributions): the pair the correlation map starts from. */
        m2 = 1.0, m1 = 0.0;
        break;
    default:
        return 0;
    }
    double xy = p->input == CS_INPUT_CORRELATED ? p->c0 : m1 * m1;
    if (phase == 'B') {
        double a = p->shift_scale, b = p->shift_mean;
        m2 = a * a * m2 + 2 * a * b * m1 + b * b;
        xy = a * a * xy + 2 * a * b * m1 + b * b;
    }
    *second = m2;
    *cross = xy;
    return 1;
}

/* sigma_w^2 of layer l's rule as the mean field sees it (docs/design.md §1
 * Initialisation): Var W_ij fan_in. Orthogonal with gain g has rows of
 * norm g when n_out <= n_in, columns of norm g otherwise. */
static double cs_theory_sw2(const cs_run_params *p, int layer)
{
    double n_in = (double)cs_layer_n_in(p, layer), n_out = (double)cs_layer_units(p, layer);
    switch (p->init) {
    case CS_INIT_XAVIER:
        return 2.0 * n_in / (n_in + n_out);
    case CS_INIT_HE:
        return 2.0;
    case CS_INIT_ORTHOGONAL:
        return p->sigma_w * p->sigma_w * fmin(1.0, n_in / n_out);
    default:
        return p->sigma_w * p->sigma_w;
    }
}

/* One phase, layers 0..depth: from the input's moments, each layer's
 *   q^l   = sw2_l E phi(h^(l-1))^2 + sb2            (E x^2 at l - 1 = 0)
 *   q12^l = sw2_l E phi(h1^(l-1)) phi(h2^(l-1)) + sb2,   c^l = q12^l / q^l.
 * Once q and c repeat to the last bit the rest of the stack is a copy. */
static void cs_theory_phase(cs_meanfield *mf, const cs_run_params *p, double m2, double xy,
                            cs_theory_layer *row)
{
    row[0].q = row[0].q_post = m2;
    row[0].c = row[0].c_post = m2 > 0 ? xy / m2 : NAN;
    double post2 = m2, cross = xy;
    for (int l = 1; l <= p->depth; l++) {
        if (l >= 3 && row[l - 1].q == row[l - 2].q && row[l - 1].c == row[l - 2].c &&
            cs_theory_sw2(p, l) == cs_theory_sw2(p, l - 1)) {
            row[l] = row[l - 1];
            continue;
        }
        cs_meanfield_net net = {p->activation, cs_theory_sw2(p, l), p->sigma_b * p->sigma_b};
        double q = net.sw2 * post2 + net.sb2;
        double q12 = net.sw2 * cross + net.sb2;
        row[l].q = q;
        row[l].c = q > 0 ? q12 / q : NAN;
        post2 = cs_meanfield_post_moment(mf, p->activation, q);
        cross = isfinite(row[l].c) ? cs_meanfield_cross(mf, p->activation, q, q, row[l].c, 0)
                                   : NAN;
        row[l].q_post = post2;
        row[l].c_post = post2 > 0 ? cross / post2 : NAN;
        if (!isfinite(q)) { /* diverged: the rest is unknown */
            for (int k = l; k <= p->depth; k++)
                row[k] = (cs_theory_layer){NAN, NAN, NAN, NAN};
            return;
        }
    }
}

int cs_theory_compute(cs_theory *t, const cs_run_params *p)
{
    *t = (cs_theory){.kind = cs_theory_kind_of(p), .depth = p->depth, .bn_grad_rate = NAN};
    t->fixed = (cs_meanfield_fixed){NAN, NAN, NAN, NAN, NAN, NAN, 0};
    if (t->kind == CS_THEORY_BN_RATE)
        t->bn_grad_rate = cs_meanfield_bn_relu_grad_rate();
    if (t->kind != CS_THEORY_MAPS)
        return CS_OK;
    cs_meanfield *mf = NULL;
    int rc = cs_meanfield_alloc(&mf, CS_MEANFIELD_NODES);
    if (rc != CS_OK)
        return rc;
    t->layers = cs_malloc_n(sizeof(cs_theory_layer), 2, (size_t)p->depth + 1);
    if (!t->layers) {
        cs_meanfield_free(mf);
        return cs_error_set(CS_ENOMEM, "cannot allocate the mean-field rows (depth %d)",
                            p->depth);
    }
    for (int ph = 0; ph < 2; ph++) {
        double m2 = NAN, xy = NAN;
        cs_theory_input_moments(p, ph ? 'B' : 'A', &m2, &xy);
        cs_theory_phase(mf, p, m2, xy, t->layers + (size_t)ph * ((size_t)p->depth + 1));
    }
    /* The fixed points of the hidden rule, reached from phase A's layer 1. */
    cs_meanfield_net hidden = {p->activation, cs_theory_sw2(p, 2), p->sigma_b * p->sigma_b};
    double q1 = t->layers[p->depth >= 1 ? 1 : 0].q;
    if (isfinite(q1))
        rc = cs_meanfield_fixed_points(mf, &hidden, q1, &t->fixed);
    cs_meanfield_free(mf);
    if (rc != CS_OK)
        cs_theory_clear(t);
    return rc;
}

void cs_theory_clear(cs_theory *t)
{
    cs_free(t->layers);
    t->layers = NULL;
}
