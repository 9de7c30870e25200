/* Experiment files: INI parsing, sweep axes (lists and ranges), --set
 * overrides and the expansion into runs (DESIGN §4). */
#ifndef CS_EXPERIMENT_H
#define CS_EXPERIMENT_H

#include <stddef.h>
#include <stdio.h>

#include "cs_params.h"

typedef struct cs_experiment cs_experiment;

/* Parses the INI file at path. Every error names the file, the line, the
 * key and what was expected ("exp.ini:7: key 'depth': expected an integer
 * >= 1, got '0'") and returns CS_EINVAL (bad content) or CS_ENOTFOUND
 * (missing file). *out is NULL on error. */
int cs_experiment_load(cs_experiment **out, const char *path);

/* Applies one "key=value" override from --set (value may be a list or a
 * range); key is a bare key or section.key. Errors name the --set. */
int cs_experiment_set(cs_experiment *e, const char *assignment);

/* The cartesian product of the axes, minus axes without meaning for a run
 * (bn_phase_b when norm = none), each run validated. *runs is allocated
 * with cs_malloc; the caller frees it with cs_free. Errors name the key. */
int cs_experiment_expand(const cs_experiment *e, cs_run_params **runs, size_t *nruns);

const char *cs_experiment_name(const cs_experiment *e);
/* The file's text followed by one "; --set key=value" line per override:
 * what the store keeps as config_text. */
const char *cs_experiment_config_text(const cs_experiment *e);

/* Prints the sections and keys with their meaning and default (for
 * covshift run --help). */
void cs_experiment_print_keys(FILE *out);

void cs_experiment_free(cs_experiment *e); /* NULL is a no-op */

#endif
