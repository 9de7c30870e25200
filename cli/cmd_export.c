/* covshift export: a table of a results database as CSV or JSON
 * (docs/database.md, exporting). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_axis.h"
#include "cs_cli.h"
#include "cs_error.h"
#include "cs_experiment.h"
#include "cs_export.h"
#include "cs_store.h"
#include "cs_text.h"

static const char *const cs_export_usage =
    "usage: covshift export DB [--format csv|json] [--table T] [--where key=value ...]\n"
    "\n"
    "Writes the table or view T of the results database DB (default run_params:\n"
    "every run with its parameters) to stdout as CSV (a header line, NULL as an\n"
    "empty field) or JSON (an array of objects, NULL as null). Reals are written\n"
    "with the fewest digits (at most 17) that read back as the same double. DB is\n"
    "only read: it may be read-only or of an older schema version.\n"
    "\n"
    "options:\n"
    "  --format F        csv (default) or json\n"
    "  --table T         a table or view of the schema (docs/database.md), one of:\n"
    "                    %s\n"
    "  --where key=v     only rows of the runs whose parameter key has the value v,\n"
    "                    or one of a list v1,v2 or range a..b as in an experiment\n"
    "                    file (--where depth=10,20 --where norm=batch); key is a run\n"
    "                    parameter, experiment, status or run_key; repeatable, all\n"
    "                    must hold\n"
    "  -h, --help        this text\n"
    "\n"
    "Text goes out as stored; on a terminal, CSV shows control bytes escaped.\n";

static const struct option cs_export_options[] = {
    {"format", required_argument, NULL, 'f'},
    {"table", required_argument, NULL, 't'},
    {"where", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void cs_export_print_usage(FILE *out)
{
    char names[1024] = "";
    cs_export_names(names, sizeof names);
    fprintf(out, cs_export_usage, names);
}

/* Parses "key=value" into *f: a run parameter's values (cs_axis_parse, as
 * in an experiment file) into axis, or a text key's comma-separated texts
 * into a cs_malloc'd copy in *texts_buf with pointers in *texts. */
static int cs_export_parse_where(const char *arg, cs_export_filter *f, cs_axis *axis,
                                 char **texts_buf, const char ***texts)
{
    memset(f, 0, sizeof *f);
    const char *eq = strchr(arg, '=');
    char key[64];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key)
        return cs_error_set(CS_EINVAL, "--where: expected key=value, got '%.64s'", arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
    const char *value = eq + 1;
    const cs_param *param = cs_param_find(key);
    if (param) {
        int rc = cs_axis_parse(axis, param, value);
        if (rc != CS_OK)
            return cs_error_prefix(rc, "--where: ");
        f->key = param->name;
        f->param = param;
        f->values = axis->values;
        f->count = axis->count;
        return CS_OK;
    }
    if (!cs_export_is_text_key(key)) {
        const char *near = cs_experiment_nearest_key(key);
        return cs_error_set(CS_EINVAL,
                            "--where: '%s' is not a run parameter, experiment, status or "
                            "run_key%s%s%s",
                            key, near ? " (did you mean '" : "", near ? near : "",
                            near ? "'?)" : "");
    }
    size_t len = strlen(value);
    if (!(*texts_buf = cs_malloc(len + 1)) || !(*texts = cs_calloc(len / 2 + 2, sizeof **texts)))
        return cs_error_set(CS_ENOMEM, "out of memory");
    memcpy(*texts_buf, value, len + 1);
    size_t n = 0;
    for (char *item = *texts_buf;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *t = cs_text_trim(item);
        if (!*t)
            return cs_error_set(CS_EINVAL, "--where %s: an empty value in '%.64s'", key, value);
        (*texts)[n++] = t;
        if (!comma)
            break;
        item = comma + 1;
    }
    f->key = cs_export_is_text_key(key) ? (strcmp(key, "experiment") == 0 ? "experiment"
                                           : strcmp(key, "status") == 0   ? "status"
                                                                          : "run_key")
                                        : key;
    f->texts = *texts;
    f->count = n;
    return CS_OK;
}

int cmd_export(int argc, char **argv)
{
    int status = CS_EXIT_OK, nwhere = 0;
    const char **where = cs_calloc((size_t)argc + 1, sizeof *where);
    cs_export_filter *filters = cs_calloc((size_t)argc + 1, sizeof *filters);
    cs_axis *axes = cs_calloc((size_t)argc + 1, sizeof *axes);
    char **texts_buf = cs_calloc((size_t)argc + 1, sizeof *texts_buf);
    const char ***texts = cs_calloc((size_t)argc + 1, sizeof *texts);
    cs_store *store = NULL;
    cs_export_opts o = {.format = CS_EXPORT_CSV};
    if (!where || !filters || !axes || !texts_buf || !texts) {
        status = cs_cli_fail("export", cs_error_set(CS_ENOMEM, "out of memory"));
        goto done;
    }
    optind = 1;
    opterr = 0; /* our messages name the command */
    int c;
    while ((c = getopt_long(argc, argv, ":h", cs_export_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                o.format = CS_EXPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                o.format = CS_EXPORT_JSON;
            else {
                char got[CS_TEXT_ESCAPED_SIZE(64)];
                fprintf(stderr, "covshift export: --format: expected csv or json, got '%s'\n",
                        cs_text_escape(got, sizeof got, optarg));
                status = CS_EXIT_USAGE;
                goto done;
            }
            break;
        case 't': o.table = optarg; break;
        case 'w': where[nwhere++] = optarg; break;
        case 'h': cs_export_print_usage(stdout); goto done;
        default: status = cs_cli_bad_option("export", c, argv); goto done;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "covshift export: expected one database path, got %d\n\n", argc - optind);
        cs_export_print_usage(stderr);
        status = CS_EXIT_USAGE;
        goto done;
    }
    int rc = CS_OK;
    for (int i = 0; rc == CS_OK && i < nwhere; i++)
        rc = cs_export_parse_where(where[i], &filters[i], &axes[i], &texts_buf[i], &texts[i]);
    o.filters = filters;
    o.nfilters = (size_t)nwhere;
    o.escape_controls = o.format == CS_EXPORT_CSV && isatty(STDOUT_FILENO);
    if (rc == CS_OK)
        rc = cs_store_open_readonly(&store, argv[optind]);
    int64_t rows = 0;
    if (rc == CS_OK) {
        /* rows go out in large blocks */
        static char buffer[1 << 16];
        setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
        rc = cs_export_write(store, &o, stdout, &rows);
    }
    if (rc != CS_OK)
        status = cs_cli_fail("export", rc);
done:
    cs_store_close(store);
    for (int i = 0; axes && i < nwhere; i++) {
        cs_axis_clear(&axes[i]);
        cs_free(texts_buf[i]);
        cs_free(texts[i]);
    }
    cs_free(where);
    cs_free(filters);
    cs_free(axes);
    cs_free(texts_buf);
    cs_free(texts);
    return status;
}
