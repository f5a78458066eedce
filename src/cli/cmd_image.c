/* `loupe image-resize IN.rgb W H OW OH OUT.rgb`: raw interleaved RGB8 in, raw RGB8
 * out, through the engine's Pillow-exact BICUBIC resize. It exists so that
 * tests/ref/test_resize_vs_pil.py can compare the kernel with python3-pil. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/engine/embed_image.h"

static void cmd_image_resize_usage(FILE *f)
{
    fprintf(f, "usage: loupe image-resize IN.rgb W H OW OH OUT.rgb\n"
               "  IN.rgb and OUT.rgb are raw interleaved 8-bit RGB, row-major, no header;\n"
               "  the resize is Pillow's BICUBIC reproduced exactly (spec 3.7)\n");
}

static lp_err cmd_image_resize_do(char **argv, lp_error *err)
{
    static const char *const names[4] = {"W", "H", "OW", "OH"};
    uint64_t d[4];
    uint8_t *in = NULL, *out = NULL;
    size_t n_in = 0, want_in, want_out;
    lp_fs_atomic f = {0};
    lp_err rc;

    for (int i = 0; i < 4; i++) {
        rc = lp_parse_u64(argv[2 + i], i < 2 ? EMBED_IMAGE_MAX_SIDE : EMBED_IMAGE_MAX_OUT_SIDE,
                          names[i], &d[i], err);
        if (rc != LP_OK)
            return rc;
    }
    want_in = (size_t)d[0] * (size_t)d[1] * 3u; /* sides <= 2^16: cannot overflow */
    want_out = (size_t)d[2] * (size_t)d[3] * 3u;
    rc = lp_fs_read_all(argv[1], want_in, &in, &n_in, err);
    if (rc != LP_OK)
        return rc;
    if (n_in != want_in) {
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %zu bytes, expected %llux%llux3 = %zu", argv[1],
                        n_in, (unsigned long long)d[0], (unsigned long long)d[1], want_in);
        goto done;
    }
    out = lp_alloc(want_out);
    if (!out) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "out of memory for a %zu-byte output", want_out);
        goto done;
    }
    rc = embed_resize_rgb8(in, (uint32_t)d[0], (uint32_t)d[1], out, (uint32_t)d[2], (uint32_t)d[3],
                           err);
    if (rc != LP_OK)
        goto done;
    rc = lp_fs_atomic_open(argv[6], &f, err);
    if (rc != LP_OK)
        goto done;
    rc = lp_fs_atomic_write(&f, out, want_out, err);
    if (rc != LP_OK) {
        lp_fs_atomic_abort(&f);
        goto done;
    }
    rc = lp_fs_atomic_commit(&f, err);
done:
    lp_alloc_free(in);
    lp_alloc_free(out);
    return rc;
}

int cmd_image_resize(int argc, char **argv)
{
    lp_error err = {0};

    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_image_resize_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (argc != 7) {
        cmd_image_resize_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (cmd_image_resize_do(argv, &err) != LP_OK) {
        fprintf(stderr, "loupe image-resize: %s\n", err.msg);
        return err.code == LP_ERR_USAGE ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
    }
    return CMD_EXIT_OK;
}
