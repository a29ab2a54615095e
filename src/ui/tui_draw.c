/* tui_draw.c - paints one frame from the state in tui_ui: header, the
 * current view (three panes + metrics, text, item detail, map), the status
 * or progress line and the command line.  The strings come from the pure
 * model (tui_model.c) already fitted to their widths; this file only places
 * them and picks attributes.  A frame is written in one go: erase, draw
 * into stdscr, wnoutrefresh + doupdate (kilo's abuf idea), so a resize or a
 * progress tick never shows half a frame.
 */
#include "tui_int.h"
#include "term.h"

#include <curses.h>
#include <string.h>

static void put(int y, int x, int attr, const char *s)
{
    attron(attr);
    mvaddstr(y, x, s);
    attroff(attr);
}

static void put_fit(int y, int x, int w, int attr, const char *s)
{
    char buf[TUI_LINE];
    tui_fit(buf, sizeof buf, s, w, 0);
    put(y, x, attr, buf);
}

/* Three panes side by side in rows [y, y+h), the selection in pane `focus`
 * (sel_row; no selection when focus < 0).  Returns the first row shown. */
static size_t draw_panes(const tui_results *r, int y, int h, int w, int focus, size_t sel)
{
    static const char *const names[] = {"Item2Vec", "LLM", "Hybrid"};
    char line[TUI_LINE];
    int pw = (w - 2) / 3, body = h - 1;
    size_t top = 0;

    if (body < 1)
        return 0;
    if (focus >= 0 && sel >= (size_t)body)
        top = sel - (size_t)body + 1;
    for (int i = 0; i < TUI_N_PANES; i++) {
        int x = i * (pw + 1), pwi = i == 2 ? w - 2 * (pw + 1) : pw;
        const tui_pane *p = i < r->n_panes ? &r->pane[i] : NULL;
        if (p)
            tui_pane_title(p, pwi, line, sizeof line);
        else
            tui_fit(line, sizeof line, names[i], pwi, 0);
        put(y, x, term_attr(TERM_TITLE) | (i == focus ? A_UNDERLINE : 0), line);
        if (i < 2)
            mvaddstr(y, x + pwi, " ");
        for (int k = 0; k < body; k++) {
            size_t row = top + (size_t)k;
            int yy = y + 1 + k;
            if (i < 2)
                mvaddstr(yy, x + pwi, "\xE2\x94\x82");   /* │ */
            if (!p || p->n == 0) {
                if (k == 0)
                    put_fit(yy, x, pwi, term_attr(TERM_DIM),
                            !p ? (i == 0 ? "no query yet: press / and type similar ITEM" : "")
                               : p->note[0] ? p->note : "(no results)");
                continue;
            }
            tui_pane_line(p, row, pwi, line, sizeof line);
            int sel_here = i == focus && row == sel && row < p->n;
            put(yy, x, sel_here ? term_attr(TERM_SELECT) : 0, line);
            if (!sel_here && row < p->n && p->rows[row].mark >= 2) {
                int a = term_attr(TERM_MARK);
                mvchgat(yy, x, 1, (attr_t)a & A_ATTRIBUTES & ~A_COLOR, (short)PAIR_NUMBER(a),
                        NULL);
            }
        }
    }
    return top;
}

/* Lines of the metrics table at most: its header and 19 methods (`eval
 * --tuned` has up to 14). */
#define METRICS_MAX_LINES 20

static void draw_metrics(const tui_ui *u, int y, int h, int w)
{
    char lines[METRICS_MAX_LINES][TUI_LINE];
    const table *m = u->metrics.n ? u->metrics.t[0] : NULL;
    char title[TUI_LINE];

    if (h < 2)
        return;
    if (m) {   /* what the last eval measured: its cases and split */
        const char *cases = table_get_str(m, "cases"), *split = table_get_str(m, "split");
        double k;
        char ks[32] = "";
        if (table_get_num(m, "k", &k))
            snprintf(ks, sizeof ks, ", k %.0f", k);
        snprintf(title, sizeof title, "Metrics  (last eval: %s, %s%s)",
                 cases && strcmp(cases, "all") ? cases : "all items",
                 split ? split : "leave-last-out", ks);
    } else
        snprintf(title, sizeof title, "Metrics");
    if (u->job_running) {   /* eval's live figure: Hybrid's recall so far */
        progress_view v;
        progress_snapshot(lab_progress(u->L), &v);
        if (v.active && strcmp(v.stage, "eval") == 0) {
            char fig[64] = "";
            if (v.metric_name[0])
                snprintf(fig, sizeof fig, ", Hybrid %s so far %.4f", v.metric_name, v.metric);
            snprintf(title, sizeof title, "Metrics  (eval running: %llu/%llu queries%s)",
                     (unsigned long long)v.done, (unsigned long long)v.total, fig);
        }
    }
    put_fit(y, 0, w, term_attr(TERM_TITLE), title);
    size_t n = tui_metrics_lines(m, u->spark, w, lines,
                                 (size_t)(h - 1 < METRICS_MAX_LINES ? h - 1 : METRICS_MAX_LINES));
    for (size_t i = 0; i < n; i++)
        put(y + 1 + (int)i, 0, i == 0 ? A_UNDERLINE : 0, lines[i]);
}

/* Rows the metrics area needs: title, column header, methods, hint. */
static int metrics_height(const tui_ui *u)
{
    return u->metrics.n ? 2 + (int)table_n_rows(u->metrics.t[0]) : 2 + TUI_N_PANES + 1;
}

/* Panes of more rows than this get a query line above them. */
#define QUERY_LINE_MIN 12

int tui_pane_rows(const tui_ui *u, int height)
{
    int ph = height - TUI_HEADER_LINES - 2 - metrics_height(u);   /* status, command line */
    if (ph > QUERY_LINE_MIN)
        ph--;                                                   /* the query line */
    return ph - 1 > 1 ? ph - 1 : 1;                             /* less the pane titles */
}

static void draw_text(const tui_ui *u, int y, int h, int w)
{
    char t[TUI_LINE];
    snprintf(t, sizeof t, "%s   (Esc back; Up/Down PgUp/PgDn Left/Right scroll; %zu lines)",
             u->text.title, u->text.n);
    put_fit(y, 0, w, term_attr(TERM_TITLE), t);
    for (int k = 0; k + 1 < h && u->text_top + (size_t)k < u->text.n; k++)
        put_fit(y + 1 + k, 0, w, 0,
                tui_skip_cols(u->text.line[u->text_top + (size_t)k], u->text_left));
}

static void draw_detail(const tui_ui *u, int y, int h, int w)
{
    int ph = 7;   /* title + 5 neighbours + a spare line */
    if (h - ph < 4)
        ph = h - 4;
    draw_text(u, y, h - ph - 1, w);
    put_fit(y + h - ph - 1, 0, w, term_attr(TERM_TITLE), "Neighbours in each model");
    draw_panes(&u->det, y + h - ph, ph, w, -1, 0);
}

static void draw_status(tui_ui *u, int y, int w)
{
    char line[TUI_LINE * 2];
    /* a message from the last 3 s (busy, cancelling, ...) outranks the bar */
    int fresh = u->status[0] && (progress_now() - u->status_t < 3.0 || u->quitting);
    if (u->job_running && u->quit_confirm != 1 && !fresh) {
        progress_view v;
        progress_snapshot(lab_progress(u->L), &v);
        if (v.active) {
            tui_progress_line(&v, w, line, sizeof line);
            put(y, 0, term_attr(TERM_STATUS) | A_BOLD, line);
            return;
        }
        snprintf(line, sizeof line, "running: %s   (Esc cancels)", u->job_line);
        put_fit(y, 0, w, term_attr(TERM_STATUS), line);
        return;
    }
    if (u->matches[0]) {
        put_fit(y, 0, w, term_attr(TERM_STATUS), u->matches);
        return;
    }
    if (u->status[0]) {
        put_fit(y, 0, w, term_attr(u->status_err ? TERM_ERROR : TERM_STATUS), u->status);
        return;
    }
    put_fit(y, 0, w, term_attr(TERM_DIM),
            "/ command  Tab pane  Up/Down row  Enter detail  m map  ? help  q quit");
}

static void draw_cmdline(const tui_ui *u, int y, int w)
{
    const char *prompt = "embedlab> ";
    int cur, pw = tui_width(prompt);
    const char *buf = tui_input_line(&cur);
    char before[TUI_LINE], line[TUI_LINE];

    if (!u->focus_cmd && !buf[0]) {
        put_fit(y, 0, w - 1, term_attr(TERM_DIM), "press / to type a command (help lists them)");
        curs_set(0);
        return;
    }
    /* scroll horizontally so the cursor stays visible */
    snprintf(before, sizeof before, "%.*s", cur, buf);
    const char *start = buf;
    int avail = w - 1 - pw;
    while (tui_width(before + (start - buf)) >= avail && *start) {
        start++;
        while ((*start & 0xC0) == 0x80)
            start++;
    }
    put(y, 0, A_BOLD, prompt);
    tui_fit(line, sizeof line, start, avail, 0);
    put(y, pw, 0, line);
    if (u->focus_cmd) {
        curs_set(1);
        move(y, pw + tui_width(before + (start - buf)));
    } else
        curs_set(0);
}

void tui_draw(tui_ui *u)
{
    int H, W;
    char hl[TUI_HEADER_LINES][TUI_LINE];

    getmaxyx(stdscr, H, W);
    erase();
    u->lay_h = 0;   /* no panes on screen unless drawn below */
    if (W < TUI_MIN_W || H < TUI_MIN_H) {
        char msg[128];
        snprintf(msg, sizeof msg, "terminal too small: %dx%d", W, H);
        curs_set(0);
        mvaddnstr(H / 2 - 1 > 0 ? H / 2 - 1 : 0, 0, msg, W);
        snprintf(msg, sizeof msg, "embedlab needs at least %dx%d", TUI_MIN_W, TUI_MIN_H);
        mvaddnstr(H / 2 > 0 ? H / 2 : 0, 0, msg, W);
        if (H > 2)
            mvaddnstr(H / 2 + 1, 0, "resize the window, or q to quit", W);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    tui_header_lines(u->hdr_ok ? &u->hdr : NULL, W, hl);
    put(0, 0, term_attr(TERM_HEADER), hl[0]);
    for (int i = 1; i < TUI_HEADER_LINES; i++)
        put(i, 0, term_attr(TERM_TITLE) & ~A_BOLD, hl[i]);
    int y0 = TUI_HEADER_LINES, rows = H - TUI_HEADER_LINES - 2;
    switch (u->view) {
    case TUI_VIEW_TEXT:
        tui_text_fit(u, W);   /* help and other text wrap again after a resize */
        draw_text(u, y0, rows, W);
        break;
    case TUI_VIEW_DETAIL:
        draw_detail(u, y0, rows, W);
        break;
    case TUI_VIEW_MAP:
        tui_map_draw(u, y0, rows, W);
        break;
    default: {
        int mh = metrics_height(u), ph = rows - mh;
        size_t most = 10;   /* panes only as tall as their longest list */
        for (int i = 0; i < u->res.n_panes; i++)
            if (u->res.pane[i].n > most)
                most = u->res.pane[i].n;
        if ((size_t)ph > most + 3)
            ph = (int)most + 3;
        if (ph > QUERY_LINE_MIN && u->res.caption[0]) {   /* room for the query line */
            char cap[TUI_LINE];
            snprintf(cap, sizeof cap, "Query: %s", u->res.caption);
            put_fit(y0, 0, W, A_BOLD, cap);
            y0++;
            ph--;
        }
        u->lay_top = draw_panes(&u->res, y0, ph, W, u->focus_cmd ? -1 : u->pane, u->row);
        u->lay_y = y0 + 1;
        u->lay_h = ph - 1;
        u->lay_pw = (W - 2) / 3;
        draw_metrics(u, y0 + ph, mh, W);
    }
    }
    draw_status(u, H - 2, W);
    draw_cmdline(u, H - 1, W);
    wnoutrefresh(stdscr);
    doupdate();
}
