/* `loupe audit`: `verify` checks the workspace's audit log (hash chain, sequence, head) and
 * exits 1 naming the first bad line; `show` prints entries, the last N with --last, raw JSON
 * lines with --json. Neither writes to the workspace, so verifying never repairs anything:
 * repairs happen only in appends, where they are recorded. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "loupe/base/alloc.h"
#include "loupe/base/buf.h"
#include "loupe/base/json.h"
#include "loupe/base/parse.h"
#include "loupe/review/audit.h"
#include "loupe/review/workspace.h"

typedef struct cmd_audit_opts {
    const char *verb, *workspace;
    uint64_t last;
    int json;
} cmd_audit_opts;

static void cmd_audit_usage(FILE *f)
{
    fprintf(f, "usage: loupe audit verify [--workspace DIR]\n"
               "       loupe audit show [--workspace DIR] [--last N] [--json]\n"
               "  verify          check the audit log's hash chain and head; exit 1 naming the\n"
               "                  first bad line\n"
               "  show            print entries (seq, time, user, event, data)\n"
               "  --workspace DIR the workspace (default $LOUPE_HOME, else ./.loupe)\n"
               "  --last N        only the last N entries\n"
               "  --json          the entries' JSON lines as stored\n");
}

static int cmd_audit_parse(int argc, char **argv, cmd_audit_opts *o, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--workspace") || !strcmp(a, "--last")) {
            if (!v) {
                lp_err_set(err, LP_ERR_USAGE, "%s needs a value", a);
                return 0;
            }
            if (a[2] == 'w')
                o->workspace = v;
            else if (lp_parse_u64(v, UINT64_MAX, "--last", &o->last, err) != LP_OK)
                return 0;
            i++;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (a[0] == '-') {
            lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", a);
            return 0;
        } else if (o->verb) {
            lp_err_set(err, LP_ERR_USAGE, "one sub-command: verify or show");
            return 0;
        } else {
            o->verb = a;
        }
    }
    if (!o->verb || (strcmp(o->verb, "verify") != 0 && strcmp(o->verb, "show") != 0)) {
        lp_err_set(err, LP_ERR_USAGE, "%s%s%s", o->verb ? "unknown sub-command '" : "",
                   o->verb ? o->verb : "give verify or show", o->verb ? "'" : "");
        return 0;
    }
    if (o->json && strcmp(o->verb, "show") != 0) {
        lp_err_set(err, LP_ERR_USAGE, "--json goes with show");
        return 0;
    }
    return 1;
}

static int cmd_audit_verify(const char *dir)
{
    audit_verify_report rep;
    lp_error err = {0};

    if (audit_verify(dir, &rep, &err) != LP_OK) {
        fprintf(stderr, "loupe audit verify: %s\n", err.msg);
        return CMD_EXIT_FAIL;
    }
    if (!rep.intact) {
        fprintf(stderr, "loupe audit verify: %s/%s\n", dir, rep.message);
        fprintf(stderr, "loupe audit verify: %llu entries passed before it\n",
                (unsigned long long)rep.entries);
        return CMD_EXIT_FAIL;
    }
    printf("%s/%s: %llu entries, chain intact", dir, AUDIT_LOG_NAME,
           (unsigned long long)rep.entries);
    if (rep.entries > 0)
        printf(", last %llu %s", (unsigned long long)rep.last_seq, rep.last_hash);
    printf("\n");
    if (rep.repairs > 0)
        printf("%llu repair entries: appends recovered from a crash\n",
               (unsigned long long)rep.repairs);
    if (rep.head_behind)
        printf("audit.head is one entry behind (a crash right after an append): the next append "
               "updates it\n");
    return CMD_EXIT_OK;
}

/* One entry for people: "seq  at  who  event  {data}". */
static void cmd_audit_print(const char *text, size_t n, uint64_t line_no)
{
    cJSON *e = cJSON_ParseWithLength(text, n);
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "at");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(e, "who");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
    lp_buf data = {0};

    if (!cJSON_IsNumber(seq) || !cJSON_IsString(at) || !cJSON_IsString(who) ||
        !cJSON_IsString(ev)) {
        printf("%llu  (not an entry: run loupe audit verify)\n", (unsigned long long)line_no);
        cJSON_Delete(e);
        return;
    }
    lp_json_canonical(cJSON_GetObjectItemCaseSensitive(e, "data"), 0, &data);
    printf("%llu  %s  %s  %s  %s\n", (unsigned long long)seq->valuedouble, at->valuestring,
           who->valuestring, ev->valuestring, data.p && !data.failed ? data.p : "{}");
    lp_buf_free(&data);
    cJSON_Delete(e);
}

static int cmd_audit_show(const char *dir, uint64_t last, int json)
{
    audit_reader *r = NULL;
    audit_line_kind kind = AUDIT_LINE_END;
    const char *text;
    size_t n;
    uint64_t line_no = 0, total = 0;
    lp_error err = {0};

    /* a first pass counts the lines, so --last needs no memory for what it skips */
    for (int pass = last ? 0 : 1; pass < 2; pass++) {
        if (audit_reader_open(dir, &r, &err) != LP_OK)
            goto fail;
        for (;;) {
            if (audit_reader_next(r, &kind, &text, &n, &line_no, &err) != LP_OK)
                goto fail;
            if (kind == AUDIT_LINE_END)
                break;
            if (pass == 0) {
                total = line_no;
                continue;
            }
            if (last && line_no + last <= total)
                continue;
            if (kind == AUDIT_LINE_ENTRY && json)
                printf("%s\n", text);
            else if (kind == AUDIT_LINE_ENTRY)
                cmd_audit_print(text, n, line_no);
            else
                printf("%llu  (%s)\n", (unsigned long long)line_no,
                       kind == AUDIT_LINE_PARTIAL ? "incomplete last line (crash during append?)"
                                                  : "line longer than 256 KiB");
        }
        audit_reader_close(r);
        r = NULL;
    }
    return CMD_EXIT_OK;
fail:
    audit_reader_close(r);
    fprintf(stderr, "loupe audit show: %s\n", err.msg);
    return CMD_EXIT_FAIL;
}

int cmd_audit(int argc, char **argv)
{
    cmd_audit_opts o = {0};
    lp_error err = {0};
    char *dir = NULL;
    struct stat st;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cmd_audit_usage(stdout);
            return CMD_EXIT_OK;
        }
    }
    if (!cmd_audit_parse(argc, argv, &o, &err)) {
        fprintf(stderr, "loupe audit: %s\n", err.msg);
        cmd_audit_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (workspace_resolve(o.workspace, &dir, &err) != LP_OK) {
        fprintf(stderr, "loupe audit %s: %s\n", o.verb, err.msg);
        return CMD_EXIT_FAIL;
    }
    errno = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "loupe audit %s: %s: no workspace there (%s)\n", o.verb, dir,
                errno ? strerror(errno) : "not a folder");
        lp_alloc_free(dir);
        return CMD_EXIT_FAIL;
    }
    rc = !strcmp(o.verb, "verify") ? cmd_audit_verify(dir) : cmd_audit_show(dir, o.last, o.json);
    lp_alloc_free(dir);
    return rc;
}
