/* covshift merge: shard databases joined into one (docs/design.md §8,
 * docs/cluster.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_cli.h"
#include "cs_error.h"
#include "cs_merge.h"

static const char *const cs_merge_usage =
    "usage: covshift merge OUT.db SHARD.db... [--quiet]\n"
    "\n"
    "Merges the results databases SHARD.db (the shards of a sweep, written by\n"
    "covshift run --shard K/N on each node's local disk) into OUT.db, which is\n"
    "created if missing. Experiments are matched by name and config text, runs\n"
    "by run_key: a run done in two shards is kept once, a done run beats a failed\n"
    "one, and 'running' runs (their job was killed, or is still going) are not\n"
    "carried over; every result table comes along. Each shard is merged in one\n"
    "transaction and recorded in the tables merges and merge_shards (file, hosts,\n"
    "revisions, BLAS core, counts), so merging again, after more shards are done\n"
    "or after a merge was killed, is safe and goes on from where it stopped.\n"
    "Shards are read only, one at a time, so any number can be merged.\n"
    "Before anything is written every shard is checked: a shard of another schema\n"
    "version, or whose experiment has the name of another one but none of its\n"
    "configs (another sweep), is refused naming the file (exit 2).\n"
    "\n"
    "options:\n"
    "  --quiet      no progress line and no summary on stderr\n"
    "  -h, --help   this text\n";

static const struct option cs_merge_options[] = {
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The command line as one string, for the merges row. */
static char *cs_merge_command_line(int argc, char **argv)
{
    size_t len = strlen("covshift") + 1; /* argv fits in ARG_MAX: no overflow */
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = cs_malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "covshift");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int cmd_merge(int argc, char **argv)
{
    int quiet = 0;
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":hq", cs_merge_options, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'h': fputs(cs_merge_usage, stdout); return CS_EXIT_OK;
        default: return cs_cli_bad_option("merge", c, argv);
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "covshift merge: expected OUT.db and at least one SHARD.db, got %d "
                        "paths\n\n%s",
                argc - optind, cs_merge_usage);
        return CS_EXIT_USAGE;
    }
    char *command_line = cs_merge_command_line(argc, argv);
    if (!command_line)
        return cs_cli_fail("merge", cs_error_set(CS_ENOMEM, "out of memory"));
    cs_merge_opts o = {
        .out_path = argv[optind],
        .shards = (const char *const *)argv + optind + 1,
        .nshards = (size_t)(argc - optind - 1),
        .command_line = command_line,
        .log = stderr,
        .progress = !quiet && isatty(STDERR_FILENO),
    };
    cs_merge_summary sum;
    int rc = cs_merge_run(&o, &sum);
    cs_free(command_line);
    if (rc != CS_OK)
        return cs_cli_fail("merge", rc);
    if (!quiet) {
        double per_shard = sum.shards ? 1e3 * sum.seconds / (double)sum.shards : 0;
        fprintf(stderr,
                "merged %zu shards into %s: %zu runs carried over (%zu done, %zu failed), "
                "%zu already there, %zu unfinished left out; %lld result rows in %.2f s "
                "(%.1f ms per shard",
                sum.shards, o.out_path, sum.runs_done + sum.runs_failed, sum.runs_done,
                sum.runs_failed, sum.runs_present, sum.runs_unfinished,
                (long long)sum.result_rows, sum.seconds, per_shard);
        if (sum.result_rows >= 1000)
            fprintf(stderr, ", %.2f s per million rows",
                    sum.seconds / ((double)sum.result_rows / 1e6));
        fprintf(stderr, "; %.2f s of it checking every shard first)\n", sum.precheck_seconds);
    }
    return CS_EXIT_OK;
}
