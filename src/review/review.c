/* The review layer's version: placeholder module so the layer library exists before its
 * first real module lands; it names the packet format version reviews are written for. */
#include "loupe/review/review.h"

const char *review_packet_format(void)
{
    return "loupe.packet/1";
}
