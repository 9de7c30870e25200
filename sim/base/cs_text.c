/* Text made safe for the terminal and for report.md (see cs_text.h). */
#include "cs_text.h"

#include <string.h>

/* The number of bytes at s that form one control character as
 * cs_text_terminal escapes it: 1 (C0, DEL), 2 (a C1 control in UTF-8), or
 * 0 when s starts with anything else. */
static size_t cs_text_control(const unsigned char *s)
{
    if (*s < 0x20 || *s == 0x7f)
        return 1;
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
        return 2;
    return 0;
}

char *cs_text_terminal(char *out, size_t size, const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = cs_text_control(p);
        if (n) {
            if (w + 4 * n >= size)
                break;
            for (size_t k = 0; k < n; k++, p++)
                w += (size_t)snprintf(out + w, size - w, "\\x%02x", *p);
            continue;
        }
        /* a UTF-8 character whole: its lead byte and continuation bytes */
        size_t len = 1;
        while (p[len] && (p[len] & 0xc0) == 0x80 && len < 4)
            len++;
        if (w + len >= size)
            break;
        memcpy(out + w, p, len);
        w += len;
        p += len;
    }
    out[w] = '\0';
    return out;
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
