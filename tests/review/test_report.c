/* Unit tests of the review result and its four output files: a result built by hand over a
 * packet written to a temp folder (copy, image, video, page assets; checks of every status;
 * findings of every severity and evidence kind; a not-reviewed item; hostile strings in ids,
 * variants, copy and rationales), then review.json against schemas/review-1.json (an
 * independent Python checker, which must also reject broken files), sorted keys, identical
 * bytes across renders and construction orders, the approval rule, variants.csv parsed back by
 * Python's csv module, report.html escaping and inlined thumbnails decoded by libcrypto, and
 * report.md escaping. */
#define _XOPEN_SOURCE 700 /* nftw, for removing the temp packets */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/json.h"
#include "loupe/review/manifest.h"
#include "loupe/review/report.h"
#include "loupe/review/result.h"

static placements *table;
static char dir[512];
static char src_dir[512];

#define HOSTILE_ID "<script>alert(1)</script>|hero"
#define HOSTILE_VARIANT "A|<b>\"x\",y"
#define HOSTILE_RATIONALE                                                                          \
    "<script>alert(1)</script> & \"q\" | 'x' *b* _i_\nline 2 \xc3\xa9 \xf0\x9f\x8e\x89"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A 1x1 PNG (67 bytes); the report never decodes it, so any bytes would do. */
static const uint8_t PNG1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00,
    0x00, 0xb5, 0x1c, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0x64, 0x60, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02, 0x30, 0x81, 0xd0, 0x2f,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static char *read_text(const char *path, size_t *n)
{
    uint8_t *data = NULL;
    lp_error err = {0};
    if (lp_fs_read_all(path, 64u << 20, &data, n, &err) != LP_OK)
        fail_msg("%s", err.msg);
    return (char *)data;
}

static const char *const PACKET =
    "{\"packet\": \"spring\", \"brand\": {\"name\": \"Acme\", \"avoid_words\": [\"cheapest\"]},\n"
    " \"sensitivity\": \"internal\", \"rubric\": \"default@1\",\n \"assets\": [\n"
    "  {\"id\": \"hero-a\", \"kind\": \"image\", \"file\": \"hero.png\", \"variant\": \"A\",\n"
    "   \"placements\": [\"meta_feed_square\", \"meta_stories\"]},\n"
    "  {\"id\": \"clip-a\", \"kind\": \"video\", \"file\": \"clip.mp4\", \"variant\": \"A\",\n"
    "   \"placements\": [\"meta_reels\", \"tiktok_infeed\"]},\n"
    "  {\"id\": \"headline-a\", \"kind\": \"copy\", \"field\": \"headline\", \"variant\": \"A\",\n"
    "   \"text\": \"Spring <script>alert(1)</script> | *sale* _now_ `x` [l](https://evil.example)"
    " \\\"q\\\"\\nline two caf\\u00e9 \\ud83c\\udf89\",\n"
    "   \"placements\": [\"meta_feed_square\"]},\n"
    "  {\"id\": \"body-b\", \"kind\": \"copy\", \"field\": \"primary_text\", \"variant\": \"B\",\n"
    "   \"text\": \"Terms apply.\", \"placements\": [\"meta_feed_square\"]},\n"
    "  {\"id\": \"landing\", \"kind\": \"page\", \"file\": \"page.png\"}\n ]\n}\n";

/* A fresh, empty packet folder holding the three media files. */
static void open_packet_free_dir(void)
{
    char path[1024];
    const char *tmp = getenv("LOUPE_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/report_%ld", tmp ? tmp : "/tmp", (long)getpid());
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *files[] = {"hero.png", "clip.mp4", "page.png"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        write_file(path, "x", 1);
    }
}

static manifest *open_packet(void)
{
    char path[1024];
    manifest *m = NULL;
    lp_error err = {0};
    open_packet_free_dir();
    snprintf(path, sizeof path, "%s/packet.json", dir);
    write_file(path, PACKET, strlen(PACKET));
    if (manifest_open(dir, table, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    /* hostile ids and variants cannot come through manifest_open: put them in by hand, as a
     * later packet format or a bug upstream might */
    lp_alloc_free(m->assets[0].id);
    m->assets[0].id = lp_alloc_strdup(HOSTILE_ID);
    for (int i = 0; i < 3; i++) {
        lp_alloc_free(m->assets[i].variant);
        m->assets[i].variant = lp_alloc_strdup(HOSTILE_VARIANT);
    }
    lp_alloc_free(m->packet);
    m->packet = lp_alloc_strdup("spring<script>x</script>");
    return m;
}

static check_result row(const char *placement, const char *check, placements_verdict status,
                        const char *unit, placements_label label)
{
    return (check_result){.placement = placement,
                          .check = check,
                          .status = status,
                          .unit = unit,
                          .label = label,
                          .source = label == PLACEMENTS_LABEL_BRAND ? "packet.json" : "META",
                          .checked = label == PLACEMENTS_LABEL_BRAND ? NULL : "2026-11-23"};
}

static check_result with(check_result c, double measured, double limit, int is_min,
                         const char *note)
{
    c.measured = measured;
    c.has_measured = 1;
    if (!isnan(limit)) {
        c.limit = limit;
        c.has_limit = 1;
    }
    c.limit_is_min = is_min;
    snprintf(c.note, sizeof c.note, "%s", note);
    return c;
}

/* Per asset index: its rows, in the order the pipeline might produce them. */
static size_t asset_checks(size_t i, check_result *out)
{
    size_t n = 0;
    check_result c;
    switch (i) {
    case 0:
        out[n++] = with(row("meta_stories", "aspect_ratio", PLACEMENTS_VERDICT_FAIL, "ratio",
                            PLACEMENTS_LABEL_PLATFORM),
                        4.0 / 3.0, 0.5625, 0, "expected 9:16");
        out[n++] = with(row("meta_feed_square", "aspect_ratio", PLACEMENTS_VERDICT_PASS, "ratio",
                            PLACEMENTS_LABEL_PLATFORM),
                        1, 1, 0, "");
        c = with(row("meta_feed_square", "resolution", PLACEMENTS_VERDICT_WARN, "px",
                     PLACEMENTS_LABEL_SECONDARY),
                 600, 1080, 1, "below the recommended width");
        c.conflict = 1;
        out[n++] = c;
        out[n++] = with(row("meta_stories", "file_size", PLACEMENTS_VERDICT_INFO, "bytes",
                            PLACEMENTS_LABEL_LOUPE_DEFAULT),
                        31457280, 31457280, 0, "at the limit\nexactly");
        c = row("meta_stories", "safe_zone", PLACEMENTS_VERDICT_NOT_CHECKED, NULL,
                PLACEMENTS_LABEL_UNKNOWN);
        snprintf(c.note, sizeof c.note, "no safe-zone figure for this placement");
        out[n++] = c;
        out[n++] = with(
            row(NULL, "contrast", PLACEMENTS_VERDICT_PASS, "ratio", PLACEMENTS_LABEL_LOUPE_DEFAULT),
            4.8, 4.5, 1, "");
        break;
    case 1:
        out[n++] = with(
            row("meta_reels", "duration", PLACEMENTS_VERDICT_PASS, "s", PLACEMENTS_LABEL_PLATFORM),
            14.5, 90, 0, "");
        out[n++] = with(row("tiktok_infeed", "loudness", PLACEMENTS_VERDICT_WARN, "LUFS",
                            PLACEMENTS_LABEL_SECONDARY),
                        -9.25, -14, 0, "louder than the target");
        out[n++] = with(row("tiktok_infeed", "frame_rate", PLACEMENTS_VERDICT_PASS, "fps",
                            PLACEMENTS_LABEL_PLATFORM),
                        29.97, 23, 1, "");
        c = row("meta_reels", "codec", PLACEMENTS_VERDICT_NOT_CHECKED, NULL,
                PLACEMENTS_LABEL_PLATFORM);
        out[n++] = c; /* no note: the report must still say why (that none was given) */
        out[n++] = with(row("tiktok_infeed", "true_peak", PLACEMENTS_VERDICT_INFO, "dBTP",
                            PLACEMENTS_LABEL_LOUPE_DEFAULT),
                        -0.5, -1, 0, "");
        break;
    case 2:
        c = with(row("meta_feed_square", "text_length", PLACEMENTS_VERDICT_WARN, "chars",
                     PLACEMENTS_LABEL_PLATFORM),
                 51, 40, 0, "truncated above 40");
        c.field = "headline";
        out[n++] = c;
        c = with(row(NULL, "avoid_words", PLACEMENTS_VERDICT_FAIL, "words", PLACEMENTS_LABEL_BRAND),
                 1, 0, 0, "found: cheapest|<b>");
        out[n++] = c;
        break;
    case 3:
        c = with(row("meta_feed_square", "text_length", PLACEMENTS_VERDICT_PASS, "chars",
                     PLACEMENTS_LABEL_PLATFORM),
                 12, 125, 0, "");
        c.field = "primary_text";
        out[n++] = c;
        out[n++] =
            with(row(NULL, "disclaimer", PLACEMENTS_VERDICT_PASS, "assets", PLACEMENTS_LABEL_BRAND),
                 1, 1, 1, "Terms apply.");
        break;
    default:
        out[n++] = with(
            row(NULL, "contrast", PLACEMENTS_VERDICT_PASS, "ratio", PLACEMENTS_LABEL_LOUPE_DEFAULT),
            7, 4.5, 1, "");
    }
    return n;
}

static size_t asset_findings(size_t i, result_finding *out)
{
    size_t n = 0;
    switch (i) {
    case 0:
        out[n++] = (result_finding){.item = "claims_policy",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_MAJOR,
                                    .evidence = RESULT_EVIDENCE_REGION,
                                    .x = 0.1,
                                    .y = 0.2,
                                    .w = 0.3,
                                    .h = 0.4,
                                    .rationale = HOSTILE_RATIONALE,
                                    .backend = "local"};
        out[n++] = (result_finding){.item = "brand_voice",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_PASS,
                                    .rationale = "fine",
                                    .backend = "local"};
        out[n++] = (result_finding){.item = "logo",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_MINOR,
                                    .evidence = RESULT_EVIDENCE_REGION,
                                    .x = -0.5,
                                    .y = 0.5,
                                    .w = 2,
                                    .h = 0.25,
                                    .rationale = "logo small",
                                    .backend = "remote:<evil>"};
        break;
    case 1:
        out[n++] = (result_finding){.item = "voiceover",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_BLOCKER,
                                    .evidence = RESULT_EVIDENCE_TIME,
                                    .t0 = 3.5,
                                    .t1 = 12,
                                    .rationale = "says \"guaranteed\"",
                                    .backend = "local"};
        out[n++] = (result_finding){.item = "audio_claims", .not_reviewed = "no projector"};
        break;
    case 2:
        out[n++] = (result_finding){.item = "tone",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_MINOR,
                                    .evidence = RESULT_EVIDENCE_QUOTE,
                                    .quote = "40% <off> | now",
                                    .rationale = "pushy",
                                    .backend = "local"};
        break;
    case 3:
        out[n++] = (result_finding){.item = "tone",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_PASS,
                                    .evidence = RESULT_EVIDENCE_QUOTE,
                                    .quote = "Terms apply.",
                                    .backend = "local"};
        break;
    default:
        out[n++] = (result_finding){.item = "brand_voice",
                                    .reviewed = 1,
                                    .severity = RESULT_SEVERITY_PASS,
                                    .backend = "local"};
        out[n++] = (result_finding){.item = "claims_policy", .not_reviewed = "no model"};
    }
    return n;
}

static void add_thumb(result_asset *a, double t, const uint8_t *p, size_t n)
{
    uint8_t *copy = lp_alloc(n);
    lp_error err = {0};
    assert_non_null(copy);
    memcpy(copy, p, n);
    assert_int_equal(result_add_thumb(a, t, copy, n, &err), LP_OK);
}

static uint8_t frame_bytes[256];

/* Fills r over m; reversed pushes checks and findings in the opposite order. */
static void build(result *r, const manifest *m, int reversed, int flag)
{
    lp_error err = {0};
    assert_int_equal(result_init(r, m, &err), LP_OK);
    assert_int_equal(r->n_assets, 5);
    snprintf(r->packet_sha256, sizeof r->packet_sha256, "%s", SHA_A);
    memset(r->model_sha256, 'b', 64);
    snprintf(r->model_arch, sizeof r->model_arch, "gemma4");
    snprintf(r->model_type, sizeof r->model_type, "q4_0");
    snprintf(r->rubric_id, sizeof r->rubric_id, "default");
    r->rubric_version = 1;
    memset(r->rubric_sha256, 'c', 64);
    memset(r->prompt_sha256, 'd', 64);
    r->sampling = (result_sampling){.temperature = 0,
                                    .top_p = 0.95,
                                    .min_p = 0.05,
                                    .top_k = 64,
                                    .max_tokens = 512,
                                    .image_tokens = 280,
                                    .video_frames = 32,
                                    .seed = 18446744073709551557ull};
    r->loupe_version = "0.1.0";
    for (size_t i = 0; i < r->n_assets; i++) {
        check_result cs[8];
        result_finding fs[4];
        size_t nc = asset_checks(i, cs), nf = asset_findings(i, fs);
        result_asset *a = &r->assets[i];
        memset(a->sha256, '0' + (int)i, 64);
        for (size_t k = 0; k < nc; k++)
            assert_int_equal(check_list_push(&a->checks, &cs[reversed ? nc - 1 - k : k], &err),
                             LP_OK);
        for (size_t k = 0; k < nf; k++)
            assert_int_equal(result_add_finding(a, &fs[reversed ? nf - 1 - k : k], &err), LP_OK);
    }
    for (size_t i = 0; i < sizeof frame_bytes; i++)
        frame_bytes[i] = (uint8_t)i;
    add_thumb(&r->assets[0], -1, PNG1, sizeof PNG1);
    add_thumb(&r->assets[1], 0, frame_bytes, 1);
    add_thumb(&r->assets[1], 4, frame_bytes, 2);
    add_thumb(&r->assets[1], 8, frame_bytes, 3);
    add_thumb(&r->assets[1], 16, frame_bytes, sizeof frame_bytes);
    if (flag)
        assert_int_equal(result_flag(r, &err), LP_OK);
}

typedef struct renders {
    lp_buf json, csv, md, html;
} renders;

static void render(const result *r, renders *out)
{
    lp_error err = {0};
    memset(out, 0, sizeof *out);
    if (report_review_json(r, &out->json, &err) != LP_OK ||
        report_variants_csv(r, &out->csv, &err) != LP_OK ||
        report_markdown(r, table, &out->md, &err) != LP_OK ||
        report_html(r, table, &out->html, &err) != LP_OK)
        fail_msg("%s", err.msg);
}

static void renders_free(renders *x)
{
    lp_buf_free(&x->json);
    lp_buf_free(&x->csv);
    lp_buf_free(&x->md);
    lp_buf_free(&x->html);
}

static void same_bytes(const lp_buf *a, const lp_buf *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->p, b->p, a->n);
}

static int setup(void **state)
{
    char path[1024];
    const char *src = getenv("LOUPE_SOURCE_DIR");
    lp_error err = {0};
    (void)state;
    snprintf(src_dir, sizeof src_dir, "%s", src ? src : "../..");
    snprintf(path, sizeof path, "%s/data/placements/placements-1.json", src_dir);
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
    if (!getenv("LOUPE_KEEP_TMP")) /* set it to look at the files a run wrote */
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- result.c ---------------------------------------------------------------------------- */

static void test_result_basics(void **state)
{
    manifest *m;
    result r;
    result_severity s;
    lp_error err = {0};
    long live = lp_alloc_live();
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(result_severity_parse(result_severity_name((result_severity)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(result_severity_parse("critical", &s), -1);
    assert_int_equal(result_severity_parse(NULL, &s), -1);
    m = open_packet();
    build(&r, m, 0, 1);
    /* strings were copied: the stack literals are not referenced */
    assert_string_equal(r.assets[0].findings[0].item, "brand_voice"); /* sorted by item */
    assert_true(r.assets[0].findings[0].item != (char *)"brand_voice");
    assert_int_equal(r.assets[0].n_thumbs, 1);
    assert_int_equal(r.assets[1].n_thumbs, 4);
    /* the approval rule: a failed check or a major/blocker finding; not_reviewed lists only */
    assert_true(r.assets[0].needs_approval); /* aspect_ratio fail + major */
    assert_true(r.assets[1].needs_approval); /* blocker */
    assert_true(r.assets[2].needs_approval); /* avoid_words fail */
    assert_false(r.assets[3].needs_approval);
    assert_false(r.assets[4].needs_approval); /* only a not-reviewed item */
    assert_true(r.needs_approval);
    assert_int_equal(r.assets[0].n_reasons, 2);
    assert_string_equal(r.assets[0].reasons[0], "aspect_ratio failed on meta_stories (measured "
                                                "1.333, limit 0.5625): expected 9:16");
    assert_string_equal(r.assets[0].reasons[1], "finding claims_policy: major");
    assert_string_equal(r.assets[1].reasons[0], "finding audio_claims: not reviewed (no "
                                                "projector)");
    assert_string_equal(r.assets[1].reasons[1], "finding voiceover: blocker");
    assert_string_equal(r.assets[2].reasons[0], "avoid_words failed (measured 1 words, limit 0 "
                                                "words): found: cheapest|<b>");
    assert_int_equal(r.assets[3].n_reasons, 0);
    assert_int_equal(r.assets[4].n_reasons, 1);
    assert_string_equal(r.assets[4].reasons[0], "finding claims_policy: not reviewed (no model)");
    /* idempotent */
    assert_int_equal(result_flag(&r, &err), LP_OK);
    assert_int_equal(r.assets[0].n_reasons, 2);
    /* a minor finding alone does not flag; a pass check list with a fail does */
    result_free(&r);
    assert_null(r.assets);
    assert_int_equal(r.n_assets, 0);
    result_free(&r); /* a zeroed result is accepted */
    manifest_free(m);
    assert_int_equal(lp_alloc_live(), live);
}

static void test_result_alloc_failures(void **state)
{
    manifest *m;
    result r;
    lp_error err = {0};
    long live;
    (void)state;
    m = open_packet();
    live = lp_alloc_live();
    for (long k = 0; k < 20; k++) {
        result_finding f = {.item = "a", .reviewed = 1, .rationale = "b", .backend = "c"};
        lp_err rc;
        assert_int_equal(result_init(&r, m, &err), LP_OK);
        lp_alloc_fail_after(k);
        rc = result_add_finding(&r.assets[0], &f, &err);
        if (rc == LP_OK)
            rc = result_add_reason(&r.assets[0], "why", &err);
        if (rc == LP_OK)
            rc = result_add_thumb(&r.assets[0], -1, lp_alloc(3), 3, &err);
        lp_alloc_fail_after(-1);
        assert_true(rc == LP_OK || rc == LP_ERR_NOMEM);
        result_free(&r);
        assert_int_equal(lp_alloc_live(), live);
    }
    manifest_free(m);
}

/* ---- review.json --------------------------------------------------------------------------- */

static void assert_sorted_keys(const cJSON *v)
{
    const cJSON *prev = NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v) && prev)
            assert_true(strcmp(prev->string, c->string) < 0);
        prev = c;
        assert_sorted_keys(c);
    }
}

static int validate(const char *path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s/tests/review/validate_review.py' '%s/schemas/review-1.json' "
             "'%s'",
             src_dir, src_dir, path);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void write_json(const char *name, const cJSON *v, char *path, size_t n)
{
    lp_buf b = {0};
    snprintf(path, n, "%s/%s", dir, name);
    lp_json_canonical(v, 2, &b);
    assert_false(b.failed);
    write_file(path, b.p, b.n);
    lp_buf_free(&b);
}

/* Each edit must make the validator refuse the file. */
static void assert_broken_rejected(const lp_buf *good)
{
    static const char *const edits[] = {"extra-key",    "bad-status",     "no-summary",  "bad-sha",
                                        "bad-evidence", "field-on-image", "severity-num"};
    char path[1024];
    for (size_t e = 0; e <= sizeof edits / sizeof *edits; e++) {
        cJSON *v = cJSON_Parse(good->p);
        /* cJSON reads numbers as doubles: a 64-bit seed would come back rounded (and out of
         * range), so the round trip gets a small one; the unedited control must then pass */
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(v, "sampling"), "seed",
                                  cJSON_CreateNumber(7));
        cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "assets"), 0);
        cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(a0, "checks"), 0);
        cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(a0, "findings"), 0);
        assert_non_null(c0);
        assert_non_null(f0);
        if (e == 0)
            cJSON_AddBoolToObject(c0, "extra", 1);
        else if (e == 1)
            cJSON_ReplaceItemInObject(c0, "status", cJSON_CreateString("great"));
        else if (e == 2)
            cJSON_DeleteItemFromObject(v, "summary");
        else if (e == 3)
            cJSON_ReplaceItemInObject(a0, "sha256", cJSON_CreateString("ABC"));
        else if (e == 4)
            cJSON_ReplaceItemInObject(f0, "evidence", cJSON_CreateString("somewhere"));
        else if (e == 5)
            cJSON_AddStringToObject(a0, "field", "headline");
        else if (e == 6)
            cJSON_ReplaceItemInObject(f0, "severity", cJSON_CreateNumber(2));
        write_json("broken.json", v, path, sizeof path);
        cJSON_Delete(v);
        if (e == sizeof edits / sizeof *edits)
            assert_int_equal(validate(path), 0);
        else if (validate(path) != 1)
            fail_msg("the validator accepted the '%s' edit", edits[e]);
    }
}

static void test_review_json(void **state)
{
    manifest *m;
    result r, r2;
    renders a, b, c;
    char path[1024];
    lp_error err = {0};
    (void)state;
    m = open_packet();
    build(&r, m, 0, 1);
    render(&r, &a);
    render(&r, &b);
    same_bytes(&a.json, &b.json); /* two renders */
    same_bytes(&a.html, &b.html);
    same_bytes(&a.md, &b.md);
    same_bytes(&a.csv, &b.csv);
    build(&r2, m, 1, 1);
    render(&r2, &c);
    same_bytes(&a.json, &c.json); /* construction order */
    same_bytes(&a.html, &c.html);
    same_bytes(&a.md, &c.md);
    same_bytes(&a.csv, &c.csv);
    renders_free(&c);
    result_free(&r2);
    assert_int_equal(a.json.p[a.json.n - 1], '\n');
    assert_int_equal(a.json.p[a.json.n - 2], '}');

    snprintf(path, sizeof path, "%s/review.json", dir);
    write_file(path, a.json.p, a.json.n);
    assert_int_equal(validate(path), 0);
    assert_broken_rejected(&a.json);

    cJSON *v = cJSON_Parse(a.json.p);
    assert_non_null(v);
    assert_sorted_keys(v);
    assert_string_equal(cJSON_GetObjectItem(v, "schema")->valuestring, "loupe.review/1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "needs_approval")));
    assert_non_null(strstr(a.json.p, "\"seed\": 18446744073709551557"));
    assert_non_null(strstr(a.json.p, "\"measured\": 1.333333"));
    const cJSON *sum = cJSON_GetObjectItem(v, "summary");
    const cJSON *sc = cJSON_GetObjectItem(sum, "checks"),
                *sf = cJSON_GetObjectItem(sum, "findings");
    assert_int_equal(cJSON_GetObjectItem(sc, "pass")->valueint, 7);
    assert_int_equal(cJSON_GetObjectItem(sc, "info")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(sc, "warn")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(sc, "fail")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(sc, "not_checked")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(sf, "pass")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(sf, "minor")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(sf, "major")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(sf, "blocker")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(sf, "not_reviewed")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(sum, "assets_needing_approval")->valueint, 3);
    const cJSON *assets = cJSON_GetObjectItem(v, "assets");
    const cJSON *a0 = cJSON_GetArrayItem(assets, 0), *a2 = cJSON_GetArrayItem(assets, 2);
    assert_string_equal(cJSON_GetObjectItem(a0, "id")->valuestring, HOSTILE_ID);
    assert_string_equal(cJSON_GetObjectItem(a0, "variant")->valuestring, HOSTILE_VARIANT);
    assert_null(cJSON_GetObjectItem(a0, "field"));
    assert_string_equal(cJSON_GetObjectItem(a2, "field")->valuestring, "headline");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(assets, 4), "variant")));
    /* canonical order: per-asset rows first, then by placement, check */
    const cJSON *ch = cJSON_GetObjectItem(a0, "checks");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 0), "placement")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 1), "check")->valuestring,
                        "aspect_ratio");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 5), "check")->valuestring,
                        "safe_zone");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 5), "measured")));
    /* the out-of-range region was clamped; the not-reviewed item has only its reason */
    const cJSON *fl = cJSON_GetArrayItem(cJSON_GetObjectItem(a0, "findings"), 2);
    assert_string_equal(cJSON_GetObjectItem(fl, "item")->valuestring, "logo");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(fl, "evidence"), "x")->valuedouble, 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(fl, "evidence"), "w")->valuedouble, 1);
    const cJSON *nr =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(assets, 4), "findings"), 1);
    assert_string_equal(cJSON_GetObjectItem(nr, "not_reviewed")->valuestring, "no model");
    assert_int_equal(cJSON_GetArraySize(nr), 2);
    cJSON_Delete(v);

    /* the review id is the SHA-256 of the bytes, computed here by libcrypto directly */
    char id[20], hex[17];
    unsigned char d[32];
    SHA256((const unsigned char *)a.json.p, a.json.n, d);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_int_equal(report_review_id(&a.json, id, &err), LP_OK);
    assert_int_equal(strlen(id), REPORT_ID_LEN);
    assert_memory_equal(id, "r-", 2);
    assert_string_equal(id + 2, hex);

    /* no model: model and projector are null, and the file is still valid */
    memset(r.model_sha256, 0, sizeof r.model_sha256);
    memset(r.prompt_sha256, 0, sizeof r.prompt_sha256);
    lp_buf nomodel = {0};
    assert_int_equal(report_review_json(&r, &nomodel, &err), LP_OK);
    assert_non_null(strstr(nomodel.p, "\"model\": null"));
    assert_non_null(strstr(nomodel.p, "\"projector\": null"));
    write_file(path, nomodel.p, nomodel.n);
    assert_int_equal(validate(path), 0);
    lp_buf_free(&nomodel);
    /* a malformed identity is refused rather than written */
    snprintf(r.assets[3].sha256, sizeof r.assets[3].sha256, "not-a-hash");
    assert_int_equal(report_review_json(&r, &nomodel, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "assets[3] (body-b): sha256"));
    lp_buf_free(&nomodel);

    renders_free(&a);
    renders_free(&b);
    result_free(&r);
    manifest_free(m);
}

/* Writers sort by themselves: without result_flag (which sorts in place) the bytes agree. */
static void test_unsorted_input(void **state)
{
    manifest *m = open_packet();
    result r1, r2;
    renders a, b;
    (void)state;
    build(&r1, m, 0, 0);
    build(&r2, m, 1, 0);
    render(&r1, &a);
    render(&r2, &b);
    same_bytes(&a.json, &b.json);
    same_bytes(&a.csv, &b.csv);
    same_bytes(&a.md, &b.md);
    same_bytes(&a.html, &b.html);
    renders_free(&a);
    renders_free(&b);
    result_free(&r1);
    result_free(&r2);
    manifest_free(m);
}

/* ---- variants.csv ------------------------------------------------------------------------ */

/* The CSV read back by Python's csv module, as a JSON array of rows. */
static cJSON *csv_parse(const char *path)
{
    char cmd[4096], buf[65536];
    size_t n;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import csv,json,sys; print(json.dumps(list(csv.reader("
             "open(sys.argv[1], newline=\"\", encoding=\"utf-8\")))))' '%s'",
             path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(buf, 1, sizeof buf - 1, p);
    assert_int_equal(pclose(p), 0);
    buf[n] = '\0';
    cJSON *v = cJSON_Parse(buf);
    assert_non_null(v);
    return v;
}

static void assert_row(const cJSON *rows, int i, const char *const *want)
{
    const cJSON *r = cJSON_GetArrayItem(rows, i);
    assert_int_equal(cJSON_GetArraySize(r), 15);
    for (int k = 0; k < 15; k++) {
        const char *got = cJSON_GetArrayItem(r, k)->valuestring;
        if (strcmp(got, want[k]) != 0)
            fail_msg("row %d column %d: '%s', want '%s'", i, k, got, want[k]);
    }
}

static void test_variants_csv(void **state)
{
    manifest *m = open_packet();
    result r;
    renders a;
    char path[1024];
    (void)state;
    build(&r, m, 0, 1);
    render(&r, &a);
    snprintf(path, sizeof path, "%s/variants.csv", dir);
    write_file(path, a.csv.p, a.csv.n);
    cJSON *rows = csv_parse(path);
    const char *const header[] = {"variant",
                                  "placement",
                                  "assets",
                                  "checks_pass",
                                  "checks_info",
                                  "checks_warn",
                                  "checks_fail",
                                  "checks_not_checked",
                                  "findings_pass",
                                  "findings_minor",
                                  "findings_major",
                                  "findings_blocker",
                                  "findings_not_reviewed",
                                  "worst",
                                  "needs_approval"};
    const char *const rows_want[][15] = {
        {"", "", "landing", "1", "0", "0", "0", "0", "1", "0", "0", "0", "1", "pass", "false"},
        {HOSTILE_VARIANT, "meta_feed_square", HOSTILE_ID " headline-a", "2", "0", "2", "1", "0",
         "1", "2", "1", "0", "0", "fail", "true"},
        {HOSTILE_VARIANT, "meta_reels", "clip-a", "1", "0", "0", "0", "1", "0", "0", "0", "1", "1",
         "blocker", "true"},
        {HOSTILE_VARIANT, "meta_stories", HOSTILE_ID, "1", "1", "0", "1", "1", "1", "1", "1", "0",
         "0", "fail", "true"},
        {HOSTILE_VARIANT, "tiktok_infeed", "clip-a", "1", "1", "1", "0", "0", "0", "0", "0", "1",
         "1", "blocker", "true"},
        {"B", "meta_feed_square", "body-b", "2", "0", "0", "0", "0", "1", "0", "0", "0", "0",
         "pass", "false"},
    };
    assert_int_equal(cJSON_GetArraySize(rows), 7);
    assert_row(rows, 0, header);
    for (int i = 0; i < 6; i++)
        assert_row(rows, i + 1, rows_want[i]);
    cJSON_Delete(rows);
    /* no CR: rows end in \n only */
    assert_null(memchr(a.csv.p, '\r', a.csv.n));
    renders_free(&a);
    /* a reason of the rubric's own (a minor finding it wants approved) flags the asset's rows */
    lp_error err = {0};
    assert_int_equal(result_add_reason(&r.assets[3], "finding tone: minor (the rubric asks)", &err),
                     LP_OK);
    r.assets[3].needs_approval = 1;
    render(&r, &a);
    assert_non_null(strstr(a.csv.p, "\nB,meta_feed_square,body-b,2,0,0,0,0,1,0,0,0,0,pass,true\n"));
    /* a listed not-reviewed item is a derived reason: landing stays unflagged */
    assert_non_null(strstr(a.csv.p, ",,landing,1,0,0,0,0,1,0,0,0,1,pass,false\n"));
    renders_free(&a);
    result_free(&r);
    manifest_free(m);
}

/* ---- report.html ------------------------------------------------------------------------- */

static int has_ci(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++) {
        if (strncasecmp(hay + i, needle, k) == 0)
            return 1;
    }
    return 0;
}

/* Every tag and the style sheet: no script, no remote reference, images only as data: URIs.
 * Text between tags may hold escaped URLs (they are words there, not references). */
static void assert_html_inert(const char *h, size_t n)
{
    assert_false(has_ci(h, n, "<script"));
    assert_false(has_ci(h, n, "<iframe"));
    assert_false(has_ci(h, n, "<link"));
    assert_false(has_ci(h, n, "<object"));
    assert_false(has_ci(h, n, "<embed"));
    for (size_t i = 0; i < n; i++) {
        if (h[i] != '<')
            continue;
        const char *end = memchr(h + i, '>', n - i);
        assert_non_null(end);
        size_t len = (size_t)(end - (h + i));
        assert_false(has_ci(h + i, len, "http://"));
        assert_false(has_ci(h + i, len, "https://"));
        assert_false(has_ci(h + i, len, "//"));
        assert_false(has_ci(h + i, len, " on")); /* no event handler attributes */
        for (size_t k = i; k + 5 <= i + len; k++) {
            if (strncmp(h + k, "src=\"", 5) == 0)
                assert_int_equal(strncmp(h + k + 5, "data:image/png;base64,", 22), 0);
        }
        i += len;
    }
    const char *s = strstr(h, "<style>"), *e = strstr(h, "</style>");
    assert_non_null(s);
    assert_non_null(e);
    assert_false(has_ci(s, (size_t)(e - s), "url("));
    assert_false(has_ci(s, (size_t)(e - s), "@import"));
    assert_false(has_ci(s, (size_t)(e - s), "http"));
}

/* Decodes every data URI in order (libcrypto, independent of the writer's encoder). */
static size_t data_uris(const char *h, uint8_t out[][512], size_t *lens, size_t max)
{
    size_t k = 0;
    const char *p = h;
    for (p = strstr(p, "data:image/png;base64,"); k < max && p;
         p = strstr(p, "data:image/png;base64,")) {
        p += 22;
        const char *q = strchr(p, '"');
        assert_non_null(q);
        size_t n = (size_t)(q - p), pad = 0;
        assert_true(n % 4 == 0 && n / 4 * 3 <= 512);
        int got = EVP_DecodeBlock(out[k], (const unsigned char *)p, (int)n);
        assert_true(got >= 0);
        while (pad < 2 && n > pad && p[n - 1 - pad] == '=')
            pad++;
        lens[k++] = (size_t)got - pad;
        p = q;
    }
    return k;
}

static void test_html(void **state)
{
    manifest *m = open_packet();
    result r;
    renders a;
    uint8_t dec[8][512];
    size_t lens[8];
    (void)state;
    build(&r, m, 0, 1);
    render(&r, &a);
    const char *h = a.html.p;
    assert_html_inert(h, a.html.n);
    assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;|hero"));
    assert_non_null(strstr(h, "A|&lt;b&gt;&quot;x&quot;,y"));
    assert_non_null(strstr(h, "[l](https://evil.example)")); /* as text, escaped context */
    assert_non_null(strstr(h, "caf\xc3\xa9 \xf0\x9f\x8e\x89"));
    assert_non_null(strstr(h, "remote:&lt;evil&gt;"));
    /* thumbnails: the PNG, then the video strip in order; lengths 1, 2, 3 cover padding */
    assert_int_equal(data_uris(h, dec, lens, 8), 5);
    assert_int_equal(lens[0], sizeof PNG1);
    assert_memory_equal(dec[0], PNG1, sizeof PNG1);
    const size_t want[] = {1, 2, 3, 256};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(lens[i + 1], want[i]);
        assert_memory_equal(dec[i + 1], frame_bytes, want[i]);
    }
    /* region boxes in percent, the out-of-range one clamped; time ranges as mm:ss */
    assert_non_null(strstr(h, "left:10.00%;top:20.00%;width:30.00%;height:40.00%"));
    assert_non_null(strstr(h, "left:0.00%;top:50.00%;width:100.00%;height:25.00%"));
    assert_non_null(strstr(h, "00:03.5–00:12"));
    /* frames at 4 s and 8 s fall inside 3.5-12 s and are outlined; 0 s and 16 s are not */
    assert_non_null(strstr(h, "<figure class=\"fig hit\"><img alt=\"clip-a\""));
    const char *first = strstr(h, "<figure class=\"fig\"><img alt=\"clip-a\"");
    assert_non_null(first);
    /* statuses carry words, not only colours; every label is explained */
    assert_non_null(strstr(h, "<span class=\"badge s-fail\">fail</span>"));
    assert_non_null(strstr(h, "<span class=\"badge s-not_checked\">not checked</span>"));
    assert_non_null(strstr(h, "<span class=\"badge v-blocker\">blocker</span>"));
    assert_non_null(strstr(h, "<td>Loupe default</td>"));
    assert_non_null(strstr(h, "<td>secondary source (sources disagree)</td>"));
    assert_non_null(strstr(h, "not checked: no reason given"));
    /* the approval summary comes before the assets */
    const char *na = strstr(h, "<h2>Needs approval</h2>"), *as = strstr(h, "<h2>Assets</h2>");
    assert_non_null(na);
    assert_true(na < as);
    assert_non_null(strstr(na, "3 of 5 assets need approval"));
    renders_free(&a);
    result_free(&r);
    manifest_free(m);
}

/* ---- report.md --------------------------------------------------------------------------- */

static int unescaped_pipes(const char *line, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        k += line[i] == '|';
    }
    return k;
}

static void test_markdown(void **state)
{
    manifest *m = open_packet();
    result r;
    renders a;
    (void)state;
    build(&r, m, 0, 1);
    render(&r, &a);
    const char *md = a.md.p;
    for (const char *p = strchr(md, '<'); p; p = strchr(p + 1, '<')) {
        if (strncmp(p, "<br>", 4) != 0)    /* the writer's own line break inside a cell */
            assert_int_equal(p[-1], '\\'); /* every < of packet text is escaped */
    }
    assert_non_null(strstr(md, "at the limit<br>exactly |"));
    assert_non_null(strstr(md, "\\<script\\>alert\\(1\\)\\</script\\>\\|hero"));
    assert_non_null(strstr(md, "\\*sale\\* \\_now\\_ \\`x\\` \\[l\\]"));
    assert_non_null(strstr(md, "found: cheapest\\|\\<b\\>"));
    /* every table line has exactly the 9 pipes of its 8 columns */
    int rows = 0;
    for (const char *p = md; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && p[0] == '|') {
            assert_int_equal(unescaped_pipes(p, n), 9);
            rows++;
        }
        p += n + (e != NULL);
    }
    assert_int_equal(rows, 16 + 2 * 5); /* 16 check rows, a header and a rule per table */
    assert_true(strstr(md, "## Needs approval") < strstr(md, "## Assets"));
    assert_non_null(strstr(md, "| not checked | safe\\_zone |"));
    assert_non_null(strstr(md, "no safe-zone figure for this placement"));
    assert_non_null(strstr(md, "| Loupe default |"));
    assert_non_null(strstr(md, "| secondary source (sources disagree) |"));
    assert_non_null(strstr(md, "| brand | packet.json |"));
    assert_non_null(strstr(md, "| platform | META, checked 2026-11-23 |"));
    assert_non_null(strstr(md, "- claims\\_policy: not reviewed — no model"));
    assert_non_null(strstr(md, "evidence: 00:03.5–00:12"));
    assert_non_null(strstr(md, "> Spring \\<script\\>"));
    assert_non_null(strstr(md, "\n> line two caf\xc3\xa9 \xf0\x9f\x8e\x89"));
    assert_non_null(strstr(md, "1.333 ratio (limit 0.5625 ratio)"));
    renders_free(&a);
    result_free(&r);
    manifest_free(m);
}

/* ---- files and failures -------------------------------------------------------------------- */

static void test_write_all(void **state)
{
    manifest *m = open_packet();
    result r;
    renders a;
    char out[1024], path[1200];
    const char *names[] = {"review.json", "report.md", "report.html", "variants.csv"};
    lp_error err = {0};
    (void)state;
    build(&r, m, 0, 1);
    render(&r, &a);
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(report_write_all(&r, table, out, &err), LP_OK);
    assert_int_equal(report_write_all(&r, table, out, &err), LP_OK); /* over an old set */
    const lp_buf *bufs[] = {&a.json, &a.md, &a.html, &a.csv};
    for (int i = 0; i < 4; i++) {
        size_t n;
        snprintf(path, sizeof path, "%s/%s", out, names[i]);
        char *text = read_text(path, &n);
        assert_int_equal(n, bufs[i]->n);
        assert_memory_equal(text, bufs[i]->p, n);
        lp_alloc_free(text);
    }
    /* nothing else (no temp files) is left */
    DIR *d = opendir(out);
    int entries = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 4);
    /* an output folder that cannot be made is an error naming it */
    snprintf(path, sizeof path, "%s/missing/deeper", dir);
    assert_int_equal(report_write_all(&r, table, path, &err), LP_ERR_IO);
    assert_non_null(strstr(err.msg, "missing/deeper"));
    renders_free(&a);
    result_free(&r);
    manifest_free(m);
}

static void test_writer_alloc_failures(void **state)
{
    manifest *m = open_packet();
    result r;
    lp_error err = {0};
    long live;
    int failed[4] = {0};
    (void)state;
    build(&r, m, 0, 1);
    live = lp_alloc_live();
    for (long k = 0; k < 40; k++) {
        for (int w = 0; w < 4; w++) {
            lp_buf b = {0};
            lp_err rc;
            lp_alloc_fail_after(k);
            if (w == 0)
                rc = report_review_json(&r, &b, &err);
            else if (w == 1)
                rc = report_variants_csv(&r, &b, &err);
            else if (w == 2)
                rc = report_markdown(&r, table, &b, &err);
            else
                rc = report_html(&r, table, &b, &err);
            lp_alloc_fail_after(-1);
            assert_true(rc == LP_OK || rc == LP_ERR_NOMEM);
            failed[w] += rc == LP_ERR_NOMEM;
            lp_buf_free(&b);
            assert_int_equal(lp_alloc_live(), live);
        }
    }
    for (int w = 0; w < 4; w++)
        assert_true(failed[w] > 0); /* the injection reached every writer */
    result_free(&r);
    manifest_free(m);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The largest packet a manifest allows (500 assets), 5,000 check rows, 1,000 findings and a
 * 16 KiB thumbnail each: times every writer (figures for docs/internals/report.md) and proves
 * the big file still validates and renders the same twice. */
static void test_scale(void **state)
{
    lp_buf pk = {0}, j2 = {0};
    char path[1024];
    manifest *m = NULL;
    result r;
    renders a;
    lp_error err = {0};
    (void)state;
    open_packet_free_dir();
    lp_buf_puts(&pk, "{\"packet\": \"big\", \"brand\": {\"name\": \"A\"}, \"sensitivity\": "
                     "\"public\", \"rubric\": \"default@1\", \"assets\": [");
    for (int i = 0; i < MANIFEST_ASSETS_MAX; i++)
        lp_buf_printf(&pk,
                      "%s{\"id\": \"a%03d\", \"kind\": \"image\", \"file\": \"hero.png\", "
                      "\"variant\": \"v%d\", \"placements\": [\"meta_feed_square\", "
                      "\"meta_stories\"]}",
                      i ? "," : "", i, i % 7);
    lp_buf_puts(&pk, "]}\n");
    snprintf(path, sizeof path, "%s/packet.json", dir);
    write_file(path, pk.p, pk.n);
    lp_buf_free(&pk);
    if (manifest_open(dir, table, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(result_init(&r, m, &err), LP_OK);
    snprintf(r.packet_sha256, sizeof r.packet_sha256, "%s", SHA_A);
    static const char *const ids[] = {"aspect_ratio", "resolution", "file_size", "format",
                                      "safe_zone"};
    uint8_t *thumb = lp_alloc(16384);
    assert_non_null(thumb);
    for (size_t k = 0; k < 16384; k++)
        thumb[k] = (uint8_t)(k * 31);
    for (size_t i = 0; i < r.n_assets; i++) {
        result_asset *ra = &r.assets[i];
        memset(ra->sha256, 'e', 64);
        for (int k = 0; k < 10; k++) {
            check_result c = with(row(k < 5 ? "meta_feed_square" : "meta_stories", ids[k % 5],
                                      (placements_verdict)((i + (size_t)k) % 5), "px",
                                      PLACEMENTS_LABEL_PLATFORM),
                                  1080, 1080, 1, "note");
            assert_int_equal(check_list_push(&ra->checks, &c, &err), LP_OK);
        }
        for (int k = 0; k < 2; k++) {
            result_finding f = {.item = k ? "claims" : "tone",
                                .reviewed = 1,
                                .severity = (result_severity)((i + (size_t)k) % 4),
                                .evidence = RESULT_EVIDENCE_REGION,
                                .x = 0.1,
                                .y = 0.1,
                                .w = 0.5,
                                .h = 0.5,
                                .rationale = "because",
                                .backend = "local"};
            assert_int_equal(result_add_finding(ra, &f, &err), LP_OK);
        }
        add_thumb(ra, -1, thumb, 16384);
    }
    lp_alloc_free(thumb);
    assert_int_equal(result_flag(&r, &err), LP_OK);
    double t0 = now_s();
    render(&r, &a);
    double t1 = now_s();
    assert_int_equal(report_review_json(&r, &j2, &err), LP_OK);
    double t2 = now_s();
    same_bytes(&a.json, &j2);
    snprintf(path, sizeof path, "%s/big.json", dir);
    write_file(path, a.json.p, a.json.n);
    double t3 = now_s();
    assert_int_equal(validate(path), 0);
    double t4 = now_s();
    print_message("scale: 500 assets, 5000 checks, 1000 findings: all four renders %.3f s "
                  "(review.json %.3f s); review.json %zu B, report.html %zu B, report.md %zu B, "
                  "variants.csv %zu B; python validation %.2f s\n",
                  t1 - t0, t2 - t1, a.json.n, a.html.n, a.md.n, a.csv.n, t4 - t3);
    assert_true(t1 - t0 < 10.0);
    lp_buf_free(&j2);
    renders_free(&a);
    result_free(&r);
    manifest_free(m);
}

int main(void)
{
    /* one test per line, in run order */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_basics),
        cmocka_unit_test(test_result_alloc_failures),
        cmocka_unit_test(test_review_json),
        cmocka_unit_test(test_unsorted_input),
        cmocka_unit_test(test_variants_csv),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_writer_alloc_failures),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_write_all), /* last: LOUPE_KEEP_TMP keeps its files */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
