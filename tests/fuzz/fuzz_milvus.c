/* fuzz_milvus.c - what a Milvus server (or anything answering in its place)
 * sends back, through milvus_parse_reply and milvus_parse_metrics; and the
 * filter-expression builder on hostile keys and values.
 * Byte 0: bit 7 clear: bit 4 set: the rest is a query node's metrics page
 * (read for the collection "shop", and the default database then "prod");
 * bit 4 clear: bits 0-2 pick the answer kind (mod MILVUS_R_N_), bit 3
 * a result capacity of 1 instead of 16; the rest is the body.  Bit 7 set: the
 * rest is split at NUL bytes into key, value, key, value ... (at most 8
 * terms; a key's first byte mod 4 is its MILVUS_TERM_* type), and bytes 1-8
 * give exclusion ids.  Checked: a parsed answer keeps
 * its contract (count <= capacity, finite scores, counts >= 0, dim within
 * Milvus's limit, no control character in an error message; a memory figure
 * finite and >= 0 from at least one sample); a built
 * expression has only closed string literals with known escapes and no raw
 * control character in them. */
#include "fuzz_util.h"
#include "mem.h"
#include "milvus.h"

#include <ctype.h>
#include <math.h>

static void check_reply(milvus_reply_kind k, int rc, const milvus_reply *r, const err *e)
{
    if (rc < 0) {
        for (const char *p = e->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();   /* a server message reached us raw */
        return;
    }
    if (r->n > r->cap)
        abort();
    if (k == MILVUS_R_SEARCH)
        for (size_t i = 0; i < r->n; i++)
            if (!isfinite(r->scores[i]))
                abort();
    if ((k == MILVUS_R_COUNT && r->count < 0) ||
        (k == MILVUS_R_DESCRIBE && (r->coll.dim < 0 || r->coll.dim > MILVUS_MAX_DIM)))
        abort();
}

/* Every string literal closes and holds only the escapes milvus.c writes. */
static void check_expr(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p != '"')
            continue;
        for (p++;; p++) {
            if (!*p)
                abort();   /* unterminated */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();   /* a raw control character */
            if (*p == '"')
                break;
            if (*p == '\\') {
                p++;
                if (*p == 'u') {
                    for (int i = 1; i <= 4; i++)
                        if (!isxdigit((unsigned char)p[i]))
                            abort();
                    p += 4;
                } else if (!strchr("\\\"nrt", *p) || !*p) {
                    abort();
                }
            }
        }
    }
}

static void fuzz_expr(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *expr = NULL;
    milvus_term terms[8];
    int64_t ex[8];
    size_t nt = 0, nex = 0;
    err e;

    if (!copy)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i < 8 && i < size; i++)
        ex[nex++] = (int64_t)(int8_t)data[i] * 1000003;
    for (char *p = copy; p < copy + size && nt < 8;) {
        char *v = p + strlen(p) + 1;
        if (v > copy + size)
            break;
        terms[nt].key = p;
        terms[nt].type = (int)((unsigned char)*p % 4);   /* MILVUS_TERM_* */
        terms[nt++].value = v;
        p = v + strlen(v) + 1;
    }
    if (milvus_filter_expr(terms, nt, ex, nex, &expr, &e) == 0)
        check_expr(expr);
    mem_free(expr);
    if (milvus_quote(copy, &expr, &e) == 0)
        check_expr(expr);
    mem_free(expr);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ids[16];
    float scores[16];
    err e;

    if (size < 1)
        return 0;
    if (data[0] & 0x80) {
        fuzz_expr(data + 1, size - 1);
        return 0;
    }
    if (data[0] & 0x10) {
        char *page = malloc(size > 1 ? size - 1 : 1);   /* exactly as long as given */
        if (!page)
            abort();
        memcpy(page, data + 1, size - 1);
        for (int i = 0; i < 2; i++) {
            double b = -1;
            int rc = milvus_parse_metrics(page, size - 1, "shop", i ? "prod" : NULL, &b, &e);
            if (rc == 0 || (rc > 0 && (!isfinite(b) || b < 0)) || (rc < 0 && b != 0))
                abort();
            check_reply(MILVUS_R_STATUS, rc < 0 ? rc : 0, &(milvus_reply){0}, &e);
        }
        free(page);
        return 0;
    }
    milvus_reply_kind k = (milvus_reply_kind)((data[0] & 7) % MILVUS_R_N_);
    milvus_reply r = {.ids = ids, .scores = scores, .cap = (data[0] & 8) ? 1 : 16};
    /* the body exactly as long as given: no terminating NUL to lean on */
    char *body = malloc(size > 1 ? size - 1 : 1);
    if (!body)
        abort();
    memcpy(body, data + 1, size - 1);
    int rc = milvus_parse_reply(k, body, size - 1, &r, &e);
    check_reply(k, rc, &r, &e);
    free(body);
    return 0;
}
