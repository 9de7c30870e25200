/* Stochastic gradient descent with momentum and weight decay, exactly as
 * torch.optim.SGD (dampening 0, nesterov off) updates one parameter
 * tensor: docs/design.md §7. No allocation. */
#ifndef CS_SGD_H
#define CS_SGD_H

#include <stddef.h>

/* One step on n entries, in torch.optim.SGD's order:
 *   d   = g + weight_decay p
 *   buf = momentum buf + d          (buf starts at 0, so the first step
 *                                    gives buf = d, as torch's clone does)
 *   p   = p - lr buf
 * param, buf: (n), updated in place; grad: (n). With momentum = 0, buf
 * holds d. lr = 0 leaves param bit for bit as it was (the buffer still moves). */
void cs_sgd_step(double *param, double *buf, const double *grad, size_t n, double lr,
                 double momentum, double weight_decay);

#endif
