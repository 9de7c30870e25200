/* The resolved parameters of one run (docs/design.md §1; the runs columns
 * of §3): the struct, its defaults, validation, the canonical text and the
 * run_key. Each field is declared once more, with everything else about
 * it, in the parameter table (cs_param.h). */
#ifndef CS_PARAMS_H
#define CS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "cs_activation.h"
#include "cs_init.h"

typedef enum { CS_NORM_NONE = 0, CS_NORM_BATCH } cs_norm_kind;
typedef enum { CS_PHASE_B_BATCH = 0, CS_PHASE_B_FROZEN, CS_PHASE_B_EMA } cs_bn_phase;
typedef enum {
    CS_INPUT_GAUSSIAN = 0,
    CS_INPUT_UNIFORM,
    CS_INPUT_IMAGES,
    CS_INPUT_MIXTURE /* mixture_k Gaussian components (docs/design.md §1 Distributions) */
} cs_input_kind;

typedef struct {
    uint64_t seed;
    int depth;          /* >= 1 */
    int width;          /* >= 1 */
    int input_dim;      /* >= 1; must be 1024 for input = images (32 x 32) */
    int batch;          /* >= 1; >= 2 with norm = batch */
    cs_activation activation;
    cs_init_kind init;
    double sigma_w, sigma_b;
    cs_norm_kind norm;
    cs_bn_phase bn_phase_b; /* meaningless (and fixed to batch) when norm = none */
    double momentum, eps;
    cs_input_kind input;
    double shift_mean, shift_scale;
    int steps_a, steps_b; /* >= 1 each */
    int bins;             /* >= 1 */
    /* The notes' claims (docs/design.md §2). Each is off (or neutral) by
     * default and then absent from the canonical text, so older run_keys
     * are unchanged. */
    int grad;             /* 0/1: backward pass at init into grad_stats */
    double dropout;       /* inverted dropout rate after phi, in [0, 1) */
    int noise_probes;     /* >= 0; > 0 measures bn_noise with this many probes */
    int noise_batches;    /* >= 2: batch compositions per probe */
    int mixture_k;        /* >= 1: components of input = mixture */
    double mixture_sep;   /* >= 0: sd of the component means per feature */
    int shuffle;          /* 0/1: 0 draws each batch of a mixture from one component */
    int population;       /* >= 0; > 0 (norm = batch) stores running_gap from this
                             many held-out A examples */
    int affine;           /* 0/1 (norm = batch): learned gamma, beta after batch norm,
                             1 and 0 at initialisation (docs/design.md §1, §7) */
    int metrics;          /* 1 or 2: the version of the drift metrics (docs/design.md §2);
                             2 unless a run must match a database written before it */
} cs_run_params;

/* Upper bounds of the integer keys (the parameter table uses them; --help
 * and docs/experiments.md show them). Each is at most 2^20 (bins 2^16),
 * so a product of at most three keys, times a small constant, fits in size_t: every size the
 * simulator forms from more keys goes through cs_alloc's checked products,
 * and the footprint of a whole run is checked at expansion (cs_sim_check).
 * steps_a + steps_b stays below 2^31 - 1, the first dropout step the
 * running_gap pass reserves; noise_probes x noise_batches must stay below
 * 2^31, the span of the bn_noise steps (cs_params_validate). */
#define CS_MAX_DEPTH (1 << 20)
#define CS_MAX_WIDTH (1 << 20)      /* width and input_dim */
#define CS_MAX_BATCH (1 << 20)
#define CS_MAX_STEPS (1 << 20)      /* steps_a and steps_b, each */
#define CS_MAX_BINS (1 << 16)
#define CS_MAX_NOISE (1 << 20)      /* noise_probes and noise_batches, each */
#define CS_MAX_NOISE_BATCHES_TOTAL (((long long)1 << 31) - 1) /* their product */
#define CS_MAX_MIXTURE_K (1 << 20)
#define CS_MAX_POPULATION (1 << 20)

/* The defaults every experiment starts from: each parameter's default in
 * the table (docs/design.md §1: momentum 0.1, eps 1e-5; bins 64). */
void cs_params_default(cs_run_params *p);

/* Checks the bounds of every parameter (the table's: depth in
 * 1..CS_MAX_DEPTH, a finite sigma_w >= 0, ...) and the cross-field rules
 * (batch >= 2 with norm = batch, input_dim 1024 for images,
 * noise_probes x noise_batches < 2^31, ...). Returns CS_OK or CS_EINVAL
 * with a message naming the keys and what was expected. */
int cs_params_validate(const cs_run_params *p);

/* A canonical text of every parameter that affects results, in the
 * table's order and by each entry's canonical rule ("seed=1;depth=30;...";
 * bn_phase_b reads "-" when norm = none; the later parameters only when
 * they change something), and the run_key: the 16 hex digits of its 64-bit
 * FNV-1a hash. buf sizes >= 1024 and >= 17. */
void cs_params_canonical(const cs_run_params *p, char *buf, size_t size);
void cs_params_run_key(const cs_run_params *p, char key[17]);

#endif
