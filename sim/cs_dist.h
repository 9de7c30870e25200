/* Input distributions A and the shift that makes B (DESIGN §1
 * Distributions). New shift kinds are new cs_shift_kind values. */
#ifndef CS_DIST_H
#define CS_DIST_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "cs_params.h"

#define CS_IMAGE_SIDE 32
#define CS_IMAGE_PIXELS (CS_IMAGE_SIDE * CS_IMAGE_SIDE)

/* Fills x (m, dim), row-major, with m draws from distribution A:
 *   gaussian  N(0, 1) per feature
 *   uniform   U(-sqrt 3, sqrt 3) per feature (mean 0, variance 1)
 *   images    one 32 x 32 image per row (dim must be 1024), see
 *             cs_dist_images.
 * Returns CS_OK or CS_EINVAL (images with dim != 1024). */
int cs_dist_sample(cs_input_kind kind, double *x, size_t m, size_t dim, gsl_rng *r);

/* The worksheet's generator (seeds/ worksheet): for each image, in the
 * order numpy draws them there, randn(32, 32), then k = randint(5),
 * c = randint(60); pixels = randn * k + c. x: (count, 1024). */
void cs_dist_images(double *x, size_t count, gsl_rng *r);

typedef enum { CS_SHIFT_AFFINE = 0 } cs_shift_kind;

typedef struct {
    cs_shift_kind kind;
    double scale; /* affine: x -> scale x + mean */
    double mean;
} cs_shift;

/* Turns A draws into B draws in place: x[0..count). */
void cs_shift_apply(const cs_shift *s, double *x, size_t count);

#endif
