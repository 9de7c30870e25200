/* The corruptions that make a training run's B from its held-out A
 * (docs/design.md §7): the affine shift of §1 (shift_scale x + shift_mean),
 * then Gaussian noise, then an occluding square, each example's draws on
 * its own stream so B is the same set at every evaluation and in every
 * schedule. */
#ifndef CS_CORRUPT_H
#define CS_CORRUPT_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_params.h"

typedef struct {
    double scale, mean; /* x -> scale x + mean (shift_scale, shift_mean) */
    double noise_sd;    /* then x += N(0, noise_sd^2) per entry (corrupt_noise) */
    size_t occlusion;   /* then a square of this side set to 0 (images; 0 = none) */
    size_t side;        /* images: rows are side x side, row-major */
    uint64_t seed;      /* the run's seed: streams (seed, CORRUPT, example) */
} cs_corruption;

/* The corruption of a training run p (side 28 for Fashion-MNIST, 0 for the
 * teacher, whose rows are not images). */
void cs_corrupt_of(cs_corruption *c, const cs_run_params *p);

/* Corrupts x (rows, dim) in place; row i is example first + i. When the
 * noise or the square are on, the example's stream (seed, CORRUPT,
 * first + i) gives, in order, the square's top-left corner (row, then
 * column, each uniform in 0..side - occlusion) and the dim noise draws
 * (gsl_ran_gaussian_ziggurat), reseeding r. The square needs dim = side^2
 * and occlusion <= side (the caller's rules, asserted). */
void cs_corrupt_apply(const cs_corruption *c, double *x, size_t rows, size_t dim, size_t first,
                      gsl_rng *r);

#endif
