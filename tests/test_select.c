/* Exact order statistics by selection (core/cs_select.c) against sorting a
 * copy, for any set of ranks, and the histogram slots that narrow it
 * (cs_hist_assign_slots) against cs_hist_slot entry by entry:
 * docs/design.md §2 (quantiles, histograms). */
#include "cs_test_util.h"

#include "cs_hist.h"
#include "cs_select.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int compare_sizes(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return (a > b) - (a < b);
}

/* x[0..count) in one of several patterns: gaussian; relu (half zeros, -0
 * among them); small integers (ties); all zeros; negatives only; sorted;
 * reversed; a sawtooth. */
enum { NPATTERNS = 8 };
static void fill(double *x, size_t count, int pattern, gsl_rng *r)
{
    for (size_t i = 0; i < count; i++) {
        double g = gsl_ran_gaussian(r, 1.0);
        switch (pattern) {
        case 0: x[i] = g; break;
        case 1: x[i] = g > 0 ? g : (i % 3 ? 0.0 : -0.0); break;
        case 2: x[i] = (double)(gsl_rng_get(r) % 7) - 3.0; break;
        case 3: x[i] = 0.0; break;
        case 4: x[i] = -fabs(g) - 1e-3; break;
        case 5: x[i] = (double)i; break;
        case 6: x[i] = -(double)i; break;
        default: x[i] = (double)(i % 17) - 5.0; break;
        }
    }
}

static void count_signs(const double *x, size_t count, size_t *zeros, size_t *negatives)
{
    *zeros = *negatives = 0;
    for (size_t i = 0; i < count; i++) {
        *zeros += x[i] == 0.0;
        *negatives += x[i] < 0.0;
    }
}

/* 1..CS_SELECT_MAX_RANKS sorted ranks in [0, count), duplicates allowed;
 * the first draw of each size also takes the extremes 0 and count - 1. */
static int draw_ranks(size_t *ranks, size_t count, int trial, gsl_rng *r)
{
    int nranks = 1 + trial % CS_SELECT_MAX_RANKS;
    for (int k = 0; k < nranks; k++)
        ranks[k] = (size_t)gsl_rng_uniform_int(r, count);
    if (trial == 0)
        ranks[0] = 0;
    if (trial == 1) {
        ranks[0] = 0;
        ranks[1] = count - 1;
    }
    qsort(ranks, (size_t)nranks, sizeof *ranks, compare_sizes);
    return nranks;
}

/* out[k] is the ranks[k]-th entry of the sorted copy (a zero compares
 * equal whatever its sign), min and max its ends; a stays a permutation
 * of x, partitioned around every selected rank. Sizes cross the block
 * partition's 256 and the sampling step's 600; min, max NULL are skipped. */
static void test_select_ranks_match_sort(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 3, 7, 255, 256, 257, 511, 601, 602, 5000, 40000};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    double *x = malloc(40000 * sizeof *x), *a = malloc(40000 * sizeof *a);
    double *sorted = malloc(40000 * sizeof *sorted), *after = malloc(40000 * sizeof *after);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t count = sizes[s];
        for (int pattern = 0; pattern < NPATTERNS; pattern++) {
            fill(x, count, pattern, r);
            memcpy(sorted, x, count * sizeof *x);
            qsort(sorted, count, sizeof *sorted, compare_doubles);
            size_t zeros, negatives;
            count_signs(x, count, &zeros, &negatives);
            for (int trial = 0; trial < 2 * CS_SELECT_MAX_RANKS; trial++) {
                size_t ranks[CS_SELECT_MAX_RANKS];
                int nranks = draw_ranks(ranks, count, trial, r);
                double out[CS_SELECT_MAX_RANKS], mn = NAN, mx = NAN;
                memcpy(a, x, count * sizeof *x);
                int extremes = trial % 3 != 2;
                cs_select_ranks(out, extremes ? &mn : NULL, extremes ? &mx : NULL, a, count,
                                zeros, negatives, ranks, nranks);
                for (int k = 0; k < nranks; k++)
                    if (!(out[k] == sorted[ranks[k]]))
                        fail_msg("size %zu pattern %d rank %zu: got %.17g, sorted %.17g", count,
                                 pattern, ranks[k], out[k], sorted[ranks[k]]);
                if (extremes && !(mn == sorted[0] && mx == sorted[count - 1]))
                    fail_msg("size %zu pattern %d: min %g max %g, sorted %g %g", count, pattern,
                             mn, mx, sorted[0], sorted[count - 1]);
                /* Selection ran where a rank is not a zero: there a is
                 * partitioned around it. */
                for (int k = 0; k < nranks; k++) {
                    if (ranks[k] >= negatives && ranks[k] < negatives + zeros)
                        continue;
                    size_t rk = ranks[k];
                    for (size_t i = 0; i < count; i++)
                        if (i < rk ? a[i] > a[rk] : i > rk && a[i] < a[rk])
                            fail_msg("size %zu pattern %d: a[%zu] = %g on the wrong side of "
                                     "rank %zu = %g",
                                     count, pattern, i, a[i], rk, a[rk]);
                }
                memcpy(after, a, count * sizeof *a);
                qsort(after, count, sizeof *after, compare_doubles);
                for (size_t i = 0; i < count; i++)
                    assert_true(after[i] == sorted[i]);
            }
        }
    }
    free(x), free(a), free(sorted), free(after);
    gsl_rng_free(r);
}

/* cs_hist_assign_slots gives every entry cs_hist_slot's slot and tallies
 * them, on the vector path and the scalar tail (lengths 0..9), for values
 * at lo, at hi, just below hi, far outside and +-Inf, on 1 to 253 bins. */
static void test_hist_assign_slots_match_hist_slot(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 9);
    const size_t nbins_list[] = {1, 3, 64, CS_HIST_SLOT_BINS_MAX};
    const double ranges[][2] = {{-1, 1}, {0.25, 0.5}, {-1e-300, 1e-300}, {-3e5, 7.0}};
    enum { CAP = 3000 };
    double *x = malloc(CAP * sizeof *x);
    uint8_t *slot_of = malloc(CAP);
    for (size_t b = 0; b < sizeof nbins_list / sizeof nbins_list[0]; b++)
        for (size_t g = 0; g < sizeof ranges / sizeof ranges[0]; g++)
            for (size_t n = 0; n < CAP; n = n < 9 ? n + 1 : n * 3 + 1) {
                double lo = ranges[g][0], hi = ranges[g][1];
                const double edges[] = {lo, hi, nextafter(hi, -INFINITY), INFINITY, -INFINITY,
                                        -DBL_MAX, DBL_MAX, 0.0, -0.0};
                for (size_t i = 0; i < n; i++)
                    x[i] = i % 5 == 4 ? edges[(i / 5) % 9]
                                      : lo + (hi - lo) * (1.4 * gsl_rng_uniform(r) - 0.2);
                cs_hist_slots s = {nbins_list[b], lo, hi, slot_of, {0}};
                memset(s.tally, 0xff, sizeof s.tally); /* it must reset them */
                cs_hist_assign_slots(&s, x, n);
                size_t nb = nbins_list[b];
                double width = (hi - lo) / (double)nb;
                uint64_t want[CS_HIST_SLOT_BINS_MAX + 3] = {0};
                for (size_t i = 0; i < n; i++) {
                    size_t want_slot = cs_hist_slot(x[i], lo, hi, width, nb);
                    if (slot_of[i] != want_slot)
                        fail_msg("%zu bins over [%g, %g): x = %.17g in slot %u, want %zu", nb, lo,
                                 hi, x[i], slot_of[i], want_slot);
                    want[want_slot]++;
                }
                for (size_t k = 0; k < nb + 3; k++)
                    assert_true(s.tally[k] == want[k]);
            }
    free(x), free(slot_of);
    gsl_rng_free(r);
}

/* Narrowed selection equals sorting, bit for bit in value, for bins that
 * hold the data, that cut it, that miss it (the wanted slots then hold
 * more than half the entries: the full selection runs), and on relu's
 * zeros (their slot is gathered without them); x is left unchanged. */
static void test_select_in_slots_matches_sort(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 13);
    const size_t sizes[] = {1, 5, 64, 65, 1000, 20000};
    const size_t nbins_list[] = {1, 7, 64, CS_HIST_SLOT_BINS_MAX};
    const double ranges[][2] = {{-4, 4}, {-0.5, 0.5}, {100, 200}, {-1e-3, 1e9}, {0, 17}};
    enum { CAP = 20000 };
    double *x = malloc(CAP * sizeof *x), *copy = malloc(CAP * sizeof *copy);
    double *sorted = malloc(CAP * sizeof *sorted), *sel = malloc(CAP * sizeof *sel);
    uint8_t *slot_of = malloc(CAP);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t count = sizes[s];
        for (int pattern = 0; pattern < NPATTERNS; pattern++) {
            fill(x, count, pattern, r);
            memcpy(copy, x, count * sizeof *x);
            memcpy(sorted, x, count * sizeof *x);
            qsort(sorted, count, sizeof *sorted, compare_doubles);
            size_t zeros, negatives;
            count_signs(x, count, &zeros, &negatives);
            for (size_t b = 0; b < sizeof nbins_list / sizeof nbins_list[0]; b++)
                for (size_t g = 0; g < sizeof ranges / sizeof ranges[0]; g++) {
                    cs_hist_slots slots = {nbins_list[b], ranges[g][0], ranges[g][1], slot_of,
                                           {0}};
                    cs_hist_assign_slots(&slots, x, count);
                    size_t ranks[CS_SELECT_MAX_RANKS];
                    int trial = (int)(b * 5 + g);
                    int nranks = draw_ranks(ranks, count, trial, r);
                    double out[CS_SELECT_MAX_RANKS];
                    cs_select_in_slots(out, x, count, zeros, negatives, ranks, nranks, &slots,
                                       sel);
                    for (int k = 0; k < nranks; k++)
                        if (!(out[k] == sorted[ranks[k]]))
                            fail_msg("size %zu pattern %d, %zu bins over [%g, %g): rank %zu "
                                     "got %.17g, sorted %.17g",
                                     count, pattern, nbins_list[b], ranges[g][0], ranges[g][1],
                                     ranks[k], out[k], sorted[ranks[k]]);
                    assert_memory_equal(x, copy, count * sizeof *x);
                }
        }
    }
    free(x), free(copy), free(sorted), free(sel), free(slot_of);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_ranks_match_sort),
        cmocka_unit_test(test_hist_assign_slots_match_hist_slot),
        cmocka_unit_test(test_select_in_slots_matches_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
