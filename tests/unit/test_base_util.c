/* test_base_util.c - the small base helpers: sorted id arrays (ids.h), the
 * byte buffer (buf.h), percentiles (stats.h), the CJK predicate (uni.h),
 * JSON and CSV escaping (esc.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "esc.h"
#include "ids.h"
#include "mem.h"
#include "stats.h"
#include "uni.h"
#include "rng.h"

static void test_ids(void **st)
{
    int64_t a[200];
    rng r;
    (void)st;
    assert_int_equal(ids_find(a, 0, 5), -1);
    assert_int_equal(ids_lower_bound(a, 0, 5), 0);
    rng_seed(&r, 3, 0);
    for (size_t i = 0; i < 200; i++)
        a[i] = (int64_t)rng_below(&r, 1000) * 2 - 1000;   /* even, duplicates likely */
    a[0] = INT64_MIN;
    a[1] = INT64_MAX;
    ids_sort(a, 200);
    for (size_t i = 1; i < 200; i++)
        assert_true(a[i - 1] <= a[i]);
    assert_true(a[0] == INT64_MIN && a[199] == INT64_MAX);
    for (int64_t x = -1002; x <= 1002; x++) {
        size_t lb = ids_lower_bound(a, 200, x);
        long f = ids_find(a, 200, x);
        assert_true(lb == 0 || a[lb - 1] < x);
        assert_true(lb == 200 || a[lb] >= x);
        if (f >= 0)
            assert_true(a[f] == x && (size_t)f == lb);   /* the first of equal ids */
        else
            assert_true(lb == 200 || a[lb] != x);
    }
    assert_int_equal(ids_find(a, 200, INT64_MIN), 0);
    assert_int_equal(ids_find(a, 200, INT64_MAX), 199);
    assert_true(ids_cmp(&a[0], &a[199]) < 0 && ids_cmp(&a[199], &a[0]) > 0 &&
                ids_cmp(&a[5], &a[5]) == 0);
}

static void test_buf(void **st)
{
    buf_writer w = {0};
    buf_reader r;
    uint32_t a;
    uint64_t b, big = 1000;
    char s[8];
    size_t n;
    err e;
    (void)st;

    buf_put_u32(&w, 7);
    buf_put_u64(&w, UINT64_MAX - 1);
    buf_put(&w, "hello", 5);
    buf_put(&w, NULL, 0);
    buf_put_u64(&w, 2);                 /* a count of 2 u32s ... */
    buf_put_u32(&w, 1);
    buf_put_u32(&w, 2);
    buf_put_u64(&w, 3);                 /* ... and one of 3 that overruns */
    buf_put_u32(&w, 9);
    assert_false(w.failed);
    assert_int_equal(w.len, 4 + 8 + 5 + 8 + 8 + 8 + 4);
    r = (buf_reader){w.p, w.len, 0, &e, "test blob", "head"};
    assert_int_equal(buf_get_u32(&r, &a), 0);
    assert_int_equal(a, 7);
    assert_int_equal(buf_get_u64(&r, &b), 0);
    assert_true(b == UINT64_MAX - 1);
    assert_int_equal(buf_get(&r, s, 5), 0);
    assert_memory_equal(s, "hello", 5);
    r.what = "list";
    assert_int_equal(buf_get_count(&r, 4, 10, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(buf_get(&r, s, 8), 0);
    assert_int_equal(buf_get_count(&r, 4, 10, &n), -ERR_PARSE);    /* 3 * 4 > 4 left */
    assert_string_equal(e.msg, "test blob: bad count 3 in list");
    assert_int_equal(buf_get(&r, s, 5), -ERR_PARSE);
    assert_string_equal(e.msg, "test blob truncated in list (needs 5 bytes at offset 41, has 4)");
    assert_int_equal(r.off, 41);                                    /* a failed get reads nothing */
    r.e = NULL;
    assert_int_equal(buf_get_u64(&r, &b), -ERR_PARSE);              /* e may be NULL */
    r.off = 0;
    assert_int_equal(buf_get_count(&r, 0, 6, &n), -ERR_PARSE);      /* over max */
    mem_free(w.p);

    /* an allocation failure sticks: later puts are ignored, the bytes flagged */
    w = (buf_writer){0};
    mem_fail_after(0);
    buf_put_u32(&w, 1);
    mem_fail_after(-1);
    buf_put_u32(&w, 2);
    assert_true(w.failed);
    assert_int_equal(w.len, 0);
    mem_free(w.p);
    w = (buf_writer){0};
    buf_put(&w, &big, SIZE_MAX);                                    /* no overflow either */
    assert_true(w.failed);
    mem_free(w.p);
}

static void test_percentile(void **st)
{
    double x[] = {5, 1, 4, 2, 3}, s[] = {1, 2, 3, 4, 5}, big[1000];
    (void)st;
    assert_float_equal(stats_percentile(x, 5, 0.5), 3, 0);
    assert_float_equal(stats_percentile(x, 5, 0.95), 5, 0);
    assert_float_equal(stats_percentile(x, 5, 0), 1, 0);
    assert_float_equal(stats_percentile(x, 5, 1), 5, 0);
    assert_float_equal(x[0], 5, 0);                    /* the samples stay as they were */
    assert_true(isnan(stats_percentile(x, 0, 0.5)));
    assert_true(isnan(stats_percentile_sorted(s, 0, 0.5)));
    assert_float_equal(stats_percentile_sorted(s, 5, 0.2), 1, 0);   /* ceil(1.0) = 1st */
    assert_float_equal(stats_percentile_sorted(s, 5, 0.21), 2, 0);
    for (int i = 0; i < 1000; i++)
        big[i] = 999 - i;
    stats_sort(big, 1000);
    assert_float_equal(stats_percentile_sorted(big, 1000, 0.50), 499, 0);
    assert_float_equal(stats_percentile_sorted(big, 1000, 0.99), 989, 0);
    mem_fail_after(0);
    assert_true(isnan(stats_percentile(x, 5, 0.5)));   /* out of memory */
    mem_fail_after(-1);
}

static void test_cjk(void **st)
{
    (void)st;
    /* one ideograph from each block, and the ends of the first */
    static const int32_t yes[] = {0x4E00, 0x9FFF, 0x4E2D, 0x3400, 0x20000, 0x2A700, 0x2B740,
                                  0x2B820, 0xF900, 0x2F800};
    /* kana, hangul, CJK punctuation, fullwidth letters, Latin, beyond the blocks */
    static const int32_t no[] = {0x3042, 0x30A2, 0xAC00, 0x3002, 0xFF21, 'a', 0x4DFF, 0x2FA20,
                                 0x2CEB0, -1};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(uni_is_cjk(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(uni_is_cjk(no[i]));
}

/* What esc_* writes for s, in a static buffer. */
static const char *esc_to_str(void (*fn)(FILE *, const char *), const char *s)
{
    static char out[256];
    FILE *f;
    out[0] = '\0';   /* nothing written leaves the buffer as it was */
    f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    fn(f, s);
    fclose(f);
    return out;
}

static void test_esc(void **st)
{
    (void)st;
    assert_string_equal(esc_to_str(esc_json, "plain é ü"), "plain é ü");
    assert_string_equal(esc_to_str(esc_json, "a\"b\\c\nd\re\tf"), "a\\\"b\\\\c\\nd\\re\\tf");
    assert_string_equal(esc_to_str(esc_json, "\x1b[2J\x7f"), "\\u001b[2J\\u007f");
    /* C1 controls (U+009B is CSI) escaped; U+00A0 and beyond as they are */
    assert_string_equal(esc_to_str(esc_json, "x\xc2\x9b" "y\xc2\xa0"), "x\\u009by\xc2\xa0");
    assert_string_equal(esc_to_str(esc_json, ""), "");
    assert_string_equal(esc_to_str(esc_csv, "plain"), "plain");
    assert_string_equal(esc_to_str(esc_csv, "a,b"), "\"a,b\"");
    assert_string_equal(esc_to_str(esc_csv, "say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_string_equal(esc_to_str(esc_csv, "two\nlines"), "\"two\nlines\"");
    assert_string_equal(esc_to_str(esc_csv, ""), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_cjk),
        cmocka_unit_test(test_esc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
