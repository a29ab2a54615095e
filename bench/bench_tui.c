/* bench_tui.c DB [N] - the TUI's `similar` response time: N queries (ids
 * spread over the catalog), each timed from tui_submit() - what Enter on
 * the command line calls - to the return of the frame's paint (tui_draw,
 * which ends in doupdate).  So the figure holds cmd_exec with all three
 * recommenders, the view model, painting the whole screen and curses
 * writing it; a second figure is the command part alone (cmd_exec + view
 * model).  Needs a terminal: bench/tui_similar.sh runs it in tmux.  The
 * TUI itself carries no benchmark code; this program links its objects. */
#include "../src/ui/term.h"
#include "../src/ui/tui_int.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double pct(const double *v, int n, double p) { return v[(size_t)(p * (n - 1) + 0.5)]; }

int main(int argc, char **argv)
{
    int n = argc > 2 ? atoi(argv[2]) : 500;
    tui_ui *u;
    lab *L;
    err e;

    if (argc < 2 || n < 1) {
        fprintf(stderr, "usage: bench_tui DB [N]\n");
        return 2;
    }
    lab_global_init();
    if (!(L = lab_open(argv[1], &e))) {
        fprintf(stderr, "bench_tui: %s\n", e.msg);
        return 1;
    }
    const store_catalog *c = lab_catalog(L, &e);
    double *ms = calloc((size_t)n, sizeof *ms), *cm = calloc((size_t)n, sizeof *cm);
    u = mem_calloc(1, sizeof *u);
    if (!c || c->n == 0 || !ms || !cm || !u) {
        fprintf(stderr, "bench_tui: no catalog to query (or out of memory)\n");
        return 1;
    }
    u->L = L;
    lab_progress(L)->fn = NULL;
    table_list_init(&u->metrics);
    tui_text_init(&u->text, "");
    if (term_init(lab_progress(L)) != 0 || tui_input_init(u) != 0)
        return 1;
    for (int i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof line, "similar %s", c->ext_id[((size_t)i * 7919) % c->n]);
        double t0 = progress_now();
        tui_submit(u, line);
        double t1 = progress_now();
        tui_draw(u);
        ms[i] = (progress_now() - t0) * 1000;
        cm[i] = (t1 - t0) * 1000;
    }
    tui_input_done(u);
    term_done();
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    qsort(cm, (size_t)n, sizeof *cm, cmp_double);
    fprintf(stderr, "bench-similar: %d queries, submit to frame drawn: p50 %.3f ms, p95 %.3f ms, max "
           "%.3f ms; of which cmd_exec + view model: p50 %.3f ms, p95 %.3f ms\n",
           n, pct(ms, n, 0.5), pct(ms, n, 0.95), ms[n - 1], pct(cm, n, 0.5), pct(cm, n, 0.95));
    tui_map_free(u->map);
    tui_text_done(&u->text);
    table_list_done(&u->metrics);
    mem_free(u);
    free(ms);
    free(cm);
    lab_close(L);
    return 0;
}
