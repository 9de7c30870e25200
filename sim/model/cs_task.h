/* The data of a training run (docs/design.md §7): its training batches
 * with their classes and targets, and its held-out sets A and B, for the
 * teacher task (a fixed random network's outputs on A's inputs) or for
 * Fashion-MNIST (the training images; the test images as held-out A, a
 * corruption of them as B). */
#ifndef CS_TASK_H
#define CS_TASK_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_params.h"

typedef struct cs_task cs_task;

/* Outputs of the trained network's readout: 10 classes for Fashion-MNIST,
 * `outputs` for the teacher. */
size_t cs_task_outputs(const cs_run_params *p);

/* Held-out examples used: eval_size rounded down to whole batches. */
size_t cs_task_eval_rows(const cs_run_params *p);

/* Fashion-MNIST's pixels, scaled as docs/design.md §7 states: a pixel
 * value v in 0..255 is u = v / 255, then (u - mean) / sd with the mean and
 * (biased) sd of u over every pixel of the training images used. */
typedef struct {
    double mean, sd;
} cs_task_scaling;

/* The task of training run p (p->train set, p valid) into *out: for the
 * teacher, its weights (streams (seed, TEACHER, l)), the held-out inputs
 * from A on stream (seed, EVAL, 0) and their targets; for Fashion-MNIST,
 * the files of cs_fmnist_dir() loaded and checked (train_size training
 * images, the first eval rows of the test set). B is held-out A corrupted
 * (cs_corrupt_apply). Returns CS_OK, or with the message and *out NULL:
 * the loader's errors (CS_ENOTFOUND names the package), CS_EINVAL,
 * CS_ENOMEM. Free with cs_task_free. */
int cs_task_alloc(cs_task **out, const cs_run_params *p);
void cs_task_free(cs_task *t); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_task_alloc(p) allocates. */
void cs_task_plan(const cs_run_params *p, cs_alloc_plan *plan);

/* The batch of training step `step`: x0 (batch, input_dim), labels
 * (batch) the classes, and targets (batch, outputs) what mse fits: the
 * teacher's outputs, or one-hot classes (targets may be NULL when the
 * criterion is cross_entropy). Teacher: fresh rows from A on stream (seed,
 * BATCHES, step), all from one mixture component when batch_order =
 * ordered. Fashion-MNIST: epoch e = step / E, E = floor(train_size /
 * batch) (an incomplete last batch is dropped, as DataLoader's drop_last),
 * and its batch step mod E of the epoch's order: a permutation on stream
 * (seed, BATCHES, e) when shuffled (Fisher-Yates), or the images sorted by
 * class (stable) when ordered. Steps in increasing order reuse the
 * epoch's permutation. Returns CS_OK or CS_EINVAL. */
int cs_task_batch(cs_task *t, int step, double *x0, int *labels, double *targets);

/* The held-out inputs (cs_task_eval_rows, input_dim): set 0 is A, set 1
 * is B; their classes and mse targets (NULL unless criterion = mse). */
const double *cs_task_eval_inputs(const cs_task *t, int set);
const int *cs_task_eval_labels(const cs_task *t);
const double *cs_task_eval_targets(const cs_task *t);

/* Fashion-MNIST: the scaling of its pixels (mean 0, sd 1 for the teacher). */
cs_task_scaling cs_task_scale(const cs_task *t);

#endif
