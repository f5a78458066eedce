/* Chooses the kernel table: cpuid (plus xgetbv, because the OS must save the wide
 * registers) says which ISAs run here; every table is built once behind
 * pthread_once, each from the reference up (ref, then AVX2, then AVX-512,
 * then VNNI), so an ISA without a kernel for some entry inherits the one below. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "quant_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DISPATCH_X86 1
#endif

typedef struct dispatch_cpu {
    int avx2;   /* AVX2 + FMA + F16C, with YMM state enabled by the OS */
    int avx512; /* F + BW + VL + DQ, with ZMM and opmask state enabled */
    int avx512vnni;
} dispatch_cpu;

static pthread_once_t dispatch_once = PTHREAD_ONCE_INIT;
static dispatch_cpu dispatch_feat;
static quant_table dispatch_tables[QUANT_ISA_COUNT];

static const char *const dispatch_names[QUANT_ISA_COUNT] = {"scalar", "avx2", "avx512"};

#ifdef DISPATCH_X86
static uint64_t dispatch_xgetbv0(void)
{
    uint32_t lo, hi;

    /* encoded as bytes: the mnemonic needs -mxsave, which this file is not built with */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void dispatch_detect(dispatch_cpu *f)
{
    unsigned a, b, c, d, c1;
    uint64_t xcr0;

    memset(f, 0, sizeof *f);
    if (!__get_cpuid(1, &a, &b, &c1, &d))
        return;
    /* OSXSAVE (bit 27) is what makes xgetbv legal */
    if (!(c1 & (1u << 27)) || !(c1 & (1u << 28)))
        return;
    xcr0 = dispatch_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return;
    f->avx2 = (b & (1u << 5)) && (c1 & (1u << 12)) && (c1 & (1u << 29)); /* AVX2 FMA F16C */
    if ((xcr0 & 0xe0) == 0xe0) { /* opmask, ZMM0-15 upper halves, ZMM16-31 */
        f->avx512 = f->avx2 && (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
                    (b & (1u << 31)); /* F DQ BW VL */
        f->avx512vnni = f->avx512 && (c & (1u << 11));
    }
}
#else
static void dispatch_detect(dispatch_cpu *f)
{
    memset(f, 0, sizeof *f);
}
#endif

/* Applies one ISA's filler on top of t. A dot4 promises the bits of the dot beside
 * it and is only faster than four of those dots, so one inherited from below is
 * dropped where the layer replaces dot without giving its own dot4 (matmul then
 * calls the new dot four times). */
static void dispatch_layer(quant_table *t, void (*fill)(quant_table *))
{
    quant_dot_fn dot[TENSOR_TYPE_COUNT];
    quant_dot4_fn dot4[TENSOR_TYPE_COUNT];
    int i;

    for (i = 0; i < TENSOR_TYPE_COUNT; i++) {
        dot[i] = t->k[i].dot;
        dot4[i] = t->k[i].dot4;
    }
    fill(t);
    for (i = 0; i < TENSOR_TYPE_COUNT; i++)
        if (t->k[i].dot != dot[i] && t->k[i].dot4 == dot4[i])
            t->k[i].dot4 = NULL;
}

static void dispatch_build(void)
{
    quant_table *t;

    dispatch_detect(&dispatch_feat);

    t = &dispatch_tables[QUANT_ISA_SCALAR];
    t->isa = QUANT_ISA_SCALAR;
    t->name = "scalar";
    quant_ref_fill(t);

    t = &dispatch_tables[QUANT_ISA_AVX2];
    t->isa = QUANT_ISA_AVX2;
    t->name = "avx2";
    quant_ref_fill(t);
    dispatch_layer(t, quant_avx2_fill);

    t = &dispatch_tables[QUANT_ISA_AVX512];
    t->isa = QUANT_ISA_AVX512;
    t->name = dispatch_feat.avx512vnni ? "avx512vnni" : "avx512";
    quant_ref_fill(t);
    dispatch_layer(t, quant_avx2_fill);
    dispatch_layer(t, quant_avx512_fill);
    if (dispatch_feat.avx512vnni)
        dispatch_layer(t, quant_avx512vnni_fill);
}

int quant_isa_supported(quant_isa isa)
{
    pthread_once(&dispatch_once, dispatch_build);
    switch (isa) {
    case QUANT_ISA_SCALAR: return 1;
    case QUANT_ISA_AVX2: return dispatch_feat.avx2;
    case QUANT_ISA_AVX512: return dispatch_feat.avx512;
    default: return 0;
    }
}

const char *quant_isa_name(quant_isa isa)
{
    if ((unsigned)isa >= QUANT_ISA_COUNT)
        return "?";
    return dispatch_names[isa];
}

lp_err quant_table_get(quant_isa isa, const quant_table **out, lp_error *err)
{
    *out = NULL;
    if ((unsigned)isa >= QUANT_ISA_COUNT)
        return lp_err_set(err, LP_ERR_USAGE, "quant: ISA id %d out of range", (int)isa);
    if (!quant_isa_supported(isa))
        return lp_err_set(err, LP_ERR_UNSUPPORTED,
                          "quant: ISA %s is not supported by this CPU (or the OS does not "
                          "enable its registers)",
                          dispatch_names[isa]);
    *out = &dispatch_tables[isa];
    return LP_OK;
}

lp_err quant_isa_from_name(const char *name, quant_isa *out, lp_error *err)
{
    int i;

    *out = QUANT_ISA_SCALAR;
    if (!name)
        return lp_err_set(err, LP_ERR_INVALID, "quant: ISA name is NULL");
    for (i = 0; i < QUANT_ISA_COUNT; i++) {
        if (strcmp(name, dispatch_names[i]) == 0) {
            *out = (quant_isa)i;
            return LP_OK;
        }
    }
    return lp_err_set(err, LP_ERR_INVALID,
                      "quant: unknown ISA \"%.64s\" (expected scalar, avx2 or avx512)", name);
}

lp_err quant_table_default(const quant_table **out, lp_error *err)
{
    const char *env = getenv("LOUPE_ISA");
    quant_isa isa;
    lp_err rc;

    *out = NULL;
    if (env && *env) {
        rc = quant_isa_from_name(env, &isa, err);
        if (rc == LP_OK)
            rc = quant_table_get(isa, out, err);
        if (rc != LP_OK)
            lp_err_prefix(err, "LOUPE_ISA=%.64s", env);
        return rc;
    }
    if (quant_isa_supported(QUANT_ISA_AVX512))
        isa = QUANT_ISA_AVX512;
    else if (quant_isa_supported(QUANT_ISA_AVX2))
        isa = QUANT_ISA_AVX2;
    else
        isa = QUANT_ISA_SCALAR;
    return quant_table_get(isa, out, err);
}
