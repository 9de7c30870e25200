/* The mean cosine similarity between the rows (samples) of a batch, the
 * finite-width measurement of the mean-field correlation c^l
 * (docs/design.md §2, corr_mean). */
#ifndef CS_CORR_H
#define CS_CORR_H

#include <stddef.h>

/* Mean over the pairs i < k of rows with a nonzero norm of
 *   cos(x_i, x_k) = x_i . x_k / (||x_i|| ||x_k||)
 * by the identity, with u_i = x_i / ||x_i|| and S = sum_i u_i over the m'
 * nonzero rows,
 *   sum_{i != k} u_i . u_k = ||S||^2 - sum_i ||u_i||^2
 *   corr_mean = (||S||^2 - sum_i ||u_i||^2) / (m' (m' - 1))
 * which is exact (no sampled Gram block) in 2 m n multiply-adds: 2 / n_in
 * of the layer's product x W^T (m n_in n_out). Rounding: |error| below
 * ~(m' + n) 2^-52 of the pair mean. Rows that are all zero (a dead ReLU row)
 * have no direction and are left out, as is the batch when m' < 2 (NaN).
 * A nonfinite entry gives NaN.
 * x: (m, n) row-major; sum: (n) workspace, overwritten. rows_used (may be
 * NULL): out, m'. */
double cs_corr_mean(const double *x, size_t m, size_t n, double *sum, size_t *rows_used);

#endif
