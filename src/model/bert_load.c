/* bert_load.c - loading a BERT model folder (see bert.h): config.json, the
 * sentence-transformers pooling and tokenizer files, the safetensors
 * weights (the fused [3H x H] QKV weight is built here), and packing the
 * weights for the precision in use.  The forward pass is in bert.c.
 */
#include "bert_int.h"
#include "mem.h"
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bert_opts bert_opts_default(void)
{
    bert_opts o = {.threads = 2, .blas_threads = 2, .batch = 32, .max_seq = 0,
                   .precision = BERT_FP32, .bf16_split_layers = 1};
    return o;
}

const bert_config *bert_get_config(const bert_model *m) { return &m->cfg; }
const wp_tokenizer *bert_tokenizer(const bert_model *m) { return m->tok; }
size_t bert_dim(const bert_model *m) { return (size_t)m->cfg.hidden; }

const char *bert_precision_name(int precision) { return precision == BERT_BF16 ? "bf16" : "fp32"; }

const char *bert_pooling_name(bert_pooling p)
{
    return p == BERT_POOL_CLS ? "cls" : p == BERT_POOL_MAX ? "max" : "mean";
}

void bert_set_threads(bert_model *m, int threads, int blas_threads)
{
    m->opts.threads = threads < 1 ? 1 : threads > BERT_MAX_THREADS ? BERT_MAX_THREADS : threads;
    m->opts.blas_threads = blas_threads < 1 ? 1 : blas_threads;
}

int bert_cores(const bert_model *m)
{
    return m->opts.threads > m->opts.blas_threads ? m->opts.threads : m->opts.blas_threads;
}

void bert_set_batch(bert_model *m, size_t batch) { m->opts.batch = batch ? batch : 1; }

/* ---- config files ------------------------------------------------------- */

static int file_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static int read_json(const char *path, int optional, cJSON **out, err *e)
{
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, len = 0;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        if (optional && errno == ENOENT)
            return 0;
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
    }
    for (;;) {
        size_t r;
        if (len > (16u << 20)) {
            fclose(f);
            mem_free(buf);
            return err_set(e, ERR_PARSE, "%s: larger than 16 MB, not a config file", path);
        }
        if (mem_grow(&buf, &cap, len + 4096, 1) != 0) {
            fclose(f);
            mem_free(buf);
            return err_set(e, ERR_NOMEM, "%s: out of memory", path);
        }
        r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *out = cJSON_ParseWithLength(buf, len);
    mem_free(buf);
    if (!*out || (!cJSON_IsObject(*out) && !cJSON_IsArray(*out))) {
        cJSON_Delete(*out);
        *out = NULL;
        return err_set(e, ERR_PARSE, "%s: not valid JSON", path);
    }
    return 0;
}

/* Required positive integer field (<= max). */
static int cfg_int(const cJSON *j, const char *path, const char *key, int max, int *out, err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v)
        return err_set(e, ERR_PARSE, "%s: missing \"%s\"", path, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= max) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return err_set(e, ERR_PARSE, "%s: \"%s\" must be an integer in [1, %d]", path, key, max);
    *out = (int)v->valuedouble;
    return 0;
}

/* Optional boolean: 1/0, or -1 when absent or null. */
static int cfg_bool(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) != 0 : -1;
}

static int path_join(char *out, size_t cap, const char *dir, const char *name, err *e)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_RANGE, "%s/%s: path too long", dir, name);
    return 0;
}

static int load_config(bert_model *m, const char *dir, err *e)
{
    char path[4096];
    cJSON *j = NULL;
    const cJSON *v;
    bert_config *c = &m->cfg;
    int rc;

    if ((rc = path_join(path, sizeof path, dir, "config.json", e)) != 0 ||
        (rc = read_json(path, 0, &j, e)) != 0)
        return rc;
    if ((rc = cfg_int(j, path, "hidden_size", 65536, &c->hidden, e)) ||
        (rc = cfg_int(j, path, "num_hidden_layers", 1024, &c->n_layers, e)) ||
        (rc = cfg_int(j, path, "num_attention_heads", 1024, &c->n_heads, e)) ||
        (rc = cfg_int(j, path, "intermediate_size", 1 << 20, &c->ffn, e)) ||
        (rc = cfg_int(j, path, "max_position_embeddings", 1 << 20, &c->max_pos, e)) ||
        (rc = cfg_int(j, path, "vocab_size", 1 << 24, &c->vocab, e)))
        goto out;
    c->type_vocab = 2;
    if (cJSON_GetObjectItemCaseSensitive(j, "type_vocab_size") &&
        (rc = cfg_int(j, path, "type_vocab_size", 1 << 16, &c->type_vocab, e)))
        goto out;
    c->ln_eps = 1e-12f;   /* BERT's LayerNorm epsilon (config default) */
    v = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    if (v) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 1)) {
            rc = err_set(e, ERR_PARSE, "%s: \"layer_norm_eps\" must be a number in (0, 1)", path);
            goto out;
        }
        c->ln_eps = (float)v->valuedouble;
    }
    if (c->hidden % c->n_heads != 0) {
        rc = err_set(e, ERR_PARSE, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                     path, c->hidden, c->n_heads);
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, "gelu") != 0)) {
        rc = err_set(e, ERR_UNSUPPORTED, "%s: hidden_act %s: only \"gelu\" (erf) is supported",
                     path, cJSON_IsString(v) ? v->valuestring : "(not a string)");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type");
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, "absolute") != 0)) {
        rc = err_set(e, ERR_UNSUPPORTED, "%s: position_embedding_type must be \"absolute\"", path);
        goto out;
    }
out:
    cJSON_Delete(j);
    return rc;
}

/* modules.json -> pooling folder; its config.json -> pooling mode. */
static int load_pooling(bert_model *m, const char *dir, err *e)
{
    char path[4096], pdir[2048] = "1_Pooling";
    cJSON *j = NULL;
    int rc, n_modes = 0;

    m->cfg.pooling = BERT_POOL_MEAN;
    if ((rc = path_join(path, sizeof path, dir, "modules.json", e)) != 0 ||
        (rc = read_json(path, 1, &j, e)) != 0)
        return rc;
    if (j) {
        const cJSON *it;
        if (!cJSON_IsArray(j)) {
            cJSON_Delete(j);
            return err_set(e, ERR_PARSE, "%s: expected an array of modules", path);
        }
        cJSON_ArrayForEach(it, j) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
            if (cJSON_IsString(t) && strstr(t->valuestring, "Pooling") && cJSON_IsString(p)) {
                if (strstr(p->valuestring, "..") || strlen(p->valuestring) >= sizeof pdir) {
                    cJSON_Delete(j);
                    return err_set(e, ERR_PARSE, "%s: bad pooling path", path);
                }
                snprintf(pdir, sizeof pdir, "%s", p->valuestring);
            }
        }
        cJSON_Delete(j);
        j = NULL;
    }
    if (snprintf(path, sizeof path, "%s/%s/config.json", dir, pdir) >= (int)sizeof path)
        return err_set(e, ERR_RANGE, "%s: path too long", dir);
    if ((rc = read_json(path, 1, &j, e)) != 0)
        return rc;
    if (!j)
        return 0;   /* no pooling config: sentence-transformers defaults to mean */
    {
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(j, "pooling_mode");
        if (cJSON_IsString(mode)) {
            const char *s = mode->valuestring;
            n_modes = 1;
            if (strcmp(s, "mean") == 0)
                m->cfg.pooling = BERT_POOL_MEAN;
            else if (strcmp(s, "cls") == 0)
                m->cfg.pooling = BERT_POOL_CLS;
            else if (strcmp(s, "max") == 0)
                m->cfg.pooling = BERT_POOL_MAX;
            else
                n_modes = -1;
        } else {
            if (cfg_bool(j, "pooling_mode_mean_tokens") == 1) {
                m->cfg.pooling = BERT_POOL_MEAN;
                n_modes++;
            }
            if (cfg_bool(j, "pooling_mode_cls_token") == 1) {
                m->cfg.pooling = BERT_POOL_CLS;
                n_modes++;
            }
            if (cfg_bool(j, "pooling_mode_max_tokens") == 1) {
                m->cfg.pooling = BERT_POOL_MAX;
                n_modes++;
            }
            if (cfg_bool(j, "pooling_mode_mean_sqrt_len_tokens") == 1 ||
                cfg_bool(j, "pooling_mode_weightedmean_tokens") == 1 ||
                cfg_bool(j, "pooling_mode_lasttoken") == 1)
                n_modes = -1;
        }
    }
    cJSON_Delete(j);
    if (n_modes != 1)
        return err_set(e, ERR_UNSUPPORTED,
                       "%s: exactly one of mean, cls or max pooling is supported", path);
    return 0;
}

/* Special tokens of the tokenizer (HF: unk/sep/pad/cls/mask_token,
 * additional_special_tokens, added_tokens_decoder), as borrowed strings. */
#define BERT_MAX_SPECIALS 256

typedef struct bert_specials {
    const char *name[BERT_MAX_SPECIALS];
    size_t n;
} bert_specials;

/* Adds v: a string, or an AddedToken object {"content", "normalized",
 * "single_word"} that the fast tokenizer matches on the raw text. */
static void specials_add(bert_specials *sp, const cJSON *v)
{
    if (cJSON_IsObject(v)) {
        if (cfg_bool(v, "normalized") == 1 || cfg_bool(v, "single_word") == 1)
            return;
        v = cJSON_GetObjectItemCaseSensitive(v, "content");
    }
    if (cJSON_IsString(v) && v->valuestring[0] && sp->n < BERT_MAX_SPECIALS)
        sp->name[sp->n++] = v->valuestring;
}

/* The special tokens named by tokenizer_config.json (tc) and
 * special_tokens_map.json (sm), either may be NULL; BertTokenizer's
 * defaults for the five roles neither file names. */
static void specials_collect(bert_specials *sp, const cJSON *tc, const cJSON *sm)
{
    static const char *const role[5] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                        "mask_token"};
    static const char *const dflt[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    const cJSON *v;

    sp->n = 0;
    for (int r = 0; r < 5; r++) {
        size_t n0 = sp->n;
        specials_add(sp, cJSON_GetObjectItemCaseSensitive(tc, role[r]));
        if (sp->n == n0)
            specials_add(sp, cJSON_GetObjectItemCaseSensitive(sm, role[r]));
        if (sp->n == n0 && !cJSON_GetObjectItemCaseSensitive(tc, role[r]) &&
            !cJSON_GetObjectItemCaseSensitive(sm, role[r]) && sp->n < BERT_MAX_SPECIALS)
            sp->name[sp->n++] = dflt[r];
    }
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(tc, "additional_special_tokens"))
        specials_add(sp, v);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(sm, "additional_special_tokens"))
        specials_add(sp, v);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(tc, "added_tokens_decoder"))
        specials_add(sp, v);
}

static int load_tokenizer(bert_model *m, const char *dir, err *e)
{
    char path[4096];
    cJSON *j = NULL, *tc = NULL, *sm = NULL;
    wp_opts wo = wp_opts_default();
    bert_specials sp;
    int rc, lower_text = 0;
    size_t max_seq = 512;

    if ((rc = path_join(path, sizeof path, dir, "sentence_bert_config.json", e)) != 0 ||
        (rc = read_json(path, 1, &j, e)) != 0)
        return rc;
    if (j) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "max_seq_length");
        if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= 2 && v->valuedouble <= 1e6))) {
            cJSON_Delete(j);
            return err_set(e, ERR_PARSE, "%s: max_seq_length must be an integer >= 2", path);
        }
        if (v)
            max_seq = (size_t)v->valuedouble;
        lower_text = cfg_bool(j, "do_lower_case") == 1;
        cJSON_Delete(j);
        j = NULL;
    }
    /* both may be absent; the special tokens' strings stay theirs until
     * wp_load has copied them */
    if ((rc = path_join(path, sizeof path, dir, "special_tokens_map.json", e)) != 0 ||
        (rc = read_json(path, 1, &sm, e)) != 0 ||
        (rc = path_join(path, sizeof path, dir, "tokenizer_config.json", e)) != 0 ||
        (rc = read_json(path, 1, &tc, e)) != 0)
        goto out;
    if (tc) {
        wo.lower = cfg_bool(tc, "do_lower_case");
        wo.strip_accents = cfg_bool(tc, "strip_accents");
        wo.chinese = cfg_bool(tc, "tokenize_chinese_chars");
    }
    specials_collect(&sp, tc, sm);
    wo.specials = sp.name;
    wo.n_specials = sp.n;
    if (m->opts.max_seq)
        max_seq = m->opts.max_seq;
    if (max_seq > (size_t)m->cfg.max_pos)
        max_seq = (size_t)m->cfg.max_pos;
    wo.lower_text = lower_text;
    wo.max_len = max_seq;
    if ((rc = path_join(path, sizeof path, dir, "vocab.txt", e)) != 0)
        goto out;
    if (!file_exists(path) && (rc = path_join(path, sizeof path, dir, "tokenizer.json", e)) != 0)
        goto out;
    if (!file_exists(path)) {
        rc = err_set(e, ERR_NOTFOUND, "%s: neither vocab.txt nor tokenizer.json", dir);
        goto out;
    }
    m->tok = wp_load(path, &wo, e);
    if (!m->tok) {
        rc = e ? -e->code : -ERR_PARSE;
        goto out;
    }
    if (wp_vocab_size(m->tok) > (size_t)m->cfg.vocab) {
        rc = err_set(e, ERR_PARSE, "%s: %zu tokens but config.json vocab_size is %d", path,
                     wp_vocab_size(m->tok), m->cfg.vocab);
        goto out;
    }
    m->cfg.max_seq = max_seq;
    m->cfg.lower = wp_lowercases(m->tok);
out:
    cJSON_Delete(tc);
    cJSON_Delete(sm);
    return rc;
}

/* ---- weights ------------------------------------------------------------ */

/* Finds `name` (with or without "bert."), checks its shape, returns F32 data. */
static const float *weight(bert_model *m, const char *name, int n_dim, int64_t d0, int64_t d1,
                           err *e)
{
    char full[256];
    const st_tensor *t = st_find(m->st, name);
    int64_t shape[2] = {d0, d1};

    if (!t) {
        snprintf(full, sizeof full, "bert.%s", name);
        t = st_find(m->st, full);
    }
    if (!t) {
        err_set(e, ERR_NOTFOUND, "%s: missing tensor '%s'", st_path(m->st), name);
        return NULL;
    }
    if (st_check_shape(m->st, t, n_dim, shape, e) != 0)
        return NULL;
    return st_f32(m->st, t, e);
}

/* Chooses the precision actually used and packs the weights for it: bf16
 * on AMX tiles where the level in force has them, else bf16 panels for
 * bert_gemm_bf16 (any x86-64). */
static int pack_bf16(bert_model *m, err *e)
{
    size_t H = (size_t)m->cfg.hidden, F = (size_t)m->cfg.ffn;

    m->cfg.precision = BERT_FP32;
    m->cfg.bf16_split_layers = 0;
    if (m->opts.precision != BERT_BF16 || H % 16 || F % 16)
        return 0;
    m->bf16_amx = bert_amx_usable();
    for (int l = 0; l < m->cfg.n_layers; l++) {
        bert_layer *L = &m->layers[l];
        int split = l < m->opts.bf16_split_layers;
        if (m->bf16_amx) {
#ifdef BERT_HAVE_AMX
            if (!(L->qkv_p = bert_amx_pack(L->qkv_w, 3 * H, H, split)) ||
                !(L->o_p = bert_amx_pack(L->o_w, H, H, split)) ||
                !(L->i_p = bert_amx_pack(L->i_w, F, H, split)) ||
                !(L->f_p = bert_amx_pack(L->f_w, H, F, split)))
                return err_set(e, ERR_NOMEM, "out of memory packing layer %d for bf16", l);
#endif
        } else if (bert_gemm_pack_bf16(&L->qkv_h, L->qkv_w, 3 * H, H, split) ||
                   bert_gemm_pack_bf16(&L->o_h, L->o_w, H, H, split) ||
                   bert_gemm_pack_bf16(&L->i_h, L->i_w, F, H, split) ||
                   bert_gemm_pack_bf16(&L->f_h, L->f_w, H, F, split)) {
            return err_set(e, ERR_NOMEM, "out of memory packing layer %d for bf16", l);
        }
        m->cfg.bf16_split_layers += split;
    }
    m->cfg.precision = BERT_BF16;
    return 0;
}

/* fp32: each layer's products also packed for bert_gemm (few tokens). */
static int pack_fp32(bert_model *m, err *e)
{
    size_t H = (size_t)m->cfg.hidden, F = (size_t)m->cfg.ffn;

    if (m->cfg.precision != BERT_FP32)
        return 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        bert_layer *L = &m->layers[l];
        if (bert_gemm_pack(&L->qkv_g, L->qkv_w, 3 * H, H) || bert_gemm_pack(&L->o_g, L->o_w, H, H) ||
            bert_gemm_pack(&L->i_g, L->i_w, F, H) || bert_gemm_pack(&L->f_g, L->f_w, H, F))
            return err_set(e, ERR_NOMEM, "out of memory packing layer %d", l);
    }
    return 0;
}

static int load_weights(bert_model *m, const char *dir, err *e)
{
    char path[4096], name[160];
    const bert_config *c = &m->cfg;
    int64_t H = c->hidden, F = c->ffn;
    int rc;

    if (path_join(path, sizeof path, dir, "model.safetensors", e) != 0)
        return -ERR_RANGE;
    m->st = st_open(path, e);
    if (!m->st)
        return e ? -e->code : -ERR_PARSE;
    if (st_count(m->st) > 0)
        snprintf(m->cfg.dtype, sizeof m->cfg.dtype, "%s", st_dtype_name(st_at(m->st, 0)->dtype));
    if (!(m->wemb = weight(m, "embeddings.word_embeddings.weight", 2, c->vocab, H, e)) ||
        !(m->pemb = weight(m, "embeddings.position_embeddings.weight", 2, c->max_pos, H, e)) ||
        !(m->temb = weight(m, "embeddings.token_type_embeddings.weight", 2, c->type_vocab, H, e)) ||
        !(m->eln_g = weight(m, "embeddings.LayerNorm.weight", 1, H, 0, e)) ||
        !(m->eln_b = weight(m, "embeddings.LayerNorm.bias", 1, H, 0, e)))
        return e ? -e->code : -ERR_PARSE;
    m->layers = mem_calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers)
        return err_set(e, ERR_NOMEM, "out of memory for %d layers", c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        bert_layer *L = &m->layers[l];
        static const char *const qkv[3] = {"query", "key", "value"};
#define W(field, suffix, nd, a, b)                                                   \
    do {                                                                             \
        snprintf(name, sizeof name, "encoder.layer.%d.%s", l, suffix);               \
        if (!(L->field = weight(m, name, nd, a, b, e)))                              \
            return e ? -e->code : -ERR_PARSE;                                        \
    } while (0)
        W(o_w, "attention.output.dense.weight", 2, H, H);
        W(o_b, "attention.output.dense.bias", 1, H, 0);
        W(ln1_g, "attention.output.LayerNorm.weight", 1, H, 0);
        W(ln1_b, "attention.output.LayerNorm.bias", 1, H, 0);
        W(i_w, "intermediate.dense.weight", 2, F, H);
        W(i_b, "intermediate.dense.bias", 1, F, 0);
        W(f_w, "output.dense.weight", 2, H, F);
        W(f_b, "output.dense.bias", 1, H, 0);
        W(ln2_g, "output.LayerNorm.weight", 1, H, 0);
        W(ln2_b, "output.LayerNorm.bias", 1, H, 0);
#undef W
        L->qkv_w = mem_aligned(64, (size_t)(3 * H * H) * sizeof(float));
        L->qkv_b = mem_aligned(64, (size_t)(3 * H) * sizeof(float));
        if (!L->qkv_w || !L->qkv_b)
            return err_set(e, ERR_NOMEM, "out of memory for layer %d", l);
        for (int k = 0; k < 3; k++) {
            const float *w, *b;
            snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.weight", l, qkv[k]);
            if (!(w = weight(m, name, 2, H, H, e)))
                return e ? -e->code : -ERR_PARSE;
            snprintf(name, sizeof name, "encoder.layer.%d.attention.self.%s.bias", l, qkv[k]);
            if (!(b = weight(m, name, 1, H, 0, e)))
                return e ? -e->code : -ERR_PARSE;
            memcpy(L->qkv_w + (size_t)(k * H * H), w, (size_t)(H * H) * sizeof(float));
            memcpy(L->qkv_b + k * H, b, (size_t)H * sizeof(float));
        }
    }
    if ((rc = pack_bf16(m, e)) != 0)
        return rc;
    return pack_fp32(m, e);
}

bert_model *bert_load(const char *dir, const bert_opts *o, err *e)
{
    bert_model *m = mem_calloc(1, sizeof *m);

    if (!m) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->opts = o ? *o : bert_opts_default();
    bert_set_threads(m, m->opts.threads, m->opts.blas_threads);
    bert_set_batch(m, m->opts.batch);
    if (load_config(m, dir, e) != 0 || load_pooling(m, dir, e) != 0 ||
        load_tokenizer(m, dir, e) != 0 || load_weights(m, dir, e) != 0)
        goto fail;
    return m;
fail:
    bert_free(m);
    return NULL;
}

void bert_free(bert_model *m)
{
    if (!m)
        return;
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            mem_free(m->layers[l].qkv_w);
            mem_free(m->layers[l].qkv_b);
            bert_amx_free(m->layers[l].qkv_p);
            bert_amx_free(m->layers[l].o_p);
            bert_amx_free(m->layers[l].i_p);
            bert_amx_free(m->layers[l].f_p);
            bert_gemm_w_done(&m->layers[l].qkv_g);
            bert_gemm_w_done(&m->layers[l].o_g);
            bert_gemm_w_done(&m->layers[l].i_g);
            bert_gemm_w_done(&m->layers[l].f_g);
            bert_gemm_wb_done(&m->layers[l].qkv_h);
            bert_gemm_wb_done(&m->layers[l].o_h);
            bert_gemm_wb_done(&m->layers[l].i_h);
            bert_gemm_wb_done(&m->layers[l].f_h);
        }
    mem_free(m->layers);
    for (int i = 0; i < BERT_MAX_THREADS; i++)
        bert_arena_done(&m->arenas[i]);
    bert_team_free(m->team);
    st_close(m->st);
    wp_free(m->tok);
    mem_free(m);
}
