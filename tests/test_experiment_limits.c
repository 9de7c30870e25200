/* Experiment files at their limits (docs/design.md §4; docs/experiments.md): each
 * key's bound at file:line, a run's memory across keys at expansion with
 * the lines of the keys involved, long lines, CRLF, line continuation,
 * sections, names that become paths, whole-file mistakes, and the CLI's
 * exit statuses and escaped messages for them. */
#include "cs_test_util.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_error.h"
#include "cs_expand.h"
#include "cs_experiment.h"
#include "cs_keys.h"
#include "cs_override.h"
#include "cs_params.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = cs_test_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_test_rmdir(dir);
    free(dir);
    return 0;
}

static void assert_contains(const char *text, const char *needle, const char *what)
{
    if (!strstr(text, needle))
        fail_msg("%s: expected '%s' in: %s", what, needle, text);
}

/* Writes n bytes to dir/name; returns the path (static buffer). */
static const char *write_bytes(const char *name, const char *text, size_t n)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    return path;
}

static const char *write_file(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text));
}

/* Loads path, which must fail with code; returns the message. */
static const char *load_fails(const char *path, int code)
{
    cs_experiment *e = NULL;
    int rc = cs_experiment_load(&e, path);
    if (rc == CS_OK)
        fail_msg("%s loaded, expected an error", path);
    assert_null(e);
    print_message("  %s\n", cs_error_message());
    if (rc != code)
        fail_msg("%s: code %d, want %d: %s", path, rc, code, cs_error_message());
    return cs_error_message();
}

/* Loads and expands path, which must fail at expansion; the message. */
static const char *expand_fails(const char *path)
{
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, path) != CS_OK)
        fail_msg("%s: %s", path, cs_error_message());
    cs_run_params *runs = NULL;
    size_t n = 0;
    int rc = cs_expand_runs(e, &runs, &n);
    cs_experiment_free(e);
    assert_int_equal(rc, CS_EINVAL);
    assert_null(runs);
    print_message("  %s\n", cs_error_message());
    return cs_error_message();
}

static cs_run_params *expand_ok(const char *path, size_t *n)
{
    cs_experiment *e = NULL;
    if (cs_experiment_load(&e, path) != CS_OK)
        fail_msg("%s: %s", path, cs_error_message());
    cs_run_params *runs = NULL;
    if (cs_expand_runs(e, &runs, n) != CS_OK)
        fail_msg("%s: %s", path, cs_error_message());
    cs_experiment_free(e);
    return runs;
}

/* ---- each key's bound, at its line ---- */

static void test_every_integer_key_bound_is_checked_at_its_line(void **state)
{
    (void)state;
    const struct {
        const char *section, *key;
        long long min, max;
    } keys[] = {
        {"network", "depth", 1, CS_MAX_DEPTH},      {"network", "width", 1, CS_MAX_WIDTH},
        {"network", "input_dim", 1, CS_MAX_WIDTH},  {"data", "batch", 1, CS_MAX_BATCH},
        {"data", "steps_a", 1, CS_MAX_STEPS},       {"data", "steps_b", 1, CS_MAX_STEPS},
        {"run", "bins", 1, CS_MAX_BINS},            {"data", "mixture_k", 1, CS_MAX_MIXTURE_K},
        {"measure", "noise_probes", 0, CS_MAX_NOISE},
        {"measure", "noise_batches", 2, CS_MAX_NOISE},
        {"measure", "population", 0, CS_MAX_POPULATION},
    };
    char text[256], want[256];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        /* the bound itself is a value the file may give */
        snprintf(text, sizeof text, "; bound\n[%s]\n%s = %lld\n", keys[i].section, keys[i].key,
                 keys[i].max);
        cs_experiment *e = NULL;
        if (cs_experiment_load(&e, write_file("ok.ini", text)) != CS_OK)
            fail_msg("%s = %lld: %s", keys[i].key, keys[i].max, cs_error_message());
        cs_experiment_free(e);
        /* one past it, far past it, and below the minimum */
        const long long bad[] = {keys[i].max + 1, 99999999999LL, keys[i].min - 1};
        for (size_t j = 0; j < 3; j++) {
            snprintf(text, sizeof text, "; bound\n[%s]\n\n%s = %lld, %lld\n", keys[i].section,
                     keys[i].key, keys[i].min, bad[j]);
            const char *msg = load_fails(write_file("bound.ini", text), CS_EINVAL);
            snprintf(want, sizeof want,
                     "bound.ini:4: key '%s': expected an integer in %lld..%lld, got '%lld'",
                     keys[i].key, keys[i].min, keys[i].max, bad[j]);
            assert_contains(msg, want, keys[i].key);
        }
    }
    /* bins gets its bound in --help too */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    cs_keys_print(f);
    fclose(f);
    assert_contains(buf, "an integer in 1..65536; default: 64", "--help bins");
    assert_contains(buf, "continues on", "--help continuation");
    free(buf);
}

/* ---- across keys, at expansion: the keys' lines ---- */

static void test_a_run_too_large_names_the_keys_and_their_lines(void **state)
{
    (void)state;
    const char *path = write_file("big.ini", "[network]\n"
                                             "depth = 2\n"            /* 2 */
                                             "width = 1048576\n"      /* 3 */
                                             "input_dim = 16\n"       /* 4 */
                                             "[data]\n"
                                             "batch = 1048576\n"      /* 6 */
                                             "steps_a = 3\n"          /* 7 */
                                             "steps_b = 3\n"          /* 8 */
                                             "[run]\n"
                                             "seed = 1..3\n");        /* 10 */
    const char *msg = expand_fails(path);
    assert_contains(msg, "big.ini:3,4,6,7,8: a run needs", "lines of the keys to reduce");
    assert_contains(msg, "reduce batch, width, input_dim, steps_a or steps_b", "keys");
    assert_contains(msg, "more than the 1.0 TB one run may use", "bound");

    /* the noise batches' product overflows size_t: named, with lines */
    path = write_file("noise.ini", "[network]\ndepth = 1\nwidth = 1048576\ninput_dim = 1\n"
                                   "[data]\nbatch = 1048576\n"
                                   "[measure]\nnoise_probes = 1048576\nnoise_batches = 2047\n");
    msg = expand_fails(path);
    assert_contains(msg, "noise.ini:3,4,6,8,9: cannot allocate 1048576 x 2047 x 1048576 x "
                         "1048576 x 8 bytes",
                    "overflow");
    assert_contains(msg, "reduce noise_probes, noise_batches, batch, width or input_dim",
                    "overflow keys");

    /* the bn_noise streams: noise_probes x noise_batches < 2^31 */
    path = write_file("streams.ini", "[measure]\nnoise_probes = 1048576\n; x\nnoise_batches = 4096\n");
    msg = expand_fails(path);
    assert_contains(msg, "streams.ini:2,4: keys 'noise_probes' and 'noise_batches'", "streams");

    /* a sweep over the run limit names each list and its line */
    path = write_file("sweep.ini", "[network]\ndepth = 1..100\nwidth = 4\n[run]\nseed = 1..20000\n");
    msg = expand_fails(path);
    assert_contains(msg, "sweep.ini:2,5: the sweep has more than 1000000 runs: depth 100 (line 2) "
                         "x seed 20000 (line 5)",
                    "sweep");
}

/* ---- lines: CRLF, long lists, continuation ---- */

static void test_crlf_and_long_lines_parse(void **state)
{
    (void)state;
    /* a 199-character line ending in CRLF is 199 characters long */
    char text[4096] = "[network]\r\ndepth = 2\r\n[experiment]\r\ndescription = ";
    size_t used = strlen(text);
    while (used < strlen("[network]\r\ndepth = 2\r\n[experiment]\r\n") + 199)
        text[used++] = 'x';
    strcpy(text + used, "\r\n[data]\r\nbatch = 8, 16\r\n");
    size_t n = 0;
    cs_run_params *runs = expand_ok(write_file("crlf.ini", text), &n);
    assert_int_equal(n, 2);
    assert_int_equal(runs[0].depth, 2);
    assert_int_equal(runs[1].batch, 16);
    free(runs);

    /* a 60-value list (and more) on one line */
    char list[65536 + 64] = "[run]\nseed = 1";
    for (int s = 2; s <= 5000; s++)
        snprintf(list + strlen(list), sizeof list - strlen(list), ", %d", s);
    strcat(list, "\n[network]\ndepth = 1\nwidth = 2\ninput_dim = 2\n");
    runs = expand_ok(write_file("list.ini", list), &n);
    assert_int_equal(n, 5000);
    assert_true(runs[4999].seed == 5000);
    free(runs);

    /* a line of 65536 characters is one too many */
    char *huge = malloc(70000);
    strcpy(huge, "[experiment]\ndescription = ");
    size_t len = strlen(huge), start = strlen("[experiment]\n");
    while (len < start + 65536)
        huge[len++] = 'y';
    strcpy(huge + len, "\n");
    const char *msg = load_fails(write_file("huge.ini", huge), CS_EINVAL);
    assert_contains(msg, "huge.ini:2: line is longer than 65535 characters", "65536");
    huge[start + 65535] = '\n'; /* 65535 is fine */
    huge[start + 65536] = '\0';
    cs_experiment *e = NULL;
    assert_int_equal(cs_experiment_load(&e, write_file("huge.ini", huge)), CS_OK);
    cs_experiment_free(e);
    free(huge);
    /* the process-wide inih settings are put back */
    assert_int_equal(ini_max_line, INI_MAX_LINE);
}

static void test_backslash_continues_a_line_and_lines_stay_right(void **state)
{
    (void)state;
    const char *text = "[run]\n"                   /* 1 */
                       "seed = 1, 2, \\\n"         /* 2 */
                       "       3, 4, \\\r\n"       /* 3 */
                       "       5\n"                /* 4 */
                       "[network]\n"               /* 5 */
                       "depth = 2  ; two layers \\\n" /* 6: in a comment, no continuation */
                       "width = 4\n"               /* 7 */
                       "; a comment \\\n"          /* 8: never continued */
                       "input_dim = 4\n";          /* 9 */
    size_t n = 0;
    cs_run_params *runs = expand_ok(write_file("cont.ini", text), &n);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(runs[i].seed == i + 1);
        assert_int_equal(runs[i].depth, 2);
        assert_int_equal(runs[i].width, 4);
        assert_int_equal(runs[i].input_dim, 4);
    }
    free(runs);

    /* an error in a continued value names the line the key starts on; the
     * lines after it keep their own numbers */
    const char *msg = load_fails(write_file("cont_bad.ini", "[run]\nseed = 1, \\\n  2, x\n"),
                                 CS_EINVAL);
    assert_contains(msg, "cont_bad.ini:2: key 'seed'", "continued value");
    msg = load_fails(write_file("cont_next.ini", "[run]\nseed = 1, \\\n  2\nbins = 0\n"),
                     CS_EINVAL);
    assert_contains(msg, "cont_next.ini:4: key 'bins'", "line after a continuation");
    msg = load_fails(write_file("cont_dup.ini", "[run]\nseed = 1, \\\n\\\n  2\nseed = 3\n"),
                     CS_EINVAL);
    assert_contains(msg, "cont_dup.ini:5: key 'seed' is given twice (lines 2 and 5)", "twice");
    msg = load_fails(write_file("cont_syntax.ini", "[run]\nseed = 1, \\\n  2\nwidth 4\n"),
                     CS_EINVAL);
    assert_contains(msg, "cont_syntax.ini:4: expected '[section]' or 'key = value', got 'width 4'",
                    "inih's error line");
    /* a continuation with nothing after it */
    msg = load_fails(write_file("cont_end.ini", "[run]\nseed = 1\nbins = 8, \\"), CS_EINVAL);
    assert_contains(msg, "cont_end.ini:3: the last line ends in '\\'", "at the end");
}

/* ---- sections ---- */

static void test_unknown_section_lists_every_section(void **state)
{
    (void)state;
    const char *msg = load_fails(write_file("sect.ini", "[network]\ndepth = 2\n[zzzzzz]\n"),
                                 CS_EINVAL);
    assert_contains(msg, "sect.ini:3: unknown section [zzzzzz] (sections: [experiment], "
                         "[network], [norm], [data], [run], [measure], [train])",
                    "every section");
    msg = load_fails(write_file("sect2.ini", "[network] depth = 2\n"), CS_EINVAL);
    assert_contains(msg, "sect2.ini:1: unexpected text after [network]: 'depth = 2'", "trailing");
    cs_experiment *e = NULL;
    assert_int_equal(cs_experiment_load(&e, write_file("sect3.ini", "[network] ; the net\n"
                                                                     "depth = 2\n")),
                     CS_OK);
    cs_experiment_free(e);
}

/* ---- names that become paths ---- */

static void test_names_that_cannot_be_paths_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {".", "..", ".hidden", "a/b", "..\\/x", "a\x1b[31mb", "a b"};
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[experiment]\nname = %s\n[network]\ndepth = 2\n", bad[i]);
        const char *msg = load_fails(write_file("name.ini", text), CS_EINVAL);
        assert_contains(msg, "name.ini:2: key 'name': expected letters, digits", bad[i]);
    }
    char long_name[200];
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    snprintf(text, sizeof text, "[experiment]\nname = %s\n", long_name);
    load_fails(write_file("name.ini", text), CS_EINVAL);
    long_name[128] = '\0';
    snprintf(text, sizeof text, "[experiment]\nname = %s\n", long_name);
    cs_experiment *e = NULL;
    assert_int_equal(cs_experiment_load(&e, write_file("name.ini", text)), CS_OK);
    assert_string_equal(cs_experiment_name(e), long_name);
    cs_experiment_free(e);

    /* without a name key the file's name is used: it must do as a path */
    const char *plain = "[network]\ndepth = 2\nwidth = 2\ninput_dim = 2\n";
    const char *msg = expand_fails(write_file(".hidden.ini", plain));
    assert_contains(msg, ".hidden.ini: without a name key", "hidden file");
    msg = expand_fails(write_file("tab\there.ini", plain));
    assert_contains(msg, "set name in [experiment]", "control character");
    size_t n = 0;
    free(expand_ok(write_file("my run.ini", plain), &n));
    assert_int_equal(n, 1);
}

/* ---- whole-file mistakes: named by the file ---- */

static void test_whole_file_mistakes_name_the_file(void **state)
{
    (void)state;
    const char *msg = load_fails(write_file("empty.ini", ""), CS_EINVAL);
    assert_contains(msg, "empty.ini: the file sets no key", "empty");
    msg = load_fails(write_file("comments.ini", "; nothing\n[network]\n# at all\n"), CS_EINVAL);
    assert_contains(msg, "comments.ini: the file sets no key", "comments only");
    msg = load_fails(dir, CS_EINVAL);
    assert_contains(msg, "is a directory", "directory");
    char *big = calloc((16 << 20) + 2, 1);
    memset(big, '\n', (16 << 20) + 1);
    msg = load_fails(write_bytes("big.ini", big, (16 << 20) + 1), CS_EINVAL);
    assert_contains(msg, "big.ini: larger than 16 MB", "16 MB");
    free(big);
    msg = load_fails(write_bytes("nul.ini", "[run]\nseed = 1\0\n", 16), CS_EINVAL);
    assert_contains(msg, "nul.ini:2: unexpected NUL byte", "NUL");
}

/* ---- the CLI: exit 2 for all of it, nothing written, messages escaped ---- */

static cs_test_exit covshift(const char *const *args)
{
    char *argv[40] = {CS_BINARY};
    int n = 1;
    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    cs_test_exit r = cs_test_exec(argv, 120);
    if (!r.exited)
        fail_msg("covshift %s: signal %d%s\n%s", args[0], r.signal,
                 r.timed_out ? " (timed out)" : "", r.err);
    return r;
}

static void test_cli_refuses_the_overflowing_run_and_bad_files_with_exit_2(void **state)
{
    (void)state;
    char db[4096];
    snprintf(db, sizeof db, "%s/ovf.db", dir);
    /* the command that overflowed a heap buffer before */
    const char *ovf[] = {"run", CS_FIXTURES "/e2e_small.ini", "--set", "seed=1", "--set",
                           "norm=none", "--set", "depth=1", "--set", "width=1", "--set",
                           "input_dim=1", "--set", "batch=1048576", "--set", "steps_a=1",
                           "--set", "steps_b=1", "--set", "noise_probes=2097152", "--set",
                           "noise_batches=1048576", "--db", db, NULL};
    cs_test_exit r = covshift(ovf);
    print_message("  %s", r.err);
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "--set noise_probes=2097152: key 'noise_probes': expected an integer "
                           "in 0..1048576",
                    "overflow");
    cs_test_exit_free(&r);
    /* the same at the bounds: the size overflows, named with the --sets */
    ovf[19] = "noise_probes=1048576";
    ovf[21] = "noise_batches=2047";
    ovf[9] = "width=1048576";
    r = covshift(ovf);
    print_message("  %s", r.err);
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "cannot allocate", "overflow");
    assert_contains(r.err, "reduce noise_probes, noise_batches, batch, width or input_dim", "keys");
    cs_test_exit_free(&r);
    struct stat st;
    assert_int_not_equal(stat(db, &st), 0); /* nothing written */

    /* a directory as FILE is bad input */
    const char *directory[] = {"run", dir, "--dry-run", NULL};
    r = covshift(directory);
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "is a directory", "directory");
    cs_test_exit_free(&r);

    /* a value with terminal escapes is shown escaped */
    const char *path = write_file("esc.ini", "[network]\nactivation = \x1b]0;owned\x07\x1b[2J\n");
    const char *esc[] = {"run", path, "--dry-run", NULL};
    r = covshift(esc);
    print_message("  %s", r.err);
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "esc.ini:2: key 'activation'", "escaped");
    assert_contains(r.err, "\\x1b]0;owned\\x07\\x1b[2J", "escaped");
    assert_null(memchr(r.err, 0x1b, strlen(r.err)));
    assert_null(memchr(r.err, 0x07, strlen(r.err)));
    cs_test_exit_free(&r);
    const char *bad_jobs[] = {"run", path, "--jobs", "\x1b[2J", NULL};
    r = covshift(bad_jobs);
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "got '\\x1b[2J'", "--jobs escaped");
    cs_test_exit_free(&r);
}

/* A run over this machine's memory fails (exit 1) with a message naming
 * the keys to reduce, and the sweep goes on: the other run is done. (On a
 * machine with over 400 GB the same run is over 1 TB: refused, exit 2.) */
static void test_cli_run_over_this_machine_fails_naming_keys(void **state)
{
    (void)state;
    char db[4096], text[512];
    snprintf(db, sizeof db, "%s/machine.db", dir);
    size_t machine = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    /* activations: 2 x 128 steps x batch x 1024 x 8 bytes = batch MiB x 2 */
    size_t batch = machine / ((size_t)1 << 20) + 1;
    snprintf(text, sizeof text,
             "[experiment]\nname = machine\n[network]\ndepth = 2\nwidth = 1024\n"
             "input_dim = 1024\n[data]\nbatch = 4, %zu\nsteps_a = 64\nsteps_b = 64\n",
             batch > CS_MAX_BATCH ? (size_t)CS_MAX_BATCH : batch);
    const char *args[] = {"run", write_file("machine.ini", text), "--db", db, NULL};
    cs_test_exit r = covshift(args);
    print_message("  %s", r.err);
    assert_contains(r.err, "reduce batch, width, input_dim, steps_a or steps_b", "keys");
    if (2 * batch * ((size_t)1 << 20) > (size_t)900000000000) {
        assert_int_equal(r.code, 2);
        assert_contains(r.err, "one run may use", "over 1 TB");
    } else {
        assert_int_equal(r.code, 1);
        assert_contains(r.err, "this machine has", "machine");
        assert_contains(r.err, "1 done, 1 failed", "the other run");
    }
    cs_test_exit_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_integer_key_bound_is_checked_at_its_line),
        cmocka_unit_test(test_a_run_too_large_names_the_keys_and_their_lines),
        cmocka_unit_test(test_crlf_and_long_lines_parse),
        cmocka_unit_test(test_backslash_continues_a_line_and_lines_stay_right),
        cmocka_unit_test(test_unknown_section_lists_every_section),
        cmocka_unit_test(test_names_that_cannot_be_paths_are_refused),
        cmocka_unit_test(test_whole_file_mistakes_name_the_file),
        cmocka_unit_test(test_cli_refuses_the_overflowing_run_and_bad_files_with_exit_2),
        cmocka_unit_test(test_cli_run_over_this_machine_fails_naming_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
