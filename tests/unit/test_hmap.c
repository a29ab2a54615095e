/* test_hmap.c - the hash map of base/hmap.c: int64 and string keys against a
 * plain reference, iteration, reserve, and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hmap.h"
#include "mem.h"
#include "rng.h"

static void test_hmap_i64(void **st)
{
    enum { N = 20000 };
    static int64_t keys[N];
    static unsigned char seen[N];
    hmap m = {0};
    rng r;
    int added;
    int64_t *v, k, val;
    size_t it = 0, n_seen = 0;
    (void)st;

    assert_null(hmap_get_i64(&m, 5));              /* empty map, no table yet */
    assert_null(hmap_get_i64(&m, 0));
    rng_seed(&r, 7, 0);
    for (size_t i = 0; i < N; i++) {
        /* the whole range: the edges, 0 (the empty-slot marker) and negatives */
        keys[i] = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : i == 2 ? 0 : i == 3 ? -1
                : (int64_t)rng_u64(&r);
        assert_non_null(v = hmap_add_i64(&m, keys[i], (int64_t)i, &added));
        assert_int_equal(added, 1);
        assert_true(*v == (int64_t)i);
    }
    assert_int_equal(hmap_count(&m), N);
    for (size_t i = 0; i < N; i++) {
        assert_non_null(v = hmap_get_i64(&m, keys[i]));
        assert_true(*v == (int64_t)i);
    }
    /* adding again finds the value and keeps it; it can be changed in place */
    v = hmap_add_i64(&m, keys[77], -1, &added);
    assert_int_equal(added, 0);
    assert_true(*v == 77);
    *v = -9;
    assert_true(*hmap_get_i64(&m, keys[77]) == -9);
    *hmap_get_i64(&m, 0) = 2;                      /* key 0 lives beside the table */
    assert_true(*hmap_add_i64(&m, 0, 5, &added) == 2);
    assert_int_equal(added, 0);
    for (int64_t q = 1; q < 2000; q++)   /* absent keys (a collision is 2^-50 unlikely) */
        assert_null(hmap_get_i64(&m, q * 1000003));
    /* every key once */
    while ((v = hmap_next_i64(&m, &it, &k))) {
        val = *v;
        size_t i = val == -9 ? 77 : (size_t)val;
        assert_true(i < N && keys[i] == k && !seen[i]);
        seen[i] = 1;
        n_seen++;
    }
    assert_int_equal(n_seen, N);
    it = 0;                                        /* values change through the visit */
    while ((v = hmap_next_i64(&m, &it, NULL)))
        *v = -*v;
    assert_true(*hmap_get_i64(&m, keys[5]) == -5 && *hmap_get_i64(&m, 0) == -2);
    assert_true(hmap_mem(&m) >= 2 * N * sizeof(hmap_slot));
    hmap_done(&m);
    assert_int_equal(hmap_count(&m), 0);
    assert_null(hmap_get_i64(&m, keys[3]));
    assert_null(hmap_get_i64(&m, 0));
    assert_non_null(hmap_add_i64(&m, 1, 1, NULL));    /* usable again after done */
    hmap_done(&m);
}

static void test_hmap_str(void **st)
{
    hmap m;
    char k[32];
    const char *key;
    size_t len, it = 0, n_seen = 0;
    int64_t val, *v;
    (void)st;

    hmap_init(&m);
    assert_null(hmap_get_str(&m, "a", 1));
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "P%05d", i);
        assert_non_null(v = hmap_add_str(&m, k, strlen(k), 100 + i, NULL));
        assert_true(*v == 100 + i);
    }
    /* keys are bytes with a length: a prefix, the empty key and embedded NULs differ */
    assert_null(hmap_get_str(&m, "P0001", 5));
    assert_null(hmap_get_str(&m, "P000123", 7));
    assert_true(*hmap_get_str(&m, "P00012x", 6) == 112);
    assert_non_null(hmap_add_str(&m, "", 0, 1, NULL));
    assert_non_null(hmap_add_str(&m, "a\0b", 3, 2, NULL));
    assert_non_null(hmap_add_str(&m, "a\0c", 3, 3, NULL));
    assert_non_null(hmap_add_str(&m, "a", 1, 4, NULL));
    assert_true(*hmap_get_str(&m, "", 0) == 1);
    assert_true(*hmap_get_str(&m, "a\0c", 3) == 3);
    assert_true(*hmap_get_str(&m, "a", 1) == 4);
    assert_int_equal(hmap_count(&m), 5004);
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "P%05d", i);
        assert_non_null(v = hmap_get_str(&m, k, strlen(k)));
        assert_true(*v == 100 + i);
    }
    while ((v = hmap_next_str(&m, &it, &key, &len))) {
        val = *v;
        n_seen++;
        assert_int_equal(key[len], '\0');            /* NUL-terminated in the arena */
        if (val >= 100) {
            snprintf(k, sizeof k, "P%05d", (int)val - 100);
            assert_string_equal(key, k);
        } else if (val == 2) {
            assert_int_equal(len, 3);
            assert_memory_equal(key, "a\0b", 3);
        } else if (val == 1) {
            assert_int_equal(len, 0);
        }
    }
    assert_int_equal(n_seen, 5004);
    hmap_done(&m);
}

/* After hmap_reserve, adding up to what was reserved allocates nothing. */
static void test_hmap_reserve(void **st)
{
    hmap m = {0}, s = {0};
    (void)st;
    /* 1024 keys fill a table of 2048 slots to load 1/2: the next one grows it */
    assert_int_equal(hmap_reserve_i64(&m, 1024), 0);
    assert_int_equal(hmap_reserve_str(&s, 1024, 1024 * 5), 0);
    mem_fail_after(0);
    for (int64_t i = 0; i < 1024; i++) {
        char k[8];
        snprintf(k, sizeof k, "%05d", (int)i);
        assert_non_null(hmap_add_i64(&m, i * 7, i, NULL));
        assert_non_null(hmap_add_str(&s, k, 5, i, NULL));
    }
    assert_null(hmap_add_i64(&m, -1, 0, NULL));
    assert_null(hmap_add_str(&s, "x", 1, 0, NULL));
    mem_fail_after(-1);
    assert_int_equal(hmap_count(&m), 1024);
    assert_true(*hmap_get_i64(&m, 999 * 7) == 999);
    assert_null(hmap_get_i64(&m, -1));
    assert_null(hmap_get_str(&s, "x", 1));
    assert_true(*hmap_get_str(&s, "00999", 5) == 999);
    assert_int_equal(hmap_reserve_str(&s, HMAP_MAX_STR + 1, 1), -ERR_NOMEM);
    assert_int_equal(hmap_reserve_i64(&m, SIZE_MAX / 4), -ERR_NOMEM);
    hmap_done(&m);
    hmap_done(&s);
}

/* Each allocation of a growing map fails once in turn: the add returns NULL,
 * the map keeps what it had, and the next try succeeds. */
static void test_hmap_faults(void **st)
{
    hmap m = {0}, s = {0};
    long fails = 0;
    int64_t *v;
    (void)st;
    for (int i = 0; i < 3000; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        for (long n = 0;; n++) {
            mem_fail_after(n);
            v = hmap_add_str(&s, k, strlen(k), i, NULL);
            mem_fail_after(-1);
            if (v)
                break;
            fails++;
            assert_int_equal(hmap_count(&s), (size_t)i);
            assert_null(hmap_get_str(&s, k, strlen(k)));
        }
        for (long n = 0;; n++) {
            mem_fail_after(n);
            v = hmap_add_i64(&m, (int64_t)i * 31, i, NULL);
            mem_fail_after(-1);
            if (v)
                break;
            fails++;
            assert_int_equal(hmap_count(&m), (size_t)i);
        }
    }
    assert_true(fails > 10);   /* the growth steps were hit */
    for (int i = 0; i < 3000; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        assert_true(*hmap_get_str(&s, k, strlen(k)) == i);
        assert_true(*hmap_get_i64(&m, (int64_t)i * 31) == i);
    }
    hmap_done(&m);
    hmap_done(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmap_i64),
        cmocka_unit_test(test_hmap_str),
        cmocka_unit_test(test_hmap_reserve),
        cmocka_unit_test(test_hmap_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
