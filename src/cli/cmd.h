/* Shared declarations of the sub-commands: each cmd_<verb>.c exports one
 * cmd_<verb>(argc, argv) that returns the process exit code. */
#ifndef LOUPE_CLI_CMD_H
#define LOUPE_CLI_CMD_H

#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/review/review.h"

enum { CMD_EXIT_OK = 0, CMD_EXIT_FAIL = 1, CMD_EXIT_USAGE = 2 };

/* The options `review` and `batch` share (design.md §6), parsed and applied in one place. */
typedef struct cmd_review_common {
    const char *model, *mmproj, *workspace;
    int64_t threads, ctx, max_tokens, image_tokens, video_frames;
    uint64_t seed;
    int threads_set;
} cmd_review_common;

/* 1 when f is one of the shared options (its value v parsed into c), 0 when f is not one of
 * them, -1 on a bad value (err says which). */
int cmd_review_flag(const char *f, const char *v, cmd_review_common *c, lp_error *err);
/* The review settings of c into o (sampling, image tokens, video frames, workspace). */
void cmd_review_settings(const cmd_review_common *c, review_opts *o);
/* Loads c's model (and projector) into o->b and fills the identity review.json records. */
lp_err cmd_review_model(const cmd_review_common *c, review_opts *o, lp_error *err);

typedef int (*cmd_fn)(int argc, char **argv);
typedef struct cmd_entry {
    const char *name;
    cmd_fn fn;
    const char *help;
} cmd_entry;

int cmd_inspect(int argc, char **argv);
int cmd_gen_model(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_image_resize(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_review(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_batch(int argc, char **argv);

#endif
