/* Exact order statistics by selection (docs/design.md §2, quantiles): Floyd
 * and Rivest's SELECT on a branch-free block partition, several ranks per
 * call, the zeros' ranks known from counts, and the narrowing of the
 * selection to the histogram slots that hold the wanted ranks. */
#include "cs_select.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void swap_entries(double *a, ptrdiff_t i, ptrdiff_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Block size of the branch-free partition: offsets fit an unsigned char. */
#define CS_SELECT_BLOCK 128

/* Hoare partition of a[i..j] (inclusive, maybe empty) around the value t:
 * returns p with a[i..p) <= t and a[p..j] >= t. Both scans stop at entries
 * equal to t and swap them, so ties are split between the sides and a range
 * of equal values still halves (the 3-way behaviour that keeps selection
 * O(n) on relu's zeros).
 *
 * Blocks first (Edelkamp and Weiss, BlockQuicksort, ESA 2016): the offsets
 * of the misplaced entries of a block on each side (>= t on the left, <= t
 * on the right) are recorded without a branch, then swapped in pairs. A
 * branchy scan mispredicts about once per misplaced entry near the median;
 * this does not. The remaining < 2 blocks take the plain scan. */
static ptrdiff_t partition_range(double *a, ptrdiff_t i, ptrdiff_t j, double t)
{
    unsigned char off_left[CS_SELECT_BLOCK], off_right[CS_SELECT_BLOCK];
    int n_left = 0, n_right = 0, start_left = 0, start_right = 0;
    while (j - i + 1 >= 2 * CS_SELECT_BLOCK) {
        if (n_left == 0) {
            start_left = 0;
            for (int c = 0; c < CS_SELECT_BLOCK; c++) {
                off_left[n_left] = (unsigned char)c;
                n_left += !(a[i + c] < t);
            }
        }
        if (n_right == 0) {
            start_right = 0;
            for (int c = 0; c < CS_SELECT_BLOCK; c++) {
                off_right[n_right] = (unsigned char)c;
                n_right += !(t < a[j - c]);
            }
        }
        int pairs = n_left < n_right ? n_left : n_right;
        for (int c = 0; c < pairs; c++)
            swap_entries(a, i + off_left[start_left + c], j - off_right[start_right + c]);
        n_left -= pairs;
        n_right -= pairs;
        start_left += pairs;
        start_right += pairs;
        /* A block is done when all its misplaced entries are swapped; its
         * entries are then all <= t (left) or >= t (right). */
        if (n_left == 0)
            i += CS_SELECT_BLOCK;
        if (n_right == 0)
            j -= CS_SELECT_BLOCK;
    }
    /* Invariant: a[..i) <= t, a(j..] >= t; a half-done block stays inside
     * [i, j] and is simply partitioned again. */
    for (;;) {
        while (i <= j && a[i] < t)
            i++;
        while (i <= j && t < a[j])
            j--;
        if (i >= j)
            return i; /* i == j only when a[i] == t, which may go right */
        swap_entries(a, i, j);
        i++;
        j--;
    }
}

/* Rearranges a[left..right] so that a[k] holds the value it would have if
 * the range were sorted, everything left of k is <= a[k] and everything
 * right of k is >= a[k]. Floyd and Rivest's SELECT (CACM 18(3), 1975,
 * algorithm 489): for large ranges the pivot is first selected recursively
 * from a window of size s ~ n^(2/3) around k, offset so that the wanted
 * rank lands just on the near side of the pivot with high probability;
 * expected comparisons n + min(k, n - k) + o(n). Each round places the
 * pivot at its sorted position j and keeps the side holding k, so a round
 * always makes progress, whatever the ties.
 * Requires left <= k <= right and no NaN in the range. */
static void select_rank(double *a, ptrdiff_t left, ptrdiff_t right, ptrdiff_t k)
{
    while (right > left) {
        if (right - left > 600) {
            /* s = n^(2/3) / 2, offset sd = sqrt(ln n s (n - s) / n) / 2
             * towards the middle: the constants of algorithm 489. */
            double n = (double)(right - left + 1), i = (double)(k - left + 1);
            double z = log(n), s = 0.5 * exp(2.0 * z / 3.0);
            double sd = 0.5 * sqrt(z * s * (n - s) / n) * (i < 0.5 * n ? -1.0 : 1.0);
            double sample_left = floor((double)k - i * s / n + sd);
            double sample_right = floor((double)k + (n - i) * s / n + sd);
            select_rank(a, sample_left > (double)left ? (ptrdiff_t)sample_left : left,
                        sample_right < (double)right ? (ptrdiff_t)sample_right : right, k);
        }
        /* Pivot t = a[k], parked at a[left] while the rest is partitioned,
         * then swapped to the boundary: a[left..j) <= t = a[j] <= a(j..right]. */
        double t = a[k];
        swap_entries(a, left, k);
        ptrdiff_t j = partition_range(a, left + 1, right, t) - 1;
        swap_entries(a, left, j);
        if (j == k)
            return;
        if (j < k)
            left = j + 1;
        else
            right = j - 1;
    }
}

/* Selects every rank of ranks[0..count) (sorted, within [left, right]):
 * on return a[r] is the r-th smallest for each of them, with the range
 * partitioned around it. The rank nearest the middle of the range goes
 * first; the others are then selected only inside the part on their side,
 * never across an already placed rank. For p01..p99 that is p50 on N
 * entries, then p15 and p85 on halves, p01 and p99 on 15% tails: ~3.1 N
 * comparisons, where taking the ranks left to right, each on the part
 * right of the previous one, costs ~4.2 N. */
static void select_ranks(double *a, ptrdiff_t left, ptrdiff_t right, const ptrdiff_t *ranks,
                         int count)
{
    if (count == 0)
        return;
    int mid = 0;
    for (int k = 1; k < count; k++)
        if (llabs((long long)(2 * ranks[k] - left - right)) <
            llabs((long long)(2 * ranks[mid] - left - right)))
            mid = k;
    ptrdiff_t r = ranks[mid];
    select_rank(a, left, right, r);
    int below = mid, above = mid + 1;
    while (below > 0 && ranks[below - 1] == r) /* equal ranks are done */
        below--;
    while (above < count && ranks[above] == r)
        above++;
    select_ranks(a, left, r - 1, ranks, below);
    select_ranks(a, r + 1, right, ranks + above, count - above);
}

static int rank_is_zero(ptrdiff_t rank, size_t zeros, size_t negatives)
{
    return rank >= (ptrdiff_t)negatives && rank < (ptrdiff_t)(negatives + zeros);
}

/* The ranks that need a selection: those outside the zeros' ranks
 * [negatives, negatives + zeros). That is where relu's dead units put
 * p01..p50, and a block of ties is the slowest input for selection.
 * Returns their number, the ranks themselves in todo[]. */
static int ranks_to_select(const size_t *ranks, int nranks, size_t zeros, size_t negatives,
                           ptrdiff_t todo[CS_SELECT_MAX_RANKS])
{
    int ntodo = 0;
    for (int k = 0; k < nranks; k++)
        if (!rank_is_zero((ptrdiff_t)ranks[k], zeros, negatives))
            todo[ntodo++] = (ptrdiff_t)ranks[k];
    return ntodo;
}

/* One multi-selection over all entries; the extremes come from the tails
 * outside the outer selected ranks (when an outer rank is a zero, 0 is the
 * extreme unless entries lie beyond the zeros, which then takes one scan). */
void cs_select_ranks(double *out, double *min, double *max, double *a, size_t count,
                     size_t zeros, size_t negatives, const size_t *ranks, int nranks)
{
    assert(count >= 1 && nranks >= 1 && nranks <= CS_SELECT_MAX_RANKS);
    ptrdiff_t last = (ptrdiff_t)count - 1, todo[CS_SELECT_MAX_RANKS] = {0};
    ptrdiff_t zero_lo = (ptrdiff_t)negatives, zero_hi = (ptrdiff_t)(negatives + zeros);
    int ntodo = ranks_to_select(ranks, nranks, zeros, negatives, todo);
    select_ranks(a, 0, last, todo, ntodo);
    for (int k = 0; k < nranks; k++)
        out[k] = rank_is_zero((ptrdiff_t)ranks[k], zeros, negatives) ? 0.0 : a[ranks[k]];
    ptrdiff_t bottom = (ptrdiff_t)ranks[0], top = (ptrdiff_t)ranks[nranks - 1];
    if (min) {
        double mn;
        if (rank_is_zero(bottom, zeros, negatives) && zero_lo == 0) {
            mn = 0.0;
        } else {
            ptrdiff_t end = rank_is_zero(bottom, zeros, negatives) ? last : bottom;
            mn = a[end];
            for (ptrdiff_t i = 0; i < end; i++)
                mn = a[i] < mn ? a[i] : mn;
        }
        *min = mn;
    }
    if (max) {
        double mx;
        if (rank_is_zero(top, zeros, negatives) && zero_hi == last + 1) {
            mx = 0.0;
        } else {
            ptrdiff_t start = rank_is_zero(top, zeros, negatives) ? 0 : top;
            mx = a[start];
            for (ptrdiff_t i = start + 1; i <= last; i++)
                mx = a[i] > mx ? a[i] : mx;
        }
        *max = mx;
    }
}

/* Slot g holds the ranks [slot_start[g], slot_start[g] + tally[g]) of the
 * sorted entries, so each wanted rank's slot is known before any entry is
 * moved; a second pass gathers only those slots' entries and one
 * multi-selection runs among them. A slot of a gaussian's 64 bins over
 * mean +- 6 sd holds about 1/15 of its entries. */
void cs_select_in_slots(double *out, const double *x, size_t count, size_t zeros,
                        size_t negatives, const size_t *ranks, int nranks,
                        const cs_hist_slots *slots, double *sel)
{
    assert(count >= 1 && nranks >= 1 && nranks <= CS_SELECT_MAX_RANKS);
    const size_t nbins = slots->nbins, nslots = nbins + 3;
    const uint64_t *tally = slots->tally;
    const uint8_t *slot_of = slots->slot_of;
    const double width = (slots->hi - slots->lo) / (double)nbins;
    ptrdiff_t todo[CS_SELECT_MAX_RANKS] = {0};
    int ntodo = ranks_to_select(ranks, nranks, zeros, negatives, todo);
    /* slot_start[g]: rank of slot g's first entry; the slot of each todo rank */
    uint64_t slot_start[CS_HIST_SLOT_BINS_MAX + 3];
    uint64_t base[CS_HIST_SLOT_BINS_MAX + 3];
    unsigned char wanted[CS_HIST_SLOT_BINS_MAX + 3];
    size_t todo_slot[CS_SELECT_MAX_RANKS];
    uint64_t cum = 0;
    for (size_t g = 0; g < nslots; g++) {
        slot_start[g] = cum;
        cum += tally[g];
        wanted[g] = 0;
    }
    /* The zeros' slot is gathered without its zeros: their ranks are
     * known, [negatives, negatives + zeros), and none is a todo rank. Else
     * relu's p50, a hair above the zeros, would gather half the matrix. */
    size_t zero_slot = cs_hist_slot(0.0, slots->lo, slots->hi, width, nbins);
    uint64_t nonzero[CS_HIST_SLOT_BINS_MAX + 3]; /* entries of each slot to gather */
    for (size_t g = 0; g < nslots; g++)
        nonzero[g] = tally[g] - (g == zero_slot ? zeros : 0);
    size_t gathered = 0;
    for (int k = 0; k < ntodo; k++) {
        size_t g = 0;
        while ((uint64_t)todo[k] >= slot_start[g] + tally[g])
            g++;
        todo_slot[k] = g;
        if (!wanted[g]) {
            wanted[g] = 1;
            gathered += nonzero[g];
        }
    }
    /* Data far outside the bins crowd into few slots: then a selection
     * over all entries is the cheaper one. */
    if (gathered > count / 2) {
        memcpy(sel, x, count * sizeof *sel);
        cs_select_ranks(out, NULL, NULL, sel, count, zeros, negatives, ranks, nranks);
        return;
    }
    /* The wanted slots' entries, compacted into sel[0, gathered). Slots are
     * ordered by value, so rank r of wanted slot g is rank
     * r - slot_start[g] + base[g] among them, base[g] = the entries of
     * wanted slots below g; one multi-selection then finds them all. */
    uint64_t below = 0;
    for (size_t g = 0; g < nslots; g++) {
        base[g] = below;
        below += wanted[g] ? nonzero[g] : 0;
    }
    /* 64 entries at a time: a mask of the wanted nonzero ones, built with
     * no branch, then one store per set bit. A store per entry (sel[kept] =
     * x[e]; kept += wanted) would make every store's address wait on the
     * loads of the entry before. The zero test is made only when the zeros'
     * slot is wanted. */
    size_t kept = 0, e = 0;
    int skip_zeros = zeros > 0 && wanted[zero_slot];
    for (; e + 64 <= count; e += 64) {
        uint64_t mask = 0;
        if (skip_zeros) {
            for (unsigned j = 0; j < 64; j++) {
                size_t g = slot_of[e + j];
                uint64_t keep = wanted[g] & ((x[e + j] != 0.0) | (g != zero_slot));
                mask |= keep << j;
            }
        } else {
            for (unsigned j = 0; j < 64; j++)
                mask |= (uint64_t)wanted[slot_of[e + j]] << j;
        }
        while (mask) {
            sel[kept++] = x[e + (size_t)__builtin_ctzll(mask)];
            mask &= mask - 1;
        }
    }
    for (; e < count; e++) {
        size_t g = slot_of[e];
        sel[kept] = x[e];
        kept += wanted[g] & ((x[e] != 0.0) | (g != zero_slot));
    }
    assert(kept == gathered);
    /* Rank r of slot g is rank r - slot_start[g] among the slot's entries,
     * less the zeros when r lies above them in the zeros' slot. */
    for (int k = 0; k < ntodo; k++) {
        size_t g = todo_slot[k];
        ptrdiff_t skip = g == zero_slot && todo[k] >= (ptrdiff_t)(negatives + zeros)
                             ? (ptrdiff_t)zeros
                             : 0;
        todo[k] = todo[k] - (ptrdiff_t)slot_start[g] - skip + (ptrdiff_t)base[g];
    }
    select_ranks(sel, 0, (ptrdiff_t)gathered - 1, todo, ntodo);
    int t = 0;
    for (int k = 0; k < nranks; k++) {
        if (rank_is_zero((ptrdiff_t)ranks[k], zeros, negatives)) {
            out[k] = 0.0;
        } else {
            out[k] = sel[todo[t]];
            t++;
        }
    }
}
