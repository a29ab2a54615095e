/* serve_api.c - requests of `embedlab serve` parsed, checked and answered
 * (see serve_api.h).  Bodies are parsed with cJSON after a byte check
 * (UTF-8, NUL); every field is type-checked and its error names it.  The
 * lists of /v1/similar, /v1/recommend and /v1/query are the TUI's three
 * panes (Item2Vec | LLM | Hybrid) from snap_run; embeddings are written by
 * hand (floats as %.9g, which reads back as the same float32) since they
 * are most of the bytes this server sends. */
#include "serve_api.h"
#include "mem.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#define SV_MAX_ID 256   /* bytes of an item or user id */

struct sv_req {
    snap *s;                  /* borrowed: the caller holds a reference */
    sv_limits lim;
    int ep;
    /* texts to encode */
    size_t n;
    char **texts;
    size_t *lens, *ntok;
    size_t total_tokens;
    float *vecs;
    /* embeddings */
    int base64;
    /* searches */
    unsigned methods;         /* bit REC_ITEM2VEC, REC_TEXT, REC_HYBRID */
    size_t k;
    int hybrid;
    double alpha;
    snap_filter *filters;
    size_t n_filters;
    char **filter_strs;       /* owned copies of keys and string values */
    size_t n_filter_strs;
    int64_t *hist;
    size_t n_hist;
    cJSON *echo;              /* the query part of the answer */
};

/* ---- answers ------------------------------------------------------------- */

void sv_resp_done(sv_resp *r)
{
    mem_free(r->body);
    r->body = NULL;
    r->len = 0;
}

void sv_resp_set(sv_resp *r, int status, char *body)
{
    sv_resp_done(r);
    r->status = status;
    r->body = body;
    r->len = body ? strlen(body) : 0;
}

/* cJSON prints with malloc; the answer is freed with mem_free. */
static int set_json(sv_resp *r, int status, cJSON *j)
{
    char *p = j ? cJSON_PrintUnformatted(j) : NULL, *body = NULL;
    cJSON_Delete(j);
    if (p) {
        body = mem_strdup(p);
        cJSON_free(p);
    }
    if (!body) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":"
                                  "\"server_error\",\"code\":\"out_of_memory\"}}";
        sv_resp_set(r, 500, mem_strdup(oom));
        return 500;
    }
    sv_resp_set(r, status, body);
    return status;
}

int sv_error(sv_resp *r, int status, const char *type, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    cJSON *j = cJSON_CreateObject(), *o = cJSON_AddObjectToObject(j, "error");

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!o || !cJSON_AddStringToObject(o, "message", msg) ||
        !cJSON_AddStringToObject(o, "type", type) ||
        !(code ? cJSON_AddStringToObject(o, "code", code) : cJSON_AddNullToObject(o, "code"))) {
        cJSON_Delete(j);
        j = NULL;
    }
    set_json(r, status, j);
    r->status = status;
    return status;
}

/* A 400 answer. */
static int bad(sv_resp *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(sv_resp *r, const char *code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sv_error(r, 400, "invalid_request_error", code, "%s", msg);
}

/* ---- routes ------------------------------------------------------------- */

static const struct {
    const char *path;
    const char *method;
    int ep;
} routes[] = {
    {"/v1/embeddings", "POST", SV_EP_EMBEDDINGS},
    {"/embed", "POST", SV_EP_EMBED},
    {"/v1/similar", "POST", SV_EP_SIMILAR},
    {"/v1/recommend", "POST", SV_EP_RECOMMEND},
    {"/v1/query", "POST", SV_EP_QUERY},
    {"/v1/models", "GET", SV_EP_MODELS},
    {"/healthz", "GET", SV_EP_HEALTH},
    {"/metrics", "GET", SV_EP_METRICS},
};

const char *sv_endpoint_name(int ep)
{
    static const char *const names[SV_N_EP] = {
        "/v1/embeddings", "/embed", "/v1/similar", "/v1/recommend", "/v1/query",
        "/v1/items/{id}", "/v1/models", "/healthz", "/metrics", "other"};
    return ep >= 0 && ep < SV_N_EP ? names[ep] : "other";
}

int sv_route(const char *method, const char *url, int *ep, sv_resp *r)
{
    const char *want = NULL;
    size_t plen = strcspn(url, "?");

    *ep = SV_EP_OTHER;
    if (strncmp(url, "/v1/items/", 10) == 0 && plen > 10) {
        *ep = SV_EP_ITEM;
        want = "GET";
    }
    for (size_t i = 0; !want && i < sizeof routes / sizeof routes[0]; i++)
        if (strlen(routes[i].path) == plen && strncmp(url, routes[i].path, plen) == 0) {
            *ep = routes[i].ep;
            want = routes[i].method;
        }
    if (!want)
        return sv_error(r, 404, "not_found_error", "unknown_url",
                        "no endpoint at %.*s (see GET /v1/models, POST /v1/embeddings, "
                        "/v1/similar, /v1/recommend, /v1/query)", (int)(plen > 200 ? 200 : plen),
                        url);
    if (strcmp(method, want) == 0 || (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0))
        return 0;
    r->allow = strcmp(want, "GET") == 0 ? "GET, HEAD" : "POST";
    return sv_error(r, 405, "invalid_request_error", "method_not_allowed",
                    "%s %s: use %s", method, sv_endpoint_name(*ep), want);
}

/* ---- the body ------------------------------------------------------------ */

int sv_check_body(const char *body, size_t len, sv_resp *r)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)body;

    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k;
        if (p[i] < 0x80) {
            if (p[i] == 0)
                return sv_error(r, 400, "invalid_request_error", "nul_byte",
                                "the body has a NUL byte at offset %zu", i);
            /* \u0000 decodes to NUL, which C strings (and cJSON) cut at: an
             * escape is a backslash preceded by an even run of backslashes */
            if (p[i] == '\\' && i + 5 < len && memcmp(body + i + 1, "u0000", 5) == 0) {
                size_t run = 0;
                while (run < i && body[i - 1 - run] == '\\')
                    run++;
                if (run % 2 == 0)
                    return sv_error(r, 400, "invalid_request_error", "nul_character",
                                    "the body has a \\u0000 (NUL) character at offset %zu: texts "
                                    "cannot contain NUL", i);
            }
            i++;
            continue;
        }
        k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0)
            return sv_error(r, 400, "invalid_request_error", "invalid_utf8",
                            "the body is not valid UTF-8 at offset %zu", i);
        i += (size_t)k;
    }
    return 0;
}

static int parse_body(const char *body, size_t len, cJSON **out, sv_resp *r)
{
    const char *end = NULL;
    cJSON *j;

    *out = NULL;
    if (len == 0)
        return bad(r, "invalid_json", "%s", "the body is empty: send a JSON object");
    if (sv_check_body(body, len, r))
        return r->status;
    j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!j) {
        /* cJSON points end at the error (cJSON_GetErrorPtr is one global for
         * all threads) */
        size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : len;
        return sv_error(r, 400, "invalid_request_error", "invalid_json",
                        "the body is not valid JSON (at offset %zu)", off);
    }
    while (end && (size_t)(end - body) < len && strchr(" \t\r\n", *end))
        end++;
    if (end && (size_t)(end - body) < len) {
        cJSON_Delete(j);
        return sv_error(r, 400, "invalid_request_error", "invalid_json",
                        "the body has data after its JSON value (offset %zu)",
                        (size_t)(end - body));
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return bad(r, "invalid_type", "%s", "the body must be a JSON object");
    }
    *out = j;
    return 0;
}

static cJSON *field(const cJSON *j, const char *name)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsNull(f) ? NULL : f;
}

static int get_bool(const cJSON *j, const char *name, int def, int *out, sv_resp *r)
{
    const cJSON *f = field(j, name);
    *out = def;
    if (!f)
        return 0;
    if (!cJSON_IsBool(f))
        return bad(r, "invalid_type", "'%s' must be true or false", name);
    *out = cJSON_IsTrue(f);
    return 0;
}

/* An integer in [min, max]: JSON numbers only, no fractions. */
static int get_int(const cJSON *j, const char *name, long def, long min, long max, long *out,
                   sv_resp *r)
{
    const cJSON *f = field(j, name);
    *out = def;
    if (!f)
        return 0;
    if (!cJSON_IsNumber(f) || f->valuedouble != floor(f->valuedouble) ||
        f->valuedouble < (double)min || f->valuedouble > (double)max)
        return sv_error(r, 400, "invalid_request_error", "invalid_value",
                        "'%s' must be a whole number from %ld to %ld", name, min, max);
    *out = (long)f->valuedouble;
    return 0;
}

/* An id as users type it: a string, or a whole number (MovieLens ids). */
static int id_text(const cJSON *f, char *buf, size_t cap)
{
    if (cJSON_IsString(f) && strlen(f->valuestring) < cap) {
        snprintf(buf, cap, "%s", f->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(f) && f->valuedouble == floor(f->valuedouble) &&
        fabs(f->valuedouble) < 9e15) {
        snprintf(buf, cap, "%.0f", f->valuedouble);
        return 0;
    }
    return -1;
}

/* ---- requests ------------------------------------------------------------ */

void sv_req_free(sv_req *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        mem_free(q->texts[i]);
    mem_free(q->texts);
    mem_free(q->lens);
    mem_free(q->ntok);
    mem_free(q->vecs);
    for (size_t i = 0; i < q->n_filter_strs; i++)
        mem_free(q->filter_strs[i]);
    mem_free(q->filter_strs);
    mem_free(q->filters);
    mem_free(q->hist);
    cJSON_Delete(q->echo);
    mem_free(q);
}

static int nomem(sv_resp *r)
{
    return sv_error(r, 500, "server_error", "out_of_memory", "out of memory");
}

size_t sv_req_texts(const sv_req *q, const char *const **texts, const size_t **lens,
                    size_t *n_tokens)
{
    *texts = (const char *const *)q->texts;
    *lens = q->lens;
    if (n_tokens)
        *n_tokens = q->total_tokens;
    return q->n;
}

float *sv_req_vecs(sv_req *q) { return q->vecs; }

/* Takes the texts of `input` (a string or an array of strings), counts
 * their tokens, and applies truncate.  tei: TEI's field names and status. */
static int take_texts(sv_req *q, const cJSON *in, const char *name, int truncate, int tei,
                      sv_resp *r)
{
    size_t n = cJSON_IsArray(in) ? (size_t)cJSON_GetArraySize(in) : 1, i = 0, dim;
    size_t max_tok = snap_max_tokens(q->s);
    const cJSON *it;

    if (!in)
        return bad(r, "missing_field", "'%s' is required: a string or an array of strings", name);
    if (!cJSON_IsString(in) && !cJSON_IsArray(in))
        return bad(r, "invalid_type", "'%s' must be a string or an array of strings", name);
    if (n == 0)
        return bad(r, "invalid_value", "'%s' is an empty array", name);
    if (n > q->lim.max_inputs)
        return sv_error(r, 400, "invalid_request_error", "too_many_inputs",
                        "'%s' has %zu texts; at most %zu per request", name, n,
                        q->lim.max_inputs);
    if (!snap_has_encoder(q->s))
        return sv_error(r, 503, "server_error", "no_encoder", "no text encoder: %s",
                        snap_encoder_error(q->s));
    dim = snap_text_dim(q->s);
    if (!(q->texts = mem_calloc(n, sizeof *q->texts)) || !(q->lens = mem_calloc(n, sizeof *q->lens)) ||
        !(q->ntok = mem_calloc(n, sizeof *q->ntok)) || !(q->vecs = mem_calloc(n * dim + 1, sizeof(float))))
        return nomem(r);
    const cJSON *arr = cJSON_IsArray(in) ? in : NULL;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return sv_error(r, 400, "invalid_request_error", "invalid_type",
                            "'%s[%zu]' must be a string%s", name, i,
                            cJSON_IsNumber(it) || cJSON_IsArray(it)
                                ? " (token-id input is not supported: send text)" : "");
        i++;
    }
    for (i = 0; i < n; i++) {
        const cJSON *t = cJSON_IsArray(in) ? cJSON_GetArrayItem(in, (int)i) : in;
        int cut = 0;
        err e;
        if (!(q->texts[i] = mem_strdup(t->valuestring)))
            return nomem(r);
        q->n = i + 1;
        q->lens[i] = strlen(q->texts[i]);
        if (snap_count_tokens(q->s, q->texts[i], q->lens[i], &q->ntok[i], &cut, &e))
            return sv_error(r, 500, "server_error", "tokenizer", "%s", e.msg);
        if (cut && !truncate)
            return sv_error(r, tei ? 413 : 400, "invalid_request_error", "input_too_long",
                            "'%s%s%zu%s' is longer than the model's %zu tokens and truncate is "
                            "false", name, cJSON_IsArray(in) ? "[" : "",
                            cJSON_IsArray(in) ? i : 0, cJSON_IsArray(in) ? "]" : "", max_tok);
        q->total_tokens += q->ntok[i];
    }
    return 0;
}

static sv_req *req_new(snap *s, const sv_limits *lim, int ep)
{
    sv_req *q = mem_calloc(1, sizeof *q);
    if (q) {
        q->s = s;
        q->lim = *lim;
        q->ep = ep;
        q->hybrid = -1;
        q->alpha = -1;
    }
    return q;
}

static int begin_embeddings(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *f;
    int truncate;
    long dims;

    if ((f = field(j, "model")) != NULL) {
        if (!cJSON_IsString(f))
            return bad(r, "invalid_type", "%s", "'model' must be a string");
        if (strcmp(f->valuestring, SNAP_TEXT_MODEL) != 0 &&
            (!snap_has_encoder(q->s) || strcmp(f->valuestring, snap_encoder_label(q->s)) != 0))
            return sv_error(r, 404, "invalid_request_error", "model_not_found",
                            "the model '%.200s' does not exist here: use '%s'%s%s%s",
                            f->valuestring, SNAP_TEXT_MODEL, snap_has_encoder(q->s) ? " or '" : "",
                            snap_encoder_label(q->s), snap_has_encoder(q->s) ? "'" : "");
    }
    if ((f = field(j, "encoding_format")) != NULL) {
        if (!cJSON_IsString(f) ||
            (strcmp(f->valuestring, "float") != 0 && strcmp(f->valuestring, "base64") != 0))
            return bad(r, "invalid_value", "%s", "'encoding_format' must be \"float\" or \"base64\"");
        q->base64 = strcmp(f->valuestring, "base64") == 0;
    }
    if (get_bool(j, "truncate", 1, &truncate, r) || get_int(j, "dimensions", 0, 1, 1 << 20, &dims, r))
        return r->status;
    if (dims && snap_has_encoder(q->s) && (size_t)dims != snap_text_dim(q->s))
        return sv_error(r, 400, "invalid_request_error", "invalid_value",
                        "'dimensions' %ld is not supported: %s gives %zu-dimensional vectors and "
                        "cannot shorten them", dims, snap_encoder_label(q->s), snap_text_dim(q->s));
    if (take_texts(q, field(j, "input"), "input", truncate, 0, r))
        return r->status;
    return SV_ENCODE;
}

static int begin_tei(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *f;
    int truncate, normalize;

    if (get_bool(j, "truncate", 1, &truncate, r) || get_bool(j, "normalize", 1, &normalize, r))
        return r->status;
    if (!normalize)
        return bad(r, "invalid_value", "%s", "'normalize': false is not supported: this encoder "
                   "gives L2-normalised vectors");
    if ((f = field(j, "truncation_direction")) != NULL &&
        !(cJSON_IsString(f) && strcmp(f->valuestring, "Right") == 0))
        return bad(r, "invalid_value", "%s", "'truncation_direction' must be \"Right\" (texts are "
                   "cut at the end)");
    if (take_texts(q, field(j, "inputs"), "inputs", truncate, 1, r))
        return r->status;
    return SV_ENCODE;
}

/* k, method, hybrid, alpha and filters: shared by the three list endpoints. */
static int search_params(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *f, *it;
    long k;

    if (get_int(j, "k", 10, 1, REC_MAX_K, &k, r))
        return r->status;
    q->k = (size_t)k;
    q->methods = 1u << REC_ITEM2VEC | 1u << REC_TEXT | 1u << REC_HYBRID;
    if ((f = field(j, "method")) != NULL) {
        static const struct { const char *name; unsigned bits; } m[] = {
            {"item2vec", 1u << REC_ITEM2VEC}, {"llm", 1u << REC_TEXT}, {"text", 1u << REC_TEXT},
            {"hybrid", 1u << REC_HYBRID}, {"all", 1u << REC_ITEM2VEC | 1u << REC_TEXT | 1u << REC_HYBRID}};
        q->methods = 0;
        for (size_t i = 0; cJSON_IsString(f) && i < sizeof m / sizeof m[0]; i++)
            if (strcmp(f->valuestring, m[i].name) == 0)
                q->methods = m[i].bits;
        if (!q->methods)
            return bad(r, "invalid_value", "%s", "'method' must be \"item2vec\", \"llm\", "
                       "\"hybrid\" or \"all\"");
    }
    if ((f = field(j, "hybrid")) != NULL) {
        for (int i = 0; cJSON_IsString(f) && i < HYBRID_N_MODES; i++)
            if (strcmp(f->valuestring, lab_hybrid_name(i)) == 0)
                q->hybrid = i;
        if (q->hybrid < 0)
            return bad(r, "invalid_value", "%s", "'hybrid' must be one of " HYBRID_MODES);
    }
    if ((f = field(j, "alpha")) != NULL) {
        if (!cJSON_IsNumber(f) || !(f->valuedouble >= 0 && f->valuedouble <= 1))
            return bad(r, "invalid_value", "%s", "'alpha' must be a number from 0 to 1");
        q->alpha = f->valuedouble;
    }
    if (!(f = field(j, "filters")))
        return 0;
    if (!cJSON_IsObject(f))
        return bad(r, "invalid_type", "%s", "'filters' must be an object of field: value "
                   "(category, title, or an attribute)");
    size_t n = (size_t)cJSON_GetArraySize(f);
    if (n > q->lim.max_filters)
        return sv_error(r, 400, "invalid_request_error", "invalid_value",
                        "'filters' has %zu terms; at most %zu", n, q->lim.max_filters);
    if (!(q->filters = mem_calloc(n + 1, sizeof *q->filters)) ||
        !(q->filter_strs = mem_calloc(2 * n + 1, sizeof *q->filter_strs)))
        return nomem(r);
    cJSON_ArrayForEach(it, f)
    {
        snap_filter *t = &q->filters[q->n_filters];
        char *key = mem_strdup(it->string ? it->string : "");
        if (!key)
            return nomem(r);
        q->filter_strs[q->n_filter_strs++] = key;
        t->key = key;
        if (cJSON_IsString(it)) {
            char *v = mem_strdup(it->valuestring);
            if (!v)
                return nomem(r);
            q->filter_strs[q->n_filter_strs++] = v;
            t->type = SNAP_F_STR;
            t->str = v;
        } else if (cJSON_IsNumber(it)) {
            t->type = SNAP_F_NUM;
            t->num = it->valuedouble;
        } else if (cJSON_IsBool(it)) {
            t->type = SNAP_F_BOOL;
            t->boolean = cJSON_IsTrue(it);
        } else
            return sv_error(r, 400, "invalid_request_error", "invalid_type",
                            "'filters.%.100s' must be a string, number or boolean", key);
        q->n_filters++;
    }
    return 0;
}

static int resolve_item(sv_req *q, const cJSON *f, const char *name, int64_t *id, sv_resp *r)
{
    char buf[SV_MAX_ID];
    long row;

    if (id_text(f, buf, sizeof buf))
        return sv_error(r, 400, "invalid_request_error", "invalid_type",
                        "'%s' must be an item id (a string of at most %d bytes)", name,
                        SV_MAX_ID - 1);
    if ((row = snap_find_item(q->s, buf)) < 0)
        return sv_error(r, 404, "not_found_error", "item_not_found", "unknown item '%s'", buf);
    snap_item it;
    snap_item_get(q->s, (size_t)row, &it);
    *id = it.rowid;
    return 0;
}

static int echo_add(sv_req *q, const char *name, const cJSON *v)
{
    cJSON *c;
    if (!q->echo && !(q->echo = cJSON_CreateObject()))
        return -1;
    c = cJSON_Duplicate(v, 1);
    return c && cJSON_AddItemToObject(q->echo, name, c) ? 0 : (cJSON_Delete(c), -1);
}

static int begin_similar(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *f = field(j, "item");

    if (!f)
        return bad(r, "missing_field", "%s", "'item' is required: the id of a catalog item");
    if (search_params(q, j, r))
        return r->status;
    if (!(q->hist = mem_calloc(1, sizeof *q->hist)))
        return nomem(r);
    if (resolve_item(q, f, "item", &q->hist[0], r))
        return r->status;
    q->n_hist = 1;
    return echo_add(q, "item", f) ? nomem(r) : SV_DONE;
}

static int begin_recommend(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *u = field(j, "user"), *h = field(j, "history"), *t = field(j, "query");

    if (!u && !h)
        return bad(r, "missing_field", "%s", "'user' (a user id) or 'history' (item ids, oldest "
                   "first) is required");
    if (u && h)
        return bad(r, "invalid_value", "%s", "give 'user' or 'history', not both");
    if (search_params(q, j, r))
        return r->status;
    if (u) {
        char buf[SV_MAX_ID];
        const int64_t *hist;
        err e;
        if (id_text(u, buf, sizeof buf))
            return bad(r, "invalid_type", "%s", "'user' must be a user id (a string)");
        if (snap_user_history(q->s, buf, &hist, &q->n_hist, &e))
            return sv_error(r, 404, "not_found_error", "user_not_found", "%s", e.msg);
        if (!(q->hist = mem_array(q->n_hist + 1, sizeof *q->hist)))
            return nomem(r);
        memcpy(q->hist, hist, q->n_hist * sizeof *hist);
        if (echo_add(q, "user", u))
            return nomem(r);
    } else {
        const cJSON *it;
        size_t n = cJSON_IsArray(h) ? (size_t)cJSON_GetArraySize(h) : 0;
        if (!cJSON_IsArray(h))
            return bad(r, "invalid_type", "%s", "'history' must be an array of item ids");
        if (n > q->lim.max_history)
            return sv_error(r, 400, "invalid_request_error", "invalid_value",
                            "'history' has %zu items; at most %zu", n, q->lim.max_history);
        if (!(q->hist = mem_array(n + 1, sizeof *q->hist)))
            return nomem(r);
        cJSON_ArrayForEach(it, h)
        {
            if (resolve_item(q, it, "history[]", &q->hist[q->n_hist], r))
                return r->status;
            q->n_hist++;
        }
        if (echo_add(q, "history", h))
            return nomem(r);
    }
    if (!t)
        return SV_DONE;
    if (!cJSON_IsString(t))
        return bad(r, "invalid_type", "%s", "'query' must be a string");
    if (echo_add(q, "query", t) || take_texts(q, t, "query", 1, 0, r))
        return r->status ? r->status : nomem(r);
    return SV_ENCODE;
}

static int begin_query(sv_req *q, const cJSON *j, sv_resp *r)
{
    const cJSON *t = field(j, "text");

    if (!t)
        return bad(r, "missing_field", "%s", "'text' is required: the free text to search for");
    if (!cJSON_IsString(t))
        return bad(r, "invalid_type", "%s", "'text' must be a string");
    if (search_params(q, j, r))
        return r->status;
    if (echo_add(q, "text", t) || take_texts(q, t, "text", 1, 0, r))
        return r->status ? r->status : nomem(r);
    return SV_ENCODE;
}

/* ---- answers of the list endpoints ----------------------------------------- */

static double round_to(double x, double unit) { return round(x / unit) * unit; }

static cJSON *list_json(sv_req *q, snap_reader *rd, int method, const snap_query *sq, err *e,
                        int *rc)
{
    static const char *const keys[] = {"item2vec", "llm", "hybrid"};
    rec_list *rl = mem_alloc(sizeof *rl);
    cJSON *l = cJSON_CreateObject(), *data;
    char label[160];

    *rc = 0;
    if (!rl || !l) {
        mem_free(rl);
        cJSON_Delete(l);
        *rc = -ERR_NOMEM;
        return NULL;
    }
    if ((*rc = snap_run(q->s, rd, method, sq, q->k, rl, e))) {
        mem_free(rl);
        cJSON_Delete(l);
        return NULL;
    }
    snap_method_label(q->s, method, q->hybrid, q->alpha, label, sizeof label);
    int hyb = q->hybrid >= 0 ? q->hybrid : snap_default_hybrid(q->s);
    double alpha = q->alpha >= 0 ? q->alpha : snap_default_alpha(q->s);
    cJSON_AddStringToObject(l, "method", keys[method]);
    if (method == REC_HYBRID) {   /* as the TUI's pane is titled */
        char title[200];
        snprintf(title, sizeof title, "%s (%s)", rec_method_name(method), label);
        cJSON_AddStringToObject(l, "title", title);
    } else
        cJSON_AddStringToObject(l, "title", rec_method_name(method));
    cJSON_AddStringToObject(l, "model", method == REC_ITEM2VEC ? "item2vec"
                                        : method == REC_TEXT ? SNAP_TEXT_MODEL : "hybrid");
    cJSON_AddStringToObject(l, "label", label);
    if (method == REC_HYBRID) {
        cJSON_AddStringToObject(l, "hybrid", lab_hybrid_name(hyb));
        cJSON_AddNumberToObject(l, "alpha", alpha);
    }
    if (rl->note[0])
        cJSON_AddStringToObject(l, "note", rl->note);
    cJSON_AddNumberToObject(l, "latency_ms", round_to(rl->latency_us / 1000.0, 1e-4));
    data = cJSON_AddArrayToObject(l, "data");
    for (size_t i = 0; data && i < rl->n; i++) {
        long row = snap_find_rowid(q->s, rl->ids[i]);
        cJSON *o = cJSON_CreateObject();
        snap_item it;
        if (!o || row < 0) {
            cJSON_Delete(o);
            continue;
        }
        snap_item_get(q->s, (size_t)row, &it);
        cJSON_AddNumberToObject(o, "rank", (double)(i + 1));
        cJSON_AddStringToObject(o, "id", it.id);
        cJSON_AddStringToObject(o, "title", it.title);
        cJSON_AddStringToObject(o, "category", it.category);
        cJSON_AddNumberToObject(o, "score", round_to(rl->scores[i], 1e-6));
        cJSON_AddStringToObject(o, "model", snap_row_source(q->s, method, sq, rl->ids[i]));
        cJSON_AddItemToArray(data, o);
    }
    mem_free(rl);
    return l;
}

static void answer_lists(sv_req *q, sv_resp *r)
{
    static const char *const names[SV_N_EP] = {[SV_EP_SIMILAR] = "similar",
                                               [SV_EP_RECOMMEND] = "recommend",
                                               [SV_EP_QUERY] = "query"};
    snap_query sq = {.hist = q->hist, .n_hist = q->n_hist, .filters = q->filters,
                     .n_filters = q->n_filters, .hybrid = q->hybrid, .alpha = q->alpha};
    cJSON *j = cJSON_CreateObject(), *lists;
    snap_reader *rd;
    err e;

    if (q->n)
        sq.text_q = q->vecs;
    if (!(rd = snap_reader_get(q->s, &e))) {
        cJSON_Delete(j);
        sv_error(r, 500, "server_error", "search", "%s", e.msg);
        return;
    }
    cJSON_AddStringToObject(j, "object", "list");
    cJSON_AddStringToObject(j, "endpoint", names[q->ep]);
    if (q->echo) {
        cJSON_AddItemToObject(j, "query", q->echo);
        q->echo = NULL;
    }
    cJSON_AddNumberToObject(j, "k", (double)q->k);
    if (q->ep == SV_EP_RECOMMEND)
        cJSON_AddNumberToObject(j, "history_items", (double)q->n_hist);
    if (q->n) {
        cJSON *enc = cJSON_AddObjectToObject(j, "encoded");
        cJSON_AddStringToObject(enc, "model", snap_encoder_label(q->s));
        cJSON_AddNumberToObject(enc, "tokens", (double)q->total_tokens);
    }
    lists = cJSON_AddArrayToObject(j, "lists");
    for (int m = REC_ITEM2VEC; m <= REC_HYBRID; m++) {
        int rc;
        if (!(q->methods & 1u << m))
            continue;
        cJSON *l = list_json(q, rd, m, &sq, &e, &rc);
        if (!l) {
            snap_reader_put(q->s, rd);
            cJSON_Delete(j);
            if (rc == -ERR_NOMEM)
                nomem(r);
            else
                sv_error(r, 500, "server_error", "search", "%s", e.msg);
            return;
        }
        cJSON_AddItemToArray(lists, l);
    }
    snap_reader_put(q->s, rd);
    set_json(r, 200, j);
}

/* ---- embeddings answers ---------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_need(sbuf *b, size_t more)
{
    if (!b->oom && mem_grow(&b->p, &b->cap, b->n + more + 1, 1))
        b->oom = 1;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    sb_need(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* A JSON string literal, escaped by cJSON. */
static void sb_json_str(sbuf *b, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *p = j ? cJSON_PrintUnformatted(j) : NULL;
    if (p)
        sb_str(b, p);
    else
        b->oom = 1;
    cJSON_free(p);
    cJSON_Delete(j);
}

static void sb_floats(sbuf *b, const float *v, size_t dim)
{
    char num[32];
    sb_need(b, dim * 16 + 2);
    sb_put(b, "[", 1);
    for (size_t i = 0; i < dim; i++) {
        int k = snprintf(num, sizeof num, i ? ",%.9g" : "%.9g", (double)v[i]);
        sb_put(b, num, (size_t)k);
    }
    sb_put(b, "]", 1);
}

size_t sv_base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;

    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static void answer_embeddings(sv_req *q, sv_resp *r)
{
    size_t dim = snap_text_dim(q->s);
    sbuf b = {0};
    char num[96], *b64 = NULL;

    if (q->ep == SV_EP_EMBED) {   /* TEI: [[...], ...] */
        sb_put(&b, "[", 1);
        for (size_t i = 0; i < q->n; i++) {
            if (i)
                sb_put(&b, ",", 1);
            sb_floats(&b, q->vecs + i * dim, dim);
        }
        sb_put(&b, "]", 1);
    } else {
        if (q->base64 && !(b64 = mem_alloc(4 * ((dim * 4 + 2) / 3) + 1))) {
            nomem(r);
            return;
        }
        sb_str(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < q->n; i++) {
            snprintf(num, sizeof num, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                     i ? "," : "", i);
            sb_str(&b, num);
            if (b64) {
                /* little-endian float32, as the OpenAI SDKs decode it */
                sv_base64((const unsigned char *)(q->vecs + i * dim), dim * sizeof(float), b64);
                sb_put(&b, "\"", 1);
                sb_str(&b, b64);
                sb_put(&b, "\"", 1);
            } else
                sb_floats(&b, q->vecs + i * dim, dim);
            sb_put(&b, "}", 1);
        }
        sb_str(&b, "],\"model\":");
        sb_json_str(&b, snap_encoder_label(q->s));
        snprintf(num, sizeof num, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}",
                 q->total_tokens, q->total_tokens);
        sb_str(&b, num);
        mem_free(b64);
    }
    if (b.oom) {
        mem_free(b.p);
        nomem(r);
        return;
    }
    sv_resp_set(r, 200, b.p);
}

/* ---- GET endpoints ------------------------------------------------------------ */

/* cJSON of a stored JSON text, or null when it does not parse. */
static cJSON *json_or_null(const char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    return j ? j : cJSON_CreateNull();
}

static int answer_item(snap *s, const char *url, sv_resp *r)
{
    const char *id = url + 10;   /* after "/v1/items/" */
    char buf[SV_MAX_ID];
    size_t n = strcspn(id, "?");
    long row;
    snap_item it;
    cJSON *j, *v;

    if (n >= sizeof buf)
        return sv_error(r, 404, "not_found_error", "item_not_found", "unknown item (id longer "
                        "than %d bytes)", SV_MAX_ID - 1);
    memcpy(buf, id, n);
    buf[n] = '\0';
    if (sv_check_body(buf, n, r))
        return r->status;
    if ((row = snap_find_item(s, buf)) < 0)
        return sv_error(r, 404, "not_found_error", "item_not_found", "unknown item '%s'", buf);
    snap_item_get(s, (size_t)row, &it);
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "object", "item");
    cJSON_AddStringToObject(j, "id", it.id);
    cJSON_AddStringToObject(j, "title", it.title);
    cJSON_AddStringToObject(j, "description", it.description);
    cJSON_AddStringToObject(j, "category", it.category);
    cJSON_AddItemToObject(j, "attrs", json_or_null(it.attrs));
    cJSON_AddNumberToObject(j, "events", (double)it.n_events);
    v = cJSON_AddObjectToObject(j, "vectors");
    cJSON_AddBoolToObject(v, "item2vec", it.has_item2vec);
    cJSON_AddBoolToObject(v, SNAP_TEXT_MODEL, it.has_text);
    return set_json(r, 200, j);
}

/* "YYYY-MM-DD HH:MM:SS" UTC as Unix seconds (OpenAI's `created`). */
static double unix_time(const char *utc)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(utc, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm);
}

static int answer_models(snap *s, sv_resp *r)
{
    cJSON *j = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(j, "data"), *enc;

    cJSON_AddStringToObject(j, "object", "list");
    for (size_t i = 0; i < snap_n_models(s); i++) {
        snap_model_info mi;
        cJSON *o = cJSON_CreateObject(), *ix;
        snap_model_get(s, i, &mi);
        cJSON_AddStringToObject(o, "id", mi.name);
        cJSON_AddStringToObject(o, "object", "model");
        cJSON_AddNumberToObject(o, "created", unix_time(mi.created));
        cJSON_AddStringToObject(o, "owned_by", "embedlab");
        cJSON_AddStringToObject(o, "kind", mi.kind);
        cJSON_AddStringToObject(o, "label", mi.label);
        cJSON_AddNumberToObject(o, "dimensions", (double)mi.dim);
        cJSON_AddNumberToObject(o, "vectors", (double)mi.n_vectors);
        cJSON_AddNumberToObject(o, "version", (double)mi.version);
        cJSON_AddItemToObject(o, "params", json_or_null(mi.params));
        if (mi.has_index) {
            const index_stats *st = &mi.index;
            ix = cJSON_AddObjectToObject(o, "index");
            cJSON_AddStringToObject(ix, "kind", index_kind_name(st->kind));
            cJSON_AddStringToObject(ix, "metric", index_metric_name(st->metric));
            cJSON_AddStringToObject(ix, "quant", index_quant_name(st->quant));
            cJSON_AddNumberToObject(ix, "live", (double)st->n);
            cJSON_AddNumberToObject(ix, "tombstones", (double)st->n_deleted);
            if (st->kind == INDEX_IVF) {
                cJSON_AddNumberToObject(ix, "nlist", st->nlist);
                cJSON_AddNumberToObject(ix, "nprobe", st->nprobe);
            } else if (st->kind == INDEX_HNSW) {
                cJSON_AddNumberToObject(ix, "M", st->M);
                cJSON_AddNumberToObject(ix, "ef_construction", st->ef_construction);
                cJSON_AddNumberToObject(ix, "ef", st->ef);
            }
            if (st->quant == INDEX_QUANT_SQ8)
                cJSON_AddNumberToObject(ix, "rerank", st->rerank);
        } else if (mi.index_stale) {
            ix = cJSON_AddObjectToObject(o, "index");
            cJSON_AddStringToObject(ix, "kind", "stale");
            cJSON_AddStringToObject(ix, "note", "built from older vectors: searches scan exactly "
                                    "until `index build`");
        } else
            cJSON_AddNullToObject(o, "index");
        cJSON_AddItemToArray(data, o);
    }
    enc = cJSON_AddObjectToObject(j, "encoder");
    if (snap_has_encoder(s)) {
        cJSON_AddStringToObject(enc, "model", snap_encoder_label(s));
        cJSON_AddNumberToObject(enc, "dimensions", (double)snap_text_dim(s));
        cJSON_AddNumberToObject(enc, "max_tokens", (double)snap_max_tokens(s));
    } else
        cJSON_AddStringToObject(enc, "error", snap_encoder_error(s));
    return set_json(r, 200, j);
}

static int answer_health(snap *s, sv_resp *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ok");
    cJSON_AddNumberToObject(j, "items", (double)snap_n_items(s));
    cJSON_AddNumberToObject(j, "users", (double)snap_n_users(s));
    cJSON_AddNumberToObject(j, "models", (double)snap_n_models(s));
    if (snap_has_encoder(s))
        cJSON_AddStringToObject(j, "encoder", snap_encoder_label(s));
    else
        cJSON_AddNullToObject(j, "encoder");
    return set_json(r, 200, j);
}

/* ---- the two phases ------------------------------------------------------------ */

int sv_begin(snap *s, const sv_limits *lim, int ep, const char *url, const char *body,
             size_t len, sv_req **out, sv_resp *r)
{
    cJSON *j = NULL;
    sv_req *q;
    int rc;

    *out = NULL;
    switch (ep) {
    case SV_EP_ITEM:
        return answer_item(s, url, r), SV_DONE;
    case SV_EP_MODELS:
        return answer_models(s, r), SV_DONE;
    case SV_EP_HEALTH:
        return answer_health(s, r), SV_DONE;
    case SV_EP_EMBEDDINGS: case SV_EP_EMBED: case SV_EP_SIMILAR: case SV_EP_RECOMMEND:
    case SV_EP_QUERY:
        break;
    default:
        return sv_error(r, 404, "not_found_error", "unknown_url", "no such endpoint"), SV_DONE;
    }
    if (len > lim->max_body)
        return sv_error(r, 413, "invalid_request_error", "body_too_large",
                        "the body has %zu bytes; at most %zu", len, lim->max_body), SV_DONE;
    if (parse_body(body, len, &j, r))
        return SV_DONE;
    if (!(q = req_new(s, lim, ep))) {
        cJSON_Delete(j);
        return nomem(r), SV_DONE;
    }
    r->status = 0;
    switch (ep) {
    case SV_EP_EMBEDDINGS: rc = begin_embeddings(q, j, r); break;
    case SV_EP_EMBED: rc = begin_tei(q, j, r); break;
    case SV_EP_SIMILAR: rc = begin_similar(q, j, r); break;
    case SV_EP_RECOMMEND: rc = begin_recommend(q, j, r); break;
    default: rc = begin_query(q, j, r); break;
    }
    cJSON_Delete(j);
    if (rc == SV_ENCODE && !r->status) {
        *out = q;
        return SV_ENCODE;
    }
    if (rc == SV_DONE && !r->status)
        answer_lists(q, r);
    sv_req_free(q);
    return SV_DONE;
}

void sv_finish(sv_req *q, int enc_rc, const char *enc_msg, sv_resp *r)
{
    if (enc_rc) {
        sv_error(r, enc_rc == -ERR_BUSY ? 503 : 500, "server_error", "encoder", "encoding failed: %s",
                 enc_msg ? enc_msg : "?");
        return;
    }
    if (q->ep == SV_EP_EMBEDDINGS || q->ep == SV_EP_EMBED)
        answer_embeddings(q, r);
    else
        answer_lists(q, r);
}

/* ---- auth ---------------------------------------------------------------------- */

int sv_auth_ok(const char *header, const char *token)
{
    size_t tl = strlen(token), hl;
    unsigned diff;

    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return 0;
    header += 7;
    while (*header == ' ')
        header++;
    hl = strlen(header);
    while (hl && (header[hl - 1] == ' ' || header[hl - 1] == '\t'))
        hl--;
    /* the time depends on the token's length only, never on where the
     * bytes first differ */
    diff = (unsigned)(hl != tl);
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned)((unsigned char)token[i] ^ (unsigned char)(i < hl ? header[i] : 0));
    return diff == 0;
}

sv_limits sv_limits_default(void)
{
    return (sv_limits){.max_body = 4u << 20, .max_inputs = 2048, .max_history = 1000,
                       .max_filters = 16};
}
