/* Audio path of Gemma 4's encoder-free model (spec §3.3): 16 kHz mono samples cut
 * into 640-sample frames (40 ms, one soft token each, the last zero-padded), each
 * frame scale-free RMS-normed and projected into text space. Clips longer than 30 s
 * are split into consecutive segments, each its own <|audio> block (mm.h). */
#ifndef LOUPE_ENGINE_EMBED_AUDIO_H
#define LOUPE_ENGINE_EMBED_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/matmul.h"
#include "loupe/engine/mmproj.h"

#define EMBED_AUDIO_RATE 16000u
#define EMBED_AUDIO_FRAME 640u /* samples per soft token */
/* A segment holds at most 750 tokens = 30 s (the processor's audio_seq_length). */
#define EMBED_AUDIO_SEGMENT_TOKENS 750u
#define EMBED_AUDIO_SEGMENT_SAMPLES (EMBED_AUDIO_SEGMENT_TOKENS * EMBED_AUDIO_FRAME)
/* Longest clip accepted: 4 hours, so every count below fits 32 bits with room. */
#define EMBED_AUDIO_MAX_SAMPLES ((size_t)EMBED_AUDIO_RATE * 3600u * 4u)

/* Soft tokens of a clip of n samples: ceil(n / 640). */
size_t embed_audio_tokens(size_t n_samples);
/* Segments of at most 30 s a clip of n samples is split into (0 for n = 0). */
size_t embed_audio_segments(size_t n_samples);
/* Sample range of segment i (< embed_audio_segments(n)): [*start, *start + *len). */
void embed_audio_segment(size_t n_samples, size_t i, size_t *start, size_t *len);

/* Soft tokens of n samples (one segment or any length: frames are independent):
 * out gets embed_audio_tokens(n) rows of p->n_embd floats. An empty clip, one over
 * EMBED_AUDIO_MAX_SAMPLES or a non-finite sample is refused. LP_ERR_UNSUPPORTED if p
 * has no audio part. */
lp_err embed_audio_project(const mmproj_model *p, matmul_ctx *mc, const float *samples, size_t n,
                           float *out, lp_error *err);

#endif
