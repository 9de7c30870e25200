/* Argument parsing shared by covshift plot and covshift report (see
 * cs_plot_cli.h). */
#include "cs_plot_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_cli.h"
#include "cs_error.h"

/* Appends the run ids of "3,4,7" (or one id) to cli. A run id is a
 * positive integer (runs.id, AUTOINCREMENT from 1). Returns 0 or -1 when
 * the word is not a list of ids. */
static int cs_plot_cli_add_runs(cs_plot_cli *cli, const char *word)
{
    const char *p = word;
    do {
        char *end = NULL;
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        long long id = strtoll(p, &end, 10);
        if (errno == ERANGE || id <= 0 || (*end && *end != ','))
            return -1;
        int64_t *grown =
            cs_realloc_n(cli->run_ids, sizeof *grown, cli->options.n_run_ids + 1);
        if (!grown)
            return -1;
        cli->run_ids = grown;
        cli->run_ids[cli->options.n_run_ids++] = id;
        p = *end ? end + 1 : end;
    } while (*p);
    cli->options.run_ids = cli->run_ids;
    return 0;
}

int cs_plot_cli_parse(cs_plot_cli *cli, const char *cmd, const char *optstring,
                      const struct option *table, const char *usage, int argc, char **argv)
{
    memset(cli, 0, sizeof *cli);
    cli->options.format = CS_PLOT_PNG;
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, optstring, table, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            cs_plot_cli_free(cli);
            return CS_EXIT_OK;
        case 'e':
            cli->options.experiment = optarg;
            break;
        case 'r':
            if (cs_plot_cli_add_runs(cli, optarg) != 0) {
                fprintf(stderr, "covshift %s: --run takes run ids (positive integers, or a "
                                "list 3,4,7), got '%s'\n",
                        cmd, optarg);
                cs_plot_cli_free(cli);
                return CS_EXIT_USAGE;
            }
            break;
        case 'f':
            if (cs_plot_parse_format(optarg, &cli->options.format) != CS_OK) {
                cs_plot_cli_free(cli);
                return cs_cli_fail(cmd, CS_EINVAL);
            }
            break;
        case 'o':
            cli->options.out_dir = optarg;
            break;
        default:
            cs_plot_cli_free(cli);
            return cs_cli_bad_option(cmd, c, argv);
        }
    }
    if (optind != argc - 1) {
        if (optind == argc)
            fprintf(stderr, "covshift %s: expected a database path\n\n%s", cmd, usage);
        else
            fprintf(stderr, "covshift %s: expected one database path, got %d arguments\n\n%s",
                    cmd, argc - optind, usage);
        cs_plot_cli_free(cli);
        return CS_EXIT_USAGE;
    }
    cli->options.db = argv[optind];
    return -1;
}

void cs_plot_cli_free(cs_plot_cli *cli)
{
    cs_free(cli->run_ids);
    cli->run_ids = NULL;
    cli->options.run_ids = NULL;
    cli->options.n_run_ids = 0;
}
