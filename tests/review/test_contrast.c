/* Text contrast inside a box (mediacheck_box_contrast) against the WCAG 2 formula computed
 * here: black on white is 21:1, mid grey on white its own ratio, a flat box 1:1, and the rule
 * row warns below 4.5:1 (3:1 for large text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/mediacheck.h"

/* WCAG 2.x relative luminance of a grey level (sRGB transfer inverted). */
static double wcag_lum(int v)
{
    double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* A w x h white picture whose left half of rows [y0, y1) is grey level g. */
static media_image picture(int w, int h, int y0, int y1, int g)
{
    media_image img = {.w = w, .h = h, .rgb = lp_alloc((size_t)w * h * 3)};
    assert_non_null(img.rgb);
    memset(img.rgb, 255, (size_t)w * h * 3);
    for (int y = y0; y < y1; y++)
        memset(img.rgb + ((size_t)y * w) * 3, g, (size_t)(w / 2) * 3);
    return img;
}

static void test_box_contrast(void **state)
{
    media_image black = picture(200, 100, 20, 60, 0), grey = picture(200, 100, 20, 60, 119);
    mediacheck_box box = {.x = 0, .y = 0.2, .w = 1, .h = 0.4, .t = -1};
    mediacheck_box flat = {.x = 0.6, .y = 0.7, .w = 0.3, .h = 0.2, .t = -1};
    (void)state;
    assert_true(fabs(mediacheck_box_contrast(&black, &box) - 21.0) < 1e-3);
    double want = 1.05 / (wcag_lum(119) + 0.05);
    /* the luminance histogram has 1024 bins: within a bin's width of the exact ratio */
    assert_true(fabs(mediacheck_box_contrast(&grey, &box) - want) < 0.02 * want);
    assert_true(fabs(mediacheck_box_contrast(&black, &flat) - 1.0) < 1e-9);
    media_image_free(&black);
    media_image_free(&grey);
}

static void test_contrast_rule(void **state)
{
    manifest_asset a = {.id = "hero", .kind = PLACEMENTS_KIND_IMAGE};
    mediacheck_box boxes[2] = {
        {.x = 0, .y = 0, .w = 0.5, .h = 0.02, .contrast = 4.4},
        {.x = 0, .y = 0.5, .w = 0.5, .h = 0.1, .contrast = 3.2, .large_text = 1}};
    check_result r;
    lp_error err;
    (void)state;
    assert_int_equal(mediacheck_contrast(&a, NULL, boxes, 2, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN); /* 4.4 < 4.5 for normal text */
    assert_true(r.measured == 4.4 && r.limit == 4.5 && r.limit_is_min);
    boxes[0].contrast = 4.6;
    assert_int_equal(mediacheck_contrast(&a, NULL, boxes, 2, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS); /* 3.2 >= 3 for large text */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_contrast),
        cmocka_unit_test(test_contrast_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
