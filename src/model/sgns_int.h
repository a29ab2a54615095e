/* sgns_int.h - private to the sgns module: what sgns.c shares with its
 * update kernels (sgns_kernels.c, one copy per ISA level). */
#ifndef EMBEDLAB_SGNS_INT_H
#define EMBEDLAB_SGNS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* The Hogwild kernel races on purpose (see sgns.c): keep ThreadSanitizer out
 * of exactly those functions, so `make tsan` still checks everything else. */
#if defined(__SANITIZE_THREAD__)
#define NO_TSAN __attribute__((no_sanitize_thread))
#else
#define NO_TSAN
#endif

#define SIG_SIZE 1024            /* table entries over [-SIG_MAX, SIG_MAX] */
#define SIG_MAX 6.0f             /* word2vec's MAX_EXP */

typedef struct sgns_kern {
    const char *name;   /* the level it was compiled for ("avx2") */
    /* Trains the n context rows in[ctx[j]] (dim D: 32, 64 or 128) against
     * their targets, cnt[j] of them each (0: skip), taken in turn from tg:
     * for each, label 1 for its first target and 0 for the rest, the
     * gradient applied to the row at the end.  Returns lsum plus the loss of
     * each pair added in order. */
    float (*steps)(int D, float *in, float *out, const int32_t *ctx, const int *cnt, size_t n,
                   const int32_t *tg, float alpha, const float *sig, const float *nlsig,
                   float lsum);
    /* Any dim: one input row l1 against its n targets; the gradient of l1 is
     * added to grad (D floats, zeroed by the caller), not applied.  Returns
     * the loss. */
    float (*step_any)(size_t D, const float *restrict l1, float *restrict grad,
                      float *restrict out, const int32_t *tg, int n, float alpha,
                      const float *restrict sig, const float *restrict nlsig);
} sgns_kern;

/* The kernels of level l (a level without a copy of its own gets the one
 * below). */
const sgns_kern *sgns_kern_at(cpu_level l);

#endif
