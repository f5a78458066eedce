/* The workspace store over SQLite: schema creation and versioning, reviews, decisions, the
 * approval queue and batch state. Every statement is a constant string with bound parameters
 * (no SQL is ever built from values), every multi-row change is one transaction, and every
 * error names loupe.db and the operation. The schema is created inside BEGIN IMMEDIATE after
 * re-reading user_version, so two processes opening a fresh workspace at once do not race. */
#include "loupe/review/workspace.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/json.h"

struct workspace {
    char *dir;
    sqlite3 *db;
};

static const char schema_sql[] =
    "CREATE TABLE reviews("
    " id TEXT PRIMARY KEY, packet TEXT NOT NULL, packet_path TEXT NOT NULL,"
    " packet_sha256 TEXT, review_sha256 TEXT, outdir TEXT, created_at TEXT NOT NULL,"
    " needs_approval INTEGER NOT NULL CHECK(needs_approval IN (0, 1)));"
    "CREATE INDEX reviews_by_packet ON reviews(packet_path, created_at);"
    "CREATE TABLE review_assets("
    " review_id TEXT NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,"
    " asset_id TEXT NOT NULL,"
    " needs_approval INTEGER NOT NULL CHECK(needs_approval IN (0, 1)),"
    " reasons TEXT NOT NULL DEFAULT '[]',"
    " PRIMARY KEY(review_id, asset_id));"
    "CREATE TABLE decisions("
    " id INTEGER PRIMARY KEY, review_id TEXT NOT NULL, asset_id TEXT NOT NULL,"
    " decision TEXT NOT NULL CHECK(decision IN ('approve', 'reject')),"
    " \"by\" TEXT, note TEXT, at TEXT NOT NULL,"
    " FOREIGN KEY(review_id, asset_id) REFERENCES review_assets(review_id, asset_id));"
    "CREATE INDEX decisions_by_asset ON decisions(review_id, asset_id);"
    "CREATE TABLE batch("
    " job TEXT NOT NULL, packet_path TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('pending', 'running', 'done', 'failed')),"
    " review_id TEXT, error TEXT, updated_at TEXT NOT NULL,"
    " PRIMARY KEY(job, packet_path));"
    /* superseded reviews leave the queue: only the latest review of a packet awaits people */
    "CREATE VIEW queue AS"
    " SELECT ra.review_id, ra.asset_id, r.packet, r.packet_path, ra.reasons, r.created_at"
    " FROM review_assets ra JOIN reviews r ON r.id = ra.review_id"
    " WHERE ra.needs_approval = 1"
    " AND r.rowid = (SELECT r2.rowid FROM reviews r2 WHERE r2.packet_path = r.packet_path"
    "   ORDER BY r2.created_at DESC, r2.rowid DESC LIMIT 1)"
    " AND NOT EXISTS (SELECT 1 FROM decisions d"
    "   WHERE d.review_id = ra.review_id AND d.asset_id = ra.asset_id);"
    "PRAGMA user_version = 1;";

#define REVIEW_COLS                                                                                \
    "SELECT id, packet, packet_path, packet_sha256, review_sha256, outdir, created_at,"            \
    " needs_approval FROM reviews"

static const char *const batch_state_names[] = {"pending", "running", "done", "failed"};

/* "loupe.db: OP: sqlite's message" */
static lp_err db_err(workspace *ws, lp_error *err, const char *op)
{
    return lp_err_set(err, LP_ERR_IO, "%s: %s: %s", WORKSPACE_DB_NAME, op,
                      ws && ws->db ? sqlite3_errmsg(ws->db) : "cannot open");
}

static void now_iso(char out[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static lp_err prep(workspace *ws, const char *op, const char *sql, sqlite3_stmt **st, lp_error *err)
{
    if (sqlite3_prepare_v2(ws->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_err(ws, err, op);
    }
    return LP_OK;
}

/* Binds a text or NULL; refuses text over the cap so a hostile note cannot bloat the db. */
static lp_err bind_text(workspace *ws, sqlite3_stmt *st, int idx, const char *s, const char *op,
                        lp_error *err)
{
    int rc;

    if (s && strlen(s) > WORKSPACE_TEXT_MAX)
        return lp_err_set(err, LP_ERR_LIMIT, "%s: %s: a value of %zu bytes (max %u)",
                          WORKSPACE_DB_NAME, op, strlen(s), WORKSPACE_TEXT_MAX);
    rc = s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
    return rc == SQLITE_OK ? LP_OK : db_err(ws, err, op);
}

/* Binds each of the n strings to ?1..?n. */
static lp_err bind_all(workspace *ws, sqlite3_stmt *st, const char *op, lp_error *err, int n, ...)
{
    va_list ap;
    lp_err rc = LP_OK;

    va_start(ap, n);
    for (int i = 1; i <= n && rc == LP_OK; i++)
        rc = bind_text(ws, st, i, va_arg(ap, const char *), op, err);
    va_end(ap);
    return rc;
}

/* Runs a statement that returns no rows. */
static lp_err step_done(workspace *ws, sqlite3_stmt *st, const char *op, lp_error *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return LP_OK;
    if (rc == SQLITE_CONSTRAINT)
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: %s", WORKSPACE_DB_NAME, op,
                          sqlite3_errmsg(ws->db));
    return db_err(ws, err, op);
}

static lp_err exec_const(workspace *ws, const char *sql, const char *op, lp_error *err)
{
    if (sqlite3_exec(ws->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ws, err, op);
    return LP_OK;
}

/* A column as a new string (NULL stays NULL); *nomem set when the copy fails. */
static char *col_dup(sqlite3_stmt *st, int i, int *nomem)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    char *d;

    if (!s)
        return NULL;
    d = lp_alloc_strdup((const char *)s);
    if (!d)
        *nomem = 1;
    return d;
}

lp_err workspace_resolve(const char *dir, char **out, lp_error *err)
{
    const char *d = dir;
    char cwd[PATH_MAX];
    lp_buf b = {0};

    *out = NULL;
    if (!d || !d[0]) {
        const char *home = getenv("LOUPE_HOME");
        d = home && home[0] ? home : "./.loupe";
    }
    while (d[0] == '.' && d[1] == '/')
        d += 2;
    if (d[0] != '/') {
        if (!getcwd(cwd, sizeof cwd))
            return lp_err_set(err, LP_ERR_IO, "workspace: cannot read the current folder: %s",
                              strerror(errno));
        lp_buf_printf(&b, "%s/", cwd);
    }
    lp_buf_puts(&b, d);
    while (b.n > 1 && b.p[b.n - 1] == '/')
        b.p[--b.n] = '\0';
    if (lp_buf_check(&b, "workspace path", err) != LP_OK)
        return LP_ERR_NOMEM;
    if (b.n >= PATH_MAX - 32) {
        lp_buf_free(&b);
        return lp_err_set(err, LP_ERR_LIMIT, "%s: workspace path too long", d);
    }
    *out = b.p;
    return LP_OK;
}

/* mkdir -p, each new folder 0700: the workspace holds who approved what. */
static lp_err make_dirs(char *path, lp_error *err)
{
    struct stat st;

    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            lp_err_set(err, LP_ERR_IO, "%s: cannot create the workspace folder: %s", path,
                       strerror(errno));
            *p = c;
            return LP_ERR_IO;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lp_err_set(err, LP_ERR_IO, "%s: workspace is not a folder", path);
    return LP_OK;
}

static lp_err schema_ensure(workspace *ws, lp_error *err)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    lp_err rc = exec_const(ws, "BEGIN IMMEDIATE", "create schema", err);

    if (rc != LP_OK)
        return rc;
    rc = prep(ws, "read schema version", "PRAGMA user_version", &st, err);
    if (rc == LP_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc == LP_OK && version < 0)
        rc = db_err(ws, err, "read schema version");
    if (rc == LP_OK && version > WORKSPACE_SCHEMA_VERSION)
        rc = lp_err_set(err, LP_ERR_UNSUPPORTED,
                        "%s: open: schema version %d is newer than this loupe's (%d): upgrade "
                        "loupe",
                        WORKSPACE_DB_NAME, version, WORKSPACE_SCHEMA_VERSION);
    if (rc == LP_OK && version == 0)
        rc = exec_const(ws, schema_sql, "create schema", err);
    if (rc == LP_OK)
        return exec_const(ws, "COMMIT", "create schema", err);
    sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

lp_err workspace_open(const char *dir, workspace **out, lp_error *err)
{
    char path[PATH_MAX], *abs = NULL;
    workspace *ws = NULL;
    sqlite3_stmt *st = NULL;
    const unsigned char *mode = NULL;
    lp_err rc;

    *out = NULL;
    rc = workspace_resolve(dir, &abs, err);
    if (rc == LP_OK)
        rc = make_dirs(abs, err);
    if (rc != LP_OK)
        goto fail;
    ws = lp_alloc_array(1, sizeof *ws);
    if (!ws || !realpath(abs, path)) {
        rc = lp_err_set(err, ws ? LP_ERR_IO : LP_ERR_NOMEM, "%s: workspace: %s", abs,
                        ws ? strerror(errno) : "out of memory");
        goto fail;
    }
    ws->dir = lp_alloc_strdup(path);
    if (!ws->dir) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: workspace: out of memory", abs);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/%s", ws->dir, WORKSPACE_DB_NAME);
    if (sqlite3_open_v2(path, &ws->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = lp_err_set(err, LP_ERR_IO, "%s: open: %s", path,
                        ws->db ? sqlite3_errmsg(ws->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(ws->db, 5000);
    rc = exec_const(ws, "PRAGMA foreign_keys = ON", "open", err);
    if (rc == LP_OK)
        rc = prep(ws, "open", "PRAGMA journal_mode = WAL", &st, err);
    if (rc == LP_OK && sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_text(st, 0);
    if (rc == LP_OK && (!mode || strcmp((const char *)mode, "wal") != 0))
        rc = lp_err_set(err, LP_ERR_IO, "%s: open: cannot switch to WAL mode: %s",
                        WORKSPACE_DB_NAME, sqlite3_errmsg(ws->db));
    sqlite3_finalize(st);
    if (rc == LP_OK)
        rc = schema_ensure(ws, err);
    if (rc != LP_OK)
        goto fail;
    lp_alloc_free(abs);
    *out = ws;
    return LP_OK;
fail:
    lp_alloc_free(abs);
    workspace_close(ws);
    return rc;
}

void workspace_close(workspace *ws)
{
    if (!ws)
        return;
    if (ws->db)
        sqlite3_close(ws->db);
    lp_alloc_free(ws->dir);
    lp_alloc_free(ws);
}

const char *workspace_dir(const workspace *ws)
{
    return ws->dir;
}

/* The stored spelling of a packet path: its realpath when it exists. */
static const char *packet_key(const char *path, char buf[PATH_MAX])
{
    return path && realpath(path, buf) ? buf : path;
}

static lp_err insert_assets(workspace *ws, const workspace_review *r, lp_error *err)
{
    static const char op[] = "record review";
    sqlite3_stmt *st = NULL;
    lp_err rc = prep(ws, op,
                     "INSERT INTO review_assets(review_id, asset_id, needs_approval, reasons)"
                     " VALUES (?1, ?2, ?3, ?4)",
                     &st, err);

    for (size_t i = 0; rc == LP_OK && i < r->n_assets; i++) {
        const workspace_asset *a = &r->assets[i];
        lp_buf reasons = {0};

        if (!a->asset_id || (a->reasons && !cJSON_IsArray(a->reasons))) {
            rc = lp_err_set(err, LP_ERR_USAGE, "%s: %s: asset %zu: %s", WORKSPACE_DB_NAME, op, i,
                            a->asset_id ? "reasons must be a JSON array" : "no asset id");
            break;
        }
        if (a->reasons)
            lp_json_canonical(a->reasons, 0, &reasons);
        else
            lp_buf_puts(&reasons, "[]");
        rc = lp_buf_check(&reasons, "asset reasons", err);
        sqlite3_reset(st);
        if (rc == LP_OK)
            rc = bind_all(ws, st, op, err, 2, r->id, a->asset_id);
        if (rc == LP_OK && sqlite3_bind_int(st, 3, a->needs_approval ? 1 : 0) != SQLITE_OK)
            rc = db_err(ws, err, op);
        if (rc == LP_OK)
            rc = bind_text(ws, st, 4, reasons.p, op, err);
        if (rc == LP_OK && sqlite3_step(st) != SQLITE_DONE)
            rc = lp_err_set(err, LP_ERR_INVALID, "%s: %s: review '%s', asset '%s': %s",
                            WORKSPACE_DB_NAME, op, r->id, a->asset_id, sqlite3_errmsg(ws->db));
        lp_buf_free(&reasons);
    }
    sqlite3_finalize(st);
    return rc;
}

lp_err workspace_record_review(workspace *ws, const workspace_review *r, lp_error *err)
{
    static const char op[] = "record review";
    char at[32], key[PATH_MAX];
    sqlite3_stmt *st = NULL;
    lp_err rc;

    if (!r->id || !r->packet || !r->packet_path)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %s: id, packet and packet_path are required",
                          WORKSPACE_DB_NAME, op);
    now_iso(at);
    rc = exec_const(ws, "BEGIN IMMEDIATE", op, err);
    if (rc != LP_OK)
        return rc;
    rc = prep(ws, op,
              "INSERT INTO reviews(id, packet, packet_path, packet_sha256, review_sha256, outdir,"
              " created_at, needs_approval) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
              &st, err);
    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 7, r->id, r->packet, packet_key(r->packet_path, key),
                      r->packet_sha256, r->review_sha256, r->outdir,
                      r->created_at ? r->created_at : at);
    if (rc == LP_OK && sqlite3_bind_int(st, 8, r->needs_approval ? 1 : 0) != SQLITE_OK)
        rc = db_err(ws, err, op);
    if (rc == LP_OK && sqlite3_step(st) != SQLITE_DONE)
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %s: review '%s': %s", WORKSPACE_DB_NAME, op,
                        r->id, sqlite3_errmsg(ws->db));
    sqlite3_finalize(st);
    if (rc == LP_OK)
        rc = insert_assets(ws, r, err);
    if (rc == LP_OK)
        return exec_const(ws, "COMMIT", op, err);
    sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void workspace_review_row_free(workspace_review_row *r)
{
    if (!r)
        return;
    lp_alloc_free(r->id);
    lp_alloc_free(r->packet);
    lp_alloc_free(r->packet_path);
    lp_alloc_free(r->packet_sha256);
    lp_alloc_free(r->review_sha256);
    lp_alloc_free(r->outdir);
    lp_alloc_free(r->created_at);
    for (size_t i = 0; i < r->n_assets; i++) {
        lp_alloc_free(r->assets[i].asset_id);
        lp_alloc_free(r->assets[i].reasons);
    }
    lp_alloc_free(r->assets);
    lp_alloc_free(r);
}

static lp_err load_assets(workspace *ws, workspace_review_row *r, const char *op, lp_error *err)
{
    sqlite3_stmt *st = NULL;
    int nomem = 0, step;
    size_t cap = 0;
    lp_err rc = prep(ws, op,
                     "SELECT asset_id, needs_approval, reasons FROM review_assets"
                     " WHERE review_id = ?1 ORDER BY rowid",
                     &st, err);

    if (rc == LP_OK)
        rc = bind_text(ws, st, 1, r->id, op, err);
    while (rc == LP_OK) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW)
            break;
        if (r->n_assets == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            workspace_asset_row *a = lp_alloc_resize(r->assets, ncap, sizeof *a);
            if (!a) {
                nomem = 1;
                break;
            }
            r->assets = a;
            cap = ncap;
        }
        workspace_asset_row *a = &r->assets[r->n_assets++];
        a->asset_id = col_dup(st, 0, &nomem);
        a->needs_approval = sqlite3_column_int(st, 1);
        a->reasons = col_dup(st, 2, &nomem);
    }
    if (rc == LP_OK && nomem)
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", WORKSPACE_DB_NAME, op);
    else if (rc == LP_OK && step != SQLITE_DONE)
        rc = db_err(ws, err, op);
    sqlite3_finalize(st);
    return rc;
}

/* Runs a review query bound to key and reads its first row with the assets. */
static lp_err read_review(workspace *ws, const char *sql, const char *key, const char *op,
                          const char *missing, workspace_review_row **out, lp_error *err)
{
    sqlite3_stmt *st = NULL;
    workspace_review_row *r = NULL;
    int nomem = 0, step = SQLITE_DONE;
    lp_err rc = prep(ws, op, sql, &st, err);

    *out = NULL;
    if (rc == LP_OK)
        rc = bind_text(ws, st, 1, key, op, err);
    if (rc == LP_OK)
        step = sqlite3_step(st);
    if (rc == LP_OK && step == SQLITE_DONE)
        rc = lp_err_set(err, LP_ERR_NOTFOUND, "%s: %s: %s '%s'", WORKSPACE_DB_NAME, op, missing,
                        key);
    else if (rc == LP_OK && step != SQLITE_ROW)
        rc = db_err(ws, err, op);
    if (rc == LP_OK) {
        r = lp_alloc_array(1, sizeof *r);
        if (!r) {
            nomem = 1;
        } else {
            r->id = col_dup(st, 0, &nomem);
            r->packet = col_dup(st, 1, &nomem);
            r->packet_path = col_dup(st, 2, &nomem);
            r->packet_sha256 = col_dup(st, 3, &nomem);
            r->review_sha256 = col_dup(st, 4, &nomem);
            r->outdir = col_dup(st, 5, &nomem);
            r->created_at = col_dup(st, 6, &nomem);
            r->needs_approval = sqlite3_column_int(st, 7);
        }
        if (nomem || !r->id)
            rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", WORKSPACE_DB_NAME, op);
    }
    sqlite3_finalize(st);
    if (rc == LP_OK)
        rc = load_assets(ws, r, op, err);
    if (rc != LP_OK) {
        workspace_review_row_free(r);
        return rc;
    }
    *out = r;
    return LP_OK;
}

lp_err workspace_get_review(workspace *ws, const char *id, workspace_review_row **out,
                            lp_error *err)
{
    return read_review(ws, REVIEW_COLS " WHERE id = ?1", id, "get review", "no review", out, err);
}

lp_err workspace_latest_review(workspace *ws, const char *packet_path, workspace_review_row **out,
                               lp_error *err)
{
    char key[PATH_MAX];

    return read_review(
        ws, REVIEW_COLS " WHERE packet_path = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 1",
        packet_key(packet_path, key), "latest review", "no review of packet", out, err);
}

/* The review's asset ids, "a, b, c", for a message naming what would have been accepted. */
static void asset_list(workspace *ws, const char *review_id, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    lp_buf b = {0};

    out[0] = '\0';
    if (sqlite3_prepare_v2(ws->db,
                           "SELECT asset_id FROM review_assets WHERE review_id = ?1 ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, review_id, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
        lp_buf_printf(&b, "%s%s", b.n ? ", " : "", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (!b.failed && b.p)
        snprintf(out, n, "%s", b.p);
    lp_buf_free(&b);
}

/* 1 when the row exists, 0 when not, -1 on a database error. */
static int row_exists(workspace *ws, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int found = -1, step;

    if (sqlite3_prepare_v2(ws->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        found = 1;
    else if (step == SQLITE_DONE)
        found = 0;
    sqlite3_finalize(st);
    return found;
}

lp_err workspace_record_decision(workspace *ws, const char *review_id, const char *asset_id,
                                 const char *decision, const char *by, const char *note,
                                 int64_t *id_out, lp_error *err)
{
    static const char op[] = "record decision";
    char at[32], assets[512];
    sqlite3_stmt *st = NULL;
    int found;
    lp_err rc;

    if (!decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0))
        return lp_err_set(err, LP_ERR_INVALID, "%s: %s: '%s' is not a decision (approve or reject)",
                          WORKSPACE_DB_NAME, op, decision ? decision : "(none)");
    if (!review_id || !asset_id)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %s: a review id and an asset id are required",
                          WORKSPACE_DB_NAME, op);
    found = row_exists(ws, "SELECT 1 FROM reviews WHERE id = ?1", review_id, NULL);
    if (found < 0)
        return db_err(ws, err, op);
    if (!found)
        return lp_err_set(err, LP_ERR_NOTFOUND, "%s: %s: no review '%s'", WORKSPACE_DB_NAME, op,
                          review_id);
    found = row_exists(ws, "SELECT 1 FROM review_assets WHERE review_id = ?1 AND asset_id = ?2",
                       review_id, asset_id);
    if (found < 0)
        return db_err(ws, err, op);
    if (!found) {
        asset_list(ws, review_id, assets, sizeof assets);
        return lp_err_set(err, LP_ERR_INVALID,
                          "%s: %s: review '%s' has no asset '%s' (its assets: %s)",
                          WORKSPACE_DB_NAME, op, review_id, asset_id, assets[0] ? assets : "none");
    }
    now_iso(at);
    rc = prep(ws, op,
              "INSERT INTO decisions(review_id, asset_id, decision, \"by\", note, at)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
              &st, err);
    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 6, review_id, asset_id, decision, by, note, at);
    if (rc == LP_OK)
        rc = step_done(ws, st, op, err);
    sqlite3_finalize(st);
    if (rc == LP_OK && id_out)
        *id_out = (int64_t)sqlite3_last_insert_rowid(ws->db);
    return rc;
}

void workspace_decisions_free(workspace_decision_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        lp_alloc_free(rows[i].review_id);
        lp_alloc_free(rows[i].asset_id);
        lp_alloc_free(rows[i].decision);
        lp_alloc_free(rows[i].by);
        lp_alloc_free(rows[i].note);
        lp_alloc_free(rows[i].at);
    }
    lp_alloc_free(rows);
}

/* Grows *rows (of elem bytes) so one more fits; 0 on success. */
static int grow(void **rows, size_t n, size_t *cap, size_t elem)
{
    void *p;

    if (n < *cap)
        return 0;
    p = lp_alloc_resize(*rows, *cap ? *cap * 2 : 8, elem);
    if (!p)
        return -1;
    memset((char *)p + n * elem, 0, ((*cap ? *cap * 2 : 8) - n) * elem);
    *rows = p;
    *cap = *cap ? *cap * 2 : 8;
    return 0;
}

lp_err workspace_list_decisions(workspace *ws, const char *review_id, workspace_decision_row **out,
                                size_t *n_out, lp_error *err)
{
    static const char op[] = "list decisions";
    sqlite3_stmt *st = NULL;
    workspace_decision_row *rows = NULL;
    size_t n = 0, cap = 0;
    int nomem = 0, step = SQLITE_DONE;
    lp_err rc = prep(ws, op,
                     "SELECT id, review_id, asset_id, decision, \"by\", note, at FROM decisions"
                     " WHERE review_id = ?1 ORDER BY id",
                     &st, err);

    *out = NULL;
    *n_out = 0;
    if (rc == LP_OK)
        rc = bind_text(ws, st, 1, review_id, op, err);
    while (rc == LP_OK && !nomem) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW)
            break;
        if (grow((void **)&rows, n, &cap, sizeof *rows) != 0) {
            nomem = 1;
            break;
        }
        workspace_decision_row *d = &rows[n++];
        d->id = sqlite3_column_int64(st, 0);
        d->review_id = col_dup(st, 1, &nomem);
        d->asset_id = col_dup(st, 2, &nomem);
        d->decision = col_dup(st, 3, &nomem);
        d->by = col_dup(st, 4, &nomem);
        d->note = col_dup(st, 5, &nomem);
        d->at = col_dup(st, 6, &nomem);
    }
    if (rc == LP_OK && nomem)
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", WORKSPACE_DB_NAME, op);
    else if (rc == LP_OK && step != SQLITE_DONE)
        rc = db_err(ws, err, op);
    sqlite3_finalize(st);
    if (rc != LP_OK) {
        workspace_decisions_free(rows, n);
        return rc;
    }
    *out = rows;
    *n_out = n;
    return LP_OK;
}

void workspace_pending_free(workspace_pending *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        lp_alloc_free(rows[i].review_id);
        lp_alloc_free(rows[i].asset_id);
        lp_alloc_free(rows[i].packet);
        lp_alloc_free(rows[i].packet_path);
        lp_alloc_free(rows[i].reasons);
        lp_alloc_free(rows[i].created_at);
    }
    lp_alloc_free(rows);
}

lp_err workspace_list_pending(workspace *ws, workspace_pending **out, size_t *n_out, lp_error *err)
{
    static const char op[] = "list pending";
    sqlite3_stmt *st = NULL;
    workspace_pending *rows = NULL;
    size_t n = 0, cap = 0;
    int nomem = 0, step = SQLITE_DONE;
    lp_err rc = prep(ws, op,
                     "SELECT review_id, asset_id, packet, packet_path, reasons, created_at"
                     " FROM queue ORDER BY created_at, review_id, asset_id",
                     &st, err);

    *out = NULL;
    *n_out = 0;
    while (rc == LP_OK && !nomem) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW)
            break;
        if (grow((void **)&rows, n, &cap, sizeof *rows) != 0) {
            nomem = 1;
            break;
        }
        workspace_pending *p = &rows[n++];
        p->review_id = col_dup(st, 0, &nomem);
        p->asset_id = col_dup(st, 1, &nomem);
        p->packet = col_dup(st, 2, &nomem);
        p->packet_path = col_dup(st, 3, &nomem);
        p->reasons = col_dup(st, 4, &nomem);
        p->created_at = col_dup(st, 5, &nomem);
    }
    if (rc == LP_OK && nomem)
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", WORKSPACE_DB_NAME, op);
    else if (rc == LP_OK && step != SQLITE_DONE)
        rc = db_err(ws, err, op);
    sqlite3_finalize(st);
    if (rc != LP_OK) {
        workspace_pending_free(rows, n);
        return rc;
    }
    *out = rows;
    *n_out = n;
    return LP_OK;
}

/* ---- batch ---- */

lp_err workspace_batch_add(workspace *ws, const char *job, const char *const *packet_paths,
                           size_t n, lp_error *err)
{
    static const char op[] = "batch add";
    char at[32];
    sqlite3_stmt *st = NULL;
    lp_err rc;

    if (!job)
        return lp_err_set(err, LP_ERR_USAGE, "%s: %s: no job name", WORKSPACE_DB_NAME, op);
    now_iso(at);
    rc = exec_const(ws, "BEGIN IMMEDIATE", op, err);
    if (rc == LP_OK)
        rc = prep(ws, op,
                  "INSERT INTO batch(job, packet_path, state, updated_at)"
                  " VALUES (?1, ?2, 'pending', ?3) ON CONFLICT(job, packet_path) DO NOTHING",
                  &st, err);
    for (size_t i = 0; rc == LP_OK && i < n; i++) {
        sqlite3_reset(st);
        rc = bind_all(ws, st, op, err, 3, job, packet_paths[i], at);
        if (rc == LP_OK)
            rc = step_done(ws, st, op, err);
    }
    sqlite3_finalize(st);
    if (rc == LP_OK)
        return exec_const(ws, "COMMIT", op, err);
    sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

lp_err workspace_batch_claim(workspace *ws, const char *job, char **packet_path_out, lp_error *err)
{
    static const char op[] = "batch claim";
    char at[32];
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE, nomem = 0;
    lp_err rc;

    *packet_path_out = NULL;
    now_iso(at);
    /* one statement: the pick and the mark cannot be split by another worker */
    rc = prep(ws, op,
              "UPDATE batch SET state = 'running', updated_at = ?2, error = NULL"
              " WHERE rowid = (SELECT rowid FROM batch WHERE job = ?1 AND state = 'pending'"
              " ORDER BY rowid LIMIT 1) RETURNING packet_path",
              &st, err);
    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 2, job, at);
    if (rc == LP_OK)
        step = sqlite3_step(st);
    if (rc == LP_OK && step == SQLITE_ROW) {
        *packet_path_out = col_dup(st, 0, &nomem);
        step = sqlite3_step(st);
    }
    if (rc == LP_OK && nomem)
        rc = lp_err_set(err, LP_ERR_NOMEM, "%s: %s: out of memory", WORKSPACE_DB_NAME, op);
    else if (rc == LP_OK && step != SQLITE_DONE)
        rc = db_err(ws, err, op);
    sqlite3_finalize(st);
    if (rc != LP_OK) {
        lp_alloc_free(*packet_path_out);
        *packet_path_out = NULL;
    }
    return rc;
}

/* Moves a running packet to done or failed; exactly one row must change. */
static lp_err batch_finish(workspace *ws, const char *op, const char *sql, const char *job,
                           const char *packet_path, const char *value, lp_error *err)
{
    char at[32];
    sqlite3_stmt *st = NULL;
    lp_err rc;

    now_iso(at);
    rc = prep(ws, op, sql, &st, err);
    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 4, job, packet_path, value, at);
    if (rc == LP_OK)
        rc = step_done(ws, st, op, err);
    sqlite3_finalize(st);
    if (rc == LP_OK && sqlite3_changes(ws->db) != 1)
        rc = lp_err_set(err, LP_ERR_INVALID, "%s: %s: job '%s' has no running packet '%s'",
                        WORKSPACE_DB_NAME, op, job, packet_path);
    return rc;
}

lp_err workspace_batch_done(workspace *ws, const char *job, const char *packet_path,
                            const char *review_id, lp_error *err)
{
    return batch_finish(ws, "batch done",
                        "UPDATE batch SET state = 'done', review_id = ?3, error = NULL,"
                        " updated_at = ?4 WHERE job = ?1 AND packet_path = ?2"
                        " AND state = 'running'",
                        job, packet_path, review_id, err);
}

lp_err workspace_batch_failed(workspace *ws, const char *job, const char *packet_path,
                              const char *error_msg, lp_error *err)
{
    return batch_finish(ws, "batch failed",
                        "UPDATE batch SET state = 'failed', error = ?3, updated_at = ?4"
                        " WHERE job = ?1 AND packet_path = ?2 AND state = 'running'",
                        job, packet_path, error_msg, err);
}

lp_err workspace_batch_resume(workspace *ws, const char *job, int64_t *n_reset, lp_error *err)
{
    static const char op[] = "batch resume";
    char at[32];
    sqlite3_stmt *st = NULL;
    lp_err rc;

    now_iso(at);
    rc = prep(ws, op,
              "UPDATE batch SET state = 'pending', updated_at = ?2"
              " WHERE job = ?1 AND state = 'running'",
              &st, err);
    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 2, job, at);
    if (rc == LP_OK)
        rc = step_done(ws, st, op, err);
    sqlite3_finalize(st);
    if (rc == LP_OK && n_reset)
        *n_reset = (int64_t)sqlite3_changes(ws->db);
    return rc;
}

lp_err workspace_batch_count(workspace *ws, const char *job, workspace_batch_counts *out,
                             lp_error *err)
{
    static const char op[] = "batch count";
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    lp_err rc =
        prep(ws, op, "SELECT state, count(*) FROM batch WHERE job = ?1 GROUP BY state", &st, err);

    memset(out, 0, sizeof *out);
    if (rc == LP_OK)
        rc = bind_text(ws, st, 1, job, op, err);
    while (rc == LP_OK) {
        step = sqlite3_step(st);
        if (step != SQLITE_ROW)
            break;
        const char *s = (const char *)sqlite3_column_text(st, 0);
        int64_t c = sqlite3_column_int64(st, 1);
        int64_t *slots[] = {&out->pending, &out->running, &out->done, &out->failed};
        for (int i = 0; s && i < 4; i++)
            if (!strcmp(s, batch_state_names[i]))
                *slots[i] = c;
    }
    if (rc == LP_OK && step != SQLITE_DONE)
        rc = db_err(ws, err, op);
    sqlite3_finalize(st);
    return rc;
}

lp_err workspace_batch_get(workspace *ws, const char *job, const char *packet_path,
                           workspace_batch_state *state, lp_error *err)
{
    static const char op[] = "batch get";
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    lp_err rc =
        prep(ws, op, "SELECT state FROM batch WHERE job = ?1 AND packet_path = ?2", &st, err);

    if (rc == LP_OK)
        rc = bind_all(ws, st, op, err, 2, job, packet_path);
    if (rc == LP_OK)
        step = sqlite3_step(st);
    if (rc == LP_OK && step == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        rc = LP_ERR_INVALID;
        for (int i = 0; s && i < 4; i++) {
            if (!strcmp(s, batch_state_names[i])) {
                *state = (workspace_batch_state)i;
                rc = LP_OK;
            }
        }
        if (rc != LP_OK)
            rc = lp_err_set(err, LP_ERR_INVALID, "%s: %s: bad state", WORKSPACE_DB_NAME, op);
    } else if (rc == LP_OK && step == SQLITE_DONE) {
        rc = lp_err_set(err, LP_ERR_NOTFOUND, "%s: %s: job '%s' has no packet '%s'",
                        WORKSPACE_DB_NAME, op, job, packet_path);
    } else if (rc == LP_OK) {
        rc = db_err(ws, err, op);
    }
    sqlite3_finalize(st);
    return rc;
}
