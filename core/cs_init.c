/* Weight and bias initialisation of one dense layer: docs/design.md §1 (init).
 * Gaussian-family kinds draw W_ij ~ N(0, sigma^2 / fan_in); orthogonal takes
 * the Q factor of a Gaussian matrix as torch.nn.init.orthogonal_ does. */
#include "cs_init.h"
#include "cs_alloc.h"
#include "cs_error.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const char *const cs_init_names[CS_INIT_COUNT] = {
    [CS_INIT_GAUSSIAN] = "gaussian",
    [CS_INIT_XAVIER] = "xavier",
    [CS_INIT_HE] = "he",
    [CS_INIT_ORTHOGONAL] = "orthogonal",
};

int cs_init_parse(const char *name, cs_init_kind *out)
{
    if (name) {
        for (int k = 0; k < CS_INIT_COUNT; k++) {
            if (strcmp(name, cs_init_names[k]) == 0) {
                *out = (cs_init_kind)k;
                return CS_OK;
            }
        }
    }
    return cs_error_set(CS_EINVAL,
                        "unknown init '%s': expected one of gaussian, xavier, he, orthogonal",
                        name ? name : "(null)");
}

const char *cs_init_name(cs_init_kind kind)
{
    if ((int)kind < 0 || kind >= CS_INIT_COUNT)
        return "?";
    return cs_init_names[kind];
}

/* W = sigma_w Q, Q with orthonormal columns (n_out >= n_in) or rows
 * (n_out < n_in), as torch.nn.init.orthogonal_:
 *   G (n_out x n_in) ~ N(0, 1), drawn in W's row-major order;
 *   A = G if n_out >= n_in else G^T          (M x N, M = max, N = min)
 *   A = Q R (Householder, GSL's recursive blocked QR_decomp_r), D = sign diag(R)
 *   W = sigma_w Q D  or  sigma_w (Q D)^T
 * Fixing the signs by diag(R) makes the factorisation unique, so W is Haar
 * distributed (Mezzadri 2007, "How to generate random matrices from the
 * classical compact groups", Notices AMS 54).
 *
 * decomp_r leaves A = [R above the diagonal; V below, unit diagonal implied]
 * and T with Q = I - V T V^T. Only the first N columns of Q are needed:
 *   Q1 = Q [I_N; 0] = [I_N; 0] - V (T V1^T),  V1 = the top N x N of V,
 * two BLAS-3 products instead of forming the M x M Q of QR_unpack_r. */
/* A GSL status as a cs error: GSL's own handler is off in covshift (the
 * CLI turns it off), so its routines return codes instead of aborting. */
static int cs_init_gsl_failed(const char *what, int gsl_status)
{
    return cs_error_set(gsl_status == GSL_ENOMEM ? CS_ENOMEM : CS_ENUMERIC, "GSL %s failed: %s",
                        what, gsl_strerror(gsl_status));
}

static int cs_init_orthogonal(double *W, size_t n_out, size_t n_in, double sigma_w, gsl_rng *r)
{
    const size_t M = n_out >= n_in ? n_out : n_in;
    const size_t N = n_out >= n_in ? n_in : n_out;
    int status = CS_OK, gsl_status;
    double *a = NULL, *t = NULL, *sign = NULL;

    if (!(a = cs_malloc_n(sizeof *a, M, N)) || !(t = cs_calloc_n(sizeof *t, N, N)) ||
        !(sign = cs_malloc_n(sizeof *sign, N))) {
        status = cs_error_code() != CS_OK ? cs_error_code() : CS_ENOMEM;
        goto fail;
    }

    for (size_t i = 0; i < n_out; i++)
        for (size_t j = 0; j < n_in; j++) {
            double g = gsl_ran_gaussian(r, 1.0);
            if (n_out >= n_in)
                a[i * n_in + j] = g;
            else
                a[j * n_out + i] = g;
        }

    gsl_matrix_view A = gsl_matrix_view_array(a, M, N);
    gsl_matrix_view T = gsl_matrix_view_array(t, N, N);
    /* Dimensions are valid by construction (M >= N, T N x N); the status is
     * checked all the same: with GSL's aborting handler off, a failure
     * fails the run, not the process. */
    if ((gsl_status = gsl_linalg_QR_decomp_r(&A.matrix, &T.matrix)) != GSL_SUCCESS) {
        status = cs_init_gsl_failed("QR decomposition", gsl_status);
        goto fail;
    }

    /* Keep sign(R_kk), then turn A into V explicitly: unit diagonal, zeros
     * above, so that plain dgemm can multiply by it. */
    for (size_t k = 0; k < N; k++) {
        sign[k] = a[k * N + k] < 0 ? -1.0 : 1.0;
        a[k * N + k] = 1.0;
        for (size_t j = k + 1; j < N; j++)
            a[k * N + j] = 0.0;
    }
    /* T's strict lower triangle is never written by decomp_r; calloc made
     * it 0, which dtrmm needs since it treats T as a full matrix.
     * X = T V1^T, in place in T. GSL's BLAS wrappers call the cblas_*
     * symbols, which the build resolves to OpenBLAS (docs/design.md §6); OpenBLAS's
     * own <cblas.h> cannot be included beside <gsl/gsl_linalg.h>. */
    gsl_matrix_view V = gsl_matrix_view_array(a, M, N);
    gsl_matrix_view V1 = gsl_matrix_view_array(a, N, N);
    if ((gsl_status = gsl_blas_dtrmm(CblasRight, CblasLower, CblasTrans, CblasUnit, 1.0,
                                     &V1.matrix, &T.matrix)) != GSL_SUCCESS) {
        status = cs_init_gsl_failed("dtrmm", gsl_status);
        goto fail;
    }

    memset(W, 0, M * N * sizeof *W);
    if (n_out >= n_in) {
        /* W (M x N) = E - V X, E = [I_N; 0]. */
        gsl_matrix_view Wm = gsl_matrix_view_array(W, M, N);
        for (size_t k = 0; k < N; k++)
            W[k * N + k] = 1.0;
        if ((gsl_status = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, &V.matrix, &T.matrix,
                                         1.0, &Wm.matrix)) != GSL_SUCCESS) {
            status = cs_init_gsl_failed("dgemm", gsl_status);
            goto fail;
        }
        /* W = sigma_w Q1 D: column k times sign[k]. */
        for (size_t i = 0; i < M; i++)
            for (size_t k = 0; k < N; k++)
                W[i * N + k] *= sigma_w * sign[k];
    } else {
        /* W (N x M) = Q1^T = E^T - X^T V^T. */
        gsl_matrix_view Wm = gsl_matrix_view_array(W, N, M);
        for (size_t k = 0; k < N; k++)
            W[k * M + k] = 1.0;
        if ((gsl_status = gsl_blas_dgemm(CblasTrans, CblasTrans, -1.0, &T.matrix, &V.matrix, 1.0,
                                         &Wm.matrix)) != GSL_SUCCESS) {
            status = cs_init_gsl_failed("dgemm", gsl_status);
            goto fail;
        }
        /* W = sigma_w D Q1^T: row k times sign[k]. */
        for (size_t k = 0; k < N; k++)
            for (size_t j = 0; j < M; j++)
                W[k * M + j] *= sigma_w * sign[k];
    }
    status = CS_OK;
fail:
    cs_free(sign);
    cs_free(t);
    cs_free(a);
    if (status != CS_OK)
        cs_error_prefix(status, "orthogonal init of a %zu x %zu layer", n_out, n_in);
    return status;
}

int cs_init_dense(cs_init_kind kind, double *W, double *b, size_t n_out, size_t n_in,
                  double sigma_w, double sigma_b, gsl_rng *r_w, gsl_rng *r_b)
{
    if ((int)kind < 0 || kind >= CS_INIT_COUNT)
        return cs_error_set(CS_EINVAL, "init kind %d is not one of gaussian, xavier, he, orthogonal",
                            (int)kind);
    if (n_out == 0 || n_in == 0)
        return cs_error_set(CS_EINVAL, "%s init: layer is %zu x %zu, both dimensions must be >= 1",
                            cs_init_names[kind], n_out, n_in);
    /* BLAS takes int dimensions; also bounds n_out * n_in * sizeof(double). */
    if (n_out > INT32_MAX || n_in > INT32_MAX || n_out > SIZE_MAX / sizeof(double) / n_in)
        return cs_error_set(CS_EINVAL, "%s init: layer %zu x %zu is too large",
                            cs_init_names[kind], n_out, n_in);
    if (!(isfinite(sigma_w) && sigma_w >= 0))
        return cs_error_set(CS_EINVAL, "%s init: sigma_w is %g, expected a finite value >= 0",
                            cs_init_names[kind], sigma_w);
    if (!(isfinite(sigma_b) && sigma_b >= 0))
        return cs_error_set(CS_EINVAL, "%s init: sigma_b is %g, expected a finite value >= 0",
                            cs_init_names[kind], sigma_b);
    if (!W || !b || !r_w || !r_b)
        return cs_error_set(CS_EINVAL, "%s init: W, b, r_w and r_b must not be NULL",
                            cs_init_names[kind]);

    if (kind == CS_INIT_ORTHOGONAL) {
        int status = cs_init_orthogonal(W, n_out, n_in, sigma_w, r_w);
        if (status != CS_OK)
            return status;
    } else {
        /* docs/design.md §1: Var W_ij = sigma_w^2 / fan_in with fan_in = n_in, where
         * xavier sets sigma_w^2 = 2 fan_in / (fan_in + fan_out) (Glorot &
         * Bengio 2010) and he sets sigma_w^2 = 2 (He et al. 2015). */
        double fan_in = (double)n_in, fan_out = (double)n_out;
        double var = kind == CS_INIT_XAVIER ? 2.0 / (fan_in + fan_out)
                   : kind == CS_INIT_HE     ? 2.0 / fan_in
                                            : sigma_w * sigma_w / fan_in;
        double sd = sqrt(var);
        for (size_t i = 0; i < n_out * n_in; i++)
            W[i] = gsl_ran_gaussian(r_w, sd);
    }
    /* sigma_b = 0 gives exact +0 biases (a draw times 0 could be -0). */
    for (size_t i = 0; i < n_out; i++)
        b[i] = sigma_b > 0 ? gsl_ran_gaussian(r_b, sigma_b) : 0.0;
    return CS_OK;
}
