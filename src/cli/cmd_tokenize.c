/* `loupe tokenize`: text -> token ids with a model's tokenizer (or a HF tokenizer.json
 * converted in memory), printed space-separated on one line. --jsonl encodes one JSON
 * string per line, one output line each, which is what the parity test drives. Text
 * given here is outside text: special parsing stays off unless --special is asked for. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/clock.h"
#include "loupe/base/fs.h"
#include "loupe/engine/gguf.h"
#include "loupe/engine/tokenizer.h"

typedef struct cmd_tokenize_opts {
    const char *model, *json, *text, *file, *jsonl, *write_gguf;
    int special, no_bos, pieces, keep_slots, time;
} cmd_tokenize_opts;

static void cmd_tokenize_usage(FILE *f)
{
    fprintf(f, "usage: loupe tokenize (-m MODEL.gguf | --tokenizer-json FILE [--keep-slots])\n"
               "                      [--special] [--bos|--no-bos] [--pieces] [--time]\n"
               "                      (-p TEXT | -f FILE | --jsonl FILE) [--write-gguf OUT]\n"
               "  --special         parse control-token strings in the text (off by default)\n"
               "  --jsonl FILE      one JSON string per line; one line of output per string\n"
               "  --keep-slots      convert without writing Gemma 4's special tokens (spec 4.2)\n"
               "  --write-gguf OUT  with --tokenizer-json: also write a vocabulary-only GGUF\n");
}

static int cmd_tokenize_parse(int argc, char **argv, cmd_tokenize_opts *o, lp_error *err)
{
    int inputs;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (!strcmp(a, "--special"))
            o->special = 1;
        else if (!strcmp(a, "--no-bos"))
            o->no_bos = 1;
        else if (!strcmp(a, "--bos")) /* the default; accepted so scripts can say it */
            o->no_bos = 0;
        else if (!strcmp(a, "--pieces"))
            o->pieces = 1;
        else if (!strcmp(a, "--keep-slots"))
            o->keep_slots = 1;
        else if (!strcmp(a, "--time"))
            o->time = 1;
        else if (!strcmp(a, "-m"))
            slot = &o->model;
        else if (!strcmp(a, "--tokenizer-json"))
            slot = &o->json;
        else if (!strcmp(a, "-p"))
            slot = &o->text;
        else if (!strcmp(a, "-f"))
            slot = &o->file;
        else if (!strcmp(a, "--jsonl"))
            slot = &o->jsonl;
        else if (!strcmp(a, "--write-gguf"))
            slot = &o->write_gguf;
        else {
            lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", a);
            return 0;
        }
        if (slot) {
            if (!v) {
                lp_err_set(err, LP_ERR_USAGE, "%s needs a value", a);
                return 0;
            }
            *slot = v;
            i++;
        }
    }
    if (!o->model == !o->json) {
        lp_err_set(err, LP_ERR_USAGE, "give exactly one of -m and --tokenizer-json");
        return 0;
    }
    inputs = (o->text != NULL) + (o->file != NULL) + (o->jsonl != NULL);
    /* --write-gguf alone is a conversion with nothing to encode */
    if (inputs > 1 || (inputs == 0 && !o->write_gguf)) {
        lp_err_set(err, LP_ERR_USAGE, "give exactly one of -p, -f and --jsonl");
        return 0;
    }
    if (o->write_gguf && !o->json) {
        lp_err_set(err, LP_ERR_USAGE, "--write-gguf needs --tokenizer-json");
        return 0;
    }
    return 1;
}

static lp_err cmd_tokenize_write(const char *path, const tokenizer_vocab *v, lp_error *err)
{
    gguf_writer *w = NULL;
    lp_err rc = gguf_writer_open(path, &w, err);

    if (rc == LP_OK)
        rc = gguf_writer_add_str(w, "general.type", "vocab", err);
    if (rc == LP_OK)
        rc = tokenizer_write_gguf(w, v, err);
    if (rc == LP_OK)
        rc = gguf_writer_begin_data(w, err);
    if (rc != LP_OK) {
        gguf_writer_free(w);
        return rc;
    }
    return gguf_writer_finish(w, err);
}

static lp_err cmd_tokenize_load(const cmd_tokenize_opts *o, tokenizer **t, lp_error *err)
{
    tokenizer_vocab v;
    gguf_file *f = NULL;
    lp_err rc;

    if (o->model) {
        rc = gguf_open(o->model, &f, err);
        if (rc == LP_OK)
            rc = tokenizer_open(f, t, err);
        gguf_close(f);
        return rc;
    }
    rc = tokenizer_json_read(o->json, o->keep_slots ? 0 : TOKENIZER_JSON_GEMMA4, &v, err);
    if (rc != LP_OK)
        return rc;
    rc = tokenizer_open_vocab(&v, t, err);
    if (rc == LP_OK && o->write_gguf)
        rc = cmd_tokenize_write(o->write_gguf, &v, err);
    tokenizer_vocab_free(&v);
    return rc;
}

/* A piece with every byte that would break the line or the field escaped. */
static void cmd_tokenize_put_piece(FILE *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c <= 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static lp_err cmd_tokenize_one(const tokenizer *t, const cmd_tokenize_opts *o, const char *text,
                               size_t n, double *secs, size_t *total, lp_error *err)
{
    int32_t *ids = NULL;
    size_t n_ids = 0;
    double t0 = lp_clock_now();
    lp_err rc = tokenizer_encode(t, text, n, !o->no_bos && tokenizer_add_bos(t), o->special, &ids,
                                 &n_ids, err);

    if (rc != LP_OK)
        return rc;
    *secs += lp_clock_now() - t0;
    *total += n_ids;
    for (size_t i = 0; i < n_ids; i++) {
        if (i)
            fputc(' ', stdout);
        if (o->pieces) {
            const char *p;
            size_t pn;
            tokenizer_piece(t, ids[i], &p, &pn, NULL);
            cmd_tokenize_put_piece(stdout, p, pn);
        } else {
            printf("%d", (int)ids[i]);
        }
    }
    fputc('\n', stdout);
    lp_alloc_free(ids);
    return LP_OK;
}

/* Each non-empty line of buf is a JSON string to encode. */
static lp_err cmd_tokenize_jsonl(const tokenizer *t, const cmd_tokenize_opts *o, const char *buf,
                                 size_t n, double *secs, size_t *total, lp_error *err)
{
    size_t line = 0;

    for (size_t a = 0; a < n; line++) {
        const char *nl = memchr(buf + a, '\n', n - a);
        size_t b = nl ? (size_t)(nl - buf) : n;
        cJSON *s;
        lp_err rc;
        if (b == a) {
            a = b + 1;
            continue;
        }
        s = cJSON_ParseWithLength(buf + a, b - a);
        if (!cJSON_IsString(s)) {
            cJSON_Delete(s);
            return lp_err_set(err, LP_ERR_INVALID, "%s:%zu: not a JSON string", o->jsonl, line + 1);
        }
        rc = cmd_tokenize_one(t, o, s->valuestring, strlen(s->valuestring), secs, total, err);
        cJSON_Delete(s);
        if (rc != LP_OK)
            return rc;
        a = b + 1;
    }
    return LP_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    cmd_tokenize_opts o;
    tokenizer *t = NULL;
    uint8_t *buf = NULL;
    size_t n = 0, total = 0;
    double secs = 0;
    lp_error err;
    lp_err rc;

    memset(&o, 0, sizeof o);
    lp_err_clear(&err);
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_tokenize_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (!cmd_tokenize_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "loupe tokenize: %s\n", err.msg);
        cmd_tokenize_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    rc = cmd_tokenize_load(&o, &t, &err);
    if (rc == LP_OK && (o.file || o.jsonl))
        rc = lp_fs_read_all(o.file ? o.file : o.jsonl, TOKENIZER_TEXT_MAX, &buf, &n, &err);
    if (rc == LP_OK && o.text)
        rc = cmd_tokenize_one(t, &o, o.text, strlen(o.text), &secs, &total, &err);
    else if (rc == LP_OK && o.file)
        rc = cmd_tokenize_one(t, &o, (const char *)buf, n, &secs, &total, &err);
    else if (rc == LP_OK && o.jsonl)
        rc = cmd_tokenize_jsonl(t, &o, (const char *)buf, n, &secs, &total, &err);
    if (rc == LP_OK && o.time)
        fprintf(stderr, "tokenize: %zu bytes -> %zu ids in %.3f ms (%.1f MB/s)\n",
                o.text ? strlen(o.text) : n, total, secs * 1e3,
                secs > 0 ? (double)(o.text ? strlen(o.text) : n) / secs / 1e6 : 0.0);
    lp_alloc_free(buf);
    tokenizer_close(t);
    if (rc != LP_OK) {
        fprintf(stderr, "loupe tokenize: %s\n", err.msg);
        return rc == LP_ERR_USAGE ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
    }
    return fflush(stdout) == 0 ? CMD_EXIT_OK : CMD_EXIT_FAIL;
}
