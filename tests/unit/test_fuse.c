/* test_fuse.c - fused vectors: the inner product of two fused items is
 * alpha cos_text + (1 - alpha) cos_item2vec; searching the stored fused
 * model gives the same list as the score-level blend; partial items;
 * lab_fuse stores its parts' names as JSON whatever they contain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "evalrun.h"
#include "fuse.h"
#include "../../src/app/lab_int.h"   /* white-box: the lab's store */
#include "mem.h"
#include "recommend.h"
#include "rng.h"

enum { N = 60, DT = 12, DI = 8 };

/* Random vectors for items ids[from..to) (raw: not normalised). */
static void fill(vecset *vs, size_t dim, size_t from, size_t to, uint64_t seed)
{
    rng r;
    assert_int_equal(vecset_init(vs, to - from, dim, NULL), 0);
    rng_seed(&r, seed, 0);
    for (size_t i = from; i < to; i++) {
        vs->ids[i - from] = (int64_t)(100 + i);
        for (size_t d = 0; d < dim; d++)
            vs->data[(i - from) * dim + d] = (float)(rng_normal(&r) * 3);
    }
}

static double cosv(const float *a, const float *b, size_t n)
{
    return vec_dot(a, b, n) / (vec_norm(a, n) * vec_norm(b, n));
}

static void test_inner_product_is_the_blend(void **st)
{
    vecset t, i, f;
    fuse_stats s;
    (void)st;
    fill(&t, DT, 0, N - 5, 1);    /* items 55..59 have no text */
    fill(&i, DI, 10, N, 2);       /* items 0..9 have no item2vec vector */
    assert_int_equal(fuse_vectors(&t, &i, 0.3, &f, &s, NULL), 0);
    assert_int_equal(f.n, N);
    assert_int_equal(f.dim, DT + DI);
    assert_int_equal(s.n_both, 45);
    assert_int_equal(s.n_text_only, 10);
    assert_int_equal(s.n_i2v_only, 5);
    for (size_t a = 0; a < N; a++)
        for (size_t b = 0; b < N; b++) {
            long ta = vecset_find(&t, f.ids[a]), tb = vecset_find(&t, f.ids[b]);
            long ia = vecset_find(&i, f.ids[a]), ib = vecset_find(&i, f.ids[b]);
            double want = 0;
            if (ta >= 0 && tb >= 0)
                want += 0.3 * cosv(t.data + ta * DT, t.data + tb * DT, DT);
            if (ia >= 0 && ib >= 0)
                want += 0.7 * cosv(i.data + ia * DI, i.data + ib * DI, DI);
            assert_float_equal(vec_dot(f.data + a * f.dim, f.data + b * f.dim, f.dim), want,
                               1e-5);
        }
    vecset_done(&f);
    err e;
    assert_int_equal(fuse_vectors(&t, &i, 1.5, &f, NULL, &e), -ERR_RANGE);
    vecset_done(&t);
    vecset_done(&i);
}

/* The stored fused model, searched like any model (mean of the history's
 * vectors, exact scan), returns the score-level blend's list. */
static void test_fused_search_equals_blend(void **st)
{
    lab *L = lab_open(":memory:", NULL);
    vecset t, i, f;
    store_model m = {0};
    rec_list *A = mem_alloc(sizeof *A), *B = mem_alloc(sizeof *B);
    rng r;
    (void)st;
    assert_non_null(L);
    assert_non_null(A);
    assert_non_null(B);
    fill(&t, DT, 0, N - 5, 3);
    fill(&i, DI, 10, N, 4);
    assert_int_equal(fuse_vectors(&t, &i, 0.6, &f, NULL, NULL), 0);
    snprintf(m.name, sizeof m.name, "fused");
    snprintf(m.kind, sizeof m.kind, FUSE_KIND);
    assert_int_equal(store_vectors_save(L->db, &m, &f, NULL), 0);
    lab_model *fm = lab_model_get(L, "fused", NULL);
    assert_non_null(fm);
    /* the normalised parts for the blend */
    vecset_normalize(&t);
    vecset_normalize(&i);
    rng_seed(&r, 9, 0);
    for (int q = 0; q < 50; q++) {
        int64_t hist[4], ex[4];
        size_t nh = 1 + rng_below(&r, 4);
        for (size_t h = 0; h < nh; h++)
            hist[h] = ex[h] = (int64_t)(100 + rng_below(&r, N));
        for (size_t a = 1; a < nh; a++)   /* sorted copy for the exclusion */
            for (size_t b = a; b > 0 && ex[b - 1] > ex[b]; b--) {
                int64_t x = ex[b]; ex[b] = ex[b - 1]; ex[b - 1] = x;
            }
        rec_models ms = {.i2v = fm, .hist_last = 3};
        rec_query rq = {.hist = hist, .n_hist = nh};
        rec_filter fl = {.exclude = ex, .n_exclude = nh};
        assert_int_equal(rec_run(L, &ms, REC_ITEM2VEC, &rq, 20, A, NULL), 0);
        assert_int_equal(fuse_blend_search(&t, &i, 0.6, hist, nh, 3, 20, &fl, B, NULL), 0);
        assert_int_equal(A->n, B->n);
        /* scores agree up to the query's scale: compare the ratios */
        double scale = B->scores[0] / A->scores[0];
        for (size_t j = 0; j < A->n; j++) {
            assert_float_equal(A->scores[j] * scale, B->scores[j], 1e-4);
            if (j + 1 < A->n && B->scores[j] - B->scores[j + 1] > 1e-4)
                assert_int_equal(A->ids[j], B->ids[j]);
        }
    }
    mem_free(A);
    mem_free(B);
    vecset_done(&f);
    vecset_done(&t);
    vecset_done(&i);
    lab_close(L);
}

/* lab_fuse: the stored model's params are JSON even when the parts' names
 * hold quotes and backslashes, so eval finds its alpha; bad names refused. */
static void test_lab_fuse_params(void **st)
{
    static const char *const tn = "te\"xt\\", *const in = "i2v \"b\"";
    lab *L = lab_open(":memory:", NULL);
    vecset t, i;
    store_model m = {0}, got;
    lab_fuse_report r;
    evalrun_rowdef rows[32];
    err e;
    (void)st;
    assert_non_null(L);
    fill(&t, DT, 0, N - 5, 3);
    fill(&i, DI, 10, N, 4);
    snprintf(m.name, sizeof m.name, "%s", tn);
    snprintf(m.kind, sizeof m.kind, "imported");
    assert_int_equal(store_vectors_save(L->db, &m, &t, NULL), 0);
    snprintf(m.name, sizeof m.name, "%s", in);
    assert_int_equal(store_vectors_save(L->db, &m, &i, NULL), 0);
    assert_int_equal(lab_fuse(L, tn, in, 0.3, "fused", &r, &e), 0);
    assert_int_equal(r.n_both, N - 15);
    assert_int_equal(r.n_text_only, 10);
    assert_int_equal(r.n_i2v_only, 5);
    assert_int_equal(r.dim_text + r.dim_i2v, DT + DI);
    assert_int_equal(store_model_get(L->db, "fused", &got, NULL), 0);
    assert_string_equal(got.kind, FUSE_KIND);
    cJSON *j = cJSON_Parse(got.params);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "text")), tn);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "item2vec")), in);
    assert_float_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "alpha")), 0.3, 1e-12);
    cJSON_Delete(j);
    store_model_done(&got);
    /* eval evaluates the stored fused model's alpha */
    size_t n = evalrun_rows_default(L, EVALRUN_SET_EVAL, NULL, rows, 32);
    int found = 0;
    for (size_t k = 0; k < n; k++)
        found |= strcmp(rows[k].name, "Fused (alpha 0.30)") == 0;
    assert_true(found);
    assert_non_null(lab_model_get(L, "fused", NULL));   /* loads, inner product */
    assert_int_equal(lab_fuse(L, tn, in, 0.3, "a#b", &r, &e), -ERR_USAGE);
    assert_int_equal(lab_fuse(L, tn, in, 0.3, in, &r, &e), -ERR_USAGE);
    assert_int_equal(lab_fuse(L, tn, "nosuch", 0.3, "f2", &r, &e), -ERR_NOTFOUND);
    assert_int_equal(lab_fuse(L, tn, in, 1.5, "f2", &r, &e), -ERR_RANGE);
    vecset_done(&t);
    vecset_done(&i);
    lab_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inner_product_is_the_blend),
        cmocka_unit_test(test_fused_search_equals_blend),
        cmocka_unit_test(test_lab_fuse_params),
    };
    return cmocka_run_group_tests_name("fuse", tests, NULL, NULL);
}
