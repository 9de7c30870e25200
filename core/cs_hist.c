/* Histograms on equal bins (docs/design.md §2, histograms): the range
 * [mean - 6 sd, mean + 6 sd] fixed by phase A's first batch, counting by
 * cs_hist_slot, and the per-entry slots the quantile selection narrows by. */
#include "cs_hist.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void cs_hist_range(double *lo, double *hi, double mean, double var)
{
    /* docs/design.md §2: [mean - 6 sd, mean + 6 sd], fixed by phase A's first batch. */
    double sd = sqrt(var);
    if (!isfinite(mean)) {
        *lo = -1.0;
        *hi = 1.0;
        return;
    }
    if (!(sd > 0.0) || !isfinite(sd)) {
        *lo = mean - 1.0;
        *hi = mean + 1.0;
    } else {
        *lo = mean - 6.0 * sd;
        *hi = mean + 6.0 * sd;
    }
    /* cs_hist_accumulate needs finite lo < hi. An sd below the spacing of
     * doubles at mean (or mean +- 1 when |mean| > 2^53), or a range past
     * DBL_MAX, would break that: widen to a few ulps of mean, or clamp. */
    if (!(*lo < *hi) || !isfinite(*lo) || !isfinite(*hi)) {
        double half = fmax(1.0, 0x1p-40 * fabs(mean));
        *lo = fmax(mean - half, -DBL_MAX);
        *hi = fmin(mean + half, DBL_MAX);
    }
}

void cs_hist_accumulate(uint64_t *counts, uint64_t *under, uint64_t *over, size_t nbins,
                        double lo, double hi, const double *x, size_t n)
{
    assert(nbins >= 1 && lo < hi);
    if (nbins == 0 || !(lo < hi)) /* broken precondition: count nothing rather than overrun */
        return;
    /* cs_hist_slot's rule; NaN (slot nbins + 2) is not counted */
    double width = (hi - lo) / (double)nbins;
    for (size_t i = 0; i < n; i++) {
        size_t g = cs_hist_slot(x[i], lo, hi, width, nbins);
        if (g == 0)
            ++*under;
        else if (g <= nbins)
            counts[g - 1]++;
        else if (g == nbins + 1)
            ++*over;
    }
}

void cs_hist_assign_slots(cs_hist_slots *s, const double *x, size_t n)
{
    const size_t nbins = s->nbins, nslots = nbins + 3;
    const double lo = s->lo, hi = s->hi;
    assert(nbins >= 1 && nbins <= CS_HIST_SLOT_BINS_MAX && lo < hi);
    uint64_t *tally = s->tally;
    uint8_t *slot_of = s->slot_of;
    memset(tally, 0, nslots * sizeof *tally);
    double width = (hi - lo) / (double)nbins;
    size_t i = 0;
#ifdef __SSE2__
    /* cs_hist_slot two entries at a time: with no NaN, only the underflow
     * and overflow tests remain, rarely true. Four entries a step, each
     * lane counting into its own tally: relu's zeros (half the entries,
     * one bin) would otherwise chain every increment through one counter
     * in memory. */
    {
        uint64_t lane_tally[4][CS_HIST_SLOT_BINS_MAX + 3];
        const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), vwidth = _mm_set1_pd(width);
        memset(lane_tally, 0, sizeof lane_tally);
        for (const size_t n4 = n & ~(size_t)3; i < n4; i += 4) {
            for (size_t half = 0; half < 4; half += 2) {
                __m128d v = _mm_loadu_pd(x + i + half);
                __m128i b = _mm_cvttpd_epi32(_mm_div_pd(_mm_sub_pd(v, vlo), vwidth));
                int under = _mm_movemask_pd(_mm_cmplt_pd(v, vlo));
                int over = _mm_movemask_pd(_mm_cmpge_pd(v, vhi));
                long bin[2] = {_mm_cvtsi128_si32(b), _mm_cvtsi128_si32(_mm_srli_si128(b, 4))};
                for (size_t k = 0; k < 2; k++) {
                    size_t g = (under >> k) & 1 ? 0
                               : (over >> k) & 1 ? nbins + 1
                               : 1 + ((size_t)bin[k] < nbins ? (size_t)bin[k] : nbins - 1);
                    slot_of[i + half + k] = (uint8_t)g;
                    lane_tally[half + k][g]++;
                }
            }
        }
        for (size_t g = 0; g < nslots; g++)
            tally[g] = lane_tally[0][g] + lane_tally[1][g] + lane_tally[2][g] + lane_tally[3][g];
    }
#endif
    for (; i < n; i++) {
        size_t g = cs_hist_slot(x[i], lo, hi, width, nbins);
        slot_of[i] = (uint8_t)g;
        tally[g]++;
    }
}
