/* Prompts: the one function that turns a rubric item, the brand and an asset into a backend
 * request. Versioned (PROMPT_VERSION) and hashed, so a review names exactly what it asked.
 * Outside text (copy, file names) travels as untrusted parts, never spliced into our text. */
#ifndef LOUPE_REVIEW_PROMPT_H
#define LOUPE_REVIEW_PROMPT_H

#include <stddef.h>

#include "loupe/base/buf.h"
#include "loupe/base/err.h"
#include "loupe/review/manifest.h"
#include "loupe/review/rubric.h"
#include "loupe/route/backend.h"

/* Bumped whenever the wording or layout below changes. */
#define PROMPT_VERSION "loupe.prompt/1"
#define PROMPT_PARTS_MAX 6

/* One built request and the storage its parts point into; owned by the struct. */
typedef struct prompt {
    lp_buf system, intro, asset_text, question;
    backend_part sys_part;
    backend_part parts[PROMPT_PARTS_MAX];
    backend_message msgs[2];
    backend_request req;
} prompt;

/* Builds the request for item on asset a of packet m. sampling is copied; the request's
 * schema is the item's (borrowed from the rubric, which must outlive p). */
lp_err prompt_build(const rubric *rb, const rubric_item *item, const manifest *m,
                    const manifest_asset *a, const char *asset_sha256,
                    const backend_sampling *sampling, prompt *p, lp_error *err);
/* Accepts a zeroed prompt; leaves it zeroed. */
void prompt_free(prompt *p);

/* Appends the request's exact content (every part's text, role, field and media hash, and the
 * schema) to a running hash: the prompt set hash of a review is PROMPT_VERSION and this over
 * every request it made, in order. */
void prompt_hash_update(const prompt *p, lp_sha256 *h);

#endif
