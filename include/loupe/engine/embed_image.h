/* Image path of Gemma 4's encoder-free vision (spec §3.1-3.2, §3.7): the HF sizing
 * rule to a soft-token budget, a resize that reproduces Pillow's BICUBIC bit for bit,
 * the cut into 48x48 model patches with their positions, and the projector's
 * embedder that turns patches into soft tokens in text space. Functions on
 * caller-owned buffers; nothing here reads files. */
#ifndef LOUPE_ENGINE_EMBED_IMAGE_H
#define LOUPE_ENGINE_EMBED_IMAGE_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/engine/matmul.h"
#include "loupe/engine/mmproj.h"

/* Side of one model patch in pixels, and floats per patch (48 * 48 * 3, HWC). */
#define EMBED_PATCH_SIDE 48u
#define EMBED_PATCH_VALUES (EMBED_PATCH_SIDE * EMBED_PATCH_SIDE * 3u)
/* Input caps: a side above 2^15 or more than 2^27 pixels (384 MiB of RGB8) is refused.
 * Sized outputs can be longer than an input may be (1x4000 at 1120 tokens gives
 * 48x53760), so resize outputs and patchify inputs get their own side cap. */
#define EMBED_IMAGE_MAX_SIDE 32768u
#define EMBED_IMAGE_MAX_OUT_SIDE 65536u
#define EMBED_IMAGE_MAX_PIXELS (1u << 27)

/* Output size for a w x h image under max_soft_tokens (70, 140, 280, 560 or 1120):
 * the HF rule of spec §3.1, both sides multiples of 48 and at most max_soft_tokens
 * patches. Other budgets are LP_ERR_USAGE; zero or oversized inputs LP_ERR_LIMIT
 * (zero: LP_ERR_INVALID). */
lp_err embed_image_size(uint32_t w, uint32_t h, uint32_t max_soft_tokens, uint32_t *out_w,
                        uint32_t *out_h, lp_error *err);

/* Resizes interleaved RGB8 src (w x h, sides <= EMBED_IMAGE_MAX_SIDE) into dst
 * (ow x oh, sides <= EMBED_IMAGE_MAX_OUT_SIDE) exactly as Pillow's
 * Image.resize(..., BICUBIC) does: horizontal pass, then vertical, each only when
 * that axis changes, through an 8-bit intermediate. Same size is a copy. */
lp_err embed_resize_rgb8(const uint8_t *src, uint32_t w, uint32_t h, uint8_t *dst, uint32_t ow,
                         uint32_t oh, lp_error *err);

/* Cuts RGB8 rgb (w x h, both multiples of 48) into model patches in row-major
 * patch order: patch p = row * (w/48) + col holds (v/255 - mean[c]) / std[c] for
 * its 48x48 block, HWC, and pos[2p] = col, pos[2p+1] = row.
 * *n is in/out: on entry the capacity of patches/pos in patches, on return the
 * count. With patches and pos both NULL only the count is returned. */
lp_err embed_patchify(const uint8_t *rgb, uint32_t w, uint32_t h, const float mean[3],
                      const float std[3], float *patches, int32_t *pos, uint32_t *n, lp_error *err);

/* Soft tokens of n model patches (spec §3.2): each HWC patch (as embed_patchify gives
 * it) is permuted to the projector's CHW order, then LayerNorm -> dense -> LayerNorm
 * -> + x/y position rows -> LayerNorm -> scale-free RMSNorm -> projection. pos holds
 * (col, row) pairs; one at or past the position table's length is LP_ERR_LIMIT.
 * out gets n rows of p->n_embd floats. Patches are independent: any chunking gives
 * the same bits. LP_ERR_UNSUPPORTED if p has no vision part. */
lp_err embed_image_project(const mmproj_model *p, matmul_ctx *mc, const float *patches,
                           const int32_t *pos, uint32_t n, float *out, lp_error *err);

/* The whole path for one RGB8 image: embed_image_size to max_soft_tokens, resize,
 * patchify with the projector's mean/std, project. On success *out ([*n_tok x n_embd])
 * is the caller's (lp_alloc_free). */
lp_err embed_image_rgb8(const mmproj_model *p, matmul_ctx *mc, const uint8_t *rgb, uint32_t w,
                        uint32_t h, uint32_t max_soft_tokens, float **out, uint32_t *n_tok,
                        lp_error *err);

#endif
