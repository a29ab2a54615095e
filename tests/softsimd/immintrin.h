/* tests/softsimd/immintrin.h - the AVX-512 intrinsics our kernels use,
 * written in plain C, so the AVX-512 and VNNI branches of index_kernels.c
 * and bert_kernels.c (their indexing, masks, tails and reductions) run on a
 * CPU without AVX-512.  test_isa_soft compiles those files against this
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

static inline void _mm_prefetch(const void *p, int hint)
{
    (void)p;
    (void)hint;
}

#endif
