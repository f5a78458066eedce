/* Unit tests of the media checks against the real data file: every expected figure below
 * (ratios, tolerances, sizes, byte limits, durations, loudness targets) was read from
 * spec/placements.md, not from the JSON, so a wrong figure in either the data or the code
 * shows up here. Facts are filled by hand, as the decoders would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/review/mediacheck.h"

static placements *table;

static int setup(void **state)
{
    char path[1024];
    const char *src = getenv("LOUPE_SOURCE_DIR");
    lp_error err = {0};
    (void)state;
    snprintf(path, sizeof path, "%s/data/placements/placements-1.json", src ? src : "../..");
    if (placements_open(path, &table, &err) != LP_OK) {
        fprintf(stderr, "%s\n", err.msg);
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

static const placements_preset *preset(const char *id)
{
    const placements_preset *p = placements_find(table, id);
    if (!p)
        fail_msg("no preset %s", id);
    return p;
}

static manifest_asset asset(placements_kind kind)
{
    static char id[] = "hero-a", variant[] = "A";
    manifest_asset a = {.id = id, .kind = kind, .variant = variant};
    return a;
}

static media_probe video_probe(int w, int h, double dur)
{
    media_probe p = {.file_bytes = 20000000,
                     .duration_s = dur,
                     .has_video = 1,
                     .width = w,
                     .height = h,
                     .display_w = w,
                     .display_h = h,
                     .sar = 1,
                     .fps = 30,
                     .has_audio = 1,
                     .sample_rate = 48000,
                     .channels = 2};
    snprintf(p.container, sizeof p.container, "mov,mp4,m4a,3gp,3g2,mj2");
    snprintf(p.video_codec, sizeof p.video_codec, "h264");
    snprintf(p.audio_codec, sizeof p.audio_codec, "aac");
    return p;
}

static media_loudness good_loudness(double dur)
{
    media_loudness l = {.integrated_lufs = -14,
                        .short_term_max_lufs = -11,
                        .momentary_max_lufs = -9,
                        .true_peak_dbtp = -1.5,
                        .sample_peak_dbfs = -1.8,
                        .silence_lead_s = 0.1,
                        .silence_trail_s = 0.2,
                        .duration_s = dur};
    return l;
}

static media_image_info image_info(int w, int h, uint64_t bytes)
{
    media_image_info i = {.stored_w = w,
                          .stored_h = h,
                          .w = w,
                          .h = h,
                          .orientation = 1,
                          .bit_depth = 8,
                          .channels = 3,
                          .file_bytes = bytes};
    snprintf(i.format, sizeof i.format, "png");
    return i;
}

/* Runs the checks into a fresh list (the caller frees it). */
static check_list run(const char *id, placements_kind kind, const mediacheck_facts *f)
{
    check_list l = {0};
    manifest_asset a = asset(kind);
    lp_error err = {0};
    if (mediacheck_run(&a, preset(id), f, &l, &err) != LP_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < l.n; i++) {
        assert_string_equal(l.items[i].placement, id);
        assert_string_equal(l.items[i].asset, "hero-a");
        assert_non_null(l.items[i].source);
        assert_string_equal(l.items[i].checked, "2026-11-23");
    }
    return l;
}

static const check_result *row(const check_list *l, const char *check)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].check, check) == 0)
            return &l->items[i];
    }
    fail_msg("no %s row", check);
    return NULL;
}

static int has_row(const check_list *l, const char *check)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].check, check) == 0)
            return 1;
    }
    return 0;
}

static void order_is(const check_list *l, const char *const *ids, size_t n)
{
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->items[i].check, ids[i]);
}

/* Status of one check for an image of w x h on preset id. */
static placements_verdict image_status(const char *id, const char *check, int w, int h,
                                       uint64_t bytes)
{
    media_image_info info = image_info(w, h, bytes);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_IMAGE, .image = &info};
    check_list l = run(id, PLACEMENTS_KIND_IMAGE, &f);
    placements_verdict v = row(&l, check)->status;
    check_list_free(&l);
    return v;
}

static void test_meta_feed_square_image(void **state)
{
    static const char *const order[] = {"kind",      "aspect_ratio", "resolution",
                                        "file_size", "safe_zone",    "contrast"};
    media_image_info info = image_info(1080, 1080, 2000000);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_IMAGE, .image = &info};
    check_list l;
    const check_result *r;
    (void)state;

    l = run("meta_feed_square", PLACEMENTS_KIND_IMAGE, &f);
    /* a still image: no duration, no loudness; the Meta video rule does not apply */
    order_is(&l, order, sizeof order / sizeof *order);
    assert_int_equal(row(&l, "kind")->status, PLACEMENTS_VERDICT_PASS);
    r = row(&l, "aspect_ratio");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(fabs(r->limit - 1.0) < 1e-12);
    assert_string_equal(r->unit, "ratio");
    assert_int_equal(r->label, PLACEMENTS_LABEL_SECONDARY); /* 1:1 (0.03) (2) */
    /* 1080 is above the 600x600 image floor but under the recommended 1440x1440 (2) */
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->measured == 1080 && r->limit == 1440 && r->limit_is_min);
    assert_int_equal(r->label, PLACEMENTS_LABEL_SECONDARY);
    r = row(&l, "file_size");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(r->measured == 2000000 && r->limit == 30e6); /* 30 MB, strict reading */
    assert_string_equal(r->source, "META");
    /* margins 0/0/0/0: nothing to break; contrast needs the model */
    assert_int_equal(row(&l, "safe_zone")->status, PLACEMENTS_VERDICT_PASS);
    r = row(&l, "contrast");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_non_null(strstr(r->note, "needs model-detected regions"));
    check_list_free(&l);

    /* 599 wide fails the 600x600 image minimum */
    assert_int_equal(image_status("meta_feed_square", "resolution", 599, 599, 1000),
                     PLACEMENTS_VERDICT_FAIL);
    /* 1:1 with tolerance 0.03: 1.03 passes (inclusive), 1.031 fails */
    assert_int_equal(image_status("meta_feed_square", "aspect_ratio", 1030, 1000, 1000),
                     PLACEMENTS_VERDICT_PASS);
}

static void test_aspect_boundaries(void **state)
{
    (void)state;
    /* r/target - 1 exactly 0.03 above and below: both sides of 1:1 (0.03) */
    assert_int_equal(image_status("meta_feed_square", "aspect_ratio", 1030, 1000, 1000),
                     PLACEMENTS_VERDICT_PASS);
    assert_int_equal(image_status("meta_feed_square", "aspect_ratio", 970, 1000, 1000),
                     PLACEMENTS_VERDICT_PASS);
    assert_int_equal(image_status("meta_feed_square", "aspect_ratio", 1031, 1000, 1000),
                     PLACEMENTS_VERDICT_FAIL);
    assert_int_equal(image_status("meta_feed_square", "aspect_ratio", 969, 1000, 1000),
                     PLACEMENTS_VERDICT_FAIL);
    /* 9:16 (0.01) on meta_stories: 0.5625 x 1.01 = 0.568125 → 568.125 x 1000 */
    assert_int_equal(image_status("meta_stories", "aspect_ratio", 4545, 8000, 1000),
                     PLACEMENTS_VERDICT_PASS); /* 0.568125 exactly */
    assert_int_equal(image_status("meta_stories", "aspect_ratio", 4546, 8000, 1000),
                     PLACEMENTS_VERDICT_FAIL);
}

static void test_meta_stories_duration_conflict(void **state)
{
    static const double durations[] = {0.4, 0.6, 30, 60.5, 60.6, 75, 120, 3600.5, 3600.6, 4000};
    media_probe p = video_probe(1080, 1920, 75);
    media_loudness lo = good_loudness(75);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    l = run("meta_stories", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "duration");
    /* 1-3600; warn >60 (conflict) (2): 75 s warns, the row says the sources conflict */
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->conflict);
    assert_true(fabs(r->limit - 60.5) < 1e-9);
    assert_int_equal(r->label, PLACEMENTS_LABEL_SECONDARY);
    assert_int_equal(row(&l, "aspect_ratio")->status, PLACEMENTS_VERDICT_PASS);
    assert_int_equal(row(&l, "resolution")->status, PLACEMENTS_VERDICT_PASS);
    /* 0.14/0.35/0.06/0.06: needs the model */
    assert_int_equal(row(&l, "safe_zone")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    /* S-max only under 60 s */
    assert_int_equal(row(&l, "short_term_max")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    check_list_free(&l);

    /* a conflict row never fails; only breaking 3600 s (all sheets) does */
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        p.duration_s = durations[i];
        l = run("meta_stories", PLACEMENTS_KIND_VIDEO, &f);
        r = row(&l, "duration");
        if (r->conflict)
            assert_int_not_equal(r->status, PLACEMENTS_VERDICT_FAIL);
        assert_int_equal(r->status, durations[i] < 0.5 || durations[i] > 3600.5
                                        ? PLACEMENTS_VERDICT_FAIL
                                    : durations[i] > 60.5 ? PLACEMENTS_VERDICT_WARN
                                                          : PLACEMENTS_VERDICT_PASS);
        check_list_free(&l);
    }
}

static void test_meta_reels_rotated(void **state)
{
    /* stored landscape with a 90 degree display matrix: shown 1080x1920, i.e. 9:16 */
    media_probe p = video_probe(1920, 1080, 900.4);
    media_loudness lo = good_loudness(900.4);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    p.rotation = 90;
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "aspect_ratio");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(fabs(r->measured - 1080.0 / 1920) < 1e-12);
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS); /* rec 1080x1920 met */
    /* 1-900 (2): 900.4 s is within the 0.5 s export tolerance */
    r = row(&l, "duration");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_non_null(strstr(r->note, "tolerance"));
    check_list_free(&l);

    p.duration_s = 900.6;
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "duration")->status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);

    /* unrotated, the same stream is 16:9: fails 9:16 */
    p.rotation = 0;
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "aspect_ratio")->status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);

    /* min 500 wide (L) */
    p = video_probe(480, 854, 10);
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->measured == 480 && r->limit == 500);
    assert_int_equal(r->label, PLACEMENTS_LABEL_LOUPE_DEFAULT);
    check_list_free(&l);
}

static void test_tiktok_infeed(void **state)
{
    static const char *const prose[] = {"safe_zone"};
    media_probe p = video_probe(1080, 1080, 30);
    media_loudness lo = good_loudness(30);
    mediacheck_facts f = {
        .kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo, .file_bytes = 510000000};
    media_image_info info = image_info(1080, 1920, 1000);
    mediacheck_facts fi = {.kind = PLACEMENTS_KIND_IMAGE, .image = &info};
    check_list l;
    const check_result *r;
    size_t n_prose = 0;
    (void)state;

    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    /* 1:1 accepted → warn, limit the accepted ratio */
    r = row(&l, "aspect_ratio");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->limit == 1.0);
    /* 1:1 minimum 640x640, met */
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(r->limit == 640);
    /* 500 MB: 510,000,000 B breaks it read as 1000-based only (524,288,000) → warn */
    r = row(&l, "file_size");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->limit == 500e6);
    /* of the three rules of §4 the container and bit-rate ones are tested; the safe-zone one
     * stays a not_checked row */
    for (size_t i = 0; i < l.n; i++) {
        if (l.items[i].status != PLACEMENTS_VERDICT_NOT_CHECKED ||
            !strstr(l.items[i].note, "(rule severity: "))
            continue;
        assert_true(n_prose < 1);
        assert_string_equal(l.items[i].check, prose[n_prose++]);
    }
    assert_int_equal(n_prose, 1);
    r = row(&l, "format"); /* libav's "mov,mp4,..." family holds mp4 */
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_non_null(strstr(r->note, "container mov,mp4"));
    r = row(&l, "bitrate"); /* the probe gave no bit rate */
    assert_int_equal(r->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    check_list_free(&l);
    /* video bitrate >=516 kbps (fail): 515.9 fails, 516 passes */
    p.video_bit_rate = 515900;
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "bitrate");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(fabs(r->measured - 515.9) < 1e-9 && r->limit == 516 && r->limit_is_min);
    assert_string_equal(r->unit, "kbps");
    check_list_free(&l);
    p.video_bit_rate = 516000;
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "bitrate")->status, PLACEMENTS_VERDICT_PASS);
    check_list_free(&l);
    snprintf(p.container, sizeof p.container, "matroska,webm"); /* not accepted: fail */
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "format")->status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);
    snprintf(p.container, sizeof p.container, "mov,mp4,m4a,3gp,3g2,mj2");
    p.video_bit_rate = 0;

    f.file_bytes = 524288001; /* past both readings of 500 MB */
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "file_size")->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(row(&l, "file_size")->limit == 524288000);
    check_list_free(&l);

    /* 5-60 s with the 0.5 s tolerance on the minimum */
    p.duration_s = 4.6;
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "duration")->status, PLACEMENTS_VERDICT_PASS);
    check_list_free(&l);
    p.duration_s = 4.4;
    l = run("tiktok_infeed", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "duration");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->limit_is_min && fabs(r->limit - 4.5) < 1e-9);
    check_list_free(&l);

    /* TikTok In-Feed takes video and copy only: an image is a kind fail and nothing else */
    l = run("tiktok_infeed", PLACEMENTS_KIND_IMAGE, &fi);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].check, "kind");
    assert_int_equal(l.items[0].status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);
}

static void test_youtube_shorts(void **state)
{
    media_probe p = video_probe(720, 1280, 61);
    media_loudness lo = good_loudness(61);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    mediacheck_facts fa = {.kind = PLACEMENTS_KIND_AUDIO, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    l = run("youtube_shorts", PLACEMENTS_KIND_VIDEO, &f);
    /* 720x1280 meets the minimum but not the 1080x1920 rec → warn */
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->measured == 720 && r->limit == 1080);
    /* 1-180; warn >60 */
    r = row(&l, "duration");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_false(r->conflict);
    /* "only the first 60 s plays" is the duration warn; "audio-only files are refused" the
     * kind row: only "hosted on the platform" stays prose */
    assert_int_equal(l.items[l.n - 1].status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_non_null(strstr(l.items[l.n - 1].note, "hosted on the platform"));
    for (size_t i = 0; i < l.n; i++) {
        assert_null(strstr(l.items[i].note, "only the first 60 s"));
        assert_null(strstr(l.items[i].note, "audio-only"));
    }
    check_list_free(&l);

    /* SD 480x640 floor: below it fails */
    p = video_probe(400, 711, 30);
    l = run("youtube_shorts", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->limit == 480);
    check_list_free(&l);

    l = run("youtube_shorts", PLACEMENTS_KIND_AUDIO, &fa);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);
}

static void test_nonskippable_windows(void **state)
{
    /* ≤15; 30 or 60 (±1, the platform's own tolerance) → warn; any other >15 → fail */
    static const struct {
        double d;
        placements_verdict v;
    } cases[] = {{15.4, PLACEMENTS_VERDICT_PASS}, {15.6, PLACEMENTS_VERDICT_FAIL},
                 {29.0, PLACEMENTS_VERDICT_WARN}, {30.4, PLACEMENTS_VERDICT_WARN},
                 {31.2, PLACEMENTS_VERDICT_FAIL}, {60.9, PLACEMENTS_VERDICT_WARN},
                 {45.0, PLACEMENTS_VERDICT_FAIL}};
    media_probe p = video_probe(1920, 1080, 0);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p};
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_list l;
        const check_result *r;
        p.duration_s = cases[i].d;
        l = run("youtube_nonskippable", PLACEMENTS_KIND_VIDEO, &f);
        r = row(&l, "duration");
        assert_int_equal(r->status, cases[i].v);
        assert_false(r->limit_is_min);
        if (i == 3)
            assert_true(fabs(r->limit - 31) < 1e-9);
        check_list_free(&l);
    }
}

static void test_google_display(void **state)
{
    static const char *const prose[] = {"format", "frame_rate", "contrast"};
    static const placements_verdict want[] = {
        PLACEMENTS_VERDICT_PASS, PLACEMENTS_VERDICT_NOT_CHECKED, PLACEMENTS_VERDICT_NOT_CHECKED};
    media_image_info info = image_info(300, 250, 153600);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_IMAGE, .image = &info};
    check_list l;
    const check_result *r;
    (void)state;

    l = run("google_display_300x250", PLACEMENTS_KIND_IMAGE, &f);
    assert_int_equal(row(&l, "aspect_ratio")->status, PLACEMENTS_VERDICT_PASS);
    assert_int_equal(row(&l, "resolution")->status, PLACEMENTS_VERDICT_PASS);
    /* 150 KiB (153600 B): binary only, equal passes */
    r = row(&l, "file_size");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(r->limit == 153600);
    assert_false(has_row(&l, "duration")); /* a still image */
    /* "JPG, PNG or GIF only" is tested (a PNG passes); the GIF timing and border rules stay
     * not_checked */
    for (size_t i = 0; i < 3; i++) {
        r = &l.items[l.n - 3 + i];
        assert_string_equal(r->check, prose[i]);
        assert_int_equal(r->status, want[i]);
    }
    check_list_free(&l);
    snprintf(info.format, sizeof info.format, "webp");
    l = run("google_display_300x250", PLACEMENTS_KIND_IMAGE, &f);
    r = &l.items[l.n - 3];
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_non_null(strstr(r->note, "format webp, not one of jpeg, png, gif"));
    check_list_free(&l);
    snprintf(info.format, sizeof info.format, "png");

    /* one byte over 150 KiB: no warn band for KiB */
    assert_int_equal(image_status("google_display_300x250", "file_size", 300, 250, 153601),
                     PLACEMENTS_VERDICT_FAIL);
    /* double size keeps the ratio but is not the slot */
    assert_int_equal(image_status("google_display_300x250", "aspect_ratio", 600, 500, 1000),
                     PLACEMENTS_VERDICT_PASS);
    assert_int_equal(image_status("google_display_300x250", "resolution", 600, 500, 1000),
                     PLACEMENTS_VERDICT_FAIL);
    assert_int_equal(image_status("google_display_300x250", "aspect_ratio", 301, 250, 1000),
                     PLACEMENTS_VERDICT_FAIL);

    /* an animated GIF is timed: ≤30 s loops included, +0.5 s */
    info.animated = 1;
    info.duration_s = 30.6;
    l = run("google_display_300x250", PLACEMENTS_KIND_IMAGE, &f);
    r = row(&l, "duration");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_non_null(strstr(r->note, "animated GIF"));
    check_list_free(&l);
}

static void test_audio_streaming(void **state)
{
    static const char *const order[] = {"kind",           "loudness",     "true_peak",
                                        "short_term_max", "silence_lead", "silence_trail",
                                        "clipping"};
    media_loudness lo = good_loudness(30);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_AUDIO, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    lo.integrated_lufs = -16.0; /* -14 ±2: the edge passes */
    lo.short_term_max_lufs = -9.0;
    lo.true_peak_dbtp = -1.0;
    lo.silence_lead_s = 0.5;
    lo.silence_trail_s = 0.6;
    l = run("audio_streaming", PLACEMENTS_KIND_AUDIO, &f);
    order_is(&l, order, sizeof order / sizeof *order);
    r = row(&l, "loudness");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(r->limit == -16 && r->limit_is_min);
    assert_int_equal(r->label, PLACEMENTS_LABEL_LOUPE_DEFAULT);
    assert_string_equal(r->unit, "LUFS");
    assert_int_equal(row(&l, "true_peak")->status, PLACEMENTS_VERDICT_PASS);
    r = row(&l, "short_term_max"); /* -14 + 5 = -9: a Loupe default */
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(r->limit == -9);
    assert_int_equal(r->label, PLACEMENTS_LABEL_LOUPE_DEFAULT);
    assert_int_equal(row(&l, "silence_lead")->status, PLACEMENTS_VERDICT_PASS);
    r = row(&l, "silence_trail");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->measured == 0.6 && r->limit == 0.5);
    assert_int_equal(row(&l, "clipping")->status, PLACEMENTS_VERDICT_PASS);
    check_list_free(&l);

    /* just outside: social presets warn */
    lo.integrated_lufs = -16.1;
    lo.short_term_max_lufs = -8.9;
    lo.true_peak_dbtp = -0.9;
    l = run("audio_streaming", PLACEMENTS_KIND_AUDIO, &f);
    assert_int_equal(row(&l, "loudness")->status, PLACEMENTS_VERDICT_WARN);
    assert_int_equal(row(&l, "short_term_max")->status, PLACEMENTS_VERDICT_WARN);
    assert_int_equal(row(&l, "true_peak")->status, PLACEMENTS_VERDICT_WARN);
    assert_int_equal(row(&l, "clipping")->status, PLACEMENTS_VERDICT_PASS);
    check_list_free(&l);

    lo.integrated_lufs = -11.9; /* above the band */
    lo.true_peak_dbtp = 0.0;    /* 0 dBTP clips: fail everywhere */
    l = run("audio_streaming", PLACEMENTS_KIND_AUDIO, &f);
    r = row(&l, "loudness");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->limit == -12 && !r->limit_is_min);
    r = row(&l, "clipping");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->measured == 0.0 && r->limit == 0.0);
    check_list_free(&l);

    lo.integrated_lufs = -HUGE_VAL; /* silent: gated out */
    lo.true_peak_dbtp = -HUGE_VAL;
    l = run("audio_streaming", PLACEMENTS_KIND_AUDIO, &f);
    r = row(&l, "loudness");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_false(r->has_measured);
    assert_false(row(&l, "clipping")->has_measured);
    check_list_free(&l);
}

static void test_broadcast_fail(void **state)
{
    media_loudness lo = good_loudness(30);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_AUDIO, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    /* EBU R 128: -23; short-form ±0.5 LU and S-max ≤ -18 (platform), fail on broadcast */
    lo.integrated_lufs = -23.6;
    lo.short_term_max_lufs = -17.9;
    lo.true_peak_dbtp = -1.2;
    l = run("broadcast_ebu_r128", PLACEMENTS_KIND_AUDIO, &f);
    r = row(&l, "loudness");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(fabs(r->limit - -23.5) < 1e-9);
    r = row(&l, "short_term_max");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->limit == -18);
    assert_int_equal(r->label, PLACEMENTS_LABEL_PLATFORM);
    check_list_free(&l);

    /* 90 s: the ±1 production tolerance, no S-max */
    lo.duration_s = 90;
    l = run("broadcast_ebu_r128", PLACEMENTS_KIND_AUDIO, &f);
    assert_int_equal(row(&l, "loudness")->status, PLACEMENTS_VERDICT_PASS);
    assert_int_equal(row(&l, "short_term_max")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    check_list_free(&l);

    /* ATSC A/85: -24 ±2, TP -2 (2) */
    lo.integrated_lufs = -24;
    lo.true_peak_dbtp = -1.5;
    l = run("broadcast_atsc_a85", PLACEMENTS_KIND_AUDIO, &f);
    r = row(&l, "true_peak");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_true(r->limit == -2);
    assert_int_equal(r->label, PLACEMENTS_LABEL_SECONDARY);
    check_list_free(&l);
}

static void test_non_square_sar(void **state)
{
    /* 1440x1080 stored with 4:3 pixels is shown 1920x1080 (16:9); resolution counts pixels */
    media_probe p = video_probe(1440, 1080, 20);
    media_loudness lo = good_loudness(20);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    check_list l;
    const check_result *r;
    (void)state;

    p.sar = 4.0 / 3;
    l = run("youtube_instream", PLACEMENTS_KIND_VIDEO, &f);
    r = row(&l, "aspect_ratio");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_PASS);
    assert_true(fabs(r->measured - 16.0 / 9) < 1e-12);
    r = row(&l, "resolution"); /* above 1280x720, below the 1920x1080 rec */
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->measured == 1440 && r->limit == 1920);
    check_list_free(&l);

    p.sar = 1; /* square pixels: 4:3 is no accepted ratio */
    l = run("youtube_instream", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "aspect_ratio")->status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);
}

static void test_kb_warn_band(void **state)
{
    static const struct {
        uint64_t bytes;
        placements_verdict v;
    } cases[] = {{74999, PLACEMENTS_VERDICT_FAIL},     {75000, PLACEMENTS_VERDICT_WARN},
                 {76000, PLACEMENTS_VERDICT_WARN},     {76800, PLACEMENTS_VERDICT_PASS},
                 {200000000, PLACEMENTS_VERDICT_PASS}, {200000001, PLACEMENTS_VERDICT_WARN},
                 {500000001, PLACEMENTS_VERDICT_WARN}, {524288001, PLACEMENTS_VERDICT_FAIL}};
    media_probe p = video_probe(1080, 1350, 20);
    media_loudness lo = good_loudness(20);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    (void)state;

    /* linkedin_video: 500 MB; warn >200 MB; min 75 KB (min fails below 75,000 B, warns below
     * 76,800 B; "warn >200 MB" warns under either reading) */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_list l;
        f.file_bytes = cases[i].bytes;
        l = run("linkedin_video", PLACEMENTS_KIND_VIDEO, &f);
        assert_int_equal(row(&l, "file_size")->status, cases[i].v);
        if (i == 1)
            assert_true(row(&l, "file_size")->limit == 76800 && row(&l, "file_size")->limit_is_min);
        check_list_free(&l);
    }
}

static void test_missing_measurements(void **state)
{
    static const char *const loud[] = {"loudness",     "true_peak",     "short_term_max",
                                       "silence_lead", "silence_trail", "clipping"};
    media_probe p = video_probe(1080, 1920, 20);
    mediacheck_facts none = {.kind = PLACEMENTS_KIND_VIDEO};
    mediacheck_facts mute = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p};
    check_list l;
    (void)state;

    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &none);
    assert_int_equal(row(&l, "kind")->status, PLACEMENTS_VERDICT_PASS);
    assert_string_equal(row(&l, "aspect_ratio")->note, "not measured: no probe");
    assert_int_equal(row(&l, "aspect_ratio")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_int_equal(row(&l, "resolution")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_int_equal(row(&l, "file_size")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_int_equal(row(&l, "duration")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    assert_int_equal(row(&l, "captions")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(row(&l, loud[i])->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    check_list_free(&l);

    p.has_audio = 0;
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &mute);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(row(&l, loud[i])->note, "not measured: no audio stream");
    assert_int_equal(row(&l, "duration")->status, PLACEMENTS_VERDICT_PASS);
    p.has_subtitles = 1;
    check_list_free(&l);
    l = run("meta_reels", PLACEMENTS_KIND_VIDEO, &mute);
    assert_int_equal(row(&l, "captions")->status, PLACEMENTS_VERDICT_PASS);
    check_list_free(&l);
}

static void test_snapchat_conflict(void **state)
{
    (void)state;
    /* image minimum 720x1280 (conflict with 1080x1920): between the two → warn (conflict) */
    media_image_info info = image_info(800, 1422, 1000);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_IMAGE, .image = &info};
    check_list l = run("snapchat_story", PLACEMENTS_KIND_IMAGE, &f);
    const check_result *r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_WARN);
    assert_true(r->conflict);
    check_list_free(&l);

    info = image_info(700, 1300, 1000); /* below both sheets: fail, not a conflict */
    l = run("snapchat_story", PLACEMENTS_KIND_IMAGE, &f);
    r = row(&l, "resolution");
    assert_int_equal(r->status, PLACEMENTS_VERDICT_FAIL);
    assert_false(r->conflict);
    assert_true(r->limit == 720);
    check_list_free(&l);
}

static const char *const covered[] = {
    "audio-only files are refused",
    "only the first 60 s plays in the Shorts feed",
    "box outside the unified zone but inside the older Stories-only zone: say so",
};

/* Every prose rule of every preset appears as a not_checked row for each media kind the
 * preset takes, except the three rules a structured row decides. */
static void test_every_prose_rule_reported(void **state)
{
    static const placements_kind kinds[] = {PLACEMENTS_KIND_IMAGE, PLACEMENTS_KIND_VIDEO,
                                            PLACEMENTS_KIND_AUDIO};
    media_image_info info = image_info(1080, 1080, 1000);
    media_probe p = video_probe(1080, 1080, 10);
    media_loudness lo = good_loudness(10);
    size_t total = 0;
    (void)state;

    for (size_t i = 0; i < placements_count_presets(table); i++) {
        const placements_preset *pr = placements_at(table, i);
        const cJSON *rules = cJSON_GetObjectItemCaseSensitive(pr->json, "rules"), *e;
        for (size_t k = 0; k < 3; k++) {
            mediacheck_facts f = {.kind = kinds[k], .image = &info, .probe = &p, .loudness = &lo};
            check_list l;
            size_t expect = 0, got = 0;
            if (!(pr->kinds & (1u << kinds[k])))
                continue;
            l = run(pr->id, kinds[k], &f);
            cJSON_ArrayForEach(e, rules)
            {
                const char *rule = cJSON_GetStringValue(cJSON_GetObjectItem(e, "rule"));
                const cJSON *ap = cJSON_GetObjectItem(e, "applies");
                int skip = 0, found = 0;
                for (size_t c = 0; c < 3; c++)
                    skip |= strcmp(rule, covered[c]) == 0;
                /* a rule whose structured test decides it all has rows of its own instead */
                skip |= cJSON_IsTrue(cJSON_GetObjectItem(e, "complete"));
                if (cJSON_IsArray(ap)) {
                    const char *kn = placements_kind_name(kinds[k]);
                    int match = 0;
                    const cJSON *x;
                    cJSON_ArrayForEach(x, ap) match |= strcmp(cJSON_GetStringValue(x), kn) == 0;
                    skip |= !match;
                }
                if (skip)
                    continue;
                expect++;
                for (size_t r = 0; r < l.n; r++)
                    found |= l.items[r].status == PLACEMENTS_VERDICT_NOT_CHECKED &&
                             strstr(l.items[r].note, rule) != NULL;
                if (!found)
                    fail_msg("%s (%s): rule '%s' has no not_checked row", pr->id,
                             placements_kind_name(kinds[k]), rule);
            }
            for (size_t r = 0; r < l.n; r++)
                got += strstr(l.items[r].note, "(rule severity: ") != NULL;
            assert_int_equal(got, expect);
            total += expect;
            check_list_free(&l);
        }
    }
    assert_true(total >= 40);
}

static void test_deterministic(void **state)
{
    media_probe p = video_probe(1080, 1920, 30);
    media_loudness lo = good_loudness(30);
    mediacheck_facts f = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .loudness = &lo};
    (void)state;

    for (size_t i = 0; i < placements_count_presets(table); i++) {
        const placements_preset *pr = placements_at(table, i);
        check_list a = run(pr->id, PLACEMENTS_KIND_VIDEO, &f);
        check_list b = run(pr->id, PLACEMENTS_KIND_VIDEO, &f);
        assert_int_equal(a.n, b.n);
        for (size_t k = 0; k < a.n; k++) {
            assert_string_equal(a.items[k].check, b.items[k].check);
            assert_int_equal(a.items[k].status, b.items[k].status);
            assert_string_equal(a.items[k].note, b.items[k].note);
            assert_memory_equal(&a.items[k].measured, &b.items[k].measured, sizeof(double));
            /* "unknown" figures are never a verdict */
            if (a.items[k].label == PLACEMENTS_LABEL_UNKNOWN)
                assert_int_equal(a.items[k].status, PLACEMENTS_VERDICT_NOT_CHECKED);
            if (a.items[k].conflict)
                assert_int_not_equal(a.items[k].status, PLACEMENTS_VERDICT_FAIL);
        }
        check_list_free(&a);
        check_list_free(&b);
    }
}

static void test_safe_zone_boxes(void **state)
{
    /* meta_stories 0.14/0.35/0.06/0.06; the older Stories-only zone 0.14/0.20/0/0 */
    mediacheck_box inside = {.x = 0.06, .y = 0.14, .w = 0.88, .h = 0.51, .t = -1};
    mediacheck_box low = {.x = 0.1, .y = 0.7, .w = 0.5, .h = 0.05, .t = 2.5};
    mediacheck_box boxes[2] = {inside, low};
    mediacheck_box bad = {.x = NAN, .y = 0, .w = 0.1, .h = 0.1};
    manifest_asset a = asset(PLACEMENTS_KIND_VIDEO);
    check_result r;
    lp_error err = {0};
    media_probe p = video_probe(1080, 1920, 10);
    mediacheck_facts f = {
        .kind = PLACEMENTS_KIND_VIDEO, .probe = &p, .has_regions = 1, .boxes = boxes, .n_boxes = 2};
    check_list l;
    (void)state;

    /* a box exactly on the margin lines lies inside */
    assert_int_equal(mediacheck_safe_zone(&a, preset("meta_stories"), &inside, 1, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS);
    assert_int_equal(mediacheck_safe_zone(&a, preset("meta_stories"), boxes, 2, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    assert_true(fabs(r.measured - 0.10) < 1e-9); /* 0.75 bottom edge vs the 0.65 line */
    assert_non_null(strstr(r.note, "older Stories-only zone"));
    assert_non_null(strstr(r.note, "t=2.50 s"));
    assert_int_equal(r.label, PLACEMENTS_LABEL_SECONDARY);
    /* meta_reels has no alternative zone */
    assert_int_equal(mediacheck_safe_zone(&a, preset("meta_reels"), boxes, 2, &r, &err), LP_OK);
    assert_null(strstr(r.note, "older"));
    assert_int_equal(mediacheck_safe_zone(&a, preset("meta_reels"), &bad, 1, &r, &err),
                     LP_ERR_INVALID);

    l = run("meta_stories", PLACEMENTS_KIND_VIDEO, &f);
    assert_int_equal(row(&l, "safe_zone")->status, PLACEMENTS_VERDICT_WARN);
    assert_int_equal(row(&l, "contrast")->status, PLACEMENTS_VERDICT_NOT_CHECKED);
    check_list_free(&l);
}

static void test_contrast(void **state)
{
    mediacheck_box b[3] = {{.w = 0.1, .h = 0.1, .contrast = 4.5, .t = -1},
                           {.w = 0.1, .h = 0.1, .contrast = 3.1, .large_text = 1, .t = -1},
                           {.w = 0.1, .h = 0.1, .contrast = 1.2, .is_logo = 1, .t = -1}};
    manifest_asset a = asset(PLACEMENTS_KIND_IMAGE);
    check_result r;
    lp_error err = {0};
    (void)state;

    assert_int_equal(mediacheck_contrast(&a, NULL, b, 3, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_PASS); /* logo exempt; equal passes */
    b[0].contrast = 4.4;
    assert_int_equal(mediacheck_contrast(&a, NULL, b, 3, &r, &err), LP_OK);
    assert_int_equal(r.status, PLACEMENTS_VERDICT_WARN);
    assert_true(r.measured == 4.4 && r.limit == 4.5 && r.limit_is_min);
    assert_int_equal(r.label, PLACEMENTS_LABEL_LOUPE_DEFAULT);
}

static void test_run_any_and_page(void **state)
{
    manifest_asset page = asset(PLACEMENTS_KIND_PAGE);
    manifest_asset video = asset(PLACEMENTS_KIND_VIDEO);
    media_probe p = video_probe(1080, 1920, 10);
    mediacheck_facts fp = {.kind = PLACEMENTS_KIND_PAGE};
    mediacheck_facts fv = {.kind = PLACEMENTS_KIND_VIDEO, .probe = &p};
    check_list l = {0};
    lp_error err = {0};
    char *pl[] = {"meta_reels"};
    (void)state;

    assert_int_equal(mediacheck_run_any(&page, &fp, &l, &err), LP_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].check, "contrast");
    assert_null(l.items[0].placement);
    check_list_free(&l);

    video.placements = pl;
    video.n_placements = 1;
    assert_int_equal(mediacheck_run_any(&video, &fv, &l, &err), LP_OK);
    assert_int_equal(l.n, 1); /* flashes only: contrast and captions come per placement */
    assert_non_null(strstr(l.items[0].note, "WCAG 2.3.1"));
    check_list_free(&l);

    /* a page takes no placement */
    l = run("meta_feed_square", PLACEMENTS_KIND_PAGE, &fp);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].status, PLACEMENTS_VERDICT_FAIL);
    check_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_feed_square_image),
        cmocka_unit_test(test_aspect_boundaries),
        cmocka_unit_test(test_meta_stories_duration_conflict),
        cmocka_unit_test(test_meta_reels_rotated),
        cmocka_unit_test(test_tiktok_infeed),
        cmocka_unit_test(test_youtube_shorts),
        cmocka_unit_test(test_nonskippable_windows),
        cmocka_unit_test(test_google_display),
        cmocka_unit_test(test_audio_streaming),
        cmocka_unit_test(test_broadcast_fail),
        cmocka_unit_test(test_non_square_sar),
        cmocka_unit_test(test_kb_warn_band),
        cmocka_unit_test(test_missing_measurements),
        cmocka_unit_test(test_snapchat_conflict),
        cmocka_unit_test(test_every_prose_rule_reported),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_safe_zone_boxes),
        cmocka_unit_test(test_contrast),
        cmocka_unit_test(test_run_any_and_page),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
