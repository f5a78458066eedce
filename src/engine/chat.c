/* Chat rendering: a small builder appends marker ids and encoded text pieces in the
 * order spec §4.3 gives. Text is trimmed and encoded with parse_special off; role
 * names and newlines are separate pieces, as the official templates tokenize them. */
#include "loupe/engine/chat.h"

#include <string.h>

#include "loupe/base/alloc.h"

#define CHAT_IDS_MAX (1u << 24)

typedef struct chat_buf {
    const tokenizer *t;
    int32_t *ids;
    size_t n, cap;
    lp_err rc;
    lp_error *err;
} chat_buf;

static void chat_push(chat_buf *b, int32_t id)
{
    if (b->rc != LP_OK)
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        int32_t *p = cap <= CHAT_IDS_MAX ? lp_alloc_resize(b->ids, cap, sizeof *p) : NULL;
        if (!p) {
            b->rc = lp_err_set(b->err, LP_ERR_LIMIT, "chat: prompt over %u tokens or no memory",
                               CHAT_IDS_MAX);
            return;
        }
        b->ids = p;
        b->cap = cap;
    }
    b->ids[b->n++] = id;
}

/* A marker the format needs; a vocabulary without it cannot hold this chat. */
static void chat_marker(chat_buf *b, const char *s)
{
    int32_t id = tokenizer_find(b->t, s);

    if (b->rc != LP_OK)
        return;
    if (id < 0) {
        b->rc = lp_err_set(b->err, LP_ERR_UNSUPPORTED, "chat: the vocabulary has no '%s' token", s);
        return;
    }
    chat_push(b, id);
}

static void chat_text(chat_buf *b, const char *s, size_t n)
{
    int32_t *ids = NULL;
    size_t k = 0;

    if (b->rc != LP_OK || n == 0)
        return;
    b->rc = tokenizer_encode(b->t, s, n, 0, 0, &ids, &k, b->err);
    for (size_t i = 0; i < k; i++)
        chat_push(b, ids[i]);
    lp_alloc_free(ids);
}

static void chat_trimmed(chat_buf *b, const char *s, size_t n)
{
    while (n > 0 && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    chat_text(b, s, n);
}

static const char *chat_role_name(chat_role r)
{
    return r == CHAT_SYSTEM ? "system" : r == CHAT_USER ? "user" : "model";
}

/* open ROLE\n [prefix\n\n] text close\n: the turn shape both formats share. */
static void chat_turn(chat_buf *b, const char *open, const char *close, const chat_msg *m,
                      const chat_msg *prefix)
{
    const char *role = chat_role_name(m->role);

    chat_marker(b, open);
    chat_text(b, role, strlen(role));
    chat_text(b, "\n", 1);
    if (prefix) {
        chat_trimmed(b, prefix->text, prefix->n);
        chat_text(b, "\n\n", 2);
    }
    chat_trimmed(b, m->text, m->n);
    chat_marker(b, close);
    chat_text(b, "\n", 1);
}

static void chat_gemma4(chat_buf *b, const chat_msg *msgs, size_t n, int think)
{
    const chat_msg *sys = n > 0 && msgs[0].role == CHAT_SYSTEM ? &msgs[0] : NULL;

    if (sys || think) {
        chat_marker(b, "<|turn>");
        chat_text(b, "system", 6);
        chat_text(b, "\n", 1);
        if (think) {
            chat_marker(b, "<|think|>");
            chat_text(b, "\n", 1);
        }
        if (sys)
            chat_trimmed(b, sys->text, sys->n);
        chat_marker(b, "<turn|>");
        chat_text(b, "\n", 1);
    }
    for (size_t i = sys ? 1 : 0; i < n; i++)
        chat_turn(b, "<|turn>", "<turn|>", &msgs[i], NULL);
    chat_marker(b, "<|turn>");
    chat_text(b, "model", 5);
    chat_text(b, "\n", 1);
    if (!think) { /* the empty thought channel: the answer starts right after it */
        chat_marker(b, "<|channel>");
        chat_text(b, "thought", 7);
        chat_text(b, "\n", 1);
        chat_marker(b, "<channel|>");
    }
}

/* Gemma 3 has no system role: the system text opens the first user turn. */
static void chat_gemma3(chat_buf *b, const chat_msg *msgs, size_t n)
{
    const chat_msg *sys = n > 0 && msgs[0].role == CHAT_SYSTEM ? &msgs[0] : NULL;

    for (size_t i = sys ? 1 : 0; i < n; i++)
        chat_turn(b, "<start_of_turn>", "<end_of_turn>", &msgs[i], sys && i == 1 ? sys : NULL);
    chat_marker(b, "<start_of_turn>");
    chat_text(b, "model", 5);
    chat_text(b, "\n", 1);
}

lp_err chat_render(const tokenizer *t, gemma_arch arch, const chat_msg *msgs, size_t n_msgs,
                   int think, int32_t **ids, size_t *n_ids, lp_error *err)
{
    chat_buf b = {t, NULL, 0, 0, LP_OK, err};

    *ids = NULL;
    *n_ids = 0;
    for (size_t i = 0; i < n_msgs; i++)
        if ((msgs[i].role == CHAT_SYSTEM && i > 0) || (!msgs[i].text && msgs[i].n))
            return lp_err_set(err, LP_ERR_USAGE, "chat: message %zu: a system message comes first",
                              i);
    chat_marker(&b, "<bos>");
    if (arch == GEMMA_ARCH_GEMMA4)
        chat_gemma4(&b, msgs, n_msgs, think);
    else
        chat_gemma3(&b, msgs, n_msgs);
    if (b.rc != LP_OK) {
        lp_alloc_free(b.ids);
        return b.rc;
    }
    *ids = b.ids;
    *n_ids = b.n;
    return LP_OK;
}

void chat_stop_ids(const tokenizer *t, gemma_arch arch, int32_t *ids, size_t *n)
{
    static const char *const g4[] = {"<eos>", "<turn|>", "<|tool_response>"};
    static const char *const g3[] = {"<eos>", "<end_of_turn>"};
    const char *const *names = arch == GEMMA_ARCH_GEMMA4 ? g4 : g3;
    size_t count = arch == GEMMA_ARCH_GEMMA4 ? 3 : 2;

    *n = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t id = tokenizer_find(t, names[i]);
        if (id >= 0)
            ids[(*n)++] = id;
    }
}
