/* Image preprocessing for the vision path: HF sizing to a soft-token budget, a
 * bit-exact re-implementation of Pillow's BICUBIC resize (written from the rule in
 * spec §3.7, checked against python3-pil by tests/ref/test_resize_vs_pil.py), and
 * the cut into 48x48 HWC model patches. See docs/internals/embed_image.md. */
#include "loupe/engine/embed_image.h"

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"

/* Fixed-point weights: 22 fraction bits leaves 8 bits for the pixel and 2 for the
 * overshoot of the cubic's negative lobes inside a 32-bit sum, as Pillow does. */
#define EMBED_PRECISION_BITS 22
#define EMBED_CUBIC_A (-0.5)
#define EMBED_CUBIC_SUPPORT 2.0

static int embed_budget_ok(uint32_t t)
{
    return t == 70 || t == 140 || t == 280 || t == 560 || t == 1120;
}

static lp_err embed_check_dims(const char *what, uint32_t w, uint32_t h, uint32_t max_side,
                               lp_error *err)
{
    if (w == 0 || h == 0)
        return lp_err_set(err, LP_ERR_INVALID, "%s image is %ux%u: both sides must be positive",
                          what, w, h);
    if (w > max_side || h > max_side)
        return lp_err_set(err, LP_ERR_LIMIT, "%s image is %ux%u: a side exceeds the cap of %u",
                          what, w, h, max_side);
    if ((uint64_t)w * h > EMBED_IMAGE_MAX_PIXELS)
        return lp_err_set(err, LP_ERR_LIMIT,
                          "%s image is %ux%u = %llu pixels, over the cap of %u pixels", what, w, h,
                          (unsigned long long)w * h, EMBED_IMAGE_MAX_PIXELS);
    return LP_OK;
}

lp_err embed_image_size(uint32_t w, uint32_t h, uint32_t max_soft_tokens, uint32_t *out_w,
                        uint32_t *out_h, lp_error *err)
{
    const double side = EMBED_PATCH_SIDE;
    double f;
    uint32_t ow, oh;
    lp_err rc;

    if (!out_w || !out_h)
        return lp_err_set(err, LP_ERR_USAGE, "embed_image_size: NULL output");
    if (!embed_budget_ok(max_soft_tokens))
        return lp_err_set(err, LP_ERR_USAGE,
                          "image token budget %u is not one of 70, 140, 280, 560, 1120",
                          max_soft_tokens);
    rc = embed_check_dims("input", w, h, EMBED_IMAGE_MAX_SIDE, err);
    if (rc != LP_OK)
        return rc;
    /* max_patches = 9 * budget 16-px patches of 256 pixels each; f scales the area to it. */
    f = sqrt((double)max_soft_tokens * 9.0 * 256.0 / ((double)h * (double)w));
    oh = (uint32_t)floor(f * (double)h / side) * EMBED_PATCH_SIDE;
    ow = (uint32_t)floor(f * (double)w / side) * EMBED_PATCH_SIDE;
    /* A very thin image floors its short side to 0: HF then keeps one patch row and
     * lets the long side follow the aspect ratio, capped at the budget. Both cannot
     * be 0, since f * f * w * h = 2304 * budget puts one side at >= 48 * sqrt(70). */
    if (oh == 0) {
        uint64_t lng = (uint64_t)(w / h) * EMBED_PATCH_SIDE;
        uint64_t cap = (uint64_t)max_soft_tokens * EMBED_PATCH_SIDE;
        oh = EMBED_PATCH_SIDE;
        ow = (uint32_t)(lng < cap ? lng : cap);
    } else if (ow == 0) {
        uint64_t lng = (uint64_t)(h / w) * EMBED_PATCH_SIDE;
        uint64_t cap = (uint64_t)max_soft_tokens * EMBED_PATCH_SIDE;
        ow = EMBED_PATCH_SIDE;
        oh = (uint32_t)(lng < cap ? lng : cap);
    }
    *out_w = ow;
    *out_h = oh;
    return LP_OK;
}

/* Keys' cubic convolution kernel, a = -0.5, evaluated in Horner form: the exact
 * order of operations matters, since the weights must match Pillow's to the last
 * bit before they are rounded to fixed point. */
static double embed_cubic(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((EMBED_CUBIC_A + 2.0) * x - (EMBED_CUBIC_A + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * EMBED_CUBIC_A;
    return 0.0;
}

/* One axis's filter: for output i, taps lo[i] .. lo[i] + cnt[i] - 1 of the input
 * with fixed-point weights k[i * ksize + j]. */
typedef struct embed_axis {
    uint32_t ksize;
    int32_t *k;
    uint32_t *lo;
    uint32_t *cnt;
} embed_axis;

static void embed_axis_free(embed_axis *a)
{
    lp_alloc_free(a->k);
    lp_alloc_free(a->lo);
    lp_alloc_free(a->cnt);
    memset(a, 0, sizeof *a);
}

static lp_err embed_axis_build(uint32_t in, uint32_t out, embed_axis *a, lp_error *err)
{
    double scale = (double)in / (double)out;
    double fscale = scale < 1.0 ? 1.0 : scale; /* downscaling widens the kernel: antialias */
    double support = EMBED_CUBIC_SUPPORT * fscale;
    double inv = 1.0 / fscale;
    double *w;
    size_t nk;

    memset(a, 0, sizeof *a);
    a->ksize = (uint32_t)ceil(support) * 2u + 1u; /* <= 4 * 2^15 + 3 by the input side cap */
    if (lp_alloc_mul(out, a->ksize, &nk))
        return lp_err_set(err, LP_ERR_NOMEM, "resize %u -> %u: coefficient table overflows", in,
                          out);
    a->k = lp_alloc_array(nk, sizeof *a->k);
    a->lo = lp_alloc_array(out, sizeof *a->lo);
    a->cnt = lp_alloc_array(out, sizeof *a->cnt);
    w = lp_alloc_array(a->ksize, sizeof *w);
    if (!a->k || !a->lo || !a->cnt || !w) {
        lp_alloc_free(w);
        embed_axis_free(a);
        return lp_err_set(err, LP_ERR_NOMEM, "resize %u -> %u: out of memory for %zu weights", in,
                          out, nk);
    }
    for (uint32_t i = 0; i < out; i++) {
        double centre = ((double)i + 0.5) * scale, sum = 0.0;
        /* Truncation toward zero, then clamping, is the rounding the spec fixes. */
        int64_t lo = (int64_t)(centre - support + 0.5), hi = (int64_t)(centre + support + 0.5);
        int32_t *k = a->k + (size_t)i * a->ksize;
        uint32_t n;

        if (lo < 0)
            lo = 0;
        if (hi > (int64_t)in)
            hi = in;
        n = hi > lo ? (uint32_t)(hi - lo) : 0u;
        for (uint32_t j = 0; j < n; j++) {
            w[j] = embed_cubic(((double)j + (double)lo - centre + 0.5) * inv);
            sum += w[j];
        }
        for (uint32_t j = 0; j < n; j++) {
            double v = sum != 0.0 ? w[j] / sum : w[j];
            double s = v * (double)(1 << EMBED_PRECISION_BITS);
            k[j] = (int32_t)(s < 0.0 ? s - 0.5 : s + 0.5); /* half away from zero */
        }
        a->lo[i] = (uint32_t)lo;
        a->cnt[i] = n;
    }
    lp_alloc_free(w);
    return LP_OK;
}

/* Rounds a fixed-point sum (which started at one half) back to a byte. */
static uint8_t embed_clip8(int64_t acc)
{
    int64_t v;

    if (acc < 0)
        return 0;
    v = acc >> EMBED_PRECISION_BITS;
    return (uint8_t)(v > 255 ? 255 : v);
}

/* src (w x h) -> dst (a's out x h): every row filtered along x. */
static void embed_pass_h(const uint8_t *src, uint32_t w, uint32_t h, uint8_t *dst, uint32_t ow,
                         const embed_axis *a)
{
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * w * 3u;
        uint8_t *out = dst + (size_t)y * ow * 3u;
        for (uint32_t x = 0; x < ow; x++) {
            const int32_t *k = a->k + (size_t)x * a->ksize;
            const uint8_t *p = row + (size_t)a->lo[x] * 3u;
            int64_t r = 1 << (EMBED_PRECISION_BITS - 1), g = r, b = r;
            for (uint32_t j = 0; j < a->cnt[x]; j++) {
                r += (int64_t)p[3u * j + 0u] * k[j];
                g += (int64_t)p[3u * j + 1u] * k[j];
                b += (int64_t)p[3u * j + 2u] * k[j];
            }
            out[3u * x + 0u] = embed_clip8(r);
            out[3u * x + 1u] = embed_clip8(g);
            out[3u * x + 2u] = embed_clip8(b);
        }
    }
}

/* src (w x h) -> dst (w x a's out): every column filtered along y. */
static void embed_pass_v(const uint8_t *src, uint32_t w, uint8_t *dst, uint32_t oh,
                         const embed_axis *a)
{
    size_t stride = (size_t)w * 3u;

    for (uint32_t y = 0; y < oh; y++) {
        const int32_t *k = a->k + (size_t)y * a->ksize;
        const uint8_t *base = src + (size_t)a->lo[y] * stride;
        uint8_t *out = dst + (size_t)y * stride;
        for (size_t i = 0; i < stride; i++) {
            int64_t acc = 1 << (EMBED_PRECISION_BITS - 1);
            for (uint32_t j = 0; j < a->cnt[y]; j++)
                acc += (int64_t)base[(size_t)j * stride + i] * k[j];
            out[i] = embed_clip8(acc);
        }
    }
}

lp_err embed_resize_rgb8(const uint8_t *src, uint32_t w, uint32_t h, uint8_t *dst, uint32_t ow,
                         uint32_t oh, lp_error *err)
{
    embed_axis ax = {0}, ay = {0};
    uint8_t *mid = NULL;
    const uint8_t *vin = src;
    lp_err rc;

    if (!src || !dst)
        return lp_err_set(err, LP_ERR_USAGE, "embed_resize_rgb8: NULL buffer");
    rc = embed_check_dims("resize input", w, h, EMBED_IMAGE_MAX_SIDE, err);
    if (rc == LP_OK)
        rc = embed_check_dims("resize output", ow, oh, EMBED_IMAGE_MAX_OUT_SIDE, err);
    if (rc != LP_OK)
        return rc;
    /* Pillow returns a copy for an unchanged size and skips an unchanged axis; a
     * pass over an unchanged axis would not be the identity, so this matters. */
    if (ow == w && oh == h) {
        memcpy(dst, src, (size_t)w * h * 3u);
        return LP_OK;
    }
    if (ow != w) {
        rc = embed_axis_build(w, ow, &ax, err);
        if (rc != LP_OK)
            return rc;
    }
    if (oh != h) {
        rc = embed_axis_build(h, oh, &ay, err);
        if (rc != LP_OK)
            goto done;
    }
    if (ow != w && oh != h) {
        size_t n;
        /* 8-bit intermediate (ow x h), exactly where Pillow rounds between passes. */
        if (lp_alloc_mul((size_t)ow * h, 3u, &n)) {
            rc = lp_err_set(err, LP_ERR_NOMEM, "resize intermediate %ux%u overflows", ow, h);
            goto done;
        }
        mid = lp_alloc(n);
        if (!mid) {
            rc = lp_err_set(err, LP_ERR_NOMEM, "resize: out of memory for a %ux%u intermediate", ow,
                            h);
            goto done;
        }
        embed_pass_h(src, w, h, mid, ow, &ax);
        vin = mid;
    } else if (ow != w) {
        embed_pass_h(src, w, h, dst, ow, &ax);
        goto done;
    }
    embed_pass_v(vin, ow, dst, oh, &ay);
done:
    lp_alloc_free(mid);
    embed_axis_free(&ax);
    embed_axis_free(&ay);
    return rc;
}

lp_err embed_patchify(const uint8_t *rgb, uint32_t w, uint32_t h, const float mean[3],
                      const float std[3], float *patches, int32_t *pos, uint32_t *n, lp_error *err)
{
    uint32_t cols, rows, count;
    lp_err rc;

    if (!n)
        return lp_err_set(err, LP_ERR_USAGE, "embed_patchify: NULL count");
    rc = embed_check_dims("patchify", w, h, EMBED_IMAGE_MAX_OUT_SIDE, err);
    if (rc != LP_OK)
        return rc;
    if (w % EMBED_PATCH_SIDE || h % EMBED_PATCH_SIDE)
        return lp_err_set(err, LP_ERR_INVALID,
                          "patchify: image %ux%u is not a multiple of %u on both sides", w, h,
                          EMBED_PATCH_SIDE);
    cols = w / EMBED_PATCH_SIDE;
    rows = h / EMBED_PATCH_SIDE;
    count = cols * rows; /* <= 2^27 / 2304 by the pixel cap */
    if (!patches && !pos) {
        *n = count;
        return LP_OK;
    }
    if (!patches || !pos || !rgb || !mean || !std)
        return lp_err_set(err, LP_ERR_USAGE, "embed_patchify: NULL buffer");
    if (*n < count)
        return lp_err_set(err, LP_ERR_LIMIT, "patchify: %ux%u gives %u patches, room for %u", w, h,
                          count, *n);
    for (int c = 0; c < 3; c++) {
        if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] == 0.0f)
            return lp_err_set(err, LP_ERR_INVALID,
                              "patchify: channel %d has mean %g, std %g (need finite, std != 0)", c,
                              (double)mean[c], (double)std[c]);
    }
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = rgb + (size_t)y * w * 3u;
        uint32_t pr = y / EMBED_PATCH_SIDE, py = y % EMBED_PATCH_SIDE;
        for (uint32_t x = 0; x < w; x++) {
            uint32_t pc = x / EMBED_PATCH_SIDE, px = x % EMBED_PATCH_SIDE;
            float *dst = patches + (size_t)(pr * cols + pc) * EMBED_PATCH_VALUES +
                         ((size_t)py * EMBED_PATCH_SIDE + px) * 3u;
            for (int c = 0; c < 3; c++)
                dst[c] = ((float)row[3u * x + (uint32_t)c] / 255.0f - mean[c]) / std[c];
        }
    }
    for (uint32_t p = 0; p < count; p++) {
        pos[2u * p + 0u] = (int32_t)(p % cols);
        pos[2u * p + 1u] = (int32_t)(p / cols);
    }
    *n = count;
    return LP_OK;
}

/* ---- the vision embedder (spec §3.2) ---------------------------------------------------- */

/* Patches per pass through the dense layer: bounds scratch at ~2 MB per 1k width. */
#define EMBED_CHUNK 64u

/* PyTorch LayerNorm over n values, statistics in double: y = (x - mean) / sqrt(var + eps)
 * * w + b, var the biased variance. */
static void embed_layernorm(float *y, const float *x, const float *w, const float *b, uint32_t n,
                            float eps)
{
    double mean = 0, var = 0, r;

    for (uint32_t i = 0; i < n; i++)
        mean += x[i];
    mean /= n;
    for (uint32_t i = 0; i < n; i++)
        var += ((double)x[i] - mean) * ((double)x[i] - mean);
    r = 1.0 / sqrt(var / n + (double)eps);
    for (uint32_t i = 0; i < n; i++)
        y[i] = (float)(((double)x[i] - mean) * r) * w[i] + b[i];
}

static void embed_rms(float *x, uint32_t n, float eps)
{
    double ss = 0;
    float r;

    for (uint32_t i = 0; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    r = (float)(1.0 / sqrt(ss / n + (double)eps));
    for (uint32_t i = 0; i < n; i++)
        x[i] *= r;
}

/* Row `idx` of slot `slot` of the position table, added to c. */
static void embed_add_pos(const mmproj_vision *v, const quant_table *qt, uint32_t slot,
                          uint32_t idx, float *c, float *tmp)
{
    const uint8_t *row = v->pos + ((size_t)slot * v->n_pos + idx) * v->pos_row_bytes;

    if (v->pos_type == TENSOR_TYPE_F32)
        memcpy(tmp, row, v->n_embd_v * sizeof(float));
    else
        qt->k[v->pos_type].to_f32(row, tmp, v->n_embd_v);
    for (uint32_t i = 0; i < v->n_embd_v; i++)
        c[i] += tmp[i];
}

lp_err embed_image_project(const mmproj_model *p, matmul_ctx *mc, const float *patches,
                           const int32_t *pos, uint32_t n, float *out, lp_error *err)
{
    const mmproj_vision *v = &p->v;
    const uint32_t Ev = v->n_embd_v, side = EMBED_PATCH_SIDE, plane = side * side;
    float *a = NULL, *b = NULL, *tmp = NULL, *chw = NULL;
    lp_err rc = LP_OK;

    if (!p->has_vision)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: the projector has no vision part",
                          p->file->path);
    if (!patches || !pos || !out)
        return lp_err_set(err, LP_ERR_USAGE, "embed_image_project: NULL buffer");
    for (uint32_t i = 0; i < n; i++)
        if (pos[2 * i] < 0 || pos[2 * i + 1] < 0 || (uint32_t)pos[2 * i] >= v->n_pos ||
            (uint32_t)pos[2 * i + 1] >= v->n_pos)
            return lp_err_set(err, LP_ERR_LIMIT,
                              "image: patch %u is at column %d, row %d; the projector's position "
                              "table holds %u",
                              i, pos[2 * i], pos[2 * i + 1], v->n_pos);
    a = lp_alloc_array((size_t)EMBED_CHUNK * EMBED_PATCH_VALUES, sizeof *a);
    b = lp_alloc_array((size_t)EMBED_CHUNK * Ev, sizeof *b);
    tmp = lp_alloc_array(Ev, sizeof *tmp);
    chw = lp_alloc_array(EMBED_PATCH_VALUES, sizeof *chw);
    if (!a || !b || !tmp || !chw) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "image: out of memory for the embedder");
        goto done;
    }
    for (uint32_t c0 = 0; c0 < n && rc == LP_OK; c0 += EMBED_CHUNK) {
        uint32_t k = n - c0 < EMBED_CHUNK ? n - c0 : EMBED_CHUNK;
        /* HWC (row, col, channel) -> CHW c*2304 + row*48 + col, the GGUF's order; then ln1 */
        for (uint32_t t = 0; t < k; t++) {
            const float *src = patches + (size_t)(c0 + t) * EMBED_PATCH_VALUES;
            float *dst = a + (size_t)t * EMBED_PATCH_VALUES;
            for (uint32_t px = 0; px < plane; px++)
                for (uint32_t c = 0; c < 3; c++)
                    chw[c * plane + px] = src[px * 3 + c];
            embed_layernorm(dst, chw, v->ln1_w, v->ln1_b, EMBED_PATCH_VALUES, MMPROJ_LN_EPS);
        }
        rc = matmul_run(mc, &v->patch, a, k, b, err);
        if (rc != LP_OK)
            break;
        for (uint32_t t = 0; t < k; t++) {
            float *row = b + (size_t)t * Ev;
            const int32_t *pp = pos + 2 * (size_t)(c0 + t);
            for (uint32_t i = 0; i < Ev; i++)
                row[i] += v->patch_b[i];
            embed_layernorm(row, row, v->ln2_w, v->ln2_b, Ev, MMPROJ_LN_EPS);
            embed_add_pos(v, mc->qt, 0, (uint32_t)pp[0], row, tmp); /* x: the column */
            embed_add_pos(v, mc->qt, 1, (uint32_t)pp[1], row, tmp); /* y: the row */
            embed_layernorm(row, row, v->ln3_w, v->ln3_b, Ev, MMPROJ_LN_EPS);
            embed_rms(row, Ev, v->eps);
        }
        rc = matmul_run(mc, &v->proj, b, k, out + (size_t)c0 * p->n_embd, err);
    }
done:
    lp_alloc_free(a);
    lp_alloc_free(b);
    lp_alloc_free(tmp);
    lp_alloc_free(chw);
    return rc;
}

lp_err embed_image_rgb8(const mmproj_model *p, matmul_ctx *mc, const uint8_t *rgb, uint32_t w,
                        uint32_t h, uint32_t max_soft_tokens, float **out, uint32_t *n_tok,
                        lp_error *err)
{
    uint32_t ow = 0, oh = 0, n = 0;
    uint8_t *sized = NULL;
    float *patches = NULL, *emb = NULL;
    int32_t *pos = NULL;
    lp_err rc;

    *out = NULL;
    *n_tok = 0;
    if (!p->has_vision)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "%s: the projector has no vision part",
                          p->file->path);
    rc = embed_image_size(w, h, max_soft_tokens, &ow, &oh, err);
    if (rc == LP_OK)
        rc = embed_patchify(NULL, ow, oh, NULL, NULL, NULL, NULL, &n, err);
    if (rc != LP_OK)
        return rc;
    sized = lp_alloc_array((size_t)ow * oh, 3);
    patches = lp_alloc_array((size_t)n * EMBED_PATCH_VALUES, sizeof *patches);
    pos = lp_alloc_array((size_t)n * 2, sizeof *pos);
    emb = lp_alloc_array((size_t)n * p->n_embd, sizeof *emb);
    if (!sized || !patches || !pos || !emb) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "image: out of memory for %u patches", n);
        goto done;
    }
    rc = embed_resize_rgb8(rgb, w, h, sized, ow, oh, err);
    if (rc == LP_OK)
        rc = embed_patchify(sized, ow, oh, p->v.mean, p->v.std, patches, pos, &n, err);
    if (rc == LP_OK)
        rc = embed_image_project(p, mc, patches, pos, n, emb, err);
    if (rc == LP_OK) {
        *out = emb;
        *n_tok = n;
        emb = NULL;
    }
done:
    lp_alloc_free(sized);
    lp_alloc_free(patches);
    lp_alloc_free(pos);
    lp_alloc_free(emb);
    return rc;
}
