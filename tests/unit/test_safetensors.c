/* test_safetensors.c - the loader on the fixture (F32/F16/BF16 agree) and on
 * hand-made hostile files: truncated, lying lengths and offsets, overlaps,
 * wrong dtypes, size mismatches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "err.h"
#include "mem.h"
#include "safetensors.h"

#include "fixture_util.h"

static char tmpdir[64];

static int setup(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/embedlab-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    fx_rm_model(tmpdir);
    return 0;
}

/* Writes u64 hlen (or `len_override` when nonzero), header, then data_len
 * bytes of 0x3f, returns the path. */
static const char *write_st(const char *name, const char *header, uint64_t len_override,
                            size_t data_len)
{
    static char path[128];
    uint64_t hl = len_override ? len_override : strlen(header);
    size_t n = 8 + strlen(header) + data_len;
    unsigned char *buf = malloc(n);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, header, strlen(header));
    memset(buf + 8 + strlen(header), 0x3f, data_len);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fx_write(path, buf, n);
    free(buf);
    return path;
}

static void expect_parse_error(const char *path, const char *needle)
{
    err e;
    err_clear(&e);
    st_file *f = st_open(path, &e);
    if (f) {
        st_close(f);
        fail_msg("%s: accepted; expected '%s'", path, needle);
    }
    if (e.code != ERR_PARSE || !strstr(e.msg, needle) || !strstr(e.msg, path))
        fail_msg("%s: got %s '%s', expected parse error with '%s'", path, err_name(e.code),
                 e.msg, needle);
}

static void test_fixture_dtypes_agree(void **st)
{
    err e;
    (void)st;
    st_file *a = st_open(TINY_DIR "/model.safetensors", &e);
    st_file *b = st_open("fixtures/tiny-bert-f16/model.safetensors", &e);
    st_file *c = st_open("fixtures/tiny-bert-bf16/model.safetensors", &e);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(st_count(a), st_count(b));
    assert_int_equal(st_count(a), st_count(c));
    for (size_t i = 0; i < st_count(a); i++) {
        const st_tensor *ta = st_at(a, i), *tb = st_find(b, ta->name), *tc = st_find(c, ta->name);
        assert_non_null(tb);
        assert_non_null(tc);
        assert_int_equal(ta->dtype, ST_F32);
        assert_int_equal(tb->dtype, ST_F16);
        assert_int_equal(tc->dtype, ST_BF16);
        assert_int_equal(ta->n_elem, tb->n_elem);
        const float *fa = st_f32(a, ta, &e), *fb = st_f32(b, tb, &e), *fc = st_f32(c, tc, &e);
        /* the generator made every weight exact in F16 and BF16 */
        assert_memory_equal(fa, fb, ta->n_elem * sizeof(float));
        assert_memory_equal(fa, fc, ta->n_elem * sizeof(float));
    }
    const st_tensor *w = st_find(a, "embeddings.word_embeddings.weight");
    assert_non_null(w);
    assert_int_equal(w->n_dim, 2);
    assert_int_equal(w->shape[1], 32);
    int64_t good[2] = {w->shape[0], 32}, bad[2] = {w->shape[0], 31};
    assert_int_equal(st_check_shape(a, w, 2, good, &e), 0);
    assert_int_equal(st_check_shape(a, w, 2, bad, &e), -ERR_PARSE);
    assert_non_null(strstr(e.msg, "embeddings.word_embeddings.weight"));
    assert_null(st_find(a, "nope"));
    st_close(a);
    st_close(b);
    st_close(c);
}

static void test_half_conversions(void **st)
{
    (void)st;
    assert_true(st_f16_to_f32(0x3c00) == 1.0f);
    assert_true(st_f16_to_f32(0xc000) == -2.0f);
    assert_true(st_f16_to_f32(0x0001) == ldexpf(1, -24));     /* smallest subnormal */
    assert_true(st_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(isinf(st_f16_to_f32(0x7c00)));
    assert_true(isnan(st_f16_to_f32(0x7e00)));
    assert_true(st_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(st_bf16_to_f32(0xc040) == -3.0f);
}

static void test_hostile_headers(void **st)
{
    (void)st;
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    err e;
    st_file *f = st_open(write_st("ok.st", ok, 0, 16), &e);
    assert_non_null(f);
    assert_int_equal(st_count(f), 1);
    st_close(f);

    write_st("short.st", "", 0, 0);
    {
        char p[128];
        snprintf(p, sizeof p, "%s/tiny.st", tmpdir);
        fx_write(p, "\x05\0\0", 3);
        expect_parse_error(p, "truncated");
    }
    expect_parse_error(write_st("cut.st", ok, 0, 10), "outside the data region");
    expect_parse_error(write_st("huge.st", ok, (uint64_t)1 << 63, 16), "exceeds the file");
    expect_parse_error(write_st("long.st", ok, 4096, 16), "exceeds the file");
    expect_parse_error(write_st("json.st", "{\"a\":{\"dtype\":", 0, 16), "not valid JSON");
    expect_parse_error(write_st("arr.st", "[1,2,3]", 0, 0), "not a JSON object");
    expect_parse_error(
        write_st("dtype.st", "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 0, 16),
        "unsupported dtype I64");
    expect_parse_error(
        write_st("size.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,16]}}", 0, 16),
        "tensor 'a': shape needs 24 bytes");
    expect_parse_error(
        write_st("f16.st", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 0, 16),
        "shape needs 8 bytes of F16");
    expect_parse_error(
        write_st("rev.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,0]}}", 0, 16),
        "outside the data region");
    expect_parse_error(
        write_st("neg.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 0, 16),
        "shape[0]");
    expect_parse_error(
        write_st("ovf.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}}",
                 0, 16),
        "overflows");
    expect_parse_error(
        write_st("overlap.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 0, 16),
        "overlap");
    expect_parse_error(
        write_st("contain.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                 "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 0, 24),
        "overlap");
    expect_parse_error(
        write_st("dup.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8),
        "appears twice");
    expect_parse_error(
        write_st("offs.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 0, 8),
        "data_offsets must be");
    char p[128];
    snprintf(p, sizeof p, "%s/absent.st", tmpdir);
    assert_null(st_open(p, &e));
    assert_int_equal(e.code, ERR_NOTFOUND);
}

static void test_unaligned_f32_is_copied(void **st)
{
    (void)st;
    /* header of odd length puts the data at an odd address */
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} ";
    char path[128];
    unsigned char buf[8 + 64 + 8];
    size_t hl = strlen(h);
    float v[2] = {1.5f, -2.25f};
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, h, hl);
    memcpy(buf + 8 + hl, v, 8);
    snprintf(path, sizeof path, "%s/odd.st", tmpdir);
    fx_write(path, buf, 8 + hl + 8);
    st_file *f = st_open(path, NULL);
    assert_non_null(f);
    const float *d = st_f32(f, st_find(f, "a"), NULL);
    assert_true(((uintptr_t)d & 3) == 0);
    assert_true(d[0] == 1.5f && d[1] == -2.25f);
    st_close(f);
}

static void test_oom_loop(void **st)
{
    (void)st;
    for (long n = 0;; n++) {
        err e;
        err_clear(&e);
        mem_fail_after(n);
        st_file *f = st_open("fixtures/tiny-bert-f16/model.safetensors", &e);
        const float *d = f ? st_f32(f, st_at(f, 0), &e) : NULL;
        mem_fail_after(-1);
        st_close(f);
        if (d)
            break;
        assert_int_equal(e.code, ERR_NOMEM);
        assert_true(n < 200);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_dtypes_agree),
        cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_unaligned_f32_is_copied),
        cmocka_unit_test(test_oom_loop),
    };
    return cmocka_run_group_tests_name("safetensors", tests, setup, teardown);
}
