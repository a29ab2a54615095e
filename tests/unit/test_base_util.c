/* test_base_util.c - the small base helpers: sorted id arrays (ids.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ids.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
