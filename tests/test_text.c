/* cs_text_escape: what reaches a terminal from a database or a file.
 * Control bytes, escape sequences, C1 controls and malformed UTF-8 come out
 * as visible escapes; printable ASCII and well-formed UTF-8 unchanged; the
 * output is cut safely and the needed length returned as snprintf does. */
#include "cs_test_util.h"

#include <string.h>

#include "cs_text.h"

static void assert_escapes(const char *in, const char *want)
{
    char out[256];
    size_t n = cs_text_escape(out, sizeof out, in);
    if (strcmp(out, want) != 0)
        fail_msg("escape of a %zu-byte input: got '%s', want '%s'", strlen(in), out, want);
    assert_int_equal(n, strlen(want));
}

static void test_printable_text_and_utf8_pass_unchanged(void **state)
{
    (void)state;
    assert_escapes("", "");
    assert_escapes("depth 10, w1 = 0.5 (bn-frozen) 'q' \"x\" ~!", "depth 10, w1 = 0.5 (bn-frozen) 'q' \"x\" ~!");
    assert_escapes("r\xc3\xa9sultats \xe2\x86\x92 \xf0\x9f\x93\x88 \xc2\xa0", "r\xc3\xa9sultats \xe2\x86\x92 \xf0\x9f\x93\x88 \xc2\xa0");
}

static void test_control_bytes_and_terminal_escapes_are_shown_not_sent(void **state)
{
    (void)state;
    assert_escapes("a\nb\tc\rd", "a\\nb\\tc\\rd");
    assert_escapes("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
    assert_escapes("\x1b]0;title\x07", "\\x1b]0;title\\x07");
    assert_escapes("del\x7f bell\x01", "del\\x7f bell\\x01");
    assert_escapes("back\\slash", "back\\\\slash");
    /* C1 controls: CSI (U+009B) alone starts a sequence on many terminals */
    assert_escapes("\xc2\x9b" "31m \xc2\x85", "\\u009b31m \\u0085");
}

static void test_malformed_utf8_is_escaped_byte_by_byte(void **state)
{
    (void)state;
    assert_escapes("\x9b" "31m", "\\x9b31m");               /* a lone C1 byte */
    assert_escapes("\xc3(", "\\xc3(");                       /* truncated sequence */
    assert_escapes("\xc0\xaf", "\\xc0\\xaf");                /* overlong '/' */
    assert_escapes("\xed\xa0\x80", "\\xed\\xa0\\x80");       /* a surrogate */
    assert_escapes("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
    assert_escapes("\xe2\x86", "\\xe2\\x86");                /* cut at the end */
}

static void test_short_buffers_are_cut_and_the_length_returned(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'z', sizeof out);
    assert_int_equal(cs_text_escape(out, sizeof out, "ab\ncd"), 6);
    assert_string_equal(out, "ab\\nc");
    assert_int_equal(cs_text_escape(NULL, 0, "\x1b"), 4);
    char one[1] = {'z'};
    assert_int_equal(cs_text_escape(one, 1, "abc"), 3);
    assert_int_equal(one[0], '\0');
    assert_int_equal(cs_text_escape(out, sizeof out, NULL), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_text_and_utf8_pass_unchanged),
        cmocka_unit_test(test_control_bytes_and_terminal_escapes_are_shown_not_sent),
        cmocka_unit_test(test_malformed_utf8_is_escaped_byte_by_byte),
        cmocka_unit_test(test_short_buffers_are_cut_and_the_length_returned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
