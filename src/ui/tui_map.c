/* tui_map.c - the embedding map: each model's unit vectors projected to
 * 2-D with vec_pca2() (covariance sgemm + power iteration, in the engine),
 * drawn as Braille dots (tui_raster.c) coloured by category, Item2Vec and
 * LLM side by side.  The selected item (the row under the cursor in the
 * panes) is a reversed "◉" and its own neighbours in that model (a `similar`
 * run when the selection changes) bold "•", so one sees whether behaviour
 * and text put the same items close together.
 *
 * The projection is the engine's (lab_map_make, what the `map` command
 * prints); it is computed when the map opens, on the main thread when no
 * job runs (the lab has one writer) - 2,000 x 384 floats take a few
 * milliseconds.
 */
#include "tui_int.h"
#include "mem.h"
#include "term.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct map_side {
    char model[16];          /* "item2vec" | "text" */
    char title[128];
    char msg[ERR_MSG_LEN + 64]; /* why there is no map ("" when there is) */
    int have;                /* m holds a map */
    lab_map m;               /* the engine's map of the model (lab_map_make) */
    double box[4];
} map_side;

struct tui_map {
    map_side side[2];
};

static void side_clear(map_side *s)
{
    lab_map_done(&s->m);
    s->have = 0;
}

void tui_map_free(tui_map *m)
{
    if (!m)
        return;
    for (int i = 0; i < 2; i++)
        side_clear(&m->side[i]);
    mem_free(m);
}

/* The categories (and so the colours) of whichever side has a map. */
static const lab_map *legend_map(const tui_map *m)
{
    return m->side[0].have ? &m->side[0].m : m->side[1].have ? &m->side[1].m : NULL;
}

static int side_build(tui_ui *u, map_side *s, const char *label)
{
    err e;
    lab_map m;
    int rc;

    rc = lab_map_make(u->L, s->model, &m, &e);
    if (rc == -ERR_NOMEM)
        return rc;
    side_clear(s);
    if (rc) {
        snprintf(s->msg, sizeof s->msg, "%s: %s", label,
                 e.code == ERR_NOTFOUND ? (strcmp(s->model, "text") == 0
                                               ? "no text vectors yet (`encode text`)"
                                               : "not trained yet (`train item2vec`)")
                                        : e.msg);
        return 0;
    }
    s->msg[0] = '\0';
    s->m = m;
    s->have = 1;
    tui_bounds(m.xy, m.n, 0.01, s->box);
    snprintf(s->title, sizeof s->title, "%s: PCA of %zu vectors (%zu-D), %.0f%% + %.0f%% of "
             "the variance", label, m.n, m.dim, 100 * m.explained[0], 100 * m.explained[1]);
    return 0;
}

int tui_map_open(tui_ui *u)
{
    err e;
    if (u->job_running) {
        tui_status(u, 1, "busy: `%s` is running - the map opens when it is done", u->job_line);
        return -1;
    }
    if (!lab_catalog(u->L, &e)) {
        tui_status(u, 1, "error: %s", e.msg);
        return -1;
    }
    if (!u->map) {
        if (!(u->map = mem_calloc(1, sizeof *u->map)))
            return -1;
        snprintf(u->map->side[0].model, sizeof u->map->side[0].model, "item2vec");
        snprintf(u->map->side[1].model, sizeof u->map->side[1].model, "text");
    }
    if (side_build(u, &u->map->side[0], "Item2Vec") || side_build(u, &u->map->side[1], "LLM")) {
        tui_status(u, 1, "error: out of memory for the map");
        return -1;
    }
    u->map_sel[0] = '\0';
    tui_map_follow(u);
    tui_status(u, 0, "map: \xE2\x97\x89 selected item, \xE2\x80\xA2 its neighbours in that "
               "model; Up/Down/Tab choose in the panes; m or Esc back");
    return 0;
}

void tui_map_follow(tui_ui *u)
{
    const char *sel = tui_selected_id(u);
    char line[128];
    table_list tl;
    err e;

    if (u->job_running || !sel || strcmp(sel, u->map_sel) == 0)
        return;
    snprintf(u->map_sel, sizeof u->map_sel, "%s", sel);
    snprintf(line, sizeof line, "similar %s", u->map_sel);
    table_list_init(&tl);
    if (cmd_exec(u->L, line, &tl, &e) == 0)
        tui_results_from(&u->map_nb, &tl, line);
    else
        memset(&u->map_nb, 0, sizeof u->map_nb);
    table_list_done(&tl);
}

static long side_find(const map_side *s, int64_t id)
{
    for (size_t i = 0; s->have && i < s->m.n; i++)
        if (s->m.ids[i] == id)
            return (long)i;
    return -1;
}

/* Canvas cell of point i, or -1. */
static int cell_of(const map_side *s, const tui_canvas *c, size_t i)
{
    double fx = (s->m.xy[2 * i] - s->box[0]) / (s->box[2] - s->box[0]);
    double fy = 1.0 - (s->m.xy[2 * i + 1] - s->box[1]) / (s->box[3] - s->box[1]);
    if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1))
        return -1;
    int dx = (int)(fx * (c->w * 2 - 1) + 0.5), dy = (int)(fy * (c->h * 4 - 1) + 0.5);
    return (dy / 4) * c->w + dx / 2;
}

static int64_t item_id_of(tui_ui *u, const char *ext)
{
    long r = ext ? lab_find_ext(u->L, ext) : -1;
    return r >= 0 ? lab_catalog(u->L, NULL)->ids[r] : -1;
}

static void draw_side(tui_ui *u, const map_side *s, const tui_pane *nb, int x, int y, int w,
                      int h)
{
    char line[TUI_LINE];
    tui_canvas c;

    tui_fit(line, sizeof line, s->msg[0] ? s->msg : s->title, w, 0);
    attron(term_attr(TERM_TITLE));
    mvaddstr(y, x, line);
    attroff(term_attr(TERM_TITLE));
    if (!s->have || h < 2 || tui_canvas_init(&c, w, h - 1) != 0)
        return;
    for (size_t i = 0; i < s->m.n; i++) {
        double fx = (s->m.xy[2 * i] - s->box[0]) / (s->box[2] - s->box[0]);
        double fy = 1.0 - (s->m.xy[2 * i + 1] - s->box[1]) / (s->box[3] - s->box[1]);
        tui_canvas_plot(&c, fx, fy, s->m.cat[i] < 32767 ? s->m.cat[i] : -1);
    }
    for (int i = 0; i < c.w * c.h; i++) {
        char cell[4];
        if (!tui_canvas_cell(&c, i, cell))
            continue;
        attron(term_cat_attr(c.cat[i]));
        mvaddstr(y + 1 + i / c.w, x + i % c.w, cell);
        attroff(term_cat_attr(c.cat[i]));
    }
    /* neighbours, then the selected item on top */
    for (size_t k = 0; nb && k < nb->n; k++) {
        long p = side_find(s, item_id_of(u, nb->rows[k].id));
        int ci = p >= 0 ? cell_of(s, &c, (size_t)p) : -1;
        if (ci >= 0) {
            attron(term_attr(TERM_MARK) | A_BOLD);
            mvaddstr(y + 1 + ci / c.w, x + ci % c.w, "\xE2\x80\xA2");
            attroff(term_attr(TERM_MARK) | A_BOLD);
        }
    }
    long p = u->map_sel[0] ? side_find(s, item_id_of(u, u->map_sel)) : -1;
    int ci = p >= 0 ? cell_of(s, &c, (size_t)p) : -1;
    if (ci >= 0) {
        attron(term_attr(TERM_HILITE) | A_BOLD);
        mvaddstr(y + 1 + ci / c.w, x + ci % c.w, "\xE2\x97\x89");
        attroff(term_attr(TERM_HILITE) | A_BOLD);
    }
    tui_canvas_done(&c);
}

void tui_map_draw(tui_ui *u, int y0, int h, int w)
{
    tui_map *m = u->map;
    char line[TUI_LINE];
    int pw = (w - 1) / 2, legend_h = 2;

    if (!m || u->job_running)   /* never read the lab while the worker owns it */
        return;
    char raw[256];
    snprintf(raw, sizeof raw, "Embedding map (PCA to 2-D)   selected: %s   (m or Esc back)",
             u->map_sel[0] ? u->map_sel : "none - run `similar ITEM` and pick a row");
    tui_fit(line, sizeof line, raw, w, 0);
    attron(A_BOLD);
    mvaddstr(y0, 0, line);
    attroff(A_BOLD);
    int ch = h - 1 - legend_h;
    /* the neighbours: Item2Vec's list on its map, LLM's on the text map */
    const tui_pane *nb0 = u->map_nb.n_panes > 0 ? &u->map_nb.pane[0] : NULL;
    const tui_pane *nb1 = u->map_nb.n_panes > 1 ? &u->map_nb.pane[1] : NULL;
    draw_side(u, &m->side[0], nb0, 0, y0 + 1, pw, ch);
    for (int k = 0; k < ch; k++)
        mvaddstr(y0 + 1 + k, pw, "\xE2\x94\x82");
    draw_side(u, &m->side[1], nb1, pw + 1, y0 + 1, w - pw - 1, ch);
    /* legend: a coloured block per category, as many as fit on two lines;
     * the last line keeps room to say how many did not fit */
    int x = 0, y = y0 + h - legend_h;
    const lab_map *lg = legend_map(m);
    for (size_t i = 0; lg && i < lg->n_cats; i++) {
        char item[160], more[48];
        snprintf(item, sizeof item, "%s ", lg->cats[i]);
        snprintf(more, sizeof more, "\xE2\x80\xA6 %zu more", lg->n_cats - i - 1);
        int iw = 2 + tui_width(item);
        int last_line = y == y0 + h - 1, mw = i + 1 < lg->n_cats ? tui_width(more) : 0;
        if (x + iw + (last_line ? mw : 0) >= w) {
            if (last_line) {
                snprintf(more, sizeof more, "\xE2\x80\xA6 %zu more", lg->n_cats - i);
                mvaddstr(y, x, more);
                break;
            }
            y++;
            x = 0;
        }
        attron(term_cat_attr((int)i));
        mvaddstr(y, x, term_has_color() ? "\xE2\x96\xA0 " : "  ");
        attroff(term_cat_attr((int)i));
        char clean[160];
        table_sanitize(clean, sizeof clean, item);
        mvaddstr(y, x + 2, clean);
        x += iw;
    }
}
