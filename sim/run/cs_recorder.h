/* The statistics recorder of docs/design.md §2: per (step, layer, site)
 * layer_stats rows, and per-step histogram counts and per-unit moments
 * that finish_layer pools, in step order, into each slot's histograms and
 * drift. Any schedule calls it; steps may be recorded on several threads. */
#ifndef CS_RECORDER_H
#define CS_RECORDER_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_params.h"
#include "cs_result.h"

typedef struct cs_recorder cs_recorder;

/* A recorder that writes into r (from cs_result_alloc(p), owned by the
 * caller and outliving the recorder), with one statistics workspace per
 * thread for `threads` threads, holding the per-step rows of `layers`
 * layers at once: 1 for a layer-major schedule, which finishes a layer
 * before it records the next; depth + 1 for a step-major one, which
 * records every layer of a step before the next step. Memory: per site,
 * the per-unit means and variances of every step, 2 x 3 x layers x steps
 * x max_units doubles; the histogram counts of every step, layers x steps
 * x 3 x (bins + 2); the drift estimates, 4 x max_units; and per thread a
 * workspace for batch x max_units entries. Returns CS_OK, CS_EINVAL
 * (layers not 1 or depth + 1, a size overflows), CS_ENOMEM, with the
 * message; *out NULL on error. */
int cs_recorder_alloc(cs_recorder **out, const cs_run_params *p, cs_result *r, int threads,
                      int layers);
void cs_recorder_free(cs_recorder *rec); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_recorder_alloc(p, ...,
 * threads, layers) allocates. */
void cs_recorder_plan(const cs_run_params *p, int threads, int layers, cs_alloc_plan *plan);

/* Records x (batch, units of `layer`) at (step, layer, site): its
 * layer_stats row and the step's own histogram counts and per-unit
 * moments. z (same shape) is the pre-activation for site post
 * (frac_saturated), else NULL. The histogram bins of (layer, site) are
 * fixed by step 0, phase A's first batch (design §2), so step 0 of a layer
 * must be recorded before its other steps; after that, different steps
 * may be recorded at once, each on its own `thread` (0 .. threads - 1):
 * a step writes only its own rows. With 1 layer held, a layer's rows are
 * reused by the next, so cs_recorder_finish_layer(layer) comes first.
 * Returns CS_OK or cs_stats' CS_EINVAL. */
int cs_recorder_record(cs_recorder *rec, int thread, int step, int layer, cs_site site,
                       const double *x, const double *z);

/* With norm = none z = h: the norm site's record of (step, layer) is the
 * pre site's, copied rather than computed again from the same numbers.
 * layer >= 1; the same threading rule as cs_recorder_record. */
void cs_recorder_copy(cs_recorder *rec, int step, int layer, cs_site to, cs_site from);

/* After every step of `layer`: pools the steps' histogram counts per phase
 * into r->hist (integers: any order gives the same sums), sums the
 * per-unit moments in step order, exactly as a sequential run accumulates
 * them, into r->drift of each slot of the layer (design §2 drift), and the
 * Wasserstein distance of the pooled histograms. One thread. */
void cs_recorder_finish_layer(cs_recorder *rec, int layer);

#endif
