/* IEEE half and bfloat16 conversions, bit-exact and identical on every ISA:
 * round to nearest even, NaN kept as NaN, overflow to infinity. The SIMD kernels
 * must agree with these on every input. */
#ifndef LOUPE_ENGINE_FP16_H
#define LOUPE_ENGINE_FP16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t fp16_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float fp16_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;

    if (exp == 0x1f)
        return fp16_bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* subnormal or zero: value = man * 2^-24, exact in f32 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return fp16_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t fp16_from_f32(float f)
{
    uint32_t u = fp16_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;

    if (a > 0x7f800000u) /* NaN: keep it quiet and non-zero */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* rounds to >= 65520: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) {
        /* result is subnormal in half: round a * 2^24 to an integer, ties to even */
        uint32_t shift, man, q, rem, half;
        if (a < 0x33000000u) /* below half of the smallest subnormal: zero */
            return (uint16_t)sign;
        shift = 126u - (a >> 23); /* 14..24 */
        man = (a & 0x7fffffu) | 0x800000u;
        q = man >> shift;
        rem = man & ((1u << shift) - 1u);
        half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    {
        uint32_t r = a + 0xfffu + ((a >> 13) & 1u); /* round to nearest even on bit 13 */
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
    }
}

static inline float fp16_bf16_to_f32(uint16_t b)
{
    return fp16_bits_f32((uint32_t)b << 16);
}

static inline uint16_t fp16_bf16_from_f32(float f)
{
    uint32_t u = fp16_f32_bits(f);

    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#endif
