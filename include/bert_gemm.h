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

#endif
