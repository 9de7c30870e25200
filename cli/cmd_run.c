/* covshift run: parse options, load the experiment, hand it to the runner
 * (docs/design.md §4). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_cli.h"
#include "cs_error.h"
#include "cs_experiment.h"
#include "cs_keys.h"
#include "cs_override.h"
#include "cs_runner.h"
#include "cs_text.h"

static const char *const cs_run_usage =
    "usage: covshift run FILE [--db PATH] [--set key=value ...] [--jobs N]\n"
    "                    [--shard K/N] [--dry-run[=canonical]] [--fail-fast] [--quiet]\n"
    "                    [--gemm-only]\n"
    "\n"
    "Runs every run of the experiment file FILE (the cartesian product of its\n"
    "list and range values) and stores each, whole or not at all, in a SQLite\n"
    "database. Runs already done (same run_key) are skipped, so re-running an\n"
    "interrupted sweep resumes it. Several covshift run of one experiment on one\n"
    "database (on one machine) share its sweep: each claims the next run no one\n"
    "holds, and every run is done once.\n"
    "\n"
    "options:\n"
    "  --db PATH         results database (default results/<experiment name>.db;\n"
    "                    the directory is created if missing)\n"
    "  --set key=value   override a key of the file, e.g. --set depth=10,20 or\n"
    "                    --set seed=1..5; repeatable; key or section.key\n"
    "  --jobs N          run N runs at once in worker processes (default 1); each\n"
    "                    runs the steps of a layer on cores/N threads (COVSHIFT_THREADS\n"
    "                    overrides) with single-threaded dgemm, so threads x jobs <=\n"
    "                    cores; results are bit-identical whatever N and the threads\n"
    "  --shard K/N       run only shard K of N (0 <= K < N) of the sweep: the runs whose\n"
    "                    run_key maps to K (a fixed hash, so a run keeps its shard\n"
    "                    whatever is added to the sweep); the default database is then\n"
    "                    results/<name>.shard-K-of-N.db. Without it, K and N come from\n"
    "                    a Slurm job array 0..N-1 (SLURM_ARRAY_TASK_ID with\n"
    "                    SLURM_ARRAY_TASK_COUNT or _MIN/_MAX), else from the rank of\n"
    "                    mpirun (OMPI_COMM_WORLD_RANK/SIZE) or a PMI launcher\n"
    "                    (PMI_RANK/SIZE), else of an srun step (SLURM_PROCID/SLURM_NTASKS);\n"
    "                    merge the shards with covshift merge (docs/cluster.md)\n"
    "  --dry-run         print the runs and stop, writing nothing: a column per key\n"
    "                    that varies (the others once above), each run's run_key,\n"
    "                    whether the database (when it exists) holds it done, its\n"
    "                    peak memory and the rows it writes per table\n"
    "  --dry-run=canonical  one line per run: its run_key and canonical text\n"
    "  --fail-fast       stop after the first failed run (default: record it as\n"
    "                    failed and go on)\n"
    "  --quiet           no progress line or summary on stderr (a failed run is\n"
    "                    still printed, with its error)\n"
    "  --gemm-only       run the same schedule (input draws, weights, dense forward,\n"
    "                    normalisation with its running statistics, activation,\n"
    "                    dropout) with statistics, histograms, drift, the gradient,\n"
    "                    noise and gap passes and every database write switched off:\n"
    "                    no database is opened or created, no run is skipped; prints\n"
    "                    one summary line on stderr (the speed baseline)\n"
    "  -h, --help        this text and the experiment file keys\n"
    "\n"
    "exit status: 0 every run done, 1 some run failed or I/O error, 2 bad input\n"
    "(nothing is written to the database on bad input), 130 / 143 stopped by\n"
    "SIGINT / SIGTERM (the runs in progress are given up and redone next time);\n"
    "covshift --help lists them all.\n";

static const struct option cs_run_options[] = {
    {"db", required_argument, NULL, 'd'},      {"set", required_argument, NULL, 's'},
    {"jobs", required_argument, NULL, 'j'},    {"dry-run", optional_argument, NULL, 'n'},
    {"fail-fast", no_argument, NULL, 'f'},     {"quiet", no_argument, NULL, 'q'},
    {"gemm-only", no_argument, NULL, 'g'},     {"help", no_argument, NULL, 'h'},
    {"shard", required_argument, NULL, 'k'},
    {NULL, 0, NULL, 0},
};

/* The command line as one string, for provenance: each argument a shell
 * word that stands for exactly it (cs_text_sh_quote), so that `sh -c`
 * runs the stored line again as it was run, whatever --set or a path
 * held. */
static char *cs_run_command_line(int argc, char **argv)
{
    size_t len = strlen("covshift") + 1;
    for (int i = 0; i < argc; i++)
        len += cs_text_sh_quote(NULL, 0, argv[i]) + 1; /* argv fits in ARG_MAX: no overflow */
    char *s = cs_malloc(len);
    if (!s)
        return NULL;
    size_t used = (size_t)snprintf(s, len, "covshift");
    for (int i = 0; i < argc; i++) {
        s[used++] = ' ';
        used += cs_text_sh_quote(s + used, len - used, argv[i]);
    }
    return s;
}

int cmd_run(int argc, char **argv)
{
    const char *db = NULL;
    const char **sets = cs_calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, status = CS_EXIT_OK;
    cs_runner_opts opts = {0};
    opts.jobs = 1;
    cs_experiment *e = NULL;
    char *command_line = cs_run_command_line(argc, argv);
    char db_default[4096];
    int shard_given = 0;
    if (!sets || !command_line) {
        status = cs_cli_fail("run", cs_error_set(CS_ENOMEM, "out of memory"));
        goto done;
    }
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":h", cs_run_options, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'j': {
            char *end;
            errno = 0;
            long j = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || j < 1 || j > 256) {
                char got[CS_TEXT_ESCAPED_SIZE(64)];
                fprintf(stderr, "covshift run: --jobs: expected an integer in 1..256, got '%s'\n",
                        cs_text_escape(got, sizeof got, optarg));
                status = CS_EXIT_USAGE;
                goto done;
            }
            opts.jobs = (int)j;
            break;
        }
        case 'k': {
            int rc = cs_shard_parse(&opts.shard, optarg);
            if (rc != CS_OK) {
                status = cs_cli_fail("run", rc);
                goto done;
            }
            shard_given = 1;
            break;
        }
        case 'n':
            if (!optarg || strcmp(optarg, "table") == 0) {
                opts.dry_run = CS_DRY_RUN_TABLE;
            } else if (strcmp(optarg, "canonical") == 0) {
                opts.dry_run = CS_DRY_RUN_CANONICAL;
            } else {
                char got[CS_TEXT_ESCAPED_SIZE(64)];
                fprintf(stderr,
                        "covshift run: --dry-run: expected table or canonical, got '%s'\n",
                        cs_text_escape(got, sizeof got, optarg));
                status = CS_EXIT_USAGE;
                goto done;
            }
            break;
        case 'f': opts.fail_fast = 1; break;
        case 'q': opts.quiet = 1; break;
        case 'g': opts.gemm_only = 1; break;
        case 'h':
            fputs(cs_run_usage, stdout);
            fputs("\nexperiment file keys:\n", stdout);
            cs_keys_print(stdout);
            goto done;
        default:
            status = cs_cli_bad_option("run", c, argv);
            goto done;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "covshift run: expected exactly one experiment FILE, got %d\n\n%s",
                argc - optind, cs_run_usage);
        status = CS_EXIT_USAGE;
        goto done;
    }
    /* An explicit --shard wins; the environment is read, and checked,
     * only without it. */
    int rc = shard_given ? CS_OK : cs_shard_from_env(&opts.shard);
    if (rc != CS_OK) {
        status = cs_cli_fail("run", rc);
        goto done;
    }
    rc = cs_experiment_load(&e, argv[optind]);
    for (int i = 0; rc == CS_OK && i < nsets; i++)
        rc = cs_override_apply(e, sets[i]);
    if (rc != CS_OK) {
        status = cs_cli_fail("run", rc);
        goto done;
    }
    if (!db) {
        cs_shard_db_name(db_default, sizeof db_default, cs_experiment_name(e), &opts.shard);
        db = db_default;
    }
    opts.db_path = db;
    opts.command_line = command_line;
    cs_runner_summary sum;
    rc = cs_runner_run(e, &opts, &sum);
    if (rc != CS_OK)
        status = cs_cli_fail("run", rc);
    else if (sum.interrupted)
        status = 128 + sum.interrupted; /* as a shell reports a process the signal ended */
    else if (sum.failed > 0 || sum.foreign > 0)
        status = CS_EXIT_FAIL;
done:
    cs_experiment_free(e);
    cs_free(command_line);
    cs_free(sets);
    return status;
}
