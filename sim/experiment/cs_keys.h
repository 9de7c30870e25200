/* The keys of an experiment file as covshift run --help lists them, from
 * the parameter table (docs/design.md §4; scripts/gen_docs.sh turns the
 * listing into the keys table of docs/experiments.md). */
#ifndef CS_KEYS_H
#define CS_KEYS_H

#include <stdio.h>

/* Prints each section, each key with its meaning, its values and its
 * default, then how lists, ranges, meaning and comments work. */
void cs_keys_print(FILE *out);

#endif
