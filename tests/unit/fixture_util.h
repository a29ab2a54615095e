/* fixture_util.h - helpers shared by the text-encoder tests: read the
 * reference JSON of tests/fixtures/tiny-bert, copy a model folder into a
 * temp dir, rewrite files.  Header-only (static functions) because each
 * tests/unit/test_*.c is linked on its own. */
#ifndef EMBEDLAB_TEST_FIXTURE_UTIL_H
#define EMBEDLAB_TEST_FIXTURE_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TINY_DIR "fixtures/tiny-bert"

__attribute__((unused)) static char *fx_read(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len_out)
            *len_out = (size_t)n;
    }
    return buf;
}

__attribute__((unused)) static int fx_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (len && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* The reference sentences: text bytes (from text_hex), ids, embedding. */
typedef struct fx_sentence {
    char *text;
    size_t len;
    int n_ids;
    int ids[64];
    int dim;
    float emb[64];
} fx_sentence;

__attribute__((unused)) static int fx_hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

__attribute__((unused)) static fx_sentence *fx_load_reference(const char *path, int *n_out)
{
    char *txt = fx_read(path, NULL);
    cJSON *root, *arr, *it;
    fx_sentence *out;
    int n = 0;

    if (!txt)
        return NULL;
    root = cJSON_Parse(txt);
    free(txt);
    arr = cJSON_GetObjectItem(root, "sentences");
    out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *out);
    cJSON_ArrayForEach(it, arr) {
        fx_sentence *s = &out[n++];
        const char *hex = cJSON_GetObjectItem(it, "text_hex")->valuestring;
        cJSON *v;
        s->len = strlen(hex) / 2;
        s->text = malloc(s->len + 1);
        for (size_t i = 0; i < s->len; i++)
            s->text[i] = (char)(fx_hexval(hex[2 * i]) << 4 | fx_hexval(hex[2 * i + 1]));
        s->text[s->len] = '\0';
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(it, "ids")) s->ids[s->n_ids++] = v->valueint;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(it, "embedding")) s->emb[s->dim++] =
            (float)v->valuedouble;
    }
    cJSON_Delete(root);
    *n_out = n;
    return out;
}

__attribute__((unused)) static void fx_free_reference(fx_sentence *s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i].text);
    free(s);
}

/* Makes a fresh temp dir holding a copy of model folder `src`. */
__attribute__((unused)) static int fx_copy_model(const char *src, char *dst, size_t cap)
{
    static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt",
                                        "modules.json", "sentence_bert_config.json",
                                        "tokenizer_config.json", "1_Pooling/config.json"};
    char tmpl[] = "/tmp/embedlab-test-XXXXXX", a[512], b[512];

    if (!mkdtemp(tmpl))
        return -1;
    snprintf(dst, cap, "%s", tmpl);
    snprintf(a, sizeof a, "%s/1_Pooling", dst);
    mkdir(a, 0755);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t len;
        char *d;
        snprintf(a, sizeof a, "%s/%s", src, files[i]);
        snprintf(b, sizeof b, "%s/%s", dst, files[i]);
        d = fx_read(a, &len);
        if (!d)
            return -1;
        fx_write(b, d, len);
        free(d);
    }
    return 0;
}

__attribute__((unused)) static void fx_rm_model(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (strncmp(dir, "/tmp/embedlab-test-", 19) == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Replaces the first occurrence of `from` by `to` (same length) in a file. */
__attribute__((unused)) static int fx_patch(const char *path, const char *from, const char *to)
{
    size_t len;
    char *d = fx_read(path, &len), *p;
    int rc = -1;

    if (!d)
        return -1;
    p = NULL;
    for (size_t i = 0; i + strlen(from) <= len && !p; i++)
        if (memcmp(d + i, from, strlen(from)) == 0)
            p = d + i;
    if (p && strlen(from) == strlen(to)) {
        memcpy(p, to, strlen(to));
        rc = fx_write(path, d, len);
    }
    free(d);
    return rc;
}

#endif
