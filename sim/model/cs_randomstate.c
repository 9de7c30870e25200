/* NumPy's legacy RandomState stream on GSL's mt19937 (cs_randomstate.h).
 * The algorithms are NumPy's numpy/random/src/legacy/legacy-distributions.c
 * (legacy_gauss), distributions.c (random_bounded_uint64_fill, masked) and
 * mt19937.c (mt19937_seed, the reference init_genrand), restated here. */
#include "cs_randomstate.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "cs_alloc.h"
#include "cs_error.h"

/* GSL's mt19937 state (gsl/rng/mt.c): 624 words and the read position.
 * GSL's gsl_rng_set maps seed 0 to 4357, where NumPy's init_genrand keeps
 * 0, so that one seed is written into the state directly; the layout is
 * checked against gsl_rng_size before it is used. */
#define CS_MT_N 624
typedef struct {
    unsigned long mt[CS_MT_N];
    int mti;
} cs_mt_state;

/* init_genrand(s) (Matsumoto & Nishimura's reference, NumPy's
 * mt19937_seed): mt[0] = s, mt[i] = 1812433253 (mt[i-1] ^ (mt[i-1] >> 30)) + i
 * mod 2^32, read position at the end so the first draw regenerates. */
static int cs_randomstate_seed_zero(gsl_rng *r)
{
    if (gsl_rng_size(r) != sizeof(cs_mt_state))
        return cs_error_set(CS_EINVAL, "seed 0: GSL's mt19937 state is %zu bytes, expected %zu "
                                       "(its layout changed; use another seed)",
                            gsl_rng_size(r), sizeof(cs_mt_state));
    cs_mt_state *st = gsl_rng_state(r);
    unsigned long s = 0;
    for (int i = 0; i < CS_MT_N; i++) {
        st->mt[i] = s;
        s = (1812433253UL * (s ^ (s >> 30)) + (unsigned long)i + 1) & 0xffffffffUL;
    }
    st->mti = CS_MT_N;
    return CS_OK;
}

int cs_randomstate_alloc(cs_randomstate **out, uint64_t seed)
{
    *out = NULL;
    if (seed > CS_RANDOMSTATE_SEED_MAX)
        return cs_error_set(CS_EINVAL,
                            "numpy seed %llu is out of range: np.random.seed takes 0 .. 2^32 - 1",
                            (unsigned long long)seed);
    cs_randomstate *rs = cs_calloc(1, sizeof *rs);
    if (!rs)
        return CS_ENOMEM;
    rs->mt = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rs->mt) {
        cs_free(rs);
        return cs_error_set(CS_ENOMEM, "cannot allocate an mt19937 generator");
    }
    int rc = CS_OK;
    if (seed == 0)
        rc = cs_randomstate_seed_zero(rs->mt);
    else
        gsl_rng_set(rs->mt, (unsigned long)seed); /* init_genrand, as NumPy's */
    if (rc != CS_OK) {
        cs_randomstate_free(rs);
        return rc;
    }
    *out = rs;
    return CS_OK;
}

void cs_randomstate_free(cs_randomstate *rs)
{
    if (!rs)
        return;
    gsl_rng_free(rs->mt);
    cs_free(rs);
}

double cs_randomstate_random_sample(cs_randomstate *rs)
{
    /* gsl_rng_get of mt19937 is genrand_int32, NumPy's next_uint32. */
    uint32_t a = (uint32_t)(gsl_rng_get(rs->mt) >> 5);
    uint32_t b = (uint32_t)(gsl_rng_get(rs->mt) >> 6);
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

double cs_randomstate_gauss(cs_randomstate *rs)
{
    if (rs->has_gauss) {
        rs->has_gauss = 0;
        return rs->gauss;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * cs_randomstate_random_sample(rs) - 1.0;
        x2 = 2.0 * cs_randomstate_random_sample(rs) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    /* Polar method: f = sqrt(-2 ln r2 / r2); x1 f and x2 f are independent N(0, 1). */
    double f = sqrt(-2.0 * log(r2) / r2);
    rs->gauss = f * x1;
    rs->has_gauss = 1;
    return f * x2;
}

uint64_t cs_randomstate_randint(cs_randomstate *rs, uint64_t high)
{
    assert(high >= 1 && high <= 4294967296ull);
    uint64_t rng = high - 1;
    if (rng == 0)
        return 0; /* NumPy draws nothing for a one-value range */
    if (rng == 0xffffffffull)
        return (uint64_t)gsl_rng_get(rs->mt);
    /* gen_mask: rng with every bit below its highest set. */
    uint32_t mask = (uint32_t)rng;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t v;
    while ((v = (uint32_t)gsl_rng_get(rs->mt) & mask) > (uint32_t)rng)
        ;
    return v;
}
