/* Unit tests of the placement data file: it loads, and a dozen figures read back equal to the
 * tables of spec/placements.md (each expected value is typed here from the spec, with the row
 * named), plus the loader's refusal of a bad row naming the preset and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/review/placements.h"

static void data_path(char *buf, size_t n)
{
    const char *src = getenv("LOUPE_SOURCE_DIR");
    if (src)
        snprintf(buf, n, "%s/data/placements/placements-1.json", src);
    else
        snprintf(buf, n, "../../data/placements/placements-1.json");
}

static placements *load(void)
{
    char path[1024];
    placements *p = NULL;
    lp_error err = {0};
    data_path(path, sizeof path);
    if (placements_open(path, &p, &err) != LP_OK)
        fail_msg("cannot load %s: %s", path, err.msg);
    return p;
}

static const placements_field *field_of(const placements *p, const char *id, const char *name)
{
    const placements_preset *pr = placements_find(p, id);
    const placements_field *f;
    if (!pr)
        fail_msg("preset %s missing", id);
    f = placements_find_field(pr, name);
    if (!f)
        fail_msg("preset %s has no field %s", id, name);
    return f;
}

static double num(const cJSON *j, const char *path)
{
    char buf[256], *save = NULL;
    const cJSON *it = j;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        it = (tok[0] >= '0' && tok[0] <= '9') ? cJSON_GetArrayItem(it, (int)strtol(tok, NULL, 10))
                                              : cJSON_GetObjectItemCaseSensitive(it, tok);
        if (!it)
            fail_msg("no %s", path);
    }
    if (!cJSON_IsNumber(it))
        fail_msg("%s is not a number", path);
    return it->valuedouble;
}

static void test_loads_every_preset(void **state)
{
    long live = lp_alloc_live();
    placements *p = load();
    char ids[2048];
    (void)state;
    /* §2: 19 media presets, 14 further google_display sizes, 4 audio presets */
    assert_int_equal(placements_count_presets(p), 19 + 14 + 4);
    for (size_t i = 0; i < placements_count_presets(p); i++) {
        const placements_preset *pr = placements_at(p, i);
        assert_string_equal(pr->checked, "2026-11-23"); /* §5: every row checked 2026-11-23 */
        assert_non_null(placements_source_pages(p, pr->source));
    }
    assert_string_equal(placements_schema(p), PLACEMENTS_SCHEMA);
    placements_list_ids(p, 0, ids, sizeof ids);
    assert_non_null(strstr(ids, "meta_feed_square, meta_feed_portrait, meta_stories"));
    assert_non_null(strstr(ids, "google_display_240x400"));
    assert_non_null(strstr(ids, "broadcast_atsc_a85"));
    placements_list_ids(p, 0, ids, 40);
    assert_int_equal(strlen(ids) < 40, 1);
    assert_non_null(strstr(ids, "..."));
    placements_close(p);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_text_limits_match_spec(void **state)
{
    placements *p = load();
    const placements_field *f;
    (void)state;
    /* §3 `meta_feed_*` primary_text: 125, trunc (2) */
    f = field_of(p, "meta_feed_portrait", "primary_text");
    assert_int_equal(f->limits[0].max, 125);
    assert_int_equal(f->limits[0].kind, PLACEMENTS_LIMIT_TRUNC);
    assert_int_equal(f->limits[0].label, PLACEMENTS_LABEL_SECONDARY);
    /* §3 `meta_stories` headline: 40, trunc */
    assert_int_equal(field_of(p, "meta_stories", "headline")->limits[0].max, 40);
    /* §3 `meta_reels` headline: 10 */
    assert_int_equal(field_of(p, "meta_reels", "headline")->limits[0].max, 10);
    /* §3 `tiktok_infeed` ad_text: 1–100 (CJK 1–50) hard; <12 (CJK <6) warn (conflict); no
     * emoji, {, }, # , links or @ */
    f = field_of(p, "tiktok_infeed", "ad_text");
    assert_int_equal(f->limits[0].max, 100);
    assert_int_equal(f->limits[0].cjk_max, 50);
    assert_int_equal(f->limits[1].min, 1);
    assert_int_equal(f->limits[2].min, 12);
    assert_int_equal(f->limits[2].cjk_min, 6);
    assert_int_equal(f->limits[2].conflict, 1);
    assert_int_equal(f->forbidden, PLACEMENTS_FORBID_EMOJI | PLACEMENTS_FORBID_BRACES |
                                       PLACEMENTS_FORBID_HASH | PLACEMENTS_FORBID_LINK |
                                       PLACEMENTS_FORBID_AT);
    /* §3 `tiktok_infeed` brand_name / app_name: 2–20 / 4–40 hard */
    f = field_of(p, "tiktok_infeed", "app_name");
    assert_int_equal(f->limits[0].min, 4);
    assert_int_equal(f->limits[0].max, 40);
    /* §3 YouTube headline 15 trunc, count google_width */
    f = field_of(p, "youtube_bumper", "headline");
    assert_int_equal(f->limits[0].max, 15);
    assert_int_equal(f->count, PLACEMENTS_COUNT_GOOGLE_WIDTH);
    /* §3 `google_rda_*` business_name 25 hard, google_width */
    f = field_of(p, "google_demandgen_portrait", "business_name");
    assert_int_equal(f->limits[0].max, 25);
    assert_int_equal(f->limits[0].kind, PLACEMENTS_LIMIT_HARD);
    /* §3 `linkedin_*` intro_text 150 trunc; 600 warn; 3,000 hard; emoji >4 warn, >10 fail */
    f = field_of(p, "linkedin_video", "intro_text");
    assert_int_equal(f->limits[0].max, 150);
    assert_int_equal(f->limits[1].max, 600);
    assert_int_equal(f->limits[1].kind, PLACEMENTS_LIMIT_WARN);
    assert_int_equal(f->limits[2].max, 3000);
    assert_int_equal(f->emoji[0].max, 4);
    assert_int_equal(f->emoji[1].max, 10);
    /* §3 `x_feed` post_text 280 hard, x_weighted */
    f = field_of(p, "x_feed", "post_text");
    assert_int_equal(f->limits[0].max, 280);
    assert_int_equal(f->count, PLACEMENTS_COUNT_X_WEIGHTED);
    /* §3 `pinterest_*` title 100 hard; 40 shown (CJK 30) */
    f = field_of(p, "pinterest_video", "title");
    assert_int_equal(f->limits[1].max, 40);
    assert_int_equal(f->limits[1].cjk_max, 30);
    /* §3 `snapchat_story` headline 34 hard */
    assert_int_equal(field_of(p, "snapchat_story", "headline")->limits[0].max, 34);
    /* linkedin_video has no description (only linkedin_feed) */
    assert_null(placements_find_field(placements_find(p, "linkedin_video"), "description"));
    assert_int_equal(placements_field_known(p, "short_headline"), 1);
    assert_int_equal(placements_field_known(p, "subtitle"), 0);
    placements_close(p);
}

static void test_media_figures_match_spec(void **state)
{
    placements *p = load();
    const placements_preset *pr;
    (void)state;
    /* §2 `meta_stories` safe T/B/L/R 0.14/0.35/0.06/0.06; duration 1–3600, warn >60 */
    pr = placements_find(p, "meta_stories");
    assert_true(num(pr->json, "safe_zone.top") == 0.14);
    assert_true(num(pr->json, "safe_zone.bottom") == 0.35);
    assert_true(num(pr->json, "safe_zone.right") == 0.06);
    assert_true(num(pr->json, "duration.max") == 3600);
    assert_true(num(pr->json, "duration.warn_above") == 60);
    /* §2 `tiktok_infeed`: video, copy; 500 MB; 5–60 s; safe 0.12/0.26/0.05/0.15 (L) */
    pr = placements_find(p, "tiktok_infeed");
    assert_int_equal(pr->kinds, (1u << PLACEMENTS_KIND_VIDEO) | (1u << PLACEMENTS_KIND_COPY));
    assert_true(num(pr->json, "file_size.0.value") == 500);
    assert_true(num(pr->json, "duration.min") == 5);
    assert_true(num(pr->json, "safe_zone.left") == 0.05);
    /* §2 `google_display_300x250`: 150 KiB; other slot sizes by id pattern */
    pr = placements_find(p, "google_display_300x250");
    assert_true(num(pr->json, "file_size.0.value") == 150);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pr->json, "file_size"), 0),
            "unit")),
        "KiB");
    pr = placements_find(p, "google_display_728x90");
    assert_true(num(pr->json, "aspect.exact_px.0") == 728);
    /* §2 `linkedin_video`: min 75 KB */
    pr = placements_find(p, "linkedin_video");
    assert_true(num(pr->json, "file_size.2.value") == 75);
    /* §2 `snapchat_story` loudness −16 (2) */
    pr = placements_find(p, "snapchat_story");
    assert_true(num(pr->json, "loudness.target_lufs") == -16);
    /* audio presets: `broadcast_atsc_a85` −24 ±2, TP −2 */
    pr = placements_find(p, "broadcast_atsc_a85");
    assert_true(num(pr->json, "loudness.true_peak_dbtp") == -2);
    /* §2 `youtube_bumper` ≤6 s */
    assert_true(num(placements_find(p, "youtube_bumper")->json, "duration.max") == 6);
    assert_null(placements_find(p, "meta_storys"));
    placements_close(p);
}

static lp_err open_text(const char *json, lp_error *err)
{
    char path[512];
    const char *dir = getenv("LOUPE_TEST_TMP");
    placements *p = NULL;
    FILE *f;
    lp_err rc;
    snprintf(path, sizeof path, "%s/placements_%ld.json", dir ? dir : "/tmp", (long)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    rc = placements_open(path, &p, err);
    assert_true(rc == LP_OK ? p != NULL : p == NULL);
    placements_close(p);
    unlink(path);
    return rc;
}

#define HEAD                                                                                       \
    "{\"schema\": \"loupe.placements/1\", \"sources\": {\"X\": {\"pages\": \"x.com\", "            \
    "\"checked\": \"2026-11-23\"}}, \"presets\": ["

static void test_bad_rows_name_preset_and_field(void **state)
{
    lp_error err = {0};
    long live = lp_alloc_live();
    (void)state;
    assert_int_equal(open_text(HEAD "{\"id\": \"a\", \"kinds\": [\"copy\"], \"source\": \"X\", "
                                    "\"checked\": \"2026-11-23\"}]}",
                               &err),
                     LP_OK);
    assert_int_equal(open_text(HEAD "{\"id\": \"a\", \"kinds\": [\"imag\"], \"source\": \"X\", "
                                    "\"checked\": \"2026-11-23\"}]}",
                               &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "presets[0] (a): kinds: unknown kind"));
    assert_int_equal(
        open_text(HEAD
                  "{\"id\": \"b\", \"kinds\": [\"copy\"], \"source\": \"X\", \"checked\": "
                  "\"2026-11-23\", \"text\": [{\"field\": \"t\", \"count\": \"codepoints\", "
                  "\"limits\": [{\"kind\": \"hrad\", \"max\": 3, \"label\": \"platform\"}]}]}]}",
                  &err),
        LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "presets[0] (b): text[0] (t).limits[0].kind: unknown limit"));
    assert_int_equal(open_text(HEAD "{\"id\": \"c\", \"kinds\": [\"copy\"], \"source\": \"Y\", "
                                    "\"checked\": \"2026-11-23\"}]}",
                               &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "source: not a key of the sources table 'Y'"));
    assert_int_equal(open_text(HEAD "{\"id\": \"d\", \"kinds\": [\"copy\"], \"source\": \"X\", "
                                    "\"checked\": \"2026-11-23\", \"safe_zone\": {\"label\": "
                                    "\"guess\"}}]}",
                               &err),
                     LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "(d): label: unknown label"));
    assert_int_equal(open_text("{\"schema\": \"loupe.placements/2\"}", &err), LP_ERR_UNSUPPORTED);
    assert_int_equal(lp_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_every_preset),
        cmocka_unit_test(test_text_limits_match_spec),
        cmocka_unit_test(test_media_figures_match_spec),
        cmocka_unit_test(test_bad_rows_name_preset_and_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
