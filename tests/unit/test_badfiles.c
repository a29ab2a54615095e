/* test_badfiles.c - the model files of the bad-input catalogue (tests/bad/,
 * README "Vector and model files") against the loaders: each is refused with
 * -ERR_PARSE and a message naming the file and what is wrong.  Run from
 * tests/ (as tests/run.sh does).  The same files go through the binary
 * (`encode text model=DIR`) in tests/e2e/bad_inputs.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bert.h"
#include "err.h"
#include "safetensors.h"
#include "wordpiece.h"

#include "fixture_util.h"

#define assert_msg_has(e, s)                                                           \
    do {                                                                               \
        if (!strstr((e).msg, (s)))                                                     \
            fail_msg("message '%s' lacks '%s'", (e).msg, (s));                         \
    } while (0)

static void test_header_2_63(void **st)
{
    err e;
    (void)st;
    assert_null(st_open("bad/model_header_2_63.safetensors", &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_msg_has(e, "bad/model_header_2_63.safetensors: header length 9223372036854775808 "
                      "exceeds the file");
}

static void test_offsets_past_end(void **st)
{
    err e;
    (void)st;
    assert_null(st_open("bad/model_offsets_past_end.safetensors", &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_msg_has(e, "bad/model_offsets_past_end.safetensors: tensor 'w': data_offsets "
                      "[0, 16] outside the data region (8 bytes)");
}

static void test_vocab_duplicate(void **st)
{
    err e;
    (void)st;
    assert_null(wp_load("bad/vocab_duplicate.txt", NULL, &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_msg_has(e, "bad/vocab_duplicate.txt: token 'shoe' appears twice (ids 4 and 6)");
}

/* A model folder: the tiny fixture with one file replaced by a bad one. */
static void model_with(const char *name, const char *bad_file, const char *want)
{
    char dir[256], dst[512];
    size_t len;
    char *d = fx_read(bad_file, &len);
    bert_opts o = bert_opts_default();
    err e;

    assert_non_null(d);
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    assert_int_equal(fx_write(dst, d, len), 0);
    free(d);
    o.threads = 1;
    assert_null(bert_load(dir, &o, &e));
    fx_rm_model(dir);
    assert_int_equal(e.code, ERR_PARSE);
    if (!strstr(e.msg, dir) || !strstr(e.msg, want))
        fail_msg("message '%s' lacks the folder or '%s'", e.msg, want);
}

static void test_model_folders(void **st)
{
    (void)st;
    model_with("config.json", "bad/model_shape_mismatch/config.json",
               "model.safetensors: tensor 'embeddings.word_embeddings.weight' has shape "
               "[232, 32] but config.json implies [232, 48]");
    model_with("model.safetensors", "bad/model_header_2_63.safetensors",
               "model.safetensors: header length 9223372036854775808 exceeds the file");
    model_with("model.safetensors", "bad/model_offsets_past_end.safetensors",
               "model.safetensors: tensor 'w': data_offsets [0, 16] outside the data region");
    model_with("vocab.txt", "bad/vocab_duplicate.txt",
               "vocab.txt: token 'shoe' appears twice (ids 4 and 6)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_2_63),
        cmocka_unit_test(test_offsets_past_end),
        cmocka_unit_test(test_vocab_duplicate),
        cmocka_unit_test(test_model_folders),
    };
    return cmocka_run_group_tests_name("badfiles", tests, NULL, NULL);
}
