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
#include "loupe/engine/generate.h"
#include "loupe/engine/grammar.h"
#include "loupe/route/local.h"

#define CMD_RUN_MEDIA_MAX 64

typedef struct cmd_run_opts {
    const char *model, *prompt, *system, *mmproj;
    struct {
        backend_part_kind kind;
        const char *path;
    } media[CMD_RUN_MEDIA_MAX]; /* in the order given; before the text (design.md §6) */
    size_t n_media;
    int64_t image_tokens, video_frames;
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
            "         [--json | --json-schema FILE.json]\n"
            "         [--mmproj FILE [--image F]... [--audio F]... [--video F]...\n"
            "          [--image-tokens 70|140|280|560|1120] [--video-frames N]]\n");
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
    else if (!strcmp(a, "--mmproj"))
        o->mmproj = v;
    else if (!strcmp(a, "--image") || !strcmp(a, "--audio") || !strcmp(a, "--video")) {
        if (o->n_media == CMD_RUN_MEDIA_MAX) {
            lp_err_set(err, LP_ERR_USAGE, "at most %d media inputs", CMD_RUN_MEDIA_MAX);
            return 0;
        }
        o->media[o->n_media].kind = a[2] == 'i'   ? BACKEND_PART_IMAGE
                                    : a[2] == 'a' ? BACKEND_PART_AUDIO
                                                  : BACKEND_PART_VIDEO;
        o->media[o->n_media++].path = v;
    } else if (!strcmp(a, "--image-tokens")) {
        if (lp_parse_i64(v, 70, 1120, "--image-tokens", &i, err) != LP_OK)
            return 0;
        if (i != 70 && i != 140 && i != 280 && i != 560 && i != 1120) {
            lp_err_set(err, LP_ERR_USAGE, "--image-tokens: 70, 140, 280, 560 or 1120");
            return 0;
        }
        o->image_tokens = i;
    } else if (!strcmp(a, "--video-frames")) {
        if (lp_parse_i64(v, 1, 256, "--video-frames", &i, err) != LP_OK)
            return 0;
        o->video_frames = i;
    } else if (!strcmp(a, "--stop")) {
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
    if (o->n_media && !o->mmproj) {
        lp_err_set(err, LP_ERR_USAGE, "--image/--audio/--video need --mmproj");
        return 0;
    }
    if (!o->model || (need_prompt && !o->prompt)) {
        lp_err_set(err, LP_ERR_USAGE, need_prompt ? "-m and -p are required" : "-m is required");
        return 0;
    }
    return 1;
}

/* The model's own sampling defaults, then whatever the flags set. */
static void cmd_run_sampling(const backend *b, const cmd_run_opts *o, backend_sampling *bs)
{
    local_sampling_defaults(b, bs);
    if (o->temp_set)
        bs->temperature = o->sp.temp;
    if (o->top_k_set)
        bs->top_k = (int)o->sp.top_k;
    if (o->top_p_set)
        bs->top_p = o->sp.top_p;
    bs->min_p = o->sp.min_p;
    bs->repeat_penalty = o->sp.repeat_penalty;
    bs->presence_penalty = o->sp.presence_penalty;
    bs->frequency_penalty = o->sp.frequency_penalty;
    bs->seed = o->sp.seed;
    bs->max_tokens = (int)o->n_predict;
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
    backend *b;
    char *schema; /* --json-schema text, "" for --json, NULL for free text */
    const char *stops[GENERATE_MAX_STOPS + 1];
    double load_s;
    uint64_t turn;
} cmd_session;

static void cmd_session_close(cmd_session *x)
{
    backend_close(x->b);
    lp_alloc_free(x->schema);
}

/* The schema file is read and compiled before the model loads, so a bad schema fails
 * fast with the file's name; it is capped like every outside input. */
static lp_err cmd_session_grammar(cmd_session *x, lp_error *err)
{
    uint8_t *text = NULL;
    size_t n = 0;
    grammar *g = NULL;
    lp_err rc;

    if (!x->o.json && !x->o.json_schema)
        return LP_OK;
    if (x->o.json_schema) {
        rc = lp_fs_read_all(x->o.json_schema, GRAMMAR_SCHEMA_MAX, &text, &n, err);
        if (rc != LP_OK)
            return rc;
    }
    rc = grammar_compile((const char *)text, n, &g, err);
    grammar_free(g);
    if (rc != LP_OK) {
        if (x->o.json_schema)
            lp_err_prefix(err, "%s", x->o.json_schema);
        lp_alloc_free(text);
        return rc;
    }
    x->schema = text ? (char *)text : lp_alloc_strdup("");
    return x->schema ? LP_OK : lp_err_set(err, LP_ERR_NOMEM, "out of memory");
}

static lp_err cmd_session_open(cmd_session *x, lp_error *err)
{
    local_opts lo = {.model = x->o.model,
                     .mmproj = x->o.mmproj,
                     .threads = (int)x->o.threads,
                     .ctx = (uint32_t)x->o.ctx,
                     .batch = (uint32_t)x->o.batch,
                     .cache = x->o.cache,
                     .on_prefill = cmd_run_progress};

    if (cmd_session_grammar(x, err) != LP_OK)
        return err->code;
    for (size_t i = 0; i < x->o.n_stops; i++)
        x->stops[i] = x->o.stops[i];
    x->load_s = lp_clock_now();
    if (local_open(&lo, &x->b, err) != LP_OK)
        return err->code;
    x->load_s = lp_clock_now() - x->load_s;
    return LP_OK;
}

/* One model turn after msgs (the whole conversation is prefilled afresh: the template
 * re-renders earlier model turns without their thought channels). */
static lp_err cmd_session_turn(cmd_session *x, const backend_message *msgs, size_t n_msgs,
                               int (*on_piece)(void *, const char *, size_t), void *ctx,
                               backend_response *resp, lp_error *err)
{
    backend_request req = {.msgs = msgs,
                           .n_msgs = n_msgs,
                           .json_schema = x->schema,
                           .kind = BACKEND_TASK_CHAT,
                           .sensitivity = BACKEND_SENSITIVITY_RESTRICTED,
                           .think = x->o.think,
                           .image_tokens = (int)x->o.image_tokens,
                           .video_frames = (int)x->o.video_frames,
                           .on_piece = on_piece,
                           .ctx = ctx};
    cmd_run_sampling(x->b, &x->o, &req.sampling);
    req.sampling.seed = x->o.sp.seed + x->turn++; /* each turn its own stream, repeatable */
    req.sampling.stop = x->stops;
    return backend_complete(x->b, &req, resp, err);
}

static void cmd_session_report(const cmd_session *x, const backend_response *r)
{
    struct rusage ru;
    char isa[64];

    getrusage(RUSAGE_SELF, &ru);
    local_describe(x->b, isa, sizeof isa);
    fprintf(stderr,
            "run: load %.2f s; prompt %ld tokens in %.2f s (%.1f t/s); generated %ld in %.2f s "
            "(%.1f t/s), %s; peak RSS %.2f GB; %s\n",
            x->load_s, r->tokens_in, r->prefill_s,
            r->prefill_s > 0 ? r->tokens_in / r->prefill_s : 0, r->tokens_out, r->decode_s,
            r->decode_s > 0 ? r->tokens_out / r->decode_s : 0,
            r->finish == BACKEND_FINISH_LENGTH ? "token budget reached"
            : x->schema                        ? "JSON value complete"
                                               : "stopped",
            (double)ru.ru_maxrss * 1024.0 / 1e9, isa);
}

static void cmd_session_defaults(cmd_run_opts *o)
{
    memset(o, 0, sizeof *o);
    sampler_params_default(&o->sp);
    o->n_predict = 256;
    o->batch = 512;
    o->cache = GEMMA_CACHE_F16;
}

static backend_part cmd_text_part(const char *s, size_t n)
{
    return (backend_part){
        .kind = BACKEND_PART_TEXT, .field = BACKEND_FIELD_USER, .text = s, .n_text = n};
}

int cmd_run(int argc, char **argv)
{
    cmd_session x;
    backend_part parts[CMD_RUN_MEDIA_MAX + 2];
    backend_message msgs[2];
    size_t n_msgs = 0;
    backend_response resp = {0};
    lp_error err;
    int rc = CMD_EXIT_FAIL;

    memset(&x, 0, sizeof x);
    cmd_session_defaults(&x.o);
    if (!cmd_run_parse(argc, argv, &x.o, 1, &err)) {
        fprintf(stderr, "loupe run: %s\n", err.msg);
        cmd_run_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (x.o.system) {
        parts[0] = cmd_text_part(x.o.system, strlen(x.o.system));
        msgs[n_msgs++] = (backend_message){BACKEND_ROLE_SYSTEM, &parts[0], 1};
    }
    for (size_t i = 0; i < x.o.n_media; i++)
        parts[1 + i] = (backend_part){
            .kind = x.o.media[i].kind, .field = BACKEND_FIELD_USER, .path = x.o.media[i].path};
    parts[1 + x.o.n_media] = cmd_text_part(x.o.prompt, strlen(x.o.prompt));
    msgs[n_msgs++] = (backend_message){BACKEND_ROLE_USER, &parts[1], x.o.n_media + 1};
    if (x.o.n_media)
        fprintf(stderr, "run: decoding and embedding %zu media input%s\n", x.o.n_media,
                x.o.n_media > 1 ? "s" : "");
    if (cmd_session_open(&x, &err) == LP_OK &&
        cmd_session_turn(&x, msgs, n_msgs, cmd_run_print, NULL, &resp, &err) == LP_OK) {
        printf("\n");
        cmd_session_report(&x, &resp);
        rc = CMD_EXIT_OK;
    }
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe run: %s\n", err.msg);
    backend_response_free(&resp);
    cmd_session_close(&x);
    return rc;
}

#define CMD_CHAT_LINE_MAX (64u << 10)
#define CMD_CHAT_TURNS_MAX 512

typedef struct cmd_chat_turns {
    backend_part parts[CMD_CHAT_TURNS_MAX];
    backend_message msgs[CMD_CHAT_TURNS_MAX];
    char *texts[CMD_CHAT_TURNS_MAX]; /* owned */
    size_t n;
} cmd_chat_turns;

static int cmd_chat_push(cmd_chat_turns *t, backend_role role, char *text, size_t n)
{
    if (!text)
        return -1;
    t->texts[t->n] = text;
    t->parts[t->n] = cmd_text_part(text, n);
    t->msgs[t->n] = (backend_message){role, &t->parts[t->n], 1};
    t->n++;
    return 0;
}

static void cmd_chat_pop(cmd_chat_turns *t, size_t keep)
{
    while (t->n > keep)
        lp_alloc_free(t->texts[--t->n]);
}

int cmd_chat(int argc, char **argv)
{
    cmd_session x;
    cmd_chat_turns *t = NULL;
    char *line = NULL;
    lp_error err;
    int rc = CMD_EXIT_FAIL;
    size_t keep = 0;

    memset(&x, 0, sizeof x);
    cmd_session_defaults(&x.o);
    if (!cmd_run_parse(argc, argv, &x.o, 0, &err)) {
        fprintf(stderr, "loupe chat: %s\n", err.msg);
        fprintf(stderr, "usage: loupe chat -m MODEL [--system TEXT] [--think] [run's options]\n");
        return CMD_EXIT_USAGE;
    }
    line = lp_alloc(CMD_CHAT_LINE_MAX);
    t = lp_alloc_array(1, sizeof *t);
    if (!line || !t) {
        lp_err_set(&err, LP_ERR_NOMEM, "out of memory");
        goto out;
    }
    t->n = 0;
    if (cmd_session_open(&x, &err) != LP_OK)
        goto out;
    if (x.o.system &&
        cmd_chat_push(t, BACKEND_ROLE_SYSTEM, lp_alloc_strdup(x.o.system), strlen(x.o.system)) == 0)
        keep = 1;
    fprintf(stderr, "chat: /reset clears the conversation, /exit or end of input leaves\n");
    for (;;) {
        backend_response resp = {0};
        size_t len;
        fprintf(stderr, "> ");
        if (!fgets(line, (int)CMD_CHAT_LINE_MAX, stdin) || !strcmp(line, "/exit\n"))
            break;
        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (!strcmp(line, "/reset")) {
            cmd_chat_pop(t, keep);
            continue;
        }
        if (len == 0)
            continue;
        if (t->n + 2 > CMD_CHAT_TURNS_MAX) {
            fprintf(stderr, "chat: %d messages is the most one conversation holds; /reset\n",
                    CMD_CHAT_TURNS_MAX);
            continue;
        }
        if (cmd_chat_push(t, BACKEND_ROLE_USER, lp_alloc_strndup(line, len), len) != 0)
            goto out;
        if (cmd_session_turn(&x, t->msgs, t->n, cmd_run_print, NULL, &resp, &err) != LP_OK) {
            fprintf(stderr, "\nchat: %s\n", err.msg);
            cmd_chat_pop(t, t->n - 1); /* the turn did not happen */
            continue;
        }
        printf("\n");
        cmd_session_report(&x, &resp);
        if (cmd_chat_push(t, BACKEND_ROLE_MODEL, resp.text, resp.n_text) != 0)
            goto out;
        resp.text = NULL; /* the history owns it now */
    }
    rc = CMD_EXIT_OK;
out:
    if (rc != CMD_EXIT_OK)
        fprintf(stderr, "loupe chat: %s\n", err.msg);
    if (t)
        cmd_chat_pop(t, 0);
    lp_alloc_free(t);
    lp_alloc_free(line);
    cmd_session_close(&x);
    return rc;
}
