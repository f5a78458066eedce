/* GIF (first frame) and any other still format libavformat's image demuxers recognise by
 * content (BMP, TIFF, PNM, QOI, ...), decoded with libavcodec over a memory AVIOContext.
 * GIF's block structure is walked first: it gives the frame count and length cheaply and
 * catches truncation, which FFmpeg's GIF decoder would hide behind a partly blank frame. Only
 * "*_pipe" image demuxers are accepted, so no playlist or concat demuxer can open other files. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av_util.h"
#include "image_impl.h"
#include "loupe/base/alloc.h"

#define IMGAV_IO_BUF 4096
/* Packets read before giving up on a stream that yields no frame. */
#define IMGAV_MAX_PACKETS 64

typedef struct imgav_mem {
    const uint8_t *d;
    size_t n, pos;
} imgav_mem;

static int imgav_mem_read(void *opaque, uint8_t *buf, int size)
{
    imgav_mem *m = opaque;
    size_t left = m->n - m->pos, k = size > 0 ? (size_t)size : 0;

    if (left == 0)
        return AVERROR_EOF;
    k = k < left ? k : left;
    memcpy(buf, m->d + m->pos, k);
    m->pos += k;
    return (int)k;
}

static int64_t imgav_mem_seek(void *opaque, int64_t off, int whence)
{
    imgav_mem *m = opaque;
    int64_t base;

    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return (int64_t)m->n;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)m->pos; break;
    case SEEK_END: base = (int64_t)m->n; break;
    default: return -1;
    }
    if (off < -base || off > (int64_t)m->n - base)
        return -1;
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

/* Skips a chain of GIF sub-blocks starting at *pos; 0 when the terminator was found. */
static int gif_skip_blocks(const uint8_t *d, size_t n, size_t *pos)
{
    while (*pos < n) {
        size_t len = d[(*pos)++];
        if (len == 0)
            return 0;
        if (len > n - *pos)
            return -1;
        *pos += len;
    }
    return -1;
}

/* Walks the GIF: screen size, frame count, total delay; a cut anywhere is an error. */
static lp_err gif_scan(const char *name, const uint8_t *d, size_t n, media_image_info *inf,
                       lp_error *err)
{
    size_t pos = 13;
    long frames = 0, delay = -1, cs = 0;

    if (n < 13)
        return lp_err_set(err, LP_ERR_INVALID, "%s: gif: truncated in the header", name);
    inf->stored_w = d[6] | d[7] << 8;
    inf->stored_h = d[8] | d[9] << 8;
    if (d[10] & 0x80)
        pos += 3u * (2u << (d[10] & 7));
    for (;;) {
        int ext;

        if (pos >= n)
            return lp_err_set(err, LP_ERR_INVALID, "%s: gif: truncated after frame %ld", name,
                              frames);
        if (d[pos] == 0x3b)
            break;
        ext = d[pos] == 0x21;
        if (ext) {
            if (n - pos < 2)
                return lp_err_set(err, LP_ERR_INVALID, "%s: gif: truncated after frame %ld", name,
                                  frames);
            /* graphic control extension: its delay applies to the next image */
            if (d[pos + 1] == 0xf9 && n - pos >= 8 && d[pos + 2] >= 4)
                delay = d[pos + 4] | d[pos + 5] << 8;
            pos += 2;
        } else if (d[pos] == 0x2c) {
            if (n - pos < 11)
                return lp_err_set(err, LP_ERR_INVALID, "%s: gif: truncated in frame %ld", name,
                                  frames + 1);
            if (d[pos + 9] & 0x80)
                pos += 3u * (2u << (d[pos + 9] & 7));
            pos += 11; /* descriptor and LZW minimum code size */
            /* as browsers (and FFmpeg) play them: a delay under 20 ms means 100 ms */
            cs += delay < 2 ? 10 : delay;
            delay = -1;
            frames++;
        } else {
            return lp_err_set(err, LP_ERR_INVALID, "%s: gif: corrupt: block 0x%02x at byte %zu",
                              name, d[pos], pos);
        }
        if (gif_skip_blocks(d, n, &pos) != 0)
            return lp_err_set(err, LP_ERR_INVALID, "%s: gif: truncated in %s %ld", name,
                              ext ? "an extension after frame" : "frame", frames ? frames : 1);
    }
    if (frames == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: gif: no image in the file", name);
    inf->n_frames = frames > INT_MAX ? INT_MAX : (int)frames;
    inf->animated = frames > 1;
    inf->duration_s = frames > 1 ? cs / 100.0 : 0;
    return LP_OK;
}

/* libavformat's guess from content alone (no file name), accepted only for image demuxers.
 * Not SVG (a renderer that may follow references), and not the formats with their own decoder
 * here: FFmpeg's MJPEG decoder turns a few stray bytes after FF D8 into a whole grey frame. */
static const AVInputFormat *imgav_image_format(const uint8_t *d, size_t n)
{
    static const char *const refused[] = {"svg_pipe", "jpeg_pipe", "jpegls_pipe",
                                          "png_pipe", "webp_pipe", "gif_pipe"};
    uint8_t buf[2048 + AVPROBE_PADDING_SIZE] = {0};
    AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)(n < 2048 ? n : 2048)};
    const AVInputFormat *f;
    size_t len;
    int score = 0;

    memcpy(buf, d, (size_t)pd.buf_size);
    f = av_probe_input_format3(&pd, 1, &score);
    if (!f || score <= 0)
        return NULL;
    len = strlen(f->name);
    if (len < 5 || strcmp(f->name + len - 5, "_pipe") != 0)
        return NULL;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (strcmp(f->name, refused[i]) == 0)
            return NULL;
    return f;
}

typedef struct imgav_ctx {
    AVFormatContext *fc;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    uint8_t *tmp[4];
    int tmp_lines[4];
} imgav_ctx;

static void imgav_ctx_free(imgav_ctx *a)
{
    AVIOContext *pb = a->fc ? a->fc->pb : NULL;

    sws_freeContext(a->sws);
    av_freep(&a->tmp[0]);
    av_frame_free(&a->frame);
    av_packet_free(&a->pkt);
    avcodec_free_context(&a->cc);
    avformat_close_input(&a->fc);
    if (pb) {
        av_freep(&pb->buffer);
        avio_context_free(&pb);
    }
}

/* Decodes the first frame of stream si into a->frame; an AVERROR or 0. */
static int imgav_first_frame(imgav_ctx *a, int si)
{
    int ret, sent = 0;

    for (int k = 0; k < IMGAV_MAX_PACKETS; k++) {
        ret = av_read_frame(a->fc, a->pkt);
        if (ret < 0)
            break;
        if (a->pkt->stream_index == si) {
            ret = avcodec_send_packet(a->cc, a->pkt);
            sent++;
        }
        av_packet_unref(a->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN))
            return ret;
        ret = avcodec_receive_frame(a->cc, a->frame);
        if (ret == 0)
            return 0;
        if (ret != AVERROR(EAGAIN))
            return ret;
    }
    if (!sent)
        return AVERROR_INVALIDDATA;
    avcodec_send_packet(a->cc, NULL);
    return avcodec_receive_frame(a->cc, a->frame);
}

/* Frame to RGB(A) through swscale (padded buffer: its SIMD may write past a tight row). */
static lp_err imgav_convert(imgav_ctx *a, const char *name, const char *fmt, media_image_raw *out,
                            media_image_info *inf, lp_error *err)
{
    AVFrame *f = a->frame;
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    int alpha = desc && (desc->flags & (AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_PAL));
    enum AVPixelFormat dst = alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    lp_err rc;

    if (!desc)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %s: unknown pixel format", name, fmt);
    inf->stored_w = f->width;
    inf->stored_h = f->height;
    rc = media_image_raw_alloc(out, f->width, f->height, alpha ? 4 : 3, name, fmt, err);
    if (rc != LP_OK)
        return rc;
    a->sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, dst,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!a->sws || av_image_alloc(a->tmp, a->tmp_lines, f->width, f->height, dst, 64) < 0)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %s: cannot convert %s to RGB", name, fmt,
                          desc->name);
    if (sws_scale(a->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, a->tmp,
                  a->tmp_lines) != f->height)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: pixel conversion failed", name, fmt);
    for (int y = 0; y < f->height; y++)
        memcpy(out->px + (size_t)y * (size_t)f->width * (size_t)out->ch,
               a->tmp[0] + (size_t)y * (size_t)a->tmp_lines[0], (size_t)f->width * (size_t)out->ch);
    inf->bit_depth = desc->comp[0].depth;
    inf->channels = (desc->flags & AV_PIX_FMT_FLAG_PAL) ? 3 : desc->nb_components;
    if (alpha) {
        /* has_alpha means some pixel is actually see-through: GIF frames always come as BGRA */
        size_t npx = (size_t)f->width * (size_t)f->height;
        for (size_t i = 0; i < npx && !inf->has_alpha; i++)
            inf->has_alpha = out->px[i * 4 + 3] != 255;
        if (inf->has_alpha && (desc->flags & AV_PIX_FMT_FLAG_PAL))
            inf->channels = 4;
    }
    return LP_OK;
}

static lp_err imgav_fail(const char *name, const char *fmt, const char *what, int ret,
                         lp_error *err)
{
    char e[AV_ERROR_MAX_STRING_SIZE] = "";

    av_strerror(ret, e, sizeof e);
    return lp_err_set(err, ret == AVERROR(ENOMEM) ? LP_ERR_NOMEM : LP_ERR_INVALID, "%s: %s: %s: %s",
                      name, fmt, what, e);
}

static lp_err imgav_open(imgav_ctx *a, imgav_mem *m, const AVInputFormat *ifmt, const char *name,
                         const char *fmt, lp_error *err)
{
    uint8_t *iobuf = av_malloc(IMGAV_IO_BUF);
    AVIOContext *pb;
    int ret;

    if (!iobuf)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", name, fmt);
    pb = avio_alloc_context(iobuf, IMGAV_IO_BUF, 0, m, imgav_mem_read, NULL, imgav_mem_seek);
    if (!pb) {
        av_free(iobuf);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", name, fmt);
    }
    media_av_quiet(); /* libav reports through our error text, never on stderr */
    a->fc = avformat_alloc_context();
    if (!a->fc) {
        av_freep(&pb->buffer);
        avio_context_free(&pb);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", name, fmt);
    }
    a->fc->pb = pb;
    a->fc->flags |= AVFMT_FLAG_CUSTOM_IO;
    ret = avformat_open_input(&a->fc, "", ifmt, NULL);
    if (ret < 0) {
        /* avformat_open_input frees the context on failure but leaves a custom pb to us */
        av_freep(&pb->buffer);
        avio_context_free(&pb);
        return imgav_fail(name, fmt, "cannot open", ret, err);
    }
    return LP_OK;
}

lp_err media_image_av_decode(const char *name, const uint8_t *data, size_t n, int is_gif,
                             media_image_raw *out, media_image_info *info, lp_error *err)
{
    imgav_mem m = {.d = data, .n = n};
    imgav_ctx a = {.fc = NULL};
    const AVInputFormat *ifmt;
    const AVCodec *codec;
    AVCodecParameters *par;
    const char *fmt = is_gif ? "gif" : "image";
    int si, ret;
    lp_err rc;

    if (is_gif) {
        snprintf(info->format, sizeof info->format, "gif");
        rc = gif_scan(name, data, n, info, err);
        if (rc == LP_OK)
            rc = media_image_check_dims(name, fmt, (uint64_t)info->stored_w,
                                        (uint64_t)info->stored_h, err);
        if (rc != LP_OK)
            return rc;
        ifmt = av_find_input_format("gif");
    } else {
        ifmt = imgav_image_format(data, n);
        if (!ifmt)
            return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: not an image format we decode", name);
    }
    if (!ifmt)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %s: no demuxer in this FFmpeg", name, fmt);
    rc = imgav_open(&a, &m, ifmt, name, fmt, err);
    if (rc != LP_OK)
        return rc;
    si = av_find_best_stream(a.fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %s: no image stream", name, fmt);
        goto done;
    }
    par = a.fc->streams[si]->codecpar;
    codec = avcodec_find_decoder(par->codec_id);
    if (!is_gif) {
        snprintf(info->format, sizeof info->format, "%s", avcodec_get_name(par->codec_id));
        fmt = info->format;
        info->n_frames = 0; /* an image pipe does not say how many images follow */
        if (par->width > 0 && par->height > 0) {
            rc =
                media_image_check_dims(name, fmt, (uint64_t)par->width, (uint64_t)par->height, err);
            if (rc != LP_OK)
                goto done;
        }
    }
    if (!codec) {
        rc = lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: %s: no decoder in this FFmpeg", name, fmt);
        goto done;
    }
    a.cc = avcodec_alloc_context3(codec);
    a.pkt = av_packet_alloc();
    a.frame = av_frame_alloc();
    if (!a.cc || !a.pkt || !a.frame || avcodec_parameters_to_context(a.cc, par) < 0) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", name, fmt);
        goto done;
    }
    a.cc->thread_count = 1;
    /* libavcodec refuses frames over this before allocating them: our pixel cap holds there */
    a.cc->max_pixels = MEDIA_IMAGE_MAX_PIXELS;
    ret = avcodec_open2(a.cc, codec, NULL);
    if (ret >= 0)
        ret = imgav_first_frame(&a, si);
    if (ret < 0) {
        if ((uint64_t)a.cc->width * (uint64_t)a.cc->height > MEDIA_IMAGE_MAX_PIXELS)
            rc = media_image_check_dims(name, fmt, (uint64_t)a.cc->width, (uint64_t)a.cc->height,
                                        err);
        else
            rc = imgav_fail(name, fmt, "cannot decode the first frame", ret, err);
        goto done;
    }
    rc = imgav_convert(&a, name, fmt, out, info, err);
    if (rc == LP_OK && is_gif) {
        /* FFmpeg hands GIF frames over as BGRA; as stored they are 8-bit palette indices */
        info->bit_depth = 8;
        info->channels = info->has_alpha ? 4 : 3;
    }
done:
    imgav_ctx_free(&a);
    return rc;
}
