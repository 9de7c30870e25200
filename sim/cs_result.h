/* The in-memory result of one run: every row the results store writes for
 * it (DESIGN §2, §3). The network fills it; the store writes it in one
 * transaction, so the write lock is held for the write only. */
#ifndef CS_RESULT_H
#define CS_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "cs_drift.h"
#include "cs_params.h"
#include "cs_stats.h"

typedef enum { CS_SITE_PRE = 0, CS_SITE_NORM = 1, CS_SITE_POST = 2, CS_SITE_COUNT } cs_site;
const char *cs_site_name(cs_site s); /* "pre", "norm", "post" */

/* Layer 0 (the input) has only site post; layers 1..depth have all three,
 * so a run has 3 depth + 1 (layer, site) slots. */
size_t cs_result_slots(int depth);
/* Slot index of (layer, site); layer 0 must use CS_SITE_POST. */
size_t cs_result_slot(int layer, cs_site site);
/* The inverse of cs_result_slot. */
void cs_result_slot_decode(size_t slot, int *layer, cs_site *site);

typedef struct {
    cs_run_params params;
    int steps;             /* steps_a + steps_b */
    size_t nslots;         /* cs_result_slots(depth) */
    int bins;
    /* layer_stats: stats[step * nslots + slot]; step < steps_a is phase A */
    cs_stats *stats;
    /* histograms per phase (0 = A, 1 = B) and slot:
     * hist[(phase * nslots + slot) * (bins + 2) + 0] is underflow,
     * ... + 1 + k is bin k, ... + bins + 1 is overflow */
    uint64_t *hist;
    double *hist_lo, *hist_hi; /* per slot: the range fixed by A's first batch */
    cs_drift *drift;           /* per slot */
    double wall_s;             /* compute time of the run */
} cs_result;

/* Allocates a result with every array sized for p (contents zero).
 * Returns NULL with a CS_ENOMEM message. */
cs_result *cs_result_alloc(const cs_run_params *p);
void cs_result_free(cs_result *r);

#endif
