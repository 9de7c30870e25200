/* Expanding an experiment into runs (see cs_expand.h). */
#include "cs_expand.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_sim.h"

/* True when word occurs in text as a whole identifier ([A-Za-z0-9_]). */
static bool cs_expand_mentions(const char *text, const char *word)
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

/* Where the keys marked in involved were given: "x.ini:12,20" (the lines
 * of those the file gave, in order) into where, and "--set a=1, --set b=2"
 * (those a --set gave last) into sets. */
static void cs_expand_where(const cs_experiment *e, const bool *involved, char *where,
                            size_t where_size, char *sets, size_t sets_size)
{
    int lines[CS_EXPERIMENT_MAX_KEYS], nlines = 0;
    sets[0] = '\0';
    for (size_t k = 0; k < cs_experiment_nkeys() && k < CS_EXPERIMENT_MAX_KEYS; k++) {
        const cs_experiment_entry *entry = cs_experiment_entry_of(e, (int)k);
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
    size_t used = (size_t)snprintf(where, where_size, "%s", cs_experiment_path(e));
    for (int i = 0; i < nlines && used < where_size; i++)
        used += (size_t)snprintf(where + used, where_size - used, "%s%d", i ? "," : ":", lines[i]);
}

/* A cross-field error from cs_params_validate or cs_sim_check, prefixed
 * with where the keys it names were given: "x.ini:14,18: key 'batch':
 * ...", with "--set ..." for keys a --set gave. A rule's message names the
 * keys involved ("norm = batch needs batch >= 2"); a size's message says
 * which keys to reduce ("...: reduce batch, width or steps_a"), and then
 * only those count, not words of its description. */
static int cs_expand_locate_error(const cs_experiment *e, int code)
{
    char msg[CS_ERROR_MAX];
    snprintf(msg, sizeof msg, "%s", cs_error_message());
    const char *reduce = strstr(msg, "reduce ");
    const char *named = reduce ? reduce + strlen("reduce ") : msg;
    bool involved[CS_EXPERIMENT_MAX_KEYS] = {false};
    for (size_t k = 0; k < cs_experiment_nkeys() && k < CS_EXPERIMENT_MAX_KEYS; k++)
        involved[k] = cs_expand_mentions(named, cs_experiment_key_name((int)k));
    char where[1024], sets[512];
    cs_expand_where(e, involved, where, sizeof where, sets, sizeof sets);
    if (*sets)
        return cs_error_prefix(code, "%s: %s", where, sets);
    return cs_error_prefix(code, "%s", where);
}

/* The sweep is over CS_AXIS_MAX runs: names each list, its length and
 * where it was given. */
static int cs_expand_too_large(const cs_experiment *e, const int *axes, size_t naxes)
{
    char axes_text[512] = "";
    bool involved[CS_EXPERIMENT_MAX_KEYS] = {false};
    for (size_t b = 0, used = 0; b < naxes && used < sizeof axes_text; b++) {
        const cs_experiment_entry *entry = cs_experiment_entry_of(e, axes[b]);
        if (entry->axis.count <= 1)
            continue;
        involved[axes[b]] = true;
        used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, "%s%s %zu",
                                 used ? " x " : "", cs_experiment_key_name(axes[b]),
                                 entry->axis.count);
        if (used < sizeof axes_text && entry->set)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used,
                                     " (--set %s)", entry->set);
        else if (used < sizeof axes_text)
            used += (size_t)snprintf(axes_text + used, sizeof axes_text - used, " (line %d)",
                                     entry->line);
    }
    char where[1024], sets[512];
    cs_expand_where(e, involved, where, sizeof where, sets, sizeof sets);
    return cs_error_set(CS_EINVAL, "%s: the sweep has more than %d runs: %s", where,
                        CS_AXIS_MAX, axes_text);
}

typedef struct {
    char key[17];
    size_t index;
} cs_expand_keyed;

static int cs_expand_keyed_cmp(const void *a, const void *b)
{
    const cs_expand_keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Drops every run whose run_key an earlier run already has, keeping the
 * order of the first occurrences. O(n log n): sweeps can be large. */
static int cs_expand_dedupe(cs_run_params *runs, size_t *nruns)
{
    size_t n = *nruns;
    cs_expand_keyed *keyed = cs_malloc_n(sizeof *keyed, n);
    unsigned char *drop = keyed ? cs_calloc(n, 1) : NULL;
    if (!drop) {
        cs_free(keyed);
        return CS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        cs_params_run_key(&runs[i], keyed[i].key);
        keyed[i].index = i;
    }
    qsort(keyed, n, sizeof *keyed, cs_expand_keyed_cmp);
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
    /* a training run's (docs/design.md §7) */
    int train, task, criterion, norm, affine, train_steps, eval_every, eval_size, train_size,
        outputs, teacher_depth, teacher_width, probe_layer;
} cs_expand_shape;

static cs_expand_shape cs_expand_shape_of(const cs_run_params *p)
{
    cs_expand_shape s;
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
    if (p->train) {
        s.train = 1;
        s.task = (int)p->task;
        s.criterion = (int)p->criterion;
        s.norm = (int)p->norm;
        s.affine = p->affine;
        s.train_steps = p->train_steps;
        s.eval_every = p->eval_every;
        s.eval_size = p->eval_size;
        s.train_size = p->train_size;
        s.outputs = p->outputs;
        s.teacher_depth = p->teacher_depth;
        s.teacher_width = p->teacher_width;
        s.probe_layer = p->probe_layer;
    }
    return s;
}

/* A name the file's base name gives the experiment must do as a file name
 * (results/<name>.db) and as text in a database: not empty, no control
 * characters, not "." or ".." or a hidden file. */
static bool cs_expand_base_name_ok(const char *s)
{
    if (!*s || s[0] == '.')
        return false;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* docs/design.md §1: a parameter without meaning for the run (bn_phase_b
 * without batch norm, the mixture's keys without input = mixture, ...) is
 * its default, so that runs differing only in it share a run_key. The
 * rules depend only on parameters that always have meaning. */
static void cs_expand_reset_meaningless(cs_run_params *p)
{
    for (size_t k = 0; k < cs_param_count; k++)
        if (!cs_param_applies(&cs_param_table[k], p))
            cs_param_set(&cs_param_table[k], p, cs_param_table[k].def);
}

int cs_expand_runs(const cs_experiment *e, cs_run_params **runs, size_t *nruns)
{
    *runs = NULL;
    *nruns = 0;
    if (!cs_experiment_entry_of(e, CS_KEY_NAME)->text &&
        !cs_expand_base_name_ok(cs_experiment_base_name(e)))
        return cs_error_set(CS_EINVAL,
                            "%s: without a name key the experiment is named after the file, "
                            "'%s', which cannot name its database (results/<name>.db); set "
                            "name in [experiment] (%s)",
                            cs_experiment_path(e), cs_experiment_base_name(e),
                            cs_experiment_text_expected(CS_KEY_NAME));
    /* The axes in expansion order: the parameters given, by their order. */
    int axes[CS_EXPERIMENT_MAX_KEYS];
    size_t naxes = 0, nkeys = cs_experiment_nkeys();
    for (int order = 1; order <= cs_experiment_last_order(e); order++)
        for (size_t k = CS_KEY_PARAMS; k < nkeys && k < CS_EXPERIMENT_MAX_KEYS; k++)
            if (cs_experiment_entry_of(e, (int)k)->order == order)
                axes[naxes++] = (int)k;

    size_t total = 1;
    for (size_t a = 0; a < naxes; a++) {
        size_t count = cs_experiment_entry_of(e, axes[a])->axis.count;
        if (count > CS_AXIS_MAX / total)
            return cs_expand_too_large(e, axes, naxes);
        total *= count;
    }

    cs_run_params base;
    cs_params_default(&base);
    cs_run_params *out = cs_malloc_n(sizeof *out, total);
    if (!out)
        return CS_ENOMEM;
    size_t digit[CS_EXPERIMENT_MAX_KEYS] = {0};
    cs_expand_shape checked = {0};
    int have_checked = 0;
    for (size_t r = 0; r < total; r++) {
        cs_run_params p = base;
        for (size_t a = 0; a < naxes; a++)
            cs_param_set(cs_experiment_key_param(axes[a]), &p,
                         cs_experiment_entry_of(e, axes[a])->axis.values[digit[a]]);
        cs_expand_reset_meaningless(&p);
        int rc = cs_params_validate(&p);
        /* The memory of the run (its products across keys), once per shape. */
        cs_expand_shape shape = cs_expand_shape_of(&p);
        if (rc == CS_OK && (!have_checked || memcmp(&shape, &checked, sizeof shape) != 0)) {
            rc = cs_sim_check(&p, NULL);
            checked = shape;
            have_checked = 1;
        }
        if (rc != CS_OK) {
            cs_free(out);
            return cs_expand_locate_error(e, rc);
        }
        out[r] = p;
        for (size_t a = naxes; a-- > 0;) {
            if (++digit[a] < cs_experiment_entry_of(e, axes[a])->axis.count)
                break;
            digit[a] = 0;
        }
    }
    int rc = cs_expand_dedupe(out, &total);
    if (rc != CS_OK) {
        cs_free(out);
        return rc;
    }
    *runs = out;
    *nruns = total;
    return CS_OK;
}
