/* SHA-256 through libcrypto's EVP interface (the one OpenSSL keeps stable), with files
 * streamed in 1 MiB reads so hashing a 7 GB model costs no memory. */
#include "loupe/base/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"

lp_err lp_sha256_init(lp_sha256 *h, lp_error *err)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    h->ctx = NULL;
    if (!c)
        return lp_err_set(err, LP_ERR_NOMEM, "sha256: out of memory");
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "sha256: libcrypto refused SHA-256");
    }
    h->ctx = c;
    return LP_OK;
}

void lp_sha256_update(lp_sha256 *h, const void *data, size_t n)
{
    if (n)
        EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, data, n);
}

void lp_sha256_final(lp_sha256 *h, uint8_t out[LP_SHA256_LEN])
{
    unsigned len = 0;
    EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, out, &len);
    lp_sha256_abort(h);
}

void lp_sha256_abort(lp_sha256 *h)
{
    if (h->ctx)
        EVP_MD_CTX_free((EVP_MD_CTX *)h->ctx);
    h->ctx = NULL;
}

lp_err lp_sha256_data(const void *data, size_t n, uint8_t out[LP_SHA256_LEN], lp_error *err)
{
    lp_sha256 h;
    lp_err rc = lp_sha256_init(&h, err);
    if (rc)
        return rc;
    lp_sha256_update(&h, data, n);
    lp_sha256_final(&h, out);
    return LP_OK;
}

lp_err lp_sha256_file(const char *path, uint8_t out[LP_SHA256_LEN], lp_error *err)
{
    enum { CHUNK = 1 << 20 };
    lp_sha256 h = {0};
    unsigned char *buf = NULL;
    lp_err rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    buf = lp_alloc(CHUNK);
    if (!buf) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory hashing", path);
        goto fail;
    }
    rc = lp_sha256_init(&h, err);
    if (rc)
        goto fail;
    for (;;) {
        size_t got = fread(buf, 1, CHUNK, f);
        lp_sha256_update(&h, buf, got);
        if (got < CHUNK)
            break;
    }
    if (ferror(f)) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: read error while hashing", path);
        goto fail;
    }
    lp_sha256_final(&h, out);
    lp_alloc_free(buf);
    fclose(f);
    return LP_OK;
fail:
    lp_sha256_abort(&h);
    lp_alloc_free(buf);
    fclose(f);
    return rc;
}

void lp_sha256_hex(const uint8_t d[LP_SHA256_LEN], char out[LP_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < LP_SHA256_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

lp_err lp_sha256_data_hex(const void *data, size_t n, char out[LP_SHA256_HEX], lp_error *err)
{
    uint8_t d[LP_SHA256_LEN];
    lp_err rc = lp_sha256_data(data, n, d, err);
    if (!rc)
        lp_sha256_hex(d, out);
    return rc;
}

lp_err lp_sha256_file_hex(const char *path, char out[LP_SHA256_HEX], lp_error *err)
{
    uint8_t d[LP_SHA256_LEN];
    lp_err rc = lp_sha256_file(path, d, err);
    if (!rc)
        lp_sha256_hex(d, out);
    return rc;
}
