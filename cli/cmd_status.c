/* covshift status: which runs of a sweep are done, failed or missing
 * across a set of databases, and which shards to run again
 * (docs/design.md §8, docs/cluster.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cs_alloc.h"
#include "cs_cli.h"
#include "cs_error.h"
#include "cs_experiment.h"
#include "cs_override.h"
#include "cs_shard.h"
#include "cs_status.h"
#include "cs_text.h"

static const char *const cs_status_usage =
    "usage: covshift status FILE DB... [--set key=value ...] [--shards N] [--array]\n"
    "\n"
    "Looks up every run of the experiment file FILE (with its --set overrides, as\n"
    "it was run) in the results databases DB (the shards of a cluster sweep, a\n"
    "merge of them, or both; only read) and prints how many are done, failed,\n"
    "unfinished ('running' in a database: its job was killed or is still going)\n"
    "and missing, then each run not done with its shard, its parameters and its\n"
    "error or holder, and the shards to run again as a job-array list, with the\n"
    "sbatch line that reruns them (docs/cluster.md). A run done in any database\n"
    "is done.\n"
    "\n"
    "options:\n"
    "  --set key=value   an override the sweep was run with (repeatable)\n"
    "  --shards N        the sweep's number of shards (default: read from the\n"
    "                    databases' names, NAME.shard-K-of-N.db, when they say one N)\n"
    "  --array           print only the shards to run again (\"3-5,7\"), nothing\n"
    "                    when the sweep is complete: sbatch --array=$(covshift status\n"
    "                    ... --array) ...\n"
    "  -h, --help        this text\n"
    "\n"
    "exit status: 0 every run done, 1 some run is not done (or I/O error), 2 bad\n"
    "input.\n";

static const struct option cs_status_options[] = {
    {"set", required_argument, NULL, 's'},
    {"shards", required_argument, NULL, 'n'},
    {"array", no_argument, NULL, 'a'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_status(int argc, char **argv)
{
    const char **sets = cs_calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0, status = CS_EXIT_OK;
    cs_status_opts o = {.out = stdout};
    cs_experiment *e = NULL;
    if (!sets)
        return cs_cli_fail("status", cs_error_set(CS_ENOMEM, "out of memory"));
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":h", cs_status_options, NULL)) != -1) {
        switch (c) {
        case 's': sets[nsets++] = optarg; break;
        case 'n': {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || n < 1 || n > CS_SHARD_MAX) {
                char got[CS_TEXT_ESCAPED_SIZE(64)];
                fprintf(stderr, "covshift status: --shards: expected an integer in 1..%d, got "
                                "'%s'\n",
                        CS_SHARD_MAX, cs_text_escape(got, sizeof got, optarg));
                status = CS_EXIT_USAGE;
                goto done;
            }
            o.shards = (int)n;
            break;
        }
        case 'a': o.array_only = 1; break;
        case 'h': fputs(cs_status_usage, stdout); goto done;
        default: status = cs_cli_bad_option("status", c, argv); goto done;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "covshift status: expected an experiment FILE and at least one DB, got "
                        "%d paths\n\n%s",
                argc - optind, cs_status_usage);
        status = CS_EXIT_USAGE;
        goto done;
    }
    int rc = cs_experiment_load(&e, argv[optind]);
    for (int i = 0; rc == CS_OK && i < nsets; i++)
        rc = cs_override_apply(e, sets[i]);
    if (rc != CS_OK) {
        status = cs_cli_fail("status", rc);
        goto done;
    }
    o.dbs = (const char *const *)argv + optind + 1;
    o.ndbs = (size_t)(argc - optind - 1);
    cs_status_summary sum;
    if ((rc = cs_status_run(e, &o, &sum)) != CS_OK)
        status = cs_cli_fail("status", rc);
    else if (sum.done < sum.total)
        status = CS_EXIT_FAIL;
done:
    cs_experiment_free(e);
    cs_free(sets);
    return status;
}
