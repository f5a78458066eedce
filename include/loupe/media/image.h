/* Still images from outside files (hostile input): PNG (libpng), JPEG (libjpeg-turbo), WebP
 * (libwebp), and GIF's first frame or anything else libavcodec decodes, into RGB8 with EXIF
 * orientation applied and alpha composited on white. Caps are checked before allocating. */
#ifndef LOUPE_MEDIA_IMAGE_H
#define LOUPE_MEDIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

/* Caps: refuse before allocating. A 100 MP image is far beyond any ad placement. */
#define MEDIA_IMAGE_MAX_PIXELS (100ull * 1000 * 1000)
#define MEDIA_IMAGE_MAX_SIDE 65535
#define MEDIA_IMAGE_MAX_BYTES (512ull << 20) /* encoded file size */

/* Pixels, row-major RGB8, w*h*3 bytes; owned by the struct (media_image_free). */
typedef struct media_image {
    int w, h;
    uint8_t *rgb;
} media_image;

/* What the file says about itself (for the format/resolution/file_size checks). */
typedef struct media_image_info {
    char format[16];        /* "png", "jpeg", "webp", "gif", or libavcodec's codec name */
    int stored_w, stored_h; /* as encoded, before EXIF orientation */
    int w, h;               /* as displayed: after orientation (equal to the decoded image) */
    int orientation;        /* EXIF 1..8; 1 when absent */
    int has_alpha;          /* the file carries transparency (composited on white) */
    int bit_depth;          /* per channel as stored: 1..16 (16-bit decodes keep the high byte) */
    int channels;           /* as stored: 1 grey, 2 grey+alpha, 3, 4 (RGBA or CMYK); a palette
                               counts as 3, or 4 when it carries transparency */
    int cmyk;               /* a CMYK/YCCK JPEG */
    int animated;           /* more than one frame (GIF, APNG, animated WebP); frame 0 decoded */
    int n_frames;           /* known frame count (1 for a still), 0 when unknown (formats read
                               through libavformat's image pipes, GIF aside) */
    double duration_s;      /* animation length (GIF, APNG, WebP), 0 for stills or unknown */
    uint64_t file_bytes;    /* size of the encoded input */
} media_image_info;

/* Decodes path. name in errors is the path. On success *img is owned by the caller; on failure
 * it is zeroed and err reads "PATH: png: truncated at row 17" or the like. info may be NULL; on
 * failure it holds what was read before the problem (format, stored size: a refused
 * 100000x100000 PNG still reports its size). The format comes from the magic bytes, never the
 * name. Errors: LP_ERR_LIMIT (a cap), _INVALID (truncated, corrupt, empty), _UNSUPPORTED (not
 * an image format decoded here), _NOMEM, _IO/_NOTFOUND (the file). */
lp_err media_image_decode_file(const char *path, media_image *img, media_image_info *info,
                               lp_error *err);
/* The same over memory (the fuzz targets' entry point); name is what errors call it. */
lp_err media_image_decode_mem(const char *name, const uint8_t *data, size_t n, media_image *img,
                              media_image_info *info, lp_error *err);
/* Accepts a zeroed image; leaves it zeroed. */
void media_image_free(media_image *img);

/* A copy scaled so its longer side is at most max_side (never enlarged), with libswscale's
 * area filter: for report thumbnails only (the model's resize is engine/embed_image.h). */
lp_err media_image_thumbnail(const media_image *src, int max_side, media_image *out, lp_error *err);
/* Encodes img as an 8-bit RGB PNG into a new buffer (*out, caller frees with lp_alloc_free). */
lp_err media_image_encode_png(const media_image *img, uint8_t **out, size_t *n_out, lp_error *err);

#endif
