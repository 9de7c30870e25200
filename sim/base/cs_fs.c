/* Directories and programs on PATH (see cs_fs.h). */
#include "cs_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"

int cs_fs_error_code(int err)
{
    switch (err) {
    case ENOMEM: return CS_ENOMEM;
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EMLINK: return CS_EIO; /* the file system failed, not the path */
    default: return CS_EINVAL;  /* not a directory, no permission, read-only, too long... */
    }
}

/* Creates each missing prefix of path[0..len) ending before a '/', then
 * the whole. On failure returns the errno and leaves in path the prefix
 * that failed (ENOTDIR when it exists and is not a directory); *first is
 * the length of the first prefix created, 0 if none. */
static int cs_fs_make(char *path, size_t len, size_t *first)
{
    *first = 0;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        char saved = path[i];
        path[i] = '\0';
        struct stat st;
        if (mkdir(path, 0777) == 0) {
            if (!*first)
                *first = i;
        } else if (errno != EEXIST) {
            return errno;
        } else if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            return ENOTDIR;
        }
        path[i] = saved;
    }
    return 0;
}

int cs_fs_mkdirs(const char *dir)
{
    size_t len = strlen(dir), first = 0;
    char *path = cs_malloc(len + 1);
    if (!path)
        return CS_ENOMEM;
    memcpy(path, dir, len + 1);
    int rc = CS_OK, err = cs_fs_make(path, len, &first);
    if (err == ENOTDIR && access(path, F_OK) == 0)
        rc = cs_error_set(CS_EINVAL, "cannot create output directory %s: %s is not a directory",
                          dir, path);
    else if (err)
        rc = cs_error_set(cs_fs_error_code(err), "cannot create output directory %s: %s (at %s)",
                          dir, strerror(err), path);
    cs_free(path);
    if (rc == CS_OK && access(dir, W_OK | X_OK) != 0)
        rc = cs_error_set(cs_fs_error_code(errno), "output directory %s is not writable: %s", dir,
                          strerror(errno));
    return rc;
}

int cs_fs_make_parent(const char *path, size_t *first)
{
    char dir[PATH_MAX];
    *first = 0;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return CS_OK;
    *slash = '\0';
    int err = cs_fs_make(dir, strlen(dir), first);
    if (err)
        return cs_error_set(cs_fs_error_code(err),
                            "cannot create directory '%s' for database '%s': %s", dir, path,
                            strerror(err));
    return CS_OK;
}

void cs_fs_unmake_parent(const char *path, size_t first)
{
    if (!first)
        return;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *slash = strrchr(dir, '/'); slash && (size_t)(slash - dir) >= first;
         slash = strrchr(dir, '/')) {
        *slash = '\0';
        if (rmdir(dir) != 0)
            break;
        if (strlen(dir) == first)
            break;
    }
}

int cs_fs_on_path(const char *program)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    char file[4096];
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int w = snprintf(file, sizeof file, "%.*s%s%s", (int)n, p, n ? "/" : "", program);
        struct stat st;
        if (w > 0 && (size_t)w < sizeof file && stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
            access(file, X_OK) == 0)
            return 1;
        if (!end)
            return 0;
        p = end;
    }
}
