/* bert_kernels.c - the BERT encoder's elementwise kernels (bias, GELU,
 * residual + LayerNorm) and per-head attention, compiled once per ISA level
 * (mk/build.mk) into bert_kern_<level>; the matrix products are in
 * bert_gemm.c, bert_amx.c and OpenBLAS. */
#include "bert_int.h"

#include <math.h>

#ifndef CPU_KLEVEL
#error "bert_kernels.c is compiled once per ISA level with -DCPU_KLEVEL (mk/build.mk)"
#endif


/* The kernels below have one vector body, written over VW-lane vectors:
 * AVX-512 (16 lanes) or AVX2+FMA (8 lanes; gcc -O2 does not vectorise loops
 * of unknown length, nor float reductions), and a scalar tail / fallback
 * that computes the same formulas. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
typedef __m512 vf;
#define v_load _mm512_loadu_ps
#define v_store _mm512_storeu_ps
#define v_set1 _mm512_set1_ps
#define v_zero _mm512_setzero_ps
#define v_add _mm512_add_ps
#define v_sub _mm512_sub_ps
#define v_mul _mm512_mul_ps
#define v_div _mm512_div_ps
#define v_min _mm512_min_ps
#define v_max _mm512_max_ps
#define v_fmadd _mm512_fmadd_ps
#define v_hsum _mm512_reduce_add_ps
#define v_round(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/* p * 2^n for an integral n in [-126, 0] */
#define v_ldexp(p, n) _mm512_scalef_ps(p, n)

/* v with the lanes from `live` on set to zero */
static inline vf v_first(vf v, size_t live)
{
    return _mm512_maskz_mov_ps(live >= 16 ? 0xffff : (__mmask16)((1u << live) - 1), v);
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VW 8
typedef __m256 vf;
#define v_load _mm256_loadu_ps
#define v_store _mm256_storeu_ps
#define v_set1 _mm256_set1_ps
#define v_zero _mm256_setzero_ps
#define v_add _mm256_add_ps
#define v_sub _mm256_sub_ps
#define v_mul _mm256_mul_ps
#define v_div _mm256_div_ps
#define v_min _mm256_min_ps
#define v_max _mm256_max_ps
#define v_fmadd _mm256_fmadd_ps
#define v_round(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define v_ldexp(p, n)                                                                              \
    _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(                                        \
                         _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)))

static inline float v_hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

static inline vf v_first(vf v, size_t live)
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i lim = _mm256_set1_epi32(live >= 8 ? 8 : (int)live);
    return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, idx)));
}
#endif

#ifdef VW
/* the erf-GELU of bert_gelu_ref, VW lanes at a time */
static inline vf gelu_v(vf x)
{
    vf t = v_mul(x, v_set1(0.70710678118654752f)), t2, p, q;
    t = v_max(v_min(t, v_set1(4.f)), v_set1(-4.f));
    t2 = v_mul(t, t);
    p = v_set1(-2.72614225801306e-10f);
    p = v_fmadd(p, t2, v_set1(2.77068142495902e-08f));
    p = v_fmadd(p, t2, v_set1(-2.10102402082508e-06f));
    p = v_fmadd(p, t2, v_set1(-5.69250639462346e-05f));
    p = v_fmadd(p, t2, v_set1(-7.34990630326855e-04f));
    p = v_fmadd(p, t2, v_set1(-2.95459980854025e-03f));
    p = v_fmadd(p, t2, v_set1(-1.60960333262415e-02f));
    p = v_mul(p, t);
    q = v_set1(-1.45660718464996e-05f);
    q = v_fmadd(q, t2, v_set1(-2.13374055278905e-04f));
    q = v_fmadd(q, t2, v_set1(-1.68282697438203e-03f));
    q = v_fmadd(q, t2, v_set1(-7.37332916720468e-03f));
    q = v_fmadd(q, t2, v_set1(-1.42647390514189e-02f));
    t = v_add(v_set1(1.f), v_div(p, q));
    return v_mul(v_mul(v_set1(0.5f), x), t);
}
#endif

/* y = gelu(y + b) over rows of n. */
static void bias_gelu(float *restrict y, const float *restrict b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++, y += n) {
        size_t i = 0;
#ifdef VW
        for (; i + VW <= n; i += VW)
            v_store(y + i, gelu_v(v_add(v_load(y + i), v_load(b + i))));
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
#ifdef VW
        for (; i + VW <= n; i += VW)
            v_store(y + i, v_add(v_load(y + i), v_load(b + i)));
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
#ifdef VW
        vf acc = v_zero(), vm, vi;
        for (; i + VW <= n; i += VW) {
            vf v = v_add(v_load(x + i), v_add(v_load(y + i), v_load(b + i)));
            v_store(x + i, v);
            acc = v_add(acc, v);
        }
        mean = v_hsum(acc);
#endif
        for (; i < n; i++) {
            x[i] += y[i] + b[i];
            mean += x[i];
        }
        mean /= (float)n;
        i = 0;
#ifdef VW
        vm = v_set1(mean);
        acc = v_zero();
        for (; i + VW <= n; i += VW) {
            vf d = v_sub(v_load(x + i), vm);
            acc = v_fmadd(d, d, acc);
        }
        var = v_hsum(acc);
#endif
        for (; i < n; i++) {
            float d = x[i] - mean;
            var += d * d;
        }
        inv = 1.0f / sqrtf(var / (float)n + eps);
        i = 0;
#ifdef VW
        vi = v_set1(inv);
        for (; i + VW <= n; i += VW) {
            vf d = v_mul(v_sub(v_load(x + i), vm), vi);
            v_store(x + i, v_fmadd(d, v_load(g + i), v_load(beta + i)));
        }
#endif
        for (; i < n; i++)
            x[i] = (x[i] - mean) * inv * g[i] + beta[i];
    }
}

#ifdef VW
/* e^x for x <= 0 (scores minus their max): 2^(x log2 e) split into an
 * integer power n >= -126 (x is clamped at -87) and 2^f, |f| <= 1/2, by its
 * Taylor series to degree 7 (relative error < 1e-8, below float rounding). */
static inline vf exp_v(vf x)
{
    vf t, n, f, p;
    x = v_max(x, v_set1(-87.0f));
    t = v_mul(x, v_set1(1.44269504088896341f));
    n = v_round(t);
    f = v_sub(t, n);
    p = v_set1(1.525273380405984e-05f);
    p = v_fmadd(p, f, v_set1(1.5403530393381606e-04f));
    p = v_fmadd(p, f, v_set1(1.3333558146428443e-03f));
    p = v_fmadd(p, f, v_set1(9.618129107628477e-03f));
    p = v_fmadd(p, f, v_set1(5.550410866482158e-02f));
    p = v_fmadd(p, f, v_set1(2.402265069591007e-01f));
    p = v_fmadd(p, f, v_set1(6.931471805599453e-01f));
    p = v_fmadd(p, f, v_set1(1.0f));
    return v_ldexp(p, n);
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
#ifdef VW
        for (; j < np; j += VW) {
            vf acc = v_zero();
            for (size_t d = 0; d < dh; d++)
                acc = v_fmadd(v_set1(q[d]), v_load(kt + d * np + j), acc);
            v_store(p + j, v_mul(acc, v_set1(scale)));
        }
        for (j = 0; j < n; j++)
            mx = p[j] > mx ? p[j] : mx;
        {
            vf vs = v_zero(), vm = v_set1(mx);
            for (j = 0; j < np; j += VW) {
                vf ex = v_first(exp_v(v_sub(v_load(p + j), vm)), j < n ? n - j : 0);
                v_store(p + j, ex);
                vs = v_add(vs, ex);
            }
            sum = v_hsum(vs);
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
#ifdef VW
            for (; d + VW <= dh; d += VW) {
                vf acc = v_zero();
                for (j = 0; j < n; j++)
                    acc = v_fmadd(v_set1(p[j]), v_load(V + j * ld + d), acc);
                v_store(o + d, v_mul(acc, v_set1(inv)));
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
