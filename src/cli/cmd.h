/* Shared declarations of the sub-commands: each cmd_<verb>.c exports one
 * cmd_<verb>(argc, argv) that returns the process exit code. */
#ifndef LOUPE_CLI_CMD_H
#define LOUPE_CLI_CMD_H

enum { CMD_EXIT_OK = 0, CMD_EXIT_FAIL = 1, CMD_EXIT_USAGE = 2 };

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
