/* The media side of a review: decode each asset once, keep the measurements the checks
 * need and the thumbnails the report shows, then drop the pixels. A file that will not decode
 * becomes a failed `format` row with the decoder's message: the rest of the packet is still
 * reviewed. */
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/review.h"
#include "review_impl.h"

static lp_err review_thumb(result_asset *ra, const media_image *img, double t, int side,
                           lp_error *err)
{
    media_image th = {0};
    uint8_t *png = NULL;
    size_t n = 0;
    lp_err rc = media_image_thumbnail(img, side, &th, err);
    if (!rc)
        rc = media_image_encode_png(&th, &png, &n, err);
    media_image_free(&th);
    if (!rc)
        rc = result_add_thumb(ra, t, png, n, err);
    return rc;
}

/* The decoder names the file by its resolved path; review.json holds no absolute paths
 * (design.md §4), so the note names it as the manifest does. */
static void review_decode_failed(review_facts *f, const manifest_asset *a, const char *what,
                                 const lp_error *e)
{
    const char *hit = a->path ? strstr(e->msg, a->path) : NULL;
    f->failed = 1;
    f->fail_check = "format";
    if (hit)
        snprintf(f->note, sizeof f->note, "%s: %.*s%s%.250s", what, (int)(hit - e->msg), e->msg,
                 a->file, hit + strlen(a->path));
    else
        snprintf(f->note, sizeof f->note, "%s: %.300s", what, e->msg);
}

static void review_wrong_kind(review_facts *f, const manifest_asset *a, const char *is)
{
    f->failed = 1;
    f->fail_check = "kind";
    snprintf(f->note, sizeof f->note, "the manifest says %s, the file is %s",
             placements_kind_name(a->kind), is);
}

lp_err review_media_gather(const manifest_asset *a, result_asset *ra, review_facts *f,
                           lp_error *err)
{
    lp_error e;
    lp_err rc;

    memset(f, 0, sizeof *f);
    if (!a->path)
        return LP_OK;
    if (a->kind == PLACEMENTS_KIND_IMAGE || a->kind == PLACEMENTS_KIND_PAGE) {
        media_image img = {0};
        if (media_image_decode_file(a->path, &img, &f->image, &e) != LP_OK) {
            media_probe pr;
            lp_error e2;
            if (e.code == LP_ERR_NOMEM)
                return lp_err_set(err, LP_ERR_NOMEM, "%s", e.msg);
            /* a video or a sound handed in as an image is the wrong kind, not a bad file */
            if (media_probe_file(a->path, &pr, &e2) == LP_OK && (pr.has_video || pr.has_audio))
                review_wrong_kind(f, a, pr.has_video ? "a video" : "audio");
            else
                review_decode_failed(f, a, "cannot decode as an image", &e);
            return LP_OK;
        }
        f->have_image = 1;
        ra->width = img.w;
        ra->height = img.h;
        rc = review_thumb(ra, &img, -1, REVIEW_THUMB_SIDE, err);
        media_image_free(&img);
        return rc;
    }
    if (a->kind != PLACEMENTS_KIND_VIDEO && a->kind != PLACEMENTS_KIND_AUDIO)
        return LP_OK;
    if (media_probe_file(a->path, &f->probe, &e) != LP_OK) {
        review_decode_failed(f, a, "cannot read as audio or video", &e);
        return e.code == LP_ERR_NOMEM ? lp_err_set(err, LP_ERR_NOMEM, "%s", e.msg) : LP_OK;
    }
    f->have_probe = 1;
    ra->duration_s = f->probe.duration_s;
    if (a->kind == PLACEMENTS_KIND_VIDEO && !f->probe.has_video) {
        review_wrong_kind(f, a, f->probe.has_audio ? "audio only" : "without a video stream");
        return LP_OK;
    }
    if (a->kind == PLACEMENTS_KIND_AUDIO && !f->probe.has_audio) {
        review_wrong_kind(f, a, "without a sound track");
        return LP_OK;
    }
    if (f->probe.has_audio) {
        if (media_loudness_file(a->path, MEDIACHECK_SILENCE_DBFS, &f->loud, &e) == LP_OK)
            f->have_loud = 1;
        else
            snprintf(f->note, sizeof f->note, "loudness not measured: %.300s", e.msg);
    }
    if (a->kind == PLACEMENTS_KIND_VIDEO && f->probe.has_video) {
        media_frames fr = {0};
        ra->width = f->probe.display_w;
        ra->height = f->probe.display_h;
        if (media_video_frames(a->path, REVIEW_STRIP_FRAMES, REVIEW_THUMB_SIDE, &fr, &e) != LP_OK) {
            snprintf(f->note, sizeof f->note, "frames not decoded: %.300s", e.msg);
            return e.code == LP_ERR_NOMEM ? lp_err_set(err, LP_ERR_NOMEM, "%s", e.msg) : LP_OK;
        }
        rc = LP_OK;
        for (size_t i = 0; i < fr.n && !rc; i++)
            rc = review_thumb(ra, &fr.frames[i].img, fr.frames[i].t, REVIEW_THUMB_SIDE / 2, err);
        media_video_frames_free(&fr);
        return rc;
    }
    return LP_OK;
}

void review_media_facts(const review_facts *f, placements_kind kind, mediacheck_facts *mf)
{
    memset(mf, 0, sizeof *mf);
    mf->kind = kind;
    mf->image = f->have_image ? &f->image : NULL;
    mf->probe = f->have_probe ? &f->probe : NULL;
    mf->loudness = f->have_loud ? &f->loud : NULL;
}

lp_err review_media_contrast(const manifest_asset *a, mediacheck_box *boxes, size_t n,
                             lp_error *err)
{
    media_image img = {0};
    lp_error e;
    if (!a->path || n == 0)
        return LP_OK;
    if (media_image_decode_file(a->path, &img, NULL, &e) != LP_OK)
        return e.code == LP_ERR_NOMEM ? lp_err_set(err, LP_ERR_NOMEM, "%s", e.msg) : LP_OK;
    for (size_t i = 0; i < n; i++) {
        if (boxes[i].is_logo)
            continue;
        boxes[i].contrast = mediacheck_box_contrast(&img, &boxes[i]);
        /* WCAG's large text (18 pt) read on a phone: a line at least 5 % of the picture high */
        boxes[i].large_text = boxes[i].h >= 0.05;
    }
    media_image_free(&img);
    return LP_OK;
}
