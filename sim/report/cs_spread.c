/* Mean ± sd over seeds (see cs_spread.h). */
#include "cs_spread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"

void cs_spread_add(cs_spread *s, double x)
{
    if (isnan(x))
        return;
    /* Welford 1962: mean_n = mean_{n-1} + (x - mean_{n-1}) / n,
     * m2_n = m2_{n-1} + (x - mean_{n-1}) (x - mean_n) */
    s->n++;
    double delta = x - s->mean;
    s->mean += delta / s->n;
    s->m2 += delta * (x - s->mean);
}

double cs_spread_sd(const cs_spread *s)
{
    return s->n > 1 ? sqrt(s->m2 / (s->n - 1)) : 0.0;
}

void cs_spread_put(FILE *f, const cs_spread *s, int seeds, const char *format)
{
    if (s->n == 0) {
        fputs(" n/a |", f);
        return;
    }
    fputc(' ', f);
    fprintf(f, format, s->mean);
    if (s->n > 1)
        fprintf(f, " ± %.2g", cs_spread_sd(s));
    if (s->n < seeds)
        fprintf(f, " (%d of %d)", s->n, seeds);
    fputs(" |", f);
}

/* What one group holds while its rows are read. */
typedef struct {
    char *signature; /* cs_malloc'd */
    char *cells;     /* its leading cells, rendered from its first row */
    size_t cells_size;
    int seeds;
    cs_spread values[CS_SPREAD_MAX_VALUES];
} cs_spread_group;

static void cs_spread_group_clear(cs_spread_group *g)
{
    cs_free(g->signature);
    free(g->cells); /* open_memstream's buffer */
    memset(g, 0, sizeof *g);
}

static void cs_spread_group_flush(const cs_spread_rows *spec, cs_spread_group *g, FILE *f)
{
    fputs(g->cells ? g->cells : "|", f);
    fprintf(f, " %d |", g->seeds);
    for (int k = 0; k < spec->nvalues; k++)
        cs_spread_put(f, &g->values[k], g->seeds, spec->formats[k]);
    fputc('\n', f);
}

/* Ends the current seed of g: its values into the spreads. */
static void cs_spread_group_seed(const cs_spread_rows *spec, cs_spread_group *g, const cs_query *q)
{
    double values[CS_SPREAD_MAX_VALUES];
    if (spec->seed)
        spec->seed(spec->ctx, values);
    else
        for (int k = 0; k < spec->nvalues; k++)
            values[k] = cs_query_double(q, spec->first_value + k);
    for (int k = 0; k < spec->nvalues; k++)
        cs_spread_add(&g->values[k], values[k]);
    g->seeds++;
}

int cs_spread_rows_print(const cs_spread_rows *spec, cs_query *q, FILE *f, int *rows)
{
    cs_spread_group g;
    memset(&g, 0, sizeof g);
    int rc = CS_OK, row = 0, printed = 0, have_seed = 0;
    int64_t seed = 0;
    while ((rc = cs_query_step(q, &row)) == CS_OK && row) {
        const char *signature = cs_query_text(q, 0);
        if (!signature)
            signature = "";
        int64_t s = cs_query_int(q, 1);
        int same_group = g.signature && strcmp(g.signature, signature) == 0;
        /* a row of a new seed or group ends the seed before it (with the
         * callbacks, whose rows were taken already; without, one row is
         * one seed and is taken now) */
        if (spec->row && have_seed && (!same_group || s != seed)) {
            cs_spread_group_seed(spec, &g, q);
            have_seed = 0;
        }
        if (!same_group) {
            if (g.signature) {
                cs_spread_group_flush(spec, &g, f);
                printed++;
            }
            cs_spread_group_clear(&g);
            size_t len = strlen(signature);
            FILE *cells = NULL;
            if (!(g.signature = cs_malloc(len + 1)) ||
                !(cells = open_memstream(&g.cells, &g.cells_size))) {
                rc = cs_error_set(CS_ENOMEM, "out of memory writing a report table");
                break;
            }
            memcpy(g.signature, signature, len + 1);
            spec->cells(cells, q, spec->ctx);
            fclose(cells);
        }
        if (spec->row) {
            spec->row(q, spec->ctx);
            have_seed = 1;
            seed = s;
        } else {
            cs_spread_group_seed(spec, &g, q);
        }
    }
    if (rc == CS_OK && g.signature) {
        if (spec->row && have_seed)
            cs_spread_group_seed(spec, &g, NULL);
        cs_spread_group_flush(spec, &g, f);
        printed++;
    }
    cs_spread_group_clear(&g);
    if (rows)
        *rows = printed;
    return rc;
}
