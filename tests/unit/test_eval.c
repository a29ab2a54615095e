/* test_eval.c - metrics against hand-worked cases and an independent
 * brute-force computation; the leave-last-out split has no leakage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "eval.h"
#include "mem.h"
#include "rng.h"

static void test_hand_worked(void **st)
{
    eval_scores s;
    (void)st;
    /* relevant {3}; ranked 5 3 1: hit at rank 2 */
    int64_t r1[] = {5, 3, 1}, rel1[] = {3};
    eval_score(r1, 3, rel1, 1, 3, &s);
    assert_float_equal(s.precision, 1.0 / 3, 1e-12);
    assert_float_equal(s.recall, 1.0, 1e-12);
    assert_float_equal(s.mrr, 0.5, 1e-12);
    assert_float_equal(s.ndcg, 1.0 / log2(3.0), 1e-12);
    /* k larger than the list: missing ranks are misses, precision over k */
    eval_score(r1, 3, rel1, 1, 10, &s);
    assert_float_equal(s.precision, 0.1, 1e-12);
    assert_float_equal(s.recall, 1.0, 1e-12);
    /* cut off: the hit at rank 2 is outside k=1 */
    eval_score(r1, 3, rel1, 1, 1, &s);
    assert_float_equal(s.recall, 0, 0);
    assert_float_equal(s.mrr, 0, 0);
    /* two relevant, both found at ranks 1 and 3 */
    int64_t r2[] = {7, 8, 9, 10}, rel2[] = {9, 7};
    eval_score(r2, 4, rel2, 2, 4, &s);
    assert_float_equal(s.precision, 0.5, 1e-12);
    assert_float_equal(s.recall, 1.0, 1e-12);
    double dcg = 1.0 + 1.0 / log2(4.0), idcg = 1.0 + 1.0 / log2(3.0);
    assert_float_equal(s.ndcg, dcg / idcg, 1e-12);
    assert_float_equal(s.mrr, 1.0, 0);
    /* duplicates in the ranking count once (ties of ids) */
    int64_t r3[] = {9, 9, 9}, rel3[] = {9};
    eval_score(r3, 3, rel3, 1, 3, &s);
    assert_float_equal(s.precision, 1.0 / 3, 1e-12);
    assert_float_equal(s.ndcg, 1.0, 1e-12);
    /* empty list */
    eval_score(NULL, 0, rel3, 1, 5, &s);
    assert_float_equal(s.recall, 0, 0);
}

/* Independent computation: positions found by scanning for each relevant
 * item, NDCG by sorting gains. */
static void naive(const int64_t *L, size_t n, const int64_t *R, size_t nr, size_t k,
                  eval_scores *o)
{
    size_t lim = n < k ? n : k, hits = 0, first = 0;
    double dcg = 0, idcg = 0;
    for (size_t j = 0; j < nr; j++)
        for (size_t i = 0; i < lim; i++)
            if (L[i] == R[j]) {
                int dup = 0;
                for (size_t q = 0; q < i; q++)
                    dup |= L[q] == L[i];
                if (dup)
                    continue;
                hits++;
                dcg += 1 / log2(i + 2.0);
                if (!first || i + 1 < first)
                    first = i + 1;
                break;
            }
    for (size_t i = 0; i < nr && i < k; i++)
        idcg += 1 / log2(i + 2.0);
    o->precision = (double)hits / k;
    o->recall = (double)hits / nr;
    o->ndcg = dcg / idcg;
    o->mrr = first ? 1.0 / first : 0;
}

static void test_against_naive(void **st)
{
    rng r;
    (void)st;
    rng_seed(&r, 3, 0);
    for (int t = 0; t < 2000; t++) {
        int64_t L[30], R[5];
        size_t n = rng_below(&r, 30), nr = 1 + rng_below(&r, 5), k = 1 + rng_below(&r, 40);
        for (size_t i = 0; i < n; i++)
            L[i] = (int64_t)rng_below(&r, 40);
        for (size_t i = 0; i < nr; i++) {   /* distinct relevant ids */
            R[i] = (int64_t)rng_below(&r, 40);
            for (size_t j = 0; j < i; j++)
                if (R[j] == R[i]) {
                    R[i] = (int64_t)rng_below(&r, 40);
                    j = (size_t)-1;
                }
        }
        eval_scores a, b;
        eval_score(L, n, R, nr, k, &a);
        naive(L, n, R, nr, k, &b);
        assert_float_equal(a.precision, b.precision, 1e-12);
        assert_float_equal(a.recall, b.recall, 1e-12);
        assert_float_equal(a.ndcg, b.ndcg, 1e-12);
        assert_float_equal(a.mrr, b.mrr, 1e-12);
    }
}

static void test_acc(void **st)
{
    eval_acc a;
    eval_scores s = {1, 1, 1, 1}, m;
    long rows[] = {0, 2};
    (void)st;
    assert_int_equal(eval_acc_init(&a, 4, NULL), 0);
    eval_acc_add(&a, &s, rows, 2, 10);
    memset(&s, 0, sizeof s);
    eval_acc_add(&a, &s, rows, 1, 30);
    eval_acc_mean(&a, &m);
    assert_float_equal(m.recall, 0.5, 1e-12);
    assert_float_equal(eval_acc_coverage(&a), 0.5, 1e-12);
    assert_float_equal(eval_acc_latency(&a, 0.5), 10, 0);
    eval_acc_done(&a);
}

static void test_split_no_leakage(void **st)
{
    /* users: u0 has sessions s0 (items 1,2 at t=1,2) and s1 (item 3 at t=5);
     * u1 has s2 (items 4,5 at t=3,4); s3 has no user (item 6). */
    size_t off[] = {0, 2, 3, 5, 6};
    int64_t items[] = {1, 2, 3, 4, 5, 6}, ts[] = {1, 2, 5, 3, 4, 9};
    int32_t su[] = {0, 0, 1, -1};
    char *names[] = {"s0", "s1", "s2", "s3"}, *users[] = {"u0", "u1"};
    store_corpus c = {.n_seq = 4, .n_tok = 6, .n_users = 2, .off = off, .items = items,
                      .ts = ts, .seq_user = su, .seq_name = names, .users = users};
    eval_split sp;
    (void)st;
    assert_int_equal(eval_split_make(&c, EVAL_SPLIT_LAST, 0, 1, &sp, NULL), 0);
    assert_int_equal(sp.n_cases, 2);
    assert_true(sp.by_user);
    assert_int_equal(sp.cases[0].target, 3);       /* u0's last by time */
    assert_int_equal(sp.cases[0].hist_len, 2);
    assert_int_equal(sp.hist[sp.cases[0].hist_off + 1], 2);
    assert_int_equal(sp.cases[1].target, 5);
    assert_true(sp.cases[0].cold);                 /* item 3 only ever held out */
    /* held-out events are absent from training */
    assert_int_equal(sp.train.n_tok, 4);
    for (size_t i = 0; i < sp.train.n_tok; i++)
        assert_true(sp.train.items[i] != 3 && sp.train.items[i] != 5);
    assert_int_equal(sp.train.n_seq, 3);            /* s1 emptied */
    eval_split_done(&sp);
    /* max_cases keeps a subset */
    assert_int_equal(eval_split_make(&c, EVAL_SPLIT_LAST, 1, 1, &sp, NULL), 0);
    assert_int_equal(sp.n_cases, 1);
    assert_int_equal(sp.train.n_tok, 5);
    eval_split_done(&sp);
}

static void test_split_time(void **st)
{
    /* u0: s0 (1,2,3 at t=1..3), s1 (4 at t=10); u1: s2 (5,6 at t=4,5), s3 (7 at
     * t=6); s4 without user (8,9,10 at t=7..9).  90% of the 10 events fall
     * before t=10: only item 4 is after the cut. */
    size_t off[] = {0, 3, 4, 6, 7, 10};
    int64_t items[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ts[] = {1, 2, 3, 10, 4, 5, 6, 7, 8, 9};
    int32_t su[] = {0, 0, 1, 1, -1};
    char *names[] = {"s0", "s1", "s2", "s3", "s4"}, *users[] = {"u0", "u1"};
    store_corpus c = {.n_seq = 5, .n_tok = 10, .n_users = 2, .off = off, .items = items,
                      .ts = ts, .seq_user = su, .seq_name = names, .users = users};
    eval_split sp;
    (void)st;
    assert_int_equal(eval_split_make(&c, EVAL_SPLIT_TIME, 0, 1, &sp, NULL), 0);
    assert_true(sp.time);
    assert_int_equal(sp.n_cases, 1);              /* u1 has nothing after the cut */
    assert_int_equal(sp.cases[0].target, 4);
    assert_int_equal(sp.cases[0].hist_len, 3);
    assert_int_equal(sp.hist[sp.cases[0].hist_off + 2], 3);
    assert_true(sp.cases[0].cold);
    assert_int_equal(sp.train.n_tok, 9);
    for (size_t i = 0; i < sp.train.n_tok; i++)
        assert_true(sp.train.ts[i] < 10);           /* nothing from the future */
    eval_split_done(&sp);
    /* no timestamps at all: a clear error */
    int64_t nots[10];
    for (int i = 0; i < 10; i++)
        nots[i] = STORE_NO_TS;
    c.ts = nots;
    err e;
    assert_int_equal(eval_split_make(&c, EVAL_SPLIT_TIME, 0, 1, &sp, &e), -ERR_STATE);
    assert_non_null(strstr(e.msg, "timestamp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_against_naive),
        cmocka_unit_test(test_acc),
        cmocka_unit_test(test_split_no_leakage),
        cmocka_unit_test(test_split_time),
    };
    return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
