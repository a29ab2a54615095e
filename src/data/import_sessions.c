/* import_sessions.c - session (event) import: CSV/TSV with a header
 * session_id,item_id[,timestamp][,user_id] (one event per row, extra columns
 * ignored), or "lines": one session per line, item ids separated by white
 * space, the line number as session id.
 *
 * Item ids are resolved through the in-memory id map built once per import,
 * never a SELECT per event; events go through store.c's cached INSERT inside
 * the import's single transaction.  A "lines" session is checked whole before
 * any of its events is inserted, so a skipped line leaves no partial session.
 *
 * Re-imports: a file's fingerprint (imp_fingerprint) is kept in meta
 * "sessions_file:HEX", so the same file again is refused before anything
 * is read; and a CSV event identical to a stored one (session, item,
 * timestamp) is skipped and counted, so a log exported again with a few
 * new rows adds just those, and one adding nothing is refused.  --append
 * turns both checks off.  The stored events' keys are read once into an
 * in-memory set (hmap) when the database has events.
 */
#include "import_int.h"
#include "mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* What one sessions import keeps besides imp_ctx. */
typedef struct sess_ctx {
    int cols[4];        /* CSV: session, item, timestamp, user columns */
    hmap seen;          /* keys of the events stored before this import */
    int check;          /* compare events with `seen` */
    int64_t first;      /* "lines": number of the first session */
    char *key;          /* event key buffer */
    size_t key_cap;
} sess_ctx;

static const char *const col_sess[] = { "session_id", "session", "sessionid", NULL };
static const char *const col_item[] = { "item_id", "item", "itemid", NULL };
static const char *const col_ts[] = { "timestamp", "ts", "time", "datetime", "date", NULL };
static const char *const col_user[] = { "user_id", "user", "userid", NULL };

static int unknown_item(imp_ctx *x, const char *path, int64_t line, const char *field,
                        const char *id, size_t len)
{
    return err_set(x->e, ERR_NOTFOUND, "%s:%lld: field '%s': unknown item id '%.*s' (not in "
                   "the catalog; load the catalog first, or --add-items)", path,
                   (long long)line, field, imp_clip(id, len, 80), id);
}

/* The item rowid of id, or with add_items a new bare item: the id as its
 * title, no description or category. */
static int resolve_item(imp_ctx *x, const char *path, int64_t line, const char *field,
                        const char *id, size_t len, int64_t *out)
{
    const int64_t *rowid = imp_map_get(&x->ids, id, len);
    char *copy;
    int rc;

    if (rowid) {
        *out = *rowid;
        return 0;
    }
    if (!x->o->add_items)
        return unknown_item(x, path, line, field, id, len);
    if (!(copy = mem_alloc(len + 1)))
        return err_set(x->e, ERR_NOMEM, "%s: out of memory", path);
    memcpy(copy, id, len);
    copy[len] = '\0';
    store_item it = {.ext_id = copy, .title = copy, .description = "", .category = ""};
    rc = store_item_insert(x->s, &it, out, x->e);
    mem_free(copy);
    if (rc) {
        err_prefix(x->e, "%s:%lld", path, (long long)line);
        return rc;
    }
    if (imp_map_put(&x->ids, id, len, *out, line))
        return err_set(x->e, ERR_NOMEM, "%s: out of memory", path);
    x->r->items++;
    return 0;
}

/* session, a 0 byte, item and ts as 8 bytes each: one event's identity. */
static int event_key(sess_ctx *sc, const char *sess, size_t slen, int64_t item, int64_t ts,
                     size_t *len)
{
    *len = slen + 1 + 16;
    if (mem_grow(&sc->key, &sc->key_cap, *len, 1))
        return -ERR_NOMEM;
    memcpy(sc->key, sess, slen);
    sc->key[slen] = '\0';
    memcpy(sc->key + slen + 1, &item, 8);
    memcpy(sc->key + slen + 9, &ts, 8);
    return 0;
}

static int seen_add(void *ud, const char *sess, int64_t item, int64_t ts)
{
    sess_ctx *sc = ud;
    size_t len;
    if (event_key(sc, sess, strlen(sess), item, ts, &len) ||
        !hmap_add_str(&sc->seen, sc->key, len, 0, NULL))
        return -ERR_NOMEM;
    return 0;
}

/* 1 when the event is stored already (and not --append): skip it. */
static int already_stored(imp_ctx *x, sess_ctx *sc, const char *sess, int64_t item, int64_t ts)
{
    size_t len;
    if (!sc->check)
        return 0;
    if (event_key(sc, sess, strlen(sess), item, ts, &len))
        return err_set(x->e, ERR_NOMEM, "out of memory");
    if (!hmap_get_str(&sc->seen, sc->key, len))
        return 0;
    x->r->duplicates++;
    return 1;
}

static int sessions_csv_row(imp_ctx *x, sess_ctx *sc, imp_csv *c)
{
    const int cs = sc->cols[0], ci = sc->cols[1], ct = sc->cols[2], cu = sc->cols[3];
    const char *path = c->src.path;
    long long line = (long long)c->line;
    int64_t ts = STORE_NO_TS, item;
    const char *why;
    int rc;

    if (c->nf != c->n_names) {
        if (c->nf < c->n_names)
            return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': missing (the row has %zu "
                           "fields, the header has %zu)", path, line, c->names[c->nf], c->nf,
                           c->n_names);
        return err_set(x->e, ERR_PARSE, "%s:%lld: field %zu: not in the header (the row has "
                       "%zu fields, the header has %zu)", path, line, c->n_names + 1, c->nf,
                       c->n_names);
    }
    if ((rc = imp_csv_check(c, (size_t)cs, x->e)) || (rc = imp_csv_check(c, (size_t)ci, x->e)) ||
        (cu >= 0 && (rc = imp_csv_check(c, (size_t)cu, x->e))))
        return rc;
    if (!c->flen[cs])
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': empty", path, line, c->names[cs]);
    if (!c->flen[ci])
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': empty", path, line, c->names[ci]);
    if (ct >= 0 && c->flen[ct]) {
        const char *t = imp_csv_str(c, ct);
        if ((rc = imp_parse_ts(t, c->flen[ct], &ts, &why)))
            return err_set(x->e, -rc, "%s:%lld: field '%s': %s: '%.*s'", path, line,
                           c->names[ct], why, imp_clip(t, c->flen[ct], 40), t);
    }
    if ((rc = resolve_item(x, path, c->line, c->names[ci], imp_csv_str(c, ci), c->flen[ci],
                           &item)))
        return rc;
    if ((rc = already_stored(x, sc, imp_csv_str(c, cs), item, ts)))
        return rc < 0 ? rc : 0;
    rc = store_event_insert(x->s, imp_csv_str(c, cs),
                            cu >= 0 && c->flen[cu] ? imp_csv_str(c, cu) : NULL, item, ts, x->e);
    if (rc) {
        err_prefix(x->e, "%s:%lld", path, line);
        return rc;
    }
    x->r->events++;
    return 0;
}

static int sessions_csv_each(imp_ctx *x, imp_csv *c, void *ud)
{
    return sessions_csv_row(x, ud, c);
}

static int sessions_csv(imp_ctx *x, sess_ctx *sc, const char *path, unsigned char delim)
{
    imp_csv c;
    int rc, cs, ci, ct, cu;

    if ((rc = imp_csv_open(&c, path, delim, x->e)))
        return rc;
    if ((rc = imp_csv_header(&c, x->e)))
        goto done;
    cs = imp_csv_col(&c, col_sess);
    ci = imp_csv_col(&c, col_item);
    ct = imp_csv_col(&c, col_ts);
    cu = imp_csv_col(&c, col_user);
    if (cs < 0 || ci < 0) {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': required column missing from the "
                     "header (expected session_id,item_id[,timestamp][,user_id]; for one session "
                     "per line use --format lines)", path, (long long)c.line,
                     cs < 0 ? "session_id" : "item_id");
        goto done;
    }
    sc->cols[0] = cs;
    sc->cols[1] = ci;
    sc->cols[2] = ct;
    sc->cols[3] = cu;
    if ((rc = imp_csv_each(x, &c, sessions_csv_each, sc)))
        goto done;
    if (x->r->rows == 0)
        rc = err_set(x->e, ERR_PARSE, "%s: no data rows after the header", path);
done:
    imp_csv_close(&c);
    return rc;
}

/* ---- one session per line ------------------------------------------------- */

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Checks every id on the line, then resolves them into *ids (reused
 * between lines; with --add-items unknown ids become items only once the
 * whole line is good), then inserts the session. */
static int lines_row(imp_ctx *x, sess_ctx *sc, const char *path, int64_t line, char *s,
                     size_t len, int64_t **ids, size_t *cap)
{
    char sess[24], fname[32];
    size_t n = 0, i;
    int rc;

    for (int pass = 0; pass < 2; pass++)
        for (i = 0, n = 0; i < len;) {
            while (i < len && is_ws(s[i]))
                i++;
            if (i >= len)
                break;
            size_t b = i;
            while (i < len && !is_ws(s[i]))
                i++;
            snprintf(fname, sizeof fname, "item %zu", n + 1);
            if (pass == 0) {
                if ((rc = imp_check_text(path, line, fname, s + b, i - b, x->e)))
                    return rc;
                n++;
                continue;
            }
            if (mem_grow(ids, cap, n + 1, sizeof **ids))
                return err_set(x->e, ERR_NOMEM, "%s:%lld: out of memory", path, (long long)line);
            if ((rc = resolve_item(x, path, line, fname, s + b, i - b, &(*ids)[n])))
                return rc;
            n++;
        }
    snprintf(sess, sizeof sess, "%lld", (long long)(sc->first - 1 + line));
    for (size_t k = 0; k < n; k++) {
        if ((rc = store_event_insert(x->s, sess, NULL, (*ids)[k], STORE_NO_TS, x->e))) {
            err_prefix(x->e, "%s:%lld", path, (long long)line);
            return rc;
        }
    }
    x->r->events += (int64_t)n;
    return 0;
}

static int sessions_lines(imp_ctx *x, sess_ctx *sc, const char *path)
{
    imp_src src;
    int64_t *ids = NULL;
    size_t cap = 0;
    int rc;

    if ((rc = imp_src_open(&src, path, x->e)))
        return rc;
    imp_read_from(x, &src);
    for (;;) {
        rc = imp_src_next(&src, x->e);
        if (rc == 0)
            break;
        if (rc > 0) {
            if (imp_blank(src.line, src.line_len))
                continue;
            if ((rc = imp_tick(x)))
                goto done;
            rc = lines_row(x, sc, path, src.lineno, src.line, src.line_len, &ids, &cap);
        } else if (rc == -ERR_RANGE) {
            x->r->rows++;
        }
        if (rc && (rc = imp_row_failed(x, rc)))
            goto done;
    }
    if (x->r->rows == 0)
        rc = err_set(x->e, ERR_PARSE, "%s: file is empty", path);
done:
    mem_free(ids);
    imp_read_from(x, NULL);
    imp_src_close(&src);
    return rc;
}

/* ---- entry point ---------------------------------------------------------- */

static int pick_format(const char *path, const char *fmt, char *out, err *e)
{
    char head[1024];
    int rc;

    if (fmt) {
        if (!strcmp(fmt, "csv") || !strcmp(fmt, "tsv") || !strcmp(fmt, "lines")) {
            strcpy(out, fmt);
            return 0;
        }
        if (!strcmp(fmt, "txt") || !strcmp(fmt, "plain")) {
            strcpy(out, "lines");
            return 0;
        }
        return err_set(e, ERR_USAGE, "unknown sessions format '%s' (use csv, tsv or lines)",
                       fmt);
    }
    const char *ext = imp_ext(path);
    if (!strcasecmp(ext, "csv"))
        strcpy(out, "csv");
    else if (!strcasecmp(ext, "tsv"))
        strcpy(out, "tsv");
    else {
        /* By content: a header naming session and item columns means CSV/TSV. */
        if ((rc = imp_sniff(path, head, sizeof head, e)))
            return rc;
        size_t nl = strcspn(head, "\n");
        head[nl] = '\0';
        for (size_t i = 0; i < nl; i++)
            if (head[i] >= 'A' && head[i] <= 'Z')
                head[i] = (char)(head[i] - 'A' + 'a');
        int has_hdr = strstr(head, "session") && strstr(head, "item");
        if (has_hdr && strchr(head, ','))
            strcpy(out, "csv");
        else if (has_hdr && strchr(head, '\t'))
            strcpy(out, "tsv");
        else
            strcpy(out, "lines");
    }
    return 0;
}

/* The file was imported before (its fingerprint is in meta): refuse. */
static int same_file(imp_ctx *x, const char *path, const char *key)
{
    char *prev = NULL;
    int rc = store_meta_get(x->s, key, &prev, x->e);

    if (rc == 0 && prev)
        rc = err_set(x->e, ERR_EXISTS, "%s: this file was imported already (%s): nothing "
                     "imported; --append imports it again", path, prev);
    mem_free(prev);
    return rc;
}

static int remember_file(imp_ctx *x, const char *key)
{
    char when[32], val[96];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(val, sizeof val, "%lld event%s, %s", (long long)x->r->events,
             x->r->events == 1 ? "" : "s", when);
    return store_meta_set(x->s, key, val, x->e);
}

int import_sessions(store *s, const char *path, const import_opts *o, progress *p,
                    import_report *r, err *e)
{
    imp_ctx x;
    sess_ctx sc = {.first = 1};
    char fmt[16], fp[33], key[64];
    int rc, reindex = 0;

    if (r)
        memset(r, 0, sizeof *r);
    if ((rc = pick_format(path, o ? o->format : NULL, fmt, e)))
        return rc;
    if ((rc = imp_fingerprint(path, fp, e)))
        return rc;
    snprintf(key, sizeof key, "sessions_file:%s", fp);
    if ((rc = imp_begin(&x, s, o, p, r, e, "import sessions", 1)))
        return rc;
    strcpy(x.r->format, fmt);
    if (!x.o->append)
        rc = same_file(&x, path, key);
    if (!rc && !strcmp(fmt, "lines") && (rc = store_sessions_max_number(s, &sc.first, x.e)) == 0)
        sc.first++;
    else if (!rc && !x.o->append) {
        /* a database with events: their keys, to skip identical ones */
        store_counts cnt;
        if ((rc = store_counts_get(s, &cnt, x.e)) == 0 && cnt.events > 0) {
            sc.check = 1;
            rc = store_events_each(s, seen_add, &sc, x.e);
            if (rc == -ERR_NOMEM)
                err_set(x.e, ERR_NOMEM, "out of memory reading the stored events");
        }
    }
    x.r->first_session = sc.first;
    if (!rc)
        rc = imp_events_index_off(&x, path, &reindex);
    if (!rc && !strcmp(fmt, "lines"))
        rc = sessions_lines(&x, &sc, path);
    else if (!rc)
        rc = sessions_csv(&x, &sc, path, !strcmp(fmt, "tsv") ? '\t' : ',');
    if (!rc && x.r->events == 0 && x.r->duplicates > 0)
        rc = err_set(x.e, ERR_EXISTS, "%s: all %lld events are stored already (same session, "
                     "item and time): nothing imported; --append imports them again", path,
                     (long long)x.r->duplicates);
    if (!rc && reindex)
        rc = store_events_index(s, 1, x.e);
    if (!rc)
        rc = remember_file(&x, key);
    hmap_done(&sc.seen);
    mem_free(sc.key);
    return imp_end(&x, rc);
}
