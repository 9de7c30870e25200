/* Dense layer forward and backward, h = x W^T + b: docs/design.md §1. */
#ifndef CS_DENSE_H
#define CS_DENSE_H

#include <stddef.h>

/* h: (m, n_out), x: (m, n_in), W: (n_out, n_in), b: (n_out), row-major.
 * h = x W^T + b through CBLAS dgemm (OpenBLAS). b may be NULL (no bias).
 * h must not overlap x or W. */
void cs_dense_forward(double *h, const double *x, const double *W, const double *b,
                      size_t m, size_t n_in, size_t n_out);

/* Given dh (m, n_out): dx = dh W (m, n_in), dW = dh^T x (n_out, n_in),
 * db = column sums of dh (n_out). Any of dx, dW, db may be NULL to skip.
 * Outputs must not overlap the inputs. */
void cs_dense_backward(double *dx, double *dW, double *db, const double *dh,
                       const double *x, const double *W, size_t m, size_t n_in, size_t n_out);

#endif
