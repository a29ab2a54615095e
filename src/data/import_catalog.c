/* import_catalog.c - catalog import from CSV/TSV (libcsv) and JSONL (cJSON).
 *
 * CSV/TSV: a header row names the columns; id and title are required,
 * description and category optional, every other column goes into attrs as a
 * JSON object of strings (empty cells left out).  JSONL: one object per line;
 * id is a string or an integer, title a string, description/category strings
 * (or null); any other key is kept in attrs with its JSON value.  Each row is
 * validated completely before it is inserted, so a skipped row leaves no trace.
 */
#include "import_int.h"
#include "mem.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static const char *const col_id[] = { "id", "item_id", "itemid", "item", NULL };
static const char *const col_title[] = { "title", "name", NULL };
static const char *const col_desc[] = { "description", "desc", NULL };
static const char *const col_cat[] = { "category", NULL };

/* Checks that ext_id is new (neither earlier in this file nor in the db). */
static int check_new_id(imp_ctx *x, const char *path, int64_t line, const char *field,
                        const char *id, size_t len)
{
    int64_t line_def;
    int n = imp_clip(id, len, 80);

    if (len == 0)
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': empty (every item needs an id)",
                       path, (long long)line, field);
    if (!imp_map_get(&x->ids, id, len))
        return 0;
    if ((line_def = imp_map_line(&x->ids, id, len)) > 0)
        return err_set(x->e, ERR_EXISTS, "%s:%lld: field '%s': duplicate item id '%.*s' "
                       "(first defined on line %lld)", path, (long long)line, field, n, id,
                       (long long)line_def);
    return err_set(x->e, ERR_EXISTS, "%s:%lld: field '%s': item id '%.*s' is already in the "
                   "database", path, (long long)line, field, n, id);
}

/* Inserts a validated item and records its id. */
static int insert_item(imp_ctx *x, const char *path, int64_t line, const store_item *it)
{
    int64_t rowid;
    int rc = store_item_insert(x->s, it, &rowid, x->e);

    if (rc) {
        err_prefix(x->e, "%s:%lld", path, (long long)line);
        return rc;
    }
    if (imp_map_put(&x->ids, it->ext_id, strlen(it->ext_id), rowid, line))
        return err_set(x->e, ERR_NOMEM, "%s: out of memory", path);
    x->r->items++;
    return 0;
}


/* ---- CSV / TSV ------------------------------------------------------------ */

static int catalog_csv_row(imp_ctx *x, imp_csv *c, int ci, int ct, int cd, int cc,
                           char **attrs_buf, size_t *attrs_cap)
{
    const char *path = c->src.path;
    long long line = (long long)c->line;
    store_item it = { 0 };
    cJSON *attrs = NULL;
    int rc;

    if (c->nf < c->n_names)
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': missing (the row has %zu fields, "
                       "the header has %zu)", path, line, c->names[c->nf], c->nf, c->n_names);
    if (c->nf > c->n_names)
        return err_set(x->e, ERR_PARSE, "%s:%lld: field %zu: not in the header (the row has %zu "
                       "fields, the header has %zu)", path, line, c->n_names + 1, c->nf,
                       c->n_names);
    for (size_t i = 0; i < c->nf; i++)
        if ((rc = imp_csv_check(c, i, x->e)))
            return rc;
    if ((rc = check_new_id(x, path, c->line, c->names[ci], imp_csv_str(c, ci), c->flen[ci])))
        return rc;
    if (c->flen[ct] == 0)
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': empty (every item needs a title)",
                       path, line, c->names[ct]);
    it.ext_id = imp_csv_str(c, ci);
    it.title = imp_csv_str(c, ct);
    it.description = cd >= 0 ? imp_csv_str(c, cd) : "";
    it.category = cc >= 0 ? imp_csv_str(c, cc) : "";
    for (size_t i = 0; i < c->nf; i++) {
        if ((int)i == ci || (int)i == ct || (int)i == cd || (int)i == cc || !c->flen[i])
            continue;
        if (!attrs && !(attrs = cJSON_CreateObject()))
            goto nomem;
        if (!cJSON_AddStringToObject(attrs, c->names[i][0] ? c->names[i] : "", imp_csv_str(c, i)))
            goto nomem;
    }
    if (attrs) {
        /* Printing into a reused buffer saves a malloc per row; grow and retry
         * when it does not fit (cJSON needs 5 spare bytes). */
        size_t need = 64;
        for (size_t i = 0; i < c->nf; i++)
            need += c->flen[i] * 6 + strlen(c->names[i]) * 6 + 8;
        if (mem_grow(attrs_buf, attrs_cap, need, 1))
            goto nomem;
        if (!cJSON_PrintPreallocated(attrs, *attrs_buf, (int)*attrs_cap, 0))
            goto nomem;
        it.attrs = *attrs_buf;
        cJSON_Delete(attrs);
        attrs = NULL;
    }
    return insert_item(x, path, c->line, &it);
nomem:
    cJSON_Delete(attrs);
    return err_set(x->e, ERR_NOMEM, "%s:%lld: out of memory", path, line);
}

/* The column positions catalog_csv_row needs, for imp_csv_each. */
typedef struct catalog_cols {
    int ci, ct, cd, cc;
    char **abuf;
    size_t *acap;
} catalog_cols;

static int catalog_csv_each(imp_ctx *x, imp_csv *c, void *ud)
{
    catalog_cols *k = ud;
    return catalog_csv_row(x, c, k->ci, k->ct, k->cd, k->cc, k->abuf, k->acap);
}

static int catalog_csv(imp_ctx *x, const char *path, unsigned char delim)
{
    imp_csv c;
    char *abuf = NULL;
    size_t acap = 0;
    int rc, ci, ct, cd, cc;

    if ((rc = imp_csv_open(&c, path, delim, x->e)))
        return rc;
    if ((rc = imp_csv_header(&c, x->e)))
        goto done;
    ci = imp_csv_col(&c, col_id);
    ct = imp_csv_col(&c, col_title);
    cd = imp_csv_col(&c, col_desc);
    cc = imp_csv_col(&c, col_cat);
    if (ci < 0 || ct < 0) {
        char found[200] = "";
        size_t n = 0;
        for (size_t i = 0; i < c.n_names && n + 4 < sizeof found; i++)
            n += (size_t)snprintf(found + n, sizeof found - n, "%s%s", i ? ", " : "",
                                  c.names[i]);
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': required column missing from the "
                     "header (found: %s)", path, (long long)c.line, ci < 0 ? "id" : "title",
                     found);
        goto done;
    }
    catalog_cols cols = {ci, ct, cd, cc, &abuf, &acap};
    if ((rc = imp_csv_each(x, &c, catalog_csv_each, &cols)))
        goto done;
    if (x->r->rows == 0 && x->r->skipped == 0)
        rc = err_set(x->e, ERR_PARSE, "%s: no data rows after the header", path);
done:
    mem_free(abuf);
    imp_csv_close(&c);
    return rc;
}

/* ---- JSONL ---------------------------------------------------------------- */

/* A string member (or NULL/absent when optional): *out borrows from o. */
static int json_str(imp_ctx *x, const char *path, int64_t line, cJSON *o, const char *key,
                    int required, const char **out)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = "";
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': missing", path,
                           (long long)line, key);
        return 0;
    }
    if (!cJSON_IsString(v))
        return err_set(x->e, ERR_PARSE, "%s:%lld: field '%s': must be a string", path,
                       (long long)line, key);
    *out = v->valuestring;
    return imp_check_text(path, line, key, *out, strlen(*out), x->e);
}

/* Column of a JSON escape \u0000 in txt, or 0.  cJSON would silently cut the
 * string there, so it is rejected like a raw NUL byte. */
static long json_nul_escape(const char *txt, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++) {
        if (txt[i] != '\\' || memcmp(txt + i + 1, "u0000", 5) != 0)
            continue;
        size_t k = 0;   /* backslashes in a row ending here: odd = an escape */
        while (k <= i && txt[i - k] == '\\')
            k++;
        if (k % 2 == 1)
            return (long)i + 1;
    }
    return 0;
}

static int catalog_jsonl_row(imp_ctx *x, const char *path, int64_t line, const char *txt,
                             size_t len)
{
    const char *end = NULL;
    imp_json_oom(1);
    cJSON *o = cJSON_ParseWithLengthOpts(txt, len, &end, 0);
    store_item it = { 0 };
    char idbuf[24];
    char *attrs = NULL;
    cJSON *junk = NULL;
    long bad;
    int rc;

    if (!o && imp_json_oom(1))
        return err_set(x->e, ERR_NOMEM, "%s:%lld: out of memory", path, (long long)line);
    if (!o)
        return err_set(x->e, ERR_PARSE, "%s:%lld: invalid JSON near column %ld", path,
                       (long long)line, end && end >= txt ? (long)(end - txt) + 1 : 1L);
    if (!cJSON_IsObject(o)) {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: not a JSON object", path, (long long)line);
        goto done;
    }
    /* cJSON stops at the end of the value: anything but spaces after it is an error. */
    if (end && !imp_blank(end, len - (size_t)(end - txt))) {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: text after the JSON object at column %ld", path,
                     (long long)line, (long)(end - txt) + 1);
        goto done;
    }
    cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!id) {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: field 'id': missing", path, (long long)line);
        goto done;
    }
    if (cJSON_IsString(id)) {
        it.ext_id = id->valuestring;
        if ((rc = imp_check_text(path, line, "id", it.ext_id, strlen(it.ext_id), x->e)))
            goto done;
    } else if (cJSON_IsNumber(id)) {
        double d = id->valuedouble;
        if (!(d == floor(d) && fabs(d) < 9007199254740992.0)) {   /* 2^53: exact in a double */
            rc = err_set(x->e, ERR_RANGE, "%s:%lld: field 'id': %g is not an integer id "
                         "(integers up to 2^53, or strings)", path, (long long)line, d);
            goto done;
        }
        snprintf(idbuf, sizeof idbuf, "%lld", (long long)d);
        it.ext_id = idbuf;
    } else {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: field 'id': must be a string or an integer",
                     path, (long long)line);
        goto done;
    }
    if ((rc = check_new_id(x, path, line, "id", it.ext_id, strlen(it.ext_id))) ||
        (rc = json_str(x, path, line, o, "title", 1, &it.title)) ||
        (rc = json_str(x, path, line, o, "description", 0, &it.description)) ||
        (rc = json_str(x, path, line, o, "category", 0, &it.category)))
        goto done;
    if (!it.title[0]) {
        rc = err_set(x->e, ERR_PARSE, "%s:%lld: field 'title': empty (every item needs a title)",
                     path, (long long)line);
        goto done;
    }
    /* attrs: the object minus the four known keys, printed back as JSON.  The
     * known members move to `junk` (no allocation per member; it.* still
     * point into them) and what is left of o is printed. */
    if (!(junk = cJSON_CreateArray()))
        goto nomem;
    static const char *const known[] = { "id", "title", "description", "category" };
    for (size_t k = 0; k < 4; k++) {
        cJSON *d;
        while ((d = cJSON_DetachItemFromObjectCaseSensitive(o, known[k])))
            cJSON_AddItemToArray(junk, d);
    }
    if (o->child && !(attrs = cJSON_PrintUnformatted(o)))
        goto nomem;
    if (attrs) {
        size_t alen = strlen(attrs);
        if (alen > IMPORT_MAX_FIELD)
            rc = err_set(x->e, ERR_RANGE, "%s:%lld: field 'attrs': the extra keys take more "
                         "than 64 KiB (%zu bytes)", path, (long long)line, alen);
        else if ((bad = imp_utf8_bad(attrs, alen)) >= 0)
            rc = err_set(x->e, ERR_PARSE, "%s:%lld: field 'attrs': invalid UTF-8", path,
                         (long long)line);
        if (rc)
            goto done;
        it.attrs = attrs;
    }
    rc = insert_item(x, path, line, &it);
    goto done;
nomem:
    rc = err_set(x->e, ERR_NOMEM, "%s:%lld: out of memory", path, (long long)line);
done:
    cJSON_free(attrs);
    cJSON_Delete(junk);
    cJSON_Delete(o);
    return rc;
}

static int catalog_jsonl(imp_ctx *x, const char *path)
{
    imp_src src;
    int rc;
    int any = 0;

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
            any = 1;
            if ((rc = imp_tick(x)))
                goto done;
            long bad = imp_utf8_bad(src.line, src.line_len);
            const char *nul = memchr(src.line, '\0', src.line_len);
            if (nul)
                rc = err_set(x->e, ERR_PARSE, "%s:%lld: NUL byte at column %ld", path,
                             (long long)src.lineno, (long)(nul - src.line) + 1);
            else if (json_nul_escape(src.line, src.line_len))
                rc = err_set(x->e, ERR_PARSE, "%s:%lld: NUL character (\\u0000) at column %ld",
                             path, (long long)src.lineno,
                             json_nul_escape(src.line, src.line_len));
            else if (bad >= 0)
                rc = err_set(x->e, ERR_PARSE, "%s:%lld: invalid UTF-8 at column %ld (0x%02X); "
                             "the file must be UTF-8", path, (long long)src.lineno, bad + 1,
                             (unsigned char)src.line[bad]);
            else
                rc = catalog_jsonl_row(x, path, src.lineno, src.line, src.line_len);
        } else if (rc == -ERR_RANGE) {
            any = 1;
            x->r->rows++;
        }
        if (rc && (rc = imp_row_failed(x, rc)))
            goto done;
    }
    if (!any)
        rc = err_set(x->e, ERR_PARSE, "%s: file is empty", path);
done:
    imp_read_from(x, NULL);
    imp_src_close(&src);
    return rc;
}

/* ---- entry point ---------------------------------------------------------- */

static int pick_format(const char *path, const char *fmt, char *out, err *e)
{
    char head[512];
    const char *ext;
    int rc;

    if (fmt) {
        if (!strcmp(fmt, "csv") || !strcmp(fmt, "tsv") || !strcmp(fmt, "jsonl")) {
            strcpy(out, fmt);
            return 0;
        }
        if (!strcmp(fmt, "json") || !strcmp(fmt, "ndjson")) {
            strcpy(out, "jsonl");
            return 0;
        }
        return err_set(e, ERR_USAGE, "unknown catalog format '%s' (use csv, tsv or jsonl)", fmt);
    }
    ext = imp_ext(path);
    if (!strcasecmp(ext, "csv"))
        strcpy(out, "csv");
    else if (!strcasecmp(ext, "tsv") || !strcasecmp(ext, "tab"))
        strcpy(out, "tsv");
    else if (!strcasecmp(ext, "jsonl") || !strcasecmp(ext, "ndjson") || !strcasecmp(ext, "json"))
        strcpy(out, "jsonl");
    else {
        /* By content: '{' first means JSONL; a tab before any comma means TSV. */
        if ((rc = imp_sniff(path, head, sizeof head, e)))
            return rc;
        const char *s = head;
        if (!strncmp(s, "\xEF\xBB\xBF", 3))
            s += 3;
        s += strspn(s, " \t\r\n");
        size_t nl = strcspn(s, "\n");
        const char *tab = memchr(s, '\t', nl), *comma = memchr(s, ',', nl);
        strcpy(out, *s == '{' ? "jsonl" : tab && (!comma || tab < comma) ? "tsv" : "csv");
    }
    return 0;
}

int import_catalog(store *s, const char *path, const import_opts *o, progress *p,
                   import_report *r, err *e)
{
    imp_ctx x;
    char fmt[16];
    int rc;

    if (r)
        memset(r, 0, sizeof *r);
    if ((rc = pick_format(path, o ? o->format : NULL, fmt, e)))
        return rc;
    if ((rc = imp_begin(&x, s, o, p, r, e, "import catalog", 1)))
        return rc;
    strcpy(x.r->format, fmt);
    if (!strcmp(fmt, "jsonl"))
        rc = catalog_jsonl(&x, path);
    else
        rc = catalog_csv(&x, path, !strcmp(fmt, "tsv") ? '\t' : ',');
    return imp_end(&x, rc);
}
