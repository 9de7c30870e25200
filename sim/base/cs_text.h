/* Text that a user, a file or a database supplied: trimmed where it is
 * read, and made safe where it is shown: on a terminal (control bytes and
 * escape sequences shown, not obeyed) and in report.md (no value leaves
 * the table cell, code span or code block it is put in). */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Copies src into dst (size bytes, NUL-terminated, cut if too small) with
 * every byte a terminal could act on written as an escape: \n \r \t, other
 * C0 controls and DEL as \xNN (ESC is \x1b), C1 controls (U+0080..U+009F)
 * and bytes that are not UTF-8 as \xNN per byte, and the Unicode bidi
 * overrides and isolates (U+202A..U+202E, U+2066..U+2069) as \u202e.
 * Valid UTF-8 text otherwise stays as it is, backslashes included: the
 * result is for reading, not for parsing back. A multibyte escape or
 * character is never cut in half. Returns dst. */
char *cs_text_escape(char *dst, size_t size, const char *src);

/* The size of dst that always holds the escape of n bytes of text. */
#define CS_TEXT_ESCAPED_SIZE(n) (4 * (n) + 1)

/* Writes s as Markdown text for a paragraph, a heading or a pipe-table
 * cell: control bytes as \xHH (C0, DEL, C1), and a backslash before each of
 * \ ` * < > [ ] | & so that the value starts no code span, link, HTML tag,
 * entity or cell (CommonMark: any ASCII punctuation may be escaped). */
void cs_text_md_inline(FILE *f, const char *s);

/* Writes s as a Markdown code span: control bytes as \xHH (a code span
 * shows a backslash as it is), between runs of backticks one longer than
 * the longest run in s, padded with a space when s starts or ends with a
 * backtick (CommonMark 6.1). */
void cs_text_md_code(FILE *f, const char *s);

/* Writes s as a fenced code block with the info string info: the fence is
 * backticks, at least three and one more than the longest run in s, so
 * that no line of s closes it; CR LF becomes LF and every other control
 * byte but LF and tab is written as \xHH; a final newline is added when
 * missing. */
void cs_text_md_block(FILE *f, const char *info, const char *s);

/* Writes s into dst (size bytes, NUL-terminated, cut if too small) as one
 * word of a POSIX shell command line that stands for exactly s: as it is
 * when it holds only letters, digits and _ - . / , : = + @ %; else in
 * single quotes, each ' written '\'' (inside single quotes every other
 * byte, a newline and $ included, is itself; POSIX XCU 2.2.2); the empty
 * word as ''. Returns the length the whole word needs (as snprintf), so
 * that a caller can size dst. The stored command line of an experiment is
 * made of such words, so that `sh -c` runs it again as it was run. */
size_t cs_text_sh_quote(char *dst, size_t size, const char *s);

/* Trims ASCII whitespace from both ends of s in place; returns the first
 * character that is not blank (within s). */
char *cs_text_trim(char *s);

/* x as Python's repr(float) and NumPy's str(np.float64) write it: the
 * fewest significant digits (1 .. 17) that read back as x, positional for
 * 1e-4 <= |x| < 1e16 with ".0" on an integer value, else d.ddde+XX with at
 * least two exponent digits; "nan", "inf", "-inf". Writes at most size - 1
 * characters and a NUL; returns dst. size >= 32 always suffices. */
char *cs_text_pyfloat(char *dst, size_t size, double x);

#endif
