/* Mean-field signal propagation of a random dense stack without
 * normalisation (Poole et al. 2016, Schoenholz et al. 2017): the length map
 * q^l, the correlation map c^l, chi_1, the fixed points q*, c* and the depth
 * scales xi_q, xi_c, by Gaussian quadrature; docs/design.md §9. */
#ifndef CS_MEANFIELD_H
#define CS_MEANFIELD_H

#include <stddef.h>

#include "cs_activation.h"

/* Nodes per piece of the quadrature by default. Measured for every
 * activation and 1e-4 <= q <= 1e2 (tests/test_meanfield.c): 1-D integrals
 * within 3e-15 relative of GSL's adaptive QAGI, 2-D ones within 5e-13 of
 * the same rule with 256 nodes. */
#define CS_MEANFIELD_NODES 64

/* One layer rule of the theory: h = W x + b with Var W_ij = sw2 / fan_in,
 * Var b_i = sb2, then phi = act. */
typedef struct {
    cs_activation act;
    double sw2, sb2;
} cs_meanfield_net;

/* Quadrature rules and the scratch they use (not thread-safe: one per
 * thread). */
typedef struct cs_meanfield cs_meanfield;

/* A workspace with `nodes` Gauss-Legendre nodes per piece (2 <= nodes <=
 * 1024). Returns CS_OK with *out, CS_EINVAL for nodes out of range,
 * CS_ENOMEM; *out NULL on error. Free with cs_meanfield_free (NULL: no-op). */
int cs_meanfield_alloc(cs_meanfield **out, size_t nodes);
void cs_meanfield_free(cs_meanfield *mf);

/* E_z phi(sqrt(q) z)^2 and E_z phi(sqrt(q) z), z ~ N(0, 1), q >= 0. */
double cs_meanfield_post_moment(cs_meanfield *mf, cs_activation act, double q);
double cs_meanfield_post_mean(cs_meanfield *mf, cs_activation act, double q);

/* The length map: q^(l+1) = sw2 E phi(sqrt(q^l) z)^2 + sb2. */
double cs_meanfield_length(cs_meanfield *mf, const cs_meanfield_net *net, double q);

/* E phi(u1) phi(u2) for (u1, u2) centred Gaussian with variances q1, q2 and
 * correlation c in [-1, 1]: u1 = sqrt(q1) z1, u2 = sqrt(q2) (c z1 +
 * sqrt(1 - c^2) z2). deriv != 0 gives E phi'(u1) phi'(u2) instead. */
double cs_meanfield_cross(cs_meanfield *mf, cs_activation act, double q1, double q2, double c,
                          int deriv);

/* The correlation map for two inputs of second moments q1, q2 (their next
 * ones q1', q2' from the length map): c' = (sw2 E phi(u1) phi(u2) + sb2) /
 * sqrt(q1' q2'). Returns NaN when q1' q2' = 0. */
double cs_meanfield_corr(cs_meanfield *mf, const cs_meanfield_net *net, double q1, double q2,
                         double c);

/* chi_1 = sw2 E phi'(sqrt(q) z)^2, the slope of the correlation map at c = 1. */
double cs_meanfield_chi1(cs_meanfield *mf, const cs_meanfield_net *net, double q);

/* chi_c = sw2 E phi'(u1) phi'(u2) at (q, q, c): the slope of the correlation
 * map at c (Schoenholz et al. 2017, eq. 6); chi_1 at c = 1. */
double cs_meanfield_chi_c(cs_meanfield *mf, const cs_meanfield_net *net, double q, double c);

/* The slope of the length map, dq'/dq = sw2 E[phi(sqrt q z) phi'(sqrt q z) z] / sqrt q
 * (= chi_1 + sw2 E phi phi'' by Stein's lemma, without needing phi''). */
double cs_meanfield_length_slope(cs_meanfield *mf, const cs_meanfield_net *net, double q);

/* The fixed points and depth scales of net. */
typedef struct {
    double q_star; /* the length map's limit from q0; NaN if it grows without bound */
    double c_star; /* the correlation map's stable fixed point at q* (q -> 0+ when q* = 0);
                      NaN if q* is NaN */
    double chi_1;  /* at q* */
    double chi_c;  /* at (q*, c*): chi_1 when c* = 1 */
    double xi_q;   /* -1 / ln(dq'/dq at q*); +inf when the slope is >= 1 */
    double xi_c;   /* -1 / ln chi_c; +inf when chi_c >= 1 */
    int q_iterations;
} cs_meanfield_fixed;

/* Iterates the length map from q0 until |q' - q| <= 1e-13 max(q, 1e-300)
 * (at most 10^5 steps: then q* is the last iterate, as at the critical
 * point sigma_w = 1, sigma_b = 0 of tanh, where q^l ~ 1 / l), or until q exceeds
 * 1e200 (q* = NaN, diverging); then finds c*: 1 when chi_1 <= 1 (the
 * ordered phase, c = 1 stable), else the root in [0, 1) of the correlation
 * map minus c by Brent's method (gsl_root_fsolver_brent) to 1e-13.
 * Returns CS_OK, or CS_EINVAL for q0 < 0 or a non-finite q0, sw2, sb2. */
int cs_meanfield_fixed_points(cs_meanfield *mf, const cs_meanfield_net *net, double q0,
                              cs_meanfield_fixed *out);

/* The growth per layer, backwards, of E ||dL/dx^l||^2 in a batch-normalised
 * ReLU stack in the wide, large-batch limit (Yang et al. 2019, "A mean
 * field theory of batch normalization", ReLU case): pi / (pi - 1), for any
 * sigma_w (docs/design.md §9 derives it). */
double cs_meanfield_bn_relu_grad_rate(void);

#endif
