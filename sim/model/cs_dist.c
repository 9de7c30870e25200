/* Input distributions and shifts: docs/design.md §1 Distributions. */
#include "cs_dist.h"

#include <gsl/gsl_randist.h>
#include <math.h>

#include "cs_alloc.h"
#include "cs_error.h"
#include "cs_rng.h"

void cs_dist_images(double *x, size_t count, gsl_rng *r)
{
    for (size_t i = 0; i < count; i++) {
        double *img = x + i * CS_IMAGE_PIXELS;
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = gsl_ran_gaussian_ziggurat(r, 1.0);
        /* np.random.randint(5) and randint(60): integers in [0, 5), [0, 60) */
        double k = (double)gsl_rng_uniform_int(r, 5);
        double c = (double)gsl_rng_uniform_int(r, 60);
        for (size_t p = 0; p < CS_IMAGE_PIXELS; p++)
            img[p] = img[p] * k + c;
    }
}

int cs_dist_sample(cs_input_kind kind, double *x, size_t m, size_t dim, gsl_rng *r)
{
    size_t count = m * dim;
    switch (kind) {
    case CS_INPUT_GAUSSIAN:
        for (size_t i = 0; i < count; i++)
            x[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
        return CS_OK;
    case CS_INPUT_UNIFORM: {
        /* U(-a, a) has variance a^2 / 3; a = sqrt 3 gives variance 1. */
        const double a = sqrt(3.0);
        for (size_t i = 0; i < count; i++)
            x[i] = gsl_ran_flat(r, -a, a);
        return CS_OK;
    }
    case CS_INPUT_IMAGES:
        if (dim != CS_IMAGE_PIXELS)
            return cs_error_set(CS_EINVAL, "input = images needs input_dim %d, got %zu",
                                CS_IMAGE_PIXELS, dim);
        cs_dist_images(x, m, r);
        return CS_OK;
    case CS_INPUT_MIXTURE:
        return cs_error_set(CS_EINVAL, "input = mixture needs its component means: use "
                                       "cs_source_batch");
    case CS_INPUT_CORRELATED:
        return cs_error_set(CS_EINVAL, "input = correlated needs c0: use cs_source_batch");
    }
    return cs_error_set(CS_EINVAL, "unknown input distribution %d", (int)kind);
}

void cs_shift_apply(const cs_shift *s, double *x, size_t count)
{
    switch (s->kind) {
    case CS_SHIFT_AFFINE:
        for (size_t i = 0; i < count; i++)
            x[i] = s->scale * x[i] + s->mean;
        break;
    }
}

/* ---- the run's input source (the mixture, unshuffled batches) ---- */

struct cs_source {
    cs_run_params params;
    double *means; /* (mixture_k, input_dim) for input = mixture, else NULL */
};

/* The source's arrays (one listing for cs_source_alloc and _plan). */
static void cs_source_arrays(cs_source *s, const cs_run_params *p, cs_alloc_plan *plan)
{
    if (p->input == CS_INPUT_MIXTURE)
        CS_ALLOC_TAKE(plan, s->means, "the mixture's component means", "mixture_k or input_dim",
                      p->mixture_k, p->input_dim);
}

void cs_source_plan(const cs_run_params *p, cs_alloc_plan *plan)
{
    cs_source s;
    cs_alloc_plan count = CS_ALLOC_PLAN_INIT(1);
    cs_source_arrays(&s, p, &count);
    cs_alloc_plan_add(plan, &count);
}

int cs_source_alloc(cs_source **out, const cs_run_params *p)
{
    *out = NULL;
    gsl_rng *r = NULL;
    cs_source *s = cs_calloc(1, sizeof *s);
    if (!s)
        return cs_error_code();
    s->params = *p;
    cs_alloc_plan plan = CS_ALLOC_PLAN_INIT(0);
    cs_source_arrays(s, p, &plan);
    int rc = plan.rc;
    if (rc != CS_OK)
        goto fail;
    if (p->input == CS_INPUT_MIXTURE) {
        size_t k = (size_t)p->mixture_k, d = (size_t)p->input_dim;
        if ((rc = cs_rng_alloc(&r)) != CS_OK)
            goto fail;
        for (size_t c = 0; c < k; c++) {
            cs_rng_seed(r, p->seed, CS_STREAM_MIXTURE, (uint64_t)c);
            for (size_t j = 0; j < d; j++)
                s->means[c * d + j] = gsl_ran_gaussian_ziggurat(r, p->mixture_sep);
        }
        cs_rng_free(r);
    }
    *out = s;
    return CS_OK;
fail:
    cs_rng_free(r);
    cs_source_free(s);
    return rc;
}

void cs_source_free(cs_source *s)
{
    if (!s)
        return;
    cs_free(s->means);
    cs_free(s);
}

/* Rows of the mixture: per row (shuffled) or per call (one component),
 * the component index first, then the row's N(0, I) draws plus its mean. */
static void cs_source_mixture(const cs_source *s, double *x, size_t m, int shuffled,
                              gsl_rng *r)
{
    size_t k = (size_t)s->params.mixture_k, d = (size_t)s->params.input_dim;
    size_t c = shuffled ? 0 : (size_t)gsl_rng_uniform_int(r, (unsigned long)k);
    for (size_t i = 0; i < m; i++) {
        if (shuffled)
            c = (size_t)gsl_rng_uniform_int(r, (unsigned long)k);
        const double *mu = s->means + c * d;
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = mu[j] + gsl_ran_gaussian_ziggurat(r, 1.0);
    }
}

/* m rows x_i = sqrt(c0) g + sqrt(1 - c0) z_i with g, z_i ~ N(0, I): each
 * feature N(0, 1), and any two rows correlated c0 (docs/design.md §1
 * Distributions). g is drawn first into row 0, which is made last, so
 * no buffer is needed. */
static void cs_source_correlated(double *x, size_t m, size_t d, double c0, gsl_rng *r)
{
    double a = sqrt(c0), b = sqrt(1.0 - c0);
    for (size_t j = 0; j < d; j++)
        x[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t i = 1; i < m; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = a * x[j] + b * gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t j = 0; j < d; j++)
        x[j] = a * x[j] + b * gsl_ran_gaussian_ziggurat(r, 1.0);
}

int cs_source_draw_a(const cs_source *s, double *x, size_t m, gsl_rng *r)
{
    if (s->params.input == CS_INPUT_CORRELATED) {
        cs_source_correlated(x, m, (size_t)s->params.input_dim, s->params.c0, r);
        return CS_OK;
    }
    if (s->params.input == CS_INPUT_MIXTURE) {
        cs_source_mixture(s, x, m, 1, r);
        return CS_OK;
    }
    return cs_dist_sample(s->params.input, x, m, (size_t)s->params.input_dim, r);
}

int cs_source_draw(const cs_source *s, double *x, size_t m, int one_component, gsl_rng *r)
{
    if (s->params.input == CS_INPUT_MIXTURE) {
        cs_source_mixture(s, x, m, !one_component, r);
        return CS_OK;
    }
    return cs_dist_sample(s->params.input, x, m, (size_t)s->params.input_dim, r);
}

int cs_source_batch(const cs_source *s, int step, double *x, gsl_rng *r)
{
    const cs_run_params *p = &s->params;
    size_t m = (size_t)p->batch, d = (size_t)p->input_dim;
    cs_rng_seed(r, p->seed, CS_STREAM_INPUT, (uint64_t)step);
    int rc = CS_OK;
    if (p->input == CS_INPUT_MIXTURE)
        cs_source_mixture(s, x, m, p->shuffle, r);
    else if (p->input == CS_INPUT_CORRELATED)
        cs_source_correlated(x, m, d, p->c0, r);
    else
        rc = cs_dist_sample(p->input, x, m, d, r);
    if (rc == CS_OK && step >= p->steps_a) {
        cs_shift shift = {CS_SHIFT_AFFINE, p->shift_scale, p->shift_mean};
        cs_shift_apply(&shift, x, m * d);
    }
    return rc;
}

void cs_source_population(const cs_source *s, double *mean, double *var)
{
    const cs_run_params *p = &s->params;
    size_t d = (size_t)p->input_dim;
    for (size_t j = 0; j < d; j++) {
        switch (p->input) {
        case CS_INPUT_IMAGES:
            /* k uniform on {0..4}: E k^2 = 6; c uniform on {0..59}: Var c = (60^2 - 1) / 12 */
            mean[j] = 29.5;
            var[j] = 6.0 + 3599.0 / 12.0;
            break;
        case CS_INPUT_MIXTURE: {
            size_t k = (size_t)p->mixture_k;
            double mu = 0, between = 0;
            for (size_t c = 0; c < k; c++)
                mu += s->means[c * d + j];
            mu /= (double)k;
            for (size_t c = 0; c < k; c++) {
                double dev = s->means[c * d + j] - mu;
                between += dev * dev;
            }
            mean[j] = mu;
            var[j] = 1.0 + between / (double)k;
            break;
        }
        default:
            mean[j] = 0.0;
            var[j] = 1.0;
            break;
        }
    }
}
