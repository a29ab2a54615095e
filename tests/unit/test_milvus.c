/* test_milvus.c - the Milvus REST client's pure parts (milvus.h) and the
 * milvus index kind without a server (index.h):
 *  - string literals and filter expressions escape what Milvus's grammar
 *    needs escaped (quotes, backslashes, control characters, LIKE's % and _);
 *  - every answer kind parses its documented shape, maps Milvus codes to
 *    errors with Milvus's message (cleaned of control characters), and
 *    refuses wrong types, absurd counts, ids past 2^53, non-finite distances
 *    and more results than asked, never reading past the length it is given;
 *  - the query nodes' metrics page gives the collection's memory, decoys and
 *    malformed or hostile samples refused or ignored;
 *  - URIs with credentials, queries or other schemes are refused;
 *  - a milvus index blob loads inert (no connection until attached), keeps
 *    its settings through save/load, and a corrupted settings section is a
 *    parse error; the milvus options parse and check;
 *  - every allocation failure in turn in the client's constructor, the
 *    parser and the filter builder gives ERR_NOMEM and leaks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob_sum.h"
#include "index.h"
#include "mem.h"
#include "milvus.h"

static void expect_expr(const milvus_term *t, size_t nt, const int64_t *ex, size_t nex,
                        const char *want)
{
    char *got = NULL;
    err e;
    assert_int_equal(milvus_filter_expr(t, nt, ex, nex, &got, &e), 0);
    assert_string_equal(got, want);
    mem_free(got);
}

static void test_quote(void **st)
{
    (void)st;
    char *q;
    err e;
    assert_int_equal(milvus_quote("plain", &q, &e), 0);
    assert_string_equal(q, "\"plain\"");
    mem_free(q);
    assert_int_equal(milvus_quote("a\"b\\c\nd\re\tf\x01g\x7f", &q, &e), 0);
    assert_string_equal(q, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007f\"");
    mem_free(q);
    /* UTF-8 passes through; a hex-looking letter after an escape stays a letter */
    assert_int_equal(milvus_quote("\xe4\xb8\xad\x02" "ab", &q, &e), 0);
    assert_string_equal(q, "\"\xe4\xb8\xad\\u0002ab\"");
    mem_free(q);
    assert_int_equal(milvus_quote("", &q, &e), 0);
    assert_string_equal(q, "\"\"");
    mem_free(q);
}

static void test_filter_expr(void **st)
{
    (void)st;
    int64_t ex[] = {3, 17, -5};
    milvus_term cat = {"category", "mug", MILVUS_TERM_TEXT};
    milvus_term title = {"title", "50%_off \\ \"x\"", MILVUS_TERM_TEXT};
    milvus_term brand = {"brand", "Q\"uote", MILVUS_TERM_TEXT};
    milvus_term price = {"price", "34.99", MILVUS_TERM_TEXT};
    milvus_term yes = {"eco", "true", MILVUS_TERM_TEXT};
    milvus_term odd = {"we\"ird", "1", MILVUS_TERM_TEXT};

    expect_expr(NULL, 0, NULL, 0, "");
    expect_expr(&cat, 1, NULL, 0, "category == \"mug\"");
    expect_expr(NULL, 0, ex, 3, "id not in [3,17,-5]");
    expect_expr(&cat, 1, ex, 1, "category == \"mug\" and id not in [3]");
    /* LIKE: % _ \ escaped for LIKE, then every \ doubled for the literal */
    expect_expr(&title, 1, NULL, 0, "title like \"%50\\\\%\\\\_off \\\\\\\\ \\\"x\\\"%\"");
    /* an attribute: as a string, as strtod reads it, as a boolean */
    expect_expr(&brand, 1, NULL, 0,
                "(attrs[\"brand\"] == \"Q\\\"uote\" or attrs[\"brand\"] == 0 or "
                "attrs[\"brand\"] == false)");
    expect_expr(&price, 1, NULL, 0,
                "(attrs[\"price\"] == \"34.99\" or attrs[\"price\"] == 34.990000000000002 or "
                "attrs[\"price\"] == false)");
    expect_expr(&yes, 1, NULL, 0,
                "(attrs[\"eco\"] == \"true\" or attrs[\"eco\"] == 0 or attrs[\"eco\"] == true)");
    expect_expr(&odd, 1, NULL, 0,
                "(attrs[\"we\\\"ird\"] == \"1\" or attrs[\"we\\\"ird\"] == 1 or "
                "attrs[\"we\\\"ird\"] == true)");
    milvus_term two[] = {{"category", "a", MILVUS_TERM_TEXT}, {"title", "b", MILVUS_TERM_STR}};
    expect_expr(two, 2, ex, 2, "category == \"a\" and title like \"%b%\" and id not in [3,17]");
    /* a value that reads as no finite number has no number term */
    milvus_term inf = {"x", "inf", MILVUS_TERM_TEXT};
    expect_expr(&inf, 1, NULL, 0, "(attrs[\"x\"] == \"inf\" or attrs[\"x\"] == false)");

    /* typed terms (serve's filters): one JSON type each */
    milvus_term typed[] = {{"brand", "Q\"x", MILVUS_TERM_STR}, {"price", "34.99", MILVUS_TERM_NUM},
                           {"eco", "true", MILVUS_TERM_BOOL}};
    expect_expr(typed, 3, NULL, 0,
                "attrs[\"brand\"] == \"Q\\\"x\" and attrs[\"price\"] == 34.990000000000002 and "
                "attrs[\"eco\"] == true");
    milvus_term never[] = {{"category", "1", MILVUS_TERM_NUM}, {"x", "nan", MILVUS_TERM_NUM}};
    expect_expr(never, 2, NULL, 0, "id in [] and id in []");

    milvus_term nokey = {"", "v", MILVUS_TERM_TEXT};
    char *out;
    err e;
    assert_int_equal(milvus_filter_expr(&nokey, 1, NULL, 0, &out, &e), -ERR_USAGE);
    assert_null(out);
}

static int parse(milvus_reply_kind k, const char *s, milvus_reply *r, err *e)
{
    return milvus_parse_reply(k, s, strlen(s), r, e);
}

static void test_parse_ok(void **st)
{
    (void)st;
    int64_t ids[4];
    float sc[4];
    milvus_reply r = {.ids = ids, .scores = sc, .cap = 4};
    err e;

    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":0,\"data\":{}}", &r, &e), 0);
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":200,\"data\":{}}", &r, &e), 0);
    assert_int_equal(parse(MILVUS_R_SEARCH, "{\"code\":0,\"data\":[{\"id\":7,\"distance\":0.5},"
                     "{\"id\":\"9007199254740993\",\"distance\":-1e3,\"title\":\"t\"}]}", &r, &e),
                     0);
    assert_int_equal(r.n, 2);
    assert_true(ids[0] == 7 && sc[0] == 0.5f);
    assert_true(ids[1] == 9007199254740993LL && sc[1] == -1000.0f);
    assert_int_equal(parse(MILVUS_R_QUERY_IDS, "{\"code\":0,\"data\":[{\"id\":1},{\"id\":2}]}",
                           &r, &e), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(parse(MILVUS_R_COUNT, "{\"code\":0,\"data\":[{\"count(*)\":177}]}", &r, &e),
                     0);
    assert_int_equal(r.count, 177);
    assert_int_equal(parse(MILVUS_R_WRITE, "{\"code\":0,\"data\":{\"upsertCount\":3,"
                           "\"upsertIds\":[1,2,3]}}", &r, &e), 0);
    assert_int_equal(r.count, 3);
    assert_int_equal(parse(MILVUS_R_LOAD_STATE, "{\"code\":0,\"data\":{\"loadProgress\":100,"
                           "\"loadState\":\"LoadStateLoaded\"}}", &r, &e), 0);
    assert_string_equal(r.load_state, "LoadStateLoaded");
    assert_int_equal(r.load_progress, 100);
    /* the Describe Collection page's example */
    assert_int_equal(parse(MILVUS_R_DESCRIBE, "{\"code\":0,\"data\":{\"aliases\":[],"
                           "\"autoId\":false,\"collectionID\":448707763883002014,"
                           "\"collectionName\":\"test_collection\",\"consistencyLevel\":\"Bounded\","
                           "\"enableDynamicField\":true,\"fields\":[{\"autoId\":false,"
                           "\"description\":\"\",\"id\":100,\"name\":\"id\",\"partitionKey\":false,"
                           "\"primaryKey\":true,\"type\":\"Int64\"},{\"autoId\":false,"
                           "\"description\":\"\",\"id\":101,\"name\":\"vector\",\"params\":[{\"key\":"
                           "\"dim\",\"value\":\"5\"}],\"partitionKey\":false,\"primaryKey\":false,"
                           "\"type\":\"FloatVector\"}],\"indexes\":[{\"fieldName\":\"vector\","
                           "\"indexName\":\"vector\",\"metricType\":\"COSINE\"}],\"load\":"
                           "\"LoadStateLoaded\",\"partitionsNum\":1,\"properties\":[],"
                           "\"shardsNum\":1}}", &r, &e), 0);
    assert_true(r.coll.exists && r.coll.dim == 5 && r.coll.has_id && !r.coll.has_attrs);
    assert_string_equal(r.coll.load, "LoadStateLoaded");
    /* the Describe Index page's example */
    assert_int_equal(parse(MILVUS_R_INDEX, "{\"code\":0,\"data\":[{\"failReason\":\"\","
                           "\"fieldName\":\"vector\",\"indexName\":\"vector\",\"indexState\":"
                           "\"Finished\",\"indexType\":\"AUTOINDEX\",\"indexedRows\":0,"
                           "\"metricType\":\"COSINE\",\"pendingRows\":0,\"totalRows\":0}]}", &r, &e),
                     0);
    assert_true(r.index.exists && r.index.indexed_rows == 0);
    assert_string_equal(r.index.index_type, "AUTOINDEX");
    assert_string_equal(r.index.state, "Finished");
    assert_int_equal(parse(MILVUS_R_INDEX, "{\"code\":0,\"data\":[]}", &r, &e), 0);
    assert_false(r.index.exists);
}

static void test_parse_errors(void **st)
{
    (void)st;
    int64_t ids[2];
    float sc[2];
    milvus_reply r = {.ids = ids, .scores = sc, .cap = 2};
    err e;
    static const char *const bad[] = {
        "", "{", "[]", "null", "{\"code\":\"0\"}", "{\"code\":0.5}", "{\"code\":1e300}",
        "{\"data\":[]}", "{\"code\":0,\"data\":{}}", "{\"code\":0,\"data\":[1]}",
        "{\"code\":0,\"data\":[{\"distance\":1}]}",
        "{\"code\":0,\"data\":[{\"id\":1.5,\"distance\":1}]}",
        "{\"code\":0,\"data\":[{\"id\":9007199254740994,\"distance\":1}]}",
        "{\"code\":0,\"data\":[{\"id\":\"12x\",\"distance\":1}]}",
        "{\"code\":0,\"data\":[{\"id\":\"99999999999999999999\",\"distance\":1}]}",
        "{\"code\":0,\"data\":[{\"id\":1,\"distance\":\"near\"}]}",
        "{\"code\":0,\"data\":[{\"id\":1,\"distance\":1e39}]}",
        "{\"code\":0,\"data\":[{\"id\":1,\"distance\":1},{\"id\":2,\"distance\":1},"
        "{\"id\":3,\"distance\":1}]}",   /* more than cap */
        "{\"code\":0,\"data\":[{\"id\":1,\"distance\":NaN}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(MILVUS_R_SEARCH, bad[i], &r, &e);
        if (rc != -ERR_PARSE)
            fail_msg("accepted or misjudged (%d): %s", rc, bad[i]);
    }
    /* a body cut short is read no further than its length */
    const char *whole = "{\"code\":0,\"data\":[{\"id\":1,\"distance\":1}]}";
    assert_int_equal(milvus_parse_reply(MILVUS_R_SEARCH, whole, 20, &r, &e), -ERR_PARSE);
    assert_int_equal(parse(MILVUS_R_COUNT, "{\"code\":0,\"data\":[{\"count(*)\":-5}]}", &r, &e),
                     -ERR_PARSE);
    assert_int_equal(parse(MILVUS_R_COUNT, "{\"code\":0,\"data\":[{\"n\":5}]}", &r, &e),
                     -ERR_PARSE);
    assert_int_equal(parse(MILVUS_R_DESCRIBE, "{\"code\":0,\"data\":{\"fields\":[{\"name\":"
                           "\"vector\",\"params\":[{\"key\":\"dim\",\"value\":\"99999999\"}]}]}}",
                           &r, &e), -ERR_PARSE);
    assert_int_equal(parse(MILVUS_R_LOAD_STATE, "{\"code\":0,\"data\":{\"loadState\":7}}", &r,
                           &e), -ERR_PARSE);
    assert_int_equal(parse(MILVUS_R_INDEX, "{\"code\":0,\"data\":[{\"indexedRows\":\"lots\"}]}",
                           &r, &e), -ERR_PARSE);
    assert_int_equal(milvus_parse_reply(MILVUS_R_N_, "{}", 2, &r, &e), -ERR_USAGE);
}

static void test_parse_codes(void **st)
{
    (void)st;
    milvus_reply r = {0};
    err e;
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":100,\"message\":\"collection not "
                           "found[collection=x]\"}", &r, &e), -ERR_NOTFOUND);
    assert_int_equal(r.code, 100);
    assert_string_equal(e.msg, "Milvus status: collection not found[collection=x] (code 100)");
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":1100,\"message\":\"the dim (4) of field "
                           "data(vector) is not equal to schema dim (8)\"}", &r, &e), -ERR_RANGE);
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":1800,\"message\":\"user hasn't "
                           "authenticated\"}", &r, &e), -ERR_USAGE);
    assert_false(r.retriable);
    /* retriable: service not ready, rate limit, and the retriable flag bit */
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":8,\"message\":\"rate\"}", &r, &e),
                     -ERR_IO);
    assert_true(r.retriable);
    assert_int_equal(parse(MILVUS_R_STATUS, "{\"code\":1048677}", &r, &e), -ERR_IO);
    assert_true(r.retriable);
    /* a message is cleaned and cut: no terminal escapes, at most 200 bytes */
    char body[1200];
    snprintf(body, sizeof body, "{\"code\":65535,\"message\":\"\\u001b[2J%0600d\"}", 7);
    assert_int_equal(parse(MILVUS_R_STATUS, body, &r, &e), -ERR_IO);
    assert_null(strchr(e.msg, '\x1b'));
    assert_true(strlen(e.msg) < 260);
    assert_non_null(strstr(e.msg, "?[2J000"));
}

static void test_client_opts(void **st)
{
    (void)st;
    static const char *const refused[] = {
        NULL, "", "ftp://h:1", "http://", "http://user:pw@h:19530", "https://a@h",
        "http://h:1/?x=1", "http://h:1/#f", "http://h 1", "file:///etc/passwd",
    };
    milvus_opts o = milvus_opts_default();
    err e;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        o.uri = refused[i];
        milvus *m = milvus_new(&o, &e);
        if (m)
            fail_msg("accepted uri %s", refused[i] ? refused[i] : "(null)");
        assert_int_equal(e.code, ERR_USAGE);
    }
    o.uri = "https://user:s3cret@h:19530";
    assert_null(milvus_new(&o, &e));
    assert_null(strstr(e.msg, "s3cret"));
    o.uri = "http://127.0.0.1:19530/";
    o.db = "bad name";
    assert_null(milvus_new(&o, &e));
    o.db = "analytics";
    o.token = "root:Milvus";
    milvus *m = milvus_new(&o, &e);
    assert_non_null(m);
    milvus_free(m);
    assert_true(milvus_name_ok("_c1") && milvus_name_ok("Items2"));
    assert_false(milvus_name_ok("1c") || milvus_name_ok("a-b") || milvus_name_ok("") ||
                 milvus_name_ok(NULL) || milvus_name_ok("a b"));
}

/* ---- the index kind, without a server ------------------------------------- */

/* A milvus blob as index_save writes it: header, settings JSON, checksum. */
static size_t make_blob(uint8_t *b, const char *json, uint64_t n)
{
    uint32_t u[] = {2, 3, 0, 0}, p[] = {8, 16, 16, 200, 64, 10, 10}, len = (uint32_t)strlen(json);
    uint64_t dim = 4, seed = 1, sum;
    size_t o = 0;
    memcpy(b, "EMBIDX\0\1", 8), o += 8;
    memcpy(b + o, u, sizeof u), o += sizeof u;
    memcpy(b + o, &dim, 8), o += 8;
    memcpy(b + o, &n, 8), o += 8;
    memcpy(b + o, p, sizeof p), o += sizeof p;
    memcpy(b + o, &seed, 8), o += 8;
    memcpy(b + o, &len, 4), o += 4;
    memcpy(b + o, json, len), o += len;
    sum = blob_sum(b, o);
    memcpy(b + o, &sum, 8);
    return o + 8;
}

static void test_blob(void **st)
{
    (void)st;
    uint8_t b[2048];
    const char *json = "{\"uri\":\"http://127.0.0.1:9\",\"collection\":\"emb\",\"token_file\":"
                       "\"/run/tok\",\"index_type\":\"HNSW\",\"batch\":50,\"retries\":0,"
                       "\"metrics\":\"http://a:9091/metrics,http://b:9091/metrics\"}";
    size_t len = make_blob(b, json, 177);
    vindex *ix = NULL, *ix2 = NULL;
    index_stats s;
    err e;
    assert_int_equal(index_load(b, len, &ix, &e), 0);
    index_info(ix, &s);
    assert_int_equal(s.kind, INDEX_MILVUS);
    assert_int_equal(s.n, 177);
    assert_int_equal(s.dim, 4);
    assert_int_equal(s.nlist, 8);
    assert_non_null(s.remote);
    assert_string_equal(s.remote->collection, "emb");
    assert_string_equal(s.remote->index_type, "HNSW");
    assert_string_equal(s.remote->token_file, "/run/tok");
    assert_int_equal(s.remote->batch, 50);
    assert_string_equal(s.remote->consistency, "Strong");   /* the default */
    assert_string_equal(s.remote->metrics, "http://a:9091/metrics,http://b:9091/metrics");
    assert_true(index_is_remote(ix));
    /* inert until attached: no connection is ever tried */
    float q[4] = {1, 0, 0, 0};
    int64_t ids[3];
    float sc[3];
    assert_int_equal(index_search(ix, q, 4, 3, NULL, ids, sc, &e), -ERR_STATE);
    assert_non_null(strstr(e.msg, "not connected"));
    int64_t id = 5;
    assert_int_equal(index_remove(ix, 5, &e), 0);   /* queued */
    assert_int_equal(index_add(ix, q, &id, 1, 4, &e), -ERR_STATE);
    assert_int_equal(index_flush(ix, &e), -ERR_STATE);
    assert_int_equal(index_set_param(ix, "nprobe", 32, &e), 0);
    assert_int_equal(index_set_param(ix, "ef", 40, &e), 0);
    assert_int_equal(index_set_param(ix, "rerank", 2, &e), -ERR_USAGE);
    /* an attach context that says why it cannot work makes every call say so */
    index_remote_ctx c = {.error = "token_file /run/tok: No such file or directory"};
    assert_int_equal(index_remote_attach(ix, &c, &e), 0);
    assert_int_equal(index_search(ix, q, 4, 3, NULL, ids, sc, &e), -ERR_STATE);
    assert_string_equal(e.msg, "milvus collection emb: token_file /run/tok: No such file or "
                               "directory");
    /* save / load keeps the settings and the count, never a token */
    void *buf;
    size_t blen;
    assert_int_equal(index_save(ix, &buf, &blen, &e), 0);
    for (size_t i = 0; i + 6 <= blen; i++)   /* token_file, never a token */
        assert_false(memcmp((char *)buf + i, "token\"", 6) == 0);
    assert_int_equal(index_load(buf, blen, &ix2, &e), 0);
    index_info(ix2, &s);
    assert_int_equal(s.n, 177);
    assert_int_equal(s.nprobe, 32);
    assert_string_equal(s.remote->uri, "http://127.0.0.1:9");
    assert_string_equal(s.remote->metrics, "http://a:9091/metrics,http://b:9091/metrics");
    mem_free(buf);
    index_free(ix2);
    index_free(ix);
    assert_int_equal(index_remote_attach(NULL, &c, &e), -ERR_USAGE);

    static const char *const bad[] = {
        "[]", "{\"uri\":\"http://h:1\"}", "{\"uri\":\"ftp-no\",\"collection\":\"c\"}",
        "{\"uri\":\"http://h:1\",\"collection\":\"1bad\"}",
        "{\"uri\":\"http://h:1\",\"collection\":\"c\",\"batch\":0}",
        "{\"uri\":\"http://h:1\",\"collection\":\"c\",\"batch\":\"x\"}",
        "{\"uri\":\"http://h:1\",\"collection\":\"c\",\"index_type\":\"LSH\"}",
        "{\"uri\":7,\"collection\":\"c\"}", "{\"uri\":\"http://h:1\",\"collection\":\"c\"",
        "{\"uri\":\"http://h:1\",\"collection\":\"c\",\"metrics\":\"http://a:1,ftp://b\"}",
        "{\"uri\":\"http://h:1\",\"collection\":\"c\",\"metrics\":\"http://u:pw@a:1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = make_blob(b, bad[i], 1);
        int rc = index_load(b, len, &ix, &e);
        if (rc != -ERR_PARSE)
            fail_msg("blob settings %s: %d (%s)", bad[i], rc, e.msg);
        assert_null(ix);
    }
}

static void test_opts(void **st)
{
    (void)st;
    index_opts o = index_opts_default();
    err e;
    assert_string_equal(o.remote.index_type, "IVF_FLAT");
    assert_string_equal(o.remote.consistency, "Strong");
    assert_int_equal(o.remote.batch, 100);
    assert_int_equal(index_opts_set(&o, "kind", "milvus", &e), 0);
    assert_int_equal(o.kind, INDEX_MILVUS);
    assert_int_equal(index_opts_set(&o, "uri", "http://h:19530", &e), 0);
    assert_int_equal(index_opts_set(&o, "collection", "c", &e), 0);
    assert_int_equal(index_opts_set(&o, "index_type", "IVF_SQ8", &e), 0);
    assert_int_equal(index_opts_set(&o, "consistency", "Bounded", &e), 0);
    assert_int_equal(index_opts_set(&o, "resume", NULL, &e), 0);   /* --resume */
    assert_int_equal(o.remote.resume, 1);
    assert_int_equal(index_opts_set(&o, "batch", "0", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "batch", "16385", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "retries", "x", &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "replace", "maybe", &e), -ERR_USAGE);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(index_opts_set(&o, "uri", big, &e), -ERR_USAGE);
    assert_int_equal(index_opts_set(&o, "nope", "1", &e), -ERR_USAGE);
    /* building checks the settings before any request */
    float v[4] = {1, 2, 3, 4};
    int64_t id = 1;
    vindex *ix = NULL;
    index_opts b = index_opts_default();
    b.kind = INDEX_MILVUS;
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "uri= is required"));
    snprintf(b.remote.uri, sizeof b.remote.uri, "http://127.0.0.1:9/\x01");
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    snprintf(b.remote.uri, sizeof b.remote.uri, "http://127.0.0.1:9");
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "collection= is required"));
    snprintf(b.remote.collection, sizeof b.remote.collection, "c");
    snprintf(b.remote.index_type, sizeof b.remote.index_type, "LSH");
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    assert_string_equal(e.msg, "index_type=LSH is not one of IVF_FLAT|IVF_SQ8|HNSW|AUTOINDEX");
    snprintf(b.remote.index_type, sizeof b.remote.index_type, "HNSW");
    b.remote.resume = b.remote.replace = 1;
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    b.remote.resume = 0;
    b.quant = INDEX_QUANT_SQ8;
    assert_int_equal(index_build(v, &id, 1, 4, &b, NULL, &ix, &e), -ERR_USAGE);
    assert_null(ix);
}

static void test_mem_estimate(void **st)
{
    (void)st;
    /* 1M x 384: fp32 1.536 GB + 8 MB ids; sq8 a quarter of the vectors; HNSW M=16 +128 MB */
    assert_true(fabs(index_remote_mem_estimate("IVF_FLAT", 1000000, 384, 16) - 1.544e9) < 1);
    assert_true(fabs(index_remote_mem_estimate("IVF_SQ8", 1000000, 384, 16) - 0.392e9) < 1);
    assert_true(fabs(index_remote_mem_estimate("HNSW", 1000000, 384, 16) - 1.672e9) < 1);
    assert_true(index_remote_mem_estimate("AUTOINDEX", 1000000, 384, 16) == 0);
}

/* The query nodes' metrics page: the collection's id from entity_num (its
 * name and database), the sum of entity_size over that id; decoys and
 * malformed or hostile samples. */
static double metrics_of(const char *page, const char *coll, const char *db, int *rc)
{
    double b = -1;
    err e;
    /* an exact-length copy: nothing to read past */
    size_t n = strlen(page);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, page, n);
    *rc = milvus_parse_metrics(copy, n, coll, db, &b, &e);
    free(copy);
    return b;
}

static void test_metrics(void **st)
{
    (void)st;
    const char *page =
        "# HELP milvus_querynode_entity_num entities\n"
        "# TYPE milvus_querynode_entity_num gauge\n"
        "milvus_querynode_entity_num{collection_id=\"450000000000000001\",collection_name="
        "\"shop\",db_name=\"default\",node_id=\"3\",segment_state=\"Sealed\"} 1000\n"
        "milvus_querynode_entity_num{collection_id=\"450000000000000003\",collection_name="
        "\"shop\",db_name=\"prod\",node_id=\"3\",segment_state=\"Sealed\"} 7\n"
        "milvus_querynode_entity_num{collection_id=\"450000000000000005\",collection_name="
        "\"shop2\",db_name=\"default\",node_id=\"3\",segment_state=\"Sealed\"} 7\n"
        "milvus_querynode_entity_size{collection_id=\"450000000000000001\",node_id=\"3\","
        "segment_state=\"Sealed\"} 1.5e+06\r\n"
        "milvus_querynode_entity_size{node_id=\"3\",segment_state=\"Growing\","
        "collection_id=\"450000000000000001\",} 2500 1700000000000\n"
        "milvus_querynode_entity_size{collection_id=\"450000000000000003\"} 9e12\n"
        "milvus_querynode_entity_size{collection_id=\"450000000000000005\"} 8e12\n"
        "milvus_querynode_entity_size_total{collection_id=\"450000000000000001\"} 7e12\n"
        "milvus_other{path=\"a\\\"b\\\\c\\n{\"} 1\n"
        "milvus_querynode_entity_size{collection_id=\"450000000000000001\",node_id=\"4\"} 0";
    int rc;
    /* 1.5e6 + 2500 + 0 (three samples); another database's and another
     * name's ids, and a longer metric name, are not counted */
    assert_true(metrics_of(page, "shop", NULL, &rc) == 1502500.0);
    assert_int_equal(rc, 3);
    assert_true(metrics_of(page, "shop", "default", &rc) == 1502500.0);
    assert_true(metrics_of(page, "shop", "prod", &rc) == 9e12);
    assert_int_equal(rc, 1);
    metrics_of(page, "sho", NULL, &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    metrics_of(page, "shop", "staging", &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    metrics_of("", "shop", NULL, &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    /* named, but no size sample for its id */
    metrics_of("milvus_querynode_entity_num{collection_id=\"9\",collection_name=\"shop\"} 1\n",
               "shop", NULL, &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    /* no db_name label (older servers): only the default database matches */
    const char *nodb = "milvus_querynode_entity_num{collection_id=\"9\",collection_name=\"shop\"} 1\n"
                       "milvus_querynode_entity_size{collection_id=\"9\"} 42\n";
    assert_true(metrics_of(nodb, "shop", NULL, &rc) == 42);
    metrics_of(nodb, "shop", "prod", &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    /* malformed samples of the two metrics; other lines are not read */
    static const char *const bad[] = {
        "milvus_querynode_entity_num{collection_id=\"9\",collection_name=\"sh",
        "milvus_querynode_entity_num{collection_id=\"9\" collection_name=\"shop\"} 1",
        "milvus_querynode_entity_num{collection_id=9} 1",
        "milvus_querynode_entity_num{collection_id=\"9\\q\"} 1",
        "milvus_querynode_entity_num{collection_id=\"9\"}",
        "milvus_querynode_entity_num{collection_id=\"9\"} 1x",
        "milvus_querynode_entity_num{collection_id=\"9\"}1",
        "milvus_querynode_entity_num 12345678901234567890123456789012345678901234567890123456789012345",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        metrics_of(bad[i], "shop", NULL, &rc);
        assert_int_equal(rc, -ERR_PARSE);
    }
    metrics_of("milvus_other{x=\"unterminated 1\n# } \n", "shop", NULL, &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    /* sizes that are no byte count */
    static const char *const hostile[] = {"NaN", "+Inf", "-1", "2e18"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "milvus_querynode_entity_num{collection_id=\"9\",collection_name="
                 "\"shop\"} 1\nmilvus_querynode_entity_size{collection_id=\"9\"} %s\n", hostile[i]);
        metrics_of(p, "shop", NULL, &rc);
        assert_int_equal(rc, -ERR_PARSE);
    }
    /* a label value too long to keep never matches */
    char big[700];
    memset(big, 'a', 600);
    big[600] = '\0';
    char p[1000];
    snprintf(p, sizeof p, "milvus_querynode_entity_num{collection_id=\"9\",collection_name="
             "\"%s\"} 1\nmilvus_querynode_entity_size{collection_id=\"9\"} 5\n", big);
    metrics_of(p, big, NULL, &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
}

/* Every allocation failure in turn: ERR_NOMEM, nothing leaked (LSan). */
static void test_oom(void **st)
{
    (void)st;
    const char *body = "{\"code\":0,\"data\":[{\"id\":1,\"distance\":0.5},{\"id\":2,"
                       "\"distance\":0.25}]}";
    milvus_term t[] = {{"category", "a\"b", MILVUS_TERM_TEXT}, {"title", "x%y", MILVUS_TERM_TEXT},
                       {"brand", "z", MILVUS_TERM_TEXT}};
    int64_t ex[] = {1, 2, 3}, ids[4];
    float sc[4];
    int done = 0;
    for (long n = 0; n < 200 && done != 7; n++) {
        milvus_opts o = milvus_opts_default();
        milvus_reply r = {.ids = ids, .scores = sc, .cap = 4};
        char *expr = NULL;
        err e;
        o.uri = "http://127.0.0.1:9";
        o.token = "tok";
        mem_fail_after(n);
        milvus *m = milvus_new(&o, &e);
        int rc1 = m ? 0 : -e.code;
        int rc2 = milvus_parse_reply(MILVUS_R_SEARCH, body, strlen(body), &r, &e);
        int rc3 = milvus_filter_expr(t, 3, ex, 3, &expr, &e);
        mem_fail_after(-1);
        assert_true(rc1 == 0 || rc1 == -ERR_NOMEM);
        assert_true(rc2 == 0 || rc2 == -ERR_NOMEM);
        assert_true(rc3 == 0 || rc3 == -ERR_NOMEM);
        done = (rc1 == 0) | (rc2 == 0) << 1 | (rc3 == 0) << 2;
        milvus_free(m);
        mem_free(expr);
    }
    assert_int_equal(done, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_filter_expr),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_codes),
        cmocka_unit_test(test_client_opts),
        cmocka_unit_test(test_blob),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_mem_estimate),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
