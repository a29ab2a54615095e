/* cpu.h - which x86-64 instruction-set level this process runs its hot
 * kernels at.
 *
 * The binary is built for baseline x86-64; the hot kernels (index scans and
 * sq8, the SGNS update, the BERT products and elementwise kernels) are
 * compiled once per level below (src/ * / *_kernels.c, see mk/build.mk) and
 * each module picks the table of its kernels for cpu_level_cur().  The level
 * is found once, on first use, from CPUID and XGETBV (the OS must have
 * enabled the AVX, AVX-512 or AMX register state), AMX also from the
 * kernel's grant of the tile data state; a front end may lower it
 * (cpu_set_cap, e.g. from EMBEDLAB_ISA) before any kernel runs.  The levels
 * form a chain: each includes the ones before it.
 */
#ifndef EMBEDLAB_CPU_H
#define EMBEDLAB_CPU_H

#include <stdatomic.h>
#include <stddef.h>

#include "err.h"

typedef enum cpu_level {
    CPU_BASELINE = 0,   /* x86-64: SSE2 */
    CPU_AVX2,           /* x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE (+ v2) */
    CPU_AVX512,         /* x86-64-v4: AVX-512 F, BW, CD, DQ, VL */
    CPU_AVX512VNNI,     /* + AVX512_VNNI (Cascade Lake, Ice Lake) */
    CPU_AVX512BF16,     /* + AVX512_BF16 (Cooper Lake, Zen 4, Sapphire Rapids) */
    CPU_AMX,            /* + AMX-TILE, AMX-BF16 (Sapphire Rapids and later) */
    CPU_N_LEVELS
} cpu_level;

/* "baseline", "avx2", "avx512", "avx512vnni", "avx512bf16", "amx". */
const char *cpu_level_name(cpu_level l);
/* Parses a level name (also "v1" = baseline, "v3" = avx2, "v4" = avx512,
 * "native" = the best the CPU has).  0, or -ERR_USAGE naming the choices. */
int cpu_level_parse(const char *s, cpu_level *out, err *e);

/* The best level this CPU and OS support (detected once). */
cpu_level cpu_detect(void);
/* Lowers the level the kernels run at to at most cap (a cap above what the
 * CPU has changes nothing); returns the level now in force.  Meant for the
 * start of a process (front end, test harness) and for tests that run the
 * kernels of each level in turn; not while kernels run on other threads. */
cpu_level cpu_set_cap(cpu_level cap);
/* 1 when the CPU supports level l (l <= cpu_detect()). */
int cpu_has(cpu_level l);

/* The features found, space separated ("sse4.2 avx2 fma ... amx-bf16"),
 * with a note when the CPU has AVX-512 or AMX that the OS has not enabled. */
const char *cpu_features(void);
/* The CPU's brand string ("AMD EPYC 7B12 64-Core Processor"). */
const char *cpu_model(void);
/* The feature a level needs beyond the level before it ("avx512f" ...), for
 * messages such as "CPU lacks avx512bf16". */
const char *cpu_level_feature(cpu_level l);

/* The level in force: min(detected, cap).  Inline: the dispatchers read it
 * on every call. */
extern atomic_int cpu_level_now;   /* -1 until first use */
cpu_level cpu_level_init(void);
static inline cpu_level cpu_level_cur(void)
{
    int l = atomic_load_explicit(&cpu_level_now, memory_order_relaxed);
    return l >= 0 ? (cpu_level)l : cpu_level_init();
}

/* For kernel sources compiled once per level (mk/build.mk passes
 * -DCPU_KLEVEL=avx2 ...): CPU_KN(ix_kern) names the level's copy
 * ix_kern_avx2, and CPU_KNAME is "avx2". */
#ifdef CPU_KLEVEL
#define CPU_KCAT2(a, b) a##_##b
#define CPU_KCAT(a, b) CPU_KCAT2(a, b)
#define CPU_KN(name) CPU_KCAT(name, CPU_KLEVEL)
#define CPU_KSTR2(a) #a
#define CPU_KSTR(a) CPU_KSTR2(a)
#define CPU_KNAME CPU_KSTR(CPU_KLEVEL)
#endif

#endif
