/* The local backend: a loaded Gemma model, its tokenizer and chat format, the sampler and the
 * grammar, driven per request. `loupe run`, `chat`, the review and the server all reach the
 * engine through here, so a prompt is rendered the same way whoever asks. */
#include "loupe/route/local.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/clock.h"
#include "loupe/base/threadpool.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/generate.h"
#include "loupe/engine/grammar.h"
#include "loupe/engine/mm.h"
#include "loupe/engine/quant.h"
#include "loupe/media/av.h"
#include "loupe/media/image.h"

#define LOCAL_MSGS_MAX 1024
#define LOCAL_PARTS_MAX 4096
/* Frames are decoded no larger than this: a 70-token frame is resized far below it anyway. */
#define LOCAL_FRAME_SIDE 768
#define LOCAL_VIDEO_FRAMES 32

typedef struct local_backend {
    backend base; /* first: the interface's view */
    local_opts o;
    char *model_path, *mmproj_path;
    const quant_table *qt;
    gemma_model *m;
    gemma_state *s;
    tokenizer *tok;
    mmproj_model *proj; /* NULL without --mmproj */
    lp_threadpool *pool;
    matmul_ctx mc;
    grammar_vocab *gvocab; /* opened with the first constrained request */
    grammar *gram;         /* the last schema compiled, kept: rubric items repeat schemas */
    char *gram_schema;
    int32_t stop_ids[CHAT_MAX_STOPS];
    size_t n_stop;
    /* The last request's sequence, whose tokens (and the answer after them) the state holds:
     * a review asks several rubric items about one asset, and each shares the system turn
     * and the asset's media with the last, so only the rest is prefilled. */
    mm_seq last;
    int last_valid;
    char model_sha[LP_SHA256_HEX], mmproj_sha[LP_SHA256_HEX];
    char type_name[16];
} local_backend;

/* Generation context: the answer so far, streaming, the deadline. */
typedef struct local_run {
    const backend_request *req;
    lp_buf text;
    double deadline;
    int timed_out;
} local_run;

static int local_on_text(void *ctx, const char *s, size_t n)
{
    local_run *r = ctx;
    lp_buf_append(&r->text, s, n);
    if (r->text.failed)
        return 1;
    if (r->deadline > 0 && lp_clock_now() > r->deadline) {
        r->timed_out = 1;
        return 1;
    }
    return r->req->on_piece ? r->req->on_piece(r->req->ctx, s, n) : 0;
}

/* Tokens never sampled: the file's suppress list and the media end markers (spec §4.2). */
static lp_err local_suppress(const local_backend *lb, sampler *s, lp_error *err)
{
    static const char *const ends[] = {"<image|>", "<audio|>"};
    const gguf_value *arr;

    if (gguf_get_arr(lb->m->file, "tokenizer.ggml.suppress_tokens", &arr, NULL) == LP_OK)
        for (uint64_t i = 0; i < arr->v.arr.count && gguf_vtype_size(arr->v.arr.elem); i++) {
            double id = gguf_arr_num(arr, i);
            if (id >= 0 && id < lb->m->cfg.n_vocab &&
                sampler_bias(s, (int32_t)id, -INFINITY, err) != LP_OK)
                return err->code;
        }
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        int32_t id = tokenizer_find(lb->tok, ends[i]);
        if (id >= 0 && sampler_bias(s, id, -INFINITY, err) != LP_OK)
            return err->code;
    }
    return LP_OK;
}

static lp_err local_grammar(local_backend *lb, const char *schema, lp_error *err)
{
    if (lb->gram && lb->gram_schema && !strcmp(lb->gram_schema, schema))
        return LP_OK;
    grammar_free(lb->gram);
    lb->gram = NULL;
    lp_alloc_free(lb->gram_schema);
    lb->gram_schema = lp_alloc_strdup(schema);
    if (!lb->gram_schema)
        return lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
    /* "" asks for any JSON value: the grammar takes no schema for that */
    lp_err rc = grammar_compile(*schema ? schema : NULL, strlen(schema), &lb->gram, err);
    if (rc)
        return rc;
    if (!lb->gvocab)
        rc = grammar_vocab_open(lb->tok, &lb->gvocab, err);
    return rc;
}

/* Decoded media of one request, kept until the sequence is assembled. */
typedef struct local_media {
    media_image img;
    media_audio aud;
    media_frames fr;
    mm_frame *frames;
} local_media;

static void local_media_free(local_media *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        media_image_free(&m[i].img);
        media_audio_free(&m[i].aud);
        media_video_frames_free(&m[i].fr);
        lp_alloc_free(m[i].frames);
    }
}

static const char *local_kind_name(backend_part_kind k)
{
    return k == BACKEND_PART_IMAGE ? "image" : k == BACKEND_PART_AUDIO ? "audio" : "video";
}

/* Decodes one media part into what the assembler takes. A video without sound is fine; a
 * decoding error names the file (the media layer's message). */
static lp_err local_decode(const backend_part *p, const backend_request *req, local_media *lm,
                           mm_part *out, lp_error *err)
{
    lp_err rc;
    if (!p->path)
        return lp_err_set(err, LP_ERR_INVALID, "local: %s part without a file",
                          local_kind_name(p->kind));
    if (p->kind == BACKEND_PART_IMAGE) {
        rc = media_image_decode_file(p->path, &lm->img, NULL, err);
        *out = (mm_part){.kind = MM_PART_IMAGE,
                         .rgb = lm->img.rgb,
                         .w = (uint32_t)lm->img.w,
                         .h = (uint32_t)lm->img.h};
        return rc;
    }
    if (p->kind == BACKEND_PART_AUDIO) {
        rc = media_audio_decode(p->path, 16000, 0, &lm->aud, err);
        *out = (mm_part){.kind = MM_PART_AUDIO, .samples = lm->aud.samples, .n_samples = lm->aud.n};
        return rc;
    }
    int n = req->video_frames > 0 ? req->video_frames : LOCAL_VIDEO_FRAMES;
    rc = media_video_frames(p->path, n, LOCAL_FRAME_SIDE, &lm->fr, err);
    if (rc)
        return rc;
    lp_error e;
    lp_err ra = media_audio_decode(p->path, 16000, 0, &lm->aud, &e);
    if (ra && ra != LP_ERR_NOTFOUND)
        return lp_err_set(err, ra, "%s", e.msg);
    lm->frames = lp_alloc_array(lm->fr.n ? lm->fr.n : 1, sizeof *lm->frames);
    if (!lm->frames)
        return lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
    for (size_t i = 0; i < lm->fr.n; i++)
        lm->frames[i] = (mm_frame){.rgb = lm->fr.frames[i].img.rgb,
                                   .w = (uint32_t)lm->fr.frames[i].img.w,
                                   .h = (uint32_t)lm->fr.frames[i].img.h,
                                   .t_s = lm->fr.frames[i].t};
    *out = (mm_part){.kind = MM_PART_VIDEO,
                     .frames = lm->frames,
                     .n_frames = lm->fr.n,
                     .samples = lm->aud.samples,
                     .n_samples = lm->aud.n};
    return LP_OK;
}

/* Messages of typed parts become the model's sequence: text parts encoded with control-token
 * parsing off (untrusted or not: nothing a caller sends may open or close a turn), media
 * parts decoded here and embedded through the projector. */
static lp_err local_sequence(local_backend *lb, const backend_request *req, mm_seq *seq,
                             lp_error *err)
{
    size_t n_parts = 0, k = 0, n_media = 0;
    mm_part *parts = NULL;
    mm_msg *msgs = NULL;
    local_media *media = NULL;
    lp_err rc = LP_OK;

    if (req->n_msgs == 0 || req->n_msgs > LOCAL_MSGS_MAX)
        return lp_err_set(err, LP_ERR_INVALID, "local: 1..%d messages per request", LOCAL_MSGS_MAX);
    for (size_t i = 0; i < req->n_msgs; i++)
        n_parts += req->msgs[i].n_parts;
    if (n_parts > LOCAL_PARTS_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "local: %zu parts, at most %d", n_parts,
                          LOCAL_PARTS_MAX);
    parts = lp_alloc_array(n_parts ? n_parts : 1, sizeof *parts);
    msgs = lp_alloc_array(req->n_msgs, sizeof *msgs);
    media = lp_alloc_array(n_parts ? n_parts : 1, sizeof *media);
    if (!parts || !msgs || !media) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
        goto done;
    }
    memset(media, 0, (n_parts ? n_parts : 1) * sizeof *media);
    for (size_t i = 0; i < req->n_msgs && !rc; i++) {
        const backend_message *bm = &req->msgs[i];
        msgs[i] = (mm_msg){.role = bm->role == BACKEND_ROLE_SYSTEM  ? CHAT_SYSTEM
                                   : bm->role == BACKEND_ROLE_MODEL ? CHAT_MODEL
                                                                    : CHAT_USER,
                           .parts = parts + k,
                           .n_parts = bm->n_parts};
        for (size_t j = 0; j < bm->n_parts && !rc; j++, k++) {
            const backend_part *p = &bm->parts[j];
            if (p->kind == BACKEND_PART_TEXT) {
                parts[k] = (mm_part){.kind = MM_PART_TEXT, .text = p->text, .n_text = p->n_text};
            } else if (!lb->proj) {
                rc = lp_err_set(err, LP_ERR_UNSUPPORTED, "local: %s part: no projector (--mmproj)",
                                local_kind_name(p->kind));
            } else {
                rc = local_decode(p, req, &media[n_media++], &parts[k], err);
            }
        }
    }
    if (!rc) {
        mm_opts mo;
        mm_opts_default(&mo);
        mo.think = req->think;
        if (req->image_tokens > 0)
            mo.image_tokens = (uint32_t)req->image_tokens;
        rc = mm_render_chat(lb->tok, lb->m->cfg.arch, lb->proj, &lb->mc, msgs, req->n_msgs, &mo,
                            seq, err);
    }
done:
    local_media_free(media, n_media);
    lp_alloc_free(media);
    lp_alloc_free(msgs);
    lp_alloc_free(parts);
    return rc;
}

static void local_sampler_params(const backend_sampling *bs, sampler_params *sp)
{
    sampler_params_default(sp);
    sp->temp = (float)bs->temperature;
    sp->top_k = bs->top_k > 0 ? (uint32_t)bs->top_k : 0;
    sp->top_p = bs->top_p > 0 && bs->top_p < 1 ? (float)bs->top_p : 1.0f;
    sp->min_p = (float)bs->min_p;
    sp->repeat_penalty = bs->repeat_penalty > 0 ? (float)bs->repeat_penalty : 1.0f;
    sp->presence_penalty = (float)bs->presence_penalty;
    sp->frequency_penalty = (float)bs->frequency_penalty;
    sp->seed = bs->seed;
}

/* A constrained answer counts only as a complete value that the validator accepts. */
static lp_err local_check_json(const local_backend *lb, const generate_stats *st, const char *text,
                               size_t n, lp_error *err)
{
    if (st->stopped_by_string || st->cancelled || !(st->completed || st->stopped_by_token))
        return lp_err_set(err, LP_ERR_LIMIT,
                          "local: the answer is not a complete JSON value after %zu tokens (%s)",
                          st->n_gen,
                          st->stopped_by_string ? "stop string"
                          : st->cancelled       ? "cancelled"
                                                : "token budget too small");
    return grammar_validate(lb->gram, text, n, err);
}

static lp_err local_generate(local_backend *lb, const backend_request *req, const mm_seq *seq,
                             local_run *run, generate_stats *st, lp_error *err)
{
    const char *stops[GENERATE_MAX_STOPS];
    size_t n_stops = 0;
    sampler_params sp;
    sampler *smp = NULL;
    grammar_matcher *gm = NULL;
    lp_err rc;

    for (const char *const *s = req->sampling.stop; s && *s && n_stops < GENERATE_MAX_STOPS; s++)
        stops[n_stops++] = *s;
    local_sampler_params(&req->sampling, &sp);
    rc = sampler_open(&sp, lb->m->cfg.n_vocab, &smp, err);
    if (!rc)
        rc = local_suppress(lb, smp, err);
    if (!rc && req->json_schema)
        rc = grammar_matcher_open(lb->gram, lb->gvocab, lb->stop_ids, lb->n_stop, &gm, err);
    if (!rc) {
        generate_opts go = {
            .max_tokens = req->sampling.max_tokens > 0 ? (uint32_t)req->sampling.max_tokens : 512,
            .stop_ids = lb->stop_ids,
            .n_stop_ids = lb->n_stop,
            .stop_strs = stops,
            .n_stop_strs = n_stops,
            .on_text = local_on_text,
            .ctx = run,
            .on_prefill = lb->o.on_prefill,
        };
        if (gm) {
            go.mask = grammar_matcher_mask;
            go.on_token = grammar_matcher_accept;
            go.mask_ctx = gm;
        }
        go.seq_from = gemma_state_pos(lb->s);
        rc = generate_run_mm(lb->m, lb->s, &lb->mc, lb->tok, smp, seq, &go, st, err);
    }
    if (!rc && run->text.failed)
        rc = lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
    if (!rc && gm && !run->timed_out && !(st->cancelled && req->on_piece)) {
        size_t n;
        const char *text = grammar_matcher_text(gm, &n);
        rc = local_check_json(lb, st, text, n, err);
    }
    grammar_matcher_close(gm);
    sampler_close(smp);
    return rc;
}

/* Backs a cut at i off to the start of the block it is inside (in either sequence): a block's
 * keys depend on all of the block, so a partial block cannot be kept. */
static size_t local_block_start(const mm_seq *q, size_t i)
{
    while (i > 0 && i < q->n && q->block[i] != 0 && q->block[i - 1] == q->block[i])
        i--;
    return i;
}

/* Tokens at the start of seq equal to the last request's (ids, block ids and soft rows),
 * never inside a block and never all of seq (its last token must run for the logits). */
static size_t local_common_prefix(const local_backend *lb, const mm_seq *seq)
{
    const mm_seq *old = &lb->last;
    size_t n = old->n < seq->n ? old->n : seq->n, i = 0, soft = 0;

    if (!lb->last_valid || seq->n == 0)
        return 0;
    for (; i < n; i++) {
        if (old->ids[i] != seq->ids[i] || old->block[i] != seq->block[i])
            break;
        if (seq->ids[i] == GEMMA_TOKEN_SOFT) {
            if (memcmp(old->embd + soft * old->n_embd, seq->embd + soft * seq->n_embd,
                       seq->n_embd * sizeof(float)) != 0)
                break;
            soft++;
        }
    }
    if (i > seq->n - 1)
        i = seq->n - 1;
    size_t a = local_block_start(seq, i), b = local_block_start(old, i);
    return a < b ? a : b;
}

/* Puts the state at the reused prefix (or at 0) and keeps seq as the new "last". */
static void local_reuse(local_backend *lb, const mm_seq *seq)
{
    size_t keep = local_common_prefix(lb, seq);
    lp_error e;
    if (keep == 0 || gemma_state_rewind(lb->s, (uint32_t)keep, &e) != LP_OK)
        gemma_state_reset(lb->s);
}

/* An image block is prefilled in one batch, so a request whose largest block (1120 image
 * tokens at the top budget) exceeds the state's batch gets a state with a batch that holds
 * it; the cache starts empty then. Memory grows only for requests that need it. */
static lp_err local_fit_batch(local_backend *lb, const mm_seq *seq, lp_error *err)
{
    size_t need = mm_seq_max_block(seq);
    if (need <= gemma_state_batch(lb->s))
        return LP_OK;
    gemma_state_opts so = {
        .n_ctx = gemma_state_ctx(lb->s), .n_batch = (uint32_t)need, .cache_type = lb->o.cache};
    gemma_state *s = NULL;
    lp_err rc = gemma_state_open(lb->m, &so, &s, err);
    if (rc)
        return rc;
    gemma_state_close(lb->s);
    lb->s = s;
    lb->last_valid = 0;
    return LP_OK;
}

static lp_err local_complete(backend *b, const backend_request *req, backend_response *out,
                             lp_error *err)
{
    local_backend *lb = (local_backend *)b;
    local_run run = {.req = req};
    generate_stats st = {0};
    double t0 = lp_clock_now();
    mm_seq seq;
    lp_err rc;

    mm_seq_init(&seq, lb->m->cfg.n_embd);
    if (req->timeout_s > 0)
        run.deadline = t0 + req->timeout_s;
    rc = local_sequence(lb, req, &seq, err);
    if (!rc && req->json_schema)
        rc = local_grammar(lb, req->json_schema, err);
    if (!rc)
        rc = local_fit_batch(lb, &seq, err);
    if (!rc) {
        local_reuse(lb, &seq);
        rc = local_generate(lb, req, &seq, &run, &st, err);
        /* the state now holds seq and the answer: seq is what the next request may reuse */
        mm_seq_free(&lb->last);
        lb->last = seq;
        lb->last_valid = rc == LP_OK;
        mm_seq_init(&seq, lb->m->cfg.n_embd);
    }
    if (rc)
        goto done;
    out->text = run.text.p ? run.text.p : lp_alloc_strdup("");
    if (!out->text) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
        goto done;
    }
    out->n_text = run.text.n;
    run.text.p = NULL;
    out->finish = st.cancelled ? BACKEND_FINISH_CANCEL
                  : st.hit_max ? BACKEND_FINISH_LENGTH
                               : BACKEND_FINISH_STOP;
    snprintf(out->backend, sizeof out->backend, "local");
    snprintf(out->model, sizeof out->model, "%s %s", gemma_arch_name(lb->m->cfg.arch),
             lb->type_name);
    snprintf(out->model_sha256, sizeof out->model_sha256, "%s", lb->model_sha);
    out->tokens_in = (long)st.n_prompt;
    out->tokens_out = (long)st.n_gen;
    out->prefill_s = st.prefill_s;
    out->decode_s = st.decode_s;
    out->total_s = lp_clock_now() - t0;
done:
    mm_seq_free(&seq);
    lp_buf_free(&run.text);
    return rc;
}

static void local_close(backend *b)
{
    local_backend *lb = (local_backend *)b;
    matmul_ctx_free(&lb->mc);
    grammar_vocab_close(lb->gvocab);
    grammar_free(lb->gram);
    lp_alloc_free(lb->gram_schema);
    gemma_state_close(lb->s);
    tokenizer_close(lb->tok);
    mmproj_close(lb->proj);
    mm_seq_free(&lb->last);
    gemma_close(lb->m);
    lp_threadpool_close(lb->pool);
    lp_alloc_free(lb->model_path);
    lp_alloc_free(lb->mmproj_path);
    lp_alloc_free(lb);
}

static const backend_ops local_ops = {
    .name = "local", .complete = local_complete, .close = local_close};

/* The weight type holding most bytes: what people call the model's quantization. */
static void local_type(local_backend *lb)
{
    uint64_t bytes[64] = {0};
    uint32_t best = 0;
    for (uint64_t i = 0; i < lb->m->file->n_tensors; i++) {
        const gguf_tensor *t = &lb->m->file->tensors[i];
        if (t->type < 64)
            bytes[t->type] += t->n_bytes;
    }
    for (uint32_t k = 1; k < 64; k++)
        if (bytes[k] > bytes[best])
            best = k;
    snprintf(lb->type_name, sizeof lb->type_name, "%s", tensor_type_name(best));
    for (char *p = lb->type_name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

lp_err local_open(const local_opts *o, backend **out, lp_error *err)
{
    local_backend *lb;
    gemma_state_opts so;
    lp_err rc;

    *out = NULL;
    if (!o->model)
        return lp_err_set(err, LP_ERR_USAGE, "local: no model file");
    lb = lp_alloc_array(1, sizeof *lb);
    if (!lb)
        return lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
    memset(lb, 0, sizeof *lb);
    lb->base.ops = &local_ops;
    lb->o = *o;
    lb->model_path = lp_alloc_strdup(o->model);
    lb->mmproj_path = o->mmproj ? lp_alloc_strdup(o->mmproj) : NULL;
    if (!lb->model_path || (o->mmproj && !lb->mmproj_path)) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "local: out of memory");
        goto fail;
    }
    lb->o.model = lb->model_path;
    lb->o.mmproj = lb->mmproj_path;
    rc = gemma_open(o->model, &lb->m, err);
    if (!rc)
        rc = tokenizer_open(lb->m->file, &lb->tok, err);
    if (!rc)
        rc = quant_table_default(&lb->qt, err);
    if (!rc)
        rc = lp_threadpool_open(o->threads, &lb->pool, err);
    if (!rc && o->mmproj)
        rc = mmproj_open(o->mmproj, lb->m->cfg.n_embd, &lb->proj, err);
    if (rc)
        goto fail;
    chat_stop_ids(lb->tok, lb->m->cfg.arch, lb->stop_ids, &lb->n_stop);
    so.n_ctx = o->ctx ? o->ctx : (lb->m->cfg.n_ctx_train < 8192 ? lb->m->cfg.n_ctx_train : 8192);
    so.n_batch = o->batch ? o->batch : 512;
    so.cache_type = o->cache;
    rc = gemma_state_open(lb->m, &so, &lb->s, err);
    if (rc)
        goto fail;
    matmul_ctx_init(&lb->mc, lb->qt, lb->pool);
    mm_seq_init(&lb->last, lb->m->cfg.n_embd);
    local_type(lb);
    *out = &lb->base;
    return LP_OK;
fail:
    local_close(&lb->base);
    return rc;
}

void local_sampling_defaults(const backend *b, backend_sampling *s)
{
    const local_backend *lb = (const local_backend *)b;
    float f;
    uint32_t u;

    memset(s, 0, sizeof *s);
    s->temperature =
        gguf_get_f32(lb->m->file, "general.sampling.temp", &f, NULL) == LP_OK ? f : 1.0;
    s->top_k = gguf_get_u32(lb->m->file, "general.sampling.top_k", &u, NULL) == LP_OK ? (int)u : 64;
    s->top_p = gguf_get_f32(lb->m->file, "general.sampling.top_p", &f, NULL) == LP_OK ? f : 0.95;
    s->repeat_penalty = 1.0;
    s->max_tokens = 256;
}

const gemma_model *local_model(const backend *b)
{
    return ((const local_backend *)b)->m;
}

lp_err local_model_sha256(backend *b, char out[LP_SHA256_HEX], lp_error *err)
{
    local_backend *lb = (local_backend *)b;
    if (!lb->model_sha[0]) {
        lp_err rc = lp_sha256_file_hex(lb->model_path, lb->model_sha, err);
        if (rc)
            return rc;
    }
    memcpy(out, lb->model_sha, LP_SHA256_HEX);
    return LP_OK;
}

lp_err local_mmproj_sha256(backend *b, char out[LP_SHA256_HEX], lp_error *err)
{
    local_backend *lb = (local_backend *)b;
    out[0] = '\0';
    if (!lb->mmproj_path)
        return LP_OK;
    if (!lb->mmproj_sha[0]) {
        lp_err rc = lp_sha256_file_hex(lb->mmproj_path, lb->mmproj_sha, err);
        if (rc)
            return rc;
    }
    memcpy(out, lb->mmproj_sha, LP_SHA256_HEX);
    return LP_OK;
}

int local_has_projector(const backend *b)
{
    return ((const local_backend *)b)->mmproj_path != 0;
}

const char *local_model_type(const backend *b)
{
    return ((const local_backend *)b)->type_name;
}

void local_describe(const backend *b, char *buf, size_t n)
{
    const local_backend *lb = (const local_backend *)b;
    snprintf(buf, n, "%s, %d threads", lb->qt->name, lp_threadpool_size(lb->pool));
}
