/* Reading an experiment file: the file into memory, then inih over it with
 * the syntax docs/experiments.md documents (sections, key = value, comments,
 * '\' continuations, CRLF), every line counted so that each key's handler
 * and each error know the line (docs/design.md §4). */
#ifndef CS_INI_H
#define CS_INI_H

#include <stddef.h>

/* Longest line handed to inih, continuation lines joined, with its NUL:
 * inih's line buffer is ini_max_line bytes, a runtime setting in Debian's
 * libinih (its default, 200, fits no long list). */
#define CS_INI_MAX_LINE 65536
/* Largest file read: far above any real one, so a device or a wrong file
 * (covshift run /dev/zero) is refused instead of read forever. */
#define CS_INI_MAX_FILE ((size_t)16 << 20)

/* Reads the whole file at path into a cs_malloc'd, NUL-terminated *text of
 * *len bytes. A file that cannot be opened is bad input (CS_ENOTFOUND when
 * missing, else CS_EINVAL), as are a directory and a file over
 * CS_INI_MAX_FILE; only a failing read is CS_EIO. */
int cs_ini_read(const char *path, char **text, size_t *len);

/* Called for each key = value, section as written (untrimmed), line the
 * 1-based line the key starts on. Returns CS_OK to go on, or an error
 * whose message lacks the location (cs_ini_parse adds "path:line: "). */
typedef int (*cs_ini_handler)(void *user, const char *section, const char *name,
                              const char *value, int line);

/* Parses text (len bytes, path for messages): a NUL byte, a section not in
 * sections[0..nsections) (with a did-you-mean), text after a section's
 * ']', a line longer than CS_INI_MAX_LINE - 1 characters, a last line
 * ending in '\' and a line inih cannot read are errors "path:line: ...",
 * as is the first error of the handler, which stops the parse. Comments
 * start with ';' or '#' at the start of a line or after whitespace.
 * Returns CS_OK, CS_EINVAL or CS_ENOMEM. inih's settings are process-wide:
 * they are set for the parse and restored after it, so experiment files
 * are read from one thread. */
int cs_ini_parse(const char *path, const char *text, size_t len, const char *const *sections,
                 size_t nsections, cs_ini_handler handler, void *user);

#endif
