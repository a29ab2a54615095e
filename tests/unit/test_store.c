/* test_store.c - schema, transactions, items/events, sessions since a
 * watermark and event ids that never come back, vectors, index blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "store.h"

static store *open_mem(void)
{
    err e;
    store *s = store_open(":memory:", &e);
    assert_non_null(s);
    return s;
}

/* Removes a file database and its WAL side files. */
static void unlink_db(const char *path)
{
    char side[64];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static int64_t add_item(store *s, const char *id, const char *cat)
{
    store_item it = {.ext_id = id, .title = id, .description = "d", .category = cat};
    int64_t rid = 0;
    assert_int_equal(store_item_insert(s, &it, &rid, NULL), 0);
    return rid;
}

static void test_items_and_duplicates(void **st)
{
    store *s = open_mem();
    err e;
    int64_t a = add_item(s, "A", "x"), got;
    (void)st;
    store_item dup = {.ext_id = "A", .title = "again"};
    assert_int_equal(store_item_insert(s, &dup, NULL, &e), -ERR_EXISTS);
    assert_non_null(strstr(e.msg, "'A'"));
    assert_int_equal(store_item_lookup(s, "A", &got, NULL), 0);
    assert_true(got == a);
    assert_int_equal(store_item_lookup(s, "nope", &got, &e), -ERR_NOTFOUND);
    store_close(s);
}

static void test_rollback_restores(void **st)
{
    store *s = open_mem();
    store_counts c;
    (void)st;
    add_item(s, "A", "x");
    assert_int_equal(store_begin(s, NULL), 0);
    add_item(s, "B", "x");
    assert_int_equal(store_begin(s, NULL), 0);   /* nested: savepoint */
    add_item(s, "C", "x");
    store_rollback(s);
    assert_int_equal(store_commit(s, NULL), 0);
    assert_int_equal(store_counts_get(s, &c, NULL), 0);
    assert_int_equal(c.items, 2);   /* A and B */
    assert_int_equal(store_begin(s, NULL), 0);
    add_item(s, "D", "x");
    store_rollback(s);
    assert_int_equal(store_counts_get(s, &c, NULL), 0);
    assert_int_equal(c.items, 2);
    assert_false(store_in_txn(s));
    store_close(s);
}

static void test_events_unknown_item_and_corpus(void **st)
{
    store *s = open_mem();
    store_corpus c;
    err e;
    (void)st;
    int64_t a = add_item(s, "A", "x"), b = add_item(s, "B", "y");
    assert_int_equal(store_event_insert(s, "s2", "u1", b, 20, NULL), 0);
    assert_int_equal(store_event_insert(s, "s1", "u2", b, 5, NULL), 0);
    assert_int_equal(store_event_insert(s, "s2", "u1", a, 10, NULL), 0);
    assert_int_equal(store_event_insert(s, "s1", NULL, a, STORE_NO_TS, NULL), 0);
    assert_int_equal(store_event_insert(s, "s1", "u2", 999, 1, &e), -ERR_NOTFOUND);
    assert_int_equal(store_corpus_load(s, &c, NULL), 0);
    assert_int_equal(c.n_seq, 2);
    assert_int_equal(c.n_tok, 4);
    assert_int_equal(c.n_users, 2);
    assert_string_equal(c.seq_name[0], "s1");
    /* s1: NULL timestamp first, then ts 5 */
    assert_true(c.items[c.off[0]] == a && c.items[c.off[0] + 1] == b);
    /* s2: ordered by time: a (10) then b (20) */
    assert_true(c.items[c.off[1]] == a && c.items[c.off[1] + 1] == b);
    assert_string_equal(c.users[c.seq_user[1]], "u1");
    store_corpus_done(&c);
    store_close(s);
}

/* Sessions s with their events' items, as loaded. */
static void expect_session(const store_corpus *c, size_t q, const char *name, size_t n,
                           const int64_t *items)
{
    assert_string_equal(c->seq_name[q], name);
    assert_int_equal(c->off[q + 1] - c->off[q], n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(c->items[c->off[q] + i], items[i]);
}

static void test_corpus_since_watermark(void **st)
{
    store *s = open_mem();
    store_corpus c;
    err e;
    (void)st;
    int64_t a = add_item(s, "A", "x"), b = add_item(s, "B", "x"), cc = add_item(s, "C", "y");
    assert_int_equal(store_corpus_load(s, &c, NULL), 0);
    assert_int_equal(c.n_seq, 0);
    assert_int_equal(c.last_event, 0);
    store_corpus_done(&c);
    assert_int_equal(store_event_insert(s, "s1", "u1", a, 1, NULL), 0);
    assert_int_equal(store_event_insert(s, "s1", "u1", b, 2, NULL), 0);
    assert_int_equal(store_event_insert(s, "s2", "u2", b, 3, NULL), 0);
    assert_int_equal(store_corpus_load(s, &c, NULL), 0);
    int64_t wm = c.last_event;
    assert_int_equal(wm, 3);
    store_corpus_done(&c);

    /* nothing added since */
    assert_int_equal(store_corpus_load_since(s, wm, &c, NULL), 0);
    assert_int_equal(c.n_seq, 0);
    assert_int_equal(c.n_tok, 0);
    assert_int_equal(c.last_event, wm);
    store_corpus_done(&c);
    assert_int_equal(store_corpus_load_since(s, -1, &c, &e), -ERR_RANGE);

    /* a new event in s1 brings the whole session back (old events first, by
     * time); s2 had none and stays out; s3 is new */
    assert_int_equal(store_event_insert(s, "s1", "u1", cc, 4, NULL), 0);
    assert_int_equal(store_event_insert(s, "s3", "u3", a, 5, NULL), 0);
    assert_int_equal(store_corpus_load_since(s, wm, &c, NULL), 0);
    assert_int_equal(c.n_seq, 2);
    assert_int_equal(c.n_tok, 4);
    expect_session(&c, 0, "s1", 3, (int64_t[]){a, b, cc});
    expect_session(&c, 1, "s3", 1, (int64_t[]){a});
    assert_int_equal(c.n_users, 2);     /* u1, u3: only the sessions loaded */
    assert_string_equal(c.users[c.seq_user[1]], "u3");
    assert_int_equal(c.last_event, 5);
    wm = c.last_event;
    store_corpus_done(&c);

    /* deleting the newest events does not hand their ids to the next ones:
     * an event added after the watermark is always above it */
    assert_int_equal(store_item_delete(s, a, NULL, NULL), 0);   /* events 1 and 5 */
    assert_int_equal(store_event_insert(s, "s4", NULL, b, 6, NULL), 0);
    assert_int_equal(store_corpus_load_since(s, wm, &c, NULL), 0);
    assert_int_equal(c.n_seq, 1);
    expect_session(&c, 0, "s4", 1, (int64_t[]){b});
    assert_int_equal(c.last_event, 6);
    store_corpus_done(&c);
    store_close(s);
}

/* Event ids stay unique over time across a rolled-back delete, a reopen
 * (the floor lives in the database) and repeated deletes of the newest. */
static void test_event_ids_never_reused(void **st)
{
    char path[] = "/tmp/embedlab_store_XXXXXX";
    int fd = mkstemp(path);
    store_corpus c;
    err e;
    (void)st;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    store *s = store_open(path, &e);
    assert_non_null(s);
    int64_t a = add_item(s, "A", "x"), b = add_item(s, "B", "x"), d = add_item(s, "D", "x");
    assert_int_equal(store_event_insert(s, "s1", NULL, a, 1, NULL), 0);   /* 1 */
    assert_int_equal(store_event_insert(s, "s1", NULL, b, 2, NULL), 0);   /* 2 */
    assert_int_equal(store_event_insert(s, "s2", NULL, d, 3, NULL), 0);   /* 3 */
    /* a delete that is rolled back leaves no floor behind */
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_item_delete(s, d, NULL, NULL), 0);
    store_rollback(s);
    char *v = NULL;
    assert_int_equal(store_meta_get(s, "events_floor", &v, NULL), 0);
    assert_null(v);
    /* deleting the newest (3), then reopening: the next event is 4 */
    assert_int_equal(store_item_delete(s, d, NULL, NULL), 0);
    store_close(s);
    s = store_open(path, &e);
    assert_non_null(s);
    assert_int_equal(store_begin(s, NULL), 0);   /* as an import: one transaction */
    assert_int_equal(store_event_insert(s, "s3", NULL, a, 4, NULL), 0);   /* 4 */
    assert_int_equal(store_event_insert(s, "s3", NULL, b, 5, NULL), 0);   /* 5 */
    assert_int_equal(store_commit(s, NULL), 0);
    assert_int_equal(store_corpus_load_since(s, 3, &c, NULL), 0);
    assert_int_equal(c.n_seq, 1);
    expect_session(&c, 0, "s3", 2, (int64_t[]){a, b});
    assert_int_equal(c.last_event, 5);
    store_corpus_done(&c);
    assert_int_equal(store_meta_get(s, "events_floor", &v, NULL), 0);
    assert_null(v);                              /* used up */
    /* two deletes in a row that each remove the newest: the higher floor wins */
    assert_int_equal(store_item_delete(s, b, NULL, NULL), 0);   /* 2, 5 */
    assert_int_equal(store_item_delete(s, a, NULL, NULL), 0);   /* 1, 4: none left */
    int64_t e2 = add_item(s, "E", "x");
    assert_int_equal(store_event_insert(s, "s4", NULL, e2, 6, NULL), 0);
    assert_int_equal(store_corpus_load(s, &c, NULL), 0);
    assert_int_equal(c.n_tok, 1);
    assert_int_equal(c.last_event, 6);
    store_corpus_done(&c);
    store_close(s);
    unlink_db(path);
}

static void test_vectors_roundtrip_and_versions(void **st)
{
    store *s = open_mem();
    vecset vs, back;
    store_model m = {0}, got;
    (void)st;
    add_item(s, "A", "x");
    add_item(s, "B", "x");
    assert_int_equal(vecset_init(&vs, 2, 3, NULL), 0);
    for (int i = 0; i < 6; i++)
        vs.data[i] = (float)i * 0.5f;
    vs.ids[0] = 2;
    vs.ids[1] = 1;
    snprintf(m.name, sizeof m.name, "item2vec");
    snprintf(m.kind, sizeof m.kind, "sgns");
    m.params = mem_strdup("{\"dim\":3}");
    assert_int_equal(store_vectors_save(s, &m, &vs, NULL), 0);
    assert_int_equal(m.version, 1);
    assert_int_equal(store_vectors_save(s, &m, &vs, NULL), 0);
    assert_int_equal(m.version, 2);
    assert_int_equal(store_vectors_load(s, "item2vec", &back, &got, NULL), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.ids[0], 1);       /* sorted by id */
    assert_float_equal(back.data[0], 1.5f, 0);
    assert_string_equal(got.params, "{\"dim\":3}");
    assert_int_equal(got.version, 2);
    store_model_done(&got);
    vecset_done(&back);
    assert_int_equal(store_vectors_load(s, "text", &back, NULL, NULL), -ERR_NOTFOUND);

    store_index_row r = {.model_version = 2, .data = "blob", .len = 4};
    snprintf(r.model, sizeof r.model, "item2vec");
    snprintf(r.kind, sizeof r.kind, "hnsw");
    assert_int_equal(store_index_save(s, &r, NULL), 0);
    store_index_row r2;
    assert_int_equal(store_index_load(s, "item2vec", &r2, NULL), 0);
    assert_int_equal(r2.len, 4);
    assert_memory_equal(r2.data, "blob", 4);
    store_index_row_done(&r2);
    assert_int_equal(store_model_delete(s, "item2vec", NULL), 0);
    assert_int_equal(store_index_load(s, "item2vec", &r2, NULL), -ERR_NOTFOUND);
    store_model_done(&m);
    vecset_done(&vs);
    store_close(s);
}

static void test_file_db_reopen_and_not_a_db(void **st)
{
    char path[] = "/tmp/embedlab_store_XXXXXX";
    int fd = mkstemp(path);
    err e;
    (void)st;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "this is not a database, just text....", 37), 37);
    close(fd);
    assert_null(store_open(path, &e));
    assert_true(e.code == ERR_DB || e.code == ERR_IO);
    unlink(path);
    store *s = store_open(path, &e);
    assert_non_null(s);
    add_item(s, "A", "x");
    assert_int_equal(store_meta_set(s, "k", "v", NULL), 0);
    store_close(s);
    s = store_open(path, &e);
    assert_non_null(s);
    char *v = NULL;
    assert_int_equal(store_meta_get(s, "k", &v, NULL), 0);
    assert_string_equal(v, "v");
    mem_free(v);
    store_close(s);
    unlink_db(path);
}

static void test_open_oom_loop(void **st)
{
    /* Every allocation failure during open is an error, never a crash. */
    (void)st;
    for (long n = 0; n < 200; n++) {
        err e;
        mem_fail_after(n);
        store *s = store_open(":memory:", &e);
        mem_fail_after(-1);
        if (s) {
            store_close(s);
            return;
        }
        assert_int_equal(e.code, ERR_NOMEM);
    }
    fail_msg("store_open never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_and_duplicates),
        cmocka_unit_test(test_rollback_restores),
        cmocka_unit_test(test_events_unknown_item_and_corpus),
        cmocka_unit_test(test_corpus_since_watermark),
        cmocka_unit_test(test_event_ids_never_reused),
        cmocka_unit_test(test_vectors_roundtrip_and_versions),
        cmocka_unit_test(test_file_db_reopen_and_not_a_db),
        cmocka_unit_test(test_open_oom_loop),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
