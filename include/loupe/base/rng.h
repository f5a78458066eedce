/* A small seeded pseudo-random generator (xoshiro256** seeded by splitmix64):
 * the same seed gives the same stream on every machine, which the model
 * generator, the sampler and the tests rely on. Not for cryptography. */
#ifndef LOUPE_BASE_RNG_H
#define LOUPE_BASE_RNG_H

#include <stdint.h>

typedef struct lp_rng {
    uint64_t s[4];
} lp_rng;

void lp_rng_seed(lp_rng *r, uint64_t seed);
uint64_t lp_rng_next(lp_rng *r);
/* Uniform in [0, 1) with 24 random bits, exactly representable in float. */
float lp_rng_float(lp_rng *r);
/* Uniform in [-1, 1). */
float lp_rng_signed(lp_rng *r);

#endif
