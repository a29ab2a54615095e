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
#include "evalrun.h"
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

/* Bernoulli hits with rate 0.3 over 400 users: the percentile interval is
 * about the normal one, mean +- 1.96 sqrt(p(1-p)/n); resampling is seeded. */
static void test_bootstrap_interval(void **st)
{
    enum { N = 400 };
    double a[N], lo, hi, lo2, hi2;
    const double *vals[1] = {a};
    eval_boot b;
    (void)st;
    for (int i = 0; i < N; i++)
        a[i] = i % 10 < 3;
    assert_int_equal(eval_boot_run(&b, vals, 1, 1, N, 1, 2000, 7, NULL), 0);
    eval_boot_ci(&b, 0, 0, 0.95, &lo, &hi);
    double half = 1.96 * sqrt(0.3 * 0.7 / N);
    assert_true(lo < 0.3 && hi > 0.3);
    assert_float_equal((hi - lo) / 2, half, 0.15 * half);
    eval_boot_done(&b);
    assert_int_equal(eval_boot_run(&b, vals, 1, 1, N, 1, 2000, 7, NULL), 0);
    eval_boot_ci(&b, 0, 0, 0.95, &lo2, &hi2);
    assert_float_equal(lo, lo2, 0);   /* same seed, same interval */
    assert_float_equal(hi, hi2, 0);
    eval_boot_done(&b);
    err e;
    assert_int_equal(eval_boot_run(&b, vals, 1, 1, 0, 1, 10, 1, &e), -ERR_USAGE);
}

/* Paired test: a method one hit ahead on a few users is significantly
 * better even though the intervals overlap; a copy is never different;
 * noise with the same mean is not significant. */
static void test_bootstrap_paired(void **st)
{
    enum { N = 300 };
    double a[N], b2[N], c[N], d[N];
    const double *vals[4] = {a, b2, c, d};
    eval_boot b;
    rng r;
    (void)st;
    rng_seed(&r, 5, 0);
    for (int i = 0; i < N; i++) {
        a[i] = rng_uniform(&r) < 0.2;
        b2[i] = a[i] || i % 20 == 0;   /* a plus 15 more hits on the same users */
        c[i] = a[i];
        d[i] = rng_uniform(&r) < 0.2;
    }
    assert_int_equal(eval_boot_run(&b, vals, 4, 1, N, 1, 1000, 3, NULL), 0);
    double lo_a, hi_a, lo_b, hi_b;
    eval_boot_ci(&b, 0, 0, 0.95, &lo_a, &hi_a);
    eval_boot_ci(&b, 1, 0, 0.95, &lo_b, &hi_b);
    assert_true(lo_b < hi_a);                             /* intervals overlap ... */
    assert_true(eval_boot_p(&b, 1, 0, 0) < 0.01);         /* ... the paired test sees it */
    assert_float_equal(eval_boot_p(&b, 0, 2, 0), 1, 0);   /* identical rows */
    assert_true(eval_boot_p(&b, 0, 2, 0) >= 2.0 / 1001);
    assert_true(eval_boot_p(&b, 0, 3, 0) > 0.05);
    eval_boot_done(&b);
}

/* With repeats the resampling draws a seed too: figures that differ
 * between trainings widen the interval. */
static void test_bootstrap_repeats(void **st)
{
    enum { N = 200 };
    double one[N], two[2 * N], lo1, hi1, lo2, hi2;
    const double *v1[1] = {one}, *v2[1] = {two};
    eval_boot b;
    (void)st;
    for (int i = 0; i < N; i++) {
        one[i] = i % 4 == 0;
        two[i] = one[i];
        two[N + i] = i % 2 == 0;   /* the second seed scores twice as often */
    }
    assert_int_equal(eval_boot_run(&b, v1, 1, 1, N, 1, 1000, 1, NULL), 0);
    eval_boot_ci(&b, 0, 0, 0.95, &lo1, &hi1);
    eval_boot_done(&b);
    assert_int_equal(eval_boot_run(&b, v2, 1, 2, N, 1, 1000, 1, NULL), 0);
    eval_boot_ci(&b, 0, 0, 0.95, &lo2, &hi2);
    eval_boot_done(&b);
    assert_true(hi2 - lo2 > 2 * (hi1 - lo1));
    assert_true(lo2 < 0.3 && hi2 > 0.45);
}

/* The validation split: each user's last item is removed entirely, the
 * second-to-last is the target, and neither is in training. */
static void test_split_valid(void **st)
{
    /* u0: 1,2,3,4 at t=1..4; u1: 5,6 at t=1,2 (too short); u2: 7,8,9 */
    size_t off[] = {0, 4, 6, 9};
    int64_t items[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ts[] = {1, 2, 3, 4, 1, 2, 1, 2, 3};
    int32_t su[] = {0, 1, 2};
    char *names[] = {"s0", "s1", "s2"}, *users[] = {"u0", "u1", "u2"};
    store_corpus c = {.n_seq = 3, .n_tok = 9, .n_users = 3, .off = off, .items = items,
                      .ts = ts, .seq_user = su, .seq_name = names, .users = users};
    eval_split sp;
    (void)st;
    assert_int_equal(evalrun_split_valid(&c, 0, 1, &sp, NULL), 0);
    assert_int_equal(sp.n_cases, 2);
    assert_int_equal(sp.cases[0].target, 3);
    assert_int_equal(sp.cases[0].hist_len, 2);
    assert_int_equal(sp.cases[1].target, 8);
    assert_int_equal(sp.cases[1].hist_len, 1);
    for (size_t i = 0; i < sp.train.n_tok; i++) {
        int64_t it = sp.train.items[i];
        assert_true(it != 4 && it != 3 && it != 9 && it != 8 && it != 6);
    }
    for (size_t i = 0; i < sp.cases[0].hist_len; i++)
        assert_true(sp.hist[sp.cases[0].hist_off + i] != 4);
    assert_int_equal(sp.train.n_tok, 4);   /* 1 2, 5, 7 */
    eval_split_done(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_against_naive),
        cmocka_unit_test(test_acc),
        cmocka_unit_test(test_split_no_leakage),
        cmocka_unit_test(test_split_time),
        cmocka_unit_test(test_bootstrap_interval),
        cmocka_unit_test(test_bootstrap_paired),
        cmocka_unit_test(test_bootstrap_repeats),
        cmocka_unit_test(test_split_valid),
    };
    return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
