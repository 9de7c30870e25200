/* Running a sweep's runs in --jobs worker processes (docs/design.md §4).
 * Workers are processes, not threads: each has its own SQLite connection
 * and its own OpenBLAS thread pool, and a crash in one run cannot corrupt
 * another. */
#ifndef CS_WORKERS_H
#define CS_WORKERS_H

#include "cs_job.h"
#include "cs_sweep.h"

/* Starts min(jobs, runs) workers, hands each the next entry of w's queue
 * as it becomes idle, and counts each message (cs_sweep_account) until
 * every entry has ended or the sweep stops (--fail-fast, a database that
 * cannot be written, SIGINT or SIGTERM, which are forwarded to the
 * workers). An entry whose worker died goes back to the queue. g is the
 * template of each worker's cs_job (its store opened in the worker).
 * CS_OK, or CS_EIO (pipes, fork, a worker killed), CS_ENOMEM. */
int cs_workers_run(cs_sweep *w, cs_job *g, int jobs);

#endif
