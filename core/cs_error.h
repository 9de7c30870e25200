/* Error codes and the last error message: every library function returns a
 * cs status and records what went wrong, where, and what was expected.
 * The CLI alone turns codes into exit statuses. */
#ifndef CS_ERROR_H
#define CS_ERROR_H

enum {
    CS_OK = 0,
    CS_EINVAL = 1,   /* bad argument or bad user input (CLI exit 2) */
    CS_ENOMEM = 2,   /* allocation failed */
    CS_EIO = 3,      /* file or process I/O failed */
    CS_EDB = 4,      /* SQLite failed */
    CS_ENOTFOUND = 5, /* a named thing (file, experiment, run) does not exist */
    CS_ENUMERIC = 6   /* a numerical routine (GSL) failed */
};

/* Records a printf-style message for the calling thread and returns code,
 * so that callers write `return cs_error_set(CS_EINVAL, "...", ...);`. */
int cs_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with a printf-style context ("run 3: ...")
 * and returns code; used when an error travels up through a caller that
 * knows more about where it happened. */
int cs_error_prefix(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Longest message kept, with its terminating NUL: longer ones are cut. */
#define CS_ERROR_MAX 1024

/* The last message recorded on this thread, "" if none. Never NULL. */
const char *cs_error_message(void);

/* The last code recorded on this thread (CS_OK after cs_error_clear). */
int cs_error_code(void);

void cs_error_clear(void);

/* A short name for a code: "invalid input", "out of memory", ... */
const char *cs_error_name(int code);

#endif
