/* bert_gemm_kernels.c - the register-blocked micro-kernels of bert_gemm.c,
 * compiled once per ISA level (mk/build.mk) into bert_gemm_kern_<level>.
 *
 * fp32: W packed into panels of NR = 16 columns, [k x 16] each; an MR x 16
 * block of Y stays in registers while the kernel streams one panel (see
 * bert_gemm.c for the design).  Written with GCC vector extensions: the same
 * code compiles to AVX-512 (MR = 24), AVX2 (MR = 6, the accumulators fit 16
 * ymm registers) or SSE (MR = 2).
 *
 * bf16 weights: the same panels with each entry a bf16 pair (W[c][2j],
 * W[c][2j+1]) in one 32-bit lane, half the bytes to stream.  A bf16 is the
 * top half of an fp32, so the kernel widens a lane to two fp32 weights with
 * a shift and a mask and multiplies in fp32 as above: X stays fp32, only W
 * is rounded.  With few tokens the product is bound by reading W, so half
 * the bytes is what counts; any x86-64 runs it.
 */
#include "bert_gemm.h"

#include <stdint.h>
#include <string.h>

#ifndef CPU_KLEVEL
#error "bert_gemm_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif

#define NR BERT_GEMM_NR

/* The native vector (16, 8 or 4 floats: GCC splits wider generic vectors
 * badly) and rows per block: the MR x NR/VW accumulators plus a panel row
 * fill the register file (32 zmm; 16 ymm or xmm). */
#if defined(__AVX512F__)
#define VW 16
#define MR_MAX 24
#elif defined(__AVX__)
#define VW 8
#define MR_MAX 6
#else
#define VW 4
#define MR_MAX 2
#endif
#define NV (NR / VW)

/* Software prefetch distance in the panel stream (4 KB, 64 values of k).
 * Measured with bench_bert_gemm at T = 8..96 on the Xeon: the hardware
 * prefetchers alone leave the kernel waiting on L3 once it has a few FMAs
 * per k to do (T = 16 took 2-3x the time of T = 1); 2-4 KB ahead halves it. */
#define PF_AHEAD 1024

typedef float vf __attribute__((vector_size(VW * 4)));

/* ---- micro-kernel -------------------------------------------------------- */

/* Y[mr x ncol] = X[mr x K] P[K x NR] (first ncol columns), X rows K apart, Y
 * rows ldy apart.  Always inlined with a constant mr so the accumulators
 * become registers. */
static inline __attribute__((always_inline)) void kernel(int mr, const float *restrict X, size_t K,
                                                         const float *restrict P, float *restrict Y,
                                                         size_t ldy, size_t ncol)
{
    vf c[MR_MAX][NV];

#pragma GCC unroll 32
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            c[i][v] = (vf){0};
    for (size_t kk = 0; kk < K; kk++) {
        vf b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            b[v] = *(const vf *)(P + kk * NR + v * VW);
        /* one line per k, PF_AHEAD floats ahead (into the next panel at the
         * end: panels are consecutive); prefetches never fault */
        __builtin_prefetch(P + kk * NR + PF_AHEAD, 0, 3);
#pragma GCC unroll 32
        for (int i = 0; i < mr; i++) {
            float x = X[(size_t)i * K + kk];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                c[i][v] += x * b[v];
        }
    }
    if (ncol == NR) {
#pragma GCC unroll 32
        for (int i = 0; i < mr; i++)
            memcpy(Y + (size_t)i * ldy, c[i], NR * sizeof(float));
    } else {
        /* last panel of an n that is not a multiple of NR */
        for (int i = 0; i < mr; i++)
            memcpy(Y + (size_t)i * ldy, c[i], ncol * sizeof(float));
    }
}

#define KERNEL_CASE(m)                                                                             \
    case m:                                                                                        \
        kernel(m, X, K, P, Y, ldy, ncol);                                                          \
        break

static void block(int mr, const float *X, size_t K, const float *P, float *Y, size_t ldy,
                  size_t ncol)
{
    switch (mr) {
        KERNEL_CASE(1);
        KERNEL_CASE(2);
#if MR_MAX >= 6
        KERNEL_CASE(3);
        KERNEL_CASE(4);
        KERNEL_CASE(5);
        KERNEL_CASE(6);
#endif
#if MR_MAX >= 24
        KERNEL_CASE(7);
        KERNEL_CASE(8);
        KERNEL_CASE(9);
        KERNEL_CASE(10);
        KERNEL_CASE(11);
        KERNEL_CASE(12);
        KERNEL_CASE(13);
        KERNEL_CASE(14);
        KERNEL_CASE(15);
        KERNEL_CASE(16);
        KERNEL_CASE(17);
        KERNEL_CASE(18);
        KERNEL_CASE(19);
        KERNEL_CASE(20);
        KERNEL_CASE(21);
        KERNEL_CASE(22);
        KERNEL_CASE(23);
        KERNEL_CASE(24);
#endif
    default:
        break;
    }
}

static void panels(const bert_gemm_w *pw, const float *X, size_t T, float *Y, size_t p0,
                      size_t p1)
{
    size_t K = pw->k, N = pw->n;
    /* rows split into equal blocks of at most MR_MAX (30 -> 15 + 15, not 24 + 6) */
    size_t nb = (T + MR_MAX - 1) / MR_MAX, base = nb ? T / nb : 0, extra = nb ? T % nb : 0;

    for (size_t p = p0; p < p1; p++) {
        const float *P = pw->panels + p * K * NR;
        size_t ncol = N - p * NR < NR ? N - p * NR : NR, r = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t rows = base + (b < extra);
            block((int)rows, X + r * K, K, P, Y + r * N + p * NR, N, ncol);
            r += rows;
        }
    }
}

/* ---- bf16 weights ------------------------------------------------------------ */

typedef uint32_t vu __attribute__((vector_size(VW * 4)));

/* Y[mr x ncol] = X[mr x K] P[K x NR] with P's entries bf16 pairs: lane c of
 * pair row j holds W[c][2j] (low half) and W[c][2j+1] (high half); K even.
 * With L (the rounding error of P, same layout) the weights are P + L. */
static inline __attribute__((always_inline)) void kernel_bf16(int mr, const float *restrict X,
                                                              size_t K,
                                                              const uint32_t *restrict P,
                                                              const uint32_t *restrict L,
                                                              float *restrict Y, size_t ldy,
                                                              size_t ncol)
{
    vf c[MR_MAX][NV];
    const vu himask = (vu){0} + 0xffff0000u;

#pragma GCC unroll 32
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            c[i][v] = (vf){0};
    for (size_t j = 0; j < K / 2; j++) {
        vf b0[NV], b1[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            vu u = *(const vu *)(P + j * NR + v * VW);
            b0[v] = (vf)(u << 16);
            b1[v] = (vf)(u & himask);
            if (L) {
                vu w = *(const vu *)(L + j * NR + v * VW);
                b0[v] += (vf)(w << 16);
                b1[v] += (vf)(w & himask);
            }
        }
        /* PF_AHEAD floats ahead is the same byte distance as fp32 */
        __builtin_prefetch(P + j * NR + PF_AHEAD, 0, 3);
        if (L)
            __builtin_prefetch(L + j * NR + PF_AHEAD, 0, 3);
#pragma GCC unroll 32
        for (int i = 0; i < mr; i++) {
            float x0 = X[(size_t)i * K + 2 * j], x1 = X[(size_t)i * K + 2 * j + 1];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                c[i][v] += x0 * b0[v] + x1 * b1[v];
        }
    }
    for (int i = 0; i < mr; i++)
        memcpy(Y + (size_t)i * ldy, c[i], ncol * sizeof(float));
}

#define KERNEL_BF16_CASE(m)                                                                        \
    case m:                                                                                        \
        if (L)                                                                                     \
            kernel_bf16(m, X, K, P, L, Y, ldy, ncol);                                              \
        else                                                                                       \
            kernel_bf16(m, X, K, P, NULL, Y, ldy, ncol);                                           \
        break

static void block_bf16(int mr, const float *X, size_t K, const uint32_t *P, const uint32_t *L,
                       float *Y, size_t ldy, size_t ncol)
{
    switch (mr) {
        KERNEL_BF16_CASE(1);
        KERNEL_BF16_CASE(2);
#if MR_MAX >= 6
        KERNEL_BF16_CASE(3);
        KERNEL_BF16_CASE(4);
        KERNEL_BF16_CASE(5);
        KERNEL_BF16_CASE(6);
#endif
#if MR_MAX >= 24
        KERNEL_BF16_CASE(7);
        KERNEL_BF16_CASE(8);
        KERNEL_BF16_CASE(9);
        KERNEL_BF16_CASE(10);
        KERNEL_BF16_CASE(11);
        KERNEL_BF16_CASE(12);
        KERNEL_BF16_CASE(13);
        KERNEL_BF16_CASE(14);
        KERNEL_BF16_CASE(15);
        KERNEL_BF16_CASE(16);
        KERNEL_BF16_CASE(17);
        KERNEL_BF16_CASE(18);
        KERNEL_BF16_CASE(19);
        KERNEL_BF16_CASE(20);
        KERNEL_BF16_CASE(21);
        KERNEL_BF16_CASE(22);
        KERNEL_BF16_CASE(23);
        KERNEL_BF16_CASE(24);
#endif
    default:
        break;
    }
}

static void panels_bf16(const bert_gemm_wb *pw, const float *X, size_t T, float *Y, size_t p0,
                        size_t p1)
{
    size_t K = pw->k, N = pw->n;
    size_t nb = (T + MR_MAX - 1) / MR_MAX, base = nb ? T / nb : 0, extra = nb ? T % nb : 0;

    for (size_t p = p0; p < p1; p++) {
        const uint32_t *P = pw->hi + p * (K / 2) * NR;
        const uint32_t *L = pw->lo ? pw->lo + p * (K / 2) * NR : NULL;
        size_t ncol = N - p * NR < NR ? N - p * NR : NR, r = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t rows = base + (b < extra);
            block_bf16((int)rows, X + r * K, K, P, L, Y + r * N + p * NR, N, ncol);
            r += rows;
        }
    }
}

const bert_gemm_kern CPU_KN(bert_gemm_kern) = {
    .name = CPU_KNAME,
    .mr_max = MR_MAX,
    .panels = panels,
    .panels_bf16 = panels_bf16,
};
