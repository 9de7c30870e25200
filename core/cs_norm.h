/* Normalisations: over the batch axis the worksheet's min-max and
 * standardisation, and batch norm (forward with batch or running
 * statistics, PyTorch's running update, backward with batch or given
 * statistics); per sample over the units layer norm and RMS norm (forward
 * and backward): docs/design.md §1.
 * None of these allocate: they run once per batch and layer. */
#ifndef CS_NORM_H
#define CS_NORM_H

#include <stddef.h>

/* Worksheet case 1, per feature j over the m rows:
 * out = (x - min_j) / (max_j - min_j). A feature with max = min gives NaN
 * (0/0) exactly as NumPy does. x, out: (m, n), may alias. */
void cs_norm_minmax(double *out, const double *x, size_t m, size_t n);

/* Worksheet case 2, per feature j: out = (x - mean_j) / sd_j with the
 * biased (population) sd, as numpy's std(axis=0). x, out: (m, n), may
 * alias. A constant feature gives NaN (0/0), as NumPy does when its mean
 * comes out exact (else NumPy divides rounding noise by ~1e-17). */
void cs_norm_standardize(double *out, const double *x, size_t m, size_t n);

/* Batch norm with batch statistics (training mode):
 *   mu_j = mean_i h_ij,  s2_j = mean_i (h_ij - mu_j)^2  (biased, two-pass)
 *   z_ij = gamma_j (h_ij - mu_j) / sqrt(s2_j + eps) + beta_j
 * h, z: (m, n), may alias. gamma, beta: (n) or NULL for 1 and 0.
 * mean, var (n): out, the batch mean and BIASED variance (may be NULL).
 * Requires m >= 1. */
void cs_bn_forward_batch(double *z, double *mean, double *var, const double *h,
                         const double *gamma, const double *beta, size_t m, size_t n,
                         double eps);

/* Batch norm with given statistics (inference mode):
 *   z_ij = gamma_j (h_ij - mean_j) / sqrt(var_j + eps) + beta_j. */
void cs_bn_forward_stats(double *z, const double *h, const double *mean, const double *var,
                         const double *gamma, const double *beta, size_t m, size_t n,
                         double eps);

/* PyTorch BatchNorm1d's running update from one batch of m rows:
 *   running_mean = (1 - momentum) running_mean + momentum batch_mean
 *   running_var  = (1 - momentum) running_var  + momentum batch_var * m / (m - 1)
 * batch_var is the BIASED batch variance (as cs_bn_forward_batch returns);
 * the unbiased correction is applied here. Requires m >= 2. */
void cs_bn_update_running(double *running_mean, double *running_var, const double *batch_mean,
                          const double *batch_var, size_t m, size_t n, double momentum);

/* Backward through batch norm with batch statistics. Given dz (m, n), the
 * forward input h, its batch mean and biased var:
 *   xhat = (h - mu) / sqrt(var + eps)
 *   dbeta_j = sum_i dz_ij,  dgamma_j = sum_i dz_ij xhat_ij
 *   dh_ij = gamma_j / sqrt(var_j + eps) * (dz_ij - dbeta_j / m - xhat_ij dgamma_j / m)
 * dh may alias dz. dgamma, dbeta may be NULL. gamma NULL means 1. */
void cs_bn_backward(double *dh, double *dgamma, double *dbeta, const double *dz,
                    const double *h, const double *mean, const double *var,
                    const double *gamma, size_t m, size_t n, double eps);

/* Backward through batch norm with given statistics (cs_bn_forward_stats:
 * inference mode, or phase B's frozen and ema statistics). The statistics
 * are constants, so z is a fixed affine map of h, as torch's BatchNorm1d
 * in eval mode differentiates it:
 *   xhat_ij = (h_ij - mean_j) / sqrt(var_j + eps)
 *   dbeta_j = sum_i dz_ij,  dgamma_j = sum_i dz_ij xhat_ij
 *   dh_ij = gamma_j dz_ij / sqrt(var_j + eps)
 * dz, dh: (m, n), dh may alias dz. mean, var, gamma, dgamma, dbeta: (n).
 * gamma NULL means 1, and then dh = dz / sqrt(var + eps) exactly. dgamma
 * and dbeta may be NULL to skip them; h and mean are read only for dgamma
 * (h: (m, n)) and may be NULL when it is. */
void cs_bn_backward_stats(double *dh, double *dgamma, double *dbeta, const double *dz,
                          const double *h, const double *mean, const double *var,
                          const double *gamma, size_t m, size_t n, double eps);

/* Layer norm (Ba, Kiros & Hinton 2016; torch.nn.LayerNorm(n)), per row i
 * over its n units:
 *   mu_i = mean_j h_ij,  s2_i = mean_j (h_ij - mu_i)^2  (biased, two-pass)
 *   z_ij = gamma_j (h_ij - mu_i) / sqrt(s2_i + eps) + beta_j
 * h, z: (m, n), may alias. gamma, beta: (n) or NULL for 1 and 0. Rows are
 * independent: no batch statistics, nothing running. Requires n >= 1. */
void cs_ln_forward(double *z, const double *h, const double *gamma, const double *beta, size_t m,
                   size_t n, double eps);

/* Backward through cs_ln_forward, per row i (xhat the normalised h,
 * g_ij = gamma_j dz_ij):
 *   dh_ij = (g_ij - mean_k g_ik - xhat_ij mean_k g_ik xhat_ik) / sqrt(s2_i + eps)
 *   dgamma_j = sum_i dz_ij xhat_ij,  dbeta_j = sum_i dz_ij
 * dz, h, dh: (m, n); dh may alias dz. dgamma, dbeta: (n) or NULL to skip.
 * gamma NULL means 1. */
void cs_ln_backward(double *dh, double *dgamma, double *dbeta, const double *dz, const double *h,
                    const double *gamma, size_t m, size_t n, double eps);

/* RMS norm (Zhang & Sennrich 2019), per row i over its n units, without
 * re-centring:
 *   r_i = sqrt(mean_j h_ij^2 + eps),  z_ij = gamma_j h_ij / r_i + beta_j
 * beta is the paper's optional bias (torch.nn.RMSNorm has gamma only: the
 * two agree for beta = 0). Shapes and NULLs as cs_ln_forward. */
void cs_rms_forward(double *z, const double *h, const double *gamma, const double *beta,
                    size_t m, size_t n, double eps);

/* Backward through cs_rms_forward, per row i (yhat = h / r, g = gamma dz):
 *   dh_ij = (g_ij - yhat_ij mean_k g_ik yhat_ik) / r_i
 *   dgamma_j = sum_i dz_ij yhat_ij,  dbeta_j = sum_i dz_ij
 * Shapes, aliasing and NULLs as cs_ln_backward. */
void cs_rms_backward(double *dh, double *dgamma, double *dbeta, const double *dz, const double *h,
                     const double *gamma, size_t m, size_t n, double eps);

#endif
