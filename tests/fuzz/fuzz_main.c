/* Plain main for fuzz targets: replays every file of a corpus directory through
 * LLVMFuzzerTestOneInput, so CI runs the corpus under ASan/UBSan without libFuzzer.
 * A crash or sanitizer report aborts the run; an empty corpus is a failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int n_files = 0;

    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        struct dirent *e;

        if (!d) {
            fprintf(stderr, "fuzz replay: cannot open corpus %s\n", argv[a]);
            return 1;
        }
        for (e = readdir(d); e; e = readdir(d)) {
            char path[4096];
            uint8_t *buf = NULL;
            size_t n = 0;
            lp_error err;

            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
            if (lp_fs_read_all(path, 64u << 20, &buf, &n, &err) != LP_OK) {
                fprintf(stderr, "fuzz replay: %s\n", err.msg);
                closedir(d);
                return 1;
            }
            LLVMFuzzerTestOneInput(buf, n);
            lp_alloc_free(buf);
            n_files++;
        }
        closedir(d);
    }
    if (n_files == 0) {
        fprintf(stderr, "fuzz replay: no corpus files\n");
        return 1;
    }
    printf("fuzz replay: %d inputs, no crash\n", n_files);
    return 0;
}
