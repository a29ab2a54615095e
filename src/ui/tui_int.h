/* tui_int.h - the TUI's state, shared by tui.c (loop, jobs), tui_input.c
 * (keys, readline glue), tui_draw.c (painting) and tui_map.c.  Not a public
 * API; no curses types here, so the state stays plain data. */
#ifndef EMBEDLAB_TUI_INT_H
#define EMBEDLAB_TUI_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cmd.h"
#include "tui.h"

enum { TUI_VIEW_PANES, TUI_VIEW_TEXT, TUI_VIEW_DETAIL, TUI_VIEW_MAP };

/* Key handler results (htop's ScreenManager style): the loop decides. */
enum { TUI_HANDLED = 1, TUI_REDRAW = 2, TUI_QUIT = 4 };

#define TUI_MIN_W 80
#define TUI_MIN_H 24

typedef struct tui_map tui_map;   /* tui_map.c */

typedef struct tui_ui {
    lab *L;
    int view;
    int focus_cmd;           /* the command line has the keys */
    int pane;                /* focused pane 0..2 */
    size_t row;              /* selected row in the focused pane */
    tui_results res;         /* the three panes */
    tui_results det;         /* the detail view's neighbours */
    tui_text text;           /* text / detail view content */
    table_list text_src;     /* the tables the text view shows (owned), so a
                                resize wraps them again; empty for the detail */
    int text_w;              /* the width text was rendered for */
    size_t text_top;         /* first visible text line */
    int text_left;           /* columns scrolled off to the left */
    lab_summary hdr;         /* for the header (lab_summary_get) */
    int hdr_ok;              /* hdr holds a summary */
    table_list metrics;      /* the last "metrics" table (eval) */
    tui_spark spark[TUI_N_PANES];
    char status[512];
    int status_err;
    double status_t;         /* when it was set: it outranks the progress line 3 s */
    char matches[512];       /* completion candidates, shown on the status line */
    int quit_confirm;        /* 1: q pressed while a job runs; 2: leave now */
    int quitting;            /* confirmed: leave once the cancelled job stops */

    /* the one worker job */
    int job_running;
    pthread_t job_th;
    atomic_int job_done;
    int job_cancel;          /* cancel requested: re-assert until it ends */
    char job_line[1024];
    table_list job_out;
    err job_e;
    int job_rc;
    double job_t0;

    /* the last similar/query/recommend as typed, re-run when a setting that
     * shapes its lists changes (set hybrid, alpha, ...) or the window grows */
    char last_query[1024];
    int last_rows;           /* the rows it was sized for (k), 0: the user gave k */
    int k_set;               /* the user chose `set k`: lists keep that length */

    /* a line readline finished, waiting to run */
    char pending[1024];
    int has_pending;
    char hist[1100];

    tui_map *map;
    tui_results map_nb;      /* neighbours of map_sel in each model */
    char map_sel[64];        /* the item the map highlights ("" none) */

    /* where the panes were last drawn, for mouse clicks */
    int lay_y, lay_h, lay_pw;
    size_t lay_top;
} tui_ui;

/* tui.c */
void tui_submit(tui_ui *u, const char *line);
/* Runs the last query again when the window's list rows changed (resize). */
void tui_refit(tui_ui *u);
void tui_status(tui_ui *u, int is_err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void tui_open_detail(tui_ui *u);
/* Shows tables in the text view, taking them out of tl (tl keeps its other
 * entries NULL); wrapped for the current width. */
void tui_show_tables(tui_ui *u, const char *title, table_list *tl);
/* Renders the text view's tables again when the width changed. */
void tui_text_fit(tui_ui *u, int width);
void tui_cancel_job(tui_ui *u);
/* The id under the selection (pane row), or of the detail item, or NULL. */
const char *tui_selected_id(const tui_ui *u);

/* tui_input.c */
int tui_input_init(tui_ui *u);
void tui_input_done(tui_ui *u);
int tui_handle_key(tui_ui *u, int is_key, int ch);  /* TUI_* flags */
/* The command line as shown: prompt + buffer, and the cursor column. */
const char *tui_input_line(int *cursor_bytes);

/* tui_draw.c */
void tui_draw(tui_ui *u);
/* The rows a list can show in a window `height` lines high (what a query
 * asks for when the user gave no k). */
int tui_pane_rows(const tui_ui *u, int height);

/* tui_map.c */
int tui_map_open(tui_ui *u);   /* computes the projections (idle only) */
/* Follows the selection: `similar` for the selected item's neighbours. */
void tui_map_follow(tui_ui *u);
void tui_map_draw(tui_ui *u, int y0, int h, int w);
void tui_map_free(tui_map *m);

#endif
