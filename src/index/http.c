/* http.c - JSON POST and plain GET over libcurl (see http.h); the only file
 * that includes <curl/curl.h>.
 *
 * One easy handle per client: libcurl keeps the connection of the last
 * request open and reuses it for the next one to the same host, which is
 * what makes a search loop cost one round trip per query rather than a TCP
 * (and TLS) handshake each.  The answer is collected in a buffer from mem.h,
 * refused past max_response; the progress callback turns a cancel request
 * (Ctrl-C) into an aborted transfer.
 */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

struct http_client {
    CURL *curl;
    long connect_timeout_ms, timeout_ms;
    size_t max_response;
    char *ca_file;              /* copy, or NULL */
    char *buf;                  /* the answer, NUL-terminated */
    size_t len, cap;
    int too_big, nomem;
    progress *prog;             /* the running request's, or NULL */
    char errbuf[CURL_ERROR_SIZE];
};

http_opts http_opts_default(void)
{
    http_opts o = {.connect_timeout_ms = 3000, .timeout_ms = 30000,
                   .max_response = (size_t)64 << 20, .ca_file = NULL};
    return o;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

/* curl_global_init is thread-safe only from 7.84 on (and only where the
 * build says so); once per process covers every version */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

http_client *http_client_new(const http_opts *o, err *e)
{
    http_opts d = http_opts_default();
    http_client *c;

    if (!o)
        o = &d;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        err_set(e, ERR_IO, "libcurl: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    if (!(c = mem_calloc(1, sizeof *c))) {
        err_set(e, ERR_NOMEM, "out of memory for an HTTP client");
        return NULL;
    }
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : d.connect_timeout_ms;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : d.timeout_ms;
    c->max_response = o->max_response ? o->max_response : d.max_response;
    if ((o->ca_file && !(c->ca_file = mem_strdup(o->ca_file))) || !(c->curl = curl_easy_init())) {
        http_client_free(c);
        err_set(e, ERR_NOMEM, "out of memory for an HTTP client");
        return NULL;
    }
    return c;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    mem_free(c->ca_file);
    mem_free(c->buf);
    mem_free(c);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    http_client *c = ud;
    size_t n = size * nmemb;   /* libcurl guarantees size == 1 */

    if (n > c->max_response || c->len > c->max_response - n) {
        c->too_big = 1;
        return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (mem_grow(&c->buf, &c->cap, c->len + n + 1, 1) < 0) {
        c->nomem = 1;
        return 0;
    }
    memcpy(c->buf + c->len, ptr, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    http_client *c = ud;
    (void)dt, (void)dn, (void)ut, (void)un;
    return progress_cancelled(c->prog);   /* nonzero aborts the transfer */
}

static int set_common(http_client *c, const char *url, struct curl_slist *hdr, const char *body,
                      size_t len)
{
    CURL *h = c->curl;
    int bad = 0;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    if (c->ca_file)
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK;
    if (body) {
        bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    }
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, c) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, c) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
    return bad;
}

/* The transport failure as a message, and whether a retry may help. */
static int transport_error(http_client *c, CURLcode rc, const char *url, int *transient, err *e)
{
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    *transient = 0;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        *transient = 1;
        return err_set(e, ERR_IO, "cannot connect to %s: %s", url, why);
    case CURLE_OPERATION_TIMEDOUT:
        *transient = 1;
        return err_set(e, ERR_IO, "no answer from %s within %ld ms (timeout_ms=, "
                       "connect_timeout_ms= change the limits)", url, c->timeout_ms);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        *transient = 1;
        return err_set(e, ERR_IO, "connection to %s dropped before a complete answer (%s)", url,
                       why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return err_set(e, ERR_IO, "cannot resolve the host of %s: %s", url, why);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return err_set(e, ERR_IO, "TLS with %s failed: %s", url, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return err_set(e, ERR_USAGE, "%s: not an http:// or https:// URL (%s)", url, why);
    default:
        return err_set(e, ERR_IO, "request to %s failed: %s", url, why);
    }
}

/* One request: a JSON POST of body, or a GET when body is NULL (no token). */
static int request(http_client *c, const char *url, const char *token, const char *body,
                   size_t len, int fresh, progress *p, http_reply *r, err *e)
{
    struct curl_slist *hdr = NULL, *t;
    char *auth = NULL;
    size_t alen = 0;
    CURLcode rc;
    int ret = 0;

    memset(r, 0, sizeof *r);
    if (!c || !url || (!body && len))
        return err_set(e, ERR_USAGE, "http: bad arguments");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return err_set(e, ERR_USAGE, "%s: not an http:// or https:// URL", url);
    c->len = 0;
    c->too_big = c->nomem = 0;
    c->errbuf[0] = '\0';
    c->prog = p;
    if (c->buf)
        c->buf[0] = '\0';
    if (body && token && *token) {
        alen = strlen("Authorization: Bearer ") + strlen(token) + 1;
        if (!(auth = mem_alloc(alen)))
            return err_set(e, ERR_NOMEM, "out of memory for a request");
        snprintf(auth, alen, "Authorization: Bearer %s", token);
    }
    /* "Expect:" off: libcurl would wait for a 100-continue before sending a
     * large body, a needless round trip with servers that never send it */
    if (!body) {
        if (!(t = curl_slist_append(hdr, "Accept: text/plain")) || !(hdr = t)) {
            ret = err_set(e, ERR_NOMEM, "out of memory for a request");
            goto done;
        }
    } else if (!(t = curl_slist_append(hdr, "Content-Type: application/json")) || !(hdr = t) ||
               !(t = curl_slist_append(hdr, "Accept: application/json")) || !(hdr = t) ||
               !(t = curl_slist_append(hdr, "Expect:")) || !(hdr = t) ||
               (auth && (!(t = curl_slist_append(hdr, auth)) || !(hdr = t)))) {
        ret = err_set(e, ERR_NOMEM, "out of memory for a request");
        goto done;
    }
    if (set_common(c, url, hdr, body, len) ||
        curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, (long)fresh) != CURLE_OK) {
        ret = err_set(e, ERR_IO, "libcurl refused an option for %s", url);
        goto done;
    }
    rc = curl_easy_perform(c->curl);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        ret = err_set(e, ERR_CANCEL, "request to %s cancelled", url);
    } else if (rc == CURLE_WRITE_ERROR && c->nomem) {
        ret = err_set(e, ERR_NOMEM, "out of memory reading the answer of %s", url);
    } else if (rc == CURLE_WRITE_ERROR && c->too_big) {
        ret = err_set(e, ERR_RANGE, "the answer of %s is larger than %zu bytes", url,
                      c->max_response);
    } else if (rc != CURLE_OK) {
        ret = transport_error(c, rc, url, &r->transient, e);
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
        r->body = c->buf ? c->buf : "";
        r->len = c->len;
        r->transient = r->status >= 500 && r->status <= 599;
    }
done:
    /* the header list and body belong to this call: detach them */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)NULL);
    for (t = hdr; t; t = t->next)   /* libcurl's copy of the Authorization line */
        memset(t->data, 0, strlen(t->data));
    curl_slist_free_all(hdr);
    if (auth) {
        volatile char *v = auth;   /* our copy of the token: not left in freed memory */
        for (size_t i = 0; i < alen; i++)
            v[i] = 0;
        mem_free(auth);
    }
    c->prog = NULL;
    return ret;
}

int http_post(http_client *c, const char *url, const char *token, const char *body, size_t len,
              progress *p, http_reply *r, err *e)
{
    return request(c, url, token, body ? body : "", len, 0, p, r, e);
}

int http_post_once(http_client *c, const char *url, const char *token, const char *body,
                   size_t len, progress *p, http_reply *r, err *e)
{
    return request(c, url, token, body ? body : "", len, 1, p, r, e);
}

int http_get(http_client *c, const char *url, progress *p, http_reply *r, err *e)
{
    return request(c, url, NULL, NULL, 0, 0, p, r, e);
}
