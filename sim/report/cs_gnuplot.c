/* gnuplot through a pipe (see cs_gnuplot.h). */
#include "cs_gnuplot.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"

struct cs_gnuplot {
    FILE *pipe;
    int errfd;              /* gnuplot's stderr, read back at close */
    char errfile[4096];
    struct sigaction saved; /* SIGPIPE disposition to restore */
};

int cs_gnuplot_open(cs_gnuplot **out)
{
    *out = NULL;
    cs_gnuplot *gp = cs_calloc(1, sizeof *gp);
    if (!gp)
        return CS_ENOMEM;
    const char *tmpdir = getenv("TMPDIR");
    snprintf(gp->errfile, sizeof gp->errfile, "%s/cs_gnuplot_XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    gp->errfd = mkstemp(gp->errfile);
    if (gp->errfd < 0) {
        int rc = cs_error_set(CS_EIO, "cannot create a temporary file %s for gnuplot: %s",
                              gp->errfile, strerror(errno));
        cs_free(gp);
        return rc;
    }
    /* The template holds only the directory from TMPDIR and [A-Za-z0-9]. */
    if (strchr(gp->errfile, '\'')) {
        close(gp->errfd);
        unlink(gp->errfile);
        cs_free(gp);
        return cs_error_set(CS_EIO, "TMPDIR %s contains a quote", tmpdir);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gnuplot >/dev/null 2>'%s'", gp->errfile);

    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &gp->saved);

    gp->pipe = popen(cmd, "w");
    if (!gp->pipe) {
        int rc = cs_error_set(CS_EIO, "cannot start gnuplot: %s", strerror(errno));
        sigaction(SIGPIPE, &gp->saved, NULL);
        close(gp->errfd);
        unlink(gp->errfile);
        cs_free(gp);
        return rc;
    }
    *out = gp;
    return CS_OK;
}

FILE *cs_gnuplot_stream(cs_gnuplot *gp)
{
    return gp->pipe;
}

void cs_gnuplot_put_quoted(FILE *stream, const char *s)
{
    fputc('\'', stream);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', stream);
        fputc(*s, stream);
    }
    fputc('\'', stream);
}

/* gnuplot's multi-line report (caret line, "line 0: ...") on one line. */
static void cs_gnuplot_fold(char *msg)
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
}

int cs_gnuplot_close(cs_gnuplot *gp, const char *path, char *said, size_t size)
{
    if (!gp)
        return CS_OK;
    int status = pclose(gp->pipe);
    char msg[1024] = "";
    ssize_t got = pread(gp->errfd, msg, sizeof msg - 1, 0);
    msg[got > 0 ? got : 0] = '\0';
    cs_gnuplot_fold(msg);
    if (said && size)
        snprintf(said, size, "%s", msg);

    int rc = CS_OK;
    struct stat st;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = cs_error_set(CS_EIO, "gnuplot failed writing %s (%s %d)%s%s", path,
                          WIFEXITED(status) ? "exit status" : "status",
                          WIFEXITED(status) ? WEXITSTATUS(status) : status, *msg ? ": " : "",
                          msg);
    else if (stat(path, &st) != 0 || st.st_size == 0)
        rc = cs_error_set(CS_EIO, "gnuplot did not write %s", path);
    sigaction(SIGPIPE, &gp->saved, NULL);
    close(gp->errfd);
    unlink(gp->errfile);
    cs_free(gp);
    return rc;
}
