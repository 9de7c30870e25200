/* Normalisations over the batch axis: the worksheet's min-max and
 * standardisation, batch norm forward (batch or given statistics), PyTorch's
 * running update and batch norm backward (batch or given statistics); and
 * per sample over the units: layer norm and RMS norm, forward and backward:
 * docs/design.md §1 (norm).
 * Hot path on (256 x 1024) batches: no allocation. Columns are processed in
 * blocks of CS_NORM_BLOCK, with per-column accumulators on the stack, and
 * each block is swept row by row so every read of x is contiguous. */
#include "cs_norm.h"

#include <assert.h>
#include <math.h>

#define CS_NORM_BLOCK 256

static size_t cs_norm_block_width(size_t n, size_t j0)
{
    return n - j0 < CS_NORM_BLOCK ? n - j0 : CS_NORM_BLOCK;
}

/* Per-column mean and biased variance of columns j0 .. j0+nb-1 of x (m, n):
 *   mu_j = (1/m) sum_i x_ij                              (first pass)
 *   delta_j = (1/m) sum_i d_ij,  d_ij = x_ij - mu_j        (second pass)
 *   s2_j = (1/m) [ sum_i d_ij^2 - delta_j sum_i d_ij ],  mean_j = mu_j + delta_j
 * the corrected two-pass algorithm (Chan, Golub & LeVeque 1983, "Algorithms
 * for computing the sample variance", eq. 1.7). Two passes keep full
 * accuracy for a column with mean 1e6 and variance 1, where the one-pass
 * E[x^2] - mu^2 would lose ~12 digits; delta, zero in exact arithmetic,
 * removes the rounding left in mu by the first pass's running sum. */
static void cs_norm_column_moments(double *mean, double *var, const double *x, size_t m, size_t n,
                                   size_t j0, size_t nb)
{
    double sum_d[CS_NORM_BLOCK];
    for (size_t jj = 0; jj < nb; jj++)
        mean[jj] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *row = x + i * n + j0;
        for (size_t jj = 0; jj < nb; jj++)
            mean[jj] += row[jj];
    }
    for (size_t jj = 0; jj < nb; jj++) {
        mean[jj] /= (double)m;
        sum_d[jj] = 0.0;
        var[jj] = 0.0;
    }
    for (size_t i = 0; i < m; i++) {
        const double *row = x + i * n + j0;
        for (size_t jj = 0; jj < nb; jj++) {
            double d = row[jj] - mean[jj];
            sum_d[jj] += d;
            var[jj] += d * d;
        }
    }
    for (size_t jj = 0; jj < nb; jj++) {
        double delta = sum_d[jj] / (double)m; /* the rounding error left in mu */
        double s2 = (var[jj] - sum_d[jj] * delta) / (double)m;
        mean[jj] += delta;
        /* Rounding can take a constant column a hair below 0; NaN passes. */
        var[jj] = s2 < 0 ? 0.0 : s2;
    }
}

void cs_norm_minmax(double *out, const double *x, size_t m, size_t n)
{
    if (m == 0)
        return;
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double lo[CS_NORM_BLOCK], hi[CS_NORM_BLOCK];
        for (size_t jj = 0; jj < nb; jj++)
            lo[jj] = hi[jj] = x[j0 + jj];
        /* A NaN, once taken, sticks (v < NaN is false), so a column with
         * a NaN gives NaN everywhere, as NumPy's min and max do. */
        for (size_t i = 1; i < m; i++) {
            const double *row = x + i * n + j0;
            for (size_t jj = 0; jj < nb; jj++) {
                double v = row[jj];
                if (v < lo[jj] || v != v)
                    lo[jj] = v;
                if (v > hi[jj] || v != v)
                    hi[jj] = v;
            }
        }
        /* out = (x - min) / (max - min), the worksheet's case 1 verbatim. */
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                out[k] = (x[k] - lo[jj]) / (hi[jj] - lo[jj]);
            }
    }
}

void cs_norm_standardize(double *out, const double *x, size_t m, size_t n)
{
    if (m == 0)
        return;
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double mean[CS_NORM_BLOCK], sd[CS_NORM_BLOCK];
        cs_norm_column_moments(mean, sd, x, m, n, j0, nb);
        for (size_t jj = 0; jj < nb; jj++)
            sd[jj] = sqrt(sd[jj]);
        /* out = (x - mean) / sd, the worksheet's case 2 (numpy std, ddof 0). */
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                out[k] = (x[k] - mean[jj]) / sd[jj];
            }
    }
}

void cs_bn_forward_batch(double *z, double *mean, double *var, const double *h,
                         const double *gamma, const double *beta, size_t m, size_t n,
                         double eps)
{
    assert(m >= 1);
    if (m == 0)
        return;
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double mean_buf[CS_NORM_BLOCK], var_buf[CS_NORM_BLOCK], scale[CS_NORM_BLOCK];
        double *mu = mean ? mean + j0 : mean_buf;
        double *s2 = var ? var + j0 : var_buf;
        cs_norm_column_moments(mu, s2, h, m, n, j0, nb);
        /* z = (h - mu) * scale + beta with scale = gamma / sqrt(s2 + eps).
         * Subtracting mu first (rather than torch's folded h * scale +
         * (beta - mu * scale)) keeps full accuracy when |mu| >> sd. */
        for (size_t jj = 0; jj < nb; jj++)
            scale[jj] = (gamma ? gamma[j0 + jj] : 1.0) / sqrt(s2[jj] + eps);
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                z[k] = (h[k] - mu[jj]) * scale[jj] + (beta ? beta[j0 + jj] : 0.0);
            }
    }
}

void cs_bn_forward_stats(double *z, const double *h, const double *mean, const double *var,
                         const double *gamma, const double *beta, size_t m, size_t n,
                         double eps)
{
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double scale[CS_NORM_BLOCK];
        for (size_t jj = 0; jj < nb; jj++)
            scale[jj] = (gamma ? gamma[j0 + jj] : 1.0) / sqrt(var[j0 + jj] + eps);
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                z[k] = (h[k] - mean[j0 + jj]) * scale[jj] + (beta ? beta[j0 + jj] : 0.0);
            }
    }
}

void cs_bn_update_running(double *running_mean, double *running_var, const double *batch_mean,
                          const double *batch_var, size_t m, size_t n, double momentum)
{
    assert(m >= 2);
    /* torch's Bessel correction m / (m - 1) turns the biased batch variance
     * into the unbiased one it stores (BatchNorm1d docs, "running_var"). */
    for (size_t j = 0; j < n; j++) {
        double unbiased = batch_var[j] * (double)m / (double)(m - 1);
        running_mean[j] = (1.0 - momentum) * running_mean[j] + momentum * batch_mean[j];
        running_var[j] = (1.0 - momentum) * running_var[j] + momentum * unbiased;
    }
}

void cs_bn_backward(double *dh, double *dgamma, double *dbeta, const double *dz,
                    const double *h, const double *mean, const double *var,
                    const double *gamma, size_t m, size_t n, double eps)
{
    assert(m >= 1);
    if (m == 0)
        return;
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double inv_sd[CS_NORM_BLOCK], dbeta_buf[CS_NORM_BLOCK], dgamma_buf[CS_NORM_BLOCK];
        double dbeta_mean[CS_NORM_BLOCK], dgamma_mean[CS_NORM_BLOCK];
        double *db = dbeta ? dbeta + j0 : dbeta_buf;
        double *dg = dgamma ? dgamma + j0 : dgamma_buf;
        const double *mu = mean + j0;
        for (size_t jj = 0; jj < nb; jj++) {
            inv_sd[jj] = 1.0 / sqrt(var[j0 + jj] + eps);
            db[jj] = 0.0;
            dg[jj] = 0.0;
        }
        /* dbeta_j = sum_i dz_ij,  dgamma_j = sum_i dz_ij xhat_ij */
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                db[jj] += dz[k];
                dg[jj] += dz[k] * ((h[k] - mu[jj]) * inv_sd[jj]);
            }
        for (size_t jj = 0; jj < nb; jj++) {
            dbeta_mean[jj] = db[jj] / (double)m;
            dgamma_mean[jj] = dg[jj] / (double)m;
        }
        /* dh_ij = gamma_j inv_sd_j (dz_ij - dbeta_j / m - xhat_ij dgamma_j / m);
         * dz_ij is read before dh_ij is written, so dh may alias dz. */
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                double xhat = (h[k] - mu[jj]) * inv_sd[jj];
                double g = gamma ? gamma[j0 + jj] : 1.0;
                dh[k] = g * inv_sd[jj] * (dz[k] - dbeta_mean[jj] - xhat * dgamma_mean[jj]);
            }
    }
}

void cs_bn_backward_stats(double *dh, double *dgamma, double *dbeta, const double *dz,
                          const double *h, const double *mean, const double *var,
                          const double *gamma, size_t m, size_t n, double eps)
{
    for (size_t j0 = 0; j0 < n; j0 += CS_NORM_BLOCK) {
        size_t nb = cs_norm_block_width(n, j0);
        double sd[CS_NORM_BLOCK];
        for (size_t jj = 0; jj < nb; jj++)
            sd[jj] = sqrt(var[j0 + jj] + eps);
        /* dbeta_j = sum_i dz_ij,  dgamma_j = sum_i dz_ij (h_ij - mean_j) / sd_j;
         * both before dh is written, since dh may alias dz. */
        if (dbeta) {
            for (size_t jj = 0; jj < nb; jj++)
                dbeta[j0 + jj] = 0.0;
            for (size_t i = 0; i < m; i++)
                for (size_t jj = 0; jj < nb; jj++)
                    dbeta[j0 + jj] += dz[i * n + j0 + jj];
        }
        if (dgamma) {
            for (size_t jj = 0; jj < nb; jj++)
                dgamma[j0 + jj] = 0.0;
            for (size_t i = 0; i < m; i++)
                for (size_t jj = 0; jj < nb; jj++) {
                    size_t k = i * n + j0 + jj;
                    dgamma[j0 + jj] += dz[k] * ((h[k] - mean[j0 + jj]) / sd[jj]);
                }
        }
        /* dh_ij = gamma_j dz_ij / sd_j; with gamma = 1 the product is exact,
         * so dh = dz / sd as the plain map gives it. */
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < nb; jj++) {
                size_t k = i * n + j0 + jj;
                double g = gamma ? gamma[j0 + jj] : 1.0;
                dh[k] = g * dz[k] / sd[jj];
            }
    }
}

/* ---- per sample: layer norm and RMS norm ---- */

/* Mean and biased variance of one row x[0..n), by the corrected two-pass
 * algorithm of cs_norm_column_moments (Chan, Golub & LeVeque 1983). */
static void cs_norm_row_moments(double *mean, double *var, const double *x, size_t n)
{
    double mu = 0.0, sum_d = 0.0, sum_d2 = 0.0;
    for (size_t j = 0; j < n; j++)
        mu += x[j];
    mu /= (double)n;
    for (size_t j = 0; j < n; j++) {
        double d = x[j] - mu;
        sum_d += d;
        sum_d2 += d * d;
    }
    double delta = sum_d / (double)n, s2 = (sum_d2 - sum_d * delta) / (double)n;
    *mean = mu + delta;
    *var = s2 < 0 ? 0.0 : s2;
}

/* 1 / sqrt(mean_j x_j^2 + eps) of one row x[0..n). */
static double cs_norm_row_inv_rms(const double *x, size_t n, double eps)
{
    double ss = 0.0;
    for (size_t j = 0; j < n; j++)
        ss += x[j] * x[j];
    return 1.0 / sqrt(ss / (double)n + eps);
}

/* z = gamma (h - shift) scale + beta over one row, h and z may alias. */
static void cs_norm_row_affine(double *z, const double *h, double shift, double scale,
                               const double *gamma, const double *beta, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double v = (h[j] - shift) * scale;
        if (gamma)
            v *= gamma[j];
        if (beta)
            v += beta[j];
        z[j] = v;
    }
}

void cs_ln_forward(double *z, const double *h, const double *gamma, const double *beta, size_t m,
                   size_t n, double eps)
{
    assert(n >= 1);
    for (size_t i = 0; i < m; i++) {
        double mu, s2;
        cs_norm_row_moments(&mu, &s2, h + i * n, n);
        cs_norm_row_affine(z + i * n, h + i * n, mu, 1.0 / sqrt(s2 + eps), gamma, beta, n);
    }
}

void cs_rms_forward(double *z, const double *h, const double *gamma, const double *beta,
                    size_t m, size_t n, double eps)
{
    assert(n >= 1);
    for (size_t i = 0; i < m; i++)
        cs_norm_row_affine(z + i * n, h + i * n, 0.0, cs_norm_row_inv_rms(h + i * n, n, eps),
                           gamma, beta, n);
}

/* The backward of both per-sample norms, row by row: with xhat_ij =
 * (h_ij - shift_i) scale_i (shift_i = mu_i for layer norm, 0 for RMS) and
 * g_ij = gamma_j dz_ij,
 *   dh_ij = scale_i (g_ij - centre mean_k g_ik - xhat_ij mean_k g_ik xhat_ik)
 * where centre is 1 for layer norm (the mean's own derivative) and 0 for
 * RMS. Each row's two means are taken before its dh is written, so dh may
 * alias dz. */
static void cs_norm_row_backward(double *dh, double *dgamma, double *dbeta, const double *dz,
                                 const double *h, const double *gamma, size_t m, size_t n,
                                 double eps, int centre)
{
    if (dgamma)
        for (size_t j = 0; j < n; j++)
            dgamma[j] = 0.0;
    if (dbeta)
        for (size_t j = 0; j < n; j++)
            dbeta[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *hr = h + i * n, *dzr = dz + i * n;
        double shift = 0.0, scale, s2;
        if (centre) {
            cs_norm_row_moments(&shift, &s2, hr, n);
            scale = 1.0 / sqrt(s2 + eps);
        } else {
            scale = cs_norm_row_inv_rms(hr, n, eps);
        }
        double sum_g = 0.0, sum_gx = 0.0;
        for (size_t j = 0; j < n; j++) {
            double xhat = (hr[j] - shift) * scale, g = gamma ? gamma[j] * dzr[j] : dzr[j];
            sum_g += g;
            sum_gx += g * xhat;
            if (dgamma)
                dgamma[j] += dzr[j] * xhat;
            if (dbeta)
                dbeta[j] += dzr[j];
        }
        double mean_g = centre ? sum_g / (double)n : 0.0, mean_gx = sum_gx / (double)n;
        double *dhr = dh + i * n;
        for (size_t j = 0; j < n; j++) {
            double xhat = (hr[j] - shift) * scale, g = gamma ? gamma[j] * dzr[j] : dzr[j];
            dhr[j] = scale * (g - mean_g - xhat * mean_gx);
        }
    }
}

void cs_ln_backward(double *dh, double *dgamma, double *dbeta, const double *dz, const double *h,
                    const double *gamma, size_t m, size_t n, double eps)
{
    assert(n >= 1);
    cs_norm_row_backward(dh, dgamma, dbeta, dz, h, gamma, m, n, eps, 1);
}

void cs_rms_backward(double *dh, double *dgamma, double *dbeta, const double *dz, const double *h,
                     const double *gamma, size_t m, size_t n, double eps)
{
    assert(n >= 1);
    cs_norm_row_backward(dh, dgamma, dbeta, dz, h, gamma, m, n, eps, 0);
}
