/* The rows a training run stores (docs/design.md §7; the train_* tables
 * of docs/database.md): the loss of every step; at every evaluation the
 * loss and accuracy on held-out A and on B for each way batch norm treats
 * them, and the probe batch's statistics per layer and site; per layer at
 * every recorded step the gradient norms and Santurkar et al.'s internal
 * covariate shift; after training, B under adapted statistics for a
 * ladder of prior strengths. NaN where a value has no meaning (NULL). */
#ifndef CS_TRAIN_RESULT_H
#define CS_TRAIN_RESULT_H

#include <stddef.h>

#include "cs_alloc.h"
#include "cs_params.h"
#include "cs_result.h"
#include "cs_stats.h"

/* How an evaluation treats batch norm (docs/design.md §7). Without batch
 * norm there is one: none. */
typedef enum {
    CS_EVAL_NONE = 0, /* norm = none */
    CS_EVAL_BATCH,    /* each batch's own statistics (training mode) */
    CS_EVAL_FROZEN,   /* the running statistics training left (inference mode) */
    CS_EVAL_EMA,      /* those, updated by each batch before it is normalised, in order */
    CS_EVAL_ADAPTED,  /* N/(N+n) source + n/(N+n) batch statistics (Schneider et al. 2020) */
    CS_EVAL_COUNT
} cs_eval_mode;

const char *cs_eval_mode_name(cs_eval_mode mode); /* "none", "batch", ... */

/* The prior strengths of the ladder after training: 0, then 2^0 .. 2^14. */
#define CS_TRAIN_NPRIOR 16
double cs_train_prior_n(int k);

typedef struct {
    double loss;     /* mean over the held-out batches of each batch's loss */
    double accuracy; /* fraction of the held-out examples classified right */
} cs_train_score;

typedef struct {
    int layer;       /* 0 (the input, site post) .. depth */
    cs_site site;
    cs_stats stats;  /* docs/design.md §2 over the probe batch x units */
    double unit_q[3]; /* p15, p50, p85 of unit 0 alone over the probe batch */
} cs_train_probe_row;

typedef struct {
    double grad_w_norm;     /* ||dL/dW||_F of the step's batch */
    double grad_b_norm;     /* ||dL/db|| */
    double grad_gamma_norm; /* ||dL/dgamma||; NaN without affine batch norm, and for the readout */
    double grad_beta_norm;  /* ||dL/dbeta||; likewise */
    double weight_norm;     /* ||W||_F before the step's update */
    double ics_l2;          /* ||G - G'||_2 (Santurkar et al. 2018) */
    double ics_cos;         /* cos(G, G'); NaN when either is 0 */
} cs_train_layer_row;

typedef struct cs_train_result {
    int steps;               /* train_steps */
    double *loss;            /* (steps): step s's batch, before its update */
    int nevals;              /* evaluations: after 0, e, 2e, ... < steps, and steps updates */
    int nrecords;            /* recorded steps: 0, e, 2e, ... < steps (nevals - 1) */
    int *eval_step;          /* (nevals) */
    int nmodes;              /* 1 (norm = none) or 4 */
    cs_eval_mode modes[4];
    size_t examples;         /* held-out examples per set */
    cs_train_score *eval;    /* (nevals, 2 sets (A, B), nmodes) */
    int nprior;              /* CS_TRAIN_NPRIOR with batch norm, else 0 */
    cs_train_score *prior;   /* (2, nprior): adapted after training */
    int nprobe;              /* probe rows per evaluation */
    cs_train_probe_row *probe; /* (nevals, nprobe) */
    int layers;              /* depth + 1: the readout is layer depth + 1 */
    cs_train_layer_row *layer; /* (nrecords, layers): layer l at l - 1 */
} cs_train_result;

/* Evaluations and recorded steps of p: nrecords = ceil(train_steps /
 * eval_every), nevals = nrecords + 1. */
int cs_train_result_nrecords(const cs_run_params *p);

/* Probe rows per evaluation: every (layer, site) slot, or with probe_layer
 * = l layer l's three sites and its input. */
int cs_train_result_nprobe(const cs_run_params *p);

/* The rows of training run p, sized and with their steps, modes and probe
 * slots filled in, values zero, into *out (free with
 * cs_train_result_free). Returns CS_OK, CS_EINVAL (a size overflows) or
 * CS_ENOMEM with the message; *out NULL on error. */
int cs_train_result_alloc(cs_train_result **out, const cs_run_params *p);
void cs_train_result_free(cs_train_result *t); /* NULL is a no-op */
void cs_train_result_plan(const cs_run_params *p, cs_alloc_plan *plan);

#endif
