/* The to-do list of a sweep (docs/design.md §4): which run to try next,
 * in sweep order, with the runs other processes hold tried again every
 * CS_QUEUE_RETRY_S once nothing else is left; and the monotonic clock the
 * runner keeps its times on. */
#ifndef CS_QUEUE_H
#define CS_QUEUE_H

#include <stddef.h>

/* How often runs that other live processes hold are looked at again once
 * nothing else is left: a claim freed by a killed holder is taken within
 * this time, and each look is one small read. */
#define CS_QUEUE_RETRY_S 0.25

enum { CS_QUEUE_PENDING, CS_QUEUE_ACTIVE, CS_QUEUE_HELD, CS_QUEUE_ENDED };
#define CS_QUEUE_EMPTY (-1L) /* nothing left to hand out (some may still be active) */
#define CS_QUEUE_WAIT (-2L)  /* only entries held elsewhere are left, none due yet */

typedef struct {
    unsigned char *state; /* per entry: CS_QUEUE_* */
    size_t n, next, active, held;
    double retry_at;      /* when held entries are tried again */
} cs_queue;

/* Every entry in list order first; then, once none is pending, the
 * entries other processes held, again every CS_QUEUE_RETRY_S: the index of
 * the entry handed out (now active), or CS_QUEUE_WAIT with *until when to
 * look again, or CS_QUEUE_EMPTY. */
long cs_queue_next(cs_queue *q, double now, double *until);

/* Entry i, handed out, came back: held elsewhere (try again later), to be
 * tried again at once (its worker died), or ended. */
void cs_queue_return(cs_queue *q, size_t i, int held, int again, double now);

/* Whether every entry has ended: none pending, held or handed out. */
int cs_queue_finished(cs_queue *q);

/* Seconds on the monotonic clock; sleeping s seconds (nothing when s <= 0). */
double cs_queue_now(void);
void cs_queue_sleep(double s);

#endif
