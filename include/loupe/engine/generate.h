/* Text generation: prefill a prompt in batches, then sample and decode one token at a
 * time until a stop token, a stop string or the token budget, streaming the UTF-8 text
 * out as it completes. The loop the CLI's `run` and the local backend share. */
#ifndef LOUPE_ENGINE_GENERATE_H
#define LOUPE_ENGINE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/mm.h"
#include "loupe/engine/sampler.h"
#include "loupe/engine/tokenizer.h"

#define GENERATE_MAX_STOPS 16
#define GENERATE_STOP_MAX 256 /* bytes of one stop string */

typedef struct generate_opts {
    uint32_t max_tokens;
    const int32_t *stop_ids; /* tokens that end generation (not emitted) */
    size_t n_stop_ids;
    const char *const *stop_strs; /* texts that end generation (not emitted) */
    size_t n_stop_strs;
    /* receives text as it completes; a non-zero return cancels (LP_OK, stats.cancelled) */
    int (*on_text)(void *ctx, const char *s, size_t n);
    void *ctx;
    /* called after each prefill batch with tokens done and total (may be NULL) */
    void (*on_prefill)(void *ctx, size_t done, size_t total);
    /* Constrained decoding (may be NULL): mask restricts each step's tokens; on_token
     * advances the constraint with the chosen token and sets *complete when the value is
     * finished, which ends generation (stats.completed). Stop tokens are not offered to
     * on_token; a constraint must allow one only where the value may end. */
    sampler_mask_fn mask;
    lp_err (*on_token)(void *mask_ctx, int32_t id, int *complete, lp_error *err);
    void *mask_ctx;
    /* generate_run_mm only: the first seq_from tokens of the sequence are already in the state
     * (a reused prefix, see gemma_state_rewind); prefill starts after them */
    size_t seq_from;
} generate_opts;

typedef struct generate_stats {
    size_t n_prompt, n_gen;
    double prefill_s, decode_s;
    int stopped_by_token, stopped_by_string, cancelled, hit_max, completed;
} generate_stats;

/* Runs prompt (appended at the state's position) and generates. s must have room for
 * prompt + max_tokens, else LP_ERR_LIMIT before any work. */
lp_err generate_run(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const tokenizer *t,
                    sampler *smp, const int32_t *prompt, size_t n_prompt, const generate_opts *o,
                    generate_stats *stats, lp_error *err);

/* generate_run over an assembled multimodal sequence (mm.h): seq is prefilled from the
 * state's position with every image / frame block whole in one batch (the state's
 * batch must be >= mm_seq_max_block(seq), else LP_ERR_LIMIT before any work is lost),
 * then generation runs exactly as generate_run, with the same options. Also biases
 * <image|> and <audio|> to -inf on smp (spec §3.5: never sampled). stats->n_prompt
 * counts soft tokens too. */
lp_err generate_run_mm(const gemma_model *m, gemma_state *s, matmul_ctx *mc, const tokenizer *t,
                       sampler *smp, const mm_seq *seq, const generate_opts *o,
                       generate_stats *stats, lp_error *err);

#endif
