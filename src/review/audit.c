/* The audit log: a hash-chained JSONL file plus a head file, appended under flock.
 * Invariants kept by every append (all under the log's exclusive lock): lines are written whole
 * with one write() and fsynced before the head moves; the head is either the last entry or one
 * behind it (a crash between the two steps); a partial tail is only ever cut after its length
 * and hash are recorded in a "repair" entry; a log that disagrees with its head is never
 * appended to, because the new head would hide what went missing. */
#include "loupe/review/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/fs.h"
#include "loupe/base/json.h"

#define HEAD_FILE_MAX 128
#define READ_CHUNK (64u << 10)

static const char zero_hash[LP_SHA256_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char *const entry_keys[] = {"at", "data", "event", "loupe", "prev", "seq", "who"};

struct audit_reader {
    int fd;
    char *buf;
    size_t cap, start, end;
    int eof;
    uint64_t line_no;
};

static lp_err join_path(const char *dir, const char *name, char out[PATH_MAX], lp_error *err)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= PATH_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s/%s: path too long", dir, name);
    return LP_OK;
}

static void now_iso(char out[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void audit_who(char out[AUDIT_WHO_MAX])
{
    const char *env = getenv("LOUPE_USER");
    struct passwd pw, *res = NULL;
    char pwbuf[4096];

    if (env && env[0]) {
        snprintf(out, AUDIT_WHO_MAX, "%s", env);
        return;
    }
    if (getlogin_r(out, AUDIT_WHO_MAX) == 0 && out[0])
        return;
    if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res && res->pw_name[0]) {
        snprintf(out, AUDIT_WHO_MAX, "%s", res->pw_name);
        return;
    }
    snprintf(out, AUDIT_WHO_MAX, "uid:%ld", (long)geteuid());
}

static int is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int event_valid(const char *e)
{
    size_t n = e ? strlen(e) : 0;

    if (n == 0 || n > AUDIT_EVENT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= '0' && e[i] <= '9') || e[i] == '_'))
            return 0;
    return 1;
}

/* Checks one line's shape (keys, types, canonical bytes) and returns its seq and prev; on a
 * problem writes the reason and returns -1. Chain links are the caller's business. */
static int entry_check(const char *line, size_t n, uint64_t *seq, char prev[LP_SHA256_HEX],
                       int *is_repair, char *reason, size_t rn)
{
    cJSON *v = NULL, *it;
    lp_buf canon = {0};
    size_t n_keys = 0;
    int rc = -1;

    if (n == 0) {
        snprintf(reason, rn, "empty line (not an entry)");
        return -1;
    }
    v = cJSON_ParseWithLength(line, n);
    if (!v || !cJSON_IsObject(v)) {
        snprintf(reason, rn, "not a JSON object (bad JSON line)");
        goto done;
    }
    for (it = v->child; it; it = it->next)
        n_keys++;
    for (size_t k = 0; k < sizeof entry_keys / sizeof entry_keys[0]; k++) {
        if (!cJSON_GetObjectItemCaseSensitive(v, entry_keys[k])) {
            snprintf(reason, rn, "entry lacks \"%s\" (bad JSON line)", entry_keys[k]);
            goto done;
        }
    }
    if (n_keys != sizeof entry_keys / sizeof entry_keys[0]) {
        snprintf(reason, rn, "entry has keys besides seq, prev, at, who, loupe, event, data");
        goto done;
    }
    it = cJSON_GetObjectItemCaseSensitive(v, "seq");
    if (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 9007199254740992.0 ||
        it->valuedouble != (double)(uint64_t)it->valuedouble) {
        snprintf(reason, rn, "\"seq\" is not a positive integer");
        goto done;
    }
    *seq = (uint64_t)it->valuedouble;
    it = cJSON_GetObjectItemCaseSensitive(v, "prev");
    if (!cJSON_IsString(it) || !is_hex64(it->valuestring, strlen(it->valuestring))) {
        snprintf(reason, rn, "\"prev\" is not 64 hex digits");
        goto done;
    }
    memcpy(prev, it->valuestring, LP_SHA256_HEX);
    for (size_t k = 0; k < 3; k++) {
        static const char *const strs[] = {"at", "who", "loupe"};
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, strs[k]))) {
            snprintf(reason, rn, "\"%s\" is not a string", strs[k]);
            goto done;
        }
    }
    it = cJSON_GetObjectItemCaseSensitive(v, "event");
    if (!cJSON_IsString(it) || !event_valid(it->valuestring)) {
        snprintf(reason, rn, "\"event\" is not an event name");
        goto done;
    }
    if (is_repair)
        *is_repair = strcmp(it->valuestring, "repair") == 0;
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(v, "data"))) {
        snprintf(reason, rn, "\"data\" is not an object");
        goto done;
    }
    /* Appends write canonical bytes only, so any other spelling was typed by someone. */
    lp_json_canonical(v, 0, &canon);
    if (canon.failed) {
        snprintf(reason, rn, "out of memory checking the entry");
        goto done;
    }
    if (canon.n != n || memcmp(canon.p, line, n) != 0) {
        snprintf(reason, rn, "not in canonical form (entry edited by hand?)");
        goto done;
    }
    rc = 0;
done:
    lp_buf_free(&canon);
    cJSON_Delete(v);
    return rc;
}

/* Reads audit.head: *present 0 when absent. A malformed head gives -1 and a reason. */
static int head_read(const char *path, int *present, uint64_t *seq, char hash[LP_SHA256_HEX],
                     char *reason, size_t rn)
{
    char buf[HEAD_FILE_MAX + 1];
    size_t n = 0, i = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *present = 0;
    *seq = 0;
    memcpy(hash, zero_hash, LP_SHA256_HEX);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(reason, rn, "cannot open: %s", strerror(errno));
        return -1;
    }
    while (n < sizeof buf) {
        ssize_t got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    *present = 1;
    if (n > HEAD_FILE_MAX)
        goto bad;
    for (; i < n && buf[i] >= '0' && buf[i] <= '9' && i < 19; i++)
        *seq = *seq * 10 + (uint64_t)(buf[i] - '0');
    if (i == 0 || i >= n || buf[i] != ' ' || n != i + 66 || buf[n - 1] != '\n' ||
        !is_hex64(buf + i + 1, 64))
        goto bad;
    memcpy(hash, buf + i + 1, 64);
    hash[64] = '\0';
    return 0;
bad:
    snprintf(reason, rn, "not \"SEQ HASH\" (edited?)");
    return -1;
}

static lp_err head_write(const char *path, uint64_t seq, const char *hash, lp_error *err)
{
    char line[HEAD_FILE_MAX];
    int n = snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)seq, hash);
    lp_fs_atomic f;
    lp_err rc = lp_fs_atomic_open(path, &f, err);

    if (rc != LP_OK)
        return rc;
    rc = lp_fs_atomic_write(&f, line, (size_t)n, err);
    if (rc != LP_OK) {
        lp_fs_atomic_abort(&f);
        return rc;
    }
    return lp_fs_atomic_commit(&f, err);
}

lp_err audit_reader_open(const char *workspace_dir, audit_reader **out, lp_error *err)
{
    char path[PATH_MAX];
    audit_reader *r;
    lp_err rc = join_path(workspace_dir, AUDIT_LOG_NAME, path, err);

    *out = NULL;
    if (rc != LP_OK)
        return rc;
    r = lp_alloc_array(1, sizeof *r);
    if (!r)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    r->cap = AUDIT_LINE_MAX + 1 + READ_CHUNK + 1;
    r->buf = lp_alloc(r->cap);
    if (!r->buf) {
        lp_alloc_free(r);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", path);
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        if (errno != ENOENT) {
            rc = lp_err_set(err, LP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
            audit_reader_close(r);
            return rc;
        }
        r->eof = 1;
    }
    *out = r;
    return LP_OK;
}

/* Reads more bytes after end; sets eof at end of file. */
static lp_err reader_fill(audit_reader *r, lp_error *err)
{
    ssize_t got;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    do {
        got = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return lp_err_set(err, LP_ERR_IO, "%s: read failed: %s", AUDIT_LOG_NAME, strerror(errno));
    if (got == 0)
        r->eof = 1;
    r->end += (size_t)got;
    return LP_OK;
}

lp_err audit_reader_next(audit_reader *r, audit_line_kind *kind, const char **text, size_t *n,
                         uint64_t *line_no, lp_error *err)
{
    int skipping = 0;

    *text = NULL;
    *n = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        lp_err rc;

        if (nl) {
            size_t len = (size_t)(nl - (r->buf + r->start));
            *line_no = ++r->line_no;
            if (skipping || len > AUDIT_LINE_MAX) {
                r->start += len + 1;
                *kind = AUDIT_LINE_TOOLONG;
                return LP_OK;
            }
            *nl = '\0';
            *text = r->buf + r->start;
            *n = len;
            r->start += len + 1;
            *kind = AUDIT_LINE_ENTRY;
            return LP_OK;
        }
        if (r->end - r->start > AUDIT_LINE_MAX) {
            skipping = 1;
            r->start = r->end = 0;
        }
        if (r->eof) {
            if (skipping) {
                *line_no = ++r->line_no;
                *kind = AUDIT_LINE_TOOLONG;
            } else if (r->end > r->start) {
                *line_no = ++r->line_no;
                r->buf[r->end] = '\0';
                *text = r->buf + r->start;
                *n = r->end - r->start;
                r->start = r->end;
                *kind = AUDIT_LINE_PARTIAL;
            } else {
                *kind = AUDIT_LINE_END;
            }
            return LP_OK;
        }
        rc = reader_fill(r, err);
        if (rc != LP_OK)
            return rc;
    }
}

void audit_reader_close(audit_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    lp_alloc_free(r->buf);
    lp_alloc_free(r);
}

/* ---- verify ---- */

static void report_bad(audit_verify_report *rep, const char *file, uint64_t line,
                       const char *reason)
{
    rep->intact = 0;
    rep->bad_line = line;
    snprintf(rep->reason, sizeof rep->reason, "%s", reason);
    if (line > 0)
        snprintf(rep->message, sizeof rep->message, "%s:%llu: %s", file, (unsigned long long)line,
                 reason);
    else
        snprintf(rep->message, sizeof rep->message, "%s: %s", file, reason);
}

/* The head against a chain of n good entries ending in last_hash, whose last entry's prev is
 * last_prev. Returns 0 when they agree (possibly one behind), else reports. */
static int verify_head(audit_verify_report *rep, const char *head_path, uint64_t n,
                       const char *last_hash, const char *last_prev)
{
    char hash[LP_SHA256_HEX], reason[256], msg[256];
    uint64_t hseq;
    int present;

    if (head_read(head_path, &present, &hseq, hash, reason, sizeof reason) != 0) {
        report_bad(rep, AUDIT_HEAD_NAME, 0, reason);
        return -1;
    }
    if (!present) {
        if (n <= 1) {
            rep->head_behind = n == 1;
            return 0;
        }
        snprintf(msg, sizeof msg, "missing while %s holds %llu entries (head deleted?)",
                 AUDIT_LOG_NAME, (unsigned long long)n);
        report_bad(rep, AUDIT_HEAD_NAME, 0, msg);
        return -1;
    }
    if (hseq == n) {
        if (strcmp(hash, last_hash) == 0)
            return 0;
        report_bad(rep, AUDIT_LOG_NAME, n, "entry does not match audit.head (last entry edited)");
        return -1;
    }
    if (n > 0 && hseq == n - 1) {
        if (strcmp(hash, last_prev) == 0) {
            rep->head_behind = 1;
            return 0;
        }
        report_bad(rep, AUDIT_LOG_NAME, n - 1, "entry does not match audit.head (entry edited)");
        return -1;
    }
    if (hseq > n) {
        snprintf(msg, sizeof msg,
                 "missing: audit.head records %llu entries, the log ends at %llu "
                 "(entries removed or log truncated)",
                 (unsigned long long)hseq, (unsigned long long)n);
        report_bad(rep, AUDIT_LOG_NAME, n + 1, msg);
        return -1;
    }
    snprintf(msg, sizeof msg,
             "entry beyond audit.head, which records %llu entries (head rolled back or "
             "entries added by hand)",
             (unsigned long long)hseq);
    report_bad(rep, AUDIT_LOG_NAME, hseq + 2, msg);
    return -1;
}

lp_err audit_verify(const char *workspace_dir, audit_verify_report *out, lp_error *err)
{
    char head_path[PATH_MAX], prev_hash[LP_SHA256_HEX], last_prev[LP_SHA256_HEX];
    audit_reader *r = NULL;
    uint64_t partial_line = 0;
    lp_err rc;

    memset(out, 0, sizeof *out);
    memcpy(out->last_hash, zero_hash, LP_SHA256_HEX);
    memcpy(prev_hash, zero_hash, LP_SHA256_HEX);
    memcpy(last_prev, zero_hash, LP_SHA256_HEX);
    rc = join_path(workspace_dir, AUDIT_HEAD_NAME, head_path, err);
    if (rc == LP_OK)
        rc = audit_reader_open(workspace_dir, &r, err);
    if (rc != LP_OK)
        return rc;
    out->intact = 1;
    for (;;) {
        audit_line_kind kind;
        const char *text;
        size_t n;
        uint64_t line_no, seq = 0;
        char prev[LP_SHA256_HEX], reason[256];
        int repair = 0;

        rc = audit_reader_next(r, &kind, &text, &n, &line_no, err);
        if (rc != LP_OK)
            goto done;
        if (kind == AUDIT_LINE_END)
            break;
        if (kind == AUDIT_LINE_PARTIAL) {
            partial_line = line_no;
            break;
        }
        if (kind == AUDIT_LINE_TOOLONG) {
            report_bad(out, AUDIT_LOG_NAME, line_no, "line longer than 256 KiB (not an entry)");
            goto done;
        }
        if (entry_check(text, n, &seq, prev, &repair, reason, sizeof reason) != 0) {
            report_bad(out, AUDIT_LOG_NAME, line_no, reason);
            goto done;
        }
        if (seq != line_no) {
            if (seq > line_no)
                snprintf(reason, sizeof reason,
                         "seq gap: expected %llu, found %llu (entries removed or reordered)",
                         (unsigned long long)line_no, (unsigned long long)seq);
            else
                snprintf(reason, sizeof reason,
                         "seq %llu out of order: expected %llu (entries reordered or duplicated)",
                         (unsigned long long)seq, (unsigned long long)line_no);
            report_bad(out, AUDIT_LOG_NAME, line_no, reason);
            goto done;
        }
        if (strcmp(prev, prev_hash) != 0) {
            report_bad(out, AUDIT_LOG_NAME, line_no,
                       "hash chain broken (entry edited or reordered)");
            goto done;
        }
        rc = lp_sha256_data_hex(text, n, prev_hash, err);
        if (rc != LP_OK)
            goto done;
        memcpy(last_prev, prev, LP_SHA256_HEX);
        out->entries = line_no;
        out->last_seq = seq;
        memcpy(out->last_hash, prev_hash, LP_SHA256_HEX);
        out->repairs += (uint64_t)repair;
    }
    if (verify_head(out, head_path, out->entries, out->last_hash, last_prev) != 0)
        goto done;
    if (partial_line)
        report_bad(out, AUDIT_LOG_NAME, partial_line,
                   "incomplete last line (crash during append?)");
done:
    if (!out->intact)
        out->head_behind = 0;
    audit_reader_close(r);
    return rc;
}

/* ---- append ---- */

/* Offset of the last '\n' in [end - limit, end): -1 when there is none and the file starts
 * inside that window, -2 when there is none but the file goes back further. */
static lp_err nl_back(int fd, off_t end, off_t limit, off_t *pos, const char *path, lp_error *err)
{
    char chunk[8192];
    off_t lo = end > limit ? end - limit : 0, p = end;

    while (p > lo) {
        size_t want = (size_t)(p - lo) < sizeof chunk ? (size_t)(p - lo) : sizeof chunk;
        ssize_t got = pread(fd, chunk, want, p - (off_t)want);

        if (got != (ssize_t)want)
            return lp_err_set(err, LP_ERR_IO, "%s: read failed: %s", path,
                              got < 0 ? strerror(errno) : "short read");
        for (size_t i = want; i-- > 0;) {
            if (chunk[i] == '\n') {
                *pos = p - (off_t)want + (off_t)i;
                return LP_OK;
            }
        }
        p -= (off_t)want;
    }
    *pos = lo > 0 ? -2 : -1;
    return LP_OK;
}

/* The state an append works from, read under the lock. */
typedef struct tail_state {
    int fd;
    const char *log_path, *head_path;
    off_t complete; /* bytes up to and including the last newline */
    off_t partial;  /* bytes after it (a crash mid-append) */
    uint64_t seq;   /* of the last complete entry, 0 when none */
    char hash[LP_SHA256_HEX];
    char prev[LP_SHA256_HEX];
    uint8_t partial_sha[LP_SHA256_LEN];
} tail_state;

static lp_err tail_read(tail_state *t, lp_error *err)
{
    const off_t limit = (off_t)AUDIT_LINE_MAX + 1;
    struct stat st;
    off_t nl1, nl0 = -1;
    char *line = NULL, reason[256];
    size_t n;
    lp_err rc;

    memcpy(t->hash, zero_hash, LP_SHA256_HEX);
    memcpy(t->prev, zero_hash, LP_SHA256_HEX);
    t->seq = 0;
    if (fstat(t->fd, &st) != 0)
        return lp_err_set(err, LP_ERR_IO, "%s: stat: %s", t->log_path, strerror(errno));
    rc = nl_back(t->fd, st.st_size, limit, &nl1, t->log_path, err);
    if (rc != LP_OK)
        return rc;
    if (nl1 == -2)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: the last %lld bytes hold no complete entry: run `loupe audit "
                          "verify`; refusing to append",
                          t->log_path, (long long)limit);
    t->complete = nl1 + 1;
    t->partial = st.st_size - t->complete;
    if (t->partial > 0) {
        char *tailbuf = lp_alloc((size_t)t->partial);
        if (!tailbuf)
            return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", t->log_path);
        rc = pread(t->fd, tailbuf, (size_t)t->partial, t->complete) == t->partial
                 ? lp_sha256_data(tailbuf, (size_t)t->partial, t->partial_sha, err)
                 : lp_err_set(err, LP_ERR_IO, "%s: read failed", t->log_path);
        lp_alloc_free(tailbuf);
        if (rc != LP_OK)
            return rc;
    }
    if (nl1 < 0)
        return LP_OK;
    rc = nl_back(t->fd, nl1, limit, &nl0, t->log_path, err);
    if (rc != LP_OK)
        return rc;
    if (nl0 == -2)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: last entry longer than 256 KiB: run `loupe audit verify`; "
                          "refusing to append",
                          t->log_path);
    n = (size_t)(nl1 - (nl0 + 1));
    line = lp_alloc(n + 1);
    if (!line)
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", t->log_path);
    if (pread(t->fd, line, n, nl0 + 1) != (ssize_t)n) {
        lp_alloc_free(line);
        return lp_err_set(err, LP_ERR_IO, "%s: read failed", t->log_path);
    }
    line[n] = '\0';
    if (entry_check(line, n, &t->seq, t->prev, NULL, reason, sizeof reason) != 0) {
        lp_alloc_free(line);
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: last entry: %s: run `loupe audit verify`; refusing to append",
                          t->log_path, reason);
    }
    rc = lp_sha256_data_hex(line, n, t->hash, err);
    lp_alloc_free(line);
    return rc;
}

/* Brings the head in line with the tail when it is one behind; refuses any other mismatch. */
static lp_err head_reconcile(tail_state *t, lp_error *err)
{
    char hash[LP_SHA256_HEX], reason[256];
    uint64_t hseq;
    int present;

    if (head_read(t->head_path, &present, &hseq, hash, reason, sizeof reason) != 0)
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: %s: run `loupe audit verify`; refusing to append", t->head_path,
                          reason);
    if (hseq == t->seq && strcmp(hash, t->hash) == 0)
        return LP_OK;
    if (t->seq > 0 && hseq == t->seq - 1 && strcmp(hash, t->prev) == 0)
        return head_write(t->head_path, t->seq, t->hash, err);
    return lp_err_set(err, LP_ERR_INVALID,
                      "%s: ends at entry %llu but %s records %llu%s: entries were removed or "
                      "edited; run `loupe audit verify`; refusing to append",
                      t->log_path, (unsigned long long)t->seq, AUDIT_HEAD_NAME,
                      (unsigned long long)hseq, hseq == t->seq ? " with another hash" : "");
}

/* Writes one entry after the tail with a single write(), fsyncs, then moves the head. */
static lp_err append_one(tail_state *t, const char *event, const cJSON *data, lp_error *err)
{
    char at[32], who[AUDIT_WHO_MAX];
    cJSON *e = cJSON_CreateObject(), *d = data ? cJSON_Duplicate(data, 1) : cJSON_CreateObject();
    cJSON *back = NULL;
    lp_buf line = {0}, again = {0};
    lp_err rc = LP_OK;
    ssize_t w;

    now_iso(at);
    audit_who(who);
    if (!e || !d || !cJSON_AddNumberToObject(e, "seq", (double)(t->seq + 1)) ||
        !cJSON_AddStringToObject(e, "prev", t->hash) || !cJSON_AddStringToObject(e, "at", at) ||
        !cJSON_AddStringToObject(e, "who", who) ||
        !cJSON_AddStringToObject(e, "loupe", LOUPE_VERSION) ||
        !cJSON_AddStringToObject(e, "event", event)) {
        cJSON_Delete(d);
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", t->log_path);
        goto done;
    }
    cJSON_AddItemToObject(e, "data", d);
    lp_json_canonical(e, 0, &line);
    rc = lp_buf_check(&line, "audit entry", err);
    if (rc != LP_OK)
        goto done;
    if (line.n > AUDIT_LINE_MAX) {
        rc = lp_err_set(err, LP_ERR_LIMIT, "%s: %s entry of %zu bytes (max 256 KiB)", t->log_path,
                        event, line.n);
        goto done;
    }
    /* verify re-prints every line; an entry that would not read back the same is refused now */
    back = cJSON_ParseWithLength(line.p, line.n);
    if (back)
        lp_json_canonical(back, 0, &again);
    if (!back || again.failed || again.n != line.n || memcmp(again.p, line.p, line.n) != 0) {
        rc = lp_err_set(err, LP_ERR_INVALID,
                        "%s: %s entry does not read back as the same JSON (invalid UTF-8?)",
                        t->log_path, event);
        goto done;
    }
    lp_buf_putc(&line, '\n');
    rc = lp_buf_check(&line, "audit entry", err);
    if (rc != LP_OK)
        goto done;
    w = write(t->fd, line.p, line.n);
    if (w != (ssize_t)line.n) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: append failed: %s", t->log_path,
                        w < 0 ? strerror(errno) : "short write");
        if (w > 0 && ftruncate(t->fd, t->complete) != 0)
            lp_err_prefix(err, "and the partial line could not be cut");
        goto done;
    }
    if (fsync(t->fd) != 0) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: fsync failed: %s", t->log_path, strerror(errno));
        goto done;
    }
    t->complete += (off_t)line.n;
    t->seq++;
    memcpy(t->prev, t->hash, LP_SHA256_HEX);
    rc = lp_sha256_data_hex(line.p, line.n - 1, t->hash, err);
    if (rc == LP_OK)
        rc = head_write(t->head_path, t->seq, t->hash, err);
done:
    cJSON_Delete(back);
    cJSON_Delete(e);
    lp_buf_free(&line);
    lp_buf_free(&again);
    return rc;
}

/* Cuts a crash's partial tail, after recording what is cut in a "repair" entry's data. */
static lp_err repair_tail(tail_state *t, lp_error *err)
{
    char hex[LP_SHA256_HEX];
    cJSON *d = cJSON_CreateObject();
    lp_err rc;

    lp_sha256_hex(t->partial_sha, hex);
    if (!d || !cJSON_AddNumberToObject(d, "truncated_bytes", (double)t->partial) ||
        !cJSON_AddStringToObject(d, "truncated_sha256", hex) ||
        !cJSON_AddStringToObject(d, "reason", "incomplete last line (crash during append?)")) {
        cJSON_Delete(d);
        return lp_err_set(err, LP_ERR_NOMEM, "%s: out of memory", t->log_path);
    }
    if (ftruncate(t->fd, t->complete) != 0 || fsync(t->fd) != 0) {
        cJSON_Delete(d);
        return lp_err_set(err, LP_ERR_IO, "%s: cannot cut the partial last line: %s", t->log_path,
                          strerror(errno));
    }
    t->partial = 0;
    rc = append_one(t, "repair", d, err);
    cJSON_Delete(d);
    return rc;
}

lp_err audit_append(const char *workspace_dir, const char *event, const cJSON *data,
                    audit_entry_info *out, lp_error *err)
{
    char log_path[PATH_MAX], head_path[PATH_MAX];
    tail_state t = {.fd = -1, .log_path = log_path, .head_path = head_path};
    int repaired = 0;
    lp_err rc;

    if (!event_valid(event))
        return lp_err_set(err, LP_ERR_USAGE, "audit: event '%s' is not [a-z0-9_]{1,32}",
                          event ? event : "(null)");
    if (data && !cJSON_IsObject(data))
        return lp_err_set(err, LP_ERR_USAGE, "audit: %s entry data must be a JSON object", event);
    rc = join_path(workspace_dir, AUDIT_LOG_NAME, log_path, err);
    if (rc == LP_OK)
        rc = join_path(workspace_dir, AUDIT_HEAD_NAME, head_path, err);
    if (rc != LP_OK)
        return rc;
    t.fd = open(log_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (t.fd < 0)
        return lp_err_set(err, LP_ERR_IO, "%s: cannot open: %s", log_path, strerror(errno));
    while (flock(t.fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = lp_err_set(err, LP_ERR_IO, "%s: cannot lock: %s", log_path, strerror(errno));
            goto done;
        }
    }
    rc = tail_read(&t, err);
    if (rc == LP_OK)
        rc = head_reconcile(&t, err);
    if (rc == LP_OK && t.partial > 0) {
        rc = repair_tail(&t, err);
        repaired = 1;
    }
    if (rc == LP_OK)
        rc = append_one(&t, event, data, err);
    if (rc == LP_OK && out) {
        out->seq = t.seq;
        memcpy(out->hash, t.hash, LP_SHA256_HEX);
        out->repaired = repaired;
    }
done:
    close(t.fd); /* releases the lock */
    return rc;
}
