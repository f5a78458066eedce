/* `loupe logits`: runs token ids, and optionally images, audio and video frames through
 * the projector, as one sequence through a model and writes the logits of every
 * position (raw little-endian f32, n_tok x n_vocab) or prints the top ids. This is
 * what the tests compare against the NumPy reference. Inputs are assembled in the
 * order given on the command line (engine/mm.h). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/mm.h"

#define CMD_LOGITS_MAX_TOKENS 65536
#define CMD_LOGITS_MAX_PARTS 64
#define CMD_LOGITS_MAX_MEDIA (256u << 20) /* bytes of one raw media file */

typedef enum cmd_part_kind {
    CMD_PART_IDS = 0,
    CMD_PART_IMAGE,
    CMD_PART_FRAME,
    CMD_PART_AUDIO
} cmd_part_kind;

typedef struct cmd_logits_part {
    cmd_part_kind kind;
    const char *arg; /* the id list, or the raw file */
    uint32_t w, h;
} cmd_logits_part;

typedef struct cmd_logits_opts {
    const char *model, *mmproj, *out;
    int64_t threads, batch, ctx, image_tokens, frame_tokens;
    gemma_cache_type cache;
    cmd_logits_part parts[CMD_LOGITS_MAX_PARTS];
    size_t n_parts;
} cmd_logits_opts;

static void cmd_logits_usage(FILE *f)
{
    fprintf(f, "usage: loupe logits -m MODEL --ids ID,ID,... [-o OUT.f32] [-t THREADS]\n"
               "                    [--batch N] [-c CTX] [--cache-type f32|f16]\n"
               "                    [--mmproj PROJ.gguf] [--image-tokens N] [--frame-tokens N]\n"
               "                    [--image-raw W H RGB8FILE] [--frame-raw W H RGB8FILE]\n"
               "                    [--audio-raw F32LE_16KHZ_MONO_FILE]\n"
               "  --ids and the media options may repeat; they are joined in the order given.\n"
               "  --image-raw: <|image> soft tokens <image|>; --frame-raw: a video frame block\n"
               "  (<|video|> placeholders, --frame-tokens, default 70); --audio-raw: <|audio>\n"
               "  blocks of at most 30 s. Soft tokens print as id -1.\n");
}

static lp_err cmd_logits_tokens(const char *list, int32_t **out, uint32_t *n, lp_error *err)
{
    int32_t *ids = lp_alloc_array(CMD_LOGITS_MAX_TOKENS, sizeof *ids);
    char num[32];
    const char *p = list;

    *out = NULL;
    *n = 0;
    if (!ids)
        return lp_err_set(err, LP_ERR_NOMEM, "--tokens: out of memory");
    while (*p) {
        size_t len = strcspn(p, ",");
        int64_t v;
        if (len == 0 || len >= sizeof num || *n >= CMD_LOGITS_MAX_TOKENS) {
            lp_alloc_free(ids);
            return lp_err_set(err, LP_ERR_USAGE, "--tokens: bad list near '%.20s'", p);
        }
        memcpy(num, p, len);
        num[len] = '\0';
        if (lp_parse_i64(num, 0, INT32_MAX, "--tokens", &v, err) != LP_OK) {
            lp_alloc_free(ids);
            return LP_ERR_USAGE;
        }
        ids[(*n)++] = (int32_t)v;
        p += len + (p[len] == ',');
    }
    if (*n == 0) {
        lp_alloc_free(ids);
        return lp_err_set(err, LP_ERR_USAGE, "--tokens: empty list");
    }
    *out = ids;
    return LP_OK;
}

static int cmd_logits_add_part(cmd_logits_opts *o, cmd_part_kind kind, const char *arg, uint32_t w,
                               uint32_t h, lp_error *err)
{
    if (o->n_parts >= CMD_LOGITS_MAX_PARTS) {
        lp_err_set(err, LP_ERR_USAGE, "more than %d --ids / media inputs", CMD_LOGITS_MAX_PARTS);
        return 0;
    }
    o->parts[o->n_parts++] = (cmd_logits_part){.kind = kind, .arg = arg, .w = w, .h = h};
    return 1;
}

/* --image-raw / --frame-raw W H FILE: three values. */
static int cmd_logits_picture(int argc, char **argv, int *i, cmd_logits_opts *o, cmd_part_kind kind,
                              lp_error *err)
{
    int64_t w, h;

    if (*i + 3 >= argc) {
        lp_err_set(err, LP_ERR_USAGE, "%s needs W H FILE", argv[*i]);
        return 0;
    }
    if (lp_parse_i64(argv[*i + 1], 1, 32768, "width", &w, err) != LP_OK ||
        lp_parse_i64(argv[*i + 2], 1, 32768, "height", &h, err) != LP_OK)
        return 0;
    if (!cmd_logits_add_part(o, kind, argv[*i + 3], (uint32_t)w, (uint32_t)h, err))
        return 0;
    *i += 3;
    return 1;
}

static int cmd_logits_parse(int argc, char **argv, cmd_logits_opts *o, lp_error *err)
{
    int have_ids = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        lp_err rc = LP_OK;
        if (!strcmp(a, "--image-raw") || !strcmp(a, "--frame-raw")) {
            if (!cmd_logits_picture(argc, argv, &i, o,
                                    !strcmp(a, "--image-raw") ? CMD_PART_IMAGE : CMD_PART_FRAME,
                                    err))
                return 0;
            continue;
        }
        if (!v) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", a);
            return 0;
        }
        i++;
        if (!strcmp(a, "-m"))
            o->model = v;
        else if (!strcmp(a, "--tokens") || !strcmp(a, "--ids")) {
            if (!cmd_logits_add_part(o, CMD_PART_IDS, v, 0, 0, err))
                return 0;
            have_ids = 1;
        } else if (!strcmp(a, "--audio-raw")) {
            if (!cmd_logits_add_part(o, CMD_PART_AUDIO, v, 0, 0, err))
                return 0;
        } else if (!strcmp(a, "--mmproj"))
            o->mmproj = v;
        else if (!strcmp(a, "-o"))
            o->out = v;
        else if (!strcmp(a, "-t"))
            rc = lp_parse_i64(v, 0, LP_THREADPOOL_MAX, "-t", &o->threads, err);
        else if (!strcmp(a, "--batch"))
            rc = lp_parse_i64(v, 1, 65536, "--batch", &o->batch, err);
        else if (!strcmp(a, "-c"))
            rc = lp_parse_i64(v, 1, 1 << 24, "-c", &o->ctx, err);
        else if (!strcmp(a, "--image-tokens"))
            rc = lp_parse_i64(v, 70, 1120, "--image-tokens", &o->image_tokens, err);
        else if (!strcmp(a, "--frame-tokens"))
            rc = lp_parse_i64(v, 70, 1120, "--frame-tokens", &o->frame_tokens, err);
        else if (!strcmp(a, "--cache-type") && (!strcmp(v, "f32") || !strcmp(v, "f16")))
            o->cache = !strcmp(v, "f16") ? GEMMA_CACHE_F16 : GEMMA_CACHE_F32;
        else {
            lp_err_set(err, LP_ERR_USAGE, "unknown option '%s %s'", a, v);
            return 0;
        }
        if (rc != LP_OK)
            return 0;
    }
    if (!o->model || !have_ids) {
        lp_err_set(err, LP_ERR_USAGE, "-m and --ids are required");
        return 0;
    }
    if (o->n_parts > 0 && !o->mmproj) {
        for (size_t i = 0; i < o->n_parts; i++)
            if (o->parts[i].kind != CMD_PART_IDS) {
                lp_err_set(err, LP_ERR_USAGE, "media inputs need --mmproj");
                return 0;
            }
    }
    return 1;
}

/* One raw media file: RGB8 of exactly w*h*3 bytes, or f32le samples. */
static lp_err cmd_logits_media(const cmd_logits_part *pt, const gemma_model *m,
                               const mmproj_model *pj, matmul_ctx *mc, const tokenizer *tok,
                               const cmd_logits_opts *o, mm_seq *seq, lp_error *err)
{
    uint8_t *raw = NULL;
    size_t n = 0;
    lp_err rc = lp_fs_read_all(pt->arg, CMD_LOGITS_MAX_MEDIA, &raw, &n, err);

    (void)m;
    if (rc != LP_OK)
        return rc;
    if (pt->kind == CMD_PART_AUDIO) {
        float *x = n % 4 == 0 && n > 0 ? lp_alloc_array(n / 4, sizeof *x) : NULL;
        if (n % 4 != 0 || n == 0)
            rc = lp_err_set(err, LP_ERR_INVALID,
                            "%s: %zu bytes is not a whole number of f32 samples", pt->arg, n);
        else if (!x)
            rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", pt->arg);
        else {
            memcpy(x, raw, n); /* little-endian host, as the build assumes everywhere */
            rc = mm_seq_push_audio(seq, tok, pj, mc, x, n / 4, err);
        }
        lp_alloc_free(x);
    } else if ((uint64_t)pt->w * pt->h * 3u != n) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %zu bytes, a %ux%u RGB8 image has %llu", pt->arg,
                        n, pt->w, pt->h, (unsigned long long)pt->w * pt->h * 3u);
    } else if (pt->kind == CMD_PART_IMAGE) {
        rc = mm_seq_push_image(seq, tok, pj, mc, raw, pt->w, pt->h, (uint32_t)o->image_tokens, err);
    } else {
        rc = mm_seq_push_frame(seq, tok, pj, mc, raw, pt->w, pt->h, (uint32_t)o->frame_tokens, err);
    }
    if (rc != LP_OK)
        lp_err_prefix(err, "%s", pt->arg);
    lp_alloc_free(raw);
    return rc;
}

static lp_err cmd_logits_build(const cmd_logits_opts *o, const gemma_model *m, matmul_ctx *mc,
                               mm_seq *seq, lp_error *err)
{
    mmproj_model *pj = NULL;
    tokenizer *tok = NULL;
    lp_err rc = LP_OK;

    if (o->mmproj) {
        rc = mmproj_open(o->mmproj, m->cfg.n_embd, &pj, err);
        if (rc == LP_OK)
            rc = tokenizer_open(m->file, &tok, err);
    }
    for (size_t i = 0; rc == LP_OK && i < o->n_parts; i++) {
        const cmd_logits_part *pt = &o->parts[i];
        if (pt->kind == CMD_PART_IDS) {
            int32_t *ids = NULL;
            uint32_t k = 0;
            rc = cmd_logits_tokens(pt->arg, &ids, &k, err);
            if (rc == LP_OK)
                rc = mm_seq_push_ids(seq, ids, k, err);
            lp_alloc_free(ids);
        } else {
            rc = cmd_logits_media(pt, m, pj, mc, tok, o, seq, err);
        }
    }
    if (rc == LP_OK && seq->n > CMD_LOGITS_MAX_TOKENS)
        rc = lp_err_set(err, LP_ERR_LIMIT, "logits: %zu tokens, over %d", seq->n,
                        CMD_LOGITS_MAX_TOKENS);
    tokenizer_close(tok);
    mmproj_close(pj);
    return rc;
}

int cmd_logits(int argc, char **argv)
{
    cmd_logits_opts o = {.threads = 0,
                         .batch = 512,
                         .image_tokens = 280,
                         .frame_tokens = 70,
                         .cache = GEMMA_CACHE_F32};
    const quant_table *qt = NULL;
    gemma_model *m = NULL;
    gemma_state *s = NULL;
    lp_threadpool *pool = NULL;
    float *logits = NULL;
    uint32_t n = 0, V;
    matmul_ctx mc;
    mm_seq seq;
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&mc, 0, sizeof mc);
    memset(&seq, 0, sizeof seq);
    if (!cmd_logits_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "loupe logits: %s\n", err.msg);
        cmd_logits_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    for (size_t i = 0; i < o.n_parts; i++) { /* bad id lists are usage errors, before loading */
        int32_t *ids = NULL;
        uint32_t k = 0;
        if (o.parts[i].kind != CMD_PART_IDS)
            continue;
        if (cmd_logits_tokens(o.parts[i].arg, &ids, &k, &err) != LP_OK) {
            fprintf(stderr, "loupe logits: %s\n", err.msg);
            return CMD_EXIT_USAGE;
        }
        lp_alloc_free(ids);
    }
    if (gemma_open(o.model, &m, &err) != LP_OK || quant_table_default(&qt, &err) != LP_OK ||
        lp_threadpool_open((int)o.threads, &pool, &err) != LP_OK)
        goto out;
    matmul_ctx_init(&mc, qt, pool);
    mm_seq_init(&seq, m->cfg.n_embd);
    if (cmd_logits_build(&o, m, &mc, &seq, &err) != LP_OK)
        goto out;
    n = (uint32_t)seq.n;
    {
        uint32_t ctx = o.ctx ? (uint32_t)o.ctx : n;
        gemma_state_opts so = {ctx, (uint32_t)o.batch, o.cache};
        if (gemma_state_open(m, &so, &s, &err) != LP_OK)
            goto out;
    }
    V = m->cfg.n_vocab;
    logits = lp_alloc_array((size_t)n * V, sizeof *logits);
    if (!logits) {
        lp_err_set(&err, LP_ERR_NOMEM, "logits: cannot allocate %u x %u floats", n, V);
        goto out;
    }
    if (mm_prefill(m, s, &mc, &seq, 0, logits, 1, NULL, NULL, &err) != LP_OK)
        goto out;
    if (o.out) {
        lp_fs_atomic f;
        if (lp_fs_atomic_open(o.out, &f, &err) != LP_OK)
            goto out;
        if (lp_fs_atomic_write(&f, logits, (size_t)n * V * sizeof *logits, &err) != LP_OK ||
            lp_fs_atomic_commit(&f, &err) != LP_OK) {
            lp_fs_atomic_abort(&f);
            goto out;
        }
    } else {
        for (uint32_t t = 0; t < n; t++) {
            const float *l = logits + (size_t)t * V;
            uint32_t best = 0;
            for (uint32_t i = 1; i < V; i++)
                best = l[i] > l[best] ? i : best;
            printf("%u\t%d\t%u\t%.6f\n", t, seq.ids[t], best, (double)l[best]);
        }
    }
    rc = CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe logits: %s\n", err.msg);
    matmul_ctx_free(&mc);
    mm_seq_free(&seq);
    lp_alloc_free(logits);
    gemma_state_close(s);
    gemma_close(m);
    lp_threadpool_close(pool);
    return rc;
}
