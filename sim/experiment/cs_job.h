/* One run of a sweep, start to end (docs/design.md §3: claimed, computed,
 * stored in one transaction or recorded as failed), what a signal must
 * undo while it runs, and the message that says what became of it. */
#ifndef CS_JOB_H
#define CS_JOB_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cs_error.h"
#include "cs_params.h"
#include "cs_runner.h"
#include "cs_store.h"

/* What became of one to-do entry, as a worker tells the parent (fixed
 * size, written in one write() below PIPE_BUF, so messages from workers
 * never interleave) and as the serial runner records it. */
typedef enum {
    CS_JOB_DONE,         /* run and stored by this command */
    CS_JOB_FAILED,       /* run by this command and failed: error says why */
    CS_JOB_OTHER_DONE,   /* another process stored it meanwhile */
    CS_JOB_OTHER_FAILED, /* another process of this sweep failed it */
    CS_JOB_HELD,         /* a live process on this host holds it: look again */
    CS_JOB_FOREIGN,      /* a process on another host holds it */
    CS_JOB_INTERRUPTED   /* stopped by a signal and released */
} cs_job_kind;

typedef struct {
    int32_t index;  /* into the to-do list */
    int32_t kind;   /* cs_job_kind */
    int32_t worker; /* which worker sent it (parallel runner) */
    int32_t store_failed; /* FAILED because the database could not be written
                             (CS_EIO: a full disk): the sweep stops */
    double wall_s;
    char text[CS_ERROR_MAX]; /* FAILED, OTHER_FAILED: the error; HELD, FOREIGN: the holder */
} cs_job_msg;
_Static_assert(sizeof(cs_job_msg) <= PIPE_BUF, "a message must be one atomic pipe write");

/* The most runs one group holds (CS_NET_GROUP_MAX). */
#define CS_JOB_GROUP_MAX 32

/* What a process that runs runs shares with its signal watcher. */
typedef struct {
    cs_store *store;          /* the runs' connection; NULL for --gemm-only */
    cs_store *release;        /* the watcher's own connection (NULL: none) */
    int64_t experiment_id;
    const char *since;        /* when this sweep began, in the store's time */
    const cs_run_params *todo;
    pthread_mutex_t lock;     /* orders a claim against the watcher */
    int64_t run_id;           /* claimed and not yet finished, 0 if none */
    int32_t index;            /* its to-do entry */
    int result_fd;            /* a worker's pipe to the parent; -1 when serial */
    int32_t worker;
    const cs_runner_summary *sum; /* serial: the counts so far */
    /* Groups (serial runner only): an entry is run together with the later
     * entries that share its schedule (cs_net_groupable), claimed with it.
     * done_here[i] is 1 once entry i was stored (or, for --gemm-only, run)
     * in an earlier entry's group; NULL runs every entry alone. */
    size_t ntodo;
    unsigned char *done_here;
    int64_t group_id[CS_JOB_GROUP_MAX]; /* the group's other claimed runs, */
    int ngroup;                         /* released with run_id on a signal */
} cs_job;

/* One to-do entry, start to end: claim it (cs_store_run_claim), compute
 * (cs_sim_run; cs_net_forward without a store), finish in one transaction
 * or record the failure. *msg says what happened; never fails itself.
 * With g->done_here, the later entries that share the entry's schedule
 * and can be claimed are computed with it (cs_sim_run_group) and stored
 * each in its own transaction; when the queue hands one out later it is
 * DONE at once. If the group fails, they are released and the entry runs
 * alone, so every failure is its own run's. */
void cs_job_run(cs_job *g, int32_t index, cs_job_msg *msg);

/* The signal watcher's callback (cs_interrupt_watch) with arg a cs_job:
 * releases the claimed run, then says what was stopped (a worker tells
 * its parent, the serial runner the user); the process then ends with
 * 128 + signo. */
void cs_job_on_signal(int signo, void *arg);

/* "SIGINT", "SIGTERM". */
const char *cs_job_signal_name(int signo);

/* A run in a few words, for progress and messages: "depth 10 width 256
 * tanh gaussian bn-frozen seed 1". */
void cs_job_describe(const cs_run_params *p, char *buf, size_t size);

#endif
