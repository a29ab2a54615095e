/* test_demo.c - the demo data generator: reproducibility (also against the
 * committed data/demo files), counts, referential integrity, cold-start and
 * new-arrival items, substitutes vs complements, popularity skew, zh text,
 * RFC 4180 output, sink aborts and out-of-memory handling.
 * Runs with cwd tests/, so the bundled data is ../data/demo. */
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

#include "demo.h"
#include "err.h"
#include "mem.h"

/* ---- a sink that keeps everything (plain malloc: not counted by mem.h) --- */

typedef struct citem {
    char *id, *title, *desc, *cat, *attrs;
    int role;
} citem;

typedef struct cevent {
    char *sid, *uid, *iid;
    int64_t ts;
} cevent;

typedef struct coll {
    citem *items;
    size_t n_items, cap_items;
    cevent *ev;
    size_t n_ev, cap_ev;
    demo_stats st;
} coll;

static char *xdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static int coll_item(void *ud, const char *id, const char *title, const char *desc,
                     const char *cat, const char *attrs, err *e)
{
    coll *c = ud;
    (void)e;
    if (c->n_items == c->cap_items) {
        c->cap_items = c->cap_items ? 2 * c->cap_items : 256;
        c->items = realloc(c->items, c->cap_items * sizeof *c->items);
        assert_non_null(c->items);
    }
    c->items[c->n_items++] = (citem){ xdup(id), xdup(title), xdup(desc), xdup(cat), xdup(attrs),
                                      -1 };
    return 0;
}

static int coll_role(void *ud, const char *id, demo_role role, err *e)
{
    coll *c = ud;
    (void)e;
    assert_string_equal(c->items[c->n_items - 1].id, id);
    c->items[c->n_items - 1].role = (int)role;
    return 0;
}

static int coll_event(void *ud, const char *sid, const char *uid, const char *iid, int64_t ts,
                      err *e)
{
    coll *c = ud;
    (void)e;
    if (c->n_ev == c->cap_ev) {
        c->cap_ev = c->cap_ev ? 2 * c->cap_ev : 1024;
        c->ev = realloc(c->ev, c->cap_ev * sizeof *c->ev);
        assert_non_null(c->ev);
    }
    c->ev[c->n_ev++] = (cevent){ xdup(sid), xdup(uid), xdup(iid), ts };
    return 0;
}

static void coll_free(coll *c)
{
    for (size_t i = 0; i < c->n_items; i++) {
        free(c->items[i].id);
        free(c->items[i].title);
        free(c->items[i].desc);
        free(c->items[i].cat);
        free(c->items[i].attrs);
    }
    for (size_t i = 0; i < c->n_ev; i++) {
        free(c->ev[i].sid);
        free(c->ev[i].uid);
        free(c->ev[i].iid);
    }
    free(c->items);
    free(c->ev);
    memset(c, 0, sizeof *c);
}

static void collect(const demo_opts *o, coll *c)
{
    err e;
    demo_sink s = { .ud = c, .item = coll_item, .event = coll_event, .role = coll_role,
                    .stats = &c->st };
    memset(c, 0, sizeof *c);
    err_clear(&e);
    int rc = demo_generate(o, &s, &e);
    if (rc != 0)
        fail_msg("demo_generate: %d %s", rc, e.msg);
}

static demo_opts small_opts(uint64_t seed)
{
    demo_opts o = demo_opts_default();
    o.n_items = 300;
    o.n_sessions = 400;
    o.seed = seed;
    return o;
}

/* Item index by id "I00001" -> 0 (ids are dense and in order). */
static size_t item_index(const coll *c, const char *iid)
{
    assert_true(iid[0] == 'I');
    size_t i = (size_t)strtoul(iid + 1, NULL, 10);
    assert_true(i >= 1 && i <= c->n_items);
    assert_string_equal(c->items[i - 1].id, iid);
    return i - 1;
}

/* ---- file helpers -------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    if (!x || !y)
        fail_msg("cannot read %s or %s", a, b);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s (%zu bytes) and %s (%zu bytes) differ", a, na, b, nb);
    free(x);
    free(y);
}

static void rm_dir(const char *dir)
{
    char p[512];
    const char *names[] = { "catalog.csv", "sessions.csv" };
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Valid UTF-8 (no overlongs, surrogates or values above U+10FFFF); counts
 * the CJK unified ideographs it contains. */
static int utf8_check(const char *s, size_t *n_cjk)
{
    const unsigned char *p = (const unsigned char *)s;
    *n_cjk = 0;
    while (*p) {
        uint32_t cp;
        int n;
        if (p[0] < 0x80) { cp = p[0]; n = 0; }
        else if ((p[0] & 0xE0) == 0xC0) { cp = p[0] & 0x1F; n = 1; }
        else if ((p[0] & 0xF0) == 0xE0) { cp = p[0] & 0x0F; n = 2; }
        else if ((p[0] & 0xF8) == 0xF0) { cp = p[0] & 0x07; n = 3; }
        else return 0;
        for (int k = 1; k <= n; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        if (cp >= 0x4E00 && cp <= 0x9FFF)
            (*n_cjk)++;
        p += n + 1;
    }
    return 1;
}

/* Minimal RFC 4180 reader: splits one record starting at *pp into fields
 * (unquoted, quotes undoubled) and advances *pp past its line end.  Returns
 * the number of fields, or -1 on a malformed record. */
static int csv_record(const char **pp, char fields[][512], int max)
{
    const char *p = *pp;
    int nf = 0;
    for (;;) {
        size_t n = 0;
        if (nf == max)
            return -1;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    return -1;
                if (*p == '"') {
                    if (p[1] == '"') { fields[nf][n++] = '"'; p += 2; continue; }
                    p++;
                    break;
                }
                fields[nf][n++] = *p++;
                if (n >= 511)
                    return -1;
            }
        } else {
            while (*p && *p != ',' && *p != '\n') {
                if (*p == '"' || *p == '\r')
                    return -1;   /* a bare quote or CR must have been quoted */
                fields[nf][n++] = *p++;
                if (n >= 511)
                    return -1;
            }
        }
        fields[nf++][n] = '\0';
        if (*p == ',') { p++; continue; }
        if (*p == '\n') { p++; break; }
        return -1;   /* every record ends with LF */
    }
    *pp = p;
    return nf;
}

/* ---- tests --------------------------------------------------------------- */

static void test_opts_default_and_check(void **st)
{
    demo_opts o = demo_opts_default();
    demo_lang l;
    err e;
    (void)st;
    assert_int_equal(o.n_items, 2000);
    assert_int_equal(o.n_sessions, 8000);
    assert_true(o.seed == DEMO_DEFAULT_SEED);
    assert_int_equal(o.lang, DEMO_LANG_EN);
    assert_int_equal(demo_opts_check(&o, &e), 0);

    o.n_items = 10;
    assert_int_equal(demo_opts_check(&o, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "items"));
    o = demo_opts_default();
    o.n_sessions = 0;
    assert_int_equal(demo_opts_check(&o, &e), -ERR_RANGE);
    assert_non_null(strstr(e.msg, "sessions"));
    o = demo_opts_default();
    o.cold_frac = 0.4;
    o.new_frac = 0.2;
    assert_int_equal(demo_opts_check(&o, &e), -ERR_RANGE);
    o = demo_opts_default();
    o.n_days = 0;
    assert_int_equal(demo_opts_check(&o, &e), -ERR_RANGE);

    /* demo_generate refuses bad options and missing callbacks too */
    coll c;
    demo_sink s = { .ud = &c, .item = coll_item, .event = coll_event };
    memset(&c, 0, sizeof c);
    o = demo_opts_default();
    o.n_items = 5;
    assert_int_equal(demo_generate(&o, &s, &e), -ERR_RANGE);
    assert_int_equal(c.n_items, 0);
    s.event = NULL;
    assert_int_equal(demo_generate(&o, &s, NULL), -ERR_USAGE);

    assert_int_equal(demo_lang_parse("zh", &l, &e), 0);
    assert_int_equal(l, DEMO_LANG_ZH);
    assert_int_equal(demo_lang_parse("en", &l, &e), 0);
    assert_int_equal(l, DEMO_LANG_EN);
    assert_int_equal(demo_lang_parse("fr", &l, &e), -ERR_USAGE);
    assert_non_null(strstr(e.msg, "fr"));
    assert_string_equal(demo_lang_name(DEMO_LANG_ZH), "zh");
}

/* Same seed, same bytes; and the committed data/demo is what the default
 * options produce. */
static void test_csv_reproducible_and_committed(void **st)
{
    char d1[] = "/tmp/demo_a_XXXXXX", d2[] = "/tmp/demo_b_XXXXXX", d3[] = "/tmp/demo_c_XXXXXX";
    char a[600], b[600];
    demo_opts o = demo_opts_default();
    err e;
    (void)st;
    assert_non_null(mkdtemp(d1));
    assert_non_null(mkdtemp(d2));
    assert_non_null(mkdtemp(d3));
    if (demo_write_csv(&o, d1, &e) != 0 || demo_write_csv(&o, d2, &e) != 0)
        fail_msg("demo_write_csv: %s", e.msg);
    const char *names[] = { "catalog.csv", "sessions.csv" };
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", d1, names[i]);
        snprintf(b, sizeof b, "%s/%s", d2, names[i]);
        assert_same_file(a, b);
        snprintf(b, sizeof b, "../data/demo/%s", names[i]);
        assert_same_file(a, b);
    }
    /* zh: the committed zh catalog, and the very same sessions as en */
    o.lang = DEMO_LANG_ZH;
    if (demo_write_csv(&o, d3, &e) != 0)
        fail_msg("demo_write_csv zh: %s", e.msg);
    snprintf(a, sizeof a, "%s/catalog.csv", d3);
    assert_same_file(a, "../data/demo/zh/catalog.csv");
    snprintf(a, sizeof a, "%s/sessions.csv", d3);
    assert_same_file(a, "../data/demo/sessions.csv");
    rm_dir(d1);
    rm_dir(d2);
    rm_dir(d3);
}

static int same_output(const coll *x, const coll *y)
{
    if (x->n_items != y->n_items || x->n_ev != y->n_ev)
        return 0;
    for (size_t i = 0; i < x->n_items; i++)
        if (strcmp(x->items[i].title, y->items[i].title) || strcmp(x->items[i].desc, y->items[i].desc) ||
            strcmp(x->items[i].cat, y->items[i].cat) || strcmp(x->items[i].attrs, y->items[i].attrs) ||
            x->items[i].role != y->items[i].role)
            return 0;
    for (size_t i = 0; i < x->n_ev; i++)
        if (strcmp(x->ev[i].sid, y->ev[i].sid) || strcmp(x->ev[i].uid, y->ev[i].uid) ||
            strcmp(x->ev[i].iid, y->ev[i].iid) || x->ev[i].ts != y->ev[i].ts)
            return 0;
    return 1;
}

static void test_seed_changes_output(void **st)
{
    coll a, b, c;
    demo_opts o1 = small_opts(1), o2 = small_opts(2);
    size_t same_title = 0, same_ev = 0, n;
    (void)st;
    collect(&o1, &a);
    collect(&o1, &b);
    collect(&o2, &c);
    assert_true(same_output(&a, &b));
    assert_false(same_output(&a, &c));
    /* not just a small change: most titles and event items differ */
    for (size_t i = 0; i < a.n_items; i++)
        same_title += strcmp(a.items[i].title, c.items[i].title) == 0;
    n = a.n_ev < c.n_ev ? a.n_ev : c.n_ev;
    for (size_t i = 0; i < n; i++)
        same_ev += strcmp(a.ev[i].iid, c.ev[i].iid) == 0;
    assert_true(same_title < a.n_items / 10);
    assert_true(same_ev < n / 10);
    coll_free(&a);
    coll_free(&b);
    coll_free(&c);
}

static void test_counts_and_integrity(void **st)
{
    demo_opts o = small_opts(7);
    coll c;
    size_t n_sess = 0, n_users = 0, pairs = 0;
    unsigned char *seen = calloc(o.n_sessions / 4 + 1, 1);
    int64_t span = (int64_t)o.n_days * 86400, prev_start = INT64_MIN;
    (void)st;
    assert_non_null(seen);
    collect(&o, &c);
    assert_int_equal(c.n_items, o.n_items);
    assert_int_equal(c.st.n_items, o.n_items);
    assert_int_equal(c.st.n_events, c.n_ev);
    assert_int_equal(c.st.n_sessions, o.n_sessions);
    for (size_t i = 0; i < c.n_items; i++) {
        char want[32];
        snprintf(want, sizeof want, "I%05zu", i + 1);
        assert_string_equal(c.items[i].id, want);
        assert_true(strlen(c.items[i].title) > 5);
        assert_true(strlen(c.items[i].desc) > 20);
        assert_true(strncmp(c.items[i].attrs, "{\"brand\":\"", 10) == 0);
        assert_non_null(strstr(c.items[i].attrs, "\"price\":"));
    }
    for (size_t i = 0; i < c.n_ev; i++) {
        const cevent *ev = &c.ev[i];
        size_t u = (size_t)strtoul(ev->uid + 1, NULL, 10);
        (void)item_index(&c, ev->iid);   /* every event's item exists */
        assert_true(ev->ts >= o.t0 && ev->ts < o.t0 + span);
        assert_true(u >= 1 && u <= o.n_sessions / 4);
        n_users += !seen[u];
        seen[u] = 1;
        if (i == 0 || strcmp(ev->sid, c.ev[i - 1].sid) != 0) {
            /* a new session: ids count up and start in time order */
            char want[32];
            snprintf(want, sizeof want, "S%06zu", ++n_sess);
            assert_string_equal(ev->sid, want);
            assert_true(ev->ts >= prev_start);
            prev_start = ev->ts;
        } else {
            pairs++;
            assert_true(ev->ts > c.ev[i - 1].ts);                /* time moves on */
            assert_string_equal(ev->uid, c.ev[i - 1].uid);       /* one user per session */
            for (size_t j = i; j > 0 && strcmp(c.ev[j - 1].sid, ev->sid) == 0; j--)
                assert_string_not_equal(c.ev[j - 1].iid, ev->iid);   /* no repeats */
        }
    }
    assert_int_equal(n_sess, o.n_sessions);
    assert_int_equal(pairs, c.st.n_same_cat_pairs + c.st.n_cross_cat_pairs);
    assert_true(c.n_ev >= 3 * o.n_sessions);    /* sessions are a few events long */
    assert_true(c.n_ev <= 8 * o.n_sessions);
    assert_int_equal(n_users, o.n_sessions / 4);   /* every user shops at least once */
    assert_int_equal(c.st.n_users, n_users);
    free(seen);
    coll_free(&c);
}

static void test_cold_and_new_items(void **st)
{
    demo_opts o = demo_opts_default();
    coll c;
    size_t *uses, n_cold = 0, n_new = 0, n_new_seen = 0, n_warm = 0, n_warm_seen = 0;
    int64_t launch = o.t0 + (int64_t)o.n_days * 86400 / 100 * 85;
    (void)st;
    collect(&o, &c);
    uses = calloc(c.n_items, sizeof *uses);
    assert_non_null(uses);
    for (size_t i = 0; i < c.n_ev; i++) {
        size_t it = item_index(&c, c.ev[i].iid);
        int last = i + 1 == c.n_ev || strcmp(c.ev[i + 1].sid, c.ev[i].sid) != 0;
        uses[it]++;
        assert_int_not_equal(c.items[it].role, DEMO_COLD);
        if (c.items[it].role == DEMO_NEW) {
            /* a new arrival: only at the end of a session, after launch, and
             * in that user's last session */
            assert_true(last);
            assert_true(c.ev[i].ts >= launch);
            for (size_t j = i + 1; j < c.n_ev; j++)
                assert_string_not_equal(c.ev[j].uid, c.ev[i].uid);
        }
    }
    for (size_t i = 0; i < c.n_items; i++) {
        switch (c.items[i].role) {
        case DEMO_COLD: n_cold++; assert_int_equal(uses[i], 0); break;
        case DEMO_NEW: n_new++; n_new_seen += uses[i] > 0; break;
        case DEMO_WARM: n_warm++; n_warm_seen += uses[i] > 0; break;
        default: fail_msg("item %s has no role", c.items[i].id);
        }
    }
    assert_int_equal(n_cold, c.st.n_cold);
    assert_int_equal(n_new, c.st.n_new);
    assert_int_equal(n_cold, 200);    /* 10% of each category's 100 items */
    assert_int_equal(n_new, 100);     /* 5% */
    assert_true(n_new_seen >= n_new / 2);
    assert_true(n_warm_seen >= n_warm * 95 / 100);
    free(uses);
    coll_free(&c);
}

/* Index of a category name in names[], adding it if new. */
static int cat_id(char names[][64], int *n, const char *cat)
{
    for (int k = 0; k < *n; k++)
        if (strcmp(names[k], cat) == 0)
            return k;
    assert_true(*n < 64);
    snprintf(names[*n], 64, "%s", cat);
    return (*n)++;
}

static void test_categories_substitutes_complements(void **st)
{
    demo_opts o = demo_opts_default();
    coll c;
    static char names[64][64];
    int n_cat = 0, *item_cat;
    static size_t trans[64][64];
    size_t in_events[64] = { 0 }, same = 0, cross = 0;
    (void)st;
    collect(&o, &c);
    item_cat = malloc(c.n_items * sizeof *item_cat);
    assert_non_null(item_cat);
    for (size_t i = 0; i < c.n_items; i++)
        item_cat[i] = cat_id(names, &n_cat, c.items[i].cat);
    assert_int_equal(n_cat, 20);
    assert_int_equal(c.st.n_categories, 20);
    memset(trans, 0, sizeof trans);
    for (size_t i = 0; i < c.n_ev; i++) {
        int b = item_cat[item_index(&c, c.ev[i].iid)];
        in_events[b]++;
        if (i > 0 && strcmp(c.ev[i].sid, c.ev[i - 1].sid) == 0) {
            int a = item_cat[item_index(&c, c.ev[i - 1].iid)];
            trans[a][b]++;
            if (a == b)
                same++;
            else
                cross++;
        }
    }
    for (int k = 0; k < n_cat; k++)
        if (in_events[k] < 100)
            fail_msg("category %s has only %zu events", names[k], in_events[k]);
    assert_int_equal(same, c.st.n_same_cat_pairs);
    assert_int_equal(cross, c.st.n_cross_cat_pairs);
    /* both kinds of neighbours are common */
    assert_true(same * 4 > same + cross);
    assert_true(cross * 4 > same + cross);

    /* complements follow need order: phone -> case -> charger, laptop -> mouse,
     * coffee maker -> beans -> mug; the reverse and unrelated pairs are rare */
    static const char *chains[][2] = {
        { "smartphone", "phone case" }, { "phone case", "charger" },
        { "charger", "screen protector" }, { "laptop", "mouse" }, { "mouse", "laptop bag" },
        { "coffee maker", "coffee beans" }, { "coffee beans", "mug" },
        { "running shoes", "sports socks" }, { "tent", "sleeping bag" },
        { "tablet", "stylus" }, { "smartwatch", "earbuds" },
    };
    int tent = cat_id(names, &n_cat, "tent"), phone = cat_id(names, &n_cat, "smartphone");
    assert_int_equal(n_cat, 20);
    for (size_t k = 0; k < sizeof chains / sizeof chains[0]; k++) {
        int a = cat_id(names, &n_cat, chains[k][0]), b = cat_id(names, &n_cat, chains[k][1]);
        assert_int_equal(n_cat, 20);
        if (trans[a][b] < 200 || trans[a][b] < 5 * trans[b][a])
            fail_msg("%s -> %s: %zu, reverse %zu", chains[k][0], chains[k][1], trans[a][b],
                     trans[b][a]);
    }
    assert_true(trans[phone][cat_id(names, &n_cat, "phone case")] > 10 * (trans[phone][tent] + 1));
    free(item_cat);
    coll_free(&c);
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_popularity_skew(void **st)
{
    demo_opts o = demo_opts_default();
    coll c;
    size_t *uses, n_seen = 0, top = 0;
    (void)st;
    collect(&o, &c);
    uses = calloc(c.n_items, sizeof *uses);
    assert_non_null(uses);
    for (size_t i = 0; i < c.n_ev; i++)
        uses[item_index(&c, c.ev[i].iid)]++;
    qsort(uses, c.n_items, sizeof *uses, cmp_size_desc);
    while (n_seen < c.n_items && uses[n_seen] > 0)
        n_seen++;
    for (size_t i = 0; i < n_seen / 10; i++)
        top += uses[i];
    /* the top tenth of the items draws at least a quarter of all views,
     * and the most popular item is seen far more often than the median */
    assert_true(top * 4 >= c.n_ev);
    assert_true(uses[0] >= 10 * uses[n_seen / 2]);
    free(uses);
    coll_free(&c);
}

static void test_zh_text(void **st)
{
    demo_opts o = small_opts(3);
    coll en, zh;
    (void)st;
    collect(&o, &en);
    o.lang = DEMO_LANG_ZH;
    collect(&o, &zh);
    assert_int_equal(en.n_items, zh.n_items);
    for (size_t i = 0; i < zh.n_items; i++) {
        size_t n_title = 0, n_desc = 0, n_cat = 0, n_en = 0;
        const citem *it = &zh.items[i];
        if (!utf8_check(it->title, &n_title) || !utf8_check(it->desc, &n_desc) ||
            !utf8_check(it->cat, &n_cat))
            fail_msg("%s: invalid UTF-8", it->id);
        assert_true(n_title >= 2);
        assert_true(n_desc >= 6);
        assert_true(n_cat >= 1);
        assert_non_null(strstr(it->desc, "。"));
        /* en text is valid UTF-8 (°C) without Chinese */
        assert_true(utf8_check(en.items[i].title, &n_en) && n_en == 0);
        assert_true(utf8_check(en.items[i].desc, &n_en) && n_en == 0);
        /* a translation: same id, brand, price and role */
        assert_string_equal(it->id, en.items[i].id);
        assert_string_equal(it->attrs, en.items[i].attrs);
        assert_int_equal(it->role, en.items[i].role);
    }
    /* the language changes words only: identical sessions */
    assert_int_equal(en.n_ev, zh.n_ev);
    for (size_t i = 0; i < en.n_ev; i++) {
        assert_string_equal(en.ev[i].iid, zh.ev[i].iid);
        assert_true(en.ev[i].ts == zh.ev[i].ts);
    }
    coll_free(&en);
    coll_free(&zh);
}

/* catalog.csv parses back, as RFC 4180, into exactly what the sink saw. */
static void test_csv_roundtrip(void **st)
{
    char dir[] = "/tmp/demo_q_XXXXXX", path[600];
    static char f[8][512];
    demo_opts o = small_opts(11);
    coll c;
    size_t len, n_quoted = 0;
    err e;
    (void)st;
    collect(&o, &c);
    assert_non_null(mkdtemp(dir));
    if (demo_write_csv(&o, dir, &e) != 0)
        fail_msg("demo_write_csv: %s", e.msg);
    snprintf(path, sizeof path, "%s/catalog.csv", dir);
    char *buf = slurp(path, &len);
    assert_non_null(buf);
    const char *p = buf;
    assert_int_equal(csv_record(&p, f, 8), 6);
    assert_string_equal(f[0], "id");
    assert_string_equal(f[5], "price");
    for (size_t i = 0; i < c.n_items; i++) {
        char attrs[1200];
        assert_int_equal(csv_record(&p, f, 8), 6);
        assert_string_equal(f[0], c.items[i].id);
        assert_string_equal(f[1], c.items[i].title);
        assert_string_equal(f[2], c.items[i].desc);
        assert_string_equal(f[3], c.items[i].cat);
        snprintf(attrs, sizeof attrs, "{\"brand\":\"%s\",\"price\":%s}", f[4], f[5]);
        assert_string_equal(attrs, c.items[i].attrs);
        n_quoted += strchr(f[1], '"') != NULL || strchr(f[2], '"') != NULL;
    }
    assert_int_equal(*p, '\0');
    assert_true(n_quoted > 0);   /* laptops' 15.6" display exercised "" doubling */
    free(buf);

    snprintf(path, sizeof path, "%s/sessions.csv", dir);
    buf = slurp(path, &len);
    assert_non_null(buf);
    p = buf;
    assert_int_equal(csv_record(&p, f, 8), 4);
    assert_string_equal(f[0], "session_id");
    assert_string_equal(f[3], "user_id");
    for (size_t i = 0; i < c.n_ev; i++) {
        assert_int_equal(csv_record(&p, f, 8), 4);
        assert_string_equal(f[0], c.ev[i].sid);
        assert_string_equal(f[1], c.ev[i].iid);
        assert_true(strtoll(f[2], NULL, 10) == c.ev[i].ts);
        assert_string_equal(f[3], c.ev[i].uid);
    }
    assert_int_equal(*p, '\0');
    free(buf);
    rm_dir(dir);
    coll_free(&c);
}

static void test_write_csv_bad_dir(void **st)
{
    demo_opts o = small_opts(1);
    err e;
    struct stat sb;
    (void)st;
    err_clear(&e);
    assert_int_equal(demo_write_csv(&o, "/nonexistent-demo-parent/x", &e), -ERR_IO);
    assert_non_null(strstr(e.msg, "/nonexistent-demo-parent/x"));
    assert_int_not_equal(stat("/nonexistent-demo-parent/x", &sb), 0);
    assert_int_equal(demo_write_csv(&o, "", &e), -ERR_USAGE);
}

typedef struct abort_ud { int n_items, n_events, stop_item, stop_event; } abort_ud;

static int abort_item(void *ud, const char *id, const char *t, const char *d, const char *c,
                      const char *a, err *e)
{
    abort_ud *u = ud;
    (void)id; (void)t; (void)d; (void)c; (void)a;
    if (++u->n_items == u->stop_item)
        return err_set(e, ERR_CANCEL, "stop");
    return 0;
}

static int abort_event(void *ud, const char *s, const char *u_, const char *i, int64_t ts, err *e)
{
    abort_ud *u = ud;
    (void)s; (void)u_; (void)i; (void)ts; (void)e;
    return ++u->n_events == u->stop_event ? 7 : 0;
}

static void test_sink_abort(void **st)
{
    demo_opts o = small_opts(5);
    abort_ud u = { 0, 0, 5, 0 };
    demo_sink s = { .ud = &u, .item = abort_item, .event = abort_event };
    err e;
    (void)st;
    assert_int_equal(demo_generate(&o, &s, &e), -ERR_CANCEL);
    assert_int_equal(u.n_items, 5);
    assert_int_equal(u.n_events, 0);
    u = (abort_ud){ 0, 0, 0, 10 };
    assert_int_equal(demo_generate(&o, &s, &e), 7);
    assert_int_equal(u.n_items, (int)o.n_items);
    assert_int_equal(u.n_events, 10);
}

static int count_item(void *ud, const char *id, const char *t, const char *d, const char *c,
                      const char *a, err *e)
{
    (void)id; (void)t; (void)d; (void)c; (void)a; (void)e;
    ++*(size_t *)ud;
    return 0;
}

static int count_event(void *ud, const char *s, const char *u, const char *i, int64_t ts, err *e)
{
    (void)s; (void)u; (void)i; (void)ts; (void)e;
    ++*(size_t *)ud;
    return 0;
}

/* Allocation number N fails, for N = 0, 1, 2, ... until generation succeeds:
 * every failure is ERR_NOMEM and nothing leaks (LeakSanitizer in asan runs). */
static void test_out_of_memory(void **st)
{
    demo_opts o = small_opts(9);
    size_t n = 0;
    demo_sink s = { .ud = &n, .item = count_item, .event = count_event };
    int rc = -1, fails = 0;
    err e;
    (void)st;
    for (long k = 0; k < 1000 && rc != 0; k++) {
        n = 0;
        mem_fail_after(k);
        rc = demo_generate(&o, &s, &e);
        mem_fail_after(-1);
        if (rc != 0) {
            assert_int_equal(rc, -ERR_NOMEM);
            assert_non_null(strstr(e.msg, "out of memory"));
            assert_int_equal(n, 0);   /* nothing reaches the sink from a failed build */
            fails++;
        }
    }
    assert_int_equal(rc, 0);
    assert_true(fails > 5);
    assert_true(n > o.n_items);
}

/* EMBEDLAB_DEMO_REGEN=1 rewrites the bundled data/demo from the generator
 * (after a deliberate change to it) before the tests compare against it. */
static int regen_bundled(void)
{
    char tmp[] = "/tmp/demo_zh_XXXXXX", src[600];
    demo_opts o = demo_opts_default();
    err e;
    if (demo_write_csv(&o, "../data/demo", &e) != 0)
        goto fail;
    o.lang = DEMO_LANG_ZH;
    if (!mkdtemp(tmp) || demo_write_csv(&o, tmp, &e) != 0)
        goto fail;
    /* zh shares sessions.csv with en; only its catalog is kept */
    mkdir("../data/demo/zh", 0777);
    snprintf(src, sizeof src, "%s/catalog.csv", tmp);
    if (rename(src, "../data/demo/zh/catalog.csv") != 0)
        return -1;
    rm_dir(tmp);
    return 0;
fail:
    fprintf(stderr, "regenerating data/demo: %s\n", e.msg);
    return -1;
}

int main(void)
{
    const char *regen = getenv("EMBEDLAB_DEMO_REGEN");
    if (regen && strcmp(regen, "1") == 0 && regen_bundled() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_default_and_check),
        cmocka_unit_test(test_csv_reproducible_and_committed),
        cmocka_unit_test(test_seed_changes_output),
        cmocka_unit_test(test_counts_and_integrity),
        cmocka_unit_test(test_cold_and_new_items),
        cmocka_unit_test(test_categories_substitutes_complements),
        cmocka_unit_test(test_popularity_skew),
        cmocka_unit_test(test_zh_text),
        cmocka_unit_test(test_csv_roundtrip),
        cmocka_unit_test(test_write_csv_bad_dir),
        cmocka_unit_test(test_sink_abort),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("demo", tests, NULL, NULL);
}
