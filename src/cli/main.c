/* loupe: the command-line entry point. It only dispatches to one cmd_<verb>.c per
 * sub-command; exit codes follow design.md §6 (0 ok, 1 bad input, 2 usage). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const cmd_entry cmd_table[] = {
    {"inspect", cmd_inspect, "show a GGUF file's metadata, tensors and memory needs"},
    {"gen-model", cmd_gen_model, "write a random-weight Gemma model for tests and benchmarks"},
    {"tokenize", cmd_tokenize, "encode text with a model's tokenizer and print the ids"},
    {"run", cmd_run, "one user turn through a model, the answer streamed to stdout"},
    {"chat", cmd_chat, "an interactive multi-turn conversation with a model"},
    {"logits", cmd_logits, "run token ids through a model and write every position's logits"},
    {"image-resize", cmd_image_resize,
     "resize raw RGB8 with the Pillow-exact BICUBIC kernel (for tests)"},
    {"review", cmd_review, "review a packet: checks, model findings, reports, audit entry"},
    {"approve", cmd_approve, "record a person's approve/reject decision on a flagged asset"},
    {"audit", cmd_audit, "verify or show the workspace's audit log"},
    {"batch", cmd_batch, "review many packets, resumable"},
    {"bench", cmd_bench, "benchmarks: kernels, model, grammar"},
};

static void main_usage(FILE *out)
{
    fprintf(out, "usage: loupe <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
        fprintf(out, "  %-10s %s\n", cmd_table[i].name, cmd_table[i].help);
    fprintf(out, "\nloupe <command> --help shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        main_usage(stdout);
        return CMD_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
        if (!strcmp(argv[1], cmd_table[i].name))
            return cmd_table[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "loupe: unknown command '%s'\n", argv[1]);
    main_usage(stderr);
    return CMD_EXIT_USAGE;
}
