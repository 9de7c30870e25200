/* covshift list: the experiments and runs of a results database with their
 * status, a column per parameter that varies, and filters on status and
 * parameters (docs/design.md §3; docs/database.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_cli.h"
#include "cs_error.h"
#include "cs_store.h"
#include "cs_text.h"
#include "cs_where.h"

static const char *const cs_list_usage =
    "usage: covshift list DB [--status done|failed|running] [--where COND ...]\n"
    "\n"
    "Prints each experiment in the results database DB (name, when, covshift\n"
    "version, runs by status), the parameters its runs share, and a table of\n"
    "its runs: id, status, condition, a column per other parameter that varies\n"
    "among them, wall time and, for failed runs, the error; for each running\n"
    "run the process that holds it and whether it is still alive (a run whose\n"
    "holder has ended is redone by the next covshift run). DB is only read:\n"
    "it may be on a read-only mount or of an older schema version. Text from\n"
    "DB is printed with control characters escaped (\\x1b, \\n, ...).\n"
    "For anything else, query DB with sqlite3 (see scripts/queries/).\n"
    "\n"
    "options:\n"
    "  --status S   only runs with status S: done, failed or running\n"
    "  --where C    only runs where C holds: KEY OP VALUE with KEY a run\n"
    "               parameter (covshift run --help), OP one of = != < <= > >=\n"
    "               (names and true/false: = and != only) and VALUE as in an\n"
    "               experiment file, e.g. --where batch=16 --where 'depth>=50';\n"
    "               repeatable (all must hold); != keeps runs where KEY has no\n"
    "               meaning (bn_phase_b without batch norm), the others drop them\n"
    "  -h, --help   this text\n";

static const struct option cs_list_options[] = {
    {"status", required_argument, NULL, 's'},
    {"where", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_list(int argc, char **argv)
{
    cs_where *where = cs_calloc((size_t)argc + 1, sizeof *where);
    cs_store_list_filter filter = {NULL, where, 0};
    cs_store *store = NULL;
    int status = CS_EXIT_OK;
    if (!where) {
        status = cs_cli_fail("list", CS_ENOMEM);
        goto done;
    }
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":h", cs_list_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(cs_list_usage, stdout); goto done;
        case 's':
            if (strcmp(optarg, "done") != 0 && strcmp(optarg, "failed") != 0 &&
                strcmp(optarg, "running") != 0) {
                char got[CS_TEXT_ESCAPED_SIZE(64)];
                fprintf(stderr,
                        "covshift list: --status: expected done, failed or running, got '%s'\n",
                        cs_text_escape(got, sizeof got, optarg));
                status = CS_EXIT_USAGE;
                goto done;
            }
            filter.status = optarg;
            break;
        case 'w': {
            int rc = cs_where_parse(optarg, &where[filter.nwhere]);
            if (rc != CS_OK) {
                status = cs_cli_fail("list", rc);
                goto done;
            }
            filter.nwhere++;
            break;
        }
        default: status = cs_cli_bad_option("list", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "covshift list: expected one database path\n\n%s", cs_list_usage);
        status = CS_EXIT_USAGE;
        goto done;
    }
    int rc = cs_store_open_readonly(&store, argv[optind]);
    if (rc == CS_OK)
        rc = cs_store_list(store, &filter, stdout);
    if (rc != CS_OK)
        status = cs_cli_fail("list", rc);
done:
    cs_store_close(store);
    cs_free(where);
    return status;
}
