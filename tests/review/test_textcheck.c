/* Unit tests of the copy checks: counting rules with known answers (NFC, full-width, emoji
 * sequences, URLs), inclusive limits and their verdicts per kind, forbidden characters, words
 * to avoid (whole word, any case) and required disclaimers per variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/placements.h"
#include "loupe/review/textcheck.h"

static placements *table;

static int setup(void **state)
{
    char path[1024];
    const char *src = getenv("LOUPE_SOURCE_DIR");
    lp_error err = {0};
    (void)state;
    snprintf(path, sizeof path, "%s/data/placements/placements-1.json", src ? src : "../..");
    if (placements_open(path, &table, &err) != LP_OK) {
        fprintf(stderr, "cannot load %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    placements_close(table);
    return 0;
}

static long count(const char *s, placements_count rule)
{
    long n = -1;
    lp_error err = {0};
    if (textcheck_count(s, strlen(s), rule, &n, &err) != LP_OK)
        fail_msg("count failed: %s", err.msg);
    return n;
}

static void test_codepoints_after_nfc(void **state)
{
    (void)state;
    assert_int_equal(count("Cafe\xcc\x81", PLACEMENTS_COUNT_CODEPOINTS), 4); /* e + U+0301 */
    assert_int_equal(count("Caf\xc3\xa9", PLACEMENTS_COUNT_CODEPOINTS), 4);
    /* Hangul jamo U+1112 U+1161 U+11AB compose to one syllable */
    assert_int_equal(count("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", PLACEMENTS_COUNT_CODEPOINTS), 1);
    /* no NFC composition exists for q + U+0307: stays 2 */
    assert_int_equal(count("q\xcc\x87", PLACEMENTS_COUNT_CODEPOINTS), 2);
    assert_int_equal(count("", PLACEMENTS_COUNT_CODEPOINTS), 0);
}

static void test_google_width(void **state)
{
    (void)state;
    assert_int_equal(count("ABC", PLACEMENTS_COUNT_GOOGLE_WIDTH), 3);
    assert_int_equal(count("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", PLACEMENTS_COUNT_GOOGLE_WIDTH),
                     6); /* 日本語: W */
    assert_int_equal(count("\xef\xbc\xa1\xef\xbc\xa2", PLACEMENTS_COUNT_GOOGLE_WIDTH),
                     4);                                                       /* ＡＢ: F */
    assert_int_equal(count("\xef\xbd\xb1", PLACEMENTS_COUNT_GOOGLE_WIDTH), 1); /* ｱ: H */
    assert_int_equal(
        count("Sale \xe3\x82\xbb\xe3\x83\xbc\xe3\x83\xab", PLACEMENTS_COUNT_GOOGLE_WIDTH),
        11); /* "Sale " + セール */
}

static void test_x_weighted(void **state)
{
    char long_url[300];
    (void)state;
    /* family: man ZWJ woman ZWJ girl ZWJ boy = 7 code points, one sequence */
    assert_int_equal(count("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91"
                           "\xa7\xe2\x80\x8d\xf0\x9f\x91\xa6",
                           PLACEMENTS_COUNT_X_WEIGHTED),
                     2);
    assert_int_equal(count("hi \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", PLACEMENTS_COUNT_X_WEIGHTED),
                     5); /* thumbs up + skin tone */
    assert_int_equal(count("\xf0\x9f\x87\xaf\xf0\x9f\x87\xb5", PLACEMENTS_COUNT_X_WEIGHTED),
                     2); /* flag JP */
    assert_int_equal(count("1\xef\xb8\x8f\xe2\x83\xa3", PLACEMENTS_COUNT_X_WEIGHTED),
                     2); /* 1️⃣ */
    assert_int_equal(count("\xe2\x9d\xa4\xef\xb8\x8f", PLACEMENTS_COUNT_X_WEIGHTED),
                     2);                                                      /* ❤️ */
    assert_int_equal(count("\xc2\xa9 Acme", PLACEMENTS_COUNT_X_WEIGHTED), 6); /* © as text */
    assert_int_equal(count("\xe6\x97\xa5\xe6\x9c\xac", PLACEMENTS_COUNT_X_WEIGHTED), 4);
    assert_int_equal(count("a\xe2\x80\x94"
                           "b",
                           PLACEMENTS_COUNT_X_WEIGHTED),
                     3);                                                     /* — U+2014 */
    assert_int_equal(count("\xe2\x80\xa6", PLACEMENTS_COUNT_X_WEIGHTED), 2); /* … U+2026 */
    assert_int_equal(count("Caf\xc3\xa9", PLACEMENTS_COUNT_X_WEIGHTED), 4);
    assert_int_equal(count("https://example.com/a/very/long/path?x=1", PLACEMENTS_COUNT_X_WEIGHTED),
                     23);
    assert_int_equal(count("see https://t.co.", PLACEMENTS_COUNT_X_WEIGHTED), 4 + 23 + 1);
    assert_int_equal(count("shop acme.com now", PLACEMENTS_COUNT_X_WEIGHTED), 5 + 23 + 4);
    assert_int_equal(count("www.acme.com/x", PLACEMENTS_COUNT_X_WEIGHTED), 23);
    assert_int_equal(count("mail me@acme.com", PLACEMENTS_COUNT_X_WEIGHTED), 16); /* not a link */
    assert_int_equal(count("v1.5 ok", PLACEMENTS_COUNT_X_WEIGHTED), 7);
    memset(long_url, 'a', sizeof long_url);
    memcpy(long_url, "http://", 7);
    long_url[sizeof long_url - 1] = '\0';
    assert_int_equal(count(long_url, PLACEMENTS_COUNT_X_WEIGHTED), 23);
}

static void test_emoji_and_cjk_helpers(void **state)
{
    long n = 0;
    int cjk = 0;
    lp_error err = {0};
    const char *s = "A \xf0\x9f\x98\x80 B \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 C #1";
    (void)state;
    assert_int_equal(textcheck_count_emoji(s, strlen(s), &n, &err), LP_OK);
    assert_int_equal(n, 2); /* "#1" is not a keycap without U+20E3 */
    assert_int_equal(textcheck_is_cjk("\xe6\x97\xa5\xe6\x9c\xac ok", 10, &cjk, &err), LP_OK);
    assert_int_equal(cjk, 1); /* 2 of 4 letters */
    assert_int_equal(textcheck_is_cjk("iPhone \xe6\x97\xa5", 10, &cjk, &err), LP_OK);
    assert_int_equal(cjk, 0);
    assert_int_equal(textcheck_count("\xff", 1, PLACEMENTS_COUNT_CODEPOINTS, &n, &err),
                     LP_ERR_INVALID);
}

/* A copy asset of field f with text s, checked on preset id. */
static check_result check(const char *id, const char *f, const char *s, check_result *chars,
                          int *has_chars)
{
    manifest_asset a = {0};
    check_result r, c;
    int has = 0;
    lp_error err = {0};
    const placements_preset *pr = placements_find(table, id);
    assert_non_null(pr);
    a.id = "a1";
    a.kind = PLACEMENTS_KIND_COPY;
    a.field = (char *)f;
    a.text = (char *)s;
    if (textcheck_field(&a, pr, &r, &c, &has, &err) != LP_OK)
        fail_msg("%s", err.msg);
    if (chars)
        *chars = c;
    if (has_chars)
        *has_chars = has;
    return r;
}

static char *repeat(const char *unit, int n)
{
    size_t k = strlen(unit);
    char *s = lp_alloc(k * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(s + k * (size_t)i, unit, k);
    s[k * (size_t)n] = '\0';
    return s;
}

static void test_limits_inclusive_and_kinds(void **state)
{
    char *s280 = repeat("a", 280), *s281 = repeat("a", 281), *s27 = repeat("b", 27),
         *s28 = repeat("b", 28);
    check_result r;
    (void)state;
    r = check("x_feed", "post_text", s280, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    assert_true(r.measured == 280 && r.limit == 280);
    r = check("x_feed", "post_text", s281, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_FAIL); /* hard */
    assert_string_equal(r.check, "text_length");
    assert_string_equal(r.unit, "chars");
    assert_string_equal(r.source, "X");
    assert_string_equal(r.checked, "2026-11-23");
    r = check("meta_feed_square", "headline", s27, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    r = check("meta_feed_square", "headline", s28, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN); /* trunc */
    assert_int_equal(r.label, PLACEMENTS_LABEL_SECONDARY);
    assert_true(r.limit == 27);
    /* LinkedIn intro_text 150 trunc / 600 warn (conflict) / 3,000 hard */
    lp_alloc_free(s280);
    s280 = repeat("c", 700);
    r = check("linkedin_feed", "intro_text", s280, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    assert_true(r.limit == 600);
    assert_int_equal(r.conflict, 1);
    lp_alloc_free(s281);
    s281 = repeat("c", 3001);
    r = check("linkedin_feed", "intro_text", s281, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r.limit == 3000);
    r = check("linkedin_feed", "intro_text", "short", NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    assert_true(r.limit == 150); /* the tightest bound when nothing is broken */
    /* a field the placement does not have */
    r = check("tiktok_infeed", "headline", "x", NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_int_equal(r.label, PLACEMENTS_LABEL_UNKNOWN);
    lp_alloc_free(s280);
    lp_alloc_free(s281);
    lp_alloc_free(s27);
    lp_alloc_free(s28);
}

static void test_tiktok_minimum_cjk_and_chars(void **state)
{
    char *cjk51 = repeat("\xe6\x97\xa5", 51), *cjk50 = repeat("\xe6\x97\xa5", 50),
         *cjk5 = repeat("\xe6\x97\xa5", 5);
    check_result r, c;
    int has = 0;
    (void)state;
    r = check("tiktok_infeed", "ad_text", "Short text", &c, &has); /* 10 < 12: conflict warn */
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    assert_int_equal(r.limit_is_min, 1);
    assert_true(r.limit == 12);
    assert_int_equal(has, 1);
    assert_int_equal(c.status, PLACEMENTS_VERDICT_PASS);
    r = check("tiktok_infeed", "ad_text", "", NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_FAIL);
    r = check("tiktok_infeed", "ad_text", cjk51, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r.limit == 50);
    r = check("tiktok_infeed", "ad_text", cjk50, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    r = check("tiktok_infeed", "ad_text", cjk5, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN); /* CJK < 6 */
    r = check("tiktok_infeed", "ad_text", "Big sale #spring at acme.com {now} \xf0\x9f\x98\x80", &c,
              &has);
    assert_int_equal(c.status, PLACEMENTS_VERDICT_FAIL);
    assert_string_equal(c.check, "text_chars");
    assert_true(c.measured == 5); /* #, {, }, a link, an emoji */
    /* LinkedIn: >4 emoji warn (conflict), >10 fail */
    lp_alloc_free(cjk5);
    cjk5 = repeat("\xf0\x9f\x98\x80", 5);
    check("linkedin_feed", "intro_text", cjk5, &c, &has);
    assert_int_equal(c.status, PLACEMENTS_VERDICT_WARN);
    lp_alloc_free(cjk5);
    cjk5 = repeat("\xf0\x9f\x98\x80", 11);
    check("linkedin_feed", "intro_text", cjk5, &c, &has);
    assert_int_equal(c.status, PLACEMENTS_VERDICT_FAIL);
    /* Pinterest title: 40 shown, CJK 30 */
    lp_alloc_free(cjk51);
    cjk51 = repeat("\xe6\x97\xa5", 31);
    r = check("pinterest_standard", "title", cjk51, NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    assert_true(r.limit == 30);
    /* YouTube Shorts description: 2 lines x 35 */
    r = check("youtube_shorts", "description", "one\ntwo\nthree", NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    r = check("youtube_shorts", "description", "one\ntwo", NULL, NULL);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    lp_alloc_free(cjk51);
    lp_alloc_free(cjk50);
    lp_alloc_free(cjk5);
}

static void test_avoid_words(void **state)
{
    long n = -1;
    int has = 0;
    lp_error err = {0};
    (void)state;
    assert_int_equal(textcheck_count_word("The Cheapest deal", "cheapest", &n, &err), LP_OK);
    assert_int_equal(n, 1);
    textcheck_count_word("cheapestdeal and uncheapest", "cheapest", &n, &err);
    assert_int_equal(n, 0);
    textcheck_count_word("CHEAPEST! cheapest.", "Cheapest", &n, &err);
    assert_int_equal(n, 2);
    textcheck_count_word("Get FREE   money now", "free money", &n, &err);
    assert_int_equal(n, 1);
    textcheck_count_word("Die STRASSE",
                         "stra\xc3\x9f"
                         "e",
                         &n, &err); /* ß folds to ss */
    assert_int_equal(n, 1);
    textcheck_count_word("guaranteed's", "guaranteed", &n, &err);
    assert_int_equal(n, 1);
    textcheck_contains("Spring sale. terms  APPLY.", "Terms apply.", &has, &err);
    assert_int_equal(has, 1);
    textcheck_contains("Spring sale.", "Terms apply.", &has, &err);
    assert_int_equal(has, 0);
}

static void test_run_avoid_and_disclaimer_per_variant(void **state)
{
    char *pl_a[] = {"meta_feed_square"}, *words[] = {"cheapest"}, *disc[] = {"Terms apply."};
    manifest_asset assets[4] = {
        {.id = "img-a", .kind = PLACEMENTS_KIND_IMAGE, .variant = "A"},
        {.id = "head-a",
         .kind = PLACEMENTS_KIND_COPY,
         .text = "Cheapest prices. Terms apply.",
         .field = "headline",
         .placements = pl_a,
         .n_placements = 1,
         .variant = "A"},
        {.id = "head-b",
         .kind = PLACEMENTS_KIND_COPY,
         .text = "Spring Sale: 40% off",
         .field = "headline",
         .placements = pl_a,
         .n_placements = 1,
         .variant = "B"},
        {.id = "img-c", .kind = PLACEMENTS_KIND_IMAGE, .variant = "C"},
    };
    manifest m = {0};
    check_list out = {0};
    lp_error err = {0};
    long live = lp_alloc_live();
    (void)state;
    m.file = "packet.yaml";
    m.brand.file = "brand.yaml";
    m.brand.avoid_words = words;
    m.brand.n_avoid_words = 1;
    m.brand.disclaimers = disc;
    m.brand.n_disclaimers = 1;
    m.assets = assets;
    m.n_assets = 4;
    assert_int_equal(textcheck_run(&m, table, &out, &err), LP_OK);
    /* head-a: length, avoid; head-b: length, avoid; disclaimer A, B, C */
    assert_int_equal(out.n, 7);
    assert_string_equal(out.items[0].check, "text_length");
    assert_int_equal(out.items[0].status, PLACEMENTS_VERDICT_WARN); /* 29 > 27 */
    assert_string_equal(out.items[1].check, "avoid_words");
    assert_int_equal(out.items[1].status, PLACEMENTS_VERDICT_FAIL);
    assert_int_equal(out.items[1].label, PLACEMENTS_LABEL_BRAND);
    assert_string_equal(out.items[1].source, "brand.yaml");
    assert_non_null(strstr(out.items[1].note, "cheapest"));
    assert_int_equal(out.items[3].status, PLACEMENTS_VERDICT_PASS);
    assert_string_equal(out.items[4].check, "disclaimer");
    assert_string_equal(out.items[4].variant, "A");
    assert_string_equal(out.items[4].asset, "head-a");
    assert_int_equal(out.items[4].status, PLACEMENTS_VERDICT_PASS);
    assert_string_equal(out.items[5].variant, "B");
    assert_int_equal(out.items[5].status, PLACEMENTS_VERDICT_FAIL);
    assert_string_equal(out.items[6].asset, "img-c"); /* no copy at all in variant C */
    assert_int_equal(out.items[6].status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&out);
    assert_int_equal(lp_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codepoints_after_nfc),
        cmocka_unit_test(test_google_width),
        cmocka_unit_test(test_x_weighted),
        cmocka_unit_test(test_emoji_and_cjk_helpers),
        cmocka_unit_test(test_limits_inclusive_and_kinds),
        cmocka_unit_test(test_tiktok_minimum_cjk_and_chars),
        cmocka_unit_test(test_avoid_words),
        cmocka_unit_test(test_run_avoid_and_disclaimer_per_variant),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
