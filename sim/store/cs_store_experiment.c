/* The experiments table (docs/design.md §3): one row per experiment file
 * as run, found again by its name and config text, with the provenance of
 * the process that created it. */
#include <inttypes.h>
#include <sqlite3.h>

#include "cs_blas.h"
#include "cs_error.h"
#include "cs_rng.h"
#include "cs_store_conn.h"
#include "cs_version.h"

/* Looks up (name, config_text); *id = 0 when absent. */
static int cs_store_find_experiment(cs_store *s, const char *name, const char *config_text,
                                    int64_t *id)
{
    sqlite3_stmt *st = NULL;
    int rc = cs_store_prepare(s, "SELECT id FROM experiments WHERE name = ?1 AND config_text = ?2",
                              &st, "looking up an experiment");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, name);
    cs_store_bind_text(st, 2, config_text);
    *id = 0;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (step != SQLITE_DONE)
        rc = cs_store_fail(s, "looking up experiment '%s'", name);
    sqlite3_finalize(st);
    return rc;
}

/* Find-or-create of (name, config_text). The lookup comes first so that
 * resuming takes no write lock; UNIQUE(name, config_text) with DO NOTHING
 * makes two processes creating it at once agree on one row. */
int cs_store_experiment(cs_store *s, const char *name, const char *config_text,
                        const char *command_line, int64_t *experiment_id)
{
    if (!name || !config_text)
        return cs_error_set(CS_EINVAL, "an experiment needs a name and a config text");
    int rc = cs_store_find_experiment(s, name, config_text, experiment_id);
    if (rc != CS_OK || *experiment_id != 0)
        return rc;

    char host[1024];
    cs_store_host(host, sizeof host);
    const char *blas = cs_blas_description(); /* config and how its core was chosen */
    sqlite3_stmt *st = NULL;
    rc = cs_store_prepare(s,
                          "INSERT INTO experiments (name, config_text, covshift_version,"
                          " command_line, git_revision, compiler, blas, host, rng)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                          " ON CONFLICT (name, config_text) DO NOTHING",
                          &st, "creating an experiment");
    if (rc != CS_OK)
        return rc;
    cs_store_bind_text(st, 1, name);
    cs_store_bind_text(st, 2, config_text);
    cs_store_bind_text(st, 3, cs_version_number());
    cs_store_bind_text(st, 4, command_line);
    cs_store_bind_text(st, 5, cs_version_revision());
    cs_store_bind_text(st, 6, cs_version_compiler());
    cs_store_bind_text(st, 7, blas);
    cs_store_bind_text(st, 8, host);
    cs_store_bind_text(st, 9, cs_rng_description());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = cs_store_fail(s, "creating experiment '%s'", name);
    sqlite3_finalize(st);
    if (rc != CS_OK)
        return rc;
    rc = cs_store_find_experiment(s, name, config_text, experiment_id);
    if (rc == CS_OK && *experiment_id == 0)
        rc = cs_error_set(CS_EDB, "experiment '%s' vanished right after it was created", name);
    return rc;
}
