/* report.md's tables of the notes' claims (docs/claims.md), each read
 * from the claim's table through the selection, with a column per
 * parameter that varies and every number's mean ± sd over seeds. */
#ifndef CS_REPORT_CLAIMS_H
#define CS_REPORT_CLAIMS_H

#include <stdio.h>

#include "cs_selection.h"

/* The scripts' order of conditions (common.gp cond_rank): a condition
 * with dropout after its base, by rate. For printf formats ('%%'). */
#define CS_REPORT_COND_RANK                                                                        \
    "CASE WHEN condition LIKE 'none%%' THEN 0 WHEN condition LIKE 'bn-batch%%' THEN 1 "            \
    "WHEN condition LIKE 'bn-frozen%%' THEN 2 WHEN condition LIKE 'bn-ema%%' THEN 3 "              \
    "WHEN condition LIKE 'layer%%' THEN 4 WHEN condition LIKE 'rms%%' THEN 5 ELSE 6 END, condition"

/* Gradients at initialisation (grad_stats): per activation, condition and
 * varying key, each seed's mean over the steps of its phase (B for
 * bn-frozen and bn-ema, else A, as grad_by_depth.gp) of ||dL/dx|| and
 * ||dL/dW||_F at the first, middle and last layer, and its growth per
 * layer towards the input, exp(-slope) of a least-squares line through
 * ln(norm) over layers 1..depth; each the mean ± sd over seeds. */
int cs_report_claims_grad(cs_selection *sel, FILE *f);

/* Noise (bn_noise, site post) at layer 1 and the last layer per
 * activation, normalisation, dropout rate, batch size (with batch norm;
 * without it the batch size changes nothing and is pooled, as in
 * bn_noise.gp) and varying key, mean ± sd over seeds. */
int cs_report_claims_noise(cs_selection *sel, FILE *f);

/* The running gap (running_gap): mean_gap and var_gap at the input, the
 * first and the last layer per activation, shuffle setting, batch size and
 * varying key (the conditions pooled: their phase A is the same), mean ±
 * sd over seeds. */
int cs_report_claims_gap(cs_selection *sel, FILE *f);

#endif
