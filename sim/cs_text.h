/* Text from a database, a file or the environment made safe to print on a
 * terminal: control bytes, terminal escape sequences and bytes that are
 * not UTF-8 are shown as escapes instead of being sent raw. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>

/* Writes `in` to out (size bytes, NUL-terminated when size > 0, cut short
 * when too small) with: backslash as \\, tab, newline and carriage return
 * as \t \n \r, every other byte below 0x20 and DEL as \xHH, C1 controls
 * (U+0080..U+009F, which terminals also obey) as \u00HH, and a byte that
 * does not start a well-formed UTF-8 sequence as \xHH. Well-formed UTF-8
 * and printable ASCII pass through unchanged. Returns the length the whole
 * escaped text needs (without the NUL), as snprintf does; in NULL is "". */
size_t cs_text_escape(char *out, size_t size, const char *in);

#endif
