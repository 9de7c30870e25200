/* Input distributions A and the shift that makes B (docs/design.md §1
 * Distributions). New shift kinds are new cs_shift_kind values. */
#ifndef CS_DIST_H
#define CS_DIST_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "cs_alloc.h"
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

/* The worksheet's generator (docs/worksheet.md): for each image, in the
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

/* The source of a run's inputs: distribution A (including input = mixture,
 * whose component means it holds) and the shift to B. The mixture
 * (docs/design.md §1 Distributions): component c has mean mu_c ~ N(0, mixture_sep^2 I) (stream
 * (seed, MIXTURE, c)) and covariance I; an example picks its component
 * uniformly, or, with shuffle = false, a whole batch shares one. */
typedef struct cs_source cs_source;

/* The source of p (O(mixture_k input_dim) for a mixture) into *out; free
 * it with cs_source_free (NULL is a no-op). Returns CS_OK, or CS_ENOMEM
 * (CS_EINVAL when a size overflows) with the message and *out = NULL. */
int cs_source_alloc(cs_source **out, const cs_run_params *p);
void cs_source_free(cs_source *s); /* NULL is a no-op */
/* Adds to plan, without allocating, what cs_source_alloc(p) allocates. */
void cs_source_plan(const cs_run_params *p, cs_alloc_plan *plan);

/* The run's batch of step `step` (docs/design.md §1 Phases): m = batch rows of
 * input_dim from A drawn on stream (seed, INPUT, step), shifted to B when
 * step >= steps_a. r is reseeded here. x: (batch, input_dim). The same
 * step gives the same batch to every schedule (layer-major, grad pass). */
int cs_source_batch(const cs_source *s, int step, double *x, gsl_rng *r);

/* input = correlated: x_i = sqrt(c0) g + sqrt(1 - c0) z_i, g drawn once per
 * batch (per call), so every pair of rows is correlated c0 and each
 * feature is N(0, 1).
 * m i.i.d. rows from A (a mixture shuffled whatever `shuffle` says: a
 * representative sample) drawn from r as seeded by the caller. */
int cs_source_draw_a(const cs_source *s, double *x, size_t m, gsl_rng *r);

/* m rows from A drawn from r as seeded by the caller, as cs_source_batch
 * draws them (a mixture per row, or all m from one component when
 * one_component is set: the unrepresentative batch of docs/design.md §1),
 * but with no shift: the training batches of docs/design.md §7. */
int cs_source_draw(const cs_source *s, double *x, size_t m, int one_component, gsl_rng *r);

/* Per-feature population mean and variance of A, exactly:
 * gaussian, uniform 0 and 1; images 29.5 and E[k^2] + Var c = 6 + 3599/12;
 * mixture mean_j = (1/k) sum_c mu_cj, var_j = 1 + (1/k) sum_c (mu_cj - mean_j)^2.
 * mean, var: (input_dim). */
void cs_source_population(const cs_source *s, double *mean, double *var);

#endif
