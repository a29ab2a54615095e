/* hnsw_kernels.c - the HNSW walk's distance kernel, compiled once per ISA
 * level (mk/build.mk: baseline, avx2, avx512) into the table hnsw_kern_<level>;
 * hnsw.c picks the one in force.
 *
 * dist_rows scores the query against a list of rows scattered through the
 * vector array (the unvisited neighbours of one node): four rows at a time,
 * so each query load serves four rows and eight independent accumulator
 * chains keep the FMA units busy (one row's dot product alone waits on the
 * FMA latency), while the next four rows are prefetched whole.  Each
 * distance is bit-identical to index_kernels.c's dot / l2 of the same level
 * (same lanes, same order of additions), so a graph search scores a row
 * exactly as a flat scan does.
 */
#include "index_int.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#ifndef CPU_KLEVEL
#error "hnsw_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif

/* Prefetches all of one row (d floats). */
static inline void prefetch_row(const float *x, size_t d)
{
    const char *p = (const char *)x;
    for (size_t o = 0; o < d * sizeof(float); o += 64)
        __builtin_prefetch(p + o);
}

#if defined(__AVX2__) && !defined(__AVX512F__) && defined(__FMA__)
static inline float hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
#endif

/* The four distances of q to x[0..4): -dot for ip/cosine, squared L2 for l2;
 * each exactly what index_kernels.c's dot/l2 give for that row. */
static inline void dist4(int l2m, const float *q, const float *const *x, size_t d, float *out)
{
#if defined(__AVX512F__)
    __m512 s0[4], s1[4];
    size_t i = 0;
    for (int r = 0; r < 4; r++)
        s0[r] = s1[r] = _mm512_setzero_ps();
    for (; i + 32 <= d; i += 32) {
        __m512 q0 = _mm512_loadu_ps(q + i), q1 = _mm512_loadu_ps(q + i + 16);
        for (int r = 0; r < 4; r++) {
            __m512 a = _mm512_loadu_ps(x[r] + i), b = _mm512_loadu_ps(x[r] + i + 16);
            if (l2m) {
                a = _mm512_sub_ps(q0, a);
                b = _mm512_sub_ps(q1, b);
                s0[r] = _mm512_fmadd_ps(a, a, s0[r]);
                s1[r] = _mm512_fmadd_ps(b, b, s1[r]);
            } else {
                s0[r] = _mm512_fmadd_ps(q0, a, s0[r]);
                s1[r] = _mm512_fmadd_ps(q1, b, s1[r]);
            }
        }
    }
    for (; i + 16 <= d; i += 16) {
        __m512 q0 = _mm512_loadu_ps(q + i);
        for (int r = 0; r < 4; r++) {
            __m512 a = _mm512_loadu_ps(x[r] + i);
            if (l2m) {
                a = _mm512_sub_ps(q0, a);
                s0[r] = _mm512_fmadd_ps(a, a, s0[r]);
            } else {
                s0[r] = _mm512_fmadd_ps(q0, a, s0[r]);
            }
        }
    }
    if (i < d) {
        __mmask16 m = (__mmask16)((1u << (d - i)) - 1u);
        __m512 q0 = _mm512_maskz_loadu_ps(m, q + i);
        for (int r = 0; r < 4; r++) {
            __m512 a = _mm512_maskz_loadu_ps(m, x[r] + i);
            if (l2m) {
                a = _mm512_sub_ps(q0, a);
                s0[r] = _mm512_fmadd_ps(a, a, s0[r]);
            } else {
                s0[r] = _mm512_fmadd_ps(q0, a, s0[r]);
            }
        }
    }
    for (int r = 0; r < 4; r++) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(s0[r], s1[r]));
        out[r] = l2m ? s : -s;
    }
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0[4], s1[4];
    size_t i = 0;
    for (int r = 0; r < 4; r++)
        s0[r] = s1[r] = _mm256_setzero_ps();
    for (; i + 16 <= d; i += 16) {
        __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
        for (int r = 0; r < 4; r++) {
            __m256 a = _mm256_loadu_ps(x[r] + i), b = _mm256_loadu_ps(x[r] + i + 8);
            if (l2m) {
                a = _mm256_sub_ps(q0, a);
                b = _mm256_sub_ps(q1, b);
                s0[r] = _mm256_fmadd_ps(a, a, s0[r]);
                s1[r] = _mm256_fmadd_ps(b, b, s1[r]);
            } else {
                s0[r] = _mm256_fmadd_ps(q0, a, s0[r]);
                s1[r] = _mm256_fmadd_ps(q1, b, s1[r]);
            }
        }
    }
    for (int r = 0; r < 4; r++) {
        float s = hsum256(_mm256_add_ps(s0[r], s1[r]));
        for (size_t j = i; j < d; j++) {
            if (l2m) {
                float t = q[j] - x[r][j];
                s += t * t;
            } else {
                s += q[j] * x[r][j];
            }
        }
        out[r] = l2m ? s : -s;
    }
#else
    for (int r = 0; r < 4; r++) {
        float s[4] = {0, 0, 0, 0};
        const float *b = x[r];
        size_t i = 0;
        for (; i + 4 <= d; i += 4)
            for (int j = 0; j < 4; j++) {
                if (l2m) {
                    float t = q[i + j] - b[i + j];
                    s[j] += t * t;
                } else {
                    s[j] += q[i + j] * b[i + j];
                }
            }
        for (; i < d; i++) {
            if (l2m) {
                float t = q[i] - b[i];
                s[0] += t * t;
            } else {
                s[0] += q[i] * b[i];
            }
        }
        out[r] = l2m ? (s[0] + s[1]) + (s[2] + s[3]) : -((s[0] + s[1]) + (s[2] + s[3]));
    }
#endif
}

/* out[j] = distance of q to row rows[j] of vecs (stride d), j < n. */
static void dist_rows(index_metric m, const float *q, const float *vecs, size_t d,
                      const uint32_t *rows, size_t n, float *out)
{
    int l2m = m == INDEX_L2;
    size_t j = 0;

    for (size_t k = 0; k < n && k < 4; k++)
        prefetch_row(vecs + (size_t)rows[k] * d, d);
    for (; j < n; j += 4) {
        const float *x[4];
        float o[4];
        size_t left = n - j < 4 ? n - j : 4;
        for (size_t k = j + 4; k < n && k < j + 8; k++)
            prefetch_row(vecs + (size_t)rows[k] * d, d);
        /* a short last block repeats its first row (its extra scores are
         * dropped): every row still gets the four-row arithmetic */
        for (size_t k = 0; k < 4; k++)
            x[k] = vecs + (size_t)rows[j + (k < left ? k : 0)] * d;
        dist4(l2m, q, x, d, o);
        for (size_t k = 0; k < left; k++)
            out[j + k] = o[k];
    }
}

/* out[j] = qi . code of row rows[j] (codes with a stride of dp bytes, dp a
 * multiple of 32, padded with zeros as qi is), exactly in int32: the walk
 * on sq8 codes.  |qi| is bounded so that no sum can wrap (hnsw.c). */
static void sq8_dots(const int16_t *qi, const uint8_t *codes, size_t dp, const uint32_t *rows,
                     size_t n, int32_t *out)
{
    size_t j = 0;
#if defined(__AVX2__)
    /* four rows share each load of the query; codes widened to int16 and
     * multiplied pairwise into int32 (vpmaddwd): 16 dimensions per
     * instruction, a third of the float path's work and a quarter of its
     * bytes */
    for (; j + 4 <= n; j += 4) {
        const uint8_t *c0 = codes + (size_t)rows[j] * dp, *c1 = codes + (size_t)rows[j + 1] * dp;
        const uint8_t *c2 = codes + (size_t)rows[j + 2] * dp, *c3 = codes + (size_t)rows[j + 3] * dp;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        __m256i a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
        for (size_t i = 0; i < dp; i += 16) {
            __m256i qv = _mm256_loadu_si256((const __m256i *)(qi + i));
#define SQ8_ACC(a, c)                                                                              \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(qv, _mm256_cvtepu8_epi16(                            \
                                                      _mm_loadu_si128((const __m128i *)((c) + i)))))
            SQ8_ACC(a0, c0);
            SQ8_ACC(a1, c1);
            SQ8_ACC(a2, c2);
            SQ8_ACC(a3, c3);
#undef SQ8_ACC
        }
        {
            /* horizontal sums of the four accumulators at once */
            __m256i s01 = _mm256_hadd_epi32(a0, a1), s23 = _mm256_hadd_epi32(a2, a3);
            __m256i s = _mm256_hadd_epi32(s01, s23);
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            _mm_storeu_si128((__m128i *)(out + j), t);
        }
    }
#endif
    for (; j < n; j++) {
        const uint8_t *c = codes + (size_t)rows[j] * dp;
        int32_t s = 0;
        for (size_t i = 0; i < dp; i++)
            s += (int32_t)qi[i] * (int32_t)c[i];
        out[j] = s;
    }
}

const hnsw_kern CPU_KN(hnsw_kern) = {
    .name = CPU_KNAME,
    .dist_rows = dist_rows,
    .sq8_dots = sq8_dots,
};
