/* milvus.c - Milvus REST API v2 client (see milvus.h).
 *
 * Requests are JSON written with a small string buffer (an insert batch is
 * megabytes of floats; "%.9g" keeps every float32 exact); answers are read
 * with cJSON and checked field by field, since the server is untrusted.  The
 * request and answer shapes follow the REST v2 reference pages
 * (milvus.io/api-reference/restful/v2.4.x/v2/...: Collection (v2)/Create,
 * Describe, Load, Drop, Get Load State; Vector (v2)/Insert, Upsert, Delete,
 * Search, Query; Index (v2)/Create, Describe) and the filter grammar and
 * string escapes of milvus.io/docs/boolean.md and basic-operators.md.
 */
#include "milvus.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "mem.h"

#define MV_BACKOFF_CAP_MS 5000
#define MV_MSG_MAX 200          /* bytes of a server message kept in ours */
#define MV_INT_EXACT 9007199254740992.0   /* 2^53: larger doubles lose ids */

struct milvus {
    http_client *http;
    char *base;                 /* uri without a trailing '/' */
    char *db;                   /* NULL: default database */
    char *token;                /* NULL: no Authorization header */
    int retries;
    long backoff_ms;
    progress *prog;
    size_t n_requests, n_retries;
    char *url;                  /* scratch: base + path */
    size_t url_cap;
};

/* ---- string buffer ---------------------------------------------------------- */

typedef struct mv_buf {
    char *p;
    size_t len, cap;
    int failed;
} mv_buf;

static void buf_reserve(mv_buf *b, size_t more)
{
    if (!b->failed && (more > SIZE_MAX / 2 - b->len ||
                       mem_grow(&b->p, &b->cap, b->len + more + 1, 1) < 0))
        b->failed = 1;
}

static void buf_add(mv_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(mv_buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(mv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_fmt(mv_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* s as a JSON string: ", \ and control characters escaped, invalid UTF-8
 * replaced by U+FFFD (a JSON decoder would reject or mangle it). */
static void buf_json_str(mv_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t l;
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            buf_add(b, t, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            buf_fmt(b, "\\u%04x", c);
            i++;
        } else if ((l = utf8_len(p + i, n - i)) == 0) {
            buf_str(b, "\\ufffd");
            i++;
        } else {
            buf_add(b, (const char *)p + i, l);
            i += l;
        }
    }
    buf_add(b, "\"", 1);
}

/* A Milvus string literal (the Go escapes its parser undoes): ", \ and
 * control characters escaped; \u00XX rather than \xXX, whose hex run would
 * swallow a following hex digit. */
static void buf_expr_str(mv_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    buf_add(b, "\"", 1);
    for (; *p; p++) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            buf_add(b, t, 2);
        } else if (c == '\n') {
            buf_str(b, "\\n");
        } else if (c == '\r') {
            buf_str(b, "\\r");
        } else if (c == '\t') {
            buf_str(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            buf_fmt(b, "\\u%04x", c);
        } else {
            char t = (char)c;
            buf_add(b, &t, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* ---- client ------------------------------------------------------------------- */

milvus_opts milvus_opts_default(void)
{
    milvus_opts o = {.connect_timeout_ms = 3000, .timeout_ms = 30000, .retries = 3,
                     .backoff_ms = 200};
    return o;
}

int milvus_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MILVUS_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

/* http(s)://host[:port][/path] with nothing a URI should not carry here:
 * credentials (they belong in token_file), a query or a fragment. */
int milvus_check_uri(const char *uri, err *e)
{
    const char *h;
    size_t hl;
    if (!uri || !*uri)
        return err_set(e, ERR_USAGE, "milvus: uri= is required (http://HOST:19530)");
    if (strncmp(uri, "http://", 7) == 0)
        h = uri + 7;
    else if (strncmp(uri, "https://", 8) == 0)
        h = uri + 8;
    else
        return err_set(e, ERR_USAGE, "milvus: uri=%.200s: expected http:// or https://", uri);
    hl = strcspn(h, "/");
    if (hl == 0)
        return err_set(e, ERR_USAGE, "milvus: uri=%.200s: no host", uri);
    if (memchr(h, '@', hl))
        return err_set(e, ERR_USAGE, "milvus: the uri must not hold credentials: put the token "
                       "in token_file= or $MILVUS_TOKEN");
    for (const char *p = uri; *p; p++)
        if (*p == '?' || *p == '#' || *p == ' ' || (unsigned char)*p < 0x20)
            return err_set(e, ERR_USAGE, "milvus: uri=%.200s: no query, fragment or space "
                           "allowed", uri);
    return 0;
}

milvus *milvus_new(const milvus_opts *o, err *e)
{
    milvus_opts d = milvus_opts_default();
    http_opts ho = http_opts_default();
    milvus *m;
    size_t n;

    if (!o)
        o = &d;
    if (milvus_check_uri(o->uri, e) < 0)
        return NULL;
    if (o->db && *o->db && !milvus_name_ok(o->db)) {
        err_set(e, ERR_USAGE, "milvus: db=%.100s is not a valid database name", o->db);
        return NULL;
    }
    if (o->connect_timeout_ms < 0 || o->timeout_ms < 0 || o->retries < 0 || o->backoff_ms < 0) {
        err_set(e, ERR_USAGE, "milvus: timeouts, retries and backoff must be >= 0");
        return NULL;
    }
    if (!(m = mem_calloc(1, sizeof *m)))
        goto nomem;
    ho.connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : d.connect_timeout_ms;
    ho.timeout_ms = o->timeout_ms ? o->timeout_ms : d.timeout_ms;
    ho.ca_file = o->ca_file && *o->ca_file ? o->ca_file : NULL;
    m->retries = o->retries;
    m->backoff_ms = o->backoff_ms;
    n = strlen(o->uri);
    while (n > 0 && o->uri[n - 1] == '/')
        n--;
    if (!(m->base = mem_strndup(o->uri, n)) ||
        (o->db && *o->db && !(m->db = mem_strdup(o->db))) ||
        (o->token && *o->token && !(m->token = mem_strdup(o->token))))
        goto nomem;
    if (!(m->http = http_client_new(&ho, e))) {
        milvus_free(m);
        return NULL;
    }
    return m;
nomem:
    milvus_free(m);
    err_set(e, ERR_NOMEM, "out of memory for a Milvus client");
    return NULL;
}

void milvus_free(milvus *m)
{
    if (!m)
        return;
    if (m->token) {
        volatile char *v = m->token;
        for (size_t i = 0; v[i]; i++)
            v[i] = 0;
        mem_free(m->token);
    }
    http_client_free(m->http);
    mem_free(m->base);
    mem_free(m->db);
    mem_free(m->url);
    mem_free(m);
}

void milvus_set_progress(milvus *m, progress *p)
{
    if (m)
        m->prog = p;
}

void milvus_counters(const milvus *m, size_t *requests, size_t *retries)
{
    if (requests)
        *requests = m ? m->n_requests : 0;
    if (retries)
        *retries = m ? m->n_retries : 0;
}

/* ---- answers ------------------------------------------------------------------ */

/* A server message made safe to show: control characters (an ANSI escape
 * could repaint the terminal) become '?', cut at MV_MSG_MAX bytes. */
static void clean_msg(const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i] && j + 1 < cap && j < MV_MSG_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[j] = '\0';
}

/* An integer id from a JSON number (integral, |x| <= 2^53) or a string of
 * digits (Milvus may send int64 as strings). */
static int json_i64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) > MV_INT_EXACT)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (cJSON_IsString(v) && v->valuestring && *v->valuestring) {
        char *end;
        errno = 0;
        long long x = strtoll(v->valuestring, &end, 10);
        if (errno || *end)
            return -1;
        *out = (int64_t)x;
        return 0;
    }
    return -1;
}

/* A non-negative count: a number or a numeric string. */
static int json_count(const cJSON *v, int64_t *out)
{
    return json_i64(v, out) < 0 || *out < 0 ? -1 : 0;
}

static void json_copy_str(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    clean_msg(cJSON_IsString(v) ? v->valuestring : "", out, cap);
}

static int bad(err *e, const char *what)
{
    return err_set(e, ERR_PARSE, "milvus answer: %s", what);
}

static int parse_describe(const cJSON *d, milvus_reply *out, err *e)
{
    const cJSON *fields, *f, *v;
    milvus_collection *c = &out->coll;

    if (!cJSON_IsObject(d))
        return bad(e, "describe: data is not an object");
    fields = cJSON_GetObjectItemCaseSensitive(d, "fields");
    if (!cJSON_IsArray(fields))
        return bad(e, "describe: no fields array");
    c->exists = 1;
    cJSON_ArrayForEach(f, fields) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(f, "params"), *p;
        if (!cJSON_IsObject(f) || !cJSON_IsString(name))
            return bad(e, "describe: a field without a name");
        const char *nm = name->valuestring;
        c->has_id |= strcmp(nm, "id") == 0;
        c->has_category |= strcmp(nm, "category") == 0;
        c->has_title |= strcmp(nm, "title") == 0;
        c->has_attrs |= strcmp(nm, "attrs") == 0;
        if (strcmp(nm, "vector") != 0 || !params)
            continue;
        /* params: [{"key": "dim", "value": "5"}] (documented) or {"dim": ...} */
        const cJSON *dim = NULL;
        if (cJSON_IsArray(params)) {
            cJSON_ArrayForEach(p, params) {
                const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "key");
                if (cJSON_IsString(k) && strcmp(k->valuestring, "dim") == 0)
                    dim = cJSON_GetObjectItemCaseSensitive(p, "value");
            }
        } else if (cJSON_IsObject(params)) {
            dim = cJSON_GetObjectItemCaseSensitive(params, "dim");
        }
        if (dim && (json_count(dim, &c->dim) < 0 || c->dim > MILVUS_MAX_DIM))
            return bad(e, "describe: the vector dimension is not a valid count");
    }
    json_copy_str(d, "load", c->load, sizeof c->load);
    v = cJSON_GetObjectItemCaseSensitive(d, "shardsNum");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e6)
        c->shards = (int)v->valuedouble;
    return 0;
}

static int parse_index(const cJSON *d, milvus_reply *out, err *e)
{
    const cJSON *x, *v;
    milvus_index_info *ix = &out->index;
    if (!cJSON_IsArray(d))
        return bad(e, "indexes/describe: data is not an array");
    x = cJSON_GetArrayItem(d, 0);
    if (!x)
        return 0;   /* no index */
    if (!cJSON_IsObject(x))
        return bad(e, "indexes/describe: an entry is not an object");
    ix->exists = 1;
    json_copy_str(x, "indexType", ix->index_type, sizeof ix->index_type);
    json_copy_str(x, "metricType", ix->metric, sizeof ix->metric);
    json_copy_str(x, "indexState", ix->state, sizeof ix->state);
    json_copy_str(x, "failReason", ix->fail_reason, sizeof ix->fail_reason);
    ix->indexed_rows = ix->total_rows = ix->pending_rows = -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(x, "indexedRows")) && json_count(v, &ix->indexed_rows) < 0)
        return bad(e, "indexes/describe: indexedRows is not a count");
    if ((v = cJSON_GetObjectItemCaseSensitive(x, "totalRows")) && json_count(v, &ix->total_rows) < 0)
        return bad(e, "indexes/describe: totalRows is not a count");
    if ((v = cJSON_GetObjectItemCaseSensitive(x, "pendingRows")) && json_count(v, &ix->pending_rows) < 0)
        return bad(e, "indexes/describe: pendingRows is not a count");
    return 0;
}

/* data: [{"id": .., "distance": ..}, ...] (search) or [{"id": ..}] (query) */
static int parse_hits(const cJSON *d, int with_scores, milvus_reply *out, err *e)
{
    const cJSON *h;
    if (!cJSON_IsArray(d))
        return bad(e, "results: data is not an array");
    cJSON_ArrayForEach(h, d) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(h, "id");
        if (!cJSON_IsObject(h))
            return bad(e, "results: an entry is not an object");
        if (out->n >= out->cap)
            return bad(e, "results: more entries than asked for");
        if (!id || json_i64(id, &out->ids[out->n]) < 0)
            return bad(e, "results: an entry without a valid integer id");
        if (with_scores) {
            const cJSON *dist = cJSON_GetObjectItemCaseSensitive(h, "distance");
            if (!cJSON_IsNumber(dist) || !isfinite(dist->valuedouble) ||
                fabs(dist->valuedouble) > 3.4e38)
                return bad(e, "results: an entry without a finite distance");
            out->scores[out->n] = (float)dist->valuedouble;
        }
        out->n++;
    }
    return 0;
}

/* Milvus code -> our error code (merr codes, pkg/util/merr/errors.go). */
static int code_class(long code, const char *msg, int *retriable)
{
    long c = code & 0xffff;
    *retriable = (code & (1L << 20)) != 0 || c == 1 || c == 2 || c == 4 || c == 8 || c == 103;
    if (c == 100 || c == 700 || c == 800 || strstr(msg, "can't find collection") ||
        strstr(msg, "collection not found"))
        return ERR_NOTFOUND;
    if (c == 1100 || c == 1101 || c == 1802 || c == 1804 || c == 701)
        return ERR_RANGE;
    if (c == 1400 || c == 1401 || c == 1800)
        return ERR_USAGE;
    return ERR_IO;
}

static const char *kind_name(milvus_reply_kind k)
{
    static const char *const names[] = {"status", "collections/describe",
                                        "collections/get_load_state", "indexes/describe",
                                        "entities/search", "entities/query", "entities/query",
                                        "entities/write"};
    return (unsigned)k < MILVUS_R_N_ ? names[k] : "?";
}

int milvus_parse_reply(milvus_reply_kind kind, const char *body, size_t len, milvus_reply *out,
                       err *e)
{
    cJSON *root, *code, *data;
    int rc = 0;

    out->code = 0;
    out->retriable = 0;
    out->n = 0;
    memset(&out->coll, 0, sizeof out->coll);
    memset(&out->index, 0, sizeof out->index);
    out->load_state[0] = '\0';
    out->load_progress = -1;
    out->count = -1;
    if ((unsigned)kind >= MILVUS_R_N_)
        return err_set(e, ERR_USAGE, "milvus_parse_reply: unknown kind %d", (int)kind);
    if (!body || len == 0)
        return bad(e, "empty body");
    root = cJSON_ParseWithLength(body, len);
    if (!root) {
        /* cJSON says NULL for a failed allocation too: a probe tells them apart */
        void *probe = mem_alloc(len + 256);
        if (!probe)
            return err_set(e, ERR_NOMEM, "out of memory reading a Milvus answer");
        mem_free(probe);
        return bad(e, "not JSON");
    }
    if (!cJSON_IsObject(root)) {
        rc = bad(e, "not a JSON object");
        goto done;
    }
    code = cJSON_GetObjectItemCaseSensitive(root, "code");
    if (!cJSON_IsNumber(code) || !isfinite(code->valuedouble) ||
        code->valuedouble != floor(code->valuedouble) || fabs(code->valuedouble) > 1e12) {
        rc = bad(e, "no integer \"code\"");
        goto done;
    }
    out->code = (long)code->valuedouble;
    if (out->code != 0 && out->code != 200) {
        char msg[MV_MSG_MAX + 1];
        json_copy_str(root, "message", msg, sizeof msg);
        int cls = code_class(out->code, msg, &out->retriable);
        rc = err_set(e, cls, "Milvus %s: %s (code %ld)", kind_name(kind),
                     msg[0] ? msg : "no message", out->code);
        goto done;
    }
    out->code = 0;
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    switch (kind) {
    case MILVUS_R_STATUS:
        break;
    case MILVUS_R_DESCRIBE:
        rc = parse_describe(data, out, e);
        break;
    case MILVUS_R_LOAD_STATE: {
        const cJSON *st, *pg;
        if (!cJSON_IsObject(data) ||
            !cJSON_IsString(st = cJSON_GetObjectItemCaseSensitive(data, "loadState"))) {
            rc = bad(e, "get_load_state: no loadState");
            break;
        }
        clean_msg(st->valuestring, out->load_state, sizeof out->load_state);
        pg = cJSON_GetObjectItemCaseSensitive(data, "loadProgress");
        if (cJSON_IsNumber(pg) && pg->valuedouble >= 0 && pg->valuedouble <= 100)
            out->load_progress = (int)pg->valuedouble;
        break;
    }
    case MILVUS_R_INDEX:
        rc = parse_index(data, out, e);
        break;
    case MILVUS_R_SEARCH:
    case MILVUS_R_QUERY_IDS:
        if (!out->ids || (kind == MILVUS_R_SEARCH && !out->scores))
            rc = err_set(e, ERR_USAGE, "milvus_parse_reply: no result arrays");
        else
            rc = parse_hits(data, kind == MILVUS_R_SEARCH, out, e);
        break;
    case MILVUS_R_COUNT: {
        const cJSON *x = cJSON_GetArrayItem(data, 0);
        const cJSON *c = cJSON_IsObject(x) ? cJSON_GetObjectItemCaseSensitive(x, "count(*)") : NULL;
        if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != 1 || !c ||
            json_count(c, &out->count) < 0)
            rc = bad(e, "count(*): expected data [{\"count(*)\": N}]");
        break;
    }
    case MILVUS_R_WRITE: {
        const cJSON *c = NULL;
        if (cJSON_IsObject(data)) {
            c = cJSON_GetObjectItemCaseSensitive(data, "insertCount");
            if (!c)
                c = cJSON_GetObjectItemCaseSensitive(data, "upsertCount");
        }
        if (c && json_count(c, &out->count) < 0)
            rc = bad(e, "insert/upsert: the count is not a count");
        break;
    }
    default:
        break;
    }
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- calls ---------------------------------------------------------------------- */

/* Sleeps ms, waking every 20 ms to honour a cancel.  1 if cancelled. */
static int nap(milvus *m, long ms)
{
    while (ms > 0) {
        long step = ms > 20 ? 20 : ms;
        struct timespec ts = {0, step * 1000000L};
        if (progress_cancelled(m->prog))
            return 1;
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return progress_cancelled(m->prog);
}

/* What a call does with an HTTP 200 answer: parses it into ud (0 or more
 * on success); *retriable says whether a failure may pass on a retry. */
typedef int (*mv_parse_fn)(const char *body, size_t len, void *ud, int *retriable, err *e);

/* Sends body to url (a JSON POST with the token; body NULL: a GET without
 * it) and parses the answer with parse.  An idempotent call is retried on
 * transport failures, 5xx and retriable answers, with doubling backoff.
 * `what` names the operation in messages. */
static int exchange(milvus *m, const char *url, const mv_buf *body, int idempotent,
                    mv_parse_fn parse, void *ud, const char *what, int *transient_out, err *e)
{
    long delay = m->backoff_ms;
    int attempt = 0, rc, transient = 0;

    for (;;) {
        http_reply r;
        int retriable = 0;
        m->n_requests++;
        rc = !body ? http_get(m->http, url, m->prog, &r, e)
                   : (idempotent ? http_post : http_post_once)(m->http, url, m->token, body->p,
                                                               body->len, m->prog, &r, e);
        if (rc == 0) {
            if (body && (r.status == 401 || r.status == 403)) {
                rc = err_set(e, ERR_USAGE, "%s: Milvus refused the credentials (HTTP %ld): "
                             "check token_file= or $MILVUS_TOKEN", what, r.status);
                transient = 0;
            } else if (r.status != 200) {
                char msg[MV_MSG_MAX + 1];
                clean_msg(r.body, msg, sizeof msg);
                rc = err_set(e, ERR_IO, "%s: HTTP %ld from %s%s%s", what, r.status, url,
                             msg[0] ? ": " : "", msg);
                transient = r.transient;
            } else {
                rc = parse(r.body, r.len, ud, &retriable, e);
                transient = rc < 0 && rc != -ERR_PARSE && retriable;
                if (rc < 0)
                    err_prefix(e, "%s", what);
            }
        } else {
            transient = r.transient;
            if (rc != -ERR_CANCEL)
                err_prefix(e, "%s", what);
        }
        if (rc >= 0 || !idempotent || !transient || attempt >= m->retries)
            break;
        attempt++;
        m->n_retries++;
        if (nap(m, delay))
            return err_set(e, ERR_CANCEL, "%s: cancelled", what);
        delay = delay * 2 > MV_BACKOFF_CAP_MS ? MV_BACKOFF_CAP_MS : delay * 2;
    }
    if (rc < 0 && attempt > 0 && rc != -ERR_CANCEL)
        err_prefix(e, "after %d attempts", attempt + 1);
    if (transient_out)
        *transient_out = rc < 0 && transient;
    return rc;
}

typedef struct reply_ud {
    milvus_reply_kind kind;
    milvus_reply *out;
} reply_ud;

static int parse_json(const char *body, size_t len, void *ud, int *retriable, err *e)
{
    reply_ud *u = ud;
    u->out->n = 0;   /* a retry starts afresh */
    int rc = milvus_parse_reply(u->kind, body, len, u->out, e);
    *retriable = u->out->retriable;
    return rc;
}

/* POSTs body to /v2/vectordb/<path> and parses the answer as `kind` into
 * out (see exchange). */
static int call_t(milvus *m, const char *path, const mv_buf *body, int idempotent,
                  milvus_reply_kind kind, milvus_reply *out, const char *what,
                  int *transient_out, err *e)
{
    size_t need;
    reply_ud u = {kind, out};

    if (body->failed)
        return err_set(e, ERR_NOMEM, "out of memory building a Milvus request");
    need = strlen(m->base) + strlen("/v2/vectordb/") + strlen(path) + 1;
    if (need > m->url_cap) {
        char *url = mem_realloc(m->url, need);
        if (!url)
            return err_set(e, ERR_NOMEM, "out of memory building a Milvus request");
        m->url = url;
        m->url_cap = need;
    }
    snprintf(m->url, m->url_cap, "%s/v2/vectordb/%s", m->base, path);
    return exchange(m, m->url, body, idempotent, parse_json, &u, what, transient_out, e);
}

static int call(milvus *m, const char *path, const mv_buf *body, int idempotent,
                milvus_reply_kind kind, milvus_reply *out, const char *what, err *e)
{
    return call_t(m, path, body, idempotent, kind, out, what, NULL, e);
}

/* One request: its body, its answer, and what it does (for messages). */
typedef struct mv_req {
    mv_buf b;
    milvus_reply r;
    char what[300];
} mv_req;

/* Checks the collection name, names the operation and starts the body with
 * {"dbName": .., "collectionName": .. (the head of every v2 body). */
static int req_begin(milvus *m, mv_req *q, const char *coll, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int req_begin(milvus *m, mv_req *q, const char *coll, const char *fmt, ...)
{
    va_list ap;
    memset(q, 0, sizeof *q);
    va_start(ap, fmt);
    vsnprintf(q->what, sizeof q->what, fmt, ap);
    va_end(ap);
    if (!milvus_name_ok(coll))
        return -ERR_USAGE;
    buf_str(&q->b, "{");
    if (m->db) {
        buf_str(&q->b, "\"dbName\":");
        buf_json_str(&q->b, m->db);
        buf_str(&q->b, ",");
    }
    buf_str(&q->b, "\"collectionName\":");
    buf_json_str(&q->b, coll);
    return 0;
}

/* Closes the body with tail, sends it and frees it. */
static int req_send(milvus *m, mv_req *q, const char *tail, const char *path, int idempotent,
                    milvus_reply_kind kind, int *transient, err *e)
{
    int rc;
    buf_str(&q->b, tail);
    rc = call_t(m, path, &q->b, idempotent, kind, &q->r, q->what, transient, e);
    mem_free(q->b.p);
    q->b.p = NULL;
    return rc;
}

static int bad_coll(const char *coll, err *e)
{
    return err_set(e, ERR_USAGE, "milvus: collection=%.100s: a name is a letter or _ followed "
                   "by letters, digits and _ (at most %d)", coll ? coll : "", MILVUS_NAME_MAX);
}

/* A call whose body is only the head. */
static int simple(milvus *m, const char *path, const char *coll, milvus_reply_kind kind,
                  mv_req *q, const char *what, err *e)
{
    if (req_begin(m, q, coll, "%s collection %s", what, coll ? coll : "") < 0)
        return bad_coll(coll, e);
    return req_send(m, q, "}", path, 1, kind, NULL, e);
}

int milvus_describe_collection(milvus *m, const char *name, milvus_collection *out, err *e)
{
    mv_req q;
    int rc = simple(m, "collections/describe", name, MILVUS_R_DESCRIBE, &q, "describe", e);
    memset(out, 0, sizeof *out);
    if (rc == -ERR_NOTFOUND)
        return 0;
    if (rc == 0)
        *out = q.r.coll;
    return rc;
}

int milvus_create_collection(milvus *m, const char *name, size_t dim, const char *consistency,
                             int shards, err *e)
{
    mv_req q;
    if (dim == 0 || dim > MILVUS_MAX_DIM)
        return err_set(e, ERR_RANGE, "milvus: dimension %zu out of range (1..%d)", dim,
                       MILVUS_MAX_DIM);
    if (req_begin(m, &q, name, "create collection %s", name ? name : "") < 0)
        return bad_coll(name, e);
    /* schema: fields as in Collection (v2)/Create; elementTypeParams values
     * as strings, like its examples ("dim": "5") */
    buf_str(&q.b, ",\"schema\":{\"autoID\":false,\"enableDynamicField\":false,\"fields\":["
                  "{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true},");
    buf_fmt(&q.b, "{\"fieldName\":\"vector\",\"dataType\":\"FloatVector\","
                  "\"elementTypeParams\":{\"dim\":\"%zu\"}},", dim);
    buf_fmt(&q.b, "{\"fieldName\":\"category\",\"dataType\":\"VarChar\","
                  "\"elementTypeParams\":{\"max_length\":\"%d\"}},", MILVUS_VARCHAR_MAX);
    buf_fmt(&q.b, "{\"fieldName\":\"title\",\"dataType\":\"VarChar\","
                  "\"elementTypeParams\":{\"max_length\":\"%d\"}},", MILVUS_VARCHAR_MAX);
    buf_str(&q.b, "{\"fieldName\":\"attrs\",\"dataType\":\"JSON\"}]},\"params\":{");
    buf_str(&q.b, "\"consistencyLevel\":");
    buf_json_str(&q.b, consistency && *consistency ? consistency : "Strong");
    if (shards > 0)
        buf_fmt(&q.b, ",\"shardsNum\":%d", shards);
    /* not idempotent: a lost answer is settled by describing (the caller) */
    return req_send(m, &q, "}}", "collections/create", 0, MILVUS_R_STATUS, NULL, e);
}

int milvus_drop_collection(milvus *m, const char *name, err *e)
{
    mv_req q;
    int rc = simple(m, "collections/drop", name, MILVUS_R_STATUS, &q, "drop", e);
    return rc == -ERR_NOTFOUND ? 0 : rc;   /* a retry after a lost answer finds none */
}

int milvus_load_collection(milvus *m, const char *name, err *e)
{
    mv_req q;
    return simple(m, "collections/load", name, MILVUS_R_STATUS, &q, "load", e);
}

int milvus_load_state(milvus *m, const char *name, char *state, size_t cap, int *pct, err *e)
{
    mv_req q;
    int rc = simple(m, "collections/get_load_state", name, MILVUS_R_LOAD_STATE, &q,
                    "the load state of", e);
    if (rc == 0) {
        snprintf(state, cap, "%s", q.r.load_state);
        if (pct)
            *pct = q.r.load_progress;
    }
    return rc;
}

int milvus_create_index(milvus *m, const char *coll, const milvus_index_params *ip, err *e)
{
    mv_req q;
    if (req_begin(m, &q, coll, "create the index of collection %s", coll ? coll : "") < 0)
        return bad_coll(coll, e);
    buf_str(&q.b, ",\"indexParams\":[{\"fieldName\":\"vector\",\"indexName\":\"vector\","
                  "\"metricType\":");
    buf_json_str(&q.b, ip->metric);
    buf_str(&q.b, ",\"params\":{\"index_type\":");
    buf_json_str(&q.b, ip->index_type);
    if (strncmp(ip->index_type, "IVF", 3) == 0)
        buf_fmt(&q.b, ",\"nlist\":%d", ip->nlist);
    else if (strcmp(ip->index_type, "HNSW") == 0)
        buf_fmt(&q.b, ",\"M\":%d,\"efConstruction\":%d", ip->M, ip->ef_construction);
    /* the same index twice is accepted by Milvus: safe to retry */
    return req_send(m, &q, "}}]}", "indexes/create", 1, MILVUS_R_STATUS, NULL, e);
}

int milvus_describe_index(milvus *m, const char *coll, milvus_index_info *out, err *e)
{
    mv_req q;
    int rc;
    memset(out, 0, sizeof *out);
    if (req_begin(m, &q, coll, "describe the index of collection %s", coll ? coll : "") < 0)
        return bad_coll(coll, e);
    rc = req_send(m, &q, ",\"indexName\":\"vector\"}", "indexes/describe", 1, MILVUS_R_INDEX,
                  NULL, e);
    if (rc == 0)
        *out = q.r.index;
    else if (rc == -ERR_NOTFOUND && (q.r.code & 0xffff) == 700)
        rc = 0;   /* index not found: exists = 0 */
    return rc;
}

/* ---- entities ------------------------------------------------------------------- */

static void buf_floats(mv_buf *b, const float *v, size_t n)
{
    buf_str(b, "[");
    for (size_t j = 0; j < n; j++)
        buf_fmt(b, j ? ",%.9g" : "%.9g", (double)v[j]);
    buf_str(b, "]");
}

/* attrs as stored: the JSON object re-printed (valid by construction), or {}. */
static void buf_attrs(mv_buf *b, const char *json)
{
    cJSON *j = json && *json ? cJSON_Parse(json) : NULL;
    char *s = cJSON_IsObject(j) ? cJSON_PrintUnformatted(j) : NULL;
    buf_str(b, s ? s : "{}");
    if (s)
        cJSON_free(s);
    cJSON_Delete(j);
}

static void buf_id_list(mv_buf *b, const int64_t *ids, size_t n)
{
    buf_str(b, "[");
    for (size_t i = 0; i < n; i++)
        buf_fmt(b, i ? ",%lld" : "%lld", (long long)ids[i]);
    buf_str(b, "]");
}

/* ,"filter":"id in [...]" (digits, commas and brackets: nothing to escape) */
static void buf_id_filter(mv_buf *b, const int64_t *ids, size_t n)
{
    buf_str(b, ",\"filter\":\"id in ");
    buf_id_list(b, ids, n);
    buf_str(b, "\"");
}

int milvus_write(milvus *m, const char *coll, int mode, const int64_t *ids, const float *data,
                 const milvus_row *rows, size_t n, size_t dim, err *e)
{
    mv_req q;
    int rc, transient = 0;

    if (!milvus_name_ok(coll))
        return bad_coll(coll, e);
    if (n == 0)
        return 0;
    if (!ids || !data)
        return err_set(e, ERR_USAGE, "milvus_write: no ids or vectors");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(data[i * dim + j]))
                return err_set(e, ERR_RANGE, "milvus: vector of id %lld has a non-finite value",
                               (long long)ids[i]);
        if (rows && ((rows[i].category && strlen(rows[i].category) > MILVUS_VARCHAR_MAX) ||
                     (rows[i].title && strlen(rows[i].title) > MILVUS_VARCHAR_MAX)))
            return err_set(e, ERR_RANGE, "milvus: item %lld: category or title longer than %d "
                           "bytes (a VarChar's limit)", (long long)ids[i], MILVUS_VARCHAR_MAX);
    }
    req_begin(m, &q, coll, "%s %zu entities into collection %s",
              mode == MILVUS_UPSERT ? "upsert" : "insert", n, coll);
    buf_str(&q.b, ",\"data\":[");
    for (size_t i = 0; i < n && !q.b.failed; i++) {
        buf_fmt(&q.b, "%s{\"id\":%lld,\"vector\":", i ? "," : "", (long long)ids[i]);
        buf_floats(&q.b, data + i * dim, dim);
        buf_str(&q.b, ",\"category\":");
        buf_json_str(&q.b, rows ? rows[i].category : "");
        buf_str(&q.b, ",\"title\":");
        buf_json_str(&q.b, rows ? rows[i].title : "");
        buf_str(&q.b, ",\"attrs\":");
        buf_attrs(&q.b, rows ? rows[i].attrs_json : NULL);
        buf_str(&q.b, "}");
    }
    buf_str(&q.b, "]}");
    rc = call_t(m, mode == MILVUS_UPSERT ? "entities/upsert" : "entities/insert", &q.b,
                mode == MILVUS_UPSERT, MILVUS_R_WRITE, &q.r, q.what, &transient, e);
    if (rc < 0 && mode == MILVUS_INSERT_OR_UPSERT && transient && rc != -ERR_CANCEL) {
        /* the insert may or may not have landed: upsert the same rows, which
         * is idempotent by primary key (and retried) */
        m->n_retries++;
        snprintf(q.what, sizeof q.what, "upsert %zu entities into collection %s (an insert "
                 "whose answer was lost)", n, coll);
        rc = call(m, "entities/upsert", &q.b, 1, MILVUS_R_WRITE, &q.r, q.what, e);
    }
    mem_free(q.b.p);
    if (rc == 0 && q.r.count >= 0 && (size_t)q.r.count != n)
        rc = err_set(e, ERR_IO, "%s: Milvus wrote %lld of them", q.what, (long long)q.r.count);
    return rc;
}

int milvus_delete_ids(milvus *m, const char *coll, const int64_t *ids, size_t n, err *e)
{
    mv_req q;
    if (req_begin(m, &q, coll, "delete %zu entities from collection %s", n, coll ? coll : "") < 0)
        return bad_coll(coll, e);
    if (n == 0) {
        mem_free(q.b.p);
        return 0;
    }
    buf_id_filter(&q.b, ids, n);
    return req_send(m, &q, "}", "entities/delete", 1, MILVUS_R_STATUS, NULL, e);
}

int milvus_query_ids(milvus *m, const char *coll, const int64_t *ids, size_t n, int64_t *present,
                     err *e)
{
    mv_req q;
    int rc;
    if (n > MILVUS_MAX_TOPK)
        return err_set(e, ERR_RANGE, "milvus_query_ids: at most %d ids", MILVUS_MAX_TOPK);
    if (req_begin(m, &q, coll, "query ids in collection %s", coll ? coll : "") < 0)
        return bad_coll(coll, e);
    if (n == 0) {
        mem_free(q.b.p);
        return 0;
    }
    buf_id_filter(&q.b, ids, n);
    buf_fmt(&q.b, ",\"outputFields\":[\"id\"],\"limit\":%zu", n);
    q.r.ids = present;
    q.r.cap = n;
    rc = req_send(m, &q, "}", "entities/query", 1, MILVUS_R_QUERY_IDS, NULL, e);
    return rc < 0 ? rc : (int)q.r.n;
}

int milvus_count(milvus *m, const char *coll, int64_t *n_out, err *e)
{
    mv_req q;
    int rc;
    if (req_begin(m, &q, coll, "count the entities of collection %s", coll ? coll : "") < 0)
        return bad_coll(coll, e);
    rc = req_send(m, &q, ",\"filter\":\"\",\"outputFields\":[\"count(*)\"]}", "entities/query",
                  1, MILVUS_R_COUNT, NULL, e);
    if (rc == 0)
        *n_out = q.r.count;
    return rc;
}

int milvus_search(milvus *m, const milvus_search_req *s, int64_t *ids, float *dist, err *e)
{
    mv_req q;
    int rc;

    if (s->k < 1 || s->k > MILVUS_MAX_TOPK)
        return err_set(e, ERR_RANGE, "milvus: k=%d out of range (1..%d)", s->k, MILVUS_MAX_TOPK);
    if (!s->q || s->dim == 0 || !ids || !dist)
        return err_set(e, ERR_USAGE, "milvus_search: bad arguments");
    for (size_t j = 0; j < s->dim; j++)
        if (!isfinite(s->q[j]))
            return err_set(e, ERR_RANGE, "milvus: the query has a non-finite value");
    if (req_begin(m, &q, s->coll, "search collection %s", s->coll ? s->coll : "") < 0)
        return bad_coll(s->coll, e);
    buf_str(&q.b, ",\"data\":[");
    buf_floats(&q.b, s->q, s->dim);
    buf_fmt(&q.b, "],\"annsField\":\"vector\",\"limit\":%d,\"outputFields\":[\"id\"]", s->k);
    if (s->filter && *s->filter) {
        buf_str(&q.b, ",\"filter\":");
        buf_json_str(&q.b, s->filter);
    }
    buf_str(&q.b, ",\"searchParams\":{\"metricType\":");
    buf_json_str(&q.b, s->metric ? s->metric : "COSINE");
    buf_str(&q.b, ",\"params\":{");
    if (s->param)
        buf_fmt(&q.b, "\"%s\":%d", s->param, s->param_value);
    q.r.ids = ids;
    q.r.scores = dist;
    q.r.cap = (size_t)s->k;
    rc = req_send(m, &q, "}}}", "entities/search", 1, MILVUS_R_SEARCH, NULL, e);
    return rc < 0 ? rc : (int)q.r.n;
}

/* ---- filter expressions ---------------------------------------------------------- */

int milvus_quote(const char *s, char **out, err *e)
{
    mv_buf b = {0};
    buf_expr_str(&b, s);
    if (b.failed) {
        mem_free(b.p);
        *out = NULL;
        return err_set(e, ERR_NOMEM, "out of memory quoting a string");
    }
    *out = b.p;
    return 0;
}

/* LIKE's own escapes: % and _ are wildcards, \ escapes them (and itself). */
static void buf_like_contains(mv_buf *b, const char *v)
{
    mv_buf p = {0};
    buf_add(&p, "%", 1);
    for (const char *s = v; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            buf_add(&p, "\\", 1);
        buf_add(&p, s, 1);
    }
    buf_add(&p, "%", 1);
    if (p.failed)
        b->failed = 1;
    else
        buf_expr_str(b, p.p);
    mem_free(p.p);
}

int milvus_filter_expr(const milvus_term *terms, size_t n_terms, const int64_t *exclude,
                       size_t n_exclude, char **out, err *e)
{
    mv_buf b = {0};
    int any = 0;

    *out = NULL;
    buf_str(&b, "");
    for (size_t i = 0; i < n_terms; i++) {
        const char *k = terms[i].key, *v = terms[i].value ? terms[i].value : "";
        if (!k || !*k) {
            mem_free(b.p);
            return err_set(e, ERR_USAGE, "filter: a term without a key");
        }
        int type = terms[i].type;
        int field = strcmp(k, "category") == 0 || strcmp(k, "title") == 0;
        if (any)
            buf_str(&b, " and ");
        any = 1;
        if ((field && type != MILVUS_TERM_TEXT && type != MILVUS_TERM_STR) ||
            (type == MILVUS_TERM_NUM && !isfinite(strtod(v, NULL)))) {
            buf_str(&b, "id in []");   /* a string field never equals a number */
        } else if (!field && type == MILVUS_TERM_STR) {
            buf_str(&b, "attrs[");
            buf_expr_str(&b, k);
            buf_str(&b, "] == ");
            buf_expr_str(&b, v);
        } else if (!field && type == MILVUS_TERM_NUM) {
            buf_str(&b, "attrs[");
            buf_expr_str(&b, k);
            buf_fmt(&b, "] == %.17g", strtod(v, NULL));
        } else if (!field && type == MILVUS_TERM_BOOL) {
            buf_str(&b, "attrs[");
            buf_expr_str(&b, k);
            buf_fmt(&b, "] == %s", strcmp(v, "true") == 0 ? "true" : "false");
        } else if (strcmp(k, "category") == 0) {
            buf_str(&b, "category == ");
            buf_expr_str(&b, v);
        } else if (strcmp(k, "title") == 0) {
            buf_str(&b, "title like ");
            buf_like_contains(&b, v);
        } else {
            /* as the local filter reads an attribute: the value as a string,
             * as strtod reads it, and as a boolean */
            double x = strtod(v, NULL);
            int t = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
            buf_str(&b, "(attrs[");
            buf_expr_str(&b, k);
            buf_str(&b, "] == ");
            buf_expr_str(&b, v);
            if (isfinite(x)) {
                buf_str(&b, " or attrs[");
                buf_expr_str(&b, k);
                buf_fmt(&b, "] == %.17g", x);
            }
            buf_str(&b, " or attrs[");
            buf_expr_str(&b, k);
            buf_fmt(&b, "] == %s)", t ? "true" : "false");
        }
    }
    if (n_exclude) {
        if (any)
            buf_str(&b, " and ");
        buf_str(&b, "id not in ");
        buf_id_list(&b, exclude, n_exclude);
    }
    if (b.failed) {
        mem_free(b.p);
        return err_set(e, ERR_NOMEM, "out of memory building a filter");
    }
    *out = b.p;
    return 0;
}

/* ---- memory, as the query nodes report it ------------------------------------- */

#define MV_LABEL_MAX 256        /* label values kept (longer ones never match) */
#define MV_MAX_IDS 16           /* collection ids one name may have (recreated) */
#define MV_METRIC_NUM "milvus_querynode_entity_num"
#define MV_METRIC_SIZE "milvus_querynode_entity_size"

/* One sample of the Prometheus text format: name{label="value",...} value
 * [timestamp].  Only the labels read here are kept, unescaped. */
typedef struct prom_sample {
    char coll_id[MV_LABEL_MAX], coll_name[MV_LABEL_MAX], db[MV_LABEL_MAX];
    int has_db, too_long;
    double value;
} prom_sample;

static int prom_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':';
}

static const char *prom_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* A label value from p (just past its opening quote) into dst (NULL: not
 * kept); returns the position after the closing quote, NULL if malformed. */
static const char *prom_value(const char *p, const char *end, char *dst, int *too_long)
{
    size_t j = 0;
    for (;;) {
        if (p >= end)
            return NULL;   /* unterminated */
        char c = *p++;
        if (c == '"')
            break;
        if (c == '\\') {
            if (p >= end)
                return NULL;
            c = *p++;
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return NULL;
        }
        if (dst && j + 1 < MV_LABEL_MAX)
            dst[j++] = c;
        else if (dst)
            *too_long = 1;
    }
    if (dst)
        dst[j] = '\0';
    return p;
}

/* Parses the line [p, end) after its metric name (of name_len bytes) into
 * s: 0, or -1 when it is not a well-formed sample. */
static int prom_sample_parse(const char *p, const char *end, size_t name_len, prom_sample *s)
{
    char num[64];
    size_t n = 0;

    memset(s, 0, sizeof *s);
    p += name_len;
    if (p < end && *p == '{') {
        for (p = prom_blank(p + 1, end);;) {
            if (p < end && *p == '}') {
                p++;
                break;
            }
            const char *ln = p;
            while (p < end && prom_name_char(*p))
                p++;
            size_t ll = (size_t)(p - ln);
            char *dst = ll == 13 && memcmp(ln, "collection_id", 13) == 0     ? s->coll_id
                      : ll == 15 && memcmp(ln, "collection_name", 15) == 0 ? s->coll_name
                      : ll == 7 && memcmp(ln, "db_name", 7) == 0           ? s->db
                                                                             : NULL;
            s->has_db |= dst == s->db;
            if (!ll || p + 1 >= end || p[0] != '=' || p[1] != '"' ||
                !(p = prom_value(p + 2, end, dst, &s->too_long)))
                return -1;
            p = prom_blank(p, end);
            if (p < end && *p == ',')
                p = prom_blank(p + 1, end);
            else if (p >= end || *p != '}')
                return -1;
        }
    }
    if (p >= end || (*p != ' ' && *p != '\t'))
        return -1;
    for (p = prom_blank(p, end); p < end && *p != ' ' && *p != '\t'; p++)
        if (n + 1 >= sizeof num)
            return -1;   /* longer than any number */
        else
            num[n++] = *p;
    num[n] = '\0';
    char *stop;
    s->value = strtod(num, &stop);
    return n && !*stop ? 0 : -1;   /* a timestamp may follow: not read */
}

/* The line [p, end) is a sample of metric `name`. */
static int prom_is(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(end - p) > n && memcmp(p, name, n) == 0 &&
           (p[n] == '{' || p[n] == ' ' || p[n] == '\t');
}

static int id_known(char (*ids)[MV_LABEL_MAX], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

int milvus_parse_metrics(const char *body, size_t len, const char *coll, const char *db,
                         double *bytes, err *e)
{
    char ids[MV_MAX_IDS][MV_LABEL_MAX];
    size_t n_ids = 0;
    int counted = 0;
    double sum = 0;
    const char *want_db = db && *db ? db : "default";

    *bytes = 0;
    if (!body || !coll)
        return err_set(e, ERR_USAGE, "metrics: bad arguments");
    /* pass 0: the collection's ids (entity_num names it); pass 1: their sizes */
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass == 0 ? MV_METRIC_NUM : MV_METRIC_SIZE;
        size_t line = 0;
        for (const char *p = body, *end = body + len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
            prom_sample s;
            line++;
            if (le > p && le[-1] == '\r')
                le--;
            if (prom_is(p, le, name)) {
                if (prom_sample_parse(p, le, strlen(name), &s) < 0)
                    return err_set(e, ERR_PARSE, "metrics: line %zu: not a sample of the "
                                   "Prometheus text format", line);
                int known = !s.too_long && id_known(ids, n_ids, s.coll_id);
                if (pass == 0 && !known && !s.too_long && s.coll_id[0] &&
                    strcmp(s.coll_name, coll) == 0 && n_ids < MV_MAX_IDS &&
                    (s.has_db ? strcmp(s.db, want_db) == 0 : !(db && *db))) {
                    memcpy(ids[n_ids++], s.coll_id, sizeof s.coll_id);
                } else if (pass == 1 && known) {
                    if (!isfinite(s.value) || s.value < 0 || s.value > 1e18)
                        return err_set(e, ERR_PARSE, "metrics: line %zu: %s is not a byte "
                                       "count", line, MV_METRIC_SIZE);
                    sum += s.value;
                    counted++;
                }
            }
            p = nl ? nl + 1 : end;
        }
        if (pass == 0 && !n_ids)
            return err_set(e, ERR_NOTFOUND, "metrics: no %s sample names collection %s",
                           MV_METRIC_NUM, coll);
    }
    if (!counted)
        return err_set(e, ERR_NOTFOUND, "metrics: no %s sample for collection %s",
                       MV_METRIC_SIZE, coll);
    *bytes = sum;
    return counted;
}

typedef struct mem_ud {
    const char *coll, *db;
    double bytes;
} mem_ud;

static int parse_mem(const char *body, size_t len, void *ud, int *retriable, err *e)
{
    mem_ud *u = ud;
    *retriable = 0;
    return milvus_parse_metrics(body, len, u->coll, u->db, &u->bytes, e);
}

int milvus_memory(milvus *m, const char *urls, const char *coll, double *bytes, err *e)
{
    char url[MILVUS_METRICS_MAX], what[MILVUS_METRICS_MAX + 300];
    int found = 0;
    double sum = 0;

    *bytes = 0;
    if (!m || !urls || !coll)
        return err_set(e, ERR_USAGE, "milvus_memory: bad arguments");
    for (const char *p = urls; *p;) {
        size_t n = strcspn(p, ",");
        mem_ud u = {coll, m->db, 0};
        int rc;
        if (n >= sizeof url)
            return err_set(e, ERR_USAGE, "metrics: a URL longer than %zu bytes", sizeof url - 1);
        memcpy(url, p, n);
        url[n] = '\0';
        p += n + (p[n] == ',');
        if (!n)
            continue;
        snprintf(what, sizeof what, "memory of collection %s from %s", coll, url);
        rc = exchange(m, url, NULL, 1, parse_mem, &u, what, NULL, e);
        if (rc == -ERR_NOTFOUND)
            continue;   /* a query node that holds none of it */
        if (rc < 0)
            return rc;
        sum += u.bytes;
        found = 1;
    }
    if (!found)
        return err_set(e, ERR_NOTFOUND, "no query node's metrics (%s) name collection %s",
                       urls, coll);
    *bytes = sum;
    return 0;
}
