/* Frames for the model and the visual checks: n frames sampled uniformly as transformers'
 * default sampler picks them (index floor(i * total / n)), decoded in presentation order by
 * libavcodec, converted to RGB8 by libswscale at display size (sample aspect ratio applied) and
 * turned to the display matrix's orientation. Only the sampled frames are converted. */
#include "loupe/media/av.h"

#include <math.h>
#include <string.h>

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av_util.h"
#include "loupe/base/alloc.h"

/* A frame count above this (4 h at 1000 fps) is a corrupt or hostile header. */
#define VIDEO_MAX_TOTAL (int64_t)(MEDIA_AV_MAX_DURATION_S * 1000)

typedef struct video_ctx {
    const char *name;
    AVStream *st;
    int n, max_side, rot;
    double sar, fps;
    int64_t start; /* stream start in its time base */
    int64_t *want; /* frame index of each sample, non-decreasing */
    int next;      /* the next sample to fill */
    int64_t k;     /* index of the frame being delivered */
    AVFrame *last; /* the newest decoded frame, for samples past the real end */
    double last_t;
    uint64_t bytes; /* RGB handed out so far, against MEDIA_AV_MAX_FRAME_BYTES */
    struct SwsContext *sws;
    media_frames *out;
} video_ctx;

/* Display size (before rotation) of a w x h picture: SAR applied to the width, then scaled
 * down so the longer side is at most max_side. */
static lp_err video_size(const video_ctx *v, int w, int h, int *ow, int *oh, lp_error *err)
{
    double dw = w * v->sar, dh = h, m;

    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > MEDIA_IMAGE_MAX_PIXELS)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: video frame %dx%d outside 1..%llu pixels",
                          v->name, w, h, (unsigned long long)MEDIA_IMAGE_MAX_PIXELS);
    m = dw > dh ? dw : dh;
    if (v->max_side > 0 && m > v->max_side) {
        dw *= v->max_side / m;
        dh *= v->max_side / m;
    }
    dw = floor(dw + 0.5);
    dh = floor(dh + 0.5);
    if (dw < 1)
        dw = 1;
    if (dh < 1)
        dh = 1;
    if (dw > MEDIA_IMAGE_MAX_SIDE || dh > MEDIA_IMAGE_MAX_SIDE ||
        dw * dh > (double)MEDIA_IMAGE_MAX_PIXELS)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: display size %.0fx%.0f beyond the image caps",
                          v->name, dw, dh);
    *ow = (int)dw;
    *oh = (int)dh;
    return LP_OK;
}

/* Turns src (w x h) by rot degrees clockwise into dst; 90 and 270 swap the sides. */
static void video_rotate(const uint8_t *src, int w, int h, int rot, uint8_t *dst)
{
    int ow = rot == 180 ? w : h;

    for (int y = 0; y < (rot == 180 ? h : w); y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy;

            if (rot == 90) {
                sx = y;
                sy = h - 1 - x;
            } else if (rot == 180) {
                sx = w - 1 - x;
                sy = h - 1 - y;
            } else {
                sx = w - 1 - y;
                sy = x;
            }
            memcpy(dst + ((size_t)y * (size_t)ow + (size_t)x) * 3,
                   src + ((size_t)sy * (size_t)w + (size_t)sx) * 3, 3);
        }
    }
}

/* A stream may change size mid-way: the byte cap is checked per frame, not only up front. */
static lp_err video_account(video_ctx *v, int w, int h, lp_error *err)
{
    v->bytes += (uint64_t)w * (uint64_t)h * 3;
    if (v->bytes > MEDIA_AV_MAX_FRAME_BYTES)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: frames exceed %llu bytes (lower max_side)",
                          v->name, (unsigned long long)MEDIA_AV_MAX_FRAME_BYTES);
    return LP_OK;
}

static const char *video_pix_name(int fmt)
{
    const char *s = av_get_pix_fmt_name((enum AVPixelFormat)fmt);

    return s ? s : "unknown";
}

static lp_err video_convert(video_ctx *v, const AVFrame *f, media_image *img, lp_error *err)
{
    int sw, sh, stride;
    uint8_t *rgb, *dst[4] = {NULL};
    int dst_stride[4] = {0};
    lp_err e = video_size(v, f->width, f->height, &sw, &sh, err);

    if (e == LP_OK)
        e = video_account(v, sw, sh, err);
    if (e != LP_OK)
        return e;
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, (enum AVPixelFormat)f->format, sw,
                                  sh, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
    if (!v->sws)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: cannot convert pixel format '%s' to RGB",
                          v->name, video_pix_name(f->format));
    /* the frame's own matrix and range, as ffmpeg's scale filter takes them */
    sws_setColorspaceDetails(v->sws, sws_getCoefficients((int)f->colorspace),
                             f->color_range == AVCOL_RANGE_JPEG,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    rgb = lp_alloc_array((size_t)sw * (size_t)sh, 3);
    if (!rgb)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory for a %dx%d frame", v->name, sw,
                          sh);
    stride = sw * 3;
    dst[0] = rgb;
    dst_stride[0] = stride;
    if (sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                  dst_stride) != sh) {
        lp_alloc_free(rgb);
        return lp_err_set(err, LP_ERR_INVALID, "%s: cannot convert a %dx%d frame", v->name,
                          f->width, f->height);
    }
    img->w = sw;
    img->h = sh;
    img->rgb = rgb;
    if (v->rot != 0) {
        uint8_t *r = lp_alloc_array((size_t)sw * (size_t)sh, 3);

        if (!r) {
            lp_alloc_free(rgb);
            img->rgb = NULL;
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory rotating a frame", v->name);
        }
        video_rotate(rgb, sw, sh, v->rot, r);
        lp_alloc_free(rgb);
        img->rgb = r;
        if (v->rot != 180) {
            img->w = sh;
            img->h = sw;
        }
    }
    return LP_OK;
}

/* Fills every sample that wants frame f (several when n exceeds the frame count), or with all
 * set every sample still empty. */
static lp_err video_fill(video_ctx *v, const AVFrame *f, double t, int all, lp_error *err)
{
    media_frame *fr = v->out->frames;
    int first = v->next;

    while (v->next < v->n && (v->next == first || all || v->want[v->next] == v->want[first])) {
        media_frame *d = &fr[v->next];

        d->t = t;
        if (v->next == first) {
            lp_err e = video_convert(v, f, &d->img, err);

            if (e != LP_OK)
                return e;
        } else {
            size_t bytes = (size_t)fr[first].img.w * (size_t)fr[first].img.h * 3;
            lp_err e = video_account(v, fr[first].img.w, fr[first].img.h, err);

            if (e != LP_OK)
                return e;
            d->img.rgb = lp_alloc(bytes);
            if (!d->img.rgb)
                return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory for frames", v->name);
            memcpy(d->img.rgb, fr[first].img.rgb, bytes);
            d->img.w = fr[first].img.w;
            d->img.h = fr[first].img.h;
        }
        v->next++;
        v->out->n = (size_t)v->next;
    }
    return LP_OK;
}

static double video_time(const video_ctx *v, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;

    if (ts == AV_NOPTS_VALUE || v->st->time_base.num <= 0 || v->st->time_base.den <= 0)
        return v->fps > 0 ? (double)v->k / v->fps : 0;
    return (double)(ts - v->start) * av_q2d(v->st->time_base);
}

static lp_err video_frame(void *ctx, AVFrame *frame, int *stop, lp_error *err)
{
    video_ctx *v = ctx;
    double t = video_time(v, frame);
    lp_err e = LP_OK;

    if (v->next < v->n && v->want[v->next] == v->k)
        e = video_fill(v, frame, t, 0, err);
    v->k++;
    if (e != LP_OK)
        return e;
    if (v->next >= v->n) {
        *stop = 1;
        return LP_OK;
    }
    av_frame_unref(v->last);
    if (av_frame_ref(v->last, frame) < 0)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory decoding video", v->name);
    v->last_t = t;
    return LP_OK;
}

/* The frame count the sampler divides: the container's, else duration x average fps. */
static lp_err video_total(const media_av_input *in, const video_ctx *v, int64_t *total,
                          lp_error *err)
{
    double d = media_av_stream_duration(v->st);

    if (d <= 0)
        d = media_av_duration(in->fmt);
    *total = v->st->nb_frames > 0 ? v->st->nb_frames : 0;
    if (*total == 0 && d > 0 && v->fps > 0 && d * v->fps < (double)VIDEO_MAX_TOTAL * 2)
        *total = (int64_t)floor(d * v->fps + 0.5);
    if (*total <= 0)
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "%s: video frame count unknown (no count, duration or frame rate)",
                          in->name);
    if (*total > VIDEO_MAX_TOTAL)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %lld video frames (cap %lld)", in->name,
                          (long long)*total, (long long)VIDEO_MAX_TOTAL);
    return LP_OK;
}

/* Everything that can be refused before decoding: caps on duration, size and output bytes. */
static lp_err video_setup(media_av_input *in, video_ctx *v, int si, lp_error *err)
{
    int64_t total;
    int w, h, ow, oh;
    lp_err e;

    v->st = in->fmt->streams[si];
    media_av_size(in, si, &w, &h);
    v->sar = media_av_sar(in->fmt, v->st);
    v->rot = media_av_rotation(v->st);
    v->fps = v->st->avg_frame_rate.num > 0 && v->st->avg_frame_rate.den > 0
                 ? av_q2d(v->st->avg_frame_rate)
                 : 0;
    v->start = v->st->start_time != AV_NOPTS_VALUE ? v->st->start_time : 0;
    e = media_av_check_duration(in, err);
    if (e == LP_OK)
        e = video_size(v, w, h, &ow, &oh, err);
    if (e == LP_OK && (double)ow * oh * 3 * v->n > (double)MEDIA_AV_MAX_FRAME_BYTES)
        e = lp_err_set(err, LP_ERR_LIMIT,
                       "%s: %d frames of %dx%d exceed %llu bytes (lower "
                       "max_side)",
                       in->name, v->n, ow, oh, (unsigned long long)MEDIA_AV_MAX_FRAME_BYTES);
    if (e == LP_OK)
        e = video_total(in, v, &total, err);
    if (e != LP_OK)
        return e;
    v->want = lp_alloc_array((size_t)v->n, sizeof *v->want);
    v->out->frames = lp_alloc_array((size_t)v->n, sizeof *v->out->frames);
    v->last = av_frame_alloc();
    if (!v->want || !v->out->frames || !v->last)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory for frames", in->name);
    for (int i = 0; i < v->n; i++)
        v->want[i] = (int64_t)i * total / v->n;
    v->out->duration_s = media_av_stream_duration(v->st);
    if (v->out->duration_s <= 0)
        v->out->duration_s = media_av_duration(in->fmt);
    return LP_OK;
}

static lp_err video_run(const char *name, const char *path, const uint8_t *data, size_t n_bytes,
                        int n, int max_side, media_frames *out, lp_error *err)
{
    media_av_input in;
    AVCodecContext *dec = NULL;
    video_ctx v = {.name = name, .n = n, .max_side = max_side, .out = out};
    int si;
    lp_err e;

    memset(out, 0, sizeof *out);
    if (n < 1 || n > MEDIA_AV_MAX_FRAMES || max_side < 0)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %d frames (1..%d), max_side %d", name, n,
                          MEDIA_AV_MAX_FRAMES, max_side);
    e = media_av_open(&in, name, path, data, n_bytes, err);
    if (e != LP_OK)
        return e;
    si = media_av_first_stream(in.fmt, AVMEDIA_TYPE_VIDEO);
    if (si < 0) {
        e = lp_err_set(err, LP_ERR_NOTFOUND, "%s: no video stream", name);
        goto done;
    }
    e = video_setup(&in, &v, si, err);
    if (e == LP_OK)
        e = media_av_decoder(&in, si, &dec, err);
    if (e == LP_OK)
        e = media_av_decode(&in, si, dec, video_frame, &v, NULL, err);
    /* the container over-stated its frame count: the rest repeat the last frame */
    if (e == LP_OK && v.next < v.n && v.last->buf[0])
        e = video_fill(&v, v.last, v.last_t, 1, err);
    if (e == LP_OK && v.next < v.n)
        e = lp_err_set(err, LP_ERR_INVALID, "%s: only %lld video frames decoded", name,
                       (long long)v.k);
done:
    if (e != LP_OK)
        media_video_frames_free(out);
    lp_alloc_free(v.want);
    av_frame_free(&v.last);
    sws_freeContext(v.sws);
    avcodec_free_context(&dec);
    media_av_close(&in);
    return e;
}

lp_err media_video_frames(const char *path, int n, int max_side, media_frames *out, lp_error *err)
{
    return video_run(path, path, NULL, 0, n, max_side, out, err);
}

lp_err media_video_frames_mem(const char *name, const uint8_t *data, size_t n_bytes, int n,
                              int max_side, media_frames *out, lp_error *err)
{
    return video_run(name, NULL, data, n_bytes, n, max_side, out, err);
}

void media_video_frames_free(media_frames *f)
{
    if (f->frames) {
        for (size_t i = 0; i < f->n; i++)
            lp_alloc_free(f->frames[i].img.rgb);
        lp_alloc_free(f->frames);
    }
    memset(f, 0, sizeof *f);
}
