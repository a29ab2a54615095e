/* test_item2vec.c - sessions → vectors, parameters, update, cancellation,
 * most_similar, and the word2vec text/binary formats (round trip, hostile files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "item2vec.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"

static char tmpdir[64];

static int make_tmpdir(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_i2v_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **st)
{
    char cmd[128];
    (void)st;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Sessions over items id = base + 7*k (sparse ids), groups of `per` items;
 * each session stays in one group. */
typedef struct tsess {
    store_corpus c;
} tsess;

static void make_sessions(tsess *t, size_t n_seq, size_t len, int groups, int per,
                          int64_t base, uint64_t seed)
{
    rng r;
    memset(t, 0, sizeof *t);
    rng_seed(&r, seed, 1);
    t->c.n_seq = n_seq;
    t->c.n_tok = n_seq * len;
    t->c.off = mem_array(n_seq + 1, sizeof *t->c.off);
    t->c.items = mem_array(n_seq * len, sizeof *t->c.items);
    assert_non_null(t->c.off);
    assert_non_null(t->c.items);
    for (size_t s = 0; s <= n_seq; s++)
        t->c.off[s] = s * len;
    for (size_t s = 0; s < n_seq; s++) {
        int g = (int)rng_below(&r, (uint64_t)groups);
        for (size_t i = 0; i < len; i++)
            t->c.items[s * len + i] = base + 7 * (g * per + (int64_t)rng_below(&r, (uint64_t)per));
    }
}

static void free_sessions(tsess *t)
{
    mem_free(t->c.off);
    mem_free(t->c.items);
}

/* ---- parameters ---------------------------------------------------------- */

static void expect_usage(const char *kv, const char *needle)
{
    i2v_params p = i2v_params_default();
    err e;
    const char *argv[1] = {kv};
    err_clear(&e);
    assert_int_equal(i2v_params_parse(&p, 1, argv, &e), -ERR_USAGE);
    if (!strstr(e.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", kv, e.msg, needle);
}

static void test_params_parse(void **st)
{
    i2v_params p = i2v_params_default();
    err e;
    const char *ok[] = {"dim=32", "window=session", "negative=10", "ns_exponent=-0.5",
                        "sample=0", "alpha=0.05", "min_alpha=0.001", "epochs=3",
                        "min_count=2", "threads=4", "seed=18446744073709551615", "shrink=0"};
    (void)st;
    assert_int_equal(p.sg.dim, 64);
    assert_int_equal(p.sg.window, 5);
    assert_int_equal(p.sg.epochs, 20);
    assert_int_equal(p.sg.threads, 2);
    assert_int_equal(p.min_count, 1);
    assert_int_equal(i2v_params_parse(&p, 12, ok, &e), 0);
    assert_int_equal(p.sg.dim, 32);
    assert_int_equal(p.sg.window, SGNS_WINDOW_SEQ);
    assert_int_equal(p.sg.negative, 10);
    assert_float_equal(p.sg.ns_exponent, -0.5, 0);
    assert_float_equal(p.sg.sample, 0, 0);
    assert_int_equal(p.sg.epochs, 3);
    assert_int_equal(p.min_count, 2);
    assert_int_equal(p.sg.threads, 4);
    assert_true(p.sg.seed == UINT64_MAX);
    assert_int_equal(p.sg.shrink, 0);

    expect_usage("dim=0", "dim=0");
    expect_usage("dim=0", "1..4096");
    expect_usage("window=-1", "window=-1");
    expect_usage("window=-1", "or session");
    expect_usage("negative=1000000", "negative=1000000");
    expect_usage("negative=1000000", "1..100");
    expect_usage("bogus=1", "unknown parameter 'bogus'");
    expect_usage("dim", "key=value");
    expect_usage("dim=", "dim needs a value");
    expect_usage("epoch=3", "unknown parameter 'epoch' (did you mean epochs=?)");
    expect_usage("seed=-1", "seed=-1 is not a whole number");
    expect_usage("alpha=0", "alpha=0 is out of range (above 0..1)");
    expect_usage("dim=12abc", "dim=12abc");
    expect_usage("sample=nan", "sample");
    expect_usage("alpha=0", "alpha");
    expect_usage("epochs=99999999999999999999", "epochs");
    expect_usage("seed=-1", "seed");
    expect_usage("min_alpha=0.5", "min_alpha");   /* above alpha=0.025 */
}

static int params_equal(const i2v_params *a, const i2v_params *b)
{
    const sgns_opts *x = &a->sg, *y = &b->sg;
    return x->dim == y->dim && x->window == y->window && x->negative == y->negative &&
           x->ns_exponent == y->ns_exponent && x->sample == y->sample &&
           x->alpha == y->alpha && x->min_alpha == y->min_alpha && x->epochs == y->epochs &&
           x->threads == y->threads && x->seed == y->seed && x->shrink == y->shrink &&
           a->min_count == b->min_count;
}

static void test_params_json(void **st)
{
    i2v_params p = i2v_params_default();
    char *js = NULL;
    const char *argv[] = {"window=session", "dim=48", "sample=0.0001"};
    (void)st;
    assert_int_equal(i2v_params_parse(&p, 3, argv, NULL), 0);
    assert_int_equal(i2v_params_json(&p, &js, NULL), 0);
    cJSON *j = cJSON_Parse(js);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "dim")->valueint, 48);
    assert_string_equal(cJSON_GetObjectItem(j, "window")->valuestring, "session");
    assert_float_equal(cJSON_GetObjectItem(j, "sample")->valuedouble, 0.0001, 1e-15);
    assert_int_equal(cJSON_GetObjectItem(j, "epochs")->valueint, 20);
    assert_int_equal(cJSON_GetObjectItem(j, "min_count")->valueint, 1);
    cJSON_Delete(j);

    /* And back: the same parameters, also for a seed beyond 2^53. */
    i2v_params q = i2v_params_default();
    p.sg.seed = UINT64_MAX - 5;
    p.sg.alpha = 0.0123456789;
    mem_free(js);
    assert_int_equal(i2v_params_json(&p, &js, NULL), 0);
    assert_int_equal(i2v_params_from_json(&q, js, NULL), 0);
    assert_true(params_equal(&q, &p));
    err e;
    q = i2v_params_default();
    assert_int_equal(i2v_params_from_json(&q, "{\"dim\": 0}", &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "dim=0"));
    assert_int_equal(q.sg.dim, 64);                     /* unchanged */
    assert_int_equal(i2v_params_from_json(&q, "{\"dim\": [1]}", &e), -ERR_PARSE);
    assert_int_equal(i2v_params_from_json(&q, "{\"dim\": 8", &e), -ERR_PARSE);
    assert_int_equal(i2v_params_from_json(&q, "{\"dim\": 8} x", &e), -ERR_PARSE);
    assert_int_equal(i2v_params_from_json(&q, "{}", &e), 0);
    assert_int_equal(i2v_params_from_json(&q, " { \"window\" : \"session\" } ", &e), 0);
    assert_int_equal(q.sg.window, SGNS_WINDOW_SEQ);
    mem_free(js);
}

/* ---- training ------------------------------------------------------------- */

static double same_group_share(const vecset *vs, int64_t base, int per)
{
    size_t good = 0;
    for (size_t r = 0; r < vs->n; r++) {
        int64_t ids[1];
        float sc[1];
        assert_int_equal(i2v_most_similar(vs, &vs->ids[r], 1, NULL, 0, 1, ids, sc, NULL), 1);
        good += (ids[0] - base) / 7 / per == (vs->ids[r] - base) / 7 / per;
    }
    return (double)good / (double)vs->n;
}

static void test_train_vocab_and_groups(void **st)
{
    tsess t;
    i2v_params p = i2v_params_default();
    i2v_model m;
    i2v_stats s;
    err e;
    (void)st;
    make_sessions(&t, 3000, 8, 8, 20, 1000, 1);
    /* One rare item (seen once) that min_count=2 must drop. */
    t.c.items[5] = 99999;
    p.sg.dim = 32;
    p.sg.epochs = 5;
    p.min_count = 2;
    assert_int_equal(i2v_train(&t.c, &p, NULL, &m, NULL, &s, &e), 0);
    assert_int_equal(m.vecs.n, 160);
    assert_int_equal(m.vecs.dim, 32);
    assert_int_equal(s.n_items, 160);
    assert_int_equal(s.n_dropped_tok, 1);
    assert_int_equal(s.n_tok, 3000 * 8 - 1);
    assert_int_equal(vecset_find(&m.vecs, 99999), -1);
    for (size_t i = 1; i < m.vecs.n; i++)
        assert_true(m.vecs.ids[i - 1] < m.vecs.ids[i]);
    assert_memory_equal(m.vecs.ids, m.ctx.ids, m.vecs.n * sizeof *m.vecs.ids);
    assert_true(same_group_share(&m.vecs, 1000, 20) >= 0.95);
    /* Raw vectors, not normalised. */
    assert_true(fabsf(vec_norm(m.vecs.data, 32) - 1.0f) > 1e-3);
    i2v_model_done(&m);

    p.min_count = 100000;
    assert_int_equal(i2v_train(&t.c, &p, NULL, &m, NULL, &s, &e), -ERR_STATE);
    assert_non_null(strstr(e.msg, "min_count"));
    free_sessions(&t);
}

/* sample=auto: no subsampling where 1e-3 would drop most tokens (ten items,
 * each a tenth of the events: 1e-3 keeps (sqrt(100) + 1) / 100 = 11% of
 * them), word2vec's 1e-3 on a wide catalog (2,000 items: it keeps nearly all). */
static void test_sample_auto(void **st)
{
    tsess t;
    i2v_params p = i2v_params_default(), q;
    i2v_model m;
    i2v_stats s;
    char *js = NULL;
    (void)st;
    assert_true(p.sg.sample == I2V_SAMPLE_AUTO);
    p.sg.dim = 8;
    p.sg.epochs = 1;
    make_sessions(&t, 400, 10, 1, 10, 1000, 5);
    assert_int_equal(i2v_train(&t.c, &p, NULL, &m, NULL, &s, NULL), 0);
    assert_int_equal(s.n_items, 10);
    assert_true(s.sample_auto);
    assert_float_equal(s.sample, 0, 0);
    assert_float_equal(s.auto_keep, 0.11, 0.02);
    assert_true(s.sg.n_kept == s.sg.n_tok);   /* nothing subsampled */
    i2v_model_done(&m);
    p.sg.sample = 1e-3;                       /* forced: it drops most tokens */
    assert_int_equal(i2v_train(&t.c, &p, NULL, &m, NULL, &s, NULL), 0);
    assert_false(s.sample_auto);
    assert_float_equal(s.sample, 1e-3, 0);
    assert_true(s.sg.n_kept < s.sg.n_tok / 2);
    i2v_model_done(&m);
    free_sessions(&t);
    p.sg.sample = I2V_SAMPLE_AUTO;
    make_sessions(&t, 400, 10, 100, 20, 1000, 6);   /* up to 2,000 items */
    assert_int_equal(i2v_train(&t.c, &p, NULL, &m, NULL, &s, NULL), 0);
    assert_true(s.sample_auto);
    assert_float_equal(s.sample, 1e-3, 0);
    assert_true(s.auto_keep > 0.99);
    i2v_model_done(&m);
    free_sessions(&t);
    /* auto is kept as a word in the stored parameters */
    assert_int_equal(i2v_params_json(&p, &js, NULL), 0);
    assert_non_null(strstr(js, "\"sample\":\"auto\""));
    q = i2v_params_default();
    q.sg.sample = 0.5;
    assert_int_equal(i2v_params_from_json(&q, js, NULL), 0);
    assert_true(q.sg.sample == I2V_SAMPLE_AUTO);
    mem_free(js);
    assert_int_equal(i2v_params_set(&q, "sample", "auto", NULL), 0);
    assert_int_equal(i2v_params_set(&q, "sample", "-1", NULL), -ERR_USAGE);
}

static void test_update_keeps_and_adds(void **st)
{
    tsess a, b;
    i2v_params p = i2v_params_default();
    i2v_model m1, m2;
    i2v_stats s;
    (void)st;
    make_sessions(&a, 1000, 6, 4, 10, 1000, 2);    /* items 1000 + 7k, k < 40 */
    make_sessions(&b, 1000, 6, 2, 10, 5000, 3);    /* new items 5000 + 7k, k < 20 */
    p.sg.dim = 16;
    p.sg.epochs = 2;
    p.sg.threads = 1;
    assert_int_equal(i2v_train(&a.c, &p, NULL, &m1, NULL, NULL, NULL), 0);
    assert_int_equal(m1.vecs.n, 40);
    assert_int_equal(i2v_train(&b.c, &p, &m1, &m2, NULL, &s, NULL), 0);
    assert_int_equal(m2.vecs.n, 60);
    assert_int_equal(s.n_new_items, 20);
    /* Old items absent from the new sessions are neither inputs nor noise
     * samples: their vectors carry over bit for bit. */
    for (size_t i = 0; i < m1.vecs.n; i++) {
        long r = vecset_find(&m2.vecs, m1.vecs.ids[i]);
        assert_true(r >= 0);
        assert_memory_equal(m2.vecs.data + (size_t)r * 16, m1.vecs.data + i * 16,
                            16 * sizeof(float));
        assert_memory_equal(m2.ctx.data + (size_t)r * 16, m1.ctx.data + i * 16,
                            16 * sizeof(float));
    }
    /* A model of another width cannot be continued. */
    err e;
    i2v_model m3;
    p.sg.dim = 8;
    assert_int_equal(i2v_train(&b.c, &p, &m1, &m3, NULL, NULL, &e), -ERR_USAGE);
    i2v_model_done(&m1);
    i2v_model_done(&m2);
    free_sessions(&a);
    free_sessions(&b);
}

/* An item of c occurs in it. */
static int occurs(const store_corpus *c, int64_t id)
{
    for (size_t i = 0; i < c->n_tok; i++)
        if (c->items[i] == id)
            return 1;
    return 0;
}

/* Both corpora concatenated (the "all sessions" of an update). */
static void concat_sessions(tsess *t, const tsess *a, const tsess *b)
{
    memset(t, 0, sizeof *t);
    t->c.n_seq = a->c.n_seq + b->c.n_seq;
    t->c.n_tok = a->c.n_tok + b->c.n_tok;
    t->c.off = mem_array(t->c.n_seq + 1, sizeof *t->c.off);
    t->c.items = mem_array(t->c.n_tok, sizeof *t->c.items);
    assert_non_null(t->c.off);
    assert_non_null(t->c.items);
    memcpy(t->c.items, a->c.items, a->c.n_tok * sizeof *t->c.items);
    memcpy(t->c.items + a->c.n_tok, b->c.items, b->c.n_tok * sizeof *t->c.items);
    memcpy(t->c.off, a->c.off, a->c.n_seq * sizeof *t->c.off);
    for (size_t q = 0; q <= b->c.n_seq; q++)
        t->c.off[a->c.n_seq + q] = a->c.n_tok + b->c.off[q];
}

/* `train item2vec --update`: new sessions that touch a few old items (ids
 * 1000 + 7k, k < 10: group 0 of the old ones) and bring new ones.  Items of
 * the new sessions move, new items get vectors, and every other item keeps
 * its input vector bit for bit, also with two Hogwild threads and noise
 * drawn over all sessions (which may move their output vectors). */
static void test_update_touches_only_new_sessions(void **st)
{
    tsess a, b, all;
    i2v_params p = i2v_params_default();
    i2v_model m1, m2;
    i2v_stats s;
    err e;
    (void)st;
    make_sessions(&a, 1000, 6, 4, 10, 1000, 2);    /* items 1000 + 7k, k < 40 */
    make_sessions(&b, 60, 6, 1, 20, 1000, 5);      /* k < 20: 20 old items, none new */
    for (size_t i = 0; i < b.c.n_tok; i++)          /* every third token: a new item */
        if (i % 3 == 0)
            b.c.items[i] = 9000 + 7 * (int64_t)(i % 5);
    concat_sessions(&all, &a, &b);
    p.sg.dim = 16;
    p.sg.epochs = 3;
    p.sg.threads = 2;
    assert_int_equal(i2v_train(&a.c, &p, NULL, &m1, NULL, NULL, NULL), 0);
    assert_int_equal(m1.vecs.n, 40);
    assert_int_equal(i2v_update(&b.c, &all.c, &p, &m1, &m2, NULL, &s, NULL), 0);
    assert_int_equal(m2.vecs.n, 45);
    assert_int_equal(s.n_new_items, 5);
    assert_int_equal(s.n_seq, 60);
    size_t kept = 0, moved = 0;
    for (size_t i = 0; i < m1.vecs.n; i++) {
        int64_t id = m1.vecs.ids[i];
        long r = vecset_find(&m2.vecs, id);
        assert_true(r >= 0);
        int same = memcmp(m2.vecs.data + (size_t)r * 16, m1.vecs.data + i * 16,
                          16 * sizeof(float)) == 0;
        if (occurs(&b.c, id)) {
            moved += !same;
        } else {
            if (!same)
                fail_msg("item %lld is in no new session but its vector changed",
                         (long long)id);
            kept++;
        }
    }
    assert_true(kept >= 20);            /* items of groups 2..3 at least */
    assert_true(moved >= 15);           /* most of the 20 the new sessions use */
    assert_int_equal(kept + moved, 40);
    for (int k = 0; k < 5; k++) {       /* new items: trained, finite, not zero */
        long r = vecset_find(&m2.vecs, 9000 + 7 * k);
        assert_true(r >= 0);
        float nr = vec_norm(m2.vecs.data + (size_t)r * 16, 16);
        assert_true(isfinite(nr) && nr > 0);
    }
    /* an update needs the model; new sessions of only unknown items under
     * min_count give nothing to train */
    i2v_model m3;
    assert_int_equal(i2v_update(&b.c, NULL, &p, NULL, &m3, NULL, NULL, &e), -ERR_USAGE);
    for (size_t i = 0; i < b.c.n_tok; i++)
        b.c.items[i] = 20000 + (int64_t)i;
    p.min_count = 2;
    assert_int_equal(i2v_update(&b.c, &all.c, &p, &m1, &m3, NULL, NULL, &e), -ERR_STATE);
    assert_non_null(strstr(e.msg, "nothing to train"));
    i2v_model_done(&m1);
    i2v_model_done(&m2);
    free_sessions(&a);
    free_sessions(&b);
    free_sessions(&all);
}

/* With one thread an update is reproducible bit for bit, and counts over
 * all sessions change the result (they drive the noise). */
static void test_update_reproducible(void **st)
{
    tsess a, b, all;
    i2v_params p = i2v_params_default();
    i2v_model m1, u1, u2, u3;
    (void)st;
    make_sessions(&a, 500, 6, 4, 10, 1000, 7);
    make_sessions(&b, 50, 6, 2, 10, 1000, 8);
    concat_sessions(&all, &a, &b);
    p.sg.dim = 16;
    p.sg.epochs = 2;
    p.sg.threads = 1;
    assert_int_equal(i2v_train(&a.c, &p, NULL, &m1, NULL, NULL, NULL), 0);
    assert_int_equal(i2v_update(&b.c, &all.c, &p, &m1, &u1, NULL, NULL, NULL), 0);
    assert_int_equal(i2v_update(&b.c, &all.c, &p, &m1, &u2, NULL, NULL, NULL), 0);
    assert_int_equal(i2v_update(&b.c, NULL, &p, &m1, &u3, NULL, NULL, NULL), 0);
    assert_int_equal(u1.vecs.n, u2.vecs.n);
    assert_memory_equal(u1.vecs.data, u2.vecs.data, u1.vecs.n * 16 * sizeof(float));
    assert_memory_equal(u1.ctx.data, u2.ctx.data, u1.ctx.n * 16 * sizeof(float));
    assert_int_equal(u1.vecs.n, u3.vecs.n);
    assert_memory_not_equal(u1.vecs.data, u3.vecs.data, u1.vecs.n * 16 * sizeof(float));
    i2v_model_done(&m1);
    i2v_model_done(&u1);
    i2v_model_done(&u2);
    i2v_model_done(&u3);
    free_sessions(&a);
    free_sessions(&b);
    free_sessions(&all);
}

static void cancel_now(const progress *p, void *ud)
{
    (void)ud;
    if (atomic_load(&((progress *)p)->done) > 0)
        progress_cancel((progress *)p);
}

static void test_cancel_keeps_old_model(void **st)
{
    tsess t;
    i2v_params p = i2v_params_default();
    i2v_model old, out, out_before;
    progress pr;
    err e;
    (void)st;
    make_sessions(&t, 1000, 8, 4, 10, 1, 4);
    p.sg.dim = 16;
    p.sg.epochs = 2;
    assert_int_equal(i2v_train(&t.c, &p, NULL, &old, NULL, NULL, NULL), 0);
    size_t bytes = old.vecs.n * 16 * sizeof(float);
    float *copy = mem_array(old.vecs.n * 16, sizeof(float));
    assert_non_null(copy);
    memcpy(copy, old.vecs.data, bytes);

    memset(&out, 0xA5, sizeof out);
    out_before = out;
    progress_init(&pr, cancel_now, NULL);
    pr.min_interval_ms = 0;
    p.sg.epochs = 5000;     /* would run for minutes */
    assert_int_equal(i2v_train(&t.c, &p, &old, &out, &pr, NULL, &e), -ERR_CANCEL);
    assert_int_equal(e.code, ERR_CANCEL);
    progress_view v;   /* the bar names the user's job (it said "train sgns") */
    progress_snapshot(&pr, &v);
    assert_string_equal(v.stage, "train item2vec");
    assert_memory_equal(&out, &out_before, sizeof out);   /* untouched */
    assert_memory_equal(old.vecs.data, copy, bytes);       /* untouched */
    mem_free(copy);
    i2v_model_done(&old);
    free_sessions(&t);
}

/* ---- most_similar ------------------------------------------------------- */

static void test_most_similar(void **st)
{
    vecset vs;
    int64_t ids[4];
    float sc[4];
    err e;
    (void)st;
    /* 2-D: id 10 → (1,0), 20 → (2,0.2), 30 → (0,1), 40 → (-1,0), 50 → (0.7,0.7) */
    float v[] = {1, 0, 2, 0.2f, 0, 3, -1, 0, 0.7f, 0.7f};
    assert_int_equal(vecset_init(&vs, 5, 2, NULL), 0);
    for (int i = 0; i < 5; i++)
        vs.ids[i] = 10 * (i + 1);
    memcpy(vs.data, v, sizeof v);
    int64_t q = 10;
    assert_int_equal(i2v_most_similar(&vs, &q, 1, NULL, 0, 4, ids, sc, &e), 4);
    assert_int_equal(ids[0], 20);        /* cosine, not dot: 20 is longer but not the reason */
    assert_int_equal(ids[1], 50);
    assert_int_equal(ids[2], 30);
    assert_int_equal(ids[3], 40);
    assert_float_equal(sc[1], (float)(0.7 / sqrt(0.98)), 1e-6);
    assert_float_equal(sc[3], -1, 1e-6);
    /* +30 -40: direction (1,1)/√2, query items excluded. */
    int64_t pos = 30, neg = 40;
    assert_int_equal(i2v_most_similar(&vs, &pos, 1, &neg, 1, 2, ids, sc, &e), 2);
    assert_int_equal(ids[0], 50);
    assert_float_equal(sc[0], 1, 1e-6);
    /* k larger than the candidates. */
    assert_int_equal(i2v_most_similar(&vs, &q, 1, NULL, 0, 4, ids, sc, &e), 4);
    q = 11;
    assert_int_equal(i2v_most_similar(&vs, &q, 1, NULL, 0, 4, ids, sc, &e), -ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "11"));
    assert_int_equal(i2v_most_similar(&vs, NULL, 0, NULL, 0, 4, ids, sc, &e), -ERR_USAGE);
    vecset_done(&vs);
}

/* ---- word2vec formats ----------------------------------------------------- */

static const char *key_of(void *ud, int64_t id)
{
    static char buf[32];
    (void)ud;
    snprintf(buf, sizeof buf, "P%lld", (long long)id);
    return buf;
}

static const char *bad_key(void *ud, int64_t id)
{
    (void)ud;
    return id == 4 ? "has space" : "ok";
}

static void test_w2v_round_trip(void **st)
{
    vecset vs;
    rng r;
    (void)st;
    assert_int_equal(vecset_init(&vs, 50, 7, NULL), 0);
    rng_seed(&r, 11, 0);
    for (size_t i = 0; i < 50; i++)
        vs.ids[i] = (int64_t)i * 3 + 1;
    for (size_t i = 0; i < 50 * 7; i++)
        vs.data[i] = (float)(rng_normal(&r) * pow(10, (double)rng_below(&r, 12) - 6));
    vs.data[3] = -0.0f;
    vs.data[4] = 3.4028235e38f;
    vs.data[5] = 1.4e-45f;     /* denormal */
    for (int fmt = 0; fmt < 2; fmt++) {
        char path[256];
        i2v_w2v w;
        err e;
        snprintf(path, sizeof path, "%s", tmp_path(fmt ? "v.bin" : "v.txt"));
        assert_int_equal(i2v_w2v_save(path, fmt, &vs, key_of, NULL, &e), 0);
        assert_int_equal(access(tmp_path(fmt ? "v.bin.tmp" : "v.txt.tmp"), F_OK), -1);
        assert_int_equal(i2v_w2v_load(path, fmt, &w, &e), 0);
        assert_int_equal(w.n, 50);
        assert_int_equal(w.dim, 7);
        assert_string_equal(w.keys[0], "P1");
        assert_string_equal(w.keys[49], "P148");
        assert_memory_equal(w.data, vs.data, 50 * 7 * sizeof(float));   /* exact */
        i2v_w2v_done(&w);
    }
    /* Without a key function the keys are the ids. */
    i2v_w2v w;
    assert_int_equal(i2v_w2v_save(tmp_path("ids.txt"), I2V_W2V_TEXT, &vs, NULL, NULL, NULL), 0);
    assert_int_equal(i2v_w2v_load(tmp_path("ids.txt"), I2V_W2V_TEXT, &w, NULL), 0);
    assert_string_equal(w.keys[2], "7");
    i2v_w2v_done(&w);
    /* Keys with whitespace are refused and no file is left behind. */
    err e;
    assert_int_equal(i2v_w2v_save(tmp_path("bad.txt"), I2V_W2V_TEXT, &vs, bad_key, NULL, &e),
                     -ERR_USAGE);
    assert_non_null(strstr(e.msg, "has space"));
    assert_int_equal(access(tmp_path("bad.txt"), F_OK), -1);
    assert_int_equal(access(tmp_path("bad.txt.tmp"), F_OK), -1);
    vecset_done(&vs);
}

static int lookup_p(void *ud, const char *key, int64_t *id)
{
    char *end;
    (void)ud;
    if (key[0] != 'P')
        return -ERR_NOTFOUND;
    *id = strtoll(key + 1, &end, 10);
    return *end ? -ERR_NOTFOUND : 0;
}

static void test_w2v_catalog_keys_and_import(void **st)
{
    int64_t ids[3] = {3, 8, 20};
    char *ext[3] = {"P3", "P8", "P20"};
    store_catalog cat = {0};
    vecset vs, back;
    i2v_w2v w;
    size_t unknown;
    err e;
    (void)st;
    cat.n = 3;
    cat.ids = ids;
    cat.ext_id = ext;
    assert_string_equal(i2v_catalog_key(&cat, 8), "P8");
    assert_null(i2v_catalog_key(&cat, 9));

    assert_int_equal(vecset_init(&vs, 3, 2, NULL), 0);
    memcpy(vs.ids, ids, sizeof ids);
    for (int i = 0; i < 6; i++)
        vs.data[i] = (float)i;
    char path[256];
    snprintf(path, sizeof path, "%s", tmp_path("cat.txt"));
    assert_int_equal(i2v_w2v_save(path, I2V_W2V_TEXT, &vs, i2v_catalog_key, &cat, &e), 0);
    /* An item without a catalog entry cannot be exported. */
    vs.ids[2] = 21;
    assert_int_equal(i2v_w2v_save(path, I2V_W2V_TEXT, &vs, i2v_catalog_key, &cat, &e),
                     -ERR_USAGE);
    vs.ids[2] = 20;

    assert_int_equal(i2v_w2v_load(path, I2V_W2V_TEXT, &w, &e), 0);
    mem_free(w.keys[1]);             /* an unknown key is skipped, counted */
    w.keys[1] = mem_strdup("Q8");
    assert_int_equal(i2v_w2v_to_vecset(&w, lookup_p, NULL, &back, &unknown, &e), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(unknown, 1);
    assert_int_equal(back.ids[1], 20);
    assert_float_equal(back.data[3], 5.0f, 0);
    vecset_done(&back);
    mem_free(w.keys[1]);             /* two keys for one item are refused */
    w.keys[1] = mem_strdup("P3");
    assert_int_equal(i2v_w2v_to_vecset(&w, lookup_p, NULL, &back, &unknown, &e), -ERR_EXISTS);
    i2v_w2v_done(&w);
    vecset_done(&vs);
}

static void test_w2v_gensim_binary_without_newlines(void **st)
{
    /* gensim 4 writes "key " + floats with no newline between records. */
    unsigned char buf[64];
    size_t n = 0;
    float a[2] = {1.5f, -2.0f}, b[2] = {0.25f, 8.0f};
    i2v_w2v w;
    (void)st;
    memcpy(buf + n, "2 2\na ", 6);
    n += 6;
    memcpy(buf + n, a, 8);
    n += 8;
    memcpy(buf + n, "bb ", 3);
    n += 3;
    memcpy(buf + n, b, 8);
    n += 8;
    write_file(tmp_path("g.bin"), buf, n);
    assert_int_equal(i2v_w2v_load(tmp_path("g.bin"), I2V_W2V_BINARY, &w, NULL), 0);
    assert_string_equal(w.keys[1], "bb");
    assert_float_equal(w.data[3], 8.0f, 0);
    i2v_w2v_done(&w);
}

static void expect_parse_error(const char *name, const void *data, size_t len, int fmt,
                               const char *needle)
{
    char path[256];
    i2v_w2v w;
    err e;
    snprintf(path, sizeof path, "%s", tmp_path(name));
    write_file(path, data, len);
    err_clear(&e);
    int rc = i2v_w2v_load(path, fmt, &w, &e);
    if (rc != -ERR_PARSE)
        fail_msg("%s: expected ERR_PARSE, got %d (%s)", name, rc, e.msg);
    if (!strstr(e.msg, path) || !strstr(e.msg, needle))
        fail_msg("%s: message '%s' lacks the path or '%s'", name, e.msg, needle);
    assert_null(w.keys);
    assert_null(w.data);
}

#define TXT(name, s, needle) expect_parse_error(name, s, sizeof(s) - 1, I2V_W2V_TEXT, needle)

static void test_w2v_rejects_bad_files(void **st)
{
    (void)st;
    TXT("empty.txt", "", ":1: empty file");
    TXT("hdr1.txt", "abc def\n", ":1: bad header");
    TXT("hdr2.txt", "3\n", ":1: bad header");
    TXT("hdr3.txt", "2 3 4\n", ":1: bad header");
    TXT("hdr4.txt", "-2 3\n", ":1: bad header");
    TXT("dim0.txt", "1 0\na\n", "dimension 0");
    TXT("dimhuge.txt", "1 100000\na 1\n", "dimension 100000");
    TXT("count.txt", "99999999999999999999 3\n", ":1: bad header");
    TXT("lie.txt", "1000000 64\na 1 2\n", ":1: header says 1000000 vectors");
    TXT("trunc.txt", "3 2\na 1.000 2.000\nb 3.000 4.000\n",
        ":4: truncated: header says 3 vectors, found 2");
    TXT("few.txt", "2 3\na 1 2 3\nb 1 2\n", ":3: expected 3 values, found 2");
    TXT("many.txt", "2 2\na 1 2\nb 1 2 3\n", ":3: more than 2 values");
    TXT("nan.txt", "1 2\na nan 1\n", ":2: value 1 is not finite");
    TXT("inf.txt", "1 2\na 1 inf\n", ":2: value 2 is not finite");
    TXT("huge.txt", "1 2\na 1e999 1\n", ":2: value 1 out of float range");
    TXT("word.txt", "1 2\na 1 x2\n", ":2: value 2 is not a number");
    TXT("nokey.txt", "1 2\n 1 2\n", ":2: expected a key");
    TXT("extra.txt", "1 2\na 1 2\nb 3 4\n", ":3: more vectors than the header's 1");

    /* Binary: truncated vector, lying count, non-finite value, missing key. */
    unsigned char b[64];
    float ok[2] = {1, 2}, bad[2] = {1, INFINITY};
    memcpy(b, "2 2\na ", 6);
    memcpy(b + 6, ok, 8);
    memcpy(b + 14, "\nbbbbbbbbbb ", 12);
    memcpy(b + 26, ok, 5);   /* 3 bytes short */
    expect_parse_error("trunc.bin", b, 31, I2V_W2V_BINARY, "vector 2 at byte 15: truncated");
    expect_parse_error("trunc2.bin", b, 14, I2V_W2V_BINARY, "header says 2 vectors");
    memcpy(b, "1 2\na ", 6);
    memcpy(b + 6, bad, 8);
    expect_parse_error("inf.bin", b, 14, I2V_W2V_BINARY, "value 2 is not finite");
    memcpy(b, "1 2\n ", 5);
    memcpy(b + 5, ok, 8);
    memcpy(b + 13, "x", 1);
    expect_parse_error("nokey.bin", b, 14, I2V_W2V_BINARY, "empty key");
    memcpy(b, "1 2\na ", 6);
    memcpy(b + 6, ok, 8);
    memcpy(b + 14, "\nzz", 3);
    expect_parse_error("extra.bin", b, 17, I2V_W2V_BINARY, "data after the header's 1 vectors");

    /* Missing file: an I/O error naming it. */
    i2v_w2v w;
    err e;
    assert_int_equal(i2v_w2v_load(tmp_path("absent.txt"), I2V_W2V_TEXT, &w, &e), -ERR_IO);
    assert_non_null(strstr(e.msg, "absent.txt"));
}

static void test_w2v_fuzz_no_crash(void **st)
{
    /* Random mutations of a valid file: every outcome is 0 or ERR_PARSE,
     * never a crash (ASan checks the memory side). */
    vecset vs;
    rng r;
    (void)st;
    assert_int_equal(vecset_init(&vs, 6, 4, NULL), 0);
    for (size_t i = 0; i < 6; i++)
        vs.ids[i] = (int64_t)i;
    for (size_t i = 0; i < 24; i++)
        vs.data[i] = (float)i / 7.0f;
    rng_seed(&r, 12, 0);
    for (int fmt = 0; fmt < 2; fmt++) {
        char src[256];
        snprintf(src, sizeof src, "%s", tmp_path("fz.src"));
        assert_int_equal(i2v_w2v_save(src, fmt, &vs, NULL, NULL, NULL), 0);
        FILE *f = fopen(src, "rb");
        unsigned char orig[1024], buf[1024];
        size_t len = fread(orig, 1, sizeof orig, f);
        fclose(f);
        for (int it = 0; it < 300; it++) {
            size_t n = len;
            memcpy(buf, orig, len);
            int muts = 1 + (int)rng_below(&r, 4);
            for (int k = 0; k < muts; k++) {
                size_t at = rng_below(&r, n);
                switch (rng_below(&r, 3)) {
                case 0: buf[at] = (unsigned char)rng_below(&r, 256); break;
                case 1: n = at; break;                          /* truncate */
                default: buf[at] = "0123456789 \n.-e"[rng_below(&r, 15)]; break;
                }
                if (n == 0)
                    break;
            }
            write_file(tmp_path("fz.bin"), buf, n);
            i2v_w2v w;
            int rc = i2v_w2v_load(tmp_path("fz.bin"), fmt, &w, NULL);
            assert_true(rc == 0 || rc == -ERR_PARSE);
            if (rc == 0) {
                for (size_t i = 0; i < w.n * w.dim; i++)
                    assert_true(isfinite(w.data[i]));
                i2v_w2v_done(&w);
            }
        }
    }
    vecset_done(&vs);
}

static void test_out_of_memory(void **st)
{
    /* Fail allocation N for N = 0, 1, ... until the call succeeds: every
     * failure is ERR_NOMEM, leaves *out zeroed, and leaks nothing (LSan). */
    tsess t;
    i2v_params p = i2v_params_default();
    (void)st;
    make_sessions(&t, 40, 5, 2, 5, 10, 9);
    p.sg.dim = 8;
    p.sg.epochs = 1;
    for (long n = 0;; n++) {
        i2v_model m;
        err e;
        memset(&m, 0, sizeof m);
        mem_fail_after(n);
        int rc = i2v_train(&t.c, &p, NULL, &m, NULL, NULL, &e);
        mem_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(m.vecs.n, 10);
            i2v_model_done(&m);
            break;
        }
        assert_int_equal(rc, -ERR_NOMEM);
        assert_null(m.vecs.data);
        assert_true(n < 200);
    }
    /* The same for the word2vec reader. */
    vecset vs;
    char path[256];
    assert_int_equal(vecset_init(&vs, 3, 2, NULL), 0);
    for (int fmt = 0; fmt < 2; fmt++) {
        snprintf(path, sizeof path, "%s", tmp_path("oom.w2v"));
        assert_int_equal(i2v_w2v_save(path, fmt, &vs, NULL, NULL, NULL), 0);
        for (long n = 0;; n++) {
            i2v_w2v w;
            mem_fail_after(n);
            int rc = i2v_w2v_load(path, fmt, &w, NULL);
            mem_fail_after(-1);
            if (rc == 0) {
                i2v_w2v_done(&w);
                break;
            }
            assert_int_equal(rc, -ERR_NOMEM);
            assert_true(n < 100);
        }
    }
    vecset_done(&vs);
    free_sessions(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_parse),
        cmocka_unit_test(test_params_json),
        cmocka_unit_test(test_train_vocab_and_groups),
        cmocka_unit_test(test_sample_auto),
        cmocka_unit_test(test_update_keeps_and_adds),
        cmocka_unit_test(test_update_touches_only_new_sessions),
        cmocka_unit_test(test_update_reproducible),
        cmocka_unit_test(test_cancel_keeps_old_model),
        cmocka_unit_test(test_most_similar),
        cmocka_unit_test(test_w2v_round_trip),
        cmocka_unit_test(test_w2v_catalog_keys_and_import),
        cmocka_unit_test(test_w2v_gensim_binary_without_newlines),
        cmocka_unit_test(test_w2v_rejects_bad_files),
        cmocka_unit_test(test_w2v_fuzz_no_crash),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("item2vec", tests, make_tmpdir, remove_tmpdir);
}
