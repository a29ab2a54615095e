/* cmd_data.c - commands that bring data in (load, gen demo) and look at it
 * (show, items, sessions).  Every load is one transaction in the importer;
 * afterwards the lab's caches are dropped so the next command sees it. */
#include "cmd_int.h"
#include "demo.h"
#include "hmap.h"
#include "import.h"
#include "mem.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int c_items(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_catalog *c = lab_catalog(L, e);
    long limit;
    size_t shown = 0, matched = 0;
    table *t;
    int rc;

    if (!c)
        return -e->code;
    if ((rc = cmd_opt_long(a, "limit", &limit, e)))
        return rc;
    t = cmd_table(out, "items");
    if (!t || table_col(t, "id", 0) || table_col(t, "title", 0) || table_col(t, "category", 0))
        return cmd_nomem(e);
    for (size_t r = 0; r < c->n; r++) {
        if (!cmd_item_matches(c, r, a))
            continue;
        matched++;
        if (shown < (size_t)limit) {
            if (table_row(t) || table_str(t, c->ext_id[r]) || table_str(t, c->title[r]) ||
                table_str(t, c->category[r]))
                return cmd_nomem(e);
            shown++;
        }
    }
    if (table_note(t, "%zu of %zu matching items shown", shown, matched))
        return cmd_nomem(e);
    return 0;
}

typedef struct delete_ctx {
    lab *L;
    table_list *out;
} delete_ctx;

/* The outcome, made inside the transaction (lab_delete_items): a failure
 * to report rolls the deletion back, so a command that fails changed nothing. */
static int delete_report(void *ud, const lab_delete_report *r, err *e)
{
    delete_ctx *o = ud;
    char msg[320];

    table *t = table_list_msg(o->out, "deleted %zu item%s and %lld event%s", r->n_items,
                              r->n_items == 1 ? "" : "s", (long long)r->n_events,
                              r->n_events == 1 ? "" : "s");
    if (!t || table_fields(t, "items", (double)r->n_items, "events", (double)r->n_events, NULL))
        return cmd_nomem(e);
    for (size_t j = 0; j < r->n_models; j++)
        if (!strchr(r->models[j].name, '#') &&
            lab_ix_report_text(o->L, &r->models[j].ix, r->models[j].name, msg, sizeof msg) > 0 &&
            !table_list_msg(o->out, "%s", msg))
            return cmd_nomem(e);
    return 0;
}

/* delete item ID...: lab_delete_items does the cascade in one transaction. */
static int c_delete_item(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_catalog *c = lab_catalog(L, e);
    int64_t ids[CMD_MAX_ARGS];
    size_t n = 0, n_before = out->n;
    lab_delete_report r;
    delete_ctx o = {L, out};
    int rc;

    if (!c)
        return -e->code;
    for (int i = 0; i < a->argc; i++) {
        long row = lab_resolve_item(L, a->argv[i], e);
        size_t j = 0;
        if (row < 0)
            return -e->code;
        while (j < n && ids[j] != c->ids[row])
            j++;
        if (j == n)
            ids[n++] = c->ids[row];
    }
    rc = lab_delete_items(L, ids, n, delete_report, &o, &r, e);
    if (rc) {   /* the report's tables, if any, describe what did not happen */
        while (out->n > n_before)
            table_free(out->t[--out->n]);
        return rc;
    }
    lab_delete_report_done(&r);
    return 0;
}

static int c_show(lab *L, const cmd_args *a, table_list *out, err *e)
{
    long r = lab_resolve_item(L, a->argv[0], e);
    const store_catalog *c = &L->cat;
    int64_t n_ev = 0;
    table *t;
    int rc;

    if (r < 0)
        return -e->code;
    if ((rc = store_item_event_count(L->db, c->ids[r], &n_ev, e)))
        return rc;
    t = cmd_table(out, c->ext_id[r]);
    if (!t || table_col(t, "field", 0) || table_col(t, "value", 0))
        return cmd_nomem(e);
    table_set_kind(t, TABLE_ITEM);
    if (table_row(t) || table_str(t, "id") || table_str(t, c->ext_id[r]) ||
        table_row(t) || table_str(t, "title") || table_str(t, c->title[r]) ||
        table_row(t) || table_str(t, "category") || table_str(t, c->category[r]) ||
        table_row(t) || table_str(t, "description") || table_str(t, c->description[r]) ||
        table_row(t) || table_str(t, "events") || table_int(t, n_ev))
        return cmd_nomem(e);
    if (c->attrs[r]) {
        cJSON *j = cJSON_Parse(c->attrs[r]), *f;
        cJSON_ArrayForEach(f, j) {
            char *v = cJSON_IsString(f) ? NULL : cJSON_PrintUnformatted(f);
            int bad = table_row(t) || table_str(t, f->string ? f->string : "") ||
                      table_str(t, v ? v : f->valuestring);
            cJSON_free(v);
            if (bad) {
                cJSON_Delete(j);
                return cmd_nomem(e);
            }
        }
        cJSON_Delete(j);
    }
    if (n_ev == 0 && table_note(t, "cold start: this item appears in no session"))
        return cmd_nomem(e);
    return 0;
}

static int cmp_size(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return (a > b) - (a < b);
}

static int sessions_stats(lab *L, const store_corpus *sc, table_list *out, err *e)
{
    const store_catalog *c = lab_catalog(L, e);
    size_t *len = NULL, *pop = NULL, n_cold = 0, n_seen = 0;
    table *t;

    if (!c)
        return -e->code;
    len = mem_calloc(sc->n_seq + 1, sizeof *len);
    pop = mem_calloc(c->n + 1, sizeof *pop);
    if (!len || !pop)
        goto nomem;
    for (size_t i = 0; i < sc->n_seq; i++)
        len[i] = sc->off[i + 1] - sc->off[i];
    for (size_t i = 0; i < sc->n_tok; i++) {
        long r = lab_find_id(L, sc->items[i]);
        if (r >= 0)
            pop[r]++;
    }
    for (size_t r = 0; r < c->n; r++)
        pop[r] ? n_seen++ : n_cold++;
    qsort(len, sc->n_seq, sizeof *len, cmp_size);
    t = cmd_table(out, "sessions");
    if (!t || table_col(t, "statistic", 0) || table_col(t, "value", 1))
        goto nomem;
#define ROWN(k, v, d) (table_row(t) || table_str(t, k) || table_num(t, v, d))
    if (ROWN("sessions", (double)sc->n_seq, 0) || ROWN("events", (double)sc->n_tok, 0) ||
        ROWN("users", (double)sc->n_users, 0) ||
        ROWN("mean length", sc->n_seq ? (double)sc->n_tok / sc->n_seq : 0, 2) ||
        ROWN("median length", sc->n_seq ? (double)len[sc->n_seq / 2] : 0, 0) ||
        ROWN("max length", sc->n_seq ? (double)len[sc->n_seq - 1] : 0, 0) ||
        ROWN("items in sessions", (double)n_seen, 0) ||
        ROWN("cold-start items", (double)n_cold, 0))
        goto nomem;
#undef ROWN
    /* The five most popular items show the skew. */
    t = cmd_table(out, "most frequent items");
    if (!t || table_col(t, "id", 0) || table_col(t, "title", 0) || table_col(t, "events", 1))
        goto nomem;
    for (int k = 0; k < 5; k++) {
        size_t best = SIZE_MAX;
        for (size_t r = 0; r < c->n; r++)
            if (pop[r] && (best == SIZE_MAX || pop[r] > pop[best]))
                best = r;
        if (best == SIZE_MAX)
            break;
        if (table_row(t) || table_str(t, c->ext_id[best]) || table_str(t, c->title[best]) ||
            table_int(t, (int64_t)pop[best]))
            goto nomem;
        pop[best] = 0;
    }
    mem_free(len);
    mem_free(pop);
    return 0;
nomem:
    mem_free(len);
    mem_free(pop);
    return cmd_nomem(e);
}

static int c_sessions(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_corpus *sc = lab_corpus(L, e);
    const char *user = cmd_str(a, "user", NULL);
    long limit;
    size_t shown = 0;
    table *t;
    int rc;

    if (!sc)
        return -e->code;
    if (a->argc == 1 && strcmp(a->argv[0], "stats") == 0)
        return sessions_stats(L, sc, out, e);
    if (a->argc == 1) {
        char u[256];
        return err_set(e, ERR_USAGE, "usage: %s", cmd_usage(a->def, u, sizeof u));
    }
    if ((rc = cmd_opt_long(a, "limit", &limit, e)))
        return rc;
    if (!lab_catalog(L, e))
        return -e->code;
    t = cmd_table(out, "sessions");
    if (!t || table_col(t, "session", 0) || table_col(t, "user", 0) ||
        table_col(t, "length", 1) || table_col(t, "items", 0))
        return cmd_nomem(e);
    for (size_t s = 0; s < sc->n_seq && shown < (size_t)limit; s++) {
        const char *u = sc->seq_user[s] >= 0 ? sc->users[sc->seq_user[s]] : "";
        size_t o = 0, cap = 1;
        char *buf;
        if (user && strcmp(u, user) != 0)
            continue;
        for (size_t i = sc->off[s]; i < sc->off[s + 1]; i++) {   /* the whole session */
            long r = lab_find_id(L, sc->items[i]);
            cap += strlen(r >= 0 ? L->cat.ext_id[r] : "?") + 1;
        }
        if (!(buf = mem_alloc(cap)))
            return cmd_nomem(e);
        buf[0] = '\0';
        for (size_t i = sc->off[s]; i < sc->off[s + 1]; i++) {
            long r = lab_find_id(L, sc->items[i]);
            o += (size_t)sprintf(buf + o, "%s%s", o ? " " : "", r >= 0 ? L->cat.ext_id[r] : "?");
        }
        int bad = table_row(t) || table_str(t, sc->seq_name[s]) || table_str(t, u) ||
                  table_int(t, (int64_t)(sc->off[s + 1] - sc->off[s])) || table_str(t, buf);
        mem_free(buf);
        if (bad)
            return cmd_nomem(e);
        shown++;
    }
    if (table_note(t, "%zu of %zu sessions shown", shown, sc->n_seq))
        return cmd_nomem(e);
    return 0;
}

static int report_table(table_list *out, const char *what, const char *path,
                        const import_opts *o, const import_report *r, err *e)
{
    table *t = cmd_table(out, "");
    if (!t || table_note(t, "%s %s (%s): %lld rows, %lld items, %lld events imported", what,
                         path, r->format, (long long)r->rows, (long long)r->items,
                         (long long)r->events) ||
        table_fields(t, "rows", (double)r->rows, "items", (double)r->items, "events",
                     (double)r->events, "skipped", (double)r->skipped, "duplicates",
                     (double)r->duplicates, NULL))
        return cmd_nomem(e);
    if (o->add_items && r->items &&
        table_note(t, "%lld unknown item ids became items (the id as title, no text)",
                   (long long)r->items))
        return cmd_nomem(e);
    if (r->duplicates &&
        table_note(t, "%lld events were stored already (same session, item and time) and "
                   "were skipped; --append imports such events again",
                   (long long)r->duplicates))
        return cmd_nomem(e);
    if (r->first_session > 1 && !strcmp(r->format, "lines") &&
        table_note(t, "sessions numbered from %lld on (one per line, after the sessions "
                   "already stored)", (long long)r->first_session))
        return cmd_nomem(e);
    if (o->skip_bad && r->skipped) {
        if (table_note(t, "%lld bad rows skipped; the first %zu:", (long long)r->skipped,
                       r->n_bad))
            return cmd_nomem(e);
        for (size_t i = 0; i < r->n_bad; i++)
            if (table_note(t, "  %s", r->bad[i]))
                return cmd_nomem(e);
    }
    return 0;
}

typedef int (*import_fn)(store *, const char *, const import_opts *, progress *,
                         import_report *, err *);

static int run_import(lab *L, const cmd_args *a, table_list *out, err *e, import_fn fn,
                      const char *what)
{
    import_opts o;
    import_report r;
    int rc;

    import_opts_default(&o);
    o.format = cmd_str(a, "format", NULL);
    o.skip_bad = cmd_flag(a, "skip_bad");
    o.append = cmd_flag(a, "append");
    o.add_items = cmd_flag(a, "add_items");
    if (opt_find(a->def->opts, "min_rating") &&
        (rc = cmd_opt_double(a, "min_rating", &o.min_rating, e)))
        return rc;
    memset(&r, 0, sizeof r);
    rc = fn(L->db, a->argv[0], &o, &L->prog, &r, e);
    progress_end(&L->prog);
    lab_invalidate(L);
    if (rc == 0)
        rc = report_table(out, what, a->argv[0], &o, &r, e);
    else if (rc == -ERR_CANCEL)
        err_set(e, ERR_CANCEL, "load cancelled: nothing was imported");
    import_report_done(&r);
    return rc;
}

/* After new items arrive, a text model made earlier lacks their vectors:
 * say how to add just those (the index then takes them as inserts). */
static int hint_new_items(lab *L, table_list *out, err *e)
{
    store_model m;
    store_counts c;

    if (store_model_get(L->db, "text", &m, NULL))
        return 0;
    int rc = store_counts_get(L->db, &c, NULL);
    int64_t n_vec = m.n_vectors;
    store_model_done(&m);
    if (rc == 0 && c.items > n_vec &&
        !table_list_msg(out, "%lld items have no text vector: `encode text --new` adds them",
                        (long long)(c.items - n_vec)))
        return cmd_nomem(e);
    return 0;
}

static int c_load_catalog(lab *L, const cmd_args *a, table_list *out, err *e)
{
    int rc = run_import(L, a, out, e, import_catalog, "catalog");
    return rc ? rc : hint_new_items(L, out, e);
}

static int c_load_sessions(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return run_import(L, a, out, e, import_sessions, "sessions");
}

static int c_load_movielens(lab *L, const cmd_args *a, table_list *out, err *e)
{
    int rc = run_import(L, a, out, e, import_movielens, "movielens");
    return rc ? rc : hint_new_items(L, out, e);
}

/* gen demo writes through this sink straight into the store. */
typedef struct gen_sink {
    lab *L;
    int64_t n_items, n_events;
    hmap rowids;            /* ext id ("P0001"...) -> rowid */
} gen_sink;

static int gen_item(void *ud, const char *id, const char *title, const char *desc,
                    const char *cat, const char *attrs, err *e)
{
    gen_sink *g = ud;
    store_item it = {.ext_id = id, .title = title, .description = desc, .category = cat,
                     .attrs = attrs};
    int64_t rid;
    int rc = store_item_insert(g->L->db, &it, &rid, e);
    if (rc)
        return rc;
    if (!hmap_add_str(&g->rowids, id, strlen(id), rid, NULL))
        return err_set(e, ERR_NOMEM, "out of memory");
    g->n_items++;
    return 0;
}

static int gen_event(void *ud, const char *sess, const char *user, const char *item, int64_t ts,
                     err *e)
{
    gen_sink *g = ud;
    const int64_t *rid = hmap_get_str(&g->rowids, item, strlen(item));
    if (!rid)
        return err_set(e, ERR_NOTFOUND, "generator produced unknown item '%s'", item);
    g->n_events++;
    if ((g->n_events & 4095) == 0 && progress_update(&g->L->prog, (uint64_t)g->n_events))
        return err_set(e, ERR_CANCEL, "cancelled");
    return store_event_insert(g->L->db, sess, user, *rid, ts, e);
}

static int c_gen_demo(lab *L, const cmd_args *a, table_list *out, err *e)
{
    demo_opts o = demo_opts_default();
    const char *dir = cmd_str(a, "out", NULL), *lang = cmd_str(a, "lang", "en");
    gen_sink g = {.L = L};
    demo_stats st;
    demo_sink sink = {.ud = &g, .item = gen_item, .event = gen_event, .stats = &st};
    long items = (long)o.n_items, sessions = (long)o.n_sessions, seed = (long)o.seed;
    int rc;

    if ((rc = cmd_opt_long(a, "items", &items, e)) ||
        (rc = cmd_opt_long(a, "sessions", &sessions, e)) ||
        (rc = cmd_opt_long(a, "seed", &seed, e)) ||
        (rc = demo_lang_parse(lang, &o.lang, e)))
        return rc;
    o.n_items = (size_t)items;
    o.n_sessions = (size_t)sessions;
    o.seed = (uint64_t)seed;
    if ((rc = demo_opts_check(&o, e)))
        return rc;
    if (dir) {
        if ((rc = demo_write_csv(&o, dir, e)))
            return rc;
        return table_list_msg(out, "wrote %s/catalog.csv and %s/sessions.csv (seed %ld, %s)",
                              dir, dir, seed, demo_lang_name(o.lang)) ? 0 : cmd_nomem(e);
    }
    if ((rc = store_begin(L->db, e)))
        goto done;
    progress_begin(&L->prog, "gen demo", "events", 0);
    rc = demo_generate(&o, &sink, e);
    progress_end(&L->prog);
    if (rc) {
        store_rollback(L->db);
        if (rc == -ERR_EXISTS)
            err_prefix(e, "gen demo: the database already has items with the demo's ids");
        goto done;
    }
    if ((rc = store_commit(L->db, e)))
        goto done;
    lab_invalidate(L);
    table *t = table_list_msg(out, "generated %lld items (%zu cold start) in %zu categories, "
                              "%zu sessions, %zu events (seed %ld, %s)",
                              (long long)g.n_items, st.n_cold, st.n_categories, st.n_sessions,
                              st.n_events, seed, demo_lang_name(o.lang));
    if (!t || table_fields(t, "items", (double)g.n_items, "cold_items", (double)st.n_cold,
                           "categories", (double)st.n_categories, "sessions",
                           (double)st.n_sessions, "events", (double)st.n_events, NULL))
        rc = cmd_nomem(e);
done:
    hmap_done(&g.rowids);
    return rc;
}

static const opt_def catalog_opts[] = {
    {.name = "format", .type = OPT_STR, .arg = "csv|tsv|jsonl", .flags = OPT_DASHED,
     .help = "file format (default: from the name)"},
    {.name = "skip_bad", .type = OPT_FLAG, .help = "skip bad rows, listing the first ones"},
    {0},
};

static const opt_def sessions_opts[] = {
    {.name = "format", .type = OPT_STR, .arg = "csv|tsv|lines", .flags = OPT_DASHED,
     .help = "file format (default: from the name)"},
    {.name = "skip_bad", .type = OPT_FLAG, .help = "skip bad rows, listing the first ones"},
    {.name = "add_items", .type = OPT_FLAG,
     .help = "an unknown item id becomes an item (the id as title, no text)"},
    {.name = "append", .type = OPT_FLAG,
     .help = "import even a file or events stored already"},
    {0},
};

static const opt_def movielens_opts[] = {
    {.name = "min_rating", .type = OPT_REAL, .min = 0, .max = 10, .def = "0", .arg = "R",
     .flags = OPT_DASHED, .help = "ratings below R are left out"},
    {.name = "skip_bad", .type = OPT_FLAG, .help = "skip bad rows, listing the first ones"},
    {0},
};

static const opt_def gen_opts[] = {
    {.name = "items", .type = OPT_INT, .min = DEMO_MIN_ITEMS, .max = DEMO_MAX_ITEMS, .arg = "N",
     .flags = OPT_DASHED, .help = "catalog size"},
    {.name = "sessions", .type = OPT_INT, .min = 1, .max = DEMO_MAX_SESSIONS, .arg = "N",
     .flags = OPT_DASHED, .help = "sessions generated"},
    {.name = "seed", .type = OPT_INT, .min = 0, .max = 0x7fffffffL, .arg = "S",
     .flags = OPT_DASHED, .help = "random seed"},
    {.name = "lang", .type = OPT_STR, .arg = "en|zh", .flags = OPT_DASHED, .help = "language"},
    {.name = "out", .type = OPT_STR, .arg = "DIR", .flags = OPT_DASHED,
     .help = "write CSV files there instead"},
    {0},
};

static const opt_def items_opts[] = {
    {.name = "limit", .type = OPT_INT, .min = 0, .max = 1000000, .def = "20",
     .help = "rows shown"},
    {0},
};

static const opt_def sessions_list_opts[] = {
    {.name = "user", .type = OPT_STR, .arg = "USER", .help = "only this user's sessions"},
    {.name = "limit", .type = OPT_INT, .min = 0, .max = 1000000, .def = "10",
     .help = "rows shown"},
    {0},
};

const cmd_def cmd_defs_data[] = {
    {.name = "load catalog", .fn = c_load_catalog, .usage = "load catalog FILE",
     .help = "Import items (CSV/TSV with columns id,title,description,category and any others "
     "as attributes, or JSONL). One transaction: a bad row names FILE:LINE and field and "
     "nothing is imported, unless --skip-bad.",
     .min_pos = 1, .max_pos = 1, .opts = catalog_opts},
    {.name = "load sessions", .fn = c_load_sessions, .usage = "load sessions FILE",
     .help = "Import events: CSV session_id,item_id[,timestamp][,user_id], or one session per "
     "line with space-separated item ids (sessions numbered by line, after those of an earlier "
     "such file). Item ids must exist in the catalog; --add-items makes an unknown id a bare "
     "item (the id as title, no text), so Item2Vec works on click logs alone. A file imported "
     "before is refused, and so are events stored already (same session, item and time): "
     "some are skipped and counted, all refuse the file. --append imports them anyway.",
     .min_pos = 1, .max_pos = 1, .opts = sessions_opts},
    {.name = "load movielens", .fn = c_load_movielens, .usage = "load movielens DIR",
     .help = "Import a MovieLens folder (ml-latest-small or ml-100k): movies become items, each "
     "user's ratings in time order become that user's session. Every rating is kept unless "
     "--min-rating R is given (default 0); --min-rating 4 keeps ratings of 4 and above.",
     .min_pos = 1, .max_pos = 1, .opts = movielens_opts},
    {.name = "gen demo", .fn = c_gen_demo, .usage = "gen demo",
     .help = "Generate the synthetic demo shop (see data/demo/README.md) into the database, or "
     "as CSV files into DIR.", .opts = gen_opts},
    {.name = "items", .fn = c_items, .usage = "items",
     .help = "List catalog items, filtered by category, a word of the title, or any attribute.",
     .opts = items_opts, .opts2 = cmd_filter_opts, .flags = CMD_ATTRS},
    {.name = "delete item", .fn = c_delete_item, .usage = "delete item ITEM [ITEM...]",
     .help = "Remove items from the catalog with their events and their vectors in every "
     "model. Indexes tombstone them (never returned again; `index info` counts them). One "
     "transaction: all or nothing.",
     .min_pos = 1, .max_pos = CMD_MAX_ARGS, .opts = cmd_no_opts},
    {.name = "show", .fn = c_show, .usage = "show ITEM",
     .help = "Show one item: title, category, description, attributes, how many events "
     "mention it.", .min_pos = 1, .max_pos = 1, .opts = cmd_no_opts},
    {.name = "sessions", .fn = c_sessions, .usage = "sessions [stats]",
     .help = "List sessions (item ids in order), or `sessions stats` for lengths and "
     "popularity.", .min_pos = 0, .max_pos = 1, .opts = sessions_list_opts},
    {0},
};
