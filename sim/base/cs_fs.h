/* The file-system helpers the commands share (docs/design.md §5: results/
 * holds outputs): creating directories and finding a program on PATH,
 * without a shell. A directory that cannot be made, or written, because
 * of the path the user gave (a component that is a file, no permission, a
 * read-only file system) is bad input, CS_EINVAL; a file system that fails
 * (full, an I/O error) is CS_EIO: one rule for every command. */
#ifndef CS_FS_H
#define CS_FS_H

#include <stddef.h>

/* The code for errno err of a mkdir, open or access on a path the user
 * gave, by the rule above (ENOMEM is CS_ENOMEM). */
int cs_fs_error_code(int err);

/* mkdir -p dir, then checks that dir is a writable directory. Returns
 * CS_OK, CS_ENOMEM, CS_EIO, or CS_EINVAL (cs_fs_error_code) with a message
 * naming dir and the component that failed ("cannot create output
 * directory D: Not a directory (at D/file)" or "output directory D is not
 * writable: ..."). */
int cs_fs_mkdirs(const char *dir);

/* Creates the directories of path's directory part that are missing (for
 * a database: results/ by default), as cs_fs_mkdirs does, with the message
 * "cannot create directory 'D' for database 'P': ...". *first is the
 * length of the first prefix this call created (0: none), so that
 * cs_fs_unmake_parent can remove what it made. path must be shorter than
 * PATH_MAX. */
int cs_fs_make_parent(const char *path, size_t *first);

/* Removes the directories cs_fs_make_parent created, deepest first, while
 * they are empty. */
void cs_fs_unmake_parent(const char *path, size_t first);

/* 1 when an executable regular file named program is in a PATH entry (an
 * empty entry is the current directory; PATH unset means /usr/bin:/bin),
 * as `command -v program`; 0 otherwise. */
int cs_fs_on_path(const char *program);

#endif
