/* Private to the generator: the built-in vocabulary as parallel arrays ready for
 * the tokenizer.ggml.* keys. Everything is owned by the gen_vocab and freed together. */
#ifndef LOUPE_ENGINE_GEN_VOCAB_H
#define LOUPE_ENGINE_GEN_VOCAB_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"

typedef struct gen_vocab {
    char **tokens;  /* n pieces */
    int32_t *types; /* GGUF token types: 1 normal, 3 control, 4 user-defined, 6 byte */
    float *scores;
    char **merges; /* n_merges "left right" strings, in rank order */
    uint32_t n, n_merges, cap;
    int spm; /* Gemma 3: scores carry the merge order */
} gen_vocab;

/* Gemma 3 gets its own turn markers and SentencePiece scores (merged pieces score
 * higher the earlier they were made); Gemma 4 gets merges and flat scores. */
lp_err gen_vocab_build(uint32_t n_vocab, gemma_arch arch, gen_vocab *v, lp_error *err);
/* Accepts a zeroed or partly built vocabulary. */
void gen_vocab_free(gen_vocab *v);

#endif
