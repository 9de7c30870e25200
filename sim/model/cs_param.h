/* The run parameters as one table (docs/design.md §1 the model, §3 the runs
 * columns, §4 the experiment keys): one entry per parameter gives its INI
 * key, section, type, place in cs_run_params, default, bounds, when it has
 * meaning, how it enters the canonical text, its runs column and its help
 * line. Defaults, parsing, bounds, the canonical text, the SQL columns and
 * binds, --help and the docs' key table all read this table. */
#ifndef CS_PARAM_H
#define CS_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include "cs_params.h"

typedef enum {
    CS_PARAM_INT,  /* int, bounds min..max */
    CS_PARAM_U64,  /* uint64_t, any value */
    CS_PARAM_REAL, /* finite double, bounds real_min .. real_max */
    CS_PARAM_BOOL, /* int 0/1, written true or false */
    CS_PARAM_ENUM  /* an enum (int-sized), written by its name */
} cs_param_type;

/* The sections of an experiment file that hold run parameters, in --help
 * order ([experiment], the file's own keys, comes before them). */
typedef enum {
    CS_SECTION_NETWORK,
    CS_SECTION_NORM,
    CS_SECTION_DATA,
    CS_SECTION_RUN,
    CS_SECTION_MEASURE,
    CS_SECTION_COUNT
} cs_param_section;

/* When a parameter has meaning for a run (docs/design.md §1). Without it,
 * expansion resets it to its default, the canonical text leaves it out
 * ("-" for CS_CANON_ALWAYS) and its column holds NULL or the default. */
typedef enum {
    CS_WHEN_ALWAYS,
    CS_WHEN_BATCH_NORM, /* norm = batch */
    CS_WHEN_MIXTURE,    /* input = mixture */
    CS_WHEN_NOISE,      /* noise_probes > 0 */
    CS_WHEN_COUNT
} cs_param_when;

/* How a parameter enters the canonical text that the run_key hashes. The
 * parameters of the first schema are always there; every later one only
 * when it changes something, so that the run_keys of older runs stay: the
 * zero value, what an entry that does not say gets. */
typedef enum {
    CS_CANON_CHANGED = 0, /* "key=value" when it has meaning and is not its default */
    CS_CANON_MEANING,     /* "key=value" when it has meaning */
    CS_CANON_ALWAYS       /* "key=value", "key=-" without meaning */
} cs_param_canon;

/* What its runs column is (sim/store/schema.sql; a test checks the two
 * agree). A parameter added from now on is CS_COLUMN_DEFAULT (the zero
 * value): every run
 * stored before it existed ran with its default, so a database that lacks
 * the column gets it with that default (cs_schema_upgrade). */
typedef enum {
    CS_COLUMN_DEFAULT = 0, /* NOT NULL DEFAULT <default>; the default when it has no meaning */
    CS_COLUMN_NULLABLE,    /* NULL when the parameter has no meaning for the run */
    CS_COLUMN_REQUIRED     /* NOT NULL, no default: in the runs table since schema version 1 */
} cs_param_column;

/* One value of a parameter: i for INT, BOOL and ENUM, u for U64, d for REAL. */
typedef union {
    long long i;
    uint64_t u;
    double d;
} cs_param_value;

typedef struct {
    const char *name; /* INI key, runs column and canonical key */
    cs_param_section section;
    cs_param_type type;
    size_t offset;    /* of the field in cs_run_params */
    cs_param_value def;
    long long min, max;        /* INT: inclusive */
    double real_min, real_max; /* REAL: inclusive, but real_max excluded when real_max_open */
    int real_max_open;
    const char *(*value_name)(int value); /* ENUM: the name of each value, NULL past the last */
    cs_param_when when;
    cs_param_canon canon;
    cs_param_column column;
    const char *doc; /* the meaning, one line of --help */
    /* 1 when every run stored before the parameter existed had `prior`
     * rather than `def` (a new default that changes results): the column's
     * default and what CS_CANON_CHANGED compares with are then prior, so
     * older runs keep their keys and a new run with def gets a new one. */
    int has_prior;
    cs_param_value prior;
} cs_param;

/* The table, in canonical-text order (new parameters are appended, so
 * older canonical texts keep their order). */
extern const cs_param cs_param_table[];
extern const size_t cs_param_count;

/* More entries than the table will have (asserted in cs_param.c): the size
 * of arrays with one slot per parameter. */
#define CS_PARAM_MAX 64

/* The entry named name, or NULL. */
const cs_param *cs_param_find(const char *name);

/* "network", "norm", "data", "run", "measure". */
const char *cs_param_section_name(cs_param_section section);

/* The value of param in p, and setting it (BOOL as 0/1; REAL as given). */
cs_param_value cs_param_get(const cs_param *param, const cs_run_params *p);
void cs_param_set(const cs_param *param, cs_run_params *p, cs_param_value v);

/* The value runs stored before param existed had: prior when has_prior,
 * else def. The runs column defaults to it and CS_CANON_CHANGED leaves
 * it out of the canonical text. */
cs_param_value cs_param_prior(const cs_param *param);

/* Whether param has meaning for p (its CS_WHEN_* rule). */
int cs_param_applies(const cs_param *param, const cs_run_params *p);

/* Whether two values of param are the same value (a REAL by ==, so -0 is
 * 0). */
int cs_param_equal(const cs_param *param, cs_param_value a, cs_param_value b);

/* Whether p's canonical text holds param (its CS_CANON_* rule): always
 * for CS_CANON_ALWAYS; else when it has meaning for p and, for
 * CS_CANON_CHANGED, is not its default. The listings show a later
 * parameter only when some run's text holds it. */
int cs_param_in_canonical(const cs_param *param, const cs_run_params *p);

/* The rule of when as SQL over the runs columns ("norm = 'batch'"; "1"
 * for CS_WHEN_ALWAYS) and as text for --help ("norm = batch"; NULL). */
const char *cs_param_when_sql(cs_param_when when);
const char *cs_param_when_text(cs_param_when when);

/* Parses one value written in an experiment file (trimmed, not empty):
 * a decimal integer, a number, true/false or a name. CS_OK, or CS_EINVAL
 * with a message without the key ("expected an integer in 1..65536, got
 * '0'"; "unknown norm 'x' (expected one of: none, batch)"). */
int cs_param_parse(const cs_param *param, const char *text, cs_param_value *v);

/* CS_OK when v is within param's bounds, else CS_EINVAL "key 'bins':
 * expected an integer in 1..65536, got 100000". */
int cs_param_check(const cs_param *param, cs_param_value v);

/* What a value must be, for messages and --help: "an integer in
 * 1..1048576", "a number in [0, 1)", "true, false", "none, batch". */
void cs_param_expected(const cs_param *param, char *buf, size_t size);

/* How cs_param_format writes a value. */
typedef enum {
    CS_FORMAT_CANONICAL, /* %.17g (round-trips), BOOL 0/1, ENUM its name */
    CS_FORMAT_HELP,      /* %g, BOOL true/false, ENUM its name */
    CS_FORMAT_SQL        /* an SQL literal: 0.10000000000000001, 1, 'tanh' */
} cs_param_format_style;

/* Writes v into buf (size >= 64 for any value). */
void cs_param_format(const cs_param *param, cs_param_value v, cs_param_format_style style,
                     char *buf, size_t size);

/* The column's declared type, "INTEGER", "REAL" or "TEXT", and its whole
 * definition for ALTER TABLE ADD COLUMN: "INTEGER NOT NULL DEFAULT 0" for
 * CS_COLUMN_DEFAULT (what schema.sql must declare too). buf >= 96. */
const char *cs_param_sql_type(const cs_param *param);
void cs_param_sql_definition(const cs_param *param, char *buf, size_t size);

#endif
