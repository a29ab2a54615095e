/* cpu.c - instruction-set level detection and the level in force (see cpu.h).
 *
 * A feature counts only when the CPU reports it (CPUID) and the OS saves its
 * register state (XCR0 via XGETBV: SSE+AVX state for AVX, opmask and the
 * upper ZMM halves for AVX-512, tile config and data for AMX); Linux also
 * wants each process to ask for the AMX tile data state (ARCH_REQ_XCOMP_PERM,
 * Linux >= 5.16), which detection does once.
 */
#include "cpu.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

atomic_int cpu_level_now = -1;

static const char *const level_names[CPU_N_LEVELS] = {
    "baseline", "avx2", "avx512", "avx512vnni", "avx512bf16", "amx"};
static const char *const level_features[CPU_N_LEVELS] = {
    "sse2", "avx2+fma", "avx512f/bw/cd/dq/vl", "avx512vnni", "avx512bf16", "amx-tile+amx-bf16"};

static struct {
    atomic_int done;          /* detection ran (results below are final) */
    cpu_level best;
    char features[320];
    char model[64];
} det;

const char *cpu_level_name(cpu_level l)
{
    return (unsigned)l < CPU_N_LEVELS ? level_names[l] : "?";
}

const char *cpu_level_feature(cpu_level l)
{
    return (unsigned)l < CPU_N_LEVELS ? level_features[l] : "?";
}

int cpu_level_parse(const char *s, cpu_level *out, err *e)
{
    static const struct { const char *alias; cpu_level l; } aliases[] = {
        {"v1", CPU_BASELINE}, {"x86-64", CPU_BASELINE}, {"v3", CPU_AVX2},
        {"x86-64-v3", CPU_AVX2}, {"v4", CPU_AVX512}, {"x86-64-v4", CPU_AVX512}};

    for (int l = 0; l < CPU_N_LEVELS; l++)
        if (strcmp(s, level_names[l]) == 0) {
            *out = (cpu_level)l;
            return 0;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(s, aliases[i].alias) == 0) {
            *out = aliases[i].l;
            return 0;
        }
    if (strcmp(s, "native") == 0) {
        *out = cpu_detect();
        return 0;
    }
    return err_set(e, ERR_USAGE,
                   "unknown ISA level '%s' (baseline, avx2, avx512, avx512vnni, avx512bf16, amx "
                   "or native)", s);
}

static void add(char *buf, size_t cap, const char *name)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? " " : "", name);
}

#if defined(__x86_64__) || defined(__i386__)
/* Not inlined: scripts/check_isa.sh allows XGETBV in this function only. */
__attribute__((noinline)) static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void detect(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0, c1, d1, b7 = 0, c7 = 0, d7 = 0, a71 = 0, c81 = 0;
    uint64_t xcr0 = 0;
    int os_avx, os_avx512, os_amx, v2, v3, v4, vnni, bf16, amx;
    char *f = det.features;
    size_t fc = sizeof det.features;

    det.best = CPU_BASELINE;
    if (!__get_cpuid(1, &a, &b, &c1, &d1))
        return;
    __get_cpuid_count(7, 0, &a, &b7, &c7, &d7);
    __get_cpuid_count(7, 1, &a71, &b, &c, &d);
    __get_cpuid(0x80000001, &a, &b, &c81, &d);
    if (c1 & (1u << 27))                        /* OSXSAVE: XGETBV usable */
        xcr0 = xgetbv0();
    os_avx = (xcr0 & 0x6) == 0x6;               /* SSE + AVX state */
    os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;   /* opmask, ZMM_Hi256, Hi16_ZMM */
    os_amx = (xcr0 & 0x60000) == 0x60000;       /* XTILECFG, XTILEDATA */

    v2 = (c1 & (1u << 0)) && (c1 & (1u << 9)) && (c1 & (1u << 13)) && (c1 & (1u << 19)) &&
         (c1 & (1u << 20)) && (c1 & (1u << 23)) && (c81 & 1u);   /* sse3 ssse3 cx16 sse4.1/2 popcnt lahf */
    v3 = v2 && os_avx && (c1 & (1u << 28)) && (c1 & (1u << 12)) && (c1 & (1u << 29)) &&
         (c1 & (1u << 22)) && (b7 & (1u << 5)) && (b7 & (1u << 3)) && (b7 & (1u << 8)) &&
         (c81 & (1u << 5));                     /* avx fma f16c movbe avx2 bmi1 bmi2 lzcnt */
    v4 = v3 && os_avx512 && (b7 & (1u << 16)) && (b7 & (1u << 17)) && (b7 & (1u << 28)) &&
         (b7 & (1u << 30)) && (b7 & (1u << 31));   /* avx512 f dq cd bw vl */
    vnni = v4 && (c7 & (1u << 11));
    bf16 = vnni && (a71 & (1u << 5));
    amx = bf16 && os_amx && (d7 & (1u << 22)) && (d7 & (1u << 24));
#ifdef __linux__
    if (amx && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
        amx = 0;
#endif

    if (c1 & (1u << 20)) add(f, fc, "sse4.2");
    if (c1 & (1u << 23)) add(f, fc, "popcnt");
    if (c1 & (1u << 28)) add(f, fc, "avx");
    if (b7 & (1u << 5)) add(f, fc, "avx2");
    if (c1 & (1u << 12)) add(f, fc, "fma");
    if (c1 & (1u << 29)) add(f, fc, "f16c");
    if (b7 & (1u << 8)) add(f, fc, "bmi2");
    if (b7 & (1u << 16)) add(f, fc, "avx512f");
    if (b7 & (1u << 30)) add(f, fc, "avx512bw");
    if (b7 & (1u << 31)) add(f, fc, "avx512vl");
    if (c7 & (1u << 11)) add(f, fc, "avx512vnni");
    if (a71 & (1u << 5)) add(f, fc, "avx512bf16");
    if (d7 & (1u << 24)) add(f, fc, "amx-tile");
    if (d7 & (1u << 22)) add(f, fc, "amx-bf16");
    if ((b7 & (1u << 16)) && !os_avx512)
        add(f, fc, "(AVX-512 state not enabled by the OS)");
    if ((d7 & (1u << 24)) && !amx && bf16)
        add(f, fc, "(AMX tile state not granted by the OS)");

    det.best = amx ? CPU_AMX : bf16 ? CPU_AVX512BF16 : vnni ? CPU_AVX512VNNI : v4 ? CPU_AVX512
             : v3 ? CPU_AVX2 : CPU_BASELINE;

    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned r[12];
        char *s = det.model, *p;
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        memcpy(s, r, 48);
        s[48] = 0;
        for (p = s; *p == ' '; p++)
            ;
        memmove(s, p, strlen(p) + 1);
        for (size_t n = strlen(s); n && s[n - 1] == ' '; n--)
            s[n - 1] = 0;
    }
}
#else
static void detect(void) { det.best = CPU_BASELINE; }
#endif

cpu_level cpu_detect(void)
{
    static atomic_int busy;

    if (atomic_load_explicit(&det.done, memory_order_acquire))
        return det.best;
    /* first use: one thread detects, any other waits for it */
    if (atomic_exchange(&busy, 1) == 0) {
        detect();
        if (!det.features[0])
            snprintf(det.features, sizeof det.features, "sse2");
        if (!det.model[0])
            snprintf(det.model, sizeof det.model, "unknown x86-64 CPU");
        atomic_store_explicit(&det.done, 1, memory_order_release);
    }
    while (!atomic_load_explicit(&det.done, memory_order_acquire))
        ;
    return det.best;
}

cpu_level cpu_level_init(void)
{
    int want = cpu_detect(), none = -1;

    /* a cap set meanwhile wins */
    atomic_compare_exchange_strong(&cpu_level_now, &none, want);
    return (cpu_level)atomic_load_explicit(&cpu_level_now, memory_order_relaxed);
}

cpu_level cpu_set_cap(cpu_level cap)
{
    cpu_level best = cpu_detect(), l = cap < best ? cap : best;

    if (l < CPU_BASELINE)
        l = CPU_BASELINE;
    atomic_store_explicit(&cpu_level_now, (int)l, memory_order_relaxed);
    return l;
}

int cpu_has(cpu_level l) { return l <= cpu_detect(); }

const char *cpu_features(void)
{
    cpu_detect();
    return det.features;
}

const char *cpu_model(void)
{
    cpu_detect();
    return det.model;
}
