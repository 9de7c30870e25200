/* Experiment keys of the notes' claims (dropout, mixture_k, mixture_sep, shuffle,
 * grad, noise_probes, noise_batches, population): the three studies parse
 * and expand, the keys' values are checked where they are written, keys
 * without meaning for a run collapse, and run_keys of runs that use none
 * of them are the ones they had before (an old sweep still resumes). */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_keys.h"
#include "cs_override.h"

static char *write_ini(const char *dir, const char *name, const char *text)
{
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static cs_run_params *expand_file(const char *path, size_t *n)
{
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, path) != CS_OK)
        fail_msg("loading %s: %s", path, cs_error_message());
    cs_run_params *runs = NULL;
    if (cs_expand_runs(e, &runs, n) != CS_OK)
        fail_msg("expanding %s: %s", path, cs_error_message());
    cs_experiment_free(e);
    return runs;
}

/* experiments/grad_by_depth.ini: 2 activations x (none + bn x {batch,
 * frozen}) x 3 seeds with grad; bn_noise.ini: 2 norms x 3 rates x 5 batch
 * sizes x 3 seeds with probes; running_averages.ini: 2 shuffles x 4 batch
 * sizes of a mixture x 3 seeds (the claims' numbers need a spread). */
static void test_claim_studies_parse_and_expand(void **state)
{
    (void)state;
    size_t n = 0;
    cs_run_params *r = expand_file(CS_SOURCE_DIR "/experiments/grad_by_depth.ini", &n);
    assert_int_equal(n, 18);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].grad, 1);
    cs_free(r);
    r = expand_file(CS_SOURCE_DIR "/experiments/bn_noise.ini", &n);
    assert_int_equal(n, 90);
    for (size_t i = 0; i < n; i++)
        assert_true(r[i].noise_probes == 8 && r[i].noise_batches == 16);
    cs_free(r);
    r = expand_file(CS_SOURCE_DIR "/experiments/running_averages.ini", &n);
    assert_int_equal(n, 24);
    int unshuffled = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i].input == CS_INPUT_MIXTURE && r[i].mixture_k == 4 &&
                    r[i].mixture_sep == 3.0 && r[i].population == 4096);
        unshuffled += !r[i].shuffle;
    }
    assert_int_equal(unshuffled, 12);
    cs_free(r);
}

/* The quickstart's first run keeps the run_key it had before those keys
 * (d4f6e9a96cc3d9c9, from the covshift of commit e964d61) with the drift
 * version of that time, metrics = 1: defaults of the new keys are not in
 * the canonical text. Setting one changes it, and so does metrics 2. */
static void test_run_keys_without_the_new_keys_are_unchanged(void **state)
{
    (void)state;
    size_t n = 0;
    cs_run_params *r = expand_file(CS_SOURCE_DIR "/experiments/quickstart.ini", &n);
    char key[17];
    cs_params_run_key(&r[0], key);
    assert_string_not_equal(key, "d4f6e9a96cc3d9c9");
    r[0].metrics = 1;
    cs_params_run_key(&r[0], key);
    assert_string_equal(key, "d4f6e9a96cc3d9c9");
    r[0].dropout = 0.1;
    cs_params_run_key(&r[0], key);
    assert_string_not_equal(key, "d4f6e9a96cc3d9c9");
    cs_free(r);
}

/* Like bn_phase_b for norm = none: mixture keys without input = mixture,
 * population without batch norm and noise_batches without probes do not
 * multiply the runs. */
static void test_keys_without_meaning_collapse(void **state)
{
    (void)state;
    char *dir = cs_test_mkdtemp();
    char *path = write_ini(dir, "c.ini",
                           "[network]\ndepth = 2\nwidth = 4\ninput_dim = 4\n"
                           "[norm]\nnorm = none\n"
                           "[data]\ninput = gaussian\nmixture_k = 2, 3\nmixture_sep = 1, 2\n"
                           "shuffle = true, false\n"
                           "[measure]\npopulation = 0, 100\nnoise_batches = 4, 8\n");
    size_t n = 0;
    cs_run_params *r = expand_file(path, &n);
    assert_int_equal(n, 1);
    cs_free(r);
    free(path);
    path = write_ini(dir, "m.ini",
                     "[norm]\nnorm = batch\n"
                     "[data]\ninput = mixture\nmixture_k = 2, 3\nshuffle = true, false\n"
                     "[measure]\npopulation = 0, 100\ngrad = false, true\n");
    r = expand_file(path, &n);
    assert_int_equal(n, 16);
    cs_free(r);
    free(path);
    cs_test_rmdir(dir);
    free(dir);
}

/* Each new key's bad value names the file, the line, the key and what was
 * expected. */
static void test_bad_values_of_the_new_keys_name_file_line_and_key(void **state)
{
    (void)state;
    struct {
        const char *text, *want;
    } cases[] = {
        {"[data]\nshuffle = maybe\n", "c.ini:2: key 'shuffle': expected true or false, got 'maybe'"},
        {"[measure]\ngrad = 1\n", "c.ini:2: key 'grad': expected true or false, got '1'"},
        {"[network]\ndropout = 1\n", "c.ini:2: key 'dropout': expected a number in [0, 1)"},
        {"[network]\ndropout = -0.1\n", "key 'dropout'"},
        {"[data]\nmixture_k = 0\n", "c.ini:2: key 'mixture_k': expected an integer in 1..1048576"},
        {"[data]\nmixture_sep = -1\n", "key 'mixture_sep': expected a number >= 0"},
        {"[measure]\nnoise_probes = -1\n", "key 'noise_probes': expected an integer in 0..1048576"},
        {"[measure]\nnoise_batches = 1\n", "key 'noise_batches': expected an integer in 2..1048576"},
        {"[measure]\npopulation = -5\n", "key 'population': expected an integer in 0..1048576"},
        {"[data]\ninput = mixtur\n", "expected one of: gaussian, uniform, images, mixture"},
    };
    char *dir = cs_test_mkdtemp();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_ini(dir, "c.ini", cases[i].text);
        cs_experiment *e = NULL;
        int rc = cs_experiment_load(&e, path);
        if (rc == CS_OK) {
            cs_run_params *runs = NULL;
            size_t n = 0;
            rc = cs_expand_runs(e, &runs, &n);
            cs_free(runs);
            cs_experiment_free(e);
        }
        assert_int_equal(rc, CS_EINVAL);
        if (!strstr(cs_error_message(), cases[i].want))
            fail_msg("case %zu: message '%s' lacks '%s'", i, cs_error_message(), cases[i].want);
        free(path);
    }
    /* population = 1 has no unbiased variance: refused when expanded */
    char *path = write_ini(dir, "c.ini", "[norm]\nnorm = batch\n[measure]\npopulation = 1\n");
    cs_experiment *e = NULL;
    assert_int_equal(cs_experiment_load(&e, path), CS_OK);
    cs_run_params *runs = NULL;
    size_t n = 0;
    assert_int_equal(cs_expand_runs(e, &runs, &n), CS_EINVAL);
    assert_non_null(strstr(cs_error_message(), "c.ini:4: key 'population'"));
    cs_experiment_free(e);
    free(path);
    cs_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_studies_parse_and_expand),
        cmocka_unit_test(test_run_keys_without_the_new_keys_are_unchanged),
        cmocka_unit_test(test_keys_without_meaning_collapse),
        cmocka_unit_test(test_bad_values_of_the_new_keys_name_file_line_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
