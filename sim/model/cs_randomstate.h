/* NumPy's legacy RandomState stream (np.random.seed(int), random_sample,
 * randn, randint) on GSL's mt19937, for the worksheet's own numbers:
 * docs/worksheet.md, docs/design.md §1 Randomness. */
#ifndef CS_RANDOMSTATE_H
#define CS_RANDOMSTATE_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

/* The largest seed np.random.seed accepts (it raises ValueError above). */
#define CS_RANDOMSTATE_SEED_MAX 4294967295u

/* An MT19937 with NumPy's legacy state beside it: the cached second normal
 * of the polar method (has_gauss, gauss), as RandomState keeps them. */
typedef struct {
    gsl_rng *mt;
    int has_gauss;
    double gauss;
} cs_randomstate;

/* A generator seeded as np.random.seed(seed): CS_OK with *out, CS_EINVAL
 * for a seed above CS_RANDOMSTATE_SEED_MAX (the range NumPy accepts, said
 * in the message), CS_ENOMEM. *out is NULL on error. Free with
 * cs_randomstate_free (NULL is a no-op). */
int cs_randomstate_alloc(cs_randomstate **out, uint64_t seed);
void cs_randomstate_free(cs_randomstate *rs);

/* np.random.random_sample(): a 53-bit double in [0, 1) from two 32-bit
 * outputs a, b: ((a >> 5) * 2^26 + (b >> 6)) / 2^53. */
double cs_randomstate_random_sample(cs_randomstate *rs);

/* np.random.randn() (legacy_gauss): the polar Box-Muller method, two
 * uniforms on (-1, 1)^2 inside the unit circle give two normals; the first
 * call returns f x2 and caches f x1 for the next. */
double cs_randomstate_gauss(cs_randomstate *rs);

/* np.random.randint(high) for 1 <= high <= 2^32, legacy (masked rejection):
 * rng = high - 1, mask = the smallest 2^k - 1 >= rng; draws 32-bit outputs
 * until (u & mask) <= rng. Returns a value in [0, high). */
uint64_t cs_randomstate_randint(cs_randomstate *rs, uint64_t high);

#endif
