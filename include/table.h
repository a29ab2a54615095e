/* table.h - result tables: what every command returns and every front end
 * renders (aligned text, JSON, CSV; the TUI reads cells directly).
 *
 * A table has a title, named columns (left- or right-aligned), rows of cells
 * and free-text notes.  A table with no columns is a message (its notes).
 * Numeric cells remember their value so JSON gets numbers, not strings.
 * Text rendering measures display width with utf8proc (CJK is two columns)
 * and neutralises control characters, so catalog text containing terminal
 * escape sequences is shown as plain text, never interpreted.
 */
#ifndef EMBEDLAB_TABLE_H
#define EMBEDLAB_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

typedef struct table table;

table *table_new(const char *title);               /* NULL on OOM */
void table_free(table *t);                         /* NULL-safe */
/* Adds a column; align_right for numbers.  Returns 0 or -ERR_NOMEM. */
int table_col(table *t, const char *name, int align_right);
int table_row(table *t);                           /* starts a new row */
/* Append a cell to the current row. */
int table_str(table *t, const char *s);
int table_fmt(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int table_int(table *t, int64_t v);
int table_num(table *t, double v, int decimals);   /* NaN renders as "-" / null */
/* A number with an interval [lo, hi] (a NaN in any: a plain table_num).
 * Text shows "v ±h" with h half the interval's width, then `mark` (may be
 * NULL); JSON and CSV give the value and, beside the column, "COL lo" and
 * "COL hi". */
int table_num_ci(table *t, double v, double lo, double hi, int decimals, const char *mark);
int table_note(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What a table holds, for front ends that show some kinds specially (the
 * TUI's panes, metrics, map).  JSON output names it ("kind":"similar"). */
enum {
    TABLE_PLAIN,        /* anything else (no "kind" in JSON) */
    TABLE_SIMILAR,      /* one recommender's ranked list: #, id, title, score;
                           fields method, latency_ms, reason */
    TABLE_METRICS,      /* eval: one row per method */
    TABLE_COMPARE,      /* compare: the model x metric table */
    TABLE_ITEM,         /* show ITEM: field/value rows */
    TABLE_INDEX_EVAL,   /* index eval: recall, QPS, latency percentiles */
    TABLE_MAP,          /* map MODEL: id, category, x, y */
    TABLE_HELP,         /* help: rows of a heading (a usage line, an option) and its
                           description; text output lays them out like a man page
                           (table_render_text_width); fields indent and body place
                           the heading and the description (default 0 and 4) */
    TABLE_N_KINDS
};
int table_set_kind(table *t, int kind);            /* TABLE_*; returns 0 */
/* CSV only: a first column named `col` holding the table's title in every
 * row, so the blocks of a command that returns several lists (Item2Vec,
 * LLM, Hybrid) say which is which.  0 or -ERR_NOMEM. */
int table_csv_title_col(table *t, const char *col);
int table_kind(const table *t);                    /* TABLE_PLAIN when unset */
const char *table_kind_name(int kind);             /* "similar", ...; "" for PLAIN */

/* Named fields: a table's facts that are not rows (a list's latency, a
 * method's name), typed so front ends never parse display text.  A number
 * field set to NaN means "not measured" (JSON null).  Setting a name again
 * replaces its value.  Text rendering does not show fields (notes do);
 * JSON puts them in "fields".  0 or -ERR_NOMEM. */
int table_field_num(table *t, const char *name, double v);
int table_field_str(table *t, const char *name, const char *s);
/* Several number fields at once: name, value (a double), ..., NULL. */
int table_fields(table *t, ...) __attribute__((sentinel));
/* 1 and *v when the field is a number other than NaN, else 0. */
int table_get_num(const table *t, const char *name, double *v);
/* The field's text, or NULL when it is absent or a number. */
const char *table_get_str(const table *t, const char *name);

const char *table_title(const table *t);
size_t table_n_cols(const table *t);
size_t table_n_rows(const table *t);
size_t table_n_notes(const table *t);
const char *table_col_name(const table *t, size_t c);
const char *table_cell(const table *t, size_t r, size_t c);   /* "" when missing */
int table_cell_num(const table *t, size_t r, size_t c, double *v); /* 1 if numeric */
/* 1 (and the bounds) if the cell was made by table_num_ci with an interval. */
int table_cell_ci(const table *t, size_t r, size_t c, double *lo, double *hi);
const char *table_note_at(const table *t, size_t i);

int table_render_text(const table *t, FILE *out);
/* The same for a reader at `width` columns (a terminal's width, 80 when
 * not a terminal): a TABLE_HELP table is laid out like man or git help,
 * each heading (wrapped at blanks if long) then its description indented
 * and word-wrapped to the width; nothing is ever cut (a word longer than
 * the line stands alone).  Other tables print as table_render_text does. */
int table_render_text_width(const table *t, FILE *out, int width);
int table_render_json(const table *t, FILE *out);  /* one JSON object, no newline */
int table_render_csv(const table *t, FILE *out);

/* Display width (terminal columns) of a UTF-8 string; invalid bytes count 1. */
size_t table_text_width(const char *s);
/* Copies s into dst (cap bytes) replacing control characters with U+FFFD-free
 * visible forms ("^[" for ESC) and invalid UTF-8 with '?'. */
void table_sanitize(char *dst, size_t cap, const char *s);

/* ---- a list of tables: what one command returns ------------------------ */
/* A front end that prints results as they come may set `emit` (after
 * table_list_init): a command with output of any length (`embed --jsonl`)
 * then calls table_list_flush after each part, which hands the tables so
 * far to emit, in order, and frees them, so the output never has to fit in
 * memory.  Without emit (the TUI, tests) the tables stay in the list. */
typedef int (*table_emit_fn)(void *ctx, const table *t);

typedef struct table_list {
    table **t;
    size_t n, cap;
    table_emit_fn emit;     /* NULL: keep every table */
    void *emit_ctx;
} table_list;

void table_list_init(table_list *l);
void table_list_done(table_list *l);   /* frees the tables */
/* Appends (taking ownership) and returns t, or frees t and returns NULL. */
table *table_list_add(table_list *l, table *t);
/* With emit set: hands every table of l to emit, frees them, empties l
 * (later tables start a new part).  0, or emit's negative ERR_* (the tables
 * are freed all the same).  Without emit: 0, nothing done. */
int table_list_flush(table_list *l);
/* Convenience: a message table with one note. NULL on OOM. */
table *table_list_msg(table_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
