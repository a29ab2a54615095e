/* test_baseline.c - item-kNN, transition and EASE on hand-worked cases.
 *
 * Expected values: item-kNN cosines by hand (|R_i ∩ R_j| / sqrt(|R_i||R_j|)),
 * transition scores by hand, EASE's B from numpy in its primal form
 * (tests/unit/baseline_ref.py prints every figure used here), so the rows
 * side (Woodbury, a 2 x 2 inverse for 4 items) is checked against the
 * textbook formula.  Also: the stored form round-trips and rejects damage,
 * EASE refuses over its memory budget, rec_run serves the baselines, and
 * evalrun's baseline rows score the held-out items as worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "baseline.h"
#include "evalrun.h"
#include "mem.h"
#include "recommend.h"
#include "../../src/app/lab_int.h"   /* white-box: the lab's store */

#define TOL 1e-4

/* A corpus over items 1..4: one session per row (seq_user = row when
 * with_users, else -1), items in the given order. */
typedef struct fixture {
    size_t off[16];
    int64_t items[64], ts[64];
    int32_t seq_user[16];
    char *users[16];
    store_corpus c;
} fixture;

static void make(fixture *f, const char *rows, int with_users)
{
    static char *names[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};
    size_t n = 0, s = 0;
    memset(f, 0, sizeof *f);
    f->off[0] = 0;
    for (const char *p = rows; *p; p++) {
        if (*p == '|') {
            f->seq_user[s] = with_users ? (int32_t)s : -1;
            f->users[s] = names[s];
            f->off[++s] = n;
        } else if (*p >= '1' && *p <= '9') {
            f->ts[n] = (int64_t)n;
            f->items[n++] = *p - '0';
        }
    }
    f->c = (store_corpus){.n_seq = s, .n_tok = n, .n_users = with_users ? s : 0, .off = f->off,
                          .items = f->items, .ts = f->ts, .seq_user = f->seq_user,
                          .users = f->users};
}

/* Case A: 5 users, 4 items (items side of EASE). */
#define CASE_A "12|123|23|34|14|"
/* Case B: 2 users, 4 items (rows side of EASE: a 2 x 2 inverse). */
#define CASE_B "123|24|"
/* Case C: ordered sessions without users, for transitions. */
#define CASE_C "123|12|14|34|21|"

static bl_model *train(int kind, const fixture *f, double lambda)
{
    bl_params p = bl_params_default();
    bl_model *m = NULL;
    err e = {0};
    p.lambda = lambda;
    if (bl_train(kind, &f->c, &p, NULL, &m, &e))
        fail_msg("bl_train %s: %s", bl_kind_name(kind), e.msg);
    return m;
}

/* The list for a history must be exactly ids/scores. */
static void expect(const bl_model *m, const int64_t *h, size_t nh, size_t n_last, size_t k,
                   const int64_t *want_ids, const double *want, size_t n_want)
{
    int64_t ids[8];
    float sc[8];
    size_t used;
    int n = bl_recommend(m, h, nh, n_last, k, NULL, NULL, ids, sc, &used, NULL);
    assert_int_equal(n, (int)n_want);
    for (size_t i = 0; i < n_want; i++) {
        if (ids[i] != want_ids[i] || fabs(sc[i] - want[i]) > TOL)
            fail_msg("rank %zu: got item %lld score %.6f, want item %lld score %.6f", i + 1,
                     (long long)ids[i], sc[i], (long long)want_ids[i], want[i]);
    }
}

static void test_knn_cosine(void **st)
{
    fixture f;
    (void)st;
    make(&f, CASE_A, 1);
    bl_model *m = train(BL_KNN, &f, 1);
    /* columns: 1 {u0,u1,u4}, 2 {u0,u1,u2}, 3 {u1,u2,u3}, 4 {u3,u4} */
    int64_t h1[] = {1}, w1[] = {2, 4, 3};
    double s1[] = {2.0 / 3, 1 / sqrt(6), 1.0 / 3};
    expect(m, h1, 1, 5, 8, w1, s1, 3);
    /* 2 and 4 never share a user: 4 is not a neighbour of 2 */
    int64_t h2[] = {2}, w2[] = {1, 3};
    double s2[] = {2.0 / 3, 2.0 / 3};
    expect(m, h2, 1, 5, 8, w2, s2, 2);
    /* a history sums its items' similarities; history items never appear */
    int64_t h3[] = {1, 3}, w3[] = {2, 4};
    double s3[] = {4.0 / 3, 2 / sqrt(6)};
    expect(m, h3, 2, 5, 8, w3, s3, 2);
    /* n_last 1: only the newest item (3) counts */
    int64_t w4[] = {2, 4};
    double s4[] = {2.0 / 3, 1 / sqrt(6)};
    expect(m, h3, 2, 1, 8, w4, s4, 2);
    /* an unknown item contributes nothing, and says so */
    int64_t h5[] = {99};
    size_t used = 7;
    int64_t ids[4];
    float sc[4];
    assert_int_equal(bl_recommend(m, h5, 1, 5, 4, NULL, NULL, ids, sc, &used, NULL), 0);
    assert_int_equal(used, 0);
    bl_free(m);

    /* neighbours=1 keeps each item's best: ties go to the lower id */
    bl_params p = bl_params_default();
    p.neighbours = 1;
    assert_int_equal(bl_train(BL_KNN, &f.c, &p, NULL, &m, NULL), 0);
    int64_t w6[] = {1};
    double s6[] = {2.0 / 3};
    expect(m, h2, 1, 5, 8, w6, s6, 1);
    bl_free(m);
}

static void test_transition(void **st)
{
    fixture f;
    (void)st;
    make(&f, CASE_C, 0);
    bl_model *m = train(BL_TRANSITION, &f, 1);
    /* sessions are rows: 1 {s0,s1,s2,s4}, 2 {s0,s1,s4}, 3 {s0,s3}, 4 {s2,s3};
     * 1 was followed by 2 twice and by 4 once.  History 3 then 1: kNN
     * 2 = 3/sqrt(12) + 1/sqrt(6), 4 = 1/sqrt(8) + 1/2, scaled so the best
     * is 0.999, added to the counts. */
    double k2 = 3 / sqrt(12) + 1 / sqrt(6), k4 = 1 / sqrt(8) + 0.5;
    int64_t h1[] = {3, 1}, w1[] = {2, 4};
    double s1[] = {2 + 0.999, 1 + k4 / k2 * 0.999};
    expect(m, h1, 2, 5, 8, w1, s1, 2);
    /* 2 was followed by 3 (s0) and 1 (s4), once each: kNN breaks the tie */
    int64_t h2[] = {2}, w2[] = {1, 3};
    double s2[] = {1 + 0.999, 1 + (1 / sqrt(6)) / (3 / sqrt(12)) * 0.999};
    expect(m, h2, 1, 5, 8, w2, s2, 2);
    /* 4 was never followed: item-kNN alone (3: 1/2, 1: 1/sqrt(8)) */
    int64_t h3[] = {4}, w3[] = {3, 1};
    double s3[] = {0.999, (1 / sqrt(8)) / 0.5 * 0.999};
    expect(m, h3, 1, 5, 8, w3, s3, 2);
    bl_free(m);
}

/* EASE B rows from baseline_ref.py: similar(i) lists B[i][j], j != i. */
static void test_ease_items_side(void **st)
{
    fixture f;
    bl_info info;
    (void)st;
    make(&f, CASE_A, 1);
    bl_model *m = train(BL_EASE, &f, 1);
    bl_get_info(m, &info);
    assert_int_equal(info.ease_rows, 0);
    assert_int_equal(info.n_links, 4);
    int64_t h1[] = {1}, w1[] = {2, 4, 3};
    double s1[] = {0.461538, 0.333333, -0.125};
    expect(m, h1, 1, 0, 8, w1, s1, 3);
    int64_t h2[] = {2}, w2[] = {1, 3, 4};
    double s2[] = {0.5625, 0.5625, -0.333333};
    expect(m, h2, 1, 0, 8, w2, s2, 3);
    int64_t h4[] = {4}, w4[] = {1, 3, 2};
    double s4[] = {0.375, 0.375, -0.307692};
    expect(m, h4, 1, 0, 8, w4, s4, 3);
    bl_free(m);
}

static void test_ease_rows_side(void **st)
{
    fixture f;
    bl_info info;
    (void)st;
    make(&f, CASE_B, 1);
    bl_model *m = train(BL_EASE, &f, 1);
    bl_get_info(m, &info);
    assert_int_equal(info.ease_rows, 1);
    assert_int_equal(info.n_links, 2);   /* a 2 x 2 matrix for 4 items */
    int64_t h1[] = {1}, w1[] = {3, 2, 4};
    double s1[] = {0.375, 0.333333, -0.142857};
    expect(m, h1, 1, 0, 8, w1, s1, 3);
    int64_t h4[] = {4}, w4[] = {2, 1, 3};
    double s4[] = {0.5, -0.125, -0.125};
    expect(m, h4, 1, 0, 8, w4, s4, 3);
    /* a history of two: x B, ties by id; n_last is ignored (whole history) */
    int64_t h[] = {2, 4}, w[] = {1, 3};
    double s[] = {0.125, 0.125};
    expect(m, h, 2, 1, 8, w, s, 2);
    bl_free(m);
}

static void test_ease_refuses(void **st)
{
    static int64_t items[600], ts[600];
    static size_t off[601];
    static int32_t su[600];
    static char *users[600];
    bl_params p = bl_params_default();
    bl_model *m = (bl_model *)1;
    err e = {0};
    (void)st;
    for (int i = 0; i < 600; i++) {   /* 600 users, 600 items: a 600^2 matrix, 1.4 MiB */
        items[i] = i + 1;
        off[i + 1] = (size_t)i + 1;
        su[i] = i;
        users[i] = "u";
    }
    store_corpus c = {.n_seq = 600, .n_tok = 600, .n_users = 600, .off = off, .items = items,
                      .ts = ts, .seq_user = su, .users = users};
    p.max_mb = 1;
    assert_int_equal(bl_train(BL_EASE, &c, &p, NULL, &m, &e), -ERR_RANGE);
    assert_null(m);
    assert_non_null(strstr(e.msg, "600 x 600"));
    assert_non_null(strstr(e.msg, "max_mb=1"));
    p.max_mb = 2;
    assert_int_equal(bl_train(BL_EASE, &c, &p, NULL, &m, &e), 0);
    bl_free(m);
}

static void test_params(void **st)
{
    bl_params p = bl_params_default();
    err e = {0};
    char js[128];
    (void)st;
    assert_int_equal(bl_params_set(&p, BL_KNN, "neighbours", "50", &e), 0);
    assert_int_equal(p.neighbours, 50);
    assert_int_equal(bl_params_set(&p, BL_KNN, "neighbours", "0", &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "neighbours"));
    assert_int_equal(bl_params_set(&p, BL_KNN, "lambda", "3", &e), -ERR_USAGE);
    assert_int_equal(bl_params_set(&p, BL_EASE, "lambda", "-1", &e), -ERR_USAGE);
    assert_int_equal(bl_params_set(&p, BL_EASE, "lambda", "12.5", &e), 0);
    assert_int_equal(bl_params_set(&p, BL_EASE, "max_mb", "abc", &e), -ERR_USAGE);
    bl_params_json(BL_EASE, &p, js, sizeof js);
    assert_string_equal(js, "{\"lambda\":12.5,\"max_mb\":1024}");
    assert_int_equal(bl_kind_parse("transition"), BL_TRANSITION);
    assert_int_equal(bl_kind_parse("nope"), -1);
    fixture f;
    make(&f, "", 1);
    bl_model *m = NULL;
    assert_int_equal(bl_train(BL_KNN, &f.c, &p, NULL, &m, &e), -ERR_STATE);
}

/* The same lists after a save/load round trip, for every kind. */
static void test_roundtrip_and_damage(void **st)
{
    fixture f;
    (void)st;
    for (int kind = 0; kind < BL_N_KINDS; kind++) {
        make(&f, kind == BL_EASE ? CASE_B : CASE_C, kind == BL_EASE);
        bl_model *m = train(kind, &f, 1), *m2 = NULL;
        void *blob;
        size_t len;
        err e = {0};
        assert_int_equal(bl_save(m, &blob, &len, NULL), 0);
        assert_int_equal(bl_load(blob, len, &m2, &e), 0);
        for (int64_t q = 1; q <= 4; q++) {
            int64_t a[8], b[8];
            float sa[8], sb[8];
            int na = bl_recommend(m, &q, 1, 5, 8, NULL, NULL, a, sa, NULL, NULL);
            int nb = bl_recommend(m2, &q, 1, 5, 8, NULL, NULL, b, sb, NULL, NULL);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, (size_t)na * sizeof *a);
            assert_memory_equal(sa, sb, (size_t)na * sizeof *sa);
        }
        bl_free(m2);
        /* every truncation is refused; every single-byte change loads or is
         * refused cleanly (ASan checks the reads) */
        for (size_t cut = 0; cut < len; cut++) {
            m2 = (bl_model *)1;
            assert_int_equal(bl_load(blob, cut, &m2, &e), -ERR_PARSE);
            assert_null(m2);
        }
        unsigned char *bad = mem_alloc(len);
        for (size_t i = 0; i < len; i++) {
            memcpy(bad, blob, len);
            bad[i] ^= 0xA5;
            int rc = bl_load(bad, len, &m2, &e);
            assert_true(rc == 0 || rc == -ERR_PARSE);
            if (rc == 0) {
                int64_t q = 2, ids[8];
                float sc[8];
                assert_true(bl_recommend(m2, &q, 1, 5, 8, NULL, NULL, ids, sc, NULL, NULL) >= 0);
                bl_free(m2);
            }
        }
        mem_free(bad);
        mem_free(blob);
        bl_free(m);
    }
}

/* Catalog items P1..P4 with rows (and item ids) 1..4. */
static void add_items(lab *L)
{
    for (int i = 1; i <= 4; i++) {
        char id[16];
        int64_t rowid;
        snprintf(id, sizeof id, "P%d", i);
        store_item it = {.ext_id = id, .title = id};
        assert_int_equal(store_item_insert(L->db, &it, &rowid, NULL), 0);
        assert_int_equal(rowid, i);
    }
}

/* rec_run serves each baseline from rec_models.bl, with the query's filter
 * and a note when a kind is missing. */
static void test_rec_run(void **st)
{
    lab *L = lab_open(":memory:", NULL);
    fixture f;
    rec_baselines b;
    rec_list *out = mem_alloc(sizeof *out);
    bl_params p = bl_params_default();
    (void)st;
    assert_non_null(L);
    add_items(L);
    make(&f, CASE_A, 1);
    p.lambda = 1;
    assert_int_equal(rec_baselines_train(&b, &f.c, &p, REC_BL_ALL & ~(1u << BL_TRANSITION),
                                         NULL, NULL), 0);
    rec_models ms = {.bl = &b};
    int64_t h[] = {1};
    rec_query q = {.hist = h, .n_hist = 1};
    assert_int_equal(rec_run(L, &ms, REC_KNN, &q, 10, out, NULL), 0);
    assert_int_equal(out->n, 3);
    assert_int_equal(out->ids[0], 2);
    assert_string_equal(rec_method_name(REC_KNN), "item-kNN");
    assert_int_equal(rec_run(L, &ms, REC_EASE, &q, 2, out, NULL), 0);
    assert_int_equal(out->n, 2);
    assert_float_equal(out->scores[0], 0.461538, TOL);
    /* a kind left out: an empty list and why */
    assert_int_equal(rec_run(L, &ms, REC_TRANSITION, &q, 10, out, NULL), 0);
    assert_int_equal(out->n, 0);
    assert_non_null(strstr(out->note, "not trained"));
    /* the filter holds (the history excluded too) */
    uint8_t rows[4] = {1, 0, 1, 0};   /* catalog rows of items 1..4: odd ones */
    rec_query qf = {.hist = h, .n_hist = 1, .rows_ok = rows};
    assert_int_equal(rec_run(L, &ms, REC_KNN, &qf, 10, out, NULL), 0);
    assert_int_equal(out->n, 1);
    assert_int_equal(out->ids[0], 3);
    rec_baselines_done(&b);
    mem_free(out);
    lab_close(L);
}

/* evalrun's baseline rows on a split worked by hand.  Users (time order):
 *   u0: 1 2 3   u1: 1 2 3   u2: 2 3 4   u3: 3 4 1
 * Each last item is held out; the training rows {1,2} {1,2} {2,3} {3,4}
 * give cos(1,2) = 2/sqrt(6), cos(2,3) = 1/sqrt(6), cos(3,4) = 1/sqrt(2),
 * the other pairs 0.  From the last item only: u0 and u1 get [3] (hit),
 * u2 gets [4] (hit), u3's last item 4 has only 3, in its history (miss):
 * R@1 = 3/4.  From the whole history u2 gets [1, 4] (target second):
 * R@1 = 2/4, MRR@10 = (1 + 1 + 1/2 + 0) / 4. */
static void test_evalrun_rows(void **st)
{
    static const char *const seq[] = {"123", "123", "234", "341"};
    lab *L = lab_open(":memory:", NULL);
    evalrun_rowdef rows[3];
    evalrun_opts o = evalrun_opts_default();
    evalrun_tuned t, u;
    evalrun *r = NULL;
    (void)st;
    assert_non_null(L);
    add_items(L);
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < 3; i++) {
            char sess[16], user[16];
            snprintf(sess, sizeof sess, "s%d", s);
            snprintf(user, sizeof user, "u%d", s);
            assert_int_equal(store_event_insert(L->db, sess, user, seq[s][i] - '0',
                                                100 * s + i, NULL), 0);
        }
    for (int w = 0; w < 3; w++)
        rows[w] = (evalrun_rowdef){.kind = EVALRUN_BASELINE, .bl_kind = BL_KNN,
                                   .bl = bl_params_default(), .bl_last = w == 0 ? 1 : 0};
    rows[2].bl_kind = BL_EASE;
    snprintf(rows[0].name, sizeof rows[0].name, "knn last 1");
    snprintf(rows[1].name, sizeof rows[1].name, "knn all");
    snprintf(rows[2].name, sizeof rows[2].name, "ease");
    o.k = 1;
    o.n_boot = 0;
    o.rows = rows;
    o.n_rows = 3;
    o.threads = 1;
    assert_int_equal(evalrun_run(L, &o, &r, NULL), 0);
    assert_int_equal(r->n_sel, 4);
    assert_false(r->rows[0].missing);
    assert_float_equal(r->rows[0].mean[EVALRUN_R], 0.75, 1e-9);
    assert_float_equal(r->rows[1].mean[EVALRUN_R], 0.5, 1e-9);
    assert_float_equal(r->rows[1].mean[EVALRUN_MRR], 0.5, 1e-9);   /* MRR@1 */
    assert_non_null(strstr(r->rows[0].detail, "item-kNN"));
    assert_non_null(strstr(r->rows[2].detail, "EASE"));
    assert_true(r->rows[2].mean[EVALRUN_R50] >= 0 && r->rows[2].mean[EVALRUN_R50] <= 1);
    evalrun_free(r);
    o.k = 10;
    assert_int_equal(evalrun_run(L, &o, &r, NULL), 0);
    assert_float_equal(r->rows[1].mean[EVALRUN_MRR], 0.625, 1e-9);
    evalrun_free(r);

    /* the tuning record keeps the baselines' parameters */
    memset(&t, 0, sizeof t);
    t.k = 10;
    t.have_bl[BL_KNN] = t.have_bl[BL_EASE] = 1;
    t.bl[BL_KNN] = t.bl[BL_EASE] = bl_params_default();
    t.bl[BL_KNN].neighbours = 20;
    t.bl_last[BL_KNN] = 3;
    t.valid_bl[BL_KNN] = 0.25;
    t.bl[BL_EASE].lambda = 50;
    assert_int_equal(evalrun_tuned_save(L, &t, NULL), 0);
    assert_int_equal(evalrun_tuned_load(L, &u, NULL), 0);
    assert_true(evalrun_tuned_any(&u));
    assert_true(u.have_bl[BL_KNN] && u.have_bl[BL_EASE] && !u.have_bl[BL_TRANSITION]);
    assert_int_equal(u.bl[BL_KNN].neighbours, 20);
    assert_int_equal(u.bl_last[BL_KNN], 3);
    assert_float_equal(u.valid_bl[BL_KNN], 0.25, 1e-12);
    assert_float_equal(u.bl[BL_EASE].lambda, 50, 1e-12);
    evalrun_rowdef d[40];
    size_t n = evalrun_rows_default(L, EVALRUN_SET_EVAL, &u, d, 40);
    assert_string_equal(d[n - 2].name, "item-kNN (tuned)");
    assert_int_equal(d[n - 2].bl_last, 3);
    assert_string_equal(d[n - 1].name, "EASE (tuned)");
    lab_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knn_cosine),
        cmocka_unit_test(test_transition),
        cmocka_unit_test(test_ease_items_side),
        cmocka_unit_test(test_ease_rows_side),
        cmocka_unit_test(test_ease_refuses),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_roundtrip_and_damage),
        cmocka_unit_test(test_rec_run),
        cmocka_unit_test(test_evalrun_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
