/* test_opt.c - option descriptors: parsing and its one style of message,
 * setting struct fields and defaults, usage lines, "did you mean", and the
 * engine's real tables (Item2Vec, index, settings) agreeing with their
 * documented defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "index.h"
#include "item2vec.h"
#include "lab.h"
#include "opt.h"

typedef struct thing {
    int n;
    double x;
    int mode;
    uint64_t seed;
    int on;
    char name[8];
} thing;

static const opt_def things[] = {
    {.name = "n", .type = OPT_INT, .min = 1, .max = 100, .def = "5", .words = "all",
     .word_value = 0, .help = "count", OPT_AT(thing, n)},
    {.name = "x", .type = OPT_REAL, .min = 0, .max = 1, .def = "0.5", .flags = OPT_MIN_OPEN,
     .alias = "ex", .help = "weight", OPT_AT(thing, x)},
    {.name = "mode", .type = OPT_CHOICE, .arg = "fast|slow", .def = "slow",
     .flags = OPT_DASHED, .help = "speed", OPT_AT(thing, mode)},
    {.name = "seed", .type = OPT_U64, .def = "7", .help = "seed", OPT_AT(thing, seed)},
    {.name = "skip_bad", .type = OPT_FLAG, .help = "skip", OPT_AT(thing, on)},
    {.name = "name", .type = OPT_STR, .max = 8, .arg = "NAME", .help = "name",
     OPT_AT(thing, name)},
    {.name = "secret", .type = OPT_INT, .min = 0, .max = 1, .flags = OPT_HIDDEN},
    {0},
};

static void expect(int rc, const err *e, const char *msg)
{
    assert_int_equal(rc, -ERR_USAGE);
    assert_string_equal(e->msg, msg);
}

static void test_parse_messages(void **st)
{
    err e;
    long l;
    double x;
    uint64_t u;
    int i;
    (void)st;
    const opt_def *n = opt_find(things, "n"), *xd = opt_find(things, "ex");
    assert_non_null(n);
    assert_ptr_equal(xd, &things[1]);
    assert_int_equal(opt_long(n, "42", &l, &e), 0);
    assert_int_equal(l, 42);
    assert_int_equal(opt_long(n, "all", &l, &e), 0);
    assert_int_equal(l, 0);
    expect(opt_long(n, "4x", &l, &e), &e, "n=4x is not a whole number or all");
    expect(opt_long(n, "0", &l, &e), &e, "n=0 is out of range (1..100, or all)");
    expect(opt_long(n, "99999999999999999999", &l, &e), &e,
           "n=99999999999999999999 is not a whole number or all");
    expect(opt_long(n, "", &l, &e), &e, "n needs a value");
    expect(opt_long(n, NULL, &l, &e), &e, "n needs a value");
    expect(opt_double(xd, "0", &x, &e), &e, "x=0 is out of range (above 0..1)");
    expect(opt_double(xd, "nan", &x, &e), &e, "x=nan is not a number");
    assert_int_equal(opt_double(xd, "1", &x, &e), 0);
    expect(opt_choice(&things[2], "medium", &i, &e), &e, "mode=medium is not one of fast|slow");
    assert_int_equal(opt_choice(&things[2], "slow", &i, &e), 0);
    assert_int_equal(i, 1);
    expect(opt_u64(&things[3], "-1", &u, &e), &e,
           "seed=-1 is not a whole number in 0..18446744073709551615");
    expect(opt_u64(&things[3], "18446744073709551616", &u, &e), &e,
           "seed=18446744073709551616 is not a whole number in 0..18446744073709551615");
    assert_int_equal(opt_u64(&things[3], "18446744073709551615", &u, &e), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(opt_flag(&things[4], NULL, &i, &e), 0);
    assert_int_equal(i, 1);
    assert_int_equal(opt_flag(&things[4], "no", &i, &e), 0);
    assert_int_equal(i, 0);
    expect(opt_flag(&things[4], "maybe", &i, &e), &e,
           "skip_bad=maybe is not one of 1|0|true|false|yes|no");
    /* e may be NULL: the code still comes back */
    assert_int_equal(opt_long(n, "x", &l, NULL), -ERR_USAGE);
}

static void test_set_and_defaults(void **st)
{
    thing t;
    err e;
    (void)st;
    memset(&t, 0xff, sizeof t);
    opt_defaults(things, &t);
    assert_int_equal(t.n, 5);
    assert_true(t.x == 0.5);
    assert_int_equal(t.mode, 1);
    assert_true(t.seed == 7);
    assert_int_equal(opt_set(things, &t, "ex", "0.25", &e), 0);
    assert_true(t.x == 0.25);
    assert_int_equal(opt_set(things, &t, "skip_bad", NULL, &e), 0);
    assert_int_equal(t.on, 1);
    assert_int_equal(opt_set(things, &t, "name", "abc", &e), 0);
    assert_string_equal(t.name, "abc");
    expect(opt_set(things, &t, "name", "too long!", &e), &e, "name is too long (at most 7 bytes)");
    assert_string_equal(t.name, "abc");   /* unchanged on error */
    expect(opt_set(things, &t, "n", "0", &e), &e, "n=0 is out of range (1..100, or all)");
    assert_int_equal(t.n, 5);
    expect(opt_set(things, &t, "mdoe", "fast", &e), &e,
           "unknown parameter 'mdoe' (did you mean mode=?); accepted: n= x= mode= seed= "
           "--skip-bad name=");
}

static void test_usage_and_suggestions(void **st)
{
    char buf[512] = "cmd ARG";
    err e;
    (void)st;
    opt_usage(things, buf, sizeof buf);
    assert_string_equal(buf, "cmd ARG [n=5|all] [x=0.5] [--mode fast|slow] [seed=7] "
                             "[--skip-bad] [name=NAME]");
    char small[16] = "";
    assert_true(opt_usage(things, small, sizeof small) < sizeof small);   /* cut, terminated */
    const char *c[] = {"similar", "show", "sessions", NULL, "items"};
    assert_string_equal(opt_closest("simlar", c, 5), "similar");
    assert_string_equal(opt_closest("shwo", c, 5), "show");      /* a swap is one edit */
    assert_string_equal(opt_closest("sess", c, 5), "sessions");  /* a prefix */
    assert_null(opt_closest("zzz", c, 5));
    const char *attrs[] = {"brand", "price"};
    expect(opt_unknown(things, NULL, "brnd", attrs, 2, "attributes", &e), &e,
           "unknown parameter 'brnd' (did you mean brand=?); accepted: n= x= mode= seed= "
           "--skip-bad name=; attributes: brand price");
    expect(opt_unknown(NULL, NULL, "q", NULL, 0, NULL, &e), &e,
           "unknown parameter 'q'; accepted: none");
}

/* The engine's own tables give the documented defaults. */
static void test_engine_tables(void **st)
{
    i2v_params p = i2v_params_default();
    index_opts o = index_opts_default();
    lab_settings s;
    (void)st;
    assert_int_equal(p.sg.dim, 64);
    assert_int_equal(p.sg.window, 5);
    assert_int_equal(p.sg.epochs, 20);
    assert_int_equal(p.sg.threads, 2);
    assert_true(p.sg.sample == I2V_SAMPLE_AUTO && p.sg.alpha == 0.025 &&
                p.sg.ns_exponent == 0.75);
    assert_int_equal(o.kind, INDEX_FLAT);
    assert_int_equal(o.metric, INDEX_COSINE);
    assert_int_equal(o.M, 16);
    assert_int_equal(o.ef_construction, 200);
    assert_int_equal(o.ef, 64);
    assert_int_equal(o.nprobe, 16);
    assert_true(o.seed == 1);
    lab_settings_default(&s);
    assert_int_equal(s.k, 10);
    assert_true(s.alpha == 0.2);
    assert_int_equal(s.hybrid, HYBRID_FILL);
    assert_int_equal(s.i2v_scoring, LAB_I2V_INOUT);
    assert_int_equal(s.no_timing, 0);
    assert_int_equal(s.threads, 2);
    assert_int_equal(s.history, 5);
    for (size_t i = 0; opt_at(i2v_param_defs, i); i++)
        assert_non_null(opt_at(i2v_param_defs, i)->help);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_messages),
        cmocka_unit_test(test_set_and_defaults),
        cmocka_unit_test(test_usage_and_suggestions),
        cmocka_unit_test(test_engine_tables),
    };
    return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
