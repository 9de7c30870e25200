/* Experiment files as text (see cs_ini.h): inih over a line reader that
 * counts lines, joins '\' continuations and checks section lines before
 * inih sees them. */
#include "cs_ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_suggest.h"
#include "cs_text.h"

typedef struct {
    const char *path;
    const char *text;                  /* the whole file */
    const char *pos, *end;             /* the rest of it */
    const char *const *sections;
    size_t nsections;
    cs_ini_handler handler;
    void *user;
    int line;      /* the first line of what inih is handling now (1-based) */
    int last_line; /* the lines read so far (continuations included) */
    int rc;        /* first error; parsing stops at it */
} cs_ini_reader;

/* Prefixes the current message with "path:line" of the reader's line and
 * records it as the parse's error. */
static int cs_ini_fail_here(cs_ini_reader *R, int rc)
{
    R->rc = cs_error_prefix(rc, "%s:%d", R->path, R->line);
    return R->rc;
}

/* "[experiment], [network], ...": every section. */
static void cs_ini_section_list(const cs_ini_reader *R, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t s = 0; s < R->nsections && used < size; s++)
        used += (size_t)snprintf(buf + used, size - used, "%s[%s]", s ? ", " : "",
                                 R->sections[s]);
}

/* Checks a physical line before inih sees it: when it is a "[section]"
 * line, that the section exists (so an unknown section with no keys in it
 * is an error too) and that nothing but a comment follows the ']' (inih
 * would drop it silently). Returns 1 for a good section line, whose
 * section is then R->sections[*index], 0 for any other line, -1 on error
 * (recorded in R). */
static int cs_ini_check_section_line(cs_ini_reader *R, const char *line, size_t len,
                                     size_t *index)
{
    size_t i = 0;
    if (R->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* UTF-8 byte order mark, which inih skips */
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len || line[i] != '[')
        return 0;
    const char *close = memchr(line + i, ']', len - i);
    if (!close)
        return 0; /* inih reports the malformed header */
    char name[256];
    size_t n = (size_t)(close - (line + i + 1));
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, line + i + 1, n);
    name[n] = '\0';
    char *t = cs_text_trim(name);
    *index = R->nsections;
    for (size_t k = 0; k < R->nsections; k++)
        if (strcmp(R->sections[k], t) == 0)
            *index = k;
    if (*index == R->nsections) {
        char sections[256];
        cs_ini_section_list(R, sections, sizeof sections);
        const char *near = cs_suggest_nearest(t, R->sections, R->nsections);
        if (near)
            cs_error_set(CS_EINVAL, "unknown section [%s] (did you mean [%s]?)", t, near);
        else
            cs_error_set(CS_EINVAL, "unknown section [%s] (sections: %s)", t, sections);
        cs_ini_fail_here(R, CS_EINVAL);
        return -1;
    }
    size_t j = (size_t)(close - line) + 1;
    while (j < len && isspace((unsigned char)line[j]))
        j++;
    if (j < len && line[j] != ';' && line[j] != '#') {
        size_t rest = len - j;
        cs_error_set(CS_EINVAL, "unexpected text after [%s]: '%.*s%s' (a key = value goes on a "
                                "line of its own)",
                     t, (int)(rest > 40 ? 40 : rest), line + j, rest > 40 ? "..." : "");
        cs_ini_fail_here(R, CS_EINVAL);
        return -1;
    }
    return 1;
}

/* An fgets-style reader for ini_parse_stream over the file text: one line
 * per call, so R->line is the line of every handler call.
 *   - CRLF line ends are line ends (the CR is not part of the line);
 *   - a line whose last character is '\', outside a comment, continues on
 *     the next line: the '\' and the line break are removed (so lists can
 *     span lines; messages give the line the key starts on);
 *   - section lines and whole-line comments are never continued; a comment
 *     is handed over empty (it may be longer than inih's buffer);
 *   - a line longer than num - 1 characters, continuations joined, is an
 *     error (inih would silently split it).
 * Comments follow inih: ';' or '#' first on a line or after whitespace. */
static char *cs_ini_read_line(char *str, int num, void *stream)
{
    cs_ini_reader *R = stream;
    if (R->rc != CS_OK || R->pos >= R->end)
        return NULL; /* end of input, or stop at the first error */
    size_t cap = (size_t)num - 1, used = 0;
    R->line = R->last_line + 1;
    int in_comment = 0;
    for (int first = 1;; first = 0) {
        const char *seg = R->pos;
        const char *nl = memchr(seg, '\n', (size_t)(R->end - seg));
        size_t len = (size_t)((nl ? nl : R->end) - seg);
        R->pos = nl ? nl + 1 : R->end;
        R->last_line++;
        if (len > 0 && seg[len - 1] == '\r')
            len--;
        if (first) {
            size_t index = 0;
            int section = cs_ini_check_section_line(R, seg, len, &index);
            if (section < 0)
                return NULL;
            if (section > 0) { /* the header alone, as short as a name */
                snprintf(str, (size_t)num, "[%s]", R->sections[index]);
                return str;
            }
            size_t i = R->line == 1 && len >= 3 && memcmp(seg, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
            while (i < len && isspace((unsigned char)seg[i]))
                i++;
            if (i < len && (seg[i] == ';' || seg[i] == '#')) {
                strcpy(str, ";");
                return str;
            }
        }
        for (size_t i = 0; i < len && !in_comment; i++) {
            char before = i ? seg[i - 1] : used ? str[used - 1] : '\0';
            in_comment = (seg[i] == ';' || seg[i] == '#') && isspace((unsigned char)before);
        }
        int continued = len > 0 && seg[len - 1] == '\\' && !in_comment;
        if (continued)
            len--;
        if (len > cap - used) {
            cs_error_set(CS_EINVAL, "line is longer than %zu characters%s", cap,
                         first && !continued ? "" : " (continuation lines joined)");
            cs_ini_fail_here(R, CS_EINVAL);
            return NULL;
        }
        memcpy(str + used, seg, len);
        used += len;
        if (!continued)
            break;
        if (R->pos >= R->end) {
            cs_error_set(CS_EINVAL, "the last line ends in '\\' (a line continuation), but no "
                                    "line follows");
            R->line = R->last_line;
            cs_ini_fail_here(R, CS_EINVAL);
            return NULL;
        }
    }
    str[used] = '\0';
    return str;
}

/* inih's handler: nonzero to go on. The first error stops the parse (the
 * reader then reports end of input). */
static int cs_ini_on_key(void *user, const char *section, const char *name, const char *value)
{
    cs_ini_reader *R = user;
    if (R->rc != CS_OK)
        return 0;
    int rc = R->handler(R->user, section, name, value, R->line);
    if (rc == CS_OK)
        return 1;
    if (rc == CS_ENOMEM)
        R->rc = rc;
    else
        cs_ini_fail_here(R, rc);
    return 0;
}

int cs_ini_read(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        return cs_error_set(err == ENOENT ? CS_ENOTFOUND : err == ENOMEM ? CS_ENOMEM : CS_EINVAL,
                            "cannot read experiment file '%s': %s", path, strerror(err));
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return cs_error_set(CS_EINVAL, "%s: is a directory, not an experiment file", path);
    }
    size_t cap = 4096, n = 0;
    char *buf = cs_malloc(cap);
    int rc = buf ? CS_OK : CS_ENOMEM;
    while (rc == CS_OK) {
        if (n > CS_INI_MAX_FILE) {
            rc = cs_error_set(CS_EINVAL, "%s: larger than %zu MB, not an experiment file", path,
                              CS_INI_MAX_FILE >> 20);
            break;
        }
        if (cap - n < 2) {
            char *grown = cs_realloc_n(buf, 2, cap); /* 2 x cap bytes */
            if (!grown) {
                rc = CS_ENOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = cs_error_set(errno == EISDIR ? CS_EINVAL : CS_EIO,
                                  "cannot read experiment file '%s': %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc != CS_OK) {
        cs_free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CS_OK;
}

/* The start of line `line` (1-based) of text, quoted for a message: at
 * most 80 characters, trimmed. */
static void cs_ini_quote_line(const char *text, int line, char *quoted, size_t size)
{
    const char *p = text;
    for (int i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    quoted[0] = '\0';
    if (p) {
        size_t n = strcspn(p, "\r\n");
        snprintf(quoted, size, "%.*s%s", (int)(n > 80 ? 80 : n), p, n > 80 ? "..." : "");
    }
}

/* Runs inih over the text with this format's settings (see cs_ini.h): no
 * multi-line values in configparser's style (an indented line is a line of
 * its own; a '\' at the end of a line continues it instead), lines up to
 * CS_INI_MAX_LINE - 1 characters, parsing stops at the first error. */
int cs_ini_parse(const char *path, const char *text, size_t len, const char *const *sections,
                 size_t nsections, cs_ini_handler handler, void *user)
{
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        return cs_error_set(CS_EINVAL, "%s:%d: unexpected NUL byte (not a text file?)", path,
                            line);
    }
    cs_ini_reader R = {path, text, text, text + len, sections, nsections, handler, user,
                       0,    0,    CS_OK};
    static char start_prefixes[] = ";#", inline_prefixes[] = ";#";
    bool saved_multiline = ini_allow_multiline, saved_inline = ini_allow_inline_comments;
    bool saved_stop = ini_stop_on_first_error, saved_no_value = ini_allow_no_value;
    bool saved_stack = ini_use_stack, saved_bom = ini_allow_bom;
    int saved_max_line = ini_max_line;
    char *saved_start = ini_start_comment_prefixes,
         *saved_inline_prefixes = ini_inline_comment_prefixes;
    ini_allow_multiline = false;
    ini_allow_inline_comments = true;
    ini_stop_on_first_error = true;
    ini_allow_no_value = false;
    ini_allow_bom = true;
    ini_use_stack = true; /* a CS_INI_MAX_LINE buffer on the stack, handed to the reader */
    ini_max_line = CS_INI_MAX_LINE;
    ini_start_comment_prefixes = start_prefixes;
    ini_inline_comment_prefixes = inline_prefixes;
    int ini_rc = ini_parse_stream(cs_ini_read_line, &R, cs_ini_on_key, &R);
    ini_allow_multiline = saved_multiline;
    ini_allow_inline_comments = saved_inline;
    ini_stop_on_first_error = saved_stop;
    ini_allow_no_value = saved_no_value;
    ini_allow_bom = saved_bom;
    ini_use_stack = saved_stack;
    ini_max_line = saved_max_line;
    ini_start_comment_prefixes = saved_start;
    ini_inline_comment_prefixes = saved_inline_prefixes;

    if (R.rc != CS_OK)
        return R.rc;
    if (ini_rc == -2)
        return cs_error_set(CS_ENOMEM, "out of memory parsing '%s'", path);
    if (ini_rc != 0) {
        /* inih's own syntax errors: a line that is neither a section, a
         * comment nor key = value. inih stops at once, so it is the line
         * last handed over (inih's own count would miss continuations). */
        char quoted[96];
        cs_ini_quote_line(text, R.line, quoted, sizeof quoted);
        return cs_error_set(CS_EINVAL, "%s:%d: expected '[section]' or 'key = value', got '%s'",
                            path, R.line, cs_text_trim(quoted));
    }
    return CS_OK;
}
