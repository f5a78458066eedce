/* Fuzz target for the packet manifest: the input becomes packet.yaml in a scratch
 * packet folder (with a brand file and an asset beside it, so references can resolve)
 * and goes through manifest_open. Any outcome but a crash or sanitizer report is fine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/base/fs.h"
#include "loupe/review/manifest.h"
#include "loupe/review/placements.h"

#ifndef LOUPE_SOURCE_DIR
#define LOUPE_SOURCE_DIR "."
#endif

static placements *fuzz_table;
static char fuzz_dir[256];

static int fuzz_put(const char *name, const void *data, size_t n)
{
    char path[512];
    lp_fs_atomic f;

    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    if (lp_fs_atomic_open(path, &f, NULL) != LP_OK)
        return -1;
    if (lp_fs_atomic_write(&f, data, n, NULL) != LP_OK) {
        lp_fs_atomic_abort(&f);
        return -1;
    }
    return lp_fs_atomic_commit(&f, NULL) == LP_OK ? 0 : -1;
}

static void fuzz_cleanup(void)
{
    static const char *const files[] = {"packet.yaml",       "brand.yaml", "logo.png",
                                        "images/hero-a.png", "images",     ""};
    char path[512];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, files[i]);
        if (remove(path) != 0 && files[i][0] == '\0')
            break;
    }
    placements_close(fuzz_table);
}

/* Once per process: the placement table and a packet folder with its side files. */
static int fuzz_init(void)
{
    static const char brand[] = "name: Acme\navoid_words: [cheapest]\n"
                                "required_disclaimers: [\"Terms apply.\"]\nlogo: logo.png\n";
    char img[512];

    if (fuzz_table)
        return 0;
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/loupe_fuzz_manifest_%ld", (long)getpid());
    mkdir(fuzz_dir, 0755);
    atexit(fuzz_cleanup);
    snprintf(img, sizeof img, "%s/images", fuzz_dir);
    mkdir(img, 0755);
    if (fuzz_put("brand.yaml", brand, sizeof brand - 1) || fuzz_put("logo.png", "x", 1) ||
        fuzz_put("images/hero-a.png", "x", 1))
        return -1;
    return placements_open(LOUPE_SOURCE_DIR "/data/placements/placements-1.json", &fuzz_table,
                           NULL) == LP_OK
               ? 0
               : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    manifest *m = NULL;
    lp_error err;

    if (fuzz_init() != 0) {
        fprintf(stderr, "fuzz_manifest: cannot set up the scratch packet or placements\n");
        abort();
    }
    if (fuzz_put("packet.yaml", data, size) != 0)
        return 0;
    if (manifest_open(fuzz_dir, fuzz_table, &m, &err) == LP_OK)
        manifest_free(m);
    return 0;
}
