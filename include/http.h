/* http.h - a small HTTP client for JSON POST requests (the Milvus REST
 * client's transport) and plain GETs (its metrics), over libcurl.
 *
 * One client is one libcurl easy handle, so consecutive requests to the same
 * host reuse its connection (HTTP/1.1 keep-alive).  A request has a connect
 * timeout and a total timeout; the answer is capped in size so a hostile
 * server cannot make us allocate without bound; only http:// and https:// are
 * spoken, redirects are not followed (a bearer token must not travel to
 * another host), and https verifies the peer (optionally against a CA file).
 * The Authorization header is built per request and wiped afterwards; no
 * message ever contains it.  src/index/http.c is the only file that includes
 * <curl/curl.h>.
 *
 * Thread-safety: a client serves one request at a time; use one client per
 * thread.  http_client_new may be called from any thread.
 */
#ifndef EMBEDLAB_HTTP_H
#define EMBEDLAB_HTTP_H

#include <stddef.h>

#include "err.h"
#include "progress.h"

typedef struct http_opts {
    long connect_timeout_ms;    /* TCP + TLS handshake (default 3000) */
    long timeout_ms;            /* whole request (default 30000) */
    size_t max_response;        /* bytes; larger answers fail (default 64 MiB) */
    const char *ca_file;        /* https: CA bundle instead of the system's, or NULL */
} http_opts;

http_opts http_opts_default(void);

typedef struct http_client http_client;

/* A client with copies of o's settings.  NULL with e set on failure. */
http_client *http_client_new(const http_opts *o, err *e);
void http_client_free(http_client *c);   /* NULL-safe */

/* What a request got back.  body is NUL-terminated and owned by the client:
 * valid until its next request or http_client_free. */
typedef struct http_reply {
    long status;            /* HTTP status, 0 when no answer was read */
    const char *body;
    size_t len;
    int transient;          /* the failure may pass: refused or dropped
                               connection, timeout, 5xx (worth a retry when the
                               call is idempotent) */
} http_reply;

/* POSTs `body` (len bytes of JSON) to url with "Content-Type:
 * application/json", and "Authorization: Bearer <token>" when token is set
 * (never copied anywhere that outlives the call).  p (may be NULL) cancels a
 * running transfer.  Returns 0 when an HTTP answer arrived (any status: the
 * caller reads r->status), -ERR_IO when none did (cannot connect, timeout,
 * connection dropped, TLS failure: e says which, r->transient tells whether a
 * retry may help), -ERR_RANGE for an answer over max_response, -ERR_USAGE for
 * a URL that is not http(s), -ERR_CANCEL, -ERR_NOMEM. */
int http_post(http_client *c, const char *url, const char *token, const char *body,
              size_t len, progress *p, http_reply *r /* OUT */, err *e);
/* The same for a call that must not run twice (an insert): on a new
 * connection, because libcurl silently sends a request again when a reused
 * connection dies before any answer byte - harmless for idempotent calls,
 * a duplicate row for an insert whose answer was lost. */
int http_post_once(http_client *c, const char *url, const char *token, const char *body,
                   size_t len, progress *p, http_reply *r /* OUT */, err *e);
/* A GET of url ("Accept: text/plain"), never with a token: for endpoints
 * beside the API (Milvus's metrics) that must not see the credentials.
 * Returns as http_post. */
int http_get(http_client *c, const char *url, progress *p, http_reply *r /* OUT */, err *e);

#endif
