/* frac_saturated (docs/design.md §2): per-activation thresholds on z,
 * found once by bisection on phi', so a matrix is counted by comparisons
 * alone instead of a tanh or exp per entry; entries near a threshold are
 * decided by phi' itself, so the count is the per-entry one exactly. */
#include "cs_saturation.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_saturated(cs_activation act, double z, double cutoff)
{
    double d;
    cs_activation_derivative(act, &d, &z, 1);
    return d < cutoff;
}

/* The crossing between a (saturated iff sat_a) and b (the other), to
 * within an ulp: 80 halvings cover any finite bracket used below. */
static double saturation_crossing(cs_activation act, double cutoff, double a, double b)
{
    int sat_a = is_saturated(act, a, cutoff);
    for (int k = 0; k < 80; k++) {
        double mid = a + 0.5 * (b - a);
        if (mid == a || mid == b)
            break;
        if (is_saturated(act, mid, cutoff) == sat_a)
            a = mid;
        else
            b = mid;
    }
    return 0.5 * (a + b);
}

void cs_saturation_bounds(cs_saturation *sb, cs_activation act)
{
    sb->cutoff = 0.05 * cs_activation_max_derivative(act);
    double lo = -INFINITY, hi = INFINITY;
    switch (act) {
    case CS_ACT_RELU:
    case CS_ACT_LEAKY_RELU: /* phi' is 1 above 0, 0 or 0.01 at and below: z <= 0 */
        sb->sat_below = sb->free_above = 0x1p-1074; /* the least positive double */
        sb->sat_above = sb->free_below = INFINITY;
        return;
    case CS_ACT_TANH:    /* phi'(+-19.1) rounds to 0: the crossings lie inside */
    case CS_ACT_SIGMOID: /* likewise by +-40 */
        lo = saturation_crossing(act, sb->cutoff, -40.0, 0.0);
        hi = saturation_crossing(act, sb->cutoff, 40.0, 0.0);
        break;
    case CS_ACT_SELU: /* scale alpha e^z < 0.05 scale alpha: z < log 0.05 */
        lo = saturation_crossing(act, sb->cutoff, -10.0, 0.0);
        break;
    case CS_ACT_GELU: /* phi'(-1) < 0 < cutoff < phi'(0) = 1/2 */
        lo = saturation_crossing(act, sb->cutoff, -1.0, 0.0);
        break;
    default:
        break;
    }
    /* A side with no crossing (selu, gelu above) stays infinite, not
     * inf - inf = NaN, which no comparison accepts and which would send
     * every entry to phi' itself. */
    const double band = 1e-6;
    sb->sat_below = isinf(lo) ? lo : lo - band * fabs(lo);
    sb->free_above = isinf(lo) ? lo : lo + band * fabs(lo);
    sb->free_below = isinf(hi) ? hi : hi - band * fabs(hi);
    sb->sat_above = isinf(hi) ? hi : hi + band * fabs(hi);
}

double cs_saturation_fraction(const double *z, size_t count, cs_activation act)
{
    if (act == CS_ACT_LINEAR)
        return 0.0;
    cs_saturation sb;
    cs_saturation_bounds(&sb, act);
    /* One branch-free pass counts the sure entries; the rest (in a band,
     * or NaN/Inf, which no comparison below accepts) are rare. */
    uint64_t saturated = 0, clear = 0;
    size_t i = 0;
#ifdef __SSE2__
    /* GCC does not vectorise counts of double comparisons: by hand, two
     * entries a step; a true comparison is an all-ones lane, -1 as an
     * integer, so subtracting it counts. */
    const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX));
    const __m128d max = _mm_set1_pd(DBL_MAX), sat_below = _mm_set1_pd(sb.sat_below);
    const __m128d sat_above = _mm_set1_pd(sb.sat_above);
    const __m128d free_above = _mm_set1_pd(sb.free_above);
    const __m128d free_below = _mm_set1_pd(sb.free_below);
    __m128i n_sat = _mm_setzero_si128(), n_clear = _mm_setzero_si128();
    for (; i + 2 <= count; i += 2) {
        __m128d v = _mm_loadu_pd(z + i);
        __m128d finite = _mm_cmple_pd(_mm_and_pd(v, abs_mask), max);
        __m128d sat = _mm_or_pd(_mm_cmplt_pd(v, sat_below), _mm_cmpgt_pd(v, sat_above));
        __m128d free = _mm_and_pd(_mm_cmpgt_pd(v, free_above), _mm_cmplt_pd(v, free_below));
        n_sat = _mm_sub_epi64(n_sat, _mm_castpd_si128(_mm_and_pd(sat, finite)));
        n_clear = _mm_sub_epi64(n_clear, _mm_castpd_si128(_mm_and_pd(free, finite)));
    }
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, n_sat);
    saturated = lanes[0] + lanes[1];
    _mm_storeu_si128((__m128i *)lanes, n_clear);
    clear = lanes[0] + lanes[1];
#endif
    for (; i < count; i++) {
        double v = z[i];
        uint64_t finite = fabs(v) <= DBL_MAX; /* gelu'(-Inf) is NaN: not saturated */
        saturated += ((uint64_t)(v < sb.sat_below) | (uint64_t)(v > sb.sat_above)) & finite;
        clear += (uint64_t)(v > sb.free_above) & (uint64_t)(v < sb.free_below) & finite;
    }
    uint64_t unsure = (uint64_t)count - saturated - clear;
    for (i = 0; unsure && i < count; i++) {
        double v = z[i];
        if (!(fabs(v) <= DBL_MAX) || !((v < sb.sat_below) | (v > sb.sat_above) |
                                       ((v > sb.free_above) & (v < sb.free_below)))) {
            saturated += (size_t)is_saturated(act, v, sb.cutoff);
            unsure--;
        }
    }
    return (double)saturated / (double)count;
}
