/* bert.c - BERT encoder forward pass over OpenBLAS (see bert.h).
 *
 * Follows the original BERT (Devlin et al. 2019, post-LN Transformer
 * encoder) as implemented by HF BertModel: embeddings = word + position +
 * token_type[0], LayerNorm; each layer: fused QKV projection (one sgemm with
 * a [3H x H] weight built at load), per-sentence per-head softmax(QK^T/sqrt(dh))V,
 * output projection, residual + LayerNorm, FFN (H -> F, erf GELU, F -> H),
 * residual + LayerNorm.  Then the sentence-transformers Pooling module and
 * L2 normalisation.
 * Sentences of a batch are packed back to back (no padding rows); each worker
 * owns an arena sized for its largest batch, and batches are handed out
 * longest first so the arena is allocated once.
 */
#include "bert.h"
#include "bert_gemm.h"
#include "mem.h"
#include "safetensors.h"
#include "vec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BERT_MAX_THREADS 64

/* The AMX bf16 path needs the amx-tile/amx-bf16 target attributes. */
#if defined(__x86_64__) && defined(__GNUC__) && (__GNUC__ >= 11 || defined(__clang__))
#define BERT_HAVE_AMX 1
#endif

/* A weight matrix packed for the AMX bf16 path (see "bf16 fast path"). */
typedef struct amx_packed {
    uint16_t *hi;        /* owned: bf16(W) in AMX B tiles */
    uint16_t *lo;        /* owned: bf16(W - hi), same layout; NULL when this
                            GEMM runs in plain bf16 (else its input is split
                            into two bf16 parts too) */
} amx_packed;

#ifdef BERT_HAVE_AMX
static amx_packed *amx_pack(const float *W, size_t N, size_t K, int split);
#endif

typedef struct bert_layer {
    float *qkv_w, *qkv_b;                 /* owned: [3H x H], [3H] */
    amx_packed *qkv_p, *o_p, *i_p, *f_p;  /* owned: AMX-packed (BERT_BF16) */
    bert_gemm_w qkv_g, o_g, i_g, f_g;     /* owned: fp32 panels for few tokens (BERT_FP32) */
    const float *o_w, *o_b, *ln1_g, *ln1_b;
    const float *i_w, *i_b, *f_w, *f_b, *ln2_g, *ln2_b;
} bert_layer;

typedef struct bert_arena {
    size_t cap_tok, cap_len;              /* tokens, longest sentence */
    float *x, *qkv, *ctx, *tmp, *ff, *sc;
    uint16_t *xb;                         /* bf16 copy of a GEMM input and, after
                                             it, its rounding error (BERT_BF16) */
    float *spill;                         /* 16 x 16 sink for tiles past N */
} bert_arena;

struct bert_model {
    bert_config cfg;
    bert_opts opts;
    st_file *st;
    wp_tokenizer *tok;
    const float *wemb, *pemb, *temb, *eln_g, *eln_b;
    bert_layer *layers;
    bert_arena arenas[BERT_MAX_THREADS];
    bert_team *team;                      /* splits a lone batch's small products */
    int team_on;                          /* set per bert_encode_ids call */
};

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

/* Chooses the precision actually used and packs the weights for it. */
static int pack_bf16(bert_model *m, err *e)
{
    size_t H = (size_t)m->cfg.hidden, F = (size_t)m->cfg.ffn;

    m->cfg.precision = BERT_FP32;
    m->cfg.bf16_split_layers = 0;
    if (m->opts.precision != BERT_BF16 || !bert_bf16_available() || H % 16 || F % 16)
        return 0;
#ifdef BERT_HAVE_AMX
    for (int l = 0; l < m->cfg.n_layers; l++) {
        bert_layer *L = &m->layers[l];
        int split = l < m->opts.bf16_split_layers;
        if (!(L->qkv_p = amx_pack(L->qkv_w, 3 * H, H, split)) ||
            !(L->o_p = amx_pack(L->o_w, H, H, split)) || !(L->i_p = amx_pack(L->i_w, F, H, split)) ||
            !(L->f_p = amx_pack(L->f_w, H, F, split)))
            return err_set(e, ERR_NOMEM, "out of memory packing layer %d for bf16", l);
        m->cfg.bf16_split_layers += split;
    }
    m->cfg.precision = BERT_BF16;
#endif
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

static void amx_free(amx_packed *p)
{
    if (!p)
        return;
    mem_free(p->hi);
    mem_free(p->lo);
    mem_free(p);
}

static void arena_done(bert_arena *a)
{
    mem_free(a->x);
    mem_free(a->qkv);
    mem_free(a->ctx);
    mem_free(a->tmp);
    mem_free(a->ff);
    mem_free(a->sc);
    mem_free(a->xb);
    mem_free(a->spill);
    memset(a, 0, sizeof *a);
}

void bert_free(bert_model *m)
{
    if (!m)
        return;
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++) {
            mem_free(m->layers[l].qkv_w);
            mem_free(m->layers[l].qkv_b);
            amx_free(m->layers[l].qkv_p);
            amx_free(m->layers[l].o_p);
            amx_free(m->layers[l].i_p);
            amx_free(m->layers[l].f_p);
            bert_gemm_w_done(&m->layers[l].qkv_g);
            bert_gemm_w_done(&m->layers[l].o_g);
            bert_gemm_w_done(&m->layers[l].i_g);
            bert_gemm_w_done(&m->layers[l].f_g);
        }
    mem_free(m->layers);
    for (int i = 0; i < BERT_MAX_THREADS; i++)
        arena_done(&m->arenas[i]);
    bert_team_free(m->team);
    st_close(m->st);
    wp_free(m->tok);
    mem_free(m);
}

/* ---- bf16 fast path: AMX tiles ---------------------------------------------
 *
 * Y[T x N] = X[T x K] W^T with W [N x K] packed at load into AMX "B" tiles:
 * tile (nb, kb) holds 16 rows of k-pairs x 16 columns n, each entry the two
 * bf16 W[n][k], W[n][k+1] side by side (the VNNI layout TDPBF16PS expects),
 * tiles ordered nb-major.  K is padded to 32, N to 32 with zeros.  X is
 * rounded to bf16 per call into the arena; its rows are padded to 32 (the
 * arena's fp32 buffers have those spare rows too, and they are ignored).
 * Register blocking 2 x 2: tmm0-3 accumulate C, tmm4-5 hold A, tmm6-7 B.
 * Tile state is per thread, so every call loads the tile configuration.
 *
 * Split GEMMs (the first bf16_split_layers layers): W = Wh + Wl and
 * X = Xh + Xl, each part bf16, and Y = Xh Wh + Xl Wh + Xh Wl in three
 * passes over the same fp32 accumulators (Xl Wl is below fp32 rounding).
 * That keeps about 16 significant bits of each operand instead of 8.
 * Rounding errors made in the first layers are amplified by the layers
 * after them (bench/bf16_error.py measures it per layer and per GEMM), so
 * those are the ones worth the extra passes.
 */
#ifdef BERT_HAVE_AMX
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

typedef struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_cfg;

int bert_bf16_available(void)
{
    static atomic_int state;   /* 0 unknown, 1 yes, -1 no */
    int st = atomic_load(&state);
    unsigned a, b, c, d;

    if (st)
        return st > 0;
    st = -1;
    /* CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; then ask the
     * kernel for the tile data state (Linux >= 5.16). */
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 22)) && (d & (1u << 24)) &&
        syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0)
        st = 1;
    atomic_store(&state, st);
    return st > 0;
}

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);            /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);   /* nearest even */
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Packs bf16(W) of W [N x K] (fp32) into AMX B tiles, or with lo set the
 * rounding error bf16(W - bf16(W)); NULL on allocation failure. */
static uint16_t *amx_pack_part(const float *W, size_t N, size_t K, int lo)
{
    size_t Np = round_up(N, 32), Kp = round_up(K, 32), KB = Kp / 32;
    uint16_t *p = mem_aligned(64, Np * Kp * sizeof *p);
    if (!p)
        return NULL;
    for (size_t nb = 0; nb < Np / 16; nb++)
        for (size_t kb = 0; kb < KB; kb++) {
            uint16_t *t = p + (nb * KB + kb) * 512;
            for (size_t r = 0; r < 16; r++)
                for (size_t n = 0; n < 16; n++)
                    for (size_t h = 0; h < 2; h++) {
                        size_t row = nb * 16 + n, col = kb * 32 + 2 * r + h;
                        float w = row < N && col < K ? W[row * K + col] : 0.0f;
                        uint16_t b = f32_to_bf16(w);
                        t[r * 32 + n * 2 + h] = lo ? f32_to_bf16(w - bf16_to_f32(b)) : b;
                    }
        }
    return p;
}

/* W packed for the AMX path, split in two parts when `split`; NULL on
 * allocation failure. */
static amx_packed *amx_pack(const float *W, size_t N, size_t K, int split)
{
    amx_packed *p = mem_calloc(1, sizeof *p);
    if (!p || !(p->hi = amx_pack_part(W, N, K, 0)) || (split && !(p->lo = amx_pack_part(W, N, K, 1)))) {
        amx_free(p);
        return NULL;
    }
    return p;
}

/* The 16 bf16 values of h as fp32 (a bf16 is the top half of an fp32). */
__attribute__((target("avx512f")))
static inline __m512 bf16x16_to_f32(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* xb[Mp x Kp] = bf16(X[M x K]), zero padded; when xl is not NULL also
 * xl[Mp x Kp] = bf16(X - bf16(X)), the part the first rounding lost. */
__attribute__((target("avx512f,avx512bf16,avx512vl")))
static void amx_convert(uint16_t *xb, uint16_t *xl, const float *X, size_t M, size_t K, size_t Mp,
                        size_t Kp)
{
    for (size_t r = 0; r < Mp; r++) {
        uint16_t *o = xb + r * Kp, *ol = xl ? xl + r * Kp : NULL;
        size_t k = 0;
        if (r < M) {
            const float *x = X + r * K;
            for (; k + 32 <= K; k += 32) {
                __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
                _mm512_storeu_si512((void *)(o + k), v);
                if (ol) {
                    __m512 r0 = _mm512_sub_ps(x0, bf16x16_to_f32(_mm512_castsi512_si256(v)));
                    __m512 r1 = _mm512_sub_ps(x1, bf16x16_to_f32(_mm512_extracti64x4_epi64(v, 1)));
                    _mm512_storeu_si512((void *)(ol + k), (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
                }
            }
            for (; k < K; k++) {
                o[k] = f32_to_bf16(x[k]);
                if (ol)
                    ol[k] = f32_to_bf16(x[k] - bf16_to_f32(o[k]));
            }
        }
        for (; k < Kp; k++) {
            o[k] = 0;
            if (ol)
                ol[k] = 0;
        }
    }
}

/* tmm4-5 = two 16-row A tiles (rows `stride` bytes apart). */
__attribute__((target("amx-tile,amx-bf16"), always_inline))
static inline void amx_load_a(const uint16_t *a0, const uint16_t *a1, size_t stride)
{
    _tile_loadd(4, a0, stride);
    _tile_loadd(5, a1, stride);
}

/* tmm6-7 = B tiles b0, b1; then C (tmm0-3) += A (tmm4-5) x B, 2 x 2. */
__attribute__((target("amx-tile,amx-bf16"), always_inline))
static inline void amx_mul_b(const uint16_t *b0, const uint16_t *b1)
{
    _tile_loadd(6, b0, 64);
    _tile_loadd(7, b1, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
}

/* Y[Mp x ldy] (first N columns) = xb[Mp x Kp] * wp^T, plus xl * wp^T +
 * xb * wl^T when xl and wl are given (split).  Mp % 32 == 0. */
__attribute__((target("amx-tile,amx-bf16")))
static void amx_gemm(const uint16_t *xb, const uint16_t *xl, size_t Mp, size_t Kp,
                     const uint16_t *wp, const uint16_t *wl, size_t N, float *Y, size_t ldy,
                     float *spill)
{
    amx_cfg cfg;
    size_t KB = Kp / 32, NB = round_up(N, 32) / 16;

    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) {
        cfg.rows[i] = 16;
        cfg.colsb[i] = 64;
    }
    _tile_loadconfig(&cfg);
    for (size_t nb = 0; nb < NB; nb += 2) {
        const uint16_t *b0 = wp + nb * KB * 512, *b1 = b0 + KB * 512;
        const uint16_t *c0 = wl ? wl + nb * KB * 512 : NULL, *c1 = c0 ? c0 + KB * 512 : NULL;
        /* the second n tile exists only when N reaches it; else spill */
        int two = (nb + 1) * 16 < N;
        for (size_t mb = 0; mb < Mp; mb += 32) {
            const uint16_t *a0 = xb + mb * Kp, *a1 = a0 + 16 * Kp;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (size_t kb = 0; kb < KB; kb++) {
                amx_load_a(a0 + kb * 32, a1 + kb * 32, Kp * 2);
                amx_mul_b(b0 + kb * 512, b1 + kb * 512);           /* Xh Wh */
                if (xl) {
                    amx_mul_b(c0 + kb * 512, c1 + kb * 512);       /* Xh Wl */
                    amx_load_a(xl + mb * Kp + kb * 32, xl + (mb + 16) * Kp + kb * 32, Kp * 2);
                    amx_mul_b(b0 + kb * 512, b1 + kb * 512);       /* Xl Wh */
                }
            }
            _tile_stored(0, Y + mb * ldy + nb * 16, ldy * 4);
            _tile_stored(2, Y + (mb + 16) * ldy + nb * 16, ldy * 4);
            if (two) {
                _tile_stored(1, Y + mb * ldy + (nb + 1) * 16, ldy * 4);
                _tile_stored(3, Y + (mb + 16) * ldy + (nb + 1) * 16, ldy * 4);
            } else {
                _tile_stored(1, spill, 64);
                _tile_stored(3, spill, 64);
            }
        }
    }
    _tile_release();
}
#else
int bert_bf16_available(void) { return 0; }
#endif

/* ---- kernels ------------------------------------------------------------ */

/* erf via the rational approximation used by Eigen/XLA (max abs error
 * ~4e-7 on floats; inputs clamped to [-4, 4] where erf is +-1 in float). */
static inline float erf_fast(float x)
{
    float x2, p, q;
    x = x > 4.f ? 4.f : x < -4.f ? -4.f : x;
    x2 = x * x;
    p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

float bert_gelu(float x) { return 0.5f * x * (1.0f + erf_fast(x * 0.70710678118654752f)); }

/* The elementwise kernels below have an AVX-512 body (gcc -O2 does not
 * vectorise loops of unknown length) and a scalar tail / fallback that
 * computes the same formulas. */
#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 gelu16(__m512 x)
{
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)), t2, p, q;
    t = _mm512_max_ps(_mm512_min_ps(t, _mm512_set1_ps(4.f)), _mm512_set1_ps(-4.f));
    t2 = _mm512_mul_ps(t, t);
    p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(p, t);
    q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.42647390514189e-02f));
    t = _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_div_ps(p, q));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), t);
}
#endif

/* y = gelu(y + b) over rows of n. */
static void bias_gelu(float *restrict y, const float *restrict b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++, y += n) {
        size_t i = 0;
#ifdef __AVX512F__
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, gelu16(_mm512_add_ps(_mm512_loadu_ps(y + i),
                                                         _mm512_loadu_ps(b + i))));
#endif
        for (; i < n; i++)
            y[i] = bert_gelu(y[i] + b[i]);
    }
}

/* y += b over rows of n. */
static void bias_add(float *restrict y, const float *restrict b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++, y += n) {
        size_t i = 0;
#ifdef __AVX512F__
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(b + i)));
#endif
        for (; i < n; i++)
            y[i] += b[i];
    }
}

/* x = LayerNorm(y + b + x) row by row (post-LN residual); two passes over
 * the row for a numerically safe variance. */
static void bias_residual_ln(float *restrict x, const float *restrict y, const float *restrict b,
                             const float *restrict g, const float *restrict beta, size_t rows,
                             size_t n, float eps)
{
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        float mean = 0, var = 0, inv;
        size_t i = 0;
#ifdef __AVX512F__
        __m512 acc = _mm512_setzero_ps(), vm, vi;
        for (; i + 16 <= n; i += 16) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(x + i),
                                     _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(b + i)));
            _mm512_storeu_ps(x + i, v);
            acc = _mm512_add_ps(acc, v);
        }
        mean = _mm512_reduce_add_ps(acc);
#endif
        for (; i < n; i++) {
            x[i] += y[i] + b[i];
            mean += x[i];
        }
        mean /= (float)n;
        i = 0;
#ifdef __AVX512F__
        vm = _mm512_set1_ps(mean);
        acc = _mm512_setzero_ps();
        for (; i + 16 <= n; i += 16) {
            __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
            acc = _mm512_fmadd_ps(d, d, acc);
        }
        var = _mm512_reduce_add_ps(acc);
#endif
        for (; i < n; i++) {
            float d = x[i] - mean;
            var += d * d;
        }
        inv = 1.0f / sqrtf(var / (float)n + eps);
        i = 0;
#ifdef __AVX512F__
        vi = _mm512_set1_ps(inv);
        for (; i + 16 <= n; i += 16) {
            __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm), vi);
            _mm512_storeu_ps(x + i, _mm512_fmadd_ps(d, _mm512_loadu_ps(g + i),
                                                    _mm512_loadu_ps(beta + i)));
        }
#endif
        for (; i < n; i++)
            x[i] = (x[i] - mean) * inv * g[i] + beta[i];
    }
}

#ifdef __AVX512F__
/* e^x for x <= 0 (scores minus their max): 2^(x log2 e) split into an
 * integer power (scalef) and 2^f, |f| <= 1/2, by its Taylor series to
 * degree 7 (relative error < 1e-8, below float rounding). */
static inline __m512 exp16(__m512 x)
{
    __m512 t, n, f, p;
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
    n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    f = _mm512_sub_ps(t, n);
    p = _mm512_set1_ps(1.525273380405984e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618129107628477e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550410866482158e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402265069591007e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471805599453e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

/* Attention of one sentence and one head: out[i] = softmax(q_i K^T * scale) V
 * for i < n.  q/k/v rows are `ld` floats apart (views into the QKV matrix),
 * out rows `ldo`.  kt is scratch for K^T (dh x np, np = n rounded up to 16)
 * and p for one row of probabilities (np).  Only this sentence's keys are
 * read: that is what the padding mask does in a padded batch. */
static void attend(const float *Q, const float *K, const float *V, size_t ld, size_t n, size_t dh,
                   float scale, float *restrict kt, float *restrict p, float *out, size_t ldo)
{
    size_t np = (n + 15) / 16 * 16;

    for (size_t d = 0; d < dh; d++) {
        for (size_t j = 0; j < n; j++)
            kt[d * np + j] = K[j * ld + d];
        for (size_t j = n; j < np; j++)
            kt[d * np + j] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const float *q = Q + i * ld;
        float *o = out + i * ldo, mx = -INFINITY, sum = 0, inv;
        size_t j = 0;
#ifdef __AVX512F__
        for (; j < np; j += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (size_t d = 0; d < dh; d++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), _mm512_loadu_ps(kt + d * np + j), acc);
            _mm512_storeu_ps(p + j, _mm512_mul_ps(acc, _mm512_set1_ps(scale)));
        }
        for (j = 0; j < n; j++)
            mx = p[j] > mx ? p[j] : mx;
        {
            __m512 vs = _mm512_setzero_ps(), vm = _mm512_set1_ps(mx);
            for (j = 0; j < np; j += 16) {
                __mmask16 live = j + 16 <= n ? 0xffff : (__mmask16)((1u << (n - j)) - 1);
                __m512 ex = _mm512_maskz_mov_ps(live, exp16(_mm512_sub_ps(_mm512_loadu_ps(p + j), vm)));
                _mm512_storeu_ps(p + j, ex);
                vs = _mm512_add_ps(vs, ex);
            }
            sum = _mm512_reduce_add_ps(vs);
        }
#else
        for (; j < n; j++) {
            float acc = 0;
            for (size_t d = 0; d < dh; d++)
                acc += q[d] * kt[d * np + j];
            p[j] = acc * scale;
            mx = p[j] > mx ? p[j] : mx;
        }
        for (j = 0; j < n; j++) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        }
#endif
        inv = 1.0f / sum;
        {
            size_t d = 0;
#ifdef __AVX512F__
            for (; d + 16 <= dh; d += 16) {
                __m512 acc = _mm512_setzero_ps();
                for (j = 0; j < n; j++)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_loadu_ps(V + j * ld + d), acc);
                _mm512_storeu_ps(o + d, _mm512_mul_ps(acc, _mm512_set1_ps(inv)));
            }
#endif
            for (; d < dh; d++) {
                float acc = 0;
                for (j = 0; j < n; j++)
                    acc += p[j] * V[j * ld + d];
                o[d] = acc * inv;
            }
        }
    }
}

static int arena_reserve(bert_arena *a, const bert_config *c, size_t n_tok, size_t max_len)
{
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    if (n_tok <= a->cap_tok && max_len <= a->cap_len)
        return 0;
    arena_done(a);
    /* the bf16 path computes whole 32-row blocks: give every buffer the
     * spare rows (they hold don't-care values and are never read back) */
    if (c->precision == BERT_BF16)
        n_tok = (n_tok + 31) / 32 * 32;
    a->x = mem_aligned(64, n_tok * H * sizeof(float));
    a->qkv = mem_aligned(64, n_tok * 3 * H * sizeof(float));
    a->ctx = mem_aligned(64, n_tok * H * sizeof(float));
    a->tmp = mem_aligned(64, n_tok * H * sizeof(float));
    a->ff = mem_aligned(64, n_tok * F * sizeof(float));
    /* attention scratch: K^T (dh x np) and one probability row (np) */
    a->sc = mem_aligned(64, ((size_t)(c->hidden / c->n_heads) + 1) * ((max_len + 15) / 16 * 16) *
                                sizeof(float));
    if (c->precision == BERT_BF16) {
        size_t kp = ((H > F ? H : F) + 31) / 32 * 32;
        a->xb = mem_aligned(64, 2 * n_tok * kp * sizeof(uint16_t));
        a->spill = mem_aligned(64, 256 * sizeof(float));
        if (!a->xb || !a->spill) {
            arena_done(a);
            return -ERR_NOMEM;
        }
    }
    if (!a->x || !a->qkv || !a->ctx || !a->tmp || !a->ff || !a->sc) {
        arena_done(a);
        return -ERR_NOMEM;
    }
    a->cap_tok = n_tok;
    a->cap_len = max_len;
    return 0;
}

/* Up to this many tokens the fp32 products run on bert_gemm's pre-packed
 * panels, above it on OpenBLAS: bench/bench_bert_gemm on the Xeon (1 and 2
 * threads, load average 1-3) has the packed kernel 2-2.5x ahead at 8-16
 * tokens, even at 64 and 10 % behind at 96 (bench/RESULTS-bert.md). */
#define BERT_GEMM_MAX_T 64

/* Y[T x N] = X[T x K] W^T, in fp32 (bert_gemm for few tokens, else OpenBLAS)
 * or bf16 (AMX, packed wp). */
static void linear(const bert_model *m, bert_arena *a, const float *X, size_t T, size_t K,
                   const float *W, const amx_packed *wp, const bert_gemm_w *pw, size_t N, float *Y)
{
#ifdef BERT_HAVE_AMX
    if (m->cfg.precision == BERT_BF16) {
        size_t Tp = (T + 31) / 32 * 32, Kp = (K + 31) / 32 * 32;
        uint16_t *xl = wp->lo ? a->xb + Tp * Kp : NULL;
        amx_convert(a->xb, xl, X, T, K, Tp, Kp);
        amx_gemm(a->xb, xl, Tp, Kp, wp->hi, wp->lo, N, Y, N, a->spill);
        return;
    }
#endif
    (void)a;
    (void)wp;
    if (pw->panels && T <= BERT_GEMM_MAX_T) {
        bert_gemm(m->team_on ? m->team : NULL, pw, X, T, Y);
        return;
    }
    vec_gemm(1, T, N, K, 1.0f, X, W, 0.0f, Y);
}

/* Forward pass of nb packed sentences; out rows are written at out_rows[s]. */
static int forward(bert_model *m, bert_arena *a, const int32_t *const *ids, const size_t *lens,
                   size_t nb, float *const *out_rows)
{
    const bert_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn, nh = (size_t)c->n_heads, dh = H / nh;
    size_t T = 0, max_len = 0, row;
    float scale = 1.0f / sqrtf((float)dh);

    for (size_t s = 0; s < nb; s++) {
        T += lens[s];
        max_len = lens[s] > max_len ? lens[s] : max_len;
    }
    if (arena_reserve(a, c, T, max_len) != 0)
        return -ERR_NOMEM;
    /* embeddings: word + position + token type 0 ("sentence A"), then LN */
    row = 0;
    for (size_t s = 0; s < nb; s++)
        for (size_t p = 0; p < lens[s]; p++, row++) {
            const float *w = m->wemb + (size_t)ids[s][p] * H, *ps = m->pemb + p * H;
            float *x = a->x + row * H;
            for (size_t i = 0; i < H; i++) {
                x[i] = ps[i] + m->temb[i];
                a->tmp[row * H + i] = w[i];
            }
        }
    {
        /* x = LN(tmp + 0 + x): reuse the residual kernel with a zero bias */
        float *zb = a->ctx;   /* ctx is free here; H zeros */
        memset(zb, 0, H * sizeof(float));
        bias_residual_ln(a->x, a->tmp, zb, m->eln_g, m->eln_b, T, H, c->ln_eps);
    }
    for (int l = 0; l < c->n_layers; l++) {
        const bert_layer *L = &m->layers[l];
        /* fused QKV: [T x 3H] = X [T x H] * Wqkv^T, then bias */
        linear(m, a, a->x, T, H, L->qkv_w, L->qkv_p, &L->qkv_g, 3 * H, a->qkv);
        bias_add(a->qkv, L->qkv_b, T, 3 * H);
        row = 0;
        for (size_t s = 0; s < nb; s++) {
            size_t n = lens[s];
            for (size_t h = 0; h < nh; h++) {
                const float *Q = a->qkv + row * 3 * H + h * dh;
                const float *K = Q + H, *V = Q + 2 * H;
                attend(Q, K, V, 3 * H, n, dh, scale, a->sc, a->sc + dh * ((n + 15) / 16 * 16),
                       a->ctx + row * H + h * dh, H);
            }
            row += n;
        }
        linear(m, a, a->ctx, T, H, L->o_w, L->o_p, &L->o_g, H, a->tmp);
        bias_residual_ln(a->x, a->tmp, L->o_b, L->ln1_g, L->ln1_b, T, H, c->ln_eps);
        linear(m, a, a->x, T, H, L->i_w, L->i_p, &L->i_g, F, a->ff);
        bias_gelu(a->ff, L->i_b, T, F);
        linear(m, a, a->ff, T, F, L->f_w, L->f_p, &L->f_g, H, a->tmp);
        bias_residual_ln(a->x, a->tmp, L->f_b, L->ln2_g, L->ln2_b, T, H, c->ln_eps);
    }
    row = 0;
    for (size_t s = 0; s < nb; s++) {
        float *o = out_rows[s];
        const float *x = a->x + row * H;
        size_t n = lens[s];
        if (c->pooling == BERT_POOL_CLS) {
            memcpy(o, x, H * sizeof(float));
        } else if (c->pooling == BERT_POOL_MAX) {
            memcpy(o, x, H * sizeof(float));
            for (size_t p = 1; p < n; p++)
                for (size_t i = 0; i < H; i++)
                    o[i] = x[p * H + i] > o[i] ? x[p * H + i] : o[i];
        } else {
            memset(o, 0, H * sizeof(float));
            for (size_t p = 0; p < n; p++)
                for (size_t i = 0; i < H; i++)
                    o[i] += x[p * H + i];
            for (size_t i = 0; i < H; i++)
                o[i] /= (float)n;
        }
        vec_normalize(o, H);
        row += n;
    }
    return 0;
}

/* ---- batching and workers ------------------------------------------------ */

typedef struct job {
    bert_model *m;
    const int32_t *const *ids;
    const size_t *lens;
    size_t n;
    size_t *order;              /* indices sorted by length, longest first */
    float *out;
    size_t n_batches;
    atomic_size_t next_batch;
    atomic_size_t done;
    atomic_int stop;
    atomic_int rc;
    progress *p;
} job;

typedef struct worker {
    job *j;
    int idx;
} worker;

static void run_worker(job *j, int idx)
{
    bert_model *m = j->m;
    size_t B = m->opts.batch, H = (size_t)m->cfg.hidden;
    const int32_t *bids[256];
    size_t blens[256];
    float *rows[256];

    if (B > 256)
        B = 256;
    for (;;) {
        size_t b = atomic_fetch_add(&j->next_batch, 1), lo, hi, done;
        int rc;
        if (b >= j->n_batches || atomic_load(&j->stop))
            return;
        lo = b * B;
        hi = lo + B < j->n ? lo + B : j->n;
        for (size_t k = lo; k < hi; k++) {
            size_t s = j->order[k];
            bids[k - lo] = j->ids[s];
            blens[k - lo] = j->lens[s];
            rows[k - lo] = j->out + s * H;
        }
        rc = forward(m, &m->arenas[idx], bids, blens, hi - lo, rows);
        if (rc != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->rc, &zero, rc);
            atomic_store(&j->stop, 1);
            return;
        }
        done = atomic_fetch_add(&j->done, hi - lo) + (hi - lo);
        if (idx == 0) {
            if (progress_update(j->p, done))
                atomic_store(&j->stop, 1);
        } else if (progress_cancelled(j->p)) {
            atomic_store(&j->stop, 1);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run_worker(w->j, w->idx);
    return NULL;
}

/* Indices sorted by length, longest first (counting sort: lengths are
 * bounded by max_seq), so each worker's first batch is its largest. */
static int sort_by_len(size_t *idx, const size_t *lens, size_t n, size_t max_len)
{
    size_t *cnt = mem_calloc(max_len + 2, sizeof *cnt);
    if (!cnt)
        return -ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        cnt[max_len - lens[i]]++;
    for (size_t k = 0, sum = 0; k <= max_len; k++) {
        size_t c = cnt[k];
        cnt[k] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++)
        idx[cnt[max_len - lens[i]]++] = i;
    mem_free(cnt);
    return 0;
}

/* A lone batch (one worker) splits its fp32 products over the cores the
 * model may use, max(threads, blas_threads), with a persistent team (thread
 * start-up per product would cost more than the product).  Without the team
 * (1 core, bf16, or it could not start) the worker runs them alone. */
static void lone_batch_team(bert_model *m, int nt)
{
    int want = m->opts.threads > m->opts.blas_threads ? m->opts.threads : m->opts.blas_threads;

    m->team_on = 0;
    if (nt != 1 || want < 2 || m->cfg.precision != BERT_FP32)
        return;
    if (m->team && bert_team_size(m->team) != want) {
        bert_team_free(m->team);
        m->team = NULL;
    }
    if (!m->team)
        m->team = bert_team_new(want, NULL);
    m->team_on = m->team != NULL;
}

int bert_encode_ids(bert_model *m, const int32_t *const *ids, const size_t *n_ids, size_t n,
                    float *out, progress *p, err *e)
{
    job j;
    pthread_t th[BERT_MAX_THREADS];
    worker w[BERT_MAX_THREADS];
    int nt = m->opts.threads, started = 0, rc;

    for (size_t i = 0; i < n; i++) {
        if (n_ids[i] < 1 || n_ids[i] > m->cfg.max_seq)
            return err_set(e, ERR_RANGE, "sequence %zu: %zu tokens (1..%zu allowed)", i, n_ids[i],
                           m->cfg.max_seq);
        for (size_t k = 0; k < n_ids[i]; k++)
            if (ids[i][k] < 0 || ids[i][k] >= m->cfg.vocab)
                return err_set(e, ERR_RANGE, "sequence %zu: token id %d outside the vocabulary",
                               i, ids[i][k]);
    }
    memset(&j, 0, sizeof j);
    j.m = m;
    j.ids = ids;
    j.lens = n_ids;
    j.n = n;
    j.out = out;
    j.p = p;
    j.n_batches = (n + m->opts.batch - 1) / m->opts.batch;
    atomic_init(&j.next_batch, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.stop, 0);
    atomic_init(&j.rc, 0);
    j.order = mem_array(n ? n : 1, sizeof *j.order);
    if (!j.order || sort_by_len(j.order, n_ids, n, m->cfg.max_seq) != 0) {
        mem_free(j.order);
        return err_set(e, ERR_NOMEM, "out of memory ordering %zu texts", n);
    }
    if ((size_t)nt > j.n_batches)
        nt = j.n_batches ? (int)j.n_batches : 1;
    /* Our workers split the batches; BLAS threads would only oversubscribe. */
    vec_blas_threads(nt > 1 ? 1 : m->opts.blas_threads);
    lone_batch_team(m, nt);
    for (int t = 1; t < nt; t++) {
        w[t].j = &j;
        w[t].idx = t;
        if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
            break;
        started++;
    }
    run_worker(&j, 0);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    mem_free(j.order);
    rc = atomic_load(&j.rc);
    if (rc != 0)
        return err_set(e, -rc, "encoder: out of memory for the batch scratch arena");
    if (atomic_load(&j.stop) || progress_cancelled(p))
        return err_set(e, ERR_CANCEL, "encoding cancelled after %zu of %zu texts",
                       (size_t)atomic_load(&j.done), n);
    progress_update(p, n);
    return 0;
}

int bert_encode(bert_model *m, const char *const *texts, const size_t *lens, size_t n,
                float *out, progress *p, err *e)
{
    size_t L = m->cfg.max_seq;
    int32_t *buf = mem_array(n ? n * L : 1, sizeof *buf);
    const int32_t **ids = mem_array(n ? n : 1, sizeof *ids);
    size_t *n_ids = mem_array(n ? n : 1, sizeof *n_ids);
    int rc = 0;

    if (!buf || !ids || !n_ids) {
        rc = err_set(e, ERR_NOMEM, "out of memory tokenizing %zu texts", n);
        goto out;
    }
    progress_begin(p, "encode text", "texts", n);
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(texts[i]);
        rc = wp_encode(m->tok, texts[i], len, buf + i * L, L, &n_ids[i], e);
        if (rc)
            goto out;
        ids[i] = buf + i * L;
    }
    rc = bert_encode_ids(m, ids, n_ids, n, out, p, e);
out:
    if (p && p->active)
        progress_end(p);
    mem_free(buf);
    mem_free(ids);
    mem_free(n_ids);
    return rc;
}
