/* Histograms on equal bins fixed by phase A's first batch: the range rule,
 * the slot rule and counting (docs/design.md §2, histograms). */
#ifndef CS_HIST_H
#define CS_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Histogram range fixed by phase A's first batch (docs/design.md §2):
 * [mean - 6 sd, mean + 6 sd], sd = sqrt(var). When sd is 0 or not finite
 * the range is [mean - 1, mean + 1]; when mean is not finite, [-1, 1].
 * Always returns finite *lo < *hi. */
void cs_hist_range(double *lo, double *hi, double mean, double var);

/* Slot of v on nbins equal bins of the given width over [lo, hi), the one
 * binning rule of covshift: 0 below lo, 1 + k for bin k = floor((v - lo) /
 * width) (a v just below hi that rounds to bin nbins goes in the last bin),
 * nbins + 1 at or above hi, nbins + 2 for NaN. Monotone in v, NaN aside, so
 * slots are ordered by value. Requires nbins >= 1, width = (hi - lo) / nbins. */
static inline size_t cs_hist_slot(double v, double lo, double hi, double width, size_t nbins)
{
    if (v < lo)
        return 0;
    if (v >= hi)
        return nbins + 1;
    if (v != v)
        return nbins + 2;
    /* (v - lo) / width >= 0 here, so truncation is floor, without a call
     * to floor() (which libm does not inline below SSE4.1). */
    size_t b = (size_t)((v - lo) / width);
    return 1 + (b < nbins ? b : nbins - 1);
}

/* Adds x[0..n) to counts[0..nbins) by cs_hist_slot over [lo, hi): values
 * below lo (and -Inf) to *under, at or above hi (and +Inf) to *over; NaN
 * is skipped. Requires lo < hi, nbins >= 1 (else counts nothing). */
void cs_hist_accumulate(uint64_t *counts, uint64_t *under, uint64_t *over, size_t nbins,
                        double lo, double hi, const double *x, size_t n);

/* A histogram for cs_stats_compute_hist to count in its own passes: x's
 * entries are added to counts[0..nbins), *under and *over exactly as
 * cs_hist_accumulate adds them. With range_from_stats, lo and hi are first
 * set by cs_hist_range from the matrix's mean and var (phase A's first
 * batch). */
typedef struct {
    size_t nbins;
    double lo, hi;        /* in; out with range_from_stats */
    int range_from_stats;
    uint64_t *counts, *under, *over; /* added to */
} cs_hist_spec;

/* Slots fit one byte: slots 0 .. nbins + 2 for at most this many bins. */
#define CS_HIST_SLOT_BINS_MAX 253

/* Every entry's slot and the count per slot, on nbins bins over [lo, hi):
 * what cs_hist_assign_slots fills, and what the quantile selection reads
 * to find the slots holding its ranks (cs_select_in_slots). */
typedef struct {
    size_t nbins;                            /* 1 .. CS_HIST_SLOT_BINS_MAX */
    double lo, hi;
    uint8_t *slot_of;                        /* (entries) cs_hist_slot of each entry */
    uint64_t tally[CS_HIST_SLOT_BINS_MAX + 3]; /* (nbins + 3) entries per slot */
} cs_hist_slots;

/* Sets s->slot_of[i] = cs_hist_slot(x[i], ...) for i < n and s->tally to
 * the number of entries in each slot, on s->nbins bins over [s->lo, s->hi).
 * x must hold no NaN (NaN entries get an unspecified slot); s->slot_of
 * must hold n bytes. Requires finite lo < hi and 1 <= nbins <=
 * CS_HIST_SLOT_BINS_MAX. */
void cs_hist_assign_slots(cs_hist_slots *s, const double *x, size_t n);

#endif
