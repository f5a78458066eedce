/* Text contrast measured inside a model-detected text box: the WCAG 2 contrast ratio between
 * the box's dark and light ends, the number the contrast rule (4.5:1, 3:1 large) compares. */
#include <math.h>
#include <stddef.h>

#include "loupe/review/mediacheck.h"

/* WCAG relative luminance of one sRGB byte value, linearised. */
static double contrast_lin(uint8_t v)
{
    double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* Contrast of one box: text and background are read as the box's dark and light ends (the
 * 5th and 95th luminance percentiles), a fair reading when the box hugs the text, which is
 * what the regions item asks the model for. */
double mediacheck_box_contrast(const media_image *img, const mediacheck_box *b)
{
    enum { BINS = 1024 };
    static double lut[256];
    static int lut_ready;
    size_t hist[BINS] = {0}, total = 0;
    int x0 = (int)floor(b->x * img->w), y0 = (int)floor(b->y * img->h);
    int x1 = (int)ceil((b->x + b->w) * img->w), y1 = (int)ceil((b->y + b->h) * img->h);

    if (!lut_ready) {
        for (int i = 0; i < 256; i++)
            lut[i] = contrast_lin((uint8_t)i);
        lut_ready = 1;
    }
    x1 = x1 > img->w ? img->w : x1;
    y1 = y1 > img->h ? img->h : y1;
    for (int y = y0 < 0 ? 0 : y0; y < y1; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1; x++) {
            const uint8_t *p = img->rgb + ((size_t)y * img->w + x) * 3;
            double l = 0.2126 * lut[p[0]] + 0.7152 * lut[p[1]] + 0.0722 * lut[p[2]];
            int bin = (int)(l * (BINS - 1) + 0.5);
            hist[bin]++;
            total++;
        }
    if (total == 0)
        return 0;
    size_t lo_at = total / 20, hi_at = total - 1 - total / 20, seen = 0;
    double lo = -1, hi = 0;
    for (int i = 0; i < BINS; i++) {
        if (lo < 0 && seen + hist[i] > lo_at)
            lo = (double)i / (BINS - 1);
        if (seen + hist[i] > hi_at) {
            hi = (double)i / (BINS - 1);
            break;
        }
        seen += hist[i];
    }
    return (hi + 0.05) / (lo + 0.05);
}
