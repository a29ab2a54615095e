/* tui_input.c - keys.  The command line at the bottom is GNU readline in
 * its callback mode (rl_callback_handler_install / rl_callback_read_char,
 * STYLE.md 2.6): curses reads every key; while the command line has focus
 * each key is turned back into the bytes a terminal would send ("\033[D"
 * for Left, UTF-8 for text) and fed to readline one byte at a time through
 * rl_getc_function.  Readline never touches the terminal: its prep/deprep
 * and redisplay hooks are no-ops, its output goes to /dev/null, and
 * tui_draw.c paints rl_line_buffer itself.  So editing, history (persistent
 * file, complete.c) and tab completion work while the screen keeps redrawing.
 *
 * Pane keys follow htop: handlers return TUI_HANDLED|TUI_REDRAW|TUI_QUIT and
 * the loop in tui.c decides.
 */
#include "tui_int.h"
#include "complete.h"

#include <curses.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static tui_ui *g_ui;                /* readline's callbacks carry no user data */
static unsigned char g_in[64];      /* bytes waiting for readline */
static size_t g_in_n, g_in_pos;
static FILE *g_null;                /* readline's output stream */
static char g_shown[TUI_LINE];

static int rl_getc_cb(FILE *f)
{
    (void)f;
    return g_in_pos < g_in_n ? g_in[g_in_pos++] : EOF;
}

static int rl_avail_cb(void) { return g_in_pos < g_in_n; }
static void rl_redisplay_cb(void) {}
static void rl_prep_cb(int meta) { (void)meta; }
static void rl_deprep_cb(void) {}

static void on_line(char *line)
{
    if (line) {
        if (*line) {
            add_history(line);
            if (g_ui->hist[0])
                append_history(1, g_ui->hist);
        }
        snprintf(g_ui->pending, sizeof g_ui->pending, "%s", line);
        g_ui->has_pending = 1;
        free(line);   /* readline's lines come from malloc */
    }
    g_ui->focus_cmd = 0;
}

/* Completion candidates go to the status line instead of stdout. */
static void show_matches(char **m, int n, int max_len)
{
    size_t o = 0;
    (void)max_len;
    o += (size_t)snprintf(g_ui->matches, sizeof g_ui->matches, "%d matches:", n);
    for (int i = 1; i <= n && o < sizeof g_ui->matches; i++)
        o += (size_t)snprintf(g_ui->matches + o, sizeof g_ui->matches - o, " %s", m[i]);
}

int tui_input_init(tui_ui *u)
{
    g_ui = u;
    g_null = fopen("/dev/null", "w");
    rl_readline_name = "embedlab";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_getc_function = rl_getc_cb;
    rl_input_available_hook = rl_avail_cb;
    rl_redisplay_function = rl_redisplay_cb;
    rl_prep_term_function = rl_prep_cb;
    rl_deprep_term_function = rl_deprep_cb;
    if (g_null)
        rl_outstream = g_null;
    complete_install(u->L);
    rl_completion_display_matches_hook = show_matches;
    complete_history_path(u->hist, sizeof u->hist);
    if (u->hist[0])
        read_history(u->hist);
    rl_callback_handler_install("", on_line);
    rl_variable_bind("bell-style", "none");
    return 0;
}

void tui_input_done(tui_ui *u)
{
    rl_callback_handler_remove();
    if (u->hist[0])
        history_truncate_file(u->hist, 2000);
    rl_completion_display_matches_hook = NULL;
    if (g_null) {
        rl_outstream = NULL;
        fclose(g_null);
        g_null = NULL;
    }
}

const char *tui_input_line(int *cursor_bytes)
{
    snprintf(g_shown, sizeof g_shown, "%s", rl_line_buffer ? rl_line_buffer : "");
    *cursor_bytes = rl_point < (int)strlen(g_shown) ? rl_point : (int)strlen(g_shown);
    return g_shown;
}

static void feed(const char *bytes, size_t n)
{
    if (n > sizeof g_in)
        n = sizeof g_in;
    memcpy(g_in, bytes, n);
    g_in_n = n;
    g_in_pos = 0;
    while (g_in_pos < g_in_n && g_ui->focus_cmd)
        rl_callback_read_char();
    g_in_n = g_in_pos = 0;
}

static void clear_line(void)
{
    rl_replace_line("", 0);
    rl_point = 0;
}

/* A key while the command line has focus. */
static int cmd_key(tui_ui *u, int is_key, int ch)
{
    static const struct { int key; const char *seq; } seqs[] = {
        {KEY_LEFT, "\033[D"}, {KEY_RIGHT, "\033[C"}, {KEY_UP, "\033[A"},
        {KEY_DOWN, "\033[B"}, {KEY_HOME, "\033[H"}, {KEY_END, "\033[F"},
        {KEY_DC, "\033[3~"}, {KEY_BACKSPACE, "\177"}, {KEY_ENTER, "\r"},
    };
    if (is_key) {
        for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
            if (seqs[i].key == ch) {
                feed(seqs[i].seq, strlen(seqs[i].seq));
                return TUI_REDRAW;
            }
        return TUI_HANDLED;   /* other function keys: nothing */
    }
    if (ch == 27 || ch == 3) {   /* Esc, Ctrl-C: cancel a job, else leave the line */
        if (u->job_running)
            tui_cancel_job(u);
        else {
            clear_line();
            u->focus_cmd = 0;
            u->matches[0] = '\0';
        }
        return TUI_REDRAW;
    }
    char mb[MB_LEN_MAX + 1];
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t n = wcrtomb(mb, (wchar_t)ch, &st);
    if (n == (size_t)-1)
        return TUI_HANDLED;
    if (ch != '\t')
        u->matches[0] = '\0';
    feed(mb, n);
    return TUI_REDRAW;
}

static size_t visible_rows(const tui_ui *u)
{
    return u->res.n_panes ? u->res.pane[u->pane].n : 0;
}

/* Help: the keys, then `help`'s command list, wrapped to the window like
 * a man page and scrollable (a resize wraps it again). */
static void open_help(tui_ui *u)
{
    static const char *const keys[][2] = {
        {"/  or  :", "command line (readline: history with Up/Down, Tab completes commands, "
                     "parameters and item ids; Enter runs, Esc leaves)"},
        {"Tab, Left/Right", "move between the Item2Vec | LLM | Hybrid panes"},
        {"Up/Down, j/k", "move between rows; in text like this, scroll"},
        {"PgUp/PgDn", "scroll text by a page"},
        {"Enter", "item detail: text, category, sessions, neighbours per model"},
        {"m", "embedding map (PCA to 2-D, Braille dots coloured by category)"},
        {"Esc, Ctrl-C", "cancel the running job; otherwise back to the panes"},
        {"q", "quit (asks first while a job runs)"},
        {"?", "this help"},
    };
    table_list tl;
    err e;
    table *t = table_new("keys");

    table_list_init(&tl);
    if (t && table_list_add(&tl, t) && table_set_kind(t, TABLE_HELP) == 0 &&
        table_col(t, "key", 0) == 0 && table_col(t, "what it does", 0) == 0 &&
        table_fields(t, "indent", 2.0, "body", 20.0, NULL) == 0) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (table_row(t) || table_str(t, keys[i][0]) || table_str(t, keys[i][1]))
                break;
        table_note(t, "Marks: \xE2\x97\x86 the item is in all three lists, \xE2\x97\x87 in "
                   "two of them.  In the Hybrid list, the letter after the score says where a "
                   "row came from: I Item2Vec, L LLM, B both.  `help COMMAND` on the command "
                   "line explains one command.");
    }
    if (!u->job_running)   /* the lab is the job's while it runs */
        cmd_exec(u->L, "help", &tl, &e);
    tui_show_tables(u, "help", &tl);
    table_list_done(&tl);
}

/* Back to the panes from the map; its key hints go with it. */
static void leave_map(tui_ui *u)
{
    u->view = TUI_VIEW_PANES;
    if (strncmp(u->status, "map: ", 5) == 0)
        u->status[0] = '\0';
}

/* A click selects a pane row; a double click opens its detail. */
static int mouse(tui_ui *u)
{
    MEVENT ev;
    if (getmouse(&ev) != OK || u->view != TUI_VIEW_PANES || u->lay_h <= 0 ||
        ev.y < u->lay_y || ev.y >= u->lay_y + u->lay_h || u->res.n_panes == 0)
        return TUI_HANDLED;
    int p = ev.x / (u->lay_pw + 1);
    size_t row = u->lay_top + (size_t)(ev.y - u->lay_y);
    if (p >= u->res.n_panes || row >= u->res.pane[p].n)
        return TUI_HANDLED;
    u->focus_cmd = 0;
    u->pane = p;
    u->row = row;
    if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
        tui_open_detail(u);
    return TUI_REDRAW;
}

int tui_handle_key(tui_ui *u, int is_key, int ch)
{
    if (is_key && ch == KEY_RESIZE)
        return TUI_REDRAW;
    if (is_key && ch == KEY_MOUSE)
        return mouse(u);
    if (u->focus_cmd)
        return cmd_key(u, is_key, ch);
    if (u->quit_confirm == 1) {
        if (!is_key && (ch == 'q' || ch == 'y')) {
            /* keep drawing until the job has unwound, then leave */
            tui_cancel_job(u);
            u->quit_confirm = 0;
            u->quitting = 1;
            tui_status(u, 1, "cancelling `%s`; leaving when it stops", u->job_line);
            return TUI_REDRAW;
        }
        u->quit_confirm = 0;
        tui_status(u, 0, "still running: %s", u->job_line);
        return TUI_REDRAW;
    }
    int text_view = u->view == TUI_VIEW_TEXT || u->view == TUI_VIEW_DETAIL;
    if (is_key) {
        size_t n = visible_rows(u);
        switch (ch) {
        case KEY_UP:
            if (text_view && u->text_top > 0)
                u->text_top--;
            else if (!text_view && u->row > 0)
                u->row--;
            return TUI_REDRAW;
        case KEY_DOWN:
            if (text_view && u->text_top + 1 < u->text.n)
                u->text_top++;
            else if (!text_view && u->row + 1 < n)
                u->row++;
            return TUI_REDRAW;
        case KEY_PPAGE:
            u->text_top = u->text_top > 10 ? u->text_top - 10 : 0;
            return TUI_REDRAW;
        case KEY_NPAGE:
            if (u->text_top + 10 < u->text.n)
                u->text_top += 10;
            return TUI_REDRAW;
        case KEY_LEFT: case KEY_RIGHT:
            if (text_view) {   /* wide tables scroll sideways */
                u->text_left += ch == KEY_LEFT ? -8 : 8;
                if (u->text_left < 0)
                    u->text_left = 0;
                return TUI_REDRAW;
            }
            if (u->res.n_panes)
                u->pane = (u->pane + u->res.n_panes + (ch == KEY_LEFT ? -1 : 1)) %
                          u->res.n_panes;
            break;
        case KEY_BTAB:
            if (u->res.n_panes)
                u->pane = (u->pane + u->res.n_panes - 1) % u->res.n_panes;
            break;
        case KEY_ENTER:
            tui_open_detail(u);
            return TUI_REDRAW;
        default:
            return TUI_HANDLED;
        }
        if (u->row >= visible_rows(u))
            u->row = visible_rows(u) ? visible_rows(u) - 1 : 0;
        return TUI_REDRAW;
    }
    switch (ch) {
    case '/': case ':':
        u->focus_cmd = 1;
        return TUI_REDRAW;
    case '\t':
        if (u->res.n_panes)
            u->pane = (u->pane + 1) % u->res.n_panes;
        if (u->row >= visible_rows(u))
            u->row = visible_rows(u) ? visible_rows(u) - 1 : 0;
        return TUI_REDRAW;
    case 'j':
        return tui_handle_key(u, 1, KEY_DOWN);
    case 'k':
        return tui_handle_key(u, 1, KEY_UP);
    case '\r': case '\n':
        if (u->view == TUI_VIEW_PANES)
            tui_open_detail(u);
        return TUI_REDRAW;
    case 's':
        if (u->view == TUI_VIEW_DETAIL && u->text.title[0]) {
            char line[160];
            snprintf(line, sizeof line, "similar %s", u->text.title);
            tui_submit(u, line);
        }
        return TUI_REDRAW;
    case '?':
        open_help(u);
        return TUI_REDRAW;
    case 'm':
        if (u->view == TUI_VIEW_MAP)
            leave_map(u);
        else if (tui_map_open(u) == 0)
            u->view = TUI_VIEW_MAP;
        return TUI_REDRAW;
    case 27: case 3:   /* Esc, Ctrl-C */
        if (u->job_running)
            tui_cancel_job(u);
        else if (u->view == TUI_VIEW_MAP)
            leave_map(u);
        else
            u->view = TUI_VIEW_PANES;
        return TUI_REDRAW;
    case 'q':
        if (u->job_running) {
            u->quit_confirm = 1;
            tui_status(u, 1, "`%s` is running: press q again to cancel it and quit, any "
                       "other key to stay", u->job_line);
            return TUI_REDRAW;
        }
        return TUI_QUIT;
    case 12:   /* Ctrl-L */
        clearok(curscr, TRUE);
        return TUI_REDRAW;
    default:
        return TUI_HANDLED;
    }
}
