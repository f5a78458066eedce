/* `loupe batch DIR_OR_LIST` (design.md §5, §6): many packets reviewed by worker processes,
 * resumable after a kill, shardable across machines. Progress goes to stderr, the summary to
 * stdout. Exit 0 when every packet of the job is reviewed, 1 when any failed or the batch could
 * not run, 2 on usage. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "loupe/base/parse.h"
#include "loupe/base/threadpool.h"
#include "loupe/engine/gemma_arch.h"
#include "loupe/review/batch.h"
#include "loupe/review/review.h"
#include "loupe/route/local.h"

static void cmd_batch_usage(FILE *f)
{
    fprintf(f, "usage: loupe batch DIR_OR_LIST [--jobs N] [--shard I/N] [--job NAME]\n"
               "         [-m MODEL] [--mmproj FILE] [-o OUTROOT] [--workspace DIR]\n"
               "         [-t THREADS] [-c CTX] [--seed S] [-n MAX_TOKENS]\n"
               "         [--image-tokens 70|140|280|560|1120] [--video-frames N]\n"
               "  DIR_OR_LIST: a folder whose subfolders (with packet.yaml or .json) and .zip\n"
               "  files are packets, or a text file naming one packet per line.\n"
               "  Each packet's review goes to OUTROOT/<packet name>/ (OUTROOT defaults to\n"
               "  ./batch-<job>). Rerunning the same command resumes the job: finished packets\n"
               "  are kept, ones cut off by a kill are reviewed again from the start.\n"
               "  --shard I/N takes every N-th packet from the I-th, so N machines split a list.\n"
               "  --jobs N runs N worker processes; each loads the model.\n");
}

typedef struct cmd_batch_args {
    const char *input, *outroot, *job;
    int64_t jobs, shard_i, shard_n;
    cmd_review_common c; /* the options review takes */
} cmd_batch_args;

static int cmd_batch_shard(const char *v, cmd_batch_args *a, lp_error *err)
{
    char i[32];
    const char *slash = strchr(v, '/');

    if (!slash || (size_t)(slash - v) >= sizeof i) {
        lp_err_set(err, LP_ERR_USAGE, "--shard: I/N, e.g. 1/4");
        return 0;
    }
    memcpy(i, v, (size_t)(slash - v));
    i[slash - v] = '\0';
    if (lp_parse_i64(slash + 1, 1, 4096, "--shard N", &a->shard_n, err) ||
        lp_parse_i64(i, 1, a->shard_n, "--shard I", &a->shard_i, err))
        return 0;
    return 1;
}

/* The options review takes, and batch's own; 0 on a usage error (err says which). */
static int cmd_batch_option(const char *f, const char *v, cmd_batch_args *a, lp_error *err)
{
    int got = cmd_review_flag(f, v, &a->c, err);
    if (got)
        return got > 0;
    if (!strcmp(f, "-o"))
        a->outroot = v;
    else if (!strcmp(f, "--job"))
        a->job = v;
    else if (!strcmp(f, "--shard"))
        return cmd_batch_shard(v, a, err);
    else if (!strcmp(f, "--jobs"))
        return !lp_parse_i64(v, 1, BATCH_JOBS_MAX, "--jobs", &a->jobs, err);
    else {
        lp_err_set(err, LP_ERR_USAGE, "unknown option '%s'", f);
        return 0;
    }
    return 1;
}

static int cmd_batch_parse(int argc, char **argv, cmd_batch_args *a, lp_error *err)
{
    a->jobs = 1;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (f[0] != '-') {
            if (a->input) {
                lp_err_set(err, LP_ERR_USAGE, "one folder or list per batch ('%s' and '%s')",
                           a->input, f);
                return 0;
            }
            a->input = f;
            continue;
        }
        if (!v) {
            lp_err_set(err, LP_ERR_USAGE, "%s needs a value", f);
            return 0;
        }
        i++;
        if (!cmd_batch_option(f, v, a, err))
            return 0;
    }
    if (!a->input) {
        lp_err_set(err, LP_ERR_USAGE, "which packets? (a folder of packets or a list file)");
        return 0;
    }
    if (a->c.mmproj && !a->c.model) {
        lp_err_set(err, LP_ERR_USAGE, "--mmproj needs -m");
        return 0;
    }
    if (a->job && !batch_job_name_ok(a->job)) {
        lp_err_set(err, LP_ERR_USAGE, "--job: 1-64 of [A-Za-z0-9._-], not starting with '.'");
        return 0;
    }
    return 1;
}

/* Runs in each worker: loads the model there and fills the identity review.json records. */
static lp_err cmd_batch_model(void *ctx, review_opts *o, lp_error *err)
{
    const cmd_batch_args *a = ctx;
    return cmd_review_model(&a->c, o, err);
}

int cmd_batch(int argc, char **argv)
{
    cmd_batch_args a = {0};
    batch_opts o = {.tty = -1};
    batch_summary s = {0};
    lp_error err;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_batch_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (!cmd_batch_parse(argc, argv, &a, &err)) {
        fprintf(stderr, "loupe batch: %s\n", err.msg);
        cmd_batch_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (a.c.model && a.jobs > 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        fprintf(stderr,
                "loupe batch: warning: each of the %lld workers loads the model (%lld "
                "copies in memory)\n",
                (long long)a.jobs, (long long)a.jobs);
        if (!a.c.threads_set) /* share the cores rather than oversubscribe them */
            a.c.threads = cores / a.jobs > 0 ? cores / a.jobs : 1;
    }
    cmd_review_settings(&a.c, &o.review);
    o.input = a.input;
    o.job = a.job;
    o.shard_i = (int)a.shard_i;
    o.shard_n = (int)a.shard_n;
    o.jobs = (int)a.jobs;
    o.outroot = a.outroot;
    o.workspace = a.c.workspace;
    o.open_backend = a.c.model ? cmd_batch_model : NULL;
    o.backend_ctx = &a;
    if (batch_run(&o, &s, &err) != LP_OK) {
        fprintf(stderr, "loupe batch: %s\n", err.msg);
        batch_summary_free(&s);
        return err.code == LP_ERR_USAGE ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
    }
    printf("batch %s: %zu packets, %zu reviewed, %zu failed (this run: %zu reviewed, %zu "
           "recovered after a kill)\noutputs: %s/<packet>/\n",
           s.job, s.total, s.done, s.failed, s.reviewed, s.recovered, s.outroot);
    for (size_t i = 0; i < s.n_failures; i++)
        printf("failed: %s: %s\n", s.failures[i].packet_path, s.failures[i].error);
    int rc = s.failed ? CMD_EXIT_FAIL : CMD_EXIT_OK;
    batch_summary_free(&s);
    return rc;
}
