/* The thread team of cs_team.h: a mutex, two condition variables and a
 * generation count; tasks are claimed one at a time under the mutex (a
 * phase has tens of tasks of milliseconds each, so the lock is cold). */
#include "cs_team.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_alloc.h"
#include "cs_error.h"

struct cs_team {
    int threads;
    pthread_t *ids;          /* threads - 1 workers */
    int started;             /* workers actually started */
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a new phase (or stop) for the workers */
    pthread_cond_t finished; /* the last task of the phase ended */
    unsigned long generation;
    int stop;
    cs_team_fn fn;
    void *ctx;
    int ntasks, next, running;
};

typedef struct {
    cs_team *team;
    int thread;
} cs_team_start;

/* Claims and runs tasks until none is left in this phase; called with
 * the lock held, returns with it held. */
static void cs_team_drain(cs_team *t, int thread)
{
    while (t->next < t->ntasks) {
        int k = t->next++;
        cs_team_fn fn = t->fn;
        void *ctx = t->ctx;
        t->running++;
        pthread_mutex_unlock(&t->lock);
        fn(ctx, k, thread);
        pthread_mutex_lock(&t->lock);
        t->running--;
    }
    if (t->running == 0)
        pthread_cond_broadcast(&t->finished);
}

static void *cs_team_worker(void *arg)
{
    cs_team_start *s = arg;
    cs_team *t = s->team;
    int thread = s->thread;
    cs_free(s);
    pthread_mutex_lock(&t->lock);
    unsigned long seen = t->generation;
    for (;;) {
        while (!t->stop && t->generation == seen)
            pthread_cond_wait(&t->work, &t->lock);
        if (t->stop)
            break;
        seen = t->generation;
        cs_team_drain(t, thread);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int cs_team_alloc(cs_team **out, int threads)
{
    *out = NULL;
    if (threads < 1)
        threads = 1;
    cs_team *t = cs_calloc(1, sizeof *t);
    if (!t)
        return cs_error_code();
    t->threads = threads;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->work, NULL);
    pthread_cond_init(&t->finished, NULL);
    int rc = CS_OK;
    if (threads > 1 && !(t->ids = cs_calloc((size_t)threads - 1, sizeof *t->ids))) {
        rc = cs_error_code();
        goto fail;
    }
    for (int k = 1; k < threads; k++) {
        cs_team_start *s = cs_malloc(sizeof *s);
        if (!s) {
            rc = cs_error_prefix(CS_ENOMEM, "thread team: starting thread %d", k);
            goto fail;
        }
        s->team = t;
        s->thread = k;
        int err = pthread_create(&t->ids[k - 1], NULL, cs_team_worker, s);
        if (err) {
            cs_free(s);
            rc = cs_error_set(CS_EIO, "thread team: cannot start thread %d of %d: %s", k,
                              threads, strerror(err));
            goto fail;
        }
        t->started++;
    }
    *out = t;
    return CS_OK;
fail:
    cs_team_free(t);
    return rc;
}

void cs_team_free(cs_team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->lock);
    for (int k = 0; k < t->started; k++)
        pthread_join(t->ids[k], NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->finished);
    cs_free(t->ids);
    cs_free(t);
}

int cs_team_size(const cs_team *t) { return t->threads; }

void cs_team_run(cs_team *t, int ntasks, cs_team_fn fn, void *ctx)
{
    if (t->started == 0) { /* no workers: in order, on this thread */
        for (int k = 0; k < ntasks; k++)
            fn(ctx, k, 0);
        return;
    }
    pthread_mutex_lock(&t->lock);
    t->fn = fn;
    t->ctx = ctx;
    t->ntasks = ntasks;
    t->next = 0;
    t->running = 0;
    t->generation++;
    pthread_cond_broadcast(&t->work);
    cs_team_drain(t, 0);
    while (t->next < t->ntasks || t->running > 0)
        pthread_cond_wait(&t->finished, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

int cs_team_threads_for_jobs(int jobs)
{
    const char *env = getenv("COVSHIFT_THREADS");
    if (env && *env) {
        char *end;
        errno = 0;
        long n = strtol(env, &end, 10);
        if (!errno && !*end && n >= 1 && n <= 256)
            return (int)n;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (jobs < 1)
        jobs = 1;
    long t = cores / jobs;
    return (int)(t < 1 ? 1 : t);
}
