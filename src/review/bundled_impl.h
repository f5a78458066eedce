/* The table the build generates from tools/embed.cmake (build/gen/bundled_data.c): the
 * data files compiled into the binary. Only bundled.c reads it. */
#ifndef LOUPE_REVIEW_BUNDLED_IMPL_H
#define LOUPE_REVIEW_BUNDLED_IMPL_H

#include <stddef.h>

typedef struct bundled_file {
    const char *name; /* path relative to the repository root */
    const unsigned char *data;
    size_t n;
} bundled_file;

extern const bundled_file bundled_files[];
extern const unsigned bundled_count;

#endif
