/* Token sampling: greedy, temperature, top-k, top-p, min-p, repetition / presence /
 * frequency penalties over a recent window, logit bias and suppressed tokens, and a
 * mask hook for constrained decoding. Seeded: the same seed, logits and history give
 * the same token on every machine and thread count. */
#ifndef LOUPE_ENGINE_SAMPLER_H
#define LOUPE_ENGINE_SAMPLER_H

#include <stdint.h>

#include "loupe/base/err.h"

typedef struct sampler_params {
    float temp;              /* 0 = greedy (ties go to the lowest id) */
    uint32_t top_k;          /* 0 = off */
    float top_p;             /* 1 = off */
    float min_p;             /* 0 = off; keeps tokens with p >= min_p * p_max */
    float repeat_penalty;    /* 1 = off; divides positive logits, multiplies negative ones */
    float presence_penalty;  /* subtracted once from every token in the window */
    float frequency_penalty; /* subtracted per occurrence in the window */
    uint32_t penalty_last_n; /* window of recent tokens the penalties look at */
    uint64_t seed;
} sampler_params;

/* Defaults: greedy, no penalties, window 64, seed 0. */
void sampler_params_default(sampler_params *p);

typedef struct sampler sampler;

/* *out is owned by the caller (sampler_close). Parameters out of range are LP_ERR_USAGE. */
lp_err sampler_open(const sampler_params *p, uint32_t n_vocab, sampler **out, lp_error *err);
void sampler_close(sampler *s);
/* Adds bias to id's logit on every step; -INFINITY suppresses it (never sampled). */
lp_err sampler_bias(sampler *s, int32_t id, float bias, lp_error *err);
/* Records a token of the sequence (prompt or generated) for the penalties. */
void sampler_accept(sampler *s, int32_t id);

/* Optional mask for constrained decoding: allow[id] != 0 keeps id. Called once per step
 * after penalties and bias; NULL allows every token. */
typedef int (*sampler_mask_fn)(void *ctx, uint8_t *allow, uint32_t n_vocab);

/* Picks the next token from logits [n_vocab] (not modified). LP_ERR_INVALID if no token
 * is allowed (everything suppressed or masked out). */
lp_err sampler_sample(sampler *s, const float *logits, sampler_mask_fn mask, void *mask_ctx,
                      int32_t *out, lp_error *err);

#endif
