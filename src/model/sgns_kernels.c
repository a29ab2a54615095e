/* sgns_kernels.c - the SGNS update (one context row against its centre and
 * noise targets), compiled once per ISA level (mk/build.mk) into
 * sgns_kern_<level>; sgns.c's workers call the one in force. */
#include "sgns_int.h"

#include <string.h>

#ifndef CPU_KLEVEL
#error "sgns_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif

/* GCC/Clang vector extensions: one AVX-512 register, or two AVX2 ones, or
 * four SSE ones, whatever the level allows; no intrinsics needed.  The helpers
 * pass vectors by value but are static and inlined, so GCC's psABI note for
 * builds without -mavx512f does not concern them. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

static inline NO_TSAN v16 ld16(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline NO_TSAN void st16(float *p, const v16 *v) { memcpy(p, v, sizeof *v); }

#ifdef __AVX__   /* the generic-dim update in 8-float registers */
static inline NO_TSAN v8 ld8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline NO_TSAN void st8(float *p, const v8 *v) { memcpy(p, v, sizeof *v); }
#endif

#ifndef __AVX__
static inline NO_TSAN v4 ld4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline NO_TSAN void st4(float *p, const v4 *v) { memcpy(p, v, sizeof *v); }
#endif

static inline float hsum8(const v8 *v)
{
    v4 a = __builtin_shufflevector(*v, *v, 0, 1, 2, 3) +
           __builtin_shufflevector(*v, *v, 4, 5, 6, 7);
    a += __builtin_shufflevector(a, a, 2, 3, 0, 1);
    return a[0] + a[1];
}

static inline float hsum16(const v16 *v)
{
    v8 h = __builtin_shufflevector(*v, *v, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(*v, *v, 8, 9, 10, 11, 12, 13, 14, 15);
    return hsum8(&h);
}

static inline int sig_index(float f)
{
    float v = (f + SIG_MAX) * (SIG_SIZE / (2 * SIG_MAX));
    /* Written as max/min (vmaxss/vminss), not branches: the sign of f is
     * unpredictable. */
    v = v > 0.0f ? v : 0.0f;
    v = v < (float)(SIG_SIZE - 1) ? v : (float)(SIG_SIZE - 1);
    return (int)v;
}

/* One input row against its targets for dim D in {32, 64, 128}, a constant
 * after inlining: the row and its gradient live in registers, the dot
 * product is summed as a tree (a serial chain of FMAs is latency-bound).
 * Label 1 for tg[0], 0 for the rest.  Returns the loss. */
static inline __attribute__((always_inline)) NO_TSAN float
step_fixed(const int D, float *restrict l1, float *restrict out, const int32_t *tg, int n,
           float alpha, const float *restrict sig, const float *restrict nlsig)
{
    enum { MAXV = 128 / 16 };
    const int NV = D / 16, NA = NV < 4 ? NV : 4;
    v16 a[MAXV], acc[MAXV];
    float loss = 0;

#pragma GCC unroll 8
    for (int k = 0; k < NV; k++) {
        a[k] = ld16(l1 + 16 * k);
        acc[k] = (v16){0};
    }
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)tg[i] * D;
        v16 ov[MAXV], s[4];
#pragma GCC unroll 8
        for (int k = 0; k < NV; k++) {
            ov[k] = ld16(o + 16 * k);
            if (k < NA)
                s[k] = a[k] * ov[k];
            else
                s[k % NA] += a[k] * ov[k];
        }
        v16 t = NA == 4 ? (s[0] + s[1]) + (s[2] + s[3]) : NA == 2 ? s[0] + s[1] : s[0];
        int ix = sig_index(hsum16(&t));
        /* label 1: g = (1 - σ(f)) α = σ(-f) α; label 0: g = -σ(f) α.  The
         * grid is symmetric, so σ(-f) and -log σ(-f) sit at SIG_SIZE-1-ix. */
        float g = i == 0 ? sig[SIG_SIZE - 1 - ix] * alpha : -sig[ix] * alpha;
        loss += i == 0 ? nlsig[ix] : nlsig[SIG_SIZE - 1 - ix];
#pragma GCC unroll 8
        for (int k = 0; k < NV; k++) {
            acc[k] += g * ov[k];
            v16 nv = ov[k] + g * a[k];
            st16(o + 16 * k, &nv);
        }
    }
#pragma GCC unroll 8
    for (int k = 0; k < NV; k++) {
        v16 nv = a[k] + acc[k];
        st16(l1 + 16 * k, &nv);
    }
    return loss;
}

/* Any dim: accumulates the gradient of l1 into grad (dim floats, zeroed by
 * the caller) instead of applying it.  Returns the loss. */
static NO_TSAN float step_any(size_t D, const float *restrict l1, float *restrict grad,
                      float *restrict out, const int32_t *tg, int n, float alpha,
                      const float *restrict sig, const float *restrict nlsig)
{
    float loss = 0;

    for (int i = 0; i < n; i++) {
        float *restrict o = out + (size_t)tg[i] * D;
        size_t d = 0;
        float f = 0, fv;
#ifdef __AVX__
        v8 s = {0};
        for (; d + 8 <= D; d += 8)
            s += ld8(l1 + d) * ld8(o + d);
        fv = hsum8(&s);
#else
        /* the same sums as one 8-float accumulator, in two SSE registers
         * (GCC keeps a v8 in memory when the target has no 32-byte
         * registers: 4x slower) */
        v4 s0 = {0}, s1 = {0}, t;
        for (; d + 8 <= D; d += 8) {
            s0 += ld4(l1 + d) * ld4(o + d);
            s1 += ld4(l1 + d + 4) * ld4(o + d + 4);
        }
        t = s0 + s1;
        t += __builtin_shufflevector(t, t, 2, 3, 0, 1);
        fv = t[0] + t[1];
#endif
        for (; d < D; d++)
            f += l1[d] * o[d];
        int ix = sig_index(f + fv);
        float g = i == 0 ? sig[SIG_SIZE - 1 - ix] * alpha : -sig[ix] * alpha;
        loss += i == 0 ? nlsig[ix] : nlsig[SIG_SIZE - 1 - ix];
#ifdef __AVX__
        for (d = 0; d + 8 <= D; d += 8) {
            v8 ov = ld8(o + d), lv = ld8(l1 + d);
            v8 ng = ld8(grad + d) + g * ov, no = ov + g * lv;
            st8(grad + d, &ng);
            st8(o + d, &no);
        }
#else
        for (d = 0; d + 4 <= D; d += 4) {   /* elementwise: any width gives the same */
            v4 ov = ld4(o + d), lv = ld4(l1 + d);
            v4 ng = ld4(grad + d) + g * ov, no = ov + g * lv;
            st4(grad + d, &ng);
            st4(o + d, &no);
        }
#endif
        for (; d < D; d++) {
            grad[d] += g * o[d];
            o[d] += g * l1[d];
        }
    }
    return loss;
}

/* Each of the n contexts with targets, in order (see sgns_int.h). */
static NO_TSAN float steps(int D, float *in, float *out, const int32_t *ctx, const int *cnt,
                           size_t n, const int32_t *tg, float alpha, const float *sig,
                           const float *nlsig, float lsum)
{
    size_t nt = 0;

    for (size_t j = 0; j < n; j++) {
        int k = cnt[j];
        if (!k)
            continue;
        float *l1 = in + (size_t)ctx[j] * (size_t)D;
        if (D == 64)
            lsum += step_fixed(64, l1, out, tg + nt, k, alpha, sig, nlsig);
        else if (D == 32)
            lsum += step_fixed(32, l1, out, tg + nt, k, alpha, sig, nlsig);
        else
            lsum += step_fixed(128, l1, out, tg + nt, k, alpha, sig, nlsig);
        nt += (size_t)k;
    }
    return lsum;
}

const sgns_kern CPU_KN(sgns_kern) = {
    .name = CPU_KNAME,
    .steps = steps,
    .step_any = step_any,
};
