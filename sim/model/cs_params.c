/* A run's whole parameter set: defaults, validation, the canonical text
 * and the run_key (docs/design.md §1, §3 runs), each a loop over the
 * parameter table (cs_param.c) plus the rules that tie parameters
 * together. */
#include "cs_params.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cs_error.h"
#include "cs_param.h"

void cs_params_default(cs_run_params *p)
{
    memset(p, 0, sizeof *p); /* padding too: runs are compared whole */
    for (size_t k = 0; k < cs_param_count; k++)
        cs_param_set(&cs_param_table[k], p, cs_param_table[k].def);
}

/* The rules between the keys of a training run (docs/design.md §7). */
static int cs_params_validate_train(const cs_run_params *p)
{
    if (p->grad || p->noise_probes > 0 || p->population > 0)
        return cs_error_set(CS_EINVAL,
                            "keys 'train', 'grad', 'noise_probes', 'population': a training run "
                            "measures its own gradients and statistics (the train_* tables); "
                            "grad, noise_probes and population belong to the random-network "
                            "runs (train = false)");
    /* The training schedule normalises with batch norm or not at all: a
     * layer or RMS norm would be trained as if absent, so it is refused. */
    if (p->norm != CS_NORM_NONE && p->norm != CS_NORM_BATCH)
        return cs_error_set(CS_EINVAL,
                            "keys 'train' and 'norm': a training run takes norm = none or "
                            "batch, got norm = %s",
                            p->norm == CS_NORM_LAYER ? "layer" : "rms");
    if (p->task == CS_TASK_FASHION_MNIST && p->input_dim != CS_FMNIST_PIXELS)
        return cs_error_set(CS_EINVAL,
                            "key 'input_dim': task = fashion_mnist has 28 x 28 images, so "
                            "input_dim must be %d, got %d",
                            CS_FMNIST_PIXELS, p->input_dim);
    if (p->task == CS_TASK_FASHION_MNIST && p->eval_size > CS_FMNIST_TEST)
        return cs_error_set(CS_EINVAL,
                            "key 'eval_size': Fashion-MNIST has %d test images, got eval_size %d",
                            CS_FMNIST_TEST, p->eval_size);
    if (p->eval_size < p->batch)
        return cs_error_set(CS_EINVAL,
                            "keys 'eval_size' and 'batch': the held-out examples are evaluated "
                            "in whole batches, so eval_size must be >= batch, got %d < %d",
                            p->eval_size, p->batch);
    if (p->task == CS_TASK_FASHION_MNIST && p->train_size < p->batch)
        return cs_error_set(CS_EINVAL,
                            "keys 'train_size' and 'batch': an epoch needs one whole batch, so "
                            "train_size must be >= batch, got %d < %d",
                            p->train_size, p->batch);
    if (p->task == CS_TASK_TEACHER && p->criterion == CS_LOSS_CROSS_ENTROPY && p->outputs < 2)
        return cs_error_set(CS_EINVAL,
                            "keys 'outputs' and 'criterion': cross_entropy needs outputs >= 2 "
                            "classes, got %d",
                            p->outputs);
    if (p->task == CS_TASK_TEACHER && p->batch_order == CS_ORDER_ORDERED &&
        p->input != CS_INPUT_MIXTURE)
        return cs_error_set(CS_EINVAL,
                            "keys 'batch_order' and 'input': batch_order = ordered with the "
                            "teacher draws each batch from one mixture component, so it needs "
                            "input = mixture");
    if (p->probe_layer > p->depth)
        return cs_error_set(CS_EINVAL,
                            "keys 'probe_layer' and 'depth': probe_layer must be 0 (every "
                            "layer) or a layer 1..%d, got %d",
                            p->depth, p->probe_layer);
    return CS_OK;
}

int cs_params_validate(const cs_run_params *p)
{
    /* Every value within its bounds, as an experiment file must give it,
     * whether or not it has meaning for the run. */
    for (size_t k = 0; k < cs_param_count; k++) {
        int rc = cs_param_check(&cs_param_table[k], cs_param_get(&cs_param_table[k], p));
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
    if (p->noise_probes > 0) {
        long long total = (long long)p->noise_probes * p->noise_batches;
        if (total > CS_MAX_NOISE_BATCHES_TOTAL)
            return cs_error_set(CS_EINVAL,
                                "keys 'noise_probes' and 'noise_batches': noise_probes x "
                                "noise_batches must be at most %lld (the bn_noise batches' "
                                "random streams are numbered from 2^31 to 2^32), got %d x %d = %lld",
                                CS_MAX_NOISE_BATCHES_TOTAL, p->noise_probes, p->noise_batches,
                                total);
    }
    /* A population of one example has no variance. */
    if (p->population == 1)
        return cs_error_set(CS_EINVAL,
                            "key 'population': expected 0 (off) or an integer >= 2, got %d",
                            p->population);
    if (p->train)
        return cs_params_validate_train(p);
    return CS_OK;
}

void cs_params_canonical(const cs_run_params *p, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < cs_param_count && used < size; k++) {
        const cs_param *param = &cs_param_table[k];
        cs_param_value v = cs_param_get(param, p);
        int applies = cs_param_applies(param, p);
        char text[64];
        if (!cs_param_in_canonical(param, p))
            continue;
        if (param->canon == CS_CANON_ALWAYS && !applies)
            snprintf(text, sizeof text, "-"); /* docs/design.md §1: no meaning */
        else
            cs_param_format(param, v, CS_FORMAT_CANONICAL, text, sizeof text);
        used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", used ? ";" : "",
                                 param->name, text);
    }
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
