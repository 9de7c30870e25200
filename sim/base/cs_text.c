/* Escaping text for terminals (see cs_text.h). */
#include "cs_text.h"

#include <stdio.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when s does not
 * start one (stray continuation byte, overlong form, surrogate, > U+10FFFF,
 * cut short). *cp receives its code point. */
static size_t cs_text_utf8(const unsigned char *s, unsigned long *cp)
{
    unsigned char c = s[0];
    size_t n;
    unsigned long v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

char *cs_text_escape(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t used = 0;
    while (*s) {
        char piece[16];
        size_t len, advance;
        unsigned long cp = 0;
        size_t n = cs_text_utf8(s, &cp);
        if (n == 0) {
            len = (size_t)snprintf(piece, sizeof piece, "\\x%02x", *s);
            advance = 1;
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            char c = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
            len = (size_t)snprintf(piece, sizeof piece, "\\%c", c);
            advance = 1;
        } else if (cp < 0x20 || cp == 0x7F) {
            len = (size_t)snprintf(piece, sizeof piece, "\\x%02lx", cp);
            advance = 1;
        } else if (cp >= 0x80 && cp <= 0x9F) {
            /* a C1 control: its two bytes, escaped */
            len = (size_t)snprintf(piece, sizeof piece, "\\x%02x\\x%02x", s[0], s[1]);
            advance = 2;
        } else if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
            len = (size_t)snprintf(piece, sizeof piece, "\\u%04lx", cp);
            advance = n;
        } else {
            memcpy(piece, s, n);
            len = n;
            advance = n;
        }
        if (len >= size - used)
            break;
        memcpy(dst + used, piece, len);
        used += len;
        s += advance;
    }
    dst[used] = '\0';
    return dst;
}
