/* covshift list: the experiments and runs of a results database with their
 * status (docs/design.md §3). */
#include <getopt.h>
#include <stdio.h>

#include "cs_cli.h"
#include "cs_error.h"
#include "cs_store.h"

static const char *const cs_list_usage =
    "usage: covshift list DB\n"
    "\n"
    "Prints each experiment in the results database DB (name, when, covshift\n"
    "version) and its runs: id, status (done, failed, running), the main\n"
    "parameters, wall time and, for failed runs, the error; for each running\n"
    "run the process that holds it and whether it is still alive (a run whose\n"
    "holder has ended is redone by the next covshift run). DB is only read:\n"
    "it may be on a read-only mount or of an older schema version. Text from\n"
    "DB is printed with control characters escaped (\\x1b, \\n, ...).\n"
    "For anything else, query DB with sqlite3 (see scripts/queries/).\n"
    "\n"
    "options:\n"
    "  -h, --help   this text\n";

static const struct option cs_list_options[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_list(int argc, char **argv)
{
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":h", cs_list_options, NULL)) != -1) {
        if (c == 'h') {
            fputs(cs_list_usage, stdout);
            return CS_EXIT_OK;
        }
        return cs_cli_bad_option("list", c, argv);
    }
    if (optind != argc - 1) {
        fprintf(stderr, "covshift list: expected one database path\n\n%s", cs_list_usage);
        return CS_EXIT_USAGE;
    }
    cs_store *store = NULL;
    int rc = cs_store_open_readonly(&store, argv[optind]);
    if (rc == CS_OK)
        rc = cs_store_list(store, stdout);
    cs_store_close(store);
    return rc == CS_OK ? CS_EXIT_OK : cs_cli_fail("list", rc);
}
