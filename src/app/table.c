/* table.c - result tables and their renderers (see table.h). */
#include "table.h"
#include "esc.h"
#include "mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct cell {
    char *s;
    double v;
    int is_num;
    int has_ci;       /* table_num_ci: lo/hi hold the interval */
    int dec;
    double lo, hi;
} cell;

typedef struct field {
    char *name;
    char *s;              /* text field, or NULL for a number */
    double v;
} field;

struct table {
    char *title;
    char *csv_title_col;  /* table_csv_title_col, or NULL */
    int kind;             /* TABLE_* */
    field *fields;
    size_t n_fields, cap_fields;
    char **cols;
    unsigned char *right;
    size_t n_cols, cap_cols;
    cell *cells;          /* row-major, n_rows * n_cols */
    size_t n_rows, cap_cells;
    size_t cur;           /* next column in current row */
    char **notes;
    size_t n_notes, cap_notes;
};

table *table_new(const char *title)
{
    table *t = mem_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->title = mem_strdup(title ? title : "");
    if (!t->title) {
        mem_free(t);
        return NULL;
    }
    return t;
}

void table_free(table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cols; i++)
        mem_free(t->cols[i]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        mem_free(t->cells[i].s);
    for (size_t i = 0; i < t->n_notes; i++)
        mem_free(t->notes[i]);
    for (size_t i = 0; i < t->n_fields; i++) {
        mem_free(t->fields[i].name);
        mem_free(t->fields[i].s);
    }
    mem_free(t->fields);
    mem_free(t->cols);
    mem_free(t->right);
    mem_free(t->cells);
    mem_free(t->notes);
    mem_free(t->title);
    mem_free(t->csv_title_col);
    mem_free(t);
}

int table_col(table *t, const char *name, int align_right)
{
    size_t cap = t->cap_cols;
    if (t->n_rows)
        return -ERR_STATE;   /* columns are fixed once rows exist */
    if (mem_grow(&t->cols, &t->cap_cols, t->n_cols + 1, sizeof *t->cols) ||
        mem_grow(&t->right, &cap, t->n_cols + 1, 1))
        return -ERR_NOMEM;
    if (!(t->cols[t->n_cols] = mem_strdup(name)))
        return -ERR_NOMEM;
    t->right[t->n_cols++] = (unsigned char)(align_right != 0);
    return 0;
}

int table_row(table *t)
{
    size_t need = (t->n_rows + 1) * t->n_cols;
    if (t->n_cols == 0)
        return -ERR_STATE;
    if (mem_grow(&t->cells, &t->cap_cells, need, sizeof *t->cells))
        return -ERR_NOMEM;
    memset(t->cells + t->n_rows * t->n_cols, 0, t->n_cols * sizeof *t->cells);
    t->n_rows++;
    t->cur = 0;
    return 0;
}

static cell *next_cell(table *t)
{
    if (t->n_rows == 0 || t->cur >= t->n_cols)
        return NULL;
    return &t->cells[(t->n_rows - 1) * t->n_cols + t->cur++];
}

int table_str(table *t, const char *s)
{
    cell *c = next_cell(t);
    if (!c)
        return -ERR_STATE;
    c->s = mem_strdup(s ? s : "");
    return c->s ? 0 : -ERR_NOMEM;
}

/* format(printf, 1, 0): clang's -Wformat-nonliteral (from -Wformat=2) wants
 * the attribute on a va_list helper; with WERROR=1 `make fuzz` stopped here */
__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = mem_alloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

int table_fmt(table *t, const char *fmt, ...)
{
    cell *c = next_cell(t);
    va_list ap;
    if (!c)
        return -ERR_STATE;
    va_start(ap, fmt);
    c->s = vfmt(fmt, ap);
    va_end(ap);
    return c->s ? 0 : -ERR_NOMEM;
}

int table_int(table *t, int64_t v)
{
    cell *c = next_cell(t);
    char buf[32];
    if (!c)
        return -ERR_STATE;
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    c->s = mem_strdup(buf);
    c->v = (double)v;
    c->is_num = 1;
    return c->s ? 0 : -ERR_NOMEM;
}

int table_num(table *t, double v, int decimals)
{
    cell *c = next_cell(t);
    char buf[64];
    if (!c)
        return -ERR_STATE;
    if (isnan(v))
        snprintf(buf, sizeof buf, "-");
    else
        snprintf(buf, sizeof buf, "%.*f", decimals, v);
    c->s = mem_strdup(buf);
    c->v = v;
    c->is_num = !isnan(v) && isfinite(v);
    return c->s ? 0 : -ERR_NOMEM;
}

int table_num_ci(table *t, double v, double lo, double hi, int decimals, const char *mark)
{
    cell *c;
    char buf[96];
    int rc;

    if (isnan(v) || isnan(lo) || isnan(hi)) {
        if ((rc = table_num(t, v, decimals)))
            return rc;
        c = &t->cells[(t->n_rows - 1) * t->n_cols + t->cur - 1];
    } else {
        if (!(c = next_cell(t)))
            return -ERR_STATE;
        snprintf(buf, sizeof buf, "%.*f \xc2\xb1%.*f%s", decimals, v, decimals, (hi - lo) / 2,
                 mark ? mark : "");
        if (!(c->s = mem_strdup(buf)))
            return -ERR_NOMEM;
        c->v = v;
        c->is_num = isfinite(v);
        c->has_ci = 1;
        c->lo = lo;
        c->hi = hi;
    }
    c->dec = decimals;
    return 0;
}

int table_cell_ci(const table *t, size_t r, size_t c, double *lo, double *hi)
{
    if (r >= t->n_rows || c >= t->n_cols || !t->cells[r * t->n_cols + c].has_ci)
        return 0;
    *lo = t->cells[r * t->n_cols + c].lo;
    *hi = t->cells[r * t->n_cols + c].hi;
    return 1;
}

/* A column with an interval cell gets "COL lo" and "COL hi" in JSON and CSV. */
static int col_has_ci(const table *t, size_t c)
{
    for (size_t r = 0; r < t->n_rows; r++)
        if (t->cells[r * t->n_cols + c].has_ci)
            return 1;
    return 0;
}

int table_note(table *t, const char *fmt, ...)
{
    va_list ap;
    char *s;
    if (mem_grow(&t->notes, &t->cap_notes, t->n_notes + 1, sizeof *t->notes))
        return -ERR_NOMEM;
    va_start(ap, fmt);
    s = vfmt(fmt, ap);
    va_end(ap);
    if (!s)
        return -ERR_NOMEM;
    t->notes[t->n_notes++] = s;
    return 0;
}

int table_set_kind(table *t, int kind)
{
    t->kind = kind > TABLE_PLAIN && kind < TABLE_N_KINDS ? kind : TABLE_PLAIN;
    return 0;
}

int table_kind(const table *t) { return t->kind; }

int table_csv_title_col(table *t, const char *col)
{
    char *c = mem_strdup(col);
    if (!c)
        return -ERR_NOMEM;
    mem_free(t->csv_title_col);
    t->csv_title_col = c;
    return 0;
}

const char *table_kind_name(int kind)
{
    static const char *const names[TABLE_N_KINDS] = {
        [TABLE_PLAIN] = "",        [TABLE_SIMILAR] = "similar", [TABLE_METRICS] = "metrics",
        [TABLE_COMPARE] = "compare", [TABLE_ITEM] = "item",     [TABLE_INDEX_EVAL] = "index_eval",
        [TABLE_MAP] = "map",       [TABLE_HELP] = "help",
    };
    return kind > TABLE_PLAIN && kind < TABLE_N_KINDS ? names[kind] : "";
}

static field *field_find(const table *t, const char *name)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    return NULL;
}

/* The field named `name`, created empty when absent; NULL on OOM. */
static field *field_slot(table *t, const char *name)
{
    field *f = field_find(t, name);
    if (f) {
        mem_free(f->s);
        f->s = NULL;
        return f;
    }
    if (mem_grow(&t->fields, &t->cap_fields, t->n_fields + 1, sizeof *t->fields))
        return NULL;
    f = &t->fields[t->n_fields];
    memset(f, 0, sizeof *f);
    if (!(f->name = mem_strdup(name)))
        return NULL;
    t->n_fields++;
    return f;
}

int table_field_num(table *t, const char *name, double v)
{
    field *f = field_slot(t, name);
    if (!f)
        return -ERR_NOMEM;
    f->v = v;
    return 0;
}

int table_fields(table *t, ...)
{
    va_list ap;
    const char *name;
    int rc = 0;

    va_start(ap, t);
    while (rc == 0 && (name = va_arg(ap, const char *)) != NULL)
        rc = table_field_num(t, name, va_arg(ap, double));
    va_end(ap);
    return rc;
}

int table_field_str(table *t, const char *name, const char *s)
{
    char *copy = mem_strdup(s ? s : "");
    field *f = copy ? field_slot(t, name) : NULL;
    if (!f) {
        mem_free(copy);
        return -ERR_NOMEM;
    }
    f->s = copy;
    return 0;
}

int table_get_num(const table *t, const char *name, double *v)
{
    const field *f = field_find(t, name);
    if (!f || f->s || isnan(f->v))
        return 0;
    *v = f->v;
    return 1;
}

const char *table_get_str(const table *t, const char *name)
{
    const field *f = field_find(t, name);
    return f ? f->s : NULL;
}

const char *table_title(const table *t) { return t->title; }
size_t table_n_cols(const table *t) { return t->n_cols; }
size_t table_n_rows(const table *t) { return t->n_rows; }
size_t table_n_notes(const table *t) { return t->n_notes; }
const char *table_col_name(const table *t, size_t c) { return c < t->n_cols ? t->cols[c] : ""; }
const char *table_note_at(const table *t, size_t i) { return i < t->n_notes ? t->notes[i] : ""; }

const char *table_cell(const table *t, size_t r, size_t c)
{
    if (r >= t->n_rows || c >= t->n_cols)
        return "";
    const char *s = t->cells[r * t->n_cols + c].s;
    return s ? s : "";
}

int table_cell_num(const table *t, size_t r, size_t c, double *v)
{
    if (r >= t->n_rows || c >= t->n_cols || !t->cells[r * t->n_cols + c].is_num)
        return 0;
    *v = t->cells[r * t->n_cols + c].v;
    return 1;
}

/* ---- text width and sanitising ------------------------------------------ */

/* Display width of the n bytes at s. */
static size_t width_n(const char *s, size_t n)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s, *end = p + n;
    size_t w = 0;
    while (p < end && *p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, end - p, &cp);
        if (k <= 0) {
            w++;
            p++;
            continue;
        }
        int cw = utf8proc_charwidth(cp);
        w += cw > 0 ? (size_t)cw : (cp < 0x20 || cp == 0x7f ? 2 : 0);
        p += k;
    }
    return w;
}

size_t table_text_width(const char *s) { return width_n(s, strlen(s)); }

void table_sanitize(char *dst, size_t cap, const char *s)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t o = 0;

    if (cap == 0)
        return;
    while (*p && o + 1 < cap) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        if (n <= 0) {
            dst[o++] = '?';
            p++;
            continue;
        }
        if (cp < 0x20 || cp == 0x7f) {          /* C0 controls: caret notation */
            if (o + 2 >= cap)
                break;
            dst[o++] = '^';
            dst[o++] = (char)(cp == 0x7f ? '?' : cp + 0x40);
        } else if (cp >= 0x80 && cp < 0xa0) {   /* C1 controls (CSI etc.) */
            dst[o++] = '?';
        } else {
            if (o + (size_t)n >= cap)
                break;
            memcpy(dst + o, p, (size_t)n);
            o += (size_t)n;
        }
        p += n;
    }
    dst[o] = '\0';
}

/* ---- renderers ----------------------------------------------------------- */

/* A sanitised copy of s (table_sanitize), never cut: caret notation at most
 * doubles a byte, so 2 * strlen + 1 bytes always suffice.  Short strings use
 * the caller's buffer, longer ones the heap (*heap, freed by the caller).
 * NULL on OOM. */
static const char *clean(const char *s, char *buf, size_t cap, char **heap)
{
    size_t need = 2 * strlen(s) + 1;
    *heap = NULL;
    if (need > cap) {
        if (!(*heap = mem_alloc(need)))
            return NULL;
        buf = *heap;
        cap = need;
    }
    table_sanitize(buf, cap, s);
    return buf;
}

static void put_padded(FILE *out, const char *s, size_t width, int right)
{
    size_t w = table_text_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right)
        for (size_t i = 0; i < pad; i++)
            fputc(' ', out);
    fputs(s, out);
    if (!right)
        for (size_t i = 0; i < pad; i++)
            fputc(' ', out);
}

/* Prints s sanitised and whole, then `end`; pads to width when width > 0.
 * 0 or -ERR_NOMEM. */
static int put_clean(FILE *out, const char *s, size_t width, int right, const char *end)
{
    char buf[512], *heap;
    const char *c = clean(s, buf, sizeof buf, &heap);
    if (!c)
        return -ERR_NOMEM;
    put_padded(out, c, width, right);
    fputs(end, out);
    mem_free(heap);
    return 0;
}

/* Display width of s once sanitised. */
static int clean_width(const char *s, size_t *w)
{
    char buf[512], *heap;
    const char *c = clean(s, buf, sizeof buf, &heap);
    if (!c)
        return -ERR_NOMEM;
    *w = table_text_width(c);
    mem_free(heap);
    return 0;
}

/* Every cell, title and note is printed whole, however long (an `embed`
 * vector of 384 numbers is one cell-free note of ~5 KB): text output is
 * read by scripts too, and a silently cut value is a wrong value. */
int table_render_text(const table *t, FILE *out)
{
    size_t *w = NULL;
    int rc = 0;

    if (t->title[0] && t->n_cols && (rc = put_clean(out, t->title, 0, 0, "\n")))
        return rc;
    if (t->n_cols) {
        w = mem_calloc(t->n_cols, sizeof *w);
        if (!w)
            return -ERR_NOMEM;
        for (size_t c = 0; c < t->n_cols; c++)
            w[c] = table_text_width(t->cols[c]);
        for (size_t r = 0; r < t->n_rows && rc == 0; r++)
            for (size_t c = 0; c < t->n_cols && rc == 0; c++) {
                size_t cw = 0;
                rc = clean_width(table_cell(t, r, c), &cw);
                if (cw > w[c])
                    w[c] = cw;
            }
        for (size_t c = 0; c < t->n_cols && rc == 0; c++)
            rc = put_clean(out, t->cols[c], c + 1 < t->n_cols || t->right[c] ? w[c] : 0,
                           t->right[c], c + 1 < t->n_cols ? "  " : "\n");
        for (size_t r = 0; r < t->n_rows && rc == 0; r++)
            for (size_t c = 0; c < t->n_cols && rc == 0; c++)
                rc = put_clean(out, table_cell(t, r, c),
                               c + 1 < t->n_cols || t->right[c] ? w[c] : 0, t->right[c],
                               c + 1 < t->n_cols ? "  " : "\n");
        mem_free(w);
    }
    for (size_t i = 0; i < t->n_notes && rc == 0; i++)
        rc = put_clean(out, t->notes[i], 0, 0, "\n");
    if (rc)
        return rc;
    return ferror(out) ? -ERR_IO : 0;
}

/* ---- help, laid out like a man page -------------------------------------- */

static void spaces(FILE *out, int n)
{
    for (; n > 0; n--)
        fputc(' ', out);
}

/* Prints s word-wrapped to width: the first line starts at column `col`
 * (the caller already printed up to it), further lines after `cont`
 * spaces.  Words are never cut: one longer than the line stands alone. */
static void wrap(FILE *out, const char *s, int col, int cont, int width)
{
    int at = col, first = 1;

    for (s += strspn(s, " "); *s; s += strspn(s, " ")) {
        size_t n = strcspn(s, " ");
        int ww = (int)width_n(s, n);
        if (!first && at + 1 + ww > width) {
            fputc('\n', out);
            spaces(out, cont);
            at = cont;
        } else if (!first) {
            fputc(' ', out);
            at++;
        }
        fwrite(s, 1, n, out);
        at += ww;
        first = 0;
        s += n;
    }
    fputc('\n', out);
}

/* Where a usage line's continuation lines start: under its first
 * parameter ("train item2vec [dim=64] ...": after "train item2vec "), or 8
 * further in when that is far. */
static int usage_cont(const char *s, int indent)
{
    const char *b = strstr(s, " [");
    int c = b ? (int)width_n(s, (size_t)(b - s)) + 1 : 8;
    return indent + (c > 24 ? 8 : c);
}

static int render_help(const table *t, FILE *out, int width)
{
    double v;
    int indent = table_get_num(t, "indent", &v) ? (int)v : 0;
    int body = table_get_num(t, "body", &v) ? (int)v : 4;
    char buf[512], *h1, *h2;

    if (width < 40)
        width = 40;
    if (t->title[0]) {
        const char *c = clean(t->title, buf, sizeof buf, &h1);
        if (!c)
            return -ERR_NOMEM;
        fprintf(out, "%s%s:\n", indent ? "\n" : "", c);   /* options: after a blank line */
        mem_free(h1);
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        char buf2[512];
        const char *head = clean(table_cell(t, r, 0), buf, sizeof buf, &h1);
        const char *desc = head ? clean(table_cell(t, r, 1), buf2, sizeof buf2, &h2) : NULL;
        if (!desc) {
            mem_free(h1);
            return -ERR_NOMEM;
        }
        int hw = (int)table_text_width(head);
        spaces(out, indent);
        if (indent + hw + 2 <= body && desc[0]) {   /* "  k=10      results per list" */
            fputs(head, out);
            spaces(out, body - indent - hw);
            wrap(out, desc, body, body, width);
        } else {
            wrap(out, head, indent, usage_cont(head, indent), width);
            if (desc[0]) {
                spaces(out, body);
                wrap(out, desc, body, body, width);
            }
        }
        mem_free(h1);
        mem_free(h2);
    }
    for (size_t i = 0; i < t->n_notes; i++) {
        const char *c = clean(t->notes[i], buf, sizeof buf, &h1);
        if (!c)
            return -ERR_NOMEM;
        wrap(out, c, 0, 0, width);
        mem_free(h1);
    }
    return ferror(out) ? -ERR_IO : 0;
}

int table_render_text_width(const table *t, FILE *out, int width)
{
    if (t->kind == TABLE_HELP && t->n_cols >= 2)
        return render_help(t, out, width > 0 ? width : 80);
    return table_render_text(t, out);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    esc_json(out, s);
    fputc('"', out);
}

static void json_num(FILE *out, double v)
{
    if (!isfinite(v))
        fputs("null", out);
    else if (v == floor(v) && fabs(v) < 9e15)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.9g", v);
}

static void json_cell(FILE *out, const table *t, size_t r, size_t c)
{
    double v;
    if (table_cell_num(t, r, c, &v))
        json_num(out, v);
    else if (strcmp(table_cell(t, r, c), "-") == 0 && c < t->n_cols && t->right[c])
        fputs("null", out);   /* a numeric column's missing value */
    else
        json_str(out, table_cell(t, r, c));
}

int table_render_json(const table *t, FILE *out)
{
    fputs("{\"title\":", out);
    json_str(out, t->title);
    if (t->kind != TABLE_PLAIN) {
        fputs(",\"kind\":", out);
        json_str(out, table_kind_name(t->kind));
    }
    if (t->n_fields) {
        fputs(",\"fields\":{", out);
        for (size_t i = 0; i < t->n_fields; i++) {
            if (i)
                fputc(',', out);
            json_str(out, t->fields[i].name);
            fputc(':', out);
            if (t->fields[i].s)
                json_str(out, t->fields[i].s);
            else
                json_num(out, t->fields[i].v);
        }
        fputc('}', out);
    }
    if (t->n_cols) {
        fputs(",\"columns\":[", out);
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                fputc(',', out);
            json_str(out, t->cols[c]);
        }
        fputs("],\"rows\":[", out);
        for (size_t r = 0; r < t->n_rows; r++) {
            fputs(r ? ",{" : "{", out);
            for (size_t c = 0; c < t->n_cols; c++) {
                if (c)
                    fputc(',', out);
                json_str(out, t->cols[c]);
                fputc(':', out);
                json_cell(out, t, r, c);
                if (col_has_ci(t, c)) {
                    const cell *x = &t->cells[r * t->n_cols + c];
                    for (int b = 0; b < 2; b++) {
                        fputs(",\"", out);   /* the key "NAME lo" / "NAME hi" */
                        esc_json(out, t->cols[c]);
                        fputs(b ? " hi\"" : " lo\"", out);
                        if (x->has_ci)
                            fprintf(out, ":%.9g", b ? x->hi : x->lo);
                        else
                            fputs(":null", out);
                    }
                }
            }
            fputc('}', out);
        }
        fputc(']', out);
    }
    if (t->n_notes) {
        fputs(",\"notes\":[", out);
        for (size_t i = 0; i < t->n_notes; i++) {
            if (i)
                fputc(',', out);
            json_str(out, t->notes[i]);
        }
        fputc(']', out);
    }
    fputc('}', out);
    return ferror(out) ? -ERR_IO : 0;
}

/* Writes ",NAME SUFFIX" as one CSV field, whatever NAME's length. */
static void csv_suffixed(FILE *out, const char *name, const char *suffix)
{
    int quote = strpbrk(name, ",\"\r\n") != NULL;
    fputs(quote ? ",\"" : ",", out);
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputs(suffix, out);
    if (quote)
        fputc('"', out);
}

int table_render_csv(const table *t, FILE *out)
{
    if (!t->n_cols) {
        for (size_t i = 0; i < t->n_notes; i++)
            fprintf(out, "# %s\n", t->notes[i]);
        return ferror(out) ? -ERR_IO : 0;
    }
    if (t->csv_title_col) {
        esc_csv(out, t->csv_title_col);
        fputc(',', out);
    }
    for (size_t c = 0; c < t->n_cols; c++) {
        esc_csv(out, t->cols[c]);
        if (col_has_ci(t, c)) {
            csv_suffixed(out, t->cols[c], " lo");
            csv_suffixed(out, t->cols[c], " hi");
        }
        fputc(c + 1 < t->n_cols ? ',' : '\n', out);
    }
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            const cell *x = &t->cells[r * t->n_cols + c];
            if (c == 0 && t->csv_title_col) {
                esc_csv(out, t->title);
                fputc(',', out);
            }
            if (col_has_ci(t, c)) {   /* numbers only: value, lo, hi */
                if (x->has_ci)
                    fprintf(out, "%.*f,%.*f,%.*f", x->dec, x->v, x->dec, x->lo, x->dec, x->hi);
                else
                    fprintf(out, "%s,,", table_cell(t, r, c));
            } else
                esc_csv(out, table_cell(t, r, c));
            fputc(c + 1 < t->n_cols ? ',' : '\n', out);
        }
    return ferror(out) ? -ERR_IO : 0;
}

/* ---- table_list ------------------------------------------------------------ */

void table_list_init(table_list *l) { memset(l, 0, sizeof *l); }

void table_list_done(table_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        table_free(l->t[i]);
    mem_free(l->t);
    memset(l, 0, sizeof *l);
}

table *table_list_add(table_list *l, table *t)
{
    if (!t)
        return NULL;
    if (mem_grow(&l->t, &l->cap, l->n + 1, sizeof *l->t)) {
        table_free(t);
        return NULL;
    }
    l->t[l->n++] = t;
    return t;
}

int table_list_flush(table_list *l)
{
    int rc = 0;

    if (!l->emit)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        if (rc == 0)
            rc = l->emit(l->emit_ctx, l->t[i]);
        table_free(l->t[i]);
    }
    l->n = 0;
    return rc;
}

table *table_list_msg(table_list *l, const char *fmt, ...)
{
    table *t = table_new("");
    va_list ap;
    char *s;

    if (!t)
        return NULL;
    va_start(ap, fmt);
    s = vfmt(fmt, ap);
    va_end(ap);
    if (!s || mem_grow(&t->notes, &t->cap_notes, 1, sizeof *t->notes)) {
        mem_free(s);
        table_free(t);
        return NULL;
    }
    t->notes[t->n_notes++] = s;
    return table_list_add(l, t);
}
