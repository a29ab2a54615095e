/* vec.h - dense float vectors: dot products, norms, GEMM via OpenBLAS,
 * a bounded top-k heap, and a `vecset` (one vector per item id).
 *
 * vec.c is the only file that includes <cblas.h>; everything else calls
 * these wrappers.  Matrices are row-major.
 */
#ifndef EMBEDLAB_VEC_H
#define EMBEDLAB_VEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

float vec_dot(const float *a, const float *b, size_t n);
float vec_norm(const float *a, size_t n);
float vec_l2sq(const float *a, const float *b, size_t n);   /* squared distance */
/* Scales a to unit length; returns its old norm (a is left as is if 0). */
float vec_normalize(float *a, size_t n);
void vec_axpy(float *y, float alpha, const float *x, size_t n);  /* y += alpha x */

/* C[m x n] = alpha * A[m x k] * op(B) + beta * C, row-major.
 * trans_b = 0: B is k x n; trans_b = 1: B is n x k (so C = A B^T). */
void vec_gemm(int trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *A, const float *B, float beta, float *C);
/* Same with explicit leading dimensions (for views into larger matrices). */
void vec_gemm_ld(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb,
                 float beta, float *C, size_t ldc);
/* y[m] = A[m x n] x[n]  (row-major) */
void vec_gemv(size_t m, size_t n, const float *A, const float *x, float *y);

/* Inverts the symmetric positive-definite n x n matrix A in place (row-major,
 * full storage; only its upper triangle is read): LAPACK spotrf (Cholesky
 * factor) then spotri, and the result mirrored so both triangles hold the
 * inverse.  Returns 0, -ERR_RANGE when A is not positive definite (A then
 * holds partial results) or n exceeds LAPACK's int. */
int vec_spd_inverse(float *A, size_t n, err *e);

/* Sets the number of BLAS threads (1 inside our own worker threads). */
void vec_blas_threads(int n);
/* Name of the OpenBLAS core in use ("SkylakeX", "Haswell", ...) and the
 * configuration string, for `info`. */
const char *vec_blas_core(void);
const char *vec_blas_config(void);
/* The OPENBLAS_CORETYPE this CPU should use when OpenBLAS 0.3.21 fails to
 * recognise it (it falls back to slow generic kernels on new Xeons), or NULL
 * when the detected core is fine or the variable is already set. */
const char *vec_blas_suggest_coretype(void);

/* Projects n rows of X[n x dim] onto their first two principal components:
 * out_xy[2i], out_xy[2i+1] = coordinates of row i (centred).  The
 * covariance is formed with one sgemm and its top two eigenvectors found by
 * power iteration with deflation (dim is small: 32..1024).  Each axis' sign
 * is fixed so its largest-magnitude loading is positive, so the picture is
 * stable between runs.  Returns 0, -ERR_RANGE (n < 2 or dim < 2) or
 * -ERR_NOMEM. */
int vec_pca2(const float *X, size_t n, size_t dim, float *out_xy, err *e);

/* ---- bounded top-k (keeps the k largest scores) ----------------------- */
typedef struct topk {
    size_t k, n;        /* capacity, current count */
    int64_t *ids;       /* caller-provided, k slots */
    float *scores;      /* caller-provided, k slots */
} topk;

void topk_init(topk *t, size_t k, int64_t *ids, float *scores);
/* Smallest kept score, or -INFINITY while not full. */
float topk_threshold(const topk *t);
void topk_push(topk *t, int64_t id, float score);
/* Sorts by descending score (ties by ascending id); returns the count. */
size_t topk_sort(topk *t);

/* A scored id, for lists sorted with qsort. */
typedef struct vec_hit {
    int64_t id;
    float score;
} vec_hit;

/* qsort order of vec_hit: topk_sort's, descending score, ties by ascending id. */
int vec_hit_cmp(const void *a, const void *b);

/* ---- vecset: n vectors of width dim, one per item id ------------------ */
typedef struct vecset {
    size_t n, dim;
    int64_t *ids;    /* n item ids, owned */
    float *data;     /* n * dim floats, row-major, owned (64-byte aligned) */
} vecset;

int vecset_init(vecset *vs, size_t n, size_t dim, err *e);  /* zeroed storage */
void vecset_done(vecset *vs);                               /* NULL-safe */
/* Row index of an id via binary search (ids must be sorted ascending), or -1. */
long vecset_find(const vecset *vs, int64_t id);
/* Sorts rows by id so vecset_find works; returns 0 or -ERR_NOMEM. */
int vecset_sort(vecset *vs, err *e);
void vecset_normalize(vecset *vs);

#endif
