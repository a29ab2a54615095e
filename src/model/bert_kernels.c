/* bert_kernels.c - the BERT encoder's elementwise kernels (bias, GELU,
 * residual + LayerNorm) and per-head attention, compiled once per ISA level
 * (mk/build.mk) into bert_kern_<level>; the matrix products are in
 * bert_gemm.c, bert_amx.c and OpenBLAS. */
#include "bert_int.h"

#include <math.h>

#ifndef CPU_KLEVEL
#error "bert_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif


/* The elementwise kernels below have an AVX-512 body (gcc -O2 does not
 * vectorise loops of unknown length) and a scalar tail / fallback that
 * computes the same formulas. */
#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 gelu16(__m512 x)
{
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)), t2, p, q;
    t = _mm512_max_ps(_mm512_min_ps(t, _mm512_set1_ps(4.f)), _mm512_set1_ps(-4.f));
    t2 = _mm512_mul_ps(t, t);
    p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(p, t);
    q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.42647390514189e-02f));
    t = _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_div_ps(p, q));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), t);
}
#endif

/* y = gelu(y + b) over rows of n. */
static void bias_gelu(float *restrict y, const float *restrict b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++, y += n) {
        size_t i = 0;
#ifdef __AVX512F__
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, gelu16(_mm512_add_ps(_mm512_loadu_ps(y + i),
                                                         _mm512_loadu_ps(b + i))));
#endif
        for (; i < n; i++)
            y[i] = bert_gelu_ref(y[i] + b[i]);
    }
}

/* y += b over rows of n. */
static void bias_add(float *restrict y, const float *restrict b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++, y += n) {
        size_t i = 0;
#ifdef __AVX512F__
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(b + i)));
#endif
        for (; i < n; i++)
            y[i] += b[i];
    }
}

/* x = LayerNorm(y + b + x) row by row (post-LN residual); two passes over
 * the row for a numerically safe variance. */
static void bias_residual_ln(float *restrict x, const float *restrict y, const float *restrict b,
                             const float *restrict g, const float *restrict beta, size_t rows,
                             size_t n, float eps)
{
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        float mean = 0, var = 0, inv;
        size_t i = 0;
#ifdef __AVX512F__
        __m512 acc = _mm512_setzero_ps(), vm, vi;
        for (; i + 16 <= n; i += 16) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(x + i),
                                     _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(b + i)));
            _mm512_storeu_ps(x + i, v);
            acc = _mm512_add_ps(acc, v);
        }
        mean = _mm512_reduce_add_ps(acc);
#endif
        for (; i < n; i++) {
            x[i] += y[i] + b[i];
            mean += x[i];
        }
        mean /= (float)n;
        i = 0;
#ifdef __AVX512F__
        vm = _mm512_set1_ps(mean);
        acc = _mm512_setzero_ps();
        for (; i + 16 <= n; i += 16) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
            acc = _mm512_fmadd_ps(d, d, acc);
        }
        var = _mm512_reduce_add_ps(acc);
#endif
        for (; i < n; i++) {
            float d = x[i] - mean;
            var += d * d;
        }
        inv = 1.0f / sqrtf(var / (float)n + eps);
        i = 0;
#ifdef __AVX512F__
        vi = _mm512_set1_ps(inv);
        for (; i + 16 <= n; i += 16) {
            __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), vi);
            _mm512_storeu_ps(x + i, _mm512_fmadd_ps(d, _mm512_loadu_ps(g + i),
                                                    _mm512_loadu_ps(beta + i)));
        }
#endif
        for (; i < n; i++)
            x[i] = (x[i] - mean) * inv * g[i] + beta[i];
    }
}

#ifdef __AVX512F__
/* e^x for x <= 0 (scores minus their max): 2^(x log2 e) split into an
 * integer power (scalef) and 2^f, |f| <= 1/2, by its Taylor series to
 * degree 7 (relative error < 1e-8, below float rounding). */
static inline __m512 exp16(__m512 x)
{
    __m512 t, n, f, p;
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    f = _mm512_sub_ps(t, n);
    p = _mm512_set1_ps(1.525273380405984e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618129107628477e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550410866482158e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402265069591007e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471805599453e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

/* Attention of one sentence and one head: out[i] = softmax(q_i K^T * scale) V
 * for i < n.  q/k/v rows are `ld` floats apart (views into the QKV matrix),
 * out rows `ldo`.  kt is scratch for K^T (dh x np, np = n rounded up to 16)
 * and p for one row of probabilities (np).  Only this sentence's keys are
 * read: that is what the padding mask does in a padded batch. */
static void attend(const float *Q, const float *K, const float *V, size_t ld, size_t n, size_t dh,
                   float scale, float *restrict kt, float *restrict p, float *out, size_t ldo)
{
    size_t np = (n + 15) / 16 * 16;

    for (size_t d = 0; d < dh; d++) {
        for (size_t j = 0; j < n; j++)
            kt[d * np + j] = K[j * ld + d];
        for (size_t j = n; j < np; j++)
            kt[d * np + j] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const float *q = Q + i * ld;
        float *o = out + i * ldo, mx = -INFINITY, sum = 0, inv;
        size_t j = 0;
#ifdef __AVX512F__
        for (; j < np; j += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (size_t d = 0; d < dh; d++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_loadu_ps(kt + d * np + j), acc);
            _mm512_storeu_ps(p + j, _mm512_mul_ps(acc, _mm512_set1_ps(scale)));
        }
        for (j = 0; j < n; j++)
            mx = p[j] > mx ? p[j] : mx;
        {
            __m512 vs = _mm512_setzero_ps(), vm = _mm512_set1_ps(mx);
            for (j = 0; j < np; j += 16) {
                __mmask16 live = j + 16 <= n ? 0xffff : (__mmask16)((1u << (n - j)) - 1);
                __m512 ex = _mm512_maskz_mov_ps(live, exp16(_mm512_sub_ps(_mm512_loadu_ps(p + j), vm)));
                _mm512_storeu_ps(p + j, ex);
                vs = _mm512_add_ps(vs, ex);
            }
            sum = _mm512_reduce_add_ps(vs);
        }
#else
        for (; j < n; j++) {
            float acc = 0;
            for (size_t d = 0; d < dh; d++)
                acc += q[d] * kt[d * np + j];
            p[j] = acc * scale;
            mx = p[j] > mx ? p[j] : mx;
        }
        for (j = 0; j < n; j++) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        }
#endif
        inv = 1.0f / sum;
        {
            size_t d = 0;
#ifdef __AVX512F__
            for (; d + 16 <= dh; d += 16) {
                __m512 acc = _mm512_setzero_ps();
                for (j = 0; j < n; j++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(V + j * ld + d), acc);
                _mm512_storeu_ps(o + d, _mm512_mul_ps(acc, _mm512_set1_ps(inv)));
            }
#endif
            for (; d < dh; d++) {
                float acc = 0;
                for (j = 0; j < n; j++)
                    acc += p[j] * V[j * ld + d];
                o[d] = acc * inv;
            }
        }
    }
}

const bert_kern CPU_KN(bert_kern) = {
    .name = CPU_KNAME,
    .bias_gelu = bias_gelu,
    .bias_add = bias_add,
    .bias_residual_ln = bias_residual_ln,
    .attend = attend,
};
