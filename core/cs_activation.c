/* Activation functions phi, their derivatives phi' and sup phi':
 * docs/design.md §1 (activations), §2 (frac_saturated). Each formula is
 * written as PyTorch's CPU kernels and autograd write it, so that users
 * comparing with torch see agreement to a few ulps, including the value
 * chosen at a kink. */
/* No FMA contraction in this file, whatever the build flags: with it, the
 * AVX-512 clone of cs_activation_forward rounds some tanh values 1 ulp
 * away from the SSE2 one, and results would depend on the CPU.
 * CMakeLists.txt sets -ffp-contract=off as well. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "cs_activation.h"
#include "cs_error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* SELU constants as torch.nn.SELU (Klambauer et al. 2017, eq. 14). */
#define CS_SELU_ALPHA 1.6732632423543772848170429916717
#define CS_SELU_SCALE 1.0507009873554804934193349852946
#define CS_LEAKY_SLOPE 0.01

/* M_SQRT1_2 and friends are not ISO C; spelled out here. */
#define CS_SQRT1_2 0.70710678118654752440084436210484903
/* 1/sqrt(2 pi), the standard normal density at 0. */
#define CS_INV_SQRT_2PI 0.39894228040143267793994605993438187
#define CS_INV_SQRT_PI 0.56418958354775628694807945156077259

/* tanh without libm, branch-free so that the compiler vectorises the loops
 * that call it: tanh |x| = t / (t + 2) with t = expm1(2 |x|), and
 * expm1(y) = 2^k (expm1(r) + 1) - 1 for y = k ln2 + r, |r| <= ln2 / 2,
 * expm1(r) by its Taylor series to r^14 (truncation below 2e-17 relative
 * at |r| = ln2 / 2). ln2 is split as in fdlibm so that k ln2_hi is exact.
 * |x| >= 22 gives +-1 exactly (tanh(22) rounds to 1), |x| < 2^-28 gives x
 * (as glibc), NaN stays NaN. Within 4 ulp of glibc's tanh
 * (tests/test_activation.c checks it). */
static inline double cs_tanh(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double inv_ln2 = 1.44269504088896338700e+00, shift = 0x1.8p52;
    double a = fabs(x);
    double y = 2.0 * (a > 22.0 ? 22.0 : a); /* NaN stays NaN */
    double kd = y * inv_ln2 + shift; /* round(y / ln2) in the low bits */
    double k = kd - shift;
    double r = (y - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 87178291200.0;
    p = p * r + 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = r + r * r * p; /* expm1(r) */
    uint64_t kb, sb;
    memcpy(&kb, &kd, sizeof kb);
    sb = ((kb & 0x7ff) + 1023) << 52; /* 2^k, 0 <= k <= 64 */
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    double em1 = scale * p + (scale - 1.0);
    double t = em1 / (em1 + 2.0);
    return a < 0x1p-28 ? x : copysign(t, x); /* tiny |x|: x, as glibc */
}

static const char *const cs_activation_names[CS_ACT_COUNT] = {
    [CS_ACT_LINEAR] = "linear",   [CS_ACT_RELU] = "relu",
    [CS_ACT_LEAKY_RELU] = "leaky_relu", [CS_ACT_TANH] = "tanh",
    [CS_ACT_SIGMOID] = "sigmoid", [CS_ACT_SELU] = "selu",
    [CS_ACT_GELU] = "gelu",
};

int cs_activation_parse(const char *name, cs_activation *out)
{
    if (name) {
        for (int k = 0; k < CS_ACT_COUNT; k++) {
            if (strcmp(name, cs_activation_names[k]) == 0) {
                *out = (cs_activation)k;
                return CS_OK;
            }
        }
    }
    return cs_error_set(CS_EINVAL,
                        "unknown activation '%s': expected one of linear, relu, leaky_relu, "
                        "tanh, sigmoid, selu, gelu",
                        name ? name : "(null)");
}

const char *cs_activation_name(cs_activation act)
{
    if ((int)act < 0 || act >= CS_ACT_COUNT)
        return "?";
    return cs_activation_names[act];
}

/* Comparisons are written so that NaN falls through to an expression of z
 * and stays NaN: a diverged stack must show up in the statistics
 * (docs/design.md §2, nonfinite), not be clipped to 0 by relu. */
/* Cloned for wider vectors where the CPU has them (GCC picks at load time):
 * the tanh loop is an elementwise series, so 4 or 8 lanes run it 2 or 4
 * times as fast as SSE2's 2. The clones compute the same IEEE operations
 * (no FMA: contraction is off for this file), so results do not depend on
 * the CPU. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void cs_activation_forward(cs_activation act, double *out, const double *z, size_t n)
{
    size_t i;
    switch (act) {
    case CS_ACT_LINEAR:
        if (out != z)
            memmove(out, z, n * sizeof *out);
        break;
    case CS_ACT_RELU:
        for (i = 0; i < n; i++)
            out[i] = z[i] < 0 ? 0.0 : z[i];
        break;
    case CS_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++)
            out[i] = z[i] < 0 ? CS_LEAKY_SLOPE * z[i] : z[i];
        break;
    case CS_ACT_TANH:
        for (i = 0; i < n; i++)
            out[i] = cs_tanh(z[i]);
        break;
    case CS_ACT_SIGMOID:
        /* sigma(z) = 1 / (1 + e^-z); exp overflows to inf for z < -709 and
         * the quotient is then exactly 0, the correctly rounded value. */
        for (i = 0; i < n; i++)
            out[i] = 1.0 / (1.0 + exp(-z[i]));
        break;
    case CS_ACT_SELU:
        /* scale z for z > 0, scale alpha (e^z - 1) otherwise; expm1 keeps
         * full relative accuracy near 0 where e^z - 1 would cancel. */
        for (i = 0; i < n; i++)
            out[i] = z[i] > 0 ? CS_SELU_SCALE * z[i]
                              : CS_SELU_SCALE * CS_SELU_ALPHA * expm1(z[i]);
        break;
    case CS_ACT_GELU:
        /* z Phi(z) = z / 2 (1 + erf(z / sqrt 2)), torch's approximate='none'. */
        for (i = 0; i < n; i++)
            out[i] = z[i] * 0.5 * (1.0 + erf(z[i] * CS_SQRT1_2));
        break;
    default:
        break;
    }
}

void cs_activation_derivative(cs_activation act, double *out, const double *z, size_t n)
{
    size_t i;
    switch (act) {
    case CS_ACT_LINEAR:
        for (i = 0; i < n; i++)
            out[i] = z[i] == z[i] ? 1.0 : z[i];
        break;
    case CS_ACT_RELU:
        /* autograd's threshold_backward: 0 for z <= 0, so relu'(0) = 0. */
        for (i = 0; i < n; i++)
            out[i] = z[i] > 0 ? 1.0 : z[i] <= 0 ? 0.0 : z[i];
        break;
    case CS_ACT_LEAKY_RELU:
        /* autograd's leaky_relu_backward: the slope for z <= 0, so 0.01 at 0. */
        for (i = 0; i < n; i++)
            out[i] = z[i] > 0 ? 1.0 : z[i] <= 0 ? CS_LEAKY_SLOPE : z[i];
        break;
    case CS_ACT_TANH:
        /* 1 - tanh^2 from the output, as autograd: exactly 0 once tanh
         * rounds to +-1 (|z| > 19.1), where the true value is < 1e-16. */
        for (i = 0; i < n; i++) {
            double t = cs_tanh(z[i]);
            out[i] = 1.0 - t * t;
        }
        break;
    case CS_ACT_SIGMOID:
        /* sigma (1 - sigma) from the output, as autograd's sigmoid_backward. */
        for (i = 0; i < n; i++) {
            double s = 1.0 / (1.0 + exp(-z[i]));
            out[i] = (1.0 - s) * s;
        }
        break;
    case CS_ACT_SELU:
        /* scale for z > 0, scale alpha e^z for z <= 0 (autograd's
         * elu_backward), so selu'(0) = scale alpha, the left limit. */
        for (i = 0; i < n; i++)
            out[i] = z[i] > 0 ? CS_SELU_SCALE : CS_SELU_SCALE * CS_SELU_ALPHA * exp(z[i]);
        break;
    case CS_ACT_GELU:
        /* d/dz z Phi(z) = Phi(z) + z phi(z), as torch's GeluBackward. */
        for (i = 0; i < n; i++) {
            double cdf = 0.5 * (1.0 + erf(z[i] * CS_SQRT1_2));
            double pdf = CS_INV_SQRT_2PI * exp(z[i] * z[i] * -0.5);
            out[i] = cdf + z[i] * pdf;
        }
        break;
    default:
        break;
    }
}

double cs_activation_max_derivative(cs_activation act)
{
    switch (act) {
    case CS_ACT_LINEAR:
    case CS_ACT_RELU:
    case CS_ACT_LEAKY_RELU:
    case CS_ACT_TANH: /* at z = 0 */
        return 1.0;
    case CS_ACT_SIGMOID: /* sigma(0) (1 - sigma(0)) */
        return 0.25;
    case CS_ACT_SELU:
        /* sup over z <= 0 of scale alpha e^z, reached at z = 0 (the value
         * autograd gives there); above 0 the slope is only scale. */
        return CS_SELU_SCALE * CS_SELU_ALPHA;
    case CS_ACT_GELU:
        /* gelu'(z) = Phi(z) + z phi(z) and gelu''(z) = phi(z) (2 - z^2), so
         * the maximum is at z = sqrt 2:
         *   Phi(sqrt 2) + sqrt 2 phi(sqrt 2) = (1 + erf 1) / 2 + e^-1 / sqrt pi
         *   = 1.1289041451851550 (torch autograd on a 1e-5 grid of [-10, 10]
         * peaks at z = 1.41421 with 1.12890414518252); test_activation
         * repeats that grid search against this function. */
        return 0.5 * (1.0 + erf(1.0)) + exp(-1.0) * CS_INV_SQRT_PI;
    default:
        return 1.0;
    }
}
