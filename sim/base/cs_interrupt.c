/* Signal handling for sweeps (see cs_interrupt.h). The handler touches
 * only a sig_atomic_t, write() and kill(), all async-signal-safe (POSIX
 * signal-safety(7)). */
#include "cs_interrupt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cs_error.h"

enum { CS_INTERRUPT_OFF, CS_INTERRUPT_WATCH, CS_INTERRUPT_FORWARD };

static volatile sig_atomic_t cs_interrupt_mode, cs_interrupt_signo, cs_interrupt_second_ends;
static int cs_interrupt_pipe[2] = {-1, -1}; /* watch: handler -> watcher */
static pid_t cs_interrupt_owner;            /* the process the watcher runs in */
static pthread_t cs_interrupt_thread;
static cs_interrupt_fn cs_interrupt_callback;
static void *cs_interrupt_arg;
static const pid_t *cs_interrupt_pids;
static const volatile int *cs_interrupt_npids;
static struct sigaction cs_interrupt_saved_int, cs_interrupt_saved_term;

static void cs_interrupt_handler(int signo)
{
    int saved_errno = errno;
    int first = cs_interrupt_signo == 0;
    if (first)
        cs_interrupt_signo = signo;
    if (cs_interrupt_mode == CS_INTERRUPT_WATCH) {
        if (!first && cs_interrupt_second_ends) /* the watcher is at work: now means now */
            _exit(128 + cs_interrupt_signo);
        if (first) {
            unsigned char b = (unsigned char)signo;
            ssize_t ignored = write(cs_interrupt_pipe[1], &b, 1);
            (void)ignored;
        }
    } else if (cs_interrupt_mode == CS_INTERRUPT_FORWARD && cs_interrupt_pids) {
        for (int i = 0; i < *cs_interrupt_npids; i++)
            kill(cs_interrupt_pids[i], signo);
    }
    errno = saved_errno;
}

/* Waits for a signal byte (0 asks the thread to end), calls the callback
 * and ends the process. */
static void *cs_interrupt_watcher(void *unused)
{
    (void)unused;
    unsigned char b = 0;
    for (;;) {
        ssize_t got = read(cs_interrupt_pipe[0], &b, 1);
        if (got == 1)
            break;
        if (got < 0 && errno == EINTR)
            continue;
        return NULL;
    }
    if (b == 0)
        return NULL;
    if (cs_interrupt_callback)
        cs_interrupt_callback(b, cs_interrupt_arg);
    _exit(128 + b);
}

static int cs_interrupt_install(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cs_interrupt_handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    if (sigaction(SIGINT, &sa, &cs_interrupt_saved_int) != 0 ||
        sigaction(SIGTERM, &sa, &cs_interrupt_saved_term) != 0)
        return cs_error_set(CS_EIO, "cannot install the SIGINT/SIGTERM handlers: %s",
                            strerror(errno));
    return CS_OK;
}

/* Forgets a watcher inherited through fork(): its thread is not here. */
static void cs_interrupt_drop_inherited(void)
{
    if (cs_interrupt_pipe[0] >= 0 && cs_interrupt_owner != getpid()) {
        close(cs_interrupt_pipe[0]);
        close(cs_interrupt_pipe[1]);
        cs_interrupt_pipe[0] = cs_interrupt_pipe[1] = -1;
        cs_interrupt_mode = CS_INTERRUPT_OFF;
    }
}

int cs_interrupt_watch(cs_interrupt_fn fn, void *arg, int second_ends)
{
    cs_interrupt_drop_inherited();
    cs_interrupt_end();
    cs_interrupt_signo = 0;
    if (pipe(cs_interrupt_pipe) != 0) {
        cs_interrupt_pipe[0] = cs_interrupt_pipe[1] = -1;
        return cs_error_set(CS_EIO, "cannot create the signal pipe: %s", strerror(errno));
    }
    cs_interrupt_callback = fn;
    cs_interrupt_arg = arg;
    cs_interrupt_second_ends = second_ends;
    cs_interrupt_owner = getpid();
    /* The watcher must not take the signals itself: it may be blocked in
     * SQLite when a second one comes. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int err = pthread_create(&cs_interrupt_thread, NULL, cs_interrupt_watcher, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        close(cs_interrupt_pipe[0]);
        close(cs_interrupt_pipe[1]);
        cs_interrupt_pipe[0] = cs_interrupt_pipe[1] = -1;
        return cs_error_set(CS_EIO, "cannot start the signal watcher thread: %s", strerror(err));
    }
    cs_interrupt_mode = CS_INTERRUPT_WATCH;
    /* SA_RESTART: the runner's own system calls go on until the watcher ends it. */
    int rc = cs_interrupt_install(SA_RESTART);
    if (rc != CS_OK)
        cs_interrupt_end();
    return rc;
}

int cs_interrupt_forward(const pid_t *pids, const volatile int *npids)
{
    cs_interrupt_drop_inherited();
    cs_interrupt_end();
    cs_interrupt_signo = 0;
    cs_interrupt_pids = pids;
    cs_interrupt_npids = npids;
    cs_interrupt_mode = CS_INTERRUPT_FORWARD;
    int rc = cs_interrupt_install(0); /* no SA_RESTART: poll() returns EINTR */
    if (rc != CS_OK)
        cs_interrupt_mode = CS_INTERRUPT_OFF;
    return rc;
}

int cs_interrupt_received(void)
{
    return cs_interrupt_signo;
}

void cs_interrupt_block(int block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

void cs_interrupt_end(void)
{
    if (cs_interrupt_mode == CS_INTERRUPT_OFF)
        return;
    sigaction(SIGINT, &cs_interrupt_saved_int, NULL);
    sigaction(SIGTERM, &cs_interrupt_saved_term, NULL);
    if (cs_interrupt_mode == CS_INTERRUPT_WATCH) {
        unsigned char end = 0;
        ssize_t ignored = write(cs_interrupt_pipe[1], &end, 1);
        (void)ignored;
        pthread_join(cs_interrupt_thread, NULL);
        close(cs_interrupt_pipe[0]);
        close(cs_interrupt_pipe[1]);
        cs_interrupt_pipe[0] = cs_interrupt_pipe[1] = -1;
    }
    cs_interrupt_mode = CS_INTERRUPT_OFF;
    cs_interrupt_pids = NULL;
    cs_interrupt_npids = NULL;
}
