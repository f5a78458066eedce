/* Private to the generator: the built-in vocabulary, built as a tokenizer_vocab so the
 * tokenizer module's one writer puts it into the file (tokenizer_write_gguf). */
#ifndef LOUPE_ENGINE_GEN_VOCAB_H
#define LOUPE_ENGINE_GEN_VOCAB_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/engine/tokenizer.h"

/* Fills v with n_vocab pieces (free with tokenizer_vocab_free). Gemma 3 gets its own
 * turn markers, model "llama" and SentencePiece scores (merged pieces score higher the
 * earlier they were made); Gemma 4 gets model "gemma4", merges and flat scores. */
lp_err gen_vocab_build(uint32_t n_vocab, gemma_arch arch, tokenizer_vocab *v, lp_error *err);

#endif
