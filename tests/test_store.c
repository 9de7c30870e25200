/* The results store and the result buffer (DESIGN §3): slot numbering,
 * allocation failure at every call, a synthetic run written and read back
 * with SQL (row counts, values, NaN as NULL, views), resume semantics,
 * atomicity under an injected mid-write failure, concurrent writers, open
 * errors, provenance, the example queries in scripts/queries. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_result.h"
#include "cs_store.h"

/* ---- helpers ---- */

typedef struct {
    char *dir;
    char path[4200]; /* dir/results.db */
    cs_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = cs_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/results.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cs_store_close(f->store);
    cs_test_rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void assert_ok(int rc, const char *what)
{
    if (rc != CS_OK)
        fail_msg("%s: %s (code %d): %s", what, cs_error_name(rc), rc, cs_error_message());
}

static void assert_contains(const char *text, const char *want, const char *context)
{
    if (!text || !strstr(text, want))
        fail_msg("%s: expected '%s' in:\n%s", context, want, text ? text : "(null)");
}

static sqlite3_stmt *query(sqlite3 *db, const char *fmt, va_list ap)
{
    char sql[4096];
    vsnprintf(sql, sizeof sql, fmt, ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) != SQLITE_ROW)
        fail_msg("no row from '%s': %s", sql, sqlite3_errmsg(db));
    return st;
}

/* The first column of the first row of a printf-style query. */
static long long q_int(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long q_int(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* As q_int; NaN stands for SQL NULL. */
static double q_double(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static double q_double(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* malloc'd text of the first column ("" for NULL). */
static char *q_text(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *q_text(sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = query(db, fmt, ap);
    va_end(ap);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return out;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("SQL error in '%s': %s", sql, err);
}

/* Depth 2, steps 3 + 2, bins 4: 7 slots, small enough to check by hand. */
static cs_run_params small_params(uint64_t seed)
{
    cs_run_params p;
    cs_params_default(&p);
    p.seed = seed;
    p.depth = 2;
    p.width = 4;
    p.input_dim = 4;
    p.batch = 2;
    p.steps_a = 3;
    p.steps_b = 2;
    p.bins = 4;
    return p;
}

/* The value synthetic_result puts in layer_stats.mean for (step, slot). */
static double synthetic_mean(int step, size_t slot)
{
    return step * 1000.0 + (double)slot + 0.5;
}

/* A result whose every value encodes where it is, so a row in the wrong
 * place shows. Step 1, slot 2 is a diverged batch (NaN moments,
 * nonfinite 7); frac_saturated is NaN except at site post, as cs_stats
 * leaves it; w1 of slot 0 is NaN. */
static cs_result *synthetic_result(const cs_run_params *p)
{
    cs_result *r = cs_result_alloc(p);
    assert_non_null(r);
    for (int step = 0; step < r->steps; step++) {
        for (size_t slot = 0; slot < r->nslots; slot++) {
            int layer;
            cs_site site;
            cs_result_slot_decode(slot, &layer, &site);
            cs_stats *s = &r->stats[(size_t)step * r->nslots + slot];
            s->mean = synthetic_mean(step, slot);
            s->var = 2.0 * s->mean;
            s->mean_spread = 0.25 * (double)slot;
            s->var_within = 0.5 * (double)slot;
            s->min = -1.0 - (double)slot;
            s->max = 1.0 + (double)slot;
            for (int q = 0; q < CS_STATS_NQ; q++)
                s->q[q] = s->mean + q;
            s->frac_zero = 0.125;
            s->frac_saturated = site == CS_SITE_POST ? 0.5 : NAN;
            s->nonfinite = 0;
        }
    }
    cs_stats *diverged = &r->stats[1 * r->nslots + 2];
    diverged->mean = diverged->var = diverged->mean_spread = diverged->var_within = NAN;
    diverged->min = diverged->max = NAN;
    for (int q = 0; q < CS_STATS_NQ; q++)
        diverged->q[q] = NAN;
    diverged->nonfinite = 7;
    size_t stride = (size_t)r->bins + 2;
    for (size_t slot = 0; slot < r->nslots; slot++) {
        r->hist_lo[slot] = -2.0 - (double)slot;
        r->hist_hi[slot] = 2.0 + (double)slot;
        for (int phase = 0; phase < 2; phase++)
            for (size_t k = 0; k < stride; k++)
                r->hist[((size_t)phase * r->nslots + slot) * stride + k] =
                    (uint64_t)(phase * 100 + (int)slot * 10 + (int)k);
        r->drift[slot].mean_shift = 0.1 * (double)slot;
        r->drift[slot].var_log_ratio = 0.2 * (double)slot;
        r->drift[slot].kl_sym = 0.3 * (double)slot;
        r->drift[slot].w1 = slot == 0 ? NAN : 0.4 * (double)slot;
    }
    r->wall_s = 1.25;
    return r;
}
