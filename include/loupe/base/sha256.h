/* SHA-256 over OpenSSL's libcrypto: the identity of every input a review names (packet,
 * assets, model, rubric, prompts) and the links of the audit log's hash chain. */
#ifndef LOUPE_BASE_SHA256_H
#define LOUPE_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

#define LP_SHA256_LEN 32
#define LP_SHA256_HEX 65 /* 64 lowercase hex digits and a NUL */

/* Incremental hashing; the context owns an EVP_MD_CTX until final or abort. */
typedef struct lp_sha256 {
    void *ctx;
} lp_sha256;

lp_err lp_sha256_init(lp_sha256 *h, lp_error *err);
void lp_sha256_update(lp_sha256 *h, const void *data, size_t n);
/* Writes the digest and releases the context. */
void lp_sha256_final(lp_sha256 *h, uint8_t out[LP_SHA256_LEN]);
/* Releases the context without a digest; accepts a context never initialised (zeroed). */
void lp_sha256_abort(lp_sha256 *h);

/* One-shot digests. */
lp_err lp_sha256_data(const void *data, size_t n, uint8_t out[LP_SHA256_LEN], lp_error *err);
/* Streams the file (never loads it whole): model files are gigabytes. */
lp_err lp_sha256_file(const char *path, uint8_t out[LP_SHA256_LEN], lp_error *err);

void lp_sha256_hex(const uint8_t d[LP_SHA256_LEN], char out[LP_SHA256_HEX]);
/* Convenience: the hex digest of a string or a file. */
lp_err lp_sha256_data_hex(const void *data, size_t n, char out[LP_SHA256_HEX], lp_error *err);
lp_err lp_sha256_file_hex(const char *path, char out[LP_SHA256_HEX], lp_error *err);

#endif
