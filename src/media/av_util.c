/* The media layer's shared libav plumbing: inputs are read through our own AVIOContext (a file
 * descriptor or memory) so a demuxer can never open a second URL (HLS, concat, mov drefs), only
 * whitelisted containers are accepted, and libav's log is captured instead of printed so its
 * last complaint can be quoted in the error that names the file. */
#include "av_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/display.h>
#include <libavutil/opt.h>

#include "loupe/base/alloc.h"

#define MEDIA_AV_IO_BUF 32768
#define MEDIA_AV_MAX_CHANNELS 64        /* libebur128's limit; far beyond any ad mix */
#define MEDIA_AV_MAX_RESAMPLE (1 << 24) /* output frames of one resampler call */
#define MEDIA_AV_MIN_RATE 1000          /* below this a "sample rate" is a corrupt header */
#define MEDIA_AV_MAX_RATE 768000

/* The containers an ad asset arrives in. Everything else (playlists, image sequences, raw
 * elementary streams, text "video" such as tty) is refused: a smaller attack surface, and no
 * demuxer that follows references to other files. */
static const char media_av_formats[] = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,wav,w64,mp3,ogg,"
                                       "flac,aac,aiff,caf,avi,mpegts,mpeg,flv,asf,amr,ac3,eac3,"
                                       "wv,mxf";

/* libav's last error-level message on this thread, for the error text. */
static _Thread_local char media_av_last_msg[256];
static pthread_once_t media_av_once = PTHREAD_ONCE_INIT;

static void media_av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    char line[256];
    int prefix = 0;
    size_t n;

    if (level > AV_LOG_ERROR)
        return;
    line[0] = '\0';
    if (av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix) < 0)
        return;
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n == 0)
        return;
    /* the text can quote the file's own bytes: keep it printable */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            line[i] = '?';
    memcpy(media_av_last_msg, line, n + 1);
}

static void media_av_log_init(void)
{
    av_log_set_level(AV_LOG_QUIET);
    av_log_set_callback(media_av_log_cb);
}

void media_av_quiet(void)
{
    pthread_once(&media_av_once, media_av_log_init);
}

lp_err media_av_fail(lp_error *err, lp_err code, const char *name, const char *what, int averr)
{
    char e[128];

    if (av_strerror(averr, e, sizeof e) < 0)
        snprintf(e, sizeof e, "libav error %d", averr);
    if (media_av_last_msg[0] && !strstr(e, media_av_last_msg))
        return lp_err_set(err, code, "%s: %s: %s (%s)", name, what, e, media_av_last_msg);
    return lp_err_set(err, code, "%s: %s: %s", name, what, e);
}

static int media_av_read(void *opaque, uint8_t *buf, int n)
{
    media_av_io *io = opaque;
    int64_t left = io->size - io->pos;
    ssize_t got;

    if (left <= 0 || n <= 0)
        return AVERROR_EOF;
    if (n > left)
        n = (int)left;
    if (io->data) {
        memcpy(buf, io->data + io->pos, (size_t)n);
        got = n;
    } else {
        do
            got = pread(io->fd, buf, (size_t)n, (off_t)io->pos);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return AVERROR(errno);
        if (got == 0)
            return AVERROR_EOF;
    }
    io->pos += got;
    return (int)got;
}

static int64_t media_av_seek(void *opaque, int64_t off, int whence)
{
    media_av_io *io = opaque;
    int64_t base;
    int64_t p;

    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE)
        return io->size;
    if (whence == SEEK_SET)
        base = 0;
    else if (whence == SEEK_CUR)
        base = io->pos;
    else if (whence == SEEK_END)
        base = io->size;
    else
        return AVERROR(EINVAL);
    if (__builtin_add_overflow(base, off, &p) || p < 0)
        return AVERROR(EINVAL);
    io->pos = p;
    return p;
}

/* Demuxers that follow references (HLS, concat, dash, mov external data) open through here. */
static int media_av_refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url,
                                int flags, AVDictionary **options)
{
    (void)s;
    (void)url;
    (void)flags;
    (void)options;
    *pb = NULL;
    return AVERROR(EPERM);
}

static lp_err media_av_source(media_av_input *in, const char *path, const uint8_t *data, size_t n,
                              lp_error *err)
{
    struct stat st;

    if (!path) {
        if (n > (size_t)INT64_MAX)
            return lp_err_set(err, LP_ERR_LIMIT, "%s: input too large", in->name);
        in->io.data = data;
        in->io.size = (int64_t)n;
        return LP_OK;
    }
    in->io.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (in->io.fd < 0)
        return lp_err_set(err, errno == ENOENT ? LP_ERR_NOTFOUND : LP_ERR_IO, "%s: cannot open: %s",
                          in->name, strerror(errno));
    in->has_fd = 1;
    if (fstat(in->io.fd, &st) != 0)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot stat: %s", in->name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return lp_err_set(err, LP_ERR_INVALID, "%s: not a regular file", in->name);
    in->io.size = (int64_t)st.st_size;
    return LP_OK;
}

/* avformat_find_stream_info decodes a few frames of every stream: cap their size too. */
static lp_err media_av_stream_info(media_av_input *in, lp_error *err)
{
    unsigned ns = in->fmt->nb_streams;
    AVDictionary **opts = NULL;
    int r;

    if (ns > 0) {
        opts = av_calloc(ns, sizeof *opts);
        if (!opts)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory reading streams", in->name);
        for (unsigned i = 0; i < ns; i++)
            av_dict_set_int(&opts[i], "max_pixels", (int64_t)MEDIA_IMAGE_MAX_PIXELS, 0);
    }
    r = avformat_find_stream_info(in->fmt, opts);
    for (unsigned i = 0; i < ns; i++)
        av_dict_free(&opts[i]);
    av_freep(&opts);
    if (r < 0)
        return media_av_fail(err, LP_ERR_INVALID, in->name, "cannot read the stream parameters", r);
    if (in->fmt->nb_streams == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: no audio or video stream", in->name);
    return LP_OK;
}

lp_err media_av_open(media_av_input *in, const char *name, const char *path, const uint8_t *data,
                     size_t n, lp_error *err)
{
    AVDictionary *opts = NULL;
    uint8_t *buf;
    lp_err e;
    int r;

    memset(in, 0, sizeof *in);
    in->name = name;
    in->io.fd = -1;
    in->decl_stream = -1;
    media_av_quiet();
    media_av_last_msg[0] = '\0';
    e = media_av_source(in, path, data, n, err);
    if (e != LP_OK)
        goto fail;
    if (in->io.size == 0) {
        e = lp_err_set(err, LP_ERR_INVALID, "%s: empty file (0 bytes), not audio or video", name);
        goto fail;
    }
    buf = av_malloc(MEDIA_AV_IO_BUF);
    if (buf)
        in->pb = avio_alloc_context(buf, MEDIA_AV_IO_BUF, 0, &in->io, media_av_read, NULL,
                                    media_av_seek);
    if (!in->pb) {
        av_free(buf);
        e = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory opening", name);
        goto fail;
    }
    in->fmt = avformat_alloc_context();
    if (!in->fmt || av_dict_set(&opts, "format_whitelist", media_av_formats, 0) < 0) {
        e = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory opening", name);
        goto fail;
    }
    in->fmt->pb = in->pb;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    in->fmt->io_open = media_av_refuse_open;
    /* on failure avformat_open_input frees the context and clears in->fmt (not our pb) */
    r = avformat_open_input(&in->fmt, name, NULL, &opts);
    av_dict_free(&opts);
    if (r < 0) {
        e = media_av_fail(err, LP_ERR_INVALID, name, "not a readable audio or video file", r);
        goto fail;
    }
    in->decl_stream = media_av_first_stream(in->fmt, AVMEDIA_TYPE_VIDEO);
    if (in->decl_stream >= 0) {
        in->decl_w = in->fmt->streams[in->decl_stream]->codecpar->width;
        in->decl_h = in->fmt->streams[in->decl_stream]->codecpar->height;
    }
    e = media_av_stream_info(in, err);
    if (e != LP_OK)
        goto fail;
    return LP_OK;
fail:
    av_dict_free(&opts);
    media_av_close(in);
    return e;
}

void media_av_close(media_av_input *in)
{
    if (in->fmt)
        avformat_close_input(&in->fmt);
    if (in->pb) {
        av_freep(&in->pb->buffer);
        avio_context_free(&in->pb);
    }
    if (in->has_fd)
        close(in->io.fd);
    in->has_fd = 0;
    in->io.fd = -1;
}

void media_av_size(const media_av_input *in, int si, int *w, int *h)
{
    const AVCodecParameters *par = in->fmt->streams[si]->codecpar;

    *w = par->width;
    *h = par->height;
    if ((*w <= 0 || *h <= 0) && si == in->decl_stream) {
        *w = in->decl_w;
        *h = in->decl_h;
    }
}

int media_av_first_stream(const AVFormatContext *fmt, enum AVMediaType type)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];

        if (st->codecpar->codec_type != type)
            continue;
        if (type == AVMEDIA_TYPE_VIDEO && (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        return (int)i;
    }
    return -1;
}

double media_av_stream_duration(const AVStream *st)
{
    if (st->duration == AV_NOPTS_VALUE || st->duration <= 0 || st->time_base.num <= 0 ||
        st->time_base.den <= 0)
        return 0;
    return (double)st->duration * av_q2d(st->time_base);
}

double media_av_duration(const AVFormatContext *fmt)
{
    double best = 0;

    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        double d = media_av_stream_duration(fmt->streams[i]);

        if (d > best)
            best = d;
    }
    return best;
}

lp_err media_av_check_duration(const media_av_input *in, lp_error *err)
{
    double d = media_av_duration(in->fmt);

    if (d > MEDIA_AV_MAX_DURATION_S)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: duration %.0f s exceeds the %.0f s cap", in->name,
                          d, MEDIA_AV_MAX_DURATION_S);
    return LP_OK;
}

int media_av_rotation(const AVStream *st)
{
    size_t sz = 0;
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &sz);
    int32_t m[9];
    double theta;

    if (!sd || sz < sizeof m)
        return 0;
    memcpy(m, sd, sizeof m); /* side data carries no alignment promise */
    /* av_display_rotation_get is counter-clockwise; ffmpeg's autorotate negates it */
    theta = -av_display_rotation_get(m);
    if (!isfinite(theta))
        return 0;
    theta = fmod(theta, 360.0);
    if (theta < 0)
        theta += 360.0;
    return (int)(lround(theta / 90.0) % 4) * 90;
}

double media_av_sar(AVFormatContext *fmt, AVStream *st)
{
    AVRational r = av_guess_sample_aspect_ratio(fmt, st, NULL);
    double v;

    if (r.num <= 0 || r.den <= 0)
        return 1;
    v = av_q2d(r);
    return v >= 0.01 && v <= 100 ? v : 1;
}

lp_err media_av_decoder(const media_av_input *in, int si, AVCodecContext **out, lp_error *err)
{
    AVStream *st = in->fmt->streams[si];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *c;
    int r;

    *out = NULL;
    if (!codec)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: stream %d: no decoder for codec '%s'",
                          in->name, si, avcodec_get_name(st->codecpar->codec_id));
    c = avcodec_alloc_context3(codec);
    if (!c)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory opening a decoder", in->name);
    r = avcodec_parameters_to_context(c, st->codecpar);
    if (r >= 0) {
        c->pkt_timebase = st->time_base;
        c->thread_count = 1; /* deterministic, and no threads inside the tests' sanitizers */
        c->max_pixels = (int64_t)MEDIA_IMAGE_MAX_PIXELS;
        r = avcodec_open2(c, codec, NULL);
    }
    if (r < 0) {
        avcodec_free_context(&c);
        return media_av_fail(err, LP_ERR_INVALID, in->name, "cannot open the decoder", r);
    }
    *out = c;
    return LP_OK;
}

/* One step of the decode loop: everything the decoder has ready goes to fn. Returns the last
 * receive code (EAGAIN: wants input, EOF: flushed) in *rc. */
static lp_err media_av_drain(AVCodecContext *dec, AVFrame *fr, media_av_frame_fn fn, void *ctx,
                             int64_t *frames, int *stop, int *rc, lp_error *err)
{
    for (;;) {
        lp_err e;
        int r = avcodec_receive_frame(dec, fr);

        if (r < 0) {
            *rc = r;
            return LP_OK;
        }
        (*frames)++;
        e = fn(ctx, fr, stop, err);
        av_frame_unref(fr);
        if (e != LP_OK || *stop) {
            *rc = 0;
            return e;
        }
    }
}

/* An MP4/MOV sample table counts every packet, so a file cut inside its media data (the index
 * at the front, as with faststart) reaches the end early: that is truncation, not the end. The
 * demuxer itself reports it only sometimes, depending on how far its reader seeks. */
static lp_err media_av_check_complete(media_av_input *in, int si, int64_t own, lp_error *err)
{
    const AVStream *st = in->fmt->streams[si];

    if (strncmp(in->fmt->iformat->name, "mov,", 4) != 0 || st->nb_frames <= 0 ||
        own >= st->nb_frames)
        return LP_OK;
    return lp_err_set(err, LP_ERR_INVALID,
                      "%s: truncated: stream %d ends after %lld of its %lld packets", in->name, si,
                      (long long)own, (long long)st->nb_frames);
}

lp_err media_av_decode(media_av_input *in, int si, AVCodecContext *dec, media_av_frame_fn fn,
                       void *ctx, int64_t *n_frames, lp_error *err)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int64_t frames = 0, packets = 0, own = 0;
    int bad = 0, last_bad = 0, stop = 0, eof = 0, r, rc = 0;
    lp_err e = LP_OK;

    if (!pkt || !fr) {
        e = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory decoding", in->name);
        goto done;
    }
    for (unsigned i = 0; i < in->fmt->nb_streams; i++)
        in->fmt->streams[i]->discard = (int)i == si ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    while (!stop) {
        if (!eof) {
            r = av_read_frame(in->fmt, pkt);
            if (r == AVERROR_EOF) {
                e = media_av_check_complete(in, si, own, err);
                if (e != LP_OK)
                    goto done;
                eof = 1;
                r = avcodec_send_packet(dec, NULL);
            } else if (r < 0) {
                e = media_av_fail(err, LP_ERR_INVALID, in->name,
                                  "read error (truncated or damaged file)", r);
                goto done;
            } else if (++packets > MEDIA_AV_MAX_PACKETS) {
                e = lp_err_set(err, LP_ERR_LIMIT, "%s: more than %lld packets", in->name,
                               (long long)MEDIA_AV_MAX_PACKETS);
                goto done;
            } else if (pkt->stream_index != si) {
                av_packet_unref(pkt);
                continue;
            } else {
                own++;
                if (pkt->flags & AV_PKT_FLAG_CORRUPT)
                    bad++;
                r = avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
            if (r < 0 && r != AVERROR_EOF && r != AVERROR(EAGAIN)) {
                last_bad = r;
                bad++;
            }
        }
        e = media_av_drain(dec, fr, fn, ctx, &frames, &stop, &rc, err);
        if (e != LP_OK || stop || rc == AVERROR_EOF || (eof && rc == AVERROR(EAGAIN)))
            break;
        if (rc < 0 && rc != AVERROR(EAGAIN)) {
            last_bad = rc;
            bad++;
        }
        if (bad > MEDIA_AV_MAX_BAD_PACKETS) {
            e = media_av_fail(err, LP_ERR_INVALID, in->name,
                              "corrupt stream: too many decode "
                              "errors",
                              last_bad);
            goto done;
        }
    }
    if (e == LP_OK && frames == 0) {
        if (last_bad)
            e = media_av_fail(err, LP_ERR_INVALID, in->name, "no frame could be decoded", last_bad);
        else
            e = lp_err_set(err, LP_ERR_INVALID, "%s: stream %d holds no decodable frame", in->name,
                           si);
    }
done:
    if (n_frames)
        *n_frames = frames;
    av_packet_free(&pkt);
    av_frame_free(&fr);
    return e;
}

static lp_err media_av_resample_out(media_av_resampler *r, const char *name, const uint8_t **in,
                                    int n_in, media_av_sink sink, void *ctx, lp_error *err)
{
    int ch = r->out_layout.nb_channels;

    for (;;) {
        int want = swr_get_out_samples(r->swr, n_in);
        uint8_t *planes[1];
        int got;

        if (want < 0)
            return media_av_fail(err, LP_ERR_INVALID, name, "resampler", want);
        if (want > MEDIA_AV_MAX_RESAMPLE)
            return lp_err_set(err, LP_ERR_LIMIT, "%s: audio frame of %d samples", name, want);
        if (want < 256)
            want = 256;
        if ((size_t)want > r->cap) {
            float *nb = lp_alloc_resize(r->buf, (size_t)want * (size_t)ch, sizeof(float));

            if (!nb)
                return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory resampling", name);
            r->buf = nb;
            r->cap = (size_t)want;
        }
        planes[0] = (uint8_t *)r->buf;
        got = swr_convert(r->swr, planes, want, in, n_in);
        if (got < 0)
            return media_av_fail(err, LP_ERR_INVALID, name, "resampler", got);
        if (got > 0) {
            lp_err e = sink(ctx, r->buf, (size_t)got, err);

            if (e != LP_OK)
                return e;
        }
        /* a flush (in == NULL) repeats until the resampler is empty */
        if (in || got == 0)
            return LP_OK;
    }
}

static int media_av_same_input(const media_av_resampler *r, const AVFrame *f)
{
    return r->swr && f->sample_rate == r->in_rate && f->format == r->in_fmt &&
           av_channel_layout_compare(&f->ch_layout, &r->in_layout) == 0;
}

static lp_err media_av_resampler_build(media_av_resampler *r, const char *name, const AVFrame *f,
                                       lp_error *err)
{
    AVChannelLayout in = {0};
    int rc;

    /* an unordered layout (a bare channel count) gets the default order for that count */
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || !av_channel_layout_check(&f->ch_layout))
        av_channel_layout_default(&in, f->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&in, &f->ch_layout) < 0)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory resampling", name);
    if (r->out_layout.nb_channels == 0 && av_channel_layout_copy(&r->out_layout, &in) < 0) {
        av_channel_layout_uninit(&in);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory resampling", name);
    }
    if (r->out_rate == 0)
        r->out_rate = f->sample_rate;
    swr_free(&r->swr);
    rc = swr_alloc_set_opts2(&r->swr, &r->out_layout, AV_SAMPLE_FMT_FLT, r->out_rate, &in,
                             (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in);
    if (rc >= 0 && r->mean_downmix)
        rc = av_opt_set_double(r->swr, "rematrix_maxval", 1.0, 0);
    if (rc >= 0)
        rc = swr_init(r->swr);
    if (rc < 0) {
        swr_free(&r->swr);
        return media_av_fail(err, LP_ERR_UNSUPPORTED, name, "cannot convert this audio format", rc);
    }
    av_channel_layout_uninit(&r->in_layout);
    if (av_channel_layout_copy(&r->in_layout, &f->ch_layout) < 0) {
        swr_free(&r->swr);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory resampling", name);
    }
    r->in_rate = f->sample_rate;
    r->in_fmt = f->format;
    return LP_OK;
}

lp_err media_av_resample(media_av_resampler *r, const char *name, const AVFrame *frame,
                         media_av_sink sink, void *ctx, lp_error *err)
{
    lp_err e;

    if (!frame)
        return r->swr ? media_av_resample_out(r, name, NULL, 0, sink, ctx, err) : LP_OK;
    if (frame->nb_samples <= 0)
        return LP_OK;
    if (frame->ch_layout.nb_channels < 1 || frame->ch_layout.nb_channels > MEDIA_AV_MAX_CHANNELS)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %d audio channels (at most %d)", name,
                          frame->ch_layout.nb_channels, MEDIA_AV_MAX_CHANNELS);
    if (frame->sample_rate < MEDIA_AV_MIN_RATE || frame->sample_rate > MEDIA_AV_MAX_RATE)
        return lp_err_set(err, LP_ERR_INVALID, "%s: sample rate %d Hz outside %d..%d", name,
                          frame->sample_rate, MEDIA_AV_MIN_RATE, MEDIA_AV_MAX_RATE);
    if (!media_av_same_input(r, frame)) {
        if (r->swr) {
            /* the format changed mid-stream: empty the old converter first */
            e = media_av_resample_out(r, name, NULL, 0, sink, ctx, err);
            if (e != LP_OK)
                return e;
        }
        e = media_av_resampler_build(r, name, frame, err);
        if (e != LP_OK)
            return e;
    }
    return media_av_resample_out(r, name, (const uint8_t **)frame->extended_data, frame->nb_samples,
                                 sink, ctx, err);
}

void media_av_resampler_free(media_av_resampler *r)
{
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->in_layout);
    av_channel_layout_uninit(&r->out_layout);
    lp_alloc_free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

lp_err media_av_open_audio(media_av_input *in, const char *name, const char *path,
                           const uint8_t *data, size_t n, int *si, AVCodecContext **dec,
                           lp_error *err)
{
    lp_err e = media_av_open(in, name, path, data, n, err);
    *dec = NULL;
    if (e != LP_OK)
        return e;
    *si = media_av_first_stream(in->fmt, AVMEDIA_TYPE_AUDIO);
    if (*si < 0)
        e = lp_err_set(err, LP_ERR_NOTFOUND, "%s: no audio stream", name);
    if (e == LP_OK)
        e = media_av_check_duration(in, err);
    if (e == LP_OK)
        e = media_av_decoder(in, *si, dec, err);
    if (e != LP_OK) {
        avcodec_free_context(dec);
        media_av_close(in);
    }
    return e;
}
