/* Unit tests of the workspace store: folder resolution and creation (0700), the database as
 * SQLite itself sees it (WAL, user_version), review round trips, latest review of a packet by
 * any spelling of its path, decision refusals with their messages, the approval queue, batch
 * claim/done/failed/resume, two connections at once, and three processes claiming one job's
 * packets without ever sharing one. */
#define _XOPEN_SOURCE 700 /* nftw, for removing the temp workspaces */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/review/workspace.h"

static char dir[512];
static int serial;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static workspace *fresh(void)
{
    const char *tmp = getenv("LOUPE_TEST_TMP");
    workspace *ws = NULL;
    lp_error err = {0};

    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    snprintf(dir, sizeof dir, "%s/ws_%ld_%d", tmp ? tmp : "/tmp", (long)getpid(), serial++);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (workspace_open(dir, &ws, &err) != LP_OK)
        fail_msg("%s", err.msg);
    return ws;
}

static void add_review(workspace *ws, const char *id, const char *path, const char *at,
                       const char *const *assets, const int *needs, size_t n)
{
    workspace_asset a[8];
    cJSON *reasons[8];
    lp_error err = {0};

    for (size_t i = 0; i < n; i++) {
        reasons[i] = cJSON_CreateArray();
        if (needs[i])
            cJSON_AddItemToArray(reasons[i], cJSON_CreateString("aspect_ratio failed"));
        a[i] = (workspace_asset){
            .asset_id = assets[i], .needs_approval = needs[i], .reasons = reasons[i]};
    }
    workspace_review r = {.id = id,
                          .packet = "spring-sale",
                          .packet_path = path,
                          .packet_sha256 = "aa",
                          .review_sha256 = "bb",
                          .outdir = "/out",
                          .created_at = at,
                          .needs_approval = 1,
                          .assets = a,
                          .n_assets = n};
    if (workspace_record_review(ws, &r, &err) != LP_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(reasons[i]);
}

static void test_open_and_schema(void **state)
{
    char db[600], *res = NULL;
    struct stat st;
    sqlite3 *raw = NULL;
    sqlite3_stmt *q = NULL;
    workspace *ws;
    lp_error err = {0};

    (void)state;
    ws = fresh();
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(db, sizeof db, "%s/loupe.db", dir);
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), WORKSPACE_SCHEMA_VERSION);
    sqlite3_finalize(q);
    workspace_close(ws);
    /* reopening keeps the schema; a newer schema is refused by name */
    assert_int_equal(workspace_open(dir, &ws, &err), LP_OK);
    workspace_close(ws);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(workspace_open(dir, &ws, &err), LP_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "loupe.db: open: schema version 99 is newer than this loupe's "
                                 "(1): upgrade loupe");

    /* resolution: the argument, else $LOUPE_HOME, else ./.loupe (absolute) */
    setenv("LOUPE_HOME", "/srv/loupe-home", 1);
    assert_int_equal(workspace_resolve(NULL, &res, &err), LP_OK);
    assert_string_equal(res, "/srv/loupe-home");
    lp_alloc_free(res);
    assert_int_equal(workspace_resolve("/a/b/", &res, &err), LP_OK);
    assert_string_equal(res, "/a/b");
    lp_alloc_free(res);
    unsetenv("LOUPE_HOME");
    assert_int_equal(workspace_resolve(NULL, &res, &err), LP_OK);
    {
        char cwd[512], want[600];
        assert_non_null(getcwd(cwd, sizeof cwd));
        snprintf(want, sizeof want, "%s/.loupe", cwd);
        assert_string_equal(res, want);
    }
    lp_alloc_free(res);
}

static void test_reviews(void **state)
{
    static const char *const ids[] = {"hero-a", "headline-a"};
    static const int needs[] = {1, 0};
    char spelled[700];
    workspace_review_row *r = NULL;
    workspace *ws;
    lp_error err = {0};

    (void)state;
    ws = fresh();
    add_review(ws, "r1", dir, "2027-03-01T10:00:00Z", ids, needs, 2);
    assert_int_equal(workspace_get_review(ws, "r1", &r, &err), LP_OK);
    assert_string_equal(r->id, "r1");
    assert_string_equal(r->packet, "spring-sale");
    assert_string_equal(r->packet_sha256, "aa");
    assert_string_equal(r->review_sha256, "bb");
    assert_string_equal(r->outdir, "/out");
    assert_string_equal(r->created_at, "2027-03-01T10:00:00Z");
    assert_int_equal(r->needs_approval, 1);
    assert_int_equal(r->n_assets, 2);
    assert_string_equal(r->assets[0].asset_id, "hero-a");
    assert_int_equal(r->assets[0].needs_approval, 1);
    assert_string_equal(r->assets[0].reasons, "[\"aspect_ratio failed\"]");
    assert_string_equal(r->assets[1].reasons, "[]");
    workspace_review_row_free(r);
    assert_int_equal(workspace_get_review(ws, "r9", &r, &err), LP_ERR_NOTFOUND);
    assert_string_equal(err.msg, "loupe.db: get review: no review 'r9'");

    /* the same id twice: refused, and nothing half-written */
    {
        workspace_review dup = {.id = "r1", .packet = "p", .packet_path = "/x"};
        assert_int_equal(workspace_record_review(ws, &dup, &err), LP_ERR_INVALID);
        assert_non_null(strstr(err.msg, "loupe.db: record review: review 'r1': UNIQUE"));
    }
    {
        workspace_asset twice[2] = {{.asset_id = "a"}, {.asset_id = "a"}};
        workspace_review bad = {
            .id = "r7", .packet = "p", .packet_path = "/y", .assets = twice, .n_assets = 2};
        assert_int_equal(workspace_record_review(ws, &bad, &err), LP_ERR_INVALID);
        assert_non_null(strstr(err.msg, "review 'r7', asset 'a'"));
        assert_int_equal(workspace_get_review(ws, "r7", &r, &err), LP_ERR_NOTFOUND);
    }

    /* latest by packet, under any spelling of the path */
    add_review(ws, "r2", dir, "2027-03-02T10:00:00Z", ids, needs, 2);
    add_review(ws, "r0", dir, "2027-02-01T10:00:00Z", ids, needs, 1);
    snprintf(spelled, sizeof spelled, "%s/./", dir);
    assert_int_equal(workspace_latest_review(ws, spelled, &r, &err), LP_OK);
    assert_string_equal(r->id, "r2");
    workspace_review_row_free(r);
    assert_int_equal(workspace_latest_review(ws, "/no/such/packet", &r, &err), LP_ERR_NOTFOUND);
    assert_string_equal(err.msg, "loupe.db: latest review: no review of packet '/no/such/packet'");
    workspace_close(ws);
}

static void test_decisions_and_queue(void **state)
{
    static const char *const ids1[] = {"hero-a", "headline-a"};
    static const int needs1[] = {1, 0};
    static const char *const ids2[] = {"hero-a", "hero-b", "copy"};
    static const int needs2[] = {1, 1, 0};
    workspace_pending *p = NULL;
    workspace_decision_row *d = NULL;
    size_t n = 0;
    int64_t id = 0;
    workspace *ws;
    lp_error err = {0};

    (void)state;
    ws = fresh();
    add_review(ws, "r1", "/packets/a", "2027-03-01T10:00:00Z", ids1, needs1, 2);
    assert_int_equal(workspace_record_decision(ws, "r1", "hero-a", "maybe", "ann", NULL, &id, &err),
                     LP_ERR_INVALID);
    assert_string_equal(err.msg,
                        "loupe.db: record decision: 'maybe' is not a decision (approve or reject)");
    assert_int_equal(workspace_record_decision(ws, "r1", "zz", "approve", "ann", NULL, &id, &err),
                     LP_ERR_INVALID);
    assert_string_equal(err.msg, "loupe.db: record decision: review 'r1' has no asset 'zz' (its "
                                 "assets: hero-a, headline-a)");
    assert_int_equal(
        workspace_record_decision(ws, "r5", "hero-a", "approve", NULL, NULL, &id, &err),
        LP_ERR_NOTFOUND);
    assert_string_equal(err.msg, "loupe.db: record decision: no review 'r5'");

    assert_int_equal(workspace_list_pending(ws, &p, &n, &err), LP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].review_id, "r1");
    assert_string_equal(p[0].asset_id, "hero-a");
    assert_string_equal(p[0].packet_path, "/packets/a");
    workspace_pending_free(p, n);

    /* a newer review of the packet supersedes the older one in the queue */
    add_review(ws, "r2", "/packets/a", "2027-03-02T10:00:00Z", ids2, needs2, 3);
    assert_int_equal(workspace_list_pending(ws, &p, &n, &err), LP_OK);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].review_id, "r2");
    assert_string_equal(p[0].asset_id, "hero-a");
    assert_string_equal(p[1].asset_id, "hero-b");
    assert_string_equal(p[1].reasons, "[\"aspect_ratio failed\"]");
    workspace_pending_free(p, n);
    assert_int_equal(
        workspace_record_decision(ws, "r2", "hero-a", "approve", "ann", "fine", &id, &err), LP_OK);
    assert_true(id > 0);
    assert_int_equal(
        workspace_record_decision(ws, "r2", "hero-b", "reject", "bob", NULL, NULL, &err), LP_OK);
    assert_int_equal(workspace_list_pending(ws, &p, &n, &err), LP_OK);
    assert_int_equal(n, 0);
    workspace_pending_free(p, n);
    assert_int_equal(workspace_list_decisions(ws, "r2", &d, &n, &err), LP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(d[0].id, id);
    assert_string_equal(d[0].decision, "approve");
    assert_string_equal(d[0].by, "ann");
    assert_string_equal(d[0].note, "fine");
    assert_string_equal(d[1].decision, "reject");
    assert_null(d[1].note);
    assert_int_equal(strlen(d[1].at), 20);
    workspace_decisions_free(d, n);
    workspace_close(ws);
}

static void test_batch(void **state)
{
    static const char *const paths[] = {"/p/1", "/p/2", "/p/3"};
    workspace_batch_counts c;
    workspace_batch_state s;
    char *got = NULL;
    int64_t reset = -1;
    workspace *ws;
    lp_error err = {0};

    (void)state;
    ws = fresh();
    assert_int_equal(workspace_batch_add(ws, "job1", paths, 3, &err), LP_OK);
    assert_int_equal(workspace_batch_claim(ws, "job1", &got, &err), LP_OK);
    assert_string_equal(got, "/p/1");
    lp_alloc_free(got);
    assert_int_equal(workspace_batch_claim(ws, "job1", &got, &err), LP_OK);
    assert_string_equal(got, "/p/2");
    lp_alloc_free(got);
    assert_int_equal(workspace_batch_done(ws, "job1", "/p/1", "r1", &err), LP_OK);
    assert_int_equal(workspace_batch_failed(ws, "job1", "/p/2", "boom", &err), LP_OK);
    assert_int_equal(workspace_batch_done(ws, "job1", "/p/3", "r3", &err), LP_ERR_INVALID);
    assert_string_equal(err.msg, "loupe.db: batch done: job 'job1' has no running packet '/p/3'");
    assert_int_equal(workspace_batch_claim(ws, "job1", &got, &err), LP_OK);
    assert_string_equal(got, "/p/3");
    lp_alloc_free(got);
    /* the process dies here; a restart puts its running packet back */
    assert_int_equal(workspace_batch_resume(ws, "job1", &reset, &err), LP_OK);
    assert_int_equal(reset, 1);
    assert_int_equal(workspace_batch_get(ws, "job1", "/p/3", &s, &err), LP_OK);
    assert_int_equal(s, WORKSPACE_BATCH_PENDING);
    /* re-adding keeps finished packets finished */
    assert_int_equal(workspace_batch_add(ws, "job1", paths, 3, &err), LP_OK);
    assert_int_equal(workspace_batch_count(ws, "job1", &c, &err), LP_OK);
    assert_int_equal(c.pending, 1);
    assert_int_equal(c.running, 0);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.failed, 1);
    assert_int_equal(workspace_batch_claim(ws, "job1", &got, &err), LP_OK);
    assert_string_equal(got, "/p/3");
    lp_alloc_free(got);
    assert_int_equal(workspace_batch_claim(ws, "job1", &got, &err), LP_OK);
    assert_null(got);
    assert_int_equal(workspace_batch_claim(ws, "other", &got, &err), LP_OK);
    assert_null(got);
    assert_int_equal(workspace_batch_get(ws, "job1", "/p/9", &s, &err), LP_ERR_NOTFOUND);
    workspace_close(ws);
}

static void test_two_connections(void **state)
{
    static const char *const ids[] = {"a"};
    static const int needs[] = {1};
    char paths_buf[30][16];
    const char *paths[30];
    workspace_batch_counts c;
    workspace_review_row *r = NULL;
    workspace *ws = fresh(), *ws2 = NULL;
    lp_error err = {0};

    (void)state;
    assert_int_equal(workspace_open(dir, &ws2, &err), LP_OK);
    add_review(ws, "r1", "/pk", NULL, ids, needs, 1);
    assert_int_equal(workspace_get_review(ws2, "r1", &r, &err), LP_OK);
    assert_int_equal(strlen(r->created_at), 20);
    workspace_review_row_free(r);
    assert_int_equal(workspace_record_decision(ws2, "r1", "a", "approve", NULL, NULL, NULL, &err),
                     LP_OK);
    workspace_close(ws2);

    /* three processes drain one job; batch_done refuses a packet not running, so a packet
     * claimed twice would make a child fail */
    for (int i = 0; i < 30; i++) {
        snprintf(paths_buf[i], sizeof paths_buf[i], "/q/%d", i);
        paths[i] = paths_buf[i];
    }
    assert_int_equal(workspace_batch_add(ws, "j", paths, 30, &err), LP_OK);
    workspace_close(ws);
    for (int k = 0; k < 3; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            workspace *w = NULL;
            char *got = NULL;
            if (workspace_open(dir, &w, &err) != LP_OK)
                _exit(2);
            for (;;) {
                if (workspace_batch_claim(w, "j", &got, &err) != LP_OK)
                    _exit(3);
                if (!got)
                    break;
                if (workspace_batch_done(w, "j", got, "r", &err) != LP_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    _exit(4);
                }
                lp_alloc_free(got);
            }
            workspace_close(w);
            _exit(0);
        }
    }
    for (int k = 0; k < 3; k++) {
        int status = 0;
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(workspace_open(dir, &ws, &err), LP_OK);
    assert_int_equal(workspace_batch_count(ws, "j", &c, &err), LP_OK);
    assert_int_equal(c.done, 30);
    assert_int_equal(c.pending + c.running + c.failed, 0);
    workspace_close(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_schema),     cmocka_unit_test(test_reviews),
        cmocka_unit_test(test_decisions_and_queue), cmocka_unit_test(test_batch),
        cmocka_unit_test(test_two_connections),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
