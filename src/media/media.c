/* Library versions of the media layer, read at run time from the libraries themselves (the
 * headers' versions can differ from what the loader picked). */
#include "loupe/media/media.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <ebur128.h>
#include <jpeglib.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <png.h>
#include <webp/decode.h>

static void media_ver(unsigned v, unsigned *a, unsigned *b, unsigned *c)
{
    *a = v >> 16;
    *b = (v >> 8) & 255;
    *c = v & 255;
}

void media_versions(char *buf, size_t n)
{
    unsigned f[3], c[3], u[3], r[3], s[3], w = (unsigned)WebPGetDecoderVersion();
    int ea, eb, ec;
    media_ver(avformat_version(), &f[0], &f[1], &f[2]);
    media_ver(avcodec_version(), &c[0], &c[1], &c[2]);
    media_ver(avutil_version(), &u[0], &u[1], &u[2]);
    media_ver(swresample_version(), &r[0], &r[1], &r[2]);
    media_ver(swscale_version(), &s[0], &s[1], &s[2]);
    ebur128_get_version(&ea, &eb, &ec);
    snprintf(buf, n,
             "libavformat %u.%u.%u, libavcodec %u.%u.%u, libavutil %u.%u.%u, "
             "libswresample %u.%u.%u, libswscale %u.%u.%u, libebur128 %d.%d.%d, libpng %s, "
             "libjpeg %d, libwebp %u.%u.%u",
             f[0], f[1], f[2], c[0], c[1], c[2], u[0], u[1], u[2], r[0], r[1], r[2], s[0], s[1],
             s[2], ea, eb, ec, png_get_libpng_ver(NULL), JPEG_LIB_VERSION, w >> 16, (w >> 8) & 255,
             w & 255);
}
