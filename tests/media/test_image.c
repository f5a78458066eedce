/* Still-image decoding tests: every format and variant tests/media/make_images.py writes with
 * PIL, decoded and compared with PIL's own decode (exact for lossless formats, a small
 * tolerance for JPEG and lossy WebP) and with the header facts the script knows; truncation at
 * many offsets, corrupt bytes, caps refused before any allocation, empty and non-image files,
 * allocation failures without leaks; thumbnails against a box filter; PNG encoding round trip
 * (decoded by PIL too) and byte-for-byte determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/media/image.h"

static char dir[1024];
static char src_dir[1024];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static int group_setup(void **state)
{
    const char *tmp = getenv("LOUPE_TEST_TMP"), *src = getenv("LOUPE_SOURCE_DIR");
    char cmd[3072];

    (void)state;
    snprintf(dir, sizeof dir, "%s/media_image", tmp ? tmp : "/tmp");
    snprintf(src_dir, sizeof src_dir, "%s", src ? src : ".");
    mkdir(dir, 0755);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/media/make_images.py' '%s'", src_dir,
             dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make_images.py failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    uint8_t *buf = NULL;
    lp_error err;

    if (lp_fs_read_all(path, 64u << 20, &buf, n, &err) != LP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return buf;
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

typedef struct expect_row {
    char name[64], format[16];
    int w, h, tol, sw, sh, orientation, has_alpha, depth, channels, cmyk, animated, n_frames;
    int duration_ms;
} expect_row;

/* Decodes one manifest image and checks pixels and info; returns the max channel difference. */
static int check_one(const expect_row *e)
{
    char path[1200], rgb_path[1300];
    media_image img;
    media_image_info info;
    lp_error err = {0};
    uint8_t *want;
    size_t n_want, n;
    int maxd = 0;

    path_of(path, sizeof path, e->name);
    snprintf(rgb_path, sizeof rgb_path, "%s.rgb", path);
    if (media_image_decode_file(path, &img, &info, &err) != LP_OK)
        fail_msg("%s: %s", e->name, err.msg);
    assert_int_equal(img.w, e->w);
    assert_int_equal(img.h, e->h);
    assert_int_equal(info.w, e->w);
    assert_int_equal(info.h, e->h);
    assert_string_equal(info.format, e->format);
    assert_int_equal(info.stored_w, e->sw);
    assert_int_equal(info.stored_h, e->sh);
    assert_int_equal(info.orientation, e->orientation);
    if (info.has_alpha != e->has_alpha || info.bit_depth != e->depth ||
        info.channels != e->channels || info.cmyk != e->cmyk || info.animated != e->animated ||
        info.n_frames != e->n_frames)
        fail_msg("%s: alpha %d depth %d channels %d cmyk %d animated %d frames %d, want "
                 "%d %d %d %d %d %d",
                 e->name, info.has_alpha, info.bit_depth, info.channels, info.cmyk, info.animated,
                 info.n_frames, e->has_alpha, e->depth, e->channels, e->cmyk, e->animated,
                 e->n_frames);
    assert_true(fabs(info.duration_s * 1000.0 - e->duration_ms) < 0.5);
    want = read_file(rgb_path, &n_want);
    assert_non_null(want);
    n = (size_t)img.w * (size_t)img.h * 3;
    assert_int_equal(n_want, n);
    assert_int_equal(info.file_bytes > 0, 1);
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)img.rgb[i] - (int)want[i]);
        maxd = d > maxd ? d : maxd;
    }
    if (maxd > e->tol)
        fail_msg("%s: max difference %d from PIL (tolerance %d)", e->name, maxd, e->tol);
    lp_alloc_free(want);
    media_image_free(&img);
    assert_null(img.rgb);
    return maxd;
}

static void test_decode_vs_pil(void **state)
{
    char path[1200], *text, *line, *next;
    size_t n;
    int count = 0, jpeg_max = 0, lossy_webp_max = 0;

    (void)state;
    path_of(path, sizeof path, "manifest.txt");
    text = (char *)read_file(path, &n);
    assert_non_null(text);
    for (line = text; line && *line; line = next) {
        expect_row e;
        int d;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (sscanf(line, "%63s %d %d %d %15s %d %d %d %d %d %d %d %d %d %d", e.name, &e.w, &e.h,
                   &e.tol, e.format, &e.sw, &e.sh, &e.orientation, &e.has_alpha, &e.depth,
                   &e.channels, &e.cmyk, &e.animated, &e.n_frames, &e.duration_ms) != 15)
            fail_msg("bad manifest line: %s", line);
        d = check_one(&e);
        if (strcmp(e.format, "jpeg") == 0)
            jpeg_max = d > jpeg_max ? d : jpeg_max;
        if (strncmp(e.name, "lossy", 5) == 0)
            lossy_webp_max = d > lossy_webp_max ? d : lossy_webp_max;
        count++;
    }
    lp_alloc_free(text);
    print_message("decoded %d images; max difference from PIL: jpeg %d, lossy webp %d\n", count,
                  jpeg_max, lossy_webp_max);
    assert_true(count >= 37);
}

/* decode_mem names the buffer in errors and gives the same pixels as the file. */
static void test_decode_mem(void **state)
{
    char path[1200];
    media_image a, b;
    lp_error err;
    uint8_t *d;
    size_t n;

    (void)state;
    path_of(path, sizeof path, "rgba_exif6.png");
    d = read_file(path, &n);
    assert_non_null(d);
    assert_int_equal(media_image_decode_file(path, &a, NULL, &err), LP_OK);
    assert_int_equal(media_image_decode_mem("buffer.png", d, n, &b, NULL, &err), LP_OK);
    assert_int_equal(a.w, b.w);
    assert_int_equal(a.h, b.h);
    assert_memory_equal(a.rgb, b.rgb, (size_t)a.w * (size_t)a.h * 3);
    media_image_free(&b);
    assert_int_equal(media_image_decode_mem("buffer.png", d, n / 2, &b, NULL, &err) == LP_OK, 0);
    assert_non_null(strstr(err.msg, "buffer.png"));
    assert_null(b.rgb);
    media_image_free(&a);
    lp_alloc_free(d);
}

static void expect_error(const char *path, lp_err want, const char *needle)
{
    media_image img = {.w = 7};
    media_image_info info;
    lp_error err = {0};
    lp_err rc = media_image_decode_file(path, &img, &info, &err);

    if (rc == LP_OK)
        fail_msg("%s: decoded (%dx%d) but should fail", path, img.w, img.h);
    if (want != LP_OK && rc != want)
        fail_msg("%s: code %d (%s), want %d", path, rc, err.msg, want);
    assert_null(img.rgb);
    assert_int_equal(img.w, 0);
    if (!strstr(err.msg, path))
        fail_msg("message does not name the file: %s", err.msg);
    if (needle && !strstr(err.msg, needle))
        fail_msg("message lacks '%s': %s", needle, err.msg);
}

/* Every cut is an error naming the file; from the 8th byte on our own decoders say "truncated". */
static void test_truncated(void **state)
{
    static const char *const names[] = {
        "rgb.png",   "interlaced.png", "rgb.jpg",    "cmyk.jpg", "progressive.jpg", "lossy.webp",
        "anim.webp", "lossless.webp",  "static.gif", "anim.gif", "anim.png",        "exif6.jpg"};
    int cases = 0;

    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1200], cut[1300];
        size_t n, offs[8];
        uint8_t *d;

        path_of(path, sizeof path, names[i]);
        d = read_file(path, &n);
        assert_non_null(d);
        offs[0] = 1, offs[1] = 8, offs[2] = 30, offs[3] = n / 3, offs[4] = n / 2;
        offs[5] = n - 40, offs[6] = n - 12, offs[7] = n - 1;
        for (int k = 0; k < 8; k++) {
            snprintf(cut, sizeof cut, "%s/cut%zu_%s", dir, offs[k], names[i]);
            write_file(cut, d, offs[k]);
            /* libavcodec's TIFF decoder words it "Invalid data found when processing input" */
            expect_error(cut, LP_OK,
                         offs[k] >= 8 && !strstr(names[i], ".tiff") ? "truncated" : NULL);
            cases++;
        }
        lp_alloc_free(d);
    }
    print_message("%d truncated files refused\n", cases);
}

static uint8_t *find(uint8_t *d, size_t n, const char *what, size_t len)
{
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(d + i, what, len) == 0)
            return d + i;
    return NULL;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes a copy of NAME with patch() applied as OUT and expects a decode error. */
static void corrupt_case(const char *name, const char *out, void (*patch)(uint8_t *, size_t),
                         lp_err want, const char *needle)
{
    char path[1200], bad[1300];
    uint8_t *d;
    size_t n;

    path_of(path, sizeof path, name);
    d = read_file(path, &n);
    assert_non_null(d);
    patch(d, n);
    snprintf(bad, sizeof bad, "%s/%s", dir, out);
    write_file(bad, d, n);
    lp_alloc_free(d);
    expect_error(bad, want, needle);
}

static void patch_png_crc(uint8_t *d, size_t n)
{
    uint8_t *idat = find(d, n, "IDAT", 4);
    uint32_t len;

    assert_non_null(idat);
    len = (uint32_t)idat[-4] << 24 | (uint32_t)idat[-3] << 16 | (uint32_t)idat[-2] << 8 | idat[-1];
    idat[4 + len] ^= 0x5a; /* the stored CRC: the data inflates, the check fails */
}

static void patch_png_zlib(uint8_t *d, size_t n)
{
    uint8_t *idat = find(d, n, "IDAT", 4);
    uint32_t len;

    assert_non_null(idat);
    len = (uint32_t)idat[-4] << 24 | (uint32_t)idat[-3] << 16 | (uint32_t)idat[-2] << 8 | idat[-1];
    for (uint32_t i = 8; i < len && i < 40; i++)
        idat[4 + i] = 0xff; /* bad deflate data under a valid CRC */
    put_be32(idat + 4 + len, crc32_of(idat, len + 4));
}

static void patch_jpeg_sof_zero(uint8_t *d, size_t n)
{
    uint8_t *sof = find(d, n, "\xff\xc0", 2);
    assert_non_null(sof);
    sof[5] = sof[6] = 0; /* zero lines */
}

static void patch_jpeg_marker(uint8_t *d, size_t n)
{
    uint8_t *sos = find(d, n, "\xff\xda", 2);
    assert_non_null(sos);
    sos[40] = 0xff, sos[41] = 0xd9; /* an EOI inside the entropy-coded data */
}

static void patch_gif_block(uint8_t *d, size_t n)
{
    uint8_t *img = find(d, n, "\x2c\x00\x00\x00\x00", 5);
    assert_non_null(img);
    img[0] = 0x99;
}

static void patch_webp_vp8l(uint8_t *d, size_t n)
{
    uint8_t *v = find(d, n, "VP8L", 4);
    assert_non_null(v);
    v[8] = 0x00; /* the 0x2f signature byte */
}

static void patch_bmp_size(uint8_t *d, size_t n)
{
    (void)n;
    d[22] = 0xff, d[23] = 0xff, d[24] = 0, d[25] = 0; /* height 65535 with 29x17 of data */
}

static void test_corrupt(void **state)
{
    /* found by fuzz_image: FFmpeg's MJPEG decoder made a 512x4353 grey frame of these bytes */
    static const uint8_t soi_garbage[] = {0xff, 0xd8, 0x28, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x11,
                                          0x01, 0x02, 0x00, 0x03, 0xf8, 0x22, 0x00, 0x02, 0x11,
                                          0x01, 0x03, 0x11, 0x00, 0xff, 0xda, 0x22, 0xd9};
    char path[1200];

    (void)state;
    path_of(path, sizeof path, "soi_garbage.bin");
    write_file(path, soi_garbage, sizeof soi_garbage);
    expect_error(path, LP_ERR_INVALID, "truncated");
    corrupt_case("rgb.png", "bad_crc.png", patch_png_crc, LP_ERR_INVALID, "CRC");
    corrupt_case("rgb.png", "bad_zlib.png", patch_png_zlib, LP_ERR_INVALID, "png");
    corrupt_case("rgb.jpg", "bad_sof.jpg", patch_jpeg_sof_zero, LP_OK, "jpeg");
    corrupt_case("rgb.jpg", "bad_marker.jpg", patch_jpeg_marker, LP_ERR_INVALID, "jpeg");
    corrupt_case("static.gif", "bad_block.gif", patch_gif_block, LP_ERR_INVALID, "corrupt");
    corrupt_case("lossless.webp", "bad_vp8l.webp", patch_webp_vp8l, LP_OK, "webp");
    corrupt_case("rgb.bmp", "bad_size.bmp", patch_bmp_size, LP_OK, "bmp");
}

static void patch_gif_huge(uint8_t *d, size_t n)
{
    (void)n;
    d[6] = d[7] = d[8] = d[9] = 0xff; /* 65535 x 65535 screen */
}

static void patch_jpeg_huge(uint8_t *d, size_t n)
{
    uint8_t *sof = find(d, n, "\xff\xc0", 2);
    assert_non_null(sof);
    sof[5] = 0xff, sof[6] = 0xdc, sof[7] = 0xff, sof[8] = 0xdc; /* 65500 x 65500 */
}

/* Refused from the header: with every lp_alloc failing it must still be LP_ERR_LIMIT. */
static void test_caps_before_allocation(void **state)
{
    char path[1200];
    media_image img;
    media_image_info info;
    lp_error err;
    long live = lp_alloc_live();

    (void)state;
    path_of(path, sizeof path, "huge.png");
    lp_alloc_fail_after(0);
    assert_int_equal(media_image_decode_file(path, &img, &info, &err), LP_ERR_LIMIT);
    lp_alloc_fail_after(-1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "100000x100000"));
    assert_int_equal(info.stored_w, 100000);
    assert_int_equal(info.stored_h, 100000);
    assert_null(img.rgb);
    assert_int_equal(lp_alloc_live(), live);

    corrupt_case("static.gif", "huge.gif", patch_gif_huge, LP_ERR_LIMIT, "65535x65535");
    corrupt_case("rgb.jpg", "huge.jpg", patch_jpeg_huge, LP_ERR_LIMIT, "65500x65500");
    lp_alloc_fail_after(0);
    path_of(path, sizeof path, "huge.jpg");
    assert_int_equal(media_image_decode_file(path, &img, NULL, &err), LP_ERR_LIMIT);
    path_of(path, sizeof path, "huge.gif");
    assert_int_equal(media_image_decode_file(path, &img, NULL, &err), LP_ERR_LIMIT);
    lp_alloc_fail_after(-1);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_empty_and_not_image(void **state)
{
    static const char text[] = "Buy now! This is an ad script, not a picture.\n";
    char path[1200];
    uint8_t noise[600];

    (void)state;
    path_of(path, sizeof path, "empty.png");
    write_file(path, (const uint8_t *)"", 0);
    expect_error(path, LP_ERR_INVALID, "empty");
    path_of(path, sizeof path, "script.png"); /* the name says png; the bytes do not */
    write_file(path, (const uint8_t *)text, sizeof text - 1);
    expect_error(path, LP_ERR_UNSUPPORTED, NULL);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)(i * 7919u >> 3);
    path_of(path, sizeof path, "noise.jpg");
    write_file(path, noise, sizeof noise);
    expect_error(path, LP_OK, NULL);
    path_of(path, sizeof path, "does-not-exist.png");
    expect_error(path, LP_ERR_NOTFOUND, NULL);
}

/* The N-th allocation fails, for every N until the decode succeeds: always LP_ERR_NOMEM and
 * never a leak. rgba_exif6.png needs the EXIF copy, the pixels, the rows and the rotation. */
static void alloc_failures(const char *name, int min_points)
{
    char path[1200];
    media_image img;
    lp_error err;
    long live = lp_alloc_live();
    int k;

    path_of(path, sizeof path, name);
    for (k = 0; k < 50; k++) {
        lp_err rc;

        lp_alloc_fail_after(k);
        rc = media_image_decode_file(path, &img, NULL, &err);
        lp_alloc_fail_after(-1);
        if (rc == LP_OK)
            break;
        if (rc != LP_ERR_NOMEM)
            fail_msg("%s: failure %d gave %d: %s", name, k, rc, err.msg);
        assert_null(img.rgb);
        assert_int_equal(lp_alloc_live(), live);
        assert_non_null(strstr(err.msg, path));
    }
    print_message("%s: %d allocation failure points, no leak\n", name, k);
    assert_true(k >= min_points && k < 50);
    media_image_free(&img);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    alloc_failures("rgba_exif6.png", 5);
    alloc_failures("exif6.jpg", 2);
    alloc_failures("cmyk.jpg", 2);
}

static void fill(media_image *img, int w, int h)
{
    img->w = w;
    img->h = h;
    img->rgb = lp_alloc_array((size_t)w * (size_t)h, 3);
    assert_non_null(img->rgb);
}

static void test_thumbnail(void **state)
{
    media_image a, t;
    lp_error err;
    int maxd = 0;

    (void)state;
    /* a constant image stays constant, and the longer side becomes max_side */
    fill(&a, 400, 200);
    for (size_t i = 0; i < 400 * 200; i++)
        a.rgb[i * 3] = 10, a.rgb[i * 3 + 1] = 200, a.rgb[i * 3 + 2] = 30;
    assert_int_equal(media_image_thumbnail(&a, 100, &t, &err), LP_OK);
    assert_int_equal(t.w, 100);
    assert_int_equal(t.h, 50);
    for (size_t i = 0; i < 100 * 50; i++)
        if (t.rgb[i * 3] != 10 || t.rgb[i * 3 + 1] != 200 || t.rgb[i * 3 + 2] != 30)
            fail_msg("constant image changed at pixel %zu", i);
    media_image_free(&t);
    /* never enlarges: same size is a copy */
    assert_int_equal(media_image_thumbnail(&a, 4000, &t, &err), LP_OK);
    assert_int_equal(t.w, 400);
    assert_int_equal(t.h, 200);
    assert_memory_equal(t.rgb, a.rgb, 400 * 200 * 3);
    media_image_free(&t);
    media_image_free(&a);
    /* aspect kept, rounded, at least one pixel */
    fill(&a, 1000, 3);
    assert_int_equal(media_image_thumbnail(&a, 10, &t, &err), LP_OK);
    assert_int_equal(t.w, 10);
    assert_int_equal(t.h, 1);
    media_image_free(&t);
    media_image_free(&a);
    fill(&a, 100, 300);
    assert_int_equal(media_image_thumbnail(&a, 64, &t, &err), LP_OK);
    assert_int_equal(t.w, 21);
    assert_int_equal(t.h, 64);
    media_image_free(&t);
    media_image_free(&a);
    /* an exact 4x reduction is the 4x4 box mean (what an area filter means) */
    fill(&a, 64, 48);
    for (size_t i = 0; i < 64 * 48 * 3; i++)
        a.rgb[i] = (uint8_t)((i * 2654435761u) >> 24);
    assert_int_equal(media_image_thumbnail(&a, 16, &t, &err), LP_OK);
    assert_int_equal(t.w, 16);
    assert_int_equal(t.h, 12);
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 16; x++)
            for (int c = 0; c < 3; c++) {
                int sum = 0, d;
                for (int dy = 0; dy < 4; dy++)
                    for (int dx = 0; dx < 4; dx++)
                        sum += a.rgb[((size_t)(y * 4 + dy) * 64 + (size_t)(x * 4 + dx)) * 3 + c];
                d = abs((sum + 8) / 16 - t.rgb[((size_t)y * 16 + (size_t)x) * 3 + c]);
                maxd = d > maxd ? d : maxd;
            }
    print_message("thumbnail 4x area vs box mean: max difference %d\n", maxd);
    assert_true(maxd <= 1);
    media_image_free(&t);
    assert_int_equal(media_image_thumbnail(&a, 0, &t, &err), LP_ERR_USAGE);
    assert_null(t.rgb);
    media_image_free(&a);
}

static void test_encode_png(void **state)
{
    media_image a, b;
    uint8_t *p1, *p2;
    size_t n1, n2;
    lp_error err;
    char png[1200], raw[1200], cmd[4096];

    (void)state;
    fill(&a, 31, 19);
    for (size_t i = 0; i < 31 * 19 * 3; i++)
        a.rgb[i] = (uint8_t)((i * 40503u) >> 5);
    assert_int_equal(media_image_encode_png(&a, &p1, &n1, &err), LP_OK);
    assert_int_equal(media_image_encode_png(&a, &p2, &n2, &err), LP_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, n1); /* deterministic bytes */
    assert_null(find(p1, n1, "tIME", 4));
    assert_int_equal(media_image_decode_mem("encoded.png", p1, n1, &b, NULL, &err), LP_OK);
    assert_int_equal(b.w, 31);
    assert_int_equal(b.h, 19);
    assert_memory_equal(a.rgb, b.rgb, 31 * 19 * 3);
    /* and PIL reads the same pixels */
    path_of(png, sizeof png, "encoded.png");
    path_of(raw, sizeof raw, "encoded.raw");
    write_file(png, p1, n1);
    write_file(raw, a.rgb, 31 * 19 * 3);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/media/make_images.py' check '%s' '%s'",
             src_dir, png, raw);
    assert_int_equal(system(cmd), 0);
    lp_alloc_free(p1);
    lp_alloc_free(p2);
    media_image_free(&b);
    a.w = 0;
    assert_int_equal(media_image_encode_png(&a, &p1, &n1, &err), LP_ERR_USAGE);
    assert_null(p1);
    media_image_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_vs_pil),
        cmocka_unit_test(test_decode_mem),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_caps_before_allocation),
        cmocka_unit_test(test_empty_and_not_image),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_thumbnail),
        cmocka_unit_test(test_encode_png),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
