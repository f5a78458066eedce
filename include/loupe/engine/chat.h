/* Chat formats of Gemma 4 (`<|turn>role\n…<turn|>\n`, thinking on or off) and Gemma 3
 * (`<start_of_turn>…<end_of_turn>`), written in C with no template engine. Turn markers
 * are inserted by id; message text is always encoded with control-token parsing off,
 * so text inside a message can never open or close a turn. */
#ifndef LOUPE_ENGINE_CHAT_H
#define LOUPE_ENGINE_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/engine/tokenizer.h"

typedef enum chat_role { CHAT_SYSTEM = 0, CHAT_USER, CHAT_MODEL } chat_role;

typedef struct chat_msg {
    chat_role role;
    const char *text;
    size_t n;
} chat_msg;

#define CHAT_MAX_STOPS 4

/* Renders msgs and the generation prompt for the model's turn into token ids (BOS
 * first). think: Gemma 4 thinking on (a <|think|> system turn, no empty thought channel);
 * off, the prompt ends with the empty thought channel so the answer starts at once.
 * On success *ids is owned by the caller (lp_alloc_free). */
lp_err chat_render(const tokenizer *t, gemma_arch arch, const chat_msg *msgs, size_t n_msgs,
                   int think, int32_t **ids, size_t *n_ids, lp_error *err);
/* The ids that end the model's turn: <eos>, <turn|>, <|tool_response> (Gemma 4) or
 * <eos>, <end_of_turn> (Gemma 3); those the vocabulary lacks are left out. */
void chat_stop_ids(const tokenizer *t, gemma_arch arch, int32_t *ids, size_t *n);

#endif
