/* The training losses of docs/design.md §7 on a readout's outputs y
 * (m examples x k outputs): mean squared error and softmax cross-entropy,
 * each with its gradient dL/dy, as torch.nn.MSELoss and
 * torch.nn.CrossEntropyLoss (reduction 'mean') define them, and the count
 * of examples whose largest output is their class. No allocation. */
#ifndef CS_LOSS_H
#define CS_LOSS_H

#include <stddef.h>

/* L = (1 / (m k)) sum_ik (y_ik - t_ik)^2, and dy_ik = 2 (y_ik - t_ik) / (m k)
 * when dy is not NULL. y, t, dy: (m, k); dy may alias y. m, k >= 1. */
double cs_loss_mse(double *dy, const double *y, const double *t, size_t m, size_t k);

/* Softmax cross-entropy with class labels c_i in 0..k-1:
 *   L = (1 / m) sum_i (lse(y_i) - y_i,c_i),  lse(v) = max v + log sum_j exp(v_j - max v)
 * (the log-sum-exp shifted by the row's maximum, so no exp overflows), and
 * dy_ij = (softmax(y_i)_j - [j = c_i]) / m when dy is not NULL. y, dy:
 * (m, k), dy may alias y. A row with a nonfinite output gives NaN. The
 * caller guarantees 0 <= c_i < k (assert). m, k >= 1. */
double cs_loss_cross_entropy(double *dy, const double *y, const int *labels, size_t m, size_t k);

/* The number of rows i whose first largest output is labels[i]; a row
 * with a nonfinite output counts as wrong. y: (m, k). */
size_t cs_loss_correct(const double *y, const int *labels, size_t m, size_t k);

/* labels[i] = the index of the first largest entry of row i of t (m, k):
 * the class a teacher's outputs give. A row with NaN gives its first
 * entry that is not NaN, or 0. */
void cs_loss_argmax(int *labels, const double *t, size_t m, size_t k);

#endif
