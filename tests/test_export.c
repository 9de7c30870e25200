/* covshift export (docs/database.md, exporting): every table and view
 * written as CSV and as JSON and read back by parsers of this test's own
 * (RFC 4180, RFC 8259) gives the database's values: NULL as NULL, every
 * integer, every REAL bit for bit (infinities, -0, the smallest
 * subnormal, 0.1 included) and still a REAL, texts byte for byte (commas,
 * quotes, newlines, UTF-8, control bytes). --where keeps exactly the rows
 * of the runs SQL picks; a table or key outside the schema is refused;
 * the command prints what the library writes. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_export.h"
#include "cs_param.h"
#include "cs_store.h"

static char *tmp, db[4096];

/* Text no format may bend: a comma, quotes, CR LF, LF, a tab, ESC, DEL,
 * a backslash, UTF-8 (é, 😀), a C1 control (U+0085) and U+2028. */
static const char hostile[] = "a,b \"quoted\" line\r\nnext\nthird\ttab \x1b[31mred\x7f "
                              "back\\slash \xc3\xa9 \xf0\x9f\x98\x80 \xc2\x85 \xe2\x80\xa8 end";

/* Reals at the edges of %.17g and of the formats. */
static const double reals[] = {0.1, -0.0, 5e-324, 1.7976931348623157e308, 3.0, 1e22,
                               2.2250738585072014e-308, 123456789.125};

static int group_setup(void **state)
{
    (void)state;
    tmp = cs_test_mkdtemp();
    snprintf(db, sizeof db, "%s/x.db", tmp);
    char *out = NULL;
    int status = cs_test_shell(&out, "COVSHIFT_THREADS=1 '%s' run '%s/plot_claims.ini' --db '%s'"
                                     " --set seed=1 --set batch=8 --quiet",
                               CS_BINARY, CS_FIXTURES, db);
    if (status != 0)
        fail_msg("covshift run: %s", out);
    free(out);
    sqlite3 *c = cs_test_db(db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "UPDATE experiments SET command_line = ?1", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, hostile, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* the first rows of drift (by key) get the edge reals and infinities */
    assert_int_equal(sqlite3_prepare_v2(c,
                                        "UPDATE drift SET mean_shift = ?1, w1 = ?2 WHERE"
                                        " (run_id, layer, site) = (SELECT run_id, layer, site"
                                        " FROM drift ORDER BY run_id, layer, site LIMIT 1"
                                        " OFFSET ?3)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t n = sizeof reals / sizeof reals[0];
    for (size_t i = 0; i <= n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_double(st, 1, i < n ? reals[i] : INFINITY);
        sqlite3_bind_double(st, 2, i < n ? -reals[i] : -INFINITY);
        sqlite3_bind_int(st, 3, (int)i);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        assert_int_equal(sqlite3_changes(c), 1);
    }
    sqlite3_finalize(st);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cs_test_rmdir(tmp);
    free(tmp);
    return 0;
}

/* ---- parsed values ---- */

typedef struct {
    int kind; /* 0 null, 1 number, 2 text */
    char *text; /* the number's or the text's characters (NUL-terminated) */
    size_t len;
} value;

typedef struct {
    value *v;
    size_t n, cap;
    size_t ncols; /* values per row */
} table;

static void push(table *t, int kind, const char *s, size_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
    }
    value *v = &t->v[t->n++];
    v->kind = kind;
    v->text = malloc(len + 1);
    memcpy(v->text, s, len);
    v->text[len] = '\0';
    v->len = len;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
}

static char *slurp(FILE *f, size_t *len)
{
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* RFC 4180 with LF line ends: the header row's names, then values; an
 * unquoted empty field is NULL, a quoted one text, an unquoted one a
 * number when it parses as one entirely, else text. */
static void parse_csv(const char *s, size_t len, table *header, table *rows)
{
    size_t i = 0, col = 0;
    int in_header = 1;
    while (i < len) {
        table *t = in_header ? header : rows;
        if (s[i] == '"') {
            char *buf = malloc(len);
            size_t n = 0;
            for (i++;; i++) {
                assert_true(i < len);
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        buf[n++] = '"';
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[n++] = s[i];
            }
            push(t, 2, buf, n);
            free(buf);
        } else {
            size_t j = i;
            while (j < len && s[j] != ',' && s[j] != '\n')
                j++;
            if (j == i) {
                push(t, 0, "", 0);
            } else {
                char *end;
                char *field = strndup(s + i, j - i);
                strtod(field, &end);
                push(t, in_header || *end ? 2 : 1, field, j - i);
                free(field);
            }
            i = j;
        }
        col++;
        assert_true(i < len);
        if (s[i] == '\n') {
            if (in_header)
                rows->ncols = header->ncols = col;
            else if (col != rows->ncols)
                fail_msg("a CSV row has %zu fields, the header %zu", col, rows->ncols);
            in_header = 0;
            col = 0;
        } else {
            assert_int_equal(s[i], ',');
        }
        i++;
    }
}

/* The UTF-8 of code point cp into out; its length. */
static size_t utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* A JSON string at s[*i] (the opening quote), unescaped. */
static char *json_string(const char *s, size_t *i, size_t *n)
{
    assert_int_equal(s[*i], '"');
    char *buf = malloc(strlen(s + *i) + 1);
    *n = 0;
    for ((*i)++; s[*i] != '"'; (*i)++) {
        unsigned char c = (unsigned char)s[*i];
        if (c < 0x20)
            fail_msg("a raw control byte 0x%02x in a JSON string", c);
        if (c != '\\') {
            buf[(*n)++] = (char)c;
            continue;
        }
        char e = s[++(*i)];
        switch (e) {
        case '"': buf[(*n)++] = '"'; break;
        case '\\': buf[(*n)++] = '\\'; break;
        case '/': buf[(*n)++] = '/'; break;
        case 'n': buf[(*n)++] = '\n'; break;
        case 't': buf[(*n)++] = '\t'; break;
        case 'r': buf[(*n)++] = '\r'; break;
        case 'b': buf[(*n)++] = '\b'; break;
        case 'f': buf[(*n)++] = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            assert_int_equal(sscanf(s + *i + 1, "%4x", &cp), 1);
            *i += 4;
            *n += utf8(cp, buf + *n);
            break;
        }
        default: fail_msg("bad JSON escape \\%c", e);
        }
    }
    (*i)++;
    buf[*n] = '\0';
    return buf;
}

static void skip_ws(const char *s, size_t *i)
{
    while (s[*i] == ' ' || s[*i] == '\n' || s[*i] == '\r' || s[*i] == '\t')
        (*i)++;
}

/* An array of flat objects; names of the first object's keys into header
 * (every object must have the same keys in the same order). */
static void parse_json(const char *s, table *header, table *rows)
{
    size_t i = 0;
    skip_ws(s, &i);
    assert_int_equal(s[i++], '[');
    skip_ws(s, &i);
    int first = 1;
    while (s[i] != ']') {
        if (!first) {
            assert_int_equal(s[i++], ',');
            skip_ws(s, &i);
        }
        assert_int_equal(s[i++], '{');
        size_t col = 0;
        while (s[i] != '}') {
            if (col) {
                assert_int_equal(s[i++], ',');
            }
            size_t n;
            char *key = json_string(s, &i, &n);
            if (first)
                push(header, 2, key, n);
            else
                assert_string_equal(key, header->v[col].text);
            free(key);
            assert_int_equal(s[i++], ':');
            if (s[i] == '"') {
                char *text = json_string(s, &i, &n);
                push(rows, 2, text, n);
                free(text);
            } else if (strncmp(s + i, "null", 4) == 0) {
                push(rows, 0, "", 0);
                i += 4;
            } else {
                size_t j = i;
                while (s[j] && strchr("+-0123456789.eE", s[j]))
                    j++;
                assert_true(j > i);
                push(rows, 1, s + i, j - i);
                i = j;
            }
            col++;
        }
        i++;
        if (first)
            rows->ncols = header->ncols = col;
        else if (col != rows->ncols)
            fail_msg("a JSON object has %zu keys, the first %zu", col, rows->ncols);
        first = 0;
        skip_ws(s, &i);
    }
}

/* ---- the comparison ---- */

/* Exports table with opts into a file, parses it, and compares each value
 * with sqlite's own SELECT * of the table (same query, same order). */
static size_t export_and_compare(const char *name, cs_export_format format)
{
    cs_store *s = NULL;
    if (cs_store_open_readonly(&s, db) != CS_OK)
        fail_msg("%s", cs_error_message());
    FILE *f = tmpfile();
    cs_export_opts o = {.table = name, .format = format};
    int64_t nrows = 0;
    if (cs_export_write(s, &o, f, &nrows) != CS_OK)
        fail_msg("export %s: %s", name, cs_error_message());
    cs_store_close(s);
    size_t len;
    char *text = slurp(f, &len);
    fclose(f);
    table header = {0}, rows = {0};
    if (format == CS_EXPORT_CSV)
        parse_csv(text, len, &header, &rows);
    else
        parse_json(text, &header, &rows);
    free(text);

    sqlite3 *c = cs_test_db(db);
    sqlite3_stmt *st = NULL;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", name);
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    int ncols = sqlite3_column_count(st);
    if (header.ncols != (size_t)ncols && !(nrows == 0 && format == CS_EXPORT_JSON))
        fail_msg("%s: %zu columns exported, %d in the table", name, header.ncols, ncols);
    for (int c2 = 0; c2 < ncols && header.n; c2++)
        assert_string_equal(header.v[c2].text, sqlite3_column_name(st, c2));
    size_t r = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int col = 0; col < ncols; col++) {
            assert_true(r * (size_t)ncols + (size_t)col < rows.n);
            const value *v = &rows.v[r * (size_t)ncols + (size_t)col];
            const char *where = sqlite3_column_name(st, col);
            switch (sqlite3_column_type(st, col)) {
            case SQLITE_NULL:
                if (v->kind != 0)
                    fail_msg("%s row %zu %s: NULL came back as '%s'", name, r, where, v->text);
                break;
            case SQLITE_INTEGER: {
                long long want = sqlite3_column_int64(st, col);
                if (v->kind != 1 || strtoll(v->text, NULL, 10) != want || strpbrk(v->text, ".e"))
                    fail_msg("%s row %zu %s: integer %lld came back as '%s'", name, r, where,
                             want, v->text);
                break;
            }
            case SQLITE_FLOAT: {
                double want = sqlite3_column_double(st, col);
                double got = strtod(v->text, NULL);
                if (v->kind != 1 || memcmp(&got, &want, sizeof got) != 0 ||
                    !strpbrk(v->text, ".ei"))
                    fail_msg("%s row %zu %s: real %.17g came back as '%s'", name, r, where,
                             want, v->text);
                break;
            }
            default: {
                const char *want = (const char *)sqlite3_column_text(st, col);
                size_t n = (size_t)sqlite3_column_bytes(st, col);
                if (v->kind != 2 || v->len != n || memcmp(v->text, want, n) != 0)
                    fail_msg("%s row %zu %s: text '%s' came back as '%s'", name, r, where, want,
                             v->text);
            }
            }
        }
        r++;
    }
    sqlite3_finalize(st);
    assert_int_equal(r, (size_t)nrows);
    assert_int_equal(rows.n, r * (size_t)ncols);
    table_free(&header);
    table_free(&rows);
    return r;
}

static const char *const every_name[] = {
    "experiments", "runs",       "layer_stats",    "histograms",         "drift",
    "grad_stats",  "bn_noise",   "running_gap",    "merges",             "merge_shards",
    "run_params",  "drift_by_depth", "layer_stats_by_run", "grad_by_depth", "noise_by_depth",
    "running_gap_by_run",
};

static void test_csv_round_trips_every_table(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof every_name / sizeof every_name[0]; i++)
        total += export_and_compare(every_name[i], CS_EXPORT_CSV);
    print_message("csv: %zu rows of %zu tables and views read back exactly\n", total,
                  sizeof every_name / sizeof every_name[0]);
    assert_true(total > 5000);
}

static void test_json_round_trips_every_table(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof every_name / sizeof every_name[0]; i++)
        total += export_and_compare(every_name[i], CS_EXPORT_JSON);
    print_message("json: %zu rows read back exactly\n", total);
    assert_true(total > 5000);
}

/* What the library writes, with opts, as a string. */
static char *export_text(const cs_export_opts *o, int expect_rc)
{
    cs_store *s = NULL;
    assert_int_equal(cs_store_open_readonly(&s, db), CS_OK);
    FILE *f = tmpfile();
    int64_t nrows = 0;
    int rc = cs_export_write(s, o, f, &nrows);
    cs_store_close(s);
    if (rc != expect_rc)
        fail_msg("export returned %d (%s), want %d", rc, cs_error_message(), expect_rc);
    size_t len;
    char *text = slurp(f, &len);
    fclose(f);
    return text;
}

static void test_json_escapes_and_infinities(void **state)
{
    (void)state;
    cs_export_opts o = {.table = "experiments", .format = CS_EXPORT_JSON};
    char *text = export_text(&o, CS_OK);
    /* controls escaped, never raw; U+0085 and U+2028 as escapes */
    assert_non_null(strstr(text, "\\u000d\\nnext\\nthird\\ttab \\u001b[31mred\\u007f back\\\\slash "
                                 "\xc3\xa9 \xf0\x9f\x98\x80 \\u0085 \\u2028 end"));
    free(text);
    o.table = "drift";
    text = export_text(&o, CS_OK);
    assert_non_null(strstr(text, "\"mean_shift\":1e999"));
    assert_non_null(strstr(text, "\"w1\":-1e999"));
    assert_non_null(strstr(text, "\"mean_shift\":0.1,"));
    /* (SQLite keeps a REAL that is an integer as one on disk: -0.0 reads back 0.0) */
    assert_non_null(strstr(text, "\"mean_shift\":0.0,"));
    assert_non_null(strstr(text, "\"mean_shift\":3.0,"));
    assert_non_null(strstr(text, "\"mean_shift\":4.94065645841247e-324,"));
    free(text);
    o.format = CS_EXPORT_CSV;
    text = export_text(&o, CS_OK);
    assert_non_null(strstr(text, ",inf,"));
    assert_non_null(strstr(text, ",-inf,")); /* w1, before the columns of schema 4 */
    free(text);
    /* for a terminal, CSV shows control bytes escaped */
    o.table = "experiments";
    o.escape_controls = 1;
    text = export_text(&o, CS_OK);
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "\\x1b[31mred"));
    free(text);

    /* a byte that is not UTF-8 becomes U+FFFD in JSON */
    sqlite3 *c = cs_test_db(db);
    assert_int_equal(sqlite3_exec(c, "UPDATE experiments SET rng = 'ok' || x'ff' || 'ok'", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    o = (cs_export_opts){.table = "experiments", .format = CS_EXPORT_JSON};
    text = export_text(&o, CS_OK);
    assert_non_null(strstr(text, "\"rng\":\"ok\\ufffdok\""));
    free(text);
    assert_int_equal(sqlite3_exec(c, "UPDATE experiments SET rng = 'restored'", NULL, NULL, NULL),
                     SQLITE_OK);
}

/* The run_ids column (col) of CSV text, as a sorted, comma-joined list. */
static char *run_ids_of(const char *text, int col)
{
    table header = {0}, rows = {0};
    parse_csv(text, strlen(text), &header, &rows);
    char *out = calloc(rows.n * 12 + 2, 1);
    long prev = -1;
    for (size_t i = 0; i + (size_t)col < rows.n; i += rows.ncols) {
        long id = strtol(rows.v[i + (size_t)col].text, NULL, 10);
        if (id != prev) /* rows of a run are together */
            sprintf(out + strlen(out), "%s%ld", *out ? "," : "", id);
        prev = id;
    }
    table_free(&header);
    table_free(&rows);
    return out;
}

static char *sql_ids(const char *sql)
{
    sqlite3 *c = cs_test_db(db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    char *out = calloc(1 << 16, 1);
    while (sqlite3_step(st) == SQLITE_ROW)
        sprintf(out + strlen(out), "%s%lld", *out ? "," : "", sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    return out;
}

static void test_where_keeps_the_runs_sql_picks(void **state)
{
    (void)state;
    const cs_param *depth = cs_param_find("depth"), *norm = cs_param_find("norm"),
                   *dropout = cs_param_find("dropout"), *shuffle = cs_param_find("shuffle");
    cs_param_value batch_norm, zero = {.d = 0.0}, four = {.i = 4}, yes = {.i = 1};
    assert_int_equal(cs_param_parse(norm, "batch", &batch_norm), CS_OK);
    cs_export_filter f[3] = {
        {.key = "norm", .param = norm, .values = &batch_norm, .count = 1},
        {.key = "dropout", .param = dropout, .values = &zero, .count = 1},
        {.key = "depth", .param = depth, .values = &four, .count = 1},
    };
    cs_export_opts o = {.table = "layer_stats", .format = CS_EXPORT_CSV, .filters = f,
                        .nfilters = 3};
    char *text = export_text(&o, CS_OK);
    char *got = run_ids_of(text, 0);
    char *want = sql_ids("SELECT id FROM runs WHERE norm = 'batch' AND dropout = 0 AND depth = 4"
                         " ORDER BY id");
    assert_true(strlen(want) > 0);
    assert_string_equal(got, want);
    free(text);
    free(got);
    free(want);
    /* a list of values is any of them; the runs table itself; text keys */
    cs_param_value both[2] = {{.i = 0}, yes};
    const char *const statuses[] = {"done"};
    cs_export_filter g[2] = {
        {.key = "shuffle", .param = shuffle, .values = both, .count = 2},
        {.key = "status", .texts = statuses, .count = 1},
    };
    o = (cs_export_opts){.table = "runs", .format = CS_EXPORT_CSV, .filters = g, .nfilters = 2};
    text = export_text(&o, CS_OK);
    got = run_ids_of(text, 0);
    want = sql_ids("SELECT id FROM runs WHERE shuffle IN (0, 1) AND status = 'done' ORDER BY id");
    assert_string_equal(got, want);
    free(text);
    free(got);
    free(want);
    /* a table unrelated to runs takes no filter; no table outside the schema */
    o.table = "merges";
    free(export_text(&o, CS_EINVAL));
    assert_non_null(strstr(cs_error_message(), "not about runs"));
    o = (cs_export_opts){.table = "sqlite_master", .format = CS_EXPORT_CSV};
    free(export_text(&o, CS_EINVAL));
    assert_non_null(strstr(cs_error_message(), "expected one of: experiments, runs"));
    o.table = "runs; DROP TABLE runs";
    free(export_text(&o, CS_EINVAL));
    o.table = "RUNS";
    free(export_text(&o, CS_EINVAL));
}

/* covshift export prints what the library writes; bad input is exit 2. */
static void test_command_prints_the_same(void **state)
{
    (void)state;
    cs_export_opts o = {.table = "drift", .format = CS_EXPORT_JSON};
    char *want = export_text(&o, CS_OK);
    char *const argv[] = {CS_BINARY, "export", db, "--format", "json", "--table", "drift", NULL};
    cs_test_exit r = cs_test_exec(argv, 60);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, want);
    cs_test_exit_free(&r);
    free(want);

    char *const where[] = {CS_BINARY, "export", db, "--table", "drift", "--where",
                           "depth=4", "--where", "norm=batch", "--where", "seed=1..3", NULL};
    r = cs_test_exec(where, 60);
    assert_int_equal(r.code, 0);
    char *got = run_ids_of(r.out, 0);
    char *ids = sql_ids("SELECT id FROM runs WHERE depth = 4 AND norm = 'batch' ORDER BY id");
    assert_string_equal(got, ids);
    free(got);
    free(ids);
    cs_test_exit_free(&r);

    static const char *const bad[][2] = {
        {"--table", "nope"},      {"--where", "dpth=4"},     {"--where", "depth=zero"},
        {"--format", "xml"},      {"--where", "depth"},      {"--where", "status=,"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *const args[] = {CS_BINARY, "export", db, (char *)bad[i][0], (char *)bad[i][1], NULL};
        r = cs_test_exec(args, 60);
        if (r.code != 2 || r.out_lines != 0)
            fail_msg("export %s %s: exit %d, %zu lines out: %s", bad[i][0], bad[i][1], r.code,
                     r.out_lines, r.err);
        cs_test_exit_free(&r);
    }
    char *const none[] = {CS_BINARY, "export", "/nonexistent/x.db", NULL};
    r = cs_test_exec(none, 60);
    assert_int_equal(r.code, 2);
    cs_test_exit_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_round_trips_every_table),
        cmocka_unit_test(test_json_round_trips_every_table),
        cmocka_unit_test(test_json_escapes_and_infinities),
        cmocka_unit_test(test_where_keeps_the_runs_sql_picks),
        cmocka_unit_test(test_command_prints_the_same),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
