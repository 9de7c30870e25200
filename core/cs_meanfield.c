/* Mean-field maps by Gauss-Legendre quadrature split at the kink:
 * docs/design.md §9. Every activation covshift has is smooth except at 0
 * (relu, leaky_relu, selu have a kink there, and their derivatives a
 * jump), so each Gaussian integral is cut at phi's argument = 0 into
 * pieces on which the integrand is analytic, and each piece gets its own
 * Gauss-Legendre rule (gsl_integration_fixed). Gauss-Hermite over the
 * whole line would converge only algebraically across the kink; split
 * Legendre converges exponentially on every piece. The range is cut at
 * |z| = 12, where the Gaussian tail (3.6e-33) is far below double
 * rounding. */
#include "cs_meanfield.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_roots.h>

#include "cs_alloc.h"
#include "cs_error.h"

#define CS_MF_ZMAX 12.0
#define CS_MF_INV_SQRT_2PI 0.39894228040143267793994605993438187
#define CS_MF_MAX_NODES 1024
#define CS_MF_MAX_ITER 100000
#define CS_MF_DIVERGED 1e200

/* Pieces of a rule: cut at the kink and where phi's argument has moved
 * CS_MF_REACH from it (past that, phi is a near-constant or linear tail;
 * before it, the rapid change of a saturating phi at large q, or of a
 * nearly degenerate correlation, is resolved by its own rule). */
#define CS_MF_MAX_PIECES 6
#define CS_MF_REACH 4.0

struct cs_meanfield {
    size_t n;          /* nodes per piece */
    double *x01, *w01; /* (n) Gauss-Legendre on [0, 1] */
    size_t mo, mi;     /* nodes in the outer and the inner rule */
    double *zo, *wo;   /* (6n) the outer rule for N(0, 1): nodes, weights times density */
    double *zi, *wi;   /* (6n) an inner rule */
    double *u, *f, *g; /* (6n) scratch: arguments, phi or phi' values */
};

int cs_meanfield_alloc(cs_meanfield **out, size_t nodes)
{
    *out = NULL;
    if (nodes < 2 || nodes > CS_MF_MAX_NODES)
        return cs_error_set(CS_EINVAL, "mean-field quadrature: nodes must be in 2 .. %d, got %zu",
                            CS_MF_MAX_NODES, nodes);
    cs_meanfield *mf = cs_calloc(1, sizeof *mf);
    gsl_integration_fixed_workspace *rule = NULL;
    if (!mf)
        goto fail;
    mf->n = nodes;
    size_t big = CS_MF_MAX_PIECES * nodes * sizeof(double);
    if (!(mf->x01 = cs_malloc(nodes * sizeof(double))) ||
        !(mf->w01 = cs_malloc(nodes * sizeof(double))) || !(mf->zo = cs_malloc(big)) ||
        !(mf->wo = cs_malloc(big)) || !(mf->u = cs_malloc(big)) || !(mf->f = cs_malloc(big)) ||
        !(mf->g = cs_malloc(big)) || !(mf->zi = cs_malloc(big)) || !(mf->wi = cs_malloc(big)))
        goto fail;
    /* gsl_integration_fixed_alloc calls the GSL error handler on failure;
     * it returns NULL with the handler off. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    rule = gsl_integration_fixed_alloc(gsl_integration_fixed_legendre, nodes, 0.0, 1.0, 0.0, 0.0);
    gsl_set_error_handler(old);
    if (!rule)
        goto fail;
    const double *x = gsl_integration_fixed_nodes(rule), *w = gsl_integration_fixed_weights(rule);
    for (size_t i = 0; i < nodes; i++) {
        mf->x01[i] = x[i];
        mf->w01[i] = w[i];
    }
    gsl_integration_fixed_free(rule);
    *out = mf;
    return CS_OK;
fail:
    cs_meanfield_free(mf);
    return cs_error_set(CS_ENOMEM, "cannot allocate the mean-field quadrature (%zu nodes)", nodes);
}

void cs_meanfield_free(cs_meanfield *mf)
{
    if (!mf)
        return;
    cs_free(mf->x01);
    cs_free(mf->w01);
    cs_free(mf->zo);
    cs_free(mf->wo);
    cs_free(mf->u);
    cs_free(mf->f);
    cs_free(mf->g);
    cs_free(mf->zi);
    cs_free(mf->wi);
    cs_free(mf);
}

/* A rule for N(0, 1) on [-12, 12] cut at `centre` and at centre +- d
 * (d = 0 or past the range: no extra cuts), n nodes per piece, into z, w
 * (density included); returns the node count. */
static size_t cs_mf_rule(const cs_meanfield *mf, double centre, double d, double *z, double *w)
{
    double cuts[5];
    size_t nc = 0;
    cuts[nc++] = -CS_MF_ZMAX;
    double pts[3] = {centre - d, centre, centre + d};
    for (size_t p = 0; p < 3; p++) {
        if (p != 1 && !(d > 0))
            continue;
        if (pts[p] > cuts[nc - 1] && pts[p] < CS_MF_ZMAX)
            cuts[nc++] = pts[p];
    }
    cuts[nc++] = CS_MF_ZMAX;
    size_t m = 0;
    for (size_t p = 0; p + 1 < nc; p++) {
        double lo = cuts[p], len = cuts[p + 1] - cuts[p];
        for (size_t j = 0; j < mf->n; j++, m++) {
            z[m] = lo + len * mf->x01[j];
            w[m] = len * mf->w01[j] * CS_MF_INV_SQRT_2PI * exp(-0.5 * z[m] * z[m]);
        }
    }
    return m;
}

/* The outer rule for phi(sqrt(q) z): cut at 0 and where |sqrt(q) z| =
 * CS_MF_REACH. */
static void cs_mf_outer_rule(cs_meanfield *mf, double q)
{
    double d = q > 0 ? CS_MF_REACH / sqrt(q) : 0.0;
    mf->mo = cs_mf_rule(mf, 0.0, d, mf->zo, mf->wo);
}

/* f = phi(sqrt(q) zo) (deriv: phi') over the outer rule's nodes. */
static void cs_mf_outer(cs_meanfield *mf, cs_activation act, double q, int deriv, double *f)
{
    double s = sqrt(q);
    for (size_t i = 0; i < mf->mo; i++)
        mf->u[i] = s * mf->zo[i];
    if (deriv)
        cs_activation_derivative(act, f, mf->u, mf->mo);
    else
        cs_activation_forward(act, f, mf->u, mf->mo);
}

double cs_meanfield_post_moment(cs_meanfield *mf, cs_activation act, double q)
{
    cs_mf_outer_rule(mf, q);
    cs_mf_outer(mf, act, q, 0, mf->f);
    double sum = 0.0;
    for (size_t i = 0; i < mf->mo; i++)
        sum += mf->wo[i] * mf->f[i] * mf->f[i];
    return sum;
}

double cs_meanfield_post_mean(cs_meanfield *mf, cs_activation act, double q)
{
    cs_mf_outer_rule(mf, q);
    cs_mf_outer(mf, act, q, 0, mf->f);
    double sum = 0.0;
    for (size_t i = 0; i < mf->mo; i++)
        sum += mf->wo[i] * mf->f[i];
    return sum;
}

double cs_meanfield_length(cs_meanfield *mf, const cs_meanfield_net *net, double q)
{
    return net->sw2 * cs_meanfield_post_moment(mf, net->act, q) + net->sb2;
}

double cs_meanfield_chi1(cs_meanfield *mf, const cs_meanfield_net *net, double q)
{
    cs_mf_outer_rule(mf, q);
    cs_mf_outer(mf, net->act, q, 1, mf->f);
    double sum = 0.0;
    for (size_t i = 0; i < mf->mo; i++)
        sum += mf->wo[i] * mf->f[i] * mf->f[i];
    return net->sw2 * sum;
}

double cs_meanfield_length_slope(cs_meanfield *mf, const cs_meanfield_net *net, double q)
{
    /* At q = 0 the quotient is 0 / 0; its limit is chi_1(0) + sw2 phi(0)
     * phi''(0), which is chi_1(0) for every phi with phi(0) = 0 (all but
     * sigmoid, whose q* is >= sw2 / 4 > 0 unless sw2 = 0). */
    if (q <= 0)
        return cs_meanfield_chi1(mf, net, 0.0);
    cs_mf_outer_rule(mf, q);
    cs_mf_outer(mf, net->act, q, 0, mf->f);
    cs_mf_outer(mf, net->act, q, 1, mf->g);
    double sum = 0.0;
    for (size_t i = 0; i < mf->mo; i++)
        sum += mf->wo[i] * mf->f[i] * mf->g[i] * mf->zo[i];
    return net->sw2 * sum / sqrt(q);
}

double cs_meanfield_cross(cs_meanfield *mf, cs_activation act, double q1, double q2, double c,
                          int deriv)
{
    if (c > 1)
        c = 1;
    if (c < -1)
        c = -1;
    double r2 = sqrt(q2), s = sqrt(fmax(0.0, 1.0 - c * c));
    if (s == 0.0) { /* u2 = c sqrt(q2) z1: one dimension, cut where either argument is */
        cs_mf_outer_rule(mf, fmax(q1, q2));
        cs_mf_outer(mf, act, q1, deriv, mf->f);
        for (size_t i = 0; i < mf->mo; i++)
            mf->u[i] = c * r2 * mf->zo[i];
        if (deriv)
            cs_activation_derivative(act, mf->g, mf->u, mf->mo);
        else
            cs_activation_forward(act, mf->g, mf->u, mf->mo);
        double sum = 0.0;
        for (size_t i = 0; i < mf->mo; i++)
            sum += mf->wo[i] * mf->f[i] * mf->g[i];
        return sum;
    }
    /* Outer over z1, cut at 0 and where either phi(sqrt(q1) z1) or the
     * inner average (a function of c z1 smoothed over s z2) has settled:
     * the nearer of CS_MF_REACH / sqrt(q1) and CS_MF_REACH s / |c|. */
    double d1 = q1 > 0 ? CS_MF_REACH / sqrt(q1) : INFINITY;
    double d2 = c != 0 ? CS_MF_REACH * s / fabs(c) : INFINITY;
    double d = fmin(d1, d2);
    mf->mo = cs_mf_rule(mf, 0.0, isfinite(d) ? d : 0.0, mf->zo, mf->wo);
    cs_mf_outer(mf, act, q1, deriv, mf->f);
    double di = q2 > 0 ? CS_MF_REACH / (r2 * s) : 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < mf->mo; i++) {
        double z1 = mf->zo[i];
        /* u2 = sqrt(q2) (c z1 + s z2) is 0 at z2 = -c z1 / s. */
        mf->mi = cs_mf_rule(mf, -c * z1 / s, di, mf->zi, mf->wi);
        for (size_t j = 0; j < mf->mi; j++)
            mf->u[j] = r2 * (c * z1 + s * mf->zi[j]);
        if (deriv)
            cs_activation_derivative(act, mf->g, mf->u, mf->mi);
        else
            cs_activation_forward(act, mf->g, mf->u, mf->mi);
        double inner = 0.0;
        for (size_t j = 0; j < mf->mi; j++)
            inner += mf->wi[j] * mf->g[j];
        sum += mf->wo[i] * mf->f[i] * inner;
    }
    return sum;
}

double cs_meanfield_corr(cs_meanfield *mf, const cs_meanfield_net *net, double q1, double q2,
                         double c)
{
    double n1 = cs_meanfield_length(mf, net, q1), n2 = cs_meanfield_length(mf, net, q2);
    if (!(n1 * n2 > 0))
        return NAN;
    double q12 = net->sw2 * cs_meanfield_cross(mf, net->act, q1, q2, c, 0) + net->sb2;
    return q12 / sqrt(n1 * n2);
}

double cs_meanfield_chi_c(cs_meanfield *mf, const cs_meanfield_net *net, double q, double c)
{
    return net->sw2 * cs_meanfield_cross(mf, net->act, q, q, c, 1);
}

typedef struct {
    cs_meanfield *mf;
    const cs_meanfield_net *net;
    double q;
} cs_mf_root;

static double cs_mf_corr_gap(double c, void *arg)
{
    const cs_mf_root *r = arg;
    return cs_meanfield_corr(r->mf, r->net, r->q, r->q, c) - c;
}

/* The root of M(c) - c in [lo, hi] (a sign change) by Brent's method. */
static double cs_mf_brent(cs_mf_root *r, double lo, double hi)
{
    gsl_function fn = {cs_mf_corr_gap, r};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return NAN;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double root = NAN;
    if (gsl_root_fsolver_set(s, &fn, lo, hi) == GSL_SUCCESS) {
        for (int it = 0; it < 200; it++) {
            if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
                break;
            root = gsl_root_fsolver_root(s);
            if (gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s),
                                       1e-13, 0.0) == GSL_SUCCESS)
                break;
        }
    }
    gsl_set_error_handler(old);
    gsl_root_fsolver_free(s);
    return root;
}

static double cs_mf_depth_scale(double slope)
{
    if (slope >= 1.0)
        return INFINITY;
    if (slope <= 0.0)
        return 0.0;
    return -1.0 / log(slope);
}

int cs_meanfield_fixed_points(cs_meanfield *mf, const cs_meanfield_net *net, double q0,
                              cs_meanfield_fixed *out)
{
    if (!isfinite(q0) || q0 < 0 || !isfinite(net->sw2) || net->sw2 < 0 || !isfinite(net->sb2) ||
        net->sb2 < 0)
        return cs_error_set(CS_EINVAL,
                            "mean-field fixed points: q0, sigma_w^2, sigma_b^2 must be finite and "
                            ">= 0, got %g, %g, %g",
                            q0, net->sw2, net->sb2);
    cs_meanfield_fixed fx = {.q_star = NAN, .c_star = NAN, .chi_1 = NAN, .chi_c = NAN,
                             .xi_q = NAN, .xi_c = NAN};
    double q = q0;
    int it = 0;
    for (; it < CS_MF_MAX_ITER; it++) {
        double next = cs_meanfield_length(mf, net, q);
        if (!(next <= CS_MF_DIVERGED)) {
            q = NAN;
            break;
        }
        int done = fabs(next - q) <= 1e-13 * fmax(q, 1e-300);
        q = next;
        if (done || q < 1e-300)
            break;
    }
    fx.q_iterations = it;
    if (isnan(q)) {
        *out = fx;
        return CS_OK;
    }
    if (q < 1e-300)
        q = 0.0;
    fx.q_star = q;
    /* At q* = 0 the slopes are their limits q -> 0+, evaluated at a tiny
     * q: for relu and leaky_relu, whose maps are scale-free, phi'(0) alone
     * (PyTorch's 0 at the kink) would give the wrong chi_1. */
    double qe = q > 0 ? q : 1e-200;
    fx.chi_1 = cs_meanfield_chi1(mf, net, qe);
    fx.xi_q = cs_mf_depth_scale(cs_meanfield_length_slope(mf, net, qe));
    {
        q = qe;
        cs_mf_root r = {mf, net, q};
        if (fx.chi_1 <= 1.0) {
            fx.c_star = 1.0;
        } else {
            double hi = 1.0 - 1e-8;
            double f0 = cs_mf_corr_gap(0.0, &r), fhi = cs_mf_corr_gap(hi, &r);
            if (!(fhi < 0))
                fx.c_star = 1.0; /* chi_1 a hair above 1: c* indistinguishable from 1 */
            else if (f0 <= 0)
                fx.c_star = 0.0;
            else
                fx.c_star = cs_mf_brent(&r, 0.0, hi);
        }
        fx.chi_c = fx.c_star == 1.0 ? fx.chi_1 : cs_meanfield_chi_c(mf, net, q, fx.c_star);
        fx.xi_c = cs_mf_depth_scale(fx.chi_c);
    }
    *out = fx;
    return CS_OK;
}

double cs_meanfield_bn_relu_grad_rate(void)
{
    return M_PI / (M_PI - 1.0);
}
