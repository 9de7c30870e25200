/* --dry-run (see cs_dryrun.h): the runs as a table of the keys that vary,
 * with what each costs in memory and database rows and whether it is
 * done already. */
#include "cs_dryrun.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_param.h"
#include "cs_sim.h"
#include "cs_store.h"
#include "cs_text.h"

/* A key's value in run p as the table shows it: "-" where it has no
 * meaning (docs/design.md §1). */
static void cs_dryrun_value(const cs_param *param, const cs_run_params *p, char *buf, size_t size)
{
    if (!cs_param_applies(param, p))
        snprintf(buf, size, "-");
    else
        cs_param_format(param, cs_param_get(param, p), CS_FORMAT_HELP, buf, size);
}

/* Whether param differs between a and b where it has meaning in both: a
 * key with one value wherever it has meaning does not vary (the key that
 * gives it meaning does), as cs_varying counts it in a database. */
static int cs_dryrun_differ(const cs_param *param, const cs_run_params *a, const cs_run_params *b)
{
    return cs_param_applies(param, a) && cs_param_applies(param, b) &&
           !cs_param_equal(param, cs_param_get(param, a), cs_param_get(param, b));
}

/* The columns of the table: the run parameters that some run's canonical
 * text holds and that differ between runs, in the order of the sweep's
 * axes (the file's order, then --set's; the last varies fastest), so the
 * table reads like the nested loops it is. */
static size_t cs_dryrun_columns(const cs_experiment *e, const cs_run_params *runs, size_t n,
                                int *used, const cs_param **cols)
{
    int varies[CS_PARAM_MAX] = {0}, order[CS_PARAM_MAX];
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        used[k] = 0;
        /* compared with the first run where it has meaning */
        const cs_run_params *first = NULL;
        for (size_t i = 0; i < n && !(used[k] && varies[k]); i++) {
            used[k] |= cs_param_in_canonical(param, &runs[i]);
            if (!cs_param_applies(param, &runs[i]))
                continue;
            if (!first)
                first = &runs[i];
            varies[k] |= cs_dryrun_differ(param, first, &runs[i]);
        }
        const cs_experiment_entry *entry = cs_experiment_entry_of(e, CS_KEY_PARAMS + (int)k);
        order[k] = entry && entry->order > 0 ? entry->order : CS_PARAM_MAX + (int)k;
    }
    size_t ncols = 0;
    for (size_t k = 0; k < cs_param_count; k++)
        if (used[k] && varies[k]) {
            size_t at = ncols++;
            while (at > 0 && order[cols[at - 1] - cs_param_table] > order[k]) {
                cols[at] = cols[at - 1];
                at--;
            }
            cols[at] = &cs_param_table[k];
        }
    for (size_t c = 0; c < ncols; c++)
        used[cols[c] - cs_param_table] = 0; /* shown as a column, not as fixed */
    return ncols;
}

/* "fixed: depth 30, width 256, ...": each key the runs hold with one value
 * where it has meaning (none that has no meaning for any run), wrapped at
 * 100 columns. */
static void cs_dryrun_fixed(const cs_run_params *runs, size_t n, const int *fixed, FILE *out)
{
    int column = 0;
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        const cs_run_params *p = NULL;
        for (size_t i = 0; i < n && !p && fixed[k]; i++)
            if (cs_param_applies(param, &runs[i]))
                p = &runs[i];
        if (!p)
            continue;
        char value[64];
        cs_dryrun_value(param, p, value, sizeof value);
        int width = (int)(strlen(param->name) + 1 + strlen(value));
        if (column == 0)
            column = fprintf(out, "fixed: %s %s", param->name, value);
        else if (column + 2 + width > 100)
            column = fprintf(out, ",\n       %s %s", param->name, value) - 2;
        else
            column += fprintf(out, ", %s %s", param->name, value);
    }
    if (column)
        fputc('\n', out);
}

/* The tables a run writes, as columns; the claim tables only when some
 * run writes them. */
enum { CS_DRY_STATS, CS_DRY_HIST, CS_DRY_DRIFT, CS_DRY_GRAD, CS_DRY_NOISE, CS_DRY_GAP, CS_DRY_TRAIN,
       CS_DRY_NTABLES };
static const char *const cs_dryrun_tables[CS_DRY_NTABLES] = {
    "layer_stats", "histograms", "drift", "grad_stats", "bn_noise", "running_gap", "train_*"};

static void cs_dryrun_rows(const cs_run_params *p, uint64_t *rows)
{
    cs_store_rows r;
    cs_store_rows_of(p, &r);
    rows[CS_DRY_STATS] = r.layer_stats;
    rows[CS_DRY_HIST] = r.histograms;
    rows[CS_DRY_DRIFT] = r.drift;
    rows[CS_DRY_GRAD] = r.grad_stats;
    rows[CS_DRY_NOISE] = r.bn_noise;
    rows[CS_DRY_GAP] = r.running_gap;
    rows[CS_DRY_TRAIN] = r.train;
}

/* Marks done[i] for each run done in db_path (when the file exists). */
static int cs_dryrun_done(const char *name, const cs_run_params *runs, size_t n,
                          const char *db_path, unsigned char *done, int *have_db)
{
    struct stat st;
    *have_db = db_path && stat(db_path, &st) == 0;
    if (!*have_db)
        return CS_OK;
    cs_store *s = NULL;
    int rc = cs_store_open_readonly(&s, db_path);
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        char key[17];
        int is_done = 0;
        cs_params_run_key(&runs[i], key);
        rc = cs_store_run_is_done(s, name, key, &is_done);
        done[i] = (unsigned char)is_done;
    }
    cs_store_close(s);
    return rc;
}

int cs_dryrun_print(const cs_experiment *e, const cs_run_params *runs, size_t n,
                    const char *db_path, FILE *out)
{
    const char *name = cs_experiment_name(e);
    char db_text[CS_TEXT_ESCAPED_SIZE(1024)];
    cs_text_escape(db_text, sizeof db_text, db_path ? db_path : "");
    if (n == 0) {
        fprintf(out, "0 runs in experiment '%s' (database %s)\n", name, db_text);
        return CS_OK;
    }
    unsigned char *done = cs_calloc(n, 1);
    if (!done)
        return CS_ENOMEM;
    int have_db = 0;
    int rc = cs_dryrun_done(name, runs, n, db_path, done, &have_db);
    if (rc != CS_OK) {
        cs_free(done);
        return rc;
    }
    int fixed[CS_PARAM_MAX];
    const cs_param *cols[CS_PARAM_MAX];
    size_t ncols = cs_dryrun_columns(e, runs, n, fixed, cols);

    /* Totals first, for the header: done, and the claim tables' presence. */
    size_t ndone = 0, peak = 0;
    uint64_t rows[CS_DRY_NTABLES], todo[CS_DRY_NTABLES] = {0};
    /* every random-network run writes the first three; a training run none */
    int table_used[CS_DRY_NTABLES] = {0};
    for (size_t i = 0; i < n; i++) {
        ndone += done[i];
        cs_dryrun_rows(&runs[i], rows);
        for (int t = 0; t < CS_DRY_NTABLES; t++) {
            table_used[t] |= rows[t] > 0;
            if (!done[i])
                todo[t] += rows[t];
        }
    }
    if (have_db)
        fprintf(out, "%zu runs in experiment '%s' (database %s: %zu done, %zu to run)\n", n, name,
                db_text, ndone, n - ndone);
    else
        fprintf(out, "%zu runs in experiment '%s' (database %s, not created yet)\n", n, name,
                db_text);
    cs_dryrun_fixed(runs, n, fixed, out);

    /* Widths: the header's or the widest value's. */
    int width[CS_PARAM_MAX];
    for (size_t c = 0; c < ncols; c++) {
        width[c] = (int)strlen(cols[c]->name);
        for (size_t i = 0; i < n; i++) {
            char value[64];
            cs_dryrun_value(cols[c], &runs[i], value, sizeof value);
            if ((int)strlen(value) > width[c])
                width[c] = (int)strlen(value);
        }
    }
    fprintf(out, "%5s", "#");
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, "  %-*s", width[c], cols[c]->name);
    fprintf(out, "  %-16s  %-6s  %9s", "run_key", "status", "memory");
    for (int t = 0; t < CS_DRY_NTABLES; t++)
        if (table_used[t])
            fprintf(out, "  %*s", (int)strlen(cs_dryrun_tables[t]), cs_dryrun_tables[t]);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%5zu", i + 1);
        for (size_t c = 0; c < ncols; c++) {
            char value[64];
            cs_dryrun_value(cols[c], &runs[i], value, sizeof value);
            fprintf(out, "  %-*s", width[c], value);
        }
        char key[17], memory[32];
        size_t bytes = 0;
        cs_params_run_key(&runs[i], key);
        /* the sweep passed cs_sim_check when it was expanded */
        (void)cs_sim_check(&runs[i], &bytes);
        peak = bytes > peak ? bytes : peak;
        cs_alloc_format_bytes(memory, sizeof memory, bytes);
        fprintf(out, "  %-16s  %-6s  %9s", key, done[i] ? "done" : "", memory);
        cs_dryrun_rows(&runs[i], rows);
        for (int t = 0; t < CS_DRY_NTABLES; t++)
            if (table_used[t])
                fprintf(out, "  %*" PRIu64, (int)strlen(cs_dryrun_tables[t]), rows[t]);
        fputc('\n', out);
    }
    char most[32];
    cs_alloc_format_bytes(most, sizeof most, peak);
    fprintf(out, "peak memory of one run: %s (one run at a time per --jobs worker)\n", most);
    fprintf(out, "rows the %zu runs to run write:", n - ndone);
    for (int t = 0, first = 1; t < CS_DRY_NTABLES; t++)
        if (table_used[t]) {
            fprintf(out, "%s %" PRIu64 " %s", first ? "" : ",", todo[t], cs_dryrun_tables[t]);
            first = 0;
        }
    fputc('\n', out);
    cs_free(done);
    if (ferror(out))
        return cs_error_set(CS_EIO, "writing the dry run failed");
    return CS_OK;
}

void cs_dryrun_print_canonical(const cs_experiment *e, const cs_run_params *runs, size_t n,
                               const char *db_path, FILE *out)
{
    char db_text[CS_TEXT_ESCAPED_SIZE(1024)];
    cs_text_escape(db_text, sizeof db_text, db_path ? db_path : "");
    fprintf(out, "%zu runs in experiment '%s' (database %s):\n", n, cs_experiment_name(e),
            db_text);
    for (size_t i = 0; i < n; i++) {
        char key[17], canon[1024];
        cs_params_run_key(&runs[i], key);
        cs_params_canonical(&runs[i], canon, sizeof canon);
        fprintf(out, "%4zu  %s  %s\n", i + 1, key, canon);
    }
}
