/* Batch reviews (batch.h): the packet list, the job's lock and rows, forked workers claiming
 * packets from the workspace, and the parent drawing progress from what workers tell it over a
 * pipe. Exactly-once rests on a claim marker: before reviewing, a worker writes the audit log's
 * sequence number into WORKSPACE/batch-<job>.claims/<name>; a later run that claims the packet
 * again finds the marker and looks for a "review" audit entry after that sequence for this
 * packet and outdir whose review.json is on disk, and if there is one marks the packet done. */
#include "loupe/review/batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/clock.h"
#include "loupe/base/fs.h"
#include "loupe/base/parse.h"
#include "loupe/base/sha256.h"
#include "loupe/review/audit.h"
#include "loupe/review/workspace.h"

#define BATCH_MSG_MAX 3000 /* bytes of one worker message: under PIPE_BUF, so writes are atomic */

/* ---- the packet list ---- */

typedef struct batch_list {
    char **p;
    size_t n, cap;
} batch_list;

static lp_err batch_list_push(batch_list *l, const char *path, lp_error *err)
{
    if (l->n >= BATCH_PACKETS_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "batch: more than %d packets", BATCH_PACKETS_MAX);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **p = lp_alloc_resize(l->p, cap, sizeof *p);
        if (!p)
            return lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
        l->p = p;
        l->cap = cap;
    }
    l->p[l->n] = lp_alloc_strdup(path);
    if (!l->p[l->n])
        return lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
    l->n++;
    return LP_OK;
}

static int batch_has_manifest(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat st;

    snprintf(p, sizeof p, "%s/packet.yaml", dir);
    if (!stat(p, &st) && S_ISREG(st.st_mode))
        return 1;
    snprintf(p, sizeof p, "%s/packet.json", dir);
    return !stat(p, &st) && S_ISREG(st.st_mode);
}

static int batch_is_zip(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".zip");
}

static lp_err batch_list_dir(const char *dir, batch_list *l, lp_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX], real[PATH_MAX];
    struct stat st;
    lp_err rc = LP_OK;

    if (!d)
        return lp_err_set(err, LP_ERR_IO, "%s: %s", dir, strerror(errno));
    for (e = readdir(d); e && !rc; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p || stat(p, &st))
            continue;
        int take = S_ISDIR(st.st_mode) ? batch_has_manifest(p)
                                       : S_ISREG(st.st_mode) && batch_is_zip(e->d_name);
        if (take && realpath(p, real))
            rc = batch_list_push(l, real, err);
    }
    closedir(d);
    return rc;
}

static lp_err batch_list_file(const char *file, batch_list *l, lp_error *err)
{
    uint8_t *text = NULL;
    size_t n = 0, line = 0;
    char base[PATH_MAX], p[PATH_MAX], real[PATH_MAX];
    lp_err rc = lp_fs_read_all(file, BATCH_LIST_MAX, &text, &n, err);

    if (rc)
        return rc;
    snprintf(base, sizeof base, "%s", file);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof base, ".");
    for (char *s = (char *)text; s && !rc; line++) {
        char *nl = strchr(s, '\n'), *end;
        if (nl)
            *nl = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*s && *s != '#') {
            if ((size_t)snprintf(p, sizeof p, "%s%s%s", *s == '/' ? "" : base, *s == '/' ? "" : "/",
                                 s) >= sizeof p)
                rc = lp_err_set(err, LP_ERR_LIMIT, "%s:%zu: path too long", file, line + 1);
            else if (!realpath(p, real))
                rc = lp_err_set(err, LP_ERR_NOTFOUND, "%s:%zu: %s: %s", file, line + 1, s,
                                strerror(errno));
            else
                rc = batch_list_push(l, real, err);
        }
        s = nl ? nl + 1 : NULL;
    }
    lp_alloc_free(text);
    return rc;
}

static int batch_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

lp_err batch_list_packets(const char *input, char ***paths_out, size_t *n_out, lp_error *err)
{
    batch_list l = {0};
    struct stat st;
    lp_err rc;

    *paths_out = NULL;
    *n_out = 0;
    if (stat(input, &st))
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: %s", input, strerror(errno));
    rc = S_ISDIR(st.st_mode) ? batch_list_dir(input, &l, err) : batch_list_file(input, &l, err);
    if (rc) {
        batch_paths_free(l.p, l.n);
        return rc;
    }
    qsort(l.p, l.n, sizeof *l.p, batch_cmp);
    size_t k = 0; /* one path listed twice is one packet */
    for (size_t i = 0; i < l.n; i++) {
        if (k && !strcmp(l.p[k - 1], l.p[i]))
            lp_alloc_free(l.p[i]);
        else
            l.p[k++] = l.p[i];
    }
    *paths_out = l.p;
    *n_out = k;
    return LP_OK;
}

void batch_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        lp_alloc_free(paths[i]);
    lp_alloc_free(paths);
}

void batch_shard(char **paths, size_t *n, int shard_i, int shard_n)
{
    size_t k = 0;

    if (shard_n <= 0)
        return;
    for (size_t i = 0; i < *n; i++) {
        if (i % (size_t)shard_n == (size_t)(shard_i - 1))
            paths[k++] = paths[i];
        else
            lp_alloc_free(paths[i]);
    }
    *n = k;
}

lp_err batch_job_id(const char *input, int shard_i, int shard_n, char out[BATCH_JOB_MAX],
                    lp_error *err)
{
    char real[PATH_MAX], hex[LP_SHA256_HEX];
    lp_buf b = {0};
    lp_err rc;

    if (!realpath(input, real))
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: %s", input, strerror(errno));
    lp_buf_printf(&b, "%s\nshard %d/%d", real, shard_i, shard_n);
    rc = lp_buf_check(&b, "batch job id", err);
    if (!rc)
        rc = lp_sha256_data_hex(b.p, b.n, hex, err);
    if (!rc)
        snprintf(out, BATCH_JOB_MAX, "b-%.16s", hex);
    lp_buf_free(&b);
    return rc;
}

int batch_job_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= BATCH_JOB_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

lp_err batch_packet_name(const char *packet_path, char *out, size_t n, lp_error *err)
{
    const char *base = strrchr(packet_path, '/');
    size_t len;

    base = base ? base + 1 : packet_path;
    len = strlen(base);
    if (len > 4 && !strcmp(base + len - 4, ".zip"))
        len -= 4;
    if (len == 0 || len >= n || !strcmp(base, ".") || !strcmp(base, ".."))
        return lp_err_set(err, LP_ERR_INVALID, "%s: no usable packet name", packet_path);
    memcpy(out, base, len);
    out[len] = '\0';
    return LP_OK;
}

/* ---- what a worker needs ---- */

typedef struct batch_ctx {
    const batch_opts *o;
    char job[BATCH_JOB_MAX];
    char outroot[PATH_MAX];
    char wsdir[PATH_MAX];
    char claims[PATH_MAX + 80];
    int pipe_w;
} batch_ctx;

/* One line to the parent; fields must hold no tab or newline (batch_clean). */
static void batch_send(const batch_ctx *c, const char *kind, const char *a, const char *b,
                       const char *d)
{
    char line[BATCH_MSG_MAX + 64];
    int n =
        snprintf(line, sizeof line, "%s\t%s\t%s\t%s\n", kind, a ? a : "", b ? b : "", d ? d : "");
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) { /* keep the message one atomic write, newline-ended */
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(c->pipe_w, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += w;
    }
}

static void batch_clean(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

/* The audit log's last sequence number, from audit.head ("SEQ HASH"); 0 when there is none.
 * A head one entry behind only makes the recovery scan look at one more entry. */
static uint64_t batch_audit_seq(const batch_ctx *c)
{
    char p[PATH_MAX + 32], line[128];
    uint64_t seq = 0;
    FILE *f;

    snprintf(p, sizeof p, "%s/%s", c->wsdir, AUDIT_HEAD_NAME);
    f = fopen(p, "r");
    if (!f)
        return 0;
    if (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (sp)
            *sp = '\0';
        if (lp_parse_u64(line, UINT64_MAX, "audit.head", &seq, NULL))
            seq = 0;
    }
    fclose(f);
    return seq;
}

static int batch_marker_read(const char *path, uint64_t *seq)
{
    uint8_t *text = NULL;
    size_t n = 0;
    int ok = 0;

    if (lp_fs_read_all(path, 64, &text, &n, NULL))
        return 0;
    char *nl = strchr((char *)text, '\n');
    if (nl)
        *nl = '\0';
    ok = lp_parse_u64((char *)text, UINT64_MAX, "claim marker", seq, NULL) == LP_OK;
    lp_alloc_free(text);
    return ok;
}

static lp_err batch_marker_write(const char *path, uint64_t seq, lp_error *err)
{
    char text[32];
    lp_fs_atomic f;
    int n = snprintf(text, sizeof text, "%llu\n", (unsigned long long)seq);
    lp_err rc = lp_fs_atomic_open(path, &f, err);

    if (rc)
        return rc;
    rc = lp_fs_atomic_write(&f, text, (size_t)n, err);
    if (rc) {
        lp_fs_atomic_abort(&f);
        return rc;
    }
    return lp_fs_atomic_commit(&f, err);
}

static const char *batch_jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether a killed run finished this packet's review: a "review" entry after seq0 for this
 * packet and outdir, with its review.json on disk. id gets the review id. */
static int batch_recover(const batch_ctx *c, const char *packet, const char *outdir, uint64_t seq0,
                         char id[32], char sha[LP_SHA256_HEX])
{
    audit_reader *r = NULL;
    audit_line_kind kind = AUDIT_LINE_END;
    const char *text;
    size_t n;
    uint64_t line_no;
    char rj[PATH_MAX + 16], have[LP_SHA256_HEX];
    int found = 0;

    id[0] = sha[0] = '\0';
    if (audit_reader_open(c->wsdir, &r, NULL))
        return 0;
    while (!audit_reader_next(r, &kind, &text, &n, &line_no, NULL) && kind != AUDIT_LINE_END) {
        if (kind != AUDIT_LINE_ENTRY)
            continue;
        cJSON *e = cJSON_ParseWithLength(text, n);
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
        const cJSON *pk = cJSON_GetObjectItemCaseSensitive(d, "packet");
        const char *ev = batch_jstr(e, "event"), *od = batch_jstr(d, "outdir");
        const char *pp = batch_jstr(pk, "path"), *ri = batch_jstr(d, "review_id");
        const char *rs = batch_jstr(d, "review_sha256");
        if (cJSON_IsNumber(seq) && seq->valuedouble > (double)seq0 && ev && !strcmp(ev, "review") &&
            od && !strcmp(od, outdir) && pp && !strcmp(pp, packet) && ri && rs && strlen(ri) < 32 &&
            strlen(rs) == LP_SHA256_HEX - 1) {
            snprintf(id, 32, "%s", ri);
            snprintf(sha, LP_SHA256_HEX, "%s", rs);
            found = 1;
        }
        cJSON_Delete(e);
    }
    audit_reader_close(r);
    snprintf(rj, sizeof rj, "%s/review.json", outdir);
    if (!found || lp_sha256_file_hex(rj, have, NULL) || strcmp(have, sha))
        return 0;
    return 1;
}

/* One claimed packet: recovered, reviewed or failed; an error only for the batch itself. */
static lp_err batch_one(const batch_ctx *c, workspace *ws, review_opts *ro, const char *packet,
                        lp_error *err)
{
    char name[256], outdir[PATH_MAX], marker[PATH_MAX + 400], id[32], sha[LP_SHA256_HEX];
    uint64_t seq0 = 0;
    review_outcome out = {0};
    lp_error rerr;
    lp_err rc;

    if (batch_packet_name(packet, name, sizeof name, &rerr) ||
        (size_t)snprintf(outdir, sizeof outdir, "%s/%s", c->outroot, name) >= sizeof outdir) {
        batch_send(c, "F", packet, "no usable packet name", packet);
        return workspace_batch_failed(ws, c->job, packet, "no usable packet name", err);
    }
    snprintf(marker, sizeof marker, "%s/%s", c->claims, name);
    batch_send(c, "S", name, NULL, NULL);
    if (batch_marker_read(marker, &seq0) && batch_recover(c, packet, outdir, seq0, id, sha)) {
        rc = workspace_batch_done(ws, c->job, packet, id, err);
        if (!rc) {
            unlink(marker);
            batch_send(c, "R", name, id, NULL);
        }
        return rc;
    }
    if (access(marker, F_OK)) { /* a marker left by a killed run keeps its older sequence */
        rc = batch_marker_write(marker, batch_audit_seq(c), err);
        if (rc)
            return rc;
    }
    ro->packet = packet;
    ro->outdir = outdir;
    if (review_run(ro, &out, &rerr) == LP_OK) {
        rc = workspace_batch_done(ws, c->job, packet, out.id, err);
        if (!rc) {
            char flags[64];
            snprintf(flags, sizeof flags, "%d %zu", out.needs_approval, out.checks_failed);
            batch_send(c, "D", name, out.id, flags);
        }
    } else {
        rc = workspace_batch_failed(ws, c->job, packet, rerr.msg, err);
        if (!rc) {
            batch_clean(rerr.msg);
            batch_send(c, "F", name, rerr.msg, packet);
        }
    }
    if (!rc)
        unlink(marker);
    return rc;
}

/* A worker process: its own workspace connection and backend, packets until none is left. */
static int batch_worker(const batch_ctx *c)
{
    const batch_opts *o = c->o;
    review_opts ro = o->review;
    workspace *ws = NULL;
    char *packet = NULL;
    lp_error err;
    lp_err rc;

    ro.workspace = c->wsdir;
    ro.b = NULL;
    ro.on_progress = NULL;
    rc = workspace_open(c->wsdir, &ws, &err);
    if (!rc && o->open_backend)
        rc = o->open_backend(o->backend_ctx, &ro, &err);
    while (!rc) {
        rc = workspace_batch_claim(ws, c->job, &packet, &err);
        if (rc || !packet)
            break;
        rc = batch_one(c, ws, &ro, packet, &err);
        lp_alloc_free(packet);
        packet = NULL;
    }
    if (rc) {
        batch_clean(err.msg);
        batch_send(c, "E", err.msg, NULL, NULL);
    }
    backend_close(ro.b);
    workspace_close(ws);
    return rc ? 1 : 0;
}

/* ---- the parent: progress ---- */

typedef struct batch_view {
    FILE *f;
    int tty;
    size_t total, finished, finished_run, failed_run;
    double t0, last_draw;
    char current[256];
    char fatal[LP_ERROR_MSG_MAX];
    batch_failure *fails;
    size_t n_fails, cap_fails;
    size_t reviewed, recovered;
} batch_view;

static void batch_fmt_eta(double s, char *out, size_t n)
{
    long t = (long)(s + 0.5);
    if (s < 0 || s > 1e7)
        snprintf(out, n, "--");
    else if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

static void batch_rate(const batch_view *v, double *per_min, char eta[32])
{
    double el = lp_clock_now() - v->t0;
    *per_min = el > 0 && v->finished_run ? (double)v->finished_run * 60.0 / el : 0;
    batch_fmt_eta(*per_min > 0 ? (double)(v->total - v->finished) * 60.0 / *per_min : -1, eta, 32);
}

static void batch_draw(batch_view *v)
{
    char bar[21], eta[32];
    double rate;
    int pct = v->total ? (int)(v->finished * 100 / v->total) : 100;
    int cells = v->total ? (int)(v->finished * 20 / v->total) : 20;

    for (int i = 0; i < 20; i++)
        bar[i] = i < cells ? '#' : '.';
    bar[20] = '\0';
    batch_rate(v, &rate, eta);
    fprintf(v->f, "\r[%s] %d%% %zu/%zu packets, %.2f packets/min, ETA %s, current: %.60s\033[K",
            bar, pct, v->finished, v->total, rate, eta, v->current[0] ? v->current : "-");
    fflush(v->f);
    v->last_draw = lp_clock_now();
}

static void batch_line(batch_view *v, const char *name, const char *what)
{
    char eta[32];
    double rate;
    int pct = v->total ? (int)(v->finished * 100 / v->total) : 100;

    batch_rate(v, &rate, eta);
    fprintf(v->f, "batch: %zu/%zu done (%d%%), %.2f/min, ETA %s: %s -> %s\n", v->finished, v->total,
            pct, rate, eta, name, what);
    fflush(v->f);
}

static void batch_note_failure(batch_view *v, const char *path, const char *msg)
{
    if (v->n_fails == v->cap_fails) {
        size_t cap = v->cap_fails ? v->cap_fails * 2 : 8;
        batch_failure *p = lp_alloc_resize(v->fails, cap, sizeof *p);
        if (!p)
            return;
        v->fails = p;
        v->cap_fails = cap;
    }
    v->fails[v->n_fails].packet_path = lp_alloc_strdup(path);
    v->fails[v->n_fails].error = lp_alloc_strdup(msg);
    v->n_fails++;
}

/* One message from a worker: "KIND\tA\tB\tC". */
static void batch_message(batch_view *v, char *line)
{
    char *f[4] = {line, "", "", ""};
    char what[BATCH_MSG_MAX + 64];

    for (int i = 1; i < 4; i++) {
        char *t = strchr(f[i - 1], '\t');
        if (!t)
            break;
        *t = '\0';
        f[i] = t + 1;
    }
    if (!strcmp(f[0], "S")) {
        snprintf(v->current, sizeof v->current, "%s", f[1]);
    } else if (!strcmp(f[0], "D") || !strcmp(f[0], "R") || !strcmp(f[0], "F")) {
        v->finished++;
        if (f[0][0] == 'R') {
            v->recovered++;
            snprintf(what, sizeof what, "%s (reviewed before a kill; not redone)", f[2]);
        } else if (f[0][0] == 'D') {
            v->finished_run++;
            v->reviewed++;
            snprintf(what, sizeof what, "%s (%s)", f[2],
                     f[3][0] == '1' ? "needs approval" : "no approval needed");
        } else {
            v->finished_run++;
            v->failed_run++;
            snprintf(what, sizeof what, "failed: %s", f[2]);
            batch_note_failure(v, f[3][0] ? f[3] : f[1], f[2]);
        }
        if (v->tty)
            batch_draw(v);
        else
            batch_line(v, f[1], what);
    } else if (!strcmp(f[0], "E") && !v->fatal[0]) {
        snprintf(v->fatal, sizeof v->fatal, "%s", f[1]);
    }
}

/* Reads worker messages until every worker has closed its end of the pipe. */
static void batch_watch(batch_view *v, int fd)
{
    char buf[2 * BATCH_MSG_MAX + 256];
    size_t have = 0;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, v->tty ? 1000 : -1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            batch_draw(v); /* the rate and ETA move even while a long review runs */
            continue;
        }
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = '\0';
        char *s = buf, *nl;
        for (nl = strchr(s, '\n'); nl; nl = strchr(s, '\n')) {
            *nl = '\0';
            batch_message(v, s);
            s = nl + 1;
        }
        have = (size_t)(buf + have - s);
        memmove(buf, s, have);
        if (have == sizeof buf - 1) /* a line longer than any worker writes: drop it */
            have = 0;
    }
    if (v->tty) {
        batch_draw(v);
        fputc('\n', v->f);
    }
}

/* ---- the job ---- */

static lp_err batch_mkdirs(const char *path, lp_error *err)
{
    char p[PATH_MAX];

    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: path too long", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char keep = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            return lp_err_set(err, LP_ERR_IO, "%s: %s", p, strerror(errno));
        *s = keep;
        if (!keep)
            return LP_OK;
    }
}

typedef struct batch_named {
    const char *name, *path;
} batch_named;

static int batch_named_cmp(const void *a, const void *b)
{
    return strcmp(((const batch_named *)a)->name, ((const batch_named *)b)->name);
}

/* Two packets with one base name would share an output folder: refuse before starting. */
static lp_err batch_check_names(char *const *paths, size_t n, lp_error *err)
{
    batch_named *v = lp_alloc_array(n ? n : 1, sizeof *v);
    char(*names)[256] = lp_alloc_array(n ? n : 1, sizeof *names);
    lp_err rc = LP_OK;

    if (!v || !names)
        rc = lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        rc = batch_packet_name(paths[i], names[i], sizeof names[i], err);
        v[i] = (batch_named){.name = names[i], .path = paths[i]};
    }
    if (!rc)
        qsort(v, n, sizeof *v, batch_named_cmp);
    for (size_t i = 1; !rc && i < n; i++)
        if (!strcmp(v[i - 1].name, v[i].name))
            rc = lp_err_set(err, LP_ERR_INVALID,
                            "batch: packets %s and %s would share the output folder '%s'",
                            v[i - 1].path, v[i].path, v[i].name);
    lp_alloc_free(v);
    lp_alloc_free(names);
    return rc;
}

/* flock on WORKSPACE/batch-<job>.lock, held (also by the workers, who inherit it) until the
 * last process of the run exits, however it exits. */
static lp_err batch_lock(const batch_ctx *c, int *fd_out, lp_error *err)
{
    char p[PATH_MAX + 96], pid[32] = "";
    int fd;

    snprintf(p, sizeof p, "%s/batch-%s.lock", c->wsdir, c->job);
    fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return lp_err_set(err, LP_ERR_IO, "%s: %s", p, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        ssize_t r = read(fd, pid, sizeof pid - 1);
        pid[r > 0 ? r : 0] = '\0';
        batch_clean(pid);
        close(fd);
        if (e == EWOULDBLOCK)
            return lp_err_set(err, LP_ERR_INVALID,
                              "batch: job '%s' is already running in another process (pid %s, "
                              "lock %s); wait for it or stop it first",
                              c->job, pid[0] ? pid : "?", p);
        return lp_err_set(err, LP_ERR_IO, "%s: flock: %s", p, strerror(e));
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {
        close(fd);
        return lp_err_set(err, LP_ERR_IO, "%s: write: %s", p, strerror(errno));
    }
    *fd_out = fd;
    return LP_OK;
}

static lp_err batch_audit(const batch_ctx *c, const char *phase, const batch_summary *s,
                          lp_error *err)
{
    cJSON *d = cJSON_CreateObject();
    char shard[48] = "all";
    lp_err rc;

    if (!d)
        return lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
    if (c->o->shard_n > 0)
        snprintf(shard, sizeof shard, "%d/%d", c->o->shard_i, c->o->shard_n);
    cJSON_AddStringToObject(d, "phase", phase);
    cJSON_AddStringToObject(d, "job", c->job);
    cJSON_AddStringToObject(d, "shard", shard);
    cJSON_AddNumberToObject(d, "packets", (double)s->total);
    if (!strcmp(phase, "start")) {
        cJSON_AddNumberToObject(d, "workers", c->o->jobs > 0 ? c->o->jobs : 1);
        cJSON_AddNumberToObject(d, "reset", (double)s->reset);
        cJSON_AddStringToObject(d, "outroot", c->outroot);
    } else {
        cJSON_AddNumberToObject(d, "done", (double)s->done);
        cJSON_AddNumberToObject(d, "failed", (double)s->failed);
        cJSON_AddNumberToObject(d, "reviewed", (double)s->reviewed);
        cJSON_AddNumberToObject(d, "recovered", (double)s->recovered);
    }
    rc = audit_append(c->wsdir, "batch", d, NULL, err);
    cJSON_Delete(d);
    return rc;
}

/* Lists and shards the packets, names the job, makes the folders, takes the lock and brings
 * the job's rows up to date. */
static lp_err batch_prepare(batch_ctx *c, char ***paths, size_t *n, int *lockfd, batch_summary *out,
                            lp_error *err)
{
    const batch_opts *o = c->o;
    char root[PATH_MAX + 80];
    workspace *ws = NULL;
    int64_t reset = 0;
    lp_err rc = batch_list_packets(o->input, paths, n, err);

    if (!rc) {
        batch_shard(*paths, n, o->shard_i, o->shard_n);
        rc = batch_check_names(*paths, *n, err);
    }
    if (!rc && o->job)
        snprintf(c->job, sizeof c->job, "%s", o->job);
    else if (!rc)
        rc = batch_job_id(o->input, o->shard_i, o->shard_n, c->job, err);
    if (!rc && !batch_job_name_ok(c->job))
        rc =
            lp_err_set(err, LP_ERR_USAGE, "batch: job name '%s': use [A-Za-z0-9._-], 1-64", c->job);
    if (rc)
        return rc;
    snprintf(root, sizeof root, "%s", o->outroot ? o->outroot : "");
    if (!o->outroot)
        snprintf(root, sizeof root, "batch-%s", c->job);
    rc = batch_mkdirs(root, err);
    if (!rc && !realpath(root, c->outroot))
        rc = lp_err_set(err, LP_ERR_IO, "%s: %s", root, strerror(errno));
    if (!rc)
        rc = workspace_open(o->workspace, &ws, err);
    if (rc)
        return rc;
    snprintf(c->wsdir, sizeof c->wsdir, "%s", workspace_dir(ws));
    snprintf(c->claims, sizeof c->claims, "%s/batch-%s.claims", c->wsdir, c->job);
    rc = batch_lock(c, lockfd, err);
    /* the lock is ours, so every running row of the job belongs to a dead process */
    if (!rc)
        rc = workspace_batch_resume(ws, c->job, &reset, err);
    if (!rc)
        rc = workspace_batch_add(ws, c->job, (const char *const *)*paths, *n, err);
    if (!rc)
        rc = batch_mkdirs(c->claims, err);
    workspace_close(ws);
    snprintf(out->job, sizeof out->job, "%s", c->job);
    out->total = *n;
    out->reset = (size_t)reset;
    return rc;
}

/* Fills the counts and the failure list once the workers are gone. */
static lp_err batch_finish(const batch_ctx *c, char *const *paths, size_t n, batch_view *v,
                           batch_summary *out, lp_error *err)
{
    workspace *ws = NULL;
    workspace_batch_counts k;
    lp_err rc = workspace_open(c->wsdir, &ws, err);

    if (!rc)
        rc = workspace_batch_count(ws, c->job, &k, err);
    if (!rc) {
        out->done = (size_t)k.done;
        out->failed = (size_t)k.failed;
        out->reviewed = v->reviewed;
        out->recovered = v->recovered;
        out->failures = lp_alloc_array(k.failed ? (size_t)k.failed : 1, sizeof *out->failures);
        if (!out->failures)
            rc = lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
    }
    for (size_t i = 0; !rc && i < n && out->n_failures < out->failed; i++) {
        workspace_batch_state st;
        if (workspace_batch_get(ws, c->job, paths[i], &st, NULL) || st != WORKSPACE_BATCH_FAILED)
            continue;
        const char *msg = "failed in an earlier run";
        for (size_t j = 0; j < v->n_fails; j++)
            if (v->fails[j].packet_path && !strcmp(v->fails[j].packet_path, paths[i]))
                msg = v->fails[j].error ? v->fails[j].error : msg;
        batch_failure *f = &out->failures[out->n_failures++];
        f->packet_path = lp_alloc_strdup(paths[i]);
        f->error = lp_alloc_strdup(msg);
    }
    if (!rc && v->fatal[0])
        rc = lp_err_set(err, LP_ERR_IO, "batch: a worker stopped: %s", v->fatal);
    else if (!rc && k.pending + k.running > 0)
        rc = lp_err_set(err, LP_ERR_IO,
                        "batch: %lld packets unfinished (a worker died); rerun the same command "
                        "to resume",
                        (long long)(k.pending + k.running));
    if (!rc && !rmdir(c->claims))
        errno = 0; /* left in place when a marker survives: the next run needs it */
    workspace_close(ws);
    return rc;
}

/* Forks the workers; each dies with its parent (PR_SET_PDEATHSIG), so kill -9 of the batch
 * stops every review in flight and releases the lock. Returns how many started. */
static int batch_spawn(batch_ctx *c, int jobs, pid_t *pids, int wfd, int rfd)
{
    pid_t parent = getpid();
    int started = 0;

    fflush(NULL);
    for (int i = 0; i < jobs; i++) {
        pid_t p = fork();
        if (p < 0)
            break;
        if (p == 0) {
            close(rfd);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            c->pipe_w = wfd;
            _exit(batch_worker(c));
        }
        pids[started++] = p;
    }
    return started;
}

lp_err batch_run(const batch_opts *o, batch_summary *out, lp_error *err)
{
    batch_ctx c = {.o = o, .pipe_w = -1};
    batch_view v = {.f = o->progress ? o->progress : stderr};
    char **paths = NULL;
    size_t n = 0;
    int lockfd = -1, fds[2] = {-1, -1};
    int jobs = o->jobs > 0 ? o->jobs : 1;
    pid_t pids[BATCH_JOBS_MAX];
    workspace_batch_counts k0 = {0};
    lp_err rc;

    memset(out, 0, sizeof *out);
    if (jobs > BATCH_JOBS_MAX || o->shard_n < 0 ||
        (o->shard_n && (o->shard_i < 1 || o->shard_i > o->shard_n)))
        return lp_err_set(err, LP_ERR_USAGE, "batch: --jobs 1..%d, --shard I/N with 1<=I<=N",
                          BATCH_JOBS_MAX);
    rc = batch_prepare(&c, &paths, &n, &lockfd, out, err);
    if (!rc)
        out->outroot = lp_alloc_strdup(c.outroot);
    if (!rc && !out->outroot)
        rc = lp_err_set(err, LP_ERR_NOMEM, "batch: out of memory");
    if (!rc)
        rc = batch_audit(&c, "start", out, err);
    if (!rc) {
        workspace *ws = NULL;
        rc = workspace_open(c.wsdir, &ws, err);
        if (!rc)
            rc = workspace_batch_count(ws, c.job, &k0, err);
        workspace_close(ws); /* never carried across fork: each worker opens its own */
    }
    if (!rc && pipe(fds))
        rc = lp_err_set(err, LP_ERR_IO, "batch: pipe: %s", strerror(errno));
    if (rc)
        goto done;
    v.tty = o->tty >= 0 ? o->tty : isatty(fileno(v.f));
    v.total = n;
    v.finished = (size_t)(k0.done + k0.failed);
    v.t0 = lp_clock_now();
    int started = batch_spawn(&c, jobs, pids, fds[1], fds[0]);
    close(fds[1]);
    if (started == 0)
        snprintf(v.fatal, sizeof v.fatal, "fork: %s", strerror(errno));
    else
        batch_watch(&v, fds[0]);
    close(fds[0]);
    for (int i = 0; i < started; i++) {
        int status = 0;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
        }
        if (!v.fatal[0] && WIFSIGNALED(status))
            snprintf(v.fatal, sizeof v.fatal, "worker %ld killed by signal %d", (long)pids[i],
                     WTERMSIG(status));
    }
    rc = batch_finish(&c, paths, n, &v, out, err);
    lp_error aerr;
    if (batch_audit(&c, "end", out, &aerr) && !rc)
        rc = lp_err_set(err, aerr.code, "%s", aerr.msg);
done:
    for (size_t i = 0; i < v.n_fails; i++) {
        lp_alloc_free(v.fails[i].packet_path);
        lp_alloc_free(v.fails[i].error);
    }
    lp_alloc_free(v.fails);
    batch_paths_free(paths, n);
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}

void batch_summary_free(batch_summary *s)
{
    for (size_t i = 0; s->failures && i < s->n_failures; i++) {
        lp_alloc_free(s->failures[i].packet_path);
        lp_alloc_free(s->failures[i].error);
    }
    lp_alloc_free(s->failures);
    lp_alloc_free(s->outroot);
    memset(s, 0, sizeof *s);
}
