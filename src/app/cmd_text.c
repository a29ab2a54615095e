/* cmd_text.c - the text encoder commands: encode text, query, embed.
 *
 * `encode text` picks a BERT model folder when one is found (model=DIR,
 * $EMBEDLAB_MODEL, $XDG_DATA_HOME/embedlab/models/, data/models/), else the
 * builtin encoder trained on the catalog's own text, and says which.  The
 * item vectors are stored as model "text" only when encoding finished.
 * Queries need the same encoder: a BERT folder is reopened from the stored
 * path; the trained builtin encoder is saved with the vectors (blob
 * "encoder:text", same model version) and loaded back, and checked against a
 * stored vector before use.
 */
#include "cmd_int.h"
#include "mem.h"
#include "recommend.h"
#include "textenc.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_NAME "text"
#define ENCODER_BLOB "encoder:text"

static void free_enc(void *p) { textenc_free(p); }

/* "title. category. description" of catalog row r into a new string. */
static char *item_text(const store_catalog *c, size_t r)
{
    size_t n = strlen(c->title[r]) + strlen(c->category[r]) + strlen(c->description[r]) + 8;
    char *s = mem_alloc(n);
    if (s)
        snprintf(s, n, "%s. %s. %s", c->title[r], c->category[r], c->description[r]);
    return s;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        mem_free(t[i]);
    mem_free(t);
}

static char **catalog_texts(const store_catalog *c, err *e)
{
    char **t = mem_calloc(c->n + 1, sizeof *t);
    if (!t) {
        cmd_nomem(e);
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++)
        if (!(t[i] = item_text(c, i))) {
            free_texts(t, i);
            cmd_nomem(e);
            return NULL;
        }
    return t;
}

static void set_encoder(lab *L, textenc *t)
{
    if (L->textenc && L->textenc_free)
        L->textenc_free(L->textenc);
    L->textenc = t;
    L->textenc_free = t ? free_enc : NULL;
}

/* Opens an encoder: model = NULL/"auto" (a BERT folder if found, else the
 * builtin), "builtin", or a folder path. */
static textenc *open_encoder(lab *L, const char *model, const textenc_builtin_opts *bo,
                             long threads, long batch, int bf16, char **texts, size_t n,
                             err *e)
{
    textenc_opts o = textenc_opts_default();
    textenc *t;
    err e2;
    int want_builtin = model && strcmp(model, "builtin") == 0;
    int auto_pick = !model || strcmp(model, "auto") == 0;

    o.threads = (int)threads;
    o.batch = (size_t)batch;
    o.bf16 = bf16;
    o.model = auto_pick || want_builtin ? NULL : model;
    o.preferred = L->model_dir;
    if (!want_builtin) {
        t = textenc_open_bert(&o, &e2);
        if (t)
            return t;
        if (!auto_pick || e2.code != ERR_NOTFOUND) {
            err_set(e, e2.code, "%s", e2.msg);
            return NULL;
        }
    }
    t = textenc_train_builtin((const char *const *)texts, n, bo, &L->prog, e);
    progress_end(&L->prog);
    return t;
}

/* The builtin encoder is part of the model: stored with its version. */
static int save_builtin(lab *L, const textenc *t, const store_model *sm, err *e)
{
    void *blob = NULL;
    size_t len = 0;
    int rc;

    if (textenc_get_kind(t) != TEXTENC_BUILTIN)
        return 0;
    if ((rc = textenc_builtin_save(t, &blob, &len, e)))
        return rc;
    rc = store_blob_save(L->db, ENCODER_BLOB, sm->version, blob, len, e);
    mem_free(blob);
    return rc;
}

/* Saves the text vectors, their index and the builtin encoder (same model
 * version) in one transaction, then drops the cached model. */
static int save_text(lab *L, const textenc *t, store_model *sm, const vecset *vs,
                     lab_ix_report *ixr, err *e)
{
    int rc;

    if ((rc = store_begin(L->db, e)))
        return rc;
    if ((rc = lab_vectors_save(L, sm, vs, ixr, e)) || (rc = save_builtin(L, t, sm, e))) {
        store_rollback(L->db);
        if (rc == -ERR_CANCEL)
            err_set(e, ERR_CANCEL, "encode cancelled while updating the index: the previous "
                    "text vectors and index are kept");
        return rc;
    }
    if ((rc = store_commit(L->db, e)))
        return rc;
    lab_invalidate_model(L, TEXT_NAME);
    return 0;
}

int cmd_text_encoder_follow(lab *L, const char *model, int64_t from, int64_t to, err *e)
{
    void *blob = NULL;
    size_t len = 0;
    int64_t ver = 0;
    int rc;

    if (strcmp(model, TEXT_NAME) != 0)
        return 0;
    rc = store_blob_load(L->db, ENCODER_BLOB, &ver, &blob, &len, e);
    if (rc == -ERR_NOTFOUND)
        return 0;
    if (rc == 0 && ver == from)
        rc = store_blob_save(L->db, ENCODER_BLOB, to, blob, len, e);
    mem_free(blob);
    return rc;
}

static int ix_msg(const lab *L, table_list *out, const lab_ix_report *ixr, err *e)
{
    char msg[320];
    if (lab_ix_report_text(L, ixr, TEXT_NAME, msg, sizeof msg) > 0 &&
        !table_list_msg(out, "%s", msg))
        return cmd_nomem(e);
    return 0;
}

static textenc *stored_encoder(lab *L, lab_model *m, err *e);

/* encode text --new: only the items without a text vector, with the encoder
 * that made the stored ones, so the old vectors stay exactly as they are and
 * the index takes the new items as inserts. */
static int encode_new(lab *L, const store_catalog *c, table_list *out, err *e)
{
    lab_model *m = lab_model_get(L, TEXT_NAME, e);
    store_model sm = {0};
    lab_ix_report ixr;
    vecset vs = {0};
    char **texts = NULL;
    size_t *rows = NULL, n_new = 0, n_old;
    textenc *t;
    double t0 = progress_now();
    int rc;

    if (!m)
        return e->code == ERR_NOTFOUND
                   ? err_set(e, ERR_STATE, "encode text --new: no text vectors yet; run `encode "
                             "text` first")
                   : -e->code;
    if (!(t = stored_encoder(L, m, e)))
        return -e->code;
    if (textenc_dim(t) != m->vs.dim)
        return err_set(e, ERR_STATE, "encode text --new: the encoder gives %zu dims, the stored "
                       "vectors have %zu; run `encode text` again", textenc_dim(t), m->vs.dim);
    if (!(rows = mem_array(c->n ? c->n : 1, sizeof *rows)))
        return cmd_nomem(e);
    for (size_t i = 0; i < c->n; i++)
        if (vecset_find(&m->vs, c->ids[i]) < 0)
            rows[n_new++] = i;
    n_old = m->vs.n;
    if (n_new == 0) {
        mem_free(rows);
        return table_list_msg(out, "text: all %zu items already have vectors (%s)", c->n,
                              m->info.label) ? 0 : cmd_nomem(e);
    }
    if (!(texts = mem_calloc(n_new, sizeof *texts)) ||
        (rc = vecset_init(&vs, n_old + n_new, m->vs.dim, e))) {
        rc = cmd_nomem(e);
        goto done;
    }
    for (size_t i = 0; i < n_new; i++)
        if (!(texts[i] = item_text(c, rows[i]))) {
            rc = cmd_nomem(e);
            goto done;
        }
    memcpy(vs.ids, m->vs.ids, n_old * sizeof *vs.ids);
    memcpy(vs.data, m->vs.data, n_old * vs.dim * sizeof *vs.data);
    for (size_t i = 0; i < n_new; i++)
        vs.ids[n_old + i] = c->ids[rows[i]];
    rc = textenc_encode(t, (const char *const *)texts, NULL, n_new, vs.data + n_old * vs.dim,
                        &L->prog, e);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL) {
        rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    if (rc || (rc = vecset_sort(&vs, e)))
        goto done;
    /* the same model, grown: name, kind, label and encoder description kept */
    sm = m->info;   /* params/corpus stay owned by m->info until save_text drops it */
    sm.train_seconds = m->info.train_seconds + (progress_now() - t0);
    if ((rc = save_text(L, t, &sm, &vs, &ixr, e)))
        goto done;
    m = NULL;   /* dropped from the cache by save_text */
    if (!table_list_msg(out, "text: %zu new items encoded with %s (%zu items have vectors)",
                        n_new, sm.label, vs.n))
        rc = cmd_nomem(e);
    else
        rc = ix_msg(L, out, &ixr, e);
done:
    free_texts(texts, n_new);
    mem_free(rows);
    vecset_done(&vs);
    return rc;
}

static int c_encode_text(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const store_catalog *c = lab_catalog(L, e);
    const char *model = cmd_str(a, "model", NULL);
    char **texts = NULL, desc[4096];
    textenc *t = NULL;
    vecset vs = {0};
    store_model sm = {0};
    lab_ix_report ixr;
    long batch, threads = L->set.threads;
    double t0 = progress_now(), t_train;
    int rc, precision;

    if (!c)
        return -e->code;
    if ((rc = cmd_opt_long(a, "batch", &batch, e)) ||
        (rc = cmd_opt_long(a, "threads", &threads, e)) ||
        (rc = cmd_opt_choice(a, "precision", &precision, e)))
        return rc;
    if (c->n == 0)
        return err_set(e, ERR_STATE, "encode text: the catalog is empty (`load catalog` first)");
    if (cmd_flag(a, "new")) {
        if (model)
            return err_set(e, ERR_USAGE, "encode text --new uses the encoder of the stored "
                           "vectors; model= starts over (`encode text model=...`)");
        return encode_new(L, c, out, e);
    }
    if (!(texts = catalog_texts(c, e)))
        return -e->code;
    t = open_encoder(L, model, NULL, threads, batch, precision, texts, c->n, e);
    if (!t) {
        rc = -e->code;
        if (rc == -ERR_CANCEL || progress_cancelled(&L->prog))
            rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    t_train = progress_now() - t0;
    if ((rc = vecset_init(&vs, c->n, textenc_dim(t), e)))
        goto done;
    memcpy(vs.ids, c->ids, c->n * sizeof *vs.ids);
    rc = textenc_encode(t, (const char *const *)texts, NULL, c->n, vs.data, &L->prog, e);
    progress_end(&L->prog);
    if (rc == -ERR_CANCEL) {
        rc = err_set(e, ERR_CANCEL, "encode cancelled: the previous text vectors are kept");
        goto done;
    }
    if (rc || (rc = textenc_describe(t, desc, sizeof desc, e)))
        goto done;
    snprintf(sm.name, sizeof sm.name, "%s", TEXT_NAME);
    snprintf(sm.kind, sizeof sm.kind, "%s", textenc_kind_name(t));
    snprintf(sm.label, sizeof sm.label, "%s", textenc_label(t));
    sm.params = desc;
    sm.train_seconds = progress_now() - t0;
    if ((rc = save_text(L, t, &sm, &vs, &ixr, e)))
        goto done;
    double secs = progress_now() - t0;
    if (L->set.no_timing)
        rc = table_list_msg(out, "text: %zu items x %zu dims with %s", c->n, vs.dim,
                            textenc_label(t)) ? 0 : cmd_nomem(e);
    else
        rc = table_list_msg(out, "text: %zu items x %zu dims with %s in %.2f s (%.0f items/s%s)",
                            c->n, vs.dim, textenc_label(t), secs,
                            secs - t_train > 0 ? c->n / (secs - t_train) : 0,
                            textenc_get_kind(t) == TEXTENC_BUILTIN ? ", after training" : "")
                 ? 0 : cmd_nomem(e);
    if (rc == 0)
        rc = ix_msg(L, out, &ixr, e);
    if (rc == 0) {
        set_encoder(L, t);
        t = NULL;
    }
done:
    textenc_free(t);
    vecset_done(&vs);
    free_texts(texts, c->n);
    return rc;
}

/* The encoder that made the stored text vectors: the BERT folder reopened,
 * or the stored builtin encoder loaded. */
static textenc *stored_encoder(lab *L, lab_model *m, err *e)
{
    cJSON *j, *f;
    textenc *t;
    const char *path = NULL;

    if (L->textenc)
        return L->textenc;
    j = m->info.params ? cJSON_Parse(m->info.params) : NULL;
    if (strcmp(m->info.kind, "bert") == 0) {
        f = cJSON_GetObjectItemCaseSensitive(j, "path");
        path = cJSON_IsString(f) ? f->valuestring : NULL;
        textenc_opts o = textenc_opts_default();
        o.model = path;
        o.threads = L->set.threads;
        t = textenc_open_bert(&o, e);
        cJSON_Delete(j);
        if (!t)
            err_prefix(e, "the text vectors were made with %s; reopening it", m->info.label);
        else
            set_encoder(L, t);
        return t;
    }
    cJSON_Delete(j);
    if (strcmp(m->info.kind, "builtin") != 0) {
        err_set(e, ERR_STATE, "model 'text' (%s) has no encoder for new text", m->info.kind);
        return NULL;
    }
    void *blob = NULL;
    size_t len = 0;
    int64_t ver = 0;
    if (store_blob_load(L->db, ENCODER_BLOB, &ver, &blob, &len, e))
        return NULL;
    if (ver != m->info.version) {
        mem_free(blob);
        err_set(e, ERR_STATE, "the stored encoder does not belong to the text vectors: run "
                "`encode text` again");
        return NULL;
    }
    t = textenc_builtin_load(blob, len, e);
    mem_free(blob);
    if (!t)
        return NULL;
    /* The encoder must reproduce a stored vector: a cheap end-to-end check. */
    const store_catalog *c = lab_catalog(L, e);
    long r = c && m->vs.n ? lab_find_id(L, m->vs.ids[0]) : -1;
    if (r >= 0 && textenc_dim(t) == m->vs.dim) {
        char *text = item_text(c, (size_t)r);
        float *v = mem_array(m->vs.dim, sizeof *v);
        float d = INFINITY;
        if (text && v && textenc_encode(t, (const char *const *)&text, NULL, 1, v, NULL, NULL) == 0) {
            d = 0;
            for (size_t i = 0; i < m->vs.dim; i++)
                d = fmaxf(d, fabsf(v[i] - m->vs.data[i]));
        }
        mem_free(text);
        mem_free(v);
        if (!(d < 1e-4f)) {
            textenc_free(t);
            err_set(e, ERR_STATE, "the catalog changed since `encode text`: run it again");
            return NULL;
        }
    }
    set_encoder(L, t);
    return t;
}

static int encode_one(lab *L, const char *text, size_t len, float **vec, size_t *dim,
                      lab_model **mo, err *e)
{
    lab_model *m = lab_model_get(L, TEXT_NAME, e);
    textenc *t;

    if (!m)
        return e->code == ERR_NOTFOUND
                   ? err_set(e, ERR_STATE, "no text vectors yet: `encode text` first")
                   : -e->code;
    if (!(t = stored_encoder(L, m, e)))
        return -e->code;
    *dim = textenc_dim(t);
    if (!(*vec = mem_array(*dim, sizeof **vec)))
        return cmd_nomem(e);
    if (mo)
        *mo = m;
    return textenc_encode(t, &text, &len, 1, *vec, NULL, e);
}

static int c_query(lab *L, const cmd_args *a, table_list *out, err *e)
{
    rec_models ms = {0};
    rec_query q = {0};
    float *v = NULL;
    size_t dim;
    long k = L->set.k;
    int rc;
    err e2;

    if ((rc = cmd_opt_long(a, "k", &k, e)))
        return rc;
    char text[4096] = "";
    for (int i = 0; i < a->argc; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? " " : "",
                 a->argv[i]);
    double t0 = progress_now();
    if ((rc = encode_one(L, text, strlen(text), &v, &dim, &ms.text, e)))
        goto done;
    double enc_ms = (progress_now() - t0) * 1000;
    ms.i2v = lab_model_get(L, "item2vec", &e2);
    if (ms.i2v && L->set.i2v_inout)
        ms.i2v_out = lab_model_get(L, "item2vec#ctx", &e2);
    ms.hybrid = L->set.hybrid;
    ms.alpha = L->set.alpha;
    ms.hist_last = L->set.history;
    q.text_q = v;
    rc = cmd_rec_panes(L, &ms, &q, a, (size_t)k, out, e);
    if (rc == 0) {
        table *t = cmd_table(out, "");
        if (!t || table_field_num(t, "encode_ms", L->set.no_timing ? NAN : enc_ms) ||
            (L->set.no_timing ? table_note(t, "query encoded by %s", ms.text->info.label)
                                    : table_note(t, "query encoded by %s in %.2f ms",
                                                 ms.text->info.label, enc_ms)))
            rc = cmd_nomem(e);
    }
done:
    mem_free(v);
    return rc;
}

static int put_vector(table *t, const float *v, size_t dim)
{
    size_t cap = dim * 18 + 4, o = 0;
    char *s = mem_alloc(cap);
    int rc;
    if (!s)
        return -ERR_NOMEM;
    s[o++] = '[';
    for (size_t i = 0; i < dim; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s%.9g", i ? "," : "", v[i]);
    snprintf(s + o, cap - o, "]");
    rc = table_note(t, "%s", s);
    mem_free(s);
    return rc;
}

static void put_utf8(char *o, size_t *n, uint32_t cp)
{
    if (cp < 0x80)
        o[(*n)++] = (char)cp;
    else if (cp < 0x800) {
        o[(*n)++] = (char)(0xC0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xE0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*n)++] = (char)(0xF0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Decodes a line holding one JSON string into out (caller-freed) with its
 * byte length: unlike cJSON it keeps \u0000, so texts with any characters
 * reach the encoder exactly.  0 or -1 (not a JSON string). */
static int json_string_line(const char *line, char **out, size_t *len)
{
    const char *p = line;
    char *o;
    size_t n = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '"' || !(o = mem_alloc(strlen(p) + 1)))
        return -1;
    for (; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            goto bad;
        if (*p != '\\') {
            o[n++] = *p;
            continue;
        }
        switch (*++p) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p + 1, &cp))
                goto bad;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD;   /* a lone surrogate */
            put_utf8(o, &n, cp);
            break;
        }
        default:
            goto bad;
        }
    }
    if (*p != '"' || p[1 + strspn(p + 1, " \t\r\n")] != '\0')
        goto bad;
    o[n] = '\0';
    *out = o;
    *len = n;
    return 0;
bad:
    mem_free(o);
    return -1;
}

/* embed "text" | embed --jsonl FILE: vectors as JSON arrays, one per line. */
static int c_embed(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *file = cmd_str(a, "jsonl", NULL);
    table *t = cmd_table(out, "");
    float *v = NULL;
    size_t dim;
    int rc = 0;

    if (!t)
        return cmd_nomem(e);
    if (!file) {
        char text[4096] = "";
        if (a->argc == 0)
            return err_set(e, ERR_USAGE, "usage: embed \"TEXT\" | embed --jsonl FILE");
        for (int i = 0; i < a->argc; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i ? " " : "",
                     a->argv[i]);
        if ((rc = encode_one(L, text, strlen(text), &v, &dim, NULL, e)) == 0 &&
            put_vector(t, v, dim))
            rc = cmd_nomem(e);
        mem_free(v);
        return rc;
    }
    FILE *f = fopen(file, "r");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot open", file);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        char *text;
        size_t tlen;
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (json_string_line(line, &text, &tlen)) {
            rc = err_set(e, ERR_PARSE, "%s:%zu: expected one JSON string per line", file, lineno);
            break;
        }
        rc = encode_one(L, text, tlen, &v, &dim, NULL, e);
        if (rc == 0 && put_vector(t, v, dim))
            rc = cmd_nomem(e);
        mem_free(v);
        mem_free(text);
        v = NULL;
    }
    free(line);
    fclose(f);
    return rc;
}

static const opt_def encode_opts[] = {
    {.name = "model", .type = OPT_STR, .arg = "DIR|builtin|auto",
     .help = "a BERT model folder, the builtin encoder, or the first found (auto)"},
    {.name = "batch", .type = OPT_INT, .min = 1, .max = 4096, .def = "64",
     .help = "texts per forward pass"},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = 256, .arg = "2",
     .help = "worker threads (default: `set threads`)"},
    {.name = "precision", .type = OPT_CHOICE, .arg = "fp32|bf16", .def = "fp32",
     .help = "bf16 uses the CPU's bf16 matrix units where present"},
    {.name = "new", .type = OPT_FLAG, .help = "only items without a text vector"},
    {0},
};

static const opt_def query_opts[] = {
    {.name = "k", .type = OPT_INT, .min = 1, .max = REC_MAX_K, .arg = "10",
     .help = "results per list (default: `set k`)"},
    {.name = "category", .type = OPT_STR, .arg = "C", .flags = OPT_FILTER,
     .help = "items of this category"},
    {.name = "title", .type = OPT_STR, .arg = "WORD", .flags = OPT_FILTER,
     .help = "items whose title contains WORD"},
    {0},
};

static const opt_def embed_opts[] = {
    {.name = "jsonl", .type = OPT_STR, .arg = "FILE", .flags = OPT_DASHED,
     .help = "one JSON string per line"},
    {0},
};

const cmd_def cmd_defs_text[] = {
    {.name = "encode text", .fn = c_encode_text, .usage = "encode text",
     .help = "Encode every item's text (title. category. description) into normalised vectors: "
     "with a BERT model folder if one is found, else the builtin encoder trained on this "
     "catalog. precision=bf16 uses the CPU's bf16 matrix units where present (faster; the "
     "first layer runs with split operands, cosine >= 0.999 against fp32 on the benchmark "
     "model). --new: only items without a text vector (added by `load catalog`), same "
     "encoder; the index takes them as inserts. Ctrl-C keeps the previous vectors and index.",
     .opts = encode_opts},
    {.name = "query", .fn = c_query, .usage = "query \"TEXT\"",
     .help = "Encode free text with the text encoder and list the nearest items (LLM and Hybrid "
     "lists; Item2Vec has no vector for text).",
     .min_pos = 1, .max_pos = CMD_MAX_ARGS, .opts = query_opts, .flags = CMD_ATTRS},
    {.name = "embed", .fn = c_embed, .usage = "embed \"TEXT\" | embed",
     .help = "Print the text encoder's vector for TEXT, or for each JSON string line of FILE, "
     "as JSON arrays.", .min_pos = 0, .max_pos = CMD_MAX_ARGS, .opts = embed_opts},
    {0},
};
