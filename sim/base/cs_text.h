/* Text that a user, a file or a database supplied, made safe where it is
 * shown: on a terminal (no control byte reaches it raw) and in report.md
 * (no value leaves the table cell, code span or code block it is put in). */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Copies s into out (size > 0, always terminated) with every control byte
 * written as \xHH: C0 (0x00-0x1f, newline and tab included), DEL (0x7f)
 * and the C1 controls as UTF-8 encodes them (0xc2 0x80-0x9f, which some
 * terminals obey). Other bytes, UTF-8 text included, are kept. A value
 * that does not fit is cut at a whole character or escape. Returns out. */
char *cs_text_terminal(char *out, size_t size, const char *s);

/* Writes s as Markdown text for a paragraph, a heading or a pipe-table
 * cell: control bytes as cs_text_terminal, and a backslash before each of
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

#endif
