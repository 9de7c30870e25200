/* A fixed team of threads that runs numbered tasks of one parallel phase
 * at a time: the per-step parallelism of the layer-major schedule
 * (docs/design.md §1 Schedules). Which thread runs which task is not fixed, so a
 * task must write only its own outputs: the results are then the same
 * whatever the team size. */
#ifndef CS_TEAM_H
#define CS_TEAM_H

/* One task: ctx is the caller's, task in [0, ntasks), thread in
 * [0, cs_team_size) names the thread's private workspace. */
typedef void (*cs_team_fn)(void *ctx, int task, int thread);

typedef struct cs_team cs_team;

/* A team of `threads` (>= 1) into *out: the calling thread plus threads -
 * 1 started now; threads = 1 starts nothing and runs tasks in order.
 * Returns CS_OK, or CS_ENOMEM, or CS_EIO when a thread cannot be started,
 * with the message and *out = NULL. Free with cs_team_free. */
int cs_team_alloc(cs_team **out, int threads);
/* Stops and joins the threads. NULL is a no-op. */
void cs_team_free(cs_team *t);
/* The number of threads, the caller included. */
int cs_team_size(const cs_team *t);

/* Runs fn(ctx, k, thread) for every k in [0, ntasks), handing tasks out
 * in increasing k to whichever thread is free (the caller is thread 0),
 * and returns when all have finished. Everything a task wrote is visible
 * to the caller on return (the mutex orders it). */
void cs_team_run(cs_team *t, int ntasks, cs_team_fn fn, void *ctx);

/* The team size for a process that runs `jobs` runs at once: the
 * COVSHIFT_THREADS environment variable when it holds an integer in
 * 1..256, else cores / jobs, at least 1, so team threads x jobs <= cores. */
int cs_team_threads_for_jobs(int jobs);

#endif
