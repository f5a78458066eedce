/* `loupe bench model`: load time, prefill and decode tokens/s (median over repeats),
 * decode GB/s (weight bytes read per token x tokens/s) as a share of the machine's
 * read bandwidth, and peak RSS, for one GGUF model with a KV cache of -c tokens. */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gemma.h"

#define BENCH_MAX_REPS 32

typedef struct bench_model_opts {
    const char *model;
    int64_t n_prompt, n_gen, threads, reps, ctx, batch;
    gemma_cache_type cache;
    int json;
} bench_model_opts;

static int bench_model_parse(int argc, char **argv, bench_model_opts *o)
{
    lp_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        lp_err rc = LP_OK;
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "loupe bench model: %s needs a value\n", a);
            return 0;
        }
        i++;
        if (!strcmp(a, "-m"))
            o->model = v;
        else if (!strcmp(a, "-p"))
            rc = lp_parse_i64(v, 1, 1 << 20, "-p", &o->n_prompt, &err);
        else if (!strcmp(a, "-n"))
            rc = lp_parse_i64(v, 1, 1 << 20, "-n", &o->n_gen, &err);
        else if (!strcmp(a, "-t"))
            rc = lp_parse_i64(v, 0, LP_THREADPOOL_MAX, "-t", &o->threads, &err);
        else if (!strcmp(a, "-r"))
            rc = lp_parse_i64(v, 1, BENCH_MAX_REPS, "-r", &o->reps, &err);
        else if (!strcmp(a, "-c"))
            rc = lp_parse_i64(v, 1, 1 << 24, "-c", &o->ctx, &err);
        else if (!strcmp(a, "--batch"))
            rc = lp_parse_i64(v, 1, 65536, "--batch", &o->batch, &err);
        else if (!strcmp(a, "--cache-type") && (!strcmp(v, "f16") || !strcmp(v, "f32")))
            o->cache = !strcmp(v, "f32") ? GEMMA_CACHE_F32 : GEMMA_CACHE_F16;
        else {
            fprintf(stderr, "loupe bench model: unknown option '%s'\n", a);
            return 0;
        }
        if (rc != LP_OK) {
            fprintf(stderr, "loupe bench model: %s\n", err.msg);
            return 0;
        }
    }
    if (!o->model) {
        fprintf(stderr, "usage: loupe bench model -m MODEL [-p 512] [-n 128] [-t THREADS] [-r 3]\n"
                        "                         [-c 8192] [--batch 512] [--cache-type f16|f32] "
                        "[--json]\n");
        return 0;
    }
    return 1;
}

/* The read bandwidth, measured in a child process so that its 1 GiB buffer does not
 * count in this process's peak RSS. Threads are started in the child, after fork. */
static double bench_model_read_gbs(int threads)
{
    double gbs = 0;
    int fd[2];
    pid_t pid;

    if (pipe(fd) != 0)
        return 0;
    pid = fork();
    if (pid == 0) {
        lp_threadpool *pool = NULL;
        double v = 0;
        close(fd[0]);
        if (lp_threadpool_open(threads, &pool, NULL) == LP_OK)
            v = bench_read_bandwidth(pool, (size_t)1 << 30, 3);
        lp_threadpool_close(pool);
        if (write(fd[1], &v, sizeof v) != (ssize_t)sizeof v)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (pid > 0 && read(fd[0], &gbs, sizeof gbs) != (ssize_t)sizeof gbs)
        gbs = 0;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return gbs;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int32_t bench_argmax(const float *l, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        best = l[i] > l[best] ? i : best;
    return (int32_t)best;
}

/* One repetition: prefill n_prompt pseudo-random ids, then n_gen greedy tokens. */
static lp_err bench_model_rep(const gemma_model *m, gemma_state *s, matmul_ctx *mc,
                              const bench_model_opts *o, float *logits, double *pre_s,
                              double *dec_s, lp_error *err)
{
    int32_t *ids = lp_alloc_array((size_t)o->n_prompt, sizeof *ids);
    double t0;
    lp_err rc = LP_OK;

    if (!ids)
        return lp_err_set(err, LP_ERR_NOMEM, "bench: out of memory");
    for (int64_t i = 0; i < o->n_prompt; i++)
        ids[i] = (int32_t)((i * 7919 + 13) % (m->cfg.n_vocab - 8) + 8);
    gemma_state_reset(s);
    t0 = lp_clock_now();
    for (int64_t done = 0; done < o->n_prompt && rc == LP_OK;) {
        uint32_t k = (uint32_t)(o->n_prompt - done < o->batch ? o->n_prompt - done : o->batch);
        rc =
            gemma_forward(m, s, mc, ids + done, k, done + k == o->n_prompt ? logits : NULL, 0, err);
        done += k;
    }
    *pre_s = lp_clock_now() - t0;
    t0 = lp_clock_now();
    for (int64_t i = 0; i < o->n_gen && rc == LP_OK; i++) {
        int32_t id = bench_argmax(logits, m->cfg.n_vocab);
        rc = gemma_forward(m, s, mc, &id, 1, logits, 0, err);
    }
    *dec_s = lp_clock_now() - t0;
    lp_alloc_free(ids);
    return rc;
}

int bench_model(int argc, char **argv)
{
    bench_model_opts o = {NULL, 512, 128, 0, 3, 8192, 512, GEMMA_CACHE_F16, 0};
    double pre[BENCH_MAX_REPS], dec[BENCH_MAX_REPS], load_s, read_gbs, pre_tps, dec_tps;
    const quant_table *qt = NULL;
    gemma_model *m = NULL;
    gemma_state *s = NULL;
    lp_threadpool *pool = NULL;
    float *logits = NULL;
    uint64_t weight_bytes = 0, kv_bytes = 0, act_bytes = 0;
    struct rusage ru;
    matmul_ctx mc;
    lp_error err;
    double t0;
    int rc = 1;

    memset(&mc, 0, sizeof mc);
    if (!bench_model_parse(argc, argv, &o))
        return 2;
    read_gbs = bench_model_read_gbs((int)o.threads);
    if (lp_threadpool_open((int)o.threads, &pool, &err) != LP_OK ||
        quant_table_default(&qt, &err) != LP_OK)
        goto out;
    t0 = lp_clock_now();
    if (gemma_open(o.model, &m, &err) != LP_OK)
        goto out;
    load_s = lp_clock_now() - t0;
    {
        gemma_state_opts so = {(uint32_t)o.ctx, (uint32_t)o.batch, o.cache};
        if ((uint64_t)o.n_prompt + (uint64_t)o.n_gen > (uint64_t)o.ctx) {
            lp_err_set(&err, LP_ERR_USAGE, "-p + -n exceed the context -c %lld", (long long)o.ctx);
            goto out;
        }
        if (gemma_state_open(m, &so, &s, &err) != LP_OK)
            goto out;
        gemma_state_plan(&m->cfg, &so, &kv_bytes, &act_bytes, &err);
    }
    for (uint64_t i = 0; i < m->file->n_tensors; i++)
        weight_bytes += m->file->tensors[i].n_bytes; /* every weight is read once per token */
    logits = lp_alloc_array(m->cfg.n_vocab, sizeof *logits);
    if (!logits) {
        lp_err_set(&err, LP_ERR_NOMEM, "bench: out of memory");
        goto out;
    }
    matmul_ctx_init(&mc, qt, pool);
    for (int r = 0; r < o.reps; r++) {
        if (bench_model_rep(m, s, &mc, &o, logits, &pre[r], &dec[r], &err) != LP_OK)
            goto out;
        pre[r] = (double)o.n_prompt / pre[r];
        dec[r] = (double)o.n_gen / dec[r];
        if (!o.json)
            fprintf(stderr, "rep %d: prefill %.2f t/s, decode %.2f t/s\n", r + 1, pre[r], dec[r]);
    }
    pre_tps = bench_median(pre, (int)o.reps);
    dec_tps = bench_median(dec, (int)o.reps);
    getrusage(RUSAGE_SELF, &ru);
    {
        double gbps = dec_tps * (double)weight_bytes / 1e9;
        uint64_t rss = (uint64_t)ru.ru_maxrss * 1024u;
        cJSON *j = cJSON_CreateObject();
        char *txt;
        if (!o.json)
            printf("model: %s (%s, %u layers, %.2f GB of weights, %.2f GB as panels), "
                   "load %.2f s\n"
                   "config: -p %lld -n %lld -t %d -c %lld --batch %lld, cache %s, isa %s, "
                   "%lld reps (median)\n"
                   "prefill: %.2f tokens/s\ndecode: %.2f tokens/s = %.2f GB/s of weights "
                   "(%.2f of the %.2f GB/s read bandwidth)\n"
                   "peak RSS: %.2f GB (KV cache %.2f GB, activations %.2f GB)\n",
                   o.model, gemma_arch_name(m->cfg.arch), m->cfg.n_layer, weight_bytes / 1e9,
                   (double)gemma_panel_bytes(m) / 1e9, load_s, (long long)o.n_prompt,
                   (long long)o.n_gen, lp_threadpool_size(pool), (long long)o.ctx,
                   (long long)o.batch, o.cache == GEMMA_CACHE_F16 ? "f16" : "f32", qt->name,
                   (long long)o.reps, pre_tps, dec_tps, gbps, gbps / read_gbs, read_gbs, rss / 1e9,
                   kv_bytes / 1e9, act_bytes / 1e9);
        cJSON_AddStringToObject(j, "bench", "model");
        cJSON_AddStringToObject(j, "model", o.model);
        cJSON_AddStringToObject(j, "isa", qt->name);
        cJSON_AddNumberToObject(j, "threads", lp_threadpool_size(pool));
        cJSON_AddNumberToObject(j, "n_prompt", (double)o.n_prompt);
        cJSON_AddNumberToObject(j, "n_gen", (double)o.n_gen);
        cJSON_AddNumberToObject(j, "ctx", (double)o.ctx);
        cJSON_AddNumberToObject(j, "load_s", load_s);
        cJSON_AddNumberToObject(j, "panel_bytes", (double)gemma_panel_bytes(m));
        cJSON_AddNumberToObject(j, "prefill_tps", pre_tps);
        cJSON_AddNumberToObject(j, "decode_tps", dec_tps);
        cJSON_AddNumberToObject(j, "decode_gbps", gbps);
        cJSON_AddNumberToObject(j, "read_gbps", read_gbs);
        cJSON_AddNumberToObject(j, "decode_ratio_of_read", gbps / read_gbs);
        cJSON_AddNumberToObject(j, "weight_bytes", (double)weight_bytes);
        cJSON_AddNumberToObject(j, "kv_bytes", (double)kv_bytes);
        cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)rss);
        txt = cJSON_PrintUnformatted(j);
        if (o.json && txt)
            printf("%s\n", txt);
        cJSON_free(txt);
        cJSON_Delete(j);
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "loupe bench model: %s\n", err.msg);
    matmul_ctx_free(&mc);
    lp_alloc_free(logits);
    gemma_state_close(s);
    gemma_close(m);
    lp_threadpool_close(pool);
    return rc;
}
