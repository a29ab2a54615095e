/* test_isa.c - every copy of every hot kernel the running CPU can execute,
 * against a scalar double-precision reference, at real sizes (384 dims, the
 * all-MiniLM-L6-v2 products) and with odd tails; a copy the CPU lacks is
 * skipped with its name ("CPU lacks avx512vnni").  Not only the copy the
 * dispatcher picks: each is called through its level's table.
 *
 * Families: index (dot, L2, four-row scoring, sq8 scoring, block push),
 * bert_gemm (fp32 and bf16-weight packed products), bert (bias, GELU,
 * residual LayerNorm, attention), sgns (the SGNS update).
 *
 * Built a second time as test_isa_soft (-DISA_SOFT): the same checks on the
 * AVX-512/VNNI branches compiled against tests/softsimd/immintrin.h, a
 * plain-C stand-in, so that code runs (logic, masks, tails) on every CPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/index/index_int.h"
#include "../../src/model/bert_int.h"
#include "../../src/model/sgns_int.h"
#include "cpu.h"
#include "mem.h"
#include "test_skip.h"

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t rng_state;

static float frand(void)   /* [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rand_vec(size_t n, float scale)
{
    float *a = mem_aligned(64, (n + 16) * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < n + 16; i++)
        a[i] = scale * frand();
    return a;
}

/* Runs the test body for level l of a family built for it, or skips. */
static int want_level(const char *family, cpu_level l, const char *have_name)
{
    if (!cpu_has(l)) {
        test_skip("%s %s: CPU lacks %s", family, cpu_level_name(l), cpu_level_feature(l));
        return 0;
    }
    /* the table of level l is the copy compiled for l */
    assert_string_equal(have_name, cpu_level_name(l));
    return 1;
}

static void close_to(double got, double want, double tol, const char *what, size_t a, size_t b)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s (%zu, %zu): got %.9g, want %.9g (tolerance %.3g)", what, a, b, got, want, tol);
}

static const size_t dims[] = {1, 3, 7, 15, 16, 17, 31, 32, 33, 100, 383, 384, 385};
#define N_DIMS (sizeof dims / sizeof *dims)

/* ---- index ---------------------------------------------------------------------- */

static void index_run(const ix_kern *K)
{

    rng_state = 1;
    for (size_t di = 0; di < N_DIMS; di++) {
        size_t d = dims[di], n = 13;
        float *q = rand_vec(d, 1), *rows = rand_vec(n * d, 1), out[13];
        for (size_t r = 0; r < n; r++) {
            const float *x = rows + r * d;
            double dot = 0, l2 = 0, mag = 0, mag2 = 0;
            for (size_t i = 0; i < d; i++) {
                dot += (double)q[i] * x[i];
                mag += fabs((double)q[i] * x[i]);
                l2 += ((double)q[i] - x[i]) * ((double)q[i] - x[i]);
                mag2 += ((double)q[i] - x[i]) * ((double)q[i] - x[i]);
            }
            close_to(K->dot(q, x, d), dot, (d + 2) * 0x1p-23 * mag, "dot", d, r);
            close_to(K->l2(q, x, d), l2, (d + 2) * 0x1p-23 * mag2, "l2", d, r);
        }
        /* the four-row kernel gives each row exactly the single-row score */
        for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
            K->score_rows((index_metric)m, q, rows, n, d, out);
            for (size_t r = 0; r < n; r++) {
                float want = m == INDEX_L2 ? -K->l2(q, rows + r * d, d) : K->dot(q, rows + r * d, d);
                if (memcmp(&out[r], &want, sizeof want) != 0)
                    fail_msg("score_rows metric %d d=%zu row %zu: %.9g, single-row %.9g", m, d,
                             r, (double)out[r], (double)want);
            }
        }
        mem_free(q);
        mem_free(rows);
    }
}

__attribute__((unused)) static void index_level(cpu_level l)
{
    const ix_kern *K = ix_kern_tab[l];
    if (want_level("index", l, K->name))
        index_run(K);
}

/* sq8: scores of codes against the reference dot product / distance with
 * the decoded rows (vmin + scale * code). */
static void sq8_run(const ix_kern *K)
{

    rng_state = 2;
    for (size_t di = 0; di < N_DIMS; di++) {
        size_t d = dims[di], n = 11;
        for (int m = INDEX_COSINE; m <= INDEX_L2; m++) {
            vindex ix;
            index_ctx c;
            uint8_t *codes = malloc(n * d);
            float out[11], k0;
            memset(&ix, 0, sizeof ix);
            memset(&c, 0, sizeof c);
            ix.dim = d;
            ix.o.metric = (index_metric)m;
            ix.sq.vmin = rand_vec(d, 0.5f);
            ix.sq.scale = rand_vec(d, 1);
            for (size_t j = 0; j < d; j++)
                ix.sq.scale[j] = fabsf(ix.sq.scale[j]) / 255.0f;
            c.q = rand_vec(d, 1);
            c.q2 = rand_vec(d, 1);
            c.qi = mem_aligned(64, SQ8_QPAD(d) * sizeof(int16_t));
            assert_non_null(codes);
            assert_non_null(c.qi);
            for (size_t i = 0; i < n * d; i++)
                codes[i] = (uint8_t)(frand() * 128 + 128);
            k0 = K->sq8_prep(&ix, &c);
            K->sq8_score_rows(&ix, &c, k0, codes, n, out);
            for (size_t r = 0; r < n; r++) {
                double want = 0, mag = 0;
                for (size_t j = 0; j < d; j++) {
                    double x = ix.sq.vmin[j] + (double)ix.sq.scale[j] * codes[r * d + j];
                    double t = m == INDEX_L2 ? -(c.q[j] - x) * (c.q[j] - x) : c.q[j] * x;
                    want += t;
                    mag += fabs(t) + fabs(c.q[j] * ix.sq.vmin[j]);
                }
                /* float rounding, and the int16 query of the VNNI kernel
                 * (a 1/21930 step of the largest element at d = 384) */
                close_to(out[r], want, 2e-3 * mag + 1e-6, "sq8 score_rows", d, r);
                close_to(K->sq8_score(&ix, &c, k0, codes + r * d), out[r],
                         1e-5 * mag + 1e-6, "sq8 single row", d, r);
            }
            mem_free(ix.sq.vmin);
            mem_free(ix.sq.scale);
            mem_free(c.q);
            mem_free(c.q2);
            mem_free(c.qi);
            free(codes);
        }
    }
}

__attribute__((unused)) static void sq8_level(cpu_level l)
{
    const ix_kern *K = ix_kern_tab[l];
    if (want_level("sq8", l, K->name))
        sq8_run(K);
}

/* push_block keeps the k best of a block (ties by the smaller row), as a
 * plain sort does. */
static void push_run(const ix_kern *K)
{
    enum { N = 1003, KK = 10 };
    static float s[N];
    static uint8_t dead[N];
    int64_t ids[KK], want_ids[KK];
    float sc[KK], want_sc[KK];
    vindex ix;
    topk t, w;

    rng_state = 3;
    for (size_t i = 0; i < N; i++)
        s[i] = (float)(int)(frand() * 200) / 8;   /* many ties */
    memset(&ix, 0, sizeof ix);
    ix.dead = dead;
    ix.n = N;
    topk_init(&t, KK, ids, sc);
    for (size_t r0 = 0; r0 < N; r0 += 256)
        K->push_block(&ix, NULL, &t, s + r0, N - r0 < 256 ? N - r0 : 256, r0, 1);
    topk_init(&w, KK, want_ids, want_sc);
    for (size_t i = 0; i < N; i++)
        topk_push(&w, (int64_t)i, s[i]);
    assert_int_equal(topk_sort(&t), KK);
    assert_int_equal(topk_sort(&w), KK);
    for (int i = 0; i < KK; i++) {
        assert_int_equal(ids[i], want_ids[i]);
        assert_true(sc[i] == want_sc[i]);
    }
}

__attribute__((unused)) static void push_level(cpu_level l)
{
    const ix_kern *K = ix_kern_tab[l];
    if (want_level("push", l, K->name))
        push_run(K);
}

/* ---- bert_gemm --------------------------------------------------------------- */

static const size_t gemm_shapes[][2] = {   /* n, k: the MiniLM products, tails */
    {1152, 384}, {384, 384}, {1536, 384}, {384, 1536}, {40, 10}, {17, 2}, {33, 46},
};
static const size_t gemm_T[] = {1, 2, 5, 7, 16, 24, 25, 49, 64};

static void check_gemm(const float *Y, const float *X, const float *Wr, size_t T, size_t n,
                       size_t k, const char *what)
{
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < n; j++) {
            double want = 0, mag = 0;
            for (size_t i = 0; i < k; i++) {
                want += (double)X[t * k + i] * Wr[j * k + i];
                mag += fabs((double)X[t * k + i] * Wr[j * k + i]);
            }
            if (!(fabs(Y[t * n + j] - want) <= (double)(k + 2) * 0x1p-23 * mag + 1e-30))
                fail_msg("%s: T=%zu n=%zu k=%zu: Y[%zu][%zu] = %.9g, want %.9g", what, T, n, k,
                         t, j, (double)Y[t * n + j], want);
        }
}

static void gemm_run(const bert_gemm_kern *K)
{

    rng_state = 4;
    for (size_t si = 0; si < sizeof gemm_shapes / sizeof *gemm_shapes; si++) {
        size_t n = gemm_shapes[si][0], k = gemm_shapes[si][1], Tmax = 64;
        float *W = rand_vec(n * k, 1), *X = rand_vec(Tmax * k, 1);
        float *Y = malloc(Tmax * n * sizeof *Y), *Wr = malloc(n * k * sizeof *Wr);
        bert_gemm_w pw;
        assert_non_null(Y);
        assert_non_null(Wr);
        assert_int_equal(bert_gemm_pack(&pw, W, n, k), 0);
        for (size_t ti = 0; ti < sizeof gemm_T / sizeof *gemm_T; ti++) {
            size_t T = gemm_T[ti];
            if (n * k > 100000 && T % 8 != 1 && T != 24 && T != 25)
                continue;   /* keep the big shapes quick */
            K->panels(&pw, X, T, Y, 0, bert_gemm_n_panels(&pw));
            check_gemm(Y, X, W, T, n, k, "fp32 panels");
        }
        /* bf16 weights: exact against the rounded weights (hi, or hi + lo) */
        for (int split = 0; split <= 1; split++) {
            bert_gemm_wb pb;
            assert_int_equal(bert_gemm_pack_bf16(&pb, W, n, k, split), 0);
            for (size_t i = 0; i < n * k; i++) {
                float h = bert_bf16_to_f32(bert_f32_to_bf16(W[i]));
                Wr[i] = split ? h + bert_bf16_to_f32(bert_f32_to_bf16(W[i] - h)) : h;
            }
            for (size_t ti = 0; ti < sizeof gemm_T / sizeof *gemm_T; ti++) {
                size_t T = gemm_T[ti];
                if (n * k > 100000 && T % 8 != 1 && T != 24 && T != 25)
                    continue;
                K->panels_bf16(&pb, X, T, Y, 0, (n + BERT_GEMM_NR - 1) / BERT_GEMM_NR);
                check_gemm(Y, X, Wr, T, n, k, split ? "bf16 split panels" : "bf16 panels");
            }
            bert_gemm_wb_done(&pb);
        }
        bert_gemm_w_done(&pw);
        mem_free(W);
        mem_free(X);
        free(Y);
        free(Wr);
    }
}

__attribute__((unused)) static void gemm_level(cpu_level l)
{
    const bert_gemm_kern *K = bert_gemm_kern_at(l);
    if (want_level("gemm", l, K->name))
        gemm_run(K);
}

/* ---- bert elementwise and attention ---------------------------------------- */

static double gelu_ref(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }

static void bert_run(const bert_kern *K)
{
    static const size_t ns[] = {1, 15, 16, 17, 37, 384, 1536};

    rng_state = 5;
    for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
        size_t n = ns[ni], rows = 3;
        float *y = rand_vec(rows * n, 3), *b = rand_vec(n, 1), *x = rand_vec(rows * n, 2);
        float *y0 = malloc(rows * n * sizeof *y0), *x0 = malloc(rows * n * sizeof *x0);
        float *g = rand_vec(n, 1), *be = rand_vec(n, 1);
        assert_non_null(y0);
        assert_non_null(x0);
        memcpy(y0, y, rows * n * sizeof *y);
        K->bias_gelu(y, b, rows, n);
        for (size_t i = 0; i < rows * n; i++)
            close_to(y[i], gelu_ref((double)y0[i] + b[i % n]), 2e-6 * (1 + fabs(y0[i] + b[i % n])),
                     "bias_gelu", n, i);
        memcpy(y, y0, rows * n * sizeof *y);
        K->bias_add(y, b, rows, n);
        for (size_t i = 0; i < rows * n; i++)
            assert_true(y[i] == y0[i] + b[i % n]);
        memcpy(x0, x, rows * n * sizeof *x);
        K->bias_residual_ln(x, y0, b, g, be, rows, n, 1e-12f);
        for (size_t r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < n; i++)
                mean += (double)x0[r * n + i] + y0[r * n + i] + b[i];
            mean /= (double)n;
            for (size_t i = 0; i < n; i++) {
                double v = (double)x0[r * n + i] + y0[r * n + i] + b[i] - mean;
                var += v * v;
            }
            var /= (double)n;
            for (size_t i = 0; i < n; i++) {
                double v = (double)x0[r * n + i] + y0[r * n + i] + b[i] - mean;
                double want = var > 0 ? v / sqrt(var + 1e-12) * g[i] + be[i] : be[i];
                close_to(x[r * n + i], want, 1e-4 * (1 + fabs(want)), "bias_residual_ln", n, i);
            }
        }
        mem_free(y);
        mem_free(b);
        mem_free(x);
        mem_free(g);
        mem_free(be);
        free(y0);
        free(x0);
    }
    /* attention: tokens n, head width dh, rows ld apart (a QKV view) */
    static const size_t toks[] = {1, 5, 16, 17, 33, 128};
    static const size_t dhs[] = {32, 20, 64};
    for (size_t ti = 0; ti < sizeof toks / sizeof *toks; ti++)
        for (size_t hi = 0; hi < sizeof dhs / sizeof *dhs; hi++) {
            size_t n = toks[ti], dh = dhs[hi], ld = 3 * dh + 5, np = (n + 15) / 16 * 16;
            float *qkv = rand_vec(n * ld, 2), *out = malloc(n * dh * sizeof *out);
            float *kt = mem_aligned(64, (dh + 1) * np * sizeof *kt), scale = 1.0f / sqrtf((float)dh);
            double *p = malloc(n * sizeof *p);
            assert_non_null(out);
            assert_non_null(kt);
            assert_non_null(p);
            K->attend(qkv, qkv + dh, qkv + 2 * dh, ld, n, dh, scale, kt, kt + dh * np, out, dh);
            for (size_t i = 0; i < n; i++) {
                double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < n; j++) {
                    double s = 0;
                    for (size_t d = 0; d < dh; d++)
                        s += (double)qkv[i * ld + d] * qkv[j * ld + dh + d];
                    p[j] = s * scale;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (size_t j = 0; j < n; j++)
                    sum += p[j] = exp(p[j] - mx);
                for (size_t d = 0; d < dh; d++) {
                    double want = 0;
                    for (size_t j = 0; j < n; j++)
                        want += p[j] / sum * qkv[j * ld + 2 * dh + d];
                    close_to(out[i * dh + d], want, 2e-5 * 2, "attend", n, i * dh + d);
                }
            }
            mem_free(qkv);
            mem_free(kt);
            free(out);
            free(p);
        }
}

__attribute__((unused)) static void bert_level(cpu_level l)
{
    const bert_kern *K = bert_kern_at(l);
    if (want_level("bert", l, K->name))
        bert_run(K);
}

/* ---- sgns ----------------------------------------------------------------------- */

static float sig[SIG_SIZE], nlsig[SIG_SIZE];

static void sig_tables(void)
{
    for (int i = 0; i < SIG_SIZE; i++) {
        double f = -SIG_MAX + (i + 0.5) * (2.0 * SIG_MAX / SIG_SIZE);
        sig[i] = (float)(1.0 / (1.0 + exp(-f)));
        nlsig[i] = (float)log1p(exp(-f));
    }
}

/* One row l1 against its targets, as sgns_int.h describes, in double (the
 * table cell from the exact dot product); grad gets l1's gradient. */
static double sgns_ref(size_t D, const float *l1, double *grad, float *out, const int32_t *tg,
                       int n, float alpha)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)tg[i] * D;
        double f = 0, v;
        int ix;
        for (size_t d = 0; d < D; d++)
            f += (double)l1[d] * o[d];
        v = (f + SIG_MAX) * (SIG_SIZE / (2 * SIG_MAX));
        v = v > 0 ? v : 0;
        v = v < SIG_SIZE - 1 ? v : SIG_SIZE - 1;
        ix = (int)v;
        double g = i == 0 ? sig[SIG_SIZE - 1 - ix] * alpha : -sig[ix] * alpha;
        loss += i == 0 ? nlsig[ix] : nlsig[SIG_SIZE - 1 - ix];
        for (size_t d = 0; d < D; d++) {
            grad[d] += g * o[d];
            o[d] = (float)(o[d] + g * l1[d]);
        }
    }
    return loss;
}

static void sgns_run(const sgns_kern *K)
{
    enum { ROWS = 40, NCTX = 7 };
    static const size_t Ds[] = {32, 64, 128, 1, 7, 50, 100};
    const float alpha = 0.025f;

    sig_tables();
    rng_state = 6;
    for (size_t di = 0; di < sizeof Ds / sizeof *Ds; di++) {
        size_t D = Ds[di];
        float *in = rand_vec(ROWS * D, 0.3f), *out = rand_vec(ROWS * D, 0.3f);
        float *in2 = malloc(ROWS * D * sizeof *in2), *out2 = malloc(ROWS * D * sizeof *out2);
        double *grad = calloc(D, sizeof *grad), loss = 0, got;
        int32_t ctx[NCTX], tg[NCTX * 6];
        int cnt[NCTX], nt = 0;
        assert_non_null(in2);
        assert_non_null(out2);
        assert_non_null(grad);
        for (int j = 0; j < NCTX; j++) {
            ctx[j] = (int32_t)(j * 5 + 1);
            cnt[j] = j == 3 ? 0 : 1 + j % 6;   /* a context without targets too */
            for (int t = 0; t < cnt[j]; t++)
                tg[nt++] = (int32_t)((j * 7 + t * 3 + 2) % ROWS);
        }
        memcpy(in2, in, ROWS * D * sizeof *in);
        memcpy(out2, out, ROWS * D * sizeof *out);
        /* the reference, context by context */
        nt = 0;
        for (int j = 0; j < NCTX; j++) {
            float *l1 = in2 + (size_t)ctx[j] * D;
            memset(grad, 0, D * sizeof *grad);
            loss += sgns_ref(D, l1, grad, out2, tg + nt, cnt[j], alpha);
            for (size_t d = 0; d < D; d++)
                l1[d] = (float)(l1[d] + grad[d]);
            nt += cnt[j];
        }
        if (D == 32 || D == 64 || D == 128) {
            got = K->steps((int)D, in, out, ctx, cnt, NCTX, tg, alpha, sig, nlsig, 1.0f) - 1.0;
        } else {
            float *g = calloc(D, sizeof *g);
            assert_non_null(g);
            got = 0;
            nt = 0;
            for (int j = 0; j < NCTX; j++) {
                float *l1 = in + (size_t)ctx[j] * D;
                memset(g, 0, D * sizeof *g);
                if (cnt[j])
                    got += K->step_any(D, l1, g, out, tg + nt, cnt[j], alpha, sig, nlsig);
                for (size_t d = 0; d < D; d++)
                    l1[d] += g[d];
                nt += cnt[j];
            }
            free(g);
        }
        /* a dot product on a table-cell boundary may pick the next cell
         * (sigma steps by < 0.0015 there): tolerances allow one cell */
        close_to(got, loss, 0.02 * NCTX, "sgns loss", D, 0);
        for (size_t i = 0; i < ROWS * D; i++) {
            close_to(in[i], in2[i], 1e-4, "sgns input row", D, i);
            close_to(out[i], out2[i], 1e-4, "sgns output row", D, i);
        }
        mem_free(in);
        mem_free(out);
        free(in2);
        free(out2);
        free(grad);
    }
}

__attribute__((unused)) static void sgns_level(cpu_level l)
{
    const sgns_kern *K = sgns_kern_at(l);
    if (want_level("sgns", l, K->name))
        sgns_run(K);
}

/* One cmocka test per family and kernel copy, named after both. */
#define LEVEL_FN(fn, lv)                                                                           \
    static void fn##_##lv(void **st)                                                               \
    {                                                                                              \
        (void)st;                                                                                  \
        fn##_level(CPU_##lv);                                                                      \
    }
#define FAMILY3(fn) LEVEL_FN(fn, BASELINE) LEVEL_FN(fn, AVX2) LEVEL_FN(fn, AVX512)
#define FAMILY4(fn) FAMILY3(fn) LEVEL_FN(fn, AVX512VNNI)
#ifndef ISA_SOFT
FAMILY4(index)
FAMILY4(sq8)
FAMILY4(push)
FAMILY3(gemm)
FAMILY3(bert)
FAMILY3(sgns)
#endif
#define TESTS3(fn)                                                                                 \
    cmocka_unit_test(fn##_BASELINE), cmocka_unit_test(fn##_AVX2), cmocka_unit_test(fn##_AVX512)
#define TESTS4(fn) TESTS3(fn), cmocka_unit_test(fn##_AVX512VNNI)

#ifdef ISA_SOFT
/* The AVX-512 and VNNI branches compiled against tests/softsimd/immintrin.h
 * (plain C), so they run on any CPU: their logic, not their instructions. */
extern const ix_kern ix_kern_soft512;
extern const bert_gemm_kern bert_gemm_kern_soft512;
extern const bert_kern bert_kern_soft512;
#define SOFT_FN(fn, table)                                                                         \
    static void fn##_soft512(void **st)                                                            \
    {                                                                                              \
        (void)st;                                                                                  \
        assert_int_equal(strcmp(table.name, "soft512"), 0);                                        \
        fn##_run(&table);                                                                          \
    }
SOFT_FN(index, ix_kern_soft512)
SOFT_FN(sq8, ix_kern_soft512)
SOFT_FN(push, ix_kern_soft512)
SOFT_FN(gemm, bert_gemm_kern_soft512)
SOFT_FN(bert, bert_kern_soft512)
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef ISA_SOFT
        cmocka_unit_test(index_soft512), cmocka_unit_test(sq8_soft512),
        cmocka_unit_test(push_soft512),  cmocka_unit_test(gemm_soft512),
        cmocka_unit_test(bert_soft512),
#else
        TESTS4(index), TESTS4(sq8), TESTS4(push), TESTS3(gemm), TESTS3(bert), TESTS3(sgns),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
