/* Text from files, databases and the command line made safe to print on a
 * terminal: control bytes and escape sequences shown, not obeyed. */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>

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

#endif
