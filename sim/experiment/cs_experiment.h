/* An experiment file as loaded (docs/design.md §4): its own keys (name,
 * description) and, per run parameter, the sweep axis the file or a --set
 * gave it, with where it was given. Reading the text is cs_ini.h, values
 * cs_axis.h, --set cs_override.h, the runs cs_expand.h, --help cs_keys.h. */
#ifndef CS_EXPERIMENT_H
#define CS_EXPERIMENT_H

#include <stddef.h>

#include "cs_axis.h"
#include "cs_param.h"

typedef struct cs_experiment cs_experiment;

/* The keys of an experiment file are numbered: first its own text keys
 * (CS_KEY_NAME, CS_KEY_DESCRIPTION), then the run parameters in the order
 * of cs_param_table (key CS_KEY_PARAMS + k is cs_param_table[k]). */
enum { CS_KEY_NAME = 0, CS_KEY_DESCRIPTION, CS_KEY_PARAMS };

/* The number of keys, CS_KEY_PARAMS + cs_param_count. */
size_t cs_experiment_nkeys(void);

/* The key named name, or -1; the key nearest to a mistyped name (did you
 * mean, cs_suggest.h), or NULL. */
int cs_experiment_key_find(const char *name);
const char *cs_experiment_nearest_key(const char *word);

/* More keys than any table will have; cs_experiment_nkeys() is at most
 * this (asserted where it matters). */
#define CS_EXPERIMENT_MAX_KEYS 128

/* Key k's name, its section ("experiment" for the text keys), and its
 * parameter (NULL for a text key). */
const char *cs_experiment_key_name(int k);
const char *cs_experiment_key_section(int k);
const cs_param *cs_experiment_key_param(int k);

/* "experiment", "network", ...: the sections of a file in --help order. */
extern const char *const cs_experiment_sections[];
extern const size_t cs_experiment_nsections;

/* What the file and --set gave one key. order == 0: not given (default). */
typedef struct {
    int order;   /* 1, 2, ...: position in the expansion order */
    int line;    /* line in the file, 0 if the file does not give it */
    char *set;   /* the --set assignment that last gave it, or NULL */
    char *text;  /* a text key's value */
    cs_axis axis; /* a parameter's values, count >= 1 */
} cs_experiment_entry;

/* Parses the INI file at path. Every error names the file, the line, the
 * key and what was expected ("exp.ini:7: key 'depth': expected an integer
 * in 1..1048576, got '0'") and returns CS_EINVAL (bad content) or
 * CS_ENOTFOUND (missing file). *out is NULL on error. */
int cs_experiment_load(cs_experiment **out, const char *path);

void cs_experiment_free(cs_experiment *e); /* NULL is a no-op */

/* Parses value (a whole value: a text, or a list of items) for key k into
 * a detached *parsed; messages lack the location ("key 'depth': ..."). */
int cs_experiment_parse_value(int k, const char *value, cs_experiment_entry *parsed);

/* Puts *parsed (from cs_experiment_parse_value, its line and set filled
 * in by the caller) in place of key k's entry, which it owns from then on:
 * it keeps the entry's place in the expansion order, or takes the next. */
void cs_experiment_replace(cs_experiment *e, int k, cs_experiment_entry *parsed);

/* Appends "; --set assignment" as a line of the config text. CS_ENOMEM. */
int cs_experiment_note_set(cs_experiment *e, const char *assignment);

/* Frees what an entry owns and zeroes it. */
void cs_experiment_entry_clear(cs_experiment_entry *entry);

/* The experiment's name: the name key, else the file's base name. */
const char *cs_experiment_name(const cs_experiment *e);
/* The file's path as given, and its base name without .ini. */
const char *cs_experiment_path(const cs_experiment *e);
const char *cs_experiment_base_name(const cs_experiment *e);
/* The file's text followed by one "; --set key=value" line per override:
 * what the store keeps as config_text. */
const char *cs_experiment_config_text(const cs_experiment *e);
/* Key k's entry, and the number of keys given (the last order). */
const cs_experiment_entry *cs_experiment_entry_of(const cs_experiment *e, int k);
int cs_experiment_last_order(const cs_experiment *e);

/* What a text key's value must be ("letters, digits, _ - . (not first),
 * at most 128 characters"), its help line and its default as text. */
const char *cs_experiment_text_expected(int k);
const char *cs_experiment_text_help(int k);
const char *cs_experiment_text_default(int k);

#endif
