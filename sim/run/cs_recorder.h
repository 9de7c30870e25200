/* The statistics recorder of docs/design.md §2: per (step, layer, site)
 * layer_stats rows, and per-step histogram counts, per-unit moments and
 * (drift metrics version 2) the values themselves, which finishing a slot
 * pools, in step order, into its histograms and drift. Any schedule calls
 * it; steps may be recorded on several threads, slots finished on several
 * threads, and one recorder's records shared with another's (runs that
 * compute the same values once, docs/design.md §1 Schedules). */
#ifndef CS_RECORDER_H
#define CS_RECORDER_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_params.h"
#include "cs_result.h"

typedef struct cs_recorder cs_recorder;

/* How a recorder is made (cs_recorder_alloc_opts). */
typedef struct {
    /* one statistics workspace per thread that records: 0 .. threads - 1 */
    int threads;
    /* layers whose per-step rows are held at once: 1 for a layer-major
     * schedule, which finishes a layer before it records the next; depth + 1
     * for a step-major one, which records every layer of a step first */
    int layers;
    /* metrics 2 integrates W1 over every recorded value of a slot. 1: the
     * recorder keeps the address of each x given to cs_recorder_record, and
     * the caller leaves those values unchanged until the slot is finished
     * (the layer-major schedule keeps every step of a layer anyway). 0: the
     * recorder copies them, 3 x layers x steps x batch x max_units doubles. */
    int borrow;
    /* 1: a finishing workspace of its own (cs_recorder_scratch), so that
     * cs_recorder_finish_layer works; 0: the caller passes one to
     * cs_recorder_finish_slot (one per thread that finishes slots). */
    int own_scratch;
} cs_recorder_opts;

/* A recorder that writes into r (from cs_result_alloc(p), owned by the
 * caller and outliving the recorder). Memory: per site, the per-unit means
 * and variances of every step, 2 x 3 x layers x steps x max_units
 * doubles; the histogram counts of every step, layers x steps x 3 x
 * (bins + 2); with metrics 2 a value address per (layer, site, step), and
 * the copies of the values unless borrowed; per thread a statistics
 * workspace for batch x max_units entries; and the scratch if asked
 * (cs_recorder_scratch_plan). Returns CS_OK, CS_EINVAL (layers not 1 or
 * depth + 1, threads < 1, a size overflows), CS_ENOMEM, with the message;
 * *out NULL on error. */
int cs_recorder_alloc_opts(cs_recorder **out, const cs_run_params *p, cs_result *r,
                           const cs_recorder_opts *opts);
/* cs_recorder_alloc_opts with {threads, layers, borrow 0, own_scratch 1}:
 * the values are copied and cs_recorder_finish_layer finishes a layer. */
int cs_recorder_alloc(cs_recorder **out, const cs_run_params *p, cs_result *r, int threads,
                      int layers);
void cs_recorder_free(cs_recorder *rec); /* NULL is a no-op */

/* Adds to plan, without allocating, what cs_recorder_alloc_opts(p, opts)
 * (or cs_recorder_alloc(p, threads, layers)) allocates. */
void cs_recorder_plan_opts(const cs_run_params *p, const cs_recorder_opts *opts,
                           cs_alloc_plan *plan);
void cs_recorder_plan(const cs_run_params *p, int threads, int layers, cs_alloc_plan *plan);

/* Records x (batch, units of `layer`) at (step, layer, site): its
 * layer_stats row, the step's own histogram counts and per-unit moments,
 * and for metrics 2 the values (their address when borrowing). z (same
 * shape) is the pre-activation for site post (frac_saturated), else NULL.
 * The histogram bins of (layer, site) are fixed by step 0, phase A's first
 * batch (design §2), so step 0 of a layer must be recorded before its
 * other steps; after that, different steps may be recorded at once, each
 * on its own `thread` (0 .. threads - 1): a step writes only its own rows.
 * With 1 layer held, a layer's rows are reused by the next, so its slots
 * are finished first. Returns CS_OK or cs_stats' CS_EINVAL. */
int cs_recorder_record(cs_recorder *rec, int thread, int step, int layer, cs_site site,
                       const double *x, const double *z);

/* With norm = none z = h: the norm site's record of (step, layer) is the
 * pre site's, copied rather than computed again from the same numbers.
 * layer >= 1; the same threading rule as cs_recorder_record. */
void cs_recorder_copy(cs_recorder *rec, int step, int layer, cs_site to, cs_site from);

/* dst's record of (step, layer, site) is src's, which recorded the same
 * values (another run of the same (seed, network) group: the same input, a
 * phase A that batch, frozen and ema share): every row src has for it is
 * copied, and the values' address, which must stay valid until dst
 * finishes the slot. dst and src are recorders of runs of the same sizes
 * (depth, width, input_dim, batch, steps, bins, metrics), held the same
 * way; src recorded the step first. The threading rule of
 * cs_recorder_record, for dst. */
void cs_recorder_share(cs_recorder *dst, const cs_recorder *src, int step, int layer,
                       cs_site site);

/* dst's slot (layer, site) is src's whole, src's finished: every step's
 * layer_stats row, both histograms and their range, and the drift row are
 * copied (a slot all of whose steps the runs share: the input, layer 1's
 * pre site). dst does not finish that slot itself. */
void cs_recorder_share_slot(cs_recorder *dst, const cs_recorder *src, int layer, cs_site site);

/* With norm = none, after site `from` of `layer` is finished: site `to`'s
 * histograms, range and drift are from's (its per-step rows came by
 * cs_recorder_copy), so the norm site is not finished again. */
void cs_recorder_copy_slot(cs_recorder *rec, int layer, cs_site to, cs_site from);

/* What finishing one slot works in: the phase estimates of the per-unit
 * drift and, for metrics 2, an exact-W1 workspace for every value of a
 * slot, steps x batch x max_units (docs/design.md §2). Sized for p; serves
 * any run of the same sizes. */
typedef struct cs_recorder_scratch cs_recorder_scratch;
int cs_recorder_scratch_alloc(cs_recorder_scratch **out, const cs_run_params *p);
void cs_recorder_scratch_free(cs_recorder_scratch *s); /* NULL is a no-op */
void cs_recorder_scratch_plan(const cs_run_params *p, cs_alloc_plan *plan);

/* After every step of the slot (layer, site) is recorded: pools the
 * steps' histogram counts per phase into r->hist (integers: any order
 * gives the same sums), sums the per-unit moments in step order, exactly
 * as a sequential run accumulates them, and fills r->drift of the slot
 * (design §2) in p->metrics' version: 1 the per-unit metrics and the W1
 * of the pooled histograms; 2 the scale-free per-unit metrics and the
 * exact W1 of every recorded value. Different slots may be finished at
 * once on different threads, each with its own scratch. Returns CS_OK, or
 * cs_w1's CS_EINVAL (more values than the scratch was sized for). */
int cs_recorder_finish_slot(cs_recorder *rec, int layer, cs_site site, cs_recorder_scratch *s);

/* cs_recorder_finish_slot for every site of `layer` with the recorder's
 * own scratch (own_scratch = 1). One thread. */
int cs_recorder_finish_layer(cs_recorder *rec, int layer);

#endif
