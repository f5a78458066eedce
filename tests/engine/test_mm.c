/* Multimodal engine tests that need no reference: the projector loader's refusals,
 * audio framing and the 30 s split, the block mask rule (a block sees itself on sliding
 * layers only), one position per soft token with no sqrt(n_embd) scale, video layout,
 * the chat renderer against chat_render, and blocks that do not fit a batch. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/embed_audio.h"
#include "loupe/engine/embed_image.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/gen_model.h"
#include "loupe/engine/generate.h"
#include "loupe/engine/mm.h"
#include "loupe/engine/mmproj.h"

static char model_path[512], proj_path[512], bad_path[512];

static int setup_files(void **state)
{
    const char *dir = getenv("LOUPE_TEST_TMP");
    const quant_table *qt;
    gen_options o = {.preset = "gemma4-tiny",
                     .type = TENSOR_TYPE_F32,
                     .seed = 7,
                     .out_path = model_path,
                     .mmproj_path = proj_path};
    lp_error err;

    (void)state;
    snprintf(model_path, sizeof model_path, "%s/mm_%ld.gguf", dir ? dir : "/tmp", (long)getpid());
    snprintf(proj_path, sizeof proj_path, "%s/mm_%ld-mmproj.gguf", dir ? dir : "/tmp",
             (long)getpid());
    snprintf(bad_path, sizeof bad_path, "%s/mm_%ld-bad.gguf", dir ? dir : "/tmp", (long)getpid());
    if (quant_table_default(&qt, &err) != LP_OK || gen_model_write(&o, qt, &err) != LP_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown_files(void **state)
{
    (void)state;
    unlink(model_path);
    unlink(proj_path);
    unlink(bad_path);
    return 0;
}

/* ---- loader refusals ---------------------------------------------------------------- */

typedef struct edit {
    const char *kv_key, *kv_str; /* replace a string value */
    const char *drop;            /* leave this tensor out */
    const char *reshape;         /* give this 1-D tensor one value fewer */
} edit;

/* Copies the good projector into bad_path with one edit, through the GGUF writer. */
static void write_edited(const edit *e)
{
    gguf_file *f;
    gguf_writer *w;
    lp_error err;

    assert_int_equal(gguf_open(proj_path, &f, &err), LP_OK);
    assert_int_equal(gguf_writer_open(bad_path, &w, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)f->kv[i].key.n, f->kv[i].key.p);
        if (e->kv_key && !strcmp(key, e->kv_key))
            assert_int_equal(gguf_writer_add_str(w, key, e->kv_str, &err), LP_OK);
        else
            assert_int_equal(gguf_writer_add_kv(w, key, &f->kv[i].value, &err), LP_OK);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[256];
        uint64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (e->drop && !strcmp(name, e->drop))
            continue;
        if (e->reshape && !strcmp(name, e->reshape))
            ne[0]--;
        assert_int_equal(gguf_writer_add_tensor(w, name, (tensor_type)t->type, t->n_dims, ne, &err),
                         LP_OK);
    }
    assert_int_equal(gguf_writer_begin_data(w, &err), LP_OK);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char name[256];
        size_t n = (size_t)t->n_bytes;
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (e->drop && !strcmp(name, e->drop))
            continue;
        if (e->reshape && !strcmp(name, e->reshape))
            n -= 4;
        assert_int_equal(gguf_writer_write_data(w, t->data, n, &err), LP_OK);
    }
    assert_int_equal(gguf_writer_finish(w, &err), LP_OK);
    gguf_close(f);
}

static void expect_refusal(const edit *e, lp_err code, const char *needle)
{
    mmproj_model *p = NULL;
    lp_error err;

    write_edited(e);
    assert_int_equal(mmproj_open(bad_path, 256, &p, &err), code);
    assert_null(p);
    if (!strstr(err.msg, needle) || !strstr(err.msg, bad_path))
        fail_msg("message '%s' lacks '%s' or the file name", err.msg, needle);
}

static void test_loader(void **state)
{
    mmproj_model *p = NULL;
    lp_error err;
    edit none = {0};

    (void)state;
    assert_int_equal(mmproj_open(proj_path, 256, &p, &err), LP_OK);
    assert_true(p->has_vision && p->has_audio);
    assert_int_equal(p->v.n_pos, 1120);
    assert_int_equal(p->v.n_embd_v, 256);
    assert_true(fabsf(p->v.mean[0] - 0.48f) < 1e-6f && fabsf(p->v.std[2] - 0.28f) < 1e-6f);
    mmproj_close(p);
    /* the copy itself loads: the edits below are what is refused */
    write_edited(&none);
    assert_int_equal(mmproj_open(bad_path, 256, &p, &err), LP_OK);
    mmproj_close(p);
    /* a text model of another width */
    assert_int_equal(mmproj_open(proj_path, 128, &p, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "projection_dim"));
    expect_refusal(&(edit){.kv_key = "clip.vision.projector_type", .kv_str = "gemma3"},
                   LP_ERR_UNSUPPORTED, "clip.vision.projector_type");
    expect_refusal(&(edit){.kv_key = "clip.audio.projector_type", .kv_str = "ultravox"},
                   LP_ERR_UNSUPPORTED, "clip.audio.projector_type");
    expect_refusal(&(edit){.kv_key = "general.type", .kv_str = "model"}, LP_ERR_INVALID,
                   "general.type");
    expect_refusal(&(edit){.drop = "mm.input_projection.weight"}, LP_ERR_NOTFOUND,
                   "mm.input_projection.weight");
    expect_refusal(&(edit){.drop = "mm.a.input_projection.weight"}, LP_ERR_NOTFOUND,
                   "mm.a.input_projection.weight");
    expect_refusal(&(edit){.reshape = "v.patch_embd.bias"}, LP_ERR_INVALID, "v.patch_embd.bias");
    expect_refusal(&(edit){.reshape = "v.patch_norm.1.weight"}, LP_ERR_INVALID,
                   "v.patch_norm.1.weight");
}

/* ---- audio ---------------------------------------------------------------------------- */

static void test_audio_framing(void **state)
{
    size_t st, len;

    (void)state;
    assert_int_equal(embed_audio_tokens(0), 0);
    assert_int_equal(embed_audio_tokens(1), 1);
    assert_int_equal(embed_audio_tokens(640), 1);
    assert_int_equal(embed_audio_tokens(641), 2);
    assert_int_equal(embed_audio_tokens(16000), 25); /* 25 tokens per second */
    assert_int_equal(embed_audio_segments(480000), 1);
    assert_int_equal(embed_audio_segments(480001), 2);
    embed_audio_segment(480001, 1, &st, &len);
    assert_int_equal(st, 480000);
    assert_int_equal(len, 1);
    /* 75 s: 30 + 30 + 15 */
    assert_int_equal(embed_audio_segments(75 * 16000), 3);
    embed_audio_segment(75 * 16000, 2, &st, &len);
    assert_int_equal(st, 960000);
    assert_int_equal(len, 240000);
    embed_audio_segment(75 * 16000, 0, &st, &len);
    assert_int_equal(len, 480000);
}

/* A one-sample clip is one frame [x, 0, ..., 0]: rms-normed it is x / sqrt(x^2/640 + eps)
 * at index 0, so the soft token is that times column 0 of the projection. */
static void test_audio_projection(void **state)
{
    const quant_table *qt;
    mmproj_model *p;
    matmul_ctx mc;
    float x = 0.25f, out[256];
    lp_error err;
    const float *w;

    (void)state;
    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(mmproj_open(proj_path, 256, &p, &err), LP_OK);
    matmul_ctx_init(&mc, qt, NULL);
    assert_int_equal(embed_audio_project(p, &mc, &x, 1, out, &err), LP_OK);
    w = p->a.proj.data;
    for (int r = 0; r < 256; r++) {
        double want = (double)w[(size_t)r * 640] * x / sqrt((double)x * x / 640.0 + 1e-6);
        assert_true(fabs(out[r] - want) <= 1e-5 * (fabs(want) + 1));
    }
    x = NAN;
    assert_int_equal(embed_audio_project(p, &mc, &x, 1, out, &err), LP_ERR_INVALID);
    matmul_ctx_free(&mc);
    mmproj_close(p);
}

/* ---- with the model ------------------------------------------------------------------ */

typedef struct env {
    gemma_model *m;
    mmproj_model *p;
    tokenizer *t;
    matmul_ctx mc;
} env;

static void env_open(env *e)
{
    const quant_table *qt;
    lp_error err;

    assert_int_equal(quant_table_default(&qt, &err), LP_OK);
    assert_int_equal(gemma_open(model_path, &e->m, &err), LP_OK);
    assert_int_equal(mmproj_open(proj_path, e->m->cfg.n_embd, &e->p, &err), LP_OK);
    assert_int_equal(tokenizer_open(e->m->file, &e->t, &err), LP_OK);
    matmul_ctx_init(&e->mc, qt, NULL);
}

static void env_close(env *e)
{
    matmul_ctx_free(&e->mc);
    tokenizer_close(e->t);
    mmproj_close(e->p);
    gemma_close(e->m);
}

/* All logits of seq, prefilled with the given batch. */
static lp_err run_seq(env *e, const mm_seq *seq, uint32_t batch, float *logits, lp_error *err)
{
    gemma_state *s;
    gemma_state_opts so = {256, batch, GEMMA_CACHE_F32};
    lp_err rc;

    assert_int_equal(gemma_state_open(e->m, &so, &s, err), LP_OK);
    rc = mm_prefill(e->m, s, &e->mc, seq, 0, logits, 1, NULL, NULL, err);
    if (rc == LP_OK)
        assert_int_equal(gemma_state_pos(s), seq->n); /* one position per soft token */
    gemma_state_close(s);
    return rc;
}

#define N_SOFT 6

/* [bos, ids 40..42, N_SOFT soft rows, ids 50..53] with rows from a fixed pattern; the
 * last soft row is moved by `bump`. */
static void build_seq(env *e, mm_seq *seq, int bidirectional, float bump)
{
    const uint32_t E = e->m->cfg.n_embd;
    int32_t head[4] = {2, 40, 41, 42}, tail[4] = {50, 51, 52, 53};
    float *rows = lp_alloc_array((size_t)N_SOFT * E, sizeof *rows);
    lp_error err;

    assert_non_null(rows);
    for (size_t i = 0; i < (size_t)N_SOFT * E; i++)
        rows[i] = sinf(0.37f * (float)i);
    rows[(size_t)(N_SOFT - 1) * E] += bump;
    mm_seq_init(seq, E);
    assert_int_equal(mm_seq_push_ids(seq, head, 4, &err), LP_OK);
    assert_int_equal(mm_seq_push_soft(seq, rows, N_SOFT, bidirectional, &err), LP_OK);
    assert_int_equal(mm_seq_push_ids(seq, tail, 4, &err), LP_OK);
    lp_alloc_free(rows);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fabs((double)a[i] - b[i]) > d ? fabs((double)a[i] - b[i]) : d;
    return d;
}

/* Changing the block's last soft token reaches its first one only through the
 * bidirectional sliding layers: never with the block off, never with every layer full. */
static void test_mask_rule(void **state)
{
    env e = {0};
    mm_seq a, b;
    const size_t n = 4 + N_SOFT + 4;
    float *la, *lb;
    size_t V;
    lp_error err;

    (void)state;
    env_open(&e);
    V = e.m->cfg.n_vocab;
    la = lp_alloc_array(n * V, sizeof *la);
    lb = lp_alloc_array(n * V, sizeof *lb);
    assert_true(la && lb);
    /* block on: position 4 (first soft) sees position 9 (last soft) */
    build_seq(&e, &a, 1, 0.0f);
    build_seq(&e, &b, 1, 3.0f);
    assert_int_equal(mm_seq_max_block(&a), N_SOFT);
    assert_int_equal(run_seq(&e, &a, 64, la, &err), LP_OK);
    assert_int_equal(run_seq(&e, &b, 64, lb, &err), LP_OK);
    assert_true(max_diff(la, lb, 4 * V) == 0); /* text before the block: causal */
    assert_true(max_diff(la + 4 * V, lb + 4 * V, V) > 1e-4);
    /* the batch may cut before and after the block: the same bits */
    assert_int_equal(run_seq(&e, &b, N_SOFT, la, &err), LP_OK);
    assert_true(max_diff(la, lb, n * V) == 0);
    mm_seq_free(&a);
    mm_seq_free(&b);
    /* block off: causal, the first soft token cannot see the last */
    build_seq(&e, &a, 0, 0.0f);
    build_seq(&e, &b, 0, 3.0f);
    assert_int_equal(run_seq(&e, &a, 64, la, &err), LP_OK);
    assert_int_equal(run_seq(&e, &b, 64, lb, &err), LP_OK);
    assert_true(max_diff(la, lb, (4 + N_SOFT - 1) * V) == 0);
    mm_seq_free(&a);
    mm_seq_free(&b);
    /* every layer full (the state's caches follow): the block changes nothing */
    for (uint32_t l = 0; l < e.m->cfg.n_layer; l++)
        e.m->cfg.is_sliding[l] = 0, e.m->layers[l].sliding = 0;
    build_seq(&e, &a, 1, 0.0f);
    build_seq(&e, &b, 1, 3.0f);
    assert_int_equal(run_seq(&e, &a, 64, la, &err), LP_OK);
    assert_int_equal(run_seq(&e, &b, 64, lb, &err), LP_OK);
    assert_true(max_diff(la, lb, (4 + N_SOFT - 1) * V) == 0);
    /* a batch smaller than the block is refused with the size it needs */
    assert_int_equal(run_seq(&e, &a, N_SOFT - 1, la, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "at least 6"));
    mm_seq_free(&a);
    mm_seq_free(&b);
    lp_alloc_free(la);
    lp_alloc_free(lb);
    env_close(&e);
}

/* A soft row equal to E[id] * sqrt(n_embd) is the text token id: same position, same
 * bits; so soft rows are used unscaled and take ordinary positions. */
static void test_soft_is_unscaled(void **state)
{
    env e = {0};
    int32_t ids[5] = {2, 60, 61, 62, 63};
    const uint32_t E = 256;
    float row[256], *la, *lb;
    gemma_state *s;
    gemma_state_opts so = {16, 8, GEMMA_CACHE_F32};
    int32_t toks[5];
    uint32_t blk[5] = {0, 0, 0, 0, 0};
    gemma_batch b;
    lp_error err;
    size_t V;

    (void)state;
    env_open(&e);
    V = e.m->cfg.n_vocab;
    la = lp_alloc_array(5 * V, sizeof *la);
    lb = lp_alloc_array(5 * V, sizeof *lb);
    memcpy(row, (const float *)e.m->tok_embd.data + (size_t)62 * E, sizeof row);
    for (uint32_t i = 0; i < E; i++)
        row[i] *= sqrtf((float)E);
    memcpy(toks, ids, sizeof toks);
    toks[3] = GEMMA_TOKEN_SOFT;
    assert_int_equal(gemma_state_open(e.m, &so, &s, &err), LP_OK);
    assert_int_equal(gemma_forward(e.m, s, &e.mc, ids, 5, la, 1, &err), LP_OK);
    gemma_state_reset(s);
    b = (gemma_batch){.tokens = toks, .embd = row, .n_embd_rows = 1, .block = blk, .n = 5};
    assert_int_equal(gemma_forward_batch(e.m, s, &e.mc, &b, lb, 1, &err), LP_OK);
    assert_true(max_diff(la, lb, 5 * V) == 0);
    /* too few rows, and a block continued from the previous batch, are refused */
    gemma_state_reset(s);
    b.n_embd_rows = 0;
    assert_int_equal(gemma_forward_batch(e.m, s, &e.mc, &b, NULL, 0, &err), LP_ERR_USAGE);
    blk[3] = blk[4] = 7;
    b = (gemma_batch){.tokens = toks, .embd = row, .n_embd_rows = 1, .block = blk, .n = 5};
    assert_int_equal(gemma_forward_batch(e.m, s, &e.mc, &b, NULL, 0, &err), LP_OK);
    b = (gemma_batch){.tokens = ids, .embd = NULL, .n_embd_rows = 0, .block = blk + 3, .n = 2};
    assert_int_equal(gemma_forward_batch(e.m, s, &e.mc, &b, NULL, 0, &err), LP_ERR_USAGE);
    assert_non_null(strstr(err.msg, "one batch"));
    gemma_state_close(s);
    lp_alloc_free(la);
    lp_alloc_free(lb);
    env_close(&e);
}

static size_t count_id(const mm_seq *s, int32_t id)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        k += s->ids[i] == id;
    return k;
}

/* Soft tokens between the i-th occurrence of open and the next close. */
static size_t block_len(const mm_seq *s, int32_t open, int32_t close, size_t which)
{
    for (size_t i = 0, seen = 0; i < s->n; i++)
        if (s->ids[i] == open && seen++ == which) {
            size_t k = 0;
            while (s->ids[i + 1 + k] == GEMMA_TOKEN_SOFT)
                k++;
            assert_int_equal(s->ids[i + 1 + k], close);
            return k;
        }
    fail_msg("block %zu not found", which);
    return 0;
}

static void test_chat_and_media(void **state)
{
    env e = {0};
    const char *text = "  Is <turn|> this on brand?\n";
    uint8_t *img = lp_alloc_array(1024 * 768, 3);
    float *sound = lp_alloc_array(31 * 16000, sizeof(float));
    chat_msg cm[2] = {{CHAT_SYSTEM, "Be brief.", 9}, {CHAT_USER, text, strlen(text)}};
    mm_part tp = {.kind = MM_PART_TEXT, .text = text, .n_text = strlen(text)};
    mm_part parts[3] = {{.kind = MM_PART_IMAGE, .rgb = img, .w = 1024, .h = 768},
                        {.kind = MM_PART_AUDIO, .samples = sound, .n_samples = 31 * 16000},
                        tp};
    mm_part sys_part = {.kind = MM_PART_TEXT, .text = "Be brief.", .n_text = 9};
    mm_msg msgs[2] = {{CHAT_SYSTEM, &sys_part, 1}, {CHAT_USER, &tp, 1}};
    mm_opts mo;
    mm_seq seq;
    int32_t *ids = NULL, turn_close, img_open, img_close, aud_open, aud_close;
    size_t n_ids = 0;
    lp_error err;

    (void)state;
    env_open(&e);
    assert_true(img && sound);
    for (size_t i = 0; i < 1024 * 768 * 3; i++)
        img[i] = (uint8_t)(i * 7 % 251);
    for (size_t i = 0; i < 31 * 16000; i++)
        sound[i] = 0.3f * sinf(0.01f * (float)i);
    mm_opts_default(&mo);
    mo.image_tokens = 70;
    /* text only: the very ids chat_render gives, for thinking off and on */
    for (int think = 0; think < 2; think++) {
        mo.think = think;
        assert_int_equal(chat_render(e.t, GEMMA_ARCH_GEMMA4, cm, 2, think, &ids, &n_ids, &err),
                         LP_OK);
        mm_seq_init(&seq, 256);
        assert_int_equal(
            mm_render_chat(e.t, GEMMA_ARCH_GEMMA4, NULL, NULL, msgs, 2, &mo, &seq, &err), LP_OK);
        assert_int_equal(seq.n, n_ids);
        assert_memory_equal(seq.ids, ids, n_ids * sizeof *ids);
        mm_seq_free(&seq);
        lp_alloc_free(ids);
    }
    mo.think = 0;
    /* media first, then text: a 1024x768 image at 70 tokens is 9 x 7 patches (§3.1);
     * 31 s of audio is 750 + 25 tokens in two blocks (§3.3) */
    msgs[1] = (mm_msg){CHAT_USER, parts, 3};
    turn_close = tokenizer_find(e.t, "<turn|>");
    img_open = tokenizer_find(e.t, "<|image>");
    img_close = tokenizer_find(e.t, "<image|>");
    aud_open = tokenizer_find(e.t, "<|audio>");
    aud_close = tokenizer_find(e.t, "<audio|>");
    mm_seq_init(&seq, 256);
    assert_int_equal(mm_render_chat(e.t, GEMMA_ARCH_GEMMA4, e.p, &e.mc, msgs, 2, &mo, &seq, &err),
                     LP_OK);
    assert_int_equal(block_len(&seq, img_open, img_close, 0), 63);
    assert_int_equal(count_id(&seq, aud_open), 2);
    assert_int_equal(block_len(&seq, aud_open, aud_close, 0), 750);
    assert_int_equal(block_len(&seq, aud_open, aud_close, 1), 25);
    assert_int_equal(seq.n_soft, 63 + 775);
    assert_int_equal(mm_seq_max_block(&seq), 63);    /* audio is causal: no block */
    assert_int_equal(count_id(&seq, turn_close), 2); /* the user's "<turn|>" stays text */
    /* a model without a projector cannot take media */
    mm_seq_free(&seq);
    mm_seq_init(&seq, 256);
    assert_int_equal(mm_render_chat(e.t, GEMMA_ARCH_GEMMA4, NULL, NULL, msgs, 2, &mo, &seq, &err),
                     LP_ERR_USAGE);
    assert_int_equal(seq.n, 0);
    mm_seq_free(&seq);
    lp_alloc_free(img);
    lp_alloc_free(sound);
    env_close(&e);
}

/* Three 48x48 frames at 70 tokens each is 8 x 8 patches; 3 s of sound cut at the frame
 * times 1.0 s and 2.5 s (rounded to 40 ms: 63 frames) gives blocks of 25, 38 and 12. */
static void test_video_layout(void **state)
{
    env e = {0};
    uint8_t px[48 * 48 * 3];
    float *sound = lp_alloc_array(48000, sizeof(float));
    mm_frame fr[3] = {{px, 48, 48, 0.0}, {px, 48, 48, 1.0}, {px, 48, 48, 2.5}};
    int32_t *ids = NULL, vopen, vclose, aopen, aclose;
    size_t n_ids = 0;
    mm_seq seq;
    char ts[16];
    lp_error err;

    (void)state;
    env_open(&e);
    memset(px, 128, sizeof px);
    for (int i = 0; i < 48000; i++)
        sound[i] = 0.1f * cosf(0.02f * (float)i);
    mm_seq_init(&seq, 256);
    assert_int_equal(mm_seq_push_video(&seq, e.t, e.p, &e.mc, fr, 3, sound, 48000, 70, &err),
                     LP_OK);
    vopen = tokenizer_find(e.t, "<|image>");
    vclose = tokenizer_find(e.t, "<image|>");
    aopen = tokenizer_find(e.t, "<|audio>");
    aclose = tokenizer_find(e.t, "<audio|>");
    assert_int_equal(count_id(&seq, vopen), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(block_len(&seq, vopen, vclose, i), 64);
    assert_int_equal(block_len(&seq, aopen, aclose, 0), 25);
    assert_int_equal(block_len(&seq, aopen, aclose, 1), 38);
    assert_int_equal(block_len(&seq, aopen, aclose, 2), 12);
    assert_int_equal(seq.n_blocks, 3); /* each frame its own block */
    /* the text starts with "00:00 " encoded on its own */
    assert_int_equal(tokenizer_encode(e.t, "00:00 ", 6, 0, 0, &ids, &n_ids, &err), LP_OK);
    assert_memory_equal(seq.ids, ids, n_ids * sizeof *ids);
    assert_int_equal(seq.ids[n_ids], vopen);
    lp_alloc_free(ids);
    mm_timestamp(65.9, ts, sizeof ts);
    assert_string_equal(ts, "01:05");
    mm_timestamp(6000.0, ts, sizeof ts);
    assert_string_equal(ts, "100:00");
    /* out of time order is refused, and leaves the sequence as it was */
    fr[2].t_s = 0.5;
    n_ids = seq.n;
    assert_int_equal(mm_seq_push_video(&seq, e.t, e.p, &e.mc, fr, 3, sound, 48000, 70, &err),
                     LP_ERR_INVALID);
    assert_int_equal(seq.n, n_ids);
    mm_seq_free(&seq);
    lp_alloc_free(sound);
    env_close(&e);
}

/* generate_run_mm prefills the sequence and then decodes like generate_run: greedy from
 * a text-only sequence gives the same text. */
static int collect(void *ctx, const char *s, size_t n)
{
    char *buf = ctx;
    size_t have = strlen(buf);
    if (have + n < 512) {
        memcpy(buf + have, s, n);
        buf[have + n] = '\0';
    }
    return 0;
}

static void test_generate_mm(void **state)
{
    env e = {0};
    char a[512] = "", b[512] = "";
    int32_t ids[6] = {2, 40, 41, 42, 43, 44};
    generate_opts go = {.max_tokens = 8, .on_text = collect};
    generate_stats st;
    sampler_params sp;
    sampler *smp;
    gemma_state *s;
    gemma_state_opts so = {64, 4, GEMMA_CACHE_F32};
    mm_seq seq;
    lp_error err;

    (void)state;
    env_open(&e);
    sampler_params_default(&sp);
    assert_int_equal(gemma_state_open(e.m, &so, &s, &err), LP_OK);
    assert_int_equal(sampler_open(&sp, e.m->cfg.n_vocab, &smp, &err), LP_OK);
    go.ctx = a;
    assert_int_equal(generate_run(e.m, s, &e.mc, e.t, smp, ids, 6, &go, &st, &err), LP_OK);
    sampler_close(smp);
    gemma_state_reset(s);
    assert_int_equal(sampler_open(&sp, e.m->cfg.n_vocab, &smp, &err), LP_OK);
    mm_seq_init(&seq, 256);
    assert_int_equal(mm_seq_push_ids(&seq, ids, 6, &err), LP_OK);
    go.ctx = b;
    assert_int_equal(generate_run_mm(e.m, s, &e.mc, e.t, smp, &seq, &go, &st, &err), LP_OK);
    assert_int_equal(st.n_prompt, 6);
    assert_string_equal(a, b);
    sampler_close(smp);
    mm_seq_free(&seq);
    gemma_state_close(s);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader),           cmocka_unit_test(test_audio_framing),
        cmocka_unit_test(test_audio_projection), cmocka_unit_test(test_mask_rule),
        cmocka_unit_test(test_soft_is_unscaled), cmocka_unit_test(test_chat_and_media),
        cmocka_unit_test(test_video_layout),     cmocka_unit_test(test_generate_mm),
    };
    return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
