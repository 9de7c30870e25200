/* sim/base/cs_text.c: what reaches the terminal and report.md from a name or a
 * path. Each function against strings written out by hand. */
#include "cs_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void block_ini(FILE *f, const char *s)
{
    cs_text_md_block(f, "ini", s);
}

static void test_terminal_escapes_control_bytes_and_keeps_utf8(void **state)
{
    (void)state;
    char out[256];
    assert_string_equal(cs_text_terminal(out, sizeof out, "a\nb\tc\x1b[31m\x7f"),
                        "a\\x0ab\\x09c\\x1b[31m\\x7f");
    /* C1 CSI as UTF-8 (c2 9b) is escaped, other UTF-8 kept whole */
    assert_string_equal(cs_text_terminal(out, sizeof out, "\xc2\x9b" "2J \xce\xbc\xe2\x88\x9a"),
                        "\\xc2\\x9b2J \xce\xbc\xe2\x88\x9a");
    /* cut at a whole escape or character, terminated */
    assert_string_equal(cs_text_terminal(out, 7, "ab\ncd"), "ab\\x0a");
    assert_string_equal(cs_text_terminal(out, 4, "a\xce\xbc\xce\xbc"), "a\xce\xbc");
    assert_string_equal(cs_text_terminal(out, 1, "abc"), "");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminal_escapes_control_bytes_and_keeps_utf8),
        cmocka_unit_test(test_md_inline_escapes_markup_and_cells),
        cmocka_unit_test(test_md_code_fence_longer_than_any_run),
        cmocka_unit_test(test_md_block_cannot_be_closed_from_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
