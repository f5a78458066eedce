/* `loupe review PACKET` (design.md §4–§6): one packet through the checks and, with -m, the
 * model, into review.json and its reports; `loupe approve` records a person's decision on a
 * flagged asset. Exit 0 when the review was written and no check failed, 1 on bad input or a
 * failed check, 2 on usage. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/parse.h"
#include "loupe/base/threadpool.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/review/audit.h"
#include "loupe/review/review.h"
#include "loupe/review/workspace.h"
#include "loupe/route/local.h"

static void cmd_review_usage(FILE *f)
{
    fprintf(f, "usage: loupe review PACKET [-m MODEL] [--mmproj FILE] [-o OUTDIR]\n"
               "         [--workspace DIR] [-t THREADS] [-c CTX] [--seed S] [-n MAX_TOKENS]\n"
               "         [--image-tokens 70|140|280|560|1120] [--video-frames N]\n"
               "  PACKET: a folder with packet.yaml (or .json), or a .zip of one.\n"
               "  Without -m only the deterministic checks run; without --mmproj the model\n"
               "  items on images, audio and video are recorded \"not_reviewed: no projector\".\n"
               "  OUTDIR defaults to ./review-<packet id>.\n");
}

static void cmd_review_progress(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "review: %s\n", line);
}

typedef struct cmd_review_args {
    const char *packet, *outdir;
    cmd_review_common c;
} cmd_review_args;

int cmd_review_flag(const char *f, const char *v, cmd_review_common *c, lp_error *err)
{
    if (!strcmp(f, "-m"))
        c->model = v;
    else if (!strcmp(f, "--mmproj"))
        c->mmproj = v;
    else if (!strcmp(f, "--workspace"))
        c->workspace = v;
    else if (!strcmp(f, "-t")) {
        c->threads_set = 1;
        return lp_parse_i64(v, 0, LP_THREADPOOL_MAX, "-t", &c->threads, err) ? -1 : 1;
    } else if (!strcmp(f, "-c"))
        return lp_parse_i64(v, 256, 1 << 20, "-c", &c->ctx, err) ? -1 : 1;
    else if (!strcmp(f, "-n"))
        return lp_parse_i64(v, 16, 8192, "-n", &c->max_tokens, err) ? -1 : 1;
    else if (!strcmp(f, "--image-tokens")) {
        if (lp_parse_i64(v, 70, 1120, "--image-tokens", &c->image_tokens, err))
            return -1;
        if (c->image_tokens != 70 && c->image_tokens != 140 && c->image_tokens != 280 &&
            c->image_tokens != 560 && c->image_tokens != 1120) {
            lp_err_set(err, LP_ERR_USAGE, "--image-tokens: 70, 140, 280, 560 or 1120");
            return -1;
        }
    } else if (!strcmp(f, "--video-frames"))
        return lp_parse_i64(v, 1, 256, "--video-frames", &c->video_frames, err) ? -1 : 1;
    else if (!strcmp(f, "--seed"))
        return lp_parse_u64(v, UINT64_MAX, "--seed", &c->seed, err) ? -1 : 1;
    else
        return 0;
    return 1;
}

void cmd_review_settings(const cmd_review_common *c, review_opts *o)
{
    review_sampling_default(&o->sampling);
    o->sampling.seed = c->seed;
    if (c->max_tokens)
        o->sampling.max_tokens = (int)c->max_tokens;
    o->image_tokens = (int)c->image_tokens;
    o->video_frames = (int)c->video_frames;
    o->workspace = c->workspace;
}

static int cmd_review_parse(int argc, char **argv, cmd_review_args *a, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (f[0] != '-') {
            if (a->packet) {
                lp_err_set(err, LP_ERR_USAGE, "one packet per review ('%s' and '%s')", a->packet,
                           f);
                return 0;
            }
            a->packet = f;
            continue;
        }
        if (!v) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", f);
            return 0;
        }
        i++;
        int got = cmd_review_flag(f, v, &a->c, err);
        if (got < 0)
            return 0;
        if (got)
            continue;
        if (!strcmp(f, "-o")) {
            a->outdir = v;
            continue;
        }
        lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", f);
        return 0;
    }
    if (!a->packet) {
        lp_err_set(err, LP_ERR_USAGE, "which packet? (a folder or a .zip)");
        return 0;
    }
    if (a->c.mmproj && !a->c.model) {
        lp_err_set(err, LP_ERR_USAGE, "--mmproj needs -m");
        return 0;
    }
    return 1;
}

lp_err cmd_review_model(const cmd_review_common *c, review_opts *o, lp_error *err)
{
    local_opts lo = {.model = c->model,
                     .mmproj = c->mmproj,
                     .threads = (int)c->threads,
                     .ctx = (uint32_t)c->ctx,
                     .cache = GEMMA_CACHE_F16};
    lp_err rc = local_open(&lo, &o->b, err);
    if (!rc)
        rc = local_model_sha256(o->b, o->model_sha256, err);
    if (!rc)
        rc = local_mmproj_sha256(o->b, o->projector_sha256, err);
    if (rc)
        return rc;
    snprintf(o->model_arch, sizeof o->model_arch, "%s",
             gemma_arch_name(local_model(o->b)->cfg.arch));
    snprintf(o->model_type, sizeof o->model_type, "%s", local_model_type(o->b));
    o->has_projector = local_has_projector(o->b);
    o->model_path = c->model;
    return LP_OK;
}

int cmd_review(int argc, char **argv)
{
    cmd_review_args a = {0};
    review_opts o = {0};
    review_outcome out = {0};
    char outdir[512];
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_review_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (!cmd_review_parse(argc, argv, &a, &err)) {
        fprintf(stderr, "loupe review: %s\n", err.msg);
        cmd_review_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    cmd_review_settings(&a.c, &o);
    o.packet = a.packet;
    o.on_progress = cmd_review_progress;
    if (a.c.model && cmd_review_model(&a.c, &o, &err) != LP_OK)
        goto out;
    if (a.outdir) {
        snprintf(outdir, sizeof outdir, "%s", a.outdir);
    } else {
        /* named after the packet folder or zip, so two packets never share one */
        const char *base = strrchr(a.packet, '/');
        size_t len = strlen(base ? base + 1 : a.packet);
        while (len > 0 && (base ? base + 1 : a.packet)[len - 1] == '/')
            len--;
        snprintf(outdir, sizeof outdir, "review-%.*s", (int)len, base ? base + 1 : a.packet);
        char *dot = strrchr(outdir, '.');
        if (dot && !strcmp(dot, ".zip"))
            *dot = '\0';
    }
    o.outdir = outdir;
    if (review_run(&o, &out, &err) != LP_OK)
        goto out;
    printf("review %s of %s: %zu assets, %zu need approval, %zu checks failed, %zu major or "
           "worse findings\nreport: %s/report.html (also report.md, review.json, variants.csv)\n",
           out.id, out.packet, out.assets, out.assets_flagged, out.checks_failed,
           out.findings_major, outdir);
    rc = out.checks_failed ? CMD_EXIT_FAIL : CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK && !out.id[0])
        fprintf(stderr, "loupe review: %s\n", err.msg);
    backend_close(o.b);
    return rc;
}
