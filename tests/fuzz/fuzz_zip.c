/* Fuzz target for zip packets: the input is a zip held in memory, vetted and extracted by
 * packet_unzip_buffer into a fresh private folder that is removed after each input. Any
 * outcome but a crash, a sanitizer report or a file written outside that folder is fine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/review/packet.h"

static char fuzz_base[256];

static void fuzz_cleanup(void)
{
    packet_remove_tree(fuzz_base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dest[512], escape[512];
    struct stat st;
    lp_error err;

    if (!fuzz_base[0]) {
        snprintf(fuzz_base, sizeof fuzz_base, "/tmp/loupe_fuzz_zip_%ld", (long)getpid());
        packet_remove_tree(fuzz_base);
        if (mkdir(fuzz_base, 0700) != 0)
            abort();
        atexit(fuzz_cleanup);
    }
    /* extraction goes two levels down, so a zip-slip of one or two ".." would land in sight */
    snprintf(dest, sizeof dest, "%s/a/b", fuzz_base);
    snprintf(escape, sizeof escape, "%s/a", fuzz_base);
    mkdir(escape, 0700);
    mkdir(dest, 0700);
    packet_unzip_buffer("fuzz.zip", data, size, dest, &err);
    packet_remove_tree(dest);
    /* anything left beside the extraction folder escaped it */
    if (rmdir(escape) != 0 || stat(fuzz_base, &st) != 0 || rmdir(fuzz_base) != 0) {
        fprintf(stderr, "fuzz_zip: an entry was written outside the extraction folder\n");
        abort();
    }
    mkdir(fuzz_base, 0700);
    return 0;
}
