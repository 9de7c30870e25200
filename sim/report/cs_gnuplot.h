/* gnuplot driven through a pipe, with its error report folded into ours:
 * used by the worksheet's figures and by covshift plot (scripts/plots). */
#ifndef CS_GNUPLOT_H
#define CS_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct cs_gnuplot cs_gnuplot;

/* Starts `gnuplot` (found on PATH; the caller checks cs_fs_on_path first
 * to name the package) reading commands from a pipe. Its stdout goes to
 * /dev/null (it writes the image there when `set output` fails) and its
 * stderr to a temporary file that cs_gnuplot_close reads, so that the user
 * sees one message. SIGPIPE is ignored until close: a gnuplot that dies
 * early must not kill us. Returns CS_OK, CS_ENOMEM or CS_EIO. */
int cs_gnuplot_open(cs_gnuplot **out);

/* The stream to write commands and inline data to. */
FILE *cs_gnuplot_stream(cs_gnuplot *gp);

/* Writes s as a gnuplot single-quoted string ('' stands for a quote). */
void cs_gnuplot_put_quoted(FILE *stream, const char *s);

/* Ends the session and frees gp (NULL is a no-op). Returns CS_OK when
 * gnuplot exited 0 and path exists and is not empty; otherwise CS_EIO,
 * "gnuplot failed writing PATH (exit status N): <its message on one line>"
 * or "gnuplot did not write PATH". When said is not NULL it receives
 * what gnuplot printed on stderr, on one line (its warnings; "" if none),
 * truncated to size. */
int cs_gnuplot_close(cs_gnuplot *gp, const char *path, char *said, size_t size);

#endif
