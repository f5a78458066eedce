/* Multimodal sequences for Gemma 4 12B "unified" (spec §3.4-3.6, §4.3): text, images,
 * audio and video turned into one run of token ids and soft-token embeddings, with the
 * bidirectional blocks the forward pass needs, and a chat renderer for turns made of
 * mixed parts. What the local backend and `run --image/--audio/--video` call.
 *
 * Typical use (errors elided):
 *     mm_seq seq;
 *     mm_part parts[2] = {
 *         {.kind = MM_PART_IMAGE, .rgb = px, .w = w, .h = h},
 *         {.kind = MM_PART_TEXT, .text = prompt, .n_text = strlen(prompt)},
 *     };
 *     mm_msg msg = {.role = CHAT_USER, .parts = parts, .n_parts = 2};
 *     mm_opts mo;
 *     mm_opts_default(&mo);                     // 280 image tokens, 70 per frame, think off
 *     mm_seq_init(&seq, model->cfg.n_embd);
 *     mm_render_chat(tok, model->cfg.arch, proj, &mc, &msg, 1, &mo, &seq, &err);
 *     generate_run_mm(model, state, &mc, tok, smp, &seq, &gen_opts, &stats, &err);
 *     mm_seq_free(&seq);
 * The state's batch must hold the largest block (an image's soft tokens, 280 by
 * default); mm_seq_max_block says how large that is. */
#ifndef LOUPE_ENGINE_MM_H
#define LOUPE_ENGINE_MM_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/matmul.h"
#include "loupe/engine/mmproj.h"
#include "loupe/engine/tokenizer.h"

/* Most tokens and soft rows one sequence may hold. */
#define MM_SEQ_MAX_TOKENS (1u << 22)

/* An assembled sequence. ids[i] is a token id, or GEMMA_TOKEN_SOFT where the next row
 * of embd goes (a soft token: not scaled by sqrt(n_embd), one RoPE position). block[i]
 * is non-zero on the soft tokens of an image or a video frame (one id per block, so
 * adjacent blocks stay apart); audio and text are 0 (causal). Owned by whoever called
 * mm_seq_init; free with mm_seq_free. */
typedef struct mm_seq {
    int32_t *ids;
    uint32_t *block;
    size_t n, cap;
    float *embd; /* [n_soft x n_embd] */
    size_t n_soft, soft_cap;
    uint32_t n_embd;
    uint32_t n_blocks; /* block ids handed out so far */
} mm_seq;

void mm_seq_init(mm_seq *s, uint32_t n_embd);
void mm_seq_free(mm_seq *s);
/* Length of the longest bidirectional block: the smallest batch that can prefill s. */
size_t mm_seq_max_block(const mm_seq *s);

/* Appenders. Each leaves s unchanged on failure. */
lp_err mm_seq_push_ids(mm_seq *s, const int32_t *ids, size_t n, lp_error *err);
/* Text encoded with control-token parsing off, so it can never open or close a turn. */
lp_err mm_seq_push_text(mm_seq *s, const tokenizer *t, const char *text, size_t n, lp_error *err);
/* n ready soft rows (n_embd floats each); bidirectional: one new block, else causal. */
lp_err mm_seq_push_soft(mm_seq *s, const float *rows, size_t n, int bidirectional, lp_error *err);
/* <|image> + N soft tokens + <image|> (spec §3.5); N from embed_image_size(max_tokens). */
lp_err mm_seq_push_image(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t max_tokens,
                         lp_error *err);
/* One video frame's block: as an image, with <|video|> placeholders (the timestamp
 * text is the caller's; mm_seq_push_video writes it). */
lp_err mm_seq_push_frame(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t max_tokens,
                         lp_error *err);
/* <|audio> + M soft tokens + <audio|> per 30 s segment, segments back to back (§3.3). */
lp_err mm_seq_push_audio(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const float *samples, size_t n, lp_error *err);

/* A decoded video frame and its time in seconds from the start. */
typedef struct mm_frame {
    const uint8_t *rgb; /* interleaved RGB8, w x h */
    uint32_t w, h;
    double t_s;
} mm_frame;

/* Frames (time order, t_s non-decreasing) and the sound track (16 kHz mono, may be
 * NULL). Rendered (spec §3.4) as frame blocks "mm:ss <|image>K x soft<image|>" joined by
 * one space; the sound is cut at the frame times (rounded to whole 40 ms frames): the
 * part from frame i's time to frame i+1's follows frame i's block as audio blocks (the
 * first part starts at 0 s), so sound and pictures interleave in time order. */
lp_err mm_seq_push_video(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const mm_frame *frames, size_t n_frames, const float *samples,
                         size_t n_samples, uint32_t frame_tokens, lp_error *err);

/* The "mm:ss" text of a frame time (floor of seconds; minutes may exceed 99). */
void mm_timestamp(double t_s, char *buf, size_t n);

/* ---- chat ---------------------------------------------------------------------------- */

typedef enum mm_part_kind {
    MM_PART_TEXT = 0,
    MM_PART_IMAGE,
    MM_PART_AUDIO,
    MM_PART_VIDEO
} mm_part_kind;

/* One part of a message; only the fields of its kind are read. */
typedef struct mm_part {
    mm_part_kind kind;
    const char *text; /* TEXT: outside text, trimmed, control-token parsing off */
    size_t n_text;
    const uint8_t *rgb; /* IMAGE: interleaved RGB8 */
    uint32_t w, h;
    const float *samples; /* AUDIO: 16 kHz mono; VIDEO: its sound track (may be NULL) */
    size_t n_samples;
    const mm_frame *frames; /* VIDEO */
    size_t n_frames;
} mm_part;

typedef struct mm_msg {
    chat_role role;
    const mm_part *parts;
    size_t n_parts;
} mm_msg;

typedef struct mm_opts {
    uint32_t image_tokens; /* 70, 140, 280, 560 or 1120 */
    uint32_t frame_tokens; /* per video frame: 70 */
    int think;             /* thinking on: a <|think|> system turn, no empty thought channel */
} mm_opts;

void mm_opts_default(mm_opts *o);

/* Appends to out (initialised by the caller, normally empty) the Gemma 4 chat of msgs
 * plus the model-turn prompt, exactly as chat_render for text-only messages: <bos>,
 * an optional system turn (text parts only), then each turn `<|turn>ROLE\n` + parts in
 * the order given + `<turn|>\n`, then `<|turn>model\n` and, thinking off, the empty
 * thought channel. Text parts are trimmed; media parts become blocks. Put media before
 * the text of a user turn (design.md §6). p and mc may be NULL when no part is media.
 * Gemma 3 takes text-only messages (rendered by chat_render). */
lp_err mm_render_chat(const tokenizer *t, gemma_arch arch, const mmproj_model *p, matmul_ctx *mc,
                      const mm_msg *msgs, size_t n_msgs, const mm_opts *o, mm_seq *out,
                      lp_error *err);

/* Runs s->ids[from, s->n) at the state's next positions in batches of at most the
 * state's batch, cut only between blocks (a block is always prefilled whole; one
 * larger than the batch is LP_ERR_LIMIT, naming the size needed). from must be where a
 * block does not continue, and the soft rows before it are skipped. logits: NULL, the
 * last position's [n_vocab], or every position's [(n - from) x n_vocab] with
 * all_logits. on_batch (may be NULL) gets tokens done and total after each batch. */
lp_err mm_prefill(const gemma_model *m, gemma_state *st, matmul_ctx *mc, const mm_seq *s,
                  size_t from, float *logits, int all_logits,
                  void (*on_batch)(void *ctx, size_t done, size_t total), void *ctx, lp_error *err);

#endif
