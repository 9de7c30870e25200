/* Dense layer h = x W^T + b, forward and backward, on OpenBLAS dgemm:
 * docs/design.md §1 (pre site), §6 (CBLAS from OpenBLAS, not gslcblas). */
#include "cs_dense.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <string.h>

void cs_dense_forward(double *h, const double *x, const double *W, const double *b,
                      size_t m, size_t n_in, size_t n_out)
{
    assert(m <= INT_MAX && n_in <= INT_MAX && n_out <= INT_MAX);
    if (m == 0 || n_out == 0)
        return;
    /* h starts as the bias broadcast over rows, then h = 1 x W^T + 1 h
     * (as torch's addmm does for nn.Linear). */
    for (size_t i = 0; i < m; i++) {
        if (b)
            memcpy(h + i * n_out, b, n_out * sizeof *h);
        else
            memset(h + i * n_out, 0, n_out * sizeof *h);
    }
    if (n_in == 0) /* empty product; dgemm rejects lda = 0 */
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n_out, (int)n_in, 1.0, x,
                (int)n_in, W, (int)n_in, 1.0, h, (int)n_out);
}

void cs_dense_backward(double *dx, double *dW, double *db, const double *dh,
                       const double *x, const double *W, size_t m, size_t n_in, size_t n_out)
{
    assert(m <= INT_MAX && n_in <= INT_MAX && n_out <= INT_MAX);
    int empty = m == 0 || n_in == 0 || n_out == 0;
    /* dx (m x n_in) = dh (m x n_out) W (n_out x n_in) */
    if (dx && m && n_in) {
        if (n_out)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n_in, (int)n_out,
                        1.0, dh, (int)n_out, W, (int)n_in, 0.0, dx, (int)n_in);
        else
            memset(dx, 0, m * n_in * sizeof *dx);
    }
    /* dW (n_out x n_in) = dh^T (n_out x m) x (m x n_in) */
    if (dW && n_out && n_in) {
        if (!empty)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n_out, (int)n_in, (int)m,
                        1.0, dh, (int)n_out, x, (int)n_in, 0.0, dW, (int)n_in);
        else
            memset(dW, 0, n_out * n_in * sizeof *dW);
    }
    /* db_j = sum_i dh_ij, row by row so dh is read contiguously. */
    if (db && n_out) {
        memset(db, 0, n_out * sizeof *db);
        for (size_t i = 0; i < m; i++) {
            const double *row = dh + i * n_out;
            for (size_t j = 0; j < n_out; j++)
                db[j] += row[j];
        }
    }
}
