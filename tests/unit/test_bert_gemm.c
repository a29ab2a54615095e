/* test_bert_gemm.c - the packed small-T fp32 GEMM of the BERT encoder against
 * a naive double-precision loop over awkward shapes (T = 1..70, n and k not
 * multiples of the 32-column panel or of the 16-float vector), partial panel
 * ranges, and the thread team: every split must give bit-identical results
 * (each output column is computed by the same code whichever thread runs
 * it), every chunk of a task runs exactly once, and helpers that have gone
 * to sleep wake up for the next task. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert_gemm.h"
#include "err.h"
#include "mem.h"

static float *random_matrix(size_t rows, size_t cols, uint32_t seed)
{
    float *a = malloc((rows * cols + 1) * sizeof *a);
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < rows * cols; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;   /* [-1, 1) */
    }
    return a;
}

/* Checks Y[T x n] (columns [c0, c1)) against X W^T in double: each entry
 * within the float rounding bound of a k-term dot product in any order,
 * (k + 1) u sum |x w| with u = 2^-24. */
static void check_product(const float *Y, const float *X, const float *W, size_t T, size_t n,
                          size_t k, size_t c0, size_t c1, const char *what)
{
    for (size_t t = 0; t < T; t++)
        for (size_t j = c0; j < c1; j++) {
            double want = 0, mag = 0;
            for (size_t kk = 0; kk < k; kk++) {
                want += (double)X[t * k + kk] * W[j * k + kk];
                mag += fabs((double)X[t * k + kk] * W[j * k + kk]);
            }
            if (!(fabs(Y[t * n + j] - want) <= (double)(k + 1) * 0x1p-24 * mag + 1e-30))
                fail_msg("%s: T=%zu n=%zu k=%zu: Y[%zu][%zu] = %.9g, want %.9g", what, T, n, k,
                         t, j, (double)Y[t * n + j], want);
        }
}

static const size_t shapes[][2] = {   /* n, k */
    {1, 1}, {5, 3}, {16, 16}, {17, 31}, {31, 17}, {32, 32}, {33, 7}, {47, 64},
    {64, 1}, {97, 45}, {130, 129}, {384, 40},
};

static void test_against_naive(void **st)
{
    (void)st;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t n = shapes[s][0], k = shapes[s][1];
        float *W = random_matrix(n, k, (uint32_t)s);
        float *X = random_matrix(70, k, (uint32_t)s + 100);
        float *Y = malloc(70 * n * sizeof *Y);
        bert_gemm_w pw;
        assert_int_equal(bert_gemm_pack(&pw, W, n, k), 0);
        assert_int_equal(bert_gemm_n_panels(&pw), (n + BERT_GEMM_NR - 1) / BERT_GEMM_NR);
        for (size_t T = 1; T <= 70; T++) {
            memset(Y, 0xff, 70 * n * sizeof *Y);   /* NaN: unwritten entries fail */
            bert_gemm(NULL, &pw, X, T, Y);
            check_product(Y, X, W, T, n, k, 0, n, "caller only");
            /* nothing past row T is touched */
            for (size_t i = T * n; i < 70 * n; i++)
                assert_true(isnan(Y[i]));
        }
        bert_gemm_w_done(&pw);
        bert_gemm_w_done(&pw);   /* idempotent */
        free(W);
        free(X);
        free(Y);
    }
}

/* A panel range writes exactly its own columns. */
static void test_panel_ranges(void **st)
{
    size_t n = 100, k = 21, T = 13, np;
    float *W = random_matrix(n, k, 7), *X = random_matrix(T, k, 8);
    float *Y = malloc(T * n * sizeof *Y);
    bert_gemm_w pw;
    (void)st;
    assert_int_equal(bert_gemm_pack(&pw, W, n, k), 0);
    np = bert_gemm_n_panels(&pw);
    assert_int_equal(np, (n + BERT_GEMM_NR - 1) / BERT_GEMM_NR);
    assert_true(n % BERT_GEMM_NR != 0);
    for (size_t p0 = 0; p0 <= np; p0++)
        for (size_t p1 = p0; p1 <= np; p1++) {
            size_t c0 = p0 * BERT_GEMM_NR, c1 = p1 * BERT_GEMM_NR < n ? p1 * BERT_GEMM_NR : n;
            memset(Y, 0xff, T * n * sizeof *Y);
            bert_gemm_panels(&pw, X, T, Y, p0, p1);
            check_product(Y, X, W, T, n, k, c0, c1, "panel range");
            for (size_t t = 0; t < T; t++)
                for (size_t j = 0; j < n; j++)
                    if (j < c0 || j >= c1)
                        assert_true(isnan(Y[t * n + j]));
        }
    bert_gemm_w_done(&pw);
    free(W);
    free(X);
    free(Y);
}

/* Any team size gives the caller-only result bit for bit. */
static void test_team_splits(void **st)
{
    size_t n = 385, k = 67;
    float *W = random_matrix(n, k, 11), *X = random_matrix(70, k, 12);
    float *want = malloc(70 * n * sizeof *want), *got = malloc(70 * n * sizeof *got);
    bert_gemm_w pw;
    (void)st;
    assert_int_equal(bert_gemm_pack(&pw, W, n, k), 0);
    for (int threads = 1; threads <= 5; threads++) {
        err e;
        bert_team *t = bert_team_new(threads, &e);
        assert_non_null(t);
        assert_int_equal(bert_team_size(t), threads);
        for (size_t T = 1; T <= 70; T += 3) {
            bert_gemm(NULL, &pw, X, T, want);
            memset(got, 0xff, 70 * n * sizeof *got);
            bert_gemm(t, &pw, X, T, got);
            assert_memory_equal(got, want, T * n * sizeof *got);
        }
        bert_team_free(t);
    }
    /* more threads than panels: some members get no panel */
    {
        float *W2 = random_matrix(40, 9, 3);
        bert_gemm_w p2;
        bert_team *t = bert_team_new(4, NULL);
        assert_int_equal(bert_gemm_pack(&p2, W2, 40, 9), 0);
        bert_gemm(NULL, &p2, X, 5, want);
        bert_gemm(t, &p2, X, 5, got);
        assert_memory_equal(got, want, 5 * 40 * sizeof *got);
        check_product(got, X, W2, 5, 40, 9, 0, 40, "4 threads, 2 panels");
        bert_team_free(t);
        bert_gemm_w_done(&p2);
        free(W2);
    }
    bert_gemm_w_done(&pw);
    free(W);
    free(X);
    free(want);
    free(got);
}

typedef struct count_task {
    atomic_int calls[64];
    size_t n_chunks;
    atomic_int bad;
} count_task;

static void count_fn(void *arg, size_t c)
{
    count_task *k = arg;
    if (c >= k->n_chunks)
        atomic_fetch_add(&k->bad, 1);
    else
        atomic_fetch_add(&k->calls[c], 1);
}

/* Every chunk runs exactly once per task, also after the helpers went to
 * sleep (a pause longer than BERT_TEAM_SPIN_US) and with fewer chunks than
 * threads; NULL and 1-thread teams run the chunks inline. */
static void test_team_run(void **st)
{
    (void)st;
    for (int threads = 1; threads <= 4; threads++) {
        bert_team *t = bert_team_new(threads, NULL);
        assert_non_null(t);
        for (size_t n_chunks = 0; n_chunks <= 64; n_chunks += n_chunks < 8 ? 1 : 19) {
            count_task c;
            memset(&c, 0, sizeof c);
            c.n_chunks = n_chunks;
            for (int r = 0; r < 100; r++) {
                bert_team_run(t, count_fn, &c, n_chunks);
                if (r % 40 == 39)
                    usleep(3 * BERT_TEAM_SPIN_US);
            }
            assert_int_equal(atomic_load(&c.bad), 0);
            for (size_t i = 0; i < n_chunks; i++)
                assert_int_equal(atomic_load(&c.calls[i]), 100);
        }
        bert_team_free(t);
    }
    {
        count_task c;
        memset(&c, 0, sizeof c);
        c.n_chunks = 3;
        bert_team_run(NULL, count_fn, &c, 3);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(atomic_load(&c.calls[i]), 1);
        assert_int_equal(bert_team_size(NULL), 1);
    }
    bert_team_free(NULL);
    bert_gemm_w_done(NULL);
}

static void test_errors(void **st)
{
    float w[4] = {1, 2, 3, 4};
    bert_gemm_w pw;
    err e;
    (void)st;
    assert_int_equal(bert_gemm_pack(&pw, w, 0, 4), -ERR_RANGE);
    assert_null(pw.panels);
    assert_int_equal(bert_gemm_pack(&pw, w, 4, 0), -ERR_RANGE);
    mem_fail_after(0);
    assert_int_equal(bert_gemm_pack(&pw, w, 2, 2), -ERR_NOMEM);
    assert_null(pw.panels);
    err_clear(&e);
    assert_null(bert_team_new(2, &e));
    mem_fail_after(-1);
    assert_int_equal(e.code, ERR_NOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_naive),
        cmocka_unit_test(test_panel_ranges),
        cmocka_unit_test(test_team_splits),
        cmocka_unit_test(test_team_run),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("bert_gemm", tests, NULL, NULL);
}
