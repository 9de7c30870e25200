/* gnuplot as a child process with argv and no shell (see cs_gnuplot.h). */
#include "cs_gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_text.h"

extern char **environ;

struct cs_gnuplot {
    FILE *pipe;             /* gnuplot's standard input */
    pid_t pid;
    int errfd;              /* gnuplot's stderr, an unlinked file read back at close */
    struct sigaction saved; /* SIGPIPE disposition to restore */
};

/* fd moved to a descriptor above 2, close-on-exec (fd itself is closed):
 * when we were started with stdin, stdout or stderr closed, mkstemp or
 * pipe return 0, 1 or 2, and the child's dup2 onto 0-2 would overwrite
 * it before it is copied. Returns the new descriptor or -1. */
static int cs_gnuplot_high_fd(int fd)
{
    if (fd < 0)
        return -1;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return high;
}

/* gnuplot's stderr: a temporary file, unlinked at once so that nothing is
 * left behind whatever happens to us. */
static int cs_gnuplot_errfile(void)
{
    const char *tmpdir = getenv("TMPDIR");
    char name[4096];
    int n = snprintf(name, sizeof name, "%s/cs_gnuplot_XXXXXX",
                     tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (n < 0 || (size_t)n >= sizeof name)
        return cs_error_set(CS_EIO, "TMPDIR is too long for a temporary file name"), -1;
    int fd = mkstemp(name);
    if (fd < 0) {
        char shown[256];
        cs_text_escape(shown, sizeof shown, name);
        return cs_error_set(CS_EIO, "cannot create a temporary file %s for gnuplot: %s", shown,
                            strerror(errno)),
               -1;
    }
    unlink(name);
    if ((fd = cs_gnuplot_high_fd(fd)) < 0)
        return cs_error_set(CS_EIO, "cannot keep a temporary file for gnuplot: %s",
                            strerror(errno)),
               -1;
    return fd;
}

int cs_gnuplot_open(cs_gnuplot **out, const char *const *args)
{
    *out = NULL;
    size_t nargs = 0;
    while (args && args[nargs])
        nargs++;
    cs_gnuplot *gp = cs_calloc(1, sizeof *gp);
    char **argv = cs_calloc(nargs + 2, sizeof *argv);
    int fds[2] = {-1, -1}, rc = CS_OK, spawned = 0;
    posix_spawn_file_actions_t actions;
    int have_actions = 0;
    if (!gp || !argv) {
        rc = CS_ENOMEM;
        goto fail;
    }
    gp->errfd = -1;
    /* posix_spawn's argv is char *const[]; the strings are not written. */
    argv[0] = (char *)"gnuplot";
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    if ((gp->errfd = cs_gnuplot_errfile()) < 0) {
        rc = CS_EIO;
        goto fail;
    }
    if (pipe(fds) == 0) {
        fds[0] = cs_gnuplot_high_fd(fds[0]);
        fds[1] = cs_gnuplot_high_fd(fds[1]);
    }
    if (fds[0] < 0 || fds[1] < 0) {
        rc = cs_error_set(CS_EIO, "cannot make a pipe to gnuplot: %s", strerror(errno));
        goto fail;
    }
    /* dup2 clears close-on-exec on 0 and 2; every other descriptor of
     * ours (the pipe's write end, the database) closes in the child. */
    if (posix_spawn_file_actions_init(&actions) != 0) {
        rc = CS_ENOMEM;
        goto fail;
    }
    have_actions = 1;
    if (posix_spawn_file_actions_adddup2(&actions, fds[0], 0) != 0 ||
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&actions, gp->errfd, 2) != 0) {
        rc = CS_ENOMEM;
        goto fail;
    }
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &gp->saved);
    int err = posix_spawnp(&gp->pid, "gnuplot", &actions, NULL, argv, environ);
    if (err != 0) {
        sigaction(SIGPIPE, &gp->saved, NULL);
        rc = cs_error_set(CS_EIO, "cannot start gnuplot: %s", strerror(err));
        goto fail;
    }
    spawned = 1;
    close(fds[0]);
    fds[0] = -1;
    if (!(gp->pipe = fdopen(fds[1], "w"))) {
        rc = cs_error_set(CS_EIO, "cannot write to gnuplot: %s", strerror(errno));
        goto fail;
    }
    fds[1] = -1;
    posix_spawn_file_actions_destroy(&actions);
    cs_free(argv);
    *out = gp;
    return CS_OK;
fail:
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (spawned) {
        int status;
        waitpid(gp->pid, &status, 0);
        sigaction(SIGPIPE, &gp->saved, NULL);
    }
    if (gp && gp->errfd >= 0)
        close(gp->errfd);
    cs_free(argv);
    cs_free(gp);
    return rc;
}

FILE *cs_gnuplot_stream(cs_gnuplot *gp)
{
    return gp->pipe;
}

/* gnuplot's multi-line report (caret line, "line 0: ...") on one line,
 * with control bytes escaped (cs_text_escape). */
static void cs_gnuplot_fold(char *out, size_t size, char *msg)
{
    char *w = msg;
    for (char *p = msg; *p; p++) {
        char ch = (*p == '\n' || *p == '\t' || *p == '^') ? ' ' : *p;
        if (ch != ' ' || (w > msg && w[-1] != ' '))
            *w++ = ch;
    }
    while (w > msg && w[-1] == ' ')
        w--;
    *w = '\0';
    cs_text_escape(out, size, msg);
}

int cs_gnuplot_close(cs_gnuplot *gp, const char *path, char *said, size_t size)
{
    if (!gp)
        return CS_OK;
    fclose(gp->pipe);
    int status = 0;
    pid_t got_pid;
    while ((got_pid = waitpid(gp->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    char raw[1024] = "", msg[1024];
    ssize_t got = pread(gp->errfd, raw, sizeof raw - 1, 0);
    raw[got > 0 ? got : 0] = '\0';
    cs_gnuplot_fold(msg, sizeof msg, raw);
    if (said && size)
        snprintf(said, size, "%s", msg);

    char shown[1024];
    cs_text_escape(shown, sizeof shown, path);
    int rc = CS_OK;
    struct stat st;
    if (got_pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = cs_error_set(CS_EIO, "gnuplot failed writing %s (%s %d)%s%s", shown,
                          WIFEXITED(status) ? "exit status" : "status",
                          WIFEXITED(status) ? WEXITSTATUS(status) : status, *msg ? ": " : "",
                          msg);
    else if (stat(path, &st) != 0 || st.st_size == 0)
        rc = cs_error_set(CS_EIO, "gnuplot did not write %s", shown);
    sigaction(SIGPIPE, &gp->saved, NULL);
    close(gp->errfd);
    cs_free(gp);
    return rc;
}
