/* Experiment files (docs/design.md §4): parsing, lists and ranges, --set, the
 * expansion into runs and its order, the bn_phase_b collapse, run_keys, every
 * kind of mistake in a file or a --set, allocation failures. */
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

#define FIXTURE(name) CS_FIXTURES "/" name
#define QUICKSTART CS_SOURCE_DIR "/experiments/quickstart.ini"

static void assert_contains(const char *text, const char *needle, const char *what)
{
    if (!strstr(text, needle))
        fail_msg("%s: expected '%s' in: %s", what, needle, text);
}

/* The 1-based line of the first line of path that starts with prefix. */
static int line_of(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[1024];
    int line = 0, found = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        if (strncmp(buf, prefix, strlen(prefix)) == 0) {
            found = line;
            break;
        }
    }
    fclose(f);
    if (!found)
        fail_msg("%s has no line starting with '%s'", path, prefix);
    return found;
}

static cs_experiment *load_ok(const char *path)
{
    cs_experiment *e = NULL;
    int rc = cs_experiment_load(&e, path);
    if (rc != CS_OK)
        fail_msg("loading %s: %s", path, cs_error_message());
    assert_non_null(e);
    return e;
}

static cs_run_params *expand_ok(const cs_experiment *e, size_t *n)
{
    cs_run_params *runs = NULL;
    int rc = cs_expand_runs(e, &runs, n);
    if (rc != CS_OK)
        fail_msg("expanding: %s", cs_error_message());
    return runs;
}

static void set_ok(cs_experiment *e, const char *assignment)
{
    if (cs_override_apply(e, assignment) != CS_OK)
        fail_msg("--set %s: %s", assignment, cs_error_message());
}

/* ---- good files ---- */

/* docs/design.md §4: tanh, relu x (none + batch x {batch, frozen, ema}) x 2 seeds. */
static void test_quickstart_parses_and_expands_to_16_runs(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(QUICKSTART);
    assert_string_equal(cs_experiment_name(e), "quickstart");
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    assert_int_equal(n, 16);
    int none = 0, by_phase[3] = {0}, by_act[CS_ACT_COUNT] = {0}, by_seed[3] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cs_params_validate(&runs[i]), CS_OK);
        if (runs[i].norm == CS_NORM_NONE) {
            none++;
            assert_int_equal(runs[i].bn_phase_b, CS_PHASE_B_BATCH);
        } else {
            by_phase[runs[i].bn_phase_b]++;
        }
        by_act[runs[i].activation]++;
        assert_true(runs[i].seed >= 1 && runs[i].seed <= 2);
        by_seed[runs[i].seed]++;
        assert_int_equal(runs[i].depth, 30);
        assert_int_equal(runs[i].batch, 128);
        assert_true(runs[i].shift_mean == 1.0 && runs[i].shift_scale == 2.0);
    }
    assert_int_equal(none, 4);
    for (int p = 0; p < 3; p++)
        assert_int_equal(by_phase[p], 4);
    assert_int_equal(by_act[CS_ACT_TANH], 8);
    assert_int_equal(by_act[CS_ACT_RELU], 8);
    assert_int_equal(by_seed[1], 8);
    assert_int_equal(by_seed[2], 8);
    cs_free(runs);
    cs_experiment_free(e);
}

/* Lists, ranges and ranges inside lists; keys vary in file order, the last
 * one fastest; keys absent from the file keep cs_params_default. */
static void test_lists_and_ranges_expand_in_file_order_last_key_fastest(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(FIXTURE("exp_sweep.ini"));
    assert_string_equal(cs_experiment_name(e), "sweep");
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    /* depth = 1..3, width = 8, 16, seed = 1..2, 7 */
    assert_int_equal(n, 3 * 2 * 3);
    const int depths[] = {1, 2, 3}, widths[] = {8, 16};
    const unsigned seeds[] = {1, 2, 7};
    cs_run_params defaults;
    cs_params_default(&defaults);
    size_t i = 0;
    for (int d = 0; d < 3; d++)
        for (int w = 0; w < 2; w++)
            for (int s = 0; s < 3; s++, i++) {
                assert_int_equal(runs[i].depth, depths[d]);
                assert_int_equal(runs[i].width, widths[w]);
                assert_int_equal(runs[i].seed, seeds[s]);
                assert_int_equal(runs[i].activation, CS_ACT_RELU);
                assert_int_equal(runs[i].bins, 8);
                assert_int_equal(runs[i].init, defaults.init);
                assert_true(runs[i].momentum == defaults.momentum);
            }
    cs_free(runs);

    /* a key the file does not set joins the order after the file's keys */
    set_ok(e, "sigma_b=0,0.5");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 36);
    for (i = 0; i < n; i++) {
        assert_true(runs[i].sigma_b == (i % 2 ? 0.5 : 0.0));
        assert_int_equal(runs[i].seed, seeds[(i / 2) % 3]);
    }
    cs_free(runs);
    cs_experiment_free(e);
}

/* --set replaces a list by a scalar and a scalar by a list (keeping the
 * key's place in the order), takes section.key, and is recorded in the
 * config text after the file's text. */
static void test_set_overrides_list_with_scalar_and_scalar_with_list(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(QUICKSTART);
    char *file_text = strdup(cs_experiment_config_text(e));
    set_ok(e, "activation=relu");
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(runs[i].activation, CS_ACT_RELU);
    cs_free(runs);

    set_ok(e, "network.depth = 5, 10");
    set_ok(e, "seed=3");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 2 * 4);
    /* depth comes before norm in the file, so it varies slowest */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(runs[i].depth, i < 4 ? 5 : 10);
        assert_int_equal(runs[i].seed, 3);
    }
    cs_free(runs);

    /* sigma_b sits between depth and norm in the file */
    set_ok(e, "sigma_b=0,0.5");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 16);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(runs[i].depth, i < 8 ? 5 : 10);
        assert_true(runs[i].sigma_b == (i % 8 < 4 ? 0.0 : 0.5));
    }
    cs_free(runs);

    const char *text = cs_experiment_config_text(e);
    assert_int_equal(strncmp(text, file_text, strlen(file_text)), 0);
    assert_string_equal(text + strlen(file_text),
                        "; --set activation=relu\n; --set network.depth = 5, 10\n"
                        "; --set seed=3\n; --set sigma_b=0,0.5\n");
    free(file_text);
    cs_experiment_free(e);
}

/* docs/design.md §1: bn_phase_b has no meaning for norm = none; a sweep over it does
 * not multiply those runs. */
static void test_bn_phase_b_axis_collapses_when_norm_is_none(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(FIXTURE("exp_collapse.ini"));
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].norm, CS_NORM_NONE);
    assert_int_equal(runs[0].bn_phase_b, CS_PHASE_B_BATCH);
    cs_free(runs);

    set_ok(e, "norm=none,batch");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 1 + 3);
    assert_int_equal(runs[0].norm, CS_NORM_NONE);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(runs[1 + p].norm, CS_NORM_BATCH);
        assert_int_equal(runs[1 + p].bn_phase_b, p);
    }
    cs_free(runs);

    /* layer and rms norm have no running statistics either: one run each,
     * bn_phase_b at its default and out of the canonical text */
    set_ok(e, "norm=none,batch,layer,rms");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 1 + 3 + 2);
    for (size_t i = 4; i < 6; i++) {
        assert_int_equal(runs[i].norm, i == 4 ? CS_NORM_LAYER : CS_NORM_RMS);
        assert_int_equal(runs[i].bn_phase_b, CS_PHASE_B_BATCH);
        char text[1024];
        cs_params_canonical(&runs[i], text, sizeof text);
        assert_non_null(strstr(text, "bn_phase_b=-;"));
        assert_non_null(strstr(text, i == 4 ? "norm=layer;" : "norm=rms;"));
    }
    cs_free(runs);

    /* the same value twice in a list is one run */
    set_ok(e, "norm=none,batch");
    set_ok(e, "depth=2,2");
    runs = expand_ok(e, &n);
    assert_int_equal(n, 4);
    cs_free(runs);
    cs_experiment_free(e);
}

/* run_keys: distinct across the sweep, the same for the same parameters
 * whichever experiment object produced them. */
static void test_run_keys_are_distinct_and_stable(void **state)
{
    (void)state;
    cs_experiment *a = load_ok(QUICKSTART), *b = load_ok(QUICKSTART);
    size_t na = 0, nb = 0;
    cs_run_params *ra = expand_ok(a, &na), *rb = expand_ok(b, &nb);
    assert_int_equal(na, nb);
    char keys[16][17];
    for (size_t i = 0; i < na; i++) {
        char kb[17];
        cs_params_run_key(&ra[i], keys[i]);
        cs_params_run_key(&rb[i], kb);
        assert_string_equal(keys[i], kb);
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[i], keys[j]) == 0)
                fail_msg("runs %zu and %zu share run_key %s", j, i, keys[i]);
    }
    /* the first run built by hand has the same key */
    cs_run_params p;
    cs_params_default(&p);
    p.depth = 30;
    p.width = 256;
    p.input_dim = 256;
    p.activation = CS_ACT_TANH;
    p.init = CS_INIT_GAUSSIAN;
    p.sigma_w = 1.0;
    p.sigma_b = 0.0;
    p.norm = CS_NORM_NONE;
    p.shift_mean = 1.0;
    p.shift_scale = 2.0;
    p.batch = 128;
    p.steps_a = 10;
    p.steps_b = 10;
    p.seed = 1;
    p.bins = 64;
    char kp[17];
    cs_params_run_key(&p, kp);
    assert_string_equal(kp, keys[0]);
    cs_free(ra);
    cs_free(rb);
    cs_experiment_free(a);
    cs_experiment_free(b);
}

/* Comments with ; and # (whole-line and inline), indented keys, CRLF line
 * ends and a comment line longer than inih's line buffer. */
static void test_comments_indentation_and_crlf_are_accepted(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(FIXTURE("exp_comments.ini"));
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    assert_int_equal(n, 1);
    assert_int_equal(runs[0].depth, 4);
    assert_int_equal(runs[0].width, 8);
    assert_int_equal(runs[0].input_dim, 8);
    assert_int_equal(runs[0].steps_b, 2);
    cs_free(runs);
    /* the default name is the file's base name without .ini */
    assert_string_equal(cs_experiment_name(e), "exp_comments");
    cs_experiment_free(e);
}

/* ---- mistakes in a file: the code, the file, the line, the key ---- */

typedef struct {
    const char *file;
    int code;
    int at_expand;              /* a cross-field rule: found by expand */
    const char *needles[4];     /* each must be in the message */
} bad_file_case;

static const bad_file_case bad_files[] = {
    {"exp_unknown_section.ini", CS_EINVAL, 0,
     {"exp_unknown_section.ini:3:", "[netwrk]", "did you mean [network]"}},
    {"exp_unknown_key.ini", CS_EINVAL, 0,
     {"exp_unknown_key.ini:4:", "unknown key 'dept'", "[network]", "did you mean 'depth'"}},
    {"exp_wrong_section.ini", CS_EINVAL, 0,
     {"exp_wrong_section.ini:4:", "'batch'", "[data]", "not [network]"}},
    {"exp_duplicate_key.ini", CS_EINVAL, 0,
     {"exp_duplicate_key.ini:6:", "'depth'", "lines 3 and 6"}},
    {"exp_bad_int.ini", CS_EINVAL, 0,
     {"exp_bad_int.ini:4:", "key 'width'", "expected an integer in 1..1048576", "'12x'"}},
    {"exp_bad_float.ini", CS_EINVAL, 0,
     {"exp_bad_float.ini:4:", "key 'sigma_w'", "expected a number >= 0", "'1.0.0'"}},
    {"exp_unknown_activation.ini", CS_EINVAL, 0,
     {"exp_unknown_activation.ini:3:", "key 'activation'", "'swish'", "tanh"}},
    {"exp_depth_zero.ini", CS_EINVAL, 0,
     {"exp_depth_zero.ini:3:", "key 'depth'", "expected an integer in 1..1048576, got '0'"}},
    {"exp_width_negative.ini", CS_EINVAL, 0,
     {"exp_width_negative.ini:4:", "key 'width'", "got '-1'"}},
    {"exp_batch_one_bn.ini", CS_EINVAL, 1,
     {"exp_batch_one_bn.ini:4,6:", "key 'batch'", "norm = batch", "got 1"}},
    {"exp_images_dim.ini", CS_EINVAL, 1,
     {"exp_images_dim.ini:3,5:", "key 'input_dim'", "1024", "got 256"}},
    {"exp_bad_range.ini", CS_EINVAL, 0,
     {"exp_bad_range.ini:3:", "key 'seed'", "'5..1'", "a <= b"}},
    {"exp_real_range.ini", CS_EINVAL, 0,
     {"exp_real_range.ini:3:", "key 'sigma_w'", "integer keys", "'0.5..1.5'"}},
    {"exp_syntax.ini", CS_EINVAL, 0, {"exp_syntax.ini:4:", "key = value", "'width 8'"}},
    {"exp_empty_item.ini", CS_EINVAL, 0,
     {"exp_empty_item.ini:3:", "key 'depth'", "empty item", "'3, , 5'"}},
    {"exp_before_section.ini", CS_EINVAL, 0,
     {"exp_before_section.ini:2:", "'depth'", "before any section", "[network]"}},
};

static void test_each_kind_of_bad_file_names_file_line_and_key(void **state)
{
    (void)state;
    char path[4096];
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const bad_file_case *c = &bad_files[i];
        snprintf(path, sizeof path, "%s/%s", CS_FIXTURES, c->file);
        cs_experiment *e = (cs_experiment *)&path; /* must be reset to NULL */
        cs_error_clear();
        int rc = cs_experiment_load(&e, path);
        if (c->at_expand) {
            if (rc != CS_OK)
                fail_msg("%s: load failed, the rule belongs to expand: %s", c->file,
                         cs_error_message());
            cs_run_params *runs = (cs_run_params *)&path;
            size_t n = 99;
            rc = cs_expand_runs(e, &runs, &n);
            assert_null(runs);
            assert_int_equal(n, 0);
            cs_experiment_free(e);
        } else {
            assert_null(e);
        }
        print_message("%-28s %s\n", c->file, cs_error_message());
        if (rc != c->code)
            fail_msg("%s: code %d, want %d (%s)", c->file, rc, c->code, cs_error_message());
        for (int j = 0; j < 4 && c->needles[j]; j++)
            assert_contains(cs_error_message(), c->needles[j], c->file);
    }
}

static void test_missing_file_is_not_found_and_says_why(void **state)
{
    (void)state;
    cs_experiment *e = NULL;
    int rc = cs_experiment_load(&e, FIXTURE("exp_no_such_file.ini"));
    assert_int_equal(rc, CS_ENOTFOUND);
    assert_null(e);
    assert_string_equal(cs_error_message(), "cannot read experiment file '" CS_FIXTURES
                                            "/exp_no_such_file.ini': No such file or directory");
}

/* A cross-field error found at expand still names the file and the line of
 * each key involved, or the --set that gave it. */
static void test_cross_field_error_names_the_lines_or_the_set(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(QUICKSTART);
    set_ok(e, "batch=1");
    cs_run_params *runs = NULL;
    size_t n = 0;
    assert_int_equal(cs_expand_runs(e, &runs, &n), CS_EINVAL);
    char where[64];
    snprintf(where, sizeof where, "quickstart.ini:%d: --set batch=1:",
             line_of(QUICKSTART, "norm ="));
    assert_contains(cs_error_message(), where, "--set batch=1");
    assert_contains(cs_error_message(), "key 'batch'", "--set batch=1");
    cs_experiment_free(e);
}

/* ---- mistakes in --set: named, and the experiment is left as it was ---- */

static void test_bad_set_is_an_error_naming_the_set(void **state)
{
    (void)state;
    cs_experiment *e = load_ok(QUICKSTART);
    const char *text_before = strdup(cs_experiment_config_text(e));
    const struct {
        const char *assignment;
        const char *needles[3];
    } cases[] = {
        {"depth", {"--set 'depth'", "expected key=value"}},
        {"dept=3", {"--set dept=3", "unknown key 'dept'", "did you mean 'depth'"}},
        {"colour=blue", {"--set colour=blue", "unknown key 'colour'"}},
        {"data.depth=3", {"--set data.depth=3", "[network]", "not [data]"}},
        {"depth=0", {"--set depth=0", "key 'depth'", "expected an integer in 1..1048576, got '0'"}},
        {"activation=relu,swish", {"--set activation=relu,swish", "'swish'"}},
        {"seed=1..2000000", {"--set seed=1..2000000", "key 'seed'", "more than"}},
        {"=3", {"--set =3", "key is empty"}},
        {"name=a/b", {"--set name=a/b", "key 'name'"}},
        {"description=a\nb", {"--set", "line break"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cs_override_apply(e, cases[i].assignment);
        print_message("--set %-26s %s\n", cases[i].assignment, cs_error_message());
        assert_int_equal(rc, CS_EINVAL);
        for (int j = 0; j < 3 && cases[i].needles[j]; j++)
            assert_contains(cs_error_message(), cases[i].needles[j], cases[i].assignment);
    }
    assert_string_equal(cs_experiment_config_text(e), text_before);
    size_t n = 0;
    cs_run_params *runs = expand_ok(e, &n);
    assert_int_equal(n, 16);
    cs_free(runs);

    /* a product past the limit is refused before anything is allocated */
    set_ok(e, "seed=1..100000");
    set_ok(e, "depth=1..100");
    assert_int_equal(cs_expand_runs(e, &runs, &n), CS_EINVAL);
    assert_contains(cs_error_message(), "more than 1000000 runs", "huge sweep");
    assert_null(runs);
    free((void *)text_before);
    cs_experiment_free(e);
}

/* ---- --help ---- */

static void test_print_keys_lists_every_key_with_section_and_default(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    cs_keys_print(f);
    fclose(f);
    const char *needles[] = {"[experiment]", "[network]", "[norm]", "[data]", "[run]",
                             "name", "description", "depth", "width", "input_dim",
                             "activation", "init", "sigma_w", "sigma_b", "norm", "bn_phase_b",
                             "momentum", "eps", "input", "shift_mean", "shift_scale", "batch",
                             "steps_a", "steps_b", "seed", "bins", "default: 0.1",
                             "default: 1e-05", "default: 64", "gaussian, xavier, he, orthogonal",
                             "a..b"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        assert_contains(buf, needles[i], "cs_experiment_print_keys");
    free(buf);
}

/* ---- allocation failure at every point ---- */

/* Fails the k-th allocation of load + set + expand for k = 0, 1, ... until
 * all succeed: each failure returns CS_ENOMEM and leaks nothing (ASan). */
static void test_allocation_failure_anywhere_returns_enomem_without_leaks(void **state)
{
    (void)state;
    long k;
    for (k = 0;; k++) {
        cs_alloc_fail_after(k);
        cs_experiment *e = NULL;
        cs_run_params *runs = NULL;
        size_t n = 0;
        int rc = cs_experiment_load(&e, QUICKSTART);
        if (rc == CS_OK)
            rc = cs_override_apply(e, "depth=5,10");
        if (rc == CS_OK)
            rc = cs_override_apply(e, "name=renamed");
        if (rc == CS_OK)
            rc = cs_expand_runs(e, &runs, &n);
        cs_alloc_fail_reset();
        if (rc == CS_OK) {
            assert_int_equal(n, 32);
            assert_string_equal(cs_experiment_name(e), "renamed");
            cs_free(runs);
            cs_experiment_free(e);
            break;
        }
        if (rc != CS_ENOMEM)
            fail_msg("allocation %ld failed: code %d, want CS_ENOMEM (%s)", k, rc,
                     cs_error_message());
        assert_null(runs);
        cs_experiment_free(e);
    }
    print_message("succeeded once %ld allocations could succeed\n", k);
    assert_true(k > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart_parses_and_expands_to_16_runs),
        cmocka_unit_test(test_lists_and_ranges_expand_in_file_order_last_key_fastest),
        cmocka_unit_test(test_set_overrides_list_with_scalar_and_scalar_with_list),
        cmocka_unit_test(test_bn_phase_b_axis_collapses_when_norm_is_none),
        cmocka_unit_test(test_run_keys_are_distinct_and_stable),
        cmocka_unit_test(test_comments_indentation_and_crlf_are_accepted),
        cmocka_unit_test(test_each_kind_of_bad_file_names_file_line_and_key),
        cmocka_unit_test(test_missing_file_is_not_found_and_says_why),
        cmocka_unit_test(test_cross_field_error_names_the_lines_or_the_set),
        cmocka_unit_test(test_bad_set_is_an_error_naming_the_set),
        cmocka_unit_test(test_print_keys_lists_every_key_with_section_and_default),
        cmocka_unit_test(test_allocation_failure_anywhere_returns_enomem_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
