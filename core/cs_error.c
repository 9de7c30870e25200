/* Thread-local last-error message and code: library code returns a code
 * and records what went wrong; only the CLI turns codes into exits. */
#include "cs_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char cs_error_text[CS_ERROR_MAX];
static _Thread_local int cs_error_last = CS_OK;

int cs_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cs_error_text, sizeof cs_error_text, fmt, ap);
    va_end(ap);
    cs_error_last = code;
    return code;
}

int cs_error_prefix(int code, const char *fmt, ...)
{
    char prefix[CS_ERROR_MAX];
    char old[CS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, cs_error_text, sizeof old);
    /* Truncation is acceptable: the start of a long message says enough. */
    size_t len = strlen(prefix);
    if (len > CS_ERROR_MAX - 3)
        len = CS_ERROR_MAX - 3;
    memcpy(cs_error_text, prefix, len);
    memcpy(cs_error_text + len, ": ", 2);
    size_t rest = CS_ERROR_MAX - len - 3;
    size_t old_len = strnlen(old, rest);
    memcpy(cs_error_text + len + 2, old, old_len);
    cs_error_text[len + 2 + old_len] = '\0';
    cs_error_last = code;
    return code;
}

const char *cs_error_message(void) { return cs_error_text; }

int cs_error_code(void) { return cs_error_last; }

void cs_error_clear(void)
{
    cs_error_text[0] = '\0';
    cs_error_last = CS_OK;
}

const char *cs_error_name(int code)
{
    switch (code) {
    case CS_OK: return "ok";
    case CS_EINVAL: return "invalid input";
    case CS_ENOMEM: return "out of memory";
    case CS_EIO: return "I/O error";
    case CS_EDB: return "database error";
    case CS_ENOTFOUND: return "not found";
    case CS_ENUMERIC: return "numerical failure";
    default: return "unknown error";
    }
}
