/* import_int.h - helpers shared by the import_*.c files (not a public header).
 *
 * imp_src reads a file line by line through one reusable buffer (BOM
 * stripped, line length capped); imp_csv feeds those lines to libcsv and
 * hands back whole records with the line each one started on; imp_map maps
 * catalog ids to rowids in memory (an hmap, plus the line that defined each);
 * imp_ctx holds what every importer shares: the transaction, the report,
 * skip-bad bookkeeping and progress.
 */
#ifndef EMBEDLAB_IMPORT_INT_H
#define EMBEDLAB_IMPORT_INT_H

#include <csv.h>
#include <stdio.h>

#include "hmap.h"
#include "import.h"

#define IMP_MAX_COLS 1024   /* columns per CSV record */

/* ---- id map: catalog id -> rowid ---------------------------------------- */
typedef struct imp_map {
    hmap rowid;         /* catalog id -> item rowid */
    hmap line;          /* catalog id -> line that defined it, for the ids of this import */
} imp_map;

void imp_map_done(imp_map *m);
/* Adds a new id; line 0: it is already in the database.  0 or -ERR_NOMEM. */
int imp_map_put(imp_map *m, const char *k, size_t len, int64_t id, int64_t line);
/* The rowid of catalog id k[0..len), or NULL when unknown. */
static inline const int64_t *imp_map_get(const imp_map *m, const char *k, size_t len)
{
    return hmap_get_str(&m->rowid, k, len);
}
/* The line that defined k in this import, or 0. */
static inline int64_t imp_map_line(const imp_map *m, const char *k, size_t len)
{
    const int64_t *l = hmap_get_str(&m->line, k, len);
    return l ? *l : 0;
}
/* Loads every item of the database (line 0). */
int imp_map_load(imp_map *m, store *s, err *e);

/* A 128-bit fingerprint of a file's bytes as 32 hex digits (not
 * cryptographic: it tells an accidental re-import of the same file).
 * 0, -ERR_NOTFOUND, -ERR_IO. */
int imp_fingerprint(const char *path, char hex[33], err *e);

/* ---- shared import state -------------------------------------------------- */
typedef struct imp_src imp_src;

typedef struct imp_ctx {
    store *s;
    const import_opts *o;
    progress *p;
    import_report *r;
    err *e;              /* never NULL (points at own_e when the caller gave NULL) */
    imp_map ids;
    int bulk;                /* store_bulk turned on by imp_begin */
    const imp_src *src;      /* the file being read (imp_read_from), for progress */
    int64_t src_rows0;       /* rows read before it */
    import_opts own_o;
    import_report own_r;
    err own_e;
} imp_ctx;

/* Resets the report, opens the transaction, starts progress and (need_map)
 * loads the id map.  On failure nothing is left open. */
int imp_begin(imp_ctx *x, store *s, const import_opts *o, progress *p, import_report *r,
              err *e, const char *stage, int need_map);
/* Commits (rc == 0) or rolls back, ends progress, frees the map; returns rc
 * or the commit error. */
int imp_end(imp_ctx *x, int rc);
/* A row failed with rc and x->e holding "FILE:LINE: ...".  With skip_bad and
 * a row-level code the row is counted, its message kept, 0 returned; else rc. */
int imp_row_failed(imp_ctx *x, int rc);
/* Counts one data row; returns -ERR_CANCEL (message set) when cancelled.
 * Progress counts rows; its total is estimated from the bytes of the file
 * read so far (imp_read_from), so the bar moves on an import whose row
 * count is unknown until its end. */
int imp_tick(imp_ctx *x);
/* The file the next rows come from (NULL: none), for imp_tick's estimate. */
void imp_read_from(imp_ctx *x, const imp_src *src);

/* ---- line source ---------------------------------------------------------- */
struct imp_src {
    const char *path;   /* borrowed */
    FILE *f;
    char *buf;          /* read buffer */
    size_t len, pos;
    char *line;         /* current line, '\n'-terminated, then NUL */
    size_t line_len, line_cap;
    int64_t lineno;     /* 1-based number of the current line */
    int eof, started;
    uint64_t size;      /* the file's size in bytes (0: unknown, a pipe) */
    uint64_t consumed;  /* bytes read into lines so far */
};

int imp_src_open(imp_src *r, const char *path, err *e);
/* 1: a line in r->line (always ends in '\n'); 0: end of file; -ERR_RANGE for
 * a line over IMPORT_MAX_LINE (skipped, reading can go on); -ERR_IO. */
int imp_src_next(imp_src *r, err *e);
void imp_src_close(imp_src *r);
/* 1 when the line holds only spaces, tabs, CR and LF. */
int imp_blank(const char *s, size_t len);

/* ---- CSV records ---------------------------------------------------------- */
typedef struct imp_csv {
    imp_src src;
    struct csv_parser p;
    unsigned char delim;
    int strict;
    char *fb;           /* field bytes, each NUL-terminated */
    size_t fb_len, fb_cap;
    size_t *off, *flen; /* per field: offset in fb, real length (may exceed what was kept) */
    size_t nf, cap_off, cap_flen;
    int64_t line;       /* first line of the current record */
    size_t rec_bytes;
    int open, got, nomem;
    char **names;       /* header names for messages (set by the caller), or NULL */
    size_t n_names;
} imp_csv;

int imp_csv_open(imp_csv *c, const char *path, unsigned char delim, err *e);
/* 1: a record (fields via imp_csv_str); 0: end of file; -ERR_PARSE/-ERR_RANGE
 * for a malformed record (row-level; reading can go on); -ERR_IO/-ERR_NOMEM. */
int imp_csv_next(imp_csv *c, err *e);
/* Reads the remaining records of c: each well-formed one goes to
 * row(x, c, ud); a malformed record still counts as a row read.  A failed
 * row goes through imp_row_failed (skipped with --skip-bad, else the end).
 * Returns 0 or the error that stopped the import. */
int imp_csv_each(imp_ctx *x, imp_csv *c, int (*row)(imp_ctx *x, imp_csv *c, void *ud),
                 void *ud);
void imp_csv_close(imp_csv *c);
static inline const char *imp_csv_str(const imp_csv *c, size_t i) { return c->fb + c->off[i]; }
/* The name of column i for messages: its header name or "column N". */
const char *imp_csv_name(const imp_csv *c, size_t i, char *buf, size_t cap);
/* Checks field i with imp_check_text. */
int imp_csv_check(const imp_csv *c, size_t i, err *e);
/* Reads the header record into c->names (owned by c).  Empty file: ERR_PARSE. */
int imp_csv_header(imp_csv *c, err *e);
/* Index of the first header name matching one of `alts` (ASCII case-
 * insensitive, NULL-terminated list), or -1. */
int imp_csv_col(const imp_csv *c, const char *const *alts);

/* ---- values --------------------------------------------------------------- */
/* Offset of the first invalid UTF-8 byte, or -1 when s is valid. */
long imp_utf8_bad(const char *s, size_t len);
/* Row-level check of one text value: length, NUL bytes, UTF-8.  Message
 * "PATH:LINE: field 'NAME': ...". */
int imp_check_text(const char *path, int64_t line, const char *name, const char *s,
                   size_t len, err *e);
/* Whole-string decimal integer: 0, -ERR_PARSE (not an integer), -ERR_RANGE. */
int imp_parse_i64(const char *s, size_t len, int64_t *out);
/* Timestamp: integer seconds >= 0 or ISO-8601 "YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+HH:MM]".
 * 0, or -ERR_PARSE/-ERR_RANGE with *why set to a short reason. */
int imp_parse_ts(const char *s, size_t len, int64_t *out, const char **why);
/* Number of bytes of s (at most max) to print, cut at a UTF-8 boundary. */
int imp_clip(const char *s, size_t len, size_t max);
/* Format detection helpers. */
const char *imp_ext(const char *path);   /* lower-case extension without dot, or "" */
int imp_sniff(const char *path, char *buf, size_t cap, err *e);   /* first bytes, NUL-terminated */

/* Event importers reading more than this many bytes drop the events index
 * and rebuild it at the end (one sort beats 10^6 B-tree searches; a small
 * import into a big database keeps the index and its per-row cost). */
#define IMP_REINDEX_BYTES (4 * 1024 * 1024)
/* Drops the events index when `path` is big (see above); *dropped says so. */
int imp_events_index_off(imp_ctx *x, const char *path, int *dropped);

/* 1 if a cJSON allocation failed since the last reset (then resets if asked). */
int imp_json_oom(int reset);

#endif
