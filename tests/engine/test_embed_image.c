/* Image preprocessing tests: the HF sizing rule on the spec's examples, every
 * budget and the extreme aspect ratios; refusals; resize identities (same size is
 * a copy, a constant image stays constant, an unchanged axis is untouched); and
 * the patch layout and positions on a hand-made image. Pillow parity itself is
 * checked by tests/ref/test_resize_vs_pil.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/engine/embed_image.h"

static void expect_size(uint32_t w, uint32_t h, uint32_t budget, uint32_t ew, uint32_t eh)
{
    uint32_t ow = 0, oh = 0;
    lp_error err;

    assert_int_equal(embed_image_size(w, h, budget, &ow, &oh, &err), LP_OK);
    assert_int_equal(ow, ew);
    assert_int_equal(oh, eh);
    assert_true((ow / 48u) * (oh / 48u) <= budget);
}

static void test_size_spec_example(void **state)
{
    uint32_t ow, oh;
    lp_error err;

    (void)state;
    /* Spec §3.1: 1024x768 at 280 -> 912x672 -> 19 x 14 = 266 patches. */
    assert_int_equal(embed_image_size(1024, 768, 280, &ow, &oh, &err), LP_OK);
    assert_int_equal(ow, 912);
    assert_int_equal(oh, 672);
    assert_int_equal((ow / 48) * (oh / 48), 266);
}

static void test_size_every_budget(void **state)
{
    /* Values from the spec's formula, worked out independently in Python. */
    static const uint32_t t[5][11] = {
        /* budget, 1024x768 (w, h), 1x1 side, 1x4000 long side, 100x1 (w, h), unused */
        {70, 432, 336, 384, 3360, 3360, 48, 0, 0, 0, 0},
        {140, 624, 480, 528, 6720, 5664, 48, 0, 0, 0, 0},
        {280, 912, 672, 768, 13440, 8016, 48, 0, 0, 0, 0},
        {560, 1296, 960, 1104, 26880, 11328, 96, 0, 0, 0, 0},
        {1120, 1824, 1344, 1584, 53760, 16032, 144, 0, 0, 0, 0},
    };

    (void)state;
    for (int i = 0; i < 5; i++) {
        uint32_t b = t[i][0];
        expect_size(1024, 768, b, t[i][1], t[i][2]);
        expect_size(1, 1, b, t[i][3], t[i][3]);
        /* One side floors to 0: it becomes 48, the other min(ratio, budget) * 48. */
        expect_size(1, 4000, b, 48, t[i][4]);
        expect_size(4000, 1, b, t[i][4], 48);
        expect_size(100, 1, b, t[i][5], t[i][6]);
        expect_size(1, 100, b, t[i][6], t[i][5]);
    }
}

static void test_size_refusals(void **state)
{
    uint32_t ow = 7, oh = 7;
    lp_error err;

    (void)state;
    assert_int_equal(embed_image_size(640, 480, 256, &ow, &oh, &err), LP_ERR_USAGE);
    assert_non_null(strstr(err.msg, "256"));
    assert_int_equal(embed_image_size(640, 480, 0, &ow, &oh, &err), LP_ERR_USAGE);
    assert_int_equal(embed_image_size(0, 480, 280, &ow, &oh, &err), LP_ERR_INVALID);
    assert_int_equal(embed_image_size(640, 0, 280, &ow, &oh, &err), LP_ERR_INVALID);
    assert_int_equal(embed_image_size(32769, 1, 280, &ow, &oh, &err), LP_ERR_LIMIT);
    assert_int_equal(embed_image_size(1, 32769, 280, &ow, &oh, &err), LP_ERR_LIMIT);
    /* Both sides legal, the product over the pixel cap. */
    assert_int_equal(embed_image_size(32768, 32768, 280, &ow, &oh, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "pixels"));
    assert_int_equal(ow, 7); /* outputs untouched on failure */
    assert_int_equal(embed_image_size(32768, 4096, 280, &ow, &oh, &err), LP_OK);
}

static uint8_t *random_image(uint32_t w, uint32_t h, uint32_t seed)
{
    uint8_t *p = lp_alloc((size_t)w * h * 3);
    uint32_t s = seed;

    assert_non_null(p);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        s = s * 1664525u + 1013904223u; /* LCG: only needs to be varied, not good */
        p[i] = (uint8_t)(s >> 24);
    }
    return p;
}

static void test_resize_same_size_is_copy(void **state)
{
    uint8_t *src = random_image(37, 23, 1), *dst = lp_alloc(37 * 23 * 3);
    lp_error err;

    (void)state;
    assert_non_null(dst);
    assert_int_equal(embed_resize_rgb8(src, 37, 23, dst, 37, 23, &err), LP_OK);
    assert_memory_equal(src, dst, 37 * 23 * 3);
    lp_alloc_free(src);
    lp_alloc_free(dst);
}

static void test_resize_constant_stays_constant(void **state)
{
    static const uint32_t sz[][4] = {{50, 40, 912, 672}, {1000, 3, 48, 48},  {1, 1, 96, 48},
                                     {7, 3, 3, 7},       {640, 480, 13, 11}, {1, 4000, 48, 480}};
    lp_error err;

    (void)state;
    for (size_t t = 0; t < sizeof sz / sizeof sz[0]; t++) {
        uint32_t w = sz[t][0], h = sz[t][1], ow = sz[t][2], oh = sz[t][3];
        uint8_t *src = lp_alloc((size_t)w * h * 3), *dst = lp_alloc((size_t)ow * oh * 3);
        assert_non_null(src);
        assert_non_null(dst);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            src[3 * i + 0] = 200;
            src[3 * i + 1] = 0;
            src[3 * i + 2] = 255;
        }
        assert_int_equal(embed_resize_rgb8(src, w, h, dst, ow, oh, &err), LP_OK);
        /* Weights sum to 1 in fixed point up to rounding, so a flat field must stay
         * flat, at the extremes too (clamping keeps 0 and 255 exact). */
        for (size_t i = 0; i < (size_t)ow * oh; i++) {
            assert_int_equal(dst[3 * i + 0], 200);
            assert_int_equal(dst[3 * i + 1], 0);
            assert_int_equal(dst[3 * i + 2], 255);
        }
        lp_alloc_free(src);
        lp_alloc_free(dst);
    }
}

static void test_resize_unchanged_axis(void **state)
{
    uint8_t *src = random_image(9, 5, 2), *dst = lp_alloc(9 * 11 * 3);
    lp_error err;

    (void)state;
    assert_non_null(dst);
    /* Height changes only: a column of a pixel-wide vertical stripe image depends
     * on that column alone, so permuting columns of the input permutes the output. */
    assert_int_equal(embed_resize_rgb8(src, 9, 5, dst, 9, 11, &err), LP_OK);
    {
        uint8_t *sw = lp_alloc(9 * 5 * 3), *dw = lp_alloc(9 * 11 * 3);
        assert_non_null(sw);
        assert_non_null(dw);
        for (uint32_t y = 0; y < 5; y++)
            for (uint32_t x = 0; x < 9; x++)
                memcpy(sw + (y * 9 + x) * 3, src + (y * 9 + (8 - x)) * 3, 3);
        assert_int_equal(embed_resize_rgb8(sw, 9, 5, dw, 9, 11, &err), LP_OK);
        for (uint32_t y = 0; y < 11; y++)
            for (uint32_t x = 0; x < 9; x++)
                assert_memory_equal(dw + (y * 9 + x) * 3, dst + (y * 9 + (8 - x)) * 3, 3);
        lp_alloc_free(sw);
        lp_alloc_free(dw);
    }
    lp_alloc_free(src);
    lp_alloc_free(dst);
}

static void test_resize_refusals_and_nomem(void **state)
{
    uint8_t px[3] = {1, 2, 3}, out[48 * 48 * 3];
    long live = lp_alloc_live();
    lp_error err;

    (void)state;
    assert_int_equal(embed_resize_rgb8(px, 1, 1, out, 0, 1, &err), LP_ERR_INVALID);
    assert_int_equal(embed_resize_rgb8(px, 0, 1, out, 1, 1, &err), LP_ERR_INVALID);
    assert_int_equal(embed_resize_rgb8(px, 32769, 1, out, 1, 1, &err), LP_ERR_LIMIT);
    assert_int_equal(embed_resize_rgb8(NULL, 1, 1, out, 1, 1, &err), LP_ERR_USAGE);
    /* Every allocation failing in turn: an error each time, nothing leaked. */
    for (long k = 0; k < 8; k++) {
        lp_alloc_fail_after(k);
        lp_err rc = embed_resize_rgb8(px, 1, 1, out, 48, 48, &err);
        lp_alloc_fail_after(-1);
        assert_true(rc == LP_OK || rc == LP_ERR_NOMEM);
        assert_int_equal(lp_alloc_live(), live);
    }
}

static void test_patchify_layout(void **state)
{
    const uint32_t w = 96, h = 144; /* 2 columns x 3 rows of patches */
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.5f, 2.0f, 1.0f};
    uint8_t *img = lp_alloc((size_t)w * h * 3);
    float *patches = lp_alloc_array(6, EMBED_PATCH_VALUES * sizeof(float));
    int32_t pos[12];
    uint32_t n = 0;
    lp_error err;

    (void)state;
    assert_non_null(img);
    assert_non_null(patches);
    /* Each pixel encodes its own coordinates, so any misplacement shows. */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            img[(y * w + x) * 3 + 0] = (uint8_t)x;
            img[(y * w + x) * 3 + 1] = (uint8_t)y;
            img[(y * w + x) * 3 + 2] = (uint8_t)((x * 7 + y * 3) & 255);
        }
    assert_int_equal(embed_patchify(img, w, h, NULL, NULL, NULL, NULL, &n, &err), LP_OK);
    assert_int_equal(n, 6);
    n = 5;
    assert_int_equal(embed_patchify(img, w, h, mean, std, patches, pos, &n, &err), LP_ERR_LIMIT);
    n = 6;
    assert_int_equal(embed_patchify(img, w, h, mean, std, patches, pos, &n, &err), LP_OK);
    assert_int_equal(n, 6);
    for (uint32_t p = 0; p < 6; p++) {
        assert_int_equal(pos[2 * p], p % 2);     /* col */
        assert_int_equal(pos[2 * p + 1], p / 2); /* row */
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint32_t p = (y / 48) * 2 + x / 48;
                size_t off = ((size_t)(y % 48) * 48 + x % 48) * 3 + c;
                float v = img[(y * w + x) * 3 + c];
                float want = (v / 255.0f - mean[c]) / std[c];
                assert_true(patches[p * EMBED_PATCH_VALUES + off] == want);
            }
    assert_int_equal(embed_patchify(img, 95, 144, mean, std, patches, pos, &n, &err),
                     LP_ERR_INVALID);
    {
        const float bad[3] = {1.0f, 0.0f, 1.0f};
        n = 6;
        assert_int_equal(embed_patchify(img, w, h, mean, bad, patches, pos, &n, &err),
                         LP_ERR_INVALID);
    }
    lp_alloc_free(img);
    lp_alloc_free(patches);
}

static void test_pipeline_spec_example(void **state)
{
    const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    uint8_t *src = random_image(1024, 768, 3), *dst;
    uint32_t ow, oh, n = 0;
    float *patches;
    int32_t *pos;
    lp_error err;

    (void)state;
    assert_int_equal(embed_image_size(1024, 768, 280, &ow, &oh, &err), LP_OK);
    dst = lp_alloc((size_t)ow * oh * 3);
    assert_non_null(dst);
    assert_int_equal(embed_resize_rgb8(src, 1024, 768, dst, ow, oh, &err), LP_OK);
    assert_int_equal(embed_patchify(dst, ow, oh, NULL, NULL, NULL, NULL, &n, &err), LP_OK);
    assert_int_equal(n, 266);
    patches = lp_alloc_array(n, EMBED_PATCH_VALUES * sizeof(float));
    pos = lp_alloc_array(n, 2 * sizeof(int32_t));
    assert_non_null(patches);
    assert_non_null(pos);
    assert_int_equal(embed_patchify(dst, ow, oh, mean, std, patches, pos, &n, &err), LP_OK);
    assert_int_equal(pos[2 * 265], 18);
    assert_int_equal(pos[2 * 265 + 1], 13);
    lp_alloc_free(src);
    lp_alloc_free(dst);
    lp_alloc_free(patches);
    lp_alloc_free(pos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_spec_example),
        cmocka_unit_test(test_size_every_budget),
        cmocka_unit_test(test_size_refusals),
        cmocka_unit_test(test_resize_same_size_is_copy),
        cmocka_unit_test(test_resize_constant_stays_constant),
        cmocka_unit_test(test_resize_unchanged_axis),
        cmocka_unit_test(test_resize_refusals_and_nomem),
        cmocka_unit_test(test_patchify_layout),
        cmocka_unit_test(test_pipeline_spec_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
