/* cmd_data.c - commands that look at the data: show, items, sessions. */
#include "cmd_int.h"
#include "mem.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Does item row r match every key=value filter in a?  category, title
 * substring (title~) and any attribute of the attrs JSON object. */
static int item_matches(const store_catalog *c, size_t r, const cmd_args *a)
{
    cJSON *attrs = NULL;
    int ok = 1;

    for (int i = 0; i < a->n_kv && ok; i++) {
        const char *k = a->key[i], *v = a->val[i];
        if (!v || strcmp(k, "limit") == 0)
            continue;
        if (strcmp(k, "category") == 0) {
            ok = strcmp(c->category[r], v) == 0;
        } else if (strcmp(k, "title") == 0) {
            ok = strstr(c->title[r], v) != NULL;
        } else {
            if (!attrs && c->attrs[r])
                attrs = cJSON_Parse(c->attrs[r]);
            cJSON *f = attrs ? cJSON_GetObjectItemCaseSensitive(attrs, k) : NULL;
            if (!f)
                ok = 0;
            else if (cJSON_IsString(f))
                ok = strcmp(f->valuestring, v) == 0;
            else if (cJSON_IsNumber(f))
                ok = f->valuedouble == strtod(v, NULL);
            else if (cJSON_IsBool(f))
                ok = (cJSON_IsTrue(f) != 0) == (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
            else
                ok = 0;
        }
    }
    cJSON_Delete(attrs);
    return ok;
}

static int c_items(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_catalog *c = lab_catalog(L, e);
    long limit;
    size_t shown = 0, matched = 0;
    table *t;
    int rc;

    if (!c)
        return -e->code;
    if ((rc = cmd_long(a, "limit", 20, 0, 1000000, &limit, e)))
        return rc;
    t = cmd_table(out, "items");
    if (!t || table_col(t, "id", 0) || table_col(t, "title", 0) || table_col(t, "category", 0))
        return cmd_nomem(e);
    for (size_t r = 0; r < c->n; r++) {
        if (!item_matches(c, r, a))
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
    table_set_kind(t, "item");
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
    if (a->argc == 1)
        return err_set(e, ERR_USAGE, "usage: sessions [stats] [user=USER] [limit=N]");
    if ((rc = cmd_long(a, "limit", 10, 0, 1000000, &limit, e)))
        return rc;
    if (!lab_catalog(L, e))
        return -e->code;
    t = cmd_table(out, "sessions");
    if (!t || table_col(t, "session", 0) || table_col(t, "user", 0) ||
        table_col(t, "length", 1) || table_col(t, "items", 0))
        return cmd_nomem(e);
    for (size_t s = 0; s < sc->n_seq && shown < (size_t)limit; s++) {
        const char *u = sc->seq_user[s] >= 0 ? sc->users[sc->seq_user[s]] : "";
        char buf[256];
        size_t o = 0;
        if (user && strcmp(u, user) != 0)
            continue;
        buf[0] = '\0';
        for (size_t i = sc->off[s]; i < sc->off[s + 1] && o < sizeof buf - 16; i++) {
            long r = lab_find_id(L, sc->items[i]);
            int w = snprintf(buf + o, sizeof buf - o, "%s%s", o ? " " : "",
                             r >= 0 ? L->cat.ext_id[r] : "?");
            if (w < 0 || (size_t)w >= sizeof buf - o) {
                snprintf(buf + o, sizeof buf - o, " ...");
                break;
            }
            o += (size_t)w;
        }
        if (table_row(t) || table_str(t, sc->seq_name[s]) || table_str(t, u) ||
            table_int(t, (int64_t)(sc->off[s + 1] - sc->off[s])) || table_str(t, buf))
            return cmd_nomem(e);
        shown++;
    }
    if (table_note(t, "%zu of %zu sessions shown", shown, sc->n_seq))
        return cmd_nomem(e);
    return 0;
}

const cmd_def cmd_defs_data[] = {
    {"items", c_items, "items [category=C] [title=WORD] [ATTR=VALUE] [limit=20]",
     "List catalog items, filtered by category, a word of the title, or any attribute.",
     "limit= category= title= *=", 0, 0},
    {"show", c_show, "show ITEM",
     "Show one item: title, category, description, attributes, how many events mention it.",
     "", 1, 1},
    {"sessions", c_sessions, "sessions [stats] [user=USER] [limit=10]",
     "List sessions (item ids in order), or `sessions stats` for lengths and popularity.",
     "user= limit=", 0, 1},
    {NULL, NULL, NULL, NULL, NULL, 0, 0},
};
