/* test_textenc.c - model search order, the bert backend through the common
 * interface, and the builtin encoder: reproducible, and better than a
 * bag-of-words TF-IDF cosine at putting same-category items nearest on a
 * catalog whose categories use synonyms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "err.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"
#include "textenc.h"
#include "vec.h"

#include "fixture_util.h"
#include "../../src/model/textenc_int.h"   /* white-box: the bert model behind t */

static void test_find_model_order(void **st)
{
    char out[512], dir[256], xdg[300], sub[400];
    err e;
    (void)st;
    unsetenv("EMBEDLAB_MODEL");
    assert_int_equal(textenc_find_model(TINY_DIR "/", NULL, out, sizeof out, &e), 0);
    assert_string_equal(out, TINY_DIR);
    assert_int_equal(textenc_find_model("fixtures", NULL, out, sizeof out, &e), -ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "not a model folder"));
    /* $XDG_DATA_HOME/embedlab/models/<name>/ */
    assert_int_equal(fx_copy_model(TINY_DIR, dir, sizeof dir), 0);
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    mkdir(xdg, 0755);
    snprintf(sub, sizeof sub, "%s/embedlab", xdg);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/embedlab/models", xdg);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/embedlab/models/all-MiniLM-L6-v2", xdg);
    {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "cp -r '%s/tiny-bert' '%s'", "fixtures", sub);
        assert_int_equal(system(cmd), 0);
    }
    setenv("XDG_DATA_HOME", xdg, 1);
    assert_int_equal(textenc_find_model(NULL, NULL, out, sizeof out, &e), 0);
    assert_string_equal(out, sub);
    /* the preferred folder ($EMBEDLAB_MODEL, passed by the front end) wins
     * over XDG; the variable itself is not read by the engine */
    assert_int_equal(textenc_find_model(NULL, dir, out, sizeof out, &e), 0);
    assert_string_equal(out, dir);
    assert_int_equal(textenc_find_model(NULL, "/nonexistent", out, sizeof out, &e),
                     -ERR_NOTFOUND);
    setenv("EMBEDLAB_MODEL", "/nonexistent", 1);
    assert_int_equal(textenc_find_model(NULL, NULL, out, sizeof out, &e), 0);
    assert_string_equal(out, sub);
    unsetenv("EMBEDLAB_MODEL");
    /* the label is the folder name */
    textenc *t = textenc_open_bert(NULL, &e);
    assert_non_null(t);
    assert_string_equal(textenc_label(t), "all-MiniLM-L6-v2");
    assert_string_equal(textenc_kind_name(t), "bert");
    setenv("XDG_DATA_HOME", "/nonexistent", 1);
    assert_int_equal(textenc_find_model(NULL, NULL, out, sizeof out, &e), -ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "no text model found"));
    unsetenv("XDG_DATA_HOME");
    textenc_free(t);
    fx_rm_model(dir);
}

static void test_bert_backend(void **st)
{
    int n = 0;
    fx_sentence *ref = fx_load_reference(TINY_DIR "/reference.json", &n);
    textenc_opts o = textenc_opts_default();
    err e;
    char desc[512];
    (void)st;
    o.model = TINY_DIR;
    textenc *t = textenc_open_bert(&o, &e);
    assert_non_null(t);
    assert_int_equal(textenc_get_kind(t), TEXTENC_BERT);
    assert_string_equal(textenc_label(t), "tiny-bert");
    assert_int_equal(textenc_dim(t), 32);
    float v[32];
    const char *txt = ref[0].text;
    assert_int_equal(textenc_encode(t, &txt, NULL, 1, v, NULL, &e), 0);
    for (int i = 0; i < 32; i++)
        assert_true(fabsf(v[i] - ref[0].emb[i]) <= 1e-5f);
    assert_int_equal(textenc_describe(t, desc, sizeof desc, &e), 0);
    cJSON *j = cJSON_Parse(desc);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "pooling")->valuestring, "mean");
    assert_int_equal(cJSON_GetObjectItem(j, "max_seq")->valueint, 16);
    cJSON_Delete(j);
    assert_int_equal(textenc_describe(t, desc, 10, &e), -ERR_RANGE);
    assert_int_equal(bert_cores(t->bert), 2);
    textenc_free(t);
    /* threads is the whole budget: one core means no BLAS threads either */
    o.threads = 1;
    t = textenc_open_bert(&o, &e);
    assert_non_null(t);
    assert_int_equal(bert_cores(t->bert), 1);
    assert_int_equal(textenc_encode(t, &txt, NULL, 1, v, NULL, &e), 0);
    for (int i = 0; i < 32; i++)
        assert_true(fabsf(v[i] - ref[0].emb[i]) <= 1e-5f);
    textenc_free(t);
    fx_free_reference(ref, n);
}

/* ---- synthetic catalog: categories speak in synonyms ------------------------ */
#define N_CAT 8
#define N_GROUP 8
#define N_SYN 8
#define N_GENERIC 30
#define PER_CAT 50
#define N_ITEMS (N_CAT * PER_CAT)

static char words[N_CAT][N_GROUP][N_SYN][12], generic[N_GENERIC][12];

static void fake_word(rng *r, char *w)
{
    int n = 4 + (int)rng_below(r, 5);
    for (int i = 0; i < n; i++)
        w[i] = (char)('a' + rng_below(r, 26));
    w[n] = '\0';
}

static char **make_catalog(int *cat)
{
    rng r;
    char **texts = calloc(N_ITEMS, sizeof *texts);
    rng_seed(&r, 99, 0);
    for (int c = 0; c < N_CAT; c++)
        for (int g = 0; g < N_GROUP; g++)
            for (int s = 0; s < N_SYN; s++)
                fake_word(&r, words[c][g][s]);
    for (int i = 0; i < N_GENERIC; i++)
        fake_word(&r, generic[i]);
    for (int i = 0; i < N_ITEMS; i++) {
        int c = i % N_CAT, groups[N_GROUP];
        char buf[256] = "";
        cat[i] = c;
        for (int g = 0; g < N_GROUP; g++)
            groups[g] = g;
        rng_shuffle(&r, groups, N_GROUP, sizeof *groups);
        for (int k = 0; k < 3; k++) {
            strcat(buf, words[c][groups[k]][rng_below(&r, N_SYN)]);
            strcat(buf, " ");
        }
        for (int k = 0; k < 2; k++) {
            strcat(buf, generic[rng_below(&r, N_GENERIC)]);
            strcat(buf, k ? "" : " ");
        }
        texts[i] = strdup(buf);
    }
    return texts;
}

/* Mean over items of the share of same-category items among the 10 nearest
 * (cosine of unit rows). */
static double p_at_10(const float *X, size_t D, const int *cat)
{
    double sum = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        int64_t ids[10];
        float sc[10];
        topk t;
        topk_init(&t, 10, ids, sc);
        for (int j = 0; j < N_ITEMS; j++)
            if (j != i)
                /* ties (e.g. zero similarity) broken by a fixed hash, not by id order */
                topk_push(&t, j, vec_dot(X + i * D, X + j * D, D) + 1e-6f * (float)((j * 2654435761u) % 1000) / 1000);
        size_t k = topk_sort(&t);
        int same = 0;
        for (size_t q = 0; q < k; q++)
            same += cat[ids[q]] == cat[i];
        sum += same / 10.0;
    }
    return sum / N_ITEMS;
}

/* Bag-of-words TF-IDF (log idf), unit rows over the same texts. */
static float *tfidf(char **texts, size_t *D_out)
{
    char (*vocab)[12] = calloc(N_CAT * N_GROUP * N_SYN + N_GENERIC, 12);
    int nv = 0;
    for (int i = 0; i < N_ITEMS; i++) {
        char tmp[256], *save, *w;
        snprintf(tmp, sizeof tmp, "%s", texts[i]);
        for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            int k;
            for (k = 0; k < nv && strcmp(vocab[k], w); k++)
                ;
            if (k == nv)
                snprintf(vocab[nv++], 12, "%s", w);
        }
    }
    float *X = calloc((size_t)N_ITEMS * nv, sizeof *X), *df = calloc((size_t)nv, sizeof *df);
    for (int i = 0; i < N_ITEMS; i++) {
        char tmp[256], *save, *w;
        snprintf(tmp, sizeof tmp, "%s", texts[i]);
        for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
            for (int k = 0; k < nv; k++)
                if (!strcmp(vocab[k], w)) {
                    if (X[(size_t)i * nv + k] == 0)
                        df[k]++;
                    X[(size_t)i * nv + k] += 1;
                }
    }
    for (int i = 0; i < N_ITEMS; i++) {
        for (int k = 0; k < nv; k++)
            X[(size_t)i * nv + k] *= logf((float)N_ITEMS / df[k]);
        vec_normalize(X + (size_t)i * nv, (size_t)nv);
    }
    free(df);
    free(vocab);
    *D_out = (size_t)nv;
    return X;
}

static void test_builtin_beats_tfidf(void **st)
{
    int cat[N_ITEMS];
    char **texts = make_catalog(cat);
    size_t Dt;
    err e;
    (void)st;
    float *T = tfidf(texts, &Dt);
    double p_tfidf = p_at_10(T, Dt, cat);
    textenc_builtin_opts o = textenc_builtin_opts_default();
    o.words = "none";   /* the catalog-only encoder, whatever is installed */
    textenc *t = textenc_train_builtin((const char *const *)texts, N_ITEMS, &o, NULL, &e);
    if (!t)
        fail_msg("%s", e.msg);
    assert_string_equal(textenc_label(t), "builtin (trained on this catalog)");
    size_t D = textenc_dim(t);
    float *X = calloc(N_ITEMS * D, sizeof *X);
    assert_int_equal(textenc_encode(t, (const char *const *)texts, NULL, N_ITEMS, X, NULL, &e), 0);
    double p_builtin = p_at_10(X, D, cat);
    print_message("P@10 same category: builtin %.3f, TF-IDF %.3f\n", p_builtin, p_tfidf);
    assert_true(p_builtin > p_tfidf + 0.1);
    /* reproducible: same seed, same vectors (a short training suffices) */
    o.epochs = 3;
    progress pr;
    progress_view v;
    progress_init(&pr, NULL, NULL);
    textenc *t1 = textenc_train_builtin((const char *const *)texts, N_ITEMS, &o, &pr, &e);
    progress_snapshot(&pr, &v);   /* the bar names the user's job (it said "train sgns") */
    assert_string_equal(v.stage, "encode text: learn words");
    textenc *t2 = textenc_train_builtin((const char *const *)texts, N_ITEMS, &o, NULL, &e);
    float *X1 = calloc(N_ITEMS * D, sizeof *X1), *X2 = calloc(N_ITEMS * D, sizeof *X2);
    assert_int_equal(textenc_encode(t1, (const char *const *)texts, NULL, N_ITEMS, X1, NULL, &e), 0);
    assert_int_equal(textenc_encode(t2, (const char *const *)texts, NULL, N_ITEMS, X2, NULL, &e), 0);
    assert_memory_equal(X1, X2, N_ITEMS * D * sizeof *X1);
    textenc_free(t1);
    free(X1);
    /* unknown words still get a vector from their character n-grams */
    const char *q = "zzzzqqq";
    assert_int_equal(textenc_encode(t, &q, NULL, 1, X2, NULL, &e), 0);
    assert_true(fabsf(vec_norm(X2, D) - 1.0f) < 1e-4f);
    /* save + load gives the same vectors; damaged blobs are refused */
    void *blob;
    size_t blen;
    assert_int_equal(textenc_builtin_save(t, &blob, &blen, &e), 0);
    textenc *t3 = textenc_builtin_load(blob, blen, &e);
    assert_non_null(t3);
    assert_string_equal(textenc_label(t3), "builtin (trained on this catalog)");
    float *X3 = calloc(N_ITEMS * D, sizeof *X3);
    assert_int_equal(textenc_encode(t3, (const char *const *)texts, NULL, N_ITEMS, X3, NULL, &e), 0);
    assert_memory_equal(X, X3, N_ITEMS * D * sizeof *X);
    assert_null(textenc_builtin_load(blob, blen - 1, &e));
    assert_int_equal(e.code, ERR_PARSE);
    ((char *)blob)[0] ^= 1;
    assert_null(textenc_builtin_load(blob, blen, &e));
    assert_int_equal(e.code, ERR_PARSE);
    mem_free(blob);
    free(X3);
    textenc_free(t3);
    char desc[512];
    assert_int_equal(textenc_describe(t, desc, sizeof desc, &e), 0);
    assert_non_null(strstr(desc, "\"backend\":\"builtin\""));
    textenc_free(t);
    textenc_free(t2);
    free(X);
    free(X2);
    free(T);
    for (int i = 0; i < N_ITEMS; i++)
        free(texts[i]);
    free(texts);
}

static void cancel_now(const progress *p, void *ud)
{
    (void)ud;
    if (atomic_load(&p->done) > 0)
        progress_cancel((progress *)p);
}

static void test_builtin_cancel_and_errors(void **st)
{
    int cat[N_ITEMS];
    char **texts = make_catalog(cat);
    progress p;
    err e;
    (void)st;
    progress_init(&p, cancel_now, NULL);
    p.min_interval_ms = 0;
    assert_null(textenc_train_builtin((const char *const *)texts, N_ITEMS, NULL, &p, &e));
    assert_int_equal(e.code, ERR_CANCEL);
    const char *empty[2] = {"", "!!! ..."};
    assert_null(textenc_train_builtin(empty, 2, NULL, NULL, &e));
    assert_int_equal(e.code, ERR_STATE);
    textenc_builtin_opts o = textenc_builtin_opts_default();
    o.dim = 0;
    assert_null(textenc_train_builtin((const char *const *)texts, N_ITEMS, &o, NULL, &e));
    assert_int_equal(e.code, ERR_USAGE);
    for (int i = 0; i < N_ITEMS; i++)
        free(texts[i]);
    free(texts);
}

static void test_builtin_oom_loop(void **st)
{
    const char *texts[4] = {"red wireless earphones", "blue wireless headphones",
                            "café crème", "北京 bluetooth earbuds"};
    (void)st;
    textenc_builtin_opts o = textenc_builtin_opts_default();
    o.words = "none";
    o.buckets = 64;
    o.dim = 8;
    o.epochs = 1;
    for (long n = 0;; n++) {
        err e;
        err_clear(&e);
        mem_fail_after(n);
        textenc *t = textenc_train_builtin(texts, 4, &o, NULL, &e);
        float v[4 * 8];
        int rc = t ? textenc_encode(t, texts, NULL, 4, v, NULL, &e) : -1;
        mem_fail_after(-1);
        int ok = t && rc == 0;
        textenc_free(t);
        if (ok)
            break;
        assert_int_equal(e.code, ERR_NOMEM);
        assert_true(n < 500);
    }
}

/* The model path in `info`'s JSON: escaped, and when cut short never cut
 * inside an escape (the JSON stays valid). */
static void test_json_escape(void **state)
{
    char out[64];
    (void)state;
    textenc_json_escape("a\"b\\c\x01" "d", out, sizeof out);
    assert_string_equal(out, "a\\\"b\\\\c\\u0001d");
    /* a byte is written only while its longest escape (6) and the NUL fit */
    textenc_json_escape("\x1f\x1f\x1f", out, 13);
    assert_string_equal(out, "\\u001f");
    textenc_json_escape("\x1f\x1f\x1f", out, 14);
    assert_string_equal(out, "\\u001f\\u001f");
    textenc_json_escape("ab\"cd", out, 10);
    assert_string_equal(out, "ab\\\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_find_model_order),
        cmocka_unit_test(test_bert_backend),
        cmocka_unit_test(test_builtin_beats_tfidf),
        cmocka_unit_test(test_builtin_cancel_and_errors),
        cmocka_unit_test(test_builtin_oom_loop),
    };
    return cmocka_run_group_tests_name("textenc", tests, NULL, NULL);
}
