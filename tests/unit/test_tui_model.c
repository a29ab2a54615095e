/* test_tui_model.c - the TUI's pure view model: fitting wide text, the
 * three panes and their agreement marks, header, metrics, progress, text
 * wrapping and the Braille canvas.  The model files are compiled in here
 * (they are part of the app, not libengine) - see tui_model.c's header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "../../src/ui/tui_model.c"
#include "../../src/ui/tui_raster.c"

/* A "similar" table like cmd_rec.c builds. */
static table *pane_table(const char *title, const char *const *ids, const char *const *titles,
                         size_t n, double latency_ms)
{
    table *t = table_new(title);
    assert_non_null(t);
    table_set_kind(t, TABLE_SIMILAR);
    table_col(t, "#", 1);
    table_col(t, "id", 0);
    table_col(t, "title", 0);
    table_col(t, "score", 1);
    for (size_t i = 0; i < n; i++) {
        table_row(t);
        table_int(t, (int64_t)i + 1);
        table_str(t, ids[i]);
        table_str(t, titles[i]);
        table_num(t, 0.9 - 0.1 * (double)i, 4);
    }
    /* the field the TUI reads; the note is for people and must not matter */
    table_field_num(t, "latency_ms", latency_ms);
    table_note(t, "latency 9.999 ms");
    return t;
}

static void test_fit_pads_and_truncates_wide(void **st)
{
    char b[256];
    (void)st;
    tui_fit(b, sizeof b, "abc", 6, 0);
    assert_string_equal(b, "abc   ");
    tui_fit(b, sizeof b, "abc", 6, 1);
    assert_string_equal(b, "   abc");
    /* 无线蓝牙耳机 is 12 columns; 7 columns: three characters (6) + "…" */
    tui_fit(b, sizeof b, "无线蓝牙耳机", 7, 0);
    assert_string_equal(b, "无线蓝…");
    assert_int_equal(tui_width(b), 7);
    /* 8 columns: three characters (6), a space where the 4th would straddle, … */
    tui_fit(b, sizeof b, "无线蓝牙耳机", 8, 0);
    assert_string_equal(b, "无线蓝 …");
    assert_int_equal(tui_width(b), 8);
    tui_fit(b, sizeof b, "无线蓝牙耳机", 12, 0);
    assert_string_equal(b, "无线蓝牙耳机");
    tui_fit(b, sizeof b, "x", 0, 0);
    assert_string_equal(b, "");
    assert_string_equal(tui_skip_cols("ab无线c", 2), "无线c");
    assert_string_equal(tui_skip_cols("ab无线c", 4), "线c");
    assert_string_equal(tui_skip_cols("ab无线c", 3), "线c");   /* half of 无: skipped whole */
    assert_string_equal(tui_skip_cols("ab", 9), "");
}

static void test_panes_marks_and_alignment(void **st)
{
    const char *i1[] = {"A1", "B2", "C3"}, *t1[] = {"Alpha", "无线蓝牙耳机 Pro", "Gamma"};
    const char *i2[] = {"B2", "D4"}, *t2[] = {"无线蓝牙耳机 Pro", "Delta"};
    const char *i3[] = {"B2", "A1", "E5"}, *t3[] = {"无线蓝牙耳机 Pro", "Alpha", "Eps\x1b[31m"};
    table_list tl;
    tui_results r;
    char line[TUI_LINE];
    (void)st;
    table_list_init(&tl);
    table_list_add(&tl, pane_table("Item2Vec", i1, t1, 3, 0.105));
    table_list_add(&tl, pane_table("LLM", i2, t2, 2, 1.5));
    table_list_add(&tl, pane_table("Hybrid (rrf)", i3, t3, 3, NAN));
    assert_int_equal(tui_results_from(&r, &tl, "similar A1"), 3);
    assert_int_equal(r.pane[0].rows[0].mark, 2);   /* A1: Item2Vec + Hybrid */
    assert_int_equal(r.pane[0].rows[1].mark, 3);   /* B2 everywhere */
    assert_int_equal(r.pane[0].rows[2].mark, 1);
    assert_int_equal(r.pane[1].rows[1].mark, 1);
    assert_true(r.pane[0].latency_ms > 0.1 && r.pane[0].latency_ms < 0.11);
    assert_true(r.pane[2].latency_ms < 0);           /* "-" (no timing) */
    /* the escape sequence in a title never reaches the screen */
    assert_null(strchr(r.pane[2].rows[2].title, '\x1b'));
    for (int w = 26; w <= 40; w += 7)
        for (size_t i = 0; i < 4; i++) {
            tui_pane_line(&r.pane[0], i, w, line, sizeof line);
            assert_int_equal(tui_width(line), w);
        }
    tui_pane_line(&r.pane[0], 1, 39, line, sizeof line);
    assert_non_null(strstr(line, "\xE2\x97\x86"));   /* ◆ on B2 */
    assert_non_null(strstr(line, "B2"));
    assert_non_null(strstr(line, "0.8000"));
    tui_pane_line(&r.pane[0], 0, 39, line, sizeof line);
    assert_non_null(strstr(line, "\xE2\x97\x87"));   /* ◇ on A1 */
    /* the score column ends at the same place with and without CJK */
    char l0[TUI_LINE], l1[TUI_LINE];
    tui_pane_line(&r.pane[0], 0, 39, l0, sizeof l0);
    tui_pane_line(&r.pane[0], 1, 39, l1, sizeof l1);
    assert_int_equal(tui_width(strstr(l0, "0.9000")), tui_width(strstr(l1, "0.8000")));
    /* an 80-column screen (26-column panes) drops the rank, keeps id and title */
    tui_pane_line(&r.pane[0], 1, 26, line, sizeof line);
    assert_int_equal(tui_width(line), 26);
    assert_non_null(strstr(line, "B2 无线蓝牙"));
    assert_null(strstr(line, " 2 B2"));
    tui_pane_line(&r.pane[0], 1, 39, line, sizeof line);
    assert_non_null(strstr(line, " 2 B2 "));
    /* a negative score (Item2Vec IN.OUT dot products) widens the column */
    snprintf(r.pane[1].rows[0].score, sizeof r.pane[1].rows[0].score, "-0.9882");
    tui_pane_line(&r.pane[1], 0, 26, line, sizeof line);
    assert_int_equal(tui_width(line), 26);
    assert_non_null(strstr(line, " -0.9882"));
    tui_pane_line(&r.pane[1], 1, 26, line, sizeof line);
    assert_non_null(strstr(line, "  0.8000"));   /* right-aligned under it */
    tui_pane_title(&r.pane[1], 30, line, sizeof line);
    assert_non_null(strstr(line, "LLM"));
    assert_non_null(strstr(line, "1.50 ms"));
    assert_int_equal(tui_width(line), 30);
    table_list_done(&tl);
}

static void test_header_lines(void **st)
{
    lab_summary s;
    char lines[TUI_HEADER_LINES][TUI_LINE];
    (void)st;
    memset(&s, 0, sizeof s);
    lab_settings_default(&s.set);
    s.set.hybrid = HYBRID_BLEND;
    s.set.alpha = 0.5;
    snprintf(s.db_path, sizeof s.db_path, "/tmp/x.db");
    s.counts.items = 2000;
    s.counts.sessions = 8000;
    s.counts.users = 1475;
    s.counts.events = 39917;
    s.n_models = 1;
    snprintf(s.models[0].name, sizeof s.models[0].name, "item2vec");
    snprintf(s.models[0].label, sizeof s.models[0].label,
             "Item2Vec (SGNS, dim 64, window 5, 20 epochs)");
    snprintf(s.models[0].created, sizeof s.models[0].created, "2026-11-29 02:45:56");
    snprintf(s.models[0].index, sizeof s.models[0].index, "hnsw M=16");
    s.models[0].n_vectors = 1794;
    s.models[0].dim = 64;
    tui_header_lines(&s, 120, lines);
    for (int i = 0; i < TUI_HEADER_LINES; i++)
        assert_int_equal(tui_width(lines[i]), 120);
    assert_non_null(strstr(lines[0], "/tmp/x.db"));
    assert_non_null(strstr(lines[0], "2000 items"));
    assert_non_null(strstr(lines[0], "8000 sessions"));
    assert_non_null(strstr(lines[1], "Item2Vec IN\xC2\xB7IN: SGNS, dim 64, window 5, 20 epochs; "
                                     "1794 x 64"));   /* no output vectors: IN.IN */
    assert_null(strstr(lines[1], "2026-11-29"));
    assert_non_null(strstr(lines[1], "index hnsw M=16"));
    assert_non_null(strstr(lines[2], "Text: no text vectors"));
    assert_non_null(strstr(lines[2], "hybrid blend, alpha 0.50"));
    s.i2v_has_ctx = 1;                            /* set i2v inout (the default) */
    tui_header_lines(&s, 120, lines);
    assert_non_null(strstr(lines[1], "Item2Vec IN\xC2\xB7OUT: SGNS"));
    s.set.i2v_scoring = LAB_I2V_DOT;              /* set i2v dot */
    tui_header_lines(&s, 120, lines);
    assert_non_null(strstr(lines[1], "Item2Vec IN\xC2\xB7OUT dot: SGNS"));
    s.set.i2v_scoring = LAB_I2V_ININ;             /* set i2v inin */
    tui_header_lines(&s, 120, lines);
    assert_non_null(strstr(lines[1], "Item2Vec IN\xC2\xB7IN: SGNS"));
    tui_header_lines(NULL, 80, lines);
    assert_non_null(strstr(lines[1], "not trained"));
}

static void test_spark_and_metrics(void **st)
{
    tui_spark sp[TUI_N_PANES];
    char lines[8][TUI_LINE], s[256];
    (void)st;
    memset(sp, 0, sizeof sp);
    for (int i = 1; i <= 40; i++)
        tui_spark_push(&sp[0], i);
    assert_int_equal(sp[0].n, TUI_SPARK_N);
    tui_spark_text(&sp[0], 4, s, sizeof s);
    /* 37..40 of max 40 on 8 levels: 37/40*7 rounds to 6 (▇), the rest to 7 (█) */
    assert_string_equal(s, "\xE2\x96\x87\xE2\x96\x88\xE2\x96\x88\xE2\x96\x88");
    tui_spark_push(&sp[1], 0.5);
    size_t n = tui_metrics_lines(NULL, sp, 100, lines, 8);
    assert_int_equal(n, 5);   /* header, 3 methods, hint */
    assert_non_null(strstr(lines[1], "Item2Vec"));
    assert_non_null(strstr(lines[1], "40.000 ms"));
    assert_non_null(strstr(lines[2], "0.500 ms"));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tui_width(lines[i]), 100);

    table *m = table_new("evaluation");
    table_set_kind(m, TABLE_METRICS);
    const char *cols[] = {"method", "P@10", "R@10", "NDCG@10", "MRR@10", "R@50", "coverage",
                          "p50 ms", "p95 ms", "p99 ms", "memory MB"};
    for (int c = 0; c < 11; c++)
        table_col(m, cols[c], c > 0);
    table_row(m);
    table_str(m, "Hybrid (blend)");
    for (int c = 1; c < 11; c++)
        table_num(m, 0.1 * c, 4);
    n = tui_metrics_lines(m, sp, 80, lines, 8);
    assert_int_equal(n, 2);
    assert_non_null(strstr(lines[0], "NDCG@10"));
    assert_non_null(strstr(lines[0], "cover"));
    assert_non_null(strstr(lines[0], "mem MB"));
    assert_int_equal(tui_width(lines[0]), 80);     /* all eight figures fit 80 columns */
    assert_non_null(strstr(lines[1], "Hybrid (blend)"));
    assert_non_null(strstr(lines[1], "0.3000"));   /* NDCG */
    assert_non_null(strstr(lines[1], "0.6000"));   /* coverage */
    assert_non_null(strstr(lines[1], "1.0000"));   /* memory */
    assert_non_null(strstr(lines[1], "0.8000"));   /* p95 */
    assert_null(strstr(lines[1], "0.5000"));       /* R@50 is not shown */
    assert_null(strstr(lines[1], "0.9000"));       /* nor p99 */
    table_free(m);

    /* figures with intervals: compact "v±half", and the star of a figure
     * significantly the best; the line still fits 80 columns, with coverage
     * and memory (the latencies give way) */
    m = table_new("evaluation");
    table_set_kind(m, TABLE_METRICS);
    for (int c = 0; c < 11; c++)
        table_col(m, cols[c], c > 0);
    for (int r = 0; r < 2; r++) {
        table_row(m);
        table_str(m, r ? "Popularity" : "Item2Vec");
        for (int c = 1; c < 6; c++)
            table_num_ci(m, 0.1 * c + r, 0.1 * c + r - 0.02, 0.1 * c + r + 0.02, 4,
                         r && c == 2 ? "*" : "");
        for (int c = 6; c < 11; c++)
            table_num(m, 0.25 * (c - 5), 2);
    }
    n = tui_metrics_lines(m, sp, 80, lines, 8);
    assert_int_equal(n, 3);
    assert_non_null(strstr(lines[0], "cover"));
    assert_non_null(strstr(lines[0], "mem MB"));
    assert_null(strstr(lines[0], "p50"));
    assert_non_null(strstr(lines[1], "0.200\xc2\xb1.020 "));
    assert_null(strstr(lines[1], "*"));
    assert_non_null(strstr(lines[2], "1.200\xc2\xb1.020*"));
    assert_non_null(strstr(lines[1], "0.25"));     /* coverage */
    assert_non_null(strstr(lines[1], "1.25"));     /* memory */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tui_width(lines[i]), 80);
    table_free(m);
}

static void test_progress_line(void **st)
{
    progress_view v = {.done = 50, .total = 200, .rate = 1000, .eta_s = 0.15, .active = 1};
    char l[TUI_LINE];
    (void)st;
    snprintf(v.stage, sizeof v.stage, "train item2vec");
    snprintf(v.unit, sizeof v.unit, "tokens");
    snprintf(v.metric_name, sizeof v.metric_name, "loss");
    v.metric = 2.5;
    tui_progress_line(&v, 100, l, sizeof l);
    assert_int_equal(tui_width(l), 100);
    assert_non_null(strstr(l, "train item2vec ["));
    assert_non_null(strstr(l, " 25%"));
    assert_non_null(strstr(l, "1000 tokens/s"));
    assert_non_null(strstr(l, "loss 2.5000"));
    assert_non_null(strstr(l, "ETA 0s"));
    assert_non_null(strstr(l, "Esc cancels"));
}

static void test_text_wrap_and_item(void **st)
{
    tui_text t;
    (void)st;
    tui_text_init(&t, "x");
    assert_int_equal(tui_text_wrap(&t, "description", 12, "one two three four five six", 30), 0);
    assert_int_equal(t.n, 2);
    /* 30 - 12 - 1 = 17 columns of text: "one two three four" (18) does not fit */
    assert_string_equal(t.line[0], "description  one two three");
    assert_string_equal(t.line[1], "             four five six");
    /* CJK without spaces breaks between characters, within the width */
    assert_int_equal(tui_text_wrap(&t, "d", 2, "无线蓝牙耳机无线蓝牙耳机", 13), 0);
    assert_true(t.n >= 5);
    for (size_t i = 2; i < t.n; i++)
        assert_true(tui_width(t.line[i]) <= 13);
    tui_text_done(&t);

    table *it = table_new("I1");
    table_set_kind(it, TABLE_ITEM);
    table_col(it, "field", 0);
    table_col(it, "value", 0);
    const char *kv[][2] = {{"id", "I1"}, {"title", "无线蓝牙耳机"}, {"category", "audio"},
                           {"events", "12"}};
    for (int i = 0; i < 4; i++) {
        table_row(it);
        table_str(it, kv[i][0]);
        table_str(it, kv[i][1]);
    }
    tui_text_init(&t, "detail");
    assert_int_equal(tui_text_item(&t, it, 80), 0);
    assert_string_equal(t.line[0], "I1  无线蓝牙耳机");
    assert_non_null(strstr(t.line[3], "12 (times it occurs in sessions)"));
    tui_text_done(&t);
    table_free(it);

    table_list tl;
    table_list_init(&tl);
    table_list_msg(&tl, "hello\x1b[2Jworld");
    tui_text_init(&t, "out");
    assert_int_equal(tui_text_tables(&t, &tl, 80), 0);
    assert_int_equal(t.n, 1);
    assert_null(strchr(t.line[0], '\x1b'));
    assert_non_null(strstr(t.line[0], "world"));
    tui_text_done(&t);
    table_list_done(&tl);
}

static void test_canvas_braille(void **st)
{
    tui_canvas c;
    char u[4];
    double box[4];
    float xy[] = {0, 0, 1, 2, 2, 4, 100, -50};
    (void)st;
    assert_int_equal(tui_canvas_init(&c, 4, 2), 0);
    assert_int_equal(tui_canvas_plot(&c, 0, 0, 3), 0);          /* top-left dot 1 */
    assert_int_equal(tui_canvas_cell(&c, 0, u), 0x01);
    assert_string_equal(u, "\xE2\xA0\x81");                    /* U+2801 */
    assert_int_equal(tui_canvas_plot(&c, 1, 1, 5), 7);          /* bottom-right dot 8 */
    assert_int_equal(tui_canvas_cell(&c, 7, u), 0x80);
    assert_string_equal(u, "\xE2\xA2\x80");                    /* U+2880 */
    assert_int_equal(c.cat[7], 5);
    assert_int_equal(tui_canvas_plot(&c, 1.5, 0, 1), -1);
    assert_int_equal(tui_canvas_plot(&c, NAN, 0, 1), -1);
    assert_int_equal(tui_canvas_cell(&c, 1, u), 0);
    assert_string_equal(u, " ");
    tui_canvas_clear(&c);
    assert_int_equal(tui_canvas_cell(&c, 0, u), 0);
    tui_canvas_done(&c);
    tui_bounds(xy, 4, 0.0, box);
    assert_true(box[0] == 0 && box[2] == 100 && box[1] == -50 && box[3] == 4);
    tui_bounds(xy, 4, 0.25, box);   /* one point trimmed at each end */
    assert_true(box[0] == 1 && box[2] == 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_pads_and_truncates_wide),
        cmocka_unit_test(test_panes_marks_and_alignment),
        cmocka_unit_test(test_header_lines),
        cmocka_unit_test(test_spark_and_metrics),
        cmocka_unit_test(test_progress_line),
        cmocka_unit_test(test_text_wrap_and_item),
        cmocka_unit_test(test_canvas_braille),
    };
    return cmocka_run_group_tests_name("tui_model", tests, NULL, NULL);
}
