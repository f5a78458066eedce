/* The workspace store (design.md §5): a private folder (--workspace DIR, else $LOUPE_HOME,
 * else ./.loupe) holding loupe.db, an SQLite database in WAL mode with the reviews and their
 * assets, the decisions taken on them, batch job state and the server's approval queue.
 * Several processes may hold it open at once (busy timeout 5 s). Decisions are also audited,
 * but by the caller (audit.h): this module knows nothing of the log. Every error names
 * loupe.db and the operation ("loupe.db: record decision: review 'r1' has no asset 'x'"). */
#ifndef LOUPE_REVIEW_WORKSPACE_H
#define LOUPE_REVIEW_WORKSPACE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"

#define WORKSPACE_DB_NAME "loupe.db"
#define WORKSPACE_SCHEMA_VERSION 1
#define WORKSPACE_TEXT_MAX (64u << 10) /* bytes of any one text value stored (notes, errors) */

typedef struct workspace workspace;

/* The folder dir names, else $LOUPE_HOME, else "./.loupe", made absolute; nothing is created.
 * *out is the caller's (lp_alloc_free). */
lp_err workspace_resolve(const char *dir, char **out, lp_error *err);

/* Resolves the folder as above, creates it (0700) and loupe.db with the current schema if
 * missing, and opens it. Refuses a database whose schema is newer than this build's. */
lp_err workspace_open(const char *dir, workspace **out, lp_error *err);
/* Accepts NULL. */
void workspace_close(workspace *ws);
/* Absolute folder path, borrowed from ws. */
const char *workspace_dir(const workspace *ws);

/* ---- reviews ---- */

typedef struct workspace_asset {
    const char *asset_id;
    int needs_approval;
    const cJSON *reasons; /* an array (borrowed), stored as canonical JSON; NULL means [] */
} workspace_asset;

/* What a review records; every string is borrowed. packet_path is stored as its realpath when
 * it exists, so later look-ups by any spelling of the path agree. created_at NULL means now. */
typedef struct workspace_review {
    const char *id;
    const char *packet; /* the manifest's packet id */
    const char *packet_path;
    const char *packet_sha256;
    const char *review_sha256; /* of review.json */
    const char *outdir;
    const char *created_at; /* UTC ISO-8601 */
    int needs_approval;
    const workspace_asset *assets;
    size_t n_assets;
} workspace_review;

/* One transaction: the review and all its assets, or nothing. A second review with the same
 * id, or an asset id twice, is LP_ERR_INVALID. */
lp_err workspace_record_review(workspace *ws, const workspace_review *r, lp_error *err);

typedef struct workspace_asset_row {
    char *asset_id;
    int needs_approval;
    char *reasons; /* JSON array text */
} workspace_asset_row;

/* A review read back; owned by the caller (workspace_review_row_free). */
typedef struct workspace_review_row {
    char *id, *packet, *packet_path, *packet_sha256, *review_sha256, *outdir, *created_at;
    int needs_approval;
    workspace_asset_row *assets;
    size_t n_assets;
} workspace_review_row;

/* LP_ERR_NOTFOUND when there is no such review. */
lp_err workspace_get_review(workspace *ws, const char *id, workspace_review_row **out,
                            lp_error *err);
/* The most recent review of a packet path (any spelling of an existing path; latest by
 * created_at, then by insertion). LP_ERR_NOTFOUND when the packet was never reviewed here. */
lp_err workspace_latest_review(workspace *ws, const char *packet_path, workspace_review_row **out,
                               lp_error *err);
void workspace_review_row_free(workspace_review_row *r);

/* ---- decisions ---- */

/* Records "approve" or "reject" on an asset of a review; by and note may be NULL. Refuses an
 * unknown review (LP_ERR_NOTFOUND), an asset the review lacks and any other decision value
 * (LP_ERR_INVALID). A later decision on the same asset supersedes earlier ones; all are kept.
 * *id_out (may be NULL) gets the decision's id. */
lp_err workspace_record_decision(workspace *ws, const char *review_id, const char *asset_id,
                                 const char *decision, const char *by, const char *note,
                                 int64_t *id_out, lp_error *err);

typedef struct workspace_decision_row {
    int64_t id;
    char *review_id, *asset_id, *decision, *by, *note, *at; /* by, note may be NULL */
} workspace_decision_row;

/* A review's decisions, oldest first; *out owned by the caller (workspace_decisions_free). */
lp_err workspace_list_decisions(workspace *ws, const char *review_id, workspace_decision_row **out,
                                size_t *n_out, lp_error *err);
void workspace_decisions_free(workspace_decision_row *rows, size_t n);

/* An asset waiting for a person: needs approval, in the latest review of its packet, no
 * decision yet (the "queue" view). */
typedef struct workspace_pending {
    char *review_id, *asset_id, *packet, *packet_path, *reasons, *created_at;
} workspace_pending;

/* Oldest review first; *out owned by the caller (workspace_pending_free). */
lp_err workspace_list_pending(workspace *ws, workspace_pending **out, size_t *n_out, lp_error *err);
void workspace_pending_free(workspace_pending *rows, size_t n);

/* ---- batch ---- */

typedef enum workspace_batch_state {
    WORKSPACE_BATCH_PENDING,
    WORKSPACE_BATCH_RUNNING,
    WORKSPACE_BATCH_DONE,
    WORKSPACE_BATCH_FAILED
} workspace_batch_state;

/* Adds packets to a job as pending; one already in the job keeps its state (re-adding is how
 * a batch restarts without redoing finished packets). */
lp_err workspace_batch_add(workspace *ws, const char *job, const char *const *packet_paths,
                           size_t n, lp_error *err);
/* Atomically takes the job's oldest pending packet and marks it running, so two workers
 * never get the same one. *packet_path_out is the caller's (lp_alloc_free), NULL when none
 * is pending. */
lp_err workspace_batch_claim(workspace *ws, const char *job, char **packet_path_out, lp_error *err);
/* Finishes a running packet; refuses one that is not running (LP_ERR_INVALID). */
lp_err workspace_batch_done(workspace *ws, const char *job, const char *packet_path,
                            const char *review_id, lp_error *err);
lp_err workspace_batch_failed(workspace *ws, const char *job, const char *packet_path,
                              const char *error_msg, lp_error *err);
/* For restarting a job whose process died: its running packets go back to pending (they are
 * rerun from the start, design.md §5). *n_reset (may be NULL) counts them. */
lp_err workspace_batch_resume(workspace *ws, const char *job, int64_t *n_reset, lp_error *err);

typedef struct workspace_batch_counts {
    int64_t pending, running, done, failed;
} workspace_batch_counts;

lp_err workspace_batch_count(workspace *ws, const char *job, workspace_batch_counts *out,
                             lp_error *err);
/* State of one packet of a job; LP_ERR_NOTFOUND when it is not in the job. */
lp_err workspace_batch_get(workspace *ws, const char *job, const char *packet_path,
                           workspace_batch_state *state, lp_error *err);

#endif
