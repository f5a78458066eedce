/* `loupe logits`: runs token ids through a model and writes the logits of every
 * position (raw little-endian f32, n_tok x n_vocab) or prints the top ids. This is
 * what the tests compare against the NumPy reference. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gemma.h"

#define CMD_LOGITS_MAX_TOKENS 65536

typedef struct cmd_logits_opts {
    const char *model, *tokens, *out;
    int64_t threads, batch, ctx;
    gemma_cache_type cache;
} cmd_logits_opts;

static void cmd_logits_usage(FILE *f)
{
    fprintf(f, "usage: loupe logits -m MODEL --ids ID,ID,... [-o OUT.f32] [-t THREADS]\n"
               "                    [--batch N] [-c CTX] [--cache-type f32|f16]\n");
}

static lp_err cmd_logits_tokens(const char *list, int32_t **out, uint32_t *n, lp_error *err)
{
    int32_t *ids = lp_alloc_array(CMD_LOGITS_MAX_TOKENS, sizeof *ids);
    char num[32];
    const char *p = list;

    *out = NULL;
    *n = 0;
    if (!ids)
        return lp_err_set(err, LP_ERR_NOMEM, "--tokens: out of memory");
    while (*p) {
        size_t len = strcspn(p, ",");
        int64_t v;
        if (len == 0 || len >= sizeof num || *n >= CMD_LOGITS_MAX_TOKENS) {
            lp_alloc_free(ids);
            return lp_err_set(err, LP_ERR_USAGE, "--tokens: bad list near '%.20s'", p);
        }
        memcpy(num, p, len);
        num[len] = '\0';
        if (lp_parse_i64(num, 0, INT32_MAX, "--tokens", &v, err) != LP_OK) {
            lp_alloc_free(ids);
            return LP_ERR_USAGE;
        }
        ids[(*n)++] = (int32_t)v;
        p += len + (p[len] == ',');
    }
    if (*n == 0) {
        lp_alloc_free(ids);
        return lp_err_set(err, LP_ERR_USAGE, "--tokens: empty list");
    }
    *out = ids;
    return LP_OK;
}

static int cmd_logits_parse(int argc, char **argv, cmd_logits_opts *o, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        lp_err rc = LP_OK;
        if (!v) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", a);
            return 0;
        }
        i++;
        if (!strcmp(a, "-m"))
            o->model = v;
        else if (!strcmp(a, "--tokens") || !strcmp(a, "--ids"))
            o->tokens = v;
        else if (!strcmp(a, "-o"))
            o->out = v;
        else if (!strcmp(a, "-t"))
            rc = lp_parse_i64(v, 0, LP_THREADPOOL_MAX, "-t", &o->threads, err);
        else if (!strcmp(a, "--batch"))
            rc = lp_parse_i64(v, 1, 65536, "--batch", &o->batch, err);
        else if (!strcmp(a, "-c"))
            rc = lp_parse_i64(v, 1, 1 << 24, "-c", &o->ctx, err);
        else if (!strcmp(a, "--cache-type") && (!strcmp(v, "f32") || !strcmp(v, "f16")))
            o->cache = !strcmp(v, "f16") ? GEMMA_CACHE_F16 : GEMMA_CACHE_F32;
        else {
            lp_err_set(err, LP_ERR_USAGE, "unknown option '%s %s'", a, v);
            return 0;
        }
        if (rc != LP_OK)
            return 0;
    }
    if (!o->model || !o->tokens) {
        lp_err_set(err, LP_ERR_USAGE, "-m and --ids are required");
        return 0;
    }
    return 1;
}

int cmd_logits(int argc, char **argv)
{
    cmd_logits_opts o = {NULL, NULL, NULL, 0, 512, 0, GEMMA_CACHE_F32};
    const quant_table *qt = NULL;
    gemma_model *m = NULL;
    gemma_state *s = NULL;
    lp_threadpool *pool = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    uint32_t n = 0, V;
    matmul_ctx mc;
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&mc, 0, sizeof mc);
    if (!cmd_logits_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "loupe logits: %s\n", err.msg);
        cmd_logits_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (cmd_logits_tokens(o.tokens, &ids, &n, &err) != LP_OK) {
        fprintf(stderr, "loupe logits: %s\n", err.msg);
        return CMD_EXIT_USAGE;
    }
    if (gemma_open(o.model, &m, &err) != LP_OK || quant_table_default(&qt, &err) != LP_OK ||
        lp_threadpool_open((int)o.threads, &pool, &err) != LP_OK)
        goto out;
    {
        uint32_t ctx = o.ctx ? (uint32_t)o.ctx : n;
        gemma_state_opts so = {ctx, (uint32_t)o.batch, o.cache};
        if (gemma_state_open(m, &so, &s, &err) != LP_OK)
            goto out;
    }
    V = m->cfg.n_vocab;
    logits = lp_alloc_array((size_t)n * V, sizeof *logits);
    if (!logits) {
        lp_err_set(&err, LP_ERR_NOMEM, "logits: cannot allocate %u x %u floats", n, V);
        goto out;
    }
    matmul_ctx_init(&mc, qt, pool);
    for (uint32_t done = 0; done < n;) {
        uint32_t step = n - done < (uint32_t)o.batch ? n - done : (uint32_t)o.batch;
        if (gemma_forward(m, s, &mc, ids + done, step, logits + (size_t)done * V, 1, &err) != LP_OK)
            goto out;
        done += step;
    }
    if (o.out) {
        lp_fs_atomic f;
        if (lp_fs_atomic_open(o.out, &f, &err) != LP_OK)
            goto out;
        if (lp_fs_atomic_write(&f, logits, (size_t)n * V * sizeof *logits, &err) != LP_OK ||
            lp_fs_atomic_commit(&f, &err) != LP_OK) {
            lp_fs_atomic_abort(&f);
            goto out;
        }
    } else {
        for (uint32_t t = 0; t < n; t++) {
            const float *l = logits + (size_t)t * V;
            uint32_t best = 0;
            for (uint32_t i = 1; i < V; i++)
                best = l[i] > l[best] ? i : best;
            printf("%u\t%d\t%u\t%.6f\n", t, ids[t], best, (double)l[best]);
        }
    }
    rc = CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe logits: %s\n", err.msg);
    matmul_ctx_free(&mc);
    lp_alloc_free(logits);
    lp_alloc_free(ids);
    gemma_state_close(s);
    gemma_close(m);
    lp_threadpool_close(pool);
    return rc;
}
