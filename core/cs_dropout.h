/* Inverted dropout (Srivastava et al. 2014, as torch.nn.Dropout in
 * training mode), the step after phi in a layer (docs/design.md §1). */
#ifndef CS_DROPOUT_H
#define CS_DROPOUT_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

/* x[i] <- x[i] / (1 - rate) with probability 1 - rate, else 0, for
 * i < n, drawing one gsl_rng_uniform u per entry (kept iff u >= rate).
 * The expectation over masks is x. Applying it again to a gradient with r
 * seeded the same way is the backward pass (the same mask and scale).
 * Requires 0 <= rate < 1; rate = 0 draws nothing and changes nothing. */
void cs_dropout_apply(double *x, size_t n, double rate, gsl_rng *r);

#endif
