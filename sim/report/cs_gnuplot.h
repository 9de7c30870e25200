/* gnuplot started without a shell, its arguments passed as argv strings,
 * with its error report folded into ours: used by the worksheet's figures
 * and by covshift plot (scripts/plots). Nothing given here is ever read by
 * gnuplot as program text unless the caller writes it to the stream. */
#ifndef CS_GNUPLOT_H
#define CS_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct cs_gnuplot cs_gnuplot;

/* Starts `gnuplot ARGS...` (found on PATH; the caller checks
 * cs_fs_on_path first to name the package) with posix_spawnp, no shell:
 * args is a NULL-terminated list, e.g. {"-c", script, "db=x.db", NULL}, so
 * that a script receives each value whole as ARGV[i], whatever bytes it
 * holds. Its standard input is a pipe (cs_gnuplot_stream; a script given
 * as "-c /dev/stdin" reads its program from it), its stdout goes to
 * /dev/null (it writes the image there when `set output` fails) and its
 * stderr to an unlinked temporary file that cs_gnuplot_close reads, so
 * that the user sees one message. SIGPIPE is ignored until close: a
 * gnuplot that dies early must not kill us. Returns CS_OK, CS_ENOMEM or
 * CS_EIO. */
int cs_gnuplot_open(cs_gnuplot **out, const char *const *args);

/* The stream to gnuplot's standard input. */
FILE *cs_gnuplot_stream(cs_gnuplot *gp);

/* Ends the session and frees gp (NULL is a no-op). Returns CS_OK when
 * gnuplot exited 0 and path exists and is not empty; otherwise CS_EIO,
 * "gnuplot failed writing PATH (exit status N): <its message on one line>"
 * or "gnuplot did not write PATH". When said is not NULL it receives
 * what gnuplot printed on stderr, on one line (its warnings; "" if none),
 * truncated to size. Control bytes in gnuplot's words (a path or a name
 * it quotes) are written as \xHH, so that neither message can drive the
 * terminal. */
int cs_gnuplot_close(cs_gnuplot *gp, const char *path, char *said, size_t size);

#endif
