/* Experiment files (DESIGN §4): INI parsed with inih, every value checked
 * where it is written so errors carry file and line, lists and integer
 * ranges as sweep axes, --set overrides, and the expansion into validated,
 * deduplicated runs (bn_phase_b dropped for norm = none, DESIGN §1). */
#include "cs_experiment.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_sim.h"

/* Upper bound on the length of one axis and on the number of runs: a typo
 * such as seed = 1..1000000000 must be an error, not an allocation of
 * 100 GB. */
#define CS_EXP_MAX_RUNS 1000000

/* ---- the keys (one table: parsing, --set, expansion and --help use it) ---- */

typedef enum {
    CS_KEY_TEXT,  /* one string, never a list */
    CS_KEY_INT,   /* int field, >= min */
    CS_KEY_SEED,  /* uint64 */
    CS_KEY_REAL,  /* finite double in [real_min, real_max] */
    CS_KEY_ENUM,  /* a name accepted by the module's parse function */
} cs_key_type;

typedef enum {
    CS_K_NAME, CS_K_DESCRIPTION,
    CS_K_DEPTH, CS_K_WIDTH, CS_K_INPUT_DIM, CS_K_ACTIVATION, CS_K_INIT, CS_K_SIGMA_W,
    CS_K_SIGMA_B, CS_K_DROPOUT,
    CS_K_NORM, CS_K_BN_PHASE_B, CS_K_MOMENTUM, CS_K_EPS,
    CS_K_INPUT, CS_K_MIXTURE_K, CS_K_MIXTURE_SEP, CS_K_SHUFFLE, CS_K_SHIFT_MEAN,
    CS_K_SHIFT_SCALE, CS_K_BATCH, CS_K_STEPS_A, CS_K_STEPS_B,
    CS_K_SEED, CS_K_BINS,
    CS_K_GRAD, CS_K_NOISE_PROBES, CS_K_NOISE_BATCHES, CS_K_POPULATION,
    CS_K_COUNT
} cs_key_id;

typedef struct {
    const char *section;
    const char *name;
    cs_key_type type;
    long long int_min, int_max; /* CS_KEY_INT, inclusive (cs_params.h bounds) */
    double real_min, real_max;  /* CS_KEY_REAL, inclusive */
    const char *expected;       /* what a value must be (CS_KEY_INT: made from the bounds) */
    const char *help;
} cs_key_desc;

static const char *const cs_sections[] = {"experiment", "network", "norm", "data", "run",
                                           "measure"};
#define CS_SECTION_COUNT (sizeof cs_sections / sizeof cs_sections[0])

/* Indexed by cs_key_id; the order is the order of --help. */
static const cs_key_desc cs_keys[CS_K_COUNT] = {
    [CS_K_NAME] = {"experiment", "name", CS_KEY_TEXT, 0, 0, 0, 0,
                   "letters, digits, _ - . (not first), at most 128 characters",
                   "experiment name; the default database is results/<name>.db"},
    [CS_K_DESCRIPTION] = {"experiment", "description", CS_KEY_TEXT, 0, 0, 0, 0, "text",
                          "free text stored with the results"},
    [CS_K_DEPTH] = {"network", "depth", CS_KEY_INT, 1, CS_MAX_DEPTH, 0, 0, NULL,
                    "number of dense layers"},
    [CS_K_WIDTH] = {"network", "width", CS_KEY_INT, 1, CS_MAX_WIDTH, 0, 0, NULL,
                    "units in every hidden layer"},
    [CS_K_INPUT_DIM] = {"network", "input_dim", CS_KEY_INT, 1, CS_MAX_WIDTH, 0, 0, NULL,
                        "features of the input x^(0); 1024 for input = images"},
    [CS_K_ACTIVATION] = {"network", "activation", CS_KEY_ENUM, 0, 0, 0, 0,
                         "linear, relu, leaky_relu, tanh, sigmoid, selu, gelu",
                         "nonlinearity phi after each layer"},
    [CS_K_INIT] = {"network", "init", CS_KEY_ENUM, 0, 0, 0, 0, "gaussian, xavier, he, orthogonal",
                   "weight initialisation"},
    [CS_K_SIGMA_W] = {"network", "sigma_w", CS_KEY_REAL, 0, 0, 0, HUGE_VAL, "a number >= 0",
                      "weight scale: W ~ N(0, sigma_w^2/fan_in) (gaussian), gain (orthogonal)"},
    [CS_K_SIGMA_B] = {"network", "sigma_b", CS_KEY_REAL, 0, 0, 0, HUGE_VAL, "a number >= 0",
                      "bias scale: b ~ N(0, sigma_b^2)"},
    [CS_K_NORM] = {"norm", "norm", CS_KEY_ENUM, 0, 0, 0, 0, "none, batch",
                   "normalisation between the dense layer and phi"},
    [CS_K_BN_PHASE_B] = {"norm", "bn_phase_b", CS_KEY_ENUM, 0, 0, 0, 0, "batch, frozen, ema",
                         "batch norm statistics in phase B (ignored when norm = none)"},
    [CS_K_MOMENTUM] = {"norm", "momentum", CS_KEY_REAL, 0, 0, 0, 1, "a number in [0, 1]",
                       "running statistics update, as torch.nn.BatchNorm1d"},
    [CS_K_EPS] = {"norm", "eps", CS_KEY_REAL, 0, 0, 0, HUGE_VAL, "a number >= 0",
                  "added to the variance before the square root"},
    [CS_K_INPUT] = {"data", "input", CS_KEY_ENUM, 0, 0, 0, 0, "gaussian, uniform, images, mixture",
                    "distribution A of the inputs"},
    [CS_K_SHIFT_MEAN] = {"data", "shift_mean", CS_KEY_REAL, 0, 0, -HUGE_VAL, HUGE_VAL, "a number",
                         "offset of distribution B: B = shift_scale * A + shift_mean"},
    [CS_K_SHIFT_SCALE] = {"data", "shift_scale", CS_KEY_REAL, 0, 0, -HUGE_VAL, HUGE_VAL, "a number",
                          "scale of distribution B: B = shift_scale * A + shift_mean"},
    [CS_K_BATCH] = {"data", "batch", CS_KEY_INT, 1, CS_MAX_BATCH, 0, 0, NULL,
                    "rows per batch; >= 2 with norm = batch"},
    [CS_K_STEPS_A] = {"data", "steps_a", CS_KEY_INT, 1, CS_MAX_STEPS, 0, 0, NULL,
                      "batches from distribution A (phase A)"},
    [CS_K_STEPS_B] = {"data", "steps_b", CS_KEY_INT, 1, CS_MAX_STEPS, 0, 0, NULL,
                      "batches from distribution B (phase B)"},
    [CS_K_SEED] = {"run", "seed", CS_KEY_SEED, 0, 0, 0, 0, "an integer >= 0",
                   "seed of every random stream of the run"},
    [CS_K_BINS] = {"run", "bins", CS_KEY_INT, 1, CS_MAX_BINS, 0, 0, NULL,
                   "histogram bins per layer and site"},
    /* Issue 6: the notes' claims (the enum places them in their sections). */
    [CS_K_DROPOUT] = {"network", "dropout", CS_KEY_REAL, 0, 0, 0, 0.999999, "a number in [0, 1)",
                      "inverted dropout rate after phi, every batch of both phases"},
    [CS_K_MIXTURE_K] = {"data", "mixture_k", CS_KEY_INT, 1, CS_MAX_MIXTURE_K, 0, 0, NULL,
                        "components of input = mixture"},
    [CS_K_MIXTURE_SEP] = {"data", "mixture_sep", CS_KEY_REAL, 0, 0, 0, HUGE_VAL, "a number >= 0",
                          "sd per feature of the mixture's component means"},
    [CS_K_SHUFFLE] = {"data", "shuffle", CS_KEY_ENUM, 0, 0, 0, 0, "true, false",
                      "false: each batch of a mixture comes from one component"},
    [CS_K_GRAD] = {"measure", "grad", CS_KEY_ENUM, 0, 0, 0, 0, "true, false",
                   "backward pass at init of a random readout's squared error: grad_stats"},
    [CS_K_NOISE_PROBES] = {"measure", "noise_probes", CS_KEY_INT, 0, CS_MAX_NOISE, 0, 0, NULL,
                           "probe examples for bn_noise; 0 = off"},
    [CS_K_NOISE_BATCHES] = {"measure", "noise_batches", CS_KEY_INT, 2, CS_MAX_NOISE, 0, 0, NULL,
                            "random batch compositions (and dropout masks) per probe"},
    [CS_K_POPULATION] = {"measure", "population", CS_KEY_INT, 0, CS_MAX_POPULATION, 0, 0, NULL,
                         "held-out A examples for running_gap (norm = batch); 0 = off"},
};

/* One value of an axis, read according to the key's type. */
typedef union {
    long long i;  /* CS_KEY_INT */
    uint64_t u;   /* CS_KEY_SEED */
    double d;     /* CS_KEY_REAL */
    int e;        /* CS_KEY_ENUM */
} cs_exp_value;

/* What the file and --set gave a key. order == 0: not given (default). */
typedef struct {
    int order;            /* 1, 2, ...: position in the expansion order */
    int line;             /* line in the file, 0 if the file does not set it */
    char *set;            /* the --set assignment that last set it, or NULL */
    char *text;           /* CS_KEY_TEXT */
    cs_exp_value *values; /* the axis, count >= 1 */
    size_t count;
} cs_exp_entry;

struct cs_experiment {
    char *path;
    char *base_name;    /* the file's base name without .ini */
    char *config_text;  /* file text, then one "; --set ..." line per override */
    size_t config_len;
    int next_order;
    cs_exp_entry entries[CS_K_COUNT];
};

/* ---- small helpers ---- */

/* What a value of key k must be, for messages and --help: "an integer in
 * 1..65536" for integer keys (from their bounds), else the table's text. */
static const char *cs_exp_expected(cs_key_id k, char *buf, size_t size)
{
    const cs_key_desc *d = &cs_keys[k];
    if (d->type != CS_KEY_INT)
        return d->expected;
    snprintf(buf, size, "an integer in %lld..%lld", d->int_min, d->int_max);
    return buf;
}

static char *cs_exp_strndup(const char *s, size_t n)
{
    char *d = cs_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *cs_exp_strdup(const char *s) { return cs_exp_strndup(s, strlen(s)); }

/* Trims ASCII whitespace in place and returns the first non-blank char. */
static char *cs_exp_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int cs_exp_find_key(const char *name)
{
    for (int k = 0; k < CS_K_COUNT; k++)
        if (strcmp(cs_keys[k].name, name) == 0)
            return k;
    return -1;
}

static bool cs_exp_is_section(const char *name)
{
    for (size_t s = 0; s < CS_SECTION_COUNT; s++)
        if (strcmp(cs_sections[s], name) == 0)
            return true;
    return false;
}

/* Levenshtein distance, case-insensitive, for did-you-mean; names longer
 * than 63 characters are never close to a key. */
static int cs_exp_edit_distance(const char *a, const char *b)
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

/* The candidate nearest to word, or NULL when none is within 2 edits (and
 * closer than the word's own length, so "x" does not suggest "eps"). */
static const char *cs_exp_nearest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    int best_d = INT_MAX;
    for (size_t i = 0; i < n; i++) {
        int d = cs_exp_edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best && best_d <= 2 && (size_t)best_d < strlen(word) ? best : NULL;
}

static const char *cs_exp_nearest_key(const char *word)
{
    const char *names[CS_K_COUNT];
    for (int k = 0; k < CS_K_COUNT; k++)
        names[k] = cs_keys[k].name;
    return cs_exp_nearest(word, names, CS_K_COUNT);
}

/* ---- values: one item, a list, a range ---- */

/* Parses s (trimmed, non-empty) as the whole of a decimal integer. */
static bool cs_exp_parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool cs_exp_parse_u64(const char *s, uint64_t *out)
{
    /* strtoull would wrap "-1" to 2^64 - 1. */
    if (*s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

/* One integer of an int or seed key, range-checked. Message on error:
 * "expected an integer >= 1, got '0'" (the caller adds file, line, key). */
static int cs_exp_parse_integer(cs_key_id k, const char *s, cs_exp_value *v)
{
    const cs_key_desc *d = &cs_keys[k];
    if (d->type == CS_KEY_SEED) {
        if (!cs_exp_parse_u64(s, &v->u))
            return cs_error_set(CS_EINVAL, "expected %s, got '%s'", d->expected, s);
        return CS_OK;
    }
    char expected[64];
    if (!cs_exp_parse_ll(s, &v->i) || v->i < d->int_min || v->i > d->int_max)
        return cs_error_set(CS_EINVAL, "expected %s, got '%s'",
                            cs_exp_expected(k, expected, sizeof expected), s);
    return CS_OK;
}

static int cs_exp_parse_enum(cs_key_id k, const char *s, int *out)
{
    int rc;
    switch (k) {
    case CS_K_ACTIVATION: {
        cs_activation a;
        rc = cs_activation_parse(s, &a);
        *out = (int)a;
        break;
    }
    case CS_K_INIT: {
        cs_init_kind i;
        rc = cs_init_parse(s, &i);
        *out = (int)i;
        break;
    }
    case CS_K_NORM: {
        cs_norm_kind n;
        rc = cs_norm_parse(s, &n);
        *out = (int)n;
        break;
    }
    case CS_K_BN_PHASE_B: {
        cs_bn_phase b;
        rc = cs_bn_phase_parse(s, &b);
        *out = (int)b;
        break;
    }
    case CS_K_INPUT: {
        cs_input_kind in;
        rc = cs_input_parse(s, &in);
        *out = (int)in;
        break;
    }
    case CS_K_SHUFFLE:
    case CS_K_GRAD:
        rc = CS_OK;
        if (strcmp(s, "true") == 0)
            *out = 1;
        else if (strcmp(s, "false") == 0)
            *out = 0;
        else
            rc = cs_error_set(CS_EINVAL, "expected true or false, got '%s'", s);
        break;
    default: rc = cs_error_set(CS_EINVAL, "not a named-value key"); break;
    }
    return rc;
}

/* An axis being parsed: values[0..count) in an array of cap. */
typedef struct {
    cs_exp_value *values;
    size_t count, cap;
} cs_exp_axis;

/* Makes room for n more values, doubling the capacity so that a list of
 * many items costs O(n) copies, not O(n^2). */
static int cs_exp_axis_grow(cs_exp_axis *axis, size_t n)
{
    if (n > CS_EXP_MAX_RUNS || axis->count > CS_EXP_MAX_RUNS - n)
        return cs_error_set(CS_EINVAL, "more than %d values", CS_EXP_MAX_RUNS);
    if (axis->count + n <= axis->cap)
        return CS_OK;
    size_t cap = axis->cap ? axis->cap : 4;
    while (cap < axis->count + n)
        cap *= 2; /* <= 2 CS_EXP_MAX_RUNS */
    cs_exp_value *grown = cs_realloc_n(axis->values, sizeof *grown, cap);
    if (!grown)
        return CS_ENOMEM;
    axis->values = grown;
    axis->cap = cap;
    return CS_OK;
}

/* Parses one item of a list (trimmed, non-empty): a value, or for integer
 * keys a range a..b (inclusive, a <= b), appending to the axis. */
static int cs_exp_parse_item(cs_key_id k, char *item, cs_exp_axis *axis)
{
    const cs_key_desc *d = &cs_keys[k];
    char *dots = strstr(item, "..");
    if (dots && (d->type == CS_KEY_INT || d->type == CS_KEY_SEED)) {
        char whole[256];
        snprintf(whole, sizeof whole, "%s", item);
        *dots = '\0';
        char *lo_text = cs_exp_trim(item), *hi_text = cs_exp_trim(dots + 2);
        if (!*lo_text || !*hi_text || strstr(hi_text, ".."))
            return cs_error_set(CS_EINVAL, "expected a range a..b of integers, got '%s'", whole);
        cs_exp_value lo, hi;
        int rc = cs_exp_parse_integer(k, lo_text, &lo);
        if (rc == CS_OK)
            rc = cs_exp_parse_integer(k, hi_text, &hi);
        if (rc != CS_OK)
            return rc;
        /* Seeds compare as unsigned, the other keys are >= 1 here. */
        uint64_t ulo = d->type == CS_KEY_SEED ? lo.u : (uint64_t)lo.i;
        uint64_t uhi = d->type == CS_KEY_SEED ? hi.u : (uint64_t)hi.i;
        if (ulo > uhi)
            return cs_error_set(CS_EINVAL, "range '%s..%s' is empty (expected a..b with a <= b)",
                                lo_text, hi_text);
        if (uhi - ulo >= CS_EXP_MAX_RUNS)
            return cs_error_set(CS_EINVAL, "range '%s..%s' has more than %d values", lo_text,
                                hi_text, CS_EXP_MAX_RUNS);
        size_t n = (size_t)(uhi - ulo) + 1;
        rc = cs_exp_axis_grow(axis, n);
        if (rc != CS_OK)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (d->type == CS_KEY_SEED)
                axis->values[axis->count + i].u = ulo + i;
            else
                axis->values[axis->count + i].i = (long long)(ulo + i);
        }
        axis->count += n;
        return CS_OK;
    }
    cs_exp_value v = {0};
    int rc = CS_OK;
    switch (d->type) {
    case CS_KEY_INT:
    case CS_KEY_SEED: rc = cs_exp_parse_integer(k, item, &v); break;
    case CS_KEY_REAL: {
        if (dots)
            return cs_error_set(CS_EINVAL,
                                "ranges a..b are for integer keys; write a list (a, b, c), "
                                "got '%s'", item);
        char *end;
        errno = 0;
        v.d = strtod(item, &end);
        /* ERANGE on underflow still gives a usable (tiny) number; overflow
         * gives inf and fails isfinite. */
        if (end == item || *end != '\0' || !isfinite(v.d) || v.d < d->real_min ||
            v.d > d->real_max)
            rc = cs_error_set(CS_EINVAL, "expected %s, got '%s'", d->expected, item);
        break;
    }
    case CS_KEY_ENUM: rc = cs_exp_parse_enum(k, item, &v.e); break;
    case CS_KEY_TEXT:
        assert(!"text keys are not lists");
        rc = cs_error_set(CS_EINVAL, "a text value is not a list");
        break;
    }
    if (rc != CS_OK)
        return rc;
    rc = cs_exp_axis_grow(axis, 1);
    if (rc != CS_OK)
        return rc;
    axis->values[axis->count++] = v;
    return CS_OK;
}

/* Parses a whole value of a list-capable key: items separated by commas.
 * On success *values (cs_malloc'd) holds *count >= 1 values. On error the
 * message reads "key 'depth': ..." (the caller prefixes the location). */
static int cs_exp_parse_axis(cs_key_id k, const char *value, cs_exp_value **values,
                             size_t *count)
{
    *values = NULL;
    *count = 0;
    char *copy = cs_exp_strdup(value);
    if (!copy)
        return CS_ENOMEM;
    cs_exp_axis axis = {NULL, 0, 0};
    char expected[64];
    int rc = CS_OK;
    if (!*cs_exp_trim(copy)) {
        rc = cs_error_set(CS_EINVAL, "key '%s': empty value (expected %s)", cs_keys[k].name,
                          cs_exp_expected(k, expected, sizeof expected));
        goto done;
    }
    char *item = copy;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *t = cs_exp_trim(item);
        if (!*t) {
            rc = cs_error_set(CS_EINVAL, "key '%s': empty item in the list '%s'",
                              cs_keys[k].name, value);
            goto done;
        }
        rc = cs_exp_parse_item(k, t, &axis);
        if (rc == CS_EINVAL)
            rc = cs_error_prefix(CS_EINVAL, "key '%s'", cs_keys[k].name);
        if (rc != CS_OK || !comma)
            break;
        item = comma + 1;
    }
done:
    cs_free(copy);
    if (rc != CS_OK) {
        cs_free(axis.values);
        return rc;
    }
    *values = axis.values;
    *count = axis.count;
    return CS_OK;
}

/* Longest experiment name: it becomes a file name (results/<name>.db). */
#define CS_EXP_MAX_NAME 128

/* Whether s can name an experiment: letters, digits, _ - . only, not
 * starting with '.' (so neither "." nor ".." nor a hidden file), at most
 * CS_EXP_MAX_NAME characters: it becomes a path component. */
static bool cs_exp_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CS_EXP_MAX_NAME || s[0] == '.')
        return false;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
    return true;
}

/* A text key's value, checked (name must be usable in a file name). */
static int cs_exp_check_text(cs_key_id k, const char *value)
{
    if (k != CS_K_NAME)
        return CS_OK;
    if (!*value)
        return cs_error_set(CS_EINVAL, "key 'name': empty value (expected %s)",
                            cs_keys[k].expected);
    if (!cs_exp_name_ok(value))
        return cs_error_set(CS_EINVAL, "key 'name': expected %s, got '%s'", cs_keys[k].expected,
                            value);
    return CS_OK;
}

/* Parses value for key k into a detached entry (text or axis). */
static int cs_exp_parse_value(cs_key_id k, const char *value, cs_exp_entry *parsed)
{
    memset(parsed, 0, sizeof *parsed);
    if (cs_keys[k].type != CS_KEY_TEXT)
        return cs_exp_parse_axis(k, value, &parsed->values, &parsed->count);
    int rc = cs_exp_check_text(k, value);
    if (rc != CS_OK)
        return rc;
    parsed->text = cs_exp_strdup(value);
    return parsed->text ? CS_OK : CS_ENOMEM;
}

static void cs_exp_entry_clear(cs_exp_entry *e)
{
    cs_free(e->set);
    cs_free(e->text);
    cs_free(e->values);
    memset(e, 0, sizeof *e);
}

/* ---- loading: inih over a line reader that counts lines ---- */

/* Longest line handed to inih, continuation lines joined, with its NUL:
 * inih's line buffer is ini_max_line bytes, a runtime setting in Debian's
 * libinih (its default, 200, fits no long list). */
#define CS_EXP_MAX_LINE 65536
/* Largest experiment file read: far above any real one, so a device or a
 * wrong file (covshift run /dev/zero) is refused instead of read forever. */
#define CS_EXP_MAX_FILE ((size_t)16 << 20)

typedef struct {
    cs_experiment *e;
    const char *pos, *end; /* the rest of the file text */
    int line;              /* the first line of what inih is handling now (1-based) */
    int last_line;         /* the lines read so far (continuations included) */
    int rc;                /* first error; parsing stops at it */
} cs_exp_loader;

/* Prefixes the current message with "path:line" of the loader's line and
 * records it as the load's error. */
static int cs_exp_fail_here(cs_exp_loader *L, int rc)
{
    L->rc = cs_error_prefix(rc, "%s:%d", L->e->path, L->line);
    return L->rc;
}

/* "[experiment], [network], ...": every section of the key table. */
static void cs_exp_section_list(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t s = 0; s < CS_SECTION_COUNT && used < size; s++)
        used += (size_t)snprintf(buf + used, size - used, "%s[%s]", s ? ", " : "", cs_sections[s]);
}

/* Checks a physical line before inih sees it: when it is a "[section]"
 * line, that the section exists (so an unknown section with no keys in it
 * is an error too) and that nothing but a comment follows the ']' (inih
 * would drop it silently). Returns 1 for a good section line, whose
 * section is then cs_sections[*index], 0 for any other line, -1 on error
 * (recorded in L). */
static int cs_exp_check_section_line(cs_exp_loader *L, const char *line, size_t len,
                                     size_t *index)
{
    size_t i = 0;
    if (L->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* UTF-8 byte order mark, which inih skips */
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len || line[i] != '[')
        return 0;
    const char *close = memchr(line + i, ']', len - i);
    if (!close)
        return 0; /* inih reports the malformed header */
    char name[256];
    size_t n = (size_t)(close - (line + i + 1));
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, line + i + 1, n);
    name[n] = '\0';
    char *t = cs_exp_trim(name);
    *index = CS_SECTION_COUNT;
    for (size_t k = 0; k < CS_SECTION_COUNT; k++)
        if (strcmp(cs_sections[k], t) == 0)
            *index = k;
    if (*index == CS_SECTION_COUNT) {
        char sections[256];
        cs_exp_section_list(sections, sizeof sections);
        const char *near = cs_exp_nearest(t, cs_sections, CS_SECTION_COUNT);
        if (near)
            cs_error_set(CS_EINVAL, "unknown section [%s] (did you mean [%s]?)", t, near);
        else
            cs_error_set(CS_EINVAL, "unknown section [%s] (sections: %s)", t, sections);
        cs_exp_fail_here(L, CS_EINVAL);
        return -1;
    }
    size_t j = (size_t)(close - line) + 1;
    while (j < len && isspace((unsigned char)line[j]))
        j++;
    if (j < len && line[j] != ';' && line[j] != '#') {
        size_t rest = len - j;
        cs_error_set(CS_EINVAL, "unexpected text after [%s]: '%.*s%s' (a key = value goes on a "
                                "line of its own)",
                     t, (int)(rest > 40 ? 40 : rest), line + j, rest > 40 ? "..." : "");
        cs_exp_fail_here(L, CS_EINVAL);
        return -1;
    }
    return 1;
}

/* An fgets-style reader for ini_parse_stream over the file text: one line
 * per call, so L->line is the line of every handler call.
 *   - CRLF line ends are line ends (the CR is not part of the line);
 *   - a line whose last character is '\', outside a comment, continues on
 *     the next line: the '\' and the line break are removed (so lists can
 *     span lines; messages give the line the key starts on);
 *   - section lines and whole-line comments are never continued; a comment
 *     is handed over empty (it may be longer than inih's buffer);
 *   - a line longer than num - 1 characters, continuations joined, is an
 *     error (inih would silently split it).
 * Comments follow inih: ';' or '#' first on a line or after whitespace. */
static char *cs_exp_read_line(char *str, int num, void *stream)
{
    cs_exp_loader *L = stream;
    if (L->rc != CS_OK || L->pos >= L->end)
        return NULL; /* end of input, or stop at the first error */
    size_t cap = (size_t)num - 1, used = 0;
    L->line = L->last_line + 1;
    int in_comment = 0;
    for (int first = 1;; first = 0) {
        const char *seg = L->pos;
        const char *nl = memchr(seg, '\n', (size_t)(L->end - seg));
        size_t len = (size_t)((nl ? nl : L->end) - seg);
        L->pos = nl ? nl + 1 : L->end;
        L->last_line++;
        if (len > 0 && seg[len - 1] == '\r')
            len--;
        if (first) {
            size_t index = 0;
            int section = cs_exp_check_section_line(L, seg, len, &index);
            if (section < 0)
                return NULL;
            if (section > 0) { /* the header alone, as short as a name */
                snprintf(str, (size_t)num, "[%s]", cs_sections[index]);
                return str;
            }
            size_t i = L->line == 1 && len >= 3 && memcmp(seg, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
            while (i < len && isspace((unsigned char)seg[i]))
                i++;
            if (i < len && (seg[i] == ';' || seg[i] == '#')) {
                strcpy(str, ";");
                return str;
            }
        }
        for (size_t i = 0; i < len && !in_comment; i++) {
            char before = i ? seg[i - 1] : used ? str[used - 1] : '\0';
            in_comment = (seg[i] == ';' || seg[i] == '#') && isspace((unsigned char)before);
        }
        int continued = len > 0 && seg[len - 1] == '\\' && !in_comment;
        if (continued)
            len--;
        if (len > cap - used) {
            cs_error_set(CS_EINVAL, "line is longer than %zu characters%s", cap,
                         first && !continued ? "" : " (continuation lines joined)");
            cs_exp_fail_here(L, CS_EINVAL);
            return NULL;
        }
        memcpy(str + used, seg, len);
        used += len;
        if (!continued)
            break;
        if (L->pos >= L->end) {
            cs_error_set(CS_EINVAL, "the last line ends in '\\' (a line continuation), but no "
                                    "line follows");
            L->line = L->last_line;
            cs_exp_fail_here(L, CS_EINVAL);
            return NULL;
        }
    }
    str[used] = '\0';
    return str;
}

/* Checks and stores one key = value of the file (section as inih gives
 * it) at the loader's current line. Messages lack the location. */
static int cs_exp_store(cs_exp_loader *L, const char *section, const char *name,
                        const char *value)
{
    char sect[256];
    snprintf(sect, sizeof sect, "%s", section);
    const char *s = cs_exp_trim(sect);
    if (*s && !cs_exp_is_section(s)) /* normally caught by the reader already */
        return cs_error_set(CS_EINVAL, "unknown section [%s]", s);
    int k = cs_exp_find_key(name);
    if (k < 0) {
        char where[300] = "before any section";
        if (*s)
            snprintf(where, sizeof where, "in section [%s]", s);
        const char *near = cs_exp_nearest_key(name);
        if (!near)
            return cs_error_set(CS_EINVAL, "unknown key '%s' %s", name, where);
        int nk = cs_exp_find_key(near);
        if (strcmp(cs_keys[nk].section, s) == 0)
            return cs_error_set(CS_EINVAL, "unknown key '%s' %s (did you mean '%s'?)", name,
                                where, near);
        return cs_error_set(CS_EINVAL, "unknown key '%s' %s (did you mean '%s' in [%s]?)", name,
                            where, near, cs_keys[nk].section);
    }
    if (!*s)
        return cs_error_set(CS_EINVAL, "key '%s' comes before any section; it belongs in [%s]",
                            name, cs_keys[k].section);
    if (strcmp(cs_keys[k].section, s) != 0)
        return cs_error_set(CS_EINVAL, "key '%s' belongs in section [%s], not [%s]", name,
                            cs_keys[k].section, s);
    cs_exp_entry *entry = &L->e->entries[k];
    if (entry->order)
        return cs_error_set(CS_EINVAL, "key '%s' is given twice (lines %d and %d)", name,
                            entry->line, L->line);
    cs_exp_entry parsed;
    int rc = cs_exp_parse_value((cs_key_id)k, value, &parsed);
    if (rc != CS_OK)
        return rc;
    *entry = parsed;
    entry->line = L->line;
    entry->order = ++L->e->next_order;
    return CS_OK;
}

/* inih's handler: nonzero to go on. The first error stops the parse (the
 * reader then reports end of input). */
static int cs_exp_ini_handler(void *user, const char *section, const char *name,
                              const char *value)
{
    cs_exp_loader *L = user;
    if (L->rc != CS_OK)
        return 0;
    int rc = cs_exp_store(L, section, name, value);
    if (rc == CS_OK)
        return 1;
    if (rc == CS_ENOMEM)
        L->rc = rc;
    else
        cs_exp_fail_here(L, rc);
    return 0;
}

/* Reads the whole file into a cs_malloc'd, NUL-terminated buffer. A file
 * that cannot be opened is bad input (CS_ENOTFOUND when missing, else
 * CS_EINVAL), as are a directory and a file over CS_EXP_MAX_FILE; only a
 * failing read is CS_EIO. */
static int cs_exp_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        return cs_error_set(err == ENOENT ? CS_ENOTFOUND : err == ENOMEM ? CS_ENOMEM : CS_EINVAL,
                            "cannot read experiment file '%s': %s", path, strerror(err));
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return cs_error_set(CS_EINVAL, "%s: is a directory, not an experiment file", path);
    }
    size_t cap = 4096, n = 0;
    char *buf = cs_malloc(cap);
    int rc = buf ? CS_OK : CS_ENOMEM;
    while (rc == CS_OK) {
        if (n > CS_EXP_MAX_FILE) {
            rc = cs_error_set(CS_EINVAL, "%s: larger than %zu MB, not an experiment file", path,
                              CS_EXP_MAX_FILE >> 20);
            break;
        }
        if (cap - n < 2) {
            char *grown = cs_realloc_n(buf, 2, cap); /* 2 x cap bytes */
            if (!grown) {
                rc = CS_ENOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = cs_error_set(errno == EISDIR ? CS_EINVAL : CS_EIO,
                                  "cannot read experiment file '%s': %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc != CS_OK) {
        cs_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CS_OK;
}

/* The file's base name without a trailing ".ini": the default name. */
static char *cs_exp_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
        n -= 4;
    return cs_exp_strndup(base, n);
}

/* The start of line `line` (1-based) of text, quoted for a message: at
 * most 80 characters, trimmed. */
static void cs_exp_quote_line(const char *text, int line, char *quoted, size_t size)
{
    const char *p = text;
    for (int i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    quoted[0] = '\0';
    if (p) {
        size_t n = strcspn(p, "\r\n");
        snprintf(quoted, size, "%.*s%s", (int)(n > 80 ? 80 : n), p, n > 80 ? "..." : "");
    }
}

/* Runs inih over the text with the syntax this format documents: comments
 * ';' or '#' at the start of a line or after whitespace, no multi-line
 * values in configparser's style (an indented line is a line of its own;
 * a '\' at the end of a line continues it instead), lines up to
 * CS_EXP_MAX_LINE - 1 characters, parsing stops at the first error. These
 * are process-wide inih settings, restored after the parse; experiment
 * files are loaded from one thread. */
static int cs_exp_parse_text(cs_exp_loader *L)
{
    static char start_prefixes[] = ";#", inline_prefixes[] = ";#";
    bool saved_multiline = ini_allow_multiline, saved_inline = ini_allow_inline_comments;
    bool saved_stop = ini_stop_on_first_error, saved_no_value = ini_allow_no_value;
    bool saved_stack = ini_use_stack, saved_bom = ini_allow_bom;
    int saved_max_line = ini_max_line;
    char *saved_start = ini_start_comment_prefixes, *saved_inline_prefixes =
                                                        ini_inline_comment_prefixes;
    ini_allow_multiline = false;
    ini_allow_inline_comments = true;
    ini_stop_on_first_error = true;
    ini_allow_no_value = false;
    ini_allow_bom = true;
    ini_use_stack = true; /* a CS_EXP_MAX_LINE buffer on the stack, handed to the reader */
    ini_max_line = CS_EXP_MAX_LINE;
    ini_start_comment_prefixes = start_prefixes;
    ini_inline_comment_prefixes = inline_prefixes;
    int ini_rc = ini_parse_stream(cs_exp_read_line, L, cs_exp_ini_handler, L);
    ini_allow_multiline = saved_multiline;
    ini_allow_inline_comments = saved_inline;
    ini_stop_on_first_error = saved_stop;
    ini_allow_no_value = saved_no_value;
    ini_allow_bom = saved_bom;
    ini_use_stack = saved_stack;
    ini_max_line = saved_max_line;
    ini_start_comment_prefixes = saved_start;
    ini_inline_comment_prefixes = saved_inline_prefixes;

    if (L->rc != CS_OK)
        return L->rc;
    if (ini_rc == -2)
        return cs_error_set(CS_ENOMEM, "out of memory parsing '%s'", L->e->path);
    if (ini_rc != 0) {
        /* inih's own syntax errors: a line that is neither a section, a
         * comment nor key = value. inih stops at once, so it is the line
         * last handed over (inih's own count would miss continuations). */
        char quoted[96];
        cs_exp_quote_line(L->e->config_text, L->line, quoted, sizeof quoted);
        return cs_error_set(CS_EINVAL, "%s:%d: expected '[section]' or 'key = value', got '%s'",
                            L->e->path, L->line, cs_exp_trim(quoted));
    }
    return CS_OK;
}

int cs_experiment_load(cs_experiment **out, const char *path)
{
    *out = NULL;
    cs_experiment *e = cs_calloc(1, sizeof *e);
    if (!e)
        return CS_ENOMEM;
    int rc = CS_ENOMEM;
    e->path = cs_exp_strdup(path);
    e->base_name = e->path ? cs_exp_base_name(path) : NULL;
    if (!e->base_name)
        goto fail;
    rc = cs_exp_read_file(path, &e->config_text, &e->config_len);
    if (rc != CS_OK)
        goto fail;
    const char *nul = memchr(e->config_text, '\0', e->config_len);
    if (nul) {
        int line = 1;
        for (const char *c = e->config_text; c < nul; c++)
            line += *c == '\n';
        rc = cs_error_set(CS_EINVAL, "%s:%d: unexpected NUL byte (not a text file?)", path,
                          line);
        goto fail;
    }
    cs_exp_loader L = {e, e->config_text, e->config_text + e->config_len, 0, 0, CS_OK};
    rc = cs_exp_parse_text(&L);
    if (rc != CS_OK)
        goto fail;
    /* A whole-file mistake: an empty file (or one of comments and section
     * headers only) is more likely a wrong or truncated file than a wish
     * for every default. */
    if (e->next_order == 0) {
        rc = cs_error_set(CS_EINVAL,
                          "%s: the file sets no key (an experiment file has lines 'key = "
                          "value' under [section] headers; covshift run --help lists them)",
                          path);
        goto fail;
    }
    *out = e;
    return CS_OK;
fail:
    cs_experiment_free(e);
    return rc;
}

/* ---- --set ---- */

int cs_experiment_set(cs_experiment *e, const char *assignment)
{
    /* The assignment becomes a comment line of the config text, so a line
     * break would let it inject lines into the stored file. */
    if (strpbrk(assignment, "\r\n"))
        return cs_error_set(CS_EINVAL, "--set: the assignment contains a line break");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return cs_error_set(CS_EINVAL, "--set '%s': expected key=value (e.g. --set depth=10,20)",
                            assignment);
    char key_text[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key_text)
        return cs_error_set(CS_EINVAL, "--set %s: unknown key", assignment);
    memcpy(key_text, assignment, klen);
    key_text[klen] = '\0';
    char *key = cs_exp_trim(key_text);
    const char *section = NULL;
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        section = cs_exp_trim(key);
        key = cs_exp_trim(dot + 1);
    }
    if (!*key)
        return cs_error_set(CS_EINVAL, "--set %s: expected key=value, the key is empty",
                            assignment);
    int k = cs_exp_find_key(key);
    if (k < 0) {
        const char *near = cs_exp_nearest_key(key);
        if (near)
            return cs_error_set(CS_EINVAL, "--set %s: unknown key '%s' (did you mean '%s'?)",
                                assignment, key, near);
        return cs_error_set(CS_EINVAL, "--set %s: unknown key '%s' (see covshift run --help)",
                            assignment, key);
    }
    if (section && strcmp(section, cs_keys[k].section) != 0)
        return cs_error_set(CS_EINVAL, "--set %s: key '%s' belongs in section [%s], not [%s]",
                            assignment, key, cs_keys[k].section, section);

    char *value = cs_exp_strdup(eq + 1);
    if (!value)
        return CS_ENOMEM;
    cs_exp_entry parsed;
    int rc = cs_exp_parse_value((cs_key_id)k, cs_exp_trim(value), &parsed);
    cs_free(value);
    if (rc != CS_OK)
        return rc == CS_EINVAL ? cs_error_prefix(rc, "--set %s", assignment) : rc;
    parsed.set = cs_exp_strdup(assignment);
    /* "\n; --set " + assignment + "\n" + NUL */
    size_t add = strlen(assignment) + 12;
    char *text = parsed.set ? cs_realloc(e->config_text, e->config_len + add) : NULL;
    if (!text) {
        cs_exp_entry_clear(&parsed);
        return CS_ENOMEM;
    }
    e->config_text = text;
    if (e->config_len > 0 && text[e->config_len - 1] != '\n')
        text[e->config_len++] = '\n';
    e->config_len += (size_t)sprintf(text + e->config_len, "; --set %s\n", assignment);

    cs_exp_entry *entry = &e->entries[k];
    parsed.line = entry->line;
    parsed.order = entry->order ? entry->order : ++e->next_order;
    cs_exp_entry_clear(entry);
    *entry = parsed;
    return CS_OK;
}

/* ---- expansion ---- */

static void cs_exp_apply(cs_run_params *p, cs_key_id k, const cs_exp_value *v)
{
    switch (k) {
    case CS_K_DEPTH: p->depth = (int)v->i; break;
    case CS_K_WIDTH: p->width = (int)v->i; break;
    case CS_K_INPUT_DIM: p->input_dim = (int)v->i; break;
    case CS_K_ACTIVATION: p->activation = (cs_activation)v->e; break;
    case CS_K_INIT: p->init = (cs_init_kind)v->e; break;
    case CS_K_SIGMA_W: p->sigma_w = v->d; break;
    case CS_K_SIGMA_B: p->sigma_b = v->d; break;
    case CS_K_NORM: p->norm = (cs_norm_kind)v->e; break;
    case CS_K_BN_PHASE_B: p->bn_phase_b = (cs_bn_phase)v->e; break;
    case CS_K_MOMENTUM: p->momentum = v->d; break;
    case CS_K_EPS: p->eps = v->d; break;
    case CS_K_INPUT: p->input = (cs_input_kind)v->e; break;
    case CS_K_SHIFT_MEAN: p->shift_mean = v->d; break;
    case CS_K_SHIFT_SCALE: p->shift_scale = v->d; break;
    case CS_K_BATCH: p->batch = (int)v->i; break;
    case CS_K_STEPS_A: p->steps_a = (int)v->i; break;
    case CS_K_STEPS_B: p->steps_b = (int)v->i; break;
    case CS_K_SEED: p->seed = v->u; break;
    case CS_K_BINS: p->bins = (int)v->i; break;
    case CS_K_DROPOUT: p->dropout = v->d; break;
    case CS_K_MIXTURE_K: p->mixture_k = (int)v->i; break;
    case CS_K_MIXTURE_SEP: p->mixture_sep = v->d; break;
    case CS_K_SHUFFLE: p->shuffle = v->e; break;
    case CS_K_GRAD: p->grad = v->e; break;
    case CS_K_NOISE_PROBES: p->noise_probes = (int)v->i; break;
    case CS_K_NOISE_BATCHES: p->noise_batches = (int)v->i; break;
    case CS_K_POPULATION: p->population = (int)v->i; break;
    default: break;
    }
}

/* The default of key k as text (for --help). */
static void cs_exp_default_text(cs_key_id k, char *buf, size_t size)
{
    cs_run_params p;
    cs_params_default(&p);
    switch (k) {
    case CS_K_NAME: snprintf(buf, size, "the file name without .ini"); return;
    case CS_K_DESCRIPTION: snprintf(buf, size, "empty"); return;
    case CS_K_DEPTH: snprintf(buf, size, "%d", p.depth); return;
    case CS_K_WIDTH: snprintf(buf, size, "%d", p.width); return;
    case CS_K_INPUT_DIM: snprintf(buf, size, "%d", p.input_dim); return;
    case CS_K_ACTIVATION: snprintf(buf, size, "%s", cs_activation_name(p.activation)); return;
    case CS_K_INIT: snprintf(buf, size, "%s", cs_init_name(p.init)); return;
    case CS_K_SIGMA_W: snprintf(buf, size, "%g", p.sigma_w); return;
    case CS_K_SIGMA_B: snprintf(buf, size, "%g", p.sigma_b); return;
    case CS_K_NORM: snprintf(buf, size, "%s", cs_norm_name(p.norm)); return;
    case CS_K_BN_PHASE_B: snprintf(buf, size, "%s", cs_bn_phase_name(p.bn_phase_b)); return;
    case CS_K_MOMENTUM: snprintf(buf, size, "%g", p.momentum); return;
    case CS_K_EPS: snprintf(buf, size, "%g", p.eps); return;
    case CS_K_INPUT: snprintf(buf, size, "%s", cs_input_name(p.input)); return;
    case CS_K_SHIFT_MEAN: snprintf(buf, size, "%g", p.shift_mean); return;
    case CS_K_SHIFT_SCALE: snprintf(buf, size, "%g", p.shift_scale); return;
    case CS_K_BATCH: snprintf(buf, size, "%d", p.batch); return;
    case CS_K_STEPS_A: snprintf(buf, size, "%d", p.steps_a); return;
    case CS_K_STEPS_B: snprintf(buf, size, "%d", p.steps_b); return;
    case CS_K_SEED: snprintf(buf, size, "%" PRIu64, p.seed); return;
    case CS_K_BINS: snprintf(buf, size, "%d", p.bins); return;
    case CS_K_DROPOUT: snprintf(buf, size, "%g", p.dropout); return;
    case CS_K_MIXTURE_K: snprintf(buf, size, "%d", p.mixture_k); return;
    case CS_K_MIXTURE_SEP: snprintf(buf, size, "%g", p.mixture_sep); return;
    case CS_K_SHUFFLE: snprintf(buf, size, "%s", p.shuffle ? "true" : "false"); return;
    case CS_K_GRAD: snprintf(buf, size, "%s", p.grad ? "true" : "false"); return;
    case CS_K_NOISE_PROBES: snprintf(buf, size, "%d", p.noise_probes); return;
    case CS_K_NOISE_BATCHES: snprintf(buf, size, "%d", p.noise_batches); return;
    case CS_K_POPULATION: snprintf(buf, size, "%d", p.population); return;
    default: snprintf(buf, size, "?"); return;
    }
}

/* True when word occurs in text as a whole identifier ([A-Za-z0-9_]). */
static bool cs_exp_mentions(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (left && right)
            return true;
    }
    return false;
}

/* Where the keys marked in involved were set: "x.ini:12,20" (the lines of
 * those the file gave, in order) into where, and "--set a=1, --set b=2"
 * (those a --set gave last) into sets. */
static void cs_exp_where(const cs_experiment *e, const bool involved[CS_K_COUNT], char *where,
                         size_t where_size, char *sets, size_t sets_size)
{
    int lines[CS_K_COUNT], nlines = 0;
    sets[0] = '\0';
    for (int k = 0; k < CS_K_COUNT; k++) {
        const cs_exp_entry *entry = &e->entries[k];
        if (!entry->order || !involved[k])
            continue;
        if (entry->set) {
            size_t used = strlen(sets);
            snprintf(sets + used, sets_size - used, "%s--set %s", used ? ", " : "", entry->set);
        } else {
            int i = nlines++;
            for (; i > 0 && lines[i - 1] > entry->line; i--)
                lines[i] = lines[i - 1];
            lines[i] = entry->line;
        }
    }
    size_t used = (size_t)snprintf(where, where_size, "%s", e->path);
    for (int i = 0; i < nlines && used < where_size; i++)
        used += (size_t)snprintf(where + used, where_size - used, "%s%d", i ? "," : ":", lines[i]);
}

/* A cross-field error from cs_params_validate or cs_sim_check, prefixed
 * with where the keys it names were set: "x.ini:14,18: key 'batch': ...",
 * with "--set ..." for keys a --set gave. A rule's message names the keys
 * involved ("norm = batch needs batch >= 2"); a size's message says which
 * keys to reduce ("...: reduce batch, width or steps_a"), and then only
 * those count, not words of its description. */
static int cs_exp_locate_error(const cs_experiment *e, int code)
{
    char msg[CS_ERROR_MAX];
    snprintf(msg, sizeof msg, "%s", cs_error_message());
    const char *reduce = strstr(msg, "reduce ");
    const char *named = reduce ? reduce + strlen("reduce ") : msg;
    bool involved[CS_K_COUNT];
    for (int k = 0; k < CS_K_COUNT; k++)
        involved[k] = cs_exp_mentions(named, cs_keys[k].name);
    char where[1024], sets[512];
    cs_exp_where(e, involved, where, sizeof where, sets, sizeof sets);
    if (*sets)
        return cs_error_prefix(code, "%s: %s", where, sets);
    return cs_error_prefix(code, "%s", where);
}

/* The sweep is over CS_EXP_MAX_RUNS runs: names each list, its length and
 * where it was given. */
static int cs_exp_sweep_too_large(const cs_experiment *e, const cs_key_id *axes, size_t naxes)
{
    char axes_text[512] = "";
    bool involved[CS_K_COUNT] = {false};
    for (size_t b = 0, used = 0; b < naxes && used < sizeof axes_text; b++) {
        const cs_exp_entry *entry = &e->entries[axes[b]];
        if (entry->count <= 1)
            continue;
        involved[axes[b]] = true;
        used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, "%s%s %zu",
                                 used ? " x " : "", cs_keys[axes[b]].name, entry->count);
        if (used < sizeof axes_text && entry->set)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used,
                                     " (--set %s)", entry->set);
        else if (used < sizeof axes_text)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, " (line %d)",
                                     entry->line);
    }
    char where[1024], sets[512];
    cs_exp_where(e, involved, where, sizeof where, sets, sizeof sets);
    return cs_error_set(CS_EINVAL, "%s: the sweep has more than %d runs: %s", where,
                        CS_EXP_MAX_RUNS, axes_text);
}

typedef struct {
    char key[17];
    size_t index;
} cs_exp_keyed;

static int cs_exp_keyed_cmp(const void *a, const void *b)
{
    const cs_exp_keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Drops every run whose run_key an earlier run already has, keeping the
 * order of the first occurrences. O(n log n): sweeps can be large. */
static int cs_exp_dedupe(cs_run_params *runs, size_t *nruns)
{
    size_t n = *nruns;
    cs_exp_keyed *keyed = cs_malloc_n(sizeof *keyed, n);
    unsigned char *drop = keyed ? cs_calloc(n, 1) : NULL;
    if (!drop) {
        cs_free(keyed);
        return CS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        cs_params_run_key(&runs[i], keyed[i].key);
        keyed[i].index = i;
    }
    qsort(keyed, n, sizeof *keyed, cs_exp_keyed_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(keyed[i].key, keyed[i - 1].key) == 0)
            drop[keyed[i].index] = 1;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop[i])
            runs[kept++] = runs[i];
    *nruns = kept;
    cs_free(drop);
    cs_free(keyed);
    return CS_OK;
}

/* The parameters that size a run's arrays: runs that agree on them (a
 * sweep over seeds, activations, shifts) need one cs_sim_check. */
typedef struct {
    int depth, width, input_dim, batch, steps_a, steps_b, bins, grad, noise_probes,
        noise_batches, mixture_k, population, mixture, gap;
} cs_exp_shape;

static cs_exp_shape cs_exp_shape_of(const cs_run_params *p)
{
    cs_exp_shape s;
    memset(&s, 0, sizeof s); /* padding too: compared with memcmp */
    s.depth = p->depth;
    s.width = p->width;
    s.input_dim = p->input_dim;
    s.batch = p->batch;
    s.steps_a = p->steps_a;
    s.steps_b = p->steps_b;
    s.bins = p->bins;
    s.grad = p->grad;
    s.noise_probes = p->noise_probes;
    s.noise_batches = p->noise_batches;
    s.mixture_k = p->mixture_k;
    s.population = p->population;
    s.mixture = p->input == CS_INPUT_MIXTURE;
    s.gap = cs_result_has_gap(p);
    return s;
}

/* A name the file's base name gives the experiment must do as a file name
 * (results/<name>.db) and as text in a database: not empty, no control
 * characters, not "." or ".." or a hidden file. */
static bool cs_exp_base_name_ok(const char *s)
{
    if (!*s || s[0] == '.')
        return false;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

int cs_experiment_expand(const cs_experiment *e, cs_run_params **runs, size_t *nruns)
{
    *runs = NULL;
    *nruns = 0;
    if (!e->entries[CS_K_NAME].text && !cs_exp_base_name_ok(e->base_name))
        return cs_error_set(CS_EINVAL,
                            "%s: without a name key the experiment is named after the file, "
                            "'%s', which cannot name its database (results/<name>.db); set "
                            "name in [experiment] (%s)",
                            e->path, e->base_name, cs_keys[CS_K_NAME].expected);
    /* The axes in expansion order: file order of the keys, then keys that
     * only a --set gave, in --set order. The last axis varies fastest. */
    cs_key_id axes[CS_K_COUNT];
    size_t naxes = 0;
    for (int order = 1; order <= e->next_order; order++)
        for (int k = 0; k < CS_K_COUNT; k++)
            if (e->entries[k].order == order && cs_keys[k].type != CS_KEY_TEXT)
                axes[naxes++] = (cs_key_id)k;

    size_t total = 1;
    for (size_t a = 0; a < naxes; a++) {
        size_t count = e->entries[axes[a]].count;
        if (count > CS_EXP_MAX_RUNS / total)
            return cs_exp_sweep_too_large(e, axes, naxes);
        total *= count;
    }

    cs_run_params base;
    cs_params_default(&base);
    cs_run_params *out = cs_malloc_n(sizeof *out, total);
    if (!out)
        return CS_ENOMEM;
    size_t digit[CS_K_COUNT] = {0};
    cs_exp_shape checked = {0};
    int have_checked = 0;
    for (size_t r = 0; r < total; r++) {
        cs_run_params p = base;
        for (size_t a = 0; a < naxes; a++)
            cs_exp_apply(&p, axes[a], &e->entries[axes[a]].values[digit[a]]);
        /* DESIGN §1: bn_phase_b has no meaning without batch norm; fix it so
         * the runs that differ only in it share a run_key (deduped below). */
        if (p.norm == CS_NORM_NONE)
            p.bn_phase_b = CS_PHASE_B_BATCH;
        /* Likewise the mixture's keys without input = mixture, and the
         * running-statistics gap without batch norm (issue 6). */
        if (p.input != CS_INPUT_MIXTURE) {
            p.mixture_k = base.mixture_k;
            p.mixture_sep = base.mixture_sep;
            p.shuffle = base.shuffle;
        }
        if (p.norm == CS_NORM_NONE)
            p.population = 0;
        if (p.noise_probes == 0)
            p.noise_batches = base.noise_batches;
        int rc = cs_params_validate(&p);
        /* The memory of the run (its products across keys), once per shape. */
        cs_exp_shape shape = cs_exp_shape_of(&p);
        if (rc == CS_OK && (!have_checked || memcmp(&shape, &checked, sizeof shape) != 0)) {
            rc = cs_sim_check(&p, NULL);
            checked = shape;
            have_checked = 1;
        }
        if (rc != CS_OK) {
            cs_free(out);
            return cs_exp_locate_error(e, rc);
        }
        out[r] = p;
        for (size_t a = naxes; a-- > 0;) {
            if (++digit[a] < e->entries[axes[a]].count)
                break;
            digit[a] = 0;
        }
    }
    int rc = cs_exp_dedupe(out, &total);
    if (rc != CS_OK) {
        cs_free(out);
        return rc;
    }
    *runs = out;
    *nruns = total;
    return CS_OK;
}

/* ---- accessors, --help, free ---- */

const char *cs_experiment_name(const cs_experiment *e)
{
    const cs_exp_entry *name = &e->entries[CS_K_NAME];
    return name->text ? name->text : e->base_name;
}

const char *cs_experiment_config_text(const cs_experiment *e) { return e->config_text; }

void cs_experiment_print_keys(FILE *out)
{
    const char *section = "";
    for (int k = 0; k < CS_K_COUNT; k++) {
        const cs_key_desc *d = &cs_keys[k];
        if (strcmp(d->section, section) != 0) {
            section = d->section;
            fprintf(out, "%s[%s]\n", k ? "\n" : "", section);
        }
        char def[64], expected[64];
        cs_exp_default_text((cs_key_id)k, def, sizeof def);
        fprintf(out, "  %-13s %s\n  %-13s %s; default: %s\n", d->name, d->help, "",
                cs_exp_expected((cs_key_id)k, expected, sizeof expected), def);
    }
    fputs("\nAny value except name and description may be a list (a, b, c); integer keys\n"
          "also take ranges a..b (inclusive), alone or as list items. The runs are the\n"
          "cartesian product of the lists, in the order the keys appear in the file (keys\n"
          "only given by --set come after), the last key varying fastest. bn_phase_b is\n"
          "dropped for norm = none (and population with it), mixture_k, mixture_sep and\n"
          "shuffle unless input = mixture; runs with equal run_keys are kept once.\n"
          "Comments start with ; or # at the start of a line or after a space.\n"
          "A line may be up to 65535 characters long; a line ending in \\ continues on\n"
          "the next (for long lists; messages name the line the key starts on). CRLF\n"
          "line ends are accepted. A sweep has at most 1000000 runs, and one run may\n"
          "need at most 1 TB of memory (checked before anything runs).\n",
          out);
}

void cs_experiment_free(cs_experiment *e)
{
    if (!e)
        return;
    for (int k = 0; k < CS_K_COUNT; k++)
        cs_exp_entry_clear(&e->entries[k]);
    cs_free(e->config_text);
    cs_free(e->base_name);
    cs_free(e->path);
    cs_free(e);
}
