/* Input distributions and shifts: DESIGN §1 Distributions. */
#include "cs_dist.h"

#include <gsl/gsl_randist.h>
#include <math.h>

#include "cs_error.h"

void cs_dist_images(double *x, size_t count, gsl_rng *r)
{
    for (size_t i = 0; i < count; i++) {
        double *img = x + i * CS_IMAGE_PIXELS;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = gsl_ran_gaussian_ziggurat(r, 1.0);
        /* np.random.randint(5) and randint(60): integers in [0, 5), [0, 60) */
        double k = (double)gsl_rng_uniform_int(r, 5);
        double c = (double)gsl_rng_uniform_int(r, 60);
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = img[p] * k + c;
    }
}

int cs_dist_sample(cs_input_kind kind, double *x, size_t m, size_t dim, gsl_rng *r)
{
    size_t count = m * dim;
    switch (kind) {
    case CS_INPUT_GAUSSIAN:
        for (size_t i = 0; i < count; i++)
            x[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
        return CS_OK;
    case CS_INPUT_UNIFORM: {
        /* U(-a, a) has variance a^2 / 3; a = sqrt 3 gives variance 1. */
        const double a = sqrt(3.0);
        for (size_t i = 0; i < count; i++)
            x[i] = gsl_ran_flat(r, -a, a);
        return CS_OK;
    }
    case CS_INPUT_IMAGES:
        if (dim != CS_IMAGE_PIXELS)
            return cs_error_set(CS_EINVAL, "input = images needs input_dim %d, got %zu",
                                CS_IMAGE_PIXELS, dim);
        cs_dist_images(x, m, r);
        return CS_OK;
    }
    return cs_error_set(CS_EINVAL, "unknown input distribution %d", (int)kind);
}

void cs_shift_apply(const cs_shift *s, double *x, size_t count)
{
    switch (s->kind) {
    case CS_SHIFT_AFFINE:
        for (size_t i = 0; i < count; i++)
            x[i] = s->scale * x[i] + s->mean;
        break;
    }
}
