/* The resolved parameters of one run (DESIGN §1, §3 runs columns), their
 * names, parsing of single values, validation and the run_key. */
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
    CS_INPUT_MIXTURE /* mixture_k Gaussian components, issue 6 running averages */
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
    /* Issue 6, the notes' claims. Each is off (or neutral) by default and
     * then absent from the canonical text, so older run_keys are unchanged. */
    int grad;             /* 0/1: backward pass at init into grad_stats */
    double dropout;       /* inverted dropout rate after phi, in [0, 1) */
    int noise_probes;     /* >= 0; > 0 measures bn_noise with this many probes */
    int noise_batches;    /* >= 2: batch compositions per probe */
    int mixture_k;        /* >= 1: components of input = mixture */
    double mixture_sep;   /* >= 0: sd of the component means per feature */
    int shuffle;          /* 0/1: 0 draws each batch of a mixture from one component */
    int population;       /* >= 0; > 0 (norm = batch) stores running_gap from this
                             many held-out A examples */
} cs_run_params;

/* The defaults every experiment starts from (DESIGN §1: momentum 0.1,
 * eps 1e-5; bins 64). */
void cs_params_default(cs_run_params *p);

int cs_norm_parse(const char *s, cs_norm_kind *out);
const char *cs_norm_name(cs_norm_kind k);
int cs_bn_phase_parse(const char *s, cs_bn_phase *out);
const char *cs_bn_phase_name(cs_bn_phase k);
int cs_input_parse(const char *s, cs_input_kind *out);
const char *cs_input_name(cs_input_kind k);

/* Checks the cross-field rules (depth >= 1, batch >= 2 with norm = batch,
 * input_dim 1024 for images, ...). Returns CS_OK or CS_EINVAL with a
 * message naming the key and what was expected. */
int cs_params_validate(const cs_run_params *p);

/* A canonical text of every parameter that affects results
 * ("seed=1;depth=30;..."; bn_phase_b reads "-" when norm = none), and the
 * run_key: the 16 hex digits of its 64-bit FNV-1a hash. buf sizes >= 512
 * and >= 17. */
void cs_params_canonical(const cs_run_params *p, char *buf, size_t size);
void cs_params_run_key(const cs_run_params *p, char key[17]);

#endif
