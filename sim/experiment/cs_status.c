/* covshift status (see cs_status.h): the sweep's runs sorted by run_key,
 * every database's rows of the experiment looked up among them, the
 * best state of each kept. */
#include "cs_status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_expand.h"
#include "cs_job.h"
#include "cs_query.h"
#include "cs_shard.h"
#include "cs_store.h"
#include "cs_text.h"

/* States in the order a run's rows beat each other. */
enum { CS_STATUS_MISSING, CS_STATUS_UNFINISHED, CS_STATUS_FAILED, CS_STATUS_DONE };

typedef struct {
    char key[17];
    size_t run;    /* index into the sweep's runs */
    int state;
    size_t db;     /* where the state was seen */
    char *detail;  /* failed: the error; unfinished: the holder */
} cs_status_entry;

static int cs_status_by_key(const void *a, const void *b)
{
    return strcmp(((const cs_status_entry *)a)->key, ((const cs_status_entry *)b)->key);
}

/* N from the databases' names: every name "....shard-K-of-N.db" must say
 * the same N; 0 when none does or they disagree. */
static int cs_status_shards_from_names(const cs_status_opts *o)
{
    int n = 0;
    for (size_t i = 0; i < o->ndbs; i++) {
        const char *at = strstr(o->dbs[i], ".shard-");
        int k = 0, count = 0, used = 0;
        if (!at || sscanf(at, ".shard-%d-of-%d.db%n", &k, &count, &used) != 2 ||
            at[used] != '\0' || count < 1)
            continue;
        if (n && count != n)
            return 0;
        n = count;
    }
    return n;
}

/* Reads one database's rows of the experiment into the entries. */
static int cs_status_read(const cs_status_opts *o, size_t db, const char *name,
                          cs_status_entry *entries, size_t n, size_t *rows)
{
    cs_store *s = NULL;
    cs_query *q = NULL;
    *rows = 0;
    int rc = cs_store_open_readonly(&s, o->dbs[db]);
    if (rc != CS_OK)
        return rc;
    if ((rc = cs_query_open(&q, s,
                            "SELECT r.run_key, r.status, coalesce(r.error, ''),"
                            " coalesce(r.holder_host, ''), coalesce(r.holder_pid, 0)"
                            " FROM runs r JOIN experiments e ON e.id = r.experiment_id"
                            " WHERE e.name = :name")) != CS_OK ||
        (rc = cs_query_bind_text(q, ":name", name)) != CS_OK)
        goto done;
    for (;;) {
        int row = 0;
        if ((rc = cs_query_step(q, &row)) != CS_OK || !row)
            break;
        (*rows)++;
        cs_status_entry probe;
        snprintf(probe.key, sizeof probe.key, "%s", cs_query_text(q, 0) ? cs_query_text(q, 0) : "");
        cs_status_entry *e = bsearch(&probe, entries, n, sizeof *entries, cs_status_by_key);
        if (!e)
            continue; /* a run of another version of the sweep */
        const char *status = cs_query_text(q, 1) ? cs_query_text(q, 1) : "";
        int state = strcmp(status, "done") == 0     ? CS_STATUS_DONE
                    : strcmp(status, "failed") == 0 ? CS_STATUS_FAILED
                                                    : CS_STATUS_UNFINISHED;
        if (state <= e->state)
            continue;
        e->state = state;
        e->db = db;
        cs_free(e->detail);
        e->detail = NULL;
        char held[512];
        const char *detail = NULL;
        if (state == CS_STATUS_FAILED) {
            detail = cs_query_text(q, 2);
        } else if (state == CS_STATUS_UNFINISHED) {
            snprintf(held, sizeof held, "held by pid %" PRId64 " on %s", cs_query_int(q, 4),
                     cs_query_text(q, 3) ? cs_query_text(q, 3) : "?");
            detail = held;
        }
        if (detail) {
            size_t len = strlen(detail) + 1;
            if (!(e->detail = cs_malloc(len))) {
                rc = cs_error_set(CS_ENOMEM, "status: out of memory");
                break;
            }
            memcpy(e->detail, detail, len);
        }
    }
done:
    cs_query_free(q);
    cs_store_close(s);
    return rc;
}

/* The shards marked in rerun[0..shards) as a job-array list ("0-3,7")
 * into list (size >= 16 shards + 1). */
static void cs_status_array_list(const unsigned char *rerun, int shards, char *list, size_t size)
{
    size_t used = 0;
    list[0] = '\0';
    for (int k = 0; k < shards; k++) {
        if (!rerun[k])
            continue;
        int last = k;
        while (last + 1 < shards && rerun[last + 1])
            last++;
        if (last == k)
            used += (size_t)snprintf(list + used, size - used, "%s%d", used ? "," : "", k);
        else
            used += (size_t)snprintf(list + used, size - used, "%s%d-%d", used ? "," : "", k,
                                     last);
        k = last;
    }
}

/* Prints the entries in state, one line each. */
static void cs_status_print(const cs_status_opts *o, const cs_run_params *runs,
                            const cs_status_entry *entries, size_t n, int state, int shards,
                            const char *title)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        const cs_status_entry *e = &entries[i];
        if (e->state != state)
            continue;
        if (first)
            fprintf(o->out, "%s\n", title);
        first = 0;
        char desc[160], shard[32] = "";
        cs_job_describe(&runs[e->run], desc, sizeof desc);
        if (shards > 0)
            snprintf(shard, sizeof shard, "  shard %d", cs_shard_of_run_key(e->key, shards));
        fprintf(o->out, "  %s%s  %s", e->key, shard, desc);
        if (e->detail) {
            size_t size = CS_TEXT_ESCAPED_SIZE(strlen(e->detail) < 600 ? strlen(e->detail) : 600);
            char *text = cs_malloc(size);
            if (text)
                fprintf(o->out, ": %s", cs_text_escape(text, size, e->detail));
            cs_free(text);
        }
        if (state != CS_STATUS_MISSING) {
            char path[CS_TEXT_ESCAPED_SIZE(512)];
            fprintf(o->out, " (in %s)", cs_text_escape(path, sizeof path, o->dbs[e->db]));
        }
        fputc('\n', o->out);
    }
}

int cs_status_run(const cs_experiment *e, const cs_status_opts *o, cs_status_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    cs_run_params *runs = NULL;
    cs_status_entry *entries = NULL;
    char *list = NULL;
    size_t n = 0;
    int rc = cs_expand_runs(e, &runs, &n);
    if (rc != CS_OK)
        return rc;
    if (!(entries = cs_calloc(n ? n : 1, sizeof *entries))) {
        rc = cs_error_set(CS_ENOMEM, "status: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        cs_params_run_key(&runs[i], entries[i].key);
        entries[i].run = i;
    }
    qsort(entries, n, sizeof *entries, cs_status_by_key);
    const char *name = cs_experiment_name(e);
    for (size_t db = 0; db < o->ndbs; db++) {
        size_t rows = 0;
        if ((rc = cs_status_read(o, db, name, entries, n, &rows)) != CS_OK)
            goto done;
        if (rows == 0 && !o->array_only) {
            char path[CS_TEXT_ESCAPED_SIZE(512)];
            fprintf(stderr, "covshift status: note: %s has no run of experiment '%s'\n",
                    cs_text_escape(path, sizeof path, o->dbs[db]), name);
        }
    }
    int shards = o->shards > 0 ? o->shards : cs_status_shards_from_names(o);
    sum->total = n;
    sum->shards = shards;
    /* The shards holding runs not done, in order, as a job-array list. */
    size_t list_size = 16 * (size_t)(shards > 0 ? shards : 1) + 16;
    if (!(list = cs_calloc(list_size, 1))) {
        rc = cs_error_set(CS_ENOMEM, "status: out of memory");
        goto done;
    }
    unsigned char *rerun = shards > 0 ? cs_calloc((size_t)shards, 1) : NULL;
    if (shards > 0 && !rerun) {
        rc = cs_error_set(CS_ENOMEM, "status: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        int state = entries[i].state;
        sum->done += state == CS_STATUS_DONE;
        sum->failed += state == CS_STATUS_FAILED;
        sum->unfinished += state == CS_STATUS_UNFINISHED;
        sum->missing += state == CS_STATUS_MISSING;
        if (rerun && state != CS_STATUS_DONE)
            rerun[cs_shard_of_run_key(entries[i].key, shards)] = 1;
    }
    if (rerun)
        cs_status_array_list(rerun, shards, list, list_size);
    cs_free(rerun);
    if (o->array_only) {
        if (*list)
            fprintf(o->out, "%s\n", list);
        goto done;
    }
    fprintf(o->out,
            "experiment '%s': %zu runs, looked up in %zu databases: %zu done, %zu failed, %zu "
            "unfinished, %zu missing\n",
            name, n, o->ndbs, sum->done, sum->failed, sum->unfinished, sum->missing);
    cs_status_print(o, runs, entries, n, CS_STATUS_FAILED, shards, "failed:");
    cs_status_print(o, runs, entries, n, CS_STATUS_UNFINISHED, shards,
                    "unfinished ('running' in a database: its job was killed, or is still "
                    "going):");
    cs_status_print(o, runs, entries, n, CS_STATUS_MISSING, shards, "missing:");
    if (sum->done == n)
        fprintf(o->out, "every run is done\n");
    else if (shards > 0) {
        char file[CS_TEXT_ESCAPED_SIZE(512)];
        cs_text_escape(file, sizeof file, cs_experiment_path(e));
        fprintf(o->out,
                "shards of %d to run again: %s\n"
                "  sbatch --array=%s --export=ALL,COVSHIFT_SHARDS=%d scripts/slurm/sweep.sbatch "
                "%s SHARD_DIR\n",
                shards, list, list, shards, file);
    } else
        fprintf(o->out, "(give --shards N to see the shard of each run)\n");
done:
    for (size_t i = 0; entries && i < n; i++)
        cs_free(entries[i].detail);
    cs_free(entries);
    cs_free(list);
    cs_free(runs);
    return rc;
}
