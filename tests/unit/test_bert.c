/* test_bert.c - encoder parity with the independent PyTorch reference
 * (tests/fixtures/make_tiny_bert.py): per sentence cosine >= 0.99999 and
 * max abs difference <= 1e-5, for F32/F16/BF16 weights, mean/CLS/max pooling,
 * 1 and 2 worker threads, and the tokenizer settings of tiny-bert-tok/; bad
 * model folders give clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "bert.h"
#include "cpu.h"
#include "err.h"
#include "mem.h"
#include "progress.h"
#include "vec.h"

#include "fixture_util.h"
#include "test_skip.h"

static void check_close(const float *got, const float *want, int dim, int sentence,
                        const char *what)
{
    double dot = 0, na = 0, nb = 0, mx = 0;
    for (int i = 0; i < dim; i++) {
        dot += (double)got[i] * want[i];
        na += (double)got[i] * got[i];
        nb += (double)want[i] * want[i];
        mx = fmax(mx, fabs((double)got[i] - want[i]));
    }
    double cos = dot / sqrt(na * nb);
    if (!(cos >= 0.99999) || !(mx <= 1e-5))
        fail_msg("%s: sentence %d: cosine %.7f, max abs diff %.3g", what, sentence, cos, mx);
}

/* Encodes the sentences of reference file ref_path with the model in dir:
 * token ids identical, embeddings within the parity bounds (ref_rows, when
 * given, replaces the file's embeddings). */
static void encode_against(const char *dir, const char *ref_path, int threads, size_t batch,
                           const float *ref_rows, const char *what)
{
    int n = 0;
    fx_sentence *ref = fx_load_reference(ref_path, &n);
    bert_opts o = bert_opts_default();
    err e;
    o.threads = threads;
    o.batch = batch;
    bert_model *m = bert_load(dir, &o, &e);
    if (!m)
        fail_msg("%s: %s", dir, e.msg);
    assert_int_equal(bert_dim(m), 32);
    assert_int_equal(bert_get_config(m)->max_seq, 16);
    const char **texts = calloc((size_t)n, sizeof *texts);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    float *out = calloc((size_t)n * 32, sizeof *out);
    for (int i = 0; i < n; i++) {
        int32_t ids[64];
        size_t k;
        texts[i] = ref[i].text;
        lens[i] = ref[i].len;
        assert_int_equal(wp_encode(bert_tokenizer(m), ref[i].text, ref[i].len, ids, 64, &k, &e), 0);
        if ((int)k != ref[i].n_ids || memcmp(ids, ref[i].ids, k * sizeof *ids) != 0)
            fail_msg("%s: sentence %d: %zu ids, reference %d, or they differ", what, i, k,
                     ref[i].n_ids);
    }
    assert_int_equal(bert_encode(m, texts, lens, (size_t)n, out, NULL, &e), 0);
    for (int i = 0; i < n; i++)
        check_close(out + i * 32, ref_rows ? ref_rows + i * 32 : ref[i].emb, 32, i, what);
    free(texts);
    free(lens);
    free(out);
    bert_free(m);
    fx_free_reference(ref, n);
}

static void encode_reference(const char *dir, int threads, size_t batch, const float *ref_rows,
                             const char *what)
{
    encode_against(dir, TINY_DIR "/reference.json", threads, batch, ref_rows, what);
}

static void test_parity_f32(void **st)
{
    (void)st;
    encode_reference(TINY_DIR, 1, 32, NULL, "f32 1 thread");
    encode_reference(TINY_DIR, 2, 3, NULL, "f32 2 threads batch 3");
    /* fewer texts than a batch per thread: one batch per worker */
    encode_reference(TINY_DIR, 2, 32, NULL, "f32 2 threads, one call under two batches");
    encode_reference(TINY_DIR, 2, 1, NULL, "f32 batch 1");
}

/* One sentence per call is a lone batch: its products run on the packed
 * kernel (few tokens), split over a 2- or 3-thread team or on the worker
 * alone; a long run of calls also crosses the team's spin-then-sleep. */
static void test_parity_single_sentences(void **st)
{
    int n = 0;
    fx_sentence *ref = fx_load_reference(TINY_DIR "/reference.json", &n);
    static const int cfg[][2] = {{2, 1}, {1, 1}, {1, 3}, {2, 2}};   /* threads, blas */
    err e;
    bert_model *m = bert_load(TINY_DIR, NULL, &e);
    (void)st;
    if (!m)
        fail_msg("%s", e.msg);
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        bert_set_threads(m, cfg[c][0], cfg[c][1]);
        for (int i = 0; i < n; i++) {
            float v[32];
            const char *t = ref[i].text;
            assert_int_equal(bert_encode(m, &t, &ref[i].len, 1, v, NULL, &e), 0);
            check_close(v, ref[i].emb, 32, i, "one sentence per call");
        }
    }
    bert_free(m);
    fx_free_reference(ref, n);
}

static void test_parity_f16_bf16(void **st)
{
    (void)st;
    encode_reference("fixtures/tiny-bert-f16", 2, 8, NULL, "f16");
    encode_reference("fixtures/tiny-bert-bf16", 1, 8, NULL, "bf16");
}

static void pooling_case(const char *mode, const char *ref_file)
{
    char dir[256], path[300], cfg[256];
    size_t len;
    char *txt = fx_read(ref_file, &len);
    cJSON *rows = cJSON_Parse(txt), *r, *v;
    int n = cJSON_GetArraySize(rows), i = 0;
    float *want = calloc((size_t)n * 32, sizeof *want);
    cJSON_ArrayForEach(r, rows) {
        int k = 0;
        cJSON_ArrayForEach(v, r) want[i * 32 + k++] = (float)v->valuedouble;
        i++;
    }
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    snprintf(cfg, sizeof cfg, "{\"word_embedding_dimension\": 32, \"pooling_mode\": \"%s\"}", mode);
    fx_write(path, cfg, strlen(cfg));
    encode_reference(dir, 2, 4, want, mode);
    fx_rm_model(dir);
    free(want);
    free(txt);
    cJSON_Delete(rows);
}

static void test_pooling_cls_max(void **st)
{
    (void)st;
    pooling_case("cls", TINY_DIR "/reference-cls.json");
    pooling_case("max", TINY_DIR "/reference-max.json");
}

/* Rewrites model.safetensors with every tensor renamed "bert.<name>", the
 * naming of checkpoints saved from BertModel inside a larger model. */
static void test_bert_prefixed_names(void **st)
{
    char dir[256], path[300];
    size_t len;
    (void)st;
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unsigned char *d = (unsigned char *)fx_read(path, &len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | d[i];
    cJSON *h = cJSON_ParseWithLength((const char *)d + 8, (size_t)hl), *renamed = cJSON_CreateObject();
    for (cJSON *c = h->child; c; c = c->next) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", strcmp(c->string, "__metadata__") ? "bert." : "", c->string);
        cJSON_AddItemToObject(renamed, name, cJSON_Duplicate(c, 1));
    }
    char *js = cJSON_PrintUnformatted(renamed);
    size_t nl = strlen(js), pad = (8 - nl % 8) % 8, data_len = len - 8 - (size_t)hl;
    unsigned char *o = malloc(8 + nl + pad + data_len);
    for (int i = 0; i < 8; i++)
        o[i] = (unsigned char)((uint64_t)(nl + pad) >> (8 * i));
    memcpy(o + 8, js, nl);
    memset(o + 8 + nl, ' ', pad);
    memcpy(o + 8 + nl + pad, d + 8 + hl, data_len);
    fx_write(path, o, 8 + nl + pad + data_len);
    free(o);
    free(js);
    free(d);
    cJSON_Delete(h);
    cJSON_Delete(renamed);
    encode_reference(dir, 2, 8, NULL, "bert.-prefixed");
    fx_rm_model(dir);
}

/* Tokenizer settings from the model folder (tests/fixtures/tiny-bert-tok,
 * see make_tiny_bert.py TOKENIZER_VARIANTS): each variant's files replace
 * tiny-bert's tokenizer_config.json (and vocab.txt when it brings a
 * tokenizer.json); ids and embeddings must match its reference. */
static void test_tokenizer_variants(void **st)
{
    static const char *const variants[] = {"cased-strip-nocjk", "lower-keep-accents",
                                           "added-decoder", "tokenizer-json"};
    (void)st;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        char dir[256], src[300], dst[300], ref[300];
        size_t len;
        char *d;
        assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
        snprintf(dst, sizeof dst, "%s/tokenizer_config.json", dir);
        unlink(dst);
        snprintf(src, sizeof src, "fixtures/tiny-bert-tok/%s/tokenizer_config.json", variants[v]);
        if ((d = fx_read(src, &len))) {
            fx_write(dst, d, len);
            free(d);
        }
        snprintf(src, sizeof src, "fixtures/tiny-bert-tok/%s/tokenizer.json", variants[v]);
        if ((d = fx_read(src, &len))) {
            snprintf(dst, sizeof dst, "%s/tokenizer.json", dir);
            fx_write(dst, d, len);
            free(d);
            snprintf(dst, sizeof dst, "%s/vocab.txt", dir);
            unlink(dst);
        }
        snprintf(ref, sizeof ref, "fixtures/tiny-bert-tok/%s/reference.json", variants[v]);
        encode_against(dir, ref, 2, 4, NULL, variants[v]);
        fx_rm_model(dir);
    }
}

static void test_gelu_erf(void **st)
{
    (void)st;
    double worst = 0;
    for (double x = -12; x <= 12; x += 1e-3) {
        double g = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        worst = fmax(worst, fabs(bert_gelu((float)x) - g) / fmax(1.0, fabs(g)));
    }
    assert_true(worst < 2e-6);
}

/* Loads a corrupted copy; expects failure with `code` and all `needles`
 * in the message. */
static void expect_bad(const char *dir, int code, const char *n1, const char *n2)
{
    err e;
    err_clear(&e);
    bert_model *m = bert_load(dir, NULL, &e);
    if (m) {
        bert_free(m);
        fail_msg("loaded a bad model (expected %s, %s)", n1, n2 ? n2 : "");
    }
    if (e.code != code || !strstr(e.msg, n1) || (n2 && !strstr(e.msg, n2)))
        fail_msg("got %s: '%s' (expected %s with '%s' '%s')", err_name(e.code), e.msg,
                 err_name(code), n1, n2 ? n2 : "");
}

static void test_bad_models(void **st)
{
    char dir[256], path[300];
    size_t len;
    (void)st;
    /* hidden_size that does not match the tensors */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(fx_patch(path, "\"intermediate_size\": 64", "\"intermediate_size\": 48"), 0);
    expect_bad(dir, ERR_PARSE, "encoder.layer.0.intermediate.dense.weight", "[48, 32]");
    fx_rm_model(dir);
    /* a missing tensor (renamed in the header, same length) */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(fx_patch(path, "encoder.layer.1.output.dense.bias", "encoder.layer.1.output.dense.bia_"), 0);
    expect_bad(dir, ERR_NOTFOUND, "missing tensor 'encoder.layer.1.output.dense.bias'", "model.safetensors");
    fx_rm_model(dir);
    /* a wrong dtype */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(fx_patch(path, "\"dtype\":\"F32\"", "\"dtype\":\"I32\""), 0);
    expect_bad(dir, ERR_PARSE, "unsupported dtype I32", "model.safetensors");
    fx_rm_model(dir);
    /* a truncated weight file */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *d = fx_read(path, &len);
    fx_write(path, d, len - 100);
    free(d);
    expect_bad(dir, ERR_PARSE, "outside the data region", "model.safetensors");
    fx_rm_model(dir);
    /* vocab with a duplicate */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "a");
    fputs("hello\n", f);
    fclose(f);
    expect_bad(dir, ERR_PARSE, "'hello' appears twice", "vocab.txt");
    fx_rm_model(dir);
    /* an unsupported activation, missing config, broken JSON */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(fx_patch(path, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\""), 0);
    expect_bad(dir, ERR_UNSUPPORTED, "hidden_act relu", "config.json");
    fx_write(path, "{\"hidden_size\": 32,", 19);
    expect_bad(dir, ERR_PARSE, "config.json", "not valid JSON");
    unlink(path);
    expect_bad(dir, ERR_NOTFOUND, "config.json", NULL);
    fx_rm_model(dir);
}

static int cancel_after_first(const progress *p, void *ud)
{
    (void)ud;
    return (int)atomic_load(&((progress *)p)->done);
}

static void cancel_cb(const progress *p, void *ud)
{
    if (cancel_after_first(p, ud) > 0)
        progress_cancel((progress *)p);
}

static void test_progress_and_cancel(void **st)
{
    (void)st;
    bert_opts o = bert_opts_default();
    o.threads = 1;
    o.batch = 2;
    bert_model *m = bert_load(TINY_DIR, &o, NULL);
    assert_non_null(m);
    const char *texts[40];
    for (int i = 0; i < 40; i++)
        texts[i] = i % 2 ? "hello world" : "wireless noise cancelling earphones";
    float *out = calloc(40 * 32, sizeof *out);
    progress p;
    progress_init(&p, NULL, NULL);
    assert_int_equal(bert_encode(m, texts, NULL, 40, out, &p, NULL), 0);
    assert_int_equal(atomic_load(&p.done), 40);
    /* identical texts give identical vectors, whatever the batch */
    assert_memory_equal(out, out + 2 * 32, 32 * sizeof(float));
    progress_init(&p, cancel_cb, NULL);
    p.min_interval_ms = 0;
    err e;
    assert_int_equal(bert_encode(m, texts, NULL, 40, out, &p, &e), -ERR_CANCEL);
    assert_non_null(strstr(e.msg, "cancelled"));
    /* bad ids */
    int32_t bad[3] = {2, 100000, 3};
    const int32_t *ids[1] = {bad};
    size_t n_ids[1] = {3};
    assert_int_equal(bert_encode_ids(m, ids, n_ids, 1, out, NULL, &e), -ERR_RANGE);
    free(out);
    bert_free(m);
}

/* The opt-in bf16 path at every ISA level the CPU has (AMX tiles, or bf16
 * weights with fp32 arithmetic): cosine >= 0.999 against the fp32 reference
 * on every test sentence, and the fp32 parity bounds when every layer runs
 * with split operands. */
static void test_bf16_path(void **st)
{
    int n = 0;
    fx_sentence *ref = fx_load_reference(TINY_DIR "/reference.json", &n);
    bert_opts o = bert_opts_default();
    err e;
    cpu_level prev = cpu_level_cur();
    (void)st;
    o.precision = BERT_BF16;
    assert_int_equal(o.bf16_split_layers, 1);
    /* every level this CPU has: AMX tiles, or bf16 weights with the fp32
     * kernels of each level */
    for (int lv = CPU_BASELINE; lv <= (int)cpu_detect(); lv++) {
        cpu_set_cap((cpu_level)lv);
        /* split = 0: plain bf16; 1 (default): the first layer split; 2: both
         * layers, which keeps ~16 bits of every operand: fp32 parity */
        for (int split = 0; split <= 2; split++) {
            o.bf16_split_layers = split;
            bert_model *m = bert_load(TINY_DIR, &o, &e);
            assert_non_null(m);
            assert_int_equal(bert_get_config(m)->precision, BERT_BF16);
            assert_int_equal(bert_get_config(m)->bf16_split_layers, split);
            for (int threads = 1; threads <= 2; threads++) {
                bert_set_threads(m, threads, 1);
                for (int i = 0; i < n; i++) {
                    float v[32];
                    const char *t = ref[i].text;
                    double dot = 0;
                    assert_int_equal(bert_encode(m, &t, &ref[i].len, 1, v, NULL, &e), 0);
                    if (split == 2) {
                        check_close(v, ref[i].emb, 32, i, "bf16 split=2");
                        continue;
                    }
                    for (int k = 0; k < 32; k++)
                        dot += (double)v[k] * ref[i].emb[k];
                    if (!(dot >= 0.999))
                        fail_msg("bf16 %s split=%d sentence %d: cosine %.5f",
                                 cpu_level_name((cpu_level)lv), split, i, dot);
                }
            }
            bert_free(m);
        }
    }
    cpu_set_cap(prev);
    fx_free_reference(ref, n);
}

/* Every allocation failure is ERR_NOMEM and leaks nothing, in fp32 and in
 * bf16 with a split layer, whose packing allocates more. */
static void test_oom_loop(void **st)
{
    (void)st;
    for (int prec = BERT_FP32; prec <= BERT_BF16; prec++) {
        bert_opts o = bert_opts_default();
        o.precision = prec;
        for (long n = 0;; n++) {
            err e;
            err_clear(&e);
            mem_fail_after(n);
            bert_model *m = bert_load(TINY_DIR, &o, &e);
            float out[2 * 32];
            const char *texts[2] = {"hello world", "[CLS] tiny bert"};
            int rc = m ? bert_encode(m, texts, NULL, 2, out, NULL, &e) : -1;
            mem_fail_after(-1);
            int ok = m && rc == 0;
            if (ok)
                assert_int_equal(bert_get_config(m)->precision, prec);
            bert_free(m);
            if (ok)
                break;
            if (e.code != ERR_NOMEM)
                fail_msg("%s allocation %ld: got %s: %s", bert_precision_name(prec), n,
                         err_name(e.code), e.msg);
            assert_true(n < 500);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_f32),
        cmocka_unit_test(test_parity_single_sentences),
        cmocka_unit_test(test_parity_f16_bf16),
        cmocka_unit_test(test_pooling_cls_max),
        cmocka_unit_test(test_bert_prefixed_names),
        cmocka_unit_test(test_gelu_erf),
        cmocka_unit_test(test_bad_models),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_bf16_path),
        cmocka_unit_test(test_tokenizer_variants),
        cmocka_unit_test(test_oom_loop),
    };
    return cmocka_run_group_tests_name("bert", tests, NULL, NULL);
}
