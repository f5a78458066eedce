/* `loupe bench <what>`: dispatches to the benchmark programs in bench/, which
 * measure and print; the cli layer only parses the verb. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cmd.h"

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(
            argc < 2 ? stderr : stdout,
            "usage: loupe bench kernels [-t THREADS] [-r REPEATS] [--isa ISA] [--type T]\n"
            "                           [--mb MIB] [--json]\n"
            "       loupe bench model -m MODEL [-p 512] [-n 128] [-t THREADS] [-r 3] [-c 8192]\n"
            "                         [--batch 512] [--cache-type f16|f32] [--json]\n"
            "       loupe bench media -m MODEL --mmproj MMPROJ [--image F] [--audio F]\n"
            "                         [--video F] [-t THREADS] [-r 3] [--video-frames 32]\n"
            "                         [--image-tokens 280] [--no-prefill] [--json]\n");
        return argc < 2 ? CMD_EXIT_USAGE : CMD_EXIT_OK;
    }
    if (!strcmp(argv[1], "kernels"))
        return bench_kernels(argc - 1, argv + 1);
    if (!strcmp(argv[1], "model"))
        return bench_model(argc - 1, argv + 1);
    if (!strcmp(argv[1], "grammar"))
        return bench_grammar(argc - 1, argv + 1);
    if (!strcmp(argv[1], "media"))
        return bench_media(argc - 1, argv + 1);
    fprintf(stderr, "loupe bench: unknown benchmark '%s' (known: kernels, model, grammar, media)\n",
            argv[1]);
    return CMD_EXIT_USAGE;
}
