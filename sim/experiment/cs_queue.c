/* The to-do queue and the clock (see cs_queue.h). */
#include "cs_queue.h"

#include <time.h>

double cs_queue_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cs_queue_sleep(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Every entry in list order first; then, once none is pending, the
 * entries other processes held, again every CS_QUEUE_RETRY_S. */
long cs_queue_next(cs_queue *q, double now, double *until)
{
    if (q->next >= q->n && q->held > 0 && now >= q->retry_at) {
        for (size_t i = 0; i < q->n; i++)
            if (q->state[i] == CS_QUEUE_HELD)
                q->state[i] = CS_QUEUE_PENDING;
        q->held = 0;
        q->next = 0;
    }
    while (q->next < q->n && q->state[q->next] != CS_QUEUE_PENDING)
        q->next++;
    if (q->next < q->n) {
        q->state[q->next] = CS_QUEUE_ACTIVE;
        q->active++;
        return (long)q->next++;
    }
    if (q->held > 0) {
        *until = q->retry_at;
        return CS_QUEUE_WAIT;
    }
    return CS_QUEUE_EMPTY;
}

/* Entry i, handed out, came back: held elsewhere (try again later), to
 * be tried again at once (its worker died), or ended. */
void cs_queue_return(cs_queue *q, size_t i, int held, int again, double now)
{
    q->active--;
    if (held) {
        q->state[i] = CS_QUEUE_HELD;
        if (q->held++ == 0)
            q->retry_at = now + CS_QUEUE_RETRY_S;
    } else if (again) {
        q->state[i] = CS_QUEUE_PENDING;
        if (i < q->next)
            q->next = i;
    } else {
        q->state[i] = CS_QUEUE_ENDED;
    }
}

/* Whether every entry has ended: none pending, held or handed out. */
int cs_queue_finished(cs_queue *q)
{
    while (q->next < q->n && q->state[q->next] != CS_QUEUE_PENDING)
        q->next++;
    return q->next >= q->n && q->held == 0 && q->active == 0;
}
