/* covshift worksheet: the batch-norm worksheet (docs/worksheet.md)
 * reproduced in C, its summaries printed and its figures drawn (docs/design.md §1
 * Distributions, images; sim/report/cs_worksheet.h). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_cli.h"
#include "cs_error.h"
#include "cs_randomstate.h"
#include "cs_worksheet.h"

static const char *const cs_worksheet_usage =
    "usage: covshift worksheet [--seed N] [--stream numpy|gsl] [--out DIR]\n"
    "\n"
    "Reproduces the batch-norm worksheet: 30 random 32 x 32 images (randn * k + c,\n"
    "k in [0, 5), c in [0, 60) per image), then\n"
    "  case 1   min-max per pixel over the 30 images\n"
    "  case 2   standardisation per pixel over the 30 images\n"
    "  case 3a  batch norm of the first 10 images by the worksheet's formulas\n"
    "  case 3b  the same through covshift's batch-norm kernel (eps 1e-8)\n"
    "and prints the worksheet's summary blocks (shape, max, min, mean, variance)\n"
    "and the largest difference between 3a and 3b. With the default stream, numpy,\n"
    "the images are the notebook's own (np.random.seed(N), NumPy's legacy\n"
    "RandomState reproduced on MT19937) and the blocks of the images and cases 1,\n"
    "2 and 3a are what the notebook prints, digit for digit.\n"
    "\n"
    "Writes four figures to DIR (image 0, image 4, histogram of all values):\n"
    "  worksheet_raw.png  worksheet_case1_minmax.png\n"
    "  worksheet_case2_standardized.png  worksheet_case3_batchnorm.png\n"
    "Needs gnuplot (Debian package gnuplot-nox).\n"
    "\n"
    "options:\n"
    "  -s, --seed N   random seed, a non-negative integer (default 678, as the\n"
    "                 worksheet's np.random.seed(678)); below 2^32 for numpy\n"
    "      --stream S numpy (default): NumPy's legacy stream, the notebook's numbers;\n"
    "                 gsl: covshift's stream (seed, worksheet, 0), as input = images\n"
    "  -o, --out DIR  directory for the figures, created if missing\n"
    "                 (default results/worksheet)\n"
    "  -h, --help     this text\n";

static const struct option cs_worksheet_options[] = {
    {"seed", required_argument, NULL, 's'},
    {"stream", required_argument, NULL, 'S'},
    {"out", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A seed is digits only: strtoull alone would accept "-1", " 5" and "5x". */
static int cs_worksheet_parse_seed(const char *s, uint64_t *seed)
{
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *seed = (uint64_t)v;
    return 1;
}

int cmd_worksheet(int argc, char **argv)
{
    uint64_t seed = CS_WORKSHEET_SEED;
    cs_worksheet_stream stream = CS_WORKSHEET_NUMPY;
    const char *dir = CS_WORKSHEET_DIR;
    optind = 1;
    opterr = 0; /* our messages name the command: "covshift worksheet: ..." */
    int c;
    while ((c = getopt_long(argc, argv, ":s:o:h", cs_worksheet_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(cs_worksheet_usage, stdout);
            return CS_EXIT_OK;
        case 's':
            if (!cs_worksheet_parse_seed(optarg, &seed)) {
                fprintf(stderr,
                        "covshift worksheet: --seed must be a non-negative integer below "
                        "2^64, got '%s'\n\n%s",
                        optarg, cs_worksheet_usage);
                return CS_EXIT_USAGE;
            }
            break;
        case 'S':
            if (strcmp(optarg, "numpy") == 0) {
                stream = CS_WORKSHEET_NUMPY;
            } else if (strcmp(optarg, "gsl") == 0) {
                stream = CS_WORKSHEET_GSL;
            } else {
                fprintf(stderr, "covshift worksheet: --stream must be numpy or gsl, got '%s'\n\n%s",
                        optarg, cs_worksheet_usage);
                return CS_EXIT_USAGE;
            }
            break;
        case 'o':
            dir = optarg;
            break;
        case ':':
            fprintf(stderr, "covshift worksheet: option '%s' needs a value\n\n%s",
                    argv[optind - 1], cs_worksheet_usage);
            return CS_EXIT_USAGE;
        default:
            fprintf(stderr, "covshift worksheet: unknown option '%s'\n\n%s", argv[optind - 1],
                    cs_worksheet_usage);
            return CS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "covshift worksheet: unexpected argument '%s'\n\n%s", argv[optind],
                cs_worksheet_usage);
        return CS_EXIT_USAGE;
    }

    if (stream == CS_WORKSHEET_NUMPY && seed > CS_RANDOMSTATE_SEED_MAX) {
        fprintf(stderr,
                "covshift worksheet: --seed %llu is out of range for --stream numpy: "
                "np.random.seed takes 0 .. 4294967295\n\n%s",
                (unsigned long long)seed, cs_worksheet_usage);
        return CS_EXIT_USAGE;
    }
    /* A bad --out is refused before anything is computed or printed. */
    int rc = cs_worksheet_check_out(dir);
    if (rc != CS_OK)
        return cs_cli_fail("worksheet", rc);
    cs_worksheet *ws = NULL;
    rc = cs_worksheet_alloc(&ws);
    if (rc == CS_OK)
        rc = cs_worksheet_compute(ws, seed, stream);
    if (rc == CS_OK)
        rc = cs_worksheet_report(ws, stdout, dir);
    cs_worksheet_free(ws);
    return rc == CS_OK ? CS_EXIT_OK : cs_cli_fail("worksheet", rc);
}
