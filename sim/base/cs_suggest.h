/* "Did you mean ...?": the candidate nearest to a mistyped word, for the
 * messages of experiment files, --set and list --where (docs/design.md §4). */
#ifndef CS_SUGGEST_H
#define CS_SUGGEST_H

#include <stddef.h>

/* The candidate nearest to word by case-insensitive edit distance, or NULL
 * when none is within 2 edits and closer than the word's own length (so
 * "x" does not suggest "eps"). Words longer than 63 characters are never
 * close. */
const char *cs_suggest_nearest(const char *word, const char *const *candidates, size_t n);

#endif
