/* Private contract between image.c and the per-format decoders (image_png.c, image_jpeg.c,
 * image_webp.c, image_av.c): a decoder checks the caps on the header's dimensions, then fills a
 * media_image_raw in stored orientation and the info fields it knows; image.c composites alpha
 * on white, applies the EXIF orientation and owns the public API. */
#ifndef LOUPE_MEDIA_IMAGE_IMPL_H
#define LOUPE_MEDIA_IMAGE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/media/image.h"

/* Decoded pixels before compositing and orientation: RGB8 (ch 3) or straight-alpha RGBA8
 * (ch 4), w*h*ch bytes from lp_alloc. */
typedef struct media_image_raw {
    int w, h, ch;
    uint8_t *px;
} media_image_raw;

/* LP_ERR_LIMIT naming the file and the broken cap unless w x h is within the MEDIA_IMAGE_*
 * caps (and not empty: LP_ERR_INVALID); every decoder calls it before allocating pixels. */
lp_err media_image_check_dims(const char *name, const char *fmt, uint64_t w, uint64_t h,
                              lp_error *err);
/* Allocates r->px for w x h x ch after media_image_check_dims; LP_ERR_NOMEM names the file. */
lp_err media_image_raw_alloc(media_image_raw *r, int w, int h, int ch, const char *name,
                             const char *fmt, lp_error *err);

/* The Orientation tag (1..8) of an EXIF block, raw TIFF ("II*\0"...) or with the "Exif\0\0"
 * prefix JPEG's APP1 carries; *orientation is 1 when the block or the tag is absent or bad.
 * Fails only for memory. */
lp_err media_image_exif_orientation(const char *name, const uint8_t *data, size_t n,
                                    int *orientation, lp_error *err);

/* Each decoder: data is the whole file; info arrives zeroed apart from file_bytes and
 * orientation (1); on failure out->px may be set and the caller frees it. */
lp_err media_image_png_decode(const char *name, const uint8_t *data, size_t n, media_image_raw *out,
                              media_image_info *info, lp_error *err);
lp_err media_image_jpeg_decode(const char *name, const uint8_t *data, size_t n,
                               media_image_raw *out, media_image_info *info, lp_error *err);
lp_err media_image_webp_decode(const char *name, const uint8_t *data, size_t n,
                               media_image_raw *out, media_image_info *info, lp_error *err);
/* GIF (is_gif: the magic matched) or whatever image format libavformat's probes recognise. */
lp_err media_image_av_decode(const char *name, const uint8_t *data, size_t n, int is_gif,
                             media_image_raw *out, media_image_info *info, lp_error *err);

#endif
