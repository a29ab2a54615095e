/* tests/softsimd/immintrin.h - the AVX-512 intrinsics our kernels use,
 * written in plain C, so the AVX-512, VNNI and BF16 branches of
 * index_kernels.c, bert_kernels.c and bert_gemm_kernels.c (their indexing,
 * masks, tails and reductions) run on a CPU without AVX-512.  test_isa_soft compiles those files against this
 * header instead of the compiler's (mk/build.mk, SOFT_*), with the
 * __AVX512*__ macros defined by hand.  Masked loads read only the lanes
 * their mask selects and aligned loads check the alignment, as the hardware
 * does, so an out-of-bounds or misaligned access shows under ASan or fails.
 * Not the instructions themselves: what the compiler makes of the real
 * intrinsics is trusted (and tested by test_isa on CPUs that have them). */
#ifndef SOFTSIMD_IMMINTRIN_H
#define SOFTSIMD_IMMINTRIN_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { float f[16]; } __m512;
typedef struct { union { int32_t d[16]; int16_t w[32]; uint8_t b[64]; }; } __m512i;
typedef struct { uint8_t b[32]; } __m256i;
typedef struct { uint8_t b[16]; } __m128i;
typedef struct { uint16_t h[32]; } __m512bh;
typedef uint16_t __mmask16;
typedef uint32_t __mmask32;

#define _MM_HINT_T0 3
#define _CMP_GE_OQ 29
#define _MM_FROUND_TO_NEAREST_INT 0
#define _MM_FROUND_NO_EXC 8

#define SS_MAP1(name, expr)                                                                        \
    static inline __m512 name(__m512 a)                                                            \
    {                                                                                              \
        __m512 r;                                                                                  \
        for (int i = 0; i < 16; i++)                                                               \
            r.f[i] = (expr);                                                                       \
        return r;                                                                                  \
    }
#define SS_MAP2(name, expr)                                                                        \
    static inline __m512 name(__m512 a, __m512 b)                                                  \
    {                                                                                              \
        __m512 r;                                                                                  \
        for (int i = 0; i < 16; i++)                                                               \
            r.f[i] = (expr);                                                                       \
        return r;                                                                                  \
    }
#define SS_MAP3(name, expr)                                                                        \
    static inline __m512 name(__m512 a, __m512 b, __m512 c)                                        \
    {                                                                                              \
        __m512 r;                                                                                  \
        for (int i = 0; i < 16; i++)                                                               \
            r.f[i] = (expr);                                                                       \
        return r;                                                                                  \
    }

SS_MAP2(_mm512_add_ps, a.f[i] + b.f[i])
SS_MAP2(_mm512_sub_ps, a.f[i] - b.f[i])
SS_MAP2(_mm512_mul_ps, a.f[i] * b.f[i])
SS_MAP2(_mm512_div_ps, a.f[i] / b.f[i])
SS_MAP2(_mm512_max_ps, a.f[i] > b.f[i] ? a.f[i] : b.f[i])
SS_MAP2(_mm512_min_ps, a.f[i] < b.f[i] ? a.f[i] : b.f[i])
SS_MAP3(_mm512_fmadd_ps, fmaf(a.f[i], b.f[i], c.f[i]))
SS_MAP3(_mm512_fnmadd_ps, fmaf(-a.f[i], b.f[i], c.f[i]))
SS_MAP2(_mm512_scalef_ps, ldexpf(a.f[i], (int)floorf(b.f[i])))

static inline __m512 _mm512_setzero_ps(void)
{
    __m512 r;
    memset(&r, 0, sizeof r);
    return r;
}

static inline __m512 _mm512_set1_ps(float x)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = x;
    return r;
}

static inline __m512 _mm512_loadu_ps(const void *p)
{
    __m512 r;
    memcpy(&r, p, sizeof r);
    return r;
}

static inline void _mm512_storeu_ps(void *p, __m512 a) { memcpy(p, &a, sizeof a); }

static inline __m512 _mm512_maskz_loadu_ps(__mmask16 m, const void *p)
{
    __m512 r = _mm512_setzero_ps();
    for (int i = 0; i < 16; i++)
        if (m >> i & 1)
            memcpy(&r.f[i], (const char *)p + 4 * i, 4);
    return r;
}

static inline __m512 _mm512_maskz_mov_ps(__mmask16 m, __m512 a)
{
    for (int i = 0; i < 16; i++)
        if (!(m >> i & 1))
            a.f[i] = 0;
    return a;
}

static inline __m512 _mm512_roundscale_ps(__m512 a, int imm)
{
    (void)imm;   /* only _MM_FROUND_TO_NEAREST_INT is used */
    for (int i = 0; i < 16; i++)
        a.f[i] = nearbyintf(a.f[i]);
    return a;
}

/* The hardware reduces in a tree; any order is within the tests' bounds. */
static inline float _mm512_reduce_add_ps(__m512 a)
{
    float s8[8], s4[4], s2[2];
    for (int i = 0; i < 8; i++)
        s8[i] = a.f[i] + a.f[i + 8];
    for (int i = 0; i < 4; i++)
        s4[i] = s8[i] + s8[i + 4];
    for (int i = 0; i < 2; i++)
        s2[i] = s4[i] + s4[i + 2];
    return s2[0] + s2[1];
}

static inline __mmask16 _mm512_cmp_ps_mask(__m512 a, __m512 b, int op)
{
    __mmask16 m = 0;
    (void)op;   /* only _CMP_GE_OQ is used */
    for (int i = 0; i < 16; i++)
        if (a.f[i] >= b.f[i])
            m |= (__mmask16)(1u << i);
    return m;
}

static inline __m128i _mm_loadu_si128(const __m128i *p)
{
    __m128i r;
    memcpy(&r, p, sizeof r);
    return r;
}

static inline __m512i _mm512_cvtepu8_epi32(__m128i a)
{
    __m512i r;
    for (int i = 0; i < 16; i++)
        r.d[i] = a.b[i];
    return r;
}

static inline __m512 _mm512_cvtepi32_ps(__m512i a)
{
    __m512 r;
    for (int i = 0; i < 16; i++)
        r.f[i] = (float)a.d[i];
    return r;
}

static inline __m512i _mm512_setzero_si512(void)
{
    __m512i r;
    memset(&r, 0, sizeof r);
    return r;
}

static inline __m512i _mm512_load_si512(const void *p)
{
    __m512i r;
    if ((uintptr_t)p % 64)
        abort();   /* vmovdqa32 faults on a misaligned address */
    memcpy(&r, p, sizeof r);
    return r;
}

static inline __m256i _mm256_maskz_loadu_epi8(__mmask32 m, const void *p)
{
    __m256i r;
    for (int i = 0; i < 32; i++)
        r.b[i] = (m >> i & 1) ? ((const uint8_t *)p)[i] : 0;
    return r;
}

static inline __m512i _mm512_cvtepu8_epi16(__m256i a)
{
    __m512i r;
    for (int i = 0; i < 32; i++)
        r.w[i] = a.b[i];
    return r;
}

/* vpdpwssd: each 32-bit lane += the two signed 16-bit products of its pair */
static inline __m512i _mm512_dpwssd_epi32(__m512i acc, __m512i a, __m512i b)
{
    for (int i = 0; i < 16; i++)
        acc.d[i] = (int32_t)((uint32_t)acc.d[i] + (uint32_t)(a.w[2 * i] * b.w[2 * i]) +
                             (uint32_t)(a.w[2 * i + 1] * b.w[2 * i + 1]));
    return acc;
}

static inline int32_t _mm512_reduce_add_epi32(__m512i a)
{
    uint32_t s = 0;
    for (int i = 0; i < 16; i++)
        s += (uint32_t)a.d[i];
    return (int32_t)s;
}

static inline __m512i _mm512_set1_epi32(int x)
{
    __m512i r;
    for (int i = 0; i < 16; i++)
        r.d[i] = x;
    return r;
}

static inline void _mm512_storeu_si512(void *p, __m512i a) { memcpy(p, &a, sizeof a); }

/* masked stores write only their lanes (vmovups/vmovdqu16 with a mask) */
static inline void _mm512_mask_storeu_ps(void *p, __mmask16 m, __m512 a)
{
    for (int i = 0; i < 16; i++)
        if (m >> i & 1)
            memcpy((char *)p + 4 * i, &a.f[i], 4);
}

static inline void _mm512_mask_storeu_epi16(void *p, __mmask32 m, __m512i a)
{
    for (int i = 0; i < 32; i++)
        if (m >> i & 1)
            memcpy((char *)p + 2 * i, &a.w[i], 2);
}

/* ---- AVX512_BF16, bit for bit as the Intel SDM defines the instructions --- */

static inline uint32_t ss_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float ss_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* convert_fp32_to_bfloat16: zero and denormal to a zero of the same sign,
 * infinity truncated, NaN truncated and made quiet, else round to nearest
 * even by an integer add of 0x7fff + the lowest kept bit.  MXCSR is not
 * consulted. */
static inline uint16_t ss_f32_to_bf16(float f)
{
    uint32_t u = ss_bits(f);

    if ((u & 0x7f800000u) == 0)
        return (uint16_t)(u >> 16 & 0x8000u);
    if ((u & 0x7fffffffu) == 0x7f800000u)
        return (uint16_t)(u >> 16);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40u);
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1u)) >> 16);
}

/* the fp32 operand of the dot product's FMAs with denormals as zero (DAZ) */
static inline float ss_daz(float f)
{
    uint32_t u = ss_bits(f);
    return (u & 0x7f800000u) == 0 ? ss_float(u & 0x80000000u) : f;
}

/* vcvtne2ps2bf16: lanes 0-15 from b, 16-31 from a */
static inline __m512bh _mm512_cvtne2ps_pbh(__m512 a, __m512 b)
{
    __m512bh r;
    for (int i = 0; i < 16; i++) {
        r.h[i] = ss_f32_to_bf16(b.f[i]);
        r.h[i + 16] = ss_f32_to_bf16(a.f[i]);
    }
    return r;
}

/* vdpbf16ps: per fp32 lane two FMAs, the odd pair first, each with DAZ on
 * its inputs, FTZ on its output and round to nearest even (the products of
 * two bf16 are exact in fp32, so each step rounds once):
 *   acc += a[2i+1] * b[2i+1];  acc += a[2i] * b[2i]   */
static inline __m512 _mm512_dpbf16_ps(__m512 acc, __m512bh a, __m512bh b)
{
    for (int i = 0; i < 16; i++) {
        float s = ss_daz(acc.f[i]);
        for (int h = 1; h >= 0; h--) {
            float x = ss_daz(ss_float((uint32_t)a.h[2 * i + h] << 16));
            float y = ss_daz(ss_float((uint32_t)b.h[2 * i + h] << 16));
            /* FTZ: a result rounded to a denormal is a zero (the hardware
             * rounds to 24 bits before it decides: the two differ only
             * within half an ulp of the smallest normal) */
            s = ss_daz(fmaf(x, y, s));
        }
        acc.f[i] = s;
    }
    return acc;
}

static inline void _mm_prefetch(const void *p, int hint)
{
    (void)p;
    (void)hint;
}

#endif
