/* test_base.c - err, mem, rng, progress, vec (top-k, gemm, vecset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"
#include "vec.h"

static void test_err_set_and_prefix(void **st)
{
    err e;
    (void)st;
    err_clear(&e);
    assert_int_equal(err_set(&e, ERR_PARSE, "field '%s': bad", "x"), -ERR_PARSE);
    assert_int_equal(e.code, ERR_PARSE);
    err_prefix(&e, "%s:%d", "a.csv", 3);
    assert_string_equal(e.msg, "a.csv:3: field 'x': bad");
    assert_string_equal(err_name(-ERR_NOMEM), "nomem");
    assert_int_equal(err_set(NULL, ERR_IO, "x"), -ERR_IO);
}

static void test_mem_overflow_and_fail(void **st)
{
    (void)st;
    assert_null(mem_array(SIZE_MAX / 2, 4));
    assert_null(mem_calloc(SIZE_MAX / 2, 4));
    mem_fail_after(1);
    void *a = mem_alloc(8);
    void *b = mem_alloc(8);
    mem_fail_after(-1);
    assert_non_null(a);
    assert_null(b);
    mem_free(a);
    int *arr = NULL;
    size_t cap = 0;
    assert_int_equal(mem_grow(&arr, &cap, 100, sizeof *arr), 0);
    assert_true(cap >= 100);
    mem_free(arr);
}

static void test_rng_reproducible(void **st)
{
    rng a, b;
    (void)st;
    rng_seed(&a, 42, 0);
    rng_seed(&b, 42, 0);
    for (int i = 0; i < 100; i++)
        assert_true(rng_u64(&a) == rng_u64(&b));
    rng_seed(&b, 42, 1);
    assert_true(rng_u64(&a) != rng_u64(&b));
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = rng_below(&a, 10);
        assert_true(x < 10);
        sum += rng_uniform(&a);
    }
    assert_true(fabs(sum / 10000 - 0.5) < 0.02);
}

static void test_topk_keeps_largest(void **st)
{
    int64_t ids[3];
    float sc[3];
    topk t;
    (void)st;
    topk_init(&t, 3, ids, sc);
    float vals[] = {0.1f, 0.9f, 0.5f, 0.3f, 0.95f, 0.5f};
    for (int i = 0; i < 6; i++)
        topk_push(&t, i, vals[i]);
    assert_int_equal(topk_sort(&t), 3);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 2);  /* tie 0.5: smaller id wins */
}

/* vec_hit_cmp sorts a list as topk_sort orders the same pushes. */
static void test_vec_hit_cmp_matches_topk(void **st)
{
    float vals[] = {0.1f, 0.9f, 0.5f, 0.3f, 0.95f, 0.5f, 0.9f};
    enum { N = sizeof vals / sizeof *vals };
    int64_t ids[N];
    float sc[N];
    vec_hit h[N];
    topk t;
    (void)st;
    topk_init(&t, N, ids, sc);
    for (int i = 0; i < N; i++) {
        topk_push(&t, 10 - i, vals[i]);
        h[i] = (vec_hit){10 - i, vals[i]};
    }
    assert_int_equal(topk_sort(&t), N);
    qsort(h, N, sizeof *h, vec_hit_cmp);
    for (int i = 0; i < N; i++) {
        assert_int_equal(h[i].id, ids[i]);
        assert_true(h[i].score == sc[i]);
    }
    assert_int_equal(h[1].id, 4);   /* tie 0.9: smaller id first */
    assert_int_equal(h[2].id, 9);
}

static void test_gemm_matches_naive(void **st)
{
    float A[6] = {1, 2, 3, 4, 5, 6};      /* 2x3 */
    float B[6] = {1, 0, 1, 0, 1, 1};      /* 2x3 -> C = A B^T (2x2) */
    float C[4];
    (void)st;
    vec_gemm(1, 2, 2, 3, 1.0f, A, B, 0.0f, C);
    assert_float_equal(C[0], 4, 1e-6);
    assert_float_equal(C[1], 5, 1e-6);
    assert_float_equal(C[2], 10, 1e-6);
    assert_float_equal(C[3], 11, 1e-6);
    assert_float_equal(vec_dot(A, B, 3), 4, 1e-6);
}

static void test_vecset_sort_find(void **st)
{
    vecset vs;
    (void)st;
    assert_int_equal(vecset_init(&vs, 3, 2, NULL), 0);
    int64_t ids[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) {
        vs.ids[i] = ids[i];
        vs.data[i * 2] = (float)ids[i];
    }
    assert_int_equal(vecset_sort(&vs, NULL), 0);
    assert_int_equal(vecset_find(&vs, 20), 1);
    assert_float_equal(vs.data[2], 20, 0);
    assert_int_equal(vecset_find(&vs, 25), -1);
    vecset_done(&vs);
}

static int cb_calls;
static void count_cb(const progress *p, void *ud) { (void)p; (void)ud; cb_calls++; }

static void test_progress_cancel(void **st)
{
    progress p;
    progress_view v;
    (void)st;
    progress_init(&p, count_cb, NULL);
    progress_begin(&p, "job", "rows", 100);
    assert_int_equal(progress_update(&p, 10), 0);
    progress_cancel(&p);
    assert_int_equal(progress_update(&p, 20), 1);
    progress_snapshot(&p, &v);
    assert_int_equal(v.done, 20);
    assert_int_equal(v.total, 100);
    assert_string_equal(v.stage, "job");
    progress_end(&p);
    assert_true(cb_calls >= 2);
}

/* Points spread along known orthogonal axes in 4-D, plus small noise: the
 * first component must recover the long axis, the second the short one. */
static void test_pca2_recovers_axes(void **st)
{
    enum { N = 400, D = 4 };
    static float X[N * D], xy[N * 2];
    const float a1[D] = {0.5f, 0.5f, 0.5f, 0.5f}, a2[D] = {0.5f, -0.5f, 0.5f, -0.5f};
    rng r;
    err e;
    (void)st;
    rng_seed(&r, 7, 0);
    for (size_t i = 0; i < N; i++) {
        float s = 10.0f * ((float)rng_uniform(&r) - 0.5f), t = 3.0f * ((float)rng_uniform(&r) - 0.5f);
        for (size_t j = 0; j < D; j++)
            X[i * D + j] = 5.0f + s * a1[j] + t * a2[j] + 0.01f * ((float)rng_uniform(&r) - 0.5f);
    }
    assert_int_equal(vec_pca2(X, N, D, xy, &e), 0);
    double dot1 = 0, dot2 = 0, n1 = 0, n2 = 0, m1 = 0, m2 = 0;
    for (size_t i = 0; i < N; i++) {
        /* the true coordinates, centred the same way, up to sign */
        float s = 0, t = 0;
        for (size_t j = 0; j < D; j++) {
            s += (X[i * D + j] - 5.0f) * a1[j];
            t += (X[i * D + j] - 5.0f) * a2[j];
        }
        dot1 += xy[2 * i] * s;
        dot2 += xy[2 * i + 1] * t;
        n1 += (double)xy[2 * i] * xy[2 * i];
        n2 += (double)s * s;
        m1 += (double)xy[2 * i + 1] * xy[2 * i + 1];
        m2 += (double)t * t;
    }
    /* correlation with the true axes is ~1 (up to the sample mean vs 5) */
    assert_true(fabs(dot1) / sqrt(n1 * n2) > 0.99);
    assert_true(fabs(dot2) / sqrt(m1 * m2) > 0.99);
    double var1 = 0, var2 = 0;
    for (size_t i = 0; i < N; i++) {
        var1 += (double)xy[2 * i] * xy[2 * i];
        var2 += (double)xy[2 * i + 1] * xy[2 * i + 1];
    }
    assert_true(var1 > 5 * var2);     /* 10^2 vs 3^2 spread */
    assert_true(var2 > 100 * 0.01);   /* and the second axis is not the noise */
    assert_int_equal(vec_pca2(X, 1, D, xy, &e), -ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_and_prefix),
        cmocka_unit_test(test_mem_overflow_and_fail),
        cmocka_unit_test(test_rng_reproducible),
        cmocka_unit_test(test_topk_keeps_largest),
        cmocka_unit_test(test_vec_hit_cmp_matches_topk),
        cmocka_unit_test(test_gemm_matches_naive),
        cmocka_unit_test(test_vecset_sort_find),
        cmocka_unit_test(test_progress_cancel),
        cmocka_unit_test(test_pca2_recovers_axes),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
