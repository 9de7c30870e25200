/* A run's mean-field predictions from its parameters alone (no sampling):
 * the length and correlation maps layer by layer for phases A and B, the
 * fixed points and depth scales, and batch norm's ReLU gradient rate;
 * docs/design.md §9, the meanfield table of §3. */
#ifndef CS_THEORY_H
#define CS_THEORY_H

#include "cs_meanfield.h"
#include "cs_params.h"

/* What the theory says about a run. */
typedef enum {
    CS_THEORY_NONE = 0, /* no rows: a normaliser other than the ReLU case, dropout,
                           or input = mixture */
    CS_THEORY_MAPS,     /* norm = none: every column */
    CS_THEORY_BN_RATE   /* norm = batch with relu: bn_grad_rate only */
} cs_theory_kind;

/* One layer of one phase. Layer 0 is the input x^(0): q = q_post = its
 * second moment per feature, c = c_post = the correlation of two inputs. */
typedef struct {
    double q;      /* E h^2 at site pre (second moment, mean included) */
    double q_post; /* E phi(h)^2 at site post */
    double c;      /* E h1 h2 / q of two inputs' pre-activations */
    double c_post; /* the same at post */
} cs_theory_layer;

typedef struct {
    cs_theory_kind kind;
    int depth;
    cs_theory_layer *layers; /* (2, depth + 1): phase A, then phase B; NULL unless MAPS */
    cs_meanfield_fixed fixed; /* of the hidden layers' rule (width x width) */
    double bn_grad_rate;      /* NaN unless BN_RATE */
} cs_theory;

/* The kind of rows p gets. */
cs_theory_kind cs_theory_kind_of(const cs_run_params *p);

/* Computes t for p (t->layers allocated here, owned by t: free with
 * cs_theory_clear). Returns CS_OK or CS_ENOMEM with the message. */
int cs_theory_compute(cs_theory *t, const cs_run_params *p);
void cs_theory_clear(cs_theory *t); /* frees t->layers; a zeroed t is a no-op */

/* The input's moments per feature in a phase: E x^2 and, for two
 * independent inputs, E x y (phase 'B' after x -> shift_scale x +
 * shift_mean). Returns 0 for an input kind the theory has no moments for. */
int cs_theory_input_moments(const cs_run_params *p, char phase, double *second, double *cross);

#endif
