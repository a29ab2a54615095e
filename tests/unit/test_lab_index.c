/* test_lab_index.c - a model's stored index follows its vectors
 * (lab_vectors_save, src/app/lab_index.c) for flat, IVF and HNSW:
 * inserts, tombstones and replaced vectors without a rebuild; a rebuild when
 * most vectors changed, the dimension changed, the index was stale or an IVF
 * index would more than double; the
 * index is saved with the new model version and found (not stale) by the
 * next load; removed ids never come back from a search; and a cancelled or
 * failing update (every allocation failure in turn) keeps the previous
 * vectors and index byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../../src/app/lab_int.h"   /* white-box: the lab's store */
#include "index.h"
#include "lab.h"
#include "mem.h"
#include "rng.h"

#define N0 300      /* vectors at the first save */
#define N_ITEMS 400 /* catalog size: room for inserts */
#define DIM 16

static lab *L;
static int64_t item_ids[N_ITEMS];

static int setup(void **st)
{
    (void)st;
    L = lab_open(":memory:", NULL);
    if (!L)
        return -1;
    for (int i = 0; i < N_ITEMS; i++) {
        char ext[16];
        snprintf(ext, sizeof ext, "I%04d", i);
        store_item it = {.ext_id = ext, .title = ext, .description = "", .category = "c"};
        if (store_item_insert(L->db, &it, &item_ids[i], NULL))
            return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    lab_close(L);
    L = NULL;
    return 0;
}

/* Vectors for catalog rows [from, from+n) of width dim, seeded by salt. */
static void make_vs(vecset *vs, size_t from, size_t n, size_t dim, uint64_t salt)
{
    rng r;
    assert_int_equal(vecset_init(vs, n, dim, NULL), 0);
    rng_seed(&r, 7, salt);
    for (size_t i = 0; i < n; i++) {
        vs->ids[i] = item_ids[from + i];
        for (size_t d = 0; d < dim; d++)
            vs->data[i * dim + d] = (float)rng_uniform(&r) * 2 - 1;
    }
}

static store_model model_named(const char *name)
{
    store_model m = {0};
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.kind, sizeof m.kind, "imported");
    return m;
}

static void save(const char *name, const vecset *vs, lab_ix_report *r)
{
    store_model m = model_named(name);
    err e;
    int rc = lab_vectors_save(L, &m, vs, r, &e);
    if (rc)
        fail_msg("lab_vectors_save: %s", e.msg);
    lab_invalidate_model(L, name);
}

static void exec_ok(const char *line)
{
    table_list out;
    err e;
    table_list_init(&out);
    int rc = cmd_exec(L, line, &out, &e);
    table_list_done(&out);
    if (rc < 0)
        fail_msg("%s: %s", line, e.msg);
}

/* The model's loaded index: attached (so not stale) and its stats. */
static vindex *loaded_index(const char *name, index_stats *st)
{
    err e;
    lab_model *m = lab_model_get(L, name, &e);
    assert_non_null(m);
    assert_int_equal(m->index_stale, 0);
    assert_non_null(m->index);
    index_info(m->index, st);
    /* sq8 keeps only codes: the lab attaches the model's vectors for the
     * exact re-rank, and they cover every live row */
    if (st->quant == INDEX_QUANT_SQ8) {
        assert_int_equal(st->rerank_source, 1);
        assert_int_equal(st->rerank_missing, 0);
    }
    return m->index;
}

/* Searching with each of vs's own vectors finds that id first (the kinds'
 * parameters make that exact here), and no search returns a gone id. */
static void check_search(vindex *ix, const vecset *vs, const int64_t *gone, size_t n_gone)
{
    int64_t ids[64];
    float sc[64];
    for (size_t i = 0; i < vs->n; i++) {
        int n = index_search(ix, vs->data + i * vs->dim, vs->dim, 64, NULL, ids, sc, NULL);
        assert_true(n > 0);
        assert_int_equal(ids[0], vs->ids[i]);
        for (int j = 0; j < n; j++)
            for (size_t g = 0; g < n_gone; g++)
                assert_true(ids[j] != gone[g]);
    }
}

static void incremental(const char *kind_line)
{
    vecset v0, v1, add;
    lab_ix_report r;
    index_stats st;
    int64_t gone[4];

    make_vs(&v0, 0, N0, DIM, 1);
    save("m", &v0, &r);
    assert_int_equal(r.action, LAB_IX_NONE);
    exec_ok(kind_line);

    /* v1: rows 4..N0-1 of v0 (0..3 removed), rows 10..14 changed, plus 50 new */
    make_vs(&add, N0, 50, DIM, 2);
    assert_int_equal(vecset_init(&v1, N0 - 4 + 50, DIM, NULL), 0);
    memcpy(v1.ids, v0.ids + 4, (N0 - 4) * sizeof *v1.ids);
    memcpy(v1.data, v0.data + 4 * DIM, (N0 - 4) * DIM * sizeof(float));
    memcpy(v1.ids + N0 - 4, add.ids, 50 * sizeof *v1.ids);
    memcpy(v1.data + (N0 - 4) * DIM, add.data, 50 * DIM * sizeof(float));
    for (size_t i = 6; i < 11; i++)   /* v0 rows 10..14 */
        for (size_t d = 0; d < DIM; d++)
            v1.data[i * DIM + d] = -v1.data[i * DIM + d] + 0.25f;
    for (int i = 0; i < 4; i++)
        gone[i] = v0.ids[i];
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_UPDATED);
    assert_int_equal(r.n_added, 50);
    assert_int_equal(r.n_updated, 5);
    assert_int_equal(r.n_removed, 4);
    assert_int_equal(r.n_live, N0 - 4 + 50);
    assert_int_equal(r.n_dead, 9);

    vindex *ix = loaded_index("m", &st);
    assert_int_equal(st.n, N0 - 4 + 50);
    assert_int_equal(st.n_deleted, 9);
    check_search(ix, &v1, gone, 4);

    /* the same vectors again: nothing to do, still an update of nothing */
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_UPDATED);
    assert_int_equal(r.n_added + r.n_updated + r.n_removed, 0);

    /* a full retrain: every vector moves, so the index is rebuilt, compact */
    for (size_t i = 0; i < v1.n * DIM; i++)
        v1.data[i] *= 0.5f + (float)(i % 7) / 10;
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_REBUILT);
    assert_non_null(strstr(r.why, "changed"));
    ix = loaded_index("m", &st);
    assert_int_equal(st.n, v1.n);
    assert_int_equal(st.n_deleted, 0);
    check_search(ix, &v1, gone, 4);

    /* a new dimension cannot be inserted: rebuilt */
    vecset v2;
    make_vs(&v2, 0, N0, DIM * 2, 3);
    save("m", &v2, &r);
    assert_int_equal(r.action, LAB_IX_REBUILT);
    assert_non_null(strstr(r.why, "dimension"));
    ix = loaded_index("m", &st);
    assert_int_equal(st.dim, DIM * 2);

    vecset_done(&v0);
    vecset_done(&v1);
    vecset_done(&v2);
    vecset_done(&add);
}

static void test_flat(void **st) { (void)st; incremental("index build m flat"); }
static void test_ivf(void **st) { (void)st; incremental("index build m ivf nlist=8 nprobe=8"); }
static void test_flat_sq8(void **st) { (void)st; incremental("index build m flat quant=sq8"); }
static void test_ivf_sq8(void **st)
{
    (void)st;
    incremental("index build m ivf nlist=8 nprobe=8 quant=sq8");
}
static void test_hnsw(void **st)
{
    (void)st;
    incremental("index build m hnsw M=16 ef_construction=200 ef=200 seed=3");
}

/* walk=fp32 survives the inserts and the rebuilds (kept in the stored
 * parameters) */
static void test_hnsw_walk_fp32(void **st)
{
    index_stats s;
    (void)st;
    incremental("index build m hnsw M=16 ef_construction=200 ef=200 seed=3 walk=fp32");
    loaded_index("m", &s);
    assert_int_equal(s.walk, INDEX_WALK_FP32);
}

/* IVF's centroids describe the data they were trained on: more than
 * doubling the index rebuilds it (HNSW and flat take the inserts). */
static void test_ivf_grows(void **st)
{
    vecset v0, v1;
    lab_ix_report r;
    index_stats s;
    (void)st;

    make_vs(&v0, 0, 100, DIM, 1);
    make_vs(&v1, 0, 250, DIM, 1);   /* the same 100 rows and 150 new */
    save("m", &v0, &r);
    exec_ok("index build m ivf nlist=4");
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_REBUILT);
    assert_non_null(strstr(r.why, "lists"));
    loaded_index("m", &s);
    assert_int_equal(s.n, 250);
    save("m", &v0, &r);
    exec_ok("index build m hnsw M=8");
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_UPDATED);
    assert_int_equal(r.n_added, 150);
    vecset_done(&v0);
    vecset_done(&v1);
}

/* A stale stored index (vectors saved behind its back) is rebuilt by the
 * next save, not patched from vectors it was not built from. */
static void test_stale_rebuilt(void **st)
{
    vecset v0, v1;
    lab_ix_report r;
    store_model m = model_named("m");
    index_stats s;
    (void)st;

    make_vs(&v0, 0, N0, DIM, 1);
    save("m", &v0, &r);
    exec_ok("index build m hnsw M=8");
    make_vs(&v1, 0, N0 + 10, DIM, 1);   /* same rows, 10 more */
    assert_int_equal(store_vectors_save(L->db, &m, &v0, NULL), 0);   /* bypasses the index */
    lab_invalidate_model(L, "m");
    save("m", &v1, &r);
    assert_int_equal(r.action, LAB_IX_REBUILT);
    assert_non_null(strstr(r.why, "stale"));
    loaded_index("m", &s);
    assert_int_equal(s.n, N0 + 10);
    vecset_done(&v0);
    vecset_done(&v1);
}

/* The stored state: model version and the index row (version + bytes). */
typedef struct snap {
    int64_t version, ix_version;
    void *blob;
    size_t len;
} snap;

static void take(snap *s)
{
    store_model m;
    store_index_row row;
    assert_int_equal(store_model_get(L->db, "m", &m, NULL), 0);
    s->version = m.version;
    store_model_done(&m);
    assert_int_equal(store_index_load(L->db, "m", &row, NULL), 0);
    s->ix_version = row.model_version;
    s->len = row.len;
    s->blob = row.data;
    row.data = NULL;
    store_index_row_done(&row);
}

static void same(const snap *a)
{
    snap b;
    take(&b);
    assert_int_equal(a->version, b.version);
    assert_int_equal(a->ix_version, b.ix_version);
    assert_int_equal(a->len, b.len);
    assert_memory_equal(a->blob, b.blob, a->len);
    mem_free(b.blob);
}

static void cancel_on_build(const progress *p, void *ud)
{
    (void)ud;
    progress_cancel((progress *)p);
}

static void test_cancel_keeps_previous(void **st)
{
    vecset v0, v1;
    lab_ix_report r;
    store_model m = model_named("m");
    snap s0;
    err e;
    (void)st;

    make_vs(&v0, 0, N0, DIM, 1);
    save("m", &v0, &r);
    exec_ok("index build m hnsw M=8");
    take(&s0);
    make_vs(&v1, 0, N0, DIM, 9);   /* all changed: a rebuild, which reports progress */
    progress_init(&L->prog, cancel_on_build, NULL);
    L->prog.min_interval_ms = 0;
    assert_int_equal(lab_vectors_save(L, &m, &v1, &r, &e), -ERR_CANCEL);
    progress_init(&L->prog, NULL, NULL);
    assert_int_equal(store_in_txn(L->db), 0);
    same(&s0);
    lab_invalidate_model(L, "m");
    index_stats is;
    loaded_index("m", &is);   /* still attached: version matches */
    mem_free(s0.blob);
    vecset_done(&v0);
    vecset_done(&v1);
}

/* Allocation failure n = 0, 1, 2, ... inside an incremental update: each
 * failed run leaves vectors and index as they were; the loop ends when the
 * update succeeds. */
static void test_faults_keep_previous(void **st)
{
    vecset v0, v1;
    lab_ix_report r;
    snap s0;
    long n;
    int rc = -1;
    (void)st;

    make_vs(&v0, 0, N0, DIM, 1);
    save("m", &v0, &r);
    exec_ok("index build m ivf nlist=8");
    take(&s0);
    make_vs(&v1, 0, N0 + 20, DIM, 1);   /* the same N0 rows and 20 new */
    for (n = 0; n < 100000 && rc != 0; n++) {
        store_model m = model_named("m");
        err e;
        mem_fail_after(n);
        rc = lab_vectors_save(L, &m, &v1, &r, &e);
        mem_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, -ERR_NOMEM);
            assert_int_equal(store_in_txn(L->db), 0);
            same(&s0);
        }
    }
    assert_int_equal(rc, 0);
    assert_true(n > 10);   /* the update allocates: failures were really injected */
    print_message("faults: update succeeded after %ld injected failures\n", n - 1);
    assert_int_equal(r.action, LAB_IX_UPDATED);
    assert_int_equal(r.n_added, 20);
    lab_invalidate_model(L, "m");
    index_stats is;
    loaded_index("m", &is);
    assert_int_equal(is.n, N0 + 20);
    mem_free(s0.blob);
    vecset_done(&v0);
    vecset_done(&v1);
}

/* lab_delete_items: a report that fails before the commit changes nothing;
 * one that succeeds removes the items from the catalog and every model, and
 * tombstones them in its index. */
static int refuse(void *ud, const lab_delete_report *r, err *e)
{
    int *called = ud;
    (*called)++;
    assert_int_equal(r->n_items, 2);
    assert_int_equal(r->n_models, 2);
    return err_set(e, ERR_NOMEM, "out of memory making the report");
}

static void test_delete_items(void **st)
{
    vecset a, b;
    lab_ix_report r;
    lab_delete_report dr;
    int64_t gone[2] = {item_ids[3], item_ids[7]};
    int called = 0;
    err e;
    store_counts c;
    (void)st;
    make_vs(&a, 0, N0, DIM, 1);
    make_vs(&b, 0, 50, DIM, 2);
    save("m", &a, &r);
    save("other", &b, &r);
    exec_ok("index build m hnsw M=8 ef_construction=32");
    assert_int_equal(lab_delete_items(L, gone, 2, refuse, &called, &dr, &e), -ERR_NOMEM);
    assert_int_equal(called, 1);
    assert_int_equal(store_counts_get(L->db, &c, NULL), 0);
    assert_int_equal(c.items, N_ITEMS);   /* rolled back */
    lab_model *m = lab_model_get(L, "m", &e);
    assert_non_null(m);
    assert_int_equal(m->vs.n, N0);
    assert_int_equal(lab_delete_items(L, gone, 2, NULL, NULL, &dr, &e), 0);
    assert_int_equal(dr.n_items, 2);
    assert_int_equal(dr.n_models, 2);
    assert_int_equal(dr.models[0].ix.action + dr.models[1].ix.action,
                     LAB_IX_UPDATED + LAB_IX_NONE);   /* m has an index, other none */
    lab_delete_report_done(&dr);
    assert_int_equal(store_counts_get(L->db, &c, NULL), 0);
    assert_int_equal(c.items, N_ITEMS - 2);
    m = lab_model_get(L, "m", &e);
    assert_non_null(m);
    assert_int_equal(m->vs.n, N0 - 2);
    assert_true(vecset_find(&m->vs, gone[0]) < 0 && vecset_find(&m->vs, gone[1]) < 0);
    assert_non_null(m->index);
    check_search(m->index, &m->vs, gone, 2);
    vecset_done(&a);
    vecset_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ivf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flat_sq8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ivf_sq8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw_walk_fp32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ivf_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_keep_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_items, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
