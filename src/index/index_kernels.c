/* index_kernels.c - the index's hot loops, compiled once per ISA level
 * (mk/build.mk: baseline, avx2, avx512, avx512vnni) into the table
 * ix_kern_<level>; index_int.h's ix_kern_cur() picks the one in force.
 *
 * Written once with #if branches on what the compiler targets: AVX-512 (a
 * four-row kernel, masked tails), AVX2+FMA, or plain C written so the
 * compiler can vectorise it; sq8 ip/cosine with AVX-512 VNNI scores with
 * the transformed query rounded to int16 and an exact integer dot product
 * with the codes (vpdpwssd), a third of the float path's instructions;
 * every grouping of rows gives the same integer, so flat and IVF still
 * score a row identically.
 */
#include "index_int.h"

#include <math.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#ifndef CPU_KLEVEL
#error "index_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SQ8_VNNI 1
#endif

#if defined(__AVX512F__)
static inline __mmask16 ix_tail_mask(size_t rem)
{
    return (__mmask16)((1u << rem) - 1u);
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
static inline float ix_hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
#endif

/* Inner product, canonical order (see the file comment). */
static inline float dot(const float *a, const float *b, size_t d)
{
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= d; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < d) {
        __mmask16 m = ix_tail_mask(d - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float s;
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    s = ix_hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++)
        s += a[i] * b[i];
    return s;
#else
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= d; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += a[i + j] * b[i + j];
    for (; i < d; i++)
        s[0] += a[i] * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
#endif
}

/* Squared L2 distance, canonical order. */
static inline float l2(const float *a, const float *b, size_t d)
{
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= d; i += 32) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
    }
    if (i < d) {
        __mmask16 m = ix_tail_mask(d - i);
        __m512 t0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float s;
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
    }
    s = ix_hsum256(_mm256_add_ps(s0, s1));
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
#else
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= d; i += 4)
        for (int j = 0; j < 4; j++) {
            float t = a[i + j] - b[i + j];
            s[j] += t * t;
        }
    for (; i < d; i++) {
        float t = a[i] - b[i];
        s[0] += t * t;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
#endif
}

static void score_rows(index_metric m, const float *q, const float *rows, size_t n, size_t d,
                   float *out)
{
    size_t r = 0;
#if defined(__AVX512F__)
    /* Four rows at a time: each query block is loaded once for four rows, and
     * the next group is prefetched.  Per row the operation order is exactly
     * that of ix_dot / ix_l2 (two accumulators, masked tail into the first). */
    __mmask16 tm = ix_tail_mask(d & 15);
    size_t dfull = d & ~(size_t)15;
    for (; r + 4 <= n; r += 4) {
        const float *x0 = rows + r * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
        __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();
        __m512 a1 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps();
        __m512 a3 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
        size_t i = 0;
        for (size_t pf = 0; pf < 4 * d * sizeof(float); pf += 64)
            _mm_prefetch((const char *)(x0 + 8 * d) + pf, _MM_HINT_T0);
        if (m == INDEX_L2) {
            for (; i + 32 <= d; i += 32) {
                __m512 q0 = _mm512_loadu_ps(q + i), q1 = _mm512_loadu_ps(q + i + 16), t, u;
                t = _mm512_sub_ps(q0, _mm512_loadu_ps(x0 + i));
                u = _mm512_sub_ps(q1, _mm512_loadu_ps(x0 + i + 16));
                a0 = _mm512_fmadd_ps(t, t, a0); b0 = _mm512_fmadd_ps(u, u, b0);
                t = _mm512_sub_ps(q0, _mm512_loadu_ps(x1 + i));
                u = _mm512_sub_ps(q1, _mm512_loadu_ps(x1 + i + 16));
                a1 = _mm512_fmadd_ps(t, t, a1); b1 = _mm512_fmadd_ps(u, u, b1);
                t = _mm512_sub_ps(q0, _mm512_loadu_ps(x2 + i));
                u = _mm512_sub_ps(q1, _mm512_loadu_ps(x2 + i + 16));
                a2 = _mm512_fmadd_ps(t, t, a2); b2 = _mm512_fmadd_ps(u, u, b2);
                t = _mm512_sub_ps(q0, _mm512_loadu_ps(x3 + i));
                u = _mm512_sub_ps(q1, _mm512_loadu_ps(x3 + i + 16));
                a3 = _mm512_fmadd_ps(t, t, a3); b3 = _mm512_fmadd_ps(u, u, b3);
            }
            for (; i < d; i += 16) {
                __mmask16 mk = i < dfull ? (__mmask16)0xffff : tm;
                __m512 q0 = _mm512_maskz_loadu_ps(mk, q + i), t;
                t = _mm512_sub_ps(q0, _mm512_maskz_loadu_ps(mk, x0 + i)); a0 = _mm512_fmadd_ps(t, t, a0);
                t = _mm512_sub_ps(q0, _mm512_maskz_loadu_ps(mk, x1 + i)); a1 = _mm512_fmadd_ps(t, t, a1);
                t = _mm512_sub_ps(q0, _mm512_maskz_loadu_ps(mk, x2 + i)); a2 = _mm512_fmadd_ps(t, t, a2);
                t = _mm512_sub_ps(q0, _mm512_maskz_loadu_ps(mk, x3 + i)); a3 = _mm512_fmadd_ps(t, t, a3);
            }
            out[r] = -_mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
            out[r + 1] = -_mm512_reduce_add_ps(_mm512_add_ps(a1, b1));
            out[r + 2] = -_mm512_reduce_add_ps(_mm512_add_ps(a2, b2));
            out[r + 3] = -_mm512_reduce_add_ps(_mm512_add_ps(a3, b3));
        } else {
            for (; i + 32 <= d; i += 32) {
                __m512 q0 = _mm512_loadu_ps(q + i), q1 = _mm512_loadu_ps(q + i + 16);
                a0 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x0 + i), a0);
                b0 = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x0 + i + 16), b0);
                a1 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x1 + i), a1);
                b1 = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x1 + i + 16), b1);
                a2 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x2 + i), a2);
                b2 = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x2 + i + 16), b2);
                a3 = _mm512_fmadd_ps(q0, _mm512_loadu_ps(x3 + i), a3);
                b3 = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x3 + i + 16), b3);
            }
            for (; i < d; i += 16) {
                __mmask16 mk = i < dfull ? (__mmask16)0xffff : tm;
                __m512 q0 = _mm512_maskz_loadu_ps(mk, q + i);
                a0 = _mm512_fmadd_ps(q0, _mm512_maskz_loadu_ps(mk, x0 + i), a0);
                a1 = _mm512_fmadd_ps(q0, _mm512_maskz_loadu_ps(mk, x1 + i), a1);
                a2 = _mm512_fmadd_ps(q0, _mm512_maskz_loadu_ps(mk, x2 + i), a2);
                a3 = _mm512_fmadd_ps(q0, _mm512_maskz_loadu_ps(mk, x3 + i), a3);
            }
            out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
            out[r + 1] = _mm512_reduce_add_ps(_mm512_add_ps(a1, b1));
            out[r + 2] = _mm512_reduce_add_ps(_mm512_add_ps(a2, b2));
            out[r + 3] = _mm512_reduce_add_ps(_mm512_add_ps(a3, b3));
        }
    }
#endif
    for (; r < n; r++)
        out[r] = (m == INDEX_L2 ? -l2(q, rows + r * d, d) : dot(q, rows + r * d, d));
}

static float sq8k_prep(const vindex *ix, index_ctx *c)
{
    size_t d = ix->dim;
    float k0 = 0;
    if (ix->o.metric == INDEX_L2) {
        for (size_t j = 0; j < d; j++)
            c->q2[j] = c->q[j] - ix->sq.vmin[j];
    } else {
        /* q . (vmin + scale*c) = q.vmin + (q*scale) . c */
        for (size_t j = 0; j < d; j++) {
            c->q2[j] = c->q[j] * ix->sq.scale[j];
            k0 += c->q[j] * ix->sq.vmin[j];
        }
#ifdef SQ8_VNNI
        {
            /* int16 levels: as many as keep |sum qi*code| < 2^31 for any
             * codes (32767 up to d = 257), so the integer sum cannot wrap;
             * at d = 384 the rounding is 1/21930 of the largest element */
            double lim = 2147483647.0 / (255.0 * (double)SQ8_QPAD(d));
            float m = 0, lv = lim < 32767 ? (float)lim : 32767.0f;
            for (size_t j = 0; j < d; j++)
                m = fmaxf(m, fabsf(c->q2[j]));
            c->qs = m > 0 ? m / lv : 0;
            for (size_t j = 0; j < d; j++)
                c->qi[j] = m > 0 ? (int16_t)lrintf(c->q2[j] / c->qs) : 0;
            for (size_t j = d; j < SQ8_QPAD(d); j++)
                c->qi[j] = 0;
        }
#endif
    }
    return k0;
}

#ifdef SQ8_VNNI
/* 32 codes (fewer at the tail: masked, never read past the row) as int16 */
static inline __m512i sq8_w16(const uint8_t *p, size_t rem)
{
    __mmask32 m = rem >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << rem) - 1u);
    return _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, p));
}

/* q2 . code for one row, exactly in integers */
static inline int32_t sq8_idot(const int16_t *qi, const uint8_t *code, size_t d)
{
    __m512i a = _mm512_setzero_si512();
    for (size_t i = 0; i < d; i += 32)
        a = _mm512_dpwssd_epi32(a, _mm512_load_si512(qi + i), sq8_w16(code + i, d - i));
    return _mm512_reduce_add_epi32(a);
}
#endif

#if defined(__AVX512F__)
/* 16 codes widened to floats */
static inline __m512 sq8_lane(const uint8_t *p)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
/* 8 codes widened to floats */
static inline __m256 sq8_lane8(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* The sq8 sums of R <= 4 rows of d codes (d apart): q2 . code (ip/cosine)
 * or |q2 - scale * code|^2 (L2).  Per row the same operations in the same
 * order whatever R (two 8-lane accumulators over blocks of 16, then the
 * tail in order), so a row scored alone (sq8k_score) and in a group of four
 * (sq8k_score_rows) gives the same float, and flat and IVF agree. */
static inline __attribute__((always_inline)) void sq8_rows_avx2(int R, int l2, const float *q2,
                                                                const float *sc,
                                                                const uint8_t *codes, size_t d,
                                                                float *out)
{
    __m256 a[4], b[4];
    size_t i = 0;

    for (int r = 0; r < R; r++)
        a[r] = b[r] = _mm256_setzero_ps();
    for (; i + 16 <= d; i += 16) {
        __m256 q0 = _mm256_loadu_ps(q2 + i), q1 = _mm256_loadu_ps(q2 + i + 8), s0 = q0, s1 = q1;
        if (l2) {
            s0 = _mm256_loadu_ps(sc + i);
            s1 = _mm256_loadu_ps(sc + i + 8);
        }
        for (int r = 0; r < R; r++) {
            __m256 x = sq8_lane8(codes + r * d + i), y = sq8_lane8(codes + r * d + i + 8);
            if (l2) {
                __m256 t = _mm256_fnmadd_ps(s0, x, q0), u = _mm256_fnmadd_ps(s1, y, q1);
                a[r] = _mm256_fmadd_ps(t, t, a[r]);
                b[r] = _mm256_fmadd_ps(u, u, b[r]);
            } else {
                a[r] = _mm256_fmadd_ps(q0, x, a[r]);
                b[r] = _mm256_fmadd_ps(q1, y, b[r]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        const uint8_t *code = codes + r * d;
        float s = ix_hsum256(_mm256_add_ps(a[r], b[r]));
        for (size_t j = i; j < d; j++) {
            if (l2) {
                float t = q2[j] - sc[j] * (float)code[j];
                s += t * t;
            } else {
                s += q2[j] * (float)code[j];
            }
        }
        out[r] = s;
    }
}
#endif

static float sq8k_score(const vindex *ix, const index_ctx *c, float k0, const uint8_t *code)
{
#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
    int l2 = ix->o.metric == INDEX_L2;
    float s;
    sq8_rows_avx2(1, l2, c->q2, ix->sq.scale, code, ix->dim, &s);
    return l2 ? -s : k0 + s;
#else
    size_t d = ix->dim, i = 0;
    const float *q2 = c->q2;
    if (ix->o.metric == INDEX_L2) {
        const float *sc = ix->sq.scale;
        float s = 0;
#if defined(__AVX512F__)
        __m512 a = _mm512_setzero_ps();
        for (; i + 16 <= d; i += 16) {
            __m512 x = sq8_lane(code + i);
            __m512 t = _mm512_fnmadd_ps(_mm512_loadu_ps(sc + i), x, _mm512_loadu_ps(q2 + i));
            a = _mm512_fmadd_ps(t, t, a);
        }
        s = _mm512_reduce_add_ps(a);
#endif
        for (; i < d; i++) {
            float t = q2[i] - sc[i] * (float)code[i];
            s += t * t;
        }
        return -s;
    } else {
#ifdef SQ8_VNNI
        (void)i;
        return k0 + c->qs * (float)sq8_idot(c->qi, code, d);
#else
        float s = 0;
#if defined(__AVX512F__)
        __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        for (; i + 32 <= d; i += 32) {
            __m512 x = sq8_lane(code + i);
            __m512 y = sq8_lane(code + i + 16);
            a = _mm512_fmadd_ps(_mm512_loadu_ps(q2 + i), x, a);
            b = _mm512_fmadd_ps(_mm512_loadu_ps(q2 + i + 16), y, b);
        }
        for (; i + 16 <= d; i += 16) {
            __m512 x = sq8_lane(code + i);
            a = _mm512_fmadd_ps(_mm512_loadu_ps(q2 + i), x, a);
        }
        s = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
#endif
        for (; i < d; i++)
            s += q2[i] * (float)code[i];
        return k0 + s;
#endif
    }
#endif
}

static void sq8k_score_rows(const vindex *ix, const index_ctx *c, float k0, const uint8_t *codes,
                    size_t n, float *out)
{
    size_t r = 0, d = ix->dim;
#ifdef SQ8_VNNI
    /* ip/cosine: four rows share each load of the int16 query */
    if (ix->o.metric != INDEX_L2) {
        const int16_t *qi = c->qi;
        for (; r + 4 <= n; r += 4) {
            const uint8_t *c0 = codes + r * d, *c1 = c0 + d, *c2 = c1 + d, *c3 = c2 + d;
            __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
            __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();
            /* the group 16 rows ahead: 1.2x at 100k x 384 (38 MB of codes)
             * over the hardware prefetcher alone; a prefetch past the end
             * of the codes is harmless */
            for (size_t pf = 0; pf < 4 * d; pf += 64)
                _mm_prefetch((const char *)(c0 + 16 * d) + pf, _MM_HINT_T0);
            for (size_t i = 0; i < d; i += 32) {
                __m512i qv = _mm512_load_si512(qi + i);
                a0 = _mm512_dpwssd_epi32(a0, qv, sq8_w16(c0 + i, d - i));
                a1 = _mm512_dpwssd_epi32(a1, qv, sq8_w16(c1 + i, d - i));
                a2 = _mm512_dpwssd_epi32(a2, qv, sq8_w16(c2 + i, d - i));
                a3 = _mm512_dpwssd_epi32(a3, qv, sq8_w16(c3 + i, d - i));
            }
            out[r] = k0 + c->qs * (float)_mm512_reduce_add_epi32(a0);
            out[r + 1] = k0 + c->qs * (float)_mm512_reduce_add_epi32(a1);
            out[r + 2] = k0 + c->qs * (float)_mm512_reduce_add_epi32(a2);
            out[r + 3] = k0 + c->qs * (float)_mm512_reduce_add_epi32(a3);
        }
    }
#elif defined(__AVX512F__)
    /* ip/cosine: four rows share each load of the transformed query */
    if (ix->o.metric != INDEX_L2 && d % 16 == 0) {
        const float *q2 = c->q2;
        for (; r + 4 <= n; r += 4) {
            const uint8_t *c0 = codes + r * d, *c1 = c0 + d, *c2 = c1 + d, *c3 = c2 + d;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
            for (size_t i = 0; i < d; i += 16) {
                __m512 qv = _mm512_loadu_ps(q2 + i);
                a0 = _mm512_fmadd_ps(qv, sq8_lane(c0 + i), a0);
                a1 = _mm512_fmadd_ps(qv, sq8_lane(c1 + i), a1);
                a2 = _mm512_fmadd_ps(qv, sq8_lane(c2 + i), a2);
                a3 = _mm512_fmadd_ps(qv, sq8_lane(c3 + i), a3);
            }
            out[r] = k0 + _mm512_reduce_add_ps(a0);
            out[r + 1] = k0 + _mm512_reduce_add_ps(a1);
            out[r + 2] = k0 + _mm512_reduce_add_ps(a2);
            out[r + 3] = k0 + _mm512_reduce_add_ps(a3);
        }
    }
#elif defined(__AVX2__) && defined(__FMA__)
    /* four rows share each load of the query (and scale) */
    {
        int l2 = ix->o.metric == INDEX_L2;
        for (; r + 4 <= n; r += 4) {
            float s[4];
            sq8_rows_avx2(4, l2, c->q2, ix->sq.scale, codes + r * d, d, s);
            for (int k = 0; k < 4; k++)
                out[r + (size_t)k] = l2 ? -s[k] : k0 + s[k];
        }
    }
#endif
    for (; r < n; r++)
        out[r] = sq8k_score(ix, c, k0, codes + r * d);
}

/* Pushes the rows r0 + j of a scored block s[0..n) that reach t's threshold
 * (>=, so a tie with a smaller id can still enter: topk breaks ties by id)
 * and pass the filter.  The id is ix->ids[row], or the row itself for the
 * sq8 candidates (by_row).  Sixteen scores are compared at once: almost
 * every row of a long scan falls below the threshold. */
static void push_block(const vindex *ix, const index_filter *f, topk *t, const float *s,
                       size_t n, size_t r0, int by_row)
{
    float thr = topk_threshold(t);
    size_t j = 0;
#ifdef __AVX512F__
    for (; j + 16 <= n; j += 16) {
        __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j), _mm512_set1_ps(thr), _CMP_GE_OQ);
        while (m) {
            size_t i = j + (size_t)__builtin_ctz(m);
            uint32_t row = (uint32_t)(r0 + i);
            m &= (__mmask16)(m - 1);
            if (s[i] >= thr && ix_row_ok(ix, f, row)) {
                topk_push(t, by_row ? (int64_t)row : ix->ids[row], s[i]);
                thr = topk_threshold(t);
            }
        }
    }
#endif
    for (; j < n; j++) {
        uint32_t row = (uint32_t)(r0 + j);
        if (s[j] >= thr && ix_row_ok(ix, f, row)) {
            topk_push(t, by_row ? (int64_t)row : ix->ids[row], s[j]);
            thr = topk_threshold(t);
        }
    }
}

const ix_kern CPU_KN(ix_kern) = {
    .name = CPU_KNAME,
    .dot = dot,
    .l2 = l2,
    .score_rows = score_rows,
    .sq8_prep = sq8k_prep,
    .sq8_score = sq8k_score,
    .sq8_score_rows = sq8k_score_rows,
    .push_block = push_block,
};
