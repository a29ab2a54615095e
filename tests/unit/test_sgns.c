/* test_sgns.c - the SGNS engine: noise table, subsampling, learning rate,
 * reproducibility, planted structure, cancellation, subwords, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "cpu.h"
#include "err.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"
#include "sgns.h"

/* A corpus of n_seq sequences of length len over `groups` disjoint groups of
 * `per` tokens: every sequence stays inside one group (token = g*per + j). */
typedef struct tcorpus {
    size_t *off;
    int32_t *tok;
    sgns_corpus c;
} tcorpus;

static void make_groups(tcorpus *t, size_t n_seq, size_t len, int groups, int per,
                        uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, 99);
    t->off = mem_array(n_seq + 1, sizeof *t->off);
    t->tok = mem_array(n_seq * len, sizeof *t->tok);
    assert_non_null(t->off);
    assert_non_null(t->tok);
    for (size_t s = 0; s <= n_seq; s++)
        t->off[s] = s * len;
    for (size_t s = 0; s < n_seq; s++) {
        int g = (int)rng_below(&r, (uint64_t)groups);
        for (size_t i = 0; i < len; i++)
            t->tok[s * len + i] = g * per + (int32_t)rng_below(&r, (uint64_t)per);
    }
    t->c.n_seq = n_seq;
    t->c.off = t->off;
    t->c.tok = t->tok;
}

static void free_corpus(tcorpus *t)
{
    mem_free(t->off);
    mem_free(t->tok);
}

static float cosine(const float *a, const float *b, size_t n)
{
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        d += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return (float)(d / (sqrt(na * nb) + 1e-30));
}

static void test_negtable_matches_power(void **st)
{
    int64_t counts[] = {1, 10, 100, 1000, 0, 5, 77, 3000};
    size_t n = sizeof counts / sizeof *counts;
    double z = 0, freq[8] = {0};
    sgns_negtable t;
    rng r;
    (void)st;

    assert_int_equal(sgns_negtable_init(&t, counts, n, 0.75, NULL), 0);
    for (size_t i = 0; i < n; i++)
        z += counts[i] > 0 ? pow((double)counts[i], 0.75) : 0;
    for (size_t i = 0; i < n; i++) {
        double want = counts[i] > 0 ? pow((double)counts[i], 0.75) / z : 0;
        assert_float_equal(sgns_negtable_prob(&t, i), want, 1e-7);
    }
    /* Sampled frequencies follow too; a zero count is never drawn. */
    rng_seed(&r, 5, 0);
    const int draws = 400000;
    for (int k = 0; k < draws; k++)
        freq[sgns_negtable_draw(&t, rng_u64(&r))] += 1.0 / draws;
    for (size_t i = 0; i < n; i++) {
        double want = counts[i] > 0 ? pow((double)counts[i], 0.75) / z : 0;
        assert_float_equal(freq[i], want, 0.004);
    }
    assert_true(freq[4] == 0.0);
    sgns_negtable_done(&t);

    /* Exponent 0: uniform over the tokens that occur. */
    assert_int_equal(sgns_negtable_init(&t, counts, n, 0.0, NULL), 0);
    assert_float_equal(sgns_negtable_prob(&t, 0), 1.0 / 7, 1e-7);
    assert_float_equal(sgns_negtable_prob(&t, 7), 1.0 / 7, 1e-7);
    assert_float_equal(sgns_negtable_prob(&t, 4), 0.0, 1e-12);
    sgns_negtable_done(&t);

    int64_t zero[3] = {0, 0, 0};
    err e;
    assert_int_equal(sgns_negtable_init(&t, zero, 3, 0.75, &e), -ERR_STATE);
}

static void test_keep_prob_formula(void **st)
{
    (void)st;
    /* threshold = 1e-3 * 1e6 = 1000; (sqrt(10000/1000) + 1) * 1000/10000 */
    assert_float_equal(sgns_keep_prob(10000, 1000000, 1e-3), (sqrt(10.0) + 1) * 0.1, 1e-12);
    assert_float_equal(sgns_keep_prob(100000, 1000000, 1e-3), (sqrt(100.0) + 1) * 0.01, 1e-12);
    assert_float_equal(sgns_keep_prob(500, 1000000, 1e-3), 1.0, 0);   /* rare: kept */
    assert_float_equal(sgns_keep_prob(10000, 1000000, 0), 1.0, 0);     /* off */

    /* In training: one token is half the corpus, 99 others share the rest. */
    enum { NSEQ = 2000, LEN = 20 };
    size_t off[NSEQ + 1];
    int32_t *tok = mem_array(NSEQ * LEN, sizeof *tok);
    int64_t counts[100] = {0};
    rng r;
    assert_non_null(tok);
    rng_seed(&r, 3, 0);
    for (size_t i = 0; i < NSEQ * LEN; i++) {
        tok[i] = (i % 2) ? 0 : 1 + (int32_t)rng_below(&r, 99);
        counts[tok[i]]++;
    }
    for (size_t s = 0; s <= NSEQ; s++)
        off[s] = s * LEN;
    double expect = 0;
    for (int t = 0; t < 100; t++)
        expect += counts[t] * sgns_keep_prob(counts[t], NSEQ * LEN, 1e-2);
    sgns_opts o = sgns_opts_default();
    o.dim = 8;
    o.sample = 1e-2;
    o.epochs = 4;
    sgns_model m;
    sgns_stats ss;
    sgns_corpus c = {NSEQ, off, tok};
    assert_int_equal(sgns_model_init(&m, 100, 0, 8, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, NULL, &ss, NULL), 0);
    assert_int_equal(ss.n_tok, NSEQ * LEN);
    assert_float_equal((double)ss.n_kept / o.epochs, expect, expect * 0.01);
    assert_true(ss.n_kept < ss.n_tok * (uint64_t)o.epochs * 3 / 4);
    sgns_model_done(&m);
    mem_free(tok);
}

static void test_alpha_schedule(void **st)
{
    sgns_opts o = sgns_opts_default();
    (void)st;
    o.alpha = 0.025;
    o.min_alpha = 0.0001;
    assert_float_equal(sgns_alpha_at(&o, 0, 1000), 0.025, 1e-12);
    assert_float_equal(sgns_alpha_at(&o, 500, 1000), 0.025 - 0.0249 * 0.5, 1e-12);
    assert_float_equal(sgns_alpha_at(&o, 1000, 1000), 0.0001, 1e-12);
    assert_float_equal(sgns_alpha_at(&o, 5000, 1000), 0.0001, 1e-12);  /* floor */
    double prev = 1;
    for (uint64_t d = 0; d <= 1000; d += 10) {
        double a = sgns_alpha_at(&o, d, 1000);
        assert_true(a <= prev);
        prev = a;
    }
    /* Training ends near min_alpha: the rate is refreshed every 10,000
     * tokens, so it lags by at most that much of the schedule. */
    tcorpus t;
    sgns_model m;
    sgns_stats ss;
    make_groups(&t, 2000, 10, 5, 10, 1);
    o.dim = 16;
    o.epochs = 3;
    assert_int_equal(sgns_model_init(&m, 50, 0, 16, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, NULL, &ss, NULL), 0);
    double lag = (o.alpha - o.min_alpha) * 10000.0 / (20000.0 * 3);
    assert_true(ss.alpha_last >= o.min_alpha - 1e-9);
    assert_true(ss.alpha_last <= o.min_alpha + lag + 1e-9);
    sgns_model_done(&m);
    free_corpus(&t);
}

static void train_once(const sgns_corpus *c, const sgns_opts *o, size_t V, sgns_model *m)
{
    err e;
    assert_int_equal(sgns_model_init(m, V, 0, (size_t)o->dim, o->seed, &e), 0);
    assert_int_equal(sgns_train(m, c, NULL, NULL, o, NULL, NULL, &e), 0);
}

static void test_reproducible_one_thread(void **st)
{
    tcorpus t;
    sgns_model a, b, c;
    sgns_opts o = sgns_opts_default();
    (void)st;
    make_groups(&t, 300, 12, 4, 10, 2);
    o.threads = 1;
    o.seed = 7;
    o.epochs = 3;
    for (int dim = 0; dim < 3; dim++) {
        o.dim = dim == 0 ? 64 : dim == 1 ? 24 : 13;   /* fixed kernel and general path */
        train_once(&t.c, &o, 40, &a);
        train_once(&t.c, &o, 40, &b);
        assert_memory_equal(a.in, b.in, 40 * (size_t)o.dim * sizeof(float));
        assert_memory_equal(a.out, b.out, 40 * (size_t)o.dim * sizeof(float));
        sgns_model cp;
        assert_int_equal(sgns_model_copy(&cp, &a, NULL), 0);
        assert_int_equal(cp.n_vocab, 40);
        assert_memory_equal(cp.in, a.in, 40 * (size_t)o.dim * sizeof(float));
        assert_memory_equal(cp.out, a.out, 40 * (size_t)o.dim * sizeof(float));
        sgns_model_done(&cp);
        o.seed = 8;
        train_once(&t.c, &o, 40, &c);
        o.seed = 7;
        assert_true(memcmp(a.in, c.in, 40 * (size_t)o.dim * sizeof(float)) != 0);
        sgns_model_done(&a);
        sgns_model_done(&b);
        sgns_model_done(&c);
    }
    free_corpus(&t);
}

/* Trains a fresh model (V output rows, nin input rows) with o. */
static void train_fresh(sgns_model *m, const tcorpus *t, size_t V, size_t nin,
                        const sgns_subwords *sw, const sgns_opts *o, sgns_stats *s)
{
    assert_int_equal(sgns_model_init(m, V, nin, (size_t)o->dim, o->seed, NULL), 0);
    assert_int_equal(sgns_train(m, &t->c, NULL, sw, o, NULL, s, NULL), 0);
}

/* The deterministic schedule: the same seed gives the same vectors bit for
 * bit with 1, 2 or 3 threads (several rounds: small blocks), on the kernels
 * dispatched for this CPU and on the baseline ones, on the fixed-dim kernel
 * (dim 64), the general path (dim 13), with subword rows, and with 3 blocks
 * per round; Hogwild (opt-in) is not held to that. */
static void test_same_vectors_any_thread_count(void **st)
{
    enum { V = 40, NIN = 84 };
    size_t soff[V + 1];
    int32_t sids[V];
    tcorpus t;
    sgns_opts o = sgns_opts_default();
    sgns_stats s1, s2;
    const cpu_level levels[2] = {cpu_level_cur(), CPU_BASELINE};
    (void)st;
    for (int i = 0; i < V; i++) {
        soff[i] = (size_t)i;
        sids[i] = V + i;              /* one private bucket per token */
    }
    soff[V] = V;
    sgns_subwords sw = {soff, sids};
    make_groups(&t, 400, 12, 4, 10, 5);
    o.seed = 11;
    o.epochs = 3;
    o.block = 300;                    /* 16 blocks, 8 rounds per epoch */
    for (int li = 0; li < 2; li++) {
        cpu_set_cap(levels[li]);
        for (int variant = 0; variant < 4; variant++) {
            const sgns_subwords *swp = variant == 2 ? &sw : NULL;
            size_t nin = variant == 2 ? NIN : V;
            sgns_model ref, m;
            o.dim = variant == 1 ? 13 : variant == 2 ? 16 : 64;
            o.shards = variant == 3 ? 3 : 0;
            o.threads = 1;
            train_fresh(&ref, &t, V, nin, swp, &o, &s1);
            for (int th = 2; th <= 3; th++) {
                o.threads = th;
                train_fresh(&m, &t, V, nin, swp, &o, &s2);
                assert_memory_equal(ref.in, m.in, nin * (size_t)o.dim * sizeof(float));
                assert_memory_equal(ref.out, m.out, V * (size_t)o.dim * sizeof(float));
                assert_int_equal(s1.n_pairs, s2.n_pairs);
                assert_int_equal(s1.n_kept, s2.n_kept);
                assert_true(s1.loss_last == s2.loss_last);
                sgns_model_done(&m);
            }
            /* and it learns: the groups show */
            assert_true(s1.loss_last < s1.loss_first);
            sgns_model_done(&ref);
        }
    }
    cpu_set_cap(levels[0]);
    free_corpus(&t);
}

/* Share of tokens whose nearest other token (cosine of input vectors) lies in
 * the same group. */
static double same_group_nn(const sgns_model *m, int per)
{
    size_t V = m->n_vocab, good = 0;
    for (size_t i = 0; i < V; i++) {
        float best = -2;
        size_t arg = 0;
        for (size_t j = 0; j < V; j++) {
            if (j == i)
                continue;
            float cs = cosine(m->in + i * m->dim, m->in + j * m->dim, m->dim);
            if (cs > best) {
                best = cs;
                arg = j;
            }
        }
        good += arg / (size_t)per == i / (size_t)per;
    }
    return (double)good / (double)V;
}

static void check_groups(const sgns_model *m, int per)
{
    double share = same_group_nn(m, per);
    print_message("nearest neighbour in the same group: %.3f\n", share);
    assert_true(share >= 0.95);
}

static void test_planted_groups(void **st)
{
    tcorpus t;
    sgns_model m;
    sgns_stats ss;
    sgns_opts o = sgns_opts_default();
    (void)st;
    make_groups(&t, 3000, 10, 10, 20, 3);
    o.dim = 32;
    o.epochs = 5;
    o.threads = 1;
    assert_int_equal(sgns_model_init(&m, 200, 0, 32, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, NULL, &ss, NULL), 0);
    check_groups(&m, 20);
    assert_true(ss.loss_last < ss.loss_first);
    assert_true(ss.n_pairs > 0);
    sgns_model_done(&m);

    /* Two threads and the whole sequence as window learn it too, in the
     * deterministic rounds and with Hogwild. */
    o.threads = 2;
    o.window = SGNS_WINDOW_SEQ;
    assert_int_equal(sgns_model_init(&m, 200, 0, 32, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, NULL, &ss, NULL), 0);
    check_groups(&m, 20);
    sgns_model_done(&m);
    o.hogwild = 1;
    assert_int_equal(sgns_model_init(&m, 200, 0, 32, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, NULL, &ss, NULL), 0);
    check_groups(&m, 20);
    sgns_model_done(&m);
    free_corpus(&t);
}

static void cancel_at_begin(const progress *p, void *ud)
{
    (void)ud;
    progress_cancel((progress *)p);
}

static int n_cb;
static void cancel_after_start(const progress *p, void *ud)
{
    (void)ud;
    n_cb++;
    if (atomic_load(&((progress *)p)->done) > 0)
        progress_cancel((progress *)p);
}

static void test_cancel(void **st)
{
    tcorpus t;
    sgns_model m;
    sgns_opts o = sgns_opts_default();
    progress p;
    err e;
    (void)st;
    make_groups(&t, 2000, 10, 5, 10, 4);
    o.dim = 16;

    progress_init(&p, cancel_at_begin, NULL);
    assert_int_equal(sgns_model_init(&m, 50, 0, 16, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, &p, NULL, &e), -ERR_CANCEL);
    assert_int_equal(e.code, ERR_CANCEL);
    sgns_model_done(&m);

    /* Mid-run: far too many epochs to finish before the first poll. */
    o.epochs = 5000;
    o.threads = 2;
    n_cb = 0;
    progress_init(&p, cancel_after_start, NULL);
    p.min_interval_ms = 0;
    assert_int_equal(sgns_model_init(&m, 50, 0, 16, 1, NULL), 0);
    double t0 = progress_now();
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, &p, NULL, &e), -ERR_CANCEL);
    assert_true(progress_now() - t0 < 10.0);
    assert_true(n_cb >= 2);
    sgns_model_done(&m);
    free_corpus(&t);
}

static void cancel_second_call(const progress *p, void *ud)
{
    int *calls = ud;
    if (++*calls >= 2)
        progress_cancel((progress *)p);
}

static void test_cancel_inside_long_sequence(void **st)
{
    /* One 20,000-token sequence with the whole sequence as window: 4e8
     * pairs; a cancellation must not wait for the sequence to end. */
    enum { LEN = 20000 };
    size_t off[2] = {0, LEN};
    int32_t *tok = mem_array(LEN, sizeof *tok);
    sgns_opts o = sgns_opts_default();
    sgns_model m;
    progress p;
    int calls = 0;
    (void)st;
    assert_non_null(tok);
    for (int i = 0; i < LEN; i++)
        tok[i] = i % 100;
    sgns_corpus c = {1, off, tok};
    o.dim = 16;
    o.window = SGNS_WINDOW_SEQ;
    o.sample = 0;
    o.epochs = 1;
    sgns_stats ss;
    progress_init(&p, cancel_second_call, &calls);
    p.min_interval_ms = 0;
    assert_int_equal(sgns_model_init(&m, 100, 0, 16, 1, NULL), 0);
    double t0 = progress_now();
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, &p, &ss, NULL), -ERR_CANCEL);
    /* What proves it is the work done, not the clock (a loaded machine under
     * ASan is slow): the workers stopped well inside the one sequence.  The
     * cancel comes on the second progress poll, 40 ms in; the sequence is
     * LEN^2 = 4e8 pairs, and a worker looks for a stop every 64 tokens
     * (64 * LEN pairs).  The clock only bounds a hang, generously. */
    assert_true(ss.n_pairs > 0);
    assert_true(ss.n_pairs < (uint64_t)LEN * LEN / 4);
    assert_true(progress_now() - t0 < 120.0);
    sgns_model_done(&m);
    mem_free(tok);
}

static void test_progress_and_loss_reported(void **st)
{
    tcorpus t;
    sgns_model m;
    sgns_opts o = sgns_opts_default();
    progress p;
    progress_view v;
    (void)st;
    make_groups(&t, 2000, 10, 5, 10, 5);
    o.dim = 16;
    progress_init(&p, NULL, NULL);
    assert_int_equal(sgns_model_init(&m, 50, 0, 16, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &t.c, NULL, NULL, &o, &p, NULL, NULL), 0);
    progress_snapshot(&p, &v);
    assert_int_equal(v.total, 20000u * 5);
    assert_int_equal(v.done, v.total);
    assert_string_equal(v.unit, "tokens");
    assert_string_equal(v.metric_name, "loss");
    assert_true(v.metric > 0 && v.metric < 5);
    assert_int_equal(v.active, 0);
    sgns_model_done(&m);
    free_corpus(&t);
}

static void test_subwords(void **st)
{
    /* 40 tokens, 4 groups; each token has its group's shared bucket (rows 40..43)
     * plus one private bucket (44 + t).  Buckets 84..89 are never used. */
    enum { V = 40, NIN = 90 };
    size_t soff[V + 1];
    int32_t sids[2 * V];
    tcorpus t;
    sgns_model m, m2;
    sgns_opts o = sgns_opts_default();
    float before[16], vec[16];
    (void)st;
    for (int i = 0; i < V; i++) {
        soff[i] = 2 * (size_t)i;
        sids[2 * i] = 40 + i / 10;
        sids[2 * i + 1] = 44 + i;
    }
    soff[V] = 2 * V;
    sgns_subwords sw = {soff, sids};
    make_groups(&t, 1500, 10, 4, 10, 6);
    o.dim = 16;
    o.threads = 1;
    assert_int_equal(sgns_model_init(&m, V, NIN, 16, 1, NULL), 0);
    memcpy(before, m.in + 85 * 16, sizeof before);
    assert_int_equal(sgns_train(&m, &t.c, NULL, &sw, &o, NULL, NULL, NULL), 0);
    assert_memory_equal(before, m.in + 85 * 16, sizeof before);       /* unused bucket */
    assert_true(memcmp(m.in + 40 * 16, m.in + 41 * 16, sizeof before) != 0);
    /* sgns_input_vector is the mean of the three rows. */
    sgns_input_vector(&m, &sw, 5, vec);
    for (int d = 0; d < 16; d++)
        assert_float_equal(vec[d], (m.in[5 * 16 + d] + m.in[40 * 16 + d] + m.in[49 * 16 + d]) / 3,
                           1e-6);
    /* Reproducible with one thread. */
    assert_int_equal(sgns_model_init(&m2, V, NIN, 16, 1, NULL), 0);
    assert_int_equal(sgns_train(&m2, &t.c, NULL, &sw, &o, NULL, NULL, NULL), 0);
    assert_memory_equal(m.in, m2.in, NIN * 16 * sizeof(float));
    /* A subword id outside the model is refused. */
    sids[3] = NIN;
    err e;
    assert_int_equal(sgns_train(&m2, &t.c, NULL, &sw, &o, NULL, NULL, &e), -ERR_RANGE);
    sgns_model_done(&m);
    sgns_model_done(&m2);
    free_corpus(&t);
}

static void test_bad_input(void **st)
{
    sgns_opts o = sgns_opts_default();
    sgns_model m;
    err e;
    size_t off[2] = {0, 3};
    int32_t tok[3] = {0, 1, 5};
    sgns_corpus c = {1, off, tok};
    (void)st;

    assert_int_equal(sgns_opts_check(&o, &e), 0);
    o.dim = 0;
    assert_int_equal(sgns_opts_check(&o, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "dim"));
    o = sgns_opts_default();
    o.window = -1;
    assert_int_equal(sgns_opts_check(&o, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "window"));
    o = sgns_opts_default();
    o.negative = 1000000;
    assert_int_equal(sgns_opts_check(&o, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "negative"));
    o = sgns_opts_default();
    o.min_alpha = 0.5;
    assert_int_equal(sgns_opts_check(&o, &e), -ERR_USAGE);
    o = sgns_opts_default();
    o.sample = NAN;
    assert_int_equal(sgns_opts_check(&o, &e), -ERR_USAGE);

    o = sgns_opts_default();
    o.dim = 8;
    assert_int_equal(sgns_model_init(&m, 4, 0, 8, 1, NULL), 0);
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, NULL, NULL, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "token 5"));
    tok[2] = -1;
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, NULL, NULL, &e), -ERR_RANGE);
    c.n_seq = 0;
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, NULL, NULL, &e), -ERR_STATE);
    o.dim = 16;
    assert_int_equal(sgns_train(&m, &c, NULL, NULL, &o, NULL, NULL, &e), -ERR_USAGE);
    sgns_model_done(&m);
    assert_int_equal(sgns_model_init(&m, 4, 0, 0, 1, &e), -ERR_RANGE);
}

static void test_out_of_memory(void **st)
{
    tcorpus t;
    sgns_opts o = sgns_opts_default();
    (void)st;
    make_groups(&t, 50, 5, 2, 5, 7);
    o.dim = 8;
    o.threads = 2;
    /* Fail allocation N for N = 0, 1, ... until training succeeds: every
     * failure is ERR_NOMEM and nothing leaks (LeakSanitizer in the asan build). */
    for (long n = 0;; n++) {
        sgns_model m;
        err e;
        mem_fail_after(n);
        int rc = sgns_model_init(&m, 10, 0, 8, 1, &e);
        if (rc == 0)
            rc = sgns_train(&m, &t.c, NULL, NULL, &o, NULL, NULL, &e);
        mem_fail_after(-1);
        sgns_model_done(&m);
        if (rc == 0)
            break;
        assert_int_equal(rc, -ERR_NOMEM);
        assert_true(n < 100);
    }
    free_corpus(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negtable_matches_power),
        cmocka_unit_test(test_keep_prob_formula),
        cmocka_unit_test(test_alpha_schedule),
        cmocka_unit_test(test_reproducible_one_thread),
        cmocka_unit_test(test_same_vectors_any_thread_count),
        cmocka_unit_test(test_planted_groups),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_cancel_inside_long_sequence),
        cmocka_unit_test(test_progress_and_loss_reported),
        cmocka_unit_test(test_subwords),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("sgns", tests, NULL, NULL);
}
