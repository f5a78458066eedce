/* Multimodal sequence assembly: block markers are ordinary text tokens (scaled like
 * any other), placeholders become GEMMA_TOKEN_SOFT slots whose rows come from the
 * embedders, and every image or frame gets its own block id so the forward pass can
 * open the sliding-layer mask inside it. The chat renderer follows chat.c's Gemma 4
 * shape so a text-only conversation gives the same ids. */
#include "loupe/engine/mm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/embed_audio.h"
#include "loupe/engine/embed_image.h"

void mm_seq_init(mm_seq *s, uint32_t n_embd)
{
    memset(s, 0, sizeof *s);
    s->n_embd = n_embd;
}

void mm_seq_free(mm_seq *s)
{
    lp_alloc_free(s->ids);
    lp_alloc_free(s->block);
    lp_alloc_free(s->embd);
    memset(s, 0, sizeof *s);
}

size_t mm_seq_max_block(const mm_seq *s)
{
    size_t best = 0, run = 0;

    for (size_t i = 0; i < s->n; i++) {
        run = s->block[i] != 0 && i > 0 && s->block[i - 1] == s->block[i] ? run + 1
              : s->block[i] != 0                                          ? 1
                                                                          : 0;
        best = run > best ? run : best;
    }
    return best;
}

/* Room for k more tokens and r more soft rows. */
static lp_err mm_reserve(mm_seq *s, size_t k, size_t r, lp_error *err)
{
    if (k > MM_SEQ_MAX_TOKENS || s->n + k > MM_SEQ_MAX_TOKENS)
        return lp_err_set(err, LP_ERR_LIMIT, "sequence: over %u tokens", MM_SEQ_MAX_TOKENS);
    if (s->n + k > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        int32_t *ids;
        uint32_t *blk;
        while (cap < s->n + k)
            cap *= 2;
        ids = lp_alloc_resize(s->ids, cap, sizeof *ids);
        if (!ids)
            return lp_err_set(err, LP_ERR_NOMEM, "sequence: out of memory");
        s->ids = ids;
        blk = lp_alloc_resize(s->block, cap, sizeof *blk);
        if (!blk)
            return lp_err_set(err, LP_ERR_NOMEM, "sequence: out of memory");
        s->block = blk;
        s->cap = cap;
    }
    if (s->n_soft + r > s->soft_cap) {
        size_t cap = s->soft_cap ? s->soft_cap : 64, elems;
        float *e;
        while (cap < s->n_soft + r)
            cap *= 2;
        if (lp_alloc_mul(cap, s->n_embd, &elems))
            return lp_err_set(err, LP_ERR_LIMIT, "sequence: soft rows overflow");
        e = lp_alloc_resize(s->embd, elems, sizeof *e);
        if (!e)
            return lp_err_set(err, LP_ERR_NOMEM, "sequence: out of memory for %zu soft rows", cap);
        s->embd = e;
        s->soft_cap = cap;
    }
    return LP_OK;
}

lp_err mm_seq_push_ids(mm_seq *s, const int32_t *ids, size_t n, lp_error *err)
{
    lp_err rc = mm_reserve(s, n, 0, err);

    if (rc != LP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0)
            return lp_err_set(err, LP_ERR_USAGE, "sequence: id %d is not a token", ids[i]);
    }
    memcpy(s->ids + s->n, ids, n * sizeof *ids);
    memset(s->block + s->n, 0, n * sizeof *s->block);
    s->n += n;
    return LP_OK;
}

lp_err mm_seq_push_text(mm_seq *s, const tokenizer *t, const char *text, size_t n, lp_error *err)
{
    int32_t *ids = NULL;
    size_t k = 0;
    lp_err rc;

    if (n == 0)
        return LP_OK;
    rc = tokenizer_encode(t, text, n, 0, 0, &ids, &k, err);
    if (rc == LP_OK)
        rc = mm_seq_push_ids(s, ids, k, err);
    lp_alloc_free(ids);
    return rc;
}

lp_err mm_seq_push_soft(mm_seq *s, const float *rows, size_t n, int bidirectional, lp_error *err)
{
    lp_err rc = mm_reserve(s, n, n, err);
    uint32_t blk = 0;

    if (rc != LP_OK)
        return rc;
    if (n > 0 && bidirectional)
        blk = ++s->n_blocks;
    memcpy(s->embd + s->n_soft * s->n_embd, rows, n * s->n_embd * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        s->ids[s->n + i] = GEMMA_TOKEN_SOFT;
        s->block[s->n + i] = blk;
    }
    s->n += n;
    s->n_soft += n;
    return LP_OK;
}

static lp_err mm_marker(const tokenizer *t, const char *name, int32_t *id, lp_error *err)
{
    *id = tokenizer_find(t, name);
    if (*id < 0)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "the vocabulary has no '%s' token", name);
    return LP_OK;
}

/* open + rows + close; restores s on failure. */
static lp_err mm_push_block(mm_seq *s, const tokenizer *t, const char *open, const char *close,
                            const float *rows, size_t n, int bidirectional, lp_error *err)
{
    const size_t n0 = s->n, soft0 = s->n_soft;
    const uint32_t blocks0 = s->n_blocks;
    int32_t a, b;
    lp_err rc = mm_marker(t, open, &a, err);

    if (rc == LP_OK)
        rc = mm_marker(t, close, &b, err);
    if (rc == LP_OK)
        rc = mm_seq_push_ids(s, &a, 1, err);
    if (rc == LP_OK)
        rc = mm_seq_push_soft(s, rows, n, bidirectional, err);
    if (rc == LP_OK)
        rc = mm_seq_push_ids(s, &b, 1, err);
    if (rc != LP_OK) {
        s->n = n0;
        s->n_soft = soft0;
        s->n_blocks = blocks0;
    }
    return rc;
}

static lp_err mm_check_proj(const mm_seq *s, const mmproj_model *p, matmul_ctx *mc, lp_error *err)
{
    if (!p || !mc)
        return lp_err_set(err, LP_ERR_USAGE, "media needs a projector (--mmproj)");
    if (p->n_embd != s->n_embd)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: the projector makes %u-wide soft tokens, the model is %u wide",
                          p->file->path, p->n_embd, s->n_embd);
    return LP_OK;
}

/* The image and frame blocks differ only in their placeholder, which never reaches the
 * model (its slot holds a soft row), so both share this. */
static lp_err mm_push_picture(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                              const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t max_tokens,
                              const char *placeholder, lp_error *err)
{
    float *rows = NULL;
    uint32_t n = 0;
    int32_t ph;
    lp_err rc = mm_check_proj(s, p, mc, err);

    if (rc == LP_OK) /* a vocabulary that lacks the placeholder is not a Gemma 4 one */
        rc = mm_marker(t, placeholder, &ph, err);
    if (rc == LP_OK)
        rc = embed_image_rgb8(p, mc, rgb, w, h, max_tokens, &rows, &n, err);
    if (rc == LP_OK)
        rc = mm_push_block(s, t, "<|image>", "<image|>", rows, n, 1, err);
    lp_alloc_free(rows);
    return rc;
}

lp_err mm_seq_push_image(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t max_tokens,
                         lp_error *err)
{
    return mm_push_picture(s, t, p, mc, rgb, w, h, max_tokens, "<|image|>", err);
}

lp_err mm_seq_push_frame(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const uint8_t *rgb, uint32_t w, uint32_t h, uint32_t max_tokens,
                         lp_error *err)
{
    return mm_push_picture(s, t, p, mc, rgb, w, h, max_tokens, "<|video|>", err);
}

lp_err mm_seq_push_audio(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const float *samples, size_t n, lp_error *err)
{
    const size_t n0 = s->n, soft0 = s->n_soft;
    const size_t n_seg = embed_audio_segments(n);
    float *rows = NULL;
    int32_t ph;
    lp_err rc = mm_check_proj(s, p, mc, err);

    if (rc == LP_OK)
        rc = mm_marker(t, "<|audio|>", &ph, err);
    if (rc == LP_OK && n == 0)
        rc = lp_err_set(err, LP_ERR_INVALID, "audio: the clip is empty");
    if (rc == LP_OK && n > EMBED_AUDIO_MAX_SAMPLES)
        rc = lp_err_set(err, LP_ERR_LIMIT, "audio: %zu samples exceed the cap of %zu (4 h)", n,
                        EMBED_AUDIO_MAX_SAMPLES);
    if (rc == LP_OK) {
        rows = lp_alloc_array((size_t)EMBED_AUDIO_SEGMENT_TOKENS * s->n_embd, sizeof *rows);
        if (!rows)
            rc = lp_err_set(err, LP_ERR_NOMEM, "audio: out of memory");
    }
    for (size_t i = 0; rc == LP_OK && i < n_seg; i++) {
        size_t start, len;
        embed_audio_segment(n, i, &start, &len);
        rc = embed_audio_project(p, mc, samples + start, len, rows, err);
        if (rc == LP_OK)
            rc = mm_push_block(s, t, "<|audio>", "<audio|>", rows, embed_audio_tokens(len), 0, err);
    }
    if (rc != LP_OK) {
        s->n = n0;
        s->n_soft = soft0;
    }
    lp_alloc_free(rows);
    return rc;
}

void mm_timestamp(double t_s, char *buf, size_t n)
{
    unsigned long long sec = t_s > 0 && t_s < 1e12 ? (unsigned long long)floor(t_s) : 0;

    snprintf(buf, n, "%02llu:%02llu", sec / 60, sec % 60);
}

/* Sample index of time t, rounded to a whole 40 ms frame and clipped to [0, n]. */
static size_t mm_cut(double t_s, size_t n)
{
    double f = floor(t_s * EMBED_AUDIO_RATE / EMBED_AUDIO_FRAME + 0.5);
    size_t at;

    if (!(f > 0))
        return 0;
    if (f * EMBED_AUDIO_FRAME >= (double)n)
        return n;
    at = (size_t)f * EMBED_AUDIO_FRAME;
    return at < n ? at : n;
}

lp_err mm_seq_push_video(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                         const mm_frame *frames, size_t n_frames, const float *samples,
                         size_t n_samples, uint32_t frame_tokens, lp_error *err)
{
    const size_t n0 = s->n, soft0 = s->n_soft;
    const uint32_t blocks0 = s->n_blocks;
    lp_err rc = LP_OK;

    if (n_frames == 0)
        return lp_err_set(err, LP_ERR_INVALID, "video: no frames");
    if (!frames || (n_samples > 0 && !samples))
        return lp_err_set(err, LP_ERR_USAGE, "mm_seq_push_video: NULL buffer");
    for (size_t i = 0; i < n_frames; i++)
        if (!isfinite(frames[i].t_s) || frames[i].t_s < 0 ||
            (i > 0 && frames[i].t_s < frames[i - 1].t_s))
            return lp_err_set(err, LP_ERR_INVALID,
                              "video: frame %zu at %g s is not in time order from 0", i,
                              frames[i].t_s);
    for (size_t i = 0; rc == LP_OK && i < n_frames; i++) {
        char ts[48];
        size_t a0 = i == 0 ? 0 : mm_cut(frames[i].t_s, n_samples);
        size_t a1 = i + 1 < n_frames ? mm_cut(frames[i + 1].t_s, n_samples) : n_samples;
        /* " mm:ss " is one piece of text between two blocks, so it is encoded as one */
        snprintf(ts, sizeof ts, "%s", i > 0 ? " " : "");
        mm_timestamp(frames[i].t_s, ts + strlen(ts), sizeof ts - strlen(ts));
        snprintf(ts + strlen(ts), sizeof ts - strlen(ts), " ");
        rc = mm_seq_push_text(s, t, ts, strlen(ts), err);
        if (rc == LP_OK)
            rc = mm_seq_push_frame(s, t, p, mc, frames[i].rgb, frames[i].w, frames[i].h,
                                   frame_tokens, err);
        if (rc == LP_OK && a1 > a0)
            rc = mm_seq_push_audio(s, t, p, mc, samples + a0, a1 - a0, err);
    }
    if (rc != LP_OK) {
        s->n = n0;
        s->n_soft = soft0;
        s->n_blocks = blocks0;
    }
    return rc;
}

/* ---- chat ---------------------------------------------------------------------------- */

void mm_opts_default(mm_opts *o)
{
    o->image_tokens = 280;
    o->frame_tokens = 70;
    o->think = 0;
}

#define MM_TRY(expr)                                                                               \
    do {                                                                                           \
        lp_err mm_rc_ = (expr);                                                                    \
        if (mm_rc_ != LP_OK)                                                                       \
            return mm_rc_;                                                                         \
    } while (0)

static lp_err mm_push_marker(mm_seq *s, const tokenizer *t, const char *name, lp_error *err)
{
    int32_t id;

    MM_TRY(mm_marker(t, name, &id, err));
    return mm_seq_push_ids(s, &id, 1, err);
}

static int mm_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* The template trims each text item (as chat.c trims a message). */
static lp_err mm_push_trimmed(mm_seq *s, const tokenizer *t, const char *text, size_t n,
                              lp_error *err)
{
    while (n > 0 && mm_space(text[0])) {
        text++;
        n--;
    }
    while (n > 0 && mm_space(text[n - 1]))
        n--;
    return mm_seq_push_text(s, t, text, n, err);
}

static lp_err mm_push_part(mm_seq *s, const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                           const mm_part *part, const mm_opts *o, lp_error *err)
{
    switch (part->kind) {
    case MM_PART_TEXT:
        if (!part->text && part->n_text)
            return lp_err_set(err, LP_ERR_USAGE, "chat: a text part has no text");
        return mm_push_trimmed(s, t, part->text, part->n_text, err);
    case MM_PART_IMAGE:
        return mm_seq_push_image(s, t, p, mc, part->rgb, part->w, part->h, o->image_tokens, err);
    case MM_PART_AUDIO: return mm_seq_push_audio(s, t, p, mc, part->samples, part->n_samples, err);
    case MM_PART_VIDEO:
        return mm_seq_push_video(s, t, p, mc, part->frames, part->n_frames, part->samples,
                                 part->n_samples, o->frame_tokens, err);
    }
    return lp_err_set(err, LP_ERR_USAGE, "chat: unknown part kind %d", (int)part->kind);
}

static const char *mm_role_name(chat_role r)
{
    return r == CHAT_SYSTEM ? "system" : r == CHAT_USER ? "user" : "model";
}

/* <|turn>ROLE\n, as chat.c: the role and the newline are separate pieces. */
static lp_err mm_open_turn(mm_seq *s, const tokenizer *t, const char *role, lp_error *err)
{
    MM_TRY(mm_push_marker(s, t, "<|turn>", err));
    MM_TRY(mm_seq_push_text(s, t, role, strlen(role), err));
    return mm_seq_push_text(s, t, "\n", 1, err);
}

static lp_err mm_close_turn(mm_seq *s, const tokenizer *t, lp_error *err)
{
    MM_TRY(mm_push_marker(s, t, "<turn|>", err));
    return mm_seq_push_text(s, t, "\n", 1, err);
}

static lp_err mm_gemma4(const tokenizer *t, const mmproj_model *p, matmul_ctx *mc,
                        const mm_msg *msgs, size_t n, const mm_opts *o, mm_seq *s, lp_error *err)
{
    const mm_msg *sys = n > 0 && msgs[0].role == CHAT_SYSTEM ? &msgs[0] : NULL;

    MM_TRY(mm_push_marker(s, t, "<bos>", err));
    if (sys || o->think) {
        MM_TRY(mm_open_turn(s, t, "system", err));
        if (o->think) {
            MM_TRY(mm_push_marker(s, t, "<|think|>", err));
            MM_TRY(mm_seq_push_text(s, t, "\n", 1, err));
        }
        for (size_t i = 0; sys && i < sys->n_parts; i++)
            MM_TRY(mm_push_part(s, t, p, mc, &sys->parts[i], o, err));
        MM_TRY(mm_close_turn(s, t, err));
    }
    for (size_t i = sys ? 1 : 0; i < n; i++) {
        MM_TRY(mm_open_turn(s, t, mm_role_name(msgs[i].role), err));
        for (size_t k = 0; k < msgs[i].n_parts; k++)
            MM_TRY(mm_push_part(s, t, p, mc, &msgs[i].parts[k], o, err));
        MM_TRY(mm_close_turn(s, t, err));
    }
    MM_TRY(mm_open_turn(s, t, "model", err));
    if (!o->think) { /* the empty thought channel: the answer starts right after it */
        MM_TRY(mm_push_marker(s, t, "<|channel>", err));
        MM_TRY(mm_seq_push_text(s, t, "thought", 7, err));
        MM_TRY(mm_seq_push_text(s, t, "\n", 1, err));
        MM_TRY(mm_push_marker(s, t, "<channel|>", err));
    }
    return LP_OK;
}

/* Gemma 3 has no media path here: its text parts, trimmed and joined, go to chat_render. */
static lp_err mm_gemma3(const tokenizer *t, const mm_msg *msgs, size_t n, const mm_opts *o,
                        mm_seq *s, lp_error *err)
{
    chat_msg *cm = lp_alloc_array(n ? n : 1, sizeof *cm);
    char **texts = lp_alloc_array(n ? n : 1, sizeof *texts);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    lp_err rc = cm && texts ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "chat: out of memory");

    for (size_t i = 0; rc == LP_OK && i < n; i++) {
        size_t len = 0, at = 0;
        for (size_t k = 0; k < msgs[i].n_parts; k++)
            len += msgs[i].parts[k].n_text;
        texts[i] = lp_alloc(len + 1);
        if (!texts[i]) {
            rc = lp_err_set(err, LP_ERR_NOMEM, "chat: out of memory");
            break;
        }
        for (size_t k = 0; k < msgs[i].n_parts; k++) {
            const char *x = msgs[i].parts[k].text;
            size_t m = msgs[i].parts[k].n_text;
            while (m > 0 && mm_space(x[0])) {
                x++;
                m--;
            }
            while (m > 0 && mm_space(x[m - 1]))
                m--;
            memcpy(texts[i] + at, x, m);
            at += m;
        }
        cm[i] = (chat_msg){.role = msgs[i].role, .text = texts[i], .n = at};
    }
    if (rc == LP_OK)
        rc = chat_render(t, GEMMA_ARCH_GEMMA3, cm, n, o->think, &ids, &n_ids, err);
    if (rc == LP_OK)
        rc = mm_seq_push_ids(s, ids, n_ids, err);
    for (size_t i = 0; texts && i < n; i++)
        lp_alloc_free(texts[i]);
    lp_alloc_free(texts);
    lp_alloc_free(cm);
    lp_alloc_free(ids);
    return rc;
}

lp_err mm_render_chat(const tokenizer *t, gemma_arch arch, const mmproj_model *p, matmul_ctx *mc,
                      const mm_msg *msgs, size_t n_msgs, const mm_opts *o, mm_seq *out,
                      lp_error *err)
{
    const size_t n0 = out->n, soft0 = out->n_soft;
    const uint32_t blocks0 = out->n_blocks;
    int media = 0;
    lp_err rc;

    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].role == CHAT_SYSTEM && i > 0)
            return lp_err_set(err, LP_ERR_USAGE, "chat: message %zu: a system message comes first",
                              i);
        if (msgs[i].n_parts > 0 && !msgs[i].parts)
            return lp_err_set(err, LP_ERR_USAGE, "chat: message %zu has no parts array", i);
        for (size_t k = 0; k < msgs[i].n_parts; k++) {
            const mm_part *pt = &msgs[i].parts[k];
            if (pt->kind == MM_PART_TEXT && !pt->text && pt->n_text)
                return lp_err_set(err, LP_ERR_USAGE, "chat: message %zu part %zu has no text", i,
                                  k);
            if (pt->kind != MM_PART_TEXT && msgs[i].role == CHAT_SYSTEM)
                return lp_err_set(err, LP_ERR_USAGE, "chat: the system turn takes text only");
            media |= pt->kind != MM_PART_TEXT;
        }
    }
    if (arch != GEMMA_ARCH_GEMMA4 && media)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "chat: images, audio and video need a gemma4 model (unified 12B)");
    rc = arch == GEMMA_ARCH_GEMMA4 ? mm_gemma4(t, p, mc, msgs, n_msgs, o, out, err)
                                   : mm_gemma3(t, msgs, n_msgs, o, out, err);
    if (rc != LP_OK) {
        out->n = n0;
        out->n_soft = soft0;
        out->n_blocks = blocks0;
    }
    return rc;
}

/* ---- prefill ------------------------------------------------------------------------- */

/* Tokens of the next batch from i: at most cap, cut back to the start of a block it
 * would split. 0 means the block at i is larger than cap. */
static size_t mm_next_batch(const mm_seq *s, size_t i, size_t cap)
{
    size_t k = s->n - i < cap ? s->n - i : cap;

    if (i + k < s->n) {
        uint32_t b = s->block[i + k];
        while (k > 0 && b != 0 && s->block[i + k - 1] == b)
            k--;
    }
    return k;
}

lp_err mm_prefill(const gemma_model *m, gemma_state *st, matmul_ctx *mc, const mm_seq *s,
                  size_t from, float *logits, int all_logits,
                  void (*on_batch)(void *ctx, size_t done, size_t total), void *ctx, lp_error *err)
{
    const size_t batch = gemma_state_batch(st), V = m->cfg.n_vocab;
    size_t soft = 0;

    if (s->n_embd != m->cfg.n_embd)
        return lp_err_set(err, LP_ERR_INVALID, "sequence: built for width %u, the model has %u",
                          s->n_embd, m->cfg.n_embd);
    if (from >= s->n)
        return lp_err_set(err, LP_ERR_USAGE, "prefill: nothing to run (%zu of %zu)", from, s->n);
    if (from > 0 && s->block[from] != 0 && s->block[from - 1] == s->block[from])
        return lp_err_set(err, LP_ERR_USAGE, "prefill: token %zu is inside a block", from);
    for (size_t i = 0; i < from; i++)
        soft += s->ids[i] == GEMMA_TOKEN_SOFT;
    for (size_t i = from; i < s->n;) {
        size_t k = mm_next_batch(s, i, batch), k_soft = 0;
        float *out = NULL;
        gemma_batch b;
        lp_err rc;
        if (k == 0) {
            size_t len = 0;
            while (i + len < s->n && s->block[i + len] == s->block[i])
                len++;
            return lp_err_set(err, LP_ERR_LIMIT,
                              "prefill: a %zu-token image block does not fit the batch of %zu; "
                              "use a batch of at least %zu",
                              len, batch, len);
        }
        for (size_t j = i; j < i + k; j++)
            k_soft += s->ids[j] == GEMMA_TOKEN_SOFT;
        b = (gemma_batch){.tokens = s->ids + i,
                          .embd = s->embd ? s->embd + soft * s->n_embd : NULL,
                          .n_embd_rows = s->n_soft - soft,
                          .block = s->block + i,
                          .n = (uint32_t)k};
        if (logits && all_logits)
            out = logits + (i - from) * V;
        else if (logits && i + k == s->n)
            out = logits;
        rc = gemma_forward_batch(m, st, mc, &b, out, all_logits, err);
        if (rc != LP_OK)
            return rc;
        soft += k_soft;
        i += k;
        if (on_batch)
            on_batch(ctx, i - from, s->n - from);
    }
    return LP_OK;
}
