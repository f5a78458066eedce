/* `loupe bench media`: what one image, one audio clip and one video cost on their way
 * into the model: decode (the media layer), embed (the projector, through the
 * mm_seq_push_* calls) and the prefill of exactly the sequence that makes, so that the
 * share of embedding in the whole is measured rather than guessed. */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/mm.h"
#include "loupe/media/av.h"
#include "loupe/media/image.h"

#define BENCH_MEDIA_MAX_REPS 32
#define BENCH_MEDIA_RATE 16000 /* the model's audio rate */

enum { BM_IMAGE, BM_AUDIO, BM_VIDEO, BM_KINDS };
static const char *const bench_media_names[BM_KINDS] = {"image", "audio", "video"};

typedef struct bench_media_opts {
    const char *model, *mmproj, *path[BM_KINDS];
    int64_t threads, reps, frames, image_tokens, frame_tokens, batch;
    int json, no_prefill;
} bench_media_opts;

/* Figures of one kind: medians over the repeats. */
typedef struct bench_media_res {
    size_t tokens, soft;
    double decode_s, embed_s, prefill_s;
    char what[96]; /* the decoded input, in words */
} bench_media_res;

/* Decoded input of one kind; each kind uses its own fields (video: frames + audio). */
typedef struct bench_media_input {
    media_image img;
    media_audio audio;
    media_frames frames;
} bench_media_input;

typedef struct bench_media_ctx {
    const bench_media_opts *o;
    gemma_model *m;
    mmproj_model *pj;
    tokenizer *tok;
    matmul_ctx mc;
    float *logits;
} bench_media_ctx;

static void bench_media_usage(FILE *f)
{
    fprintf(f, "usage: loupe bench media -m MODEL --mmproj MMPROJ [--image F] [--audio F] "
               "[--video F]\n"
               "                         [-t THREADS] [-r 3] [--video-frames 32] "
               "[--image-tokens 280]\n"
               "                         [--frame-tokens 70] [--batch 512] [--no-prefill] "
               "[--json]\n");
}

static int bench_media_parse_opt(bench_media_opts *o, const char *a, const char *v, lp_error *err)
{
    lp_err rc = LP_OK;

    if (!strcmp(a, "-m"))
        o->model = v;
    else if (!strcmp(a, "--mmproj"))
        o->mmproj = v;
    else if (!strcmp(a, "--image"))
        o->path[BM_IMAGE] = v;
    else if (!strcmp(a, "--audio"))
        o->path[BM_AUDIO] = v;
    else if (!strcmp(a, "--video"))
        o->path[BM_VIDEO] = v;
    else if (!strcmp(a, "-t"))
        rc = lp_parse_i64(v, 0, LP_THREADPOOL_MAX, "-t", &o->threads, err);
    else if (!strcmp(a, "-r"))
        rc = lp_parse_i64(v, 1, BENCH_MEDIA_MAX_REPS, "-r", &o->reps, err);
    else if (!strcmp(a, "--video-frames"))
        rc = lp_parse_i64(v, 1, MEDIA_AV_MAX_FRAMES, "--video-frames", &o->frames, err);
    else if (!strcmp(a, "--image-tokens"))
        rc = lp_parse_i64(v, 70, 1120, "--image-tokens", &o->image_tokens, err);
    else if (!strcmp(a, "--frame-tokens"))
        rc = lp_parse_i64(v, 70, 1120, "--frame-tokens", &o->frame_tokens, err);
    else if (!strcmp(a, "--batch"))
        rc = lp_parse_i64(v, 1, 65536, "--batch", &o->batch, err);
    else {
        lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", a);
        return 0;
    }
    return rc == LP_OK;
}

static int bench_media_parse(int argc, char **argv, bench_media_opts *o)
{
    lp_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json") || !strcmp(a, "--no-prefill")) {
            *(a[2] == 'j' ? &o->json : &o->no_prefill) = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "loupe bench media: %s needs a value\n", a);
            return 0;
        }
        i++;
        if (!bench_media_parse_opt(o, a, v, &err)) {
            fprintf(stderr, "loupe bench media: %s\n", err.msg);
            return 0;
        }
    }
    if (!o->model || !o->mmproj ||
        (!o->path[BM_IMAGE] && !o->path[BM_AUDIO] && !o->path[BM_VIDEO])) {
        fprintf(stderr, "loupe bench media: needs -m, --mmproj and at least one input\n");
        bench_media_usage(stderr);
        return 0;
    }
    return 1;
}

static int bench_media_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_media_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_media_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void bench_media_input_free(bench_media_input *in)
{
    media_image_free(&in->img);
    media_audio_free(&in->audio);
    media_video_frames_free(&in->frames);
}

/* (a) the media layer alone: file to pixels / 16 kHz samples. */
static lp_err bench_media_decode(const bench_media_opts *o, int k, bench_media_input *in,
                                 lp_error *err)
{
    const char *p = o->path[k];
    lp_err rc;

    if (k == BM_IMAGE)
        return media_image_decode_file(p, &in->img, NULL, err);
    if (k == BM_AUDIO)
        return media_audio_decode(p, BENCH_MEDIA_RATE, 0, &in->audio, err);
    rc = media_video_frames(p, (int)o->frames, 0, &in->frames, err);
    if (rc == LP_OK)
        rc = media_audio_decode(p, BENCH_MEDIA_RATE, 0, &in->audio, err);
    return rc == LP_ERR_NOTFOUND ? LP_OK : rc; /* a silent video is still a video */
}

/* (b) soft tokens through the projector, plus the markers the pushes add. */
static lp_err bench_media_embed(bench_media_ctx *c, int k, const bench_media_input *in, mm_seq *seq,
                                lp_error *err)
{
    const media_frames *fr = &in->frames;
    mm_frame *f;
    lp_err rc;

    if (k == BM_IMAGE)
        return mm_seq_push_image(seq, c->tok, c->pj, &c->mc, in->img.rgb, (uint32_t)in->img.w,
                                 (uint32_t)in->img.h, (uint32_t)c->o->image_tokens, err);
    if (k == BM_AUDIO)
        return mm_seq_push_audio(seq, c->tok, c->pj, &c->mc, in->audio.samples, in->audio.n, err);
    f = lp_alloc_array(fr->n, sizeof *f);
    if (!f)
        return lp_err_set(err, LP_ERR_NOMEM, "out of memory for %zu frames", fr->n);
    for (size_t i = 0; i < fr->n; i++)
        f[i] = (mm_frame){.rgb = fr->frames[i].img.rgb,
                          .w = (uint32_t)fr->frames[i].img.w,
                          .h = (uint32_t)fr->frames[i].img.h,
                          .t_s = fr->frames[i].t};
    rc = mm_seq_push_video(seq, c->tok, c->pj, &c->mc, f, fr->n, in->audio.samples, in->audio.n,
                           (uint32_t)c->o->frame_tokens, err);
    lp_alloc_free(f);
    return rc;
}

/* (c) the prefill of exactly seq from position 0; the state is opened on first use,
 * sized to seq, and reset before every run so each one starts from nothing. */
static lp_err bench_media_prefill(bench_media_ctx *c, gemma_state **st, const mm_seq *seq,
                                  double *sec, lp_error *err)
{
    double t0;
    lp_err rc;

    if (!*st) {
        size_t blk = mm_seq_max_block(seq), batch = (size_t)c->o->batch;
        gemma_state_opts so = {.n_ctx = (uint32_t)seq->n,
                               .n_batch = (uint32_t)(blk > batch ? blk : batch),
                               .cache_type = GEMMA_CACHE_F16};
        rc = gemma_state_open(c->m, &so, st, err);
        if (rc != LP_OK)
            return rc;
    }
    gemma_state_reset(*st);
    t0 = lp_clock_now();
    rc = mm_prefill(c->m, *st, &c->mc, seq, 0, c->logits, 0, NULL, NULL, err);
    *sec = lp_clock_now() - t0;
    return rc;
}

static void bench_media_describe(int k, const bench_media_input *in, bench_media_res *r)
{
    double audio_s = (double)in->audio.n / BENCH_MEDIA_RATE;

    if (k == BM_IMAGE)
        snprintf(r->what, sizeof r->what, "%dx%d", in->img.w, in->img.h);
    else if (k == BM_AUDIO)
        snprintf(r->what, sizeof r->what, "%.1f s", audio_s);
    else
        snprintf(r->what, sizeof r->what, "%zu frames of %dx%d, %.1f s of sound", in->frames.n,
                 in->frames.n ? in->frames.frames[0].img.w : 0,
                 in->frames.n ? in->frames.frames[0].img.h : 0, audio_s);
}

/* Every repeat decodes, embeds and prefills afresh; the figures are the medians. */
static lp_err bench_media_run_kind(bench_media_ctx *c, int k, bench_media_res *r, lp_error *err)
{
    double dec[BENCH_MEDIA_MAX_REPS], emb[BENCH_MEDIA_MAX_REPS], pre[BENCH_MEDIA_MAX_REPS];
    const bench_media_opts *o = c->o;
    gemma_state *st = NULL;
    lp_err rc = LP_OK;

    for (int i = 0; i < (int)o->reps && rc == LP_OK; i++) {
        bench_media_input in;
        mm_seq seq;
        double t0 = lp_clock_now();

        memset(&in, 0, sizeof in);
        mm_seq_init(&seq, c->m->cfg.n_embd);
        pre[i] = 0;
        rc = bench_media_decode(o, k, &in, err);
        dec[i] = lp_clock_now() - t0;
        t0 = lp_clock_now();
        if (rc == LP_OK)
            rc = bench_media_embed(c, k, &in, &seq, err);
        emb[i] = lp_clock_now() - t0;
        if (rc != LP_OK)
            lp_err_prefix(err, "%s", o->path[k]);
        else if (!o->no_prefill)
            rc = bench_media_prefill(c, &st, &seq, &pre[i], err);
        r->tokens = seq.n;
        r->soft = seq.n_soft;
        bench_media_describe(k, &in, r);
        if (rc == LP_OK && !o->json)
            fprintf(stderr, "%s rep %d: decode %.3f s, embed %.3f s, prefill %.2f s\n",
                    bench_media_names[k], i + 1, dec[i], emb[i], pre[i]);
        bench_media_input_free(&in);
        mm_seq_free(&seq);
    }
    gemma_state_close(st);
    if (rc != LP_OK)
        return rc;
    r->decode_s = bench_media_median(dec, (int)o->reps);
    r->embed_s = bench_media_median(emb, (int)o->reps);
    r->prefill_s = o->no_prefill ? 0 : bench_media_median(pre, (int)o->reps);
    return LP_OK;
}

static void bench_media_report(const bench_media_opts *o, const bench_media_res *res, int threads,
                               const char *isa, double load_s)
{
    struct rusage ru;
    cJSON *j = cJSON_CreateObject();
    uint64_t rss;
    char *txt;

    getrusage(RUSAGE_SELF, &ru);
    rss = (uint64_t)ru.ru_maxrss * 1024u;
    if (!o->json)
        printf("model: %s, projector %s, load %.2f s\n"
               "config: -t %d -r %lld --image-tokens %lld --video-frames %lld --frame-tokens "
               "%lld, isa %s (medians)\n",
               o->model, o->mmproj, load_s, threads, (long long)o->reps, (long long)o->image_tokens,
               (long long)o->frames, (long long)o->frame_tokens, isa);
    cJSON_AddStringToObject(j, "bench", "media");
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddStringToObject(j, "mmproj", o->mmproj);
    cJSON_AddStringToObject(j, "isa", isa);
    cJSON_AddNumberToObject(j, "threads", threads);
    cJSON_AddNumberToObject(j, "reps", (double)o->reps);
    cJSON_AddNumberToObject(j, "load_s", load_s);
    for (int k = 0; k < BM_KINDS; k++) {
        const bench_media_res *r = &res[k];
        double tps = r->prefill_s > 0 ? (double)r->tokens / r->prefill_s : 0;
        double ratio = r->prefill_s > 0 ? r->embed_s / r->prefill_s : 0;
        cJSON *e;
        if (!o->path[k])
            continue;
        e = cJSON_AddObjectToObject(j, bench_media_names[k]);
        if (!o->json) {
            printf("%s: %s (%s): decode %.3f s, embed %.3f s (%zu soft of %zu tokens)",
                   bench_media_names[k], o->path[k], r->what, r->decode_s, r->embed_s, r->soft,
                   r->tokens);
            if (o->no_prefill)
                printf(", prefill not run\n");
            else
                printf(", prefill %.2f s = %.2f tokens/s; embed/prefill %.2f %%\n", r->prefill_s,
                       tps, 100 * ratio);
        }
        cJSON_AddStringToObject(e, "file", o->path[k]);
        cJSON_AddStringToObject(e, "input", r->what);
        cJSON_AddNumberToObject(e, "tokens", (double)r->tokens);
        cJSON_AddNumberToObject(e, "soft_tokens", (double)r->soft);
        cJSON_AddNumberToObject(e, "decode_s", r->decode_s);
        cJSON_AddNumberToObject(e, "embed_s", r->embed_s);
        if (o->no_prefill) {
            cJSON_AddNullToObject(e, "prefill_s");
            cJSON_AddNullToObject(e, "prefill_tps");
            cJSON_AddNullToObject(e, "embed_over_prefill");
        } else {
            cJSON_AddNumberToObject(e, "prefill_s", r->prefill_s);
            cJSON_AddNumberToObject(e, "prefill_tps", tps);
            cJSON_AddNumberToObject(e, "embed_over_prefill", ratio);
        }
    }
    cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)rss);
    if (!o->json)
        printf("peak RSS: %.2f GB\n", rss / 1e9);
    txt = cJSON_PrintUnformatted(j);
    if (o->json && txt)
        printf("%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(j);
}

int bench_media(int argc, char **argv)
{
    bench_media_opts o = {.threads = 0,
                          .reps = 3,
                          .frames = 32,
                          .image_tokens = 280,
                          .frame_tokens = 70,
                          .batch = 512};
    bench_media_res res[BM_KINDS];
    bench_media_ctx c;
    const quant_table *qt = NULL;
    lp_threadpool *pool = NULL;
    lp_error err;
    double load_s = 0, t0;
    int rc = 1;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof res);
    c.o = &o;
    if (!bench_media_parse(argc, argv, &o))
        return 2;
    if (lp_threadpool_open((int)o.threads, &pool, &err) != LP_OK ||
        quant_table_default(&qt, &err) != LP_OK)
        goto out;
    matmul_ctx_init(&c.mc, qt, pool);
    t0 = lp_clock_now();
    if (gemma_open(o.model, &c.m, &err) != LP_OK ||
        mmproj_open(o.mmproj, c.m->cfg.n_embd, &c.pj, &err) != LP_OK ||
        tokenizer_open(c.m->file, &c.tok, &err) != LP_OK)
        goto out;
    load_s = lp_clock_now() - t0;
    c.logits = lp_alloc_array(c.m->cfg.n_vocab, sizeof *c.logits);
    if (!c.logits) {
        lp_err_set(&err, LP_ERR_NOMEM, "bench: out of memory for the logits");
        goto out;
    }
    for (int k = 0; k < BM_KINDS; k++)
        if (o.path[k] && bench_media_run_kind(&c, k, &res[k], &err) != LP_OK)
            goto out;
    bench_media_report(&o, res, lp_threadpool_size(pool), qt->name, load_s);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "loupe bench media: %s\n", err.msg);
    matmul_ctx_free(&c.mc);
    lp_alloc_free(c.logits);
    tokenizer_close(c.tok);
    mmproj_close(c.pj);
    gemma_close(c.m);
    lp_threadpool_close(pool);
    return rc;
}
