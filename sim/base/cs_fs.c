/* Output directories and programs on PATH (see cs_fs.h). */
#include "cs_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"

int cs_fs_mkdirs(const char *dir)
{
    size_t len = strlen(dir);
    char *path = cs_malloc(len + 1);
    if (!path)
        return CS_ENOMEM;
    memcpy(path, dir, len + 1);
    int rc = CS_OK;
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len && rc == CS_OK; i++) {
        if (i < len && path[i] != '/')
            continue;
        char saved = path[i];
        path[i] = '\0';
        struct stat st;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            rc = cs_error_set(CS_EINVAL, "cannot create output directory %s: %s (at %s)", dir,
                              strerror(errno), path);
        else if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = cs_error_set(CS_EINVAL, "cannot create output directory %s: %s is not a directory",
                              dir, path);
        path[i] = saved;
    }
    cs_free(path);
    if (rc == CS_OK && access(dir, W_OK | X_OK) != 0)
        rc = cs_error_set(CS_EINVAL, "output directory %s is not writable: %s", dir,
                          strerror(errno));
    return rc;
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
