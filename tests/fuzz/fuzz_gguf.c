/* Fuzz target for the GGUF reader: parses the input and, when it is accepted,
 * walks every kv (nested arrays included) and reads every byte of every tensor,
 * so a bounds mistake anywhere in the views shows up under ASan. */
#include <stddef.h>
#include <stdint.h>

#include "loupe/engine/gguf.h"

static uint64_t fuzz_walk_value(const gguf_value *v, int depth)
{
    uint64_t h = (uint64_t)v->type * 31u + (uint64_t)depth;

    switch (v->type) {
    case GGUF_VT_STRING:
        for (uint64_t i = 0; i < v->v.s.n; i++)
            h = h * 131u + (uint8_t)v->v.s.p[i];
        break;
    case GGUF_VT_ARRAY:
        if (gguf_vtype_size(v->v.arr.elem) > 0) {
            uint64_t n = v->v.arr.count * gguf_vtype_size(v->v.arr.elem);

            for (uint64_t i = 0; i < n; i++)
                h = h * 131u + v->v.arr.raw[i];
            for (uint64_t i = 0; i < v->v.arr.count; i++)
                h += gguf_arr_num(v, i) < 0.0;
        } else {
            for (uint64_t i = 0; i < v->v.arr.count; i++)
                h += fuzz_walk_value(&v->v.arr.items[i], depth + 1);
        }
        break;
    case GGUF_VT_F32:
    case GGUF_VT_F64: h += v->v.f == v->v.f; break;
    default: h += v->v.u; break;
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    volatile uint64_t sink = 0;
    gguf_file *f = NULL;
    lp_error err;
    uint32_t u32;
    float x;

    if (gguf_open_memory(data, size, "fuzz.gguf", &f, &err) != LP_OK)
        return 0;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];

        sink += fuzz_walk_value(&kv->value, 0);
        sink += gguf_find_kv(f, "general.architecture") != NULL;
    }
    sink += gguf_get_u32(f, "general.alignment", &u32, &err) == LP_OK;
    sink += gguf_get_f32(f, "general.x", &x, &err) == LP_OK;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];

        for (uint64_t b = 0; b < t->n_bytes; b++)
            sink += t->data[b];
        sink += gguf_find_tensor(f, "token_embd.weight") != NULL;
    }
    gguf_close(f);
    (void)sink;
    return 0;
}
