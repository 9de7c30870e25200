/* Weight and bias initialisation of one dense layer: docs/design.md §1. */
#ifndef CS_INIT_H
#define CS_INIT_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

typedef enum {
    CS_INIT_GAUSSIAN = 0, /* W_ij ~ N(0, sigma_w^2 / fan_in), b_i ~ N(0, sigma_b^2) */
    CS_INIT_XAVIER,       /* sigma_w^2 = 2 fan_in / (fan_in + fan_out) */
    CS_INIT_HE,           /* sigma_w^2 = 2 */
    CS_INIT_ORTHOGONAL,   /* gain sigma_w times an orthogonal matrix from QR */
    CS_INIT_COUNT
} cs_init_kind;

int cs_init_parse(const char *name, cs_init_kind *out);
const char *cs_init_name(cs_init_kind kind);

/* Fills W (n_out x n_in, row-major: W[i * n_in + j] is the weight from
 * input j to unit i) and b (n_out). Weights draw from r_w, biases from r_b
 * (separate streams, so the bias draws never shift the weights).
 * For xavier and he, sigma_w is ignored; sigma_b applies to every kind.
 * Orthogonal: Q from the QR of an N(0,1) matrix of shape
 * max(n_out,n_in) x min(n_out,n_in), signs fixed by diag(R) > 0, scaled by
 * sigma_w (as torch.nn.init.orthogonal_); the Gaussian matrix is drawn in
 * W's row-major order and transposed when n_out < n_in. Orthogonal init
 * allocates an O(n_out n_in) workspace (freed before return); the other
 * kinds allocate nothing. sigma_b = 0 gives b = +0 without drawing.
 * Returns CS_OK, CS_EINVAL for a zero dimension, a negative or non-finite
 * sigma, a NULL pointer or an unknown kind, CS_ENOMEM. */
int cs_init_dense(cs_init_kind kind, double *W, double *b, size_t n_out, size_t n_in,
                  double sigma_w, double sigma_b, gsl_rng *r_w, gsl_rng *r_b);

#endif
