/* Fuzz target for still-image decoding: the input goes through media_image_decode_mem (format
 * sniffed from the bytes: libpng, libjpeg, libwebp, libavcodec), and a small decoded image
 * also through the thumbnail and the PNG encoder. Any outcome but a crash, a sanitizer report
 * or a leak is fine. */
#include <stdint.h>

#include <libavutil/log.h>

#include "loupe/base/alloc.h"
#include "loupe/media/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    media_image img, thumb;
    media_image_info info;
    lp_error err;
    uint8_t *png = NULL;
    size_t n_png = 0;

    if (!quiet) {
        av_log_set_level(AV_LOG_QUIET); /* FFmpeg's decoders log every malformed input */
        quiet = 1;
    }
    if (media_image_decode_mem("fuzz", data, size, &img, &info, &err) != LP_OK)
        return 0;
    if ((uint64_t)img.w * (uint64_t)img.h <= 256u * 256u &&
        media_image_thumbnail(&img, 7, &thumb, &err) == LP_OK) {
        if (media_image_encode_png(&thumb, &png, &n_png, &err) == LP_OK)
            lp_alloc_free(png);
        media_image_free(&thumb);
    }
    media_image_free(&img);
    return 0;
}
