/* test_wordpiece.c - tokenizer parity with the PyTorch-side reference
 * (tests/fixtures/make_tiny_bert.py), vocab formats and bad vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_skip.h"

#include "err.h"
#include "mem.h"
#include "wordpiece.h"

#include "fixture_util.h"

#define REAL_VOCAB "/work/shared/data/minilm-l6-v2-config/vocab.txt"

static wp_tokenizer *tiny_tok(size_t max_len)
{
    wp_opts o = wp_opts_default();
    err e;
    o.lower = 1;
    o.max_len = max_len;
    wp_tokenizer *t = wp_load(TINY_DIR "/vocab.txt", &o, &e);
    if (!t)
        fail_msg("%s", e.msg);
    return t;
}

static void test_reference_ids(void **st)
{
    int n = 0;
    fx_sentence *ref = fx_load_reference(TINY_DIR "/reference.json", &n);
    wp_tokenizer *t = tiny_tok(16);
    (void)st;
    assert_non_null(ref);
    assert_true(n >= 15);
    for (int i = 0; i < n; i++) {
        int32_t ids[64];
        size_t k;
        err e;
        assert_int_equal(wp_encode(t, ref[i].text, ref[i].len, ids, 64, &k, &e), 0);
        if ((int)k != ref[i].n_ids)
            fail_msg("sentence %d (%s): %zu ids, reference %d", i, ref[i].text, k, ref[i].n_ids);
        for (size_t j = 0; j < k; j++)
            if (ids[j] != ref[i].ids[j])
                fail_msg("sentence %d (%s): id %zu is %d (%s), reference %d (%s)", i, ref[i].text,
                         j, ids[j], wp_token(t, ids[j]), ref[i].ids[j], wp_token(t, ref[i].ids[j]));
    }
    wp_free(t);
    fx_free_reference(ref, n);
}

static void test_truncation_and_cap(void **st)
{
    wp_tokenizer *t = tiny_tok(512);
    const char *s = "hello world hello world hello world";
    int32_t ids[8];
    size_t k;
    (void)st;
    assert_int_equal(wp_encode(t, s, strlen(s), ids, 8, &k, NULL), 0);
    assert_int_equal(k, 8);
    assert_int_equal(ids[0], wp_cls(t));
    assert_int_equal(ids[7], wp_sep(t));
    assert_int_equal(ids[1], wp_lookup(t, "hello", 5));
    assert_int_equal(wp_encode(t, s, strlen(s), ids, 1, &k, NULL), -ERR_RANGE);
    assert_int_equal(wp_encode(t, s, strlen(s), ids, 2, &k, NULL), 0);
    assert_int_equal(k, 2);
    /* invalid UTF-8 bytes are dropped like U+FFFD */
    assert_int_equal(wp_encode(t, "he\xff\xfello", 7, ids, 8, &k, NULL), 0);
    assert_int_equal(k, 3);
    assert_int_equal(ids[1], wp_lookup(t, "hello", 5));
    wp_free(t);
}

static void test_cased_mode_keeps_accents(void **st)
{
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "Café", "cafe", "caf", "##é"};
    wp_opts o = wp_opts_default();
    int32_t ids[8];
    size_t k;
    wp_tokenizer *t;
    (void)st;
    o.lower = 0;
    t = wp_from_tokens(toks, 8, &o, NULL);
    assert_non_null(t);
    /* decomposed input is composed by NFC first */
    assert_int_equal(wp_encode(t, "Cafe\xcc\x81 cafe\xcc\x81", 13, ids, 8, &k, NULL), 0);
    assert_int_equal(k, 5);
    assert_int_equal(ids[1], 4);
    assert_int_equal(ids[2], 6);
    assert_int_equal(ids[3], 7);
    wp_free(t);
    o.lower = 1;
    t = wp_from_tokens(toks, 8, &o, NULL);
    assert_int_equal(wp_encode(t, "Caf\xc3\xa9", 5, ids, 8, &k, NULL), 0);
    assert_int_equal(k, 3);
    assert_int_equal(ids[1], 5);
    wp_free(t);
}

/* Special tokens in the text: leftmost-longest exact match on the raw text,
 * glued to words or not; tokens outside the vocabulary are ignored; with
 * lower_text the text is lowercased first, so "[CLS]" is then plain text. */
static void test_specials_in_text(void **st)
{
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "<s>", "<s>x", "a", "b", "x",
                          "[", "]", "s", "<", ">", "cl", "##s"};
    const char *sp[] = {"<s>", "<s>x", "<none>", "[CLS]"};
    wp_opts o = wp_opts_default();
    int32_t ids[32];
    size_t k;
    wp_tokenizer *t;
    (void)st;
    o.specials = sp;
    o.n_specials = 4;
    t = wp_from_tokens(toks, 16, &o, NULL);
    assert_non_null(t);
    assert_int_equal(wp_n_specials(t), 3);   /* "<none>" is not in the vocabulary */
    assert_int_equal(wp_encode(t, "a<s>xb <s> x<s", 14, ids, 32, &k, NULL), 0);
    {
        const int32_t want[] = {2, 6, 5, 7, 4, 8, 12, 11, 3};
        assert_int_equal(k, 9);
        assert_memory_equal(ids, want, sizeof want);
    }
    /* "[SEP]" is not in this list: plain text; "[CLS]" is */
    assert_int_equal(wp_encode(t, "[CLS][SEP]", 10, ids, 32, &k, NULL), 0);
    {
        const int32_t want[] = {2, 2, 9, 1, 10, 3};   /* "sep" is [UNK] here */
        assert_int_equal(k, 6);
        assert_memory_equal(ids, want, sizeof want);
    }
    wp_free(t);
    o.lower_text = 1;
    t = wp_from_tokens(toks, 16, &o, NULL);
    assert_int_equal(wp_encode(t, "[CLS]", 5, ids, 32, &k, NULL), 0);
    {
        const int32_t want[] = {2, 9, 14, 15, 10, 3};
        assert_int_equal(k, 6);
        assert_memory_equal(ids, want, sizeof want);
    }
    wp_free(t);
}

static void test_tokenizer_json_matches_vocab_txt(void **st)
{
    char dir[256], path[300];
    size_t len;
    char *v = fx_read(TINY_DIR "/vocab.txt", &len);
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    cJSON *norm = cJSON_AddObjectToObject(root, "normalizer");
    int id = 0;
    (void)st;
    cJSON_AddBoolToObject(norm, "lowercase", 1);
    for (char *p = v, *nl; (nl = strchr(p, '\n')); p = nl + 1, id++) {
        *nl = '\0';
        cJSON_AddNumberToObject(vocab, p, id);
    }
    char *js = cJSON_PrintUnformatted(root);
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    fx_write(path, js, strlen(js));
    wp_opts o = wp_opts_default();   /* lower = -1: from the normalizer */
    err e;
    wp_tokenizer *a = wp_load(path, &o, &e), *b = tiny_tok(512);
    assert_non_null(a);
    assert_int_equal(wp_vocab_size(a), wp_vocab_size(b));
    const char *s = "Café crème brûlée — naïve résumé 北京";
    int32_t ia[32], ib[32];
    size_t ka, kb;
    assert_int_equal(wp_encode(a, s, strlen(s), ia, 32, &ka, NULL), 0);
    assert_int_equal(wp_encode(b, s, strlen(s), ib, 32, &kb, NULL), 0);
    assert_int_equal(ka, kb);
    assert_memory_equal(ia, ib, ka * sizeof *ia);
    wp_free(a);
    wp_free(b);
    /* an id used twice */
    cJSON_ReplaceItemInObject(vocab, "hello", cJSON_CreateNumber(0));
    free(js);
    js = cJSON_PrintUnformatted(root);
    fx_write(path, js, strlen(js));
    assert_null(wp_load(path, &o, &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "tokenizer.json"));
    free(js);
    free(v);
    cJSON_Delete(root);
    fx_rm_model(dir);
}

static void test_bad_vocab(void **st)
{
    char dir[256], path[300];
    err e;
    (void)st;
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    fx_write(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\nhello\n", 41);
    assert_null(wp_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "'hello' appears twice"));
    assert_non_null(strstr(e.msg, "vocab.txt"));
    fx_write(path, "[PAD]\n[CLS]\n[SEP]\nhello\n", 24);
    assert_null(wp_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_PARSE);
    assert_non_null(strstr(e.msg, "[UNK]"));
    fx_write(path, "", 0);
    assert_null(wp_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_PARSE);
    snprintf(path, sizeof path, "%s/nonexistent.txt", dir);
    assert_null(wp_load(path, NULL, &e));
    assert_int_equal(e.code, ERR_NOTFOUND);
    fx_rm_model(dir);
}

static void test_oom_loop(void **st)
{
    (void)st;
    for (long n = 0;; n++) {
        err e;
        mem_fail_after(n);
        wp_tokenizer *t = wp_load(TINY_DIR "/vocab.txt", NULL, &e);
        int32_t ids[16];
        size_t k;
        int rc = t ? wp_encode(t, "hello world", 11, ids, 16, &k, &e) : -1;
        mem_fail_after(-1);
        if (t && rc == 0) {
            wp_free(t);
            break;
        }
        assert_int_equal(e.code, ERR_NOMEM);
        wp_free(t);
        assert_true(n < 100);
    }
}

/* ids produced by the Python reference tokenizer of make_tiny_bert.py over
 * the real bert-base-uncased vocabulary (all-MiniLM-L6-v2). */
static void test_real_vocab(void **st)
{
    static const struct { const char *s; int n; int ids[20]; } cases[] = {
        {"Hello, world!", 6, {101, 7592, 1010, 2088, 999, 102}},
        {"unaffable", 5, {101, 14477, 20961, 3468, 102}},
        {"Wireless noise-cancelling earphones (2nd gen.)", 14,
         {101, 9949, 5005, 1011, 17542, 2989, 4540, 19093, 1006, 3416, 8991, 1012, 1007, 102}},
        {"北京欢迎你 café naïve RÉSUMÉ", 10, {101, 1781, 1755, 100, 100, 100, 7668, 15743, 13746, 102}},
        {"I'm 100% sure: 3.14159 ≈ π!!", 17,
         {101, 1045, 1005, 1049, 2531, 1003, 2469, 1024, 1017, 1012, 15471, 28154, 1606, 1170,
          999, 999, 102}},
    };
    if (access(REAL_VOCAB, R_OK) != 0) {
        test_skip("%s not found (shared datasets absent)", REAL_VOCAB);
        return;
    }
    (void)st;
    wp_tokenizer *t = wp_load(REAL_VOCAB, NULL, NULL);
    assert_non_null(t);
    assert_int_equal(wp_vocab_size(t), 30522);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int32_t ids[64];
        size_t k;
        assert_int_equal(wp_encode(t, cases[c].s, strlen(cases[c].s), ids, 64, &k, NULL), 0);
        assert_int_equal(k, cases[c].n);
        for (int j = 0; j < cases[c].n; j++)
            assert_int_equal(ids[j], cases[c].ids[j]);
    }
    wp_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_ids),
        cmocka_unit_test(test_truncation_and_cap),
        cmocka_unit_test(test_cased_mode_keeps_accents),
        cmocka_unit_test(test_specials_in_text),
        cmocka_unit_test(test_tokenizer_json_matches_vocab_txt),
        cmocka_unit_test(test_bad_vocab),
        cmocka_unit_test(test_oom_loop),
        cmocka_unit_test(test_real_vocab),
    };
    return cmocka_run_group_tests_name("wordpiece", tests, NULL, NULL);
}
