/* Exact order statistics by selection, without sorting: the quantiles of
 * docs/design.md §2 (the order statistic at round(q (N-1))). */
#ifndef CS_SELECT_H
#define CS_SELECT_H

#include <stddef.h>

#include "cs_hist.h"

/* Most ranks one call selects. */
#define CS_SELECT_MAX_RANKS 8

/* Order statistics of a[0..count), count >= 1, no NaN; a is permuted.
 *   ranks[0..nranks): ascending, each in [0, count), nranks <=
 *     CS_SELECT_MAX_RANKS; out[k] = the ranks[k]-th smallest (0-based).
 *   zeros, negatives: how many entries are == 0 and < 0. The sorted
 *     entries hold the zeros at ranks [negatives, negatives + zeros): a
 *     rank there is +0 with no selection.
 *   min, max: out, the smallest and largest entry (+0 for a zero); either
 *     may be NULL.
 * Floyd and Rivest's selection on a block partition, several ranks at
 * once; allocates nothing. */
void cs_select_ranks(double *out, double *min, double *max, double *a, size_t count,
                     size_t zeros, size_t negatives, const size_t *ranks, int nranks);

/* The same order statistics out[0..nranks) of x[0..count) (not modified),
 * selecting only among the entries of the slots that hold a wanted rank:
 * slots is x's slotting by cs_hist_assign_slots (slots are ordered by
 * value, so cumulative counts say which slot holds each rank). sel
 * (count) is scratch. The results equal cs_select_ranks's exactly; when
 * the wanted slots hold more than half the entries, that is what runs, on
 * a copy of x in sel. x must hold no NaN; zeros, negatives, ranks as for
 * cs_select_ranks. */
void cs_select_in_slots(double *out, const double *x, size_t count, size_t zeros,
                        size_t negatives, const size_t *ranks, int nranks,
                        const cs_hist_slots *slots, double *sel);

#endif
