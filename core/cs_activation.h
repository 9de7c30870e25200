/* Activation functions phi and their derivatives phi': docs/design.md §1. */
#ifndef CS_ACTIVATION_H
#define CS_ACTIVATION_H

#include <stddef.h>

typedef enum {
    CS_ACT_LINEAR = 0,
    CS_ACT_RELU,
    CS_ACT_LEAKY_RELU, /* slope 0.01 for z < 0, as torch.nn.LeakyReLU's default */
    CS_ACT_TANH,
    CS_ACT_SIGMOID,
    CS_ACT_SELU,       /* PyTorch's constants alpha, lambda (Klambauer et al. 2017) */
    CS_ACT_GELU,       /* erf form: z * Phi(z), PyTorch's default approximate='none' */
    CS_ACT_COUNT
} cs_activation;

/* Parses "linear", "relu", "leaky_relu", "tanh", "sigmoid", "selu", "gelu".
 * Returns CS_OK and sets *out, or CS_EINVAL naming the accepted values. */
int cs_activation_parse(const char *name, cs_activation *out);

/* The name cs_activation_parse accepts; "?" for an out-of-range value. */
const char *cs_activation_name(cs_activation act);

/* out[i] = phi(z[i]) for i < n. out may alias z. */
void cs_activation_forward(cs_activation act, double *out, const double *z, size_t n);

/* out[i] = phi'(z[i]) for i < n. out may alias z. At the kink of relu and
 * leaky_relu (z = 0) the derivative is taken as PyTorch's autograd does:
 * 0 for relu, 0.01 for leaky_relu. */
void cs_activation_derivative(cs_activation act, double *out, const double *z, size_t n);

/* max over z of phi'(z), used for frac_saturated (docs/design.md §2): an entry is
 * saturated when phi'(z) < 0.05 * this. */
double cs_activation_max_derivative(cs_activation act);

#endif
