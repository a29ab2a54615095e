/* vec.c - vector math over OpenBLAS (the only file including cblas.h),
 * top-k heap and vecset helpers.  See vec.h. */
#include "vec.h"
#include "ids.h"
#include "mem.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS entry points not in every cblas.h. */
extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
/* LAPACK (Fortran ABI; Debian's libopenblas exports it): Cholesky factor of
 * a symmetric positive-definite matrix, and the inverse from that factor.
 * The trailing size_t is gfortran's hidden length of the character argument
 * (LAPACK_FORTRAN_STRLEN_END in lapack.h); OpenBLAS's own C versions ignore
 * it. */
extern void spotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda,
                    blasint *info, size_t uplo_len);
extern void spotri_(const char *uplo, const blasint *n, float *a, const blasint *lda,
                    blasint *info, size_t uplo_len);

float vec_dot(const float *a, const float *b, size_t n)
{
    /* Four accumulators let the compiler vectorise without -ffast-math. */
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

float vec_norm(const float *a, size_t n) { return sqrtf(vec_dot(a, a, n)); }

float vec_l2sq(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

float vec_normalize(float *a, size_t n)
{
    float nr = vec_norm(a, n);
    if (nr > 0) {
        float inv = 1.0f / nr;
        for (size_t i = 0; i < n; i++)
            a[i] *= inv;
    }
    return nr;
}

void vec_axpy(float *y, float alpha, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void vec_gemm_ld(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb,
                 float beta, float *C, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                (blasint)k, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
                (blasint)ldc);
}

void vec_gemm(int trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *A, const float *B, float beta, float *C)
{
    vec_gemm_ld(0, trans_b, m, n, k, alpha, A, k, B, trans_b ? k : n, beta, C, n);
}

void vec_gemv(size_t m, size_t n, const float *A, const float *x, float *y)
{
    if (m == 0)
        return;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)m, (blasint)n, 1.0f, A,
                (blasint)n, x, 1, 0.0f, y, 1);
}

int vec_spd_inverse(float *A, size_t n, err *e)
{
    blasint nn = (blasint)n, info = 0;

    if (n == 0)
        return 0;
    if ((size_t)nn != n || nn < 0)
        return err_set(e, ERR_RANGE, "matrix of order %zu is too large for LAPACK", n);
    /* LAPACK is column-major: its lower triangle is our row-major upper one,
     * and a symmetric matrix is its own transpose. */
    spotrf_("L", &nn, A, &nn, &info, 1);
    if (info > 0)
        return err_set(e, ERR_RANGE, "matrix is not positive definite (leading minor %d)",
                       (int)info);
    if (info == 0)
        spotri_("L", &nn, A, &nn, &info, 1);
    if (info != 0)
        return err_set(e, ERR_RANGE, "LAPACK inversion failed (info %d)", (int)info);
    for (size_t r = 1; r < n; r++)
        for (size_t c = 0; c < r; c++)
            A[r * n + c] = A[c * n + r];
    return 0;
}

void vec_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
const char *vec_blas_core(void) { return openblas_get_corename(); }
const char *vec_blas_config(void) { return openblas_get_config(); }

const char *vec_blas_suggest_coretype(void)
{
    const char *core = openblas_get_corename();

    if (getenv("OPENBLAS_CORETYPE"))
        return NULL;
    /* 0.3.21 reports unknown recent Intel CPUs as "Prescott" or similar
     * generic cores; pick the best kernel set the CPU supports. */
    if (core && (strcmp(core, "SkylakeX") == 0 || strcmp(core, "Cooperlake") == 0 ||
                 strcmp(core, "SapphireRapids") == 0 || strcmp(core, "Haswell") == 0 ||
                 strcmp(core, "Zen") == 0))
        return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

/* ---- top-k: a min-heap on score over caller arrays --------------------- */

void topk_init(topk *t, size_t k, int64_t *ids, float *scores)
{
    t->k = k;
    t->n = 0;
    t->ids = ids;
    t->scores = scores;
}

float topk_threshold(const topk *t)
{
    return t->n < t->k ? -INFINITY : t->scores[0];
}

/* a is "worse" than b: lower score, or equal score and larger id. */
static int worse(float sa, int64_t ia, float sb, int64_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(topk *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && worse(t->scores[l], t->ids[l], t->scores[m], t->ids[m]))
            m = l;
        if (r < t->n && worse(t->scores[r], t->ids[r], t->scores[m], t->ids[m]))
            m = r;
        if (m == i)
            return;
        float s = t->scores[i]; t->scores[i] = t->scores[m]; t->scores[m] = s;
        int64_t d = t->ids[i]; t->ids[i] = t->ids[m]; t->ids[m] = d;
        i = m;
    }
}

void topk_push(topk *t, int64_t id, float score)
{
    if (t->k == 0 || score != score)  /* NaN never ranks */
        return;
    if (t->n < t->k) {
        size_t i = t->n++;
        t->scores[i] = score;
        t->ids[i] = id;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(t->scores[i], t->ids[i], t->scores[p], t->ids[p]))
                break;
            float s = t->scores[i]; t->scores[i] = t->scores[p]; t->scores[p] = s;
            int64_t d = t->ids[i]; t->ids[i] = t->ids[p]; t->ids[p] = d;
            i = p;
        }
        return;
    }
    if (!worse(t->scores[0], t->ids[0], score, id))
        return;
    t->scores[0] = score;
    t->ids[0] = id;
    sift_down(t, 0);
}

size_t topk_sort(topk *t)
{
    size_t n = t->n;
    /* Heap-sort in place: repeatedly move the worst to the end. */
    while (t->n > 1) {
        size_t last = t->n - 1;
        float s = t->scores[0]; t->scores[0] = t->scores[last]; t->scores[last] = s;
        int64_t d = t->ids[0]; t->ids[0] = t->ids[last]; t->ids[last] = d;
        t->n--;
        sift_down(t, 0);
    }
    t->n = n;
    return n;
}

int vec_hit_cmp(const void *a, const void *b)
{
    const vec_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* ---- vecset ----------------------------------------------------------- */

int vecset_init(vecset *vs, size_t n, size_t dim, err *e)
{
    memset(vs, 0, sizeof *vs);
    if (dim && n > SIZE_MAX / dim / sizeof(float))
        return err_set(e, ERR_RANGE, "vector set too large (%zu x %zu)", n, dim);
    vs->ids = mem_calloc(n ? n : 1, sizeof *vs->ids);
    vs->data = mem_aligned(64, ((n && dim) ? n * dim : 1) * sizeof(float));
    if (!vs->ids || !vs->data) {
        vecset_done(vs);
        return err_set(e, ERR_NOMEM, "out of memory for %zu x %zu vectors", n, dim);
    }
    memset(vs->data, 0, n * dim * sizeof(float));
    vs->n = n;
    vs->dim = dim;
    return 0;
}

void vecset_done(vecset *vs)
{
    if (!vs)
        return;
    mem_free(vs->ids);
    mem_free(vs->data);
    memset(vs, 0, sizeof *vs);
}

long vecset_find(const vecset *vs, int64_t id) { return ids_find(vs->ids, vs->n, id); }

typedef struct { int64_t id; size_t row; } id_row;

static int cmp_id_row(const void *a, const void *b)
{
    const id_row *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int vecset_sort(vecset *vs, err *e)
{
    id_row *ord = mem_array(vs->n ? vs->n : 1, sizeof *ord);
    float *nd = mem_aligned(64, ((vs->n && vs->dim) ? vs->n * vs->dim : 1) * sizeof(float));
    if (!ord || !nd) {
        mem_free(ord);
        mem_free(nd);
        return err_set(e, ERR_NOMEM, "out of memory sorting vectors");
    }
    for (size_t i = 0; i < vs->n; i++) {
        ord[i].id = vs->ids[i];
        ord[i].row = i;
    }
    qsort(ord, vs->n, sizeof *ord, cmp_id_row);
    for (size_t i = 0; i < vs->n; i++) {
        vs->ids[i] = ord[i].id;
        memcpy(nd + i * vs->dim, vs->data + ord[i].row * vs->dim, vs->dim * sizeof(float));
    }
    mem_free(vs->data);
    vs->data = nd;
    mem_free(ord);
    return 0;
}

void vecset_normalize(vecset *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        vec_normalize(vs->data + i * vs->dim, vs->dim);
}

/* Power iteration on the symmetric dim x dim matrix C for its top
 * eigenvector; v holds a start vector and receives the result. */
static void pca_power(const float *C, size_t dim, float *v, float *tmp)
{
    for (int it = 0; it < 300; it++) {
        vec_gemv(dim, dim, C, v, tmp);
        float nrm = vec_norm(tmp, dim);
        if (nrm <= 0)
            return;   /* C is zero on this subspace: keep v */
        float diff = 0;
        for (size_t j = 0; j < dim; j++) {
            float x = tmp[j] / nrm;
            diff += fabsf(x - v[j]);
            v[j] = x;
        }
        if (diff < 1e-7f * (float)dim)
            break;
    }
}

int vec_pca2(const float *X, size_t n, size_t dim, float *out_xy, err *e)
{
    float *Xc = NULL, *C = NULL, *v = NULL;
    double *mean = NULL;

    if (n < 2 || dim < 2)
        return err_set(e, ERR_RANGE, "pca: need at least 2 rows and 2 dimensions");
    Xc = mem_array(n, dim * sizeof(float));
    C = mem_array(dim, dim * sizeof(float));
    v = mem_array(3 * dim, sizeof(float));
    mean = mem_calloc(dim, sizeof *mean);
    if (!Xc || !C || !v || !mean) {
        mem_free(Xc);
        mem_free(C);
        mem_free(v);
        mem_free(mean);
        return err_set(e, ERR_NOMEM, "pca: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            mean[j] += X[i * dim + j];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            Xc[i * dim + j] = (float)(X[i * dim + j] - mean[j] / (double)n);
    /* C = Xc^T Xc / n */
    vec_gemm_ld(1, 0, dim, dim, n, 1.0f / (float)n, Xc, dim, Xc, dim, 0.0f, C, dim);
    float *v1 = v, *v2 = v + dim, *tmp = v + 2 * dim;
    for (int a = 0; a < 2; a++) {
        float *w = a ? v2 : v1;
        /* a fixed, non-symmetric start so no eigenvector is missed by symmetry */
        for (size_t j = 0; j < dim; j++)
            w[j] = 1.0f + 0.01f * (float)((j * 7 + (size_t)a * 3) % 11);
        vec_normalize(w, dim);
        pca_power(C, dim, w, tmp);
        if (a == 0) {   /* deflate: C -= lambda v1 v1^T */
            vec_gemv(dim, dim, C, v1, tmp);
            float lambda = vec_dot(v1, tmp, dim);
            for (size_t r = 0; r < dim; r++)
                for (size_t c = 0; c < dim; c++)
                    C[r * dim + c] -= lambda * v1[r] * v1[c];
        }
        size_t big = 0;
        for (size_t j = 1; j < dim; j++)
            if (fabsf(w[j]) > fabsf(w[big]))
                big = j;
        if (w[big] < 0)
            for (size_t j = 0; j < dim; j++)
                w[j] = -w[j];
    }
    for (size_t i = 0; i < n; i++) {
        out_xy[2 * i] = vec_dot(Xc + i * dim, v1, dim);
        out_xy[2 * i + 1] = vec_dot(Xc + i * dim, v2, dim);
    }
    mem_free(Xc);
    mem_free(C);
    mem_free(v);
    mem_free(mean);
    return 0;
}
