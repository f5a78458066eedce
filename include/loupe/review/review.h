/* The review layer's shared facts: versions of the formats it reads and writes.
 * Everything that knows about ads lives in this layer; the engine knows nothing of them. */
#ifndef LOUPE_REVIEW_REVIEW_H
#define LOUPE_REVIEW_REVIEW_H

/* "loupe.packet/1": the packet manifest format this build reads. */
const char *review_packet_format(void);

#endif
