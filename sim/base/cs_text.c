/* Escaping text for terminals (see cs_text.h). */
#include "cs_text.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
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

/* ---- Markdown (report.md) ---- */

/* The number of bytes at s that form one control character as the
 * Markdown writers escape it: 1 (C0, DEL), 2 (a C1 control in UTF-8), or
 * 0 when s starts with anything else. */
static size_t cs_text_control(const unsigned char *s)
{
    if (*s < 0x20 || *s == 0x7f)
        return 1;
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
        return 2;
    return 0;
}

void cs_text_md_inline(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = cs_text_control(p);
        if (n) {
            for (size_t k = 0; k < n; k++, p++)
                fprintf(f, "\\x%02x", *p);
            continue;
        }
        if (strchr("\\`*<>[]|&", *p))
            fputc('\\', f);
        fputc(*p++, f);
    }
}

/* The longest run of backticks in s. */
static size_t cs_text_longest_backticks(const char *s)
{
    size_t longest = 0, run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    return longest;
}

static void cs_text_repeat(FILE *f, char c, size_t n)
{
    while (n--)
        fputc(c, f);
}

void cs_text_md_code(FILE *f, const char *s)
{
    size_t fence = cs_text_longest_backticks(s) + 1, len = strlen(s);
    int pad = len && (s[0] == '`' || s[len - 1] == '`');
    cs_text_repeat(f, '`', fence);
    if (pad)
        fputc(' ', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = cs_text_control(p);
        if (n) {
            for (size_t k = 0; k < n; k++, p++)
                fprintf(f, "\\x%02x", *p);
        } else {
            fputc(*p++, f);
        }
    }
    if (pad)
        fputc(' ', f);
    cs_text_repeat(f, '`', fence);
}

void cs_text_md_block(FILE *f, const char *info, const char *s)
{
    size_t fence = cs_text_longest_backticks(s) + 1;
    if (fence < 3)
        fence = 3;
    cs_text_repeat(f, '`', fence);
    fprintf(f, "%s\n", info);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (p[0] == '\r' && p[1] == '\n') {
            p++;
            continue;
        }
        size_t n = *p == '\n' || *p == '\t' ? 0 : cs_text_control(p);
        if (n) {
            for (size_t k = 0; k < n; k++, p++)
                fprintf(f, "\\x%02x", *p);
        } else {
            fputc(*p++, f);
        }
    }
    if (!*s || s[strlen(s) - 1] != '\n')
        fputc('\n', f);
    cs_text_repeat(f, '`', fence);
    fputc('\n', f);
}

size_t cs_text_sh_quote(char *dst, size_t size, const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_-./,:=+@%";
    size_t need = 0;
    int plain = *s && strspn(s, safe) == strlen(s);
    /* One byte at a time into dst while it fits; need counts them all. */
#define CS_TEXT_PUT(c)                                                                             \
    do {                                                                                           \
        if (need + 1 < size)                                                                       \
            dst[need] = (c);                                                                       \
        need++;                                                                                    \
    } while (0)
    if (plain) {
        for (const char *p = s; *p; p++)
            CS_TEXT_PUT(*p);
    } else {
        CS_TEXT_PUT('\'');
        for (const char *p = s; *p; p++) {
            if (*p == '\'') {
                CS_TEXT_PUT('\'');
                CS_TEXT_PUT('\\');
                CS_TEXT_PUT('\'');
            }
            CS_TEXT_PUT(*p);
        }
        CS_TEXT_PUT('\'');
    }
#undef CS_TEXT_PUT
    if (size > 0)
        dst[need < size ? need : size - 1] = '\0';
    return need;
}

char *cs_text_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

char *cs_text_pyfloat(char *dst, size_t size, double x)
{
    if (isnan(x)) {
        snprintf(dst, size, "nan");
        return dst;
    }
    if (isinf(x)) {
        snprintf(dst, size, "%sinf", x < 0 ? "-" : "");
        return dst;
    }
    /* The shortest %.*e that round-trips gives the digits and the decimal
     * exponent (David Gay's shortest repr, which Python uses, is the same
     * digit string: the fewest digits, correctly rounded). */
    char sci[40];
    int prec = 0;
    for (; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    /* sci is [-]d[.ddd]e[+-]XX: split sign, digits, exponent. */
    const char *p = sci;
    int neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    /* Python's repr drops trailing zeros of the digit string (0 -> "0"). */
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    char body[64];
    if (exp10 < -4 || exp10 >= 16) {
        snprintf(body, sizeof body, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "", digits + 1,
                 exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        /* 0.000ddd: -exp10 - 1 (0 .. 3) zeros after the point */
        char zeros[4] = {0};
        memset(zeros, '0', (size_t)(-exp10 - 1));
        snprintf(body, sizeof body, "0.%s%s", zeros, digits);
    } else if ((size_t)exp10 + 1 >= nd) {
        /* integer value: digits, the zeros up to the point, ".0" */
        char zeros[20] = {0};
        memset(zeros, '0', (size_t)exp10 + 1 - nd);
        snprintf(body, sizeof body, "%s%s.0", digits, zeros);
    } else {
        snprintf(body, sizeof body, "%.*s.%s", exp10 + 1, digits, digits + exp10 + 1);
    }
    snprintf(dst, size, "%s%s", neg ? "-" : "", body);
    return dst;
}
