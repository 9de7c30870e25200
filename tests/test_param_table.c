/* The parameter table (sim/model/cs_param.c) against everything that must
 * agree with it: sim/store/schema.sql's runs columns and run_params view
 * (docs/design.md §3; docs/database.md is checked against schema.sql by
 * test_docs.sh, so the three cannot drift), the experiment parser and the
 * canonical text; a failure says which line to write where. */
#include "cs_test_util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_param.h"
#include "cs_params.h"

extern const char cs_schema_sql[]; /* sim/store/schema.sql, embedded by the build */

/* The runs columns that are not run parameters: the run's identity, its
 * state and its provenance. */
static const char *const bookkeeping[] = {
    "id",         "experiment_id", "run_key", "status", "params",      "started_at",
    "finished_at", "wall_s",       "error",   "git_revision", "host", "holder_host",
    "holder_pid", "holder_start",
};

/* schema.sql applied to a new in-memory database, with the first
 * occurrence of from replaced by to (both NULL: as it is). */
static sqlite3 *schema_db(const char *from, const char *to)
{
    size_t len = strlen(cs_schema_sql) + (to ? strlen(to) : 0) + 1;
    char *sql = malloc(len);
    assert_non_null(sql);
    const char *at = from ? strstr(cs_schema_sql, from) : NULL;
    if (from && !at)
        fail_msg("schema.sql has no '%s'", from);
    if (at)
        snprintf(sql, len, "%.*s%s%s", (int)(at - cs_schema_sql), cs_schema_sql, to,
                 at + strlen(from));
    else
        snprintf(sql, len, "%s", cs_schema_sql);
    sqlite3 *db = NULL;
    char *err = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("schema.sql does not build: %s", err ? err : "?");
    free(sql);
    return db;
}

/* pragma_table_info of table's column: 1 when found, with its declared
 * type, notnull and default ("" when none). */
static int column_info(sqlite3 *db, const char *table, const char *column, char *type,
                       size_t type_size, int *notnull, char *def, size_t def_size)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT type, \"notnull\", dflt_value FROM"
                                            " pragma_table_info(?1) WHERE name = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        snprintf(type, type_size, "%s", (const char *)sqlite3_column_text(st, 0));
        *notnull = sqlite3_column_int(st, 1);
        const unsigned char *d = sqlite3_column_text(st, 2);
        snprintf(def, def_size, "%s", d ? (const char *)d : "");
    }
    sqlite3_finalize(st);
    return found;
}

/* Whether db's runs table and run_params view agree with the parameter
 * table; when not, why (which line to write where) into why. */
static int runs_agree(sqlite3 *db, char *why, size_t size)
{
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        char type[64], def[128], want_def[64] = "", definition[128];
        int notnull = 0;
        cs_param_sql_definition(param, definition, sizeof definition);
        if (!column_info(db, "runs", param->name, type, sizeof type, &notnull, def, sizeof def)) {
            snprintf(why, size,
                     "runs has no column '%s': add to the runs table of sim/store/schema.sql\n"
                     "    %s %s,\nand a row to docs/database.md (and r.%s to run_params)",
                     param->name, param->name, definition, param->name);
            return 0;
        }
        if (param->column == CS_COLUMN_DEFAULT)
            cs_param_format(param, cs_param_prior(param), CS_FORMAT_SQL, want_def,
                            sizeof want_def);
        int want_notnull = param->column != CS_COLUMN_NULLABLE;
        if (strcmp(type, cs_param_sql_type(param)) != 0 || notnull != want_notnull ||
            strcmp(def, want_def) != 0) {
            snprintf(why, size,
                     "runs.%s is '%s%s%s%s' in sim/store/schema.sql; its table entry says '%s'",
                     param->name, type, notnull ? " NOT NULL" : "", *def ? " DEFAULT " : "", def,
                     definition);
            return 0;
        }
    }
    for (size_t k = 0; k < cs_param_count; k++) {
        char type[64], def[128];
        int notnull = 0;
        if (!column_info(db, "run_params", cs_param_table[k].name, type, sizeof type, &notnull,
                         def, sizeof def)) {
            snprintf(why, size,
                     "the view run_params lacks '%s': add r.%s to it in sim/store/schema.sql",
                     cs_param_table[k].name, cs_param_table[k].name);
            return 0;
        }
    }
    /* and nothing else: every other column is the run's bookkeeping */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('runs')", -1, &st,
                                        NULL),
                     SQLITE_OK);
    int ok = 1;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int known = cs_param_find(name) != NULL;
        for (size_t i = 0; i < sizeof bookkeeping / sizeof bookkeeping[0]; i++)
            known |= strcmp(bookkeeping[i], name) == 0;
        if (!known) {
            snprintf(why, size,
                     "runs.%s is neither a run parameter (sim/model/cs_param.c) nor bookkeeping",
                     name);
            ok = 0;
        }
    }
    sqlite3_finalize(st);
    return ok;
}

static void test_runs_columns_are_the_parameter_table(void **state)
{
    (void)state;
    sqlite3 *db = schema_db(NULL, NULL);
    char why[1024];
    if (!runs_agree(db, why, sizeof why))
        fail_msg("%s", why);
    sqlite3_close(db);
}

/* The check can fail: a column declared unlike its entry, one missing, one
 * that is no parameter. */
static void test_a_schema_unlike_the_table_is_found(void **state)
{
    (void)state;
    const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"dropout       REAL NOT NULL DEFAULT 0,", "dropout       REAL,",
         "runs.dropout is 'REAL' in sim/store/schema.sql; its table entry says 'REAL NOT NULL "
         "DEFAULT 0'"},
        {"    bins          INTEGER NOT NULL,\n", "",
         "runs has no column 'bins': add to the runs table of sim/store/schema.sql\n"
         "    bins INTEGER NOT NULL,"},
        {"    params        TEXT NOT NULL,", "    params        TEXT NOT NULL, gamma REAL,",
         "runs.gamma is neither a run parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqlite3 *db = schema_db(cases[i].from, cases[i].to);
        char why[1024] = "";
        if (runs_agree(db, why, sizeof why))
            fail_msg("case %zu: a schema with '%s' for '%s' passed", i, cases[i].to,
                     cases[i].from);
        if (!strstr(why, cases[i].want))
            fail_msg("case %zu: expected '%s' in: %s", i, cases[i].want, why);
        sqlite3_close(db);
    }
}

/* Every entry is well formed: a default within its bounds, a unique name,
 * a help line; a column of the first schema is always in the canonical
 * text, and a parameter added later with a default column is absent from
 * it at its default (so that adding one keeps every run_key); the rules
 * of meaning read parameters that always have meaning. */
static void test_every_entry_is_well_formed(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    assert_int_equal(cs_params_validate(&p), CS_OK);
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        if (cs_param_check(param, param->def) != CS_OK)
            fail_msg("%s: its default is outside its bounds: %s", param->name,
                     cs_error_message());
        assert_true(param->doc && *param->doc);
        assert_true(cs_param_find(param->name) == param);
        if (param->column == CS_COLUMN_REQUIRED && param->canon != CS_CANON_ALWAYS)
            fail_msg("%s: a first-schema column must always be in the canonical text",
                     param->name);
        if (param->column == CS_COLUMN_DEFAULT && param->canon != CS_CANON_CHANGED)
            fail_msg("%s: a parameter with a default column must be absent from the canonical "
                     "text at its default (CS_CANON_CHANGED), or every run_key would move",
                     param->name);
    }
    const char *rulers[] = {"norm", "input", "noise_probes"};
    for (size_t i = 0; i < sizeof rulers / sizeof rulers[0]; i++)
        assert_int_equal(cs_param_find(rulers[i])->when, CS_WHEN_ALWAYS);
}

/* Parsing and formatting round-trip: what the canonical text writes, the
 * parser reads back as the same value. */
static void test_canonical_values_parse_back(void **state)
{
    (void)state;
    for (size_t k = 0; k < cs_param_count; k++) {
        const cs_param *param = &cs_param_table[k];
        char text[64];
        cs_param_value v;
        cs_param_format(param, param->def, CS_FORMAT_HELP, text, sizeof text);
        if (cs_param_parse(param, text, &v) != CS_OK)
            fail_msg("%s: its default '%s' does not parse: %s", param->name, text,
                     cs_error_message());
        if (param->type == CS_PARAM_REAL)
            assert_true(v.d == param->def.d);
        else if (param->type == CS_PARAM_U64)
            assert_true(v.u == param->def.u);
        else
            assert_true(v.i == param->def.i);
    }
    const cs_param *sigma_w = cs_param_find("sigma_w");
    cs_param_value v = {.d = 0.1}, back;
    char text[64];
    cs_param_format(sigma_w, v, CS_FORMAT_CANONICAL, text, sizeof text);
    assert_string_equal(text, "0.10000000000000001");
    assert_int_equal(cs_param_parse(sigma_w, text, &back), CS_OK);
    assert_true(back.d == 0.1);
    assert_int_equal(cs_param_parse(sigma_w, "-1", &back), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "expected a number >= 0, got '-1'"));
    assert_int_equal(cs_param_parse(cs_param_find("dropout"), "1", &back), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "expected a number in [0, 1), got '1'"));
    assert_int_equal(cs_param_parse(cs_param_find("norm"), "layer", &back), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "unknown norm 'layer' (expected one of: none, "
                                               "batch)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_columns_are_the_parameter_table),
        cmocka_unit_test(test_a_schema_unlike_the_table_is_found),
        cmocka_unit_test(test_every_entry_is_well_formed),
        cmocka_unit_test(test_canonical_values_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
