/* import.h - catalog and session importers: CSV/TSV (libcsv, RFC 4180),
 * JSONL (cJSON), plain "one session per line" text, and MovieLens
 * (ml-latest-small and ml-100k folders).
 *
 * Every import is one transaction (a savepoint when the caller already has
 * one open).  By default the first bad row aborts the import, the database is
 * rolled back to exactly its previous state, and `e` says
 * "FILE:LINE: field 'x': what is wrong".  With opts.skip_bad the good rows are
 * imported, bad rows are counted in report.skipped and the first
 * IMPORT_MAX_BAD messages kept in report.bad.  Errors that are not about one
 * row (missing file, empty file, header without a required column, I/O and
 * database errors, cancellation) always abort and roll back.
 *
 * Input limits: a field may hold at most IMPORT_MAX_FIELD bytes, a line (or a
 * quoted record spanning lines) IMPORT_MAX_LINE bytes.  All text must be valid
 * UTF-8 without NUL bytes (ml-100k's latin-1 u.item is converted).  A UTF-8
 * BOM and CRLF line endings are accepted.
 *
 * Progress: progress_begin(p, "import ...", "rows", 0), then the number of
 * rows read; progress_cancel() makes the import roll back and return
 * -ERR_CANCEL.  p may be NULL.
 */
#ifndef EMBEDLAB_IMPORT_H
#define EMBEDLAB_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "progress.h"
#include "store.h"

#define IMPORT_MAX_FIELD (64 * 1024)     /* bytes per field */
#define IMPORT_MAX_LINE (1024 * 1024)    /* bytes per line / record */
#define IMPORT_MAX_BAD 20                /* messages kept in report.bad */

typedef struct import_opts {
    const char *format;   /* NULL: from the extension, then the content.
                             catalog: "csv" "tsv" "jsonl"; sessions: "csv" "tsv" "lines" */
    int skip_bad;         /* import good rows, count and report bad ones */
    double min_rating;    /* movielens: keep ratings >= this; 0 = all */
    int append;           /* sessions: import even what is stored already (below) */
    int add_items;        /* sessions: an unknown item id becomes a bare item
                             (the id as title, no text) instead of an error */
} import_opts;

void import_opts_default(import_opts *o);

/* Process-wide: cJSON allocates through mem.h (so allocation failures are
 * reported and injected like everyone else's, and the importers tell a
 * failed cJSON allocation from bad JSON).  Call once at start-up, before
 * other threads run: lab_global_init() does. */
void import_global_init(void);

typedef struct import_report {
    int64_t rows;      /* data rows read, good or bad (headers excluded; all files for movielens) */
    int64_t items;     /* items inserted */
    int64_t events;    /* events inserted */
    int64_t skipped;   /* bad rows skipped (skip_bad) */
    char **bad;        /* first IMPORT_MAX_BAD messages "FILE:LINE: field 'x': ..." */
    size_t n_bad;
    char format[16];   /* the format used: csv tsv jsonl lines ml-latest ml-100k */
    int64_t duplicates; /* sessions: events already stored (same session, item and
                           time), not imported again */
    int64_t first_session; /* sessions, "lines": the number of the first session
                              (1, or after the numbers a previous file used) */
} import_report;

/* Frees report.bad and zeroes the report.  NULL-safe. */
void import_report_done(import_report *r);

/* The three importers.  `r` is reset on entry (it may be NULL); call
 * import_report_done(r) afterwards whatever the result.  `o` may be NULL
 * (defaults).  Return 0 or a negative ERR_*: -ERR_PARSE / -ERR_RANGE for bad
 * input, -ERR_EXISTS for a duplicate item id, -ERR_NOTFOUND for an unknown
 * item id or a missing file, -ERR_USAGE for an unknown format, -ERR_CANCEL,
 * -ERR_IO, -ERR_DB, -ERR_NOMEM.
 *
 * import_catalog: header row required (CSV/TSV) with columns id and title,
 *   optional description and category, in any order; other columns are kept
 *   as a JSON object in attrs.  JSONL: one object per line, id a string or an
 *   integer, title a string; other keys go to attrs.
 * import_sessions: CSV/TSV with header session_id,item_id[,timestamp][,user_id]
 *   (timestamp: integer seconds or an ISO-8601 date), or "lines": one session
 *   per line, item ids separated by white space, session id = line number.
 *   Item ids must already be in the catalog, unless o->add_items: an unknown
 *   id then becomes an item with the id as title and no text (r->items
 *   counts them).  "lines" sessions are numbered on from the highest
 *   number a previous "lines" file used, so two files never merge.
 *   Re-imports are refused unless o->append: a file whose content was
 *   imported before (its fingerprint is kept in the store) fails with
 *   -ERR_EXISTS, and so does one whose every event is already stored (same
 *   session, item and timestamp); when only some are, those are skipped
 *   and counted in r->duplicates.
 * import_movielens: DIR holds movies.csv + ratings.csv (+ tags.csv), or u.item
 *   + u.data.  Items get id = movieId; each user's ratings, in time order,
 *   form session "u<userId>" of user "u<userId>". */
int import_catalog(store *s, const char *path, const import_opts *o, progress *p,
                   import_report *r, err *e);
int import_sessions(store *s, const char *path, const import_opts *o, progress *p,
                    import_report *r, err *e);
int import_movielens(store *s, const char *dir, const import_opts *o, progress *p,
                     import_report *r, err *e);

#endif
