/* Unit tests of packet opening: zips built here by Python's zipfile module (independent of
 * libzip) — a good packet, one nested in a top folder, one found by its magic bytes under
 * another name — and every refusal with its message: zip-slip "../evil", an absolute name,
 * a backslash, a symlink entry (unix mode in external_attr), a bomb of zeros, duplicate names,
 * an encrypted flag, too many entries, a size that lies, no manifest, a bad manifest inside.
 * The zip's SHA-256 is checked against hashlib's, and extraction folders must be gone after
 * packet_close and after every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/review/packet.h"

static placements *table;
static char dir[512], tmpdir[600];

static const char gen_py[] =
    "import hashlib, os, sys, zipfile\n"
    "d = sys.argv[1]\n"
    "M = ('packet: spring-sale-2027\\nbrand: {name: Acme}\\nsensitivity: internal\\n'\n"
    "     'rubric: default@1\\nassets:\\n  - id: hero-a\\n    file: images/hero-a.png\\n'\n"
    "     '    kind: image\\n    placements: [meta_feed_square]\\n')\n"
    "def mk(name, entries, method=zipfile.ZIP_DEFLATED):\n"
    "    p = os.path.join(d, name)\n"
    "    with zipfile.ZipFile(p, 'w', method) as z:\n"
    "        for e in entries:\n"
    "            if isinstance(e, zipfile.ZipInfo):\n"
    "                z.writestr(e, b'/etc/passwd')\n"
    "            else:\n"
    "                z.writestr(e[0], e[1])\n"
    "    return p\n"
    "def patch(p, fn):\n"
    "    b = bytearray(open(p, 'rb').read()); fn(b); open(p, 'wb').write(bytes(b))\n"
    "good = [('packet.yaml', M), ('images/hero-a.png', b'png bytes')]\n"
    "g = mk('good.zip', good)\n"
    "open(os.path.join(d, 'good.sha256'), 'w').write(hashlib.sha256(open(g, "
    "'rb').read()).hexdigest())\n"
    "os.link(g, os.path.join(d, 'packet.bin'))\n"
    "mk('nested.zip', [('spring-sale/', b''), ('spring-sale/packet.yaml', M),\n"
    "                  ('spring-sale/images/hero-a.png', b'png'), ('__MACOSX/._x', b'junk')])\n"
    "mk('slip.zip', good + [('../evil', b'x')])\n"
    "mk('slip2.zip', good + [('images/../../evil', b'x')])\n"
    "mk('abs.zip', good + [('/etc/x', b'x')])\n"
    "mk('back.zip', good + [('images\\\\evil.png', b'x')])\n"
    "zi = zipfile.ZipInfo('images/link'); zi.create_system = 3\n"
    "zi.external_attr = (0o120777 << 16)\n"
    "mk('link.zip', good + [zi])\n"
    "b = mk('bomb.zip', good + [('zeros.bin', bytes(20 << 20))])\n"
    "zi = zipfile.ZipFile(b).getinfo('zeros.bin')\n"
    "open(os.path.join(d, 'bomb.ratio'), 'w').write('%d' % (zi.file_size // zi.compress_size))\n"
    "import warnings; warnings.simplefilter('ignore')\n"
    "mk('dup.zip', good + [('images/hero-a.png', b'again')])\n"
    "mk('dup2.zip', good + [('images/hero-a.png/', b'')])\n"
    "mk('many.zip', [('f%d' % i, b'') for i in range(2001)], zipfile.ZIP_STORED)\n"
    "mk('nomanifest.zip', [('a/x.txt', b'1'), ('b/y.txt', b'2')])\n"
    "mk('badmanifest.zip', [('packet.yaml', M.replace('internal', 'secret'))])\n"
    "e = mk('enc.zip', good)\n"
    "def enc(b):\n"
    "    i = b.find(b'PK\\x01\\x02')\n"
    "    while i >= 0:\n"
    "        b[i + 8] |= 1; i = b.find(b'PK\\x01\\x02', i + 4)\n"
    "    i = b.find(b'PK\\x03\\x04')\n"
    "    while i >= 0:\n"
    "        b[i + 6] |= 1; i = b.find(b'PK\\x03\\x04', i + 4)\n"
    "patch(e, enc)\n"
    "l = mk('lie.zip', [('packet.yaml', M), ('images/hero-a.png', b'A' * 5000)])\n"
    "def lie(b):\n"
    "    i = b.find(b'PK\\x01\\x02', b.find(b'PK\\x01\\x02') + 4)\n"
    "    b[i + 24:i + 28] = (100).to_bytes(4, 'little')\n"
    "    j = b.find(b'PK\\x03\\x04', 4)\n"
    "    b[j + 22:j + 26] = (100).to_bytes(4, 'little')\n"
    "patch(l, lie)\n"
    "open(os.path.join(d, 'text.zip'), 'w').write('not a zip')\n";

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;

    if (!d)
        return -1;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int setup(void **state)
{
    char path[1024], cmd[2048];
    const char *src = getenv("LOUPE_SOURCE_DIR"), *tmp = getenv("LOUPE_TEST_TMP");
    lp_error err = {0};
    FILE *f;

    (void)state;
    snprintf(dir, sizeof dir, "%s/packet_%ld", tmp ? tmp : "/tmp", (long)getpid());
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
    packet_remove_tree(dir);
    if (mkdir(dir, 0700) != 0 || mkdir(tmpdir, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/gen.py", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(gen_py, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", path, dir);
    if (system(cmd) != 0)
        return -1;
    /* extraction folders go here, so the test can see that none is left behind */
    setenv("TMPDIR", tmpdir, 1);
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
    packet_remove_tree(dir);
    return 0;
}

static packet *open_ok(const char *name)
{
    char path[700];
    packet *p = NULL;
    lp_error err = {0};

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (packet_open(path, table, &p, &err) != LP_OK)
        fail_msg("%s: %s", name, err.msg);
    return p;
}

/* Opens name expecting code and a message of exactly "DIR/NAME: want". */
static void refuse(const char *name, lp_err code, const char *want)
{
    char path[700], full[1500];
    packet *p = NULL;
    lp_error err = {0};
    lp_err rc;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    rc = packet_open(path, table, &p, &err);
    snprintf(full, sizeof full, "%s: %s", path, want);
    if (rc != code || strcmp(err.msg, full) != 0)
        fail_msg("%s: got %d '%s', want %d '%s'", name, rc, err.msg, code, full);
    assert_null(p);
    assert_int_equal(count_entries(tmpdir), 0);
}

static void test_good_zip(void **state)
{
    char want[LP_SHA256_HEX + 1] = {0}, path[700], hero[900];
    uint8_t *buf = NULL;
    size_t n = 0;
    struct stat st;
    lp_error err = {0};
    packet *p;

    (void)state;
    p = open_ok("good.zip");
    assert_true(p->from_zip);
    assert_string_equal(p->manifest->packet, "spring-sale-2027");
    assert_int_equal(p->manifest->n_assets, 1);
    snprintf(path, sizeof path, "%s/good.sha256", dir);
    assert_int_equal(lp_fs_read_all(path, 100, &buf, &n, &err), LP_OK);
    memcpy(want, buf, 64);
    lp_alloc_free(buf);
    assert_string_equal(p->zip_sha256, want);
    assert_int_equal(strncmp(p->extract_dir, tmpdir, strlen(tmpdir)), 0);
    assert_string_equal(p->root, p->extract_dir);
    assert_int_equal(stat(p->extract_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(hero, sizeof hero, "%s/images/hero-a.png", p->root);
    assert_int_equal(lp_fs_read_all(hero, 100, &buf, &n, &err), LP_OK);
    assert_string_equal((char *)buf, "png bytes");
    lp_alloc_free(buf);
    snprintf(path, sizeof path, "%s", p->extract_dir);
    packet_close(p);
    assert_int_not_equal(stat(path, &st), 0);

    /* found by its magic bytes, whatever its name */
    p = open_ok("packet.bin");
    assert_true(p->from_zip);
    assert_string_equal(p->zip_sha256, want);
    packet_close(p);

    /* the manifest in the single top-level folder (macOS junk beside it ignored) */
    p = open_ok("nested.zip");
    assert_non_null(strstr(p->root, "/spring-sale"));
    assert_string_equal(p->manifest->dir, p->root);
    packet_close(p);
    assert_int_equal(count_entries(tmpdir), 0);

    /* a folder goes straight to the manifest reader */
    {
        packet *f = NULL;
        char pk[700];
        snprintf(pk, sizeof pk, "%s/folder", dir);
        mkdir(pk, 0700);
        snprintf(path, sizeof path, "%s/folder/images", dir);
        mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/folder/images/hero-a.png", dir);
        fclose(fopen(path, "w"));
        snprintf(path, sizeof path, "%s/folder/packet.yaml", dir);
        FILE *y = fopen(path, "w");
        fputs("packet: folder-one\nbrand: {name: Acme}\nsensitivity: public\nrubric: default@1\n"
              "assets:\n  - {id: h, file: images/hero-a.png, kind: image, placements: "
              "[meta_feed_square]}\n",
              y);
        fclose(y);
        assert_int_equal(packet_open(pk, table, &f, &err), LP_OK);
        assert_false(f->from_zip);
        assert_null(f->zip_sha256);
        assert_null(f->extract_dir);
        assert_string_equal(f->manifest->packet, "folder-one");
        packet_close(f);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    refuse("slip.zip", LP_ERR_INVALID, "entry '../evil': '..' component (zip-slip)");
    refuse("slip2.zip", LP_ERR_INVALID, "entry 'images/../../evil': '..' component (zip-slip)");
    refuse("abs.zip", LP_ERR_INVALID, "entry '/etc/x': absolute name");
    refuse("back.zip", LP_ERR_INVALID,
           "entry 'images\\evil.png': backslash in name (a Windows path?)");
    refuse("link.zip", LP_ERR_INVALID, "entry 'images/link': symlink entry");
    {
        char path[700], want[200];
        uint8_t *ratio = NULL;
        size_t n = 0;
        lp_error err = {0};
        snprintf(path, sizeof path, "%s/bomb.ratio", dir);
        assert_int_equal(lp_fs_read_all(path, 100, &ratio, &n, &err), LP_OK);
        snprintf(want, sizeof want,
                 "entry 'zeros.bin': compression ratio %s:1 (max 200:1 above 1 MiB): a zip bomb?",
                 (char *)ratio);
        lp_alloc_free(ratio);
        refuse("bomb.zip", LP_ERR_LIMIT, want);
    }
    refuse("dup.zip", LP_ERR_INVALID, "duplicate entry names");
    refuse("dup2.zip", LP_ERR_INVALID, "entry 'images/hero-a.png': duplicate name");
    refuse("many.zip", LP_ERR_LIMIT, "2001 entries (max 2000)");
    refuse("enc.zip", LP_ERR_INVALID, "entry 'packet.yaml': encrypted entry");
    refuse("nomanifest.zip", LP_ERR_NOTFOUND,
           "no packet.yaml or packet.json at the top of the zip or in its single top-level "
           "folder");
    refuse("badmanifest.zip", LP_ERR_INVALID,
           "packet.yaml:3: sensitivity: 'secret' is not one of restricted, internal, public");
    refuse("text.zip", LP_ERR_INVALID,
           "not a zip file (no PK signature): a packet is a folder or a zip file");
}

/* Declared sizes can lie: the one check that needs the bytes counted while inflating. */
static void test_lying_size(void **state)
{
    char path[700];
    packet *p = NULL;
    lp_error err = {0};

    (void)state;
    snprintf(path, sizeof path, "%s/lie.zip", dir);
    assert_int_not_equal(packet_open(path, table, &p, &err), LP_OK);
    assert_null(p);
    {
        char want[900];
        snprintf(want, sizeof want,
                 "%s: entry 'images/hero-a.png': inflates past its declared size (a lying zip)",
                 path);
        assert_string_equal(err.msg, want);
    }
    assert_int_equal(count_entries(tmpdir), 0);
}

static void test_unzip_buffer(void **state)
{
    char path[700], dest[700];
    uint8_t *buf = NULL;
    size_t n = 0;
    lp_error err = {0};

    (void)state;
    snprintf(path, sizeof path, "%s/slip.zip", dir);
    assert_int_equal(lp_fs_read_all(path, 1u << 20, &buf, &n, &err), LP_OK);
    snprintf(dest, sizeof dest, "%s/buf", dir);
    assert_int_equal(mkdir(dest, 0700), 0);
    assert_int_equal(packet_unzip_buffer("mem.zip", buf, n, dest, &err), LP_ERR_INVALID);
    assert_string_equal(err.msg, "mem.zip: entry '../evil': '..' component (zip-slip)");
    assert_int_equal(count_entries(dest), 0); /* vetted before anything is written */
    assert_int_equal(packet_unzip_buffer("mem.zip", "PK\3\4junk", 8, dest, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "mem.zip: not a readable zip"));
    lp_alloc_free(buf);
    packet_remove_tree(dest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_zip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lying_size),
        cmocka_unit_test(test_unzip_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
