/* The run parameters' table and what one entry does with one value (see
 * cs_param.h; docs/design.md §1 for the meaning of each, §3 for the
 * columns, §4 for the experiment keys). */
#include "cs_param.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_error.h"

/* Enum fields are read and written through int: the enums here hold small
 * non-negative values, and GCC gives them the size of int. */
_Static_assert(sizeof(cs_activation) == sizeof(int), "cs_activation is int-sized");
_Static_assert(sizeof(cs_init_kind) == sizeof(int), "cs_init_kind is int-sized");
_Static_assert(sizeof(cs_norm_kind) == sizeof(int), "cs_norm_kind is int-sized");
_Static_assert(sizeof(cs_bn_phase) == sizeof(int), "cs_bn_phase is int-sized");
_Static_assert(sizeof(cs_input_kind) == sizeof(int), "cs_input_kind is int-sized");
_Static_assert(sizeof(cs_task_kind) == sizeof(int), "cs_task_kind is int-sized");
_Static_assert(sizeof(cs_loss_kind) == sizeof(int), "cs_loss_kind is int-sized");
_Static_assert(sizeof(cs_batch_order) == sizeof(int), "cs_batch_order is int-sized");

/* ---- the names of the enumerated values ---- */

static const char *cs_param_activation_name(int v)
{
    return v >= 0 && v < CS_ACT_COUNT ? cs_activation_name((cs_activation)v) : NULL;
}

static const char *cs_param_init_name(int v)
{
    return v >= 0 && v < CS_INIT_COUNT ? cs_init_name((cs_init_kind)v) : NULL;
}

static const char *cs_param_norm_name(int v)
{
    static const char *const names[] = {"none", "batch", "layer", "rms"};
    return v >= 0 && v < 4 ? names[v] : NULL;
}

static const char *cs_param_bn_phase_name(int v)
{
    static const char *const names[] = {"batch", "frozen", "ema"};
    return v >= 0 && v < 3 ? names[v] : NULL;
}

static const char *cs_param_input_name(int v)
{
    static const char *const names[] = {"gaussian", "uniform", "images", "mixture",
                                        "correlated"};
    return v >= 0 && v < 5 ? names[v] : NULL;
}

static const char *cs_param_task_name(int v)
{
    static const char *const names[] = {"teacher", "fashion_mnist"};
    return v >= 0 && v < 2 ? names[v] : NULL;
}

static const char *cs_param_loss_name(int v)
{
    static const char *const names[] = {"mse", "cross_entropy"};
    return v >= 0 && v < 2 ? names[v] : NULL;
}

static const char *cs_param_batch_order_name(int v)
{
    static const char *const names[] = {"shuffled", "ordered"};
    return v >= 0 && v < 2 ? names[v] : NULL;
}

/* ---- the table ---- */

#define CS_FIELD(f) offsetof(cs_run_params, f)
#define CS_INT(lo, hi) .type = CS_PARAM_INT, .min = (lo), .max = (hi)
#define CS_REAL(lo, hi) .type = CS_PARAM_REAL, .real_min = (lo), .real_max = (hi)
#define CS_ENUM(names) .type = CS_PARAM_ENUM, .value_name = (names)
/* In the canonical text and the runs table from the first schema on. */
#define CS_FIRST .canon = CS_CANON_ALWAYS, .column = CS_COLUMN_REQUIRED

/* In canonical-text order: the parameters of the first schema (always in
 * the text, bn_phase_b as "-" without batch norm), then each later one,
 * appended, in the text only when it changes something. */
const cs_param cs_param_table[] = {
    {.name = "seed", CS_FIRST, .section = CS_SECTION_RUN, .type = CS_PARAM_U64,
     .offset = CS_FIELD(seed), .def.u = 1, .doc = "seed of every random stream of the run"},
    {.name = "depth", CS_FIRST, .section = CS_SECTION_NETWORK, CS_INT(1, CS_MAX_DEPTH),
     .offset = CS_FIELD(depth), .def.i = 10, .doc = "number of dense layers"},
    {.name = "width", CS_FIRST, .section = CS_SECTION_NETWORK, CS_INT(1, CS_MAX_WIDTH),
     .offset = CS_FIELD(width), .def.i = 256, .doc = "units in every hidden layer"},
    {.name = "input_dim", CS_FIRST, .section = CS_SECTION_NETWORK, CS_INT(1, CS_MAX_WIDTH),
     .offset = CS_FIELD(input_dim), .def.i = 256,
     .doc = "features of the input x^(0); 1024 for input = images"},
    {.name = "batch", CS_FIRST, .section = CS_SECTION_DATA, CS_INT(1, CS_MAX_BATCH),
     .offset = CS_FIELD(batch), .def.i = 128, .doc = "rows per batch; >= 2 with norm = batch"},
    {.name = "activation", CS_FIRST, .section = CS_SECTION_NETWORK,
     CS_ENUM(cs_param_activation_name), .offset = CS_FIELD(activation), .def.i = CS_ACT_TANH,
     .doc = "nonlinearity phi after each layer"},
    {.name = "init", CS_FIRST, .section = CS_SECTION_NETWORK, CS_ENUM(cs_param_init_name),
     .offset = CS_FIELD(init), .def.i = CS_INIT_GAUSSIAN, .doc = "weight initialisation"},
    {.name = "sigma_w", CS_FIRST, .section = CS_SECTION_NETWORK, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(sigma_w), .def.d = 1.0,
     .doc = "weight scale: W ~ N(0, sigma_w^2/fan_in) (gaussian), gain (orthogonal)"},
    {.name = "sigma_b", CS_FIRST, .section = CS_SECTION_NETWORK, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(sigma_b), .def.d = 0.0, .doc = "bias scale: b ~ N(0, sigma_b^2)"},
    {.name = "norm", CS_FIRST, .section = CS_SECTION_NORM, CS_ENUM(cs_param_norm_name),
     .offset = CS_FIELD(norm), .def.i = CS_NORM_NONE,
     .doc = "normalisation between the dense layer and phi"},
    {.name = "bn_phase_b", .section = CS_SECTION_NORM, CS_ENUM(cs_param_bn_phase_name),
     .offset = CS_FIELD(bn_phase_b), .def.i = CS_PHASE_B_BATCH, .when = CS_WHEN_BATCH_NORM,
     .canon = CS_CANON_ALWAYS, .column = CS_COLUMN_NULLABLE,
     .doc = "batch norm statistics in phase B (ignored unless norm = batch)"},
    /* torch.nn.BatchNorm1d's defaults (docs/design.md §1) */
    {.name = "momentum", CS_FIRST, .section = CS_SECTION_NORM, CS_REAL(0, 1),
     .offset = CS_FIELD(momentum), .def.d = 0.1,
     .doc = "running statistics update, as torch.nn.BatchNorm1d"},
    {.name = "eps", CS_FIRST, .section = CS_SECTION_NORM, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(eps), .def.d = 1e-5,
     .doc = "added to the variance before the square root"},
    {.name = "input", CS_FIRST, .section = CS_SECTION_DATA, CS_ENUM(cs_param_input_name),
     .offset = CS_FIELD(input), .def.i = CS_INPUT_GAUSSIAN, .doc = "distribution A of the inputs"},
    {.name = "shift_mean", CS_FIRST, .section = CS_SECTION_DATA, CS_REAL(-HUGE_VAL, HUGE_VAL),
     .offset = CS_FIELD(shift_mean), .def.d = 0.0,
     .doc = "offset of distribution B: B = shift_scale * A + shift_mean"},
    {.name = "shift_scale", CS_FIRST, .section = CS_SECTION_DATA, CS_REAL(-HUGE_VAL, HUGE_VAL),
     .offset = CS_FIELD(shift_scale), .def.d = 1.0,
     .doc = "scale of distribution B: B = shift_scale * A + shift_mean"},
    {.name = "steps_a", CS_FIRST, .section = CS_SECTION_DATA, CS_INT(1, CS_MAX_STEPS),
     .offset = CS_FIELD(steps_a), .def.i = 10, .doc = "batches from distribution A (phase A)"},
    {.name = "steps_b", CS_FIRST, .section = CS_SECTION_DATA, CS_INT(1, CS_MAX_STEPS),
     .offset = CS_FIELD(steps_b), .def.i = 10, .doc = "batches from distribution B (phase B)"},
    {.name = "bins", CS_FIRST, .section = CS_SECTION_RUN, CS_INT(1, CS_MAX_BINS),
     .offset = CS_FIELD(bins), .def.i = 64, .doc = "histogram bins per layer and site"},

    /* The measurements of the notes' claims (docs/design.md §2) and their inputs. */
    {.name = "mixture_k", .section = CS_SECTION_DATA, CS_INT(1, CS_MAX_MIXTURE_K),
     .offset = CS_FIELD(mixture_k), .def.i = 4, .when = CS_WHEN_MIXTURE,
     .canon = CS_CANON_MEANING, .column = CS_COLUMN_NULLABLE,
     .doc = "components of input = mixture"},
    {.name = "mixture_sep", .section = CS_SECTION_DATA, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(mixture_sep), .def.d = 2.0, .when = CS_WHEN_MIXTURE,
     .canon = CS_CANON_MEANING, .column = CS_COLUMN_NULLABLE,
     .doc = "sd per feature of the mixture's component means"},
    {.name = "shuffle", .section = CS_SECTION_DATA, .type = CS_PARAM_BOOL,
     .offset = CS_FIELD(shuffle), .def.i = 1, .when = CS_WHEN_MIXTURE,
     .canon = CS_CANON_MEANING, .column = CS_COLUMN_NULLABLE,
     .doc = "false: each batch of a mixture comes from one component"},
    {.name = "dropout", .section = CS_SECTION_NETWORK, CS_REAL(0, 1), .real_max_open = 1,
     .offset = CS_FIELD(dropout), .def.d = 0.0,
     .doc = "inverted dropout rate after phi, every batch of both phases"},
    {.name = "grad", .section = CS_SECTION_MEASURE, .type = CS_PARAM_BOOL,
     .offset = CS_FIELD(grad), .def.i = 0,
     .doc = "backward pass at init of a random readout's squared error: grad_stats"},
    {.name = "noise_probes", .section = CS_SECTION_MEASURE, CS_INT(0, CS_MAX_NOISE),
     .offset = CS_FIELD(noise_probes), .def.i = 0, .doc = "probe examples for bn_noise; 0 = off"},
    {.name = "noise_batches", .section = CS_SECTION_MEASURE, CS_INT(2, CS_MAX_NOISE),
     .offset = CS_FIELD(noise_batches), .def.i = 16, .when = CS_WHEN_NOISE,
     .canon = CS_CANON_MEANING, .column = CS_COLUMN_NULLABLE,
     .doc = "random batch compositions (and dropout masks) per probe"},
    {.name = "population", .section = CS_SECTION_MEASURE, CS_INT(0, CS_MAX_POPULATION),
     .offset = CS_FIELD(population), .def.i = 0, .when = CS_WHEN_BATCH_NORM,
     .doc = "held-out A examples for running_gap (norm = batch); 0 = off"},
    {.name = "affine", .section = CS_SECTION_NORM, .type = CS_PARAM_BOOL,
     .offset = CS_FIELD(affine), .def.i = 0, .when = CS_WHEN_NORM,
     .doc = "learned scale gamma and shift beta after the norm (1 and 0 at init)"},

    /* Training (docs/design.md §7): off by default, and then none of the
     * keys below has meaning, so every earlier run_key stays. */
    {.name = "train", .section = CS_SECTION_TRAIN, .type = CS_PARAM_BOOL,
     .offset = CS_FIELD(train), .def.i = 0,
     .doc = "train the network by SGD (train_* tables) instead of the random-network statistics"},
    {.name = "task", .section = CS_SECTION_TRAIN, CS_ENUM(cs_param_task_name),
     .offset = CS_FIELD(task), .def.i = CS_TASK_TEACHER, .when = CS_WHEN_TRAIN,
     .doc = "teacher (a fixed random network's outputs on A) or fashion_mnist (input_dim 784)"},
    {.name = "criterion", .section = CS_SECTION_TRAIN, CS_ENUM(cs_param_loss_name),
     .offset = CS_FIELD(criterion), .def.i = CS_LOSS_CROSS_ENTROPY, .when = CS_WHEN_TRAIN,
     .doc = "mse (the teacher's outputs, or one-hot classes) or cross_entropy (classes)"},
    {.name = "train_steps", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_TRAIN_STEPS),
     .offset = CS_FIELD(train_steps), .def.i = 1000, .when = CS_WHEN_TRAIN,
     .doc = "SGD steps, one batch each"},
    {.name = "lr", .section = CS_SECTION_TRAIN, CS_REAL(0, HUGE_VAL), .offset = CS_FIELD(lr),
     .def.d = 0.01, .when = CS_WHEN_TRAIN, .doc = "learning rate of torch.optim.SGD"},
    {.name = "sgd_momentum", .section = CS_SECTION_TRAIN, CS_REAL(0, 1), .real_max_open = 1,
     .offset = CS_FIELD(sgd_momentum), .def.d = 0.9, .when = CS_WHEN_TRAIN,
     .doc = "momentum of torch.optim.SGD (dampening 0, not Nesterov)"},
    {.name = "weight_decay", .section = CS_SECTION_TRAIN, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(weight_decay), .def.d = 0.0, .when = CS_WHEN_TRAIN,
     .doc = "weight decay of torch.optim.SGD, on every parameter"},
    {.name = "eval_every", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_TRAIN_STEPS),
     .offset = CS_FIELD(eval_every), .def.i = 100, .when = CS_WHEN_TRAIN,
     .doc = "steps between evaluations, probes and layer rows (and after the last step)"},
    {.name = "eval_size", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_BATCH),
     .offset = CS_FIELD(eval_size), .def.i = 10000, .when = CS_WHEN_TRAIN,
     .doc = "held-out examples, used in whole batches (Fashion-MNIST: the first of the test set)"},
    {.name = "train_size", .section = CS_SECTION_TRAIN, CS_INT(1, CS_FMNIST_TRAIN),
     .offset = CS_FIELD(train_size), .def.i = CS_FMNIST_TRAIN, .when = CS_WHEN_FASHION,
     .doc = "Fashion-MNIST training images used: the file's first"},
    {.name = "batch_order", .section = CS_SECTION_TRAIN, CS_ENUM(cs_param_batch_order_name),
     .offset = CS_FIELD(batch_order), .def.i = CS_ORDER_SHUFFLED, .when = CS_WHEN_TRAIN,
     .doc = "ordered: class-sorted (Fashion-MNIST) or one mixture component per batch (teacher)"},
    {.name = "outputs", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_OUTPUTS),
     .offset = CS_FIELD(outputs), .def.i = 10, .when = CS_WHEN_TEACHER,
     .doc = "the teacher's outputs (its classes for cross_entropy), and the readout's"},
    {.name = "teacher_depth", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_DEPTH),
     .offset = CS_FIELD(teacher_depth), .def.i = 2, .when = CS_WHEN_TEACHER,
     .doc = "tanh layers of the teacher network"},
    {.name = "teacher_width", .section = CS_SECTION_TRAIN, CS_INT(1, CS_MAX_WIDTH),
     .offset = CS_FIELD(teacher_width), .def.i = 64, .when = CS_WHEN_TEACHER,
     .doc = "units per layer of the teacher network"},
    {.name = "bn_prior", .section = CS_SECTION_TRAIN, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(bn_prior), .def.d = 16.0, .when = CS_WHEN_TRAIN_BN,
     .doc = "prior strength N of the adapted statistics on B (Schneider et al. 2020)"},
    {.name = "corrupt_noise", .section = CS_SECTION_TRAIN, CS_REAL(0, HUGE_VAL),
     .offset = CS_FIELD(corrupt_noise), .def.d = 0.0, .when = CS_WHEN_TRAIN,
     .doc = "sd of Gaussian noise B adds after shift_scale * x + shift_mean (pixels in [0, 1])"},
    {.name = "occlusion", .section = CS_SECTION_TRAIN, CS_INT(0, CS_FMNIST_SIDE),
     .offset = CS_FIELD(occlusion), .def.i = 0, .when = CS_WHEN_FASHION,
     .doc = "side in pixels of a square B blacks out at a random place per image; 0 = none"},
    {.name = "probe_layer", .section = CS_SECTION_TRAIN, CS_INT(0, CS_MAX_DEPTH),
     .offset = CS_FIELD(probe_layer), .def.i = 0, .when = CS_WHEN_TRAIN,
     .doc = "train_probe rows: 0 = every layer, l = layer l and its input (layer l - 1's post)"},
    /* docs/design.md §2: version 2 changed every drift value, so its runs
     * have keys of their own; metrics = 1 gives the runs (and keys) of a
     * database written before it. */
    {.name = "metrics", .section = CS_SECTION_RUN, CS_INT(1, 2), .offset = CS_FIELD(metrics),
     .def.i = 2, .has_prior = 1, .prior.i = 1,
     .doc = "drift metrics version: 2 scale-free with exact w1, 1 as before schema 4"},
    /* The mean-field correlation map's input (docs/design.md §1 Distributions). */
    {.name = "c0", .section = CS_SECTION_DATA, CS_REAL(0, 1), .offset = CS_FIELD(c0),
     .def.d = 0.5, .when = CS_WHEN_CORRELATED, .canon = CS_CANON_MEANING,
     .column = CS_COLUMN_NULLABLE,
     .doc = "correlation of every pair of a batch's rows for input = correlated"},
};
const size_t cs_param_count = sizeof cs_param_table / sizeof cs_param_table[0];
_Static_assert(sizeof cs_param_table / sizeof cs_param_table[0] <= CS_PARAM_MAX,
               "CS_PARAM_MAX must count every parameter");

/* ---- lookups ---- */

const cs_param *cs_param_find(const char *name)
{
    for (size_t k = 0; k < cs_param_count; k++)
        if (strcmp(cs_param_table[k].name, name) == 0)
            return &cs_param_table[k];
    return NULL;
}

cs_param_value cs_param_prior(const cs_param *param)
{
    return param->has_prior ? param->prior : param->def;
}

const char *cs_param_section_name(cs_param_section section)
{
    static const char *const names[CS_SECTION_COUNT] = {"network", "norm",    "data",
                                                         "run",     "measure", "train"};
    return (unsigned)section < CS_SECTION_COUNT ? names[section] : "?";
}

/* ---- one value in a cs_run_params ---- */

cs_param_value cs_param_get(const cs_param *param, const cs_run_params *p)
{
    const char *field = (const char *)p + param->offset;
    cs_param_value v = {0};
    switch (param->type) {
    case CS_PARAM_INT:
    case CS_PARAM_BOOL:
    case CS_PARAM_ENUM: v.i = *(const int *)field; break;
    case CS_PARAM_U64: v.u = *(const uint64_t *)field; break;
    case CS_PARAM_REAL: v.d = *(const double *)field; break;
    }
    return v;
}

void cs_param_set(const cs_param *param, cs_run_params *p, cs_param_value v)
{
    char *field = (char *)p + param->offset;
    switch (param->type) {
    case CS_PARAM_INT:
    case CS_PARAM_ENUM: *(int *)field = (int)v.i; break;
    case CS_PARAM_BOOL: *(int *)field = v.i != 0; break;
    case CS_PARAM_U64: *(uint64_t *)field = v.u; break;
    case CS_PARAM_REAL: *(double *)field = v.d; break;
    }
}

/* The rules of meaning: the C predicate, its SQL over the runs columns
 * (for the report) and its words (for --help). */
static const struct {
    const char *sql, *text;
} cs_param_whens[CS_WHEN_COUNT] = {
    [CS_WHEN_ALWAYS] = {"1", NULL},
    [CS_WHEN_BATCH_NORM] = {"norm = 'batch'", "norm = batch"},
    [CS_WHEN_MIXTURE] = {"input = 'mixture'", "input = mixture"},
    [CS_WHEN_NOISE] = {"noise_probes > 0", "noise_probes > 0"},
    [CS_WHEN_TRAIN] = {"train = 1", "train = true"},
    [CS_WHEN_TEACHER] = {"train = 1 AND task = 'teacher'", "train = true, task = teacher"},
    [CS_WHEN_FASHION] = {"train = 1 AND task = 'fashion_mnist'",
                         "train = true, task = fashion_mnist"},
    [CS_WHEN_TRAIN_BN] = {"train = 1 AND norm = 'batch'", "train = true, norm = batch"},
    [CS_WHEN_NORM] = {"norm <> 'none'", "norm != none"},
    [CS_WHEN_CORRELATED] = {"input = 'correlated'", "input = correlated"},
};

int cs_param_applies(const cs_param *param, const cs_run_params *p)
{
    switch (param->when) {
    case CS_WHEN_ALWAYS: return 1;
    case CS_WHEN_BATCH_NORM: return p->norm == CS_NORM_BATCH;
    case CS_WHEN_MIXTURE: return p->input == CS_INPUT_MIXTURE;
    case CS_WHEN_NOISE: return p->noise_probes > 0;
    case CS_WHEN_TRAIN: return p->train;
    case CS_WHEN_TEACHER: return p->train && p->task == CS_TASK_TEACHER;
    case CS_WHEN_FASHION: return p->train && p->task == CS_TASK_FASHION_MNIST;
    case CS_WHEN_TRAIN_BN: return p->train && p->norm == CS_NORM_BATCH;
    case CS_WHEN_NORM: return p->norm != CS_NORM_NONE;
    case CS_WHEN_CORRELATED: return p->input == CS_INPUT_CORRELATED;
    case CS_WHEN_COUNT: break;
    }
    return 0;
}

int cs_param_equal(const cs_param *param, cs_param_value a, cs_param_value b)
{
    switch (param->type) {
    case CS_PARAM_REAL: return a.d == b.d;
    case CS_PARAM_U64: return a.u == b.u;
    case CS_PARAM_BOOL: return (a.i != 0) == (b.i != 0);
    default: return a.i == b.i;
    }
}

int cs_param_in_canonical(const cs_param *param, const cs_run_params *p)
{
    if (param->canon == CS_CANON_ALWAYS)
        return 1;
    if (!cs_param_applies(param, p))
        return 0;
    return param->canon == CS_CANON_MEANING ||
           !cs_param_equal(param, cs_param_get(param, p), cs_param_prior(param));
}

const char *cs_param_when_sql(cs_param_when when)
{
    return (unsigned)when < CS_WHEN_COUNT ? cs_param_whens[when].sql : "0";
}

const char *cs_param_when_text(cs_param_when when)
{
    return (unsigned)when < CS_WHEN_COUNT ? cs_param_whens[when].text : NULL;
}

/* ---- text ---- */

void cs_param_expected(const cs_param *param, char *buf, size_t size)
{
    buf[0] = '\0';
    switch (param->type) {
    case CS_PARAM_INT: snprintf(buf, size, "an integer in %lld..%lld", param->min, param->max); return;
    case CS_PARAM_U64: snprintf(buf, size, "an integer >= 0"); return;
    case CS_PARAM_BOOL: snprintf(buf, size, "true, false"); return;
    case CS_PARAM_REAL:
        if (isinf(param->real_min) && isinf(param->real_max))
            snprintf(buf, size, "a number");
        else if (isinf(param->real_max))
            snprintf(buf, size, "a number >= %g", param->real_min);
        else
            snprintf(buf, size, "a number in [%g, %g%c", param->real_min, param->real_max,
                     param->real_max_open ? ')' : ']');
        return;
    case CS_PARAM_ENUM: {
        size_t used = 0;
        const char *name;
        for (int v = 0; (name = param->value_name(v)) && used < size; v++)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", v ? ", " : "", name);
        return;
    }
    }
}

/* Whole-string decimal integer. */
static int cs_param_parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

int cs_param_parse(const cs_param *param, const char *text, cs_param_value *v)
{
    char expected[256];
    cs_param_expected(param, expected, sizeof expected);
    memset(v, 0, sizeof *v);
    switch (param->type) {
    case CS_PARAM_INT:
        if (!cs_param_parse_ll(text, &v->i) || v->i < param->min || v->i > param->max)
            return cs_error_set(CS_EINVAL, "expected %s, got '%s'", expected, text);
        return CS_OK;
    case CS_PARAM_U64: {
        /* strtoull would wrap "-1" to 2^64 - 1 */
        char *end;
        errno = 0;
        unsigned long long u = *text == '-' ? 0 : strtoull(text, &end, 10);
        if (*text == '-' || errno != 0 || end == text || *end != '\0')
            return cs_error_set(CS_EINVAL, "expected %s, got '%s'", expected, text);
        v->u = (uint64_t)u;
        return CS_OK;
    }
    case CS_PARAM_REAL: {
        char *end;
        errno = 0;
        v->d = strtod(text, &end);
        /* ERANGE on underflow still gives a usable (tiny) number; overflow
         * gives inf, which is not finite. */
        if (end == text || *end != '\0' || cs_param_check(param, *v) != CS_OK)
            return cs_error_set(CS_EINVAL, "expected %s, got '%s'", expected, text);
        return CS_OK;
    }
    case CS_PARAM_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
            v->i = text[0] == 't';
            return CS_OK;
        }
        return cs_error_set(CS_EINVAL, "expected true or false, got '%s'", text);
    case CS_PARAM_ENUM: {
        const char *name;
        for (int k = 0; (name = param->value_name(k)); k++)
            if (strcmp(text, name) == 0) {
                v->i = k;
                return CS_OK;
            }
        return cs_error_set(CS_EINVAL, "unknown %s '%s' (expected one of: %s)", param->name, text,
                            expected);
    }
    }
    return cs_error_set(CS_EINVAL, "key '%s' has no type", param->name);
}

int cs_param_check(const cs_param *param, cs_param_value v)
{
    char expected[256];
    switch (param->type) {
    case CS_PARAM_INT:
        if (v.i >= param->min && v.i <= param->max)
            return CS_OK;
        cs_param_expected(param, expected, sizeof expected);
        return cs_error_set(CS_EINVAL, "key '%s': expected %s, got %lld", param->name, expected,
                            v.i);
    case CS_PARAM_REAL:
        /* written so that NaN fails every comparison */
        if (isfinite(v.d) && v.d >= param->real_min &&
            (param->real_max_open ? v.d < param->real_max : v.d <= param->real_max))
            return CS_OK;
        cs_param_expected(param, expected, sizeof expected);
        return cs_error_set(CS_EINVAL, "key '%s': expected %s, got %g", param->name, expected,
                            v.d);
    case CS_PARAM_BOOL:
        if (v.i == 0 || v.i == 1)
            return CS_OK;
        return cs_error_set(CS_EINVAL, "key '%s': expected true or false, got %lld", param->name,
                            v.i);
    case CS_PARAM_ENUM:
        if (v.i >= 0 && v.i <= INT32_MAX && param->value_name((int)v.i))
            return CS_OK;
        cs_param_expected(param, expected, sizeof expected);
        return cs_error_set(CS_EINVAL, "key '%s': expected one of %s, got the value %lld",
                            param->name, expected, v.i);
    case CS_PARAM_U64: return CS_OK;
    }
    return CS_OK;
}

void cs_param_format(const cs_param *param, cs_param_value v, cs_param_format_style style,
                     char *buf, size_t size)
{
    switch (param->type) {
    case CS_PARAM_INT: snprintf(buf, size, "%lld", v.i); return;
    case CS_PARAM_U64: snprintf(buf, size, "%" PRIu64, v.u); return;
    case CS_PARAM_BOOL:
        if (style == CS_FORMAT_HELP)
            snprintf(buf, size, "%s", v.i ? "true" : "false");
        else
            snprintf(buf, size, "%d", v.i != 0);
        return;
    case CS_PARAM_REAL:
        /* %.17g round-trips a double, so equal texts mean equal values */
        snprintf(buf, size, style == CS_FORMAT_HELP ? "%g" : "%.17g", v.d);
        return;
    case CS_PARAM_ENUM: {
        const char *name = v.i >= 0 && v.i <= INT32_MAX ? param->value_name((int)v.i) : NULL;
        /* names are lower-case words: nothing to quote inside */
        snprintf(buf, size, style == CS_FORMAT_SQL ? "'%s'" : "%s", name ? name : "?");
        return;
    }
    }
    snprintf(buf, size, "?");
}

const char *cs_param_sql_type(const cs_param *param)
{
    switch (param->type) {
    case CS_PARAM_REAL: return "REAL";
    case CS_PARAM_ENUM: return "TEXT";
    default: return "INTEGER";
    }
}

void cs_param_sql_definition(const cs_param *param, char *buf, size_t size)
{
    char def[64];
    switch (param->column) {
    case CS_COLUMN_REQUIRED: snprintf(buf, size, "%s NOT NULL", cs_param_sql_type(param)); return;
    case CS_COLUMN_NULLABLE: snprintf(buf, size, "%s", cs_param_sql_type(param)); return;
    case CS_COLUMN_DEFAULT:
        cs_param_format(param, cs_param_prior(param), CS_FORMAT_SQL, def, sizeof def);
        snprintf(buf, size, "%s NOT NULL DEFAULT %s", cs_param_sql_type(param), def);
        return;
    }
}
