/* import_util.c - the machinery every importer shares (see import_int.h):
 * a buffered line reader, libcsv records with line numbers, the in-memory
 * id map, UTF-8 and number validation, and the transaction/report wrapper.
 *
 * Line numbers: each physical line is fed to libcsv on its own, and only '\n'
 * ends a record (CR counts as trailing space), so a record is complete exactly
 * when a line ends outside quotes; a record's line is the first line fed
 * after the previous record.  Quoted fields may span lines (RFC 4180).
 */
#include "import_int.h"
#include "mem.h"

#include <cJSON.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SRC_BUF (256 * 1024)

/* ---- report and transaction --------------------------------------------- */

void import_opts_default(import_opts *o)
{
    memset(o, 0, sizeof *o);
}

void import_report_done(import_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_bad; i++)
        mem_free(r->bad[i]);
    mem_free(r->bad);
    memset(r, 0, sizeof *r);
}

static int map_add_cb(void *ud, int64_t id, const char *ext_id)
{
    return imp_map_put(ud, ext_id, strlen(ext_id), id, 0);
}

int imp_map_load(imp_map *m, store *s, err *e)
{
    int rc = store_item_each(s, map_add_cb, m, e);
    if (rc == -ERR_NOMEM)
        err_set(e, ERR_NOMEM, "out of memory loading the item ids");
    return rc;
}

int imp_begin(imp_ctx *x, store *s, const import_opts *o, progress *p, import_report *r,
              err *e, const char *stage, int need_map)
{
    int rc;

    memset(x, 0, sizeof *x);
    import_opts_default(&x->own_o);
    x->s = s;
    x->o = o ? o : &x->own_o;
    x->p = p;
    x->r = r ? r : &x->own_r;
    x->e = e ? e : &x->own_e;
    memset(x->r, 0, sizeof *x->r);
    err_clear(x->e);
    /* Bulk mode: a big page cache keeps the events index in memory for the
     * whole transaction (2M events: 43k/s with the 2 MiB default cache), and
     * the id map already guarantees every event's item exists, so SQLite's
     * per-row foreign-key lookup is redundant.  See bench/RESULTS-import.md. */
    if (!store_in_txn(s)) {
        if ((rc = store_bulk(s, 1, x->e)))
            return rc;
        x->bulk = 1;
    }
    if ((rc = store_begin(s, x->e))) {
        if (x->bulk)
            store_bulk(s, 0, NULL);
        return rc;
    }
    if (need_map && (rc = imp_map_load(&x->ids, s, x->e))) {
        store_rollback(s);
        if (x->bulk)
            store_bulk(s, 0, NULL);
        imp_map_done(&x->ids);
        return rc;
    }
    progress_begin(p, stage, "rows", 0);
    return 0;
}

int imp_end(imp_ctx *x, int rc)
{
    if (rc == 0)
        rc = store_commit(x->s, x->e);   /* rolls back itself on failure */
    else
        store_rollback(x->s);
    if (rc) {
        /* Nothing was imported: do not report rows as inserted. */
        x->r->items = 0;
        x->r->events = 0;
    }
    if (x->bulk)
        store_bulk(x->s, 0, NULL);
    progress_end(x->p);
    imp_map_done(&x->ids);
    if (x->r == &x->own_r)
        import_report_done(&x->own_r);
    return rc;
}

int imp_row_failed(imp_ctx *x, int rc)
{
    import_report *r = x->r;

    if (!x->o->skip_bad ||
        (rc != -ERR_PARSE && rc != -ERR_RANGE && rc != -ERR_EXISTS && rc != -ERR_NOTFOUND))
        return rc;
    r->skipped++;
    if (r->n_bad < IMPORT_MAX_BAD) {
        if (!r->bad && !(r->bad = mem_calloc(IMPORT_MAX_BAD, sizeof *r->bad)))
            return err_set(x->e, ERR_NOMEM, "out of memory recording a bad row");
        if (!(r->bad[r->n_bad] = mem_strdup(x->e->msg)))
            return err_set(x->e, ERR_NOMEM, "out of memory recording a bad row");
        r->n_bad++;
    }
    err_clear(x->e);
    return 0;
}

void imp_read_from(imp_ctx *x, const imp_src *src)
{
    x->src = src;
    x->src_rows0 = x->r->rows;
}

int imp_tick(imp_ctx *x)
{
    x->r->rows++;
    /* Cheap enough per row, but the atomics and clock add up at 10^6 rows. */
    if ((x->r->rows & 1023) != 0)
        return 0;
    const imp_src *s = x->src;
    if (s && s->size && s->consumed && s->consumed <= s->size) {
        /* rows still to come, at this file's bytes per row so far */
        double per_byte = (double)(x->r->rows - x->src_rows0) / (double)s->consumed;
        progress_set_total(x->p, (uint64_t)x->r->rows +
                                 (uint64_t)(per_byte * (double)(s->size - s->consumed)));
    }
    if (progress_update(x->p, (uint64_t)x->r->rows))
        return err_set(x->e, ERR_CANCEL, "import cancelled; the database is unchanged");
    return 0;
}

/* ---- id map --------------------------------------------------------------- */

void imp_map_done(imp_map *m)
{
    hmap_done(&m->rowid);
    hmap_done(&m->line);
}

int imp_map_put(imp_map *m, const char *k, size_t len, int64_t id, int64_t line)
{
    if (line > 0 && !hmap_add_str(&m->line, k, len, line, NULL))
        return -ERR_NOMEM;
    return hmap_add_str(&m->rowid, k, len, id, NULL) ? 0 : -ERR_NOMEM;
}

/* ---- file fingerprint ------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

int imp_fingerprint(const char *path, char hex[33], err *e)
{
    unsigned char buf[65536];   /* a multiple of 8: words never straddle reads */
    uint64_t a = 0x9E3779B97F4A7C15ull, b = 0xC2B2AE3D27D4EB4Full, len = 0, w;
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return err_set(e, ERR_NOTFOUND, "%s: cannot open: %s", path, strerror(errno));
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < n; i += 8) {
            w = 0;
            memcpy(&w, buf + i, n - i < 8 ? n - i : 8);
            a = (a ^ w) * 0xbf58476d1ce4e5b9ull;
            a ^= a >> 31;
            b = (b + w) * 0x94d049bb133111ebull;
            b ^= b >> 29;
        }
        len += n;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return err_set(e, ERR_IO, "%s: read error", path);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)mix64(a ^ len),
             (unsigned long long)mix64(b + len));
    return 0;
}

/* ---- line source ---------------------------------------------------------- */

int imp_src_open(imp_src *r, const char *path, err *e)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "rb");
    if (!r->f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fileno(r->f), &st) == 0 && S_ISREG(st.st_mode))
        r->size = (uint64_t)st.st_size;
    r->buf = mem_alloc(SRC_BUF);
    r->line_cap = 4096;
    r->line = mem_alloc(r->line_cap);
    if (!r->buf || !r->line) {
        imp_src_close(r);
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    }
    return 0;
}

void imp_src_close(imp_src *r)
{
    if (r->f)
        fclose(r->f);
    mem_free(r->buf);
    mem_free(r->line);
    r->f = NULL;
    r->buf = r->line = NULL;
}

static int src_fill(imp_src *r, err *e)
{
    r->pos = 0;
    r->len = fread(r->buf, 1, SRC_BUF, r->f);
    if (r->len == 0) {
        if (ferror(r->f))
            return err_set(e, ERR_IO, "%s: read error: %s", r->path, strerror(errno));
        r->eof = 1;
    }
    if (!r->started) {
        r->started = 1;
        if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
            r->pos = 3;   /* a UTF-8 byte order mark is not data */
    }
    return 0;
}

static int line_append(imp_src *r, const char *s, size_t n)
{
    if (mem_grow(&r->line, &r->line_cap, r->line_len + n + 2, 1))
        return -ERR_NOMEM;
    memcpy(r->line + r->line_len, s, n);
    r->line_len += n;
    return 0;
}

int imp_src_next(imp_src *r, err *e)
{
    size_t total = 0;
    int rc;

    r->line_len = 0;
    if (r->eof)
        return 0;
    r->lineno++;
    for (;;) {
        if (r->pos >= r->len) {
            if ((rc = src_fill(r, e)))
                return rc;
            if (r->eof) {
                if (total == 0) {
                    r->lineno--;
                    return 0;
                }
                break;   /* last line without '\n' */
            }
        }
        const char *s = r->buf + r->pos;
        const char *nl = memchr(s, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - s) + 1 : r->len - r->pos;
        r->pos += n;
        r->consumed += n;
        total += n;
        if (total <= IMPORT_MAX_LINE && line_append(r, s, n))
            return err_set(e, ERR_NOMEM, "%s: out of memory", r->path);
        if (nl)
            break;
    }
    if (total > IMPORT_MAX_LINE) {
        r->line_len = 0;
        return err_set(e, ERR_RANGE, "%s:%lld: line is longer than %d bytes (%zu); "
                       "limit is 1 MiB", r->path, (long long)r->lineno, IMPORT_MAX_LINE, total);
    }
    if (r->line_len == 0 || r->line[r->line_len - 1] != '\n')
        r->line[r->line_len++] = '\n';
    r->line[r->line_len] = '\0';
    return 1;
}

int imp_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* ---- CSV records ---------------------------------------------------------- */

static int csv_setup(imp_csv *c)
{
    /* CSV: strict RFC 4180 quoting.  TSV: lenient, since tab-separated
     * exports often carry a bare `"` inside a field (12" vinyl). */
    if (csv_init(&c->p, (unsigned char)(c->strict ? CSV_STRICT | CSV_STRICT_FINI : 0)))
        return -ERR_NOMEM;
    /* libcsv's built-in classes (space/tab trimmed, CR or LF ends a record)
     * avoid a function call per byte.  CRLF gives one record (the LF after
     * the CR is skipped); a bare CR inside a line would end a record early,
     * which imp_csv_next reports. */
    csv_set_delim(&c->p, c->delim);
    csv_set_realloc_func(&c->p, mem_realloc);
    csv_set_free_func(&c->p, mem_free);
    return 0;
}

static void csv_reset(imp_csv *c)
{
    csv_free(&c->p);
    csv_setup(c);
    c->open = 0;
}

static void cb_field(void *s, size_t len, void *data)
{
    imp_csv *c = data;
    size_t keep = len > IMPORT_MAX_FIELD ? 0 : len;

    if (c->nomem || c->nf >= IMP_MAX_COLS) {
        c->nf++;   /* counted, not kept: imp_csv_next reports "more than N fields" */
        return;
    }
    if ((c->nf >= c->cap_off || c->nf >= c->cap_flen || c->fb_len + keep + 1 > c->fb_cap) &&
        (mem_grow(&c->off, &c->cap_off, c->nf + 1, sizeof *c->off) ||
         mem_grow(&c->flen, &c->cap_flen, c->nf + 1, sizeof *c->flen) ||
         mem_grow(&c->fb, &c->fb_cap, c->fb_len + keep + 1, 1))) {
        c->nomem = 1;
        return;
    }
    c->off[c->nf] = c->fb_len;
    c->flen[c->nf] = len;
    if (keep)
        memcpy(c->fb + c->fb_len, s, keep);
    c->fb_len += keep;
    c->fb[c->fb_len++] = '\0';
    c->nf++;
}

static void cb_row(int ch, void *data)
{
    imp_csv *c = data;
    (void)ch;
    c->got++;
}

/* The fast path for a line without quotes (most lines of most files): split
 * at the delimiter and trim spaces and tabs like libcsv does for unquoted
 * fields, without a callback per field or a function call per byte. */
static int split_plain(imp_csv *c, err *e)
{
    const char *s = c->src.line, *end = s + c->src.line_len - 1;   /* drop the '\n' */
    const char *cr;

    if (end > s && end[-1] == '\r')
        end--;
    if ((cr = memchr(s, '\r', (size_t)(end - s))))
        return err_set(e, ERR_PARSE, "%s:%lld: a carriage return (CR without LF) outside "
                       "quotes ends a record in the middle of the line", c->src.path,
                       (long long)c->src.lineno);
    for (;;) {
        const char *d = memchr(s, c->delim, (size_t)(end - s));
        const char *fe = d ? d : end, *fs = s;
        while (fs < fe && (*fs == ' ' || *fs == '\t'))
            fs++;
        while (fe > fs && (fe[-1] == ' ' || fe[-1] == '\t'))
            fe--;
        cb_field((void *)fs, (size_t)(fe - fs), c);
        if (!d)
            break;
        s = d + 1;
    }
    if (c->nomem)
        return err_set(e, ERR_NOMEM, "%s:%lld: out of memory", c->src.path,
                       (long long)c->line);
    if (c->nf > IMP_MAX_COLS)
        return err_set(e, ERR_RANGE, "%s:%lld: more than %d fields", c->src.path,
                       (long long)c->line, IMP_MAX_COLS);
    return 0;
}

int imp_csv_open(imp_csv *c, const char *path, unsigned char delim, err *e)
{
    int rc;

    memset(c, 0, sizeof *c);
    c->delim = delim;
    c->strict = delim == ',';
    if ((rc = imp_src_open(&c->src, path, e)))
        return rc;
    if (csv_setup(c)) {
        imp_src_close(&c->src);
        return err_set(e, ERR_NOMEM, "%s: out of memory", path);
    }
    return 0;
}

void imp_csv_close(imp_csv *c)
{
    csv_free(&c->p);
    imp_src_close(&c->src);
    mem_free(c->fb);
    mem_free(c->off);
    mem_free(c->flen);
    if (c->names)
        for (size_t i = 0; i < c->n_names; i++)
            mem_free(c->names[i]);
    mem_free(c->names);
    memset(c, 0, sizeof *c);
}

int imp_csv_each(imp_ctx *x, imp_csv *c, int (*row)(imp_ctx *x, imp_csv *c, void *ud),
                 void *ud)
{
    int rc;

    imp_read_from(x, &c->src);
    while ((rc = imp_csv_next(c, x->e)) != 0) {
        if (rc > 0) {
            if ((rc = imp_tick(x)))
                break;
            rc = row(x, c, ud);
        } else if (rc == -ERR_PARSE || rc == -ERR_RANGE) {
            x->r->rows++;   /* a malformed record is still a row read */
        }
        if (rc && (rc = imp_row_failed(x, rc)))
            break;
    }
    imp_read_from(x, NULL);
    return rc;
}

int imp_csv_next(imp_csv *c, err *e)
{
    const char *path = c->src.path;
    int rc;

    for (;;) {
        rc = imp_src_next(&c->src, e);
        if (rc < 0) {
            if (c->open)
                csv_reset(c);
            return rc;
        }
        if (rc == 0) {
            if (c->open) {
                csv_reset(c);
                return err_set(e, ERR_PARSE, "%s:%lld: unterminated quoted field: the quote "
                               "opened on this line is never closed", path, (long long)c->line);
            }
            return 0;
        }
        if (!c->open) {
            if (imp_blank(c->src.line, c->src.line_len) &&
                (c->delim != '\t' || !memchr(c->src.line, '\t', c->src.line_len)))
                continue;
            c->line = c->src.lineno;
            c->nf = c->fb_len = c->rec_bytes = 0;
            c->got = c->nomem = 0;
        }
        c->rec_bytes += c->src.line_len;
        if (c->rec_bytes > IMPORT_MAX_LINE) {
            csv_reset(c);
            return err_set(e, ERR_RANGE, "%s:%lld: record is longer than 1 MiB (an "
                           "unterminated quoted field?)", path, (long long)c->line);
        }
        if (!c->open && !memchr(c->src.line, '"', c->src.line_len)) {
            if ((rc = split_plain(c, e)))
                return rc;
            return 1;
        }
        size_t n = csv_parse(&c->p, c->src.line, c->src.line_len, cb_field, cb_row, c);
        if (c->nomem || csv_error(&c->p) == CSV_ENOMEM) {
            csv_reset(c);
            return err_set(e, ERR_NOMEM, "%s:%lld: out of memory", path, (long long)c->line);
        }
        if (n < c->src.line_len) {
            char nb[32];
            size_t fi = c->nf;
            csv_reset(c);
            return err_set(e, ERR_PARSE, "%s:%lld: field '%s': malformed quoting (a field "
                           "with quotes must be enclosed in \"...\" and inner quotes doubled)",
                           path, (long long)c->src.lineno, imp_csv_name(c, fi, nb, sizeof nb));
        }
        if (c->got > 1) {
            csv_reset(c);
            return err_set(e, ERR_PARSE, "%s:%lld: a carriage return (CR without LF) outside "
                           "quotes ends a record in the middle of the line", path,
                           (long long)c->src.lineno);
        }
        if (c->got) {
            c->open = 0;
            if (c->nf > IMP_MAX_COLS)
                return err_set(e, ERR_RANGE, "%s:%lld: more than %d fields", path,
                               (long long)c->line, IMP_MAX_COLS);
            return 1;
        }
        c->open = 1;   /* inside a quoted field that spans lines */
    }
}

const char *imp_csv_name(const imp_csv *c, size_t i, char *buf, size_t cap)
{
    if (c->names && i < c->n_names && c->names[i][0])
        return c->names[i];
    snprintf(buf, cap, "column %zu", i + 1);
    return buf;
}

int imp_csv_check(const imp_csv *c, size_t i, err *e)
{
    char nb[32];
    return imp_check_text(c->src.path, c->line, imp_csv_name(c, i, nb, sizeof nb),
                          imp_csv_str(c, i), c->flen[i], e);
}

int imp_csv_header(imp_csv *c, err *e)
{
    int rc = imp_csv_next(c, e);

    if (rc == 0)
        return err_set(e, ERR_PARSE, "%s: file is empty (a header row is required)",
                       c->src.path);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < c->nf; i++)
        if ((rc = imp_csv_check(c, i, e)))
            return rc;
    c->names = mem_calloc(c->nf, sizeof *c->names);
    if (!c->names)
        return err_set(e, ERR_NOMEM, "%s: out of memory", c->src.path);
    c->n_names = c->nf;
    for (size_t i = 0; i < c->nf; i++)
        if (!(c->names[i] = mem_strdup(imp_csv_str(c, i))))
            return err_set(e, ERR_NOMEM, "%s: out of memory", c->src.path);
    for (size_t i = 0; i < c->nf; i++)
        for (size_t j = 0; j < i; j++)
            if (c->names[i][0] && strcasecmp(c->names[i], c->names[j]) == 0)
                return err_set(e, ERR_PARSE, "%s:%lld: field '%s': column appears twice in "
                               "the header", c->src.path, (long long)c->line, c->names[i]);
    return 0;
}

int imp_csv_col(const imp_csv *c, const char *const *alts)
{
    for (; *alts; alts++)
        for (size_t i = 0; i < c->n_names; i++)
            if (strcasecmp(c->names[i], *alts) == 0)
                return (int)i;
    return -1;
}

/* ---- values --------------------------------------------------------------- */

long imp_utf8_bad(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned min, cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; cp = c & 0x07; }
        else return (long)i;
        if (i + n > len)
            return (long)i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)i;   /* overlong, out of range, or a UTF-16 surrogate */
        i += n;
    }
    return -1;
}

int imp_check_text(const char *path, int64_t line, const char *name, const char *s,
                   size_t len, err *e)
{
    long bad;

    if (len > IMPORT_MAX_FIELD)
        return err_set(e, ERR_RANGE, "%s:%lld: field '%s': longer than 64 KiB (%zu bytes)",
                       path, (long long)line, name, len);
    if (memchr(s, '\0', len))
        return err_set(e, ERR_PARSE, "%s:%lld: field '%s': contains a NUL byte at byte %zu",
                       path, (long long)line, name,
                       (size_t)((const char *)memchr(s, '\0', len) - s) + 1);
    if ((bad = imp_utf8_bad(s, len)) >= 0)
        return err_set(e, ERR_PARSE, "%s:%lld: field '%s': invalid UTF-8 at byte %ld "
                       "(0x%02X); the file must be UTF-8", path, (long long)line, name, bad + 1,
                       (unsigned char)s[bad]);
    return 0;
}

int imp_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, lim;

    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return -ERR_PARSE;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -ERR_PARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return -ERR_RANGE;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return 0;
}

int imp_parse_ts(const char *s, size_t len, int64_t *out, const char **why)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int Y, M, D, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    size_t i = 0;
    int rc;

    *why = "not an integer timestamp or an ISO-8601 date";
    if (len < 5 || s[4] != '-') {   /* plain integer seconds (ISO dates start YYYY-) */
        rc = imp_parse_i64(s, len, out);
        if (rc == -ERR_RANGE) {
            *why = "number out of range";
            return rc;
        }
        if (rc)
            return rc;
        if (*out < 0) {
            *why = "negative timestamp";
            return -ERR_RANGE;
        }
        return 0;
    }
    if (digits(s, len, &i, 4, &Y) || i >= len || s[i++] != '-' || digits(s, len, &i, 2, &M) ||
        i >= len || s[i++] != '-' || digits(s, len, &i, 2, &D))
        return -ERR_PARSE;
    if (M < 1 || M > 12 ||
        D < 1 || D > mdays[M - 1] + (M == 2 && (Y % 4 == 0 && (Y % 100 != 0 || Y % 400 == 0)))) {
        *why = "no such date";
        return -ERR_RANGE;
    }
    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' || digits(s, len, &i, 2, &mi))
            return -ERR_PARSE;
        if (i < len && s[i] == ':') {
            i++;
            if (digits(s, len, &i, 2, &sec))
                return -ERR_PARSE;
            if (i < len && (s[i] == '.' || s[i] == ',')) {   /* fraction: dropped */
                i++;
                if (i >= len || s[i] < '0' || s[i] > '9')
                    return -ERR_PARSE;
                while (i < len && s[i] >= '0' && s[i] <= '9')
                    i++;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) {
            *why = "no such time of day";
            return -ERR_RANGE;
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z'))
            i++;
        else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1;
            if (digits(s, len, &i, 2, &oh))
                return -ERR_PARSE;
            if (i < len && s[i] == ':')
                i++;
            if (i < len && digits(s, len, &i, 2, &om))
                return -ERR_PARSE;
            if (oh > 23 || om > 59) {
                *why = "bad UTC offset";
                return -ERR_RANGE;
            }
            oh *= sign;
            om *= sign;
        }
    }
    if (i != len)
        return -ERR_PARSE;
    *out = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec -
           (oh * 3600 + om * 60);
    if (*out < 0) {
        *why = "date before 1970";
        return -ERR_RANGE;
    }
    return 0;
}

int imp_clip(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return (int)len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

const char *imp_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot + 1 : "";
}

int imp_sniff(const char *path, char *buf, size_t cap, err *e)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
                       strerror(errno));
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return 0;
}

int imp_events_index_off(imp_ctx *x, const char *path, int *dropped)
{
    struct stat st;

    *dropped = 0;
    if (stat(path, &st) != 0 || st.st_size < IMP_REINDEX_BYTES)
        return 0;
    *dropped = 1;
    return store_events_index(x->s, 0, x->e);
}

/* cJSON reports a failed allocation as a parse error; this flag tells them apart. */
static _Thread_local int json_oom;

static void *json_alloc(size_t n)
{
    void *p = mem_alloc(n);
    if (!p)
        json_oom = 1;
    return p;
}

int imp_json_oom(int reset)
{
    int v = json_oom;
    if (reset)
        json_oom = 0;
    return v;
}

void import_global_init(void)
{
    cJSON_Hooks h = { json_alloc, mem_free };
    cJSON_InitHooks(&h);
}
