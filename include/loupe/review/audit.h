/* The workspace's audit log (design.md §5): audit.jsonl, one canonical-JSON entry per line,
 * each carrying its sequence number and the SHA-256 of the previous line, so an edited,
 * removed, reordered or forged entry breaks the chain; audit.head holds "SEQ HASH\n" of the
 * last entry so a truncated tail is caught too. Appends are serialised with flock, so the CLI
 * and a server may append to one log at once. Never log payloads or keys: only hashes, sizes,
 * identities and outcomes. Recovery rules: docs/internals/audit.md. */
#ifndef LOUPE_REVIEW_AUDIT_H
#define LOUPE_REVIEW_AUDIT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/base/sha256.h"

#define AUDIT_LOG_NAME "audit.jsonl"
#define AUDIT_HEAD_NAME "audit.head"
#define AUDIT_LINE_MAX (256u << 10) /* bytes of one entry, newline excluded */
#define AUDIT_EVENT_MAX 32          /* bytes of an event name: [a-z0-9_]+ */
#define AUDIT_WHO_MAX 128           /* bytes of the user name recorded */

/* What one append produced. */
typedef struct audit_entry_info {
    uint64_t seq;
    char hash[LP_SHA256_HEX]; /* of the entry's line bytes, newline excluded */
    int repaired;             /* a partial tail was cut first and a "repair" entry recorded */
} audit_entry_info;

/* Appends one entry to WORKSPACE_DIR/audit.jsonl (created 0600 if missing; the folder must
 * exist): {"at", "data", "event", "loupe", "prev", "seq", "who"} as one line. event is
 * [a-z0-9_]{1,32} ("review", "decision", "transmission", "batch", "serve", ...); data is an
 * object (borrowed; NULL means {}). Under an exclusive flock it re-reads the last line, cuts a
 * partial tail left by a crash (recording a "repair" entry before this one), brings a head
 * one entry behind up to date, and refuses (LP_ERR_INVALID) to append to a log whose tail
 * disagrees with audit.head, since that would hide removed entries. out may be NULL. */
lp_err audit_append(const char *workspace_dir, const char *event, const cJSON *data,
                    audit_entry_info *out, lp_error *err);

typedef struct audit_verify_report {
    int intact;         /* 1: every check passed */
    uint64_t entries;   /* complete entries that passed before the first problem (all if intact) */
    uint64_t bad_line;  /* 1-based line of the first problem; 0 if none or about audit.head */
    char reason[256];   /* the first problem alone, e.g. "hash chain broken (entry edited ...)" */
    char message[1024]; /* "audit.jsonl:17: REASON" (or "audit.head: REASON"), "" if intact */
    int head_behind;    /* intact, but audit.head lags one entry (a crash right after an
                         * append): the next append brings it up to date */
    uint64_t repairs;   /* "repair" entries in the chain: crashes recovered from */
    uint64_t last_seq;  /* of the last entry checked, 0 when none */
    char last_hash[LP_SHA256_HEX];
} audit_verify_report;

/* Checks the whole chain and the head without writing anything. Returns LP_OK whenever it
 * could read the files, intact or not (see out->intact); LP_ERR_IO when it could not. A
 * missing log with no head is an intact empty log. */
lp_err audit_verify(const char *workspace_dir, audit_verify_report *out, lp_error *err);

/* Sequential reader of the log's lines, for `audit show`. */
typedef struct audit_reader audit_reader;

typedef enum audit_line_kind {
    AUDIT_LINE_END,     /* no more lines */
    AUDIT_LINE_ENTRY,   /* a complete line (newline-terminated); not yet checked */
    AUDIT_LINE_PARTIAL, /* the last bytes of the file, without a newline */
    AUDIT_LINE_TOOLONG  /* a line over AUDIT_LINE_MAX: skipped, text is NULL */
} audit_line_kind;

/* A missing log opens as an empty one. Free with audit_reader_close. */
lp_err audit_reader_open(const char *workspace_dir, audit_reader **out, lp_error *err);
/* Next line: *text (n bytes, NUL-terminated, newline excluded) is borrowed until the next call;
 * *line_no is 1-based. */
lp_err audit_reader_next(audit_reader *r, audit_line_kind *kind, const char **text, size_t *n,
                         uint64_t *line_no, lp_error *err);
/* Accepts NULL. */
void audit_reader_close(audit_reader *r);

/* The user name entries record: $LOUPE_USER, else the login name, else "uid:N". */
void audit_who(char out[AUDIT_WHO_MAX]);

#endif
