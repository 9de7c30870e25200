/* Shards of a sweep (see cs_shard.h; docs/design.md §8): the map from
 * run_key to shard, this process's shard from --shard or the environment,
 * and a shard's database name. */
#include "cs_shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"

/* Lamping and Veach 2014, figure 1, as published: a linear congruential
 * step per candidate bucket, whose top 31 bits decide the next jump. Its
 * double arithmetic is one division and one multiplication of exactly
 * representable integers, the same on every IEEE 754 machine. */
int cs_shard_of_key(uint64_t key, int count)
{
    int64_t b = -1, j = 0;
    while (j < count) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (int)b;
}

int cs_shard_of_run_key(const char *run_key, int count)
{
    uint64_t key = 0;
    for (int i = 0; i < 16; i++) {
        char c = run_key[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return -1;
        key = key << 4 | (uint64_t)digit;
    }
    return run_key[16] == '\0' ? cs_shard_of_key(key, count) : -1;
}

int cs_shard_of_run(const cs_run_params *p, int count)
{
    char key[17];
    cs_params_run_key(p, key);
    return cs_shard_of_run_key(key, count);
}

/* A decimal integer in min..max, digits only (no sign, no blanks): 0 and
 * *v, or -1. */
static int cs_shard_decimal(const char *s, size_t n, long long min, long long max, long long *v)
{
    if (n == 0 || n > 18)
        return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = 10 * x + (s[i] - '0');
    }
    if (x < min || x > max)
        return -1;
    *v = x;
    return 0;
}

int cs_shard_parse(cs_shard *out, const char *text)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(text, '/');
    long long k = 0, n = 0;
    if (!slash || cs_shard_decimal(slash + 1, strlen(slash + 1), 1, CS_SHARD_MAX, &n) != 0 ||
        cs_shard_decimal(text, (size_t)(slash - text), 0, n - 1, &k) != 0)
        return cs_error_set(CS_EINVAL,
                            "--shard: expected K/N, shard K of N with 0 <= K < N <= %d "
                            "(--shard 0/8 .. --shard 7/8), got '%.64s'",
                            CS_SHARD_MAX, text);
    out->index = (int)k;
    out->count = (int)n;
    snprintf(out->source, sizeof out->source, "--shard %d/%d", out->index, out->count);
    return CS_OK;
}

/* One variable of the environment: *present, and its value as a decimal
 * integer in min..max; CS_EINVAL naming it when it is set to anything else. */
static int cs_shard_env(const char *name, long long min, long long max, int *present,
                        long long *v)
{
    const char *text = getenv(name);
    *present = text != NULL;
    *v = 0;
    if (!text)
        return CS_OK;
    if (cs_shard_decimal(text, strlen(text), min, max, v) != 0)
        return cs_error_set(CS_EINVAL,
                            "environment variable %s='%.64s': expected an integer in %lld..%lld "
                            "(it says which shard of the sweep this process runs)",
                            name, text, min, max);
    return CS_OK;
}

/* A rank and size pair (OMPI_COMM_WORLD_RANK/SIZE, ...): *present when
 * both are set; CS_EINVAL when only one is, or rank >= size. */
static int cs_shard_env_pair(const char *rank_name, const char *size_name, int *present,
                             long long *rank, long long *size)
{
    int has_rank, has_size;
    int rc = cs_shard_env(rank_name, 0, CS_SHARD_MAX - 1, &has_rank, rank);
    if (rc == CS_OK)
        rc = cs_shard_env(size_name, 1, CS_SHARD_MAX, &has_size, size);
    if (rc != CS_OK)
        return rc;
    *present = has_rank && has_size;
    if (has_rank != has_size)
        return cs_error_set(CS_EINVAL,
                            "environment variable %s is set but %s is not: covshift reads this "
                            "process's shard from both (or give --shard K/N)",
                            has_rank ? rank_name : size_name, has_rank ? size_name : rank_name);
    if (*present && *rank >= *size)
        return cs_error_set(CS_EINVAL,
                            "environment variables %s=%lld and %s=%lld disagree: the rank must "
                            "be below the size",
                            rank_name, *rank, size_name, *size);
    return CS_OK;
}

/* The job array: SLURM_ARRAY_TASK_ID of 0..N-1 (see cs_shard.h). */
static int cs_shard_from_array(cs_shard *out, int *found)
{
    int has_id, has_count, has_min, has_max;
    long long id, count, min, max;
    int rc;
    *found = 0;
    if ((rc = cs_shard_env("SLURM_ARRAY_TASK_ID", 0, CS_SHARD_MAX - 1, &has_id, &id)) != CS_OK ||
        (rc = cs_shard_env("SLURM_ARRAY_TASK_COUNT", 1, CS_SHARD_MAX, &has_count, &count)) !=
            CS_OK ||
        (rc = cs_shard_env("SLURM_ARRAY_TASK_MIN", 0, CS_SHARD_MAX - 1, &has_min, &min)) !=
            CS_OK ||
        (rc = cs_shard_env("SLURM_ARRAY_TASK_MAX", 0, CS_SHARD_MAX - 1, &has_max, &max)) != CS_OK)
        return rc;
    if (!has_id) {
        if (has_count || has_min || has_max)
            return cs_error_set(CS_EINVAL,
                                "environment variable %s is set but SLURM_ARRAY_TASK_ID is not",
                                has_count ? "SLURM_ARRAY_TASK_COUNT"
                                : has_min ? "SLURM_ARRAY_TASK_MIN"
                                          : "SLURM_ARRAY_TASK_MAX");
        return CS_OK;
    }
    if (!has_count && !(has_min && has_max))
        return cs_error_set(CS_EINVAL,
                            "environment variable SLURM_ARRAY_TASK_ID=%lld is set but neither "
                            "SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and "
                            "SLURM_ARRAY_TASK_MAX: the number of shards is unknown (give "
                            "--shard K/N)",
                            id);
    /* N from what is set; every other variable set must say 0..N-1. */
    long long n = has_count ? count : max + 1;
    char said[200] = ""; /* the variables that are set, as they read */
    if (has_count)
        snprintf(said + strlen(said), sizeof said - strlen(said), "SLURM_ARRAY_TASK_COUNT=%lld",
                 count);
    if (has_min)
        snprintf(said + strlen(said), sizeof said - strlen(said), "%sSLURM_ARRAY_TASK_MIN=%lld",
                 said[0] ? ", " : "", min);
    if (has_max)
        snprintf(said + strlen(said), sizeof said - strlen(said), "%sSLURM_ARRAY_TASK_MAX=%lld",
                 said[0] ? ", " : "", max);
    if ((has_min && min != 0) || (has_max && max != n - 1))
        return cs_error_set(CS_EINVAL,
                            "environment variables %s: the job array is not 0..N-1 (a "
                            "resubmission of some shards, --array=3,5, or an array from 1?), so "
                            "the number of shards cannot be read from it; give it: --shard "
                            "$SLURM_ARRAY_TASK_ID/N",
                            said);
    if (id >= n)
        return cs_error_set(CS_EINVAL,
                            "environment variables SLURM_ARRAY_TASK_ID=%lld and %s disagree: the "
                            "task is not in the array 0..%lld",
                            id, said, n - 1);
    out->index = (int)id;
    out->count = (int)n;
    snprintf(out->source, sizeof out->source, "SLURM_ARRAY_TASK_ID=%lld, %s", id, said);
    *found = 1;
    return CS_OK;
}

int cs_shard_from_env(cs_shard *out)
{
    memset(out, 0, sizeof *out);
    int found = 0;
    int rc = cs_shard_from_array(out, &found);
    if (rc != CS_OK || found)
        return rc;
    int has_ompi, has_pmi, has_slurm;
    long long ompi_rank, ompi_size, pmi_rank, pmi_size, slurm_rank, slurm_size;
    if ((rc = cs_shard_env_pair("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", &has_ompi,
                                &ompi_rank, &ompi_size)) != CS_OK ||
        (rc = cs_shard_env_pair("PMI_RANK", "PMI_SIZE", &has_pmi, &pmi_rank, &pmi_size)) != CS_OK)
        return rc;
    if (has_ompi && has_pmi && (ompi_rank != pmi_rank || ompi_size != pmi_size))
        return cs_error_set(CS_EINVAL,
                            "environment variables OMPI_COMM_WORLD_RANK=%lld, "
                            "OMPI_COMM_WORLD_SIZE=%lld and PMI_RANK=%lld, PMI_SIZE=%lld disagree "
                            "about this process's rank (give --shard K/N)",
                            ompi_rank, ompi_size, pmi_rank, pmi_size);
    if (has_ompi || has_pmi) {
        out->index = (int)(has_ompi ? ompi_rank : pmi_rank);
        out->count = (int)(has_ompi ? ompi_size : pmi_size);
        snprintf(out->source, sizeof out->source, "%s=%d, %s=%d",
                 has_ompi ? "OMPI_COMM_WORLD_RANK" : "PMI_RANK", out->index,
                 has_ompi ? "OMPI_COMM_WORLD_SIZE" : "PMI_SIZE", out->count);
        return CS_OK;
    }
    /* srun sets SLURM_STEP_ID in every task of a step; a batch script has
     * none (its step is "batch"). Only whether it is set matters. */
    if (!getenv("SLURM_STEP_ID"))
        return CS_OK;
    if ((rc = cs_shard_env_pair("SLURM_PROCID", "SLURM_NTASKS", &has_slurm, &slurm_rank,
                                &slurm_size)) != CS_OK || !has_slurm)
        return rc;
    out->index = (int)slurm_rank;
    out->count = (int)slurm_size;
    snprintf(out->source, sizeof out->source, "SLURM_PROCID=%d, SLURM_NTASKS=%d", out->index,
             out->count);
    return CS_OK;
}

void cs_shard_keep(const cs_shard *s, cs_run_params *runs, size_t *nruns)
{
    if (s->count <= 1)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < *nruns; i++)
        if (cs_shard_of_run(&runs[i], s->count) == s->index)
            runs[kept++] = runs[i];
    *nruns = kept;
}

void cs_shard_db_name(char *buf, size_t size, const char *name, const cs_shard *s)
{
    if (s->count <= 1) {
        snprintf(buf, size, "results/%s.db", name);
        return;
    }
    int digits = snprintf(NULL, 0, "%d", s->count);
    snprintf(buf, size, "results/%s.shard-%0*d-of-%d.db", name, digits, s->index, s->count);
}
