/* WebP decoding with libwebp from memory: still images (lossy, lossless, alpha) straight into
 * our buffer, animations through WebPAnimDecoder (frame 0 composited on its canvas), and from
 * the container (libwebpdemux) the frame count, the animation length and the EXIF chunk. */
#include <stdio.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "image_impl.h"
#include "loupe/base/alloc.h"

static const char *webp_status(VP8StatusCode s, lp_err *code)
{
    *code = LP_ERR_INVALID;
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: *code = LP_ERR_NOMEM; return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: *code = LP_ERR_UNSUPPORTED; return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
    default: return "decoder failure";
    }
}

/* Frame count and total duration from the demuxer: headers only, no pixels. */
static void webp_frames(WebPDemuxer *dmx, media_image_info *inf)
{
    uint32_t frames = WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT);
    uint32_t flags = WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS);
    WebPIterator it;
    double ms = 0;

    inf->n_frames = frames > 0x7fffffff ? 0x7fffffff : (int)frames;
    inf->animated = (flags & ANIMATION_FLAG) && frames > 1;
    if (inf->animated && WebPDemuxGetFrame(dmx, 1, &it)) {
        do
            ms += it.duration;
        while (WebPDemuxNextFrame(&it));
        WebPDemuxReleaseIterator(&it);
    }
    inf->duration_s = inf->animated ? ms / 1000.0 : 0;
}

static lp_err webp_still(const char *name, const uint8_t *data, size_t n, media_image_raw *out,
                         const WebPBitstreamFeatures *feat, lp_error *err)
{
    WebPDecoderConfig cfg;
    VP8StatusCode st;
    lp_err rc, code;
    int ch = feat->has_alpha ? 4 : 3;

    rc = media_image_raw_alloc(out, feat->width, feat->height, ch, name, "webp", err);
    if (rc != LP_OK)
        return rc;
    if (!WebPInitDecoderConfig(&cfg))
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: webp: libwebp version mismatch", name);
    cfg.options.use_threads = 0;
    cfg.output.colorspace = ch == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = out->px;
    cfg.output.u.RGBA.stride = out->w * ch;
    cfg.output.u.RGBA.size = (size_t)out->w * (size_t)out->h * (size_t)ch;
    st = WebPDecode(data, n, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (st != VP8_STATUS_OK) {
        const char *what = webp_status(st, &code);
        return lp_err_set(err, code, "%s: webp: %s", name, what);
    }
    return LP_OK;
}

static lp_err webp_animated(const char *name, const WebPData *wd, media_image_raw *out,
                            lp_error *err)
{
    WebPAnimDecoderOptions opt;
    WebPAnimDecoder *dec;
    WebPAnimInfo ai;
    uint8_t *canvas = NULL;
    int ts = 0;
    lp_err rc;

    if (!WebPAnimDecoderOptionsInit(&opt))
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: webp: libwebp version mismatch", name);
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    dec = WebPAnimDecoderNew(wd, &opt);
    if (!dec)
        return lp_err_set(err, LP_ERR_INVALID, "%s: webp: cannot open the animation", name);
    if (!WebPAnimDecoderGetInfo(dec, &ai)) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: webp: bad animation header", name);
        goto done;
    }
    rc = media_image_raw_alloc(out, (int)ai.canvas_width, (int)ai.canvas_height, 4, name, "webp",
                               err);
    if (rc != LP_OK)
        goto done;
    if (!WebPAnimDecoderGetNext(dec, &canvas, &ts) || !canvas) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: webp: frame 1 does not decode", name);
        goto done;
    }
    memcpy(out->px, canvas, (size_t)out->w * (size_t)out->h * 4);
done:
    WebPAnimDecoderDelete(dec);
    return rc;
}

lp_err media_image_webp_decode(const char *name, const uint8_t *data, size_t n,
                               media_image_raw *out, media_image_info *info, lp_error *err)
{
    WebPData wd = {.bytes = data, .size = n};
    WebPDemuxState state;
    WebPDemuxer *dmx;
    WebPBitstreamFeatures feat;
    WebPChunkIterator chunk;
    VP8StatusCode st;
    lp_err rc, code;
    int anim_container;

    snprintf(info->format, sizeof info->format, "webp");
    info->bit_depth = 8;
    dmx = WebPDemuxPartial(&wd, &state);
    if (!dmx || state != WEBP_DEMUX_DONE) {
        int cut = state == WEBP_DEMUX_PARSING_HEADER || state == WEBP_DEMUX_PARSED_HEADER;
        WebPDemuxDelete(dmx);
        return lp_err_set(err, LP_ERR_INVALID, "%s: webp: %s", name,
                          cut ? "truncated container" : "malformed container");
    }
    info->stored_w = (int)WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
    info->stored_h = (int)WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
    info->has_alpha = (WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & ALPHA_FLAG) != 0;
    /* WebPDecode refuses an ANIM container even of one frame: that takes the anim decoder */
    anim_container = (WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & ANIMATION_FLAG) != 0;
    webp_frames(dmx, info);
    rc = media_image_check_dims(name, "webp", (uint64_t)info->stored_w, (uint64_t)info->stored_h,
                                err);
    if (rc == LP_OK && WebPDemuxGetChunk(dmx, "EXIF", 1, &chunk)) {
        rc = media_image_exif_orientation(name, chunk.chunk.bytes, chunk.chunk.size,
                                          &info->orientation, err);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPDemuxDelete(dmx);
    if (rc != LP_OK)
        return rc;
    if (anim_container) {
        info->channels = 4;
        return webp_animated(name, &wd, out, err);
    }
    st = WebPGetFeatures(data, n, &feat);
    if (st != VP8_STATUS_OK) {
        const char *what = webp_status(st, &code);
        return lp_err_set(err, code, "%s: webp: %s in the header", name, what);
    }
    info->has_alpha = info->has_alpha || feat.has_alpha;
    info->channels = feat.has_alpha ? 4 : 3;
    if (feat.width != info->stored_w || feat.height != info->stored_h)
        return lp_err_set(err, LP_ERR_INVALID, "%s: webp: image %dx%d differs from canvas %dx%d",
                          name, feat.width, feat.height, info->stored_w, info->stored_h);
    return webp_still(name, data, n, out, &feat, err);
}
