/* The file-system helpers that figures and reports share (DESIGN §5:
 * results/ holds outputs): creating an output directory and finding a
 * program on PATH, without a shell. */
#ifndef CS_FS_H
#define CS_FS_H

/* mkdir -p dir, then checks that dir is a writable directory. Returns
 * CS_OK, CS_ENOMEM, or CS_EINVAL (an output directory the user named and
 * cannot have is bad input: exit 2) with a message naming dir and the component
 * that failed ("cannot create output directory D: Not a directory (at
 * D/file)" or "output directory D is not writable: ..."). */
int cs_fs_mkdirs(const char *dir);

/* 1 when an executable regular file named program is in a PATH entry (an
 * empty entry is the current directory; PATH unset means /usr/bin:/bin),
 * as `command -v program`; 0 otherwise. */
int cs_fs_on_path(const char *program);

#endif
