/* `loupe gen-model`: writes a random-weight Gemma model (engine/gen_model.h) for
 * tests and benchmarks. Progress goes to stderr; nothing is printed on stdout. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "loupe/base/parse.h"
#include "loupe/engine/gen_model.h"

static void cmd_gen_usage(FILE *out)
{
    fprintf(out, "usage: loupe gen-model --preset P [--type T] [--seed S] [--tokenizer FILE.json]\n"
                 "                       [--mmproj PROJ.gguf] -o FILE.gguf\n"
                 "  presets: ");
    for (const char *const *p = gen_preset_names(); *p; p++)
        fprintf(out, "%s%s", *p, p[1] ? ", " : "\n");
    fprintf(out,
            "  types: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k (default f32),\n"
            "         q4_k_m (Q4_K with Q6_K embedding, and attn_v/ffn_down in some layers)\n");
}

static void cmd_gen_progress(void *ctx, const char *name, uint32_t index, uint32_t count)
{
    (void)ctx;
    if (count > 100 && (index % 16 == 0 || index + 1 == count))
        fprintf(stderr, "\rgen-model: %u/%u %-40s", index + 1, count, name);
    if (count > 100 && index + 1 == count)
        fprintf(stderr, "\n");
}

int cmd_gen_model(int argc, char **argv)
{
    gen_options o = {.preset = NULL,
                     .type = TENSOR_TYPE_F32,
                     .seed = 1,
                     .out_path = NULL,
                     .tokenizer_json = NULL};
    const quant_table *qt;
    lp_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cmd_gen_usage(stdout);
            return CMD_EXIT_OK;
        }
        if (!v) {
            fprintf(stderr, "loupe gen-model: %s needs a value\n", a);
            return CMD_EXIT_USAGE;
        }
        if (!strcmp(a, "--preset"))
            o.preset = v;
        else if (!strcmp(a, "--type") && !strcmp(v, "q4_k_m")) {
            o.type = TENSOR_TYPE_Q4_K;
            o.mix = GEN_MIX_Q4_K_M;
        } else if (!strcmp(a, "--type")) {
            tensor_type t;
            o.mix = GEN_MIX_NONE;
            if (tensor_type_from_name(v, &t, &err) != LP_OK) {
                fprintf(stderr, "loupe gen-model: --type: %s\n", err.msg);
                return CMD_EXIT_USAGE;
            }
            o.type = t;
        } else if (!strcmp(a, "--seed")) {
            if (lp_parse_u64(v, UINT64_MAX, "--seed", &o.seed, &err) != LP_OK) {
                fprintf(stderr, "loupe gen-model: %s\n", err.msg);
                return CMD_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--tokenizer"))
            o.tokenizer_json = v;
        else if (!strcmp(a, "--mmproj"))
            o.mmproj_path = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            o.out_path = v;
        else {
            fprintf(stderr, "loupe gen-model: unknown option '%s'\n", a);
            cmd_gen_usage(stderr);
            return CMD_EXIT_USAGE;
        }
        i++;
    }
    if (!o.preset || !o.out_path) {
        cmd_gen_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (quant_table_default(&qt, &err) != LP_OK) {
        fprintf(stderr, "loupe gen-model: %s\n", err.msg);
        return CMD_EXIT_FAIL;
    }
    o.on_tensor = cmd_gen_progress;
    if (gen_model_write(&o, qt, &err) != LP_OK) {
        fprintf(stderr, "loupe gen-model: %s\n", err.msg);
        return err.code == LP_ERR_USAGE || err.code == LP_ERR_NOTFOUND ||
                       err.code == LP_ERR_UNSUPPORTED
                   ? CMD_EXIT_USAGE
                   : CMD_EXIT_FAIL;
    }
    return CMD_EXIT_OK;
}
