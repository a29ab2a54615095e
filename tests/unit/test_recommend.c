/* test_recommend.c - each method and hybrid mode on a constructed example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "recommend.h"
#include "../../src/app/lab_int.h"   /* white-box: the lab's store */
#include "rng.h"

static lab *L;
static int64_t ids[40];

/* Saves a model whose vectors are random except for items listed in
 * `skip` (no vector: cold start for item2vec). */
static void save_model(const char *name, size_t dim, uint64_t seed, int skip_from)
{
    vecset vs;
    store_model m = {0};
    size_t n = skip_from > 0 ? (size_t)skip_from : 40;
    rng r;
    assert_int_equal(vecset_init(&vs, n, dim, NULL), 0);
    rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        vs.ids[i] = ids[i];
        for (size_t d = 0; d < dim; d++)
            vs.data[i * dim + d] = (float)rng_normal(&r);
    }
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.kind, sizeof m.kind, "test");
    assert_int_equal(store_vectors_save(L->db, &m, &vs, NULL), 0);
    vecset_done(&vs);
}

static int setup(void **st)
{
    (void)st;
    L = lab_open(":memory:", NULL);
    for (int i = 0; i < 40; i++) {
        char id[16];
        snprintf(id, sizeof id, "I%02d", i);
        store_item it = {.ext_id = id, .title = id, .category = i % 2 ? "odd" : "even"};
        if (store_item_insert(L->db, &it, &ids[i], NULL))
            return -1;
    }
    save_model("i2v_full", 8, 1, 0);
    save_model("i2v_part", 8, 1, 30);   /* items 30..39 are cold */
    save_model("text", 12, 2, 0);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    lab_close(L);
    return 0;
}

static void run(rec_models *ms, int method, const int64_t *hist, size_t nh, size_t k,
                rec_list *out)
{
    rec_query q = {.hist = hist, .n_hist = nh};
    assert_int_equal(rec_run(L, ms, method, &q, k, out, NULL), 0);
}

static void same_ids(const rec_list *a, const rec_list *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_int_equal(a->ids[i], b->ids[i]);
}

static rec_list A, B;

static void test_exact_search_and_exclusion(void **st)
{
    (void)st;
    rec_models ms = {.i2v = lab_model_get(L, "i2v_full", NULL), .text = lab_model_get(L, "text", NULL)};
    int64_t h[] = {ids[3]};
    run(&ms, REC_ITEM2VEC, h, 1, 10, &A);
    assert_int_equal(A.n, 10);
    for (size_t i = 0; i < A.n; i++) {
        assert_true(A.ids[i] != ids[3]);
        if (i)
            assert_true(A.scores[i - 1] >= A.scores[i]);
    }
    /* the best score equals a brute-force maximum */
    lab_model *m = ms.i2v;
    long r3 = vecset_find(&m->unit, ids[3]);
    float best = -2;
    for (size_t i = 0; i < m->unit.n; i++)
        if ((long)i != r3) {
            float s = vec_dot(m->unit.data + i * 8, m->unit.data + r3 * 8, 8);
            if (s > best)
                best = s;
        }
    assert_float_equal(A.scores[0], best, 1e-5);
    /* a row filter (the "odd" category) holds inside exact search and HNSW */
    uint8_t rows[40];
    for (int i = 0; i < 40; i++)
        rows[i] = (uint8_t)(i % 2);
    rec_query q = {.hist = h, .n_hist = 1, .rows_ok = rows};
    assert_int_equal(rec_run(L, &ms, REC_TEXT, &q, 10, &A, NULL), 0);
    assert_int_equal(A.n, 10);
    for (size_t i = 0; i < A.n; i++)
        assert_true(lab_find_id(L, A.ids[i]) % 2 == 1);
}

static void test_blend_alpha_extremes(void **st)
{
    (void)st;
    rec_models ms = {.i2v = lab_model_get(L, "i2v_full", NULL), .text = lab_model_get(L, "text", NULL),
                     .hybrid = HYBRID_BLEND};
    int64_t h[] = {ids[5], ids[8]};
    ms.alpha = 1;
    run(&ms, REC_HYBRID, h, 2, 10, &A);
    run(&ms, REC_TEXT, h, 2, 10, &B);
    same_ids(&A, &B);
    ms.alpha = 0;
    run(&ms, REC_HYBRID, h, 2, 10, &A);
    run(&ms, REC_ITEM2VEC, h, 2, 10, &B);
    same_ids(&A, &B);
}

static void test_rerank_and_rrf_orders(void **st)
{
    (void)st;
    rec_models ms = {.i2v = lab_model_get(L, "i2v_full", NULL), .text = lab_model_get(L, "text", NULL),
                     .hybrid = HYBRID_RERANK};
    int64_t h[] = {ids[7]};
    rec_list T;
    run(&ms, REC_TEXT, h, 1, 30, &T);            /* 3k candidates for k = 10 */
    run(&ms, REC_HYBRID, h, 1, 10, &A);
    /* every reranked item comes from the text candidates, ordered by i2v cosine */
    for (size_t i = 0; i < A.n; i++) {
        int found = 0;
        for (size_t j = 0; j < T.n; j++)
            found |= T.ids[j] == A.ids[i];
        assert_true(found);
        if (i)
            assert_true(A.scores[i - 1] >= A.scores[i]);
    }
    for (size_t i = 0; i < A.n; i++)   /* found by text (rerank), maybe scored by Item2Vec */
        assert_true(A.from[i] & REC_FROM_TEXT);
    /* rrf: an item ranked first in both lists is first */
    ms.hybrid = HYBRID_RRF;
    rec_list I;
    run(&ms, REC_HYBRID, h, 1, 10, &A);
    run(&ms, REC_ITEM2VEC, h, 1, 30, &I);
    double top = 1.0 / (REC_RRF_K + 1);
    assert_true(A.scores[0] <= 2 * top + 1e-6);
    assert_true(A.scores[0] >= top - 1e-6);
    (void)I;
}

static void test_cold_start_handling(void **st)
{
    (void)st;
    rec_models ms = {.i2v = lab_model_get(L, "i2v_part", NULL), .text = lab_model_get(L, "text", NULL),
                     .hybrid = HYBRID_BLEND, .alpha = 0.5};
    int64_t cold[] = {ids[35]};
    run(&ms, REC_ITEM2VEC, cold, 1, 10, &A);
    assert_int_equal(A.n, 0);
    assert_non_null(strstr(A.note, "cold start"));
    run(&ms, REC_HYBRID, cold, 1, 10, &A);      /* falls back to text order */
    run(&ms, REC_TEXT, cold, 1, 10, &B);
    same_ids(&A, &B);
    /* popularity baseline skips history */
    int64_t pop[] = {ids[1], ids[2], ids[3]};
    ms.pop_ids = pop;
    ms.n_pop = 3;
    int64_t h[] = {ids[2]};
    run(&ms, REC_POPULAR, h, 1, 10, &A);
    assert_int_equal(A.n, 2);
    assert_int_equal(A.ids[0], ids[1]);
    assert_int_equal(A.ids[1], ids[3]);
}

static void test_fill_gives_cold_items_slots(void **st)
{
    (void)st;
    rec_models ms = {.i2v = lab_model_get(L, "i2v_part", NULL), .text = lab_model_get(L, "text", NULL),
                     .hybrid = HYBRID_FILL, .alpha = 0.3};
    int64_t h[] = {ids[4]};
    run(&ms, REC_HYBRID, h, 1, 10, &A);
    run(&ms, REC_ITEM2VEC, h, 1, 10, &B);
    assert_int_equal(A.n, 10);
    /* round(0.3 * 10) = 3 slots for cold items (30..39 have no item2vec
     * vector), spread where round((i+1) * 0.3) steps up: 1, 4 and 8 */
    for (size_t i = 0, b = 0; i < 10; i++)
        if (i == 1 || i == 4 || i == 8) {
            assert_true(lab_find_id(L, A.ids[i]) >= 30);
            assert_int_equal(A.from[i], REC_FROM_TEXT);
        } else {
            assert_int_equal(A.ids[i], B.ids[b++]);
            assert_int_equal(A.from[i], REC_FROM_I2V);
        }
    /* two scales in one list: the score is the position, decreasing */
    for (size_t i = 0; i < 10; i++)
        assert_float_equal(A.scores[i], 1.0 - (double)i / 10, 1e-6);
    /* a shorter list is the longer one's prefix (one list serves every k) */
    rec_list *C = mem_alloc(sizeof *C);
    assert_non_null(C);
    run(&ms, REC_HYBRID, h, 1, 5, C);
    assert_int_equal(C->n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(C->ids[i], A.ids[i]);
    mem_free(C);
    /* with every item warm there is no cold item: Item2Vec's list unchanged */
    ms.i2v = lab_model_get(L, "i2v_full", NULL);
    run(&ms, REC_HYBRID, h, 1, 10, &A);
    run(&ms, REC_ITEM2VEC, h, 1, 10, &B);
    same_ids(&A, &B);
}

static void test_inout_scores_against_output_vectors(void **st)
{
    (void)st;
    /* IN(query) . OUT(item): with the text model standing in as OUT vectors
     * of another width the search must use OUT's rows, so compare with a
     * brute-force dot over i2v_full as both IN and OUT. */
    lab_model *in = lab_model_get(L, "i2v_full", NULL), *outv = lab_model_get(L, "i2v_part", NULL);
    rec_models ms = {.i2v = in, .i2v_out = outv};
    int64_t h[] = {ids[2]};
    run(&ms, REC_ITEM2VEC, h, 1, 40, &A);
    assert_int_equal(A.n, 29);   /* OUT has items 0..29, minus the query */
    for (size_t i = 0; i < A.n; i++)
        assert_true(lab_find_id(L, A.ids[i]) < 30);
}

/* `set i2v dot`: the raw OUT vectors (lab_model_get_raw: not normalised, no
 * index) score by dot product with the mean normalised IN vector; dropping
 * a model drops its companions (#ctx, #raw) from the cache too. */
static void test_dot_scores_raw_output_vectors(void **st)
{
    (void)st;
    save_model("m", 8, 7, 0);
    save_model("m#ctx", 8, 8, 0);
    lab_model *in = lab_model_get(L, "m", NULL), *raw = lab_model_get_raw(L, "m#ctx", NULL);
    assert_non_null(in);
    assert_non_null(raw);
    assert_null(raw->index);
    assert_memory_equal(raw->unit.data, raw->vs.data, raw->vs.n * raw->vs.dim * sizeof(float));
    assert_true(fabsf(vec_norm(raw->unit.data, 8) - 1.0f) > 1e-3f);   /* not normalised */
    assert_true(lab_model_get_raw(L, "m#ctx", NULL) == raw);           /* cached */
    rec_models ms = {.i2v = in, .i2v_out = raw};
    int64_t h[] = {ids[3]};
    run(&ms, REC_ITEM2VEC, h, 1, 40, &A);
    assert_int_equal(A.n, 39);
    /* brute force: q = IN(item 3) normalised, score = q . raw OUT(j) */
    const float *q = in->unit.data + 3 * 8;
    float best = -INFINITY;
    int64_t best_id = -1;
    for (size_t j = 0; j < raw->vs.n; j++) {
        float d = vec_dot(q, raw->vs.data + j * 8, 8);
        if (raw->vs.ids[j] != ids[3] && d > best) {
            best = d;
            best_id = raw->vs.ids[j];
        }
    }
    assert_int_equal(A.ids[0], best_id);
    assert_float_equal(A.scores[0], best, 1e-4);
    size_t n0 = L->n_models;
    lab_model_get(L, "m#ctx", NULL);
    assert_int_equal(L->n_models, n0 + 1);
    lab_invalidate_model(L, "m");   /* m, m#ctx and m#ctx#raw */
    assert_int_equal(L->n_models, n0 - 2);
    for (size_t i = 0; i < L->n_models; i++)
        assert_int_not_equal(strncmp(L->models[i].info.name, "m#", 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_search_and_exclusion),
        cmocka_unit_test(test_blend_alpha_extremes),
        cmocka_unit_test(test_rerank_and_rrf_orders),
        cmocka_unit_test(test_cold_start_handling),
        cmocka_unit_test(test_fill_gives_cold_items_slots),
        cmocka_unit_test(test_inout_scores_against_output_vectors),
        cmocka_unit_test(test_dot_scores_raw_output_vectors),
    };
    return cmocka_run_group_tests_name("recommend", tests, setup, teardown);
}
