/* The counts and lines of a running sweep (see cs_sweep.h). */
#include "cs_sweep.h"

#include <stdio.h>

#include "cs_text.h"

static void cs_sweep_hms(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
}

/* The progress line on stderr (a terminal only): done / total, the run
 * that just ended, elapsed and a linear ETA. */
void cs_sweep_progress(cs_sweep_progress_line *pg, const cs_run_params *last, const char *what)
{
    if (!pg->enabled)
        return;
    double el = cs_queue_now() - pg->t0;
    char desc[160], elapsed[32], eta[32];
    cs_job_describe(last, desc, sizeof desc);
    cs_sweep_hms(el, elapsed, sizeof elapsed);
    if (pg->finished > 0 && pg->finished < pg->total)
        cs_sweep_hms(el / (double)pg->finished * (double)(pg->total - pg->finished), eta,
                     sizeof eta);
    else
        snprintf(eta, sizeof eta, "-");
    fprintf(stderr, "\r\033[K[%zu/%zu] %s %s | elapsed %s, ETA %s", pg->finished, pg->total, what,
            desc, elapsed, eta);
    if (pg->finished == pg->total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Counts what msg says about its entry and shows it. Returns 1 when the
 * sweep should stop handing out runs (--fail-fast). */
int cs_sweep_account(cs_sweep *w, const cs_job_msg *m)
{
    const cs_run_params *p = &w->todo[m->index];
    const char *shown = NULL;
    const char *clear = w->pg.enabled ? "\r\033[K" : "";
    int stop = 0;
    char text[sizeof m->text * 4];
    cs_text_escape(text, sizeof text, m->text);
    switch ((cs_job_kind)m->kind) {
    case CS_JOB_DONE:
        w->sum->done++;
        shown = "done";
        break;
    case CS_JOB_FAILED: /* printed even with --quiet: it says why the exit status is 1 */
        w->sum->failed++;
        fprintf(stderr, "%srun failed: %s\n", clear, text);
        shown = "FAILED";
        stop = w->o->fail_fast;
        if (m->store_failed && !w->store_failed) {
            /* Every later run would fail the same way. */
            fprintf(stderr,
                    "covshift run: stopping: database '%s' cannot be written (the "
                    "error above); run the same command again once it can\n",
                    w->o->db_path);
            w->store_failed = 1;
        }
        stop |= m->store_failed;
        break;
    case CS_JOB_OTHER_DONE:
        w->sum->others_done++;
        shown = "done elsewhere";
        break;
    case CS_JOB_OTHER_FAILED:
        w->sum->others_failed++;
        if (!w->o->quiet) {
            char desc[160];
            cs_job_describe(p, desc, sizeof desc);
            fprintf(stderr, "%srun %s failed in another covshift process: %s\n", clear, desc, text);
        }
        shown = "failed elsewhere";
        break;
    case CS_JOB_HELD:
        cs_text_escape(w->held_by, sizeof w->held_by, m->text);
        return 0;
    case CS_JOB_FOREIGN:
        w->sum->foreign++;
        cs_text_escape(w->foreign, sizeof w->foreign, m->text);
        shown = "held on another host";
        break;
    case CS_JOB_INTERRUPTED:
        w->sum->released++;
        return 0;
    }
    w->pg.finished++;
    cs_sweep_progress(&w->pg, p, shown);
    return stop;
}

/* Says once (unless quiet) that only runs other processes hold are left. */
void cs_sweep_waiting(cs_sweep *w)
{
    if (w->o->quiet || w->waiting_said)
        return;
    fprintf(stderr, "%swaiting for %zu runs that other covshift processes hold (%s, ...)\n",
            w->pg.enabled ? "\r\033[K" : "", w->queue.held, w->held_by);
    w->waiting_said = 1;
}

/* The closing lines: counts, what was interrupted, what is left elsewhere. */
void cs_sweep_report(const cs_runner_opts *o, const cs_sweep *w, const char *name)
{
    const cs_runner_summary *sum = w->sum;
    if (sum->interrupted)
        fprintf(stderr,
                "covshift run: interrupted by %s: stopped the workers; %zu runs in "
                "progress were released (their 'running' rows removed) and are redone by the "
                "next covshift run of '%s'\n",
                cs_job_signal_name(sum->interrupted), sum->released, name);
    if (sum->foreign)
        fprintf(stderr,
                "covshift run: %zu runs were left to covshift processes on other hosts "
                "that hold them (%s, ...); if those processes are gone, delete their 'running'"
                " rows (docs/database.md, runs, transactions and resuming)\n",
                sum->foreign, w->foreign);
    if (o->quiet && !sum->interrupted)
        return;
    fprintf(stderr, "%zu done, %zu failed, %zu skipped (already done)", sum->done, sum->failed,
            sum->skipped);
    if (sum->others_done || sum->others_failed)
        fprintf(stderr, ", %zu done and %zu failed by other covshift processes", sum->others_done,
                sum->others_failed);
    fprintf(stderr, " in %.1f s\n", cs_queue_now() - w->pg.t0);
}
