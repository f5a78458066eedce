/* The media layer's shared facts: which decoding libraries this build runs, for the audit
 * log's "what ran" and for `loupe inspect`. Decoders live in image.h and av.h. */
#ifndef LOUPE_MEDIA_MEDIA_H
#define LOUPE_MEDIA_MEDIA_H

#include <stddef.h>

/* Writes "libavformat 59.27.100, libavcodec ..., libpng 1.6.39, ..." into buf (truncated to n). */
void media_versions(char *buf, size_t n);

#endif
