/* test_import.c - catalog, session and MovieLens importers: every format's
 * happy path, each kind of bad input with its exact line, rollback, skip-bad,
 * cancellation, and the real ml-latest-small counts (skipped when absent).
 * Inputs are written to a fresh temp dir per test; databases are :memory:. */
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

#include <sqlite3.h>   /* only to look at the schema from outside the store */

#include "import.h"
#include "mem.h"
#include "test_skip.h"

#define ML_SMALL "/work/shared/data/ml-latest-small"

typedef struct fx {
    char dir[256];
    char path[512];   /* last file written */
    store *s;
    import_opts o;
    import_report r;
    err e;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    err e;

    strcpy(f->dir, "/tmp/embedlab-import-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    f->s = store_open(":memory:", &e);
    if (!f->s)
        return -1;
    import_opts_default(&f->o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[400];

    import_report_done(&f->r);
    store_close(f->s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Writes len bytes (or strlen) to dir/name; f->path is the full path. */
static const char *put(fx *f, const char *name, const char *data, size_t len)
{
    FILE *fp;

    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    fp = fopen(f->path, "wb");
    assert_non_null(fp);
    if (len == (size_t)-1)
        len = strlen(data);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return f->path;
}
#define PUT(f, name, s) put((f), (name), (s), (size_t)-1)

/* e->msg must be exactly "PATH" followed by `rest` at its start. */
static void expect_msg(const err *e, const char *path, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s%s", path, rest);
    if (strncmp(e->msg, want, strlen(want)) != 0)
        fail_msg("message\n  got:  %s\n  want: %s...", e->msg, want);
}

static int64_t n_items(fx *f)
{
    store_counts c;
    assert_int_equal(store_counts_get(f->s, &c, NULL), 0);
    return c.items;
}

static int64_t n_events(fx *f)
{
    store_counts c;
    assert_int_equal(store_counts_get(f->s, &c, NULL), 0);
    return c.events;
}

static int cat(fx *f, const char *name, const char *data)
{
    const char *p = PUT(f, name, data);
    import_report_done(&f->r);
    err_clear(&f->e);
    return import_catalog(f->s, p, &f->o, NULL, &f->r, &f->e);
}

static int ses(fx *f, const char *name, const char *data)
{
    const char *p = PUT(f, name, data);
    import_report_done(&f->r);
    err_clear(&f->e);
    return import_sessions(f->s, p, &f->o, NULL, &f->r, &f->e);
}

static const char base_catalog[] =
    "id,title,description,category\n"
    "a,Phone,A phone,phones\n"
    "b,Case,A case,cases\n"
    "c,Charger,A charger,power\n";

/* ---- happy paths ---------------------------------------------------------- */

static void test_catalog_csv(void **state)
{
    fx *f = *state;
    store_catalog c;

    /* BOM, CRLF, columns in another order, an extra column, RFC 4180 quoting
     * with an embedded comma, doubled quotes and a newline inside quotes. */
    assert_int_equal(cat(f, "c.csv",
                         "\xEF\xBB\xBFtitle,id,price,category,description\r\n"
                         "\"Phone, 5G\",P100,199,phones,\"The \"\"best\"\"\r\nphone\"\r\n"
                         "Case,P200,,cases,\r\n"
                         "\r\n"
                         "Caf\xC3\xA9 mug,P300,7.5,,\"\"\r\n"), 0);
    assert_int_equal(f->r.items, 3);
    assert_int_equal(f->r.rows, 3);
    assert_string_equal(f->r.format, "csv");
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.ext_id[0], "P100");
    assert_string_equal(c.title[0], "Phone, 5G");
    assert_string_equal(c.description[0], "The \"best\"\r\nphone");
    assert_string_equal(c.category[0], "phones");
    assert_string_equal(c.attrs[0], "{\"price\":\"199\"}");
    assert_null(c.attrs[1]);   /* empty extra cells are left out */
    assert_string_equal(c.description[1], "");
    assert_string_equal(c.title[2], "Caf\xC3\xA9 mug");
    store_catalog_done(&c);
}

static void test_catalog_tsv(void **state)
{
    fx *f = *state;
    store_catalog c;

    assert_int_equal(cat(f, "c.tsv", "id\ttitle\tcategory\n"
                                     "1\t12\" vinyl\tmusic\n"
                                     "2\tTurntable\tmusic\n"), 0);
    assert_string_equal(f->r.format, "tsv");
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.title[0], "12\" vinyl");
    store_catalog_done(&c);
}

static void test_catalog_jsonl(void **state)
{
    fx *f = *state;
    store_catalog c;

    assert_int_equal(cat(f, "c.jsonl",
                         "{\"id\": 17, \"title\": \"Lamp\", \"category\": \"home\", "
                         "\"price\": 9.5, \"tags\": [\"a\", \"b\"]}\r\n"
                         "\n"
                         "{\"id\": \"x-1\", \"title\": \"\\u00e9t\\u00e9\", \"description\": null}\n"),
                     0);
    assert_int_equal(f->r.items, 2);
    assert_string_equal(f->r.format, "jsonl");
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_string_equal(c.ext_id[0], "17");
    assert_string_equal(c.category[0], "home");
    assert_string_equal(c.attrs[0], "{\"price\":9.5,\"tags\":[\"a\",\"b\"]}");
    assert_string_equal(c.ext_id[1], "x-1");
    assert_string_equal(c.title[1], "\xC3\xA9t\xC3\xA9");
    assert_null(c.attrs[1]);
    store_catalog_done(&c);
}

static void test_sessions_csv(void **state)
{
    fx *f = *state;
    store_corpus c;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "s.csv",
                         "session_id,item_id,timestamp,user_id\r\n"
                         "s1,b,1970-01-01T00:01:00Z,u1\r\n"
                         "s1,a,30,u1\r\n"
                         "s2,c,2000-02-29 12:00:00+01:00,\r\n"
                         "s2,a,,\r\n"), 0);
    assert_int_equal(f->r.events, 4);
    assert_int_equal(store_corpus_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n_seq, 2);
    assert_string_equal(c.seq_name[0], "s1");
    /* ordered by time: a (30 s) before b (60 s) */
    assert_int_equal(c.items[0], 1);
    assert_int_equal(c.ts[0], 30);
    assert_int_equal(c.items[1], 2);
    assert_int_equal(c.ts[1], 60);
    assert_int_equal(c.seq_user[0], 0);
    assert_int_equal(c.seq_user[1], -1);
    /* s2: the event without a time sorts first; 2000-02-29T11:00Z = 951822000 */
    assert_int_equal(c.ts[2], STORE_NO_TS);
    assert_int_equal(c.ts[3], 951822000);
    store_corpus_done(&c);
}

static void test_sessions_lines(void **state)
{
    fx *f = *state;
    store_corpus c;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "s.txt", "a b c\r\n\n  c\ta  \nb\n"), 0);
    assert_string_equal(f->r.format, "lines");
    assert_int_equal(f->r.rows, 3);
    assert_int_equal(f->r.events, 6);
    assert_int_equal(store_corpus_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n_seq, 3);
    assert_string_equal(c.seq_name[0], "1");
    assert_string_equal(c.seq_name[1], "3");
    assert_string_equal(c.seq_name[2], "4");
    assert_int_equal(c.off[2] - c.off[1], 2);
    assert_int_equal(c.items[c.off[1]], 3);
    store_corpus_done(&c);
}

static void test_format_choice(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "c.txt", base_catalog), 0);   /* sniffed as CSV */
    assert_string_equal(f->r.format, "csv");
    assert_int_equal(ses(f, "s.dat", "session_id\titem_id\nx\ta\n"), 0);
    assert_string_equal(f->r.format, "tsv");
    f->o.format = "xml";
    assert_int_equal(cat(f, "c2.csv", base_catalog), -ERR_USAGE);
    assert_int_equal(ses(f, "s2.csv", "session_id,item_id\nx,a\n"), -ERR_USAGE);
    f->o.format = "lines";
    assert_int_equal(ses(f, "s3.csv", "a b\n"), 0);
    assert_int_equal(f->r.events, 2);
    assert_int_equal(import_catalog(f->s, "/nonexistent/c.csv", NULL, NULL, NULL, &f->e),
                     -ERR_NOTFOUND);
}

/* ---- bad input: each kind, with its line ---------------------------------- */

static void test_bad_utf8(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "u.csv", "id,title\na,ok\nb,caf\xE9\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: field 'title': invalid UTF-8 at byte 4");
    /* overlong encoding and a UTF-16 surrogate are invalid too */
    assert_int_equal(cat(f, "u2.csv", "id,title\na,\xC0\xAF\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: field 'title': invalid UTF-8");
    assert_int_equal(cat(f, "u3.csv", "id,title\na,\xED\xA0\x80\n"), -ERR_PARSE);
    assert_int_equal(cat(f, "u4.jsonl", "{\"id\":1,\"title\":\"ok\"}\n{\"id\":2,\"title\":\"\xFF\"}\n"),
                     -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: invalid UTF-8 at column 18");
    assert_int_equal(n_items(f), 0);
}

static void test_empty_files(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "e.csv", ""), -ERR_PARSE);
    expect_msg(&f->e, f->path, ": file is empty");
    assert_int_equal(cat(f, "e2.csv", "\xEF\xBB\xBF\r\n\r\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ": file is empty");
    assert_int_equal(cat(f, "e3.csv", "id,title\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ": no data rows after the header");
    assert_int_equal(cat(f, "e.jsonl", "\n\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ": file is empty");
    assert_int_equal(ses(f, "e.txt", ""), -ERR_PARSE);
    expect_msg(&f->e, f->path, ": file is empty");
}

static void test_missing_columns(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "h.csv", "id,name_of_thing,category\na,b,c\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":1: field 'title': required column missing from the header "
                               "(found: id, name_of_thing, category)");
    assert_int_equal(cat(f, "h2.csv", "\n\ntitle,category\nb,c\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: field 'id': required column missing");
    assert_int_equal(cat(f, "h3.csv", "id,title,Title\na,b,c\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":1: field 'Title': column appears twice in the header");
    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "s.csv", "session,when\nx,1\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":1: field 'item_id': required column missing");
    assert_int_equal(cat(f, "j.jsonl", "{\"id\":1,\"title\":\"t\"}\n{\"id\":2}\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: field 'title': missing");
}

static void test_column_count(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "n.csv", "id,title,category\na,A,x\nb,B\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: field 'category': missing (the row has 2 fields, the "
                               "header has 3)");
    assert_int_equal(cat(f, "n2.csv", "id,title\na,A\n\"b\nc\",B\nd,D,extra\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":5: field 3: not in the header (the row has 3 fields, the "
                               "header has 2)");
    assert_int_equal(n_items(f), 0);
}

static void test_duplicate_ids(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "d.csv", "id,title\na,A\nb,B\na,again\n"), -ERR_EXISTS);
    expect_msg(&f->e, f->path, ":4: field 'id': duplicate item id 'a' (first defined on line 2)");
    assert_int_equal(n_items(f), 0);
    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(cat(f, "d2.csv", "id,title\nz,Z\nb,B\n"), -ERR_EXISTS);
    expect_msg(&f->e, f->path, ":3: field 'id': item id 'b' is already in the database");
    assert_int_equal(cat(f, "d3.jsonl", "{\"id\":\"q\",\"title\":\"t\"}\n{\"id\":\"c\",\"title\":\"t\"}\n"),
                     -ERR_EXISTS);
    expect_msg(&f->e, f->path, ":2: field 'id': item id 'c' is already in the database");
    assert_int_equal(cat(f, "d4.csv", "id,title\n,empty id\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: field 'id': empty");
    assert_int_equal(n_items(f), 3);
}

static void test_unknown_items(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "s.csv", "session_id,item_id\ns1,a\ns1,zz\n"), -ERR_NOTFOUND);
    expect_msg(&f->e, f->path, ":3: field 'item_id': unknown item id 'zz'");
    assert_int_equal(ses(f, "s.txt", "a b\nc nope a\n"), -ERR_NOTFOUND);
    expect_msg(&f->e, f->path, ":2: field 'item 2': unknown item id 'nope'");
    assert_int_equal(n_events(f), 0);
}

static void test_long_fields(void **state)
{
    fx *f = *state;
    size_t big = 70000, huge = 1100000;
    char *buf = malloc(2000000);   /* the swallowed tail below is 1.4 MB */

    assert_non_null(buf);
    /* one 70,000-byte description on line 3 */
    size_t n = (size_t)sprintf(buf, "id,title,description\na,A,short\nb,B,");
    memset(buf + n, 'x', big);
    n += big;
    n += (size_t)sprintf(buf + n, "\nc,C,ok\n");
    put(f, "long.csv", buf, n);
    assert_int_equal(import_catalog(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, f->path, ":3: field 'description': longer than 64 KiB (70000 bytes)");
    /* a 1.1 MB line on line 2 of a sessions file, then going on with --skip-bad */
    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    n = 0;
    memset(buf, 'a', huge);
    buf[huge] = '\n';
    n = huge + 1;
    n += (size_t)sprintf(buf + n, "a b\n");
    put(f, "long.txt", buf, n);
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, f->path, ":1: line is longer than 1048576 bytes (1100001)");
    f->o.skip_bad = 1;
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, &f->o, NULL, &f->r, &f->e), 0);
    assert_int_equal(f->r.skipped, 1);
    assert_int_equal(f->r.events, 2);
    /* an unterminated quote that swallows more than 1 MiB */
    n = (size_t)sprintf(buf, "id,title\nq,\"open");
    for (size_t i = 0; i < 40000; i++)
        n += (size_t)sprintf(buf + n, "\nline %05zu of the swallowed tail", i);
    put(f, "swallow.csv", buf, n);
    f->o.skip_bad = 0;
    import_report_done(&f->r);
    assert_int_equal(import_catalog(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, f->path, ":2: record is longer than 1 MiB");
    free(buf);
}

static void test_nul_bytes(void **state)
{
    fx *f = *state;
    static const char csv[] = "id,title\na,A\nb,B\0B\n";
    static const char js[] = "{\"id\":1,\"title\":\"x\0\"}\n";

    put(f, "nul.csv", csv, sizeof csv - 1);
    assert_int_equal(import_catalog(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: field 'title': contains a NUL byte at byte 2");
    put(f, "nul.jsonl", js, sizeof js - 1);
    assert_int_equal(import_catalog(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":1: NUL byte at column 19");
    /* the JSON escape \u0000 would cut the string short; an escaped backslash is fine */
    assert_int_equal(cat(f, "nul2.jsonl", "{\"id\":1,\"title\":\"a\\\\u0000\"}\n"
                                          "{\"id\":2,\"title\":\"a\\u0000b\"}\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: NUL character (\\u0000) at column 19");
    assert_int_equal(n_items(f), 0);
}

static void test_bad_numbers(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "t.csv", "session_id,item_id,timestamp\nx,a,5\nx,b,-5\n"),
                     -ERR_RANGE);
    expect_msg(&f->e, f->path, ":3: field 'timestamp': negative timestamp: '-5'");
    assert_int_equal(ses(f, "t2.csv", "session_id,item_id,timestamp\nx,a,99999999999999999999\n"),
                     -ERR_RANGE);
    expect_msg(&f->e, f->path, ":2: field 'timestamp': number out of range");
    assert_int_equal(ses(f, "t3.csv", "session_id,item_id,timestamp\nx,a,2021-02-30\n"),
                     -ERR_RANGE);
    expect_msg(&f->e, f->path, ":2: field 'timestamp': no such date: '2021-02-30'");
    assert_int_equal(ses(f, "t4.csv", "session_id,item_id,timestamp\nx,a,soon\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: field 'timestamp': not an integer timestamp or an ISO-8601");
    assert_int_equal(cat(f, "j.jsonl", "{\"id\":1.5,\"title\":\"t\"}\n"), -ERR_RANGE);
    expect_msg(&f->e, f->path, ":1: field 'id': 1.5 is not an integer id");
    assert_int_equal(n_events(f), 0);
}

static void test_quotes(void **state)
{
    fx *f = *state;

    /* unterminated: reported at the line where the quote opened */
    assert_int_equal(cat(f, "q.csv", "id,title\na,A\nb,\"never closed\nc,C\nd,D\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: unterminated quoted field");
    /* a stray quote inside an unquoted CSV field (strict RFC 4180) */
    assert_int_equal(cat(f, "q2.csv", "id,title\na,A\nb,12\" vinyl\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":3: field 'title': malformed quoting");
    /* line numbers stay right after a record that spans lines */
    assert_int_equal(cat(f, "q3.csv", "id,title\na,\"two\nlines\"\nb,\"three\n\nlines\"\nc,\n"),
                     -ERR_PARSE);
    expect_msg(&f->e, f->path, ":7: field 'title': empty");
    /* a bare CR (old Mac line end) inside a line, with and without quotes */
    assert_int_equal(cat(f, "q5.csv", "id,title\na,A\rb,B\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: a carriage return (CR without LF) outside quotes");
    assert_int_equal(cat(f, "q6.csv", "id,title\na,\"A\"\rb,B\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: a carriage return (CR without LF) outside quotes");
    assert_int_equal(cat(f, "q4.jsonl", "{\"id\":1,\"title\":\"t\"}\n{\"id\":2,\"title\":\"t}\n"),
                     -ERR_PARSE);
    expect_msg(&f->e, f->path, ":2: invalid JSON near column");
    assert_int_equal(n_items(f), 0);
}

/* ---- transactions, skip-bad, cancel --------------------------------------- */

/* Catalog content as one string, to compare before and after. */
static char *snapshot(fx *f)
{
    store_catalog c;
    store_corpus k;
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);

    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_int_equal(store_corpus_load(f->s, &k, NULL), 0);
    for (size_t i = 0; i < c.n; i++)
        n += (size_t)snprintf(s + n, cap - n, "%lld|%s|%s|%s|%s|%s\n", (long long)c.ids[i],
                              c.ext_id[i], c.title[i], c.description[i], c.category[i],
                              c.attrs[i] ? c.attrs[i] : "-");
    for (size_t i = 0; i < k.n_tok; i++)
        n += (size_t)snprintf(s + n, cap - n, "%lld,", (long long)k.items[i]);
    assert_true(n < cap - 1);
    store_catalog_done(&c);
    store_corpus_done(&k);
    return s;
}

static void test_rollback(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "c.csv", "id,title,x\na,A,1\nb,B,2\nc,C,3\n"), 0);
    assert_int_equal(ses(f, "s.txt", "a b\nb c\n"), 0);
    char *before = snapshot(f);
    /* good rows first, then a bad one in the middle */
    assert_int_equal(cat(f, "bad.csv", "id,title\nd,D\ne,E\nf,\xFF\ng,G\n"), -ERR_PARSE);
    expect_msg(&f->e, f->path, ":4: field 'title': invalid UTF-8");
    assert_int_equal(f->r.items, 0);   /* nothing reported as imported */
    assert_int_equal(ses(f, "bad.txt", "a\nb\nc x\n"), -ERR_NOTFOUND);
    char *after = snapshot(f);
    assert_string_equal(before, after);
    /* the import's bulk mode is over: foreign keys are enforced again */
    assert_int_equal(store_event_insert(f->s, "x", NULL, 9999, STORE_NO_TS, NULL), -ERR_NOTFOUND);
    /* inside a caller's transaction the import is a savepoint */
    assert_int_equal(store_begin(f->s, NULL), 0);
    assert_int_equal(cat(f, "ok.csv", "id,title\nz,Z\n"), 0);
    assert_int_equal(cat(f, "bad2.csv", "id,title\ny,Y\nz,dup\n"), -ERR_EXISTS);
    assert_int_equal(n_items(f), 4);
    store_rollback(f->s);
    assert_int_equal(n_items(f), 3);
    free(before);
    free(after);
}

static void test_skip_bad(void **state)
{
    fx *f = *state;
    char buf[4096];
    size_t n;

    f->o.skip_bad = 1;
    assert_int_equal(cat(f, "c.csv", "id,title,category\na,A,x\nb,\xFF,x\nc,C\nd,D,y\na,dup,z\n"),
                     0);
    assert_int_equal(f->r.items, 2);
    assert_int_equal(f->r.rows, 5);
    assert_int_equal(f->r.skipped, 3);
    assert_int_equal(f->r.n_bad, 3);
    assert_non_null(strstr(f->r.bad[0], "c.csv:3: field 'title': invalid UTF-8"));
    assert_non_null(strstr(f->r.bad[1], "c.csv:4: field 'category': missing"));
    assert_non_null(strstr(f->r.bad[2], "c.csv:6: field 'id': duplicate item id 'a'"));
    assert_int_equal(n_items(f), 2);
    /* only the first IMPORT_MAX_BAD messages are kept, all are counted */
    n = (size_t)sprintf(buf, "session_id,item_id\n");
    for (int i = 0; i < 25; i++)
        n += (size_t)sprintf(buf + n, "s,missing%d\ns,a\n", i);
    put(f, "s.csv", buf, n);
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, &f->o, NULL, &f->r, &f->e), 0);
    assert_int_equal(f->r.skipped, 25);
    assert_int_equal(f->r.n_bad, IMPORT_MAX_BAD);
    assert_int_equal(f->r.events, 25);
    assert_non_null(strstr(f->r.bad[19], "s.csv:40: field 'item_id': unknown item id 'missing19'"));
    /* a broken quote is skipped and reading resumes on the next line */
    assert_int_equal(cat(f, "q.csv", "id,title\nk,\"x\"y\nl,L\n"), 0);
    assert_int_equal(f->r.items, 1);
    assert_int_equal(f->r.skipped, 1);
    /* file-level errors still abort */
    assert_int_equal(cat(f, "h.csv", "id,label\nq,Q\n"), -ERR_PARSE);
}

static void test_cancel(void **state)
{
    fx *f = *state;
    progress p;
    char *buf = malloc(200000);
    size_t n;

    assert_non_null(buf);
    n = (size_t)sprintf(buf, "id,title\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)sprintf(buf + n, "i%d,Item %d\n", i, i);
    put(f, "big.csv", buf, n);
    progress_init(&p, NULL, NULL);
    progress_cancel(&p);
    assert_int_equal(import_catalog(f->s, f->path, NULL, &p, &f->r, &f->e), -ERR_CANCEL);
    assert_int_equal(n_items(f), 0);
    assert_int_equal(atomic_load(&p.active), 0);
    progress_reset_cancel(&p);
    import_report_done(&f->r);
    assert_int_equal(import_catalog(f->s, f->path, NULL, &p, &f->r, &f->e), 0);
    assert_int_equal(f->r.items, 5000);
    assert_int_equal(atomic_load(&p.done), 5000 - 5000 % 1024);
    free(buf);
}

/* 1 when the events index exists in the database file at path. */
static int has_events_index(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE "
                                            "type='index' AND name='events_item'", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Big files drop the events index and rebuild it at the end; a failure must
 * bring it back with everything else. */
static void test_big_file_reindex(void **state)
{
    fx *f = *state;
    char db[600];
    size_t pad = 900000, n = 0;
    char *buf = malloc(6 * (pad + 16));
    err e;

    assert_non_null(buf);
    store_close(f->s);
    snprintf(db, sizeof db, "%s/t.db", f->dir);
    assert_non_null(f->s = store_open(db, &e));
    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    for (int i = 0; i < 5; i++) {   /* white space pads the file past IMP_REINDEX_BYTES */
        n += (size_t)sprintf(buf + n, "a b");
        memset(buf + n, ' ', pad);
        n += pad;
        buf[n++] = '\n';
    }
    size_t good = n;
    n += (size_t)sprintf(buf + n, "c zz\n");
    put(f, "big.txt", buf, n);
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, NULL, NULL, &f->r, &f->e), -ERR_NOTFOUND);
    expect_msg(&f->e, f->path, ":6: field 'item 2': unknown item id 'zz'");
    assert_int_equal(has_events_index(db), 1);
    assert_int_equal(n_events(f), 0);
    put(f, "big.txt", buf, good);
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, NULL, NULL, &f->r, &f->e), 0);
    assert_int_equal(f->r.events, 10);
    assert_int_equal(has_events_index(db), 1);
    int64_t k;
    assert_int_equal(store_item_event_count(f->s, 1, &k, NULL), 0);
    assert_int_equal(k, 5);
    free(buf);
}

/* ---- re-imports and --add-items ------------------------------------------- */

static const char three_sessions[] = "session_id,item_id,timestamp,user_id\n"
                                     "s1,a,1,u1\ns1,b,2,u1\ns2,c,3,u2\n";

/* e->msg names file `name` and says `what`. */
static void expect_says(const err *e, const char *name, const char *what)
{
    if (!strstr(e->msg, name) || !strstr(e->msg, what))
        fail_msg("message\n  got:  %s\n  want: %s ... %s", e->msg, name, what);
}

static void test_sessions_reimport(void **state)
{
    fx *f = *state;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "s.csv", three_sessions), 0);
    assert_int_equal(f->r.events, 3);
    /* the same file again: refused before anything is read */
    assert_int_equal(ses(f, "s.csv", three_sessions), -ERR_EXISTS);
    expect_says(&f->e, "s.csv", "imported already");
    assert_int_equal(n_events(f), 3);
    /* the same events in another file: refused, nothing changed */
    assert_int_equal(ses(f, "t.csv", "session_id,item_id,timestamp,user_id\n"
                                     "s2,c,3,u2\r\ns1,b,2,u1\r\ns1,a,1,u1\r\n"), -ERR_EXISTS);
    expect_says(&f->e, "t.csv", "all 3 events are stored already");
    assert_int_equal(n_events(f), 3);
    /* some new: those in, the others counted; a repeat inside one file is kept */
    assert_int_equal(ses(f, "u.csv", "session_id,item_id,timestamp,user_id\n"
                                     "s1,a,1,u1\ns1,c,9,u1\ns1,c,9,u1\ns3,a,1,u1\n"), 0);
    assert_int_equal(f->r.events, 3);
    assert_int_equal(f->r.duplicates, 1);
    assert_int_equal(n_events(f), 6);
    /* --append: everything again */
    f->o.append = 1;
    assert_int_equal(ses(f, "s.csv", three_sessions), 0);
    assert_int_equal(f->r.events, 3);
    assert_int_equal(f->r.duplicates, 0);
    assert_int_equal(n_events(f), 9);
}

static void test_sessions_lines_numbered_on(void **state)
{
    fx *f = *state;
    store_corpus c;

    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    assert_int_equal(ses(f, "a.txt", "a b\nb c\n"), 0);
    assert_int_equal(f->r.first_session, 1);
    assert_int_equal(ses(f, "a.txt", "a b\nb c\n"), -ERR_EXISTS);
    assert_int_equal(ses(f, "b.txt", "a b\n"), 0);   /* the same line in another file */
    assert_int_equal(f->r.first_session, 3);
    assert_int_equal(store_corpus_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n_seq, 3);                       /* sessions 1, 2, 3: none merged */
    assert_string_equal(c.seq_name[2], "3");
    store_corpus_done(&c);
}

static void test_sessions_add_items(void **state)
{
    fx *f = *state;
    store_catalog c;

    /* unknown ids are an error that names --add-items */
    assert_int_equal(ses(f, "a.txt", "x y\ny z\n"), -ERR_NOTFOUND);
    expect_says(&f->e, "a.txt", "--add-items");
    assert_int_equal(n_items(f), 0);
    f->o.add_items = 1;
    /* a bad line creates no item (--skip-bad keeps going) */
    f->o.skip_bad = 1;
    assert_int_equal(ses(f, "a.txt", "x y\nq \xff\ny z\n"), 0);
    assert_int_equal(f->r.items, 3);
    assert_int_equal(f->r.events, 4);
    assert_int_equal(f->r.skipped, 1);
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n, 3);
    for (size_t i = 0; i < c.n; i++) {
        assert_string_equal(c.title[i], c.ext_id[i]);
        assert_string_equal(c.description[i], "");
    }
    store_catalog_done(&c);
}

/* The bar moves on a file whose row count is unknown until its end: the
 * total is estimated from the bytes read (it once stayed at 0% for 790k rows). */
typedef struct prog_seen {
    int mid;              /* a report between 10% and 95% */
    uint64_t last_total;
} prog_seen;

static void on_prog(const progress *p, void *ud)
{
    prog_seen *ps = ud;
    progress_view v;
    progress_snapshot(p, &v);
    if (v.active && v.total) {
        double f = (double)v.done / (double)v.total;
        ps->mid |= f > 0.10 && f < 0.95;
        ps->last_total = v.total;
    }
}

static void test_progress_estimates_total(void **state)
{
    fx *f = *state;
    enum { N = 60000 };
    size_t cap = (size_t)N * 32, n = 0;
    char *buf = malloc(cap);
    prog_seen ps = {0};
    progress p;

    assert_non_null(buf);
    n += (size_t)snprintf(buf, cap, "session_id,item_id,timestamp\n");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(buf + n, cap - n, "s%d,%c,%d\n", i / 5, "abc"[i % 3], i);
    assert_int_equal(cat(f, "c.csv", base_catalog), 0);
    put(f, "big.csv", buf, n);
    progress_init(&p, on_prog, &ps);
    p.min_interval_ms = 0;
    import_report_done(&f->r);
    assert_int_equal(import_sessions(f->s, f->path, NULL, &p, &f->r, &f->e), 0);
    assert_int_equal(f->r.events, N);
    assert_true(ps.mid);
    /* the estimate converges on the real count (rows per byte are even here) */
    assert_true(ps.last_total > N * 0.9 && ps.last_total < N * 1.1);
    free(buf);
}

/* ---- MovieLens ------------------------------------------------------------ */

static void ml_latest_fixture(fx *f)
{
    PUT(f, "movies.csv", "movieId,title,genres\r\n"
                         "1,Toy Story (1995),Adventure|Animation|Children\r\n"
                         "2,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
                         "3,Nothing (2000),(no genres listed)\r\n");
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\r\n"
                          "1,2,4.0,300\r\n"
                          "1,1,2.5,100\r\n"
                          "1,3,5.0,200\r\n"
                          "2,1,3.0,50\r\n");
    PUT(f, "tags.csv", "userId,movieId,tag,timestamp\r\n"
                       "1,1,pixar,1\r\n"
                       "2,1,Pixar,2\r\n"
                       "2,1,fun,3\r\n"
                       "1,3,odd,4\r\n");
}

static void test_movielens_latest(void **state)
{
    fx *f = *state;
    store_catalog c;
    store_corpus k;

    ml_latest_fixture(f);
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), 0);
    assert_string_equal(f->r.format, "ml-latest");
    assert_int_equal(f->r.items, 3);
    assert_int_equal(f->r.events, 4);
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_string_equal(c.ext_id[0], "1");
    assert_string_equal(c.category[0], "Adventure");
    assert_string_equal(c.description[0], "Adventure, Animation, Children. Tags: pixar, fun");
    assert_string_equal(c.title[1], "American President, The (1995)");
    assert_string_equal(c.category[2], "");
    assert_string_equal(c.description[2], "Tags: odd");
    store_catalog_done(&c);
    assert_int_equal(store_corpus_load(f->s, &k, NULL), 0);
    assert_int_equal(k.n_seq, 2);
    assert_int_equal(k.n_users, 2);
    assert_string_equal(k.seq_name[0], "u1");
    assert_string_equal(k.users[0], "u1");
    /* user 1 by time: movie 1 (100), 3 (200), 2 (300) */
    assert_int_equal(k.items[0], 1);
    assert_int_equal(k.items[1], 3);
    assert_int_equal(k.items[2], 2);
    store_corpus_done(&k);
}

static void test_movielens_min_rating(void **state)
{
    fx *f = *state;

    ml_latest_fixture(f);
    f->o.min_rating = 3.0;
    assert_int_equal(import_movielens(f->s, f->dir, &f->o, NULL, &f->r, &f->e), 0);
    assert_int_equal(f->r.events, 3);
    f->o.min_rating = 7;
    assert_int_equal(import_movielens(f->s, f->dir, &f->o, NULL, &f->r, &f->e), -ERR_USAGE);
}

static void test_movielens_100k(void **state)
{
    fx *f = *state;
    store_catalog c;
    store_corpus k;

    PUT(f, "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
                     "2|Caf\xE9 (1996)|01-Jan-1996||http://y|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    PUT(f, "u.data", "7\t2\t4\t881250949\n7\t1\t5\t881250000\n9\t1\t1\t5\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), 0);
    assert_string_equal(f->r.format, "ml-100k");
    assert_int_equal(store_catalog_load(f->s, &c, NULL), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.category[0], "Animation");
    assert_string_equal(c.description[0], "Animation, Children's, Comedy");
    assert_string_equal(c.title[1], "Caf\xC3\xA9 (1996)");   /* latin-1 -> UTF-8 */
    assert_string_equal(c.category[1], "");
    store_catalog_done(&c);
    assert_int_equal(store_corpus_load(f->s, &k, NULL), 0);
    assert_int_equal(k.n_tok, 3);
    assert_string_equal(k.seq_name[0], "u7");
    assert_int_equal(k.items[0], 1);
    assert_int_equal(k.items[1], 2);
    store_corpus_done(&k);
}

static void test_movielens_bad(void **state)
{
    fx *f = *state;
    char p[600];

    ml_latest_fixture(f);
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,300\n-3,1,2.5,100\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    snprintf(p, sizeof p, "%s/ratings.csv", f->dir);
    expect_msg(&f->e, p, ":3: field 'userId': must be a positive id, not -3");
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\n1,99999999999999999999,4.0,3\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, p, ":2: field 'movieId': number out of range");
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,3\n1,42,4.0,3\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_NOTFOUND);
    expect_msg(&f->e, p, ":3: field 'movieId': unknown movie id 42");
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,-1\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, p, ":2: field 'timestamp': negative");
    PUT(f, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,9,1\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_RANGE);
    expect_msg(&f->e, p, ":2: field 'rating': 9 is outside 0..5");
    PUT(f, "movies.csv", "movieId,title,genres\n1,A,Drama\n1,B,Drama\n");
    assert_int_equal(import_movielens(f->s, f->dir, NULL, NULL, &f->r, &f->e), -ERR_EXISTS);
    snprintf(p, sizeof p, "%s/movies.csv", f->dir);
    expect_msg(&f->e, p, ":3: field 'movieId': duplicate movie id 1 (first defined on line 2)");
    assert_int_equal(n_items(f), 0);
    assert_int_equal(import_movielens(f->s, "/nonexistent", NULL, NULL, &f->r, &f->e),
                     -ERR_NOTFOUND);
}

static void test_movielens_real(void **state)
{
    fx *f = *state;
    store_counts c;
    struct stat st;

    if (stat(ML_SMALL "/movies.csv", &st) != 0) {
        test_skip("%s not found (shared datasets absent)", ML_SMALL "/movies.csv");
        return;
    }
    assert_int_equal(import_movielens(f->s, ML_SMALL, NULL, NULL, &f->r, &f->e), 0);
    assert_int_equal(f->r.skipped, 0);
    assert_int_equal(store_counts_get(f->s, &c, NULL), 0);
    assert_int_equal(c.items, 9742);
    assert_int_equal(c.events, 100836);
    assert_int_equal(c.users, 610);
    assert_int_equal(c.sessions, 610);
}

/* ---- out of memory ------------------------------------------------------- */

/* Fails allocation N = 0, 1, 2, ... until the import succeeds: every failure
 * must be ERR_NOMEM with the database unchanged (and, under ASan, no leak). */
static void oom_loop(fx *f, int (*run)(fx *f))
{
    int rc = -1;
    long n;

    for (n = 0; n < 10000 && rc != 0; n++) {
        int64_t items = n_items(f), events = n_events(f);
        import_report_done(&f->r);
        err_clear(&f->e);
        mem_fail_after(n);
        rc = run(f);
        mem_fail_after(-1);
        if (rc != 0) {
            if (rc != -ERR_NOMEM)
                fail_msg("allocation %ld failed: rc %d (%s)", n, rc, f->e.msg);
            assert_int_equal(n_items(f), items);
            assert_int_equal(n_events(f), events);
        }
    }
    assert_int_equal(rc, 0);
    assert_true(n > 1);
}

static int oom_csv(fx *f)
{
    return import_catalog(f->s, "c.csv", &f->o, NULL, &f->r, &f->e);
}
static int oom_jsonl(fx *f)
{
    return import_catalog(f->s, "c.jsonl", &f->o, NULL, &f->r, &f->e);
}
static int oom_sessions(fx *f)
{
    return import_sessions(f->s, "s.csv", &f->o, NULL, &f->r, &f->e);
}
static int oom_lines(fx *f)
{
    return import_sessions(f->s, "s.txt", &f->o, NULL, &f->r, &f->e);
}
static int oom_ml(fx *f)
{
    return import_movielens(f->s, ".", &f->o, NULL, &f->r, &f->e);
}

static void test_out_of_memory(void **state)
{
    fx *f = *state;
    char cwd[512];

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);   /* short relative paths */
    PUT(f, "c.csv", "id,title,price,color\na,\"A, one\",1,red\nb,B,2,\n");
    PUT(f, "c.jsonl", "{\"id\":\"c\",\"title\":\"C\",\"n\":[1,2]}\n");
    PUT(f, "s.csv", "session_id,item_id,timestamp\nx,a,2020-01-01\nx,c,5\n");
    PUT(f, "s.txt", "a b c\nc\n");
    oom_loop(f, oom_csv);
    oom_loop(f, oom_jsonl);
    oom_loop(f, oom_sessions);
    oom_loop(f, oom_lines);
    store_close(f->s);
    err e;
    assert_non_null(f->s = store_open(":memory:", &e));
    ml_latest_fixture(f);
    oom_loop(f, oom_ml);
    assert_int_equal(n_items(f), 3);
    assert_int_equal(chdir(cwd), 0);
}

/* ---- the tests/bad catalogue ---------------------------------------------- */

/* Each file of tests/bad/ with the start of its message (see tests/bad/README.md). */
static void test_bad_catalogue(void **state)
{
    static const struct { const char *kind, *file, *msg; } cases[] = {
        { "catalog", "bad/catalog_bad_utf8.csv", "bad/catalog_bad_utf8.csv:3: field 'title': invalid UTF-8" },
        { "catalog", "bad/catalog_empty.csv", "bad/catalog_empty.csv: file is empty" },
        { "catalog", "bad/catalog_missing_title_col.csv", "bad/catalog_missing_title_col.csv:1: field 'title': required column missing" },
        { "catalog", "bad/catalog_wrong_columns.csv", "bad/catalog_wrong_columns.csv:4: field 'category': missing" },
        { "catalog", "bad/catalog_duplicate_id.csv", "bad/catalog_duplicate_id.csv:5: field 'id': duplicate item id 'B2' (first defined on line 3)" },
        { "catalog", "bad/catalog_duplicate_db.csv", "bad/catalog_duplicate_db.csv:3: field 'id': item id 'P2' is already in the database" },
        { "catalog", "bad/catalog_nul_byte.csv", "bad/catalog_nul_byte.csv:3: field 'description': contains a NUL byte" },
        { "catalog", "bad/catalog_unterminated_quote.csv", "bad/catalog_unterminated_quote.csv:3: unterminated quoted field" },
        { "catalog", "bad/catalog_stray_quote.csv", "bad/catalog_stray_quote.csv:3: field 'title': malformed quoting" },
        { "catalog", "bad/catalog_bad_json.jsonl", "bad/catalog_bad_json.jsonl:2: invalid JSON" },
        { "sessions", "bad/sessions_unknown_item.csv", "bad/sessions_unknown_item.csv:4: field 'item_id': unknown item id 'P999'" },
        { "sessions", "bad/sessions_negative_ts.csv", "bad/sessions_negative_ts.csv:3: field 'timestamp': negative timestamp" },
        { "sessions", "bad/sessions_overflow_ts.csv", "bad/sessions_overflow_ts.csv:2: field 'timestamp': number out of range" },
        { "sessions", "bad/sessions_unknown_item.txt", "bad/sessions_unknown_item.txt:2: field 'item 3': unknown item id 'P999'" },
        { "movielens", "bad/ml_negative_id", "bad/ml_negative_id/ratings.csv:3: field 'userId': must be a positive id" },
        { "movielens", "bad/ml_overflow_id", "bad/ml_overflow_id/movies.csv:3: field 'movieId': number out of range" },
    };
    fx *f = *state;
    struct stat st;

    if (stat("bad/README.md", &st) != 0) {   /* run from tests/ */
        test_skip("bad/README.md not found (not run from tests/)");
        return;
    }
    assert_int_equal(import_catalog(f->s, "bad/catalog_ok.csv", NULL, NULL, &f->r, &f->e), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *before = snapshot(f);
        int rc;
        import_report_done(&f->r);
        err_clear(&f->e);
        if (!strcmp(cases[i].kind, "catalog"))
            rc = import_catalog(f->s, cases[i].file, NULL, NULL, &f->r, &f->e);
        else if (!strcmp(cases[i].kind, "sessions"))
            rc = import_sessions(f->s, cases[i].file, NULL, NULL, &f->r, &f->e);
        else
            rc = import_movielens(f->s, cases[i].file, NULL, NULL, &f->r, &f->e);
        if (rc >= 0 || strncmp(f->e.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("%s: rc %d, message\n  got:  %s\n  want: %s...", cases[i].file, rc,
                     f->e.msg, cases[i].msg);
        char *after = snapshot(f);
        assert_string_equal(before, after);
        free(before);
        free(after);
    }
}

int main(void)
{
    import_global_init();   /* cJSON allocates through mem.h, as in the program */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catalog_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_tsv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_jsonl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_file_reindex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movielens_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movielens_min_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_reimport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_estimates_total, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_lines_numbered_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_add_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movielens_100k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movielens_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_movielens_real, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_catalogue, setup, teardown),
    };
    return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
