/* The local backend: the engine on this machine (Gemma GGUF + optional projector), behind
 * the backend interface. Nothing it does leaves the machine. One backend serves one request
 * at a time; the review and the server serialise on it. */
#ifndef LOUPE_ROUTE_LOCAL_H
#define LOUPE_ROUTE_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/engine/gemma.h"
#include "loupe/route/backend.h"

typedef struct local_opts {
    const char *model;  /* GGUF path */
    const char *mmproj; /* projector GGUF, or NULL: media parts are refused "no projector" */
    int threads;        /* 0 = every core */
    uint32_t ctx;       /* 0 = min(model, 8192) */
    uint32_t batch;     /* 0 = 512 */
    gemma_cache_type cache;
    /* progress of long prefills (may be NULL) */
    void (*on_prefill)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} local_opts;

/* Loads the model (and projector). On success *out is owned by the caller (backend_close). */
lp_err local_open(const local_opts *o, backend **out, lp_error *err);

/* The model's own sampling defaults (general.sampling.*, else Gemma's temp 1, top-k 64,
 * top-p 0.95), for callers that have no settings of their own. */
void local_sampling_defaults(const backend *b, backend_sampling *s);
/* Borrowed: valid while b is open. */
const gemma_model *local_model(const backend *b);
/* The model file's SHA-256, hashed on first use and kept. */
lp_err local_model_sha256(backend *b, char out[LP_SHA256_HEX], lp_error *err);
/* The projector's SHA-256; empty string when none was loaded. */
lp_err local_mmproj_sha256(backend *b, char out[LP_SHA256_HEX], lp_error *err);
int local_has_projector(const backend *b);
/* "q4_0"-style name of the weight type most of the model's bytes use. */
const char *local_model_type(const backend *b);
/* The ISA and thread count in use, for timings ("avx2, 2 threads"). */
void local_describe(const backend *b, char *buf, size_t n);

#endif
