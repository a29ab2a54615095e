/* test_faults.c - allocation-failure loops over the main paths (STYLE.md 2.7,
 * SQLite's faultsim, libuv's test-loop-oom.c).
 *
 * For n = 0, 1, 2, ... the n-th allocation through mem.h fails (and every one
 * after it, until the call returns) while one operation runs; the loop ends
 * when the operation succeeds.  Every failed run must return a negative ERR_*
 * with a message (never crash), and, for commands, the lab must keep working:
 * the same command, run again without faults, succeeds.  Leaks are left to
 * LeakSanitizer (`make asan`), which fails the binary at exit.  SQLite has its
 * own allocator, so only our side of the store is injected.
 *
 * Paths: store_open, lab_open, import_catalog / import_sessions / import_movielens
 * of small files, word2vec and index-blob loading, the tokenizer and model
 * loaders, and cmd_exec of items, show, sessions, info, models, train item2vec
 * (epochs=1, tiny corpus), similar, recommend user, index build (hnsw, ivf),
 * retraining and delete item with an index to update, export and import vectors;
 * the baselines (bl_train, bl_load, bl_recommend of each kind, train knn /
 * baselines, similar and recommend with them).  Also the regressions the
 * fuzzers found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline.h"
#include "bert.h"
#include "cmd.h"
#include "import.h"
#include "index.h"
#include "item2vec.h"
#include "lab.h"
#include "mem.h"
#include "safetensors.h"
#include "store.h"
#include "wordpiece.h"

#define MAX_STEPS 200000L   /* a loop that never succeeds is a bug too */

static char dir[256];

/* DIR/name in one of 4 rotating buffers: copy it if it must outlive 3 more calls */
static const char *path_of(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup_files(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "%s/embedlab-faults-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    write_file("cat.csv", "id,title,description,category,color\n"
                          "P1,Red shoe,light running shoe,shoes,red\n"
                          "P2,Blue shoe,a blue shoe,shoes,blue\n"
                          "P3,Sock,wool sock,socks,grey\n"
                          "P4,Jacket,rain jacket,jackets,red\n"
                          "P5,Tea,green tea,tea,\n");
    write_file("cat.jsonl", "{\"id\":\"J1\",\"title\":\"one\",\"price\":3}\n"
                            "{\"id\":2,\"title\":\"two\",\"tags\":[\"a\"]}\n");
    write_file("sess.csv", "session_id,item_id,timestamp,user_id\n"
                           "s1,P1,1,u1\ns1,P3,2,u1\ns1,P2,3,u1\n"
                           "s2,P4,4,u2\ns2,P1,5,u2\ns2,P3,6,u2\n"
                           "s3,P5,7,u3\ns3,P2,8,u3\ns3,P1,9,u3\n");
    write_file("sess2.csv", "session_id,item_id,timestamp,user_id\n"
                            "s4,P5,10,u4\ns4,P4,11,u4\n");
    write_file("sess.txt", "P1 P2 P3\nP4 P5 P1\n");
    write_file("vec.txt", "3 2\nP1 0.5 1\nP2 1 0\nP3 -1 0.25\n");
    mkdir(path_of("ml"), 0700);
    write_file("ml/movies.csv", "movieId,title,genres\n1,Toy Story (1995),Animation\n"
                                "2,\"Heat, The\",Action|Crime\n");
    write_file("ml/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,3.5,11\n"
                                 "2,2,5.0,12\n");
    return 0;
}

static int teardown_files(void **st)
{
    static const char *const names[] = {"cat.csv", "cat.jsonl", "sess.csv", "sess2.csv",
                                        "sess.txt",
                                        "vec.txt", "out.txt", "out.bin", "ml/movies.csv",
                                        "ml/ratings.csv"};
    (void)st;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(path_of(names[i]));
    rmdir(path_of("ml"));
    return rmdir(dir);
}

/* One failed run: a negative code with a message.  Counts ERR_NOMEM. */
static void check_failure(const char *what, long n, int rc, const err *e, long *n_nomem)
{
    if (getenv("FAULTS_VERBOSE"))
        fprintf(stderr, "%s @%ld: %d %s\n", what, n, rc, e->msg);
    if (rc >= 0 || e->msg[0] == '\0')
        fail_msg("%s, allocation %ld failing: rc %d, message '%s'", what, n, rc, e->msg);
    if (rc == -ERR_NOMEM)
        (*n_nomem)++;
}

static void report(const char *what, long n, long n_nomem)
{
    /* at least one run must have failed with ERR_NOMEM, or nothing was injected */
    if (n_nomem == 0)
        fail_msg("%s: no run reported ERR_NOMEM over %ld steps", what, n);
    printf("# %s: succeeded at allocation %ld (%ld runs reported ERR_NOMEM)\n", what, n,
           n_nomem);
}

/* ---- constructors and loaders ------------------------------------------------ */

static void test_store_and_lab_open(void **st)
{
    long n, n_nomem = 0;
    err e;
    (void)st;
    for (n = 0; n < MAX_STEPS; n++) {
        mem_fail_after(n);
        store *s = store_open(":memory:", &e);
        mem_fail_after(-1);
        if (s) {
            store_close(s);
            break;
        }
        check_failure("store_open", n, -e.code, &e, &n_nomem);
    }
    report("store_open", n, n_nomem);
    n_nomem = 0;
    for (n = 0; n < MAX_STEPS; n++) {
        mem_fail_after(n);
        lab *L = lab_open(":memory:", &e);
        mem_fail_after(-1);
        if (L) {
            lab_close(L);
            break;
        }
        check_failure("lab_open", n, -e.code, &e, &n_nomem);
    }
    report("lab_open", n, n_nomem);
}

typedef int (*import_fn)(store *, const char *, const import_opts *, progress *,
                         import_report *, err *);

/* import `file` with fn into a fresh store (holding the catalog when
 * with_catalog, and with 2 the events of sess2.csv) with allocation n failing; on failure the store must be
 * exactly as before (no items/events added). */
static void import_loop(const char *what, import_fn fn, const char *name, int with_catalog,
                        int skip_bad)
{
    long n, n_nomem = 0;
    import_opts o;
    char file[512];
    err e;

    snprintf(file, sizeof file, "%s", path_of(name));

    import_opts_default(&o);
    o.skip_bad = skip_bad;
    for (n = 0; n < MAX_STEPS; n++) {
        store *s = store_open(":memory:", &e);
        import_report r = {0};
        store_counts c0, c1;
        int rc;
        assert_non_null(s);
        if (with_catalog)
            assert_int_equal(import_catalog(s, path_of("cat.csv"), NULL, NULL, NULL, &e), 0);
        if (with_catalog == 2)   /* stored events: their keys are read for the re-import check */
            assert_int_equal(import_sessions(s, path_of("sess2.csv"), NULL, NULL, NULL, &e), 0);
        assert_int_equal(store_counts_get(s, &c0, &e), 0);
        mem_fail_after(n);
        rc = fn(s, file, &o, NULL, &r, &e);
        mem_fail_after(-1);
        import_report_done(&r);
        if (rc == 0) {
            store_close(s);
            break;
        }
        check_failure(what, n, rc, &e, &n_nomem);
        assert_int_equal(store_counts_get(s, &c1, &e), 0);
        assert_true(c1.items == c0.items && c1.events == c0.events);   /* rolled back */
        store_close(s);
    }
    report(what, n, n_nomem);
}

static void test_imports(void **st)
{
    (void)st;
    import_loop("import_catalog csv", import_catalog, "cat.csv", 0, 0);
    import_loop("import_catalog jsonl", import_catalog, "cat.jsonl", 0, 1);
    import_loop("import_sessions csv", import_sessions, "sess.csv", 1, 0);
    import_loop("import_sessions lines", import_sessions, "sess.txt", 1, 0);
    import_loop("import_sessions csv after events", import_sessions, "sess.csv", 2, 0);
    import_loop("import_movielens", import_movielens, "ml", 0, 0);
}

static void test_w2v_and_index_load(void **st)
{
    long n, n_nomem = 0;
    vindex *ix = NULL;
    void *blob = NULL;
    size_t len = 0;
    float data[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0};
    int64_t ids[4] = {10, 20, 30, 40};
    err e;
    (void)st;
    for (n = 0; n < MAX_STEPS; n++) {
        i2v_w2v w;
        mem_fail_after(n);
        int rc = i2v_w2v_load(path_of("vec.txt"), I2V_W2V_TEXT, &w, &e);
        mem_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(w.n, 3);
            i2v_w2v_done(&w);
            break;
        }
        check_failure("i2v_w2v_load", n, rc, &e, &n_nomem);
    }
    report("i2v_w2v_load", n, n_nomem);

    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind++) {
        index_opts o = index_opts_default();
        char what[32];
        o.kind = (index_kind)kind;
        o.nlist = 2;
        assert_int_equal(index_build(data, ids, 4, 3, &o, NULL, &ix, &e), 0);
        assert_int_equal(index_save(ix, &blob, &len, &e), 0);
        index_free(ix);
        snprintf(what, sizeof what, "index_load %s", index_kind_name(o.kind));
        n_nomem = 0;
        for (n = 0; n < MAX_STEPS; n++) {
            mem_fail_after(n);
            int rc = index_load(blob, len, &ix, &e);
            mem_fail_after(-1);
            if (rc == 0) {
                index_free(ix);
                break;
            }
            assert_null(ix);
            check_failure(what, n, rc, &e, &n_nomem);
        }
        report(what, n, n_nomem);
        mem_free(blob);
    }
}

static void test_model_loaders(void **st)
{
    long n, n_nomem = 0;
    err e;
    bert_opts bo = bert_opts_default();
    (void)st;
    for (n = 0; n < MAX_STEPS; n++) {
        mem_fail_after(n);
        wp_tokenizer *t = wp_load("fixtures/tiny-bert/vocab.txt", NULL, &e);
        mem_fail_after(-1);
        if (t) {
            wp_free(t);
            break;
        }
        check_failure("wp_load", n, -e.code, &e, &n_nomem);
    }
    report("wp_load", n, n_nomem);
    n_nomem = 0;
    for (n = 0; n < MAX_STEPS; n++) {
        mem_fail_after(n);
        st_file *f = st_open("fixtures/tiny-bert/model.safetensors", &e);
        mem_fail_after(-1);
        if (f) {
            st_close(f);
            break;
        }
        check_failure("st_open", n, -e.code, &e, &n_nomem);
    }
    report("st_open", n, n_nomem);
    n_nomem = 0;
    bo.threads = 1;
    bo.blas_threads = 1;
    for (n = 0; n < MAX_STEPS; n++) {
        mem_fail_after(n);
        bert_model *m = bert_load("fixtures/tiny-bert", &bo, &e);
        mem_fail_after(-1);
        if (m) {
            bert_free(m);
            break;
        }
        check_failure("bert_load", n, -e.code, &e, &n_nomem);
    }
    report("bert_load", n, n_nomem);
}

/* ---- commands --------------------------------------------------------------- */

static int run(lab *L, const char *line, err *e)
{
    table_list out;
    int rc;
    table_list_init(&out);
    rc = cmd_exec(L, line, &out, e);
    table_list_done(&out);
    return rc;
}

/* A lab with the catalog and sessions, and (trained) an item2vec model. */
static lab *prepared_lab(int trained)
{
    char line[600];
    err e;
    lab *L = lab_open(":memory:", &e);
    assert_non_null(L);
    lab_set_no_timing(L, 1);
    snprintf(line, sizeof line, "load catalog %s", path_of("cat.csv"));
    assert_int_equal(run(L, line, &e), 0);
    snprintf(line, sizeof line, "load sessions %s", path_of("sess.csv"));
    assert_int_equal(run(L, line, &e), 0);
    if (trained)
        assert_int_equal(run(L, "train item2vec dim=4 epochs=1 threads=1 seed=2", &e), 0);
    return L;
}

/* `line` with allocation n failing, for n = 0, 1, ...: each failure is an
 * error with a message, and the same command then works on the same lab.
 * warm: the lab ran `warm` before (caches loaded), else it starts cold. */
static void cmd_loop(const char *line, int trained, const char *warm)
{
    long n, n_nomem = 0;
    err e;

    for (n = 0; n < MAX_STEPS; n++) {
        lab *L = prepared_lab(trained);
        if (warm)
            assert_int_equal(run(L, warm, &e), 0);
        mem_fail_after(n);
        int rc = run(L, line, &e);
        mem_fail_after(-1);
        if (rc == 0) {
            lab_close(L);
            break;
        }
        check_failure(line, n, rc, &e, &n_nomem);
        rc = run(L, line, &e);
        if (rc != 0)
            fail_msg("'%s' after a failure at allocation %ld: %s", line, n, e.msg);
        lab_close(L);
    }
    report(line, n, n_nomem);
}

static void test_cmd_browse(void **st)
{
    (void)st;
    cmd_loop("items", 0, NULL);
    cmd_loop("items color=red limit=2", 0, NULL);
    cmd_loop("show P1", 0, NULL);
    cmd_loop("sessions", 0, NULL);
    cmd_loop("sessions stats", 0, NULL);
    cmd_loop("info", 1, NULL);
    cmd_loop("models", 1, NULL);
}

static void test_cmd_train(void **st)
{
    char warm[600];
    (void)st;
    cmd_loop("train item2vec dim=4 epochs=1 threads=1", 0, NULL);
    /* nothing new: a no-op; new sessions: trains those */
    cmd_loop("train item2vec dim=4 epochs=1 threads=2 --update", 1, NULL);
    snprintf(warm, sizeof warm, "load sessions %s", path_of("sess2.csv"));
    cmd_loop("train item2vec dim=4 epochs=1 threads=2 --update", 1, warm);
}

static void test_cmd_similar(void **st)
{
    (void)st;
    cmd_loop("similar P1 k=3", 1, NULL);
    cmd_loop("similar P1 k=3", 1, "similar P2");   /* warm caches */
    cmd_loop("similar +P1 +P2 -P3", 1, NULL);
    cmd_loop("recommend user u1 k=2", 1, NULL);
}

static void test_cmd_index(void **st)
{
    char line[600];
    (void)st;
    cmd_loop("index build item2vec hnsw M=4 ef_construction=8", 1, NULL);
    cmd_loop("index build item2vec ivf nlist=2", 1, NULL);
    cmd_loop("index build item2vec flat quant=sq8", 1, NULL);
    cmd_loop("similar P3", 1, "index build item2vec hnsw M=4");
    cmd_loop("index info", 1, "index build item2vec ivf nlist=2");
    /* saving vectors updates the index in the same transaction: a failure
     * leaves both, so the retry succeeds (rebuild, then tombstone) */
    cmd_loop("train item2vec dim=4 epochs=1 threads=1 seed=3", 1,
             "index build item2vec hnsw M=4");
    cmd_loop("delete item P3", 1, "index build item2vec ivf nlist=2");
    snprintf(line, sizeof line, "export vectors item2vec %s", path_of("out.txt"));
    cmd_loop(line, 1, NULL);
    snprintf(line, sizeof line, "import vectors %s --name back", path_of("out.txt"));
    cmd_loop(line, 0, NULL);
}

/* The baselines: training each kind, loading and querying its stored form,
 * and the commands that train, store and list them. */
static void test_baselines(void **st)
{
    lab *L = prepared_lab(0);
    const store_corpus *c = lab_corpus(L, NULL);
    bl_params p = bl_params_default();
    err e;
    (void)st;
    assert_non_null(c);
    for (int kind = 0; kind < BL_N_KINDS; kind++) {
        char what[64];
        long n, n_nomem = 0;
        bl_model *m = NULL;
        void *blob;
        size_t len;
        snprintf(what, sizeof what, "bl_train %s", bl_kind_name(kind));
        for (n = 0; n < MAX_STEPS; n++) {
            mem_fail_after(n);
            int rc = bl_train(kind, c, &p, NULL, &m, &e);
            mem_fail_after(-1);
            if (rc == 0)
                break;
            assert_null(m);
            check_failure(what, n, rc, &e, &n_nomem);
        }
        report(what, n, n_nomem);
        assert_int_equal(bl_save(m, &blob, &len, &e), 0);
        snprintf(what, sizeof what, "bl_load %s", bl_kind_name(kind));
        n_nomem = 0;
        for (n = 0; n < MAX_STEPS; n++) {
            bl_model *m2 = NULL;
            mem_fail_after(n);
            int rc = bl_load(blob, len, &m2, &e);
            mem_fail_after(-1);
            if (rc == 0) {
                bl_free(m2);
                break;
            }
            check_failure(what, n, rc, &e, &n_nomem);
        }
        report(what, n, n_nomem);
        snprintf(what, sizeof what, "bl_recommend %s", bl_kind_name(kind));
        n_nomem = 0;
        for (n = 0; n < MAX_STEPS; n++) {
            int64_t h[] = {1, 3}, ids[4];
            float sc[4];
            mem_fail_after(n);
            int rc = bl_recommend(m, h, 2, 5, 4, NULL, NULL, ids, sc, NULL, &e);
            mem_fail_after(-1);
            if (rc >= 0)
                break;
            check_failure(what, n, rc, &e, &n_nomem);
        }
        report(what, n, n_nomem);
        mem_free(blob);
        bl_free(m);
    }
    lab_close(L);
    cmd_loop("train knn neighbours=2", 0, NULL);
    cmd_loop("train baselines lambda=5", 0, NULL);
    cmd_loop("similar P1 k=3", 1, "train baselines");
    cmd_loop("recommend user u1 k=2", 0, "train ease");
    cmd_loop("models", 0, "train transition");
}

/* ---- regressions found by the fuzzers --------------------------------------- */

/* fuzz_w2v seed text_ok: read_line's end-of-file code equalled -ERR_NOMEM, so
 * every word2vec text file failed with "out of memory". */
static void test_w2v_text_roundtrip(void **st)
{
    i2v_w2v w;
    err e;
    (void)st;
    assert_int_equal(i2v_w2v_load(path_of("vec.txt"), I2V_W2V_TEXT, &w, &e), 0);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.dim, 2);
    assert_string_equal(w.keys[2], "P3");
    assert_true(w.data[4] == -1.0f && w.data[5] == 0.25f);
    i2v_w2v_done(&w);
}

/* fuzz_cmd seed train_update: the --update dim mismatch message read the dim
 * after freeing the model and said "dim 0". */
static void test_update_dim_message(void **st)
{
    lab *L = prepared_lab(1);
    err e;
    (void)st;
    assert_int_equal(run(L, "train item2vec dim=8 epochs=1 --update", &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "has dim 4, not 8"));
    lab_close(L);
}

/* fuzz_index crash_empty_flat_roundtrip: an empty flat or HNSW index saved
 * its vector flag as 0 (no array yet), and the blob did not load again. */
static void test_empty_index_roundtrip(void **st)
{
    (void)st;
    for (int kind = INDEX_FLAT; kind <= INDEX_HNSW; kind += INDEX_HNSW - INDEX_FLAT) {
        index_opts o = index_opts_default();
        vindex *ix = NULL, *back = NULL;
        void *blob = NULL;
        size_t len = 0;
        float v[4] = {1, 0, 0, 0};
        int64_t ids[10];
        float scores[10];
        err e;
        o.kind = (index_kind)kind;
        assert_int_equal(index_build(NULL, NULL, 0, 4, &o, NULL, &ix, &e), 0);
        assert_int_equal(index_save(ix, &blob, &len, &e), 0);
        if (index_load(blob, len, &back, &e) != 0)
            fail_msg("empty %s index does not load again: %s", index_kind_name(o.kind), e.msg);
        assert_int_equal(index_search(back, v, 4, 10, NULL, ids, scores, &e), 0);
        assert_int_equal(index_add(back, v, (const int64_t[]){7}, 1, 4, &e), 0);
        assert_int_equal(index_search(back, v, 4, 10, NULL, ids, scores, &e), 1);
        assert_true(ids[0] == 7);
        index_free(ix);
        index_free(back);
        mem_free(blob);
    }
}

int main(void)
{
    lab_global_init();   /* cJSON allocates through mem.h, as in the program */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_and_lab_open),
        cmocka_unit_test(test_imports),
        cmocka_unit_test(test_w2v_and_index_load),
        cmocka_unit_test(test_model_loaders),
        cmocka_unit_test(test_cmd_browse),
        cmocka_unit_test(test_cmd_train),
        cmocka_unit_test(test_cmd_similar),
        cmocka_unit_test(test_cmd_index),
        cmocka_unit_test(test_baselines),
        cmocka_unit_test(test_w2v_text_roundtrip),
        cmocka_unit_test(test_update_dim_message),
        cmocka_unit_test(test_empty_index_roundtrip),
    };
    return cmocka_run_group_tests_name("faults", tests, setup_files, teardown_files);
}
