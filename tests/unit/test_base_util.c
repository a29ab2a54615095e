/* test_base_util.c - the small base helpers: sorted id arrays (ids.h), the
 * byte buffer (buf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ids.h"
#include "mem.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
