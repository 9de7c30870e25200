/* Seeded random streams per (run seed, purpose, index): docs/design.md §1
 * Randomness. A stream depends on nothing else, so the weights of layer l
 * are the same whatever the normalisation, the schedule or --jobs. */
#ifndef CS_RNG_H
#define CS_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

typedef enum {
    CS_STREAM_WEIGHTS = 1, /* index: layer */
    CS_STREAM_BIAS = 2,    /* index: layer */
    CS_STREAM_INPUT = 3,   /* index: step */
    CS_STREAM_WORKSHEET = 4,
    CS_STREAM_READOUT = 5, /* index 0: readout weights; 1 + step: targets (grad) */
    CS_STREAM_DROPOUT = 6, /* index: cs_dropout_index(step, layer) */
    CS_STREAM_MIXTURE = 7, /* index: component (its mean vector) */
    CS_STREAM_NOISE = 8,   /* index 0: probes; 1 + batch: batch-mates (bn_noise) */
    CS_STREAM_HELDOUT = 9, /* index 0: held-out A examples (running_gap) */
    /* Training (docs/design.md §7) */
    CS_STREAM_TEACHER = 10, /* index: teacher layer (depth + 1: its readout) */
    CS_STREAM_TRAIN = 11,   /* index 0: the trained network's readout */
    CS_STREAM_BATCHES = 12, /* index: step (teacher: its batch) or epoch (Fashion-MNIST: its order) */
    CS_STREAM_EVAL = 13,    /* index 0: the teacher task's held-out A examples */
    CS_STREAM_CORRUPT = 14  /* index: held-out example, its corruption in B */
} cs_stream;

/* A generator of the algorithm covshift uses (seed it with cs_rng_seed):
 * *out on success, free with cs_rng_free. Returns CS_OK, or CS_ENOMEM
 * with the message and *out = NULL. */
int cs_rng_alloc(gsl_rng **out);
void cs_rng_free(gsl_rng *r); /* NULL is a no-op */

/* Seeds r for stream (seed, purpose, index): gsl_rng_set with a splitmix64
 * mix of the three, so nearby seeds give unrelated streams. */
void cs_rng_seed(gsl_rng *r, uint64_t seed, cs_stream purpose, uint64_t index);

/* Text for provenance: the algorithm and the derivation. */
const char *cs_rng_description(void);

#endif
