/* bert_gemm.h - the fp32 matrix product of the BERT encoder's linear layers
 * for few tokens, and the small thread team that splits it.
 *
 * Part of the bert module (bert.c is its only user); public so the unit tests
 * and bench_bert_gemm can reach it.  Y[T x n] = X[T x k] W^T with W [n x k]
 * (the PyTorch Linear layout) packed once, at load, into column panels, so a
 * call packs nothing: OpenBLAS packs the whole weight matrix on every call,
 * which dominates when T is a single sentence.
 */
#ifndef EMBEDLAB_BERT_GEMM_H
#define EMBEDLAB_BERT_GEMM_H

#include <stddef.h>

#include <stdint.h>

#include "cpu.h"
#include "err.h"

/* Columns per packed panel: one 16-float vector. */
#define BERT_GEMM_NR 16

/* W [n x k] as ceil(n / NR) panels of [k x NR] floats (panel p, row kk holds
 * W[p*NR + j][kk] for j < NR, zeros past n), 64-byte aligned. */
typedef struct bert_gemm_w {
    size_t n, k;
    float *panels;       /* owned (mem_aligned) */
} bert_gemm_w;

/* Packs W [n x k] (borrowed, read once) into pw.  0, -ERR_RANGE (n or k is
 * 0) or -ERR_NOMEM; pw is zeroed on failure. */
int bert_gemm_pack(bert_gemm_w *pw, const float *W, size_t n, size_t k);
void bert_gemm_w_done(bert_gemm_w *pw);              /* NULL-safe, idempotent */
size_t bert_gemm_n_panels(const bert_gemm_w *pw);

/* Y[T x n] = X[T x k] W^T for the columns of panels [p0, p1) only (row
 * strides k and n).  Threads may run disjoint panel ranges of one product. */
void bert_gemm_panels(const bert_gemm_w *pw, const float *X, size_t T, float *Y, size_t p0,
                      size_t p1);

/* The same product with W stored as bf16 (half the bytes to stream; X and
 * the arithmetic stay fp32): panel p, pair row j holds for each of its NR
 * columns c one 32-bit lane with bf16(W[c][2j]) in the low and
 * bf16(W[c][2j+1]) in the high half.  With split, lo holds the rounding
 * error bf16(W - hi) in the same layout, and the product uses hi + lo
 * (about 16 significant bits of W, the bytes of fp32). */
typedef struct bert_gemm_wb {
    size_t n, k;         /* k even */
    uint32_t *hi;        /* owned (mem_aligned) */
    uint32_t *lo;        /* owned; NULL unless split */
} bert_gemm_wb;

/* 0, -ERR_RANGE (n or k is 0, or k odd) or -ERR_NOMEM; zeroed on failure. */
int bert_gemm_pack_bf16(bert_gemm_wb *pw, const float *W, size_t n, size_t k, int split);
void bert_gemm_wb_done(bert_gemm_wb *pw);            /* NULL-safe, idempotent */
/* bf16(f), round to nearest even (NaN stays NaN), and back. */
uint16_t bert_f32_to_bf16(float f);
float bert_bf16_to_f32(uint16_t h);

/* ---- kernels: one copy per ISA level (bert_gemm_kernels.c) ---------------- */
typedef struct bert_gemm_kern {
    const char *name;    /* the level it was compiled for ("avx2") */
    int mr_max;          /* rows of Y per register block */
    void (*panels)(const bert_gemm_w *pw, const float *X, size_t T, float *Y, size_t p0,
                   size_t p1);
    void (*panels_bf16)(const bert_gemm_wb *pw, const float *X, size_t T, float *Y, size_t p0,
                        size_t p1);
} bert_gemm_kern;

/* bf16 x bf16 products with fp32 sums (vdpbf16ps; bert_dp_kernels.c, only
 * an avx512bf16 copy).  to_bf16: xb[i] = bf16(X[i]) for i < n, round to
 * nearest even (the instruction's conversion).  panels: Y = xb W^T for
 * panels [p0, p1) of W's hi part (lo is not used), xb [T x k] row-major as
 * to_bf16 wrote it. */
typedef struct bert_dp_kern {
    const char *name;
    void (*to_bf16)(const float *X, size_t n, uint16_t *xb);
    void (*panels)(const bert_gemm_wb *pw, const uint16_t *xb, size_t T, float *Y, size_t p0,
                   size_t p1);
} bert_dp_kern;

/* The kernels of level l (a level without a copy of its own gets the one
 * below), and those in force. */
const bert_gemm_kern *bert_gemm_kern_at(cpu_level l);
const bert_gemm_kern *bert_gemm_kern_cur(void);
/* The vdpbf16ps kernels of level l and those in force: NULL below
 * avx512bf16. */
const bert_dp_kern *bert_dp_kern_at(cpu_level l);
const bert_dp_kern *bert_dp_kern_cur(void);
/* For tests: the bf16 x bf16 products run on table k from now on, whatever
 * the CPU (NULL: the level in force again), e.g. the AVX512_BF16 code
 * compiled against a plain-C stand-in of the intrinsics (test_isa_soft).
 * Not while products run. */
void bert_dp_kern_force(const bert_dp_kern *k);

/* ---- team: a caller plus persistent helper threads ------------------------
 * bert_team_run runs fn(arg, c) once for every chunk c < n_chunks, the
 * chunks claimed one at a time by whichever member is free (the caller
 * included), and returns when all are done.  Chunks must be independent.
 * Helpers spin about BERT_TEAM_SPIN_US after their last chunk (the next
 * linear layer of the same forward pass follows within microseconds), then
 * sleep on a condition variable: an idle team costs no CPU.  One caller at
 * a time. */
#ifndef BERT_TEAM_SPIN_US
#define BERT_TEAM_SPIN_US 200
#endif

typedef struct bert_team bert_team;
typedef void (*bert_team_fn)(void *arg, size_t chunk);

/* n_threads >= 1 (1: no helpers, run calls fn inline).  NULL with ERR_NOMEM
 * or ERR_IO (thread creation failed) in e. */
bert_team *bert_team_new(int n_threads, err *e);
void bert_team_free(bert_team *t);                   /* NULL-safe; joins */
int bert_team_size(const bert_team *t);              /* 1 for NULL */
void bert_team_run(bert_team *t, bert_team_fn fn, void *arg, size_t n_chunks);

/* Y = X W^T over the team (NULL: the caller alone), a few chunks of panels
 * per member. */
void bert_gemm(bert_team *t, const bert_gemm_w *pw, const float *X, size_t T, float *Y);
/* Same over bf16 weights. */
void bert_gemm_bf16(bert_team *t, const bert_gemm_wb *pw, const float *X, size_t T, float *Y);
/* 1 when the kernels in force multiply bf16 by bf16 (bert_dp_kern_cur()). */
int bert_gemm_has_dp(void);
/* Y = bf16(X) W^T with fp32 sums (W's hi part; any T), over the team: X is
 * rounded into xb (T * k entries, the caller's scratch) first.  Only when
 * bert_gemm_has_dp(). */
void bert_gemm_dp(bert_team *t, const bert_gemm_wb *pw, const float *X, size_t T, float *Y,
                  uint16_t *xb);

#endif
