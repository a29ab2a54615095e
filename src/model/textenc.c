/* textenc.c - text encoder backends behind one interface (see textenc.h):
 * the encoder object, the model search order of DESIGN.md and the bert
 * backend, a thin wrapper over bert.h.  The builtin backend lives in
 * textenc_builtin.c.
 */
#include "textenc_int.h"
#include "mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

textenc_opts textenc_opts_default(void)
{
    textenc_opts o = {.model = NULL, .threads = 2, .batch = 32};
    return o;
}

/* ---- model search --------------------------------------------------------- */

static int is_file(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISREG(s.st_mode);
}

static int is_dir(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISDIR(s.st_mode);
}

static int is_model_dir(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (!is_file(p))
        return 0;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    return is_file(p);
}

static int set_path(char *out, size_t cap, const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n >= cap)
        return -1;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `root` itself, or its first model subfolder by name. */
static int search_root(const char *root, char *out, size_t cap)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL, p[4200];
    size_t n = 0, ncap = 0;
    int found = 0;

    if (!is_dir(root))
        return 0;
    if (is_model_dir(root))
        return set_path(out, cap, root) == 0;
    d = opendir(root);
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (mem_grow(&names, &ncap, n + 1, sizeof *names) != 0)
            break;
        if (!(names[n] = mem_strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && !found; i++) {
        snprintf(p, sizeof p, "%s/%s", root, names[i]);
        if (is_model_dir(p))
            found = set_path(out, cap, p) == 0;
    }
    for (size_t i = 0; i < n; i++)
        mem_free(names[i]);
    mem_free(names);
    return found;
}

int textenc_find_model(const char *explicit_path, const char *preferred, char *out, size_t cap,
                       err *e)
{
    const char *env = preferred, *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char root[4200];

    if (explicit_path) {
        if (is_model_dir(explicit_path) && set_path(out, cap, explicit_path) == 0)
            return 0;
        return err_set(e, ERR_NOTFOUND, "%s: not a model folder (needs config.json and model.safetensors)",
                       explicit_path);
    }
    if (env && *env) {
        if (is_model_dir(env) && set_path(out, cap, env) == 0)
            return 0;
        return err_set(e, ERR_NOTFOUND, "$EMBEDLAB_MODEL=%s: not a model folder", env);
    }
    if (xdg && *xdg)
        snprintf(root, sizeof root, "%s/embedlab/models", xdg);
    else
        snprintf(root, sizeof root, "%s/.local/share/embedlab/models", home ? home : "");
    if (search_root(root, out, cap) || search_root("data/models", out, cap))
        return 0;
    return err_set(e, ERR_NOTFOUND,
                   "no text model found (searched $EMBEDLAB_MODEL, %s/, data/models/)", root);
}

/* share/embedlab/models beside the running program's bin/ (the install
 * prefix; build/share/... for build/release/embedlab). */
static int prefix_models(char *out, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {   /* strip "embedlab", then "bin" */
        if (!(slash = strrchr(exe, '/')))
            return -1;
        *slash = '\0';
    }
    return snprintf(out, cap, "%s/share/embedlab/models", exe) < (int)cap ? 0 : -1;
}

int textenc_find_words(const char *explicit_path, const char *preferred, char *out, size_t cap,
                       err *e)
{
    const char *env = preferred, *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char root[3][4200], p[4300], msg[400];

    if (explicit_path) {
        if (is_file(explicit_path) && set_path(out, cap, explicit_path) == 0)
            return 0;
        return err_set(e, ERR_NOTFOUND, "%s: no such words file", explicit_path);
    }
    if (env && *env) {
        if (strcmp(env, "none") == 0)
            return err_set(e, ERR_NOTFOUND, "$EMBEDLAB_WORDS=none: no pretrained word vectors");
        if (is_file(env) && set_path(out, cap, env) == 0)
            return 0;
        return err_set(e, ERR_NOTFOUND, "$EMBEDLAB_WORDS=%s: no such words file", env);
    }
    if (xdg && *xdg)
        snprintf(root[0], sizeof root[0], "%s/embedlab/models", xdg);
    else
        snprintf(root[0], sizeof root[0], "%s/.local/share/embedlab/models", home ? home : "");
    snprintf(root[1], sizeof root[1], "data/models");
    if (prefix_models(root[2], sizeof root[2]) != 0)
        root[2][0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (!root[i][0] || strlen(root[i]) + sizeof TEXTENC_WORDS_FILE + 1 > sizeof p)
            continue;
        snprintf(p, sizeof p, "%.4200s/%s", root[i], TEXTENC_WORDS_FILE);
        if (is_file(p) && set_path(out, cap, p) == 0)
            return 0;
    }
    snprintf(msg, sizeof msg, "%.180s/, data/models/, %.180s/", root[0],
             root[2][0] ? root[2] : "the install prefix");
    return err_set(e, ERR_NOTFOUND, "no %s (searched %s; `make builtin-model` builds it)",
                   TEXTENC_WORDS_FILE, msg);
}

textenc *textenc_open_bert(const textenc_opts *o, err *e)
{
    textenc_opts d = textenc_opts_default();
    textenc *t;
    bert_opts bo = bert_opts_default();
    const char *base;

    if (!o)
        o = &d;
    t = mem_calloc(1, sizeof *t);
    if (!t) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (textenc_find_model(o->model, o->preferred, t->path, sizeof t->path, e) != 0)
        goto fail;
    /* one budget of cores: `threads` workers with single-threaded OpenBLAS,
     * or for a lone batch (a query) one worker whose products run on that
     * many cores.  bench/compare_commands.py measured 2 workers x 1 BLAS
     * thread ahead of 1 worker x 2 BLAS threads on 2 cores (less CPU time,
     * and far less wall time when other processes compete for the cores) */
    bo.threads = o->threads > 0 ? o->threads : bo.threads;
    bo.blas_threads = bo.threads;
    bo.batch = o->batch ? o->batch : bo.batch;
    bo.precision = o->bf16 ? BERT_BF16 : BERT_FP32;
    t->bert = bert_load(t->path, &bo, e);
    if (!t->bert)
        goto fail;
    t->kind = TEXTENC_BERT;
    base = strrchr(t->path, '/');
    snprintf(t->label, sizeof t->label, "%.127s", base ? base + 1 : t->path);
    return t;
fail:
    textenc_free(t);
    return NULL;
}

/* ---- common ------------------------------------------------------------------ */

void textenc_free(textenc *t)
{
    if (!t)
        return;
    bert_free(t->bert);
    textenc_bi_free(t->bi);
    mem_free(t);
}

textenc_kind textenc_get_kind(const textenc *t) { return t->kind; }
const char *textenc_kind_name(const textenc *t) { return t->kind == TEXTENC_BERT ? "bert" : "builtin"; }

int textenc_bf16(const textenc *t)
{
    return t->kind == TEXTENC_BERT && bert_get_config(t->bert)->precision == BERT_BF16;
}
const char *textenc_label(const textenc *t) { return t->label; }

size_t textenc_dim(const textenc *t)
{
    return t->kind == TEXTENC_BERT ? bert_dim(t->bert) : textenc_bi_dim(t->bi);
}

void textenc_json_escape(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 7 < cap; s++) {   /* room for the longest escape and the NUL */
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[k++] = '\\';
            out[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(out + k, cap - k, "\\u%04x", ch);
        } else {
            out[k++] = (char)ch;
        }
    }
    out[k] = '\0';
}

int textenc_describe(const textenc *t, char *out, size_t cap, err *e)
{
    int n;
    if (t->kind == TEXTENC_BERT) {
        const bert_config *c = bert_get_config(t->bert);
        char path[2048];
        textenc_json_escape(t->path, path, sizeof path);
        n = snprintf(out, cap,
                     "{\"backend\":\"bert\",\"path\":\"%s\",\"layers\":%d,\"hidden\":%d,"
                     "\"heads\":%d,\"pooling\":\"%s\",\"max_seq\":%zu,\"lowercase\":%s,"
                     "\"dtype\":\"%s\"}",
                     path, c->n_layers, c->hidden, c->n_heads, bert_pooling_name(c->pooling),
                     c->max_seq, c->lower ? "true" : "false", c->dtype);
    } else {
        n = textenc_bi_describe(t->bi, out, cap);
    }
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_RANGE, "description needs %d bytes", n);
    return 0;
}

int textenc_count_tokens(const textenc *t, const char *text, size_t len, size_t *n_tokens,
                         int *truncated, err *e)
{
    if (t->kind == TEXTENC_BERT)
        return wp_count(bert_tokenizer(t->bert), text, len, n_tokens, truncated, e);
    *n_tokens = textenc_bi_count(t->bi, text, len);
    if (truncated)
        *truncated = 0;
    return 0;
}

int textenc_known_words(const textenc *t, const char *text, size_t len, size_t *n_words,
                        size_t *n_known, err *e)
{
    if (t->kind == TEXTENC_BUILTIN) {
        textenc_bi_known(t->bi, text, len, n_words, n_known);
        return 0;
    }
    const wp_tokenizer *wp = bert_tokenizer(t->bert);
    size_t cap = wp_max_len(wp), n = 0;
    int32_t *ids = mem_array(cap > 2 ? cap : 2, sizeof *ids);
    int rc;

    if (!ids)
        return err_set(e, ERR_NOMEM, "out of memory");
    rc = wp_encode(wp, text, len, ids, cap > 2 ? cap : 2, &n, e);
    *n_words = *n_known = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ids[i] != wp_cls(wp) && ids[i] != wp_sep(wp)) {
            (*n_words)++;
            *n_known += ids[i] != wp_unk(wp);
        }
    mem_free(ids);
    return rc;
}

size_t textenc_max_tokens(const textenc *t)
{
    return t->kind == TEXTENC_BERT ? bert_get_config(t->bert)->max_seq : 0;
}

int textenc_encode(textenc *t, const char *const *texts, const size_t *lens, size_t n,
                   float *out, progress *p, err *e)
{
    if (t->kind == TEXTENC_BERT)
        return bert_encode(t->bert, texts, lens, n, out, p, e);
    return textenc_bi_encode(t->bi, texts, lens, n, out, p, e);
}
