/* Evaluating a network in training (docs/design.md §7): the loss and
 * accuracy on held-out A and on B for each way batch norm can treat them
 * (batch statistics, frozen running statistics, ema, adapted with a prior
 * strength N), spread over a thread team batch by batch; and the
 * statistics of docs/design.md §2 of a fixed probe batch at every layer. */
#ifndef CS_TRAIN_EVAL_H
#define CS_TRAIN_EVAL_H

#include "cs_alloc.h"
#include "cs_params.h"
#include "cs_task.h"
#include "cs_team.h"
#include "cs_train.h"
#include "cs_train_result.h"

typedef struct cs_train_eval cs_train_eval;

/* Conditions per call: the run's modes (at most 4) or the prior ladder. */
#define CS_TRAIN_EVAL_MAX_CONDS CS_TRAIN_NPRIOR

/* Workspaces for `threads` threads (one batch through the network each),
 * the ema statistics of both sets, the per-batch scores, and a
 * statistics workspace for the probe. Returns CS_OK, CS_EINVAL, CS_ENOMEM
 * with the message; *out NULL on error. */
int cs_train_eval_alloc(cs_train_eval **out, const cs_run_params *p, int threads);
void cs_train_eval_free(cs_train_eval *e); /* NULL is a no-op */
void cs_train_eval_plan(const cs_run_params *p, int threads, cs_alloc_plan *plan);

/* The held-out sets of task through t's current network, in batches of
 * `batch` consecutive rows, for nconds conditions (modes[c], and prior_n[c]
 * for CS_EVAL_ADAPTED) into scores[set * nconds + c], set 0 = A, 1 = B.
 * Per batch of n rows and layer, with the training's running statistics
 * (mu_s, v_s) and the batch's own (mu_b, its unbiased variance v_b):
 *   batch    normalise by the batch's (biased) statistics;
 *   frozen   by (mu_s, v_s);
 *   ema      (mu_s, v_s) updated by PyTorch's rule with each batch, in
 *            order, from training's values for each set, then used;
 *   adapted  mu = N/(N+n) mu_s + n/(N+n) mu_b, v = N/(N+n) v_s + n/(N+n) v_b
 *            (Schneider et al. 2020, with the unbiased v_b: one PyTorch
 *            running update at momentum n/(N+n) from (mu_s, v_s));
 *   none     no batch norm.
 * No dropout. The loss is the mean of the batches' losses, the accuracy
 * the fraction classified right. t's running statistics are not changed.
 * Every batch is a task of the team, summed in batch order: the same bits
 * for any team size. */
void cs_train_eval_run(cs_train_eval *e, cs_train *t, const cs_task *task, cs_team *team,
                       const cs_eval_mode *modes, const double *prior_n, int nconds,
                       cs_train_score *scores);

/* The first `batch` rows of held-out A through t with batch statistics
 * (training mode, no running update, no dropout): rows[k] (nprobe, from
 * cs_train_result_alloc, whose layer and site say what to record) receive
 * the statistics of that (layer, site), and unit 0's p15, p50, p85. */
int cs_train_eval_probe(cs_train_eval *e, cs_train *t, const cs_task *task,
                        cs_train_probe_row *rows, int nprobe);

#endif
