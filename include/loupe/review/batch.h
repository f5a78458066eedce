/* `loupe batch` below the CLI (design.md §5): many packets reviewed by forked worker processes
 * that claim them one at a time from the workspace's batch table, with a progress display, and
 * a job that survives kill -9: a packet counts as done once review_run returned (review.json
 * written, audit entry appended); one caught mid-review is rerun from the start, and one caught
 * after its audit entry but before being marked done is recognised, not reviewed twice. */
#ifndef LOUPE_REVIEW_BATCH_H
#define LOUPE_REVIEW_BATCH_H

#include <stddef.h>
#include <stdio.h>

#include "loupe/base/err.h"
#include "loupe/review/review.h"

#define BATCH_JOB_MAX 65           /* bytes of a job name with its NUL: [A-Za-z0-9._-]{1,64} */
#define BATCH_PACKETS_MAX 1000000  /* packets one job takes */
#define BATCH_JOBS_MAX 64          /* worker processes */
#define BATCH_LIST_MAX (64u << 20) /* bytes of a list file */

/* Packets named by input: a folder's subfolders holding packet.yaml or packet.json and its
 * .zip files, or a text file with one path per line ('#' comments and blank lines skipped,
 * relative paths taken from the list's folder). Every path is made absolute (realpath) and
 * the list sorted, so the order is the same on every machine. *paths_out is the caller's
 * (batch_paths_free). An entry that does not exist is an error naming the list line. */
lp_err batch_list_packets(const char *input, char ***paths_out, size_t *n_out, lp_error *err);
void batch_paths_free(char **paths, size_t n);

/* Keeps the packets whose 0-based index k in paths satisfies k % shard_n == shard_i - 1
 * (shard_i 1-based), compacting paths in place and freeing the rest; *n becomes their count.
 * shard_n 0 keeps all. */
void batch_shard(char **paths, size_t *n, int shard_i, int shard_n);

/* "b-" + 16 hex of SHA-256 of the absolute input path and the shard: the same command names
 * the same job, so rerunning it resumes. */
lp_err batch_job_id(const char *input, int shard_i, int shard_n, char out[BATCH_JOB_MAX],
                    lp_error *err);
/* 1 when name is a valid job name. */
int batch_job_name_ok(const char *name);

/* The output folder of one packet under outroot: its base name without ".zip". */
lp_err batch_packet_name(const char *packet_path, char *out, size_t n, lp_error *err);

typedef struct batch_opts {
    const char *input;     /* folder or list file */
    const char *job;       /* NULL: batch_job_id */
    int shard_i, shard_n;  /* 1-based shard of shard_n; 0, 0: every packet */
    int jobs;              /* worker processes, 1..BATCH_JOBS_MAX (0 means 1) */
    const char *outroot;   /* NULL: ./batch-<job> */
    const char *workspace; /* as review_opts */
    /* the settings of every review; packet, outdir, workspace and b are set per packet */
    review_opts review;
    /* called once in each worker before its first packet to load the model into o (o->b and
     * the model identity); NULL reviews with checks only. The worker closes o->b. */
    lp_err (*open_backend)(void *ctx, review_opts *o, lp_error *err);
    void *backend_ctx;
    int tty;        /* -1: isatty(fileno(progress)); 1: redrawn bar; 0: one line per packet */
    FILE *progress; /* NULL: stderr */
} batch_opts;

typedef struct batch_failure {
    char *packet_path;
    char *error; /* "failed in an earlier run" when this run did not see it */
} batch_failure;

/* What a batch did; owned by the caller (batch_summary_free). */
typedef struct batch_summary {
    char job[BATCH_JOB_MAX];
    char *outroot;    /* absolute */
    size_t total;     /* packets in the job (this shard) */
    size_t done;      /* reviewed, by this run or an earlier one */
    size_t failed;    /* all failed, this run or earlier */
    size_t reviewed;  /* reviewed by this run */
    size_t recovered; /* found reviewed by a killed run and marked done without a second review */
    size_t reset;     /* running packets of a dead run put back to pending */
    batch_failure *failures;
    size_t n_failures;
} batch_summary;

/* Runs the job to the end: lists and shards the packets, takes the job's lock
 * (WORKSPACE/batch-<job>.lock; LP_ERR_INVALID "job ... is running in another process" when
 * held), resets its dead running packets, adds the new ones, audits "batch" (start), runs the
 * workers, audits "batch" (end). A packet whose review fails is recorded failed and the batch
 * goes on: LP_OK then, with out->failed counting it. Errors are for the batch itself. */
lp_err batch_run(const batch_opts *o, batch_summary *out, lp_error *err);
/* Accepts a zeroed summary. */
void batch_summary_free(batch_summary *s);

#endif
