/* Shards of a sweep (docs/design.md §8, docs/cluster.md): the map from
 * run_key to shard against values of an independent implementation of
 * the published jump consistent hash; every run in exactly one shard; a
 * run's shard unchanged when the file is reordered or an axis extended;
 * --shard K/N parsing; the shard read from Slurm's job array and srun
 * step, Open MPI's and PMI's ranks, with each kind of malformed or
 * contradictory environment refused naming its variables; the default
 * database name of a shard. */
#include "cs_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_shard.h"

static char *tmp;

/* Every variable cs_shard_from_env reads, cleared before each test. */
static const char *const env_names[] = {
    "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX", "SLURM_PROCID",          "SLURM_NTASKS",
    "SLURM_STEP_ID",       "OMPI_COMM_WORLD_RANK",   "OMPI_COMM_WORLD_SIZE",
    "PMI_RANK",            "PMI_SIZE",
};

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

static const char *write_ini(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static cs_run_params *expand(const char *path, size_t *n)
{
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, path) != CS_OK)
        fail_msg("loading %s: %s", path, cs_error_message());
    cs_run_params *runs = NULL;
    if (cs_expand_runs(e, &runs, n) != CS_OK)
        fail_msg("expanding %s: %s", path, cs_error_message());
    cs_experiment_free(e);
    return runs;
}

/* ---- the map ---- */

/* Values of the published algorithm (Lamping and Veach 2014, figure 1)
 * computed by a separate implementation in Python's arbitrary-precision
 * integers, once: the map is part of the results' contract, since a
 * sweep resumed by a later covshift must find its runs in the same
 * shards. */
static void test_shard_of_key_matches_the_published_algorithm(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int want[8]; /* for the counts below */
    } cases[] = {
        {"ffffffffffffffff", {0, 1, 2, 2, 7, 9, 92, 589430}},
        {"d0d874712ee7a758", {0, 0, 2, 3, 3, 3, 175, 105006}},
        {"8555f480e189bb43", {0, 0, 0, 3, 3, 3, 122, 546767}},
        {"0123456789abcdef", {0, 0, 0, 0, 0, 0, 194, 352229}},
    };
    static const int counts[8] = {1, 2, 3, 7, 8, 10, 200, 1000000};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int i = 0; i < 8; i++) {
            int got = cs_shard_of_run_key(cases[c].key, counts[i]);
            if (got != cases[c].want[i])
                fail_msg("run_key %s into %d shards: got shard %d, want %d", cases[c].key,
                         counts[i], got, cases[c].want[i]);
        }
    assert_int_equal(cs_shard_of_run_key("0123456789abcde", 8), -1);
    assert_int_equal(cs_shard_of_run_key("0123456789abcdeX", 8), -1);
    assert_int_equal(cs_shard_of_run_key("0123456789ABCDEF", 8), -1); /* run_keys are lower case */
    assert_int_equal(cs_shard_of_run_key("0123456789abcdef0", 8), -1);
}

/* Going from N to N + 1 shards, a run either stays or moves to the new
 * shard N (the consistent hash's promise), and about 1 in N + 1 moves. */
static void test_more_shards_move_runs_only_to_the_new_one(void **state)
{
    (void)state;
    const int keys = 20000;
    for (int n = 1; n < 40; n++) {
        int moved = 0;
        for (int i = 0; i < keys; i++) {
            /* keys made as run_keys are: FNV-1a of a text */
            char text[32];
            snprintf(text, sizeof text, "seed=%d;depth=10", i);
            uint64_t key = 1469598103934665603ULL;
            for (const char *c = text; *c; c++)
                key = (key ^ (unsigned char)*c) * 1099511628211ULL;
            int a = cs_shard_of_key(key, n), b = cs_shard_of_key(key, n + 1);
            if (a != b) {
                if (b != n)
                    fail_msg("key %llx moved from shard %d of %d to shard %d of %d",
                             (unsigned long long)key, a, n, b, n + 1);
                moved++;
            }
        }
        /* binomial: within 5 standard deviations */
        double want = (double)keys / (n + 1), sd = sqrt(want * (1 - 1.0 / (n + 1)));
        if (fabs(moved - want) > 5 * sd)
            fail_msg("%d to %d shards moved %d of %d keys, expected about %.0f", n, n + 1, moved,
                     keys, want);
    }
}

/* Every run of a sweep in exactly one shard, for several counts; shards
 * are about even (a 1000-run sweep over 8 shards: 125 each, sd 10.5). */
static void test_every_run_is_in_exactly_one_shard(void **state)
{
    (void)state;
    size_t n = 0;
    cs_run_params *all = expand(CS_FIXTURES "/plot_claims.ini", &n);
    assert_int_equal(n, 48);
    static const int counts[] = {1, 2, 3, 7, 12, 48, 100};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int count = counts[c];
        int *seen = calloc(n, sizeof *seen);
        size_t total = 0;
        for (int k = 0; k < count; k++) {
            cs_shard s = {.index = k, .count = count};
            cs_run_params *runs = malloc(n * sizeof *runs);
            memcpy(runs, all, n * sizeof *runs);
            size_t kept = n;
            cs_shard_keep(&s, runs, &kept);
            total += kept;
            for (size_t i = 0; i < kept; i++) {
                char key[17];
                cs_params_run_key(&runs[i], key);
                int found = 0;
                for (size_t j = 0; j < n; j++) {
                    char other[17];
                    cs_params_run_key(&all[j], other);
                    if (strcmp(key, other) == 0) {
                        seen[j]++;
                        found = 1;
                    }
                }
                assert_true(found);
                assert_int_equal(cs_shard_of_run(&runs[i], count), count > 1 ? k : 0);
            }
            free(runs);
        }
        assert_int_equal(total, n);
        for (size_t j = 0; j < n; j++)
            if (seen[j] != 1)
                fail_msg("%d shards: run %zu is in %d shards", count, j, seen[j]);
        free(seen);
    }
    cs_free(all);

    cs_run_params *big = expand(write_ini("big.ini", "[network]\ndepth = 1..10\n"
                                                     "[run]\nseed = 1..100\n"),
                                &n);
    assert_int_equal(n, 1000);
    int per[8] = {0};
    for (size_t i = 0; i < n; i++)
        per[cs_shard_of_run(&big[i], 8)]++;
    for (int k = 0; k < 8; k++)
        if (per[k] < 80 || per[k] > 170)
            fail_msg("shard %d of 8 has %d of 1000 runs", k, per[k]);
    cs_free(big);
}

/* The shard of each run_key in runs, in a sorted "key shard" listing. */
static char *shard_listing(const cs_run_params *runs, size_t n, int count)
{
    char **lines = malloc(n * sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        char key[17];
        cs_params_run_key(&runs[i], key);
        lines[i] = malloc(32);
        snprintf(lines[i], 32, "%s %d\n", key, cs_shard_of_run(&runs[i], count));
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a few hundred lines */
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    char *out = calloc(n * 32 + 1, 1);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out;
}

/* The same sweep written in another order (sections, keys and values
 * reversed) has the same runs in the same shards, though they come out of
 * the expansion in another order; extending axes (more seeds, a depth)
 * leaves every earlier run in its shard. */
static void test_shards_stable_under_reordering_and_axis_extension(void **state)
{
    (void)state;
    size_t na = 0, nb = 0, nc = 0;
    cs_run_params *a = expand(write_ini("a.ini", "[network]\ndepth = 3, 5\nwidth = 8\n"
                                                 "activation = tanh, relu\n"
                                                 "[norm]\nnorm = none, batch\n"
                                                 "[data]\nbatch = 4\n"
                                                 "[run]\nseed = 1..6\n"),
                              &na);
    cs_run_params *b = expand(write_ini("b.ini", "[run]\nseed = 6, 5, 4, 3, 2, 1\n"
                                                 "[data]\nbatch = 4\n"
                                                 "[norm]\nnorm = batch, none\n"
                                                 "[network]\nactivation = relu, tanh\n"
                                                 "width = 8\ndepth = 5, 3\n"),
                              &nb);
    cs_run_params *c = expand(write_ini("c.ini", "[network]\ndepth = 3, 5, 7\nwidth = 8\n"
                                                 "activation = tanh, relu\n"
                                                 "[norm]\nnorm = none, batch\n"
                                                 "[data]\nbatch = 4\n"
                                                 "[run]\nseed = 1..20\n"),
                              &nc);
    assert_int_equal(na, 48);
    assert_int_equal(nb, 48);
    assert_int_equal(nc, 240);
    char ka[17], kb[17];
    cs_params_run_key(&a[0], ka);
    cs_params_run_key(&b[0], kb);
    assert_string_not_equal(ka, kb); /* the order did change */
    for (int count = 2; count <= 16; count++) {
        char *la = shard_listing(a, na, count), *lb = shard_listing(b, nb, count);
        assert_string_equal(la, lb);
        /* every line of a (an earlier run, its shard) is a line of c */
        char *lc = shard_listing(c, nc, count);
        for (char *line = la; *line;) {
            char *end = strchr(line, '\n');
            char one[40];
            snprintf(one, sizeof one, "%.*s", (int)(end - line + 1), line);
            if (!strstr(lc, one))
                fail_msg("%d shards: '%.*s' is not in the extended sweep's listing", count,
                         (int)(end - line), line);
            line = end + 1;
        }
        free(la);
        free(lb);
        free(lc);
    }
    cs_free(a);
    cs_free(b);
    cs_free(c);
}

/* ---- --shard and the environment ---- */

static void test_shard_parse(void **state)
{
    (void)state;
    cs_shard s;
    assert_int_equal(cs_shard_parse(&s, "3/8"), CS_OK);
    assert_int_equal(s.index, 3);
    assert_int_equal(s.count, 8);
    assert_string_equal(s.source, "--shard 3/8");
    assert_int_equal(cs_shard_parse(&s, "0/1"), CS_OK);
    assert_int_equal(cs_shard_parse(&s, "007/200"), CS_OK);
    assert_int_equal(s.index, 7);
    assert_int_equal(cs_shard_parse(&s, "999999/1000000"), CS_OK);
    static const char *const bad[] = {"8/8", "-1/8", "3/0", "3/-8", "a/b", "3/8x", " 3/8",
                                      "3/ 8", "3", "", "/8", "3/", "3/1000001", "1/2/3",
                                      "+1/2", "99999999999999999999/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cs_shard_parse(&s, bad[i]) != CS_EINVAL)
            fail_msg("--shard '%s' was accepted", bad[i]);
        assert_non_null(strstr(cs_error_message(), "expected K/N"));
    }
}

/* cs_shard_from_env must succeed with this shard. */
static void env_ok(int index, int count, const char *source)
{
    cs_shard s;
    if (cs_shard_from_env(&s) != CS_OK)
        fail_msg("refused: %s", cs_error_message());
    if (s.index != index || s.count != count || strcmp(s.source, source) != 0)
        fail_msg("got shard %d/%d from '%s', want %d/%d from '%s'", s.index, s.count, s.source,
                 index, count, source);
}

/* cs_shard_from_env must refuse, naming each of the words. */
static void env_refused(const char *const *words)
{
    cs_shard s;
    if (cs_shard_from_env(&s) != CS_EINVAL)
        fail_msg("accepted: shard %d/%d from '%s'", s.index, s.count, s.source);
    for (size_t i = 0; words[i]; i++)
        if (!strstr(cs_error_message(), words[i]))
            fail_msg("expected '%s' in: %s", words[i], cs_error_message());
}

#define REFUSED(...) env_refused((const char *const[]){__VA_ARGS__, NULL})

static void test_env_none_is_the_whole_sweep(void **state)
{
    (void)state;
    env_ok(0, 0, "");
    /* A batch script has SLURM_PROCID=0 and SLURM_NTASKS but no step. */
    setenv("SLURM_PROCID", "0", 1);
    setenv("SLURM_NTASKS", "4", 1);
    env_ok(0, 0, "");
}

static void test_env_slurm_array(void **state)
{
    (void)state;
    setenv("SLURM_ARRAY_TASK_ID", "3", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "8", 1);
    env_ok(3, 8, "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=8");
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "7", 1);
    env_ok(3, 8,
           "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=8, SLURM_ARRAY_TASK_MIN=0, "
           "SLURM_ARRAY_TASK_MAX=7");
    /* MIN and MAX alone */
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    env_ok(3, 8, "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7");
    /* the array wins over the ranks of a step inside it */
    setenv("SLURM_STEP_ID", "0", 1);
    setenv("SLURM_PROCID", "1", 1);
    setenv("SLURM_NTASKS", "2", 1);
    setenv("PMI_RANK", "1", 1);
    setenv("PMI_SIZE", "2", 1);
    env_ok(3, 8, "SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=7");
}

static void test_env_slurm_array_refused(void **state)
{
    (void)state;
    /* a resubmission of some shards: sbatch --array=3,5 */
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "2", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "3", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "5", 1);
    REFUSED("SLURM_ARRAY_TASK_MIN=3", "SLURM_ARRAY_TASK_MAX=5", "not 0..N-1", "--shard");
    /* an array from 1: sbatch --array=1-8 */
    setenv("SLURM_ARRAY_TASK_COUNT", "8", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "8", 1);
    REFUSED("SLURM_ARRAY_TASK_MIN=1", "not 0..N-1");
    /* a count that contradicts MAX: --array=0-14:2 */
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "14", 1);
    REFUSED("SLURM_ARRAY_TASK_COUNT=8", "SLURM_ARRAY_TASK_MAX=14");
    /* the task outside its array */
    unsetenv("SLURM_ARRAY_TASK_MIN");
    unsetenv("SLURM_ARRAY_TASK_MAX");
    setenv("SLURM_ARRAY_TASK_ID", "8", 1);
    REFUSED("SLURM_ARRAY_TASK_ID=8", "SLURM_ARRAY_TASK_COUNT=8", "disagree");
    /* malformed values */
    static const char *const junk[] = {"x", "", "-1", "3.0", " 3", "0x3", "1e3",
                                       "99999999999999999999"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        setenv("SLURM_ARRAY_TASK_ID", junk[i], 1);
        REFUSED("environment variable SLURM_ARRAY_TASK_ID=", "expected an integer");
    }
    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "0", 1);
    REFUSED("SLURM_ARRAY_TASK_COUNT='0'", "expected an integer in 1..");
    /* the count missing, or a count without the task */
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    REFUSED("SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_COUNT");
    unsetenv("SLURM_ARRAY_TASK_ID");
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    REFUSED("SLURM_ARRAY_TASK_COUNT is set but SLURM_ARRAY_TASK_ID is not");
}

static void test_env_srun_step(void **state)
{
    (void)state;
    setenv("SLURM_STEP_ID", "0", 1);
    setenv("SLURM_PROCID", "2", 1);
    setenv("SLURM_NTASKS", "4", 1);
    env_ok(2, 4, "SLURM_PROCID=2, SLURM_NTASKS=4");
    setenv("SLURM_PROCID", "4", 1);
    REFUSED("SLURM_PROCID=4", "SLURM_NTASKS=4", "disagree");
    unsetenv("SLURM_NTASKS");
    REFUSED("SLURM_PROCID is set but SLURM_NTASKS is not");
    setenv("SLURM_PROCID", "two", 1);
    REFUSED("SLURM_PROCID='two'");
}

static void test_env_openmpi_and_pmi(void **state)
{
    (void)state;
    setenv("OMPI_COMM_WORLD_RANK", "5", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "6", 1);
    env_ok(5, 6, "OMPI_COMM_WORLD_RANK=5, OMPI_COMM_WORLD_SIZE=6");
    /* under mpirun in a Slurm job, the step numbers the launcher's daemons */
    setenv("SLURM_STEP_ID", "0", 1);
    setenv("SLURM_PROCID", "1", 1);
    setenv("SLURM_NTASKS", "2", 1);
    env_ok(5, 6, "OMPI_COMM_WORLD_RANK=5, OMPI_COMM_WORLD_SIZE=6");
    setenv("PMI_RANK", "5", 1);
    setenv("PMI_SIZE", "6", 1);
    env_ok(5, 6, "OMPI_COMM_WORLD_RANK=5, OMPI_COMM_WORLD_SIZE=6");
    setenv("PMI_RANK", "4", 1);
    REFUSED("OMPI_COMM_WORLD_RANK=5", "PMI_RANK=4", "disagree");
    unsetenv("OMPI_COMM_WORLD_RANK");
    REFUSED("OMPI_COMM_WORLD_SIZE is set but OMPI_COMM_WORLD_RANK is not");
    unsetenv("OMPI_COMM_WORLD_SIZE");
    env_ok(4, 6, "PMI_RANK=4, PMI_SIZE=6");
    setenv("PMI_SIZE", "4", 1);
    REFUSED("PMI_RANK=4", "PMI_SIZE=4", "below the size");
    setenv("PMI_SIZE", "6 ", 1);
    REFUSED("PMI_SIZE='6 '");
}

static void test_db_name_carries_the_shard(void **state)
{
    (void)state;
    char buf[256];
    cs_shard s = {.index = 7, .count = 200};
    cs_shard_db_name(buf, sizeof buf, "depth_sweep", &s);
    assert_string_equal(buf, "results/depth_sweep.shard-007-of-200.db");
    s = (cs_shard){.index = 3, .count = 8};
    cs_shard_db_name(buf, sizeof buf, "x", &s);
    assert_string_equal(buf, "results/x.shard-3-of-8.db");
    s = (cs_shard){.index = 0, .count = 10};
    cs_shard_db_name(buf, sizeof buf, "x", &s);
    assert_string_equal(buf, "results/x.shard-00-of-10.db");
    s = (cs_shard){.index = 0, .count = 1};
    cs_shard_db_name(buf, sizeof buf, "x", &s);
    assert_string_equal(buf, "results/x.db");
    s = (cs_shard){0};
    cs_shard_db_name(buf, sizeof buf, "x", &s);
    assert_string_equal(buf, "results/x.db");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_shard_of_key_matches_the_published_algorithm, setup),
        cmocka_unit_test_setup(test_more_shards_move_runs_only_to_the_new_one, setup),
        cmocka_unit_test_setup(test_every_run_is_in_exactly_one_shard, setup),
        cmocka_unit_test_setup(test_shards_stable_under_reordering_and_axis_extension, setup),
        cmocka_unit_test_setup(test_shard_parse, setup),
        cmocka_unit_test_setup(test_env_none_is_the_whole_sweep, setup),
        cmocka_unit_test_setup(test_env_slurm_array, setup),
        cmocka_unit_test_setup(test_env_slurm_array_refused, setup),
        cmocka_unit_test_setup(test_env_srun_step, setup),
        cmocka_unit_test_setup(test_env_openmpi_and_pmi, setup),
        cmocka_unit_test_setup(test_db_name_carries_the_shard, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
