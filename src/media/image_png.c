/* PNG decoding with libpng from memory: every colour type and depth to RGB8 or RGBA8 (16-bit
 * keeps the high byte, palettes and tRNS expand to alpha, Adam7 is deinterlaced), the eXIf
 * orientation, and APNG's frame count and length from acTL/fcTL. libpng reports errors by
 * longjmp: the decoder's state lives in a context the longjmp cannot clobber. */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "image_impl.h"
#include "loupe/base/alloc.h"

typedef enum pngd_phase { PNGD_PHASE_HEADER, PNGD_PHASE_ROWS, PNGD_PHASE_END } pngd_phase;

typedef struct pngd_ctx {
    const char *name;
    const uint8_t *data;
    size_t n, pos;
    png_structp png;
    png_infop info;
    media_image_raw *out;
    media_image_info *inf;
    png_bytep *rows;
    pngd_phase phase;
    int truncated;
    int row, pass, n_passes;
    char msg[256];
} pngd_ctx;

static uint32_t pngd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pngd_on_error(png_structp png, png_const_charp msg)
{
    pngd_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (a bad sRGB profile, a CRC in an ancillary chunk) do not stop a decode. */
static void pngd_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void pngd_read_mem(png_structp png, png_bytep out, size_t len)
{
    pngd_ctx *c = png_get_io_ptr(png);

    if (len > c->n - c->pos) {
        c->truncated = 1;
        png_error(png, "truncated");
    }
    memcpy(out, c->data + c->pos, len);
    c->pos += len;
}

/* APNG frames and length from the chunk list (libpng skips acTL/fcTL as unknown): no
 * decompression, so it is cheap even for long animations. Stops at the first bad length. */
static void pngd_scan_animation(const uint8_t *d, size_t n, media_image_info *inf)
{
    uint32_t frames = 0;
    double dur = 0;

    for (size_t pos = 8; n - pos >= 12;) {
        uint32_t len = pngd_be32(d + pos);
        const uint8_t *type = d + pos + 4, *body = d + pos + 8;

        if (len > n - pos - 12)
            break;
        if (memcmp(type, "acTL", 4) == 0 && len >= 8)
            frames = pngd_be32(body);
        else if (memcmp(type, "fcTL", 4) == 0 && len >= 26) {
            unsigned num = (unsigned)body[20] << 8 | body[21];
            unsigned den = (unsigned)body[22] << 8 | body[23];
            dur += (double)num / (den ? den : 100);
        } else if (memcmp(type, "IEND", 4) == 0)
            break;
        pos += 12 + (size_t)len;
    }
    inf->n_frames = frames ? (frames > INT_MAX ? INT_MAX : (int)frames) : 1;
    inf->animated = inf->n_frames > 1;
    inf->duration_s = inf->animated ? dur : 0;
}

/* Sets up libpng's transforms so every row arrives as 8-bit RGB or RGBA. */
static int pngd_transforms(pngd_ctx *c, int color, int depth)
{
    if (depth == 16)
        png_set_strip_16(c->png);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(c->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(c->png);
    if (png_get_valid(c->png, c->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(c->png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(c->png);
    return png_set_interlace_handling(c->png);
}

static lp_err pngd_fill_header(pngd_ctx *c, png_uint_32 w, png_uint_32 h, int color, int depth)
{
    media_image_info *inf = c->inf;
    int trns = png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0;

    inf->stored_w = (int)(w > INT_MAX ? INT_MAX : w);
    inf->stored_h = (int)(h > INT_MAX ? INT_MAX : h);
    inf->bit_depth = depth;
    inf->has_alpha = (color & PNG_COLOR_MASK_ALPHA) != 0 || trns;
    switch (color) {
    case PNG_COLOR_TYPE_GRAY: inf->channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: inf->channels = 2; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: inf->channels = 4; break;
    default: inf->channels = 3; break; /* RGB, and a palette of RGB entries */
    }
    if (color == PNG_COLOR_TYPE_PALETTE && trns)
        inf->channels = 4;
    return media_image_check_dims(c->name, "png", w, h, NULL);
}

/* All libpng calls happen here, under one setjmp. Returns LP_OK, LP_ERR_LIMIT (caps, with the
 * message in c->msg unset: the caller rebuilds it), or -1 after a libpng error. */
static int pngd_run(pngd_ctx *c)
{
    png_uint_32 w, h;
    int depth, color, interlace, ch;

    if (setjmp(png_jmpbuf(c->png)))
        return -1;
    png_set_read_fn(c->png, c, pngd_read_mem);
    /* our caps are the tighter ones; libpng's default would refuse sides over 1e6 itself */
    png_set_user_limits(c->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(c->png, c->info);
    png_get_IHDR(c->png, c->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (pngd_fill_header(c, w, h, color, depth) != LP_OK)
        return LP_ERR_LIMIT;
    c->n_passes = pngd_transforms(c, color, depth);
    png_read_update_info(c->png, c->info);
    ch = png_get_channels(c->png, c->info);
    if (png_get_bit_depth(c->png, c->info) != 8 || (ch != 3 && ch != 4) ||
        png_get_rowbytes(c->png, c->info) != (size_t)w * (size_t)ch)
        png_error(c->png, "unexpected layout after transforms");
    if (media_image_raw_alloc(c->out, (int)w, (int)h, ch, c->name, "png", NULL) != LP_OK)
        png_error(c->png, "out of memory for the pixels");
    c->rows = lp_alloc_array(h, sizeof *c->rows);
    if (!c->rows)
        png_error(c->png, "out of memory for the row table");
    for (png_uint_32 y = 0; y < h; y++)
        c->rows[y] = c->out->px + (size_t)y * w * (size_t)ch;
    c->phase = PNGD_PHASE_ROWS;
    for (c->pass = 0; c->pass < c->n_passes; c->pass++)
        for (c->row = 0; c->row < (int)h; c->row++)
            png_read_row(c->png, c->rows[c->row], NULL);
    c->phase = PNGD_PHASE_END;
    png_read_end(c->png, c->info);
    return LP_OK;
}

static lp_err pngd_fail(pngd_ctx *c, lp_error *err)
{
    lp_err code = strstr(c->msg, "out of memory") ? LP_ERR_NOMEM : LP_ERR_INVALID;
    const char *what = c->truncated ? "truncated" : c->msg;

    if (c->phase == PNGD_PHASE_ROWS && c->n_passes > 1)
        return lp_err_set(err, code, "%s: png: %s at row %d of pass %d/%d", c->name, what, c->row,
                          c->pass + 1, c->n_passes);
    if (c->phase == PNGD_PHASE_ROWS)
        return lp_err_set(err, code, "%s: png: %s at row %d", c->name, what, c->row);
    if (c->phase == PNGD_PHASE_END)
        return lp_err_set(err, code, "%s: png: %s after the image data", c->name, what);
    return lp_err_set(err, code, "%s: png: %s in the header", c->name, what);
}

lp_err media_image_png_decode(const char *name, const uint8_t *data, size_t n, media_image_raw *out,
                              media_image_info *info, lp_error *err)
{
    pngd_ctx c = {.name = name, .data = data, .n = n, .out = out, .inf = info};
    png_bytep exif = NULL;
    png_uint_32 n_exif = 0;
    lp_err rc = LP_OK;
    int r;

    snprintf(info->format, sizeof info->format, "png");
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, pngd_on_error, pngd_on_warning);
    if (c.png)
        c.info = png_create_info_struct(c.png);
    if (!c.png || !c.info) {
        png_destroy_read_struct(&c.png, NULL, NULL);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: png: out of memory", name);
    }
    r = pngd_run(&c);
    if (r == LP_ERR_LIMIT)
        rc = media_image_check_dims(name, "png", (png_uint_32)info->stored_w,
                                    (png_uint_32)info->stored_h, err);
    else if (r != LP_OK)
        rc = pngd_fail(&c, err);
    if (rc == LP_OK && png_get_eXIf_1(c.png, c.info, &n_exif, &exif) != 0)
        rc = media_image_exif_orientation(name, exif, n_exif, &info->orientation, err);
    png_destroy_read_struct(&c.png, &c.info, NULL);
    lp_alloc_free(c.rows);
    if (rc == LP_OK)
        pngd_scan_animation(data, n, info);
    return rc;
}
