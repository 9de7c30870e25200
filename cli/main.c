/* covshift: the command table and dispatch. The CLI only parses and calls
 * sim/; every subcommand lives in its own cmd_<name>.c. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

#include "cs_blas.h"
#include "cs_cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} cs_command;

static const cs_command cs_commands[] = {
    {"run", cmd_run, "run an experiment file into a results database"},
    {"list", cmd_list, "list the experiments and runs in a results database"},
    {"worksheet", cmd_worksheet, "reproduce the batch-norm worksheet (summaries and figures)"},
    {"plot", cmd_plot, "draw the standard figures of a results database"},
    {"report", cmd_report, "write report.md: parameters, drift table and figures"},
    {"merge", cmd_merge, "merge the shard databases of a sweep into one"},
    {"status", cmd_status, "which runs of a sweep are done, failed or missing across databases"},
    {"export", cmd_export, "write a table of a results database as CSV or JSON"},
};
#define CS_NCOMMANDS (sizeof cs_commands / sizeof cs_commands[0])

static void cs_usage(FILE *out)
{
    fprintf(out,
            "usage: covshift <command> [options]\n"
            "       covshift <command> --help\n"
            "       covshift --version\n\n"
            "covshift builds deep stacks of randomly initialised dense layers, feeds them\n"
            "batches from a distribution A and then a shifted distribution B, and records\n"
            "per-layer activation statistics (with and without batch norm) into SQLite.\n\n"
            "commands:\n");
    for (size_t i = 0; i < CS_NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", cs_commands[i].name, cs_commands[i].help);
    fputc('\n', out);
    cs_cli_print_exit_statuses(out);
    fprintf(out, "\nStart with: covshift run experiments/quickstart.ini\n");
}

int main(int argc, char **argv)
{
    /* Before anything uses BLAS: OpenBLAS picks its kernel when it loads. */
    cs_blas_ensure_kernel(argv);
    /* GSL's default handler aborts the process on any error; every GSL
     * status is checked instead, so a failure fails one run of a sweep. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        cs_usage(stderr);
        return CS_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < CS_NCOMMANDS; i++)
                if (strcmp(argv[2], cs_commands[i].name) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return cs_commands[i].fn(2, args);
                }
        }
        cs_usage(stdout);
        return CS_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("covshift %s\nBLAS: %s\n", cs_cli_version(), cs_blas_description());
        return CS_EXIT_OK;
    }
    for (size_t i = 0; i < CS_NCOMMANDS; i++)
        if (strcmp(name, cs_commands[i].name) == 0)
            return cs_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "covshift: '%s' is not a command\n\n", name);
    cs_usage(stderr);
    return CS_EXIT_USAGE;
}
