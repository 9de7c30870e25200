/* B's corruptions for a training run (docs/design.md §7; see cs_corrupt.h). */
#include "cs_corrupt.h"

#include <assert.h>
#include <gsl/gsl_randist.h>

#include "cs_dist.h"
#include "cs_rng.h"

void cs_corrupt_of(cs_corruption *c, const cs_run_params *p)
{
    c->scale = p->shift_scale;
    c->mean = p->shift_mean;
    c->noise_sd = p->corrupt_noise;
    int images = p->task == CS_TASK_FASHION_MNIST;
    c->occlusion = images ? (size_t)p->occlusion : 0;
    c->side = images ? CS_FMNIST_SIDE : 0;
    c->seed = p->seed;
}

void cs_corrupt_apply(const cs_corruption *c, double *x, size_t rows, size_t dim, size_t first,
                      gsl_rng *r)
{
    cs_shift shift = {CS_SHIFT_AFFINE, c->scale, c->mean};
    cs_shift_apply(&shift, x, rows * dim);
    if (c->noise_sd == 0 && c->occlusion == 0)
        return;
    assert(c->occlusion == 0 || (c->side * c->side == dim && c->occlusion <= c->side));
    for (size_t i = 0; i < rows; i++) {
        double *row = x + i * dim;
        cs_rng_seed(r, c->seed, CS_STREAM_CORRUPT, (uint64_t)(first + i));
        size_t top = 0, left = 0;
        if (c->occlusion > 0) {
            unsigned long places = (unsigned long)(c->side - c->occlusion + 1);
            top = (size_t)gsl_rng_uniform_int(r, places);
            left = (size_t)gsl_rng_uniform_int(r, places);
        }
        if (c->noise_sd > 0)
            for (size_t j = 0; j < dim; j++)
                row[j] += gsl_ran_gaussian_ziggurat(r, c->noise_sd);
        for (size_t a = 0; a < c->occlusion; a++)
            for (size_t b = 0; b < c->occlusion; b++)
                row[(top + a) * c->side + left + b] = 0.0;
    }
}
