/* Escaping text for a terminal (see cs_text.h). */
#include "cs_text.h"

#include <stdio.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none. The
 * checks stop at the first byte that fails, so they never read past a NUL. */
static size_t cs_text_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4
                                                                                          : 0;
    }
    return 0;
}

/* Appends n bytes of p at out[*len], as far as size allows. */
static void cs_text_put(char *out, size_t size, size_t *len, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, (*len)++)
        if (*len + 1 < size)
            out[*len] = p[i];
}

size_t cs_text_escape(char *out, size_t size, const char *in)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t len = 0;
    while (*s) {
        char esc[8];
        size_t n = *s < 0x80 ? 1 : cs_text_utf8_len(s);
        if (*s == '\\')
            snprintf(esc, sizeof esc, "\\\\");
        else if (*s == '\t' || *s == '\n' || *s == '\r')
            snprintf(esc, sizeof esc, "\\%c", *s == '\t' ? 't' : *s == '\n' ? 'n' : 'r');
        else if (*s < 0x20 || *s == 0x7f || n == 0)
            snprintf(esc, sizeof esc, "\\x%02x", *s);
        else if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
            snprintf(esc, sizeof esc, "\\u%04x", s[1]);
        else
            esc[0] = '\0';
        if (esc[0])
            cs_text_put(out, size, &len, esc, strlen(esc));
        else
            cs_text_put(out, size, &len, (const char *)s, n);
        s += n ? n : 1;
    }
    if (size > 0)
        out[len < size ? len : size - 1] = '\0';
    return len;
}
