/* Run parameters: defaults, names of the enumerated values, cross-field
 * validation and the run_key (DESIGN §1, §3 runs). */
#include "cs_params.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cs_error.h"

void cs_params_default(cs_run_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->depth = 10;
    p->width = 256;
    p->input_dim = 256;
    p->batch = 128;
    p->activation = CS_ACT_TANH;
    p->init = CS_INIT_GAUSSIAN;
    p->sigma_w = 1.0;
    p->sigma_b = 0.0;
    p->norm = CS_NORM_NONE;
    p->bn_phase_b = CS_PHASE_B_BATCH;
    p->momentum = 0.1; /* torch.nn.BatchNorm1d defaults */
    p->eps = 1e-5;
    p->input = CS_INPUT_GAUSSIAN;
    p->shift_mean = 0.0;
    p->shift_scale = 1.0;
    p->steps_a = 10;
    p->steps_b = 10;
    p->bins = 64;
    p->grad = 0;
    p->dropout = 0.0;
    p->noise_probes = 0;
    p->noise_batches = 16;
    p->mixture_k = 4;
    p->mixture_sep = 2.0;
    p->shuffle = 1;
    p->population = 0;
}

static const char *const cs_norm_names[] = {"none", "batch"};
static const char *const cs_bn_phase_names[] = {"batch", "frozen", "ema"};
static const char *const cs_input_names[] = {"gaussian", "uniform", "images", "mixture"};

/* Looks s up in names[0..count); CS_EINVAL lists the accepted values. */
static int cs_params_lookup(const char *s, const char *const *names, int count, int *out,
                            const char *what)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return CS_OK;
        }
    }
    char accepted[256] = "";
    for (int i = 0; i < count; i++) {
        strncat(accepted, names[i], sizeof accepted - strlen(accepted) - 1);
        if (i + 1 < count)
            strncat(accepted, ", ", sizeof accepted - strlen(accepted) - 1);
    }
    return cs_error_set(CS_EINVAL, "unknown %s '%s' (expected one of: %s)", what, s, accepted);
}

int cs_norm_parse(const char *s, cs_norm_kind *out)
{
    int v = 0;
    int rc = cs_params_lookup(s, cs_norm_names, 2, &v, "norm");
    if (rc == CS_OK)
        *out = (cs_norm_kind)v;
    return rc;
}

const char *cs_norm_name(cs_norm_kind k)
{
    return (unsigned)k < 2 ? cs_norm_names[k] : "?";
}

int cs_bn_phase_parse(const char *s, cs_bn_phase *out)
{
    int v = 0;
    int rc = cs_params_lookup(s, cs_bn_phase_names, 3, &v, "bn_phase_b");
    if (rc == CS_OK)
        *out = (cs_bn_phase)v;
    return rc;
}

const char *cs_bn_phase_name(cs_bn_phase k)
{
    return (unsigned)k < 3 ? cs_bn_phase_names[k] : "?";
}

int cs_input_parse(const char *s, cs_input_kind *out)
{
    int v = 0;
    int rc = cs_params_lookup(s, cs_input_names, 4, &v, "input");
    if (rc == CS_OK)
        *out = (cs_input_kind)v;
    return rc;
}

const char *cs_input_name(cs_input_kind k)
{
    return (unsigned)k < 4 ? cs_input_names[k] : "?";
}

/* One integer key's bounds: "key 'bins': expected an integer in
 * 1..65536, got 100000". */
static int cs_params_check_int(const char *key, int value, int min, int max)
{
    if (value >= min && value <= max)
        return CS_OK;
    return cs_error_set(CS_EINVAL, "key '%s': expected an integer in %d..%d, got %d", key, min,
                        max, value);
}

int cs_params_validate(const cs_run_params *p)
{
    const struct {
        const char *key;
        int value, min, max;
    } ints[] = {
        {"depth", p->depth, 1, CS_MAX_DEPTH},
        {"width", p->width, 1, CS_MAX_WIDTH},
        {"input_dim", p->input_dim, 1, CS_MAX_WIDTH},
        {"batch", p->batch, 1, CS_MAX_BATCH},
        {"steps_a", p->steps_a, 1, CS_MAX_STEPS},
        {"steps_b", p->steps_b, 1, CS_MAX_STEPS},
        {"bins", p->bins, 1, CS_MAX_BINS},
        {"noise_probes", p->noise_probes, 0, CS_MAX_NOISE},
        {"mixture_k", p->mixture_k, 1, CS_MAX_MIXTURE_K},
        {"population", p->population, 0, CS_MAX_POPULATION},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int rc = cs_params_check_int(ints[i].key, ints[i].value, ints[i].min, ints[i].max);
        if (rc != CS_OK)
            return rc;
    }
    /* One row has no batch variance; PyTorch refuses it too. */
    if (p->norm == CS_NORM_BATCH && p->batch < 2)
        return cs_error_set(CS_EINVAL,
                            "key 'batch': norm = batch needs batch >= 2 (a batch variance), got %d",
                            p->batch);
    if (p->input == CS_INPUT_IMAGES && p->input_dim != 1024)
        return cs_error_set(CS_EINVAL,
                            "key 'input_dim': input = images makes 32 x 32 images, so input_dim "
                            "must be 1024, got %d",
                            p->input_dim);
    if (!(p->sigma_w >= 0))
        return cs_error_set(CS_EINVAL, "key 'sigma_w': expected a number >= 0, got %g", p->sigma_w);
    if (!(p->sigma_b >= 0))
        return cs_error_set(CS_EINVAL, "key 'sigma_b': expected a number >= 0, got %g", p->sigma_b);
    if (!(p->momentum >= 0 && p->momentum <= 1))
        return cs_error_set(CS_EINVAL, "key 'momentum': expected a number in [0, 1], got %g",
                            p->momentum);
    if (!(p->eps >= 0))
        return cs_error_set(CS_EINVAL, "key 'eps': expected a number >= 0, got %g", p->eps);
    if (!(p->dropout >= 0 && p->dropout < 1))
        return cs_error_set(CS_EINVAL, "key 'dropout': expected a number in [0, 1), got %g",
                            p->dropout);
    if (p->noise_probes > 0) {
        int rc = cs_params_check_int("noise_batches", p->noise_batches, 2, CS_MAX_NOISE);
        if (rc != CS_OK)
            return p->noise_batches < 2
                       ? cs_error_set(CS_EINVAL,
                                      "key 'noise_batches': noise_probes > 0 needs noise_batches "
                                      ">= 2 (a spread across batch compositions), got %d",
                                      p->noise_batches)
                       : rc;
        long long total = (long long)p->noise_probes * p->noise_batches;
        if (total > CS_MAX_NOISE_BATCHES_TOTAL)
            return cs_error_set(CS_EINVAL,
                                "keys 'noise_probes' and 'noise_batches': noise_probes x "
                                "noise_batches must be at most %lld (the bn_noise batches' "
                                "random streams are numbered from 2^31 to 2^32), got %d x %d = %lld",
                                CS_MAX_NOISE_BATCHES_TOTAL, p->noise_probes, p->noise_batches,
                                total);
    }
    if (!(p->mixture_sep >= 0))
        return cs_error_set(CS_EINVAL, "key 'mixture_sep': expected a number >= 0, got %g",
                            p->mixture_sep);
    if (p->population == 1)
        return cs_error_set(CS_EINVAL,
                            "key 'population': expected 0 (off) or an integer >= 2, got %d",
                            p->population);
    return CS_OK;
}

void cs_params_canonical(const cs_run_params *p, char *buf, size_t size)
{
    /* %.17g round-trips a double, so equal keys mean equal parameters. */
    snprintf(buf, size,
             "seed=%" PRIu64 ";depth=%d;width=%d;input_dim=%d;batch=%d;activation=%s;"
             "init=%s;sigma_w=%.17g;sigma_b=%.17g;norm=%s;bn_phase_b=%s;momentum=%.17g;"
             "eps=%.17g;input=%s;shift_mean=%.17g;shift_scale=%.17g;steps_a=%d;steps_b=%d;"
             "bins=%d",
             p->seed, p->depth, p->width, p->input_dim, p->batch,
             cs_activation_name(p->activation), cs_init_name(p->init), p->sigma_w, p->sigma_b,
             cs_norm_name(p->norm),
             p->norm == CS_NORM_NONE ? "-" : cs_bn_phase_name(p->bn_phase_b), p->momentum,
             p->eps, cs_input_name(p->input), p->shift_mean, p->shift_scale, p->steps_a,
             p->steps_b, p->bins);
    /* Issue 6 parameters only when they differ from the defaults (or, for
     * the mixture's, when input = mixture), so run_keys from before them
     * stay valid and an interrupted old sweep still resumes. */
    size_t used = strlen(buf);
    if (p->input == CS_INPUT_MIXTURE && used < size)
        used += (size_t)snprintf(buf + used, size - used, ";mixture_k=%d;mixture_sep=%.17g;shuffle=%d",
                                 p->mixture_k, p->mixture_sep, p->shuffle);
    if (p->dropout != 0 && used < size)
        used += (size_t)snprintf(buf + used, size - used, ";dropout=%.17g", p->dropout);
    if (p->grad && used < size)
        used += (size_t)snprintf(buf + used, size - used, ";grad=1");
    if (p->noise_probes > 0 && used < size)
        used += (size_t)snprintf(buf + used, size - used, ";noise_probes=%d;noise_batches=%d",
                                 p->noise_probes, p->noise_batches);
    if (p->population > 0 && p->norm == CS_NORM_BATCH && used < size)
        snprintf(buf + used, size - used, ";population=%d", p->population);
}

void cs_params_run_key(const cs_run_params *p, char key[17])
{
    char text[1024];
    cs_params_canonical(p, text, sizeof text);
    /* FNV-1a, 64 bit: stable across builds and machines. */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    snprintf(key, 17, "%016" PRIx64, h);
}
