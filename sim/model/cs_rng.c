/* Stream derivation for gsl_rng: docs/design.md §1 Randomness. */
#include "cs_rng.h"

#include "cs_error.h"

/* splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective mix with
 * good avalanche, so (seed, purpose, index) triples map to unrelated seeds. */
static uint64_t cs_rng_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int cs_rng_alloc(gsl_rng **out)
{
    if (!(*out = gsl_rng_alloc(gsl_rng_mt19937)))
        return cs_error_set(CS_ENOMEM, "cannot allocate a random number generator");
    return CS_OK;
}

void cs_rng_free(gsl_rng *r)
{
    if (r)
        gsl_rng_free(r);
}

void cs_rng_seed(gsl_rng *r, uint64_t seed, cs_stream purpose, uint64_t index)
{
    uint64_t s = cs_rng_mix(cs_rng_mix(cs_rng_mix(seed) ^ (uint64_t)purpose) ^ index);
    /* mt19937 keeps 32 bits of the seed; fold the high half in. 0 would be
     * replaced by GSL's default seed, so avoid it. */
    unsigned long s32 = (unsigned long)((s ^ (s >> 32)) & 0xffffffffULL);
    gsl_rng_set(r, s32 ? s32 : 1UL);
}

const char *cs_rng_description(void)
{
    return "gsl_rng_mt19937; stream seed = splitmix64 mix of (run seed, purpose, index), "
           "folded to 32 bits";
}
