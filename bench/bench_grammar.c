/* `loupe bench grammar`: the cost of grammar-constrained decoding for one vocabulary:
 * trie build time, then the time of one token mask per decoding step while a fixed
 * answer is replayed token by token (rubric schema and free-form JSON), beside the
 * model's own decode time per token (measured from -m, or given with --decode-ms). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gemma.h"
#include "loupe/engine/grammar.h"
#include "loupe/engine/tokenizer.h"

static const char bench_grammar_schema[] =
    "{\"type\":\"object\",\"properties\":{\"severity\":{\"enum\":[\"pass\",\"minor\",\"major\","
    "\"blocker\"]},\"evidence\":{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"quote\":{"
    "\"type\":\"string\",\"maxLength\":200}},\"required\":[\"quote\"],\"additionalProperties\":"
    "false},{\"type\":\"object\",\"properties\":{\"t0\":{\"type\":\"number\"},\"t1\":{\"type\":"
    "\"number\"}},\"required\":[\"t0\",\"t1\"],\"additionalProperties\":false}]},\"rationale\":{"
    "\"type\":\"string\",\"maxLength\":400}},\"required\":[\"severity\",\"evidence\","
    "\"rationale\"],\"additionalProperties\":false}";

static const char bench_grammar_answer[] =
    "{\"severity\":\"major\",\"evidence\":{\"quote\":\"Results guaranteed in 7 days or your "
    "money back, no questions asked\"},\"rationale\":\"The claim promises an outcome the "
    "advertiser cannot substantiate; the rubric's section 3.2 forbids guarantees of results "
    "for health products, and the small print does not qualify it.\"}";

static const char bench_grammar_free[] =
    "{\"title\":\"Spring sale\",\"scores\":[0.91,0.4,12],\"ok\":true,\"notes\":{\"tone\":"
    "\"friendly and clear\",\"flags\":[]},\"n\":null}";

typedef struct bench_grammar_fig {
    size_t steps;
    double mean_ms, max_ms, total_ms;
} bench_grammar_fig;

static int bench_grammar_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Replays text's tokens through a matcher, timing each step's mask. */
static lp_err bench_grammar_replay(const tokenizer *t, const grammar_vocab *v, const char *schema,
                                   const char *text, int reps, bench_grammar_fig *fig,
                                   lp_error *err)
{
    uint32_t n_vocab = grammar_vocab_size(v);
    grammar *g = NULL;
    grammar_matcher *m = NULL;
    uint8_t *allow = lp_alloc(n_vocab);
    int32_t *ids = NULL;
    double *times = NULL;
    size_t n_ids = 0, k = 0;
    lp_err rc;

    memset(fig, 0, sizeof *fig);
    rc = allow ? grammar_compile(schema, schema ? strlen(schema) : 0, &g, err)
               : lp_err_set(err, LP_ERR_NOMEM, "bench grammar: out of memory");
    if (rc == LP_OK)
        rc = grammar_matcher_open(g, v, NULL, 0, &m, err);
    if (rc == LP_OK)
        rc = tokenizer_encode(t, text, strlen(text), 0, 0, &ids, &n_ids, err);
    if (rc == LP_OK)
        times = lp_alloc_array(n_ids * (size_t)reps + 1, sizeof *times);
    if (rc == LP_OK && !times)
        rc = lp_err_set(err, LP_ERR_NOMEM, "bench grammar: out of memory");
    for (int r = 0; rc == LP_OK && r < reps; r++) {
        grammar_matcher_reset(m);
        for (size_t i = 0; rc == LP_OK && i < n_ids; i++) {
            double t0 = lp_clock_now();
            int done;
            memset(allow, 1, n_vocab);
            grammar_matcher_mask(m, allow, n_vocab);
            times[k++] = (lp_clock_now() - t0) * 1e3;
            if (!allow[ids[i]])
                rc = lp_err_set(err, LP_ERR_INVALID, "bench grammar: token %zu masked", i);
            else
                rc = grammar_matcher_accept(m, ids[i], &done, err);
        }
    }
    if (rc == LP_OK && k > 0) {
        for (size_t i = 0; i < k; i++)
            fig->total_ms += times[i];
        qsort(times, k, sizeof *times, bench_grammar_cmp);
        fig->steps = n_ids;
        fig->mean_ms = fig->total_ms / (double)k;
        fig->max_ms = times[k - 1];
        fig->total_ms /= reps;
    }
    lp_alloc_free(times);
    lp_alloc_free(ids);
    lp_alloc_free(allow);
    grammar_matcher_close(m);
    grammar_free(g);
    return rc;
}

/* Median ms of one decode step (a single-token forward) of the model, or 0. */
static double bench_grammar_decode_ms(const char *path, int threads)
{
    const quant_table *qt;
    lp_threadpool *pool = NULL;
    gemma_model *m = NULL;
    gemma_state *s = NULL;
    gemma_state_opts so = {64, 1, GEMMA_CACHE_F16};
    matmul_ctx mc;
    float *logits = NULL;
    double t[8], ms = 0;
    int32_t id = 2;
    int got = 0;

    if (gemma_open(path, &m, NULL) != LP_OK || quant_table_default(&qt, NULL) != LP_OK ||
        lp_threadpool_open(threads, &pool, NULL) != LP_OK ||
        gemma_state_open(m, &so, &s, NULL) != LP_OK)
        goto out;
    logits = lp_alloc_array(m->cfg.n_vocab, sizeof *logits);
    matmul_ctx_init(&mc, qt, pool);
    for (int i = 0; logits && i < 9; i++) {
        double t0 = lp_clock_now();
        if (gemma_forward(m, s, &mc, &id, 1, logits, 0, NULL) != LP_OK)
            break;
        if (i > 0) /* the first step warms the caches and the map */
            t[got++] = (lp_clock_now() - t0) * 1e3;
    }
    if (got == 8) {
        qsort(t, 8, sizeof t[0], bench_grammar_cmp);
        ms = (t[3] + t[4]) / 2;
    }
    matmul_ctx_free(&mc);
out:
    lp_alloc_free(logits);
    gemma_state_close(s);
    gemma_close(m);
    lp_threadpool_close(pool);
    return ms;
}

int bench_grammar(int argc, char **argv)
{
    const char *model = NULL;
    int64_t reps = 3, threads = 0;
    double decode_ms = 0, build_s;
    int json = 0, rc = 1;
    gguf_file *f = NULL;
    tokenizer *t = NULL;
    grammar_vocab *v = NULL;
    bench_grammar_fig rub, fr;
    lp_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        lp_err prc = LP_OK;
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "loupe bench grammar: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-m"))
            model = val;
        else if (!strcmp(a, "-r"))
            prc = lp_parse_i64(val, 1, 100, "-r", &reps, &err);
        else if (!strcmp(a, "-t"))
            prc = lp_parse_i64(val, 0, LP_THREADPOOL_MAX, "-t", &threads, &err);
        else if (!strcmp(a, "--decode-ms"))
            prc = lp_parse_f64(val, 0, 1e6, "--decode-ms", &decode_ms, &err);
        else {
            fprintf(stderr, "loupe bench grammar: unknown option '%s'\n", a);
            return 2;
        }
        if (prc != LP_OK) {
            fprintf(stderr, "loupe bench grammar: %s\n", err.msg);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "usage: loupe bench grammar -m MODEL [-r 3] [-t THREADS] "
                        "[--decode-ms MS] [--json]\n");
        return 2;
    }
    if (gguf_open(model, &f, &err) != LP_OK || tokenizer_open(f, &t, &err) != LP_OK)
        goto fail;
    build_s = lp_clock_now();
    if (grammar_vocab_open(t, &v, &err) != LP_OK)
        goto fail;
    build_s = lp_clock_now() - build_s;
    if (bench_grammar_replay(t, v, bench_grammar_schema, bench_grammar_answer, (int)reps, &rub,
                             &err) != LP_OK ||
        bench_grammar_replay(t, v, NULL, bench_grammar_free, (int)reps, &fr, &err) != LP_OK)
        goto fail;
    if (decode_ms == 0)
        decode_ms = bench_grammar_decode_ms(model, (int)threads);
    printf("bench grammar: %s, %u tokens, trie built in %.1f ms, %d repeats\n", model,
           tokenizer_n_vocab(t), build_s * 1e3, (int)reps);
    printf("  rubric schema: %zu steps, mask %.3f ms/step mean, %.3f ms max\n", rub.steps,
           rub.mean_ms, rub.max_ms);
    printf("  free JSON:     %zu steps, mask %.3f ms/step mean, %.3f ms max\n", fr.steps,
           fr.mean_ms, fr.max_ms);
    if (decode_ms > 0)
        printf("  decode %.2f ms/token: masking is %.1f%% (rubric) and %.1f%% (free) of it\n",
               decode_ms, 100.0 * rub.mean_ms / decode_ms, 100.0 * fr.mean_ms / decode_ms);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        char *s;
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddNumberToObject(o, "n_vocab", tokenizer_n_vocab(t));
        cJSON_AddNumberToObject(o, "trie_build_ms", build_s * 1e3);
        cJSON_AddNumberToObject(o, "mask_ms_rubric", rub.mean_ms);
        cJSON_AddNumberToObject(o, "mask_ms_rubric_max", rub.max_ms);
        cJSON_AddNumberToObject(o, "mask_ms_free", fr.mean_ms);
        cJSON_AddNumberToObject(o, "decode_ms", decode_ms);
        s = cJSON_PrintUnformatted(o);
        if (s)
            printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    }
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "loupe bench grammar: %s\n", err.msg);
    grammar_vocab_close(v);
    tokenizer_close(t);
    gguf_close(f);
    return rc;
}
