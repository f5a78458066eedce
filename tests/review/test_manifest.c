/* Unit tests of the packet manifest: a valid packet written into a temp folder (YAML with a
 * brand.yaml, JSON with an inline brand), then each refusal with its message: unknown
 * placement listing the known ids, missing file, "..", absolute path, symlink out, bad values,
 * duplicates, caps, .zip; and allocation failures at every step without leaks. */
#define _XOPEN_SOURCE 700 /* nftw, for removing the temp packets */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/review/manifest.h"

static placements *table;
static char dir[512];
static int serial;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void write_file(const char *rel, const char *text)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* A fresh packet folder holding the assets the manifests below name. */
static void fresh_packet(void)
{
    char path[1024];
    const char *tmp = getenv("LOUPE_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/manifest_%ld_%d", tmp ? tmp : "/tmp", (long)getpid(), serial++);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/images", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file("images/hero-a.png", "not really a png");
    write_file("logo.png", "logo");
    write_file("body.txt", "Copy from a file. Terms apply.");
    write_file("brand.yaml", "name: Acme\nvoice: \"Warm, plain-spoken, never pushy.\"\n"
                             "avoid_words: [cheapest, guaranteed, miracle]\n"
                             "required_disclaimers: [\"Terms apply.\"]\n"
                             "colours: [\"#1A73E8\", \"#FFFFFF\"]\nlogo: logo.png\n");
}

static void remove_packet(void)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

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

static const char *const VALID = "# packet.yaml\n"
                                 "packet: spring-sale-2027\n"
                                 "brand: brand.yaml\n"
                                 "sensitivity: restricted\n"
                                 "rubric: default@1\n"
                                 "assets:\n"
                                 "  - id: hero-a\n"
                                 "    file: images/hero-a.png\n"
                                 "    kind: image\n"
                                 "    placements: [meta_feed_square, meta_stories]\n"
                                 "    variant: A\n"
                                 "  - id: headline-a\n"
                                 "    text: \"Spring Sale: 40% off everything\"\n"
                                 "    kind: copy\n"
                                 "    field: headline\n"
                                 "    placements: [meta_feed_square]\n"
                                 "    variant: A\n";

static void test_valid_yaml_packet(void **state)
{
    manifest *m = NULL;
    lp_error err = {0};
    long live = lp_alloc_live();
    (void)state;
    fresh_packet();
    write_file("packet.yaml", VALID);
    if (manifest_open(dir, table, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(m->file, "packet.yaml");
    assert_string_equal(m->packet, "spring-sale-2027");
    assert_int_equal(m->sensitivity, MANIFEST_SENSITIVITY_RESTRICTED);
    assert_string_equal(m->rubric, "default@1");
    assert_string_equal(m->brand.file, "brand.yaml");
    assert_string_equal(m->brand.name, "Acme");
    assert_int_equal(m->brand.n_avoid_words, 3);
    assert_string_equal(m->brand.avoid_words[2], "miracle");
    assert_string_equal(m->brand.disclaimers[0], "Terms apply.");
    assert_int_equal(m->brand.n_colours, 2);
    assert_non_null(strstr(m->brand.logo_path, "/logo.png"));
    assert_int_equal(m->n_assets, 2);
    assert_int_equal(m->assets[0].kind, PLACEMENTS_KIND_IMAGE);
    assert_int_equal(m->assets[0].n_placements, 2);
    assert_string_equal(m->assets[0].placements[1], "meta_stories");
    assert_int_equal(strncmp(m->assets[0].path, m->dir, strlen(m->dir)), 0);
    assert_int_equal(m->assets[0].line, 7);
    assert_string_equal(m->assets[1].text, "Spring Sale: 40% off everything");
    assert_string_equal(m->assets[1].field, "headline");
    assert_string_equal(manifest_find_asset(m, "headline-a")->variant, "A");
    manifest_free(m);
    remove_packet();
    assert_int_equal(lp_alloc_live(), live);
}

static void test_valid_json_packet_inline_brand(void **state)
{
    manifest *m = NULL;
    lp_error err = {0};
    (void)state;
    fresh_packet();
    write_file("packet.json",
               "{\n \"packet\": \"p1\",\n \"brand\": {\"name\": \"Acme\", \"avoid_words\": "
               "[\"cheapest\"]},\n \"sensitivity\": \"public\",\n \"rubric\": \"default@1\",\n"
               " \"assets\": [\n  {\"id\": \"t1\", \"kind\": \"copy\", \"field\": \"post_text\","
               " \"text\": \"Hi \\ud83d\\ude00\", \"placements\": [\"x_feed\"]},\n"
               "  {\"id\": \"t2\", \"kind\": \"copy\", \"field\": \"post_text\", \"file\": "
               "\"body.txt\", \"placements\": [\"x_feed\"]},\n"
               "  {\"id\": \"lp\", \"kind\": \"page\", \"file\": \"logo.png\"}\n ]\n}\n");
    if (manifest_open(dir, table, &m, &err) != LP_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(m->file, "packet.json");
    assert_null(m->brand.file);
    assert_string_equal(m->assets[0].text, "Hi \xf0\x9f\x98\x80");
    assert_string_equal(m->assets[1].text, "Copy from a file. Terms apply.");
    assert_int_equal(m->assets[2].kind, PLACEMENTS_KIND_PAGE);
    assert_int_equal(m->assets[2].n_placements, 0);
    assert_null(m->assets[0].variant);
    manifest_free(m);
    /* a JSON error gives the line */
    write_file("packet.json", "{\n \"packet\": \"p1\",\n \"brand\": ,\n}\n");
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "packet.json:3: not valid JSON"));
    remove_packet();
}

/* VALID with the text `from` replaced by `to`; returns manifest_open's code. */
static lp_err open_edited(const char *from, const char *to, lp_error *err)
{
    char text[8192];
    const char *at = strstr(VALID, from);
    manifest *m = NULL;
    lp_err rc;
    if (!at)
        fail_msg("'%s' not in the template", from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - VALID), VALID, to, at + strlen(from));
    fresh_packet();
    write_file("packet.yaml", text);
    rc = manifest_open(dir, table, &m, err);
    assert_true(rc == LP_OK ? m != NULL : m == NULL);
    manifest_free(m);
    remove_packet();
    return rc;
}

#define EXPECT(from, to, code, text)                                                               \
    do {                                                                                           \
        lp_error e_ = {0};                                                                         \
        assert_int_equal(open_edited(from, to, &e_), code);                                        \
        if (!strstr(e_.msg, text))                                                                 \
            fail_msg("message '%s' lacks '%s'", e_.msg, text);                                     \
    } while (0)

static void test_refusals_name_line_and_field(void **state)
{
    long live = lp_alloc_live();
    (void)state;
    EXPECT("meta_stories]", "meta_storys]", LP_ERR_INVALID,
           "packet.yaml:10: assets[0].placements[1]: unknown placement 'meta_storys' (known: "
           "meta_feed_square, meta_feed_portrait, meta_stories, meta_reels");
    EXPECT("meta_stories]", "meta_stories]", LP_OK, "");
    EXPECT("images/hero-a.png", "images/nope.png", LP_ERR_NOTFOUND,
           "packet.yaml:8: assets[0].file: file 'images/nope.png' not found in the packet");
    EXPECT("images/hero-a.png", "images/../../x.png", LP_ERR_INVALID,
           "assets[0].file: 'images/../../x.png' leaves the packet");
    EXPECT("images/hero-a.png", "/etc/passwd", LP_ERR_INVALID,
           "packet.yaml:8: assets[0].file: absolute path '/etc/passwd' refused");
    EXPECT("restricted", "secret", LP_ERR_INVALID,
           "packet.yaml:4: sensitivity: 'secret' is not one of restricted, internal, public");
    EXPECT("id: headline-a", "id: hero-a", LP_ERR_INVALID,
           "packet.yaml:12: assets[1].id: duplicate asset id 'hero-a' (first at line 7)");
    EXPECT("kind: image", "kind: banner", LP_ERR_INVALID,
           "packet.yaml:9: assets[0].kind: unknown kind 'banner' (known: image, video, audio, "
           "copy, page)");
    EXPECT("    text: \"Spring Sale: 40% off everything\"\n", "", LP_ERR_INVALID,
           "assets[1].text: missing: a copy asset needs text");
    EXPECT("    field: headline\n", "", LP_ERR_INVALID,
           "assets[1].field: missing: a copy asset names its field");
    EXPECT("field: headline", "field: headlin", LP_ERR_INVALID,
           "packet.yaml:15: assets[1].field: unknown field 'headlin' (known: primary_text, "
           "headline");
    EXPECT("    variant: A\n  - id: headline-a", "    placement: [x_feed]\n  - id: headline-a",
           LP_ERR_INVALID, "packet.yaml:11: assets[0]: unknown key 'placement'");
    EXPECT("rubric: default@1", "rubric: default", LP_ERR_INVALID,
           "packet.yaml:5: rubric: 'default' is not name@version");
    EXPECT("packet: spring-sale-2027", "packet: [a, b]", LP_ERR_INVALID,
           "packet.yaml:2: packet: must be a string, not a list");
    EXPECT("sensitivity: restricted\n", "", LP_ERR_INVALID, "packet.yaml:2: sensitivity: missing");
    EXPECT("kind: image", "kind: image\n    text: hi", LP_ERR_INVALID,
           "assets[0].text: only a copy asset has text");
    EXPECT("kind: image", "kind: image\n    kind: video", LP_ERR_INVALID,
           "packet.yaml:10: assets[0]: duplicate key 'kind'");
    EXPECT("brand: brand.yaml", "brand: ../brand.yaml", LP_ERR_INVALID, "brand: '../brand.yaml'");
    EXPECT("brand: brand.yaml", "brand: {voice: x}", LP_ERR_INVALID,
           "packet.yaml:3: brand.name: missing");
    EXPECT("brand: brand.yaml", "brand: {name: A, colours: [blue]}", LP_ERR_INVALID,
           "brand.colours[0]: 'blue' is not a #RRGGBB colour");
    EXPECT("assets:", "assets: [\n", LP_ERR_INVALID, "packet.yaml:");
    EXPECT("id: hero-a\n    file: images/hero-a.png\n    kind: image",
           "id: page-a\n    file: images/hero-a.png\n    kind: page", LP_ERR_INVALID,
           "assets[0].placements: a page takes no placement");
    assert_int_equal(lp_alloc_live(), live);
}

static void test_brand_file_errors_name_brand_yaml(void **state)
{
    manifest *m = NULL;
    lp_error err = {0};
    (void)state;
    fresh_packet();
    write_file("packet.yaml", VALID);
    write_file("brand.yaml", "name: Acme\navoid_words: cheapest\n");
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_ERR_INVALID);
    assert_string_equal(err.msg, "brand.yaml:2: avoid_words: must be a list ([a, b])");
    remove_packet();
}

static void test_symlink_escape(void **state)
{
    char target[1024], link[1024];
    manifest *m = NULL;
    lp_error err = {0};
    (void)state;
    fresh_packet();
    snprintf(target, sizeof target, "%s.outside", dir);
    write_file("packet.yaml", VALID);
    {
        FILE *f = fopen(target, "w");
        assert_non_null(f);
        fputs("secret", f);
        fclose(f);
    }
    snprintf(link, sizeof link, "%s/images/hero-a.png", dir);
    unlink(link);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_ERR_INVALID);
    assert_non_null(
        strstr(err.msg, "packet.yaml:8: assets[0].file: 'images/hero-a.png' resolves outside"));
    /* a symlink that stays inside is fine */
    unlink(link);
    assert_int_equal(symlink("../logo.png", link), 0);
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_OK);
    manifest_free(m);
    unlink(target);
    remove_packet();
}

static void test_caps_and_zip(void **state)
{
    size_t cap = 600 * 80 + 512;
    char *text = lp_alloc(cap), name[1024];
    size_t len = 0;
    manifest *m = NULL;
    lp_error err = {0};
    FILE *f;
    (void)state;
    len += (size_t)snprintf(text, cap,
                            "packet: p\nbrand: brand.yaml\nsensitivity: internal\n"
                            "rubric: default@1\nassets:\n");
    for (int i = 0; i < 501; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "  - {id: a%d, kind: copy, field: headline, text: x, "
                                "placements: [x_feed]}\n",
                                i);
    fresh_packet();
    write_file("packet.yaml", text);
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_ERR_LIMIT);
    assert_non_null(
        strstr(err.msg, "packet.yaml:6: assets: 501 assets, more than the limit of 500"));
    lp_alloc_free(text);
    remove_packet();
    EXPECT("[meta_feed_square]",
           "[x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, "
           "x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, "
           "x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, x_feed, "
           "x_feed, x_feed, x_feed]",
           LP_ERR_LIMIT, "assets[1].placements: 33 items, more than the limit of 32");
    EXPECT("[meta_feed_square]", "[x_feed, x_feed]", LP_ERR_INVALID, "'x_feed' is listed twice");
    EXPECT("id: hero-a", "id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
           LP_ERR_LIMIT, "assets[0].id: 65 bytes, more than the limit of 64");
    /* manifest bytes */
    fresh_packet();
    snprintf(name, sizeof name, "%s/packet.yaml", dir);
    f = fopen(name, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < MANIFEST_FILE_MAX / 8 + 1; i++)
        fputs("# pad..\n", f);
    fclose(f);
    assert_int_equal(manifest_open(dir, table, &m, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "packet.yaml"));
    /* .zip and a missing manifest */
    snprintf(name, sizeof name, "%s/p.zip", dir);
    f = fopen(name, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(manifest_open(name, table, &m, &err), LP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, ".zip packets are not supported yet"));
    snprintf(name, sizeof name, "%s/images", dir);
    assert_int_equal(manifest_open(name, table, &m, &err), LP_ERR_NOTFOUND);
    remove_packet();
}

static void test_allocation_failures_do_not_leak(void **state)
{
    long live = lp_alloc_live();
    lp_err rc = LP_ERR_NOMEM;
    (void)state;
    fresh_packet();
    write_file("packet.yaml", VALID);
    for (long k = 0; k < 1000 && rc != LP_OK; k++) {
        manifest *m = NULL;
        lp_error err = {0};
        lp_alloc_fail_after(k);
        rc = manifest_open(dir, table, &m, &err);
        lp_alloc_fail_after(-1);
        assert_true(rc == LP_OK || rc == LP_ERR_NOMEM);
        assert_true(rc == LP_OK ? m != NULL : m == NULL);
        manifest_free(m);
        assert_int_equal(lp_alloc_live(), live);
    }
    assert_int_equal(rc, LP_OK);
    remove_packet();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_yaml_packet),
        cmocka_unit_test(test_valid_json_packet_inline_brand),
        cmocka_unit_test(test_refusals_name_line_and_field),
        cmocka_unit_test(test_brand_file_errors_name_brand_yaml),
        cmocka_unit_test(test_symlink_escape),
        cmocka_unit_test(test_caps_and_zip),
        cmocka_unit_test(test_allocation_failures_do_not_leak),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
