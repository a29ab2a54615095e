/* serve.c - `embedlab serve` on libmicrohttpd (see serve.h).
 *
 * Threads:
 *   HTTP pool    libmicrohttpd's epoll loops (--threads of them).  A request
 *                is read, routed and checked there (serve_api.c); searches
 *                run there too, in parallel, each on its own snap_reader.
 *                A request with texts to encode is suspended and queued.
 *   batcher      owns the text encoder: takes every queued request (up to
 *                --batch-tokens tokens), waiting up to --batch-wait-us for
 *                requests still being read when others are, encodes all
 *                their texts in one call (the BERT kernels see a real batch)
 *                and resumes the requests, which answer on their pool thread.
 *   watcher      every --poll-ms asks SQLite's data_version whether another
 *                process committed; if so it loads a whole new snapshot and
 *                swaps it in under a lock (requests keep the snapshot they
 *                started with, released with their last reference).  It also
 *                shuts down connections that spend more than --timeout on
 *                one request's headers and body (slowloris): libmicrohttpd's
 *                own timeout only measures silence.
 *   main         waits for SIGINT/SIGTERM, stops accepting, drains.
 * Every request is logged in one line to stderr: time, peer, method, path,
 * status, milliseconds.
 */
#include "serve.h"
#include "front.h"
#include "mem.h"
#include "serve_api.h"
#include "snap.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- metrics (Prometheus text format) -------------------------------------- */

static const int status_codes[] = {200, 400, 401, 404, 405, 413, 500, 503};
#define N_STATUS (sizeof status_codes / sizeof status_codes[0] + 1)   /* + other */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,    10};
#define N_LAT (sizeof lat_bounds / sizeof lat_bounds[0])
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define N_BATCH (sizeof batch_bounds / sizeof batch_bounds[0])

typedef struct metrics {
    atomic_ulong requests[SV_N_EP][N_STATUS];
    atomic_ulong lat[SV_N_EP][N_LAT + 1];     /* per bucket, not cumulative */
    atomic_ulong lat_n[SV_N_EP];
    atomic_ullong lat_sum_ns[SV_N_EP];
    atomic_ulong batch[N_BATCH + 1];          /* texts per encoder batch */
    atomic_ulong batch_n, batch_texts, batch_tokens;
    atomic_ullong encode_ns;                  /* wall time inside the encoder */
    atomic_long in_flight;
    atomic_ulong reloads, reload_errors, slow_closed;
} metrics;

/* ---- the server --------------------------------------------------------------- */

typedef struct job job;

/* One open connection, for the slowloris watch. */
typedef struct conn_info {
    int fd;
    double since;             /* start of what it is doing now */
    int state;                /* CI_HEADERS, CI_BODY, CI_BUSY */
    struct conn_info *prev, *next;
} conn_info;
enum { CI_HEADERS, CI_BODY, CI_BUSY };

typedef struct server {
    serve_opts o;
    sv_limits lim;
    char *token;              /* NULL: no auth */
    struct MHD_Daemon *d;
    metrics m;

    pthread_mutex_t snap_mu;
    snap *cur;                /* the snapshot new requests get */

    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    job *q_head, *q_tail;
    size_t q_len;
    atomic_long embed_reading; /* embedding requests between headers and queue */
    int stop_batcher;

    pthread_mutex_t ci_mu;
    conn_info *conns;

    atomic_int stop_watcher;
} server;

struct job {
    struct MHD_Connection *conn;
    snap *s;
    sv_req *q;
    const char *const *texts;
    const size_t *lens;
    size_t n, tokens;
    float *out;
    int rc;
    char msg[ERR_MSG_LEN];
    job *next;
};

/* One request (libmicrohttpd's con_cls). */
typedef struct creq {
    double t0;
    int ep;
    char method[8];
    char path[160];
    char peer[64];
    char *body;
    size_t len, cap;
    int too_big, slow;
    int phase;                /* 0 reading, 1 queued for the encoder, 2 encoded */
    int counted_reading;
    snap *s;
    job j;
    int status;
    conn_info *ci;
} creq;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static snap *snap_get(server *sv)
{
    snap *s;
    pthread_mutex_lock(&sv->snap_mu);
    s = sv->cur;
    snap_retain(s);
    pthread_mutex_unlock(&sv->snap_mu);
    return s;
}

/* ---- answers --------------------------------------------------------------- */

static void free_body(void *p) { mem_free(p); }

static enum MHD_Result queue(server *sv, struct MHD_Connection *c, creq *r, sv_resp *resp)
{
    struct MHD_Response *mr;
    enum MHD_Result ok;

    mr = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->body, free_body);
    if (!mr) {
        sv_resp_done(resp);
        return MHD_NO;
    }
    resp->body = NULL;
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json");
    if (resp->allow)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, resp->allow);
    if (resp->status == 401)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    r->status = resp->status;
    ok = MHD_queue_response(c, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    (void)sv;
    return ok;
}

/* ---- /metrics ------------------------------------------------------------------ */

typedef struct text {
    char *p;
    size_t n, cap;
    int oom;
} text;

static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text *t, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (t->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        if (mem_grow(&t->p, &t->cap, t->n + (size_t)k + 1024, 1)) {
            t->oom = 1;
            return;
        }
    }
}

static char *metrics_text(server *sv)
{
    metrics *m = &sv->m;
    text t = {0};

    if (mem_grow(&t.p, &t.cap, 16384, 1))
        return NULL;
    t.p[0] = '\0';
    tprintf(&t, "# HELP embedlab_http_requests_total HTTP requests answered, by endpoint and "
                "status.\n# TYPE embedlab_http_requests_total counter\n");
    for (int e = 0; e < SV_N_EP; e++)
        for (size_t s = 0; s < N_STATUS; s++) {
            unsigned long v = atomic_load(&m->requests[e][s]);
            if (!v)
                continue;
            if (s < N_STATUS - 1)
                tprintf(&t, "embedlab_http_requests_total{endpoint=\"%s\",status=\"%d\"} %lu\n",
                        sv_endpoint_name(e), status_codes[s], v);
            else
                tprintf(&t, "embedlab_http_requests_total{endpoint=\"%s\",status=\"other\"} %lu\n",
                        sv_endpoint_name(e), v);
        }
    tprintf(&t, "# HELP embedlab_http_request_duration_seconds Time from the request's headers "
                "to its answer.\n# TYPE embedlab_http_request_duration_seconds histogram\n");
    for (int e = 0; e < SV_N_EP; e++) {
        unsigned long n = atomic_load(&m->lat_n[e]), cum = 0;
        if (!n)
            continue;
        for (size_t b = 0; b <= N_LAT; b++) {
            cum += atomic_load(&m->lat[e][b]);
            if (b < N_LAT)
                tprintf(&t, "embedlab_http_request_duration_seconds_bucket{endpoint=\"%s\","
                            "le=\"%g\"} %lu\n", sv_endpoint_name(e), lat_bounds[b], cum);
            else
                tprintf(&t, "embedlab_http_request_duration_seconds_bucket{endpoint=\"%s\","
                            "le=\"+Inf\"} %lu\n", sv_endpoint_name(e), cum);
        }
        tprintf(&t, "embedlab_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n"
                    "embedlab_http_request_duration_seconds_count{endpoint=\"%s\"} %lu\n",
                sv_endpoint_name(e), (double)atomic_load(&m->lat_sum_ns[e]) * 1e-9,
                sv_endpoint_name(e), n);
    }
    tprintf(&t, "# HELP embedlab_encoder_batch_size Texts per call of the text encoder.\n"
                "# TYPE embedlab_encoder_batch_size histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b <= N_BATCH; b++) {
        cum += atomic_load(&m->batch[b]);
        if (b < N_BATCH)
            tprintf(&t, "embedlab_encoder_batch_size_bucket{le=\"%g\"} %lu\n", batch_bounds[b],
                    cum);
        else
            tprintf(&t, "embedlab_encoder_batch_size_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    tprintf(&t, "embedlab_encoder_batch_size_sum %lu\nembedlab_encoder_batch_size_count %lu\n",
            atomic_load(&m->batch_texts), atomic_load(&m->batch_n));
    tprintf(&t, "# HELP embedlab_encoder_tokens_total Tokens encoded.\n"
                "# TYPE embedlab_encoder_tokens_total counter\nembedlab_encoder_tokens_total %lu\n",
            atomic_load(&m->batch_tokens));
    tprintf(&t, "# HELP embedlab_encoder_busy_seconds_total Wall time the encoder spent "
                "encoding.\n# TYPE embedlab_encoder_busy_seconds_total counter\n"
                "embedlab_encoder_busy_seconds_total %.6f\n",
            (double)atomic_load(&m->encode_ns) * 1e-9);
    tprintf(&t, "# HELP embedlab_http_requests_in_flight Requests being read, queued or "
                "answered.\n# TYPE embedlab_http_requests_in_flight gauge\n"
                "embedlab_http_requests_in_flight %ld\n", atomic_load(&m->in_flight));
    pthread_mutex_lock(&sv->q_mu);
    size_t ql = sv->q_len;
    pthread_mutex_unlock(&sv->q_mu);
    tprintf(&t, "# HELP embedlab_encoder_queue_requests Requests waiting for the encoder.\n"
                "# TYPE embedlab_encoder_queue_requests gauge\nembedlab_encoder_queue_requests "
                "%zu\n", ql);
    tprintf(&t, "# HELP embedlab_snapshot_reloads_total Snapshots loaded after the database "
                "changed.\n# TYPE embedlab_snapshot_reloads_total counter\n"
                "embedlab_snapshot_reloads_total %lu\n"
                "# HELP embedlab_snapshot_reload_errors_total Reloads that failed (the previous "
                "snapshot stays).\n# TYPE embedlab_snapshot_reload_errors_total counter\n"
                "embedlab_snapshot_reload_errors_total %lu\n"
                "# HELP embedlab_slow_connections_closed_total Connections closed for taking "
                "longer than --timeout on one request.\n"
                "# TYPE embedlab_slow_connections_closed_total counter\n"
                "embedlab_slow_connections_closed_total %lu\n",
            atomic_load(&m->reloads), atomic_load(&m->reload_errors),
            atomic_load(&m->slow_closed));
    if (t.oom) {
        mem_free(t.p);
        return NULL;
    }
    return t.p;
}

/* ---- the batcher --------------------------------------------------------------- */

static void enqueue(server *sv, job *j)
{
    pthread_mutex_lock(&sv->q_mu);
    j->next = NULL;
    if (sv->q_tail)
        sv->q_tail->next = j;
    else
        sv->q_head = j;
    sv->q_tail = j;
    sv->q_len++;
    pthread_cond_signal(&sv->q_cv);
    pthread_mutex_unlock(&sv->q_mu);
}

static void batch_metrics(server *sv, size_t n, size_t tokens, double seconds)
{
    size_t b = 0;
    while (b < N_BATCH && (double)n > batch_bounds[b])
        b++;
    atomic_fetch_add(&sv->m.batch[b], 1);
    atomic_fetch_add(&sv->m.batch_n, 1);
    atomic_fetch_add(&sv->m.batch_texts, n);
    atomic_fetch_add(&sv->m.batch_tokens, tokens);
    atomic_fetch_add(&sv->m.encode_ns, (unsigned long long)(seconds * 1e9));
}

/* Takes the jobs of one batch from the queue (locked): the first, then,
 * in queue order, those of the same encoder while the token budget lasts;
 * the others stay queued in their order. */
static job *take_batch(server *sv, size_t *n_texts, size_t *n_tokens)
{
    const void *enc = snap_encoder_id(sv->q_head->s);
    job *batch = NULL, **bt = &batch, *rest = NULL, **rt = &rest, *rest_last = NULL;
    size_t tok = 0, n = 0;

    for (job *j = sv->q_head, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        if (!batch || (snap_encoder_id(j->s) == enc && tok + j->tokens <= sv->o.batch_tokens)) {
            *bt = j;
            bt = &j->next;
            tok += j->tokens;
            n += j->n;
            sv->q_len--;
        } else {
            *rt = j;
            rt = &j->next;
            rest_last = j;
        }
    }
    sv->q_head = rest;
    sv->q_tail = rest_last;
    *n_texts = n;
    *n_tokens = tok;
    return batch;
}

static void *batcher_main(void *arg)
{
    server *sv = arg;
    const char **texts = NULL;
    size_t *lens = NULL, cap = 0, cap2 = 0, cap3 = 0;
    float *out = NULL;

    for (;;) {
        size_t n, tokens, dim, k = 0;
        job *b;

        pthread_mutex_lock(&sv->q_mu);
        while (!sv->q_head && !sv->stop_batcher)
            pthread_cond_wait(&sv->q_cv, &sv->q_mu);
        if (!sv->q_head) {
            pthread_mutex_unlock(&sv->q_mu);
            break;
        }
        /* Requests still being read while others wait: give them a moment
         * to join this batch. */
        if (sv->o.batch_wait_us > 0 &&
            (size_t)atomic_load(&sv->embed_reading) > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)sv->o.batch_wait_us * 1000;
            until.tv_sec += until.tv_nsec / 1000000000;
            until.tv_nsec %= 1000000000;
            while (atomic_load(&sv->embed_reading) > 0 && !sv->stop_batcher &&
                   pthread_cond_timedwait(&sv->q_cv, &sv->q_mu, &until) == 0)
                ;
        }
        b = take_batch(sv, &n, &tokens);
        pthread_mutex_unlock(&sv->q_mu);

        dim = snap_text_dim(b->s);
        int rc = 0;
        err e = {0};
        if (mem_grow(&texts, &cap, n, sizeof *texts) || mem_grow(&lens, &cap2, n, sizeof *lens) ||
            mem_grow(&out, &cap3, n * dim + 1, sizeof *out))
            rc = err_set(&e, ERR_NOMEM, "out of memory for a batch of %zu texts", n);
        for (job *j = b; rc == 0 && j; j = j->next)
            for (size_t i = 0; i < j->n; i++, k++) {
                texts[k] = j->texts[i];
                lens[k] = j->lens[i];
            }
        double t_enc = now_s();
        if (rc == 0)
            rc = snap_encode(b->s, texts, lens, n, out, &e);
        batch_metrics(sv, n, tokens, now_s() - t_enc);
        k = 0;
        for (job *j = b, *next; j; j = next) {
            next = j->next;
            j->rc = rc;
            snprintf(j->msg, sizeof j->msg, "%s", rc ? e.msg : "");
            if (rc == 0)
                memcpy(j->out, out + k * dim, j->n * dim * sizeof *out);
            k += j->n;
            MHD_resume_connection(j->conn);   /* answers on its own thread */
        }
    }
    mem_free(texts);
    mem_free(lens);
    mem_free(out);
    return NULL;
}

/* ---- requests ---------------------------------------------------------------- */

static void count_request(server *sv, creq *r)
{
    size_t s = 0;
    double dt = now_s() - r->t0;
    size_t b = 0;

    while (s < N_STATUS - 1 && status_codes[s] != r->status)
        s++;
    atomic_fetch_add(&sv->m.requests[r->ep][s], 1);
    while (b < N_LAT && dt > lat_bounds[b])
        b++;
    atomic_fetch_add(&sv->m.lat[r->ep][b], 1);
    atomic_fetch_add(&sv->m.lat_n[r->ep], 1);
    atomic_fetch_add(&sv->m.lat_sum_ns[r->ep], (unsigned long long)(dt * 1e9));
}

static void log_request(server *sv, const creq *r, enum MHD_RequestTerminationCode how)
{
    char line[400], ts[32], status[16];
    struct timespec now;
    struct tm tm;
    int n;

    if (sv->o.quiet)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    if (how == MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status)
        snprintf(status, sizeof status, "%d", r->status);
    else
        snprintf(status, sizeof status, "%s", r->slow ? "closed-slow" : r->too_big
                                                  ? "closed-413" : "closed");
    n = snprintf(line, sizeof line, "%s.%03ldZ %s %s %s %s %.3f ms\n", ts,
                 now.tv_nsec / 1000000, r->peer, r->method, r->path, status,
                 (now_s() - r->t0) * 1000);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode how)
{
    server *sv = cls;
    creq *r = *con_cls;

    (void)c;
    if (!r)
        return;
    if (r->counted_reading)
        atomic_fetch_sub(&sv->embed_reading, 1);
    if (r->ci) {
        pthread_mutex_lock(&sv->ci_mu);
        r->ci->state = CI_HEADERS;   /* the next request on this connection */
        r->ci->since = now_s();
        pthread_mutex_unlock(&sv->ci_mu);
    }
    if (how != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status < 400)
        r->status = 0;
    count_request(sv, r);
    log_request(sv, r, how);
    sv_req_free(r->j.q);
    snap_release(r->s);
    mem_free(r->body);
    mem_free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&sv->m.in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    server *sv = cls;
    conn_info *ci = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *inf =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!inf || !(ci = mem_calloc(1, sizeof *ci)))
            return;
        ci->fd = inf->connect_fd;
        ci->since = now_s();
        ci->state = CI_HEADERS;
        pthread_mutex_lock(&sv->ci_mu);
        ci->next = sv->conns;
        if (sv->conns)
            sv->conns->prev = ci;
        sv->conns = ci;
        pthread_mutex_unlock(&sv->ci_mu);
        *socket_context = ci;
    } else if (ci) {
        /* libmicrohttpd notifies before it closes the socket: once this is
         * unlinked the watcher never touches the descriptor again */
        pthread_mutex_lock(&sv->ci_mu);
        if (ci->prev)
            ci->prev->next = ci->next;
        else
            sv->conns = ci->next;
        if (ci->next)
            ci->next->prev = ci->prev;
        pthread_mutex_unlock(&sv->ci_mu);
        mem_free(ci);
        *socket_context = NULL;
    }
}

static void set_state(server *sv, conn_info *ci, int state)
{
    if (!ci)
        return;
    pthread_mutex_lock(&sv->ci_mu);
    ci->state = state;
    pthread_mutex_unlock(&sv->ci_mu);
}

static void peer_name(struct MHD_Connection *c, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *inf =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, cap, "-");
    if (!inf || !inf->client_addr)
        return;
    if (inf->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)inf->client_addr)->sin_addr, buf,
                  (socklen_t)cap);
    else if (inf->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)inf->client_addr)->sin6_addr, buf,
                  (socklen_t)cap);
}

/* The path as logged: printable bytes only, cut at 150. */
static void log_path(const char *url, char *buf, size_t cap)
{
    size_t k = 0;
    for (const char *p = url; *p && k + 1 < cap && k < 150; p++)
        buf[k++] = (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f ? '?' : *p;
    buf[k] = '\0';
}

static enum MHD_Result error_now(server *sv, struct MHD_Connection *c, creq *r, int status,
                                 const char *type, const char *code, const char *msg)
{
    sv_resp resp = {0};
    sv_error(&resp, status, type, code, "%s", msg);
    return queue(sv, c, r, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    server *sv = cls;
    creq *r = *con_cls;
    sv_resp resp = {0};

    (void)version;
    if (!r) {   /* the headers are in */
        const union MHD_ConnectionInfo *inf =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (!(r = mem_calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        atomic_fetch_add(&sv->m.in_flight, 1);
        r->t0 = now_s();
        r->ci = inf ? inf->socket_context : NULL;
        if (r->ci) {
            pthread_mutex_lock(&sv->ci_mu);
            r->ci->state = CI_BODY;
            r->ci->since = r->t0;
            pthread_mutex_unlock(&sv->ci_mu);
        }
        snprintf(r->method, sizeof r->method, "%.7s", method);
        log_path(url, r->path, sizeof r->path);
        peer_name(c, r->peer, sizeof r->peer);
        if (sv_route(method, url, &r->ep, &resp))
            return queue(sv, c, r, &resp);
        if (sv->token && r->ep != SV_EP_HEALTH &&
            !sv_auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                        sv->token))
            return error_now(sv, c, r, 401, "invalid_request_error", "invalid_api_key",
                             "missing or wrong bearer token: send Authorization: Bearer TOKEN");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > sv->lim.max_body) {
            char msg[160];
            snprintf(msg, sizeof msg, "the body has %s bytes; at most %zu", cl, sv->lim.max_body);
            r->too_big = 1;
            return error_now(sv, c, r, 413, "invalid_request_error", "body_too_large", msg);
        }
        if (r->ep == SV_EP_EMBEDDINGS || r->ep == SV_EP_EMBED || r->ep == SV_EP_QUERY ||
            r->ep == SV_EP_RECOMMEND) {
            atomic_fetch_add(&sv->embed_reading, 1);
            r->counted_reading = 1;
        }
        return MHD_YES;
    }
    if (*upload_size) {   /* a piece of the body */
        if (r->ci && now_s() - r->t0 > sv->o.timeout_s) {
            r->slow = 1;
            return MHD_NO;   /* closes the connection */
        }
        if (r->len + *upload_size > sv->lim.max_body) {
            r->too_big = 1;
            return MHD_NO;   /* chunked past the limit: no answer can be queued mid-body */
        }
        if (mem_grow(&r->body, &r->cap, r->len + *upload_size + 1, 1))
            return MHD_NO;
        memcpy(r->body + r->len, upload, *upload_size);
        r->len += *upload_size;
        r->body[r->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->phase == 0) {   /* the whole request is in */
        int rc;
        set_state(sv, r->ci, CI_BUSY);
        if (r->ep == SV_EP_METRICS) {
            char *m = metrics_text(sv);
            if (!m)
                return error_now(sv, c, r, 500, "server_error", "out_of_memory", "out of memory");
            sv_resp_set(&resp, 200, m);
            resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
            return queue(sv, c, r, &resp);
        }
        r->s = snap_get(sv);
        rc = sv_begin(r->s, &sv->lim, r->ep, url, r->body ? r->body : "", r->len, &r->j.q, &resp);
        if (r->counted_reading) {
            atomic_fetch_sub(&sv->embed_reading, 1);
            r->counted_reading = 0;
        }
        if (rc == SV_DONE)
            return queue(sv, c, r, &resp);
        r->j.conn = c;
        r->j.s = r->s;
        r->j.n = sv_req_texts(r->j.q, &r->j.texts, &r->j.lens, &r->j.tokens);
        r->j.out = sv_req_vecs(r->j.q);
        r->phase = 1;
        /* suspended before it is queued, so the batcher never resumes a
         * connection that is still running here */
        MHD_suspend_connection(c);
        enqueue(sv, &r->j);
        return MHD_YES;
    }
    /* resumed by the batcher */
    r->phase = 2;
    sv_finish(r->j.q, r->j.rc, r->j.msg, &resp);
    return queue(sv, c, r, &resp);
}

/* ---- the watcher ------------------------------------------------------------- */

static void close_slow(server *sv, double now)
{
    pthread_mutex_lock(&sv->ci_mu);
    for (conn_info *ci = sv->conns; ci; ci = ci->next)
        if (ci->state != CI_BUSY && ci->fd >= 0 && now - ci->since > sv->o.timeout_s) {
            /* the read side ends; libmicrohttpd sees it and closes the socket */
            shutdown(ci->fd, SHUT_RDWR);
            ci->fd = -1;
            atomic_fetch_add(&sv->m.slow_closed, 1);
        }
    pthread_mutex_unlock(&sv->ci_mu);
}

typedef struct watcher {
    server *sv;
    store *db;
    int64_t version;
} watcher;

static void *watcher_main(void *arg)
{
    watcher *w = arg;
    server *sv = w->sv;
    double next_check = now_s(), retry_after = 0;

    while (!atomic_load(&sv->stop_watcher)) {
        double now = now_s();
        int64_t v;
        err e;
        close_slow(sv, now);
        if (now >= next_check && now >= retry_after) {
            next_check = now + sv->o.poll_ms / 1000.0;
            if (store_data_version(w->db, &v, &e) == 0 && v != w->version) {
                snap_opts so = snap_opts_default();
                snap *old = snap_get(sv), *s;
                double t0 = now_s();
                so.threads = sv->o.threads;
                so.token_fn = front_read_token;
                s = snap_open(sv->o.db, old, &so, &e);
                if (s) {
                    pthread_mutex_lock(&sv->snap_mu);
                    snap *prev = sv->cur;
                    sv->cur = s;
                    pthread_mutex_unlock(&sv->snap_mu);
                    snap_release(prev);
                    w->version = v;
                    atomic_fetch_add(&sv->m.reloads, 1);
                    fprintf(stderr, "embedlab serve: the database changed; new snapshot loaded in "
                            "%.0f ms (%zu items, %zu models)\n", (now_s() - t0) * 1000,
                            snap_n_items(s), snap_n_models(s));
                } else {
                    atomic_fetch_add(&sv->m.reload_errors, 1);
                    retry_after = now_s() + 5;
                    fprintf(stderr, "embedlab serve: the database changed but cannot be loaded "
                            "(%s); still serving the previous snapshot\n", e.msg);
                }
                snap_release(old);
            }
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- set-up ---------------------------------------------------------------------- */

serve_opts serve_opts_default(void)
{
    sv_limits l = sv_limits_default();
    serve_opts o;
    memset(&o, 0, sizeof o);
    o.db = "embedlab.db";
    o.listen = "127.0.0.1:8080";
    o.max_body = l.max_body;
    o.max_inputs = l.max_inputs;
    o.max_conn = 512;
    o.timeout_s = 30;
    o.batch_wait_us = 500;
    o.batch_tokens = 16384;
    o.poll_ms = 500;
    return o;
}

static void usage(FILE *f)
{
    fputs("usage: embedlab serve [--db FILE] [--listen HOST:PORT] [--threads N]\n"
          "                      [--token-file FILE] [OPTIONS]\n"
          "\n"
          "Serve the database's models over HTTP: OpenAI-compatible POST /v1/embeddings,\n"
          "TEI's POST /embed, POST /v1/similar, /v1/recommend, /v1/query, GET /v1/items/ID,\n"
          "/v1/models, /healthz and /metrics.  The database is only read; when another\n"
          "embedlab process changes it, the server switches to the new state.\n"
          "\n"
          "  --db FILE            database (default ./embedlab.db)\n"
          "  --listen HOST:PORT   address (default 127.0.0.1:8080; port 0 picks a free one)\n"
          "  --threads N          HTTP worker and encoder threads (default: the CPUs)\n"
          "  --token-file FILE    require Authorization: Bearer <the file's token>\n"
          "                       on every endpoint but /healthz\n"
          "  --max-body BYTES     largest request body (default 4194304)\n"
          "  --max-inputs N       texts per embeddings request (default 2048)\n"
          "  --max-connections N  open connections (default 512)\n"
          "  --timeout SECONDS    one request's headers and body, and keep-alive idle\n"
          "                       time (default 30)\n"
          "  --batch-wait-us US   how long a batch of texts waits for requests still\n"
          "                       arriving (default 500)\n"
          "  --batch-tokens N     tokens per encoder batch (default 16384)\n"
          "  --poll-ms MS         database change check interval (default 500)\n"
          "  --quiet              no request log\n"
          "  -h, --help           this help\n",
          f);
}

static int parse_num(const char *opt, const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        fprintf(stderr, "embedlab serve: %s expects a whole number up to %llu, not '%s'\n", opt,
                max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int serve_parse_args(int argc, char **argv, serve_opts *o)
{
    enum { O_TOKEN = 256, O_MAXBODY, O_MAXIN, O_MAXCONN, O_TIMEOUT, O_WAIT, O_BTOK, O_POLL, O_QUIET };
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},          {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},     {"token-file", required_argument, NULL, O_TOKEN},
        {"max-body", required_argument, NULL, O_MAXBODY}, {"max-inputs", required_argument, NULL, O_MAXIN},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"timeout", required_argument, NULL, O_TIMEOUT}, {"batch-wait-us", required_argument, NULL, O_WAIT},
        {"batch-tokens", required_argument, NULL, O_BTOK}, {"poll-ms", required_argument, NULL, O_POLL},
        {"quiet", no_argument, NULL, O_QUIET},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long long v;
    int c;

    *o = serve_opts_default();
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o->db = optarg; break;
        case 'l': o->listen = optarg; break;
        case O_TOKEN: o->token_file = optarg; break;
        case O_QUIET: o->quiet = 1; break;
        case 'h': usage(stdout); return 2;
        case 't': if (parse_num("--threads", optarg, 256, &v) || v == 0) goto bad_num; o->threads = (int)v; break;
        case O_MAXBODY: if (parse_num("--max-body", optarg, 1u << 30, &v) || v == 0) goto bad_num; o->max_body = (size_t)v; break;
        case O_MAXIN: if (parse_num("--max-inputs", optarg, 1u << 20, &v) || v == 0) goto bad_num; o->max_inputs = (size_t)v; break;
        case O_MAXCONN: if (parse_num("--max-connections", optarg, 65536, &v) || v == 0) goto bad_num; o->max_conn = (unsigned)v; break;
        case O_TIMEOUT: if (parse_num("--timeout", optarg, 86400, &v) || v == 0) goto bad_num; o->timeout_s = (unsigned)v; break;
        case O_WAIT: if (parse_num("--batch-wait-us", optarg, 1000000, &v)) goto bad_num; o->batch_wait_us = (unsigned)v; break;
        case O_BTOK: if (parse_num("--batch-tokens", optarg, 1u << 24, &v) || v == 0) goto bad_num; o->batch_tokens = (size_t)v; break;
        case O_POLL: if (parse_num("--poll-ms", optarg, 3600000, &v) || v == 0) goto bad_num; o->poll_ms = (unsigned)v; break;
        case ':':
            fprintf(stderr, "embedlab serve: %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "embedlab serve: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 1;
        }
        continue;
    bad_num:
        fprintf(stderr, "embedlab serve: '%s' is out of range for %s\n", optarg, argv[optind - 1]);
        return 1;
    }
    if (optind < argc) {
        fprintf(stderr, "embedlab serve: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    return 0;
}

/* HOST:PORT or [V6]:PORT into a socket address. */
static int resolve(const char *listen, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':'), *h = listen;
    size_t hl;
    struct addrinfo hints, *res = NULL;
    int rc;

    if (!colon || !colon[1]) {
        fprintf(stderr, "embedlab serve: --listen expects HOST:PORT, not '%s'\n", listen);
        return -1;
    }
    hl = (size_t)(colon - listen);
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        h = listen + 1;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        fprintf(stderr, "embedlab serve: host name too long in '%s'\n", listen);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res)) != 0) {
        fprintf(stderr, "embedlab serve: --listen %s: %s\n", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static char *read_token(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[4097];
    size_t n;

    if (!f) {
        fprintf(stderr, "embedlab serve: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == sizeof buf) {
        fprintf(stderr, "embedlab serve: --token-file %s: longer than 4096 bytes\n", path);
        return NULL;
    }
    while (n && strchr(" \t\r\n", buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n || strpbrk(buf, " \t\r\n")) {
        fprintf(stderr, "embedlab serve: --token-file %s: the token must be one word of "
                "printable characters\n", path);
        return NULL;
    }
    return mem_strdup(buf);
}

static int cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 256 ? (int)n : 2;
}

int serve_main(const serve_opts *opts)
{
    server *sv = mem_calloc(1, sizeof *sv);
    watcher w = {0};
    struct sockaddr_storage sa;
    socklen_t sa_len;
    pthread_t batcher, watch;
    int have_batcher = 0, have_watcher = 0, rc = 1, sig;
    sigset_t sigs;
    double t0 = now_s();
    err e;

    if (!sv) {
        fprintf(stderr, "embedlab serve: out of memory\n");
        return 1;
    }
    sv->o = *opts;
    if (sv->o.threads <= 0)
        sv->o.threads = cpus();
    sv->lim = sv_limits_default();
    sv->lim.max_body = sv->o.max_body;
    sv->lim.max_inputs = sv->o.max_inputs;
    pthread_mutex_init(&sv->snap_mu, NULL);
    pthread_mutex_init(&sv->q_mu, NULL);
    pthread_cond_init(&sv->q_cv, NULL);
    pthread_mutex_init(&sv->ci_mu, NULL);

    /* every thread started below inherits the block; main waits for them */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (resolve(sv->o.listen, &sa, &sa_len))
        goto out;
    if (sv->o.token_file && !(sv->token = read_token(sv->o.token_file)))
        goto out;
    if (!is_loopback(&sa) && !sv->token)
        fprintf(stderr, "embedlab serve: warning: listening on %s without --token-file: anyone "
                "who can reach this address can use the server\n", sv->o.listen);
    /* the watcher's connection first: a commit while the snapshot loads is
     * then seen as a change */
    if (!(w.db = store_open_readonly(sv->o.db, &e)) || store_data_version(w.db, &w.version, &e)) {
        fprintf(stderr, "embedlab serve: %s\n", e.msg);
        goto out;
    }
    snap_opts so = snap_opts_default();
    so.threads = sv->o.threads;
    so.token_fn = front_read_token;   /* a milvus index's token, as the REPL reads it */
    if (!(sv->cur = snap_open(sv->o.db, NULL, &so, &e))) {
        fprintf(stderr, "embedlab serve: %s\n", e.msg);
        goto out;
    }
    w.sv = sv;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    sv->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, sv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sv->o.threads,
        MHD_OPTION_CONNECTION_LIMIT, sv->o.max_conn,
        MHD_OPTION_CONNECTION_TIMEOUT, sv->o.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, sv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, sv,
        MHD_OPTION_END);
    if (!sv->d) {
        fprintf(stderr, "embedlab serve: cannot listen on %s: %s\n", sv->o.listen,
                errno ? strerror(errno) : "libmicrohttpd refused the options");
        goto out;
    }
    if (pthread_create(&batcher, NULL, batcher_main, sv) == 0)
        have_batcher = 1;
    if (pthread_create(&watch, NULL, watcher_main, &w) == 0)
        have_watcher = 1;
    if (!have_batcher || !have_watcher) {
        fprintf(stderr, "embedlab serve: cannot start threads\n");
        goto stop;
    }
    {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(sv->d, MHD_DAEMON_INFO_BIND_PORT);
        char host[64] = "?";
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof host);
        fprintf(stderr, "embedlab serve: listening on http://%s%s%s:%u (db %s: %zu items, %zu "
                "models, text encoder %s; %d threads; started in %.0f ms)\n",
                sa.ss_family == AF_INET6 ? "[" : "", host, sa.ss_family == AF_INET6 ? "]" : "",
                di ? (unsigned)di->port : 0u, sv->o.db, snap_n_items(sv->cur),
                snap_n_models(sv->cur),
                snap_has_encoder(sv->cur) ? snap_encoder_label(sv->cur) : "none",
                sv->o.threads, (now_s() - t0) * 1000);
    }
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "embedlab serve: %s: draining %ld request(s)\n",
            sig == SIGINT ? "interrupted" : "terminated", atomic_load(&sv->m.in_flight));
    {
        MHD_socket lfd = MHD_quiesce_daemon(sv->d);   /* no new connections */
        double until = now_s() + 10;
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
        while (atomic_load(&sv->m.in_flight) > 0 && now_s() < until) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    rc = 0;
stop:
    MHD_stop_daemon(sv->d);
    if (have_batcher) {
        pthread_mutex_lock(&sv->q_mu);
        sv->stop_batcher = 1;
        pthread_cond_broadcast(&sv->q_cv);
        pthread_mutex_unlock(&sv->q_mu);
        pthread_join(batcher, NULL);
    }
    if (have_watcher) {
        atomic_store(&sv->stop_watcher, 1);
        pthread_join(watch, NULL);
    }
    if (rc == 0)
        fprintf(stderr, "embedlab serve: stopped\n");
out:
    snap_release(sv->cur);
    store_close(w.db);
    mem_free(sv->token);
    pthread_mutex_destroy(&sv->snap_mu);
    pthread_mutex_destroy(&sv->q_mu);
    pthread_cond_destroy(&sv->q_cv);
    pthread_mutex_destroy(&sv->ci_mu);
    mem_free(sv);
    return rc;
}
