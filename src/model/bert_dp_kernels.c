/* bert_dp_kernels.c - Y = bf16(X) W^T with vdpbf16ps (AVX512_BF16: AMD
 * Zen 4, Intel Cooper Lake and later), the BERT encoder's bf16 products on
 * CPUs without AMX; compiled for the avx512bf16 level only (mk/build.mk)
 * into bert_dp_kern_avx512bf16, which bert_gemm.c uses where the level in
 * force has it (bert_gemm_dp).
 *
 * W is bert_gemm's bf16 weight panels (bert_gemm.h): panel p, pair row j
 * holds in each of its 16 lanes one column's pair (W[c][2j], W[c][2j+1]).
 * vdpbf16ps multiplies each bf16 pair of a lane by the pair in the same lane
 * of another vector and adds both products to the lane's fp32 value, so a
 * panel row times X's pair (2j, 2j+1) of one row, broadcast to every lane,
 * is one instruction.  X is rounded to bf16 once per product (to_bf16, the
 * instruction's conversion).  An MR x (NP x 16) block of Y, 8 x 48 (24
 * accumulators, three panel rows, the broadcasts read from memory), stays
 * in registers while the kernel streams K/2 pair rows: 11 loads per 24
 * vdpbf16ps.  Half the instructions of the fp32 FMA kernel per product, so
 * it pays where the product is bound by arithmetic (many tokens); with few
 * tokens it reads the same bytes of W as the bf16-weight kernel.
 */
#include "bert_gemm.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#ifndef CPU_KLEVEL
#error "bert_dp_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif
#ifndef __AVX512BF16__
#error "bert_dp_kernels.c needs AVX512_BF16 (-mavx512bf16)"
#endif

#define NR BERT_GEMM_NR
#define MRD 8   /* rows per block */
#define NPD 3   /* panels per block */
/* prefetch distance in the panel stream, 4 KB (as bert_gemm_kernels.c) */
#define PF_AHEAD 1024

/* Bit casts between the integer and bf16 vector types (no instruction; a
 * memcpy also compiles against the plain-C stand-in of test_isa_soft). */
static inline __m512bh as_bh(__m512i v)
{
    __m512bh r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static inline __m512i as_si(__m512bh v)
{
    __m512i r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static void to_bf16(const float *X, size_t n, uint16_t *xb)
{
    size_t i = 0;

    for (; i + 32 <= n; i += 32) {
        __m512 lo = _mm512_loadu_ps(X + i), hi = _mm512_loadu_ps(X + i + 16);
        _mm512_storeu_si512((void *)(xb + i), as_si(_mm512_cvtne2ps_pbh(hi, lo)));
    }
    if (i < n) {
        /* the tail through masks: the same conversion, nothing read past n */
        size_t m = n - i;
        __mmask16 m0 = (__mmask16)(m >= 16 ? 0xffffu : (1u << m) - 1);
        __mmask16 m1 = (__mmask16)(m > 16 ? (1u << (m - 16)) - 1 : 0);
        __m512 lo = _mm512_maskz_loadu_ps(m0, X + i), hi = _mm512_maskz_loadu_ps(m1, X + i + 16);
        _mm512_mask_storeu_epi16((void *)(xb + i), (__mmask32)((1ull << m) - 1),
                                 as_si(_mm512_cvtne2ps_pbh(hi, lo)));
    }
}

/* Y[mr x (np panels)] = X[mr x K] P^T, X bf16 rows K apart, the np panels
 * pstride entries apart, the last one ncol columns wide. */
static inline __attribute__((always_inline)) void kernel_dp(int mr, int np,
                                                            const uint16_t *restrict X, size_t K,
                                                            const uint32_t *restrict P,
                                                            size_t pstride, float *restrict Y,
                                                            size_t ldy, size_t ncol)
{
    __m512 c[MRD][NPD];

#pragma GCC unroll 8
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 3
        for (int v = 0; v < np; v++)
            c[i][v] = _mm512_setzero_ps();
    for (size_t j = 0; j < K / 2; j++) {
        __m512bh b[NPD];
#pragma GCC unroll 3
        for (int v = 0; v < np; v++) {
            b[v] = as_bh(_mm512_load_si512((const void *)(P + v * pstride + j * NR)));
            __builtin_prefetch(P + v * pstride + j * NR + PF_AHEAD, 0, 3);
        }
#pragma GCC unroll 8
        for (int i = 0; i < mr; i++) {
            uint32_t x;
            __m512bh a;
            memcpy(&x, X + (size_t)i * K + 2 * j, sizeof x);
            a = as_bh(_mm512_set1_epi32((int)x));
#pragma GCC unroll 3
            for (int v = 0; v < np; v++)
                c[i][v] = _mm512_dpbf16_ps(c[i][v], a, b[v]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
#pragma GCC unroll 3
        for (int v = 0; v < np - 1; v++)
            _mm512_storeu_ps(Y + (size_t)i * ldy + v * NR, c[i][v]);
        _mm512_mask_storeu_ps(Y + (size_t)i * ldy + (np - 1) * NR,
                              (__mmask16)(ncol >= NR ? 0xffffu : (1u << ncol) - 1), c[i][np - 1]);
    }
}

#define DP_CASE(m)                                                                                 \
    case m:                                                                                        \
        if (np == 3)                                                                               \
            kernel_dp(m, 3, X, K, P, pstride, Y, ldy, ncol);                                       \
        else if (np == 2)                                                                          \
            kernel_dp(m, 2, X, K, P, pstride, Y, ldy, ncol);                                       \
        else                                                                                       \
            kernel_dp(m, 1, X, K, P, pstride, Y, ldy, ncol);                                       \
        break

static void block_dp(int mr, int np, const uint16_t *X, size_t K, const uint32_t *P,
                     size_t pstride, float *Y, size_t ldy, size_t ncol)
{
    switch (mr) {
        DP_CASE(1);
        DP_CASE(2);
        DP_CASE(3);
        DP_CASE(4);
        DP_CASE(5);
        DP_CASE(6);
        DP_CASE(7);
        DP_CASE(8);
    default:
        break;
    }
}

/* Panel groups outermost: a group (3 panels, 36-147 KB for MiniLM) stays in
 * L1/L2 while every row block of X passes over it. */
static void panels_dp(const bert_gemm_wb *pw, const uint16_t *xb, size_t T, float *Y, size_t p0,
                      size_t p1)
{
    size_t K = pw->k, N = pw->n, pstride = K / 2 * NR;
    size_t nb = (T + MRD - 1) / MRD, base = nb ? T / nb : 0, extra = nb ? T % nb : 0;

    for (size_t p = p0; p < p1;) {
        int np = p1 - p < NPD ? (int)(p1 - p) : NPD;
        size_t last = p + (size_t)np - 1, r = 0;
        size_t ncol = N - last * NR < NR ? N - last * NR : NR;
        for (size_t b = 0; b < nb; b++) {
            size_t rows = base + (b < extra);
            block_dp((int)rows, np, xb + r * K, K, pw->hi + p * pstride, pstride,
                     Y + r * N + p * NR, N, ncol);
            r += rows;
        }
        p += (size_t)np;
    }
}

const bert_dp_kern CPU_KN(bert_dp_kern) = {
    .name = CPU_KNAME,
    .to_bf16 = to_bf16,
    .panels = panels_dp,
};
