/* `loupe bench kernels`: the machine's read bandwidth (a STREAM-style sum over a
 * buffer far larger than the caches), then for each weight type and ISA the GB/s
 * of weights streamed by matrix × vector and the GFLOP/s of matrix × matrix. */
#include "bench.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/parse.h"
#include "loupe/base/rng.h"
#include "loupe/engine/matmul.h"

#define BENCH_N_IN 4096
#define BENCH_MM_OUT 2048
#define BENCH_MM_TOK 64
#define BENCH_SEED_ROWS 64
#define BENCH_READ_CHUNK (1u << 20)

static const tensor_type bench_types[] = {
    TENSOR_TYPE_F32,  TENSOR_TYPE_F16,  TENSOR_TYPE_BF16, TENSOR_TYPE_Q8_0,
    TENSOR_TYPE_Q4_0, TENSOR_TYPE_Q4_1, TENSOR_TYPE_Q5_0, TENSOR_TYPE_Q5_1,
    TENSOR_TYPE_Q4_K, TENSOR_TYPE_Q5_K, TENSOR_TYPE_Q6_K,
};

typedef struct bench_opts {
    int threads;
    int repeats;
    int json;
    size_t mb;
    int only_isa;  /* -1: every ISA the CPU runs */
    int only_type; /* -1: every type */
} bench_opts;

typedef struct bench_read_job {
    const uint64_t *buf;
    size_t n_words_per_chunk;
    uint64_t sums[LP_THREADPOOL_MAX];
} bench_read_job;

static void bench_read_item(void *ctx, int64_t item, int thread)
{
    bench_read_job *j = ctx;
    const uint64_t *p = j->buf + (size_t)item * j->n_words_per_chunk;
    uint64_t a = 0, b = 0, c = 0, d = 0;

    for (size_t i = 0; i < j->n_words_per_chunk; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    j->sums[thread] += a + b + c + d;
}

double bench_read_bandwidth(lp_threadpool *pool, size_t bytes, int repeats)
{
    bench_read_job job;
    uint64_t *buf = lp_alloc_aligned(64, bytes);
    double best = 0;

    if (!buf)
        return 0;
    memset(buf, 1, bytes); /* touch every page so the timing sees no page faults */
    memset(&job, 0, sizeof job);
    job.buf = buf;
    job.n_words_per_chunk = BENCH_READ_CHUNK / sizeof(uint64_t);
    for (int r = 0; r < repeats; r++) {
        double t0 = lp_clock_now(), dt;
        lp_threadpool_run(pool, (int64_t)(bytes / BENCH_READ_CHUNK), bench_read_item, &job);
        dt = lp_clock_now() - t0;
        if (bytes / dt / 1e9 > best)
            best = (double)bytes / dt / 1e9;
    }
    lp_alloc_free(buf);
    /* keeps the sums observable so the reads cannot be optimised away */
    return job.sums[0] == 42 ? best + 1e-12 : best;
}

/* Weights of n_out rows: BENCH_SEED_ROWS random rows quantized once, then repeated. */
static uint8_t *bench_weights(tensor_type t, int64_t n_out, const quant_table *ref, size_t *bytes)
{
    uint64_t row_bytes = 0;
    float *row = lp_alloc_array(BENCH_N_IN, sizeof *row);
    uint8_t *w = NULL;
    lp_rng rng;

    if (!row || tensor_row_bytes(t, BENCH_N_IN, &row_bytes, NULL) != LP_OK)
        goto out;
    *bytes = (size_t)row_bytes * (size_t)n_out;
    w = lp_alloc_aligned(64, *bytes);
    if (!w)
        goto out;
    lp_rng_seed(&rng, 7);
    for (int64_t r = 0; r < n_out; r++) {
        if (r < BENCH_SEED_ROWS) {
            for (int i = 0; i < BENCH_N_IN; i++)
                row[i] = lp_rng_signed(&rng) * 0.02f;
            if (t == TENSOR_TYPE_F32)
                memcpy(w + (size_t)r * row_bytes, row, (size_t)row_bytes);
            else
                ref->k[t].from_f32(row, w + (size_t)r * row_bytes, BENCH_N_IN);
        } else {
            memcpy(w + (size_t)r * row_bytes, w + (size_t)(r % BENCH_SEED_ROWS) * row_bytes,
                   (size_t)row_bytes);
        }
    }
out:
    lp_alloc_free(row);
    return w;
}

static double bench_best_time(matmul_ctx *mc, const matmul_weight *w, const float *x, int64_t n_tok,
                              float *y, int repeats, lp_error *err)
{
    double best = 1e30;

    for (int r = 0; r < repeats + 1; r++) {
        double t0 = lp_clock_now(), dt;
        if (matmul_run(mc, w, x, n_tok, y, err) != LP_OK)
            return -1;
        dt = lp_clock_now() - t0;
        if (r > 0 && dt < best) /* the first run warms caches and the act buffer */
            best = dt;
    }
    return best;
}

static int bench_parse(int argc, char **argv, bench_opts *o)
{
    lp_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "loupe bench kernels: unknown or incomplete option '%s'\n", a);
            return 0;
        }
        i++;
        if (!strcmp(a, "-t") && lp_parse_i64(v, 1, LP_THREADPOOL_MAX, "-t", &n, &err) == LP_OK)
            o->threads = (int)n;
        else if (!strcmp(a, "-r") && lp_parse_i64(v, 1, 1000, "-r", &n, &err) == LP_OK)
            o->repeats = (int)n;
        else if (!strcmp(a, "--mb") && lp_parse_i64(v, 1, 16384, "--mb", &n, &err) == LP_OK)
            o->mb = (size_t)n;
        else if (!strcmp(a, "--isa")) {
            quant_isa isa;
            if (quant_isa_from_name(v, &isa, &err) != LP_OK) {
                fprintf(stderr, "loupe bench kernels: %s\n", err.msg);
                return 0;
            }
            o->only_isa = (int)isa;
        } else if (!strcmp(a, "--type")) {
            tensor_type t;
            if (tensor_type_from_name(v, &t, &err) != LP_OK) {
                fprintf(stderr, "loupe bench kernels: %s\n", err.msg);
                return 0;
            }
            o->only_type = (int)t;
        } else {
            fprintf(stderr, "loupe bench kernels: bad option '%s %s'\n", a, v);
            return 0;
        }
    }
    return 1;
}

static void bench_cpu_name(char *buf, size_t n)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];

    snprintf(buf, n, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(buf, n, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* One type on one ISA: fills `row` (a JSON object) and prints a line. */
static int bench_one(const bench_opts *o, lp_threadpool *pool, const quant_table *qt,
                     const quant_table *ref, tensor_type t, double read_gbs, cJSON *rows)
{
    size_t bytes = 0, mm_bytes = 0;
    uint64_t row_bytes = 0;
    int64_t n_out;
    matmul_weight w = {NULL, TENSOR_TYPE_F32, 0, 0, NULL}, wm = w;
    matmul_ctx mc;
    float *x = NULL, *y = NULL;
    uint8_t *wd = NULL, *wmd = NULL;
    double tv, tm;
    lp_error err;
    lp_rng rng;
    cJSON *row;
    int ok = 0;

    if (tensor_row_bytes(t, BENCH_N_IN, &row_bytes, NULL) != LP_OK)
        return 0;
    n_out = (int64_t)(o->mb * (1u << 20) / row_bytes);
    wd = bench_weights(t, n_out, ref, &bytes);
    wmd = bench_weights(t, BENCH_MM_OUT, ref, &mm_bytes);
    x = lp_alloc_array((size_t)BENCH_N_IN * BENCH_MM_TOK, sizeof *x);
    y = lp_alloc_array(
        (size_t)(n_out > BENCH_MM_OUT * BENCH_MM_TOK ? n_out : BENCH_MM_OUT * BENCH_MM_TOK),
        sizeof *y);
    matmul_ctx_init(&mc, qt, pool);
    if (!wd || !wmd || !x || !y)
        goto out;
    lp_rng_seed(&rng, 11);
    for (size_t i = 0; i < (size_t)BENCH_N_IN * BENCH_MM_TOK; i++)
        x[i] = lp_rng_signed(&rng);
    w = (matmul_weight){wd, t, BENCH_N_IN, n_out, NULL};
    wm = (matmul_weight){wmd, t, BENCH_N_IN, BENCH_MM_OUT, NULL};
    /* the rows as GGUF has them, then (types with a panel layout) as the model
     * runs them, packed into panels at load */
    for (int packed = 0; packed < 2; packed++) {
        const char *layout = packed ? "panels" : "rows";
        double gbs, gflops;
        if (packed && (!ref->k[t].pack || matmul_pack(&w, pool, &err) != LP_OK ||
                       matmul_pack(&wm, pool, &err) != LP_OK))
            break;
        tv = bench_best_time(&mc, &w, x, 1, y, o->repeats, &err);
        tm = bench_best_time(&mc, &wm, x, BENCH_MM_TOK, y, o->repeats > 3 ? 3 : o->repeats, &err);
        if (tv < 0 || tm < 0) {
            fprintf(stderr, "loupe bench kernels: %s\n", err.msg);
            goto out;
        }
        gbs = (double)bytes / tv / 1e9;
        gflops = 2.0 * BENCH_N_IN * BENCH_MM_OUT * BENCH_MM_TOK / tm / 1e9;
        if (!o->json)
            printf("%-10s %-5s %-6s  matvec %7.2f GB/s (%4.2f of read, %6.2f ms)  "
                   "matmat %7.2f GFLOP/s\n",
                   qt->name, tensor_type_name(t), layout, gbs, gbs / read_gbs, tv * 1e3, gflops);
        row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "isa", qt->name);
        cJSON_AddStringToObject(row, "type", tensor_type_name(t));
        cJSON_AddStringToObject(row, "layout", layout);
        cJSON_AddNumberToObject(row, "matvec_gbs", gbs);
        cJSON_AddNumberToObject(row, "matvec_ratio_of_read", gbs / read_gbs);
        cJSON_AddNumberToObject(row, "matvec_ms", tv * 1e3);
        cJSON_AddNumberToObject(row, "matmat_gflops", gflops);
        cJSON_AddItemToArray(rows, row);
    }
    ok = 1;
out:
    matmul_ctx_free(&mc);
    matmul_unpack(&w);
    matmul_unpack(&wm);
    lp_alloc_free(x);
    lp_alloc_free(y);
    lp_alloc_free(wd);
    lp_alloc_free(wmd);
    return ok;
}

int bench_kernels(int argc, char **argv)
{
    bench_opts o = {
        .threads = 0, .repeats = 5, .json = 0, .mb = 256, .only_isa = -1, .only_type = -1};
    const quant_table *ref = NULL;
    lp_threadpool *pool = NULL;
    cJSON *root = NULL, *rows;
    char cpu[128];
    double read_gbs, peak_i8, peak_f32, peak_vnni;
    lp_error err;
    int rc = 1;

    if (!bench_parse(argc, argv, &o))
        return 2;
    if (lp_threadpool_open(o.threads, &pool, &err) != LP_OK ||
        quant_table_get(QUANT_ISA_SCALAR, &ref, &err) != LP_OK) {
        fprintf(stderr, "loupe bench kernels: %s\n", err.msg);
        goto out;
    }
    bench_cpu_name(cpu, sizeof cpu);
    read_gbs = bench_read_bandwidth(pool, (size_t)1 << 30, o.repeats);
    peak_i8 = bench_peak_gmacs(pool, 0);
    peak_f32 = bench_peak_gmacs(pool, 1);
    peak_vnni = bench_peak_gmacs(pool, 2);
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "bench", "kernels");
    cJSON_AddStringToObject(root, "cpu", cpu);
    cJSON_AddNumberToObject(root, "threads", lp_threadpool_size(pool));
    cJSON_AddNumberToObject(root, "read_gbs", read_gbs);
    cJSON_AddNumberToObject(root, "peak_int8_gmacs", peak_i8);
    cJSON_AddNumberToObject(root, "peak_f32_gmacs", peak_f32);
    cJSON_AddNumberToObject(root, "peak_vnni_gmacs", peak_vnni);
    cJSON_AddNumberToObject(root, "matvec_weight_mb", (double)o.mb);
    cJSON_AddNumberToObject(root, "n_in", BENCH_N_IN);
    rows = cJSON_AddArrayToObject(root, "results");
    if (!o.json)
        printf("cpu: %s\nthreads: %d  repeats: %d  matvec: %d x (%zu MiB of weights)  "
               "matmat: %d x %d x %d tokens\nread bandwidth: %.2f GB/s\n",
               cpu, lp_threadpool_size(pool), o.repeats, BENCH_N_IN, o.mb, BENCH_N_IN, BENCH_MM_OUT,
               BENCH_MM_TOK, read_gbs);
    if (!o.json && peak_i8 > 0)
        printf("multiply peak: int8 %.1f GMAC/s (vpmaddubsw), f32 %.1f GMAC/s (FMA); "
               "matmat GFLOP/s / 2 = GMAC/s\n",
               peak_i8, peak_f32);
    if (!o.json && peak_vnni > 0)
        printf("multiply peak: int8 %.1f GMAC/s (vpdpbusd zmm, the VNNI panel kernels)\n",
               peak_vnni);
    for (int isa = 0; isa < QUANT_ISA_COUNT; isa++) {
        const quant_table *qt;
        if ((o.only_isa >= 0 && isa != o.only_isa) || !quant_isa_supported((quant_isa)isa))
            continue;
        if (quant_table_get((quant_isa)isa, &qt, &err) != LP_OK)
            continue;
        for (size_t i = 0; i < sizeof bench_types / sizeof bench_types[0]; i++) {
            if (o.only_type >= 0 && (int)bench_types[i] != o.only_type)
                continue;
            if (!bench_one(&o, pool, qt, ref, bench_types[i], read_gbs, rows))
                goto out;
        }
    }
    if (o.json) {
        char *s = cJSON_PrintUnformatted(root);
        if (s)
            printf("%s\n", s);
        cJSON_free(s);
    }
    rc = 0;
out:
    cJSON_Delete(root);
    lp_threadpool_close(pool);
    return rc;
}
