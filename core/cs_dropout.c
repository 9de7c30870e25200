/* Inverted dropout, forward and (the same mask again) backward: the step
 * after phi in a layer (docs/design.md §1). */
#include "cs_dropout.h"

#include <assert.h>

void cs_dropout_apply(double *x, size_t n, double rate, gsl_rng *r)
{
    assert(rate >= 0 && rate < 1);
    if (rate == 0)
        return;
    /* Inverted scaling 1 / (1 - rate) keeps E[x] so inference needs no rescale. */
    double keep_scale = 1.0 / (1.0 - rate);
    for (size_t i = 0; i < n; i++)
        x[i] = gsl_rng_uniform(r) >= rate ? x[i] * keep_scale : 0.0;
}
