/* Seeded PRNG: xoshiro256** with splitmix64 seeding, both public-domain
 * algorithms by Vigna et al., written here from their published definitions. */
#include "loupe/base/rng.h"

static uint64_t rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void lp_rng_seed(lp_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix(&x);
}

uint64_t lp_rng_next(lp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

float lp_rng_float(lp_rng *r)
{
    return (float)(lp_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

float lp_rng_signed(lp_rng *r)
{
    return lp_rng_float(r) * 2.0f - 1.0f;
}
