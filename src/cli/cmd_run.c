/* `loupe run`: one user turn through a model with the chat format, streamed to stdout;
 * progress and timings go to stderr (design.md §6). Thinking is off unless --think;
 * --temp 0 is greedy; the same seed gives the same answer. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/parse.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/generate.h"

typedef struct cmd_run_opts {
    const char *model, *prompt, *system;
    int think;
    int64_t n_predict, threads, ctx, batch;
    gemma_cache_type cache;
    sampler_params sp;
    int temp_set, top_k_set, top_p_set;
    const char *stops[GENERATE_MAX_STOPS];
    size_t n_stops;
} cmd_run_opts;

static void cmd_run_usage(FILE *f)
{
    fprintf(f,
            "usage: loupe run -m MODEL -p TEXT [--system TEXT] [--think] [-n MAX_TOKENS]\n"
            "         [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R]\n"
            "         [--presence-penalty P] [--frequency-penalty P] [--seed S] [--stop STR]...\n"
            "         [-t THREADS] [-c CTX] [--batch N] [--cache-type f16|f32]\n");
}

static int cmd_run_flag(cmd_run_opts *o, const char *a, const char *v, lp_error *err)
{
    double d;
    int64_t i;
    uint64_t u;

#define RUN_F64(name, lo, hi, dst)                                                                 \
    if (!strcmp(a, name)) {                                                                        \
        if (lp_parse_f64(v, lo, hi, name, &d, err) != LP_OK)                                       \
            return 0;                                                                              \
        dst = (float)d;                                                                            \
        return 1;                                                                                  \
    }
#define RUN_I64(name, lo, hi, dst)                                                                 \
    if (!strcmp(a, name)) {                                                                        \
        if (lp_parse_i64(v, lo, hi, name, &i, err) != LP_OK)                                       \
            return 0;                                                                              \
        dst = i;                                                                                   \
        return 1;                                                                                  \
    }
    if (!strcmp(a, "-m"))
        o->model = v;
    else if (!strcmp(a, "-p"))
        o->prompt = v;
    else if (!strcmp(a, "--system"))
        o->system = v;
    else if (!strcmp(a, "--stop")) {
        if (o->n_stops == GENERATE_MAX_STOPS) {
            lp_err_set(err, LP_ERR_USAGE, "--stop: at most %d", GENERATE_MAX_STOPS);
            return 0;
        }
        o->stops[o->n_stops++] = v;
    } else if (!strcmp(a, "--cache-type") && (!strcmp(v, "f16") || !strcmp(v, "f32")))
        o->cache = !strcmp(v, "f32") ? GEMMA_CACHE_F32 : GEMMA_CACHE_F16;
    else if (!strcmp(a, "--seed")) {
        if (lp_parse_u64(v, UINT64_MAX, "--seed", &u, err) != LP_OK)
            return 0;
        o->sp.seed = u;
    } else if (!strcmp(a, "--top-k")) {
        if (lp_parse_i64(v, 0, 1 << 24, "--top-k", &i, err) != LP_OK)
            return 0;
        o->sp.top_k = (uint32_t)i;
        o->top_k_set = 1;
    } else {
        if (!strcmp(a, "--temp"))
            o->temp_set = 1;
        if (!strcmp(a, "--top-p"))
            o->top_p_set = 1;
        RUN_F64("--temp", 0, 100, o->sp.temp)
        RUN_F64("--top-p", 1e-6, 1, o->sp.top_p)
        RUN_F64("--min-p", 0, 1, o->sp.min_p)
        RUN_F64("--repeat-penalty", 1e-3, 10, o->sp.repeat_penalty)
        RUN_F64("--presence-penalty", -10, 10, o->sp.presence_penalty)
        RUN_F64("--frequency-penalty", -10, 10, o->sp.frequency_penalty)
        RUN_I64("-n", 1, 1 << 20, o->n_predict)
        RUN_I64("-t", 0, LP_THREADPOOL_MAX, o->threads)
        RUN_I64("-c", 1, 1 << 24, o->ctx)
        RUN_I64("--batch", 1, 65536, o->batch)
        lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", a);
        return 0;
    }
#undef RUN_F64
#undef RUN_I64
    return 1;
}

static int cmd_run_parse(int argc, char **argv, cmd_run_opts *o, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--think")) {
            o->think = 1;
            continue;
        }
        if (i + 1 >= argc) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", argv[i]);
            return 0;
        }
        if (!cmd_run_flag(o, argv[i], argv[i + 1], err))
            return 0;
        i++;
    }
    if (!o->model || !o->prompt) {
        lp_err_set(err, LP_ERR_USAGE, "-m and -p are required");
        return 0;
    }
    return 1;
}

/* Sampling defaults from the file (general.sampling.*), else Gemma's recommended ones. */
static void cmd_run_sampling_defaults(const gemma_model *m, cmd_run_opts *o)
{
    float f;
    uint32_t u;

    if (!o->temp_set)
        o->sp.temp = gguf_get_f32(m->file, "general.sampling.temp", &f, NULL) == LP_OK ? f : 1.0f;
    if (!o->top_k_set)
        o->sp.top_k = gguf_get_u32(m->file, "general.sampling.top_k", &u, NULL) == LP_OK ? u : 64;
    if (!o->top_p_set)
        o->sp.top_p =
            gguf_get_f32(m->file, "general.sampling.top_p", &f, NULL) == LP_OK ? f : 0.95f;
}

/* Tokens never sampled: the file's suppress list and the media end markers (spec §4.2). */
static lp_err cmd_run_suppress(const gemma_model *m, const tokenizer *t, sampler *s, lp_error *err)
{
    static const char *const ends[] = {"<image|>", "<audio|>"};
    const gguf_value *arr;

    if (gguf_get_arr(m->file, "tokenizer.ggml.suppress_tokens", &arr, NULL) == LP_OK)
        for (uint64_t i = 0; i < arr->v.arr.count && gguf_vtype_size(arr->v.arr.elem); i++) {
            double id = gguf_arr_num(arr, i);
            if (id >= 0 && id < m->cfg.n_vocab &&
                sampler_bias(s, (int32_t)id, -INFINITY, err) != LP_OK)
                return err->code;
        }
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        int32_t id = tokenizer_find(t, ends[i]);
        if (id >= 0 && sampler_bias(s, id, -INFINITY, err) != LP_OK)
            return err->code;
    }
    return LP_OK;
}

static int cmd_run_print(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    fwrite(s, 1, n, stdout);
    fflush(stdout);
    return ferror(stdout) != 0;
}

static void cmd_run_progress(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    if (total > 512)
        fprintf(stderr, "\rprefill: %zu/%zu tokens", done, total);
    if (total > 512 && done == total)
        fprintf(stderr, "\n");
}

int cmd_run(int argc, char **argv)
{
    cmd_run_opts o;
    const quant_table *qt = NULL;
    gemma_model *m = NULL;
    gemma_state *s = NULL;
    tokenizer *tok = NULL;
    sampler *smp = NULL;
    lp_threadpool *pool = NULL;
    int32_t *ids = NULL, stop_ids[CHAT_MAX_STOPS];
    size_t n_ids = 0, n_stop = 0;
    chat_msg msgs[2];
    size_t n_msgs = 0;
    matmul_ctx mc;
    generate_stats st;
    struct rusage ru;
    double load_s = 0;
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&o, 0, sizeof o);
    memset(&mc, 0, sizeof mc);
    sampler_params_default(&o.sp);
    o.n_predict = 256;
    o.batch = 512;
    o.cache = GEMMA_CACHE_F16;
    if (!cmd_run_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "loupe run: %s\n", err.msg);
        cmd_run_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    load_s = lp_clock_now();
    if (gemma_open(o.model, &m, &err) != LP_OK || tokenizer_open(m->file, &tok, &err) != LP_OK ||
        quant_table_default(&qt, &err) != LP_OK ||
        lp_threadpool_open((int)o.threads, &pool, &err) != LP_OK)
        goto out;
    load_s = lp_clock_now() - load_s;
    cmd_run_sampling_defaults(m, &o);
    if (o.system)
        msgs[n_msgs++] = (chat_msg){CHAT_SYSTEM, o.system, strlen(o.system)};
    msgs[n_msgs++] = (chat_msg){CHAT_USER, o.prompt, strlen(o.prompt)};
    if (chat_render(tok, m->cfg.arch, msgs, n_msgs, o.think, &ids, &n_ids, &err) != LP_OK)
        goto out;
    chat_stop_ids(tok, m->cfg.arch, stop_ids, &n_stop);
    {
        uint32_t ctx =
            o.ctx ? (uint32_t)o.ctx : (m->cfg.n_ctx_train < 8192 ? m->cfg.n_ctx_train : 8192);
        gemma_state_opts so = {ctx, (uint32_t)o.batch, o.cache};
        if (gemma_state_open(m, &so, &s, &err) != LP_OK)
            goto out;
    }
    if (sampler_open(&o.sp, m->cfg.n_vocab, &smp, &err) != LP_OK ||
        cmd_run_suppress(m, tok, smp, &err) != LP_OK)
        goto out;
    matmul_ctx_init(&mc, qt, pool);
    {
        generate_opts go = {(uint32_t)o.n_predict, stop_ids, n_stop,          o.stops, o.n_stops,
                            cmd_run_print,         NULL,     cmd_run_progress};
        if (generate_run(m, s, &mc, tok, smp, ids, n_ids, &go, &st, &err) != LP_OK)
            goto out;
    }
    printf("\n");
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "run: load %.2f s; prompt %zu tokens in %.2f s (%.1f t/s); generated %zu in %.2f s "
            "(%.1f t/s), %s; peak RSS %.2f GB; %s, %d threads\n",
            load_s, st.n_prompt, st.prefill_s, st.prefill_s > 0 ? st.n_prompt / st.prefill_s : 0,
            st.n_gen, st.decode_s, st.decode_s > 0 ? st.n_gen / st.decode_s : 0,
            st.stopped_by_token    ? "stopped by end of turn"
            : st.stopped_by_string ? "stopped by stop string"
                                   : "token budget reached",
            (double)ru.ru_maxrss * 1024.0 / 1e9, qt->name, lp_threadpool_size(pool));
    rc = CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe run: %s\n", err.msg);
    matmul_ctx_free(&mc);
    lp_alloc_free(ids);
    sampler_close(smp);
    gemma_state_close(s);
    tokenizer_close(tok);
    gemma_close(m);
    lp_threadpool_close(pool);
    return rc;
}
