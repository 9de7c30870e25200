/* Did-you-mean by Levenshtein distance (see cs_suggest.h). */
#include "cs_suggest.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

/* Levenshtein distance, case-insensitive, two rows of at most 64. */
static int cs_suggest_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 63 || nb > 63)
        return INT_MAX;
    int prev[64], cur[64];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            int best = prev[j - 1] + !same;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[nb];
}

const char *cs_suggest_nearest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = INT_MAX;
    for (size_t i = 0; i < n; i++) {
        int d = cs_suggest_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best && best_d <= 2 && (size_t)best_d < strlen(word) ? best : NULL;
}
