/* `loupe run` (one user turn) and `loupe chat` (interactive, multi-turn) through a model
 * with the chat format, streamed to stdout; progress and timings go to stderr
 * (design.md §6). Thinking is off unless --think; --temp 0 is greedy; a seed repeats.
 * --json / --json-schema constrain the answer to JSON (docs/internals/grammar.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/engine/chat.h"
#include "loupe/engine/generate.h"
#include "loupe/engine/grammar.h"

typedef struct cmd_run_opts {
    const char *model, *prompt, *system;
    const char *json_schema; /* file, or NULL */
    int think, json;
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
            "         [-t THREADS] [-c CTX] [--batch N] [--cache-type f16|f32]\n"
            "         [--json | --json-schema FILE.json]\n");
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
    else if (!strcmp(a, "--json-schema"))
        o->json_schema = v;
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

static int cmd_run_parse(int argc, char **argv, cmd_run_opts *o, int need_prompt, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--think") || !strcmp(argv[i], "--json")) {
            *(!strcmp(argv[i], "--json") ? &o->json : &o->think) = 1;
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
    if (o->json && o->json_schema) {
        lp_err_set(err, LP_ERR_USAGE, "--json and --json-schema exclude each other");
        return 0;
    }
    if (!o->model || (need_prompt && !o->prompt)) {
        lp_err_set(err, LP_ERR_USAGE, need_prompt ? "-m and -p are required" : "-m is required");
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

/* Everything one conversation needs; run and chat share it. */
typedef struct cmd_session {
    cmd_run_opts o;
    const quant_table *qt;
    gemma_model *m;
    gemma_state *s;
    tokenizer *tok;
    lp_threadpool *pool;
    grammar *gram;         /* NULL unless --json / --json-schema */
    grammar_vocab *gvocab; /* the vocabulary's token trie, with gram */
    int32_t stop_ids[CHAT_MAX_STOPS];
    size_t n_stop;
    matmul_ctx mc;
    double load_s;
    uint64_t turn;
} cmd_session;

static void cmd_session_close(cmd_session *x)
{
    matmul_ctx_free(&x->mc);
    grammar_vocab_close(x->gvocab);
    grammar_free(x->gram);
    gemma_state_close(x->s);
    tokenizer_close(x->tok);
    gemma_close(x->m);
    lp_threadpool_close(x->pool);
}

/* The schema file is read and compiled before the model loads, so a bad schema fails
 * fast; it is capped like every outside input. */
static lp_err cmd_session_grammar(cmd_session *x, lp_error *err)
{
    uint8_t *text = NULL;
    size_t n = 0;
    lp_err rc;

    if (!x->o.json && !x->o.json_schema)
        return LP_OK;
    if (x->o.json_schema) {
        rc = lp_fs_read_all(x->o.json_schema, GRAMMAR_SCHEMA_MAX, &text, &n, err);
        if (rc != LP_OK)
            return rc;
    }
    rc = grammar_compile((const char *)text, n, &x->gram, err);
    lp_alloc_free(text);
    if (rc != LP_OK && x->o.json_schema)
        lp_err_prefix(err, "%s", x->o.json_schema);
    return rc;
}

static lp_err cmd_session_open(cmd_session *x, lp_error *err)
{
    uint32_t ctx;
    gemma_state_opts so;

    if (cmd_session_grammar(x, err) != LP_OK)
        return err->code;
    x->load_s = lp_clock_now();
    if (gemma_open(x->o.model, &x->m, err) != LP_OK ||
        tokenizer_open(x->m->file, &x->tok, err) != LP_OK ||
        quant_table_default(&x->qt, err) != LP_OK ||
        lp_threadpool_open((int)x->o.threads, &x->pool, err) != LP_OK)
        return err->code;
    if (x->gram && grammar_vocab_open(x->tok, &x->gvocab, err) != LP_OK)
        return err->code;
    x->load_s = lp_clock_now() - x->load_s;
    cmd_run_sampling_defaults(x->m, &x->o);
    chat_stop_ids(x->tok, x->m->cfg.arch, x->stop_ids, &x->n_stop);
    ctx = x->o.ctx ? (uint32_t)x->o.ctx
                   : (x->m->cfg.n_ctx_train < 8192 ? x->m->cfg.n_ctx_train : 8192);
    so = (gemma_state_opts){ctx, (uint32_t)x->o.batch, x->o.cache};
    if (gemma_state_open(x->m, &so, &x->s, err) != LP_OK)
        return err->code;
    matmul_ctx_init(&x->mc, x->qt, x->pool);
    return LP_OK;
}

/* A constrained answer is returned only if it is a complete value that the independent
 * validator accepts; a budget or stop string that cut it short is an error. */
static lp_err cmd_session_check(const grammar_matcher *gm, const grammar *g,
                                const generate_stats *st, lp_error *err)
{
    size_t n;
    const char *text = grammar_matcher_text(gm, &n);

    if (st->stopped_by_string || st->cancelled ||
        !(st->completed || (st->stopped_by_token && grammar_matcher_accepting(gm))))
        return lp_err_set(err, LP_ERR_LIMIT,
                          "json: the answer is not a complete value after %zu tokens (%s)",
                          st->n_gen, st->stopped_by_string ? "stop string" : "raise -n");
    return grammar_validate(g, text, n, err);
}

/* One model turn after msgs: the whole conversation is prefilled afresh, because the
 * template re-renders earlier model turns without their thought channels, so the new
 * prompt is not an extension of what the cache holds. */
static lp_err cmd_session_turn(cmd_session *x, const chat_msg *msgs, size_t n_msgs,
                               int (*on_text)(void *, const char *, size_t), void *ctx,
                               generate_stats *st, lp_error *err)
{
    sampler_params sp = x->o.sp;
    sampler *smp = NULL;
    grammar_matcher *gm = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    lp_err rc;

    sp.seed = x->o.sp.seed + x->turn++; /* each turn its own stream, the same on every run */
    gemma_state_reset(x->s);
    rc = chat_render(x->tok, x->m->cfg.arch, msgs, n_msgs, x->o.think, &ids, &n_ids, err);
    if (rc == LP_OK)
        rc = sampler_open(&sp, x->m->cfg.n_vocab, &smp, err);
    if (rc == LP_OK)
        rc = cmd_run_suppress(x->m, x->tok, smp, err);
    if (rc == LP_OK && x->gram)
        rc = grammar_matcher_open(x->gram, x->gvocab, x->stop_ids, x->n_stop, &gm, err);
    if (rc == LP_OK) {
        generate_opts go = {.max_tokens = (uint32_t)x->o.n_predict,
                            .stop_ids = x->stop_ids,
                            .n_stop_ids = x->n_stop,
                            .stop_strs = x->o.stops,
                            .n_stop_strs = x->o.n_stops,
                            .on_text = on_text,
                            .ctx = ctx,
                            .on_prefill = cmd_run_progress};
        if (gm) {
            go.mask = grammar_matcher_mask;
            go.on_token = grammar_matcher_accept;
            go.mask_ctx = gm;
        }
        rc = generate_run(x->m, x->s, &x->mc, x->tok, smp, ids, n_ids, &go, st, err);
    }
    if (rc == LP_OK && gm)
        rc = cmd_session_check(gm, x->gram, st, err);
    grammar_matcher_close(gm);
    sampler_close(smp);
    lp_alloc_free(ids);
    return rc;
}

static void cmd_session_report(const cmd_session *x, const generate_stats *st)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "run: load %.2f s; prompt %zu tokens in %.2f s (%.1f t/s); generated %zu in %.2f s "
            "(%.1f t/s), %s; peak RSS %.2f GB; %s, %d threads\n",
            x->load_s, st->n_prompt, st->prefill_s,
            st->prefill_s > 0 ? st->n_prompt / st->prefill_s : 0, st->n_gen, st->decode_s,
            st->decode_s > 0 ? st->n_gen / st->decode_s : 0,
            st->completed           ? "JSON value complete"
            : st->stopped_by_token  ? "stopped by end of turn"
            : st->stopped_by_string ? "stopped by stop string"
                                    : "token budget reached",
            (double)ru.ru_maxrss * 1024.0 / 1e9, x->qt->name, lp_threadpool_size(x->pool));
}

static void cmd_session_defaults(cmd_run_opts *o)
{
    memset(o, 0, sizeof *o);
    sampler_params_default(&o->sp);
    o->n_predict = 256;
    o->batch = 512;
    o->cache = GEMMA_CACHE_F16;
}

int cmd_run(int argc, char **argv)
{
    cmd_session x;
    chat_msg msgs[2];
    size_t n_msgs = 0;
    generate_stats st;
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&x, 0, sizeof x);
    cmd_session_defaults(&x.o);
    if (!cmd_run_parse(argc, argv, &x.o, 1, &err)) {
        fprintf(stderr, "loupe run: %s\n", err.msg);
        cmd_run_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (x.o.system)
        msgs[n_msgs++] = (chat_msg){CHAT_SYSTEM, x.o.system, strlen(x.o.system)};
    msgs[n_msgs++] = (chat_msg){CHAT_USER, x.o.prompt, strlen(x.o.prompt)};
    if (cmd_session_open(&x, &err) == LP_OK &&
        cmd_session_turn(&x, msgs, n_msgs, cmd_run_print, NULL, &st, &err) == LP_OK) {
        printf("\n");
        cmd_session_report(&x, &st);
        rc = CMD_EXIT_OK;
    }
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe run: %s\n", err.msg);
    cmd_session_close(&x);
    return rc;
}

#define CMD_CHAT_LINE_MAX (64u << 10)
#define CMD_CHAT_TURNS_MAX 512

typedef struct cmd_chat_answer {
    char *buf;
    size_t n, cap;
} cmd_chat_answer;

/* Prints the answer and keeps a copy for the conversation history. */
static int cmd_chat_collect(void *ctx, const char *s, size_t n)
{
    cmd_chat_answer *a = ctx;

    if (a->n + n + 1 > a->cap) {
        size_t cap = (a->n + n + 1) * 2;
        char *p = lp_alloc_resize(a->buf, cap, 1);
        if (!p)
            return 1;
        a->buf = p;
        a->cap = cap;
    }
    memcpy(a->buf + a->n, s, n);
    a->n += n;
    a->buf[a->n] = '\0';
    return cmd_run_print(NULL, s, n);
}

static void cmd_chat_free(chat_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lp_alloc_free((void *)msgs[i].text);
}

int cmd_chat(int argc, char **argv)
{
    cmd_session x;
    chat_msg msgs[CMD_CHAT_TURNS_MAX];
    size_t n_msgs = 0;
    char *line = NULL;
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&x, 0, sizeof x);
    cmd_session_defaults(&x.o);
    if (!cmd_run_parse(argc, argv, &x.o, 0, &err)) {
        fprintf(stderr, "loupe chat: %s\n", err.msg);
        fprintf(stderr, "usage: loupe chat -m MODEL [--system TEXT] [--think] [run's options]\n");
        return CMD_EXIT_USAGE;
    }
    line = lp_alloc(CMD_CHAT_LINE_MAX);
    if (!line || cmd_session_open(&x, &err) != LP_OK)
        goto out;
    if (x.o.system) {
        msgs[n_msgs].role = CHAT_SYSTEM;
        msgs[n_msgs].text = lp_alloc_strdup(x.o.system);
        msgs[n_msgs].n = strlen(x.o.system);
        n_msgs += msgs[n_msgs].text != NULL;
    }
    fprintf(stderr, "chat: /reset clears the conversation, /exit or end of input leaves\n");
    for (;;) {
        cmd_chat_answer ans = {NULL, 0, 0};
        generate_stats st;
        size_t len;
        fprintf(stderr, "> ");
        if (!fgets(line, (int)CMD_CHAT_LINE_MAX, stdin) || !strcmp(line, "/exit\n"))
            break;
        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (!strcmp(line, "/reset")) {
            size_t keep = x.o.system ? 1 : 0;
            cmd_chat_free(msgs + keep, n_msgs - keep);
            n_msgs = keep;
            continue;
        }
        if (len == 0)
            continue;
        if (n_msgs + 2 > CMD_CHAT_TURNS_MAX) {
            fprintf(stderr, "chat: %d messages is the most one conversation holds; /reset\n",
                    CMD_CHAT_TURNS_MAX);
            continue;
        }
        msgs[n_msgs] = (chat_msg){CHAT_USER, lp_alloc_strndup(line, len), len};
        if (!msgs[n_msgs].text)
            goto out;
        n_msgs++;
        if (cmd_session_turn(&x, msgs, n_msgs, cmd_chat_collect, &ans, &st, &err) != LP_OK) {
            lp_alloc_free(ans.buf);
            fprintf(stderr, "\nchat: %s\n", err.msg);
            lp_alloc_free((void *)msgs[--n_msgs].text); /* the turn did not happen */
            continue;
        }
        printf("\n");
        cmd_session_report(&x, &st);
        msgs[n_msgs++] = (chat_msg){CHAT_MODEL, ans.buf ? ans.buf : lp_alloc_strdup(""), ans.n};
    }
    rc = CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe chat: %s\n", x.m ? err.msg : "cannot start");
    cmd_chat_free(msgs, n_msgs);
    lp_alloc_free(line);
    cmd_session_close(&x);
    return rc;
}
