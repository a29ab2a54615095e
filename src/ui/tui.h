/* tui.h - the full-screen front end.
 *
 * Two halves.  The view model (tui_model.c, tui_raster.c) is pure: it turns
 * result tables (table.h) and a width into display lines - the three
 * side-by-side panes with agreement marks, the header, the metrics rows with
 * latency sparklines, the progress line, wrapped item text, Braille canvases.
 * It makes no curses calls, so tests/unit/test_tui_model.c compiles it
 * directly.  Everything below "curses side" lives in tui.c, tui_draw.c,
 * tui_map.c and term.c and runs on the main thread only.
 *
 * Lines are UTF-8; widths are terminal columns (CJK counts two), measured
 * with table_text_width().  Catalog text is sanitised (table_sanitize) when
 * it enters the model, so no control character reaches the screen.
 */
#ifndef EMBEDLAB_TUI_H
#define EMBEDLAB_TUI_H

#include <stddef.h>

#include "lab.h"
#include "progress.h"
#include "table.h"

#define TUI_LINE 1024        /* bytes of one formatted line */
#define TUI_MAX_ROWS 100     /* rows kept per pane (REC_MAX_K is 100) */
#define TUI_N_PANES 3        /* Item2Vec | LLM | Hybrid */
#define TUI_SPARK_N 32       /* latencies kept per method */

/* ---- panes ---------------------------------------------------------- */
typedef struct tui_row {
    char rank[8], id[64], title[256], score[16];
    int mark;                /* how many panes hold this id (1..3) */
    char from;               /* a hybrid row's source: 'I' Item2Vec, 'L' LLM,
                                'B' both; 0 in the other lists */
} tui_row;

typedef struct tui_pane {
    char title[96];
    tui_row rows[TUI_MAX_ROWS];
    size_t n;
    char note[256];          /* why the list is empty, or "" */
    double latency_ms;       /* < 0 when unknown ("latency - ms") */
} tui_pane;

typedef struct tui_results {
    tui_pane pane[TUI_N_PANES];
    int n_panes;             /* 0: nothing to show yet */
    char caption[256];       /* e.g. "similar I00980" or a trailing note */
} tui_results;

/* Fills r from the "similar" tables of tl (at most three, in order), and
 * computes the agreement marks.  Returns the number of panes found. */
int tui_results_from(tui_results *r, const table_list *tl, const char *caption);

/* dst = s truncated ("…") or padded with spaces to exactly width columns;
 * right-aligned when right != 0.  Returns the bytes written. */
size_t tui_fit(char *dst, size_t cap, const char *s, int width, int right);
/* Display width of s (wraps table_text_width). */
int tui_width(const char *s);
/* The rest of s after its first `cols` display columns (for horizontal
 * scrolling); a wide character cut in half is skipped whole. */
const char *tui_skip_cols(const char *s, int cols);

/* One pane row (or, for row == n.., an empty line) of exactly width
 * columns: mark, rank, id, title, score, and in the Hybrid pane the
 * row's source (I, L or B).  The mark glyph is "◆" when all three panes
 * hold the item, "◇" when two do. */
void tui_pane_line(const tui_pane *p, size_t row, int width, char *dst, size_t cap);
/* The pane's caption line: title and latency, exactly width columns. */
void tui_pane_title(const tui_pane *p, int width, char *dst, size_t cap);

/* ---- header ---------------------------------------------------------- */
#define TUI_HEADER_LINES 3
/* From the lab's summary (lab_summary_get with indexes; NULL: nothing
 * open): database and counts; models (Item2Vec parameters, the text
 * encoder's label) and their indexes; hybrid settings.  Each line exactly
 * width columns. */
void tui_header_lines(const lab_summary *s, int width, char lines[TUI_HEADER_LINES][TUI_LINE]);

/* ---- latency sparklines and the metrics table ---------------------- */
typedef struct tui_spark {
    double v[TUI_SPARK_N];
    size_t n, head;          /* count kept, next slot */
} tui_spark;

void tui_spark_push(tui_spark *s, double ms);
/* The last `width` values as block characters ▁..█ scaled to their max. */
void tui_spark_text(const tui_spark *s, int width, char *dst, size_t cap);
/* Pushes each pane's measured latency into sp[0..2]. */
void tui_spark_take(tui_spark sp[TUI_N_PANES], const tui_results *r);

/* Lines of the metrics area: a column header, then one row per method of
 * the "metrics" table m (or, when m is NULL, Item2Vec/LLM/Hybrid with only
 * latencies): P@k, R@k, NDCG@k, MRR, coverage, p50, p95, memory, and a
 * latency sparkline where the width leaves room.  Returns the line count
 * (<= max). */
size_t tui_metrics_lines(const table *m, const tui_spark sp[TUI_N_PANES], int width,
                         char (*lines)[TUI_LINE], size_t max);

/* The job line: stage, bar, percent, rate, metric, ETA, "Esc cancels". */
void tui_progress_line(const progress_view *v, int width, char *dst, size_t cap);

/* ---- scrollable text (command output, help, item detail) ------------ */
typedef struct tui_text {
    char **line;             /* owned, sanitised UTF-8 */
    size_t n, cap;
    char title[128];
} tui_text;

void tui_text_init(tui_text *t, const char *title);
void tui_text_done(tui_text *t);
int tui_text_add(tui_text *t, const char *s);          /* 0 or -ERR_NOMEM */
/* Each table rendered as text for `width` columns (table_render_text_width:
 * help wrapped like a man page, other tables aligned), line by line. */
int tui_text_tables(tui_text *t, const table_list *tl, int width);
/* Word-wraps s to width columns after a label column of label_w. */
int tui_text_wrap(tui_text *t, const char *label, int label_w, const char *s, int width);
/* The item detail from `show ID`'s "item" table. */
int tui_text_item(tui_text *t, const table *item, int width);

/* ---- Braille canvas (tui_raster.c) --------------------------------- */
/* A w x h cell canvas of 2 x 4 dots per cell (U+2800 block).  Each cell
 * remembers the category of the last dot set in it for colouring. */
typedef struct tui_canvas {
    int w, h;
    unsigned char *bits;     /* w*h dot masks */
    short *cat;              /* w*h: category of the last dot, -1 none */
} tui_canvas;

int tui_canvas_init(tui_canvas *c, int w, int h);     /* 0 or -ERR_NOMEM */
void tui_canvas_done(tui_canvas *c);
void tui_canvas_clear(tui_canvas *c);
/* Sets the dot at fractional position (fx, fy) in [0,1] x [0,1] (y down);
 * returns the cell index, or -1 when outside. */
int tui_canvas_plot(tui_canvas *c, double fx, double fy, int cat);
/* UTF-8 of cell i (3 bytes + NUL) or " " when empty; returns its mask. */
int tui_canvas_cell(const tui_canvas *c, int i, char out[4]);
/* Bounds of n 2-D points (xy pairs) trimmed by the given fraction at each
 * end, so a few outliers do not squash the picture. */
void tui_bounds(const float *xy, size_t n, double trim, double box[4]);

/* ---- the curses side ------------------------------------------------- */
/* Runs the full-screen interface on L until the user quits or max_frames
 * frames were drawn (0 = unlimited).  Returns the exit status. */
int tui_main(lab *L, int max_frames);

#endif
