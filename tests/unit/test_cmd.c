/* test_cmd.c - command parsing, dispatch, errors, core and data commands,
 * and the table renderers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../../src/app/lab_int.h"   /* white-box: the lab's store */
#include "mem.h"

static lab *L;

static int setup(void **st)
{
    (void)st;
    L = lab_open(":memory:", NULL);
    if (!L)
        return -1;
    const char *ids[] = {"P1", "P2", "P3"};
    const char *cats[] = {"phone", "case", "phone"};
    const char *attrs[] = {"{\"brand\":\"acme\",\"price\":10}", NULL, "{\"brand\":\"zed\"}"};
    for (int i = 0; i < 3; i++) {
        store_item it = {.ext_id = ids[i], .title = ids[i], .description = "text",
                         .category = cats[i], .attrs = attrs[i]};
        int64_t rid;
        if (store_item_insert(L->db, &it, &rid, NULL))
            return -1;
        if (i < 2 && store_event_insert(L->db, "s1", "u1", rid, i, NULL))
            return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    lab_close(L);
    return 0;
}

/* Runs a line, renders all tables as text into a static buffer. */
static const char *run(const char *line, int *rc)
{
    static char buf[16384];
    table_list out;
    err e;
    FILE *f = fmemopen(buf, sizeof buf, "w");
    table_list_init(&out);
    *rc = cmd_exec(L, line, &out, &e);
    for (size_t i = 0; i < out.n; i++)
        table_render_text(out.t[i], f);
    if (*rc < 0)
        fprintf(f, "error: %s\n", e.msg);
    fclose(f);
    table_list_done(&out);
    return buf;
}

static void test_unknown_command_and_params(void **st)
{
    int rc;
    (void)st;
    const char *o = run("frobnicate now", &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    assert_non_null(strstr(o, "unknown command 'frobnicate'"));
    o = run("items --bogus", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "unknown parameter 'bogus'"));
    /* a key that is neither a parameter nor an attribute of the catalog */
    o = run("items colour=red", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "items: unknown parameter 'colour'; accepted: limit= category= "
                              "title=; the catalog's attributes:"));
    o = run("similar P1 kk=3", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "similar: unknown parameter 'kk' (did you mean k=?)"));
    o = run("simlar P1", &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    assert_non_null(strstr(o, "unknown command 'simlar' (did you mean similar?)"));
    o = run("recommend U1", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "usage: recommend user USER [k=10]"));
    o = run("show", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "usage: show ITEM"));
    o = run("show \"unterminated", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_int_equal(cmd_exec(L, "   # a comment", NULL, NULL), 0);
    assert_int_equal(cmd_exec(L, "quit", NULL, NULL), CMD_QUIT);
}

static void test_set_validates(void **st)
{
    int rc;
    (void)st;
    run("set alpha 0.25", &rc);
    assert_int_equal(rc, 0);
    assert_true(L->set.alpha == 0.25);
    const char *o = run("set alpha 1.5", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    assert_non_null(strstr(o, "out of range"));
    assert_true(L->set.alpha == 0.25);   /* unchanged */
    run("set hybrid rrf", &rc);
    assert_int_equal(L->set.hybrid, HYBRID_RRF);
    o = run("set hybrid best", &rc);
    assert_int_equal(rc, -ERR_USAGE);
    o = run("set k abc", &rc);
    assert_non_null(strstr(o, "not a whole number"));
}

static void test_items_filters(void **st)
{
    int rc;
    (void)st;
    const char *o = run("items category=phone", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(o, "P1"));
    assert_null(strstr(o, "P2 "));
    assert_non_null(strstr(o, "2 of 2 matching"));
    o = run("items brand=zed", &rc);
    assert_non_null(strstr(o, "P3"));
    assert_non_null(strstr(o, "1 of 1"));
    o = run("items price=10", &rc);
    assert_non_null(strstr(o, "P1"));
    o = run("items --limit 1", &rc);
    assert_non_null(strstr(o, "1 of 3"));
}

static void test_show_and_sessions(void **st)
{
    int rc;
    (void)st;
    const char *o = run("show P3", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(o, "cold start"));
    assert_non_null(strstr(o, "brand"));
    o = run("show 'P9'", &rc);
    assert_int_equal(rc, -ERR_NOTFOUND);
    assert_non_null(strstr(o, "unknown item 'P9'"));
    o = run("sessions", &rc);
    assert_non_null(strstr(o, "P1 P2"));
    o = run("sessions stats", &rc);
    assert_non_null(strstr(o, "cold-start items"));
    o = run("help show", &rc);
    assert_non_null(strstr(o, "usage: show ITEM"));
    o = run("info", &rc);
    assert_non_null(strstr(o, "items"));
}

static void test_table_json_and_sanitize(void **st)
{
    char buf[1024];
    (void)st;
    table *t = table_new("t\"1");
    assert_non_null(t);
    assert_int_equal(table_col(t, "name", 0), 0);
    assert_int_equal(table_col(t, "score", 1), 0);
    assert_int_equal(table_row(t), 0);
    assert_int_equal(table_str(t, "a\x1b[31mred"), 0);
    assert_int_equal(table_num(t, 0.5, 3), 0);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    table_render_json(t, f);
    fclose(f);
    assert_string_equal(buf, "{\"title\":\"t\\\"1\",\"columns\":[\"name\",\"score\"],\"rows\":"
                             "[{\"name\":\"a\\u001b[31mred\",\"score\":0.5}]}");
    f = fmemopen(buf, sizeof buf, "w");
    table_render_text(t, f);
    fclose(f);
    assert_null(strchr(buf, 0x1b));        /* escapes never reach the terminal */
    assert_non_null(strstr(buf, "a^[[31mred"));
    assert_int_equal(table_text_width("无线蓝牙"), 8);
    table_free(t);
}

/* eval and compare share one engine: the bar and the messages name the
 * command the user typed ("compare", not "eval"). */
typedef struct stage_seen {
    char first[64];   /* the first stage after Item2Vec's retraining */
} stage_seen;

static void on_stage(const progress *p, void *ud)
{
    stage_seen *ss = ud;
    progress_view v;
    progress_snapshot(p, &v);
    if (v.active && !ss->first[0] && strncmp(v.stage, "train", 5) != 0) {
        snprintf(ss->first, sizeof ss->first, "%s", v.stage);
        progress_cancel((progress *)p);
    }
}

static void test_compare_names_itself(void **st)
{
    (void)st;
    int rc;
    /* enough sessions of P1, P2, P3 for a split and a retraining */
    for (int s = 0; s < 12; s++) {
        char sid[16], uid[16];
        snprintf(sid, sizeof sid, "c%d", s);
        snprintf(uid, sizeof uid, "cu%d", s);
        for (int i = 0; i < 3; i++)
            assert_int_equal(store_event_insert(L->db, sid, uid, 1 + (s + i) % 3, 10 + i, NULL),
                             0);
    }
    lab_invalidate(L);
    for (int w = 0; w < 2; w++) {
        const char *cmd = w ? "eval" : "compare";
        char line[64], want[64];
        stage_seen ss = {{0}};
        progress_init(lab_progress(L), on_stage, &ss);
        lab_progress(L)->min_interval_ms = 0;
        snprintf(line, sizeof line, "%s threads=1 boot=0", cmd);
        const char *out = run(line, &rc);
        assert_int_equal(rc, -ERR_CANCEL);
        assert_string_equal(ss.first, cmd);
        snprintf(want, sizeof want, "error: %s cancelled: no result", cmd);
        assert_non_null(strstr(out, want));
        progress_init(lab_progress(L), NULL, NULL);
    }
    assert_non_null(strstr(run("compare k=0", &rc), "compare: k"));
    assert_true(rc < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_command_and_params),
        cmocka_unit_test(test_set_validates),
        cmocka_unit_test(test_items_filters),
        cmocka_unit_test(test_show_and_sessions),
        cmocka_unit_test(test_table_json_and_sanitize),
        cmocka_unit_test(test_compare_names_itself),
    };
    return cmocka_run_group_tests_name("cmd", tests, setup, teardown);
}
