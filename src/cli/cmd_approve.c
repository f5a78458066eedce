/* `loupe approve REVIEW_ID|PACKET ASSET --decision approve|reject --by NAME [--note TEXT]`:
 * a person's decision on a flagged asset, kept in the workspace and appended to the audit log.
 * Decisions never touch review.json (design.md §4). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/review/audit.h"
#include "loupe/review/workspace.h"

static void cmd_approve_usage(FILE *f)
{
    fprintf(f, "usage: loupe approve REVIEW_ID|PACKET ASSET --decision approve|reject --by NAME\n"
               "         [--note TEXT] [--workspace DIR]\n"
               "  A PACKET path means that packet's latest review in the workspace.\n");
}

typedef struct cmd_approve_args {
    const char *target, *asset, *decision, *by, *note, *workspace;
} cmd_approve_args;

static int cmd_approve_parse(int argc, char **argv, cmd_approve_args *a, lp_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (f[0] != '-') {
            if (!a->target)
                a->target = f;
            else if (!a->asset)
                a->asset = f;
            else {
                lp_err_set(err, LP_ERR_USAGE, "unexpected argument '%s'", f);
                return 0;
            }
            continue;
        }
        if (!v) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", f);
            return 0;
        }
        i++;
        if (!strcmp(f, "--decision"))
            a->decision = v;
        else if (!strcmp(f, "--by"))
            a->by = v;
        else if (!strcmp(f, "--note"))
            a->note = v;
        else if (!strcmp(f, "--workspace"))
            a->workspace = v;
        else {
            lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", f);
            return 0;
        }
    }
    if (!a->target || !a->asset || !a->decision || !a->by) {
        lp_err_set(err, LP_ERR_USAGE, "REVIEW_ID|PACKET, ASSET, --decision and --by are required");
        return 0;
    }
    if (strcmp(a->decision, "approve") != 0 && strcmp(a->decision, "reject") != 0) {
        lp_err_set(err, LP_ERR_USAGE, "--decision: '%s' is not approve or reject", a->decision);
        return 0;
    }
    return 1;
}

static lp_err cmd_approve_run(const cmd_approve_args *a, lp_error *err)
{
    workspace *ws = NULL;
    workspace_review_row *row = NULL;
    cJSON *data = NULL;
    int64_t id = 0;
    audit_entry_info info;
    lp_err rc = workspace_open(a->workspace, &ws, err);

    if (rc)
        return rc;
    /* "r-" and 16 hex digits is a review id; anything else is a packet path */
    if (!strncmp(a->target, "r-", 2) && strlen(a->target) == 18)
        rc = workspace_get_review(ws, a->target, &row, err);
    else
        rc = workspace_latest_review(ws, a->target, &row, err);
    if (!rc)
        rc =
            workspace_record_decision(ws, row->id, a->asset, a->decision, a->by, a->note, &id, err);
    if (rc)
        goto done;
    data = cJSON_CreateObject();
    if (!data || !cJSON_AddStringToObject(data, "review_id", row->id) ||
        !cJSON_AddStringToObject(data, "packet", row->packet) ||
        !cJSON_AddStringToObject(data, "review_sha256", row->review_sha256) ||
        !cJSON_AddStringToObject(data, "asset", a->asset) ||
        !cJSON_AddStringToObject(data, "decision", a->decision) ||
        !cJSON_AddStringToObject(data, "by", a->by) ||
        !(a->note ? cJSON_AddStringToObject(data, "note", a->note)
                  : cJSON_AddNullToObject(data, "note")) ||
        !cJSON_AddNumberToObject(data, "decision_id", (double)id)) {
        rc = lp_err_set(err, LP_ERR_NOMEM, "approve: out of memory");
        goto done;
    }
    rc = audit_append(workspace_dir(ws), "decision", data, &info, err);
    if (!rc)
        printf("%s: %s %s by %s (decision %lld, audit entry %llu)\n", row->id, a->asset,
               !strcmp(a->decision, "approve") ? "approved" : "rejected", a->by, (long long)id,
               (unsigned long long)info.seq);
done:
    cJSON_Delete(data);
    workspace_review_row_free(row);
    workspace_close(ws);
    return rc;
}

int cmd_approve(int argc, char **argv)
{
    cmd_approve_args a = {0};
    lp_error err;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_approve_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (!cmd_approve_parse(argc, argv, &a, &err)) {
        fprintf(stderr, "loupe approve: %s\n", err.msg);
        cmd_approve_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (cmd_approve_run(&a, &err) != LP_OK) {
        fprintf(stderr, "loupe approve: %s\n", err.msg);
        return CMD_EXIT_FAIL;
    }
    return CMD_EXIT_OK;
}
