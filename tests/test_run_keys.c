/* Every run_key stays what it was (docs/design.md §3: a run is found again
 * by its run_key, so a changed key orphans stored results and restarts an
 * interrupted sweep). tests/fixtures/run_keys.txt holds the canonical text
 * and run_key of every run of every shipped experiment file, written by
 * the binary of commit 68c7681 (before the parameter table,
 * tests/gen_run_keys.sh); each file is expanded again here and every run
 * with metrics = 1 (the drift version of those runs) must give the same
 * text and key, in the same order. With the default metrics = 2, whose
 * drift rows differ, the text gains ";metrics=2" and every key changes, so
 * a new binary never takes an old database's run as done. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_keys.h"
#include "cs_override.h"
#include "cs_params.h"

#define RUN_KEYS CS_FIXTURES "/run_keys.txt"

typedef struct {
    char file[256];
    char key[17];
    char *canonical;
} old_run;

/* The fixture's lines "file\tkey\tcanonical", in order. */
static old_run *read_old_runs(size_t *n)
{
    FILE *f = fopen(RUN_KEYS, "r");
    if (!f)
        fail_msg("cannot read %s", RUN_KEYS);
    size_t cap = 1024, count = 0;
    old_run *runs = malloc(cap * sizeof *runs);
    assert_non_null(runs);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2 || tab2 - tab1 - 1 != 16)
            fail_msg("%s: malformed line '%s'", RUN_KEYS, line);
        if (count == cap) {
            cap *= 2;
            runs = realloc(runs, cap * sizeof *runs);
            assert_non_null(runs);
        }
        old_run *r = &runs[count++];
        *tab1 = *tab2 = '\0';
        if (strlen(line) >= sizeof r->file)
            fail_msg("%s: file name too long: '%s'", RUN_KEYS, line);
        memcpy(r->file, line, strlen(line) + 1);
        memcpy(r->key, tab1 + 1, 17);
        r->canonical = strdup(tab2 + 1);
        assert_non_null(r->canonical);
    }
    fclose(f);
    *n = count;
    return runs;
}

/* Expands one file and compares each run with old[0..nold). */
static void check_file(const old_run *old, size_t nold)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CS_SOURCE_DIR, old[0].file);
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, path) != CS_OK)
        fail_msg("loading %s: %s", old[0].file, cs_error_message());
    cs_run_params *runs = NULL;
    size_t n = 0;
    if (cs_expand_runs(e, &runs, &n) != CS_OK)
        fail_msg("expanding %s: %s", old[0].file, cs_error_message());
    if (n != nold)
        fail_msg("%s: %zu runs, the old binary had %zu", old[0].file, n, nold);
    for (size_t i = 0; i < n; i++) {
        char canonical[1024], key[17], want[1100];
        if (runs[i].metrics != 2)
            fail_msg("%s run %zu: metrics %d, expected the default 2", old[0].file, i + 1,
                     runs[i].metrics);
        cs_params_canonical(&runs[i], canonical, sizeof canonical);
        cs_params_run_key(&runs[i], key);
        snprintf(want, sizeof want, "%s;metrics=2", old[i].canonical);
        if (strcmp(canonical, want) != 0)
            fail_msg("%s run %zu: canonical text with metrics 2\n  now %s\n  want %s",
                     old[0].file, i + 1, canonical, want);
        if (strcmp(key, old[i].key) == 0)
            fail_msg("%s run %zu: run_key %s kept with metrics 2", old[0].file, i + 1, key);
        runs[i].metrics = 1;
        cs_params_canonical(&runs[i], canonical, sizeof canonical);
        cs_params_run_key(&runs[i], key);
        if (strcmp(canonical, old[i].canonical) != 0)
            fail_msg("%s run %zu: canonical text\n  now %s\n  was %s", old[0].file, i + 1,
                     canonical, old[i].canonical);
        if (strcmp(key, old[i].key) != 0)
            fail_msg("%s run %zu: run_key %s, was %s", old[0].file, i + 1, key, old[i].key);
    }
    free(runs);
    cs_experiment_free(e);
}

static void test_every_shipped_run_keeps_its_canonical_text_and_run_key(void **state)
{
    (void)state;
    size_t n = 0, files = 0;
    old_run *old = read_old_runs(&n);
    /* Far fewer would mean the fixture lost files. */
    assert_true(n >= 800);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(old[j].file, old[i].file) == 0)
            j++;
        check_file(old + i, j - i);
        files++;
        i = j;
    }
    print_message("%zu runs of %zu files: metrics 1 texts and keys unchanged\n", n, files);
    assert_true(files >= 20);
    for (size_t i = 0; i < n; i++)
        free(old[i].canonical);
    free(old);
}

/* The check above can fail: one parameter moved by the smallest step
 * changes the text and the key. */
static void test_a_changed_parameter_changes_the_key(void **state)
{
    (void)state;
    cs_run_params p;
    cs_params_default(&p);
    char a[17], b[17];
    cs_params_run_key(&p, a);
    p.sigma_w = 1.0000000000000002;
    cs_params_run_key(&p, b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shipped_run_keeps_its_canonical_text_and_run_key),
        cmocka_unit_test(test_a_changed_parameter_changes_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
