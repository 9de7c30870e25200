/* SIGINT and SIGTERM during a sweep (docs/database.md "Interrupting a sweep"). A
 * signal handler may do almost nothing, so the handler here only records
 * the signal and either passes it on to worker processes (forward mode, in
 * the parent of --jobs workers) or wakes a watcher thread (watch mode, in
 * a process that runs runs), which then releases the run in progress
 * through SQLite, says so, and ends the process. */
#ifndef CS_INTERRUPT_H
#define CS_INTERRUPT_H

#include <sys/types.h>

/* Called on the watcher thread with the signal; the process then ends
 * with _exit(128 + signo) (130 for SIGINT, 143 for SIGTERM). */
typedef void (*cs_interrupt_fn)(int signo, void *arg);

/* Watch mode: handlers for SIGINT and SIGTERM and a watcher thread that
 * calls fn(signo, arg) on the first of them. With second_ends, a second
 * signal while fn runs ends the process at once with the same status (a
 * user pressing Ctrl-C again); without, it is ignored (a worker, which
 * gets the terminal's signal and its parent's copy of it). Call it again in
 * a forked child to watch there: the parent's watcher is not in the child,
 * and its state is dropped. Returns CS_OK or CS_EIO (no pipe or thread),
 * with the previous handlers kept. */
int cs_interrupt_watch(cs_interrupt_fn fn, void *arg, int second_ends);

/* Forward mode: the handlers record the first signal and send every
 * SIGINT or SIGTERM on to the *npids processes of pids, which must stay
 * valid until cs_interrupt_end. Slow system calls are interrupted (EINTR),
 * so a poll() in the caller returns and can look at cs_interrupt_received. */
int cs_interrupt_forward(const pid_t *pids, const volatile int *npids);

/* The first signal received since watch or forward began, 0 if none. */
int cs_interrupt_received(void);

/* SIGINT and SIGTERM blocked (block = 1) or unblocked (0) in the calling
 * thread, so that a signal arriving around fork() waits for the handlers. */
void cs_interrupt_block(int block);

/* Restores the handlers from before and ends the watcher thread (joined).
 * A no-op when neither mode is on. */
void cs_interrupt_end(void);

#endif
