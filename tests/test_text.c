/* Text made safe to print (sim/cs_text.h): every control byte, escape
 * sequence, C1 control, invalid UTF-8 byte and bidi override is shown as
 * an escape; other UTF-8 text is kept; cutting never splits an escape. */
#include "cs_test_util.h"

#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "cs_text.h"

/* What f wrote for s, through open_memstream (malloc'd). */
static char *written(void (*put)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    put(f, s);
    fclose(f);
    return buf;
}

static void test_controls_and_escapes_are_shown_not_obeyed(void **state)
{
    (void)state;
    char out[256];
    const struct {
        const char *in, *want;
    } cases[] = {
        {"plain text, with (punctuation) 1.5e3", "plain text, with (punctuation) 1.5e3"},
        {"line\nbreak\rreturn\ttab", "line\\nbreak\\rreturn\\ttab"},
        {"\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"},
        {"del\x7f nul-free \x01\x1f", "del\\x7f nul-free \\x01\\x1f"},
        {"C1 CSI \xc2\x9b" "31m", "C1 CSI \\xc2\\x9b31m"},
        {"8-bit CSI \x9b" "31m", "8-bit CSI \\x9b31m"},
        {"caf\xc3\xa9 \xe2\x88\x9e \xf0\x9f\x99\x82", "caf\xc3\xa9 \xe2\x88\x9e \xf0\x9f\x99\x82"},
        {"bidi \xe2\x80\xae" "evil \xe2\x81\xa6", "bidi \\u202eevil \\u2066"},
        {"overlong \xc0\xaf, surrogate \xed\xa0\x80, cut \xe2\x88",
         "overlong \\xc0\\xaf, surrogate \\xed\\xa0\\x80, cut \\xe2\\x88"},
        {"beyond \xf4\x90\x80\x80", "beyond \\xf4\\x90\\x80\\x80"},
        {"back\\slash stays", "back\\slash stays"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_ptr_equal(cs_text_escape(out, sizeof out, cases[i].in), out);
        assert_string_equal(out, cases[i].want);
        /* the worst case fits CS_TEXT_ESCAPED_SIZE */
        assert_true(strlen(out) + 1 <= CS_TEXT_ESCAPED_SIZE(strlen(cases[i].in)));
    }
}

static void test_a_short_buffer_cuts_between_escapes(void **state)
{
    (void)state;
    char out[8];
    cs_text_escape(out, sizeof out, "ab\x1b\x1b\x1b");
    assert_string_equal(out, "ab\\x1b"); /* not "ab\x1b\x" */
    cs_text_escape(out, 4, "\xe2\x88\x9e\xe2\x88\x9e");
    assert_string_equal(out, "\xe2\x88\x9e"); /* whole characters only */
    char one[1] = {'z'};
    cs_text_escape(one, 1, "abc");
    assert_int_equal(one[0], '\0');
    char none[1] = {'z'};
    cs_text_escape(none, 0, "abc"); /* size 0: nothing written */
    assert_int_equal(none[0], 'z');
    /* every byte value, alone: never a raw control in the output */
    for (int b = 1; b < 256; b++) {
        char in[2] = {(char)b, 0}, buf[16];
        cs_text_escape(buf, sizeof buf, in);
        for (const unsigned char *c = (const unsigned char *)buf; *c; c++)
            assert_true(*c >= 0x20 && *c != 0x7f && *c < 0x80);
    }
}

static void block_ini(FILE *f, const char *s)
{
    cs_text_md_block(f, "ini", s);
}

static void test_md_inline_escapes_markup_and_cells(void **state)
{
    (void)state;
    char *s = written(cs_text_md_inline, "a|b `c` <x> [l](u) *e* & \\ plot_small\n");
    assert_string_equal(s, "a\\|b \\`c\\` \\<x\\> \\[l\\](u) \\*e\\* \\& \\\\ plot_small\\x0a");
    free(s);
}

static void test_md_code_fence_longer_than_any_run(void **state)
{
    (void)state;
    char *s = written(cs_text_md_code, "a.db");
    assert_string_equal(s, "`a.db`");
    free(s);
    s = written(cs_text_md_code, "x``y`z\n");
    assert_string_equal(s, "```x``y`z\\x0a```");
    free(s);
    s = written(cs_text_md_code, "`tick");
    assert_string_equal(s, "`` `tick ``");
    free(s);
}

static void test_md_block_cannot_be_closed_from_inside(void **state)
{
    (void)state;
    char *s = written(block_ini, "a = 1\r\n```\n````\nb\x1b\tc");
    assert_string_equal(s, "`````ini\na = 1\n```\n````\nb\\x1b\tc\n`````\n");
    free(s);
    s = written(block_ini, "");
    assert_string_equal(s, "```ini\n\n```\n");
    free(s);
}

/* A word of cs_text_sh_quote is the text again when sh reads it: through
 * `sh -c 'printf %s WORD'` (no other shell in between: cs_test_exec), for
 * blanks, quotes, $, backslashes, globs, a leading ~ or -, newlines, the
 * empty word and UTF-8; plain words stay unquoted; the length returned is
 * the word's even when the buffer is too small. */
static void test_sh_quote_round_trips_through_sh(void **state)
{
    (void)state;
    static const char *const words[] = {
        "",        "plain",       "a b",    "it's",  "$HOME",         "a\nb\n",  "\\",
        "'",       "''",          "*",      "~",     "-n",            "x=1,2:3",  "\"q\"",
        "`id`",    "$(id)",       "a\tb",  "\xc3\xbc ber", "depth=10; rm -rf /", "!x", "#c"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char quoted[256], script[320];
        size_t need = cs_text_sh_quote(quoted, sizeof quoted, words[i]);
        assert_int_equal(need, strlen(quoted));
        assert_int_equal(cs_text_sh_quote(NULL, 0, words[i]), need);
        snprintf(script, sizeof script, "printf %%s %s", quoted);
        char *argv[] = {"/bin/sh", "-c", script, NULL};
        cs_test_exit r = cs_test_exec(argv, 10);
        if (!r.exited || r.code != 0 || strcmp(r.out, words[i]) != 0)
            fail_msg("word %zu: quoted as <%s>, sh printed <%s> (exit %d)", i, quoted, r.out,
                     r.code);
        cs_test_exit_free(&r);
    }
    char out[64];
    assert_int_equal(cs_text_sh_quote(out, sizeof out, "run"), 3);
    assert_string_equal(out, "run");
    assert_int_equal(cs_text_sh_quote(out, sizeof out, "--set=a b"), 11);
    assert_string_equal(out, "'--set=a b'");
    assert_int_equal(cs_text_sh_quote(out, sizeof out, "it's"), 9);
    assert_string_equal(out, "'it'\\''s'");
    /* too small: cut, NUL-terminated, the whole length still returned */
    assert_int_equal(cs_text_sh_quote(out, 4, "a b c"), 7);
    assert_string_equal(out, "'a ");
}

/* cs_text_pyfloat writes what Python's repr (and NumPy's str of a float64)
 * writes, for 4000+ doubles of tests/fixtures/python_repr.txt
 * (tests/gen_fixtures_worksheet.py): decades, the switch to exponents at
 * 1e-4 and 1e16, signed zero, infinities, subnormals, random bit patterns. */
static void test_pyfloat_matches_python_repr(void **state)
{
    (void)state;
    FILE *f = fopen(CS_FIXTURES "/python_repr.txt", "r");
    assert_non_null(f);
    char line[128], got[40];
    size_t n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long bits;
        char want[64];
        assert_int_equal(sscanf(line, "%llx %63s", &bits, want), 2);
        double x;
        memcpy(&x, &bits, sizeof x);
        cs_text_pyfloat(got, sizeof got, x);
        if (strcmp(got, want) != 0 && bad++ < 10)
            print_error("%016llx: got %s, Python %s\n", bits, got, want);
        n++;
    }
    fclose(f);
    print_message("%zu doubles, %zu differ from Python's repr\n", n, bad);
    assert_true(n > 4000);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyfloat_matches_python_repr),
        cmocka_unit_test(test_controls_and_escapes_are_shown_not_obeyed),
        cmocka_unit_test(test_a_short_buffer_cuts_between_escapes),
        cmocka_unit_test(test_md_inline_escapes_markup_and_cells),
        cmocka_unit_test(test_md_code_fence_longer_than_any_run),
        cmocka_unit_test(test_md_block_cannot_be_closed_from_inside),
        cmocka_unit_test(test_sh_quote_round_trips_through_sh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
