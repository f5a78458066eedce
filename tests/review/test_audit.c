/* Unit tests of the audit log: the chain and head written by appends, then tampering of
 * every kind on a temp workspace (edit, remove first/middle/last, reorder, truncate, bad JSON,
 * seq gap, non-canonical bytes, a head deleted or rolled back) with the exact line and reason
 * verify reports; crash recovery (a partial last line is reported, then cut and recorded by
 * the next append; a head one behind is accepted and repaired); four processes appending at
 * once. Hashes are checked against OpenSSL's one-shot SHA256 of the raw line bytes. */
#define _XOPEN_SOURCE 700 /* nftw, for removing the temp workspaces */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/base/alloc.h"
#include "loupe/base/fs.h"
#include "loupe/review/audit.h"

#define MAX_LINES 256

static char ws[512];
static int serial;
static char *lines[MAX_LINES];
static size_t n_lines;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fresh_ws(void)
{
    const char *tmp = getenv("LOUPE_TEST_TMP");
    if (ws[0])
        nftw(ws, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    snprintf(ws, sizeof ws, "%s/audit_%ld_%d", tmp ? tmp : "/tmp", (long)getpid(), serial++);
    nftw(ws, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(ws, 0700), 0);
}

static void path_of(const char *name, char out[600])
{
    snprintf(out, 600, "%s/%s", ws, name);
}

static void append_n(int n, const char *event)
{
    for (int i = 0; i < n; i++) {
        cJSON *d = cJSON_CreateObject();
        audit_entry_info info;
        lp_error err = {0};
        cJSON_AddNumberToObject(d, "i", i + 1);
        cJSON_AddStringToObject(d, "input_sha256", "ab12");
        if (audit_append(ws, event, d, &info, &err) != LP_OK)
            fail_msg("append: %s", err.msg);
        cJSON_Delete(d);
    }
}

static void free_lines(void)
{
    for (size_t i = 0; i < n_lines; i++)
        lp_alloc_free(lines[i]);
    n_lines = 0;
}

/* Loads audit.jsonl into lines[] (complete lines only). */
static void load_lines(void)
{
    char path[600];
    uint8_t *buf = NULL;
    size_t n = 0, start = 0;
    lp_error err = {0};

    free_lines();
    path_of(AUDIT_LOG_NAME, path);
    if (lp_fs_read_all(path, 64u << 20, &buf, &n, &err) != LP_OK)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            assert_true(n_lines < MAX_LINES);
            lines[n_lines++] = lp_alloc_strndup((const char *)buf + start, i - start);
            start = i + 1;
        }
    }
    lp_alloc_free(buf);
}

/* Writes lines[] back (each with its newline) plus an optional raw tail. */
static void store_lines(const char *tail)
{
    char path[600];
    FILE *f;

    path_of(AUDIT_LOG_NAME, path);
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n_lines; i++)
        fprintf(f, "%s\n", lines[i]);
    if (tail)
        fputs(tail, f);
    fclose(f);
}

static void drop_line(size_t k) /* 0-based */
{
    lp_alloc_free(lines[k]);
    memmove(lines + k, lines + k + 1, (n_lines - k - 1) * sizeof *lines);
    n_lines--;
}

/* Replaces the first occurrence of from by to in lines[k]. */
static void edit_line(size_t k, const char *from, const char *to)
{
    char *at = strstr(lines[k], from), *nl;
    size_t n;

    assert_non_null(at);
    n = strlen(lines[k]) - strlen(from) + strlen(to) + 1;
    nl = lp_alloc(n);
    snprintf(nl, n, "%.*s%s%s", (int)(at - lines[k]), lines[k], to, at + strlen(from));
    lp_alloc_free(lines[k]);
    lines[k] = nl;
}

static void sha_hex(const char *s, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void write_head(const char *text)
{
    char path[600];
    FILE *f;
    path_of(AUDIT_HEAD_NAME, path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_bad(uint64_t line, const char *message)
{
    audit_verify_report rep;
    lp_error err = {0};

    if (audit_verify(ws, &rep, &err) != LP_OK)
        fail_msg("verify: %s", err.msg);
    if (rep.intact || strcmp(rep.message, message) != 0)
        fail_msg("intact %d, message '%s', want '%s'", rep.intact, rep.message, message);
    assert_int_equal(rep.bad_line, line);
}

static void expect_intact(uint64_t entries)
{
    audit_verify_report rep;
    lp_error err = {0};

    if (audit_verify(ws, &rep, &err) != LP_OK)
        fail_msg("verify: %s", err.msg);
    if (!rep.intact)
        fail_msg("not intact: %s", rep.message);
    assert_int_equal(rep.entries, entries);
}

static void test_chain_and_head(void **state)
{
    char path[600], want[65], head[128];
    uint8_t *buf = NULL;
    size_t n = 0;
    audit_entry_info info;
    lp_error err = {0};
    cJSON *e;

    (void)state;
    fresh_ws();
    expect_intact(0); /* no log yet */
    setenv("LOUPE_USER", "tester", 1);
    append_n(3, "review");
    assert_int_equal(audit_append(ws, "decision", NULL, &info, &err), LP_OK);
    assert_int_equal(info.seq, 4);
    assert_int_equal(info.repaired, 0);
    load_lines();
    assert_int_equal(n_lines, 4);
    assert_non_null(strstr(lines[0],
                           "\"prev\":\""
                           "0000000000000000000000000000000000000000000000000000000000000000\""));
    for (size_t i = 1; i < 4; i++) {
        char p[80];
        sha_hex(lines[i - 1], want);
        snprintf(p, sizeof p, "\"prev\":\"%s\"", want);
        assert_non_null(strstr(lines[i], p));
    }
    /* keys sorted, one line, the fields the design names */
    assert_true(strncmp(lines[0], "{\"at\":\"", 7) == 0);
    e = cJSON_Parse(lines[3]);
    assert_non_null(e);
    assert_string_equal(cJSON_GetObjectItem(e, "who")->valuestring, "tester");
    assert_string_equal(cJSON_GetObjectItem(e, "event")->valuestring, "decision");
    assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, 4);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(e, "data")));
    assert_int_equal(strlen(cJSON_GetObjectItem(e, "at")->valuestring), 20); /* ....T..:..:..Z */
    cJSON_Delete(e);
    sha_hex(lines[3], want);
    assert_string_equal(info.hash, want);
    path_of(AUDIT_HEAD_NAME, path);
    assert_int_equal(lp_fs_read_all(path, 1024, &buf, &n, &err), LP_OK);
    snprintf(head, sizeof head, "4 %s\n", want);
    assert_string_equal((char *)buf, head);
    lp_alloc_free(buf);
    expect_intact(4);
    free_lines();
}

static void test_tamper(void **state)
{
    (void)state;
    /* an edited entry breaks the next entry's link */
    fresh_ws();
    append_n(20, "review");
    load_lines();
    edit_line(15, "\"i\":16", "\"i\":61");
    store_lines(NULL);
    expect_bad(17, "audit.jsonl:17: hash chain broken (entry edited or reordered)");

    /* middle, first and last removed */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    drop_line(2);
    store_lines(NULL);
    expect_bad(3, "audit.jsonl:3: seq gap: expected 3, found 4 (entries removed or reordered)");
    fresh_ws();
    append_n(5, "review");
    load_lines();
    drop_line(0);
    store_lines(NULL);
    expect_bad(1, "audit.jsonl:1: seq gap: expected 1, found 2 (entries removed or reordered)");
    fresh_ws();
    append_n(5, "review");
    load_lines();
    drop_line(4);
    drop_line(3);
    store_lines(NULL);
    expect_bad(4, "audit.jsonl:4: missing: audit.head records 5 entries, the log ends at 3 "
                  "(entries removed or log truncated)");

    /* reordered: as they are, and renumbered to hide it */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    {
        char *t = lines[1];
        lines[1] = lines[2];
        lines[2] = t;
    }
    store_lines(NULL);
    expect_bad(2, "audit.jsonl:2: seq gap: expected 2, found 3 (entries removed or reordered)");
    edit_line(1, "\"seq\":3", "\"seq\":2");
    edit_line(2, "\"seq\":2", "\"seq\":3");
    store_lines(NULL);
    expect_bad(2, "audit.jsonl:2: hash chain broken (entry edited or reordered)");

    /* the last entry edited: only the head can tell */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    edit_line(4, "\"i\":5", "\"i\":6");
    store_lines(NULL);
    expect_bad(5, "audit.jsonl:5: entry does not match audit.head (last entry edited)");

    /* bad JSON, a seq gap, bytes not canonical, a line too long */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    edit_line(1, "{", "{not json");
    store_lines(NULL);
    expect_bad(2, "audit.jsonl:2: not a JSON object (bad JSON line)");
    fresh_ws();
    append_n(5, "review");
    load_lines();
    edit_line(2, "\"seq\":3", "\"seq\":7");
    store_lines(NULL);
    expect_bad(3, "audit.jsonl:3: seq gap: expected 3, found 7 (entries removed or reordered)");
    fresh_ws();
    append_n(5, "review");
    load_lines();
    edit_line(1, "\"i\":2", "\"i\": 2");
    store_lines(NULL);
    expect_bad(2, "audit.jsonl:2: not in canonical form (entry edited by hand?)");
    fresh_ws();
    append_n(2, "review");
    load_lines();
    edit_line(1, "\"event\"", "\"extra\":1,\"event\"");
    store_lines(NULL);
    expect_bad(2, "audit.jsonl:2: entry has keys besides seq, prev, at, who, loupe, event, data");
    fresh_ws();
    append_n(2, "review");
    load_lines();
    lines[n_lines++] = lp_alloc_strdup("");
    store_lines(NULL);
    expect_bad(3, "audit.jsonl:3: empty line (not an entry)");
    free_lines();
}

static void test_head_rules(void **state)
{
    char path[600], want[65], head[128];
    audit_verify_report rep;
    audit_entry_info info;
    lp_error err = {0};

    (void)state;
    /* one behind (crash between the log's fsync and the head's rename): intact, then repaired */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    sha_hex(lines[3], want);
    snprintf(head, sizeof head, "4 %s\n", want);
    write_head(head);
    assert_int_equal(audit_verify(ws, &rep, &err), LP_OK);
    assert_true(rep.intact);
    assert_true(rep.head_behind);
    assert_int_equal(audit_append(ws, "batch", NULL, &info, &err), LP_OK);
    assert_int_equal(info.seq, 6);
    assert_int_equal(audit_verify(ws, &rep, &err), LP_OK);
    assert_true(rep.intact);
    assert_false(rep.head_behind);
    assert_int_equal(rep.entries, 6);

    /* the very first append's head never written */
    fresh_ws();
    append_n(1, "review");
    path_of(AUDIT_HEAD_NAME, path);
    unlink(path);
    assert_int_equal(audit_verify(ws, &rep, &err), LP_OK);
    assert_true(rep.intact && rep.head_behind);

    /* a deleted head, a garbled head, a head two behind */
    fresh_ws();
    append_n(5, "review");
    path_of(AUDIT_HEAD_NAME, path);
    unlink(path);
    expect_bad(0, "audit.head: missing while audit.jsonl holds 5 entries (head deleted?)");
    assert_int_equal(audit_append(ws, "review", NULL, NULL, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "refusing to append"));
    write_head("five\n");
    expect_bad(0, "audit.head: not \"SEQ HASH\" (edited?)");
    load_lines();
    sha_hex(lines[2], want);
    snprintf(head, sizeof head, "3 %s\n", want);
    write_head(head);
    expect_bad(5, "audit.jsonl:5: entry beyond audit.head, which records 3 entries (head rolled "
                  "back or entries added by hand)");

    /* appending after removed entries would hide them: refused, log untouched */
    fresh_ws();
    append_n(5, "review");
    load_lines();
    drop_line(4);
    store_lines(NULL);
    assert_int_equal(audit_append(ws, "review", NULL, NULL, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "ends at entry 4 but audit.head records 5"));
    load_lines();
    assert_int_equal(n_lines, 4);
    free_lines();
}

static void test_crash_partial(void **state)
{
    static const char partial[] = "{\"at\":\"2027-03-01T12:00:00Z\",\"data\":{\"i\":4";
    audit_verify_report rep;
    audit_entry_info info;
    lp_error err = {0};
    cJSON *e, *d;
    char want[65];

    (void)state;
    fresh_ws();
    append_n(3, "review");
    load_lines();
    store_lines(partial);
    expect_bad(4, "audit.jsonl:4: incomplete last line (crash during append?)");
    /* the next append cuts the partial line, records it, then appends its own entry */
    assert_int_equal(audit_append(ws, "review", NULL, &info, &err), LP_OK);
    assert_int_equal(info.seq, 5);
    assert_true(info.repaired);
    assert_int_equal(audit_verify(ws, &rep, &err), LP_OK);
    if (!rep.intact)
        fail_msg("%s", rep.message);
    assert_int_equal(rep.entries, 5);
    assert_int_equal(rep.repairs, 1);
    load_lines();
    e = cJSON_Parse(lines[3]);
    assert_string_equal(cJSON_GetObjectItem(e, "event")->valuestring, "repair");
    d = cJSON_GetObjectItem(e, "data");
    assert_int_equal(cJSON_GetObjectItem(d, "truncated_bytes")->valueint, strlen(partial));
    sha_hex(partial, want);
    assert_string_equal(cJSON_GetObjectItem(d, "truncated_sha256")->valuestring, want);
    cJSON_Delete(e);
    /* every complete entry survived */
    for (int i = 0; i < 3; i++) {
        char p[16];
        snprintf(p, sizeof p, "\"i\":%d", i + 1);
        assert_non_null(strstr(lines[i], p));
    }
    /* a log that is only a partial line */
    fresh_ws();
    free_lines();
    store_lines("{\"at\"");
    expect_bad(1, "audit.jsonl:1: incomplete last line (crash during append?)");
    assert_int_equal(audit_append(ws, "review", NULL, &info, &err), LP_OK);
    assert_int_equal(info.seq, 2);
    expect_intact(2);
    free_lines();
}

static void test_concurrent(void **state)
{
    int seen[200] = {0};
    audit_verify_report rep;
    lp_error err = {0};

    (void)state;
    fresh_ws();
    for (int c = 0; c < 4; c++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < 50; i++) {
                cJSON *d = cJSON_CreateObject();
                cJSON_AddNumberToObject(d, "child", c);
                cJSON_AddNumberToObject(d, "i", i);
                if (audit_append(ws, "batch", d, NULL, &err) != LP_OK) {
                    fprintf(stderr, "child %d: %s\n", c, err.msg);
                    _exit(1);
                }
                cJSON_Delete(d);
            }
            _exit(0);
        }
    }
    for (int c = 0; c < 4; c++) {
        int status = 0;
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(audit_verify(ws, &rep, &err), LP_OK);
    if (!rep.intact)
        fail_msg("%s", rep.message);
    assert_int_equal(rep.entries, 200);
    load_lines();
    assert_int_equal(n_lines, 200);
    for (size_t k = 0; k < n_lines; k++) {
        cJSON *e = cJSON_Parse(lines[k]), *d = cJSON_GetObjectItem(e, "data");
        int child = cJSON_GetObjectItem(d, "child")->valueint;
        int i = cJSON_GetObjectItem(d, "i")->valueint;
        assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, (int)k + 1);
        assert_int_equal(seen[child * 50 + i]++, 0);
        cJSON_Delete(e);
    }
    free_lines();
}

static void test_refusals_and_reader(void **state)
{
    lp_error err = {0};
    cJSON *d = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    char *big = lp_alloc(AUDIT_LINE_MAX + 11);
    audit_reader *r = NULL;
    audit_line_kind kind;
    const char *text;
    size_t n;
    uint64_t line_no;

    (void)state;
    fresh_ws();
    assert_int_equal(audit_append(ws, "Review!", NULL, NULL, &err), LP_ERR_USAGE);
    assert_non_null(strstr(err.msg, "event 'Review!'"));
    assert_int_equal(audit_append(ws, "review", arr, NULL, &err), LP_ERR_USAGE);
    memset(big, 'x', AUDIT_LINE_MAX + 10);
    big[AUDIT_LINE_MAX + 10] = '\0';
    cJSON_AddStringToObject(d, "note", big);
    assert_int_equal(audit_append(ws, "decision", d, NULL, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "max 256 KiB"));
    expect_intact(0);
    assert_int_equal(audit_append("/nonexistent/ws", "review", NULL, NULL, &err), LP_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/ws/audit.jsonl"));

    append_n(2, "review");
    load_lines();
    store_lines("{\"tail");
    assert_int_equal(audit_reader_open(ws, &r, &err), LP_OK);
    for (uint64_t want = 1; want <= 2; want++) {
        assert_int_equal(audit_reader_next(r, &kind, &text, &n, &line_no, &err), LP_OK);
        assert_int_equal(kind, AUDIT_LINE_ENTRY);
        assert_int_equal(line_no, want);
        assert_string_equal(text, lines[want - 1]);
        assert_int_equal(n, strlen(lines[want - 1]));
    }
    assert_int_equal(audit_reader_next(r, &kind, &text, &n, &line_no, &err), LP_OK);
    assert_int_equal(kind, AUDIT_LINE_PARTIAL);
    assert_string_equal(text, "{\"tail");
    assert_int_equal(audit_reader_next(r, &kind, &text, &n, &line_no, &err), LP_OK);
    assert_int_equal(kind, AUDIT_LINE_END);
    audit_reader_close(r);

    /* a line over the cap is reported as such, not read into memory whole */
    lines[n_lines++] = big;
    big = NULL;
    store_lines(NULL);
    expect_bad(3, "audit.jsonl:3: line longer than 256 KiB (not an entry)");
    cJSON_Delete(d);
    cJSON_Delete(arr);
    free_lines();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_head), cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_head_rules),     cmocka_unit_test(test_crash_partial),
        cmocka_unit_test(test_concurrent),     cmocka_unit_test(test_refusals_and_reader),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (ws[0])
        nftw(ws, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
