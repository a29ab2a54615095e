/* import_sessions.c - session (event) import: CSV/TSV with a header
 * session_id,item_id[,timestamp][,user_id] (one event per row, extra columns
 * ignored), or "lines": one session per line, item ids separated by white
 * space, the line number as session id.
 *
 * Item ids are resolved through the in-memory id map built once per import,
 * never a SELECT per event; events go through store.c's cached INSERT inside
 * the import's single transaction.  A "lines" session is checked whole before
 * any of its events is inserted, so a skipped line leaves no partial session.
 */
#include "import_int.h"
#include "mem.h"

#include <string.h>
#include <strings.h>

static const char *const col_sess[] = { "session_id", "session", "sessionid", NULL };
static const char *const col_item[] = { "item_id", "item", "itemid", NULL };
static const char *const col_ts[] = { "timestamp", "ts", "time", "datetime", "date", NULL };
static const char *const col_user[] = { "user_id", "user", "userid", NULL };

static int unknown_item(imp_ctx *x, const char *path, int64_t line, const char *field,
                        const char *id, size_t len)
{
    return err_set(x->e, ERR_NOTFOUND, "%s:%lld: field '%s': unknown item id '%.*s' (not in "
                   "the catalog; load the catalog first)", path, (long long)line, field,
                   imp_clip(id, len, 80), id);
}

static int sessions_csv_row(imp_ctx *x, imp_csv *c, int cs, int ci, int ct, int cu)
{
    const char *path = c->src.path;
    long long line = (long long)c->line;
    const int64_t *rowid;
    int64_t ts = STORE_NO_TS;
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
    if (!(rowid = imp_map_get(&x->ids, imp_csv_str(c, ci), c->flen[ci])))
        return unknown_item(x, path, c->line, c->names[ci], imp_csv_str(c, ci), c->flen[ci]);
    if (ct >= 0 && c->flen[ct]) {
        const char *t = imp_csv_str(c, ct);
        if ((rc = imp_parse_ts(t, c->flen[ct], &ts, &why)))
            return err_set(x->e, -rc, "%s:%lld: field '%s': %s: '%.*s'", path, line,
                           c->names[ct], why, imp_clip(t, c->flen[ct], 40), t);
    }
    rc = store_event_insert(x->s, imp_csv_str(c, cs),
                            cu >= 0 && c->flen[cu] ? imp_csv_str(c, cu) : NULL, *rowid, ts,
                            x->e);
    if (rc) {
        err_prefix(x->e, "%s:%lld", path, line);
        return rc;
    }
    x->r->events++;
    return 0;
}

static int sessions_csv_each(imp_ctx *x, imp_csv *c, void *ud)
{
    const int *k = ud;   /* session, item, timestamp, user columns */
    return sessions_csv_row(x, c, k[0], k[1], k[2], k[3]);
}

static int sessions_csv(imp_ctx *x, const char *path, unsigned char delim)
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
    int cols[4] = {cs, ci, ct, cu};
    if ((rc = imp_csv_each(x, &c, sessions_csv_each, cols)))
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

/* Resolves every id on the line into *ids (reused between lines). */
static int lines_row(imp_ctx *x, const char *path, int64_t line, char *s, size_t len,
                     int64_t **ids, size_t *cap)
{
    char sess[24], fname[32];
    size_t n = 0, i = 0;
    int rc;

    while (i < len) {
        while (i < len && is_ws(s[i]))
            i++;
        if (i >= len)
            break;
        size_t b = i;
        while (i < len && !is_ws(s[i]))
            i++;
        snprintf(fname, sizeof fname, "item %zu", n + 1);
        if ((rc = imp_check_text(path, line, fname, s + b, i - b, x->e)))
            return rc;
        const int64_t *rowid = imp_map_get(&x->ids, s + b, i - b);
        if (!rowid)
            return unknown_item(x, path, line, fname, s + b, i - b);
        if (mem_grow(ids, cap, n + 1, sizeof **ids))
            return err_set(x->e, ERR_NOMEM, "%s:%lld: out of memory", path, (long long)line);
        (*ids)[n++] = *rowid;
    }
    snprintf(sess, sizeof sess, "%lld", (long long)line);
    for (size_t k = 0; k < n; k++) {
        if ((rc = store_event_insert(x->s, sess, NULL, (*ids)[k], STORE_NO_TS, x->e))) {
            err_prefix(x->e, "%s:%lld", path, (long long)line);
            return rc;
        }
    }
    x->r->events += (int64_t)n;
    return 0;
}

static int sessions_lines(imp_ctx *x, const char *path)
{
    imp_src src;
    int64_t *ids = NULL;
    size_t cap = 0;
    int rc;

    if ((rc = imp_src_open(&src, path, x->e)))
        return rc;
    for (;;) {
        rc = imp_src_next(&src, x->e);
        if (rc == 0)
            break;
        if (rc > 0) {
            if (imp_blank(src.line, src.line_len))
                continue;
            if ((rc = imp_tick(x)))
                goto done;
            rc = lines_row(x, path, src.lineno, src.line, src.line_len, &ids, &cap);
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

int import_sessions(store *s, const char *path, const import_opts *o, progress *p,
                    import_report *r, err *e)
{
    imp_ctx x;
    char fmt[16];
    int rc, reindex;

    if (r)
        memset(r, 0, sizeof *r);
    if ((rc = pick_format(path, o ? o->format : NULL, fmt, e)))
        return rc;
    if ((rc = imp_begin(&x, s, o, p, r, e, "import sessions", 1)))
        return rc;
    strcpy(x.r->format, fmt);
    rc = imp_events_index_off(&x, path, &reindex);
    if (!rc && !strcmp(fmt, "lines"))
        rc = sessions_lines(&x, path);
    else if (!rc)
        rc = sessions_csv(&x, path, !strcmp(fmt, "tsv") ? '\t' : ',');
    if (!rc && reindex)
        rc = store_events_index(s, 1, x.e);
    return imp_end(&x, rc);
}
