/* tui.c - the TUI's main loop and its one worker job.
 *
 * Every command goes through cmd_exec().  Short ones (similar, show, set,
 * info, ...) run on the main thread; long ones (load, gen, train, encode,
 * index build/eval, eval, compare, import/export) run on ONE pthread while
 * the main thread keeps drawing on curses' 100 ms input timeout, reading the
 * job's progress with progress_snapshot().  The lab has a single writer, so
 * while a job runs the main thread does not touch it: other commands are
 * refused with a status message, completion of item ids is off, and the
 * job's tables are handed back through ui->job_out once job_done is set.
 * Only this thread calls curses or readline (STYLE.md 2.5).
 */
#include "tui_int.h"
#include "complete.h"
#include "mem.h"
#include "term.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Commands worth a worker thread: they can take seconds to minutes. */
static int is_long(const char *line)
{
    static const char *const longs[] = {"load", "gen", "train", "encode", "eval", "compare",
                                        "import", "export", "delete", NULL};
    size_t w = strcspn(line, " \t");
    for (int i = 0; longs[i]; i++)
        if (strlen(longs[i]) == w && strncmp(line, longs[i], w) == 0)
            return 1;
    /* index build / index eval; `index info` is quick */
    return strncmp(line, "index ", 6) == 0 && strstr(line, "info") == NULL;
}

/* Commands that change what the header shows. */
static int changes_state(const char *line)
{
    static const char *const w[] = {"load", "gen", "train", "encode", "index", "import", "set",
                                    "delete", NULL};
    size_t n = strcspn(line, " \t");
    for (int i = 0; w[i]; i++)
        if (strlen(w[i]) == n && strncmp(line, w[i], n) == 0)
            return 1;
    return 0;
}

void tui_status(tui_ui *u, int is_err, const char *fmt, ...)
{
    char raw[sizeof u->status];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    table_sanitize(u->status, sizeof u->status, raw);
    u->status_err = is_err;
    u->status_t = progress_now();
}

/* Re-reads the lab's summary for the header (main thread, idle). */
static void refresh_header(tui_ui *u)
{
    lab_summary s;
    /* on failure the old header stays; the command's own error is shown */
    if (lab_summary_get(u->L, 1, &s, NULL) == 0) {
        u->hdr = s;
        u->hdr_ok = 1;
    }
}

/* Takes a finished command's tables: panes, metrics or a text view. */
static void apply(tui_ui *u, const char *line, int rc, table_list *out, const err *e,
                  double ms)
{
    int has_similar = 0, has_metrics = 0;

    for (size_t i = 0; i < out->n; i++) {
        has_similar |= table_kind(out->t[i]) == TABLE_SIMILAR;
        has_metrics |= table_kind(out->t[i]) == TABLE_METRICS;
    }
    if (has_similar) {
        tui_results_from(&u->res, out, line);
        tui_spark_take(u->spark, &u->res);
        u->view = TUI_VIEW_PANES;
        u->row = 0;
        if (u->pane >= u->res.n_panes)
            u->pane = 0;
    } else if (has_metrics) {
        table_list_done(&u->metrics);
        table_list_init(&u->metrics);
        for (size_t i = 0; i < out->n; i++)
            if (table_kind(out->t[i]) == TABLE_METRICS) {
                table_list_add(&u->metrics, out->t[i]);
                out->t[i] = NULL;   /* moved */
            }
        u->view = TUI_VIEW_PANES;
    } else if (out->n > 0 && rc >= 0) {
        /* a one-line message goes to the status line, anything else to a view */
        if (out->n == 1 && table_n_cols(out->t[0]) == 0 && table_n_notes(out->t[0]) == 1) {
            tui_status(u, 0, "%s", table_note_at(out->t[0], 0));
            return;
        }
        tui_show_tables(u, line, out);
    }
    if (rc < 0)
        tui_status(u, 1, "%s%s", rc == -ERR_CANCEL ? "" : "error: ", e->msg);
    else if (has_similar)
        tui_status(u, 0, "%s: %d lists in %.1f ms   (\xE2\x97\x86 in all three lists, "
                   "\xE2\x97\x87 in two)", line, u->res.n_panes, ms);
    else
        tui_status(u, 0, "%s: done in %.2f s", line, ms / 1000);
}

void tui_show_tables(tui_ui *u, const char *title, table_list *tl)
{
    table_list_done(&u->text_src);
    table_list_init(&u->text_src);
    for (size_t i = 0; i < tl->n; i++)
        if (tl->t[i]) {
            table_list_add(&u->text_src, tl->t[i]);   /* takes it, or frees it on OOM */
            tl->t[i] = NULL;
        }
    tui_text_done(&u->text);
    tui_text_init(&u->text, title);
    u->text_w = COLS;
    tui_text_tables(&u->text, &u->text_src, u->text_w);
    u->text_top = 0;
    u->text_left = 0;
    u->view = TUI_VIEW_TEXT;
}

void tui_text_fit(tui_ui *u, int width)
{
    char title[sizeof u->text.title];
    if (u->view != TUI_VIEW_TEXT || u->text_src.n == 0 || width == u->text_w)
        return;
    snprintf(title, sizeof title, "%s", u->text.title);
    tui_text_done(&u->text);
    tui_text_init(&u->text, title);
    u->text_w = width;
    tui_text_tables(&u->text, &u->text_src, width);
    if (u->text_top >= u->text.n)
        u->text_top = u->text.n ? u->text.n - 1 : 0;
}

static void *job_main(void *arg)
{
    tui_ui *u = arg;
    u->job_rc = cmd_exec(u->L, u->job_line, &u->job_out, &u->job_e);
    atomic_store(&u->job_done, 1);
    return NULL;
}

static void start_job(tui_ui *u, const char *line)
{
    snprintf(u->job_line, sizeof u->job_line, "%s", line);
    table_list_init(&u->job_out);
    err_clear(&u->job_e);
    atomic_store(&u->job_done, 0);
    u->job_cancel = 0;
    u->job_t0 = progress_now();
    complete_set_lab(NULL);   /* the worker owns the lab now */
    if (pthread_create(&u->job_th, NULL, job_main, u) != 0) {
        complete_set_lab(u->L);
        tui_status(u, 1, "error: cannot start a worker thread");
        return;
    }
    u->job_running = 1;
    u->status[0] = '\0';   /* the progress line says it all */
    if (u->view == TUI_VIEW_MAP)
        u->view = TUI_VIEW_PANES;   /* the map reads the catalog; the job owns it now */
}

/* Joins a finished job and shows its result; returns 1 if one finished. */
static int reap_job(tui_ui *u)
{
    if (!u->job_running || !atomic_load(&u->job_done))
        return 0;
    pthread_join(u->job_th, NULL);
    u->job_running = 0;
    u->quit_confirm = 0;
    complete_set_lab(u->L);
    apply(u, u->job_line, u->job_rc, &u->job_out, &u->job_e,
          (progress_now() - u->job_t0) * 1000);
    table_list_done(&u->job_out);
    refresh_header(u);
    return 1;
}

void tui_cancel_job(tui_ui *u)
{
    if (!u->job_running)
        return;
    u->job_cancel = 1;
    progress_cancel(lab_progress(u->L));
    tui_status(u, 0, "cancelling %s ...", u->job_line);
}

/* 1 when line's first word is w. */
static int first_word_is(const char *line, const char *w)
{
    size_t n = strcspn(line, " \t");
    return strlen(w) == n && strncmp(line, w, n) == 0;
}

/* The side-by-side lists: similar, query, recommend. */
static int is_query(const char *line)
{
    return first_word_is(line, "similar") || first_word_is(line, "query") ||
           first_word_is(line, "recommend");
}

/* 1 when the line has a word "k=..." or "--k" (the user chose the length). */
static int has_k(const char *line)
{
    for (const char *p = line; (p = strstr(p, "k")) != NULL; p++)
        if ((p == line || p[-1] == ' ' || p[-1] == '-') && (p[1] == '=' || p[1] == ' '))
            return 1;
    return 0;
}

/* A set KEY that shapes the lists: the last query runs again. */
static int reshapes_lists(const char *line)
{
    static const char *const keys[] = {"k", "alpha", "hybrid", "history", "i2v", "nprobe", "ef",
                                       NULL};
    if (!first_word_is(line, "set"))
        return 0;
    const char *k = line + 3 + strspn(line + 3, " \t");
    for (int i = 0; keys[i]; i++)
        if (first_word_is(k, keys[i]))
            return 1;
    return 0;
}

/* Runs a short command on this thread.  A query without k= asks for as
 * many rows as the window shows (unless `set k` chose a length); its line
 * as typed is kept to run again. */
static int run_now(tui_ui *u, const char *line)
{
    table_list out;
    err e;
    char exec[1100];
    int rows = 0;

    snprintf(exec, sizeof exec, "%s", line);
    if (is_query(line) && !has_k(line) && !u->k_set) {
        rows = tui_pane_rows(u, LINES);
        snprintf(exec, sizeof exec, "%s k=%d", line, rows < 10 ? 10 : rows);
    }
    double t0 = progress_now();
    table_list_init(&out);
    int rc = cmd_exec(u->L, exec, &out, &e);
    if (rc == CMD_QUIT) {
        table_list_done(&out);
        u->quit_confirm = 2;   /* the loop ends */
        return rc;
    }
    if (is_query(line) && rc >= 0) {
        snprintf(u->last_query, sizeof u->last_query, "%s", line);
        u->last_rows = rows;
    }
    apply(u, line, rc, &out, &e, (progress_now() - t0) * 1000);
    table_list_done(&out);
    return rc;
}

void tui_submit(tui_ui *u, const char *line)
{
    char buf[1024];

    while (*line == ' ' || *line == '\t')
        line++;
    snprintf(buf, sizeof buf, "%s", line);
    for (size_t n = strlen(buf); n && (buf[n - 1] == ' ' || buf[n - 1] == '\n'); n--)
        buf[n - 1] = '\0';
    if (!buf[0] || buf[0] == '#')
        return;
    u->matches[0] = '\0';
    if (u->job_running) {
        tui_status(u, 1, "busy: `%s` is running - wait for it or press Esc to cancel",
                   u->job_line);
        return;
    }
    if (is_long(buf)) {
        start_job(u, buf);
        return;
    }
    int rc = run_now(u, buf);
    if (rc == CMD_QUIT)
        return;
    if (changes_state(buf))
        refresh_header(u);
    if (rc >= 0 && first_word_is(buf, "set") && first_word_is(buf + 3 + strspn(buf + 3, " "), "k"))
        u->k_set = 1;
    if (rc >= 0 && reshapes_lists(buf) && u->last_query[0]) {
        /* the lists on screen were made with the old setting: make them again */
        char said[sizeof u->status], q[sizeof u->last_query];
        snprintf(said, sizeof said, "%s", u->status);
        snprintf(q, sizeof q, "%s", u->last_query);
        double t0 = progress_now();
        if (run_now(u, q) >= 0 && u->view == TUI_VIEW_PANES)
            tui_status(u, 0, "%s; `%s` again: %d lists in %.1f ms", said, q, u->res.n_panes,
                       (progress_now() - t0) * 1000);
    }
}

void tui_refit(tui_ui *u)
{
    char q[sizeof u->last_query];
    if (u->job_running || !u->last_query[0] || !u->last_rows || u->view != TUI_VIEW_PANES ||
        tui_pane_rows(u, LINES) == u->last_rows)
        return;
    size_t row = u->row;
    int pane = u->pane;
    snprintf(q, sizeof q, "%s", u->last_query);
    if (run_now(u, q) >= 0) {   /* keep the selection where it was */
        u->pane = pane < u->res.n_panes ? pane : 0;
        u->row = row < u->res.pane[u->pane].n ? row : 0;
    }
}

const char *tui_selected_id(const tui_ui *u)
{
    const tui_pane *p;
    if (u->pane < 0 || u->pane >= u->res.n_panes)
        return NULL;
    p = &u->res.pane[u->pane];
    return u->row < p->n ? p->rows[u->row].id : NULL;
}

void tui_open_detail(tui_ui *u)
{
    const char *id = tui_selected_id(u);
    char cmd[160], idc[64];
    table_list a, b;
    err e;

    if (!id)
        return;
    if (u->job_running) {
        tui_status(u, 1, "busy: `%s` is running - the detail opens when it is done",
                   u->job_line);
        return;
    }
    snprintf(idc, sizeof idc, "%s", id);
    table_list_init(&a);
    table_list_init(&b);
    snprintf(cmd, sizeof cmd, "show %s", idc);
    if (cmd_exec(u->L, cmd, &a, &e) < 0 || a.n == 0) {
        tui_status(u, 1, "error: %s", e.msg);
        goto done;
    }
    snprintf(cmd, sizeof cmd, "similar %s k=5", idc);
    if (cmd_exec(u->L, cmd, &b, &e) < 0)
        tui_status(u, 1, "neighbours: %s", e.msg);
    tui_results_from(&u->det, &b, cmd);
    table_list_done(&u->text_src);   /* the detail is laid out here, not from tables */
    table_list_init(&u->text_src);
    tui_text_done(&u->text);
    tui_text_init(&u->text, idc);
    tui_text_item(&u->text, a.t[0], COLS > TUI_MIN_W ? COLS : TUI_MIN_W);
    u->text_top = 0;
    u->text_left = 0;
    u->view = TUI_VIEW_DETAIL;
    tui_status(u, 0, "%s: Esc back, s: run `similar %s` in the panes", idc, idc);
done:
    table_list_done(&a);
    table_list_done(&b);
}

int tui_main(lab *L, int max_frames)
{
    tui_ui *u = mem_calloc(1, sizeof *u);
    int frames = 0, rc = 0;

    if (!u)
        return 1;
    u->L = L;
    lab_progress(L)->fn = NULL;   /* the progress line is drawn here, not on stderr */
    table_list_init(&u->metrics);
    table_list_init(&u->text_src);
    tui_text_init(&u->text, "");
    if (term_init(lab_progress(L)) != 0) {
        mem_free(u);
        return 1;
    }
    tui_input_init(u);
    refresh_header(u);
    const store_catalog *cat = lab_catalog(L, NULL);
    if (cat && cat->n > 0)
        tui_status(u, 0, "/ command line   ? help   q quit   - try `similar %s`",
                   cat->ext_id[cat->n / 2]);
    else
        tui_status(u, 0, "/ command line   ? help   q quit   - an empty lab: try `gen demo`, "
                   "then `train item2vec`");
    for (;;) {
        tui_draw(u);
        frames++;
        if (max_frames > 0 && frames >= max_frames)
            break;
        wint_t ch;
        int r = get_wch(&ch);
        if (u->job_cancel && u->job_running)
            progress_cancel(lab_progress(L));   /* in case the job reset it as it began */
        if (reap_job(u) && u->quitting)
            break;
        if (u->job_running) {   /* eval's metrics so far, published by the job */
            table *live = lab_live_take(L);
            if (live) {
                table_list_done(&u->metrics);
                table_list_init(&u->metrics);
                table_list_add(&u->metrics, live);
            }
        }
        if (r != ERR) {
            int f = tui_handle_key(u, r == KEY_CODE_YES, (int)ch);
            if (r == KEY_CODE_YES && ch == KEY_RESIZE)
                tui_refit(u);   /* the lists grow (or shrink) with the window */
            /* drain what readline completed, then keys typed ahead */
            if (u->has_pending) {
                u->has_pending = 0;
                tui_submit(u, u->pending);
            }
            if (u->view == TUI_VIEW_MAP)
                tui_map_follow(u);
            if (f & TUI_QUIT)
                break;
        }
        if (u->quit_confirm == 2)
            break;
        if (term_exit_requested()) {
            rc = 128 + term_exit_requested();
            break;
        }
    }
    if (u->job_running) {   /* quitting with a job: cancel it and wait */
        progress_cancel(lab_progress(L));
        pthread_join(u->job_th, NULL);
        table_list_done(&u->job_out);
    }
    tui_input_done(u);
    term_done();
    tui_map_free(u->map);
    tui_text_done(&u->text);
    table_list_done(&u->text_src);
    table_list_done(&u->metrics);
    mem_free(u);
    return rc;
}

