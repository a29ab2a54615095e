/* tui_model.c - the TUI's pure view model: result tables in, display lines
 * out.  No curses here (see tui.h).  It lives in src/ui because only the
 * TUI uses it, but it depends on nothing beyond table.h/progress.h/mem.h,
 * so tests/unit/test_tui_model.c #includes this file and links libengine.a
 * alone: the unit tests stay free of ncurses and readline.
 *
 * Widths: a UTF-8 sequence is measured with table_text_width() (utf8proc's
 * East-Asian width), so a line padded here lines up on the terminal even
 * with titles such as 无线蓝牙耳机.  Truncation never splits a sequence and
 * pads with a space when a two-column character would straddle the edge.
 */
#include "tui.h"
#include "mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the UTF-8 sequence at s (1 for invalid bytes). */
static int cp_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (int i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

static int cp_width(const char *s, int len)
{
    char b[8];
    memcpy(b, s, (size_t)len);
    b[len] = '\0';
    return (int)table_text_width(b);
}

int tui_width(const char *s) { return (int)table_text_width(s); }

const char *tui_skip_cols(const char *s, int cols)
{
    int used = 0;
    while (*s && used < cols) {
        int n = cp_len(s);
        used += cp_width(s, n);
        s += n;
    }
    return s;
}

size_t tui_fit(char *dst, size_t cap, const char *s, int width, int right)
{
    size_t o = 0;
    int w = tui_width(s);

    if (cap == 0)
        return 0;
    if (width < 0)
        width = 0;
    if (w <= width) {
        int pad = width - w;
        size_t len = strlen(s);
        if ((size_t)pad + len + 1 > cap)
            pad = 0, len = cap - 1 < len ? cap - 1 : len;
        if (right)
            for (; pad > 0; pad--)
                dst[o++] = ' ';
        memcpy(dst + o, s, len);
        o += len;
        for (; pad > 0 && o + 1 < cap; pad--)
            dst[o++] = ' ';
        dst[o] = '\0';
        return o;
    }
    /* truncate: keep width-1 columns, then "…" (one column, three bytes) */
    int used = 0, keep = width - 1;
    while (*s) {
        int n = cp_len(s), cw = cp_width(s, n);
        if (used + cw > keep || o + (size_t)n + 4 >= cap)
            break;
        memcpy(dst + o, s, (size_t)n);
        o += (size_t)n;
        used += cw;
        s += n;
    }
    for (; used < keep && o + 4 < cap; used++)
        dst[o++] = ' ';
    if (width > 0 && o + 4 <= cap) {
        memcpy(dst + o, "\xE2\x80\xA6", 3);
        o += 3;
    }
    dst[o] = '\0';
    return o;
}

/* ---- panes ------------------------------------------------------------ */

static void copy_clean(char *dst, size_t cap, const char *s) { table_sanitize(dst, cap, s); }

static int col_of(const table *t, const char *name)
{
    for (size_t c = 0; c < table_n_cols(t); c++)
        if (strcmp(table_col_name(t, c), name) == 0)
            return (int)c;
    return -1;
}

static void pane_from(tui_pane *p, const table *t)
{
    int ci = col_of(t, "id"), ct = col_of(t, "title"), cs = col_of(t, "score"),
        cr = col_of(t, "#"), cf = col_of(t, "from");

    memset(p, 0, sizeof *p);
    p->latency_ms = -1;
    copy_clean(p->title, sizeof p->title, table_title(t));
    for (size_t r = 0; r < table_n_rows(t) && p->n < TUI_MAX_ROWS; r++) {
        tui_row *w = &p->rows[p->n++];
        copy_clean(w->rank, sizeof w->rank, cr >= 0 ? table_cell(t, r, (size_t)cr) : "");
        copy_clean(w->id, sizeof w->id, ci >= 0 ? table_cell(t, r, (size_t)ci) : "");
        copy_clean(w->title, sizeof w->title, ct >= 0 ? table_cell(t, r, (size_t)ct) : "");
        copy_clean(w->score, sizeof w->score, cs >= 0 ? table_cell(t, r, (size_t)cs) : "");
        const char *fr = cf >= 0 ? table_cell(t, r, (size_t)cf) : "";
        w->from = !strcmp(fr, "both") ? 'B' : !strcmp(fr, "Item2Vec") ? 'I'
                : !strcmp(fr, "LLM") ? 'L' : 0;
        w->mark = 1;
    }
    const char *why = table_get_str(t, "reason");
    double ms;
    if (table_get_num(t, "latency_ms", &ms))
        p->latency_ms = ms;
    if (why)
        copy_clean(p->note, sizeof p->note, why);
}

int tui_results_from(tui_results *r, const table_list *tl, const char *caption)
{
    memset(r, 0, sizeof *r);
    copy_clean(r->caption, sizeof r->caption, caption ? caption : "");
    for (size_t i = 0; i < tl->n && r->n_panes < TUI_N_PANES; i++)
        if (table_kind(tl->t[i]) == TABLE_SIMILAR)
            pane_from(&r->pane[r->n_panes++], tl->t[i]);
    /* a trailing message table (recommend user's history note) as caption */
    for (size_t i = 0; i < tl->n; i++)
        if (table_n_cols(tl->t[i]) == 0 && table_n_notes(tl->t[i]) > 0 && r->n_panes) {
            char note[200];
            copy_clean(note, sizeof note, table_note_at(tl->t[i], 0));
            size_t len = strlen(r->caption);
            snprintf(r->caption + len, sizeof r->caption - len, "%s%s", len ? " - " : "", note);
        }
    /* agreement: count the panes holding each id (ids are unique per pane) */
    for (int a = 0; a < r->n_panes; a++)
        for (size_t i = 0; i < r->pane[a].n; i++) {
            tui_row *w = &r->pane[a].rows[i];
            w->mark = 1;
            for (int b = 0; b < r->n_panes; b++) {
                if (b == a)
                    continue;
                for (size_t j = 0; j < r->pane[b].n; j++)
                    if (strcmp(r->pane[b].rows[j].id, w->id) == 0) {
                        w->mark++;
                        break;
                    }
            }
        }
    return r->n_panes;
}

/* Widest id (score) in the pane, so columns line up; capped so titles keep
 * room.  Scores are cosines or raw dot products (Item2Vec IN.OUT), so a
 * sign or a second integer digit may appear. */
static int col_width(const tui_pane *p, int score, int min, int max)
{
    int w = min;
    for (size_t i = 0; i < p->n; i++) {
        int x = tui_width(score ? p->rows[i].score : p->rows[i].id);
        if (x > w)
            w = x;
    }
    return w > max ? max : w;
}

void tui_pane_line(const tui_pane *p, size_t row, int width, char *dst, size_t cap)
{
    char f_rank[16], f_id[128], f_title[TUI_LINE], f_score[32], f_from[4] = "";
    const tui_row *w;
    int idw, rw = p->n >= 100 ? 3 : 2, sw = col_width(p, 1, 6, 9), tw;

    if (row >= p->n) {
        tui_fit(dst, cap, "", width, 0);
        return;
    }
    w = &p->rows[row];
    idw = col_width(p, 0, 2, 12);
    if (p->n && p->rows[0].from)   /* a hybrid list: each row's source */
        snprintf(f_from, sizeof f_from, " %c", w->from ? w->from : '?');
    /* mark(1) sp [rank sp] [id sp] title sp score [sp from]; narrow panes (80
     * columns) give up the rank first (the order shows it), then the id */
    tw = width - 1 - 1 - (rw + 1) - (idw + 1) - 1 - sw - (int)strlen(f_from);
    if (tw < 12) {
        rw = 0;
        tw += 3;
    }
    if (tw < 8) {
        tw += idw + 1;
        idw = 0;
    }
    tui_fit(f_rank, sizeof f_rank, w->rank, rw, 1);
    tui_fit(f_id, sizeof f_id, w->id, idw, 0);
    tui_fit(f_title, sizeof f_title, w->title, tw > 0 ? tw : 0, 0);
    tui_fit(f_score, sizeof f_score, w->score, sw, 1);
    const char *mark = w->mark >= 3 ? "\xE2\x97\x86" : w->mark == 2 ? "\xE2\x97\x87" : " ";
    char tmp[TUI_LINE + 256];
    snprintf(tmp, sizeof tmp, "%s %s%s%s%s%s %s%s", mark, f_rank, rw ? " " : "", f_id,
             idw ? " " : "", f_title, f_score, f_from);
    tui_fit(dst, cap, tmp, width, 0);
}

void tui_pane_title(const tui_pane *p, int width, char *dst, size_t cap)
{
    char lat[32] = "", t[TUI_LINE + 64], left[TUI_LINE];
    int lw;

    if (p->latency_ms >= 0)
        snprintf(lat, sizeof lat, " %.2f ms", p->latency_ms);
    lw = tui_width(lat);
    if (lw >= width)
        lat[0] = '\0', lw = 0;
    tui_fit(left, sizeof left, p->title, width - lw, 0);
    snprintf(t, sizeof t, "%s%s", left, lat);
    tui_fit(dst, cap, t, width, 0);
}

/* ---- header ----------------------------------------------------------- */

static const char *or_q(const char *v) { return v ? v : "?"; }

/* The value of row `what` in a what/value table, or NULL. */
static const char *info_get(const table *t, const char *what)
{
    if (!t)
        return NULL;
    for (size_t r = 0; r < table_n_rows(t); r++)
        if (strcmp(table_cell(t, r, 0), what) == 0)
            return table_cell(t, r, 1);
    return NULL;
}

/* "LABEL; N x D": the date is noise here, and "Item2Vec (SGNS, ...)" loses
 * its name, which the line already shows. */
static void model_desc(char *dst, size_t cap, const char *name, const lab_summary_model *m)
{
    char tmp[256];
    copy_clean(tmp, sizeof tmp, m->label);
    char *label = tmp;
    size_t nl = strlen(name), ll = strlen(label);
    if (strncmp(label, name, nl) == 0 && label[nl] == ' ' && label[nl + 1] == '(' &&
        label[ll - 1] == ')') {
        label[ll - 1] = '\0';
        label += nl + 2;
    }
    snprintf(dst, cap, "%s; %lld x %lld", label, (long long)m->n_vectors, (long long)m->dim);
}

static const lab_summary_model *summary_model(const lab_summary *s, const char *name)
{
    for (size_t i = 0; s && i < s->n_models; i++)
        if (strcmp(s->models[i].name, name) == 0)
            return &s->models[i];
    return NULL;
}

/* "  |  index hnsw M=16 ..." for a model (its index loaded by
 * lab_summary_get), "" for none */
static void index_desc(char *dst, size_t cap, const lab_summary_model *m)
{
    char c[256];
    dst[0] = '\0';
    if (m) {
        copy_clean(c, sizeof c, m->index[0] ? m->index : "none (exact scan)");
        snprintf(dst, cap, "  |  index %s", c);
    }
}

/* "Item2Vec IN·OUT: SGNS, dim 64 ...; 1794 x 64  |  index ...": model `name`
 * of s shown as `label` (and `tag` when it exists), or `missing` when s has
 * no such model. */
static void model_line(char *dst, size_t cap, const lab_summary *s, const char *name,
                       const char *label, const char *tag, const char *missing)
{
    const lab_summary_model *m = summary_model(s, name);
    char a[1024], ix[512];

    if (m)
        model_desc(a, sizeof a, label, m);
    else
        snprintf(a, sizeof a, "%s", missing);
    index_desc(ix, sizeof ix, m);
    snprintf(dst, cap, "%s%s%s: %s%s", label, m && tag[0] ? " " : "", m ? tag : "", a, ix);
}

void tui_header_lines(const lab_summary *s, int width, char lines[TUI_HEADER_LINES][TUI_LINE])
{
    char l[TUI_LINE * 3], a[1024], m[TUI_LINE * 2];

    if (!s) {
        tui_fit(lines[0], TUI_LINE, "embedlab  (no database)", width, 0);
        tui_fit(lines[1], TUI_LINE, "Item2Vec: not trained (`train item2vec`)", width, 0);
        tui_fit(lines[2], TUI_LINE, "Text: no text vectors (`encode text`)", width, 0);
        return;
    }
    copy_clean(a, sizeof a, s->db_path);
    snprintf(l, sizeof l, "embedlab  %s  |  %lld items  %lld sessions  %lld users  %lld events",
             a, (long long)s->counts.items, (long long)s->counts.sessions,
             (long long)s->counts.users, (long long)s->counts.events);
    tui_fit(lines[0], TUI_LINE, l, width, 0);
    /* how Item2Vec scores (set i2v): the lists change with it */
    model_line(l, sizeof l, s, "item2vec", "Item2Vec",
               lab_i2v_mode(s) == LAB_I2V_INOUT ? "IN\xC2\xB7OUT"
               : lab_i2v_mode(s) == LAB_I2V_DOT ? "IN\xC2\xB7OUT dot" : "IN\xC2\xB7IN",
               "not trained (`train item2vec`)");
    tui_fit(lines[1], TUI_LINE, l, width, 0);
    /* "Text:", not "LLM:": the label says which encoder (a BERT folder's
     * name, or the builtin encoder and how it was trained) */
    model_line(m, sizeof m, s, "text", "Text", "", "no text vectors (`encode text`)");
    snprintf(l, sizeof l, "%s  |  hybrid %s, alpha %.2f, k %d", m,
             lab_hybrid_name(s->set.hybrid), s->set.alpha, s->set.k);
    tui_fit(lines[2], TUI_LINE, l, width, 0);
}

/* ---- sparklines and metrics ------------------------------------------- */

void tui_spark_push(tui_spark *s, double ms)
{
    s->v[s->head] = ms;
    s->head = (s->head + 1) % TUI_SPARK_N;
    if (s->n < TUI_SPARK_N)
        s->n++;
}

void tui_spark_text(const tui_spark *s, int width, char *dst, size_t cap)
{
    static const char *const blocks[] = {"\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83",
                                         "\xE2\x96\x84", "\xE2\x96\x85", "\xE2\x96\x86",
                                         "\xE2\x96\x87", "\xE2\x96\x88"};
    size_t n = s->n < (size_t)(width > 0 ? width : 0) ? s->n : (size_t)(width > 0 ? width : 0);
    double max = 0;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        double v = s->v[(s->head + TUI_SPARK_N - n + i) % TUI_SPARK_N];
        if (v > max)
            max = v;
    }
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        double v = s->v[(s->head + TUI_SPARK_N - n + i) % TUI_SPARK_N];
        int lvl = max > 0 ? (int)(v / max * 7.0 + 0.5) : 0;
        memcpy(dst + o, blocks[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl], 3);
        o += 3;
    }
    dst[o] = '\0';
    if (o < cap) {
        char tmp[TUI_LINE];
        snprintf(tmp, sizeof tmp, "%s", dst);
        tui_fit(dst, cap, tmp, width, 0);
    }
}

void tui_spark_take(tui_spark sp[TUI_N_PANES], const tui_results *r)
{
    for (int i = 0; i < r->n_panes && i < TUI_N_PANES; i++)
        if (r->pane[i].latency_ms >= 0)
            tui_spark_push(&sp[i], r->pane[i].latency_ms);
}

/* Which sparkline a metrics row's method belongs to, or -1. */
static int spark_of(const char *method)
{
    if (strncmp(method, "Item2Vec", 8) == 0)
        return 0;
    if (strncmp(method, "LLM", 3) == 0)
        return 1;
    if (strncmp(method, "Hybrid", 6) == 0)
        return 2;
    return -1;
}

/* A metrics column by the start of its name ("R@" finds R@10 before R@50). */
static int col_prefix(const table *t, const char *prefix)
{
    for (size_t c = 0; c < table_n_cols(t); c++)
        if (strncmp(table_col_name(t, c), prefix, strlen(prefix)) == 0)
            return (int)c;
    return -1;
}

/* A figure with its interval, compact: "0.108±.025" and the table's "*" when
 * it is significantly the best. */
static void ci_text(const table *m, size_t r, size_t c, char *dst, size_t cap)
{
    double v, lo, hi;
    if (!table_cell_num(m, r, c, &v) || !table_cell_ci(m, r, c, &lo, &hi)) {
        snprintf(dst, cap, "%s", table_cell(m, r, c));
        return;
    }
    const char *cell = table_cell(m, r, c);
    size_t cl = strlen(cell);
    char half[16];
    snprintf(half, sizeof half, "%.3f", (hi - lo) / 2);
    snprintf(dst, cap, "%.3f\xc2\xb1%s%s", v, half[0] == '0' ? half + 1 : half,
             cl && cell[cl - 1] == '*' ? "*" : "");
}

size_t tui_metrics_lines(const table *m, const tui_spark sp[TUI_N_PANES], int width,
                         char (*lines)[TUI_LINE], size_t max)
{
    /* eval's columns (by prefix) and their headings when the table gives
     * none (before an eval, or narrow ones of the last four), in the order
     * they are dropped from the right when the width runs out */
    static const char *const cols[] = {"P@", "R@", "NDCG@", "MRR", "coverage", "memory MB",
                                       "p50 ms", "p95 ms"};
    static const char *const heads[] = {"P@k", "R@k", "NDCG@k", "MRR@k", "cover", "mem MB",
                                        "p50 ms", "p95 ms"};
    static const char *const names[] = {"Item2Vec", "LLM", "Hybrid"};
    enum { NAME_W = 16, N_NUM = 8, N_FIG = 4, NUM_W = 7 };
    char l[TUI_LINE * 2], f[TUI_LINE], cell[64];
    size_t n = 0, n_rows = m ? table_n_rows(m) : TUI_N_PANES;
    int ccol[N_NUM], fig_w = NUM_W, any_ci = 0, n_num = N_FIG;

    if (max == 0)
        return 0;
    for (int c = 0; c < N_NUM; c++)
        ccol[c] = m ? col_prefix(m, cols[c]) : -1;
    for (size_t r = 0; m && r < n_rows; r++) {
        double lo, hi;
        any_ci |= ccol[1] >= 0 && table_cell_ci(m, r, (size_t)ccol[1], &lo, &hi);
    }
    if (any_ci)
        fig_w = 11;   /* "0.108±.025*" */
    int used = NAME_W + N_FIG * (fig_w + 1);
    while (n_num < N_NUM && used + NUM_W + 1 <= width) {
        used += NUM_W + 1;
        n_num++;
    }
    int spark_w = width - used - 2;
    size_t o = tui_fit(l, sizeof l, "method", NAME_W, 0);
    for (int c = 0; c < n_num; c++) {
        l[o++] = ' ';
        o += tui_fit(l + o, sizeof l - o, c < N_FIG && ccol[c] >= 0
                                              ? table_col_name(m, (size_t)ccol[c]) : heads[c],
                     c < N_FIG ? fig_w : NUM_W, 1);
    }
    if (spark_w >= 4)
        snprintf(l + o, sizeof l - o, "  %s", "similar latency, last queries");
    tui_fit(lines[n++], TUI_LINE, l, width, 0);
    for (size_t r = 0; r < n_rows && n < max; r++) {
        char name[128];
        copy_clean(name, sizeof name, m ? table_cell(m, r, 0) : names[r]);
        o = tui_fit(l, sizeof l, name, NAME_W, 0);
        for (int c = 0; c < n_num; c++) {
            l[o++] = ' ';
            if (ccol[c] >= 0)
                ci_text(m, r, (size_t)ccol[c], cell, sizeof cell);
            else
                snprintf(cell, sizeof cell, "-");
            o += tui_fit(l + o, sizeof l - o, cell, c < N_FIG ? fig_w : NUM_W, 1);
        }
        int s = spark_of(name);
        if (spark_w >= 4 && s >= 0 && sp[s].n > 0) {
            double last = sp[s].v[(sp[s].head + TUI_SPARK_N - 1) % TUI_SPARK_N];
            char tail[32];
            snprintf(tail, sizeof tail, " %.3f ms", last);
            tui_spark_text(&sp[s], spark_w - tui_width(tail), f, sizeof f);
            /* the blocks were padded to width: trim the padding back off */
            size_t fl = strlen(f);
            while (fl && f[fl - 1] == ' ')
                f[--fl] = '\0';
            snprintf(l + o, sizeof l - o, "  %s%s", f, tail);
        }
        tui_fit(lines[n++], TUI_LINE, l, width, 0);
    }
    if (!m && n < max)
        tui_fit(lines[n++], TUI_LINE,
                "precision, recall and NDCG appear after `eval` (try `eval users=200`)", width, 0);
    return n;
}

void tui_progress_line(const progress_view *v, int width, char *dst, size_t cap)
{
    char l[TUI_LINE * 2], bar[TUI_LINE], tail[256], stage[96];
    double frac = v->total ? (double)v->done / (double)v->total : 0;
    size_t o = 0;

    if (frac > 1)
        frac = 1;
    copy_clean(stage, sizeof stage, v->stage[0] ? v->stage : "working");
    int n = snprintf(tail, sizeof tail, " %3.0f%%  %.0f %s/s", frac * 100, v->rate, v->unit);
    if (v->metric_name[0] && n >= 0 && (size_t)n < sizeof tail)
        n += snprintf(tail + n, sizeof tail - (size_t)n, "  %s %.4f", v->metric_name, v->metric);
    if (n >= 0 && (size_t)n < sizeof tail)
        n += snprintf(tail + n, sizeof tail - (size_t)n, v->eta_s >= 0 ? "  ETA %.0fs" : "  ETA ?",
                      v->eta_s);
    if (n >= 0 && (size_t)n < sizeof tail)
        snprintf(tail + n, sizeof tail - (size_t)n, "  (Esc cancels)");
    int bw = width - tui_width(stage) - tui_width(tail) - 3;
    if (bw > 40)
        bw = 40;
    if (bw >= 5) {
        int filled = (int)(frac * bw + 0.5);
        bar[o++] = '[';
        for (int i = 0; i < bw && o + 4 < sizeof bar; i++) {
            const char *g = i < filled ? "\xE2\x96\x88" : "\xC2\xB7";  /* █ · */
            size_t gl = strlen(g);
            memcpy(bar + o, g, gl);
            o += gl;
        }
        bar[o++] = ']';
    }
    bar[o] = '\0';
    snprintf(l, sizeof l, "%s %s%s", stage, bar, tail);
    tui_fit(dst, cap, l, width, 0);
}

/* ---- text ------------------------------------------------------------ */

void tui_text_init(tui_text *t, const char *title)
{
    memset(t, 0, sizeof *t);
    copy_clean(t->title, sizeof t->title, title ? title : "");
}

void tui_text_done(tui_text *t)
{
    for (size_t i = 0; i < t->n; i++)
        mem_free(t->line[i]);
    mem_free(t->line);
    t->line = NULL;
    t->n = t->cap = 0;
}

int tui_text_add(tui_text *t, const char *s)
{
    size_t len = strlen(s), cap = len * 4 + 8;   /* "^[" forms may grow it */
    char *c;

    if (mem_grow(&t->line, &t->cap, t->n + 1, sizeof *t->line))
        return -ERR_NOMEM;
    if (!(c = mem_alloc(cap)))
        return -ERR_NOMEM;
    copy_clean(c, cap, s);
    t->line[t->n++] = c;
    return 0;
}

int tui_text_tables(tui_text *t, const table_list *tl, int width)
{
    for (size_t i = 0; i < tl->n; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        int rc = 0;
        if (!f)
            return -ERR_NOMEM;
        table_render_text_width(tl->t[i], f, width);
        fclose(f);
        for (char *p = buf, *nl; p && *p && rc == 0; p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            rc = tui_text_add(t, p);
        }
        free(buf);   /* open_memstream's buffer comes from malloc */
        if (rc)
            return rc;
    }
    return 0;
}

int tui_text_wrap(tui_text *t, const char *label, int label_w, const char *s, int width)
{
    char line[TUI_LINE], lbl[TUI_LINE];
    int avail = width - label_w - 1, first = 1;

    if (avail < 8)
        avail = 8;
    if (avail > TUI_LINE / 8)
        avail = TUI_LINE / 8;
    do {
        /* take as many characters as fit; break at the last space if any */
        int used = 0;
        const char *p = s, *brk = NULL;
        while (*p) {
            int n = cp_len(p), cw = cp_width(p, n);
            if (used + cw > avail)
                break;
            if (*p == ' ')
                brk = p;
            used += cw;
            p += n;
        }
        const char *end = (*p && brk && brk > s) ? brk : p;
        if (end == s && *p)   /* one character wider than the column */
            end = s + cp_len(s);
        size_t o = tui_fit(lbl, sizeof lbl, first ? label : "", label_w, 0);
        size_t seg = (size_t)(end - s);
        if (o + 1 + seg >= sizeof line)
            seg = sizeof line - o - 2;   /* cannot happen with avail < TUI_LINE/4 */
        memcpy(line, lbl, o);
        line[o] = ' ';
        memcpy(line + o + 1, s, seg);
        line[o + 1 + seg] = '\0';
        if (tui_text_add(t, line))
            return -ERR_NOMEM;
        s = end;
        while (*s == ' ')
            s++;
        first = 0;
    } while (*s);
    return 0;
}

int tui_text_item(tui_text *t, const table *item, int width)
{
    char head[TUI_LINE];

    const char *title = info_get(item, "title");
    snprintf(head, sizeof head, "%s  %s", or_q(info_get(item, "id")), title ? title : "");
    if (tui_text_add(t, head) || tui_text_add(t, ""))
        return -ERR_NOMEM;
    for (size_t r = 0; r < table_n_rows(item); r++) {
        const char *k = table_cell(item, r, 0), *val = table_cell(item, r, 1);
        char buf[64];
        if (strcmp(k, "id") == 0 || strcmp(k, "title") == 0)
            continue;
        if (strcmp(k, "events") == 0) {   /* say what the count means */
            snprintf(buf, sizeof buf, "%s (times it occurs in sessions)", val);
            val = buf;
        }
        if (tui_text_wrap(t, k, 12, val, width))
            return -ERR_NOMEM;
    }
    for (size_t i = 0; i < table_n_notes(item); i++)
        if (tui_text_add(t, table_note_at(item, i)))
            return -ERR_NOMEM;
    return 0;
}
