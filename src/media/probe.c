/* The probe behind the format, resolution, duration, frame-rate and bit-rate checks: what the
 * container and its first video and audio streams say about themselves, read by libavformat
 * without decoding every frame. Cover art (an attached picture) is not video. */
#include "loupe/media/av.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "av_util.h"

static void probe_copy(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static double probe_rate(AVRational r)
{
    return r.num > 0 && r.den > 0 ? av_q2d(r) : 0;
}

static void probe_video(const media_av_input *in, int si, media_probe *out)
{
    AVFormatContext *fmt = in->fmt;
    AVStream *st = fmt->streams[si];
    const AVCodecParameters *par = st->codecpar;
    int w, h;
    double avg = probe_rate(st->avg_frame_rate), base = probe_rate(st->r_frame_rate);
    double dw;

    out->has_video = 1;
    probe_copy(out->video_codec, sizeof out->video_codec, avcodec_get_name(par->codec_id));
    probe_copy(out->pix_fmt, sizeof out->pix_fmt,
               av_get_pix_fmt_name((enum AVPixelFormat)par->format));
    media_av_size(in, si, &w, &h);
    out->width = w > 0 ? w : 0;
    out->height = h > 0 ? h : 0;
    out->sar = media_av_sar(fmt, st);
    out->rotation = media_av_rotation(st);
    /* a non-square sample widens (or narrows) the picture; height stays as coded */
    dw = floor(out->width * out->sar + 0.5);
    out->display_w = dw > MEDIA_IMAGE_MAX_SIDE ? MEDIA_IMAGE_MAX_SIDE : (int)dw;
    out->display_h = out->height;
    if (out->rotation == 90 || out->rotation == 270) {
        int t = out->display_w;

        out->display_w = out->display_h;
        out->display_h = t;
    }
    out->fps = avg;
    out->vfr = avg > 0 && base > 0 && fabs(avg - base) > 0.01 * base;
    out->interlaced =
        par->field_order != AV_FIELD_UNKNOWN && par->field_order != AV_FIELD_PROGRESSIVE;
    out->video_bit_rate = par->bit_rate > 0 ? par->bit_rate : 0;
}

static void probe_fill(media_av_input *in, media_probe *out)
{
    AVFormatContext *fmt = in->fmt;
    int vi = media_av_first_stream(fmt, AVMEDIA_TYPE_VIDEO);
    int ai = media_av_first_stream(fmt, AVMEDIA_TYPE_AUDIO);

    probe_copy(out->container, sizeof out->container, fmt->iformat->name);
    out->file_bytes = (uint64_t)in->io.size;
    out->duration_s = media_av_duration(fmt);
    out->bit_rate = fmt->bit_rate > 0 ? fmt->bit_rate : 0;
    out->sar = 1;
    if (vi >= 0)
        probe_video(in, vi, out);
    if (ai >= 0) {
        const AVCodecParameters *par = fmt->streams[ai]->codecpar;

        out->has_audio = 1;
        probe_copy(out->audio_codec, sizeof out->audio_codec, avcodec_get_name(par->codec_id));
        out->sample_rate = par->sample_rate > 0 ? par->sample_rate : 0;
        out->channels = par->ch_layout.nb_channels > 0 ? par->ch_layout.nb_channels : 0;
        out->audio_bit_rate = par->bit_rate > 0 ? par->bit_rate : 0;
    }
    out->has_subtitles = media_av_first_stream(fmt, AVMEDIA_TYPE_SUBTITLE) >= 0;
}

static lp_err probe_run(const char *name, const char *path, const uint8_t *data, size_t n,
                        media_probe *out, lp_error *err)
{
    media_av_input in;
    lp_err e;

    memset(out, 0, sizeof *out);
    e = media_av_open(&in, name, path, data, n, err);
    if (e != LP_OK)
        return e;
    if (media_av_first_stream(in.fmt, AVMEDIA_TYPE_VIDEO) < 0 &&
        media_av_first_stream(in.fmt, AVMEDIA_TYPE_AUDIO) < 0)
        e = lp_err_set(err, LP_ERR_INVALID, "%s: no audio or video stream", name);
    else
        probe_fill(&in, out);
    media_av_close(&in);
    if (e != LP_OK)
        memset(out, 0, sizeof *out);
    return e;
}

lp_err media_probe_file(const char *path, media_probe *out, lp_error *err)
{
    return probe_run(path, path, NULL, 0, out, err);
}

lp_err media_probe_mem(const char *name, const uint8_t *data, size_t n, media_probe *out,
                       lp_error *err)
{
    return probe_run(name, NULL, data, n, out, err);
}
