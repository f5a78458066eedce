/* Still images: the public entry points of image.h. Sniffs the format from the magic bytes
 * (never the file name), hands the bytes to a per-format decoder (image_*.c), then composites
 * alpha on white and applies the EXIF orientation; also thumbnails (libswscale) and PNG
 * encoding (libpng to memory) for reports. */
#include "loupe/media/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
#include <libexif/exif-data.h>
#include <libswscale/swscale.h>
#include <png.h>

#include "image_impl.h"
#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/fs.h"

/* A larger EXIF block is not a real camera's: skip it rather than hand it to libexif. */
#define IMAGE_EXIF_MAX_BYTES (1u << 20)

typedef enum image_kind {
    IMAGE_KIND_OTHER = 0,
    IMAGE_KIND_PNG,
    IMAGE_KIND_JPEG,
    IMAGE_KIND_WEBP,
    IMAGE_KIND_GIF
} image_kind;

lp_err media_image_check_dims(const char *name, const char *fmt, uint64_t w, uint64_t h,
                              lp_error *err)
{
    if (w == 0 || h == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: empty image (%llux%llu)", name, fmt,
                          (unsigned long long)w, (unsigned long long)h);
    if (w > MEDIA_IMAGE_MAX_SIDE || h > MEDIA_IMAGE_MAX_SIDE)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: %llux%llu is over the %d-pixel side cap",
                          name, fmt, (unsigned long long)w, (unsigned long long)h,
                          MEDIA_IMAGE_MAX_SIDE);
    if (w * h > MEDIA_IMAGE_MAX_PIXELS)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: %llux%llu = %llu pixels is over the %llu cap",
                          name, fmt, (unsigned long long)w, (unsigned long long)h,
                          (unsigned long long)(w * h), (unsigned long long)MEDIA_IMAGE_MAX_PIXELS);
    return LP_OK;
}

lp_err media_image_raw_alloc(media_image_raw *r, int w, int h, int ch, const char *name,
                             const char *fmt, lp_error *err)
{
    size_t n;
    lp_err rc = media_image_check_dims(name, fmt, (uint64_t)(w > 0 ? w : 0),
                                       (uint64_t)(h > 0 ? h : 0), err);

    if (rc != LP_OK)
        return rc;
    if (lp_alloc_mul((size_t)w, (size_t)h, &n) || lp_alloc_mul(n, (size_t)ch, &n))
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: %dx%d overflows", name, fmt, w, h);
    r->px = lp_alloc(n);
    if (!r->px)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory for %dx%d pixels", name, fmt, w,
                          h);
    r->w = w;
    r->h = h;
    r->ch = ch;
    return LP_OK;
}

lp_err media_image_exif_orientation(const char *name, const uint8_t *data, size_t n,
                                    int *orientation, lp_error *err)
{
    static const uint8_t hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    uint8_t *copy = NULL;
    ExifData *ed;
    ExifEntry *e;

    *orientation = 1;
    if (!data || n < 8 || n > IMAGE_EXIF_MAX_BYTES)
        return LP_OK;
    /* libexif finds the TIFF header only after "Exif\0\0" (or inside JPEG markers); PNG's
     * eXIf and most WebP EXIF chunks carry bare TIFF, so give them the prefix. */
    if (memcmp(data, hdr, sizeof hdr) != 0) {
        copy = lp_alloc(n + sizeof hdr);
        if (!copy)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: exif: out of memory", name);
        memcpy(copy, hdr, sizeof hdr);
        memcpy(copy + sizeof hdr, data, n);
        data = copy;
        n += sizeof hdr;
    }
    ed = exif_data_new();
    if (!ed) {
        lp_alloc_free(copy);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: exif: out of memory", name);
    }
    /* "Follow the specification" would invent mandatory tags; we only read one. */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, data, (unsigned int)n);
    e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2 && e->data) {
        int v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8)
            *orientation = v;
    }
    exif_data_unref(ed);
    lp_alloc_free(copy);
    return LP_OK;
}

/* A prefix of the magic counts too, so a file cut inside its signature reads "truncated"
 * from its own decoder instead of "unknown format". */
static int image_magic(const uint8_t *d, size_t n, const void *magic, size_t len)
{
    return memcmp(d, magic, n < len ? n : len) == 0;
}

static image_kind image_sniff(const uint8_t *d, size_t n)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpeg[2] = {0xff, 0xd8}; /* SOI alone: libjpeg judges the rest */

    if (image_magic(d, n, png, sizeof png))
        return IMAGE_KIND_PNG;
    if (image_magic(d, n, jpeg, sizeof jpeg))
        return IMAGE_KIND_JPEG;
    if (n >= 3 && (image_magic(d, n, "GIF87a", 6) || image_magic(d, n, "GIF89a", 6)))
        return IMAGE_KIND_GIF;
    if (n >= 4 && image_magic(d, n, "RIFF", 4) && (n < 12 || memcmp(d + 8, "WEBP", 4) == 0))
        return IMAGE_KIND_WEBP;
    return IMAGE_KIND_OTHER;
}

/* Orientation o as a linear map: output pixel (ox, oy) of a stored w x h image reads stored
 * pixel s0 + ox * a + oy * b (in pixels). */
static void image_orient_map(int o, int64_t w, int64_t h, int64_t *s0, int64_t *a, int64_t *b)
{
    int64_t last_row = (h - 1) * w;

    switch (o) {
    case 2: *s0 = w - 1, *a = -1, *b = w; break;
    case 3: *s0 = last_row + w - 1, *a = -1, *b = -w; break;
    case 4: *s0 = last_row, *a = 1, *b = -w; break;
    case 5: *s0 = 0, *a = w, *b = 1; break;                  /* transpose */
    case 6: *s0 = last_row, *a = -w, *b = 1; break;          /* 90 degrees clockwise */
    case 7: *s0 = last_row + w - 1, *a = -w, *b = -1; break; /* transverse */
    case 8: *s0 = w - 1, *a = w, *b = -1; break;             /* 90 degrees anticlockwise */
    default: *s0 = 0, *a = 1, *b = w; break;
    }
}

/* Copies src (stored, w x h) into dst (ow x oh) under orientation o, in 64-row bands so the
 * column walks of the rotations stay in cache. */
static void image_orient(int o, const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh)
{
    int64_t s0, a, b;

    image_orient_map(o, w, h, &s0, &a, &b);
    for (int y0 = 0; y0 < oh; y0 += 64) {
        int y1 = y0 + 64 < oh ? y0 + 64 : oh;
        for (int x0 = 0; x0 < ow; x0 += 64) {
            int x1 = x0 + 64 < ow ? x0 + 64 : ow;
            for (int oy = y0; oy < y1; oy++) {
                uint8_t *d = dst + ((size_t)oy * (size_t)ow + (size_t)x0) * 3;
                int64_t si = s0 + (int64_t)x0 * a + (int64_t)oy * b;
                for (int ox = x0; ox < x1; ox++, si += a, d += 3) {
                    const uint8_t *p = src + si * 3;
                    d[0] = p[0], d[1] = p[1], d[2] = p[2];
                }
            }
        }
    }
}

/* Composites raw on white (in place, RGBA to RGB), orients it, and moves it into img. */
static lp_err image_finish(const char *name, media_image_raw *raw, int orientation,
                           media_image *img, lp_error *err)
{
    size_t npx = (size_t)raw->w * (size_t)raw->h;
    int ow = raw->w, oh = raw->h;
    uint8_t *p = raw->px, *dst;

    if (raw->ch == 4) {
        for (size_t i = 0; i < npx; i++) {
            unsigned r = p[4 * i], g = p[4 * i + 1], b = p[4 * i + 2], a = p[4 * i + 3];
            unsigned bg = (255u - a) * 255u;
            /* (x + 127) / 255 rounds x / 255: no ties, as 255 is odd */
            p[3 * i] = (uint8_t)((a * r + bg + 127u) / 255u);
            p[3 * i + 1] = (uint8_t)((a * g + bg + 127u) / 255u);
            p[3 * i + 2] = (uint8_t)((a * b + bg + 127u) / 255u);
        }
        dst = lp_alloc_resize(p, npx, 3); /* shrinking; on failure the larger block is fine */
        if (dst)
            raw->px = p = dst;
        raw->ch = 3;
    }
    if (orientation >= 5 && orientation <= 8) {
        ow = raw->h;
        oh = raw->w;
    }
    if (orientation >= 2 && orientation <= 8) {
        dst = lp_alloc_array(npx, 3);
        if (!dst)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory orienting %dx%d pixels", name,
                              raw->w, raw->h);
        image_orient(orientation, p, raw->w, raw->h, dst, ow, oh);
        lp_alloc_free(p);
        p = dst;
    }
    raw->px = NULL;
    img->w = ow;
    img->h = oh;
    img->rgb = p;
    return LP_OK;
}

lp_err media_image_decode_mem(const char *name, const uint8_t *data, size_t n, media_image *img,
                              media_image_info *info, lp_error *err)
{
    media_image_info tmp = {.orientation = 1, .file_bytes = n};
    media_image_raw raw = {.w = 0};
    lp_err rc;

    if (!name)
        name = "(memory)";
    if (!img)
        return lp_err_set(err, LP_ERR_USAGE, "%s: no image to decode into", name);
    memset(img, 0, sizeof *img);
    if (n == 0 || !data) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: empty file (0 bytes)", name);
        goto fail;
    }
    if ((uint64_t)n > MEDIA_IMAGE_MAX_BYTES) {
        rc = lp_err_set(err, LP_ERR_LIMIT, "%s: %zu bytes is over the %llu-byte image cap", name, n,
                        (unsigned long long)MEDIA_IMAGE_MAX_BYTES);
        goto fail;
    }
    switch (image_sniff(data, n)) {
    case IMAGE_KIND_PNG: rc = media_image_png_decode(name, data, n, &raw, &tmp, err); break;
    case IMAGE_KIND_JPEG: rc = media_image_jpeg_decode(name, data, n, &raw, &tmp, err); break;
    case IMAGE_KIND_WEBP: rc = media_image_webp_decode(name, data, n, &raw, &tmp, err); break;
    case IMAGE_KIND_GIF: rc = media_image_av_decode(name, data, n, 1, &raw, &tmp, err); break;
    default: rc = media_image_av_decode(name, data, n, 0, &raw, &tmp, err); break;
    }
    if (rc != LP_OK)
        goto fail;
    rc = image_finish(name, &raw, tmp.orientation, img, err);
    if (rc != LP_OK)
        goto fail;
    tmp.w = img->w;
    tmp.h = img->h;
    if (info)
        *info = tmp;
    return LP_OK;
fail:
    lp_alloc_free(raw.px);
    if (info)
        *info = tmp;
    return rc;
}

lp_err media_image_decode_file(const char *path, media_image *img, media_image_info *info,
                               lp_error *err)
{
    struct stat st;
    lp_fs_map map;
    lp_err rc;

    if (!img)
        return lp_err_set(err, LP_ERR_USAGE, "%s: no image to decode into", path);
    memset(img, 0, sizeof *img);
    if (info)
        memset(info, 0, sizeof *info);
    if (stat(path, &st) != 0)
        return lp_err_set(err, errno == ENOENT ? LP_ERR_NOTFOUND : LP_ERR_IO, "%s: cannot stat: %s",
                          path, strerror(errno));
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > MEDIA_IMAGE_MAX_BYTES)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %lld bytes is over the %llu-byte image cap", path,
                          (long long)st.st_size, (unsigned long long)MEDIA_IMAGE_MAX_BYTES);
    rc = lp_fs_map_open(path, &map, err);
    if (rc != LP_OK)
        return rc;
    rc = media_image_decode_mem(path, map.data, map.size, img, info, err);
    lp_fs_map_close(&map);
    return rc;
}

void media_image_free(media_image *img)
{
    if (!img)
        return;
    lp_alloc_free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

/* Scales one 8-bit plane: swscale's grey path filters without any colour conversion, which
 * RGB24 to RGB24 would route through YUV and round. Planes are av_image_alloc'd with padded
 * strides because swscale's SIMD may read and write past a tight row. */
static int image_scale_planes(const media_image *src, media_image *out)
{
    struct SwsContext *sws;
    uint8_t *sp[4] = {NULL}, *dp[4] = {NULL};
    int sl[4], dl[4], ok = -1;

    sws = sws_getContext(src->w, src->h, AV_PIX_FMT_GRAY8, out->w, out->h, AV_PIX_FMT_GRAY8,
                         SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!sws)
        return -1;
    if (av_image_alloc(sp, sl, src->w, src->h, AV_PIX_FMT_GRAY8, 64) < 0 ||
        av_image_alloc(dp, dl, out->w, out->h, AV_PIX_FMT_GRAY8, 64) < 0)
        goto done;
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < src->h; y++) {
            const uint8_t *row = src->rgb + (size_t)y * (size_t)src->w * 3 + c;
            for (int x = 0; x < src->w; x++)
                sp[0][(size_t)y * (size_t)sl[0] + (size_t)x] = row[(size_t)x * 3];
        }
        if (sws_scale(sws, (const uint8_t *const *)sp, sl, 0, src->h, dp, dl) != out->h)
            goto done;
        for (int y = 0; y < out->h; y++) {
            uint8_t *row = out->rgb + (size_t)y * (size_t)out->w * 3 + c;
            for (int x = 0; x < out->w; x++)
                row[(size_t)x * 3] = dp[0][(size_t)y * (size_t)dl[0] + (size_t)x];
        }
    }
    ok = 0;
done:
    av_freep(&sp[0]);
    av_freep(&dp[0]);
    sws_freeContext(sws);
    return ok;
}

lp_err media_image_thumbnail(const media_image *src, int max_side, media_image *out, lp_error *err)
{
    int64_t w, h, longer;

    if (!out)
        return lp_err_set(err, LP_ERR_USAGE, "thumbnail: no output image");
    memset(out, 0, sizeof *out);
    if (!src || !src->rgb || src->w <= 0 || src->h <= 0 || max_side <= 0)
        return lp_err_set(err, LP_ERR_USAGE, "thumbnail: need an image and a positive size (%d)",
                          max_side);
    w = src->w;
    h = src->h;
    longer = w > h ? w : h;
    if (longer > max_side) {
        /* the longer side becomes max_side exactly; the other rounds, but never to 0 */
        if (w >= h) {
            h = (h * max_side + longer / 2) / longer;
            w = max_side;
        } else {
            w = (w * max_side + longer / 2) / longer;
            h = max_side;
        }
        w = w < 1 ? 1 : w;
        h = h < 1 ? 1 : h;
    }
    out->rgb = lp_alloc_array((size_t)w * (size_t)h, 3);
    if (!out->rgb)
        return lp_err_set(err, LP_ERR_NOMEM, "thumbnail: out of memory for %lldx%lld", (long long)w,
                          (long long)h);
    out->w = (int)w;
    out->h = (int)h;
    if (w == src->w && h == src->h) {
        memcpy(out->rgb, src->rgb, (size_t)w * (size_t)h * 3);
        return LP_OK;
    }
    if (image_scale_planes(src, out) != 0) {
        media_image_free(out);
        return lp_err_set(err, LP_ERR_NOMEM,
                          "thumbnail: libswscale failed scaling %dx%d to %lldx%lld", src->w, src->h,
                          (long long)w, (long long)h);
    }
    return LP_OK;
}

typedef struct image_png_writer {
    png_structp png;
    png_infop info;
    const media_image *img;
    lp_buf out;
    char msg[256];
} image_png_writer;

static void image_png_on_error(png_structp png, png_const_charp msg)
{
    image_png_writer *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void image_png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void image_png_write(png_structp png, png_bytep data, size_t n)
{
    image_png_writer *w = png_get_io_ptr(png);
    lp_buf_append(&w->out, data, n);
    if (w->out.failed)
        png_error(png, "out of memory");
}

static void image_png_flush(png_structp png)
{
    (void)png;
}

/* Everything libpng may longjmp out of sits here; its state lives in *w (the caller's frame),
 * so nothing it needs after the jump is a modified local of this function. */
static int image_png_encode_run(image_png_writer *w)
{
    const media_image *img = w->img;

    if (setjmp(png_jmpbuf(w->png)))
        return -1;
    png_set_write_fn(w->png, w, image_png_write, image_png_flush);
    png_set_IHDR(w->png, w->info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* Fixed settings and no tIME chunk: the same pixels give the same bytes. */
    png_set_compression_level(w->png, 6);
    png_set_filter(w->png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
    png_write_info(w->png, w->info);
    for (int y = 0; y < img->h; y++)
        png_write_row(w->png, img->rgb + (size_t)y * (size_t)img->w * 3);
    png_write_end(w->png, NULL);
    return 0;
}

lp_err media_image_encode_png(const media_image *img, uint8_t **out, size_t *n_out, lp_error *err)
{
    image_png_writer w = {.img = img};
    lp_err rc = LP_OK;

    if (!out || !n_out)
        return lp_err_set(err, LP_ERR_USAGE, "png encode: no output buffer");
    *out = NULL;
    *n_out = 0;
    if (!img || !img->rgb || img->w <= 0 || img->h <= 0 || img->w > MEDIA_IMAGE_MAX_SIDE ||
        img->h > MEDIA_IMAGE_MAX_SIDE)
        return lp_err_set(err, LP_ERR_USAGE, "png encode: no image or a bad size (%dx%d)",
                          img ? img->w : 0, img ? img->h : 0);
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, image_png_on_error,
                                    image_png_on_warning);
    if (w.png)
        w.info = png_create_info_struct(w.png);
    if (!w.png || !w.info) {
        png_destroy_write_struct(&w.png, NULL);
        return lp_err_set(err, LP_ERR_NOMEM, "png encode: out of memory");
    }
    if (image_png_encode_run(&w) != 0) {
        rc = lp_err_set(err, w.out.failed ? LP_ERR_NOMEM : LP_ERR_INVALID, "png encode: %dx%d: %s",
                        img->w, img->h, w.msg);
        lp_buf_free(&w.out);
    } else {
        *out = (uint8_t *)w.out.p;
        *n_out = w.out.n;
    }
    png_destroy_write_struct(&w.png, &w.info);
    return rc;
}
