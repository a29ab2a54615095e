/* serve_api.h - the API of `embedlab serve` without the HTTP: routes,
 * request bodies parsed and checked, answers written as JSON.
 *
 * serve.c (libmicrohttpd) hands each request here; so do the fuzzer
 * (tests/fuzz/fuzz_serve.c) and the unit tests, which drive the same code
 * without sockets.  A request that needs text encoded comes back from
 * sv_begin as SV_ENCODE with its texts; the caller encodes them (serve.c:
 * in a batch with other requests' texts; tests: at once with snap_encode)
 * into req->vecs, then sv_finish writes the answer.  Everything here is
 * reentrant: several threads handle requests at once, each on its own
 * sv_req, reading a shared snapshot.
 *
 * Endpoints (JSON in, JSON out; errors {"error":{"message","type","code"}}):
 *   POST /v1/embeddings   OpenAI: input, model, encoding_format, dimensions
 *   POST /embed           HuggingFace TEI: inputs, normalize, truncate
 *   POST /v1/similar      item, k, method, hybrid, alpha, filters
 *   POST /v1/recommend    user | history, query, k, method, hybrid, alpha, filters
 *   POST /v1/query        text, k, method, hybrid, alpha, filters
 *   GET  /v1/items/{id}, /v1/models, /healthz, /metrics (the last in serve.c)
 */
#ifndef EMBEDLAB_SERVE_API_H
#define EMBEDLAB_SERVE_API_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

enum {
    SV_EP_EMBEDDINGS, SV_EP_EMBED, SV_EP_SIMILAR, SV_EP_RECOMMEND, SV_EP_QUERY, SV_EP_ITEM,
    SV_EP_MODELS, SV_EP_HEALTH, SV_EP_METRICS, SV_EP_OTHER, SV_N_EP
};

/* The endpoint's path as metrics label it ("/v1/items/{id}" for items). */
const char *sv_endpoint_name(int ep);

/* An answer: status, JSON body (mem_alloc'd, owned), and for 405 the
 * methods allowed. */
typedef struct sv_resp {
    int status;
    char *body;
    size_t len;
    const char *allow;          /* 405: the Allow header, else NULL */
    const char *content_type;   /* NULL: application/json */
} sv_resp;

void sv_resp_done(sv_resp *r);   /* frees the body */
/* Sets an error answer: {"error":{"message","type","code"}}.  type and code
 * follow OpenAI's (invalid_request_error, not_found_error, ...).  Returns
 * the status. */
int sv_error(sv_resp *r, int status, const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Takes ownership of a NUL-terminated body (mem_alloc'd). */
void sv_resp_set(sv_resp *r, int status, char *body);

/* Limits on what one request may ask. */
typedef struct sv_limits {
    size_t max_body;       /* bytes of a request body (413 past it) */
    size_t max_inputs;     /* texts in one embeddings request */
    size_t max_history;    /* items in a recommend history */
    size_t max_filters;    /* terms in filters */
} sv_limits;

sv_limits sv_limits_default(void);

/* Finds the endpoint of METHOD URL.  0 with *ep set, or an error answer in
 * r (404 unknown path, 405 wrong method with Allow) and its status. */
int sv_route(const char *method, const char *url, int *ep, sv_resp *r);

/* Checks a body before it is parsed: valid UTF-8, no NUL byte, no \u0000
 * escape (cJSON would cut the string there).  0 or a 400 answer in r. */
int sv_check_body(const char *body, size_t len, sv_resp *r);

typedef struct sv_req sv_req;

enum { SV_DONE = 0, SV_ENCODE = 1 };

/* Starts a request on snapshot s (the caller keeps a reference until
 * sv_req_free).  SV_DONE: the answer is in r.  SV_ENCODE: *out holds a
 * request whose texts (sv_req_texts) must be encoded into sv_req_vecs
 * before sv_finish.  GET endpoints other than /metrics answer here. */
int sv_begin(snap *s, const sv_limits *lim, int ep, const char *url, const char *body,
             size_t len, sv_req **out, sv_resp *r);
/* The texts to encode: n texts, their byte lengths and token counts. */
size_t sv_req_texts(const sv_req *q, const char *const **texts, const size_t **lens,
                    size_t *n_tokens);
float *sv_req_vecs(sv_req *q);   /* n * snap_text_dim floats to fill */
/* Writes the answer once the texts are encoded; enc_rc/enc_msg: how the
 * encoding went (nonzero: a 500/503 answer). */
void sv_finish(sv_req *q, int enc_rc, const char *enc_msg, sv_resp *r);
void sv_req_free(sv_req *q);    /* NULL-safe */

/* Constant-time check of an Authorization header against the token. */
int sv_auth_ok(const char *header, const char *token);

/* Base64 (RFC 4648, padded) of n bytes into out (room for 4 * ((n + 2) / 3)
 * + 1); returns the length written. */
size_t sv_base64(const unsigned char *in, size_t n, char *out);

#endif
