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

typedef enum {
    CS_NORM_NONE = 0,
    CS_NORM_BATCH,
    CS_NORM_LAYER, /* per sample over the units (layer norm); no running statistics */
    CS_NORM_RMS    /* per sample, RMS without re-centring; no running statistics */
} cs_norm_kind;
typedef enum { CS_PHASE_B_BATCH = 0, CS_PHASE_B_FROZEN, CS_PHASE_B_EMA } cs_bn_phase;
typedef enum {
    CS_INPUT_GAUSSIAN = 0,
    CS_INPUT_UNIFORM,
    CS_INPUT_IMAGES,
    CS_INPUT_MIXTURE,   /* mixture_k Gaussian components (docs/design.md §1 Distributions) */
    CS_INPUT_CORRELATED /* N(0, 1) features, every pair of a batch's rows correlated c0 */
} cs_input_kind;
/* Training (docs/design.md §7). */
typedef enum { CS_TASK_TEACHER = 0, CS_TASK_FASHION_MNIST } cs_task_kind;
typedef enum { CS_LOSS_MSE = 0, CS_LOSS_CROSS_ENTROPY } cs_loss_kind;
typedef enum { CS_ORDER_SHUFFLED = 0, CS_ORDER_ORDERED } cs_batch_order;

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
    cs_bn_phase bn_phase_b; /* meaningless (and fixed to batch) unless norm = batch */
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
    int affine;           /* 0/1 (norm != none): learned gamma, beta after the norm,
                             1 and 0 at initialisation (docs/design.md §1, §7) */
    /* Training (docs/design.md §7), section [train]; off by default, and
     * then every key below is without meaning. */
    int train;            /* 0/1: SGD on the task instead of the random-network statistics */
    cs_task_kind task;
    cs_loss_kind criterion; /* the loss: mse or cross_entropy */
    int train_steps;      /* >= 1 SGD steps */
    double lr;            /* learning rate, >= 0 */
    double sgd_momentum;  /* torch.optim.SGD's momentum, in [0, 1) */
    double weight_decay;  /* >= 0, on every parameter, as torch.optim.SGD */
    int eval_every;       /* >= 1: evaluation, probe and layer rows every this many steps */
    int eval_size;        /* held-out examples (<= 10000 for Fashion-MNIST) */
    int train_size;       /* Fashion-MNIST training images used, the file's first */
    cs_batch_order batch_order;
    int outputs;          /* teacher: outputs of the teacher and the readout */
    int teacher_depth;    /* teacher: tanh layers */
    int teacher_width;    /* teacher: units per layer */
    double bn_prior;      /* N of the adapted statistics (Schneider et al. 2020) */
    double corrupt_noise; /* sd of the Gaussian noise B adds */
    int occlusion;        /* Fashion-MNIST: side of the square B blacks out, 0 = none */
    int probe_layer;      /* 0: every layer of the probe rows; l: layer l and its input */
    int metrics;          /* 1 or 2: the version of the drift metrics (docs/design.md §2);
                             2 unless a run must match a database written before it */
    double c0;            /* in [0, 1] (input = correlated): the correlation of every
                             pair of rows of a batch, the mean-field c^0 */
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
#define CS_MAX_TRAIN_STEPS (1 << 24)
#define CS_MAX_OUTPUTS (1 << 16)
/* Fashion-MNIST's sizes (docs/design.md §7): 60000 training and 10000 test
 * images of 28 x 28 pixels, 10 classes. */
#define CS_FMNIST_TRAIN 60000
#define CS_FMNIST_TEST 10000
#define CS_FMNIST_SIDE 28
#define CS_FMNIST_PIXELS (CS_FMNIST_SIDE * CS_FMNIST_SIDE)
#define CS_FMNIST_CLASSES 10

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
