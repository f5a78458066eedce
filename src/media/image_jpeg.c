/* JPEG decoding with libjpeg-turbo's libjpeg API from memory: RGB, greyscale and CMYK/YCCK
 * (Adobe APP14 inverted CMYK as Photoshop writes it) to RGB8, plus the APP1 EXIF orientation.
 * libjpeg's default error_exit calls exit(), so errors longjmp back here instead, and a
 * premature end of data (which libjpeg only warns about, padding the image grey) is an error. */
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image_impl.h"
#include "loupe/base/alloc.h"

/* A progressive file can repeat tiny scans over a huge image; libjpeg-turbo's own tools cap
 * the scan count the same way against that denial of service. */
#define JPEGD_MAX_SCANS 500
/* Ceiling for libjpeg's own working memory (progressive coefficients of a 100 MP image fit). */
#define JPEGD_MAX_MEMORY (1024L * 1024 * 1024)

typedef enum jpegd_phase {
    JPEGD_PHASE_HEADER,
    JPEGD_PHASE_SCANS,
    JPEGD_PHASE_ROWS,
    JPEGD_PHASE_END
} jpegd_phase;

typedef struct jpegd_ctx {
    struct jpeg_error_mgr jerr; /* first: libjpeg hands back &jerr, we cast it to the ctx */
    jmp_buf jump;
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    const char *name;
    media_image_raw *out;
    media_image_info *inf;
    uint8_t *cmyk_row;
    jpegd_phase phase;
    int truncated, nomem, unsupported;
    char msg[JMSG_LENGTH_MAX + 64];
} jpegd_ctx;

static void jpegd_on_error(j_common_ptr ci)
{
    jpegd_ctx *c = (jpegd_ctx *)ci->err;

    (*ci->err->format_message)(ci, c->msg);
    c->nomem = ci->err->msg_code == JERR_OUT_OF_MEMORY;
    c->unsupported = ci->err->msg_code == JERR_BAD_PRECISION;
    longjmp(c->jump, 1);
}

/* Warnings are ignored except those that mean data is missing: libjpeg would fill the rest
 * of the image with grey and call it a success. */
static void jpegd_on_message(j_common_ptr ci, int level)
{
    jpegd_ctx *c = (jpegd_ctx *)ci->err;
    int code = ci->err->msg_code;

    if (level >= 0)
        return;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
        c->truncated = code == JWRN_JPEG_EOF;
        (*ci->err->format_message)(ci, c->msg);
        longjmp(c->jump, 1);
    }
    ci->err->num_warnings++;
}

static void jpegd_on_progress(j_common_ptr ci)
{
    jpegd_ctx *c = (jpegd_ctx *)ci->err;

    if (c->cinfo.input_scan_number > JPEGD_MAX_SCANS) {
        snprintf(c->msg, sizeof c->msg, "more than %d scans", JPEGD_MAX_SCANS);
        longjmp(c->jump, 1);
    }
}

/* Ink to RGB exactly as PIL does (cmyk2rgb in libImaging/Convert.c), so both agree:
 * channel = (255 - K) - round(ink * (255 - K) / 255). Adobe files store 255 - ink. */
static void jpegd_cmyk_to_rgb(const uint8_t *in, uint8_t *out, int w, int inverted)
{
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        int k = inverted ? 255 - in[3] : in[3], nk = 255 - k;
        for (int i = 0; i < 3; i++) {
            int ink = inverted ? 255 - in[i] : in[i];
            int t = ink * nk + 128;
            out[i] = (uint8_t)(nk - (((t >> 8) + t) >> 8));
        }
    }
}

static lp_err jpegd_exif(jpegd_ctx *c, lp_error *err)
{
    for (jpeg_saved_marker_ptr m = c->cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0", 6) == 0)
            return media_image_exif_orientation(c->name, m->data, m->data_length,
                                                &c->inf->orientation, err);
    return LP_OK;
}

/* All libjpeg calls under one setjmp; state lives in *c (the caller's frame). Returns LP_OK,
 * another lp_err already set in err (caps, memory), or -1 after a libjpeg error. */
static int jpegd_run(jpegd_ctx *c, const uint8_t *data, size_t n, lp_error *err)
{
    struct jpeg_decompress_struct *ci = &c->cinfo;
    int w, h, cmyk;
    lp_err rc;

    if (setjmp(c->jump))
        return -1;
    jpeg_mem_src(ci, data, (unsigned long)n);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    ci->progress = &c->progress;
    ci->mem->max_memory_to_use = JPEGD_MAX_MEMORY;
    jpeg_read_header(ci, TRUE);
    c->inf->stored_w = w = (int)ci->image_width;
    c->inf->stored_h = h = (int)ci->image_height;
    c->inf->bit_depth = ci->data_precision;
    c->inf->channels = ci->num_components;
    cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    c->inf->cmyk = cmyk;
    c->inf->n_frames = 1;
    rc = media_image_check_dims(c->name, "jpeg", ci->image_width, ci->image_height, err);
    if (rc == LP_OK)
        rc = jpegd_exif(c, err);
    if (rc != LP_OK)
        return rc;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    c->phase = JPEGD_PHASE_SCANS; /* a progressive file is read whole by start_decompress */
    jpeg_start_decompress(ci);
    if ((int)ci->output_width != w || (int)ci->output_height != h ||
        ci->output_components != (cmyk ? 4 : 3)) {
        snprintf(c->msg, sizeof c->msg, "unexpected output layout");
        return -1;
    }
    rc = media_image_raw_alloc(c->out, w, h, 3, c->name, "jpeg", err);
    if (rc == LP_OK && cmyk) {
        c->cmyk_row = lp_alloc_array((size_t)w, 4);
        if (!c->cmyk_row)
            rc = lp_err_set(err, LP_ERR_NOMEM, "%s: jpeg: out of memory", c->name);
    }
    if (rc != LP_OK)
        return rc;
    c->phase = JPEGD_PHASE_ROWS;
    while (ci->output_scanline < ci->output_height) {
        JDIMENSION y = ci->output_scanline;
        JSAMPROW row = cmyk ? c->cmyk_row : c->out->px + (size_t)y * (size_t)w * 3;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) {
            snprintf(c->msg, sizeof c->msg, "no scanline returned");
            return -1;
        }
        if (cmyk)
            jpegd_cmyk_to_rgb(c->cmyk_row, c->out->px + (size_t)y * (size_t)w * 3, w,
                              ci->saw_Adobe_marker);
    }
    c->phase = JPEGD_PHASE_END;
    jpeg_finish_decompress(ci);
    return LP_OK;
}

/* jpeg_create_decompress reports a failed allocation through error_exit too. */
static int jpegd_create(jpegd_ctx *c)
{
    if (setjmp(c->jump))
        return -1;
    jpeg_create_decompress(&c->cinfo);
    return 0;
}

lp_err media_image_jpeg_decode(const char *name, const uint8_t *data, size_t n,
                               media_image_raw *out, media_image_info *info, lp_error *err)
{
    jpegd_ctx c = {.name = name, .out = out, .inf = info};
    lp_err rc = LP_OK;
    int r;

    snprintf(info->format, sizeof info->format, "jpeg");
    info->bit_depth = 8;
    c.cinfo.err = jpeg_std_error(&c.jerr);
    c.jerr.error_exit = jpegd_on_error;
    c.jerr.emit_message = jpegd_on_message;
    c.progress.progress_monitor = jpegd_on_progress;
    if (jpegd_create(&c) != 0) {
        jpeg_destroy_decompress(&c.cinfo);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: jpeg: %s", name, c.msg);
    }
    r = jpegd_run(&c, data, n, err);
    if (r < 0) {
        lp_err code = c.nomem ? LP_ERR_NOMEM : c.unsupported ? LP_ERR_UNSUPPORTED : LP_ERR_INVALID;
        const char *where = c.phase == JPEGD_PHASE_HEADER  ? "in the header"
                            : c.phase == JPEGD_PHASE_SCANS ? "in the scan data"
                            : c.phase == JPEGD_PHASE_END   ? "after the last row"
                                                           : "";
        if (c.phase == JPEGD_PHASE_ROWS)
            rc = lp_err_set(err, code, "%s: jpeg: %s%s at row %u", name,
                            c.truncated ? "truncated: " : "", c.msg,
                            (unsigned)c.cinfo.output_scanline);
        else
            rc = lp_err_set(err, code, "%s: jpeg: %s%s %s", name, c.truncated ? "truncated: " : "",
                            c.msg, where);
    } else {
        rc = (lp_err)r;
    }
    jpeg_destroy_decompress(&c.cinfo);
    lp_alloc_free(c.cmyk_row);
    return rc;
}
